//! The formulas `docker stats` uses, kept pure so they can be tested with cgroup v1 and v2 samples.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::RawCounters;
use crate::model::{ContainerStats, SampleMethod};

/// Memory in use as `docker stats` reports it: usage minus `total_inactive_file` (cgroup v1) or minus
/// `inactive_file` (cgroup v2). Subtracting `cache` is the old, wrong formula.
pub fn memory_in_use(usage: u64, stats: &HashMap<String, u64>) -> u64 {
    if let Some(&inactive) = stats.get("total_inactive_file") {
        if inactive < usage {
            return usage - inactive;
        }
        // cgroup v1 with an inactive count above usage: fall through like the docker CLI does.
    }
    match stats.get("inactive_file") {
        Some(&inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}

/// Difference of two cumulative counters. A counter that went down was reset (the container restarted and
/// got a new cgroup), so everything it counted since is new.
pub fn counter_delta(previous: u64, current: u64) -> u64 {
    if current >= previous {
        current - previous
    } else {
        current
    }
}

/// Per-second rate of a cumulative counter between two samples, robust to resets and zero intervals.
pub fn rate_per_second(previous: u64, current: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 || !seconds.is_finite() {
        return 0.0;
    }
    counter_delta(previous, current) as f64 / seconds
}

/// CPU percent like `docker stats` (100 per busy core) and normalised to the host (0-100).
pub fn cpu_percent(previous: &RawCounters, current: &RawCounters) -> (f64, f64) {
    let container = counter_delta(previous.cpu_total_ns, current.cpu_total_ns) as f64;
    let system = current.system_ns.saturating_sub(previous.system_ns) as f64;
    let cpus = current.online_cpus.max(1) as f64;
    if system <= 0.0 || container <= 0.0 {
        return (0.0, 0.0);
    }
    let docker = (container / system) * cpus * 100.0;
    let docker = docker.min(cpus * 100.0);
    (docker, docker / cpus)
}

/// Builds the user-facing numbers from the previous and the current counters.
pub fn container_stats(
    previous: &RawCounters,
    current: &RawCounters,
    method: SampleMethod,
    sampled_at: DateTime<Utc>,
) -> ContainerStats {
    let seconds = current
        .at
        .saturating_duration_since(previous.at)
        .as_secs_f64();
    let (cpu_percent, cpu_host_percent) = cpu_percent(previous, current);
    let memory_percent = if current.memory_limit_bytes > 0 {
        current.memory_bytes as f64 / current.memory_limit_bytes as f64 * 100.0
    } else {
        0.0
    };
    ContainerStats {
        sampled_at,
        method,
        cpu_percent,
        cpu_host_percent,
        online_cpus: current.online_cpus,
        memory_bytes: current.memory_bytes,
        memory_limit_bytes: current.memory_limit_bytes,
        memory_percent,
        net_rx_bytes: current.net_rx_bytes,
        net_tx_bytes: current.net_tx_bytes,
        net_rx_bytes_per_s: rate_per_second(previous.net_rx_bytes, current.net_rx_bytes, seconds),
        net_tx_bytes_per_s: rate_per_second(previous.net_tx_bytes, current.net_tx_bytes, seconds),
        block_read_bytes: current.block_read_bytes,
        block_write_bytes: current.block_write_bytes,
        block_read_bytes_per_s: rate_per_second(
            previous.block_read_bytes,
            current.block_read_bytes,
            seconds,
        ),
        block_write_bytes_per_s: rate_per_second(
            previous.block_write_bytes,
            current.block_write_bytes,
            seconds,
        ),
        pids: current.pids,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn counters(at: Instant, cpu: u64, system: u64) -> RawCounters {
        RawCounters {
            at,
            cpu_total_ns: cpu,
            system_ns: system,
            online_cpus: 2,
            memory_bytes: 64 << 20,
            memory_limit_bytes: 128 << 20,
            net_rx_bytes: 1000,
            net_tx_bytes: 500,
            block_read_bytes: 0,
            block_write_bytes: 4096,
            pids: 3,
        }
    }

    #[test]
    fn memory_v1_subtracts_total_inactive_file() {
        // A cgroup v1 memory.stat: docker subtracts total_inactive_file, not cache.
        let stats = HashMap::from([
            ("cache".to_owned(), 40_000_000),
            ("total_inactive_file".to_owned(), 30_000_000),
            ("inactive_file".to_owned(), 1_000),
        ]);
        assert_eq!(memory_in_use(100_000_000, &stats), 70_000_000);
    }

    #[test]
    fn memory_v2_subtracts_inactive_file() {
        let stats = HashMap::from([
            ("inactive_file".to_owned(), 10_000_000),
            ("file".to_owned(), 50_000_000),
        ]);
        assert_eq!(memory_in_use(80_000_000, &stats), 70_000_000);
    }

    #[test]
    fn memory_never_underflows() {
        let stats = HashMap::from([("total_inactive_file".to_owned(), 200)]);
        assert_eq!(memory_in_use(100, &stats), 100);
        assert_eq!(memory_in_use(100, &HashMap::new()), 100);
    }

    #[test]
    fn cpu_matches_docker_formula() {
        let start = Instant::now();
        let previous = counters(start, 1_000_000_000, 100_000_000_000);
        // Half a core busy on a 2-CPU host over 1 s: container +0.5 s, system +2 s of CPU time.
        let current = counters(
            start + Duration::from_secs(1),
            1_500_000_000,
            102_000_000_000,
        );
        let (docker, host) = cpu_percent(&previous, &current);
        assert!((docker - 50.0).abs() < 1e-9, "{docker}");
        assert!((host - 25.0).abs() < 1e-9, "{host}");
    }

    #[test]
    fn cpu_is_zero_without_system_progress_and_capped() {
        let start = Instant::now();
        let previous = counters(start, 0, 100);
        assert_eq!(
            cpu_percent(&previous, &counters(start, 10, 100)),
            (0.0, 0.0)
        );
        let (docker, host) = cpu_percent(&previous, &counters(start, 10_000, 200));
        assert_eq!((docker, host), (200.0, 100.0));
    }

    #[test]
    fn rates_survive_counter_resets() {
        assert_eq!(rate_per_second(1000, 3000, 2.0), 1000.0);
        // Counter reset (container restarted): the new value is what was counted since.
        assert_eq!(rate_per_second(5000, 800, 2.0), 400.0);
        assert_eq!(rate_per_second(0, 100, 0.0), 0.0);
        assert_eq!(counter_delta(10, 4), 4);
    }

    #[test]
    fn stats_combine_rates_and_percentages() {
        let start = Instant::now();
        let previous = counters(start, 0, 0);
        let mut current = counters(start + Duration::from_secs(2), 2_000_000_000, 4_000_000_000);
        current.net_rx_bytes = 3000;
        current.block_write_bytes = 4096 + 8192;
        let stats = container_stats(&previous, &current, SampleMethod::Cgroup, Utc::now());
        assert!((stats.cpu_percent - 100.0).abs() < 1e-9);
        assert_eq!(stats.memory_percent, 50.0);
        assert_eq!(stats.net_rx_bytes_per_s, 1000.0);
        assert_eq!(stats.block_write_bytes_per_s, 4096.0);
        assert_eq!(stats.pids, 3);
    }
}
