//! Servers in the normalised server-stats form shared by Docker hosts and Webdock VPS servers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
