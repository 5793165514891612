//! History store benchmark: insert throughput through the real writer thread, size on disk projected to 7 days
//! of 100 containers at a 5 s interval, and the time of a 24 h chart query on a full 48 h database.
//!
//! Run: `cargo bench --bench history` (release). Prints a Markdown table; results are in docs/benchmarks.md.
//! Environment: BENCH_DIR (default: a temp dir) for the databases, BENCH_HOURS (default 48) for the query
//! database's span of raw samples.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use docktray::config::HistorySettings;
use docktray::history::{History, Resolution, SeriesQuery, SeriesTarget, Tuning};
use docktray::model::{ContainerInfo, ContainerState, ContainerStats, SampleMethod};

const CONTAINERS: usize = 100;
const INTERVAL_S: i64 = 5;
const QUERY_RUNS: usize = 20;

/// Deterministic values without pulling an RNG API into the bench (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How busy the simulated containers are.
#[derive(Clone, Copy, PartialEq)]
enum Load {
    /// Like a typical host: CPU and memory always move; a third of the containers have network traffic;
    /// disk I/O in one sample in ten; idle rates are exactly 0 (as cgroup deltas are).
    Realistic,
    /// Worst case for size: every metric a non-zero, full-precision number in every sample.
    AllBusy,
}

struct Fleet {
    infos: Vec<ContainerInfo>,
    memory: Vec<f64>,
    rng: Rng,
    load: Load,
}

impl Fleet {
    fn new(load: Load) -> Self {
        let infos = (0..CONTAINERS)
            .map(|c| ContainerInfo {
                host: "local".to_owned(),
                id: format!("{:016x}{:048x}", 0x5eed_0000_u64 + c as u64, c),
                name: format!("app-{c:03}"),
                image: "registry.example.com/app:1.2.3".to_owned(),
                state: ContainerState::Running,
                status: "Up 3 hours".to_owned(),
                health: None,
                exit_code: None,
                oom_killed: false,
                restart_count: 0,
                compose_project: Some("shop".to_owned()),
                compose_service: Some(format!("svc-{}", c % 20)),
                pod: None,
                ports: Vec::new(),
                created: Utc::now(),
                started_at: None,
                finished_at: None,
                labels: Default::default(),
                ip_addresses: Default::default(),
                pid: None,
            })
            .collect();
        Self {
            infos,
            memory: (0..CONTAINERS).map(|c| 50e6 + c as f64 * 4e6).collect(),
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            load,
        }
    }

    /// One sampling sweep at `at`.
    fn sweep(&mut self, at: DateTime<Utc>) -> Vec<(ContainerInfo, ContainerStats)> {
        let busy = self.load == Load::AllBusy;
        (0..CONTAINERS)
            .map(|c| {
                let r = &mut self.rng;
                let cpu = r.unit() * if c % 10 == 0 { 80.0 } else { 5.0 };
                self.memory[c] = (self.memory[c] * (1.0 + (r.unit() - 0.5) * 0.01)).max(1e6);
                let memory_bytes = self.memory[c] as u64;
                let limit = 2u64 << 30;
                let net = busy || c % 3 == 0;
                let io = busy || r.unit() < 0.1;
                let mut rate = |on: bool, scale: f64| if on { r.unit() * scale } else { 0.0 };
                let stats = ContainerStats {
                    sampled_at: at + TimeDelta::milliseconds(c as i64 * 3),
                    method: SampleMethod::Cgroup,
                    cpu_percent: cpu,
                    cpu_host_percent: cpu / 2.0,
                    online_cpus: 2,
                    memory_bytes,
                    memory_limit_bytes: limit,
                    memory_percent: memory_bytes as f64 / limit as f64 * 100.0,
                    net_rx_bytes: 0,
                    net_tx_bytes: 0,
                    net_rx_bytes_per_s: rate(net, 50_000.0),
                    net_tx_bytes_per_s: rate(net, 20_000.0),
                    block_read_bytes_per_s: rate(io, 1e6),
                    block_write_bytes_per_s: rate(io, 2e6),
                    block_read_bytes: 0,
                    block_write_bytes: 0,
                    pids: 5 + (c % 7) as u64,
                };
                (self.infos[c].clone(), stats)
            })
            .collect()
    }
}

fn tuning() -> Tuning {
    Tuning {
        // Room for 1000 sweeps between flushes; no background prune while filling.
        queue_capacity: 200_000,
        prune_every: Duration::from_secs(86_400),
        ..Tuning::default()
    }
}

/// Writes `sweeps` sweeps ending at `end` through the writer, flushing every 1000 sweeps. Returns the wall
/// time and the enqueue times of single sweeps.
fn fill(
    history: &History,
    fleet: &mut Fleet,
    end: DateTime<Utc>,
    sweeps: i64,
) -> Result<(Duration, Vec<Duration>)> {
    let start = end - TimeDelta::seconds(sweeps * INTERVAL_S);
    let mut enqueue = Vec::with_capacity(sweeps as usize);
    let mut busy = Duration::ZERO;
    for chunk in (0..sweeps).collect::<Vec<_>>().chunks(1000) {
        // Build the samples first: the engine has them already, so only recording is timed.
        let batch: Vec<_> = chunk
            .iter()
            .map(|i| fleet.sweep(start + TimeDelta::seconds(i * INTERVAL_S)))
            .collect();
        let began = Instant::now();
        for samples in &batch {
            let t = Instant::now();
            history.record_containers(samples);
            enqueue.push(t.elapsed());
        }
        history.flush().context("flush")?;
        busy += began.elapsed();
    }
    let stats = history.stats();
    ensure!(
        stats.dropped == 0,
        "the queue dropped {} rows",
        stats.dropped
    );
    Ok((busy, enqueue))
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

/// Bytes per table from SQLite's dbstat (pages actually used by each B-tree).
fn table_bytes(path: &Path) -> Result<Vec<(String, u64)>> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let mut stmt =
        conn.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn count(path: &Path, table: &str) -> Result<u64> {
    let conn = rusqlite::Connection::open(path)?;
    Ok(
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct SizeResult {
    raw_per_row: f64,
    minute_per_row: f64,
    projected_7d: f64,
    projected_30d: f64,
    file_1h: u64,
}

/// One simulated hour, then bytes per raw row and per rollup row from dbstat, projected to 48 h of raw rows
/// plus 7 (and 30) days of rollups.
fn size_run(dir: &Path, load: Load) -> Result<SizeResult> {
    let path = dir.join(format!(
        "size-{}.sqlite",
        if load == Load::Realistic {
            "realistic"
        } else {
            "busy"
        }
    ));
    let history = History::open_tuned(&path, &HistorySettings::default(), tuning())?;
    let mut fleet = Fleet::new(load);
    let end = Utc::now().duration_trunc(TimeDelta::minutes(1))?;
    fill(&history, &mut fleet, end, 3600 / INTERVAL_S)?;
    // One more sweep in the next minute so the last full minute is rolled up too.
    history.record_containers(&fleet.sweep(end + TimeDelta::seconds(1)));
    drop(history); // joins the writer; closing the last connection checkpoints the WAL
    let tables = table_bytes(&path)?;
    let bytes = |name: &str| tables.iter().find(|t| t.0 == name).map_or(0, |t| t.1) as f64;
    let raw_rows = count(&path, "container_raw")? as f64;
    let minute_rows = count(&path, "container_minute")? as f64;
    let raw_per_row = bytes("container_raw") / raw_rows;
    let minute_per_row = bytes("container_minute") / minute_rows;
    let raw_48h = (CONTAINERS as f64) * (48.0 * 3600.0 / INTERVAL_S as f64) * raw_per_row;
    let minutes = |days: f64| (CONTAINERS as f64) * days * 1440.0 * minute_per_row;
    Ok(SizeResult {
        raw_per_row,
        minute_per_row,
        projected_7d: raw_48h + minutes(7.0),
        projected_30d: raw_48h + minutes(30.0),
        file_1h: file_size(&path)?,
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {mem_gb:.0} GB RAM")
}

fn main() -> Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::var_os("BENCH_DIR").map_or_else(|| temp.path().to_owned(), Into::into);
    std::fs::create_dir_all(&dir)?;
    let hours: i64 = std::env::var("BENCH_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(48);
    println!("machine: {}; database dir: {}", machine(), dir.display());

    // 1. Throughput: 200 000 samples (2000 sweeps of 100 containers) through the writer.
    let path = dir.join("throughput.sqlite");
    let history = History::open_tuned(&path, &HistorySettings::default(), tuning())?;
    let mut fleet = Fleet::new(Load::Realistic);
    let sweeps = 2000;
    let (took, enqueue) = fill(&history, &mut fleet, Utc::now(), sweeps)?;
    drop(history);
    let samples = sweeps as f64 * CONTAINERS as f64;
    let throughput = samples / took.as_secs_f64();
    println!(
        "insert: {samples} samples in {:.2} s = {:.0} samples/s; record_containers(100) median {:?}, p99 {:?}, max {:?}",
        took.as_secs_f64(),
        throughput,
        median(enqueue.clone()),
        percentile(enqueue.clone(), 0.99),
        enqueue.iter().max().copied().unwrap_or_default()
    );

    // 2. Size: one simulated hour, projected.
    let realistic = size_run(&dir, Load::Realistic)?;
    let busy = size_run(&dir, Load::AllBusy)?;
    for (name, s) in [("realistic", &realistic), ("all busy", &busy)] {
        println!(
            "size ({name}): 1 h file {}; {:.1} B/raw row, {:.1} B/rollup row; projected 48 h raw + 7 d rollups = {}, + 30 d rollups = {}",
            mb(s.file_1h as f64),
            s.raw_per_row,
            s.minute_per_row,
            mb(s.projected_7d),
            mb(s.projected_30d)
        );
    }

    // 3. Query: `hours` of raw samples (and their rollups, made by the writer as it goes) for 100 containers.
    let path = dir.join("query.sqlite");
    let history = History::open_tuned(&path, &HistorySettings::default(), tuning())?;
    let mut fleet = Fleet::new(Load::Realistic);
    let end = Utc::now();
    let sweeps = hours * 3600 / INTERVAL_S;
    let (took, _) = fill(&history, &mut fleet, end, sweeps)?;
    println!(
        "query db: {} raw rows written in {:.1} s ({:.0} samples/s)",
        sweeps * CONTAINERS as i64,
        took.as_secs_f64(),
        (sweeps * CONTAINERS as i64) as f64 / took.as_secs_f64()
    );
    let mut timings = Vec::new();
    for (label, span) in [
        ("15 min", TimeDelta::minutes(15)),
        ("1 h", TimeDelta::hours(1)),
        ("24 h", TimeDelta::hours(24)),
        ("7 d", TimeDelta::days(7)),
    ] {
        let query = SeriesQuery {
            target: SeriesTarget::Container {
                host: None,
                id_or_name: "app-042".to_owned(),
            },
            metric: "cpu_percent".to_owned(),
            since: end - span,
            until: end,
            limit: None,
            resolution: Resolution::Auto,
        };
        let mut runs = Vec::with_capacity(QUERY_RUNS);
        let mut points = 0;
        let mut resolution = Resolution::Auto;
        for _ in 0..QUERY_RUNS {
            let t = Instant::now();
            let series = history.query(&query)?;
            runs.push(t.elapsed());
            points = series.points.len();
            resolution = series.resolution;
        }
        let service = SeriesQuery {
            target: SeriesTarget::Service {
                host: None,
                service: "svc-2".to_owned(),
            },
            ..query.clone()
        };
        let mut service_runs = Vec::with_capacity(QUERY_RUNS);
        for _ in 0..QUERY_RUNS {
            let t = Instant::now();
            history.query(&service)?;
            service_runs.push(t.elapsed());
        }
        println!(
            "query {label}: {points} points ({resolution:?}), median {:.2} ms, max {:.2} ms; service of 5 containers median {:.2} ms",
            median(runs.clone()).as_secs_f64() * 1e3,
            runs.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3,
            median(service_runs).as_secs_f64() * 1e3
        );
        timings.push((label, points, median(runs)));
    }
    // The real 48 h file (raw rows plus the rollups the writer made along the way).
    drop(history);
    let tables = table_bytes(&path)?;
    let measured = file_size(&path)?;
    println!(
        "query db ({hours} h): file {}; tables: {}",
        mb(measured as f64),
        tables
            .iter()
            .filter(|t| t.1 > 100_000)
            .map(|t| format!("{} {}", t.0, mb(t.1 as f64)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // A retention pass a day later: a day of raw rows goes, in 5000-row batches.
    let history = History::open_tuned(&path, &HistorySettings::default(), tuning())?;
    let t = Instant::now();
    let report = history.prune(end + TimeDelta::hours(24))?;
    println!(
        "prune a day later: deleted {} raw rows in {:.1} s ({} ms per 5000-row batch)",
        report.container_raw_rows,
        t.elapsed().as_secs_f64(),
        (t.elapsed().as_millis() as u64 * 5000) / report.container_raw_rows.max(1)
    );
    drop(history);

    let day = timings
        .iter()
        .find(|t| t.0 == "24 h")
        .map(|t| t.2)
        .unwrap_or_default();
    println!("\n| measure | result | target |\n|---|---|---|");
    println!(
        "| insert throughput (100 containers, through the writer) | {throughput:.0} samples/s | |"
    );
    println!(
        "| size, 48 h raw + 7 d rollups, 100 containers at 5 s (realistic / all busy) | {} / {} | < 1 GB |",
        mb(realistic.projected_7d),
        mb(busy.projected_7d)
    );
    println!(
        "| size measured: {hours} h raw + {hours} h rollups written for 100 containers | {} | |",
        mb(measured as f64)
    );
    println!(
        "| size, 48 h raw + 30 d rollups (default retention, steady state) | {} / {} | |",
        mb(realistic.projected_30d),
        mb(busy.projected_30d)
    );
    println!(
        "| 24 h chart of one container, {hours} h of 100 containers in the DB (median of {QUERY_RUNS}) | {:.2} ms | < 50 ms |",
        day.as_secs_f64() * 1e3
    );
    ensure!(day < Duration::from_millis(50), "24 h query over target");
    ensure!(
        realistic.projected_7d < 1e9 && busy.projected_7d < 1e9,
        "size over target"
    );
    Ok(())
}
