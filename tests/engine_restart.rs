//! The Docker engine going away and coming back mid-run: the source is marked unreachable with the reason,
//! retried with growing backoff, and every stream (events, stats, logs) resumes without help.
//! Runs its own private `dockerd` (Debian's docker.io, as `make test` installs it) so stopping it disturbs
//! no other test.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use docktray::logs::LogQuery;
use docktray::{ContainerState, SourceState};

struct PrivateDockerd {
    root: tempfile::TempDir,
    child: Option<Child>,
    bridge: String,
}

impl PrivateDockerd {
    fn socket(&self) -> PathBuf {
        self.root.path().join("d.sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn new() -> Self {
        // Short path: unix socket paths are limited to 108 bytes.
        let root = tempfile::Builder::new()
            .prefix("dtr")
            .tempdir_in("/tmp")
            .expect("tempdir");
        // Its own bridge: `--bridge=none` would make dockerd delete the shared docker0 of the main test engine.
        // The address is from TEST-NET-1 (documentation range, never routed); containers here use no network.
        let bridge = format!("dtr{}", std::process::id() % 100_000);
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = ip(&["link", "del", &bridge]);
        assert!(
            ip(&["link", "add", &bridge, "type", "bridge"]),
            "cannot create bridge {bridge} (needs root and iproute2)"
        );
        assert!(ip(&["addr", "add", "192.0.2.1/24", "dev", &bridge]));
        assert!(ip(&["link", "set", &bridge, "up"]));
        let mut dockerd = Self {
            root,
            child: None,
            bridge,
        };
        dockerd.start();
        dockerd
    }

    fn start(&mut self) {
        let root = self.root.path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(root.join("dockerd.log"))
            .expect("log file");
        let binary = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect("dockerd is installed (make test installs Debian's docker.io)");
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new(binary)
            .args(["--data-root", &root.join("data").to_string_lossy()])
            .args(["--exec-root", &root.join("x").to_string_lossy()])
            .args(["--pidfile", &root.join("pid").to_string_lossy()])
            .args(["--host", &self.host()])
            .args([
                "--bridge",
                &self.bridge,
                "--iptables=false",
                "--ip6tables=false",
            ])
            .args([
                "--containerd-namespace",
                "dtr",
                "--containerd-plugins-namespace",
                "dtrp",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dockerd (the test needs root)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "private dockerd did not start: {}",
                std::fs::read_to_string(root.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn answers(&self) -> bool {
        Command::new("docker")
            .args([
                "-H",
                &self.host(),
                "version",
                "--format",
                "{{.Server.Version}}",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn docker(&self, args: &[&str]) -> String {
        let host = self.host();
        let mut all = vec!["-H", host.as_str()];
        all.extend_from_slice(args);
        docker(&all)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            let host = self.host();
            let ids = docker_output(&["-H", &host, "ps", "-aq"]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                let _ = docker_output(&["-H", &host, "rm", "-f", id]);
            }
        }
        self.stop();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_stopped_and_started_again_is_survived_and_data_flows_again() {
    let mut dockerd = PrivateDockerd::new();
    let load = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker save {} | docker -H {} load",
            image(),
            dockerd.host()
        ))
        .output()
        .expect("copy the test image");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let id = dockerd.docker(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "survivor",
        &image(),
        "sh",
        "-c",
        "i=0; while :; do echo beat $i; i=$((i+1)); sleep 0.2; done",
    ]);

    // A container that will vanish while the engine is down: no destroy event will ever tell us.
    let ghost_id = dockerd.docker(&[
        "create",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "ghost",
        &image(),
        "true",
    ]);

    let mut config = test_config();
    config.docker.host = dockerd.host();
    let engine = start_engine(config).await;
    wait_for(
        &engine,
        Duration::from_secs(30),
        "the container with stats",
        |s| find(s, "survivor").and_then(|c| c.stats.clone()),
    )
    .await;
    let mut logs = engine
        .logs()
        .subscribe(&id, LogQuery::default())
        .await
        .expect("follow logs");
    tokio::time::timeout(Duration::from_secs(10), logs.next())
        .await
        .expect("a live line")
        .expect("open");

    wait_for(&engine, Duration::from_secs(30), "the ghost listed", |s| {
        find(s, "ghost").cloned()
    })
    .await;
    dockerd.stop();
    // Remove the ghost's state behind the engine's back: the restarted engine no longer knows it.
    std::fs::remove_dir_all(
        dockerd
            .root
            .path()
            .join("data")
            .join("containers")
            .join(&ghost_id),
    )
    .expect("remove the ghost's state");
    let down = wait_for(
        &engine,
        Duration::from_secs(30),
        "the source marked unreachable",
        |s| {
            s.sources
                .iter()
                .find(|src| src.kind == "docker" && src.state == SourceState::Unreachable)
                .cloned()
        },
    )
    .await;
    let reason = down.reason.clone().unwrap_or_default();
    assert!(!reason.is_empty(), "an unreachable source says why");
    assert!(down.next_retry.is_some());
    let unreachable_error = engine
        .client()
        .expect_err("no client while the engine is down")
        .to_string();
    assert!(
        unreachable_error.contains("cannot reach the Docker engine"),
        "{unreachable_error}"
    );
    // Retries keep going with growing delays while it is down (1 s, then about 2 s ...), not spinning.
    let retried = wait_for(
        &engine,
        Duration::from_secs(20),
        "at least three failed attempts",
        |s| {
            s.sources
                .iter()
                .find(|src| src.kind == "docker" && src.consecutive_failures >= 3)
                .cloned()
        },
    )
    .await;
    assert!(
        retried.consecutive_failures < 10,
        "retries are backed off, not spinning: {retried:?}"
    );
    assert!(
        find(&engine.snapshot(), "survivor").is_some_and(|c| c.stats.is_none()),
        "no stale figures while the engine is unreachable"
    );

    let restarted_at = chrono::Utc::now();
    dockerd.start();
    wait_for(&engine, Duration::from_secs(90), "source up again", |s| {
        s.sources
            .iter()
            .find(|src| src.kind == "docker" && src.state == SourceState::Up)
            .cloned()
    })
    .await;
    wait_for(
        &engine,
        Duration::from_secs(60),
        "fresh stats after the restart",
        |s| {
            find(s, "survivor")
                .filter(|c| c.info.state == ContainerState::Running)
                .and_then(|c| c.stats.clone())
                .filter(|stats| stats.sampled_at > restarted_at)
        },
    )
    .await;
    wait_for(
        &engine,
        Duration::from_secs(30),
        "the ghost gone after the re-list",
        |s| find(s, "ghost").is_none().then_some(()),
    )
    .await;
    // The log stream resumes too: a line written after the restart arrives.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), logs.next())
            .await
            .expect("logs resume")
            .expect("open");
        if line.timestamp.is_some_and(|at| at > restarted_at) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line from after the restart"
        );
    }
    assert!(engine.client().is_ok());
    engine.shutdown().await;
}
