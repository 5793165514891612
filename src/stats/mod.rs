//! Container resource sampling. Raw counters come either from cgroup files ([`cgroup`], local engine, no Docker
//! API call per container) or from the Docker API ([`api`], remote or hidden engines); [`formula`] turns two
//! samples into the numbers `docker stats` shows.

pub mod api;
pub mod cgroup;
pub mod formula;

use std::time::Instant;

/// Cumulative counters of one container at one instant; two of them make a [`crate::ContainerStats`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawCounters {
    pub at: Instant,
    /// Container CPU time, nanoseconds.
    pub cpu_total_ns: u64,
    /// Host CPU time (all cores, as `/proc/stat` counts it), nanoseconds.
    pub system_ns: u64,
    pub online_cpus: u32,
    /// Memory as `docker stats` counts it (usage minus inactive file cache).
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}
