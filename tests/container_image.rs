//! The container image (Dockerfile, built offline by scripts/image.sh from this build's binary) run on the test
//! engine the way docker-compose.yml runs it: `pid: host`, the host's `/proc`, `/sys/fs/cgroup` and root mounted
//! read-only, the Docker socket read-only, a volume for the history, and settings only from the environment
//! (an interval, a threshold, the API token from a secret file, a Webdock account against the local stand-in).
//! It must turn healthy, report the host's memory and root disk rather than the container's, show a container's
//! figures as `docker stats` does, keep its history on the volume across a new container, and refuse a bad
//! variable by name.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{docker, docker_output, unique, webdock, TestContainer};
use serde_json::Value;

const TOKEN: &str = "container-test-token";
const WEBDOCK_TOKEN: &str = "webdock-container-token";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The image, built once per test run by the project's own script (later builds reuse the cached base).
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new(Path::new(root).join("scripts/image.sh"))
            .args(["--binary", env!("CARGO_BIN_EXE_docktray")])
            .args(["--tag", "docktray:container-test"])
            .output()
            .expect("run scripts/image.sh");
        assert!(
            out.status.success(),
            "scripts/image.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
}

/// The Docker socket the test engine listens on (mounted into the container as /var/run/docker.sock).
fn engine_socket() -> String {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    host.strip_prefix("unix://")
        .unwrap_or("/var/run/docker.sock")
        .to_owned()
}

/// The `volumes:` of the docktray service in docker-compose.yml (`SOURCE:TARGET[:MODE]`, comments dropped).
fn compose_volumes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml");
    let text = std::fs::read_to_string(&path).expect("docker-compose.yml");
    let mut volumes = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let content = line.split(" #").next().unwrap_or("").trim();
        if indent == 4 {
            inside = content == "volumes:";
            continue;
        }
        if inside && indent > 4 {
            if let Some(item) = content.strip_prefix("- ") {
                volumes.push(item.trim().trim_matches('"').to_owned());
            }
        } else if indent < 4 && !content.is_empty() {
            inside = false;
        }
    }
    for wanted in [
        "/var/run/docker.sock:/var/run/docker.sock:ro",
        "/proc:/host/proc:ro",
        "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        "/:/host:ro",
        "docktray-data:/var/lib/docktray",
    ] {
        assert!(
            volumes.iter().any(|v| v == wanted),
            "docker-compose.yml lacks the mount {wanted}: {volumes:?}"
        );
    }
    volumes
}

/// A named volume, removed at the end.
struct Volume(String);

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = docker_output(&["volume", "rm", "-f", &self.0]);
    }
}

/// A Docktray container, removed (with its logs printed on failure) when dropped.
struct Docktray {
    name: String,
}

impl Docktray {
    /// `docker run -d` of the image with the compose example's mounts and `env` as its only settings.
    fn run(volume: &str, secrets: &Path, env: &[(&str, String)]) -> Self {
        let name = unique("docktray-image");
        let socket = engine_socket();
        let gid = std::fs::metadata(&socket)
            .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
            .expect("the engine's socket");
        // The compose example's own mounts, with this engine's socket and a volume of our own.
        let mut mounts: Vec<String> = compose_volumes()
            .into_iter()
            .map(|mount| match mount.split_once(':') {
                Some(("/var/run/docker.sock", rest)) => format!("{socket}:{rest}"),
                Some(("docktray-data", rest)) => format!("{volume}:{rest}"),
                _ => mount,
            })
            .collect();
        mounts.push(format!("{}:/run/secrets:ro", secrets.display()));
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--label",
            "docktray.test=1",
            "--name",
            &name,
            "--pid",
            "host",
            // A limit far below the host's memory: the figures must still be the host's.
            "--memory",
            "256m",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(["--group-add".to_owned(), gid.to_string()]);
        for mount in mounts {
            args.extend(["-v".to_owned(), mount]);
        }
        for (key, value) in env {
            args.extend(["-e".to_owned(), format!("{key}={value}")]);
        }
        args.push(image().to_owned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&refs);
        Self { name }
    }

    fn inspect(&self, format: &str) -> String {
        docker(&["inspect", "-f", format, &self.name])
    }

    fn logs(&self) -> String {
        let out = docker_output(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Waits for Docker's own health check (the image's HEALTHCHECK) to report healthy.
    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let state = self.inspect("{{.State.Status}} {{.State.Health.Status}}");
            if state == "running healthy" {
                return;
            }
            assert!(
                !state.starts_with("exited") && Instant::now() < deadline,
                "the container is {state}, not healthy; its log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn url(&self, path: &str) -> String {
        let ip = self.inspect("{{.NetworkSettings.IPAddress}}");
        format!("http://{ip}:7583{path}")
    }

    /// GET with the token, as JSON.
    fn json(&self, path: &str) -> Value {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "-H"])
            .arg(format!("Authorization: Bearer {TOKEN}"))
            .arg(self.url(path))
            .output()
            .expect("curl");
        let body = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&body).unwrap_or_else(|err| {
            panic!(
                "GET {path}: {err}: {body}{}\nlog:\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            )
        })
    }

    /// Polls `path` until `check` finds what it wants.
    fn wait_json<T>(&self, path: &str, what: &str, check: impl Fn(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let value = self.json(path);
            if let Some(found) = check(&value) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{what} never showed in {path}: {value}\nlog:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn stop(&self) {
        docker(&["stop", "-t", "20", &self.name]);
    }
}

impl Drop for Docktray {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("log of {}:\n{}", self.name, self.logs());
        }
        let _ = docker_output(&["rm", "-f", &self.name]);
    }
}

/// A `meminfo` field in bytes.
fn meminfo_bytes(field: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .map(|kib| kib * 1024.0)
        .unwrap_or_else(|| panic!("no {field} in /proc/meminfo"))
}

/// Total size of the filesystem at `path` in bytes (statvfs, as df counts it).
fn filesystem_total(path: &str) -> f64 {
    let c_path = std::ffi::CString::new(path).expect("path");
    // SAFETY: statvfs writes into the zeroed struct we own; the path is a valid C string.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    assert_eq!(rc, 0, "statvfs({path})");
    stat.f_blocks as f64 * stat.f_frsize as f64
}

/// `docker stats --no-stream` for one container: (CPU %, memory bytes).
fn docker_stats(name: &str) -> (f64, f64) {
    let line = docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.CPUPerc}}|{{.MemUsage}}",
        name,
    ]);
    let (cpu, memory) = line.split_once('|').expect("stats line");
    let cpu: f64 = cpu.trim().trim_end_matches('%').parse().expect("CPU %");
    let used = memory.split('/').next().expect("memory").trim();
    let split = used
        .find(|c: char| c.is_ascii_alphabetic())
        .expect("a unit");
    let (number, unit) = used.split_at(split);
    let scale = match unit {
        "B" => 1.0,
        "KiB" | "kB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => GIB,
        other => panic!("unit {other} in {line}"),
    };
    (cpu, number.parse::<f64>().expect("memory number") * scale)
}

/// The Docker bridge's gateway: the host's address as containers on the default network reach it.
/// A freshly made engine may record the default bridge without its gateway (seen on a new machine: the template
/// gave "" and binding ":0" failed); the bridge's interface (docker0) carries that address all the same.
fn bridge_gateway() -> String {
    let inspect = |template: &str| docker(&["network", "inspect", "bridge", "-f", template]);
    let gateway = inspect("{{range .IPAM.Config}}{{.Gateway}}{{end}}");
    if gateway.parse::<std::net::Ipv4Addr>().is_ok() {
        return gateway;
    }
    let mut interface = inspect(r#"{{index .Options "com.docker.network.bridge.name"}}"#);
    if interface.is_empty() || interface == "<no value>" {
        interface = "docker0".to_owned();
    }
    let output = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &interface])
        .output()
        .expect("run ip");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .filter(|address| address.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            panic!("the bridge network has no IPv4 gateway ({gateway:?}) and {interface} no address: {text}")
        })
}

#[test]
fn the_image_serves_the_hosts_figures_and_keeps_its_history_on_the_volume() {
    let fixture = webdock::WebdockFixture::start_on(
        &format!("{}:0", bridge_gateway()),
        webdock::default_state(WEBDOCK_TOKEN),
    );
    let secrets = tempfile::tempdir().expect("temp dir");
    std::fs::write(secrets.path().join("api_token"), TOKEN).expect("api token file");
    std::fs::write(secrets.path().join("webdock_token"), WEBDOCK_TOKEN).expect("webdock token");
    // The container user (uid 10001) reads the secrets as Compose secrets are: world-readable in a private dir.
    for file in ["api_token", "webdock_token"] {
        std::fs::set_permissions(
            secrets.path().join(file),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .expect("chmod");
    }
    std::fs::set_permissions(
        secrets.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let volume = Volume(unique("docktray-history"));
    docker(&["volume", "create", &volume.0]);
    let env = vec![
        (
            "DOCKTRAY_API_TOKEN_FILE",
            "/run/secrets/api_token".to_owned(),
        ),
        ("DOCKTRAY_API__ALLOW_PLAIN_HTTP", "true".to_owned()),
        ("DOCKTRAY_INTERVAL", "1s".to_owned()),
        (
            "DOCKTRAY_THRESHOLDS__CONTAINER_CPU_PERCENT__WARNING",
            "85".to_owned(),
        ),
        ("DOCKTRAY_WEBDOCK__0__NAME", "vps".to_owned()),
        ("DOCKTRAY_WEBDOCK__0__BASE_URL", fixture.url()),
        ("DOCKTRAY_WEBDOCK__0__INTERVAL", "5s".to_owned()),
        (
            "DOCKTRAY_WEBDOCK_TOKEN_VPS_FILE",
            "/run/secrets/webdock_token".to_owned(),
        ),
    ];
    // A container with steady figures: 40 MiB in its /dev/shm (charged to its memory) and half a core busy.
    let busy = TestContainer::run(
        "image-busy",
        &["--cpus", "0.5", "--shm-size", "64m"],
        &[
            "sh",
            "-c",
            "head -c 41943040 /dev/zero > /dev/shm/fill; yes > /dev/null",
        ],
    );

    let first = Docktray::run(&volume.0, secrets.path(), &env);
    first.wait_healthy();
    let log = first.logs();
    assert!(
        log.contains("running in a container") && log.contains("from /host/proc"),
        "no word of the container and the host's paths:\n{log}"
    );

    // The settings came from the environment.
    let thresholds = first.json("/api/v1/monitoring/thresholds");
    let cpu = thresholds
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|t| t["metric_type"] == "container_cpu_percent")
        })
        .unwrap_or_else(|| panic!("no CPU threshold: {thresholds}"));
    assert_eq!(cpu["warning_threshold"], 85.0, "{thresholds}");

    // The host's memory and root disk, not the container's 256 MiB limit or its overlay root.
    let host = first.wait_json("/server-stats", "the local host", |v| {
        v["stats"]
            .as_array()?
            .iter()
            .find(|s| s["server_name"] == "local")
            .cloned()
    });
    let total_gib = meminfo_bytes("MemTotal") / GIB;
    let served_gib = host["memory"]["total_gb"].as_f64().expect("total_gb");
    assert!(
        (served_gib - total_gib).abs() <= 0.02,
        "host memory {served_gib} GiB, /proc/meminfo says {total_gib:.2} GiB: {host}"
    );
    let root = host["disks"]
        .as_array()
        .and_then(|disks| disks.iter().find(|d| d["mount"] == "/"))
        .unwrap_or_else(|| panic!("no host root disk: {host}"));
    let root_gib = filesystem_total("/") / GIB;
    let served_root = root["total_gb"].as_f64().expect("disk total");
    assert!(
        (served_root - root_gib).abs() <= 0.02,
        "root disk {served_root} GiB, statvfs(/) says {root_gib:.2} GiB: {host}"
    );
    assert!(
        host["disks"].as_array().is_some_and(|d| d
            .iter()
            .all(|d| !d["mount"].as_str().unwrap_or("").starts_with("/host"))),
        "a disk named by its mount inside the container: {host}"
    );

    // The Webdock account from the environment reached the stand-in with the token from the secret file.
    first.wait_json("/server-stats", "the Webdock server shop1", |v| {
        v["stats"]
            .as_array()?
            .iter()
            .any(|s| s["server_name"] == "shop1" && s["vps"]["name"] == "Shop")
            .then_some(())
    });
    assert!(
        fixture.requests().iter().any(|r| r.authorized),
        "the stand-in got no authorized request: {:?}",
        fixture.requests()
    );

    // A container's figures as `docker stats` shows them (read from the host's cgroups through the mounts).
    let path = format!("/api/v1/containers/local:{}", busy.name);
    first.wait_json(&path, "the busy container's steady figures", |v| {
        (v["stats"]["memory_bytes"].as_f64()? > 40.0 * 1024.0 * 1024.0
            && v["stats"]["cpu_percent"].as_f64()? > 30.0)
            .then_some(())
    });
    let served = first.json(&path);
    let (stats_cpu, stats_memory) = docker_stats(&busy.name);
    let served_cpu = served["stats"]["cpu_percent"].as_f64().expect("cpu");
    let served_memory = served["stats"]["memory_bytes"].as_f64().expect("memory");
    assert!(
        (served_cpu - stats_cpu).abs() <= 12.0,
        "CPU {served_cpu:.1} % served, docker stats says {stats_cpu:.1} %: {served}"
    );
    assert!(
        (served_memory - stats_memory).abs() <= (stats_memory * 0.05).max(2.0 * 1024.0 * 1024.0),
        "memory {served_memory} B served, docker stats says {stats_memory} B: {served}"
    );
    assert_eq!(served["stats"]["method"], "cgroup", "{served}");

    // History: what the first container recorded is still there for a new container on the same volume.
    let metrics = format!(
        "/api/v1/monitoring/metrics?container_id={}&hours=1&limit=10000",
        busy.name
    );
    let before: Vec<String> = first.wait_json(&metrics, "recorded samples", |v| {
        let stamps: Vec<String> = v
            .as_array()?
            .iter()
            .filter_map(|row| row["timestamp"].as_str().map(str::to_owned))
            .collect();
        (stamps.len() >= 3).then_some(stamps)
    });
    first.stop();
    assert_eq!(
        first.inspect("{{.State.ExitCode}}"),
        "0",
        "{}",
        first.logs()
    );
    drop(first);
    let second = Docktray::run(&volume.0, secrets.path(), &env);
    second.wait_healthy();
    let after = second.json(&metrics);
    let kept: Vec<&str> = after
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["timestamp"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for stamp in &before {
        assert!(
            kept.contains(&stamp.as_str()),
            "the sample of {stamp} was lost across the restart: {after}"
        );
    }
}

#[test]
fn a_bad_variable_stops_the_container_with_its_name() {
    let name = unique("docktray-bad-env");
    docker(&[
        "run",
        "-d",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        "-e",
        "DOCKTRAY_API_TOKEN=unused",
        "-e",
        "DOCKTRAY_API__ALLOW_PLAIN_HTTP=true",
        "-e",
        "DOCKTRAY_INTERVAL=soon",
        image(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let state = loop {
        let state = docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ]);
        if state.starts_with("exited") || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let out = docker_output(&["logs", &name]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = docker_output(&["rm", "-f", &name]);
    assert_eq!(
        state, "exited 2",
        "it did not stop as a bad setting should: {log}"
    );
    assert!(
        log.contains("DOCKTRAY_INTERVAL") && log.contains("\"soon\""),
        "the message does not name the variable and its value: {log}"
    );
}

#[test]
fn without_the_host_mounts_it_names_each_one_missing() {
    let name = unique("docktray-no-mounts");
    docker(&[
        "run",
        "-d",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        "-e",
        "DOCKTRAY_API_TOKEN=unused",
        "-e",
        "DOCKTRAY_API__ALLOW_PLAIN_HTTP=true",
        image(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let log = loop {
        let out = docker_output(&["logs", &name]);
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        if log.contains("serving the API") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let _ = docker_output(&["rm", "-f", &name]);
    assert!(log.contains("running in a container"), "{log}");
    for line in ["/:/host:ro", "/proc:/host/proc:ro", "pid: host"] {
        assert!(log.contains(line), "no word of the missing {line}: {log}");
    }
}
