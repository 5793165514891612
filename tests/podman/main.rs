//! Podman engines, rootful and rootless, watched as first-class hosts, against real components: each test starts
//! its own `podman system service` on a private socket (tests/common/podman.rs; rootless as a user it creates),
//! with the busybox test image imported locally. Covers the container list and pods, CPU and memory against
//! `podman stats` (cgroup files and Podman's API), logs, actions, the exit alert from a die event, the engine's
//! name in the snapshot and the CLI, the workbench (exec, images, volumes, networks, disk usage), what rootless Podman on cgroup v1 cannot measure, discovery, an SSH host
//! running Podman, and a clean stop.

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::podman::PodmanService;
use common::*;
use docktray::config::DockerConfig;
use docktray::{Config, ContainerStats, Engine, Snapshot, SourceStatus};

mod cli;
mod rootful;
mod rootless;
mod ssh;
mod workbench;

/// Sampling every 500 ms; a re-list only every 5 minutes, so only events can keep the list current in a test.
fn config_for(endpoint: &str) -> Config {
    Config {
        docker: DockerConfig {
            host: endpoint.to_owned(),
            reconcile_every: Duration::from_secs(300),
        },
        ..test_config()
    }
}

/// The local engine's source in a snapshot.
fn local_source(snapshot: &Snapshot) -> Option<&SourceStatus> {
    snapshot
        .sources
        .iter()
        .find(|s| s.name == docktray::model::LOCAL_HOST && s.kind == "docker")
}

/// Whether this machine runs the unified cgroup v2 hierarchy (only there does rootless Podman get cgroups).
fn cgroup_v2_host() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The figures of `name` once the engine has them.
async fn stats_of(engine: &Engine, name: &str) -> ContainerStats {
    wait_for(
        engine,
        Duration::from_secs(20),
        &format!("figures for {name}"),
        |s| find(s, name).and_then(|c| c.stats.clone()),
    )
    .await
}

/// A busy loop; TERM ends it at once.
const BURNER: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"];

/// Runs a `--cpus 0.5` burner called `name` (with `options`) on `podman`, reads its CPU as the engine shows it
/// and removes it. One burner at a time in this binary: two would share this machine's two cores with the
/// engines and the tests, and get less than their half core.
async fn burner_cpu(engine: &Engine, podman: &PodmanService, name: &str, options: &[&str]) -> f64 {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut all = vec!["--cpus", "0.5"];
    all.extend_from_slice(options);
    podman.run(name, &all, BURNER);
    let cpu = cpu_of(engine, name).await;
    podman.podman(&["rm", "--force", "--time", "0", name]);
    cpu
}

/// The median of five CPU readings of `name`, one per interval, so one odd interval does not decide.
async fn cpu_of(engine: &Engine, name: &str) -> f64 {
    let mut readings = Vec::new();
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while readings.len() < 5 {
        assert!(
            Instant::now() < deadline,
            "no five CPU readings of {name}: {readings:?}"
        );
        let stats = stats_of(engine, name).await;
        if last != Some(stats.sampled_at) {
            last = Some(stats.sampled_at);
            readings.push(stats.cpu_percent);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    readings.sort_by(f64::total_cmp);
    readings[2]
}

/// Docktray's memory figure of `name` and `podman stats`' right after it agree within 10 % (a few tries: the
/// page cache of a container moves between two readings).
async fn assert_memory_agrees(engine: &Engine, podman: &PodmanService, name: &str) {
    let mut seen = Vec::new();
    for _ in 0..5 {
        let ours = stats_of(engine, name).await.memory_bytes as f64;
        let theirs = podman.stats_memory(name);
        if (ours - theirs).abs() <= theirs * 0.10 {
            return;
        }
        seen.push((ours, theirs));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    panic!("memory of {name} (Docktray, podman stats) never within 10 %: {seen:?}");
}
