//! Containers as Docker describes them: identity, state, metadata, figures, actions and events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Lifecycle state of a container, as Docker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl ContainerState {
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the container has processes whose resources we can sample.
    pub fn has_processes(self) -> bool {
        matches!(self, Self::Running | Self::Paused | Self::Restarting)
    }
}

/// Result of the container's HEALTHCHECK, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// A published or exposed port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
}

/// What Docker says about a container: identity, state and metadata (no resource numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerInfo {
    /// Name of the host the container runs on (`local` for the local engine).
    pub host: String,
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    /// Docker-style status text, e.g. "Up 5 minutes (healthy)" or "Exited (137) 2 minutes ago".
    pub status: String,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub restart_count: u64,
    pub compose_project: Option<String>,
    pub compose_service: Option<String>,
    /// The Podman pod the container belongs to (shown as a group, like a compose project).
    #[serde(default)]
    pub pod: Option<String>,
    pub ports: Vec<PortMapping>,
    pub created: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub labels: BTreeMap<String, String>,
    /// The container's IP address on each network it is attached to, by network name (empty for `host`
    /// networking); a reverse proxy on this machine sends requests there.
    #[serde(default)]
    pub ip_addresses: BTreeMap<String, String>,
    /// Main process id on the engine's host; used to read cgroup files when the engine is local.
    #[serde(skip)]
    pub pid: Option<u32>,
}

/// How a container's numbers were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum SampleMethod {
    /// Read straight from the container's cgroup and network namespace files (on this machine, or on an SSH host
    /// in the interval's one batched command).
    Cgroup,
    /// Asked the Docker API (`/containers/{id}/stats?one-shot=true`).
    Api,
}

/// Resource usage of one running container over the last interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerStats {
    pub sampled_at: DateTime<Utc>,
    pub method: SampleMethod,
    /// CPU as `docker stats` shows it: 100 % per busy core, so up to online_cpus x 100.
    pub cpu_percent: f64,
    /// CPU as a share of the whole host, 0-100.
    pub cpu_host_percent: f64,
    pub online_cpus: u32,
    /// Memory as `docker stats` shows it: usage minus inactive file cache.
    pub memory_bytes: u64,
    /// The container's memory limit, or the host's memory when it has none.
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub net_rx_bytes_per_s: f64,
    pub net_tx_bytes_per_s: f64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub block_read_bytes_per_s: f64,
    pub block_write_bytes_per_s: f64,
    pub pids: u64,
}

/// One container with its latest numbers (none while stopped or before the second sample).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerSnapshot {
    #[serde(flatten)]
    pub info: ContainerInfo,
    pub stats: Option<ContainerStats>,
}

/// A container lifecycle action the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
    Stop,
    Restart,
    Pause,
    Unpause,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Pause => "pause",
            Self::Unpause => "unpause",
        }
    }
}

/// A Docker event about a container, after the engine updated its state from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerEvent {
    pub host: String,
    pub id: String,
    pub name: String,
    /// Docker's action: create, start, die, oom, kill, destroy, restart, health_status, pause, unpause, stop.
    pub action: String,
    pub exit_code: Option<i64>,
    pub health: Option<Health>,
    pub at: DateTime<Utc>,
}

/// Everything the detail view shows about one container beyond [`ContainerInfo`]. Environment values are
/// sent as they are; the window masks them until the user reveals one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ContainerDetail {
    pub info: ContainerInfo,
    /// Entrypoint and command, as Docker runs them.
    pub command: Vec<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    /// `NAME=value` pairs split at the first `=`.
    pub env: Vec<(String, String)>,
    pub mounts: Vec<MountInfo>,
    pub networks: Vec<NetworkInfo>,
    pub restart_policy: Option<String>,
    /// The last health check results, newest last.
    pub health_log: Vec<HealthCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct MountInfo {
    /// bind, volume, tmpfs ...
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NetworkInfo {
    pub name: String,
    pub ip_address: Option<String>,
    pub gateway: Option<String>,
    pub mac_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HealthCheck {
    pub start: Option<String>,
    pub end: Option<String>,
    pub exit_code: Option<i64>,
    pub output: String,
}

/// Docker-style status text ("Up 5 minutes (healthy)", "Exited (137) 2 minutes ago").
pub fn status_text(info: &ContainerInfo, now: DateTime<Utc>) -> String {
    let ago =
        |at: Option<DateTime<Utc>>| at.map(|at| human_duration(now.signed_duration_since(at)));
    let health = match info.health {
        Some(Health::Starting) => " (health: starting)",
        Some(Health::Healthy) => " (healthy)",
        Some(Health::Unhealthy) => " (unhealthy)",
        None => "",
    };
    match info.state {
        ContainerState::Running => format!(
            "Up {}{health}",
            ago(info.started_at).unwrap_or_else(|| "now".into())
        ),
        ContainerState::Paused => {
            format!(
                "Up {} (Paused)",
                ago(info.started_at).unwrap_or_else(|| "now".into())
            )
        }
        ContainerState::Restarting => format!(
            "Restarting ({}) {} ago",
            info.exit_code.unwrap_or(0),
            ago(info.finished_at).unwrap_or_else(|| "moments".into())
        ),
        ContainerState::Exited => match ago(info.finished_at) {
            Some(when) => format!("Exited ({}) {when} ago", info.exit_code.unwrap_or(0)),
            None => format!("Exited ({})", info.exit_code.unwrap_or(0)),
        },
        ContainerState::Created => "Created".into(),
        ContainerState::Removing => "Removal In Progress".into(),
        ContainerState::Dead => "Dead".into(),
        ContainerState::Unknown => "Unknown".into(),
    }
}

/// "Less than a second", "5 seconds", "3 minutes", "2 hours", "4 days", like Docker's units.HumanDuration.
pub fn human_duration(duration: chrono::TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    match seconds {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", seconds / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", seconds / 3600),
        172_800..=1_209_599 => format!("{} days", seconds / 86400),
        1_209_600..=5_183_999 => format!("{} weeks", seconds / 604_800),
        5_184_000..=63_071_999 => format!("{} months", seconds / 2_592_000),
        _ => format!("{} years", seconds / 31_536_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_follows_docker() {
        assert_eq!(
            human_duration(chrono::TimeDelta::seconds(0)),
            "Less than a second"
        );
        assert_eq!(
            human_duration(chrono::TimeDelta::seconds(90)),
            "About a minute"
        );
        assert_eq!(human_duration(chrono::TimeDelta::seconds(7300)), "2 hours");
        assert_eq!(human_duration(chrono::TimeDelta::days(3)), "3 days");
    }
}
