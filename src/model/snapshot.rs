//! Everything the engine knows at one instant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::alert::Alert;
use super::{
    ChannelStatus, ContainerSnapshot, Forecast, OverallLevel, ProxyStatus, ServerStats, Service,
    ServiceProblem, SourceStatus,
};

/// Everything the engine knows at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    /// The worst active, unacknowledged alert level; `unreachable` when no watched source answers.
    pub overall: OverallLevel,
    /// Active alerts, oldest first.
    pub alerts: Vec<Alert>,
    pub sources: Vec<SourceStatus>,
    pub hosts: Vec<ServerStats>,
    pub containers: Vec<ContainerSnapshot>,
    /// The services read from the containers' labels, with Caddy's state for each.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Service labels that could not be read (their services are left out).
    #[serde(default)]
    pub service_problems: Vec<ServiceProblem>,
    /// The Caddy sink's routes; `None` while Caddy sync is off.
    #[serde(default)]
    pub proxy: Option<ProxyStatus>,
    /// The latest forecasts (`[forecasts]`): where disks, memory and quotas are heading.
    #[serde(default)]
    pub forecasts: Vec<Forecast>,
    /// The notification channels beside the desktop (webhooks, ntfy, e-mail) and how their deliveries go.
    #[serde(default)]
    pub channels: Vec<ChannelStatus>,
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
