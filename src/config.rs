//! The TOML configuration: where it lives, its defaults, and validation with messages that name the key,
//! the bad value and the expected form. Loading never writes the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ConfigError;
use crate::util::{format_duration, parse_duration};

/// Whole configuration. Every field has a default, so a missing file or section means defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How often container and host metrics are sampled (default `2s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub interval: Duration,
    pub docker: DockerConfig,
    pub logs: LogsConfig,
    /// Remote Docker hosts over SSH (collected from the SSH hosts release on).
    pub hosts: Vec<HostConfig>,
    pub thresholds: Thresholds,
    pub alerts: AlertSettings,
    /// Thresholds for particular containers (by name, compose service or label) or hosts.
    pub overrides: Vec<Override>,
    pub notifications: NotificationSettings,
    pub history: HistorySettings,
    /// Settings only the desktop app uses (the CLI ignores them).
    pub desktop: DesktopSettings,
    /// Webdock accounts whose VPS servers are watched. Tokens are not here: they live in the OS keychain
    /// (`docktray webdock login NAME`) or come from `DOCKTRAY_WEBDOCK_TOKEN_<NAME>` / `..._FILE`.
    pub webdock: Vec<WebdockAccount>,
}

/// The Webdock API everyone uses; `base_url` changes it (a proxy, or a local server in tests).
pub const WEBDOCK_API: &str = "https://api.webdock.io/v1";

/// One Webdock account (`[[webdock]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct WebdockAccount {
    /// What the account is called here, e.g. "work": names the keychain entry and the token variables.
    pub name: String,
    /// `"all"` or a list of server slugs, e.g. `["web1", "db1"]`.
    #[serde(default)]
    #[ts(type = "\"all\" | Array<string>")]
    pub servers: ServerSelection,
    /// How often the servers' figures are read (default `60s`). Webdock refreshes them every few minutes and
    /// answers from a 30 s cache in between, so shorter intervals cost nothing but show nothing newer.
    #[serde(default = "default_webdock_interval", with = "duration_text")]
    #[ts(as = "String")]
    pub interval: Duration,
    /// API base URL (default `https://api.webdock.io/v1`): for a proxy, or a local server in tests.
    #[serde(default = "default_webdock_url")]
    pub base_url: String,
    /// Time allowed for one request (default `15s`).
    #[serde(default = "default_webdock_timeout", with = "duration_text")]
    #[ts(as = "String")]
    pub timeout: Duration,
}

/// Which servers of an account are watched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerSelection {
    #[default]
    All,
    Slugs(Vec<String>),
}

impl ServerSelection {
    pub fn includes(&self, slug: &str) -> bool {
        match self {
            Self::All => true,
            Self::Slugs(slugs) => slugs.iter().any(|s| s == slug),
        }
    }
}

impl Serialize for ServerSelection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => serializer.serialize_str("all"),
            Self::Slugs(slugs) => slugs.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ServerSelection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            List(Vec<String>),
        }
        let expected = "expected \"all\" or a list of server slugs such as [\"web1\", \"db1\"]";
        match Raw::deserialize(deserializer) {
            Ok(Raw::Text(text)) if text.trim().eq_ignore_ascii_case("all") => Ok(Self::All),
            Ok(Raw::Text(text)) => Err(serde::de::Error::custom(format!(
                "invalid servers \"{text}\": {expected}"
            ))),
            Ok(Raw::List(slugs)) => Ok(Self::Slugs(slugs)),
            Err(_) => Err(serde::de::Error::custom(format!(
                "invalid servers: {expected}"
            ))),
        }
    }
}

fn default_webdock_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_webdock_timeout() -> Duration {
    Duration::from_secs(15)
}

fn default_webdock_url() -> String {
    WEBDOCK_API.to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct DockerConfig {
    /// Engine endpoint such as `unix:///var/run/docker.sock`; empty means `DOCKER_HOST`, then the default socket.
    pub host: String,
    /// Full re-list of containers to heal anything the event stream missed (default `60s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub reconcile_every: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Lines kept per followed container so a new viewer gets history at once (default 5000).
    pub ring_lines: usize,
}

/// A remote Docker host reached over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    pub name: String,
    /// `user@host[:port]` or an alias from `~/.ssh/config`.
    pub destination: String,
    #[serde(default)]
    pub identity_file: Option<PathBuf>,
    #[serde(default = "default_remote_socket")]
    pub socket: String,
    /// An ssh_config file used instead of `~/.ssh/config` (`ssh -F`); for set-ups kept apart, such as tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ssh_config: Option<PathBuf>,
}

/// Warning and critical levels of one metric, in the metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub warning: f64,
    pub critical: f64,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long the level must hold before it is raised or cleared; `alerts.hold` when absent.
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    pub hold: Option<Duration>,
}

/// A partial threshold in an override: what is given replaces the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub enabled: Option<bool>,
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    pub hold: Option<Duration>,
}

impl Threshold {
    /// This threshold with an override's fields applied.
    pub fn with(self, change: &ThresholdOverride) -> Self {
        Self {
            warning: change.warning.unwrap_or(self.warning),
            critical: change.critical.unwrap_or(self.critical),
            enabled: change.enabled.unwrap_or(self.enabled),
            hold: change.hold.or(self.hold),
        }
    }
}

/// Which targets an override applies to. Exactly one selector is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Container name (exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Compose service name (label `com.docker.compose.service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Container label: `key=value`, or `key` for any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Host name (`local` for this machine): applies to the host's own metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Metric name -> changed fields, e.g. `container_cpu_percent = { critical = 99 }`.
    pub thresholds: BTreeMap<String, ThresholdOverride>,
}

/// How alerts are raised and cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// A level must hold this long before it is raised, and the value stay low this long before it clears.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub hold: Duration,
    /// An alert clears only below the warning threshold minus this share of it (10 = 10 %).
    pub hysteresis_percent: f64,
    /// A still-active alert is notified again only after this long.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub cooldown: Duration,
    /// This many restarts ...
    pub restart_loop_count: u32,
    /// ... within this window make a restart loop.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub restart_loop_window: Duration,
}

/// Desktop notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    pub enabled: bool,
    /// `info`, `warning` or `critical`: lower levels are not notified (resolutions of notified alerts are).
    pub min_level: String,
    /// `HH:MM-HH:MM` local time during which nothing is shown (may span midnight); empty for none.
    pub quiet_hours: String,
    /// Alerts arriving within this window are grouped into one notification when there are several.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub group_window: Duration,
}

/// The local metrics history (SQLite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySettings {
    pub enabled: bool,
    /// Database file; empty for `$XDG_DATA_HOME/docktray/history.sqlite`.
    pub path: String,
    /// Samples at the collection interval are kept this long ...
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub raw_retention: Duration,
    /// ... one-minute rollups (min, avg, max) this long ...
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub rollup_retention: Duration,
    /// ... and alerts this long.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    pub alert_retention: Duration,
}

/// The desktop app's own settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct DesktopSettings {
    /// Start Docktray when you log in (an XDG autostart entry the app adds or removes).
    pub start_at_login: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            hold: Duration::from_secs(10),
            hysteresis_percent: 10.0,
            cooldown: Duration::from_secs(15 * 60),
            restart_loop_count: 3,
            restart_loop_window: Duration::from_secs(5 * 60),
        }
    }
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            min_level: "warning".to_owned(),
            quiet_hours: String::new(),
            group_window: Duration::from_millis(1500),
        }
    }
}

impl Default for HistorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            path: String::new(),
            raw_retention: Duration::from_secs(48 * 3600),
            rollup_retention: Duration::from_secs(30 * 86400),
            alert_retention: Duration::from_secs(30 * 86400),
        }
    }
}

/// Parses `HH:MM-HH:MM` into start and end times.
pub fn parse_quiet_hours(text: &str) -> Option<(chrono::NaiveTime, chrono::NaiveTime)> {
    let (start, end) = text.trim().split_once('-')?;
    let parse = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    Some((parse(start)?, parse(end)?))
}

/// Alert thresholds (evaluated by the alert engine). Percentages are 0-100; rates are MB/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub container_cpu_percent: Threshold,
    pub container_memory_percent: Threshold,
    pub container_net_rx_mb_per_s: Threshold,
    pub container_net_tx_mb_per_s: Threshold,
    pub host_cpu_percent: Threshold,
    pub host_memory_percent: Threshold,
    pub host_disk_percent: Threshold,
    /// Webdock VPS: network traffic this month as a share of the plan's allowance.
    pub vps_network_quota_percent: Threshold,
}

fn yes() -> bool {
    true
}

fn default_remote_socket() -> String {
    "/var/run/docker.sock".to_owned()
}

const fn level(warning: f64, critical: f64) -> Threshold {
    Threshold {
        warning,
        critical,
        enabled: true,
        hold: None,
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            docker: DockerConfig::default(),
            logs: LogsConfig::default(),
            hosts: Vec::new(),
            thresholds: Thresholds::default(),
            alerts: AlertSettings::default(),
            overrides: Vec::new(),
            notifications: NotificationSettings::default(),
            history: HistorySettings::default(),
            desktop: DesktopSettings::default(),
            webdock: Vec::new(),
        }
    }
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            reconcile_every: Duration::from_secs(60),
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self { ring_lines: 5000 }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            container_cpu_percent: level(70.0, 90.0),
            container_memory_percent: level(80.0, 95.0),
            container_net_rx_mb_per_s: level(100.0, 500.0),
            container_net_tx_mb_per_s: level(100.0, 500.0),
            host_cpu_percent: level(80.0, 95.0),
            host_memory_percent: level(80.0, 95.0),
            host_disk_percent: level(80.0, 95.0),
            vps_network_quota_percent: level(80.0, 95.0),
        }
    }
}

impl Thresholds {
    /// The threshold of a metric by its config name.
    pub fn get(&self, metric: &str) -> Option<Threshold> {
        self.entries()
            .into_iter()
            .find(|(name, ..)| *name == metric)
            .map(|(_, threshold, ..)| threshold)
    }

    /// The unit of a metric by its config name.
    pub fn unit(&self, metric: &str) -> Option<&'static str> {
        self.entries()
            .into_iter()
            .find(|(name, ..)| *name == metric)
            .map(|(.., unit)| unit)
    }

    /// Each threshold with its config key, its upper bound and unit, for validation and display.
    pub fn entries(&self) -> [(&'static str, Threshold, f64, &'static str); 8] {
        [
            (
                "container_cpu_percent",
                self.container_cpu_percent,
                100.0,
                "%",
            ),
            (
                "container_memory_percent",
                self.container_memory_percent,
                100.0,
                "%",
            ),
            (
                "container_net_rx_mb_per_s",
                self.container_net_rx_mb_per_s,
                1e6,
                "MB/s",
            ),
            (
                "container_net_tx_mb_per_s",
                self.container_net_tx_mb_per_s,
                1e6,
                "MB/s",
            ),
            ("host_cpu_percent", self.host_cpu_percent, 100.0, "%"),
            ("host_memory_percent", self.host_memory_percent, 100.0, "%"),
            ("host_disk_percent", self.host_disk_percent, 100.0, "%"),
            (
                "vps_network_quota_percent",
                self.vps_network_quota_percent,
                100.0,
                "%",
            ),
        ]
    }
}

impl Config {
    /// `$XDG_CONFIG_HOME/docktray/config.toml` (usually `~/.config/docktray/config.toml`).
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|dir| dir.join("docktray").join("config.toml"))
    }

    /// Loads `path`, or the default path when `None`. A missing file gives the defaults; the file is only read.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let explicit = path.is_some();
        let Some(path) = path.map(Path::to_path_buf).or_else(Self::default_path) else {
            return Ok(Self::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            // An explicitly named file must exist; the default one is optional.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
                Ok(Self::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Parses and validates TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: path.to_path_buf(),
            message: err.to_string().trim_end().to_owned(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

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
        if crate::alerts::Level::parse(&notifications.min_level)
            .is_none_or(|level| level == crate::alerts::Level::Resolved)
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
            if self.webdock[..index].iter().any(|other| {
                crate::webdock::token::env_name(&other.name)
                    == crate::webdock::token::env_name(&account.name)
            }) {
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

    /// The engine endpoint to use: config, then `DOCKER_HOST`, then the platform default socket.
    pub fn docker_endpoint(&self) -> String {
        if !self.docker.host.trim().is_empty() {
            return self.docker.host.trim().to_owned();
        }
        match std::env::var("DOCKER_HOST") {
            Ok(host) if !host.trim().is_empty() => host.trim().to_owned(),
            _ => "unix:///var/run/docker.sock".to_owned(),
        }
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

/// Serde adapter for optional durations written as text.
mod optional_duration_text {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::duration_text::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::duration_text::deserialize(deserializer).map(Some)
    }
}

/// Serde adapter for durations written as text (`"2s"`, `"500ms"`, `"1m"`).
mod duration_text {
    use std::time::Duration;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    use super::{format_duration, parse_duration};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let expected = "expected a duration such as \"2s\", \"500ms\" or \"1m\"";
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => parse_duration(&text).ok_or_else(|| {
                D::Error::custom(format!("invalid duration \"{text}\": {expected}"))
            }),
            Raw::Number(number) => Err(D::Error::custom(format!(
                "invalid duration {number} (no unit): {expected}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/tmp/config.toml"))
    }

    #[test]
    fn empty_file_means_defaults() {
        let config = parse("").expect("empty config parses");
        assert_eq!(config, Config::default());
        assert_eq!(config.interval, Duration::from_secs(2));
        assert_eq!(config.logs.ring_lines, 5000);
        assert_eq!(config.thresholds.container_cpu_percent.warning, 70.0);
    }

    #[test]
    fn values_are_read() {
        let config = parse(
            "interval = \"5s\"\n[logs]\nring_lines = 200\n[[hosts]]\nname = \"nas\"\ndestination = \"me@nas:2222\"\n\
             [thresholds.host_cpu_percent]\nwarning = 50\ncritical = 60\n",
        )
        .expect("valid config");
        assert_eq!(config.interval, Duration::from_secs(5));
        assert_eq!(config.logs.ring_lines, 200);
        assert_eq!(config.hosts[0].socket, "/var/run/docker.sock");
        assert_eq!(config.thresholds.host_cpu_percent.critical, 60.0);
    }

    #[test]
    fn bad_duration_names_key_and_form() {
        let message = parse("interval = \"fast\"").unwrap_err().to_string();
        assert!(message.contains("interval"), "{message}");
        assert!(message.contains("\"fast\""), "{message}");
        assert!(message.contains("\"2s\""), "{message}");
        let message = parse("interval = 2").unwrap_err().to_string();
        assert!(message.contains("no unit"), "{message}");
    }

    #[test]
    fn out_of_range_values_name_key_value_and_expected() {
        let message = parse("interval = \"10ms\"").unwrap_err().to_string();
        assert!(message.contains("`interval` = \"10ms\""), "{message}");
        assert!(message.contains("250ms"), "{message}");
        let message = parse("[logs]\nring_lines = 0").unwrap_err().to_string();
        assert!(message.contains("logs.ring_lines"), "{message}");
        let message = parse("[thresholds.container_cpu_percent]\nwarning = 95\ncritical = 90")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("thresholds.container_cpu_percent.warning"),
            "{message}"
        );
        assert!(message.contains("below critical"), "{message}");
        let message = parse("[thresholds.host_disk_percent]\nwarning = 80\ncritical = 150")
            .unwrap_err()
            .to_string();
        assert!(message.contains("host_disk_percent.critical"), "{message}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_rejected() {
        let message = parse("intervall = \"2s\"").unwrap_err().to_string();
        assert!(message.contains("intervall"), "{message}");
        let message = parse("[logs]\nring_lines = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(message.contains("ring_lines"), "{message}");
        let message = parse("[[hosts]]\nname = \"local\"\ndestination = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(message.contains("hosts[0].name"), "{message}");
    }

    #[test]
    fn missing_default_file_is_fine_but_missing_explicit_file_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.toml");
        let err = Config::load(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("nope.toml"), "{err}");
    }

    #[test]
    fn endpoint_prefers_config() {
        let mut config = Config::default();
        config.docker.host = "unix:///tmp/x.sock".into();
        assert_eq!(config.docker_endpoint(), "unix:///tmp/x.sock");
    }

    #[test]
    fn webdock_accounts_are_read_and_checked() {
        let config = parse(
            "[[webdock]]\nname = \"work\"\n[[webdock]]\nname = \"clients\"\nservers = [\"a-1\", \"b\"]\n\
             interval = \"5m\"\nbase_url = \"http://127.0.0.1:8080/v1\"\n",
        )
        .expect("valid accounts");
        assert_eq!(config.webdock[0].servers, ServerSelection::All);
        assert_eq!(config.webdock[0].base_url, WEBDOCK_API);
        assert_eq!(config.webdock[0].interval, Duration::from_secs(60));
        assert!(config.webdock[1].servers.includes("a-1"));
        assert!(!config.webdock[1].servers.includes("c"));
        assert_eq!(config.webdock[1].interval, Duration::from_secs(300));
        // Saved and read back the same (the window saves settings through this form).
        let text = toml::to_string(&config).expect("serialises");
        assert_eq!(parse(&text).expect("reads back"), config);

        for (text, key, expected) in [
            (
                "[[webdock]]\nname = \"work\"\nservers = \"some\"\n",
                "servers",
                "\"all\" or a list",
            ),
            (
                "[[webdock]]\nname = \"my work\"\n",
                "webdock[0].name",
                "letters, digits",
            ),
            (
                "[[webdock]]\nname = \"a-b\"\n[[webdock]]\nname = \"A_B\"\n",
                "webdock[1].name",
                "no other",
            ),
            (
                "[[webdock]]\nname = \"w\"\nservers = [\"x y\"]\n",
                "webdock[0].servers",
                "slugs",
            ),
            (
                "[[webdock]]\nname = \"w\"\ninterval = \"100ms\"\n",
                "webdock[0].interval",
                "\"1s\"",
            ),
            (
                "[[webdock]]\nname = \"w\"\nbase_url = \"ftp://x\"\n",
                "webdock[0].base_url",
                "http(s) URL",
            ),
            (
                "[[webdock]]\nname = \"w\"\ntoken = \"secret\"\n",
                "token",
                "unknown field",
            ),
        ] {
            let message = parse(text).unwrap_err().to_string();
            assert!(message.contains(key), "{text}: {message}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
