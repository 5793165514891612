//! What the engine costs the process it runs in: `docktray status --json` shows it as `engine`
//! (docs/status-json.md).

use serde::{Deserialize, Serialize};

/// The engine's own figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfFigures {
    pub descriptors: DescriptorFigures,
    #[serde(default)]
    pub sweep: SweepFigures,
}

/// File descriptors: the local sweep keeps each running container's counter files open (about 7 each), within
/// a budget below the process limit; containers beyond it are read by opening their files per read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorFigures {
    /// Descriptors the process has open now (`/proc/self/fd`); null where that cannot be read.
    pub open: Option<u64>,
    /// `RLIMIT_NOFILE`, soft (raised to the hard one at start) and hard.
    pub soft_limit: Option<u64>,
    pub hard_limit: Option<u64>,
    /// Counter files kept open between sweeps, and how many may be.
    pub kept_open: u64,
    pub kept_open_budget: u64,
    /// Containers whose files the last sweep opened per read, because the budget was used up.
    pub containers_read_per_open: u64,
}

/// The last local sweep's reads: a container that ran no CPU since its last full reading is read in part (its
/// CPU, memory usage and network counters), the files that cannot have changed are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepFigures {
    /// Counter files read.
    pub files_read: u64,
    /// Reads left out.
    pub reads_skipped: u64,
}
