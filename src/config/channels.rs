//! Notification channels beside the desktop, under `[notifications]`: webhooks (`[[notifications.webhooks]]`),
//! ntfy (`[notifications.ntfy]`) and e-mail over SMTP (`[notifications.email]`). Each has its own minimum level,
//! quiet hours, grouping window, retries and timeout. Their secrets (an HMAC signing key, an ntfy token, an SMTP
//! password) are never here: they live in the OS keychain (`docktray notify secret CHANNEL`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::duration_text;
use super::parse_quiet_hours;
use crate::error::ConfigError;
use crate::model::Level;
use crate::util::format_duration;

/// ntfy's public server, the default for `[notifications.ntfy] server`.
pub const NTFY_SERVER: &str = "https://ntfy.sh";

/// A JSON POST to a URL for each batch of alert changes (docs/notifications.md has the body's schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// What the webhook is called: `docktray notify test webhook:NAME` and its keychain entry use it.
    pub name: String,
    /// Where the JSON is POSTed (http or https).
    pub url: String,
    /// Extra request headers, such as `{ "X-Team" = "ops" }` (not for secrets: they would be in this file).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sign each body with HMAC-SHA256 (header `X-Docktray-Signature-256: sha256=<hex>`) using the secret
    /// stored with `docktray notify secret webhook:NAME`.
    #[serde(default)]
    pub sign: bool,
    /// Whether this webhook is used (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `info`, `warning` or `critical`: lower levels are not sent (resolutions of sent alerts are).
    #[serde(default = "default_min_level")]
    pub min_level: String,
    /// `HH:MM-HH:MM` local time during which nothing is sent (may span midnight); empty for none.
    #[serde(default)]
    pub quiet_hours: String,
    /// Alert changes arriving within this window are sent together (default `10s`).
    #[serde(default = "default_group_window", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub group_window: Duration,
    /// Attempts after a failed one, with a backoff doubling from 1 s (default 5).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Time allowed for one attempt (default `10s`).
    #[serde(default = "default_timeout", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

/// Push notifications through an ntfy server (ntfy.sh or your own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct NtfyChannel {
    /// The ntfy server (default `https://ntfy.sh`).
    pub server: String,
    /// The topic to publish to; empty (the default) leaves ntfy off.
    pub topic: String,
    /// Send an access token (stored with `docktray notify secret ntfy`) as `Authorization: Bearer`.
    pub token: bool,
    /// Whether ntfy is used once a topic is set (default true).
    pub enabled: bool,
    /// `info`, `warning` or `critical`: lower levels are not sent (resolutions of sent alerts are).
    pub min_level: String,
    /// `HH:MM-HH:MM` local time during which nothing is sent (may span midnight); empty for none.
    pub quiet_hours: String,
    /// Alert changes arriving within this window are sent together (default `10s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub group_window: Duration,
    /// Attempts after a failed one, with a backoff doubling from 1 s (default 5).
    pub retries: u32,
    /// Time allowed for one attempt (default `10s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

/// E-mail over SMTP, encrypted (STARTTLS or TLS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct EmailChannel {
    /// The SMTP server's host name; empty (the default) leaves e-mail off.
    pub server: String,
    /// Its port; 0 (the default) is 587 for `starttls` and 465 for `tls`.
    pub port: u16,
    /// `starttls` (default: plain connection upgraded before anything is sent) or `tls` (encrypted from the
    /// start, "SMTPS").
    pub security: String,
    /// A PEM file with the certificate authority of a server whose certificate the system does not trust (a
    /// private CA); empty for the system's.
    pub ca_file: String,
    /// The login name; empty for a server that needs none. Its password is stored with `docktray notify
    /// secret email`.
    pub username: String,
    /// The sender, such as `Docktray <docktray@example.com>`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
    /// Whether e-mail is used once a server is set (default true).
    pub enabled: bool,
    /// `info`, `warning` or `critical`: lower levels are not sent (resolutions of sent alerts are).
    pub min_level: String,
    /// `HH:MM-HH:MM` local time during which nothing is sent (may span midnight); empty for none.
    pub quiet_hours: String,
    /// Alert changes arriving within this window are sent together (default `1m`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub group_window: Duration,
    /// Attempts after a failed one, with a backoff doubling from 1 s (default 5).
    pub retries: u32,
    /// Time allowed for one attempt (default `30s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

fn yes() -> bool {
    true
}

fn default_min_level() -> String {
    "warning".to_owned()
}

fn default_group_window() -> Duration {
    Duration::from_secs(10)
}

fn default_retries() -> u32 {
    5
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for NtfyChannel {
    fn default() -> Self {
        Self {
            server: NTFY_SERVER.to_owned(),
            topic: String::new(),
            token: false,
            enabled: true,
            min_level: default_min_level(),
            quiet_hours: String::new(),
            group_window: default_group_window(),
            retries: default_retries(),
            timeout: default_timeout(),
        }
    }
}

impl Default for EmailChannel {
    fn default() -> Self {
        Self {
            server: String::new(),
            port: 0,
            security: "starttls".to_owned(),
            ca_file: String::new(),
            username: String::new(),
            from: String::new(),
            to: Vec::new(),
            enabled: true,
            min_level: default_min_level(),
            quiet_hours: String::new(),
            group_window: Duration::from_secs(60),
            retries: default_retries(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What every channel decides for itself, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub enabled: bool,
    pub min_level: Level,
    pub quiet_hours: String,
    pub group_window: Duration,
    pub retries: u32,
    pub timeout: Duration,
}

fn delivery(
    enabled: bool,
    min_level: &str,
    quiet_hours: &str,
    group_window: Duration,
    retries: u32,
    timeout: Duration,
) -> Delivery {
    Delivery {
        enabled,
        min_level: match Level::parse(min_level) {
            Some(Level::Resolved) | None => Level::Warning,
            Some(level) => level,
        },
        quiet_hours: quiet_hours.to_owned(),
        group_window,
        retries,
        timeout,
    }
}

impl WebhookChannel {
    /// `webhook:NAME`.
    pub fn channel_name(&self) -> String {
        format!("webhook:{}", self.name)
    }

    pub fn delivery(&self) -> Delivery {
        delivery(
            self.enabled,
            &self.min_level,
            &self.quiet_hours,
            self.group_window,
            self.retries,
            self.timeout,
        )
    }
}

impl NtfyChannel {
    /// Whether ntfy is configured and turned on.
    pub fn active(&self) -> bool {
        self.enabled && !self.topic.trim().is_empty()
    }

    /// The topic's address: the server and the topic.
    pub fn topic_url(&self) -> String {
        format!(
            "{}/{}",
            self.server.trim().trim_end_matches('/'),
            self.topic.trim()
        )
    }

    pub fn delivery(&self) -> Delivery {
        delivery(
            self.enabled,
            &self.min_level,
            &self.quiet_hours,
            self.group_window,
            self.retries,
            self.timeout,
        )
    }
}

impl EmailChannel {
    /// Whether e-mail is configured and turned on.
    pub fn active(&self) -> bool {
        self.enabled && !self.server.trim().is_empty()
    }

    /// Whether the connection is TLS from the start (else STARTTLS).
    pub fn implicit_tls(&self) -> bool {
        self.security.trim().eq_ignore_ascii_case("tls")
    }

    /// The port, with the security's default for 0.
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.implicit_tls()) {
            (0, true) => 465,
            (0, false) => 587,
            (port, _) => port,
        }
    }

    pub fn delivery(&self) -> Delivery {
        delivery(
            self.enabled,
            &self.min_level,
            &self.quiet_hours,
            self.group_window,
            self.retries,
            self.timeout,
        )
    }
}

type Invalid<'a> = dyn Fn(String, String, &str) -> ConfigError + 'a;

/// The settings every channel has.
fn check_delivery(
    key: &str,
    delivery: &Delivery,
    text: (&str, &str),
    invalid: &Invalid<'_>,
) -> Result<(), ConfigError> {
    let (min_level, quiet_hours) = text;
    if Level::parse(min_level).is_none_or(|level| level == Level::Resolved) {
        return Err(invalid(
            format!("{key}.min_level"),
            format!("\"{min_level}\""),
            "\"info\", \"warning\" or \"critical\"",
        ));
    }
    if !quiet_hours.trim().is_empty() && parse_quiet_hours(quiet_hours).is_none() {
        return Err(invalid(
            format!("{key}.quiet_hours"),
            format!("\"{quiet_hours}\""),
            "local times \"HH:MM-HH:MM\", such as \"22:00-07:00\", or \"\" for none",
        ));
    }
    if delivery.group_window > Duration::from_secs(3600) {
        return Err(invalid(
            format!("{key}.group_window"),
            format!("\"{}\"", format_duration(delivery.group_window)),
            "a duration up to \"1h\", such as \"10s\"",
        ));
    }
    if delivery.retries > 20 {
        return Err(invalid(
            format!("{key}.retries"),
            delivery.retries.to_string(),
            "a whole number from 0 to 20, such as 5",
        ));
    }
    if delivery.timeout < Duration::from_millis(100) || delivery.timeout > Duration::from_secs(300)
    {
        return Err(invalid(
            format!("{key}.timeout"),
            format!("\"{}\"", format_duration(delivery.timeout)),
            "a duration between \"100ms\" and \"5m\", such as \"10s\"",
        ));
    }
    Ok(())
}

fn http_url(text: &str) -> bool {
    reqwest::Url::parse(text.trim())
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
}

/// A header name and value reqwest accepts (visible ASCII, no line breaks).
fn header_ok(name: &str, value: &str) -> bool {
    reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && reqwest::header::HeaderValue::from_str(value).is_ok()
}

/// Checks the channels under `[notifications]`.
pub(super) fn validate(
    webhooks: &[WebhookChannel],
    ntfy: &NtfyChannel,
    email: &EmailChannel,
    path: &Path,
) -> Result<(), ConfigError> {
    let invalid = |key: String, value: String, expected: &str| ConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        value,
        expected: expected.to_owned(),
    };
    for (index, hook) in webhooks.iter().enumerate() {
        let key = format!("notifications.webhooks[{index}]");
        let name_ok = !hook.name.is_empty()
            && hook.name.len() <= 64
            && hook
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(invalid(
                format!("{key}.name"),
                format!("\"{}\"", hook.name),
                "a name of letters, digits, '-' or '_' (at most 64), such as \"ops\"",
            ));
        }
        if webhooks[..index]
            .iter()
            .any(|other| other.name == hook.name)
        {
            return Err(invalid(
                format!("{key}.name"),
                format!("\"{}\"", hook.name),
                "a name no other webhook uses",
            ));
        }
        if !http_url(&hook.url) {
            return Err(invalid(
                format!("{key}.url"),
                format!("\"{}\"", hook.url),
                "an http(s) URL such as \"https://hooks.example.com/docktray\"",
            ));
        }
        if let Some((name, value)) = hook.headers.iter().find(|(n, v)| !header_ok(n, v)) {
            return Err(invalid(
                format!("{key}.headers.{name}"),
                format!("\"{value}\""),
                "a header name of letters, digits and '-', and a value of visible ASCII text",
            ));
        }
        check_delivery(
            &key,
            &hook.delivery(),
            (&hook.min_level, &hook.quiet_hours),
            &invalid,
        )?;
    }
    if !ntfy.topic.is_empty() {
        let topic_ok = ntfy.topic.len() <= 64
            && ntfy
                .topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !topic_ok {
            return Err(invalid(
                "notifications.ntfy.topic".to_owned(),
                format!("\"{}\"", ntfy.topic),
                "a topic of letters, digits, '-' or '_' (at most 64), such as \"docktray-alerts\"",
            ));
        }
        if !http_url(&ntfy.server) {
            return Err(invalid(
                "notifications.ntfy.server".to_owned(),
                format!("\"{}\"", ntfy.server),
                "the ntfy server's http(s) URL, such as \"https://ntfy.sh\"",
            ));
        }
    }
    check_delivery(
        "notifications.ntfy",
        &ntfy.delivery(),
        (&ntfy.min_level, &ntfy.quiet_hours),
        &invalid,
    )?;
    if !email.server.trim().is_empty() {
        let key = |field: &str| format!("notifications.email.{field}");
        if email
            .server
            .contains(|c: char| c.is_whitespace() || c == '/')
        {
            return Err(invalid(
                key("server"),
                format!("\"{}\"", email.server),
                "the SMTP server's host name, such as \"smtp.example.com\"",
            ));
        }
        if !matches!(
            email.security.trim().to_ascii_lowercase().as_str(),
            "starttls" | "tls"
        ) {
            return Err(invalid(
                key("security"),
                format!("\"{}\"", email.security),
                "\"starttls\" or \"tls\"",
            ));
        }
        if email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                key("from"),
                format!("\"{}\"", email.from),
                "a sender address such as \"docktray@example.com\" or \"Docktray <docktray@example.com>\"",
            ));
        }
        if email.to.is_empty() {
            return Err(invalid(
                key("to"),
                "[]".to_owned(),
                "at least one recipient, such as [\"me@example.com\"]",
            ));
        }
        if let Some(bad) = email
            .to
            .iter()
            .find(|to| to.parse::<lettre::message::Mailbox>().is_err())
        {
            return Err(invalid(
                key("to"),
                format!("\"{bad}\""),
                "e-mail addresses such as [\"me@example.com\"]",
            ));
        }
    }
    check_delivery(
        "notifications.email",
        &email.delivery(),
        (&email.min_level, &email.quiet_hours),
        &invalid,
    )
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, crate::error::ConfigError> {
        Config::parse(text, std::path::Path::new("/tmp/config.toml"))
    }

    #[test]
    fn channels_read_with_their_defaults() {
        let config = parse(
            "[[notifications.webhooks]]\nname = \"ops\"\nurl = \"https://example.com/hook\"\nsign = true\n\
             headers = { X-Team = \"ops\" }\n\
             [notifications.ntfy]\ntopic = \"alerts\"\n\
             [notifications.email]\nserver = \"smtp.example.com\"\nfrom = \"d@example.com\"\nto = [\"me@example.com\"]\n",
        )
        .expect("valid");
        let notifications = &config.notifications;
        assert_eq!(notifications.webhooks[0].channel_name(), "webhook:ops");
        assert_eq!(notifications.webhooks[0].retries, 5);
        assert_eq!(notifications.ntfy.topic_url(), "https://ntfy.sh/alerts");
        assert!(notifications.ntfy.active());
        assert_eq!(notifications.email.effective_port(), 587);
        assert!(notifications.email.active());
        assert!(!crate::config::Config::default()
            .notifications
            .email
            .active());
    }

    #[test]
    fn bad_channels_name_the_key() {
        let message = parse("[[notifications.webhooks]]\nname = \"a b\"\nurl = \"https://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("notifications.webhooks[0].name"),
            "{message}"
        );
        let message = parse("[[notifications.webhooks]]\nname = \"a\"\nurl = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("notifications.webhooks[0].url"),
            "{message}"
        );
        let message = parse(
            "[notifications.email]\nserver = \"smtp.x\"\nfrom = \"nobody\"\nto = [\"a@b.c\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("notifications.email.from"), "{message}");
        let message = parse("[notifications.ntfy]\ntopic = \"a/b\"\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("notifications.ntfy.topic"), "{message}");
        let message = parse("[notifications.email]\nsecurity = \"none\"\nserver = \"s\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("notifications.email.security"),
            "{message}"
        );
    }
}
