//! The vocabulary of alerts: levels, targets, alerts and their transitions, and the one overall level the tray
//! shows. The judging itself lives in `crate::alerts`; these types are shared by everything that shows or stores
//! alerts (tray, notifications, history, CLI, window, HTTP API).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How bad an alert is. `Resolved` marks an alert that is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Resolved,
    Info,
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "resolved" => Some(Self::Resolved),
            "info" => Some(Self::Info),
            "warning" | "warn" => Some(Self::Warning),
            "critical" | "crit" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Host,
    Container,
    Vps,
    /// The reverse proxy Docktray keeps routes in (Caddy).
    Proxy,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Target {
    pub kind: TargetKind,
    /// The host the target belongs to (the host itself for host alerts).
    pub host: String,
    /// Container id, host name or VPS slug.
    pub id: String,
    /// What people call it: container name, host name, VPS name.
    pub name: String,
}

impl Target {
    /// "web on local", "local", for messages.
    pub fn label(&self) -> String {
        match self.kind {
            TargetKind::Container => format!("{} on {}", self.name, self.host),
            TargetKind::Host | TargetKind::Vps | TargetKind::Proxy => self.name.clone(),
        }
    }
}

/// Metric and event names used in alerts (and in the config's `thresholds` table for the numeric ones).
pub mod metric {
    pub const CONTAINER_CPU: &str = "container_cpu_percent";
    pub const CONTAINER_MEMORY: &str = "container_memory_percent";
    pub const CONTAINER_NET_RX: &str = "container_net_rx_mb_per_s";
    pub const CONTAINER_NET_TX: &str = "container_net_tx_mb_per_s";
    pub const HOST_CPU: &str = "host_cpu_percent";
    pub const HOST_MEMORY: &str = "host_memory_percent";
    pub const HOST_DISK: &str = "host_disk_percent";
    pub const VPS_NETWORK_QUOTA: &str = "vps_network_quota_percent";
    /// A Webdock server whose status is anything but `running`.
    pub const VPS_STATUS: &str = "vps_status";
    pub const EXITED: &str = "exited";
    pub const OOM_KILLED: &str = "oom_killed";
    pub const UNHEALTHY: &str = "unhealthy";
    pub const RESTART_LOOP: &str = "restart_loop";
    pub const DISAPPEARED: &str = "disappeared";
    pub const UNREACHABLE: &str = "unreachable";
    /// Forecasts (`[forecasts]`): the projected hours until a disk is full, a container's memory reaches its
    /// limit, a VPS's monthly traffic reaches its quota. Lower is worse.
    pub const DISK_FULL_FORECAST: &str = "disk_full_forecast";
    pub const MEMORY_LIMIT_FORECAST: &str = "memory_limit_forecast";
    pub const NETWORK_QUOTA_FORECAST: &str = "network_quota_forecast";
    /// A `[[log_alerts]]` pattern matched often enough in a container's logs (the detail names the rule).
    pub const LOG_PATTERN: &str = "log_pattern";

    /// Whether an alert of this metric is about a projected time rather than a measured value.
    pub fn is_forecast(name: &str) -> bool {
        matches!(
            name,
            DISK_FULL_FORECAST | MEMORY_LIMIT_FORECAST | NETWORK_QUOTA_FORECAST
        )
    }
}

/// One alert, active or over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Alert {
    /// Unique across runs (milliseconds since the epoch at creation, times 1024, plus a counter).
    pub id: u64,
    pub target: Target,
    /// A name from [`metric`].
    pub metric: String,
    /// Which part of the target, where a target has several (the mount point of a disk).
    pub detail: Option<String>,
    pub level: Level,
    /// The value that made the current level, in `unit`.
    pub value: Option<f64>,
    /// The threshold it crossed.
    pub threshold: Option<f64>,
    pub unit: String,
    pub message: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged: bool,
    /// For host metrics: the containers using most of it, "name value" pairs, highest first.
    pub top: Vec<(String, f64)>,
    /// For log-pattern alerts: the last matching lines (without colour codes), oldest first. Text, never HTML.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<String>>")]
    pub lines: Vec<String>,
}

impl Alert {
    pub fn is_active(&self) -> bool {
        self.resolved_at.is_none() && self.level >= Level::Warning
    }
}

/// What changed about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    /// A new warning or critical alert.
    Raised,
    /// Warning became critical.
    Escalated,
    /// Critical eased to warning (not notified: it is still an alert).
    Eased,
    /// Still active after the cooldown: say it again.
    Reminder,
    /// Back to normal.
    Resolved,
    /// A one-off event worth knowing (container removed); never active.
    Notice,
    /// The user acknowledged it.
    Acknowledged,
}

/// A change of one alert; the unit every subscriber receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AlertTransition {
    pub kind: TransitionKind,
    pub alert: Alert,
    pub previous_level: Option<Level>,
    pub at: DateTime<Utc>,
}

impl AlertTransition {
    /// Whether this change deserves a desktop notification at all (before the user's settings).
    pub fn is_notifiable(&self) -> bool {
        matches!(
            self.kind,
            TransitionKind::Raised
                | TransitionKind::Escalated
                | TransitionKind::Reminder
                | TransitionKind::Resolved
                | TransitionKind::Notice
        )
    }
}

/// Tray colour: green, yellow, red, or grey when no watched source is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum OverallLevel {
    Ok,
    Warning,
    Critical,
    Unreachable,
}

impl OverallLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Critical => "critical",
            Self::Unreachable => "unreachable",
        }
    }
}
