//! `[[log_alerts]]`: an alert when a pattern appears in a container's logs often enough. Each rule selects
//! containers as an override does (one of `container`, `service`, `label`, `host`), matches a regular expression
//! on each line without its colour codes, and raises its level once `count` lines matched within `window`; it
//! clears after `clear_after` without a match.

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::{duration_text, optional_duration_text};
use crate::error::ConfigError;
use crate::model::{ContainerInfo, Level};
use crate::util::format_duration;

/// The largest compiled pattern accepted: keeps a pattern's matching cost per line bounded.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// One log-pattern alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct LogAlert {
    /// What the alert is called (default: its pattern).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[ts(optional, as = "Option<String>")]
    pub name: String,
    /// Container name (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Compose service name (label `com.docker.compose.service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Container label: `key=value`, or `key` for any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Every container on this host (`local` for this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A regular expression (Rust `regex` syntax; `(?i)` ignores case), matched on each line without its
    /// colour codes.
    pub pattern: String,
    /// How many matching lines within `window` raise the alert (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// The window the lines are counted in (default `1m`).
    #[serde(default = "default_window", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub window: Duration,
    /// `warning` (default) or `critical`.
    #[serde(default = "default_level")]
    pub level: String,
    /// The alert clears once no line has matched for this long (default: the window).
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    #[schemars(with = "Option<String>")]
    pub clear_after: Option<Duration>,
}

fn one() -> u32 {
    1
}

fn default_window() -> Duration {
    Duration::from_secs(60)
}

fn default_level() -> String {
    "warning".to_owned()
}

impl LogAlert {
    /// The alert's detail: the name, else the pattern.
    pub fn label(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.pattern
        } else {
            self.name.trim()
        }
    }

    /// The level it raises (`warning` when the text is not a level: validation refuses that).
    pub fn level(&self) -> Level {
        match Level::parse(&self.level) {
            Some(Level::Critical) => Level::Critical,
            _ => Level::Warning,
        }
    }

    /// How long without a match clears the alert.
    pub fn clear_after(&self) -> Duration {
        self.clear_after.unwrap_or(self.window)
    }

    /// Whether the rule watches this container (its selector, as overrides select).
    pub fn selects(&self, container: &ContainerInfo) -> bool {
        if let Some(name) = &self.container {
            return container.name.trim_start_matches('/') == name.trim_start_matches('/');
        }
        if let Some(service) = &self.service {
            return container.compose_service.as_deref() == Some(service.as_str());
        }
        if let Some(label) = &self.label {
            return match label.split_once('=') {
                Some((key, value)) => container.labels.get(key).is_some_and(|v| v == value),
                None => container.labels.contains_key(label.as_str()),
            };
        }
        if let Some(host) = &self.host {
            return container.host == *host;
        }
        false
    }

    /// The compiled pattern, bounded in size.
    pub fn regex(&self) -> Result<regex::Regex, regex::Error> {
        regex::RegexBuilder::new(&self.pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
    }
}

/// Checks every `[[log_alerts]]` entry.
pub(super) fn validate(rules: &[LogAlert], path: &Path) -> Result<(), ConfigError> {
    let invalid = |key: String, value: String, expected: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        value,
        expected: expected.to_owned(),
    };
    for (index, rule) in rules.iter().enumerate() {
        let key = format!("log_alerts[{index}]");
        let selectors = [&rule.container, &rule.service, &rule.label, &rule.host];
        let given = selectors.iter().filter(|s| s.is_some()).count();
        if given != 1
            || selectors
                .iter()
                .any(|s| s.as_deref().is_some_and(|v| v.trim().is_empty()))
        {
            return Err(invalid(
                key,
                format!("{given} selectors"),
                "exactly one non-empty selector: container = \"NAME\", service = \"NAME\", label = \"KEY=VALUE\" or host = \"NAME\"",
            ));
        }
        if rule.pattern.is_empty() {
            return Err(invalid(
                format!("{key}.pattern"),
                "\"\"".to_owned(),
                "a regular expression such as \"ERROR|FATAL\" or \"(?i)out of memory\"",
            ));
        }
        if let Err(err) = rule.regex() {
            let reason = err.to_string().replace('\n', " ");
            return Err(invalid(
                format!("{key}.pattern"),
                format!("\"{}\"", rule.pattern),
                &format!(
                    "a valid regular expression (Rust regex syntax; escape literal characters such as \\( or \\.): {}",
                    reason.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            ));
        }
        if rule.count == 0 || rule.count > 100_000 {
            return Err(invalid(
                format!("{key}.count"),
                rule.count.to_string(),
                "a whole number of lines from 1 to 100000, such as 10",
            ));
        }
        if rule.window < Duration::from_secs(1) || rule.window > Duration::from_secs(86_400) {
            return Err(invalid(
                format!("{key}.window"),
                format!("\"{}\"", format_duration(rule.window)),
                "a duration between \"1s\" and \"24h\", such as \"5m\"",
            ));
        }
        if !matches!(
            Level::parse(&rule.level),
            Some(Level::Warning | Level::Critical)
        ) {
            return Err(invalid(
                format!("{key}.level"),
                format!("\"{}\"", rule.level),
                "\"warning\" or \"critical\"",
            ));
        }
        if let Some(clear) = rule.clear_after {
            if clear < Duration::from_secs(1) || clear > Duration::from_secs(86_400) {
                return Err(invalid(
                    format!("{key}.clear_after"),
                    format!("\"{}\"", format_duration(clear)),
                    "a duration between \"1s\" and \"24h\", such as \"10m\"",
                ));
            }
        }
        if rules[..index]
            .iter()
            .any(|other| other.label() == rule.label() && same_selector(other, rule))
        {
            return Err(invalid(
                format!("{key}.name"),
                format!("\"{}\"", rule.label()),
                "a name (or pattern) no other log alert with the same selector has",
            ));
        }
    }
    Ok(())
}

fn same_selector(a: &LogAlert, b: &LogAlert) -> bool {
    a.container == b.container && a.service == b.service && a.label == b.label && a.host == b.host
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, crate::error::ConfigError> {
        Config::parse(text, std::path::Path::new("/tmp/config.toml"))
    }

    #[test]
    fn a_rule_reads_with_its_defaults() {
        let config =
            parse("[[log_alerts]]\ncontainer = \"web\"\npattern = \"ERROR\"\ncount = 10\n")
                .expect("valid");
        let rule = &config.log_alerts[0];
        assert_eq!(rule.count, 10);
        assert_eq!(rule.window.as_secs(), 60);
        assert_eq!(rule.clear_after().as_secs(), 60);
        assert_eq!(rule.label(), "ERROR");
        assert_eq!(rule.level(), crate::model::Level::Warning);
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let message = parse("[[log_alerts]]\npattern = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("log_alerts[0]"), "{message}");
        assert!(message.contains("selector"), "{message}");
        let message = parse("[[log_alerts]]\nhost = \"local\"\npattern = \"(unclosed\"\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("log_alerts[0].pattern"), "{message}");
        assert!(message.contains("regular expression"), "{message}");
        let message =
            parse("[[log_alerts]]\nhost = \"local\"\npattern = \"x\"\nlevel = \"info\"\n")
                .unwrap_err()
                .to_string();
        assert!(message.contains("log_alerts[0].level"), "{message}");
    }
}
