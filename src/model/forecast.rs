//! Forecasts: where a figure is heading, from a robust line fitted to its recorded history (a disk filling up,
//! a container's memory creeping towards its limit, a Webdock server's monthly traffic towards its quota). The
//! forecaster fits them and reports them as an observation; the engine keeps the latest set, shows it and has the
//! alert evaluator judge the projected time like any other figure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::alert::Target;

/// What a forecast is about. Each kind has its own `[forecasts.<kind>]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ForecastKind {
    /// A host's or a VPS's filesystem reaching 100 % (`detail` is the mount point).
    Disk,
    /// A container's memory reaching its limit (or the host's memory when it has none).
    Memory,
    /// A Webdock server's traffic this month reaching its allowance (it starts again each month).
    NetworkQuota,
}

impl ForecastKind {
    pub const ALL: [ForecastKind; 3] = [Self::Disk, Self::Memory, Self::NetworkQuota];

    /// The name in `[forecasts.<name>]`.
    pub fn config_key(self) -> &'static str {
        match self {
            Self::Disk => "disk",
            Self::Memory => "memory",
            Self::NetworkQuota => "network_quota",
        }
    }

    /// The alert metric a forecast of this kind raises (see [`super::alert::metric`]).
    pub fn metric(self) -> &'static str {
        match self {
            Self::Disk => super::alert::metric::DISK_FULL_FORECAST,
            Self::Memory => super::alert::metric::MEMORY_LIMIT_FORECAST,
            Self::NetworkQuota => super::alert::metric::NETWORK_QUOTA_FORECAST,
        }
    }
}

/// Whether a fit says anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ForecastState {
    /// Rising steadily: `reaches_at` says when the limit is reached (possibly beyond any horizon).
    Rising,
    /// Flat or falling: the limit is not in sight.
    Steady,
    /// The points scatter too much around any line (`quality` below `min_fit`).
    Unsteady,
    /// Less history than `min_data` since the last restart (or reset) to fit.
    Learning,
    /// Already at (or over) the limit.
    AtLimit,
}

/// One forecast: the fitted line, and when it meets the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Forecast {
    pub kind: ForecastKind,
    pub target: Target,
    /// Which part of the target: the mount point of a disk.
    pub detail: Option<String>,
    pub state: ForecastState,
    /// `%` (disks, quotas) or `B` (memory).
    pub unit: String,
    /// The line's value now, in `unit`.
    pub current: f64,
    /// The value the line is heading for (100 %, the memory limit in bytes).
    pub limit: f64,
    /// How fast the line rises, in `unit` per hour (negative when falling).
    pub slope_per_hour: f64,
    /// R² of the line against the points (1 is a perfect line; near 0 or below, no line at all).
    pub quality: f64,
    /// When the line meets the limit, if it rises (for a quota: only within the current month).
    pub reaches_at: Option<DateTime<Utc>>,
    /// Hours from `computed_at` to `reaches_at`.
    pub hours_left: Option<f64>,
    /// The first point the fit used (after the last restart or reset) and how many it used.
    pub since: Option<DateTime<Utc>>,
    pub points: u32,
    pub computed_at: DateTime<Utc>,
    /// One line for people: "full in about 3 days", "grows about 40 MB/h, reaches its limit in about 9 h".
    pub summary: String,
}

impl Forecast {
    /// Whether this forecast is about `target` and `detail` (the same disk, the same container).
    pub fn is_about(&self, target: &Target, detail: Option<&str>) -> bool {
        self.target.kind == target.kind
            && self.target.host == target.host
            && self.target.id == target.id
            && self.detail.as_deref() == detail
    }
}
