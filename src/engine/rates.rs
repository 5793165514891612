//! Rates from two counter samples, as `docker stats` computes them: the engine turns each container's previous
//! and current [`RawCounters`] into the [`ContainerStats`] everyone sees. Pure, so it is tested with cgroup v1
//! and v2 samples.

use chrono::{DateTime, Utc};

use crate::model::{ContainerStats, RawCounters, SampleMethod};
use crate::util::{counter_delta, rate_per_second};

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
