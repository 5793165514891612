//! The Webdock traffic-quota forecast end to end, as a user runs it: `docktray serve` reads a VPS whose monthly
//! traffic grows (the local Webdock stand-in's figure, raised every half second while it runs) and records it in a
//! real history; it raises the forecast alert and hands it to a webhook that is down; `docktray status` and
//! `status --json`, run beside it, fit the same recorded history and show when the quota is reached; the HTTP
//! API's snapshot carries the forecast and the failing channel's state.
//!
//! One test in this binary on purpose: one watcher at a time.

mod common;

use common::caddy::free_port;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::webdock::WebdockFixture;
use serde_json::Value;

const TOKEN: &str = "dtt-forecast-token-81c3";
/// The stand-in's allowance for shop1, in GB (`network.allowed`).
const ALLOWED_GB: f64 = 1000.0;
/// How fast shop1's traffic grows: 1 GB a second, 0.1 % a second, 360 % an hour.
const GB_PER_S: f64 = 1.0;

const API_TOKEN: &str = "dtt-forecast-api-token-5e0b";

struct Run {
    dir: tempfile::TempDir,
    config: PathBuf,
    port: u16,
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
            .env("DOCKTRAY_API_TOKEN", API_TOKEN)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run docktray")
    }

    /// The API's `/api/v1/snapshot`, parsed.
    fn api_snapshot(&self) -> Value {
        let out = Command::new("curl")
            .args(["-s", "-m", "20", "-H"])
            .arg(format!("Authorization: Bearer {API_TOKEN}"))
            .arg(format!("http://127.0.0.1:{}/api/v1/snapshot", self.port))
            .output()
            .expect("curl");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
            panic!(
                "the API's snapshot is not JSON ({err}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `docktray status --json`, parsed.
    fn status_json(&self) -> Value {
        let out = self.run(&["status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
            panic!(
                "status --json is not JSON ({err}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

/// `docktray serve --json`, stopped with SIGTERM (or killed when the test fails).
struct Watcher {
    child: Option<Child>,
}

impl Watcher {
    fn stop(mut self) -> String {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        out
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn quota_forecast(status: &Value) -> Option<Value> {
    status["forecasts"]
        .as_array()?
        .iter()
        .find(|f| f["kind"] == "network_quota" && f["target"]["id"] == "shop1")
        .cloned()
}

#[test]
fn a_growing_webdock_quota_is_forecast_by_serve_and_shown_by_status_and_the_api() {
    let fixture = WebdockFixture::start(TOKEN);
    let used = |gb: f64| {
        fixture.with(|s| {
            if let Some(metrics) = s.metrics_now.get_mut("shop1") {
                metrics["network"]["total"] = serde_json::json!(gb);
                metrics["network"]["allowed"] = serde_json::json!(ALLOWED_GB);
            }
        })
    };
    used(250.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let port = free_port();
    // Nothing listens here: the webhook's deliveries fail.
    let down = free_port();
    std::fs::write(
        &config,
        format!(
            "interval = \"500ms\"\n\
             [alerts]\nhold = \"1s\"\n\
             [history]\npath = \"{}\"\n\
             [forecasts]\nevery = \"2s\"\n\
             [forecasts.memory]\nenabled = false\nwarning = \"1d\"\ncritical = \"2h\"\n\
             [forecasts.disk]\nenabled = false\nwarning = \"7d\"\ncritical = \"1d\"\n\
             [forecasts.network_quota]\nwarning = \"2h\"\ncritical = \"1m\"\nwindow = \"10m\"\nmin_data = \"70s\"\nhold = \"1s\"\n\
             [[overrides]]\nhost = \"local\"\n\
             thresholds.host_cpu_percent = {{ enabled = false }}\n\
             thresholds.host_memory_percent = {{ enabled = false }}\n\
             thresholds.host_disk_percent = {{ enabled = false }}\n\
             [[webdock]]\nname = \"work\"\nservers = [\"shop1\"]\ninterval = \"1s\"\nbase_url = \"{}\"\n\
             [api]\nlisten = \"127.0.0.1:{port}\"\n\
             [[notifications.webhooks]]\nname = \"ops\"\nurl = \"http://127.0.0.1:{down}/hook\"\n\
             group_window = \"0s\"\nretries = 0\ntimeout = \"2s\"\n",
            dir.path().join("history.sqlite").display(),
            fixture.url()
        ),
    )
    .expect("write config");
    let run = Run { dir, config, port };

    // Before any history: status says the quota is still being learnt, and projects nothing.
    let status = run.status_json();
    let learning = quota_forecast(&status);
    assert!(
        learning.as_ref().is_none_or(|f| f["hours_left"].is_null()),
        "{learning:#?}"
    );

    let watcher = Watcher {
        child: Some(
            run.command(&["serve", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start watch"),
        ),
    };
    // The traffic grows while the watcher runs; it reads the figure whenever its 30 s cache entry expires.
    let growing = AtomicBool::new(true);
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while growing.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                used(250.0 + started.elapsed().as_secs_f64() * GB_PER_S);
            }
        });
        // Stops the growth however this ends (a failed assertion too: the scope waits for the thread).
        let _stop = StopOnDrop(&growing);
        check_while_growing(&run, watcher, started, down);
    });
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

fn check_while_growing(run: &Run, watcher: Watcher, started: Instant, down: u16) {
    // `status --json` beside the watcher fits the recorded history once 70 s of it exist.
    let deadline = Instant::now() + Duration::from_secs(180);
    let forecast = loop {
        let status = run.status_json();
        if let Some(forecast) = quota_forecast(&status).filter(|f| f["state"] == "rising") {
            break forecast;
        }
        assert!(
            Instant::now() < deadline,
            "no rising quota forecast in status --json: {status:#}"
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    let read_at = started.elapsed().as_secs_f64();
    assert_eq!(forecast["target"]["kind"], "vps", "{forecast:#}");
    assert_eq!(forecast["unit"], "%", "{forecast:#}");
    assert_eq!(forecast["limit"], 100.0, "{forecast:#}");
    // 360 %/h is the truth; the figure moves in 30 s steps (Webdock's cache), so allow for a step either way.
    let slope = forecast["slope_per_hour"].as_f64().expect("slope");
    assert!((200.0..520.0).contains(&slope), "{slope} %/h: {forecast:#}");
    let hours_left = forecast["hours_left"].as_f64().expect("a projection");
    let true_left = (100.0 - (25.0 + read_at * GB_PER_S / ALLOWED_GB * 100.0)) / 360.0;
    assert!(
        (hours_left - true_left).abs() < 0.5 * true_left,
        "{hours_left} h left, truly about {true_left} h: {forecast:#}"
    );
    assert!(
        forecast["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("reaches the monthly quota on the")),
        "{forecast:#}"
    );

    // The table says the same in words.
    let table = run.run(&["status"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("FORECASTS ("), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("monthly traffic:"))
        .unwrap_or_else(|| panic!("no monthly traffic forecast line: {text}"));
    assert!(
        line.contains("Shop") && line.contains("reaches the monthly quota on the"),
        "{line}"
    );

    // The watcher raised the forecast alert from the same history.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut raised_alert = None;
    while raised_alert.is_none() && Instant::now() < deadline {
        raised_alert = run
            .status_json()
            .get("alerts")
            .and_then(Value::as_array)
            .and_then(|alerts| {
                alerts
                    .iter()
                    .find(|a| a["metric"] == "network_quota_forecast")
                    .cloned()
            });
        if raised_alert.is_none() {
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    // The API's snapshot (what the snapshot stream sends too) carries the forecast and the failing webhook.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (api_forecast, channel) = loop {
        let snapshot = run.api_snapshot();
        let channel = snapshot["channels"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "webhook:ops").cloned());
        let failed = channel
            .as_ref()
            .is_some_and(|c| c["last_error"].is_string() && c["state"] != "ok");
        if let (Some(forecast), true) = (quota_forecast(&snapshot), failed) {
            break (forecast, channel.unwrap_or_default());
        }
        assert!(
            Instant::now() < deadline,
            "no forecast or failing webhook in the API's snapshot: {snapshot:#}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(api_forecast["kind"], "network_quota", "{api_forecast:#}");
    assert!(api_forecast["hours_left"].is_number(), "{api_forecast:#}");
    assert_eq!(channel["kind"], "webhook", "{channel:#}");
    assert!(
        channel["destination"]
            .as_str()
            .is_some_and(|d| d.contains(&down.to_string())),
        "{channel:#}"
    );
    let printed = watcher.stop();
    let alert = raised_alert
        .unwrap_or_else(|| panic!("no quota forecast alert; watch printed:\n{printed}"));
    assert_eq!(alert["level"], "warning", "{alert:#}");
    assert!(
        alert["message"]
            .as_str()
            .is_some_and(|m| m.contains("Monthly traffic of Shop")),
        "{alert:#}"
    );
    assert!(
        printed
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|t| t["kind"] == "raised" && t["alert"]["metric"] == "network_quota_forecast"),
        "serve --json did not print the raised forecast alert:\n{printed}"
    );
}
