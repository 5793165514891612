//! Collector cost benchmark: docktray's engine against `docker stats`, on the real engine of the test
//! environment (DOCKER_HOST). Run it with `scripts/bench.sh` (or `make bench`); results are in docs/benchmarks.md.
//!
//! For each N (default 10, 50, 200 and 500) it starts N idle containers and measures, over windows of WINDOW_SECS (default
//! 60) seconds each, in this order:
//!   1. idle baseline: CPU of dockerd + containerd + containerd-shim* with nothing watching;
//!   2. docktray: the engine in this process (2 s interval), its own CPU (getrusage RUSAGE_SELF, after start-up
//!      and its first disk-usage measurement) and the Docker processes' CPU above the idle baseline, plus that
//!      measurement's engine cost (measured apart, api_costs.rs) spread over its 5-minute period;
//!   3. `docker stats --format '{{json .}}'` (streaming, to /dev/null): the CLI's CPU plus the same extra;
//!   4. idle baseline again (the baseline used is the mean of 1 and 4; both are printed);
//!   5. first full snapshot: Engine::start -> ready() -> snapshot(), median of 5, against the wall time of
//!      `docker stats --no-stream` (median of 3); memory per container compared between the two.
//!
//! Environment: DOCKER_HOST and DOCKTRAY_TEST_IMAGE (scripts/test-env.sh env), WINDOW_SECS (default 60),
//! BENCH_N (default "10,50,200,500"; N=500 needs about 5 GB of free memory, docs/benchmarks.md), DOCKER_CLI
//! (default `docker` on PATH), BENCH_MODE=engine (profiling aid: only run
//! the engine for one window with the largest N, e.g. under `perf record`; BENCH_MODE=first-snapshot: only the
//! first snapshot, against benchmark containers already running, benches/collector/first.rs).
//! Every container it creates is labelled docktray.test=1 and docktray.bench=1 and removed at the end.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use docktray::{Config, Engine};

mod api_costs;
mod breakdown;
mod cpu;
mod first;
mod fixtures;

use breakdown::*;
use cpu::*;
use fixtures::*;

const INTERVAL: Duration = Duration::from_secs(2);
/// Start-up excluded from the CPU windows: the engine's window opens this long after ready(), the
/// `docker stats` window this long after the CLI was spawned (it has to open one stream per container).
const ENGINE_SETTLE: Duration = Duration::from_secs(1);
const DOCKER_STATS_SETTLE: Duration = Duration::from_secs(4);
const SNAPSHOT_RUNS: usize = 5;
const NO_STREAM_RUNS: usize = 3;
const LABELS: [&str; 4] = ["--label", "docktray.test=1", "--label", "docktray.bench=1"];

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let window = Duration::from_secs(env_parse("WINDOW_SECS", 60)?);
    let counts: Vec<usize> = std::env::var("BENCH_N")
        .unwrap_or_else(|_| "10,50,200,500".to_owned())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .context("BENCH_N must be a comma-separated list of counts")
        })
        .collect::<Result<_>>()?;
    let docker_host =
        std::env::var("DOCKER_HOST").context("DOCKER_HOST is not set: run via scripts/bench.sh")?;
    let image = std::env::var("DOCKTRAY_TEST_IMAGE")
        .context("DOCKTRAY_TEST_IMAGE is not set: run via scripts/bench.sh")?;
    let cli = Cli {
        program: std::env::var("DOCKER_CLI").unwrap_or_else(|_| "docker".to_owned()),
    };
    eprintln!(
        "collector bench: DOCKER_HOST={docker_host}, window {}s, N={counts:?}",
        window.as_secs()
    );
    if std::env::var("BENCH_MODE").is_ok_and(|mode| mode == "first-snapshot") {
        return first::first_snapshot_only(&cli);
    }
    let versions = cli.output(&[
        "version",
        "--format",
        "engine {{.Server.Version}} (API {{.Server.APIVersion}}), CLI {{.Client.Version}}",
    ])?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut containers = Containers {
        cli: cli.clone(),
        ids: Vec::new(),
    };
    if std::env::var("BENCH_MODE").is_ok_and(|mode| mode == "engine") {
        // Profiling aid (e.g. under `perf record`): only the engine, for one window, with the largest N.
        containers.grow_to(counts.iter().copied().max().unwrap_or(0), &image)?;
        std::thread::sleep(Duration::from_secs(5));
        let own = runtime.block_on(async {
            let engine = Engine::start(bench_config());
            ensure!(
                engine.ready(Duration::from_secs(30)).await,
                "the engine was not ready within 30 s"
            );
            let before = self_cpu();
            tokio::time::sleep(window).await;
            let own = self_cpu() - before;
            engine.shutdown().await;
            Ok(own)
        })?;
        println!("engine only: {own:.3} CPU s in {} s", window.as_secs());
        return Ok(());
    }
    let mut results = Vec::new();
    let available_before = status_kib("/proc/meminfo", "MemAvailable:");
    for &n in &counts {
        containers.grow_to(n, &image)?;
        // Let the new containers' start-up work in the engine die down before measuring anything.
        std::thread::sleep(Duration::from_secs(5));
        let available = status_kib("/proc/meminfo", "MemAvailable:");
        let mut measured = runtime.block_on(measure(&cli, &containers, window))?;
        measured.containers_memory_mib = available_before.saturating_sub(available) as f64 / 1024.0;
        results.push(measured);
    }
    drop(runtime);
    containers.remove_all();

    print_report(&versions, window, &results);
    Ok(())
}

/// Everything measured for one N.
struct Measured {
    n: usize,
    /// Running containers on the engine (anyone's) at each window boundary: other people's containers coming
    /// and going during a window make its engine figures meaningless.
    running: Vec<usize>,
    baseline_before: f64,
    baseline_after: f64,
    /// Whole-machine busy % (of all cores) in each window: baseline, docktray, docker stats, baseline.
    host_busy: [f64; 4],
    docktray_own: f64,
    docktray_engine: f64,
    docktray_sweeps: usize,
    stats_own: f64,
    stats_engine: f64,
    first_snapshot_ms: Vec<f64>,
    snapshot_complete: bool,
    no_stream_ms: Vec<f64>,
    memory_compared: usize,
    memory_max_deviation: f64,
    memory_worst: String,
    breakdown: Breakdown,
    /// The bench process's resident memory (the engine in it) at the end of docktray's window, in MiB.
    docktray_rss_mib: f64,
    /// The machine's MemAvailable before any benchmark container minus after the N were started, in MiB: what
    /// N idle containers (shims, processes, network) need.
    containers_memory_mib: f64,
}

impl Measured {
    fn baseline(&self) -> f64 {
        (self.baseline_before + self.baseline_after) / 2.0
    }
}

async fn measure(cli: &Cli, containers: &Containers, window: Duration) -> Result<Measured> {
    let n = containers.ids.len();
    // Running containers on the engine; fails if one of ours is gone (removed by someone else's cleanup).
    let running_now = || -> Result<usize> {
        let running = cli.output(&["ps", "-q", "--no-trunc"])?;
        let mine = containers
            .ids
            .iter()
            .filter(|id| running.lines().any(|line| line == id.as_str()))
            .count();
        ensure!(
            mine == n,
            "only {mine} of the {n} benchmark containers are still running: something else removed them"
        );
        Ok(running.lines().count())
    };
    let mut running = vec![running_now()?];
    eprintln!(
        "N={n} ({} running on the engine): idle baseline, {}s",
        running[0],
        window.as_secs()
    );
    let host0 = host_cpu();
    let baseline_before = engine_cpu_over(window).await;
    let busy_baseline_before = host_busy(host0, host_cpu());
    running.push(running_now()?);

    // docktray, steady state.
    eprintln!("N={n}: docktray engine, {}s", window.as_secs());
    let engine = Engine::start(bench_config());
    ensure!(
        engine.ready(Duration::from_secs(30)).await,
        "the engine was not ready within 30 s"
    );
    // Steady state starts after the first disk-usage measurement (10 s after start, then every 5 minutes): its
    // engine cost is measured apart (api_costs.rs) and spread over its period in the report.
    wait_first_disk_usage(&engine).await?;
    tokio::time::sleep(ENGINE_SETTLE).await;
    let host0 = host_cpu();
    let engine_before = engine_cpu();
    let self_before = self_cpu();
    tokio::time::sleep(window).await;
    let self_after = self_cpu();
    let engine_after = engine_cpu();
    let busy_docktray = host_busy(host0, host_cpu());
    let docktray_rss_mib = status_kib("/proc/self/status", "VmRSS:") as f64 / 1024.0;
    let snapshot = engine.snapshot();
    engine.shutdown().await;
    running.push(running_now()?);
    let docktray_own = self_after - self_before;
    let docktray_engine_total = cpu_delta(&engine_before, &engine_after);
    let docktray_sweeps = (window.as_secs_f64() / INTERVAL.as_secs_f64()).round() as usize;
    ensure!(
        count_sampled(&snapshot, &containers.ids) == n,
        "docktray did not sample every benchmark container during the window"
    );

    // docker stats, streaming, same window.
    eprintln!("N={n}: docker stats (streaming), {}s", window.as_secs());
    let mut child = cli
        .command(&["stats", "--format", "{{json .}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting docker stats")?;
    let pid = child.id();
    let outcome = async {
        tokio::time::sleep(DOCKER_STATS_SETTLE).await;
        let host0 = host_cpu();
        let engine_before = engine_cpu();
        let own_before = pid_cpu(pid).context("reading docker stats' /proc/<pid>/stat")?;
        tokio::time::sleep(window).await;
        let own_after = pid_cpu(pid).context("docker stats exited during the window")?;
        let engine_after = engine_cpu();
        let busy = host_busy(host0, host_cpu());
        Ok::<_, anyhow::Error>((
            own_after - own_before,
            cpu_delta(&engine_before, &engine_after),
            busy,
        ))
    }
    .await;
    stop(&mut child);
    let (stats_own, stats_engine_total, busy_stats) = outcome?;
    running.push(running_now()?);

    // Let the engine wind down the closed stats streams before measuring it idle again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!("N={n}: idle baseline again, {}s", window.as_secs());
    let host0 = host_cpu();
    let baseline_after = engine_cpu_over(window).await;
    let busy_baseline_after = host_busy(host0, host_cpu());
    running.push(running_now()?);

    // First full snapshot.
    eprintln!("N={n}: first snapshot x{SNAPSHOT_RUNS}, docker stats --no-stream x{NO_STREAM_RUNS}");
    let mut first_snapshot_ms = Vec::new();
    let mut snapshot_complete = true;
    for _ in 0..SNAPSHOT_RUNS {
        let (ms, snapshot) = time_first_snapshot().await?;
        first_snapshot_ms.push(ms);
        snapshot_complete &= count_sampled(&snapshot, &containers.ids) == n;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut no_stream_ms = Vec::new();
    let mut no_stream_output = String::new();
    for _ in 0..NO_STREAM_RUNS {
        let started = Instant::now();
        no_stream_output = cli.output(&["stats", "--no-stream", "--format", "{{json .}}"])?;
        no_stream_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // Memory: docktray (a fresh snapshot) against the last `docker stats --no-stream`, per benchmark container.
    let engine = Engine::start(bench_config());
    ensure!(
        engine.ready(Duration::from_secs(30)).await,
        "the engine was not ready within 30 s"
    );
    let snapshot = engine.snapshot();
    engine.shutdown().await;
    let (memory_compared, memory_max_deviation, memory_worst) =
        compare_memory(&snapshot, &no_stream_output, &containers.ids)?;

    eprintln!("N={n}: per-tick cost breakdown");
    let ids = containers.ids.clone();
    let pids = cli.output(
        &[
            &["inspect", "--format", "{{.Id}} {{.State.Pid}}"][..],
            &ids.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    )?;
    let mut breakdown = tokio::task::spawn_blocking(move || breakdown(&pids)).await??;
    let idle_rate = (baseline_before + baseline_after) / 2.0 / window.as_secs_f64();
    api_costs::measure(&mut breakdown, &containers.ids, idle_rate).await?;

    Ok(Measured {
        n,
        running,
        baseline_before,
        baseline_after,
        host_busy: [
            busy_baseline_before,
            busy_docktray,
            busy_stats,
            busy_baseline_after,
        ],
        docktray_own,
        docktray_engine: docktray_engine_total,
        docktray_sweeps,
        stats_own,
        stats_engine: stats_engine_total,
        first_snapshot_ms,
        snapshot_complete,
        no_stream_ms,
        memory_compared,
        memory_max_deviation,
        memory_worst,
        breakdown,
        docktray_rss_mib,
        containers_memory_mib: 0.0,
    })
}

/// Waits until the engine has made its first measurement of Docker's disk usage.
async fn wait_first_disk_usage(engine: &Engine) -> Result<()> {
    let deadline =
        Instant::now() + docktray::sources::docker::DISK_USAGE_FIRST + Duration::from_secs(120);
    while engine.last_disk_usage("local").is_none() {
        ensure!(
            Instant::now() < deadline,
            "the engine made no disk-usage measurement within 2 minutes of its due time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn bench_config() -> Config {
    Config {
        interval: INTERVAL,
        ..Default::default()
    }
}

/// How many of `ids` have figures in the snapshot.
/// Milliseconds from starting an engine to its first full snapshot, and that snapshot.
async fn time_first_snapshot() -> Result<(f64, docktray::Snapshot)> {
    let started = Instant::now();
    let engine = Engine::start(bench_config());
    let ready = engine.ready(Duration::from_secs(30)).await;
    let snapshot = engine.snapshot();
    let elapsed = started.elapsed();
    engine.shutdown().await;
    ensure!(ready, "the engine was not ready within 30 s");
    Ok((elapsed.as_secs_f64() * 1000.0, snapshot))
}

fn count_sampled(snapshot: &docktray::Snapshot, ids: &[String]) -> usize {
    snapshot
        .containers
        .iter()
        .filter(|c| ids.contains(&c.info.id) && c.stats.is_some())
        .count()
}

/// Compares docktray's memory figure of each benchmark container with `docker stats --no-stream`'s.
/// Returns (containers compared, max relative deviation, description of the worst one).
fn compare_memory(
    snapshot: &docktray::Snapshot,
    no_stream: &str,
    ids: &[String],
) -> Result<(usize, f64, String)> {
    let mut docker: HashMap<String, u64> = HashMap::new();
    for line in no_stream.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value =
            serde_json::from_str(line).context("parsing docker stats JSON")?;
        let name = row["Name"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        let usage = row["MemUsage"].as_str().unwrap_or_default();
        let used = usage.split('/').next().unwrap_or_default().trim();
        docker.insert(
            name,
            parse_size(used).with_context(|| format!("parsing MemUsage {usage:?}"))?,
        );
    }
    let mut compared = 0;
    let mut worst = (0.0f64, String::new());
    for container in snapshot
        .containers
        .iter()
        .filter(|c| ids.contains(&c.info.id))
    {
        let name = container.info.name.trim_start_matches('/');
        let stats = container
            .stats
            .as_ref()
            .with_context(|| format!("{name}: no docktray figures"))?;
        let theirs = *docker
            .get(name)
            .with_context(|| format!("{name}: not in docker stats --no-stream"))?;
        let ours = stats.memory_bytes;
        let deviation = (ours as f64 - theirs as f64).abs() / (theirs as f64).max(1.0);
        compared += 1;
        if deviation >= worst.0 {
            worst = (
                deviation,
                format!("{name}: docktray {ours} B, docker stats {theirs} B"),
            );
        }
    }
    ensure!(
        compared == ids.len(),
        "compared {compared} of {} containers",
        ids.len()
    );
    Ok((compared, worst.0, worst.1))
}

/// Parses docker's human sizes ("396KiB", "1.23MiB", "0B"; binary units, as `docker stats` prints memory).
fn parse_size(text: &str) -> Result<u64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("bad size {text:?}"))?;
    let factor = match unit.trim() {
        "B" | "" => 1.0,
        "KiB" | "kB" | "KB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" | "TB" => 1024.0f64.powi(4),
        other => bail!("unknown size unit {other:?} in {text:?}"),
    };
    Ok((number * factor).round() as u64)
}

// ---- CPU accounting -------------------------------------------------------------------------------------------

/// A `Key:   N kB` line of a /proc status-like file, in KiB (0 if absent).
fn status_kib(path: &str, key: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() & 1 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_report(versions: &str, window: Duration, results: &[Measured]) {
    let secs = window.as_secs_f64();
    let pct = |cpu_s: f64| cpu_s / secs * 100.0;
    println!();
    println!(
        "## Collector benchmark ({versions}; {}-s windows, 2-s interval)",
        window.as_secs()
    );
    println!();
    println!("CPU as % of one core. \"engine\" = dockerd + containerd + containerd-shim* above their idle baseline; for docktray its steady-state window (after its first disk-usage measurement) plus that measurement spread over its 5-minute period (last table).");
    println!();
    println!("| N | docktray CPU % (own + engine) | docker stats CPU % (own + engine) | ratio | first snapshot ms | docker stats --no-stream ms | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for r in results {
        let base = r.baseline();
        let dt_engine =
            r.docktray_engine - base + api_costs::disk_usage_percent(&r.breakdown) / 100.0 * secs;
        let ds_engine = r.stats_engine - base;
        let dt = pct(r.docktray_own + dt_engine);
        let ds = pct(r.stats_own + ds_engine);
        let snap = median(&r.first_snapshot_ms);
        let no_stream = median(&r.no_stream_ms);
        println!(
            "| {} | {:.2} ({:.2} + {:.2}) | {:.2} ({:.2} + {:.2}) | {:.0}x | {:.0} | {:.0} | {:.0}x |",
            r.n,
            dt,
            pct(r.docktray_own),
            pct(dt_engine),
            ds,
            pct(r.stats_own),
            pct(ds_engine),
            ds / dt,
            snap,
            no_stream,
            no_stream / snap,
        );
    }
    println!();
    println!("| N | running on engine at window boundaries | engine idle baseline % (before / after) | engine total % with docktray | engine total % with docker stats | docktray own CPU ms per 2-s tick | machine busy % of all cores (idle / docktray / docker stats / idle) | first snapshots ms | all sampled | --no-stream runs ms | memory: compared, max deviation | docktray own µs per container per tick | docktray RSS MiB | machine memory for the N containers MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        println!(
            "| {} | {} | {:.2} ({:.2} / {:.2}) | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {}, {:.2} % ({}) | {:.1} | {:.0} | {:.0} |",
            r.n,
            r.running
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            pct(r.baseline()),
            pct(r.baseline_before),
            pct(r.baseline_after),
            pct(r.docktray_engine),
            pct(r.stats_engine),
            r.docktray_own * 1000.0 / r.docktray_sweeps.max(1) as f64,
            r.host_busy.iter().map(|b| format!("{b:.1}")).collect::<Vec<_>>().join(" / "),
            list(&r.first_snapshot_ms),
            if r.snapshot_complete { "yes" } else { "NO" },
            list(&r.no_stream_ms),
            r.memory_compared,
            r.memory_max_deviation * 100.0,
            r.memory_worst,
            r.docktray_own * 1e6 / r.docktray_sweeps.max(1) as f64 / r.n.max(1) as f64,
            r.docktray_rss_mib,
            r.containers_memory_mib,
        );
    }
    println!();
    println!(
        "Per-tick CPU of docktray's own work, each part timed alone on one thread (ms per 2-s tick; {BREAKDOWN_ROUNDS} rounds):"
    );
    println!();
    println!("| N | container sweep, files kept open (cgroup files + /proc/<pid>/net/dev) | of which net/dev | of which memory.stat | same files raw: open+read+close / kept open + pread (files per container) | host sampler | sysinfo networks | sysinfo disks | sysinfo CPU + memory | interfaces | mounts | same sweep opening every file |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let b = &r.breakdown;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} ({}) | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {:.2} |",
            r.n,
            b.container_sweep_ms,
            b.net_dev_ms,
            b.memory_stat_ms,
            b.raw_open_read_ms,
            b.raw_pread_ms,
            b.files_per_container,
            b.host_sample_ms,
            b.host_networks_ms,
            b.host_disks_ms,
            b.host_cpu_memory_ms,
            b.interfaces,
            b.mounts,
            b.container_sweep_per_open_ms,
        );
    }
    api_costs::print_table(results);
}
