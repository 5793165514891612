//! Validation: ranges and cross-field rules that types alone cannot express, with messages naming the key, the
//! bad value and the expected form.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::util::format_duration;

impl Config {
    /// Checks ranges and cross-field rules that types alone cannot express.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        if self.interval < Duration::from_millis(250) || self.interval > Duration::from_secs(3600) {
            return Err(invalid(
                "interval",
                format!("\"{}\"", format_duration(self.interval)),
                "a duration between \"250ms\" and \"1h\", such as \"2s\"",
            ));
        }
        if self.docker.reconcile_every < Duration::from_secs(5) {
            return Err(invalid(
                "docker.reconcile_every",
                format!("\"{}\"", format_duration(self.docker.reconcile_every)),
                "a duration of at least \"5s\", such as \"60s\"",
            ));
        }
        if self.logs.ring_lines == 0 || self.logs.ring_lines > 1_000_000 {
            return Err(invalid(
                "logs.ring_lines",
                self.logs.ring_lines.to_string(),
                "a whole number of lines from 1 to 1000000, such as 5000",
            ));
        }
        for (index, host) in self.hosts.iter().enumerate() {
            let key = format!("hosts[{index}]");
            if host.name.trim().is_empty() || host.name.eq_ignore_ascii_case("local") {
                return Err(invalid(
                    &format!("{key}.name"),
                    format!("\"{}\"", host.name),
                    "a non-empty name other than \"local\" (the local engine's name)",
                ));
            }
            if self.hosts[..index]
                .iter()
                .any(|other| other.name == host.name)
            {
                return Err(invalid(
                    &format!("{key}.name"),
                    format!("\"{}\"", host.name),
                    "a name no other host uses",
                ));
            }
            // A leading `-` would be read by ssh as an option (`-oProxyCommand=...`), not as a host.
            if host.destination.trim().is_empty()
                || host.destination.contains(char::is_whitespace)
                || host.destination.starts_with('-')
            {
                return Err(invalid(
                    &format!("{key}.destination"),
                    format!("\"{}\"", host.destination),
                    "an SSH destination such as \"user@host\", \"user@host:2222\" or an ~/.ssh/config alias",
                ));
            }
            if !host.socket.starts_with('/') {
                return Err(invalid(
                    &format!("{key}.socket"),
                    format!("\"{}\"", host.socket),
                    "the absolute path of the Docker socket on that host, such as \"/var/run/docker.sock\"",
                ));
            }
        }
        self.validate_webdock(path)?;
        self.services.validate(path)?;
        self.caddy.validate(path, &self.hosts)?;
        self.api.validate(path)?;
        for (name, threshold, max, unit) in self.thresholds.entries() {
            check_threshold(&format!("thresholds.{name}"), threshold, max, unit)
                .map_err(|(key, value, expected)| invalid(&key, value, &expected))?;
        }
        for (index, rule) in self.overrides.iter().enumerate() {
            let key = format!("overrides[{index}]");
            let selectors = [&rule.container, &rule.service, &rule.label, &rule.host];
            let given = selectors.iter().filter(|s| s.is_some()).count();
            if given != 1
                || selectors
                    .iter()
                    .any(|s| s.as_deref().is_some_and(|v| v.trim().is_empty()))
            {
                return Err(invalid(
                    &key,
                    format!("{given} selectors"),
                    "exactly one non-empty selector: container = \"NAME\", service = \"NAME\", label = \"KEY=VALUE\" or host = \"NAME\"",
                ));
            }
            for (metric, change) in &rule.thresholds {
                let metric_key = format!("{key}.thresholds.{metric}");
                let Some((_, base, max, unit)) = self
                    .thresholds
                    .entries()
                    .into_iter()
                    .find(|(name, ..)| name == metric)
                else {
                    let known: Vec<&str> = self
                        .thresholds
                        .entries()
                        .iter()
                        .map(|(name, ..)| *name)
                        .collect();
                    return Err(invalid(
                        &metric_key,
                        "(unknown metric)".to_owned(),
                        &format!("one of {}", known.join(", ")),
                    ));
                };
                // A VPS is a host too: its overrides go under `host = "SLUG"`.
                let host_metric = metric.starts_with("host_") || metric.starts_with("vps_");
                if host_metric != rule.host.is_some() {
                    return Err(invalid(
                        &metric_key,
                        "(wrong kind of target)".to_owned(),
                        "host_* and vps_* metrics under a `host` override, container_* metrics under container, service or label",
                    ));
                }
                check_threshold(&metric_key, base.with(change), max, unit)
                    .map_err(|(key, value, expected)| invalid(&key, value, &expected))?;
            }
        }
        let alerts = &self.alerts;
        if !(0.0..=50.0).contains(&alerts.hysteresis_percent)
            || !alerts.hysteresis_percent.is_finite()
        {
            return Err(invalid(
                "alerts.hysteresis_percent",
                alerts.hysteresis_percent.to_string(),
                "a percentage from 0 to 50, such as 10",
            ));
        }
        if alerts.hold > Duration::from_secs(3600) {
            return Err(invalid(
                "alerts.hold",
                format!("\"{}\"", format_duration(alerts.hold)),
                "a duration up to \"1h\", such as \"10s\"",
            ));
        }
        if alerts.restart_loop_count < 2 {
            return Err(invalid(
                "alerts.restart_loop_count",
                alerts.restart_loop_count.to_string(),
                "a whole number of at least 2, such as 3",
            ));
        }
        if alerts.restart_loop_window < Duration::from_secs(10) {
            return Err(invalid(
                "alerts.restart_loop_window",
                format!("\"{}\"", format_duration(alerts.restart_loop_window)),
                "a duration of at least \"10s\", such as \"5m\"",
            ));
        }
        let notifications = &self.notifications;
        if crate::model::Level::parse(&notifications.min_level)
            .is_none_or(|level| level == crate::model::Level::Resolved)
        {
            return Err(invalid(
                "notifications.min_level",
                format!("\"{}\"", notifications.min_level),
                "\"info\", \"warning\" or \"critical\"",
            ));
        }
        if !notifications.quiet_hours.trim().is_empty()
            && parse_quiet_hours(&notifications.quiet_hours).is_none()
        {
            return Err(invalid(
                "notifications.quiet_hours",
                format!("\"{}\"", notifications.quiet_hours),
                "local times \"HH:MM-HH:MM\", such as \"22:00-07:00\", or \"\" for none",
            ));
        }
        let history = &self.history;
        for (key, value, min) in [
            (
                "history.raw_retention",
                history.raw_retention,
                Duration::from_secs(600),
            ),
            (
                "history.rollup_retention",
                history.rollup_retention,
                Duration::from_secs(3600),
            ),
            (
                "history.alert_retention",
                history.alert_retention,
                Duration::from_secs(3600),
            ),
            (
                "history.event_retention",
                history.event_retention,
                Duration::from_secs(3600),
            ),
            (
                "history.audit_retention",
                history.audit_retention,
                Duration::from_secs(3600),
            ),
        ] {
            if value < min {
                return Err(invalid(
                    key,
                    format!("\"{}\"", format_duration(value)),
                    &format!(
                        "a duration of at least \"{}\", such as \"48h\" or \"30d\"",
                        format_duration(min)
                    ),
                ));
            }
        }
        self.log.validate(path)?;
        self.forecasts.validate(path)?;
        log_alerts::validate(&self.log_alerts, path)?;
        channels::validate(
            &notifications.webhooks,
            &notifications.ntfy,
            &notifications.email,
            path,
        )?;
        Ok(())
    }

    /// `[[webdock]]` entries: unique usable names, known slugs form, sane interval, timeout and URL.
    fn validate_webdock(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            value,
            expected: expected.to_owned(),
        };
        for (index, account) in self.webdock.iter().enumerate() {
            let key = format!("webdock[{index}]");
            let name_ok = !account.name.is_empty()
                && account.name.len() <= 64
                && account
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("\"{}\"", account.name),
                    "a name of letters, digits, '-' or '_' (at most 64), such as \"work\": it names the keychain \
                     entry and DOCKTRAY_WEBDOCK_TOKEN_<NAME>",
                ));
            }
            if self.webdock[..index]
                .iter()
                .any(|other| webdock_token_env(&other.name) == webdock_token_env(&account.name))
            {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("\"{}\"", account.name),
                    "a name no other [[webdock]] account uses (names differing only in case or '-'/'_' clash)",
                ));
            }
            if let ServerSelection::Slugs(slugs) = &account.servers {
                if let Some(bad) = slugs.iter().find(|slug| {
                    slug.is_empty()
                        || !slug
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                }) {
                    return Err(invalid(
                        format!("{key}.servers"),
                        format!("\"{bad}\""),
                        "\"all\" or server slugs as Webdock shows them (letters, digits, '-'), such as [\"web1\"]; \
                         `docktray webdock servers` lists them",
                    ));
                }
            }
            if account.interval < Duration::from_secs(1)
                || account.interval > Duration::from_secs(3600)
            {
                return Err(invalid(
                    format!("{key}.interval"),
                    format!("\"{}\"", format_duration(account.interval)),
                    "a duration between \"1s\" and \"1h\", such as \"60s\"",
                ));
            }
            if account.timeout < Duration::from_millis(100)
                || account.timeout > Duration::from_secs(300)
            {
                return Err(invalid(
                    format!("{key}.timeout"),
                    format!("\"{}\"", format_duration(account.timeout)),
                    "a duration between \"100ms\" and \"5m\", such as \"15s\"",
                ));
            }
            let url = account.base_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
            {
                return Err(invalid(
                    format!("{key}.base_url"),
                    format!("\"{}\"", account.base_url),
                    "an http(s) URL such as \"https://api.webdock.io/v1\"",
                ));
            }
        }
        Ok(())
    }
}

/// Checks one threshold; on failure returns (key, value, expected).
fn check_threshold(
    key: &str,
    threshold: Threshold,
    max: f64,
    unit: &str,
) -> Result<(), (String, String, String)> {
    for (part, value) in [
        ("warning", threshold.warning),
        ("critical", threshold.critical),
    ] {
        if !value.is_finite() || value <= 0.0 || value > max {
            return Err((
                format!("{key}.{part}"),
                value.to_string(),
                format!("a number above 0 and at most {max} ({unit})"),
            ));
        }
    }
    if threshold.warning >= threshold.critical {
        return Err((
            format!("{key}.warning"),
            threshold.warning.to_string(),
            format!("a value below critical ({} {unit})", threshold.critical),
        ));
    }
    if threshold
        .hold
        .is_some_and(|hold| hold > Duration::from_secs(3600))
    {
        return Err((
            format!("{key}.hold"),
            format!("{:?}", threshold.hold),
            "a duration up to \"1h\"".to_owned(),
        ));
    }
    Ok(())
}
