//! Fallback sampling through the Docker API for engines whose cgroups we cannot see (remote engines, Docker
//! Desktop's VM, no permission). One-shot requests (no second sample waited for), the previous counters kept by
//! the caller, and a bounded number in flight so the engine is never flooded.
//!
//! Podman answers the same endpoint differently: its `system_cpu_usage` is the host's busy time (the root
//! cgroup's usage), not all CPU time, so Docker's formula over it overstates CPU; `podman stats` divides by
//! wall-clock time instead. Its memory `usage` is already its own figure (no `stats` map to subtract from), and
//! where it has no cgroup for a container it answers zeros rather than an error.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::formula::memory_in_use;
use crate::error::{Error, Result};
use crate::model::{EngineProduct, RawCounters};

/// Asks the engine for one container's current counters.
pub async fn sample(docker: &Docker, product: EngineProduct, id: &str) -> Result<RawCounters> {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stream = docker.stats(id, Some(options));
    let response = match stream.next().await {
        Some(Ok(response)) => response,
        Some(Err(err)) => return Err(Error::Docker(err.to_string())),
        None => {
            return Err(Error::Docker(format!(
                "no stats returned for container {id}"
            )))
        }
    };
    if is_empty_reply(&response) {
        return Err(Error::Docker(format!(
            "the engine has no figures for container {id} (it answered zeros)"
        )));
    }
    Ok(counters_from_response(&response, product, Instant::now()))
}

/// A reply with no CPU time and no memory at all: what Podman sends for a container without a cgroup. A
/// container with processes has always used some CPU, so these zeros are not figures.
pub fn is_empty_reply(response: &ContainerStatsResponse) -> bool {
    let cpu = response
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let memory = response
        .memory_stats
        .as_ref()
        .and_then(|m| m.usage)
        .unwrap_or(0);
    cpu == 0 && memory == 0
}

/// Converts an API stats reply to raw counters using the same formulas as the engine's own stats command.
pub fn counters_from_response(
    response: &ContainerStatsResponse,
    product: EngineProduct,
    at: Instant,
) -> RawCounters {
    let cpu = response.cpu_stats.as_ref();
    let usage = cpu.and_then(|c| c.cpu_usage.as_ref());
    let online_cpus = cpu
        .and_then(|c| c.online_cpus)
        .filter(|&n| n > 0)
        .or_else(|| {
            usage
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|p| p.len() as u32)
        })
        .unwrap_or(1);
    let memory = response.memory_stats.as_ref();
    let empty = HashMap::new();
    let memory_stats = memory.and_then(|m| m.stats.as_ref()).unwrap_or(&empty);
    let (net_rx_bytes, net_tx_bytes) = response
        .networks
        .as_ref()
        .map(|networks| {
            networks.values().fold((0u64, 0u64), |(rx, tx), n| {
                (
                    rx.saturating_add(n.rx_bytes.unwrap_or(0)),
                    tx.saturating_add(n.tx_bytes.unwrap_or(0)),
                )
            })
        })
        .unwrap_or((0, 0));
    let (block_read_bytes, block_write_bytes) = response
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .map(|entries| {
            entries.iter().fold((0u64, 0u64), |(read, write), entry| {
                let value = entry.value.unwrap_or(0);
                match entry.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("read") => (read.saturating_add(value), write),
                    Some("write") => (read, write.saturating_add(value)),
                    _ => (read, write),
                }
            })
        })
        .unwrap_or((0, 0));
    let system_ns = match product {
        EngineProduct::Docker => cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
        // Wall-clock time on every CPU, so the rate formula's (container / system x CPUs) is container / wall.
        EngineProduct::Podman => {
            wall_clock_ns(response.read.as_deref()).saturating_mul(u64::from(online_cpus))
        }
    };
    RawCounters {
        at,
        cpu_total_ns: usage.and_then(|u| u.total_usage).unwrap_or(0),
        system_ns,
        online_cpus,
        memory_bytes: memory_in_use(memory.and_then(|m| m.usage).unwrap_or(0), memory_stats),
        memory_limit_bytes: memory.and_then(|m| m.limit).unwrap_or(0),
        net_rx_bytes,
        net_tx_bytes,
        block_read_bytes,
        block_write_bytes,
        pids: response
            .pids_stats
            .as_ref()
            .and_then(|p| p.current)
            .unwrap_or(0),
    }
}

/// Nanoseconds since the epoch at which the engine read the sample (`read`), else now.
fn wall_clock_ns(read: Option<&str>) -> u64 {
    read.and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .and_then(|at| at.timestamp_nanos_opt())
        .and_then(|nanos| u64::try_from(nanos).ok())
        .filter(|&nanos| nanos > 0)
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|since| since.as_nanos() as u64)
                .unwrap_or(0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_reply_v1_is_converted() {
        let reply: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 5000, "percpu_usage": [2500, 2500]}, "system_cpu_usage": 90000},
            "memory_stats": {"usage": 1000, "limit": 4000, "stats": {"total_inactive_file": 200, "cache": 600}},
            "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 7},
                {"major": 8, "minor": 0, "op": "Write", "value": 9},
                {"major": 8, "minor": 0, "op": "Total", "value": 16}
            ]},
            "pids_stats": {"current": 4}
        }))
        .expect("valid reply");
        let counters = counters_from_response(&reply, EngineProduct::Docker, Instant::now());
        assert_eq!(counters.online_cpus, 2);
        assert_eq!(counters.memory_bytes, 800);
        assert_eq!((counters.net_rx_bytes, counters.net_tx_bytes), (11, 22));
        assert_eq!(
            (counters.block_read_bytes, counters.block_write_bytes),
            (7, 9)
        );
        assert_eq!(counters.pids, 4);
    }

    #[test]
    fn api_reply_v2_is_converted() {
        let reply: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 5000}, "system_cpu_usage": 90000, "online_cpus": 4},
            "memory_stats": {"usage": 1000, "limit": 4000, "stats": {"inactive_file": 300}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 3},
                {"major": 8, "minor": 0, "op": "write", "value": 5}
            ]}
        }))
        .expect("valid reply");
        let counters = counters_from_response(&reply, EngineProduct::Docker, Instant::now());
        assert_eq!(counters.online_cpus, 4);
        assert_eq!(counters.memory_bytes, 700);
        assert_eq!(
            (counters.block_read_bytes, counters.block_write_bytes),
            (3, 5)
        );
    }

    /// Two one-shot replies from Podman 4.3.1 (rootful, cgroup v1) for a `--cpus 0.5` burner, 2 s apart, as
    /// they came: `system_cpu_usage` grows by the host's busy time only, so Docker's formula would say ~100 %.
    #[test]
    fn podman_cpu_is_measured_against_wall_clock_time() {
        let reply = |read: &str, total: u64, system: u64| -> ContainerStatsResponse {
            serde_json::from_value(serde_json::json!({
                "read": read,
                "preread": "0001-01-01T00:00:00Z",
                "name": "burn",
                "cpu_stats": {"cpu_usage": {"total_usage": total, "percpu_usage": [total / 2, total / 2]},
                              "system_cpu_usage": system, "online_cpus": 2, "cpu": 125.29},
                "memory_stats": {"usage": 479232, "limit": 67108864},
                "pids_stats": {"current": 1},
                "networks": {"network": {"rx_bytes": 516, "tx_bytes": 1360}}
            }))
            .expect("podman reply")
        };
        let start = Instant::now();
        let first = reply(
            "2026-12-04T03:41:10.910615862Z",
            3_002_489_775,
            9_096_638_606_608,
        );
        let second = reply(
            "2026-12-04T03:41:12.910615862Z",
            4_002_489_775,
            9_098_638_606_608,
        );
        let previous = counters_from_response(&first, EngineProduct::Podman, start);
        let current = counters_from_response(
            &second,
            EngineProduct::Podman,
            start + std::time::Duration::from_secs(2),
        );
        let cpu = (current.cpu_total_ns - previous.cpu_total_ns) as f64
            / (current.system_ns - previous.system_ns) as f64
            * f64::from(current.online_cpus)
            * 100.0;
        assert!((cpu - 50.0).abs() < 0.01, "{cpu}");
        // Podman's usage is already its own figure; there is no stats map to subtract from.
        assert_eq!(current.memory_bytes, 479_232);
        assert_eq!(current.memory_limit_bytes, 67_108_864);
        assert_eq!(current.net_rx_bytes, 516);
        assert!(!is_empty_reply(&second));
    }

    /// What rootless Podman on cgroup v1 answers for a running container: zeros, which are not figures.
    #[test]
    fn a_reply_of_zeros_is_not_a_figure() {
        let reply: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "read": "2026-12-04T03:43:32.683572976Z",
            "pids_stats": {},
            "blkio_stats": {"io_service_bytes_recursive": []},
            "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                          "system_cpu_usage": 9_319_775_712_153_u64, "cpu": 0},
            "memory_stats": {}
        }))
        .expect("zero reply");
        assert!(is_empty_reply(&reply));
    }
}
