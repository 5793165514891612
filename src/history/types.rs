//! What the history takes and gives: queries, series, samples, export rows and its tuning.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::{Alert, Level};

/// Ranges up to this long are charted from raw samples under [`Resolution::Auto`], longer ones from rollups.
pub const AUTO_RAW_MAX: Duration = Duration::from_secs(2 * 3600);

/// What a chart asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesQuery {
    pub target: SeriesTarget,
    /// A name from [`CONTAINER_METRICS`] (containers and services) or [`HOST_METRICS`] (hosts).
    pub metric: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Keep only the newest `limit` points.
    pub limit: Option<usize>,
    pub resolution: Resolution,
}

/// Whose numbers to chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeriesTarget {
    /// By exact id, id prefix (4+ characters) or name. A name follows the container across re-creations (each
    /// new id is a new series); without `host` it must be unambiguous across hosts.
    Container {
        host: Option<String>,
        id_or_name: String,
    },
    /// All containers of a compose service (on every host when `host` is `None`), aggregated per sample.
    Service {
        host: Option<String>,
        service: String,
    },
    Host {
        name: String,
    },
}

/// Which table answers a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Raw for ranges up to [`AUTO_RAW_MAX`], one-minute rollups beyond.
    #[default]
    Auto,
    /// Every sample (kept `raw_retention`).
    Raw,
    /// One point per minute (kept `rollup_retention`); the current, not yet rolled-up minute is computed from
    /// raw samples on the fly.
    Minute,
}

/// A query's answer (the window's charts get it as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Series {
    /// The resolution used: `Raw` or `Minute`, never `Auto`.
    pub resolution: Resolution,
    /// Oldest first.
    pub points: Vec<Point>,
}

/// One point: for raw samples `min == avg == max == value`.
///
/// For a service, the members' points of one sampling sweep (raw) or one minute (rollups) are combined:
/// additive metrics (CPU percents, bytes, rates, pids) are summed, `memory_percent` is averaged; `min`, `avg`
/// and `max` are each combined that way, so a service's `max` bounds (not equals) the sum's true maximum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, rename = "SeriesPoint")]
pub struct Point {
    pub at: DateTime<Utc>,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// Which alerts to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertQuery {
    /// Alerts that reached at least this level at some point (so resolved warnings match `Warning`).
    pub level: Option<Level>,
    /// Alerts still active at or after this time (resolved later, or not resolved).
    pub since: Option<DateTime<Utc>>,
    /// Alerts started before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only alerts that are active now ([`Alert::is_active`]).
    pub active_only: bool,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON object per line, tagged by `"kind"`: [`ExportRow`].
    #[serde(rename = "jsonl")]
    JsonLines,
    /// One header line, then one row per record; columns that do not apply to a kind are empty.
    Csv,
}

/// One stored container sample, as exported. Times are whole milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSample {
    pub at: DateTime<Utc>,
    pub host: String,
    pub container_id: String,
    pub name: String,
    pub compose_service: Option<String>,
    pub compose_project: Option<String>,
    pub cpu_percent: f64,
    pub cpu_host_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub memory_percent: f64,
    pub net_rx_bytes_per_s: f64,
    pub net_tx_bytes_per_s: f64,
    pub block_read_bytes_per_s: f64,
    pub block_write_bytes_per_s: f64,
    pub pids: u64,
}

/// One stored host sample, as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    pub at: DateTime<Utc>,
    pub host: String,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub memory_used_gb: f64,
    pub swap_percent: f64,
    /// The root filesystem (`ServerStats::disk`).
    pub disk_percent: f64,
    pub net_rx_bytes_per_s: f64,
    pub net_tx_bytes_per_s: f64,
    pub load_1: f64,
}

/// One exported row; JSON lines carry the variant in `"kind"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportRow {
    ContainerSample(ContainerSample),
    HostSample(HostSample),
    Alert(Alert),
    /// An engine event of the timeline.
    Event(crate::model::EngineEvent),
    /// An action taken through Docktray.
    Audit(crate::model::AuditEntry),
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub container_raw_rows: u64,
    pub host_raw_rows: u64,
    pub container_minute_rows: u64,
    pub host_minute_rows: u64,
    pub alerts: u64,
    /// Engine events of the timeline.
    pub events: u64,
    /// Audit entries (actions taken through Docktray).
    pub audit_entries: u64,
    /// Containers and hosts with no rows left.
    pub series: u64,
    pub took_ms: u64,
}

/// Queue and writer counters, for a status line or a test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStats {
    /// Rows waiting for the writer.
    pub queued: usize,
    /// Rows thrown away because the queue was full (oldest first) or their batch failed to commit.
    pub dropped: u64,
    pub committed_rows: u64,
    pub last_error: Option<String>,
}

/// The writer's knobs. The defaults are what the app uses; tests and benchmarks shorten or widen them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Commit queued rows at least this often (what a crash can lose).
    pub batch_interval: Duration,
    /// ... or as soon as this many rows are queued; also the most rows one transaction holds.
    pub batch_rows: usize,
    /// Rows the queue holds before dropping the oldest (about 17 min of 100 containers at 2 s).
    pub queue_capacity: usize,
    /// Background retention pass period; the first runs `min(prune_every, 60 s)` after opening.
    pub prune_every: Duration,
    /// Rows per DELETE, so a pass never holds the write lock long.
    pub prune_batch: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            batch_interval: Duration::from_secs(2),
            batch_rows: 2000,
            queue_capacity: 50_000,
            prune_every: Duration::from_secs(600),
            prune_batch: 5000,
        }
    }
}
