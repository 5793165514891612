//! Cost of watching a remote host over SSH: CPU on both ends and bytes over the SSH connection per interval,
//! for N containers (default 50) on a private "remote" dockerd reached only through a real sshd on 127.0.0.1
//! (the same harness as tests/ssh_hosts.rs). Results and the exact command are in docs/benchmarks.md.
//!
//!   local end:  this process (engine, getrusage SELF + reaped CHILDREN: the `ssh -O check` and command
//!               processes) plus the ControlMaster `ssh` process;
//!   remote end: the sshd tree serving the connection (including the batched /proc command it runs) and the
//!               remote dockerd + containerd;
//!   bytes:      bytes sent + received on the SSH TCP connection (`ss -ti`), per 2 s interval.
//!
//! Environment: DOCKER_HOST and DOCKTRAY_TEST_IMAGE (the shared test engine holds the image to copy),
//! WINDOW_SECS (default 60), BENCH_N (default 50). Needs root (sshd, dockerd, a bridge).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::dockerd::PrivateDockerd;
use common::sshd::TestSshd;
use docktray::{Config, Engine};

const INTERVAL: Duration = Duration::from_secs(2);

fn env_parse(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime + cutime + cstime of a process, in seconds.
fn process_cpu(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let ticks: u64 = fields[11..15]
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Some(ticks as f64 / 100.0)
}

/// pid -> (ppid, command line) of every process.
fn processes() -> BTreeMap<u32, (u32, String)> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default();
        all.insert(pid, (ppid, cmdline));
    }
    all
}

fn descendants(all: &BTreeMap<u32, (u32, String)>, root: u32) -> Vec<u32> {
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            all.iter()
                .filter(|(_, (p, _))| *p == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found
}

fn self_cpu() -> f64 {
    let mut total = 0.0;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage only writes into the struct we hand it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::getrusage(who, &mut usage) };
        assert_eq!(rc, 0, "getrusage failed");
        total += usage.ru_utime.tv_sec as f64
            + usage.ru_utime.tv_usec as f64 / 1e6
            + usage.ru_stime.tv_sec as f64
            + usage.ru_stime.tv_usec as f64 / 1e6;
    }
    total
}

/// Bytes sent + received on established TCP connections to `port` on 127.0.0.1 (client side).
fn ssh_bytes(port: u16) -> u64 {
    let output = Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            "dport",
            &format!("= :{port}"),
        ])
        .output()
        .expect("ss (iproute2)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .filter_map(|field| {
            field
                .strip_prefix("bytes_sent:")
                .or_else(|| field.strip_prefix("bytes_received:"))
        })
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

struct Sample {
    local: f64,
    master: f64,
    sshd: f64,
    dockerd: f64,
    bytes: u64,
    at: Instant,
}

fn sample(sshd: &TestSshd, dockerd_pid: u32, ssh_config: &str) -> Sample {
    let all = processes();
    let master: f64 = all
        .iter()
        .filter(|(_, (_, cmd))| {
            cmd.starts_with("ssh ") && cmd.contains(ssh_config) && cmd.contains(" -M ")
        })
        .filter_map(|(pid, _)| process_cpu(*pid))
        .sum();
    let sshd_cpu: f64 = sshd
        .pid()
        .map(|root| {
            descendants(&all, root)
                .into_iter()
                .filter_map(process_cpu)
                .sum()
        })
        .unwrap_or(0.0);
    let dockerd_cpu: f64 = descendants(&all, dockerd_pid)
        .into_iter()
        .filter(|pid| {
            all.get(pid)
                .is_some_and(|(_, cmd)| cmd.contains("dockerd") || cmd.starts_with("containerd "))
        })
        .filter_map(process_cpu)
        .sum();
    Sample {
        local: self_cpu(),
        master,
        sshd: sshd_cpu,
        dockerd: dockerd_cpu,
        bytes: ssh_bytes(sshd.port),
        at: Instant::now(),
    }
}

fn main() {
    let window = Duration::from_secs(env_parse("WINDOW_SECS", 60));
    let count = env_parse("BENCH_N", 50) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rt_dir = format!("/tmp/dtrb-{}", std::process::id());
    std::env::set_var("DOCKTRAY_RUNTIME_DIR", &rt_dir);

    let sshd = TestSshd::new();
    std::fs::write(
        sshd.path("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("known_hosts");
    let dockerd = PrivateDockerd::new("dtb", "203.0.113.1/24");
    dockerd.load_test_image();
    let image = common::image();
    for index in 0..count {
        dockerd.docker(&[
            "run",
            "-d",
            "--network",
            "none",
            "--label",
            "docktray.test=1",
            "--name",
            &format!("idle-{index}"),
            &image,
            "sleep",
            "1000000",
        ]);
    }
    let dockerd_pid = dockerd.pid().expect("dockerd runs");
    let mut config = Config {
        interval: INTERVAL,
        ..Config::default()
    };
    // Only the remote host is of interest: the local engine is pointed at nothing (it retries quietly).
    config.docker.host = format!("unix://{rt_dir}/no-local-engine.sock");
    config.hosts = vec![sshd.host("remote", "dt-remote", &dockerd.socket().to_string_lossy())];
    let ssh_config = sshd.ssh_config().to_string_lossy().into_owned();

    runtime.block_on(async {
        let engine = Engine::start(config);
        let started = Instant::now();
        loop {
            let snapshot = engine.snapshot();
            let with_stats = snapshot
                .containers
                .iter()
                .filter(|c| c.info.host == "remote" && c.stats.is_some())
                .count();
            if with_stats == count && snapshot.hosts.iter().any(|h| h.server_name == "remote") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(180), "no stats for all containers: {with_stats}/{count}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!("ssh bench: all {count} remote containers have stats after {:?}", started.elapsed());
        tokio::time::sleep(INTERVAL).await;
        let first_sampled = engine
            .snapshot()
            .containers
            .iter()
            .find(|c| c.info.host == "remote")
            .and_then(|c| c.stats.as_ref().map(|s| s.sampled_at));
        let mut refreshes = 0u32;
        let mut last_sampled = first_sampled;
        let before = sample(&sshd, dockerd_pid, &ssh_config);
        let end = Instant::now() + window;
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = engine
                .snapshot()
                .containers
                .iter()
                .find(|c| c.info.host == "remote")
                .and_then(|c| c.stats.as_ref().map(|s| s.sampled_at));
            if now != last_sampled {
                refreshes += 1;
                last_sampled = now;
            }
        }
        let after = sample(&sshd, dockerd_pid, &ssh_config);
        let seconds = after.at.duration_since(before.at).as_secs_f64();
        let percent = |a: f64, b: f64| (b - a) / seconds * 100.0;
        let intervals = seconds / INTERVAL.as_secs_f64();
        let method = engine
            .snapshot()
            .sources
            .iter()
            .find(|s| s.name == "remote")
            .and_then(|s| s.stats_method)
            .map(|m| format!("{m:?}"))
            .unwrap_or_default();
        println!("ssh bench: {count} remote containers, {seconds:.0} s window, interval {INTERVAL:?}, container stats via {method}");
        println!("  local  engine process (incl. reaped ssh helpers): {:.2} % of a core", percent(before.local, after.local));
        println!("  local  ssh ControlMaster:                         {:.2} % of a core", percent(before.master, after.master));
        println!("  remote sshd (connection + batched command):       {:.2} % of a core", percent(before.sshd, after.sshd));
        println!("  remote dockerd + containerd:                      {:.2} % of a core", percent(before.dockerd, after.dockerd));
        println!(
            "  bytes over SSH: {:.0} per interval ({:.1} KiB/s)",
            (after.bytes - before.bytes) as f64 / intervals,
            (after.bytes - before.bytes) as f64 / seconds / 1024.0
        );
        println!(
            "  container figures refreshed {refreshes} times in {seconds:.0} s (one per {:.2} s)",
            seconds / f64::from(refreshes.max(1))
        );
        engine.shutdown().await;
    });
    let _ = std::fs::remove_dir_all(&rt_dir);
}
