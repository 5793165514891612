//! `GET /metrics`: the live state in the Prometheus text format (OpenMetrics when the scraper asks for it),
//! made with the Prometheus project's client (`prometheus-client`). Container series carry cAdvisor's names,
//! types and labels (`id`, `name`, `image`, and the compose labels as `container_label_*`) plus `host`, so
//! dashboards written for cAdvisor work unchanged. A scrape reads the engine's state: it asks Docker nothing.
//! docs/prometheus.md lists every series.

use std::collections::BTreeMap;

use chrono::Utc;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::engine::View;
use crate::model::{Snapshot, SourceState};

/// The OpenMetrics content type, for scrapers that ask for it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// One metric's samples.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str, kind: MetricType) -> Self {
        Self {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: Labels, value: f64) {
        self.samples.push((labels, value));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if self.samples.is_empty() {
            return Ok(());
        }
        let mut metric = encoder.encode_descriptor(self.name, self.help, None, self.kind)?;
        for (labels, value) in &self.samples {
            let sample = metric.encode_family(labels)?;
            match self.kind {
                MetricType::Counter => ConstCounter::new(value.max(0.0)).encode(sample)?,
                _ => ConstGauge::new(*value).encode(sample)?,
            }
        }
        Ok(())
    }
}

/// Reads the engine's state at each scrape.
#[derive(Debug)]
struct StateCollector {
    view: ViewHandle,
}

/// A fixed state, for measuring what a scrape costs (benches/api.rs).
#[derive(Debug)]
struct FixedCollector {
    snapshot: Snapshot,
    cpu: std::collections::HashMap<String, f64>,
}

impl Collector for FixedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in families(&self.snapshot, &self.cpu) {
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}

/// The scrape of a given state (with each container's CPU seconds by id), as `/metrics` would answer it.
pub fn encode_snapshot(
    snapshot: Snapshot,
    cpu: std::collections::HashMap<String, f64>,
    openmetrics: bool,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FixedCollector { snapshot, cpu }));
    scrape(&registry, openmetrics).map(|(body, _)| body)
}

/// `View` is not `Debug`; the collector trait wants it.
struct ViewHandle(View);

impl std::fmt::Debug for ViewHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("View")
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.view.0.snapshot();
        let cpu = self.view.0.cpu_seconds();
        for family in families(&snapshot, &cpu) {
            family.encode(&mut encoder)?;
        }
        Ok(())
    }
}

/// The registry a server scrapes: the state collector.
pub fn registry(view: View) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StateCollector {
        view: ViewHandle(view),
    }));
    registry
}

/// Encodes a scrape: OpenMetrics when `openmetrics`, else the text format 0.0.4. Returns the content type too.
pub fn scrape(
    registry: &Registry,
    openmetrics: bool,
) -> Result<(String, &'static str), std::fmt::Error> {
    let mut body = String::with_capacity(64 * 1024);
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut body, registry)?;
        Ok((body, OPENMETRICS))
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut body, registry)?;
        Ok((
            body,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        ))
    }
}

fn container_labels(info: &crate::model::ContainerInfo) -> Labels {
    vec![
        ("id", format!("/docker/{}", info.id)),
        ("name", info.name.clone()),
        ("image", info.image.clone()),
        ("host", info.host.clone()),
        (
            "container_label_com_docker_compose_project",
            info.compose_project.clone().unwrap_or_default(),
        ),
        (
            "container_label_com_docker_compose_service",
            info.compose_service.clone().unwrap_or_default(),
        ),
    ]
}

fn with(mut labels: Labels, extra: &[(&'static str, &str)]) -> Labels {
    labels.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    labels
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Every series of one scrape.
fn families(snapshot: &Snapshot, cpu: &std::collections::HashMap<String, f64>) -> Vec<Family> {
    use MetricType::{Counter, Gauge};
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut cpu_total = Family::new(
        "container_cpu_usage_seconds",
        "Cumulative CPU time consumed by the container in seconds.",
        Counter,
    );
    let mut memory_usage = Family::new(
        "container_memory_usage_bytes",
        "Current memory usage in bytes (as docker stats counts it: usage minus inactive file cache).",
        Gauge,
    );
    let mut working_set = Family::new(
        "container_memory_working_set_bytes",
        "Current working set in bytes (usage minus inactive file cache).",
        Gauge,
    );
    let mut limit = Family::new(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container (the host's memory when it has none).",
        Gauge,
    );
    let mut rx = Family::new(
        "container_network_receive_bytes",
        "Cumulative count of bytes received (all interfaces but loopback).",
        Counter,
    );
    let mut tx = Family::new(
        "container_network_transmit_bytes",
        "Cumulative count of bytes transmitted (all interfaces but loopback).",
        Counter,
    );
    let mut reads = Family::new(
        "container_fs_reads_bytes",
        "Cumulative count of bytes read.",
        Counter,
    );
    let mut writes = Family::new(
        "container_fs_writes_bytes",
        "Cumulative count of bytes written.",
        Counter,
    );
    let mut processes = Family::new(
        "container_processes",
        "Number of processes running inside the container.",
        Gauge,
    );
    let mut last_seen = Family::new(
        "container_last_seen",
        "Last time a container was seen by the exporter.",
        Gauge,
    );
    let mut start_time = Family::new(
        "container_start_time_seconds",
        "Start time of the container since unix epoch in seconds.",
        Gauge,
    );
    let mut cpu_percent = Family::new(
        "docktray_container_cpu_percent",
        "CPU as docker stats shows it (100 per busy core), over the last interval.",
        Gauge,
    );
    let mut state = Family::new(
        "docktray_container_state",
        "1 for the container's current state.",
        Gauge,
    );
    for c in &snapshot.containers {
        let labels = container_labels(&c.info);
        state.push(
            with(labels.clone(), &[("state", c.info.state.as_str())]),
            1.0,
        );
        if let Some(started) = c.info.started_at.filter(|_| c.info.state.has_processes()) {
            start_time.push(labels.clone(), started.timestamp() as f64);
        }
        let Some(stats) = &c.stats else { continue };
        if let Some(seconds) = cpu.get(&c.info.id) {
            cpu_total.push(labels.clone(), *seconds);
        }
        memory_usage.push(labels.clone(), stats.memory_bytes as f64);
        working_set.push(labels.clone(), stats.memory_bytes as f64);
        limit.push(labels.clone(), stats.memory_limit_bytes as f64);
        rx.push(
            with(labels.clone(), &[("interface", "all")]),
            stats.net_rx_bytes as f64,
        );
        tx.push(
            with(labels.clone(), &[("interface", "all")]),
            stats.net_tx_bytes as f64,
        );
        reads.push(labels.clone(), stats.block_read_bytes as f64);
        writes.push(labels.clone(), stats.block_write_bytes as f64);
        processes.push(labels.clone(), stats.pids as f64);
        cpu_percent.push(labels.clone(), stats.cpu_percent);
        last_seen.push(labels, now);
    }
    let mut families = vec![
        cpu_total,
        memory_usage,
        working_set,
        limit,
        rx,
        tx,
        reads,
        writes,
        processes,
        last_seen,
        start_time,
        cpu_percent,
        state,
    ];
    families.extend(host_families(snapshot));
    families.extend(docktray_families(snapshot));
    families
}

/// Docker hosts and Webdock VPS servers.
fn host_families(snapshot: &Snapshot) -> Vec<Family> {
    use MetricType::Gauge;
    let mut f: BTreeMap<&str, Family> = BTreeMap::new();
    let mut put = |name: &'static str, help: &'static str, labels: Labels, value: f64| {
        f.entry(name)
            .or_insert_with(|| Family::new(name, help, Gauge))
            .push(labels, value);
    };
    for h in &snapshot.hosts {
        let labels: Labels = vec![
            ("host", h.server_name.clone()),
            ("source_type", h.source_type.clone()),
        ];
        put(
            "docktray_host_cpu_percent",
            "CPU busy, percent of the whole machine.",
            labels.clone(),
            h.cpu.percent,
        );
        put(
            "docktray_host_cpus",
            "Number of CPUs.",
            labels.clone(),
            f64::from(h.cpu.count),
        );
        put(
            "docktray_host_memory_used_bytes",
            "Memory in use, bytes.",
            labels.clone(),
            h.memory.used_gb * GIB,
        );
        put(
            "docktray_host_memory_total_bytes",
            "Memory size, bytes.",
            labels.clone(),
            h.memory.total_gb * GIB,
        );
        put(
            "docktray_host_memory_percent",
            "Memory in use, percent.",
            labels.clone(),
            h.memory.percent,
        );
        put(
            "docktray_host_disk_used_bytes",
            "Root filesystem in use, bytes.",
            labels.clone(),
            h.disk.used_gb * GIB,
        );
        put(
            "docktray_host_disk_total_bytes",
            "Root filesystem size, bytes.",
            labels.clone(),
            h.disk.total_gb * GIB,
        );
        put(
            "docktray_host_disk_percent",
            "Root filesystem in use, percent.",
            labels.clone(),
            h.disk.percent,
        );
        put(
            "docktray_host_network_receive_bytes_per_second",
            "Bytes received per second over the last interval.",
            labels.clone(),
            h.network.rx_bytes_per_s,
        );
        put(
            "docktray_host_network_transmit_bytes_per_second",
            "Bytes sent per second over the last interval.",
            labels.clone(),
            h.network.tx_bytes_per_s,
        );
        put(
            "docktray_host_load1",
            "Load average over 1 minute.",
            labels.clone(),
            h.load.one,
        );
        put(
            "docktray_host_uptime_seconds",
            "Time since boot.",
            labels.clone(),
            h.uptime_s as f64,
        );
        if let Some(vps) = &h.vps {
            put(
                "docktray_vps_status",
                "1 for the Webdock server's current status.",
                with(
                    labels.clone(),
                    &[("status", &vps.status), ("account", &vps.account)],
                ),
                1.0,
            );
            if let Some(quota) = &vps.network_quota {
                put(
                    "docktray_vps_network_quota_percent",
                    "Network traffic this month, percent of the plan's allowance.",
                    labels.clone(),
                    quota.percent,
                );
            }
        }
    }
    f.into_values().collect()
}

/// The sources, the alerts and Docktray itself.
fn docktray_families(snapshot: &Snapshot) -> Vec<Family> {
    use MetricType::{Counter, Gauge};
    let mut up = Family::new(
        "docktray_source_up",
        "1 while the source answers (up or degraded).",
        Gauge,
    );
    let mut failures = Family::new(
        "docktray_source_consecutive_failures",
        "Failures since the source last answered.",
        Gauge,
    );
    for s in &snapshot.sources {
        let labels: Labels = vec![
            ("source", s.name.clone()),
            ("kind", s.kind.clone()),
            ("state", format!("{:?}", s.state).to_ascii_lowercase()),
        ];
        let answering = matches!(s.state, SourceState::Up | SourceState::Degraded);
        up.push(labels.clone(), if answering { 1.0 } else { 0.0 });
        failures.push(labels, f64::from(s.consecutive_failures));
    }
    let mut alerts = Family::new(
        "docktray_alerts_active",
        "Active alerts by level and target.",
        Gauge,
    );
    let mut counted: BTreeMap<Labels, f64> = BTreeMap::new();
    for a in &snapshot.alerts {
        let labels: Labels = vec![
            ("level", a.level.as_str().to_owned()),
            (
                "target_kind",
                format!("{:?}", a.target.kind).to_ascii_lowercase(),
            ),
            ("target", a.target.name.clone()),
            ("host", a.target.host.clone()),
            ("metric", a.metric.clone()),
        ];
        *counted.entry(labels).or_default() += 1.0;
    }
    for (labels, count) in counted {
        alerts.push(labels, count);
    }
    let mut overall = Family::new(
        "docktray_overall_level",
        "The tray's level: 0 ok, 1 warning, 2 critical, 3 unreachable.",
        Gauge,
    );
    overall.push(Vec::new(), snapshot.overall as u8 as f64);
    let mut families = vec![up, failures, alerts, overall];
    if let Some((cpu_seconds, resident)) = own_usage() {
        let mut cpu = Family::new(
            "process_cpu_seconds",
            "Docktray's own user and system CPU time, seconds.",
            Counter,
        );
        cpu.push(Vec::new(), cpu_seconds);
        let mut memory = Family::new(
            "process_resident_memory_bytes",
            "Docktray's own resident memory, bytes.",
            Gauge,
        );
        memory.push(Vec::new(), resident);
        families.extend([cpu, memory]);
    }
    families
}

/// This process's CPU seconds and resident bytes, from /proc (Linux).
fn own_usage() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the command.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // USER_HZ is 100 and pages 4 KiB on the platforms Docktray runs on.
    Some((ticks / 100.0, pages * 4096.0))
}
