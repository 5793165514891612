//! Shared helpers for the integration tests. They drive the real Docker engine that `make test` brings up
//! (`scripts/test-env.sh`): containers are made with the docker CLI from the local busybox test image, carry the
//! `docktray.test=1` label, and are removed when their guard drops.

#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use docktray::{Config, ContainerSnapshot, Engine, Snapshot};

/// The image `scripts/test-env.sh up` builds with `docker import` (nothing can be pulled here).
pub fn image() -> String {
    std::env::var("DOCKTRAY_TEST_IMAGE")
        .unwrap_or_else(|_| "docktray-test-busybox:latest".to_owned())
}

/// Runs the docker CLI against the test engine and returns its output, failing the test on error.
pub fn docker(args: &[&str]) -> String {
    let output = docker_output(args);
    assert!(
        output.status.success(),
        "docker {} failed: {}\n(run the tests with `make test`, which starts the engine)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub fn docker_output(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run the docker CLI: {err}"))
}

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "dtt-{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test container, removed (with `docker rm -f`) when dropped.
pub struct TestContainer {
    pub name: String,
    pub id: String,
}

impl TestContainer {
    /// `docker run -d --label docktray.test=1 --name NAME <options> IMAGE <command>`.
    pub fn run(prefix: &str, options: &[&str], command: &[&str]) -> Self {
        let name = unique(prefix);
        let image = image();
        let mut args = vec!["run", "-d", "--label", "docktray.test=1", "--name", &name];
        args.extend_from_slice(options);
        args.push(&image);
        args.extend_from_slice(command);
        let id = docker(&args);
        Self { name, id }
    }

    /// Creates without starting.
    pub fn create(prefix: &str, options: &[&str], command: &[&str]) -> Self {
        let name = unique(prefix);
        let image = image();
        let mut args = vec!["create", "--label", "docktray.test=1", "--name", &name];
        args.extend_from_slice(options);
        args.push(&image);
        args.extend_from_slice(command);
        let id = docker(&args);
        Self { name, id }
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = docker_output(&["rm", "-f", "-v", &self.id]);
    }
}

/// Engine settings for tests: a short interval so figures come quickly.
pub fn test_config() -> Config {
    Config {
        interval: Duration::from_millis(500),
        ..Config::default()
    }
}

/// Starts an engine and waits for its first full snapshot.
pub async fn start_engine(config: Config) -> Engine {
    let engine = Engine::start(config);
    assert!(
        engine.ready(Duration::from_secs(20)).await,
        "the engine did not produce a first snapshot within 20 s: {:?}",
        engine.snapshot().sources
    );
    engine
}

/// Polls the engine's snapshot until `check` finds what it wants, or fails after `timeout` with `what`.
pub async fn wait_for<T>(
    engine: &Engine,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(&Snapshot) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let snapshot = engine.snapshot();
        if let Some(found) = check(&snapshot) {
            return found;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last snapshot: {snapshot:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The container called `name` in a snapshot.
pub fn find<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a ContainerSnapshot> {
    snapshot.containers.iter().find(|c| c.info.name == name)
}

/// Parses a docker CLI size such as `64.5MiB`, `512KiB`, `1.2GB` or `0B` to bytes.
pub fn parse_size(text: &str) -> f64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..split]
        .parse()
        .unwrap_or_else(|_| panic!("not a size: {text}"));
    let factor = match &text[split..] {
        "B" | "" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        unit => panic!("unknown size unit {unit} in {text}"),
    };
    number * factor
}

/// The block device backing `path` (for `--device-write-bps`, which also makes v1 kernels account block I/O).
pub fn block_device_of(path: &str) -> String {
    let output = Command::new("df")
        .args(["--output=source", path])
        .output()
        .expect("df runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .nth(1)
        .map(str::trim)
        .unwrap_or_default()
        .to_owned()
}
pub mod caddy;
pub mod dbus;
pub mod dockerd;
pub mod keyring;
pub mod notifications;
pub mod podman;
pub mod receivers;
pub mod serve;
pub mod sshd;
pub mod webdock;
pub mod workbench;
