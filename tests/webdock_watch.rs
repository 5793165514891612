//! Webdock VPS monitoring end to end, as a user runs it: `docktray watch` with trace logging against the local
//! Webdock fixture, a real notification server on a private D-Bus and a real history file, the token from
//! `DOCKTRAY_WEBDOCK_TOKEN_<NAME>`. A VPS whose memory crosses the critical line mid-run (the fixture's figure
//! changed while the watcher runs) raises exactly one notification naming the server, and no more on later
//! samples; `status` shows VPS rows and the documented JSON; the samples are in the history; and afterwards no
//! log line, output, config, cache or data file holds the token.
//!
//! One test in this binary on purpose: one watcher at a time, so no other run's alerts mix in.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::notifications::{NotificationServer, Recorded};
use common::webdock::WebdockFixture;

const TOKEN: &str = "dtt-watch-token-4d2a9f77";

struct Run {
    dir: tempfile::TempDir,
    config: PathBuf,
    bus: String,
}

impl Run {
    fn command(&self, args: &[&str]) -> Command {
        let home = self.dir.path().join("home");
        let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("DOCKTRAY_WEBDOCK_TOKEN_WORK", TOKEN)
            .env("DOCKTRAY_LOG", "trace")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run docktray")
    }
}

fn about<'a>(notifications: &'a [Recorded], name: &str) -> Vec<&'a Recorded> {
    notifications
        .iter()
        .filter(|n| n.summary.contains(name) || n.body.contains(name))
        .collect()
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// The running watcher. Its output is drained as it comes (at trace level it fills a pipe in seconds, and a full
/// pipe would stop the watcher mid-run); dropping it kills a watcher a failed assertion left running.
struct Watcher {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Watcher {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docktray watch");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// SIGTERM: the watcher flushes its history and exits cleanly. Returns its status and everything it wrote.
    fn stop(mut self) -> (std::process::ExitStatus, String, String) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        };
        // The pipes close with the process, so the readers finish.
        let stdout = std::mem::replace(&mut self.stdout, std::thread::spawn(String::new));
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        (
            status,
            stdout.join().unwrap_or_default(),
            stderr.join().unwrap_or_default(),
        )
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn vps_memory_critical_notifies_once_is_recorded_and_no_token_leaks() {
    let server = NotificationServer::start();
    let fixture = WebdockFixture::start(TOKEN);
    // Both servers start well under the memory lines (Shop: 512 of 2048 MiB = 25 %).
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let history = dir.path().join("history.sqlite");
    std::fs::write(
        &config,
        format!(
            "interval = \"500ms\"\n\
             [alerts]\nhold = \"1s\"\n\
             [notifications]\ngroup_window = \"500ms\"\n\
             [history]\npath = \"{}\"\n\
             [[overrides]]\nhost = \"local\"\n\
             thresholds.host_cpu_percent = {{ enabled = false }}\n\
             thresholds.host_memory_percent = {{ enabled = false }}\n\
             thresholds.host_disk_percent = {{ enabled = false }}\n\
             [[webdock]]\nname = \"work\"\nservers = \"all\"\ninterval = \"1s\"\nbase_url = \"{}\"\n",
            history.display(),
            fixture.url()
        ),
    )
    .expect("write config");
    let run = Run {
        dir,
        config,
        bus: server.address(),
    };

    let watcher = Watcher::start(run.command(&["-vvv", "watch", "--json"]));
    const NOW: &str = "/servers/shop1/metrics/now";
    let deadline = Instant::now() + Duration::from_secs(30);
    while fixture.count(NOW) == 0 {
        assert!(Instant::now() < deadline, "the watcher never read shop1");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Rounds with normal figures (every second): no notification.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        about(&server.received(), "Shop").is_empty(),
        "{:#?}",
        server.received()
    );
    // Shop's memory now crosses the critical line (1990 of 2048 MiB = 97.2 %); Blog's does not. The watcher
    // sees it when its 30 s cache entry of the instant metrics expires.
    fixture.set_memory("shop1", 1990.0);
    let fetched = fixture.count(NOW);
    let deadline = Instant::now() + Duration::from_secs(60);
    while about(&server.received(), "Shop").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no notification for the VPS: {:#?}",
            server.received()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(fixture.count(NOW) > fetched, "the new figure was fetched");
    // Later samples over the line raise nothing more: rounds from the cache, then a fresh read from Webdock.
    let fetched = fixture.count(NOW);
    let deadline = Instant::now() + Duration::from_secs(60);
    while fixture.count(NOW) == fetched {
        assert!(Instant::now() < deadline, "no later read of shop1");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let received = server.received();
    let shop = about(&received, "Shop");
    assert_eq!(shop.len(), 1, "exactly one notification: {shop:#?}");
    assert!(
        shop[0].summary.contains("Memory") && shop[0].summary.contains("critical"),
        "{:?}",
        shop[0]
    );
    assert_eq!(shop[0].urgency, Some(2), "{:?}", shop[0]);
    assert!(about(&received, "Blog").is_empty(), "{received:#?}");

    // `status` shows the VPS rows (table) and the documented JSON, with the account's budget.
    let table = run.run(&["status"]);
    let table_text = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.status.success(), "{table:?}");
    assert!(table_text.contains("WEBDOCK VPS (2)"), "{table_text}");
    assert!(
        table_text.contains("shop1 (Shop, account work) running"),
        "{table_text}"
    );
    assert!(table_text.contains("requests left"), "{table_text}");
    let json = run.run(&["status", "--json"]);
    assert!(json.status.success(), "{json:?}");
    let snapshot: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status JSON");
    let shop_row = snapshot["hosts"]
        .as_array()
        .and_then(|hosts| hosts.iter().find(|h| h["server_name"] == "shop1"))
        .expect("a row for shop1");
    assert_eq!(shop_row["source_type"], "webdock-vps");
    assert_eq!(shop_row["memory"]["percent"], 97.2);
    assert_eq!(shop_row["memory"]["total_gb"], 2.0);
    assert_eq!(shop_row["cpu"]["percent"], 25.0);
    assert_eq!(shop_row["status"], "running");
    assert_eq!(shop_row["vps"]["name"], "Shop");
    assert_eq!(shop_row["vps"]["account"], "work");
    assert_eq!(shop_row["vps"]["network_quota"]["percent"], 12.0);
    assert_eq!(shop_row["vps"]["profile"]["cores"], 2);
    let account = snapshot["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "webdock"))
        .expect("the account's source");
    assert_eq!(account["state"], "up");
    assert!(
        account["rate_limit"]["remaining"].as_u64().is_some(),
        "{account}"
    );
    let servers = run.run(&["webdock", "servers", "--json"]);
    assert!(servers.status.success(), "{servers:?}");

    let (status, stdout, stderr) = watcher.stop();
    assert!(status.success(), "{status:?}\n{stderr}");
    // The watcher printed the alert, and logged at trace level (so the search below means something).
    assert!(
        stdout.contains("\"vps\"") && stdout.contains("Shop"),
        "{stdout}"
    );
    assert!(stderr.contains("TRACE"), "no trace logging happened");
    assert!(
        stderr.contains("Webdock replied"),
        "no Webdock request was logged"
    );

    // The VPS samples are in the history like a host's.
    let points = run.run(&[
        "history",
        "host:shop1",
        "--metric",
        "memory_percent",
        "--raw",
        "--json",
    ]);
    let points_text = String::from_utf8_lossy(&points.stdout).into_owned();
    assert!(points.status.success(), "{points:?}");
    let recorded: serde_json::Value = serde_json::from_str(&points_text).expect("history JSON");
    let values: Vec<f64> = recorded["points"]
        .as_array()
        .expect("points")
        .iter()
        .filter_map(|p| p["avg"].as_f64())
        .collect();
    // Normal samples first, then the crossing: it happened mid-run.
    let first_high = values.iter().position(|v| *v == 97.2);
    assert!(
        first_high.is_some_and(|i| i > 0 && values[..i].iter().all(|v| *v == 25.0)),
        "{points_text}"
    );

    // Token hygiene: nowhere in what the runs printed or wrote.
    let mut outputs = vec![stdout, stderr, table_text, points_text];
    for output in [&json, &servers, &table, &points] {
        outputs.push(String::from_utf8_lossy(&output.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    for (index, text) in outputs.iter().enumerate() {
        assert!(!text.contains(TOKEN), "output {index} holds the token");
    }
    let mut files = Vec::new();
    files_under(run.dir.path(), &mut files);
    assert!(
        files.iter().any(|f| f.starts_with(&history)),
        "the history file was written: {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read file");
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "{} holds the token",
            file.display()
        );
    }
    assert!(fixture.requests().iter().all(|r| r.authorized));
}
