//! The HTTP API's costs (docs/benchmarks.md, "HTTP API"):
//! 1. `/metrics` for 200 containers and the host: time to write one scrape, and its size (no Docker needed);
//! 2. `docktray serve` with no client against `docktray watch`: the process's CPU, 50 containers at 2 s;
//! 3. 50 WebSocket stats subscribers against none, same set-up: the CPU they add to the server.
//! Parts 2 and 3 need the test engine (`eval "$(scripts/test-env.sh env)"`) and the shared lock; `BENCH_PARTS=1`
//! runs only the first. `WINDOW_SECS` (default 60) sets the measurement windows.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

fn main() {
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "1,2,3".to_owned());
    let window = Duration::from_secs(
        std::env::var("WINDOW_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    if parts.contains('1') {
        scrape_cost();
    }
    if parts.contains('2') || parts.contains('3') {
        let containers = Containers::start(50);
        if parts.contains('2') {
            serve_against_watch(window);
        }
        if parts.contains('3') {
            subscribers(window);
        }
        drop(containers);
    }
}

/// A state of 200 running containers with figures, one host, a few sources and alerts.
fn state() -> (docktray::Snapshot, HashMap<String, f64>) {
    let now = chrono::Utc::now();
    let stats = |i: usize| {
        json!({"sampled_at": now, "method": "cgroup", "cpu_percent": i as f64 * 0.3, "cpu_host_percent": 0.1,
               "online_cpus": 2, "memory_bytes": 1_000_000 + i * 4096, "memory_limit_bytes": 268_435_456u64,
               "memory_percent": 0.4, "net_rx_bytes": i * 1000, "net_tx_bytes": i * 500, "net_rx_bytes_per_s": 10.0,
               "net_tx_bytes_per_s": 5.0, "block_read_bytes": 8192, "block_write_bytes": 0,
               "block_read_bytes_per_s": 0.0, "block_write_bytes_per_s": 0.0, "pids": 3})
    };
    let containers: Vec<_> = (0..200)
        .map(|i| {
            json!({"host": "local", "id": format!("{i:064x}"), "name": format!("service-{i}"),
                   "image": "registry.example/app:1.2.3", "state": "running", "status": "Up 2 hours",
                   "health": null, "exit_code": null, "oom_killed": false, "restart_count": 0,
                   "compose_project": "shop", "compose_service": format!("svc{}", i % 20), "ports": [],
                   "created": now, "started_at": now, "finished_at": null, "labels": {}, "ip_addresses": {},
                   "stats": stats(i)})
        })
        .collect();
    let host = json!({"server_name": "local", "source_type": "docker-host",
        "memory": {"used_gb": 3.0, "total_gb": 16.0, "percent": 18.8}, "swap": {"used_gb": 0.0, "total_gb": 0.0, "percent": 0.0},
        "disk": {"used_gb": 100.0, "total_gb": 250.0, "percent": 40.0}, "disks": [],
        "cpu": {"count": 2, "percent": 12.0, "per_core": [10.0, 14.0]}, "network": {"rx_bytes_per_s": 100.0, "tx_bytes_per_s": 50.0},
        "load": {"one": 0.5, "five": 0.4, "fifteen": 0.3}, "uptime_s": 100000, "status": "active", "timestamp": now, "vps": null});
    let source = |name: &str, kind: &str| json!({"name": name, "kind": kind, "endpoint": "unix:///var/run/docker.sock",
        "state": "up", "reason": null, "consecutive_failures": 0, "next_retry": null, "engine_version": "20.10",
        "api_version": "1.41", "stats_method": "cgroup", "since": now});
    let snapshot: docktray::Snapshot = serde_json::from_value(json!({
        "taken_at": now, "overall": "ok", "alerts": [], "hosts": [host],
        "sources": [source("local", "docker"), source("local", "host")], "containers": containers,
    }))
    .expect("a valid snapshot");
    let cpu = snapshot
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.info.id.clone(), i as f64 * 12.5))
        .collect();
    (snapshot, cpu)
}

fn scrape_cost() {
    let (snapshot, cpu) = state();
    for (format, openmetrics) in [("text 0.0.4", false), ("OpenMetrics", true)] {
        let mut bytes = 0;
        let rounds = 200;
        // Warm-up, then timed rounds (the clone of the state is outside the timing).
        for _ in 0..20 {
            let _ = docktray::sinks::api::metrics::encode_snapshot(snapshot.clone(), cpu.clone(), openmetrics);
        }
        let mut total = Duration::ZERO;
        let mut times = Vec::new();
        for _ in 0..rounds {
            let (s, c) = (snapshot.clone(), cpu.clone());
            let started = Instant::now();
            let body = docktray::sinks::api::metrics::encode_snapshot(s, c, openmetrics).expect("encode");
            let took = started.elapsed();
            total += took;
            times.push(took);
            bytes = body.len();
        }
        times.sort();
        println!(
            "/metrics, 200 containers + host, {format}: mean {:.2} ms, median {:.2} ms, p95 {:.2} ms per scrape; {} bytes ({:.1} KiB)",
            total.as_secs_f64() * 1000.0 / rounds as f64,
            times[rounds / 2].as_secs_f64() * 1000.0,
            times[rounds * 95 / 100].as_secs_f64() * 1000.0,
            bytes,
            bytes as f64 / 1024.0
        );
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker CLI");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Containers(Vec<String>);

impl Containers {
    fn start(n: usize) -> Self {
        let image = std::env::var("DOCKTRAY_TEST_IMAGE").unwrap_or_else(|_| "docktray-test-busybox:latest".into());
        let ids = (0..n)
            .map(|i| {
                let name = format!("dtbench-api-{}-{i}", std::process::id());
                docker(&["run", "-d", "--name", &name, "--label", "docktray.test=1", "--label", "docktray.bench=1", &image, "sleep", "1000000"])
            })
            .collect();
        std::thread::sleep(Duration::from_secs(5));
        Self(ids)
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for id in &self.0 {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
    }
}

/// utime + stime of a process, seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

struct Process {
    child: Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

/// `docktray watch` or `docktray serve` with a 2-s interval, the history in a temp dir, no notifications.
fn run(command: &str) -> Process {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"2s\"\n[history]\npath = \"{}\"\n[api]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.path().join("h.sqlite").display()
        ),
    )
    .expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(&config)
        .args([command, "--no-notify"])
        .env("DOCKTRAY_API_TOKEN", "bench-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docktray");
    // Settle: first rounds, history opened, the once-a-minute re-list not at the window's edge.
    std::thread::sleep(Duration::from_secs(10));
    Process { child, _dir: dir, port }
}

/// The process's CPU over `window`, as % of one core.
fn measure(process: &Process, window: Duration) -> f64 {
    let pid = process.child.id();
    let before = cpu_seconds(pid);
    std::thread::sleep(window);
    (cpu_seconds(pid) - before) / window.as_secs_f64() * 100.0
}

fn serve_against_watch(window: Duration) {
    let mut rows = Vec::new();
    for round in 0..2 {
        for command in ["watch", "serve"] {
            let process = run(command);
            let cpu = measure(&process, window);
            println!("round {round}: docktray {command}, 50 containers at 2 s, no client: {cpu:.3} % of a core over {window:?}");
            rows.push((command, cpu));
        }
    }
    let mean = |name: &str| {
        let v: Vec<f64> = rows.iter().filter(|r| r.0 == name).map(|r| r.1).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "mean: watch {:.3} %, serve {:.3} %, difference {:+.3} % of a core",
        mean("watch"),
        mean("serve"),
        mean("serve") - mean("watch")
    );
}

fn subscribers(window: Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let mut rows = Vec::new();
    for round in 0..2 {
        for clients in [0usize, 50] {
            let process = run("serve");
            let port = process.port;
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (stop, received) = (stop.clone(), received.clone());
                tasks.push(runtime.spawn(async move {
                    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
                    let mut request = format!("ws://127.0.0.1:{port}/api/v1/ws?streams=stats")
                        .into_client_request()
                        .expect("request");
                    request.headers_mut().insert("Authorization", "Bearer bench-token".parse().expect("header"));
                    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connect");
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        if let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
                            received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }));
            }
            std::thread::sleep(Duration::from_secs(3));
            let cpu = measure(&process, window);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for task in tasks {
                let _ = runtime.block_on(task);
            }
            println!(
                "round {round}: docktray serve with {clients} stats subscribers: {cpu:.3} % of a core ({} messages received)",
                received.load(std::sync::atomic::Ordering::Relaxed)
            );
            rows.push((clients, cpu));
        }
    }
    let mean = |n: usize| {
        let v: Vec<f64> = rows.iter().filter(|r| r.0 == n).map(|r| r.1).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!("mean: 0 subscribers {:.3} %, 50 subscribers {:.3} %, added {:+.3} % of a core", mean(0), mean(50), mean(50) - mean(0));
}
