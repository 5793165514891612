//! The health of each source: reachability, the failing step, the error history.

use chrono::{DateTime, Utc};

use super::{engine_label, EngineProduct, RateBudget, SampleMethod};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    /// Caddy's admin API did not answer, or answered an error.
    Caddy,
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
            Self::Caddy => "Caddy",
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
    /// `docker`, `host`, `webdock` (a Webdock account) or `caddy` (the reverse proxy Docktray keeps routes in).
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
    /// Container engines: which product answers (Docker, Podman), once connected.
    #[serde(default)]
    pub engine_product: Option<EngineProduct>,
    /// Container engines: it runs as an unprivileged user (rootless Podman or Docker).
    #[serde(default)]
    pub rootless: bool,
    /// Container engines: why container figures come from where they do, or why there are none (e.g. rootless
    /// Podman on cgroup v1 keeps no per-container cgroup), in words that say what to do about it.
    #[serde(default)]
    pub stats_note: Option<String>,
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
            engine_product: None,
            rootless: false,
            stats_note: None,
        }
    }

    /// The engine as it is shown (`Podman 4.3.1 (rootless)`), once its version is known.
    pub fn engine_label(&self) -> Option<String> {
        self.engine_version
            .as_deref()
            .map(|version| engine_label(self.engine_product, version, self.rootless))
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
