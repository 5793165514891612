//! The TOML configuration: the schema with its defaults (here), validation with messages that name the key, the
//! bad value and the expected form ([`validate`]), and saving settings into the user's file with its comments
//! kept ([`file`]). Loading never writes the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ConfigError;

pub mod api;
pub mod caddy;
pub mod channels;
mod durations;
pub mod endpoint;
pub mod file;
pub mod forecasts;
pub mod layers;
mod log;
pub mod log_alerts;
pub mod schema;
pub mod services;
mod validate;
pub mod webdock;
pub mod window;

pub use api::ApiConfig;
pub use caddy::CaddyConfig;
pub use channels::{EmailChannel, NtfyChannel, WebhookChannel};
pub use forecasts::{ForecastRule, ForecastSettings};
pub use log_alerts::LogAlert;
pub use services::ServicesConfig;
pub use webdock::{webdock_token_env, ServerSelection, WebdockAccount, WEBDOCK_API};

use durations::{duration_text, optional_duration_text};
pub use log::LogSettings;

/// Whole configuration. Every field has a default, so a missing file or section means defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How often container and host metrics are sampled (default `2s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
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
    /// An optional log file, rotated by size.
    pub log: LogSettings,
    /// The service registry read from container labels.
    pub services: ServicesConfig,
    /// Keeping a Caddy reverse proxy's routes in step with the services (off unless `admin_url` is set).
    pub caddy: CaddyConfig,
    /// Alerts that see ahead: trends fitted to the history (disks filling, memory growing, quotas running out).
    pub forecasts: ForecastSettings,
    /// Alerts on patterns in containers' logs.
    pub log_alerts: Vec<LogAlert>,
    /// The HTTP API: `docktray serve`, and the desktop app when `enabled` (docs/api.md).
    pub api: ApiConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct DockerConfig {
    /// Engine endpoint such as `unix:///var/run/docker.sock`, or a Podman socket as it is
    /// (`unix:///run/user/1000/podman/podman.sock`); empty means `DOCKER_HOST`, Docker's socket, `CONTAINER_HOST`,
    /// then Podman's rootless and rootful sockets.
    pub host: String,
    /// Full re-list of containers to heal anything the event stream missed (default `60s`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub reconcile_every: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Lines kept per followed container so a new viewer gets history at once (default 5000).
    pub ring_lines: usize,
}

/// A remote Docker host reached over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// What the host is called in every view (not `local`, which is this machine).
    pub name: String,
    /// `user@host[:port]` or an alias from `~/.ssh/config`.
    pub destination: String,
    /// A private key for this host (`ssh -i`); empty for ssh's own choice (agent, `~/.ssh/config`).
    #[serde(default)]
    pub identity_file: Option<PathBuf>,
    /// The Docker (or Podman) socket on the host (default `/var/run/docker.sock`).
    #[serde(default = "default_remote_socket")]
    pub socket: String,
    /// An ssh_config file used instead of `~/.ssh/config` (`ssh -F`); for set-ups kept apart, such as tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ssh_config: Option<PathBuf>,
}

/// Warning and critical levels of one metric, in the metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The warning level, in the metric's unit.
    pub warning: f64,
    /// The critical level (above the warning level).
    pub critical: f64,
    /// Whether the metric is judged at all (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long the level must hold before it is raised or cleared; `alerts.hold` when absent.
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    #[schemars(with = "Option<String>")]
    pub hold: Option<Duration>,
}

/// A partial threshold in an override: what is given replaces the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ThresholdOverride {
    /// Replaces the warning level.
    pub warning: Option<f64>,
    /// Replaces the critical level.
    pub critical: Option<f64>,
    /// Turns the metric off (or on) for these targets.
    pub enabled: Option<bool>,
    /// Replaces how long the level must hold.
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    #[schemars(with = "Option<String>")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// A level must hold this long before it is raised, and the value stay low this long before it clears.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub hold: Duration,
    /// An alert clears only below the warning threshold minus this share of it (10 = 10 %).
    pub hysteresis_percent: f64,
    /// A still-active alert is notified again only after this long.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub cooldown: Duration,
    /// This many restarts ...
    pub restart_loop_count: u32,
    /// ... within this window make a restart loop.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub restart_loop_window: Duration,
}

/// Desktop notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Desktop notifications on or off.
    pub enabled: bool,
    /// `info`, `warning` or `critical`: lower levels are not notified (resolutions of notified alerts are).
    pub min_level: String,
    /// `HH:MM-HH:MM` local time during which nothing is shown (may span midnight); empty for none.
    pub quiet_hours: String,
    /// Alerts arriving within this window are grouped into one notification when there are several.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub group_window: Duration,
    /// Webhooks: a JSON POST for each batch of alert changes.
    pub webhooks: Vec<WebhookChannel>,
    /// Push notifications through ntfy.
    pub ntfy: NtfyChannel,
    /// E-mail over SMTP.
    pub email: EmailChannel,
}

/// The local metrics history (SQLite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySettings {
    /// Whether samples and alerts are recorded.
    pub enabled: bool,
    /// Database file; empty for `$XDG_DATA_HOME/docktray/history.sqlite`.
    pub path: String,
    /// Samples at the collection interval are kept this long ...
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub raw_retention: Duration,
    /// ... one-minute rollups (min, avg, max) this long ...
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub rollup_retention: Duration,
    /// ... and alerts this long.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub alert_retention: Duration,
    /// Engine events (the timeline: starts, dies, OOM kills, image pulls...) are kept this long ...
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub event_retention: Duration,
    /// ... and actions taken through Docktray (the audit entries) this long, never shorter than the samples.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub audit_retention: Duration,
}

/// The desktop app's own settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
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
            webhooks: Vec::new(),
            ntfy: NtfyChannel::default(),
            email: EmailChannel::default(),
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
            event_retention: Duration::from_secs(30 * 86400),
            audit_retention: Duration::from_secs(365 * 86400),
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
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
            log: LogSettings::default(),
            services: ServicesConfig::default(),
            caddy: CaddyConfig::default(),
            forecasts: ForecastSettings::default(),
            log_alerts: Vec::new(),
            api: ApiConfig::default(),
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

    /// Loads `path` (or the default path when `None`; a missing default file gives the defaults), then the
    /// settings in this process's environment (`DOCKTRAY_<SECTION>__<KEY>`, the Dockpeek variables). The file is
    /// only read.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Ok(Self::load_layered(path, &layers::Overrides::from_process(Vec::new()))?.config)
    }

    /// Loads `path`, then `overrides` on top, remembering where each value came from.
    pub fn load_layered(
        path: Option<&Path>,
        overrides: &layers::Overrides,
    ) -> Result<layers::Layered, ConfigError> {
        layers::load(path, overrides)
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

    /// The engine endpoint to use: config, then `DOCKER_HOST`, Docker's socket, `CONTAINER_HOST` and Podman's
    /// sockets (see [`endpoint::default_endpoint`]).
    pub fn docker_endpoint(&self) -> String {
        if !self.docker.host.trim().is_empty() {
            return self.docker.host.trim().to_owned();
        }
        endpoint::default_endpoint(&endpoint::EndpointEnv::from_process(), &|path| {
            path.exists()
        })
    }
}

#[cfg(test)]
mod tests;
