//! The history store on real SQLite files in temp dirs (no Docker needed): queries by container id, name,
//! service and host; rollups against the raw rows they summarise; retention; crash safety under a real
//! `kill -9`; export round trips; alert upserts and filters; and the errors users see for bad paths and files.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use docktray::alerts::{Alert, Level, Target, TargetKind};
use docktray::config::HistorySettings;
use docktray::history::{
    parse_export, AlertQuery, ExportFormat, ExportRow, History, HistoryError, Problem, PruneReport,
    Resolution, Series, SeriesQuery, SeriesTarget, Tuning, SCHEMA_VERSION,
};
use docktray::model::{
    ContainerInfo, ContainerState, ContainerStats, CpuUsage, LoadAverage, NetworkRates,
    SampleMethod, ServerStats, Usage,
};

// ---------------------------------------------------------------------------------------------------------
// Builders

fn info(host: &str, id: &str, name: &str, service: Option<&str>) -> ContainerInfo {
    ContainerInfo {
        host: host.to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        image: "busybox".to_owned(),
        state: ContainerState::Running,
        status: "Up".to_owned(),
        health: None,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        compose_project: service.map(|_| "shop".to_owned()),
        compose_service: service.map(str::to_owned),
        pod: None,
        ports: Vec::new(),
        created: Utc::now(),
        started_at: None,
        finished_at: None,
        labels: BTreeMap::new(),
        ip_addresses: Default::default(),
        pid: None,
    }
}

/// Every metric derived from `v`, so a test can predict each column.
fn stats(at: DateTime<Utc>, v: f64) -> ContainerStats {
    ContainerStats {
        sampled_at: at,
        method: SampleMethod::Cgroup,
        cpu_percent: v,
        cpu_host_percent: v / 2.0,
        online_cpus: 2,
        memory_bytes: 1_000_000 + (v * 4096.0) as u64,
        memory_limit_bytes: 64 << 20,
        memory_percent: v / 4.0,
        net_rx_bytes: 0,
        net_tx_bytes: 0,
        net_rx_bytes_per_s: v * 10.0,
        net_tx_bytes_per_s: v * 20.0,
        block_read_bytes_per_s: v * 30.0,
        block_write_bytes_per_s: v * 40.0,
        block_read_bytes: 0,
        block_write_bytes: 0,
        pids: v as u64,
    }
}

fn usage(percent: f64) -> Usage {
    Usage {
        used_gb: percent / 10.0,
        total_gb: 10.0,
        percent,
    }
}

fn host_stats(name: &str, at: DateTime<Utc>, v: f64) -> ServerStats {
    ServerStats {
        server_name: name.to_owned(),
        source_type: "docker-host".to_owned(),
        memory: usage(v + 1.0),
        swap: usage(v + 2.0),
        disk: usage(v + 3.0),
        disks: Vec::new(),
        cpu: CpuUsage {
            count: 2,
            percent: v,
            per_core: vec![v, v],
        },
        network: NetworkRates {
            rx_bytes_per_s: v * 100.0,
            tx_bytes_per_s: v * 200.0,
        },
        load: LoadAverage {
            one: v / 8.0,
            five: 0.0,
            fifteen: 0.0,
        },
        uptime_s: 1,
        status: "active".to_owned(),
        timestamp: at,
        vps: None,
    }
}

fn alert(id: u64, level: Level, started: DateTime<Utc>, resolved: Option<DateTime<Utc>>) -> Alert {
    Alert {
        id,
        target: Target {
            kind: TargetKind::Container,
            host: "local".to_owned(),
            id: "aaaa1111".to_owned(),
            name: "web-1".to_owned(),
        },
        metric: "container_cpu_percent".to_owned(),
        detail: None,
        level,
        value: Some(91.5),
        threshold: Some(90.0),
        unit: "%".to_owned(),
        message: format!("alert {id}"),
        started_at: started,
        resolved_at: resolved,
        acknowledged: false,
        top: Vec::new(),
        lines: Vec::new(),
    }
}

/// A whole minute, three hours ago: inside the default retentions, and every test's data stays in the past.
fn base_time() -> DateTime<Utc> {
    (Utc::now() - TimeDelta::hours(3))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap()
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::milliseconds(s * 1000)
}

/// Short batches; no background prune during a test.
fn fast() -> Tuning {
    Tuning {
        batch_interval: Duration::from_millis(20),
        prune_every: Duration::from_secs(3600),
        ..Tuning::default()
    }
}

fn open(path: &Path) -> History {
    History::open_tuned(path, &HistorySettings::default(), fast()).unwrap()
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("nested").join("history.sqlite")
}

fn query(
    target: SeriesTarget,
    metric: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    resolution: Resolution,
) -> SeriesQuery {
    SeriesQuery {
        target,
        metric: metric.to_owned(),
        since,
        until,
        limit: None,
        resolution,
    }
}

fn container(id_or_name: &str) -> SeriesTarget {
    SeriesTarget::Container {
        host: None,
        id_or_name: id_or_name.to_owned(),
    }
}

fn avgs(series: &Series) -> Vec<f64> {
    series.points.iter().map(|p| p.avg).collect()
}

fn times(series: &Series) -> Vec<DateTime<Utc>> {
    series.points.iter().map(|p| p.at).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Queries

const WEB1: &str = "aaaa1111000000000000000000000000000000000000000000000000000000000";
const WEB2: &str = "bbbb2222000000000000000000000000000000000000000000000000000000000";
const DB: &str = "cccc3333000000000000000000000000000000000000000000000000000000000";
const EDGE_CACHE: &str = "dddd4444000000000000000000000000000000000000000000000000000000000";
const LOCAL_CACHE: &str = "eeee5555000000000000000000000000000000000000000000000000000000000";

mod durability;
mod queries;
mod timeline;
