//! The data the engine hands out. These types are the public contract of snapshots, the CLI's JSON
//! (documented in docs/status-json.md) and, later, the desktop window's IPC.

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
    pub ports: Vec<PortMapping>,
    pub created: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub labels: BTreeMap<String, String>,
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

/// Used and total size of memory or a disk, in the normalised server-stats form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Usage {
    pub used_gb: f64,
    pub total_gb: f64,
    pub percent: f64,
}

/// One mounted filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DiskUsage {
    pub mount: String,
    pub filesystem: String,
    pub used_gb: f64,
    pub total_gb: f64,
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CpuUsage {
    pub count: u32,
    pub percent: f64,
    pub per_core: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NetworkRates {
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// A server's resources in the normalised form the older Dockpeek `/server-stats` endpoint used, so Docker hosts
/// and (later) Webdock VPS servers look alike. `disk` is the root filesystem (or the largest one); `disks` has all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServerStats {
    pub server_name: String,
    /// `docker-host` for machines running Docker, `webdock-vps` for Webdock servers.
    pub source_type: String,
    pub memory: Usage,
    pub swap: Usage,
    pub disk: Usage,
    pub disks: Vec<DiskUsage>,
    pub cpu: CpuUsage,
    pub network: NetworkRates,
    pub load: LoadAverage,
    pub uptime_s: u64,
    /// `active` when the numbers are fresh; for a Webdock VPS, Webdock's server status (`running`, `stopped` ...).
    pub status: String,
    pub timestamp: DateTime<Utc>,
    /// What only a Webdock VPS has (`source_type` = `webdock-vps`); `null` for Docker hosts.
    #[serde(default)]
    pub vps: Option<VpsDetails>,
}

/// A Webdock VPS beside its normalised figures: identity, profile, quota and Webdock's own status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VpsDetails {
    /// The Docktray account (config `[[webdock]]` name) the server is seen through.
    pub account: String,
    pub slug: String,
    pub name: String,
    /// Webdock's status: provisioning, running, stopped, error, rebooting, starting, stopping, reinstalling,
    /// suspended.
    pub status: String,
    pub location: Option<String>,
    pub image: Option<String>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub secondary_ips: Vec<String>,
    pub web_server: Option<String>,
    pub virtualization: Option<String>,
    pub profile: Option<VpsProfile>,
    /// Running processes at the last sampling.
    pub processes: Option<u64>,
    /// Network traffic this month against the plan's allowance.
    pub network_quota: Option<NetworkQuota>,
    /// Traffic over about the last 24 h, MiB.
    pub ingress_mib: Option<f64>,
    pub egress_mib: Option<f64>,
    /// Webdock's own resource-usage levels (`ok`, `warn`, `crit`) by resource, when its API sends them.
    pub webdock_usage_status: BTreeMap<String, String>,
    /// When Webdock took the samples (the figures are Webdock's, refreshed every few minutes).
    pub sampled_at: Option<DateTime<Utc>>,
}

/// A Webdock hardware profile, in the units the window shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VpsProfile {
    pub slug: String,
    pub name: String,
    pub ram_gb: f64,
    pub disk_gb: f64,
    pub cores: u32,
    pub threads: u32,
    /// Such as "10.00 EUR", when Webdock says.
    pub price: Option<String>,
}

/// Monthly network traffic against the allowance, GiB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NetworkQuota {
    pub used_gb: f64,
    pub allowed_gb: f64,
    pub percent: f64,
}

/// One point of a VPS chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VpsPoint {
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// Webdock's historic metrics of a VPS in the app's units, to seed its charts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VpsHistory {
    /// Share of the profile's cores per 30-minute window, last 12 h.
    pub cpu_percent: Vec<VpsPoint>,
    /// Hourly, last 24 h.
    pub memory_gb: Vec<VpsPoint>,
    pub memory_percent: Vec<VpsPoint>,
    /// Daily, last 7 days.
    pub disk_gb: Vec<VpsPoint>,
    pub disk_allowed_gb: Option<f64>,
    /// Daily traffic in MiB, last 7 days.
    pub ingress_mib: Vec<VpsPoint>,
    pub egress_mib: Vec<VpsPoint>,
    pub network_used_gb: Option<f64>,
    pub network_allowed_gb: Option<f64>,
    /// Every 30 minutes, last 12 h.
    pub processes: Vec<VpsPoint>,
}

/// The request budget of one Webdock account, from the `X-RateLimit-*` headers of its last reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RateBudget {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_at: Option<DateTime<Utc>>,
    /// Nothing is sent before this time (after a 429, or with no request left).
    pub blocked_until: Option<DateTime<Utc>>,
}

/// Reachability of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    Connecting,
    Up,
    /// Connected, but part of what it gives is failing (e.g. a remote host's stats command).
    Degraded,
    Unreachable,
}

/// The step of reaching a source that failed, so a message can say where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStep {
    /// The host name did not resolve.
    Dns,
    /// No TCP connection to the SSH port (refused, timed out, no route).
    Tcp,
    /// The host key is unknown or changed.
    HostKey,
    /// SSH authentication was refused.
    Auth,
    /// Anything else on the SSH side (master exited, forward refused, command failed).
    Ssh,
    /// The Docker socket does not exist at the configured path.
    SocketMissing,
    /// The SSH user may not use the Docker socket.
    SocketPermission,
    /// The engine did not answer, or answered an error.
    Docker,
    /// The engine is older than Docker 20.10 (API 1.41).
    DockerVersion,
    /// Reading the host's /proc and df over SSH failed.
    HostStats,
}

impl ErrorStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "DNS",
            Self::Tcp => "TCP",
            Self::HostKey => "host key",
            Self::Auth => "auth",
            Self::Ssh => "SSH",
            Self::SocketMissing => "socket missing",
            Self::SocketPermission => "socket permission",
            Self::Docker => "Docker",
            Self::DockerVersion => "Docker version",
            Self::HostStats => "host stats",
        }
    }
}

/// One failure of a source, kept in its error history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SourceError {
    pub at: DateTime<Utc>,
    pub step: ErrorStep,
    /// What failed and how to fix it.
    pub message: String,
}

/// Health of one source (a Docker engine, a host), as shown by `docktray status` and later the tray.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SourceStatus {
    pub name: String,
    /// `docker`, `host` or `webdock` (a Webdock account).
    pub kind: String,
    pub endpoint: String,
    pub state: SourceState,
    /// Why the source is unreachable, in words that say how to fix it.
    pub reason: Option<String>,
    pub consecutive_failures: u32,
    pub next_retry: Option<DateTime<Utc>>,
    pub engine_version: Option<String>,
    pub api_version: Option<String>,
    /// How container numbers are sampled on this source (`cgroup` or `api`).
    pub stats_method: Option<SampleMethod>,
    pub since: DateTime<Utc>,
    /// Webdock accounts: the request budget left.
    #[serde(default)]
    pub rate_limit: Option<RateBudget>,
    /// The latest failure with the step it happened at (kept after recovery, for the record).
    #[serde(default)]
    pub last_error: Option<SourceError>,
    /// The last failures, oldest first (at most [`SourceStatus::ERROR_HISTORY`]).
    #[serde(default)]
    pub errors: Vec<SourceError>,
}

impl SourceStatus {
    /// How many failures a source keeps in its history.
    pub const ERROR_HISTORY: usize = 50;

    /// A fresh status in the connecting state.
    pub fn connecting(name: &str, kind: &str, endpoint: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: kind.to_owned(),
            endpoint: endpoint.to_owned(),
            state: SourceState::Connecting,
            reason: None,
            consecutive_failures: 0,
            next_retry: None,
            engine_version: None,
            api_version: None,
            stats_method: None,
            since: Utc::now(),
            rate_limit: None,
            last_error: None,
            errors: Vec::new(),
        }
    }

    /// Records a failure in the history (bounded) and as the last error.
    pub fn record_error(&mut self, step: ErrorStep, message: String, at: DateTime<Utc>) {
        let error = SourceError { at, step, message };
        if self.errors.len() >= Self::ERROR_HISTORY {
            self.errors.remove(0);
        }
        self.errors.push(error.clone());
        self.last_error = Some(error);
    }
}

/// Everything the engine knows at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    /// The worst active, unacknowledged alert level; `unreachable` when no watched source answers.
    pub overall: crate::alerts::OverallLevel,
    /// Active alerts, oldest first.
    pub alerts: Vec<crate::alerts::Alert>,
    pub sources: Vec<SourceStatus>,
    pub hosts: Vec<ServerStats>,
    pub containers: Vec<ContainerSnapshot>,
}

impl Snapshot {
    /// Finds a container by exact id, id prefix (at least 4 characters) or name (with or without `/`).
    pub fn find_container(&self, wanted: &str) -> Option<&ContainerSnapshot> {
        let wanted = wanted.trim_start_matches('/');
        self.containers
            .iter()
            .find(|c| c.info.name == wanted || c.info.id == wanted)
            .or_else(|| {
                if wanted.len() < 4 {
                    return None;
                }
                let mut matches = self
                    .containers
                    .iter()
                    .filter(|c| c.info.id.starts_with(wanted));
                let first = matches.next()?;
                matches.next().is_none().then_some(first)
            })
    }
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
