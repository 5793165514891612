//! Fallback sampling through the Docker API for engines whose cgroups we cannot see (remote engines, Docker
//! Desktop's VM, no permission). One-shot requests (no second sample waited for), the previous counters kept by
//! the caller, and a bounded number in flight so the engine is never flooded.

use std::collections::HashMap;
use std::time::Instant;

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::formula::memory_in_use;
use crate::error::{Error, Result};
use crate::model::RawCounters;

/// Asks the engine for one container's current counters.
pub async fn sample(docker: &Docker, id: &str) -> Result<RawCounters> {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stream = docker.stats(id, Some(options));
    match stream.next().await {
        Some(Ok(response)) => Ok(counters_from_response(&response, Instant::now())),
        Some(Err(err)) => Err(Error::Docker(err.to_string())),
        None => Err(Error::Docker(format!(
            "no stats returned for container {id}"
        ))),
    }
}

/// Converts an API stats reply to raw counters using the same formulas as `docker stats`.
pub fn counters_from_response(response: &ContainerStatsResponse, at: Instant) -> RawCounters {
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
    RawCounters {
        at,
        cpu_total_ns: usage.and_then(|u| u.total_usage).unwrap_or(0),
        system_ns: cpu.and_then(|c| c.system_cpu_usage).unwrap_or(0),
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
        let counters = counters_from_response(&reply, Instant::now());
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
        let counters = counters_from_response(&reply, Instant::now());
        assert_eq!(counters.online_cpus, 4);
        assert_eq!(counters.memory_bytes, 700);
        assert_eq!(
            (counters.block_read_bytes, counters.block_write_bytes),
            (3, 5)
        );
    }
}
