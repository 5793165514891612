//! `docktray watch` end to end, as a user runs it: a real Docker engine, a real notification server on a private
//! D-Bus session bus, a real SQLite history file. A container held over the CPU critical threshold produces
//! exactly one critical notification and, when the load stops, exactly one resolved notification; a brief spike
//! produces none; what was recorded is queryable afterwards with `docktray history`, `alerts` and `export`.
//!
//! One test in this binary on purpose: cargo runs test binaries one after another, so no other test's
//! containers alert in this engine meanwhile.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::notifications::{NotificationServer, Recorded};
use common::*;

struct Watcher {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    /// Everything the watcher wrote to stderr so far.
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docktray(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run docktray")
}

fn about<'a>(notifications: &'a [Recorded], name: &str) -> Vec<&'a Recorded> {
    notifications
        .iter()
        .filter(|n| n.summary.contains(name) || n.body.contains(name))
        .collect()
}

#[test]
fn watch_notifies_once_per_transition_and_records_history() {
    let server = NotificationServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let history = dir.path().join("history.sqlite");
    std::fs::write(
        &config,
        format!(
            "interval = \"500ms\"\n\
             [alerts]\nhold = \"2s\"\n\
             [thresholds.container_cpu_percent]\nwarning = 15\ncritical = 30\n\
             [thresholds.host_cpu_percent]\nwarning = 80\ncritical = 95\nenabled = false\n\
             [thresholds.host_memory_percent]\nwarning = 80\ncritical = 95\nenabled = false\n\
             [thresholds.host_disk_percent]\nwarning = 80\ncritical = 95\nenabled = false\n\
             [notifications]\ngroup_window = \"500ms\"\n\
             [history]\npath = \"{}\"\n",
            history.display()
        ),
    )
    .expect("write config");

    let mut child = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(&config)
        .args(["watch", "--json"])
        .env("DBUS_SESSION_BUS_ADDRESS", server.address())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start docktray watch");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = sender.send(value);
            }
        }
    });
    let stderr = child.stderr.take().expect("stderr");
    let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = stderr_text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut text) = sink.lock() {
                text.push_str(&line);
                text.push('\n');
            }
        }
    });
    let mut watcher = Watcher {
        child,
        lines,
        stderr: stderr_text,
    };
    std::thread::sleep(Duration::from_secs(2));

    // A one-second spike: nothing.
    let spiker = TestContainer::run(
        "spike",
        &[],
        &[
            "sh",
            "-c",
            "end=$(( $(date +%s) + 1 )); while [ $(date +%s) -lt $end ]; do :; done; sleep 300",
        ],
    );
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        about(&server.received(), &spiker.name).is_empty(),
        "{:?}",
        server.received()
    );

    // Sustained load over the critical line: one critical notification.
    let burner = TestContainer::run(
        "burn",
        &["--cpus", "0.5"],
        &[
            "sh",
            "-c",
            "while [ ! -e /tmp/stop ]; do :; done; sleep 300",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    while about(&server.received(), &burner.name).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no notification for {}: {:?}",
            burner.name,
            server.received()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(4));
    let received = server.received();
    let raised = about(&received, &burner.name);
    assert_eq!(
        raised.len(),
        1,
        "exactly one notification while the load holds: {raised:#?}"
    );
    let raised = raised[0];
    assert_eq!(raised.urgency, Some(2), "critical urgency: {raised:?}");
    assert_eq!(raised.app_name, "Docktray");
    assert!(
        raised.summary.contains("CPU") && raised.summary.contains("critical"),
        "{raised:?}"
    );
    assert!(
        raised.body.contains("30"),
        "the threshold is named: {raised:?}"
    );

    // `docktray status` (another process) shows the active alert and the overall level the watcher recorded.
    let output = docktray(&config, &["status", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("status JSON");
    assert_eq!(status["overall"], "critical", "{status:#}");
    assert!(
        status["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| { a["target"]["name"] == burner.name.as_str() && a["level"] == "critical" }),
        "{:#}",
        status["alerts"]
    );
    let output = docktray(&config, &["status"]);
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(table.starts_with("OVERALL CRITICAL"), "{table}");
    assert!(
        table
            .lines()
            .skip_while(|l| !l.starts_with("ALERTS ("))
            .take_while(|l| !l.is_empty())
            .any(|l| l.contains("CRITICAL") && l.contains(&burner.name)),
        "the table lists the alert: {table}"
    );

    // A bad threshold in the file, reloaded with SIGHUP, is refused by name and the settings in force stay:
    // had the defaults (70 / 90 %) taken over, the 50 % load would resolve the alert within the hold.
    let good = std::fs::read_to_string(&config).expect("read config");
    let bad = good.replace("warning = 15\ncritical = 30", "warning = 50\ncritical = 30");
    assert_ne!(good, bad);
    std::fs::write(&config, &bad).expect("write bad config");
    let pid = watcher.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let refusal = loop {
        let text = watcher.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        if text.contains("keeping the settings in force") {
            break text;
        }
        assert!(Instant::now() < deadline, "no refusal on stderr: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        refusal.contains("container_cpu_percent"),
        "the refusal names the threshold: {refusal}"
    );
    std::fs::write(&config, &good).expect("restore config");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        about(&server.received(), &burner.name).len(),
        1,
        "the alert holds under the settings in force: {:#?}",
        server.received()
    );

    docker(&["exec", &burner.name, "touch", "/tmp/stop"]);
    let deadline = Instant::now() + Duration::from_secs(40);
    while about(&server.received(), &burner.name).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no resolved notification: {:?}",
            server.received()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    let received = server.received();
    let all = about(&received, &burner.name);
    assert_eq!(all.len(), 2, "raised then resolved, nothing more: {all:#?}");
    assert_eq!(
        all[1].urgency,
        Some(0),
        "a resolution is low urgency: {:?}",
        all[1]
    );
    assert!(
        all[1].summary.contains("back to normal") || all[1].summary.contains("resolved"),
        "{:?}",
        all[1]
    );

    // Each transition was printed as a JSON line too.
    let printed: Vec<serde_json::Value> = watcher.lines.try_iter().collect();
    let ours: Vec<&serde_json::Value> = printed
        .iter()
        .filter(|t| t["alert"]["target"]["name"] == burner.name.as_str())
        .collect();
    let kinds: Vec<&str> = ours.iter().filter_map(|t| t["kind"].as_str()).collect();
    assert_eq!(kinds, ["raised", "resolved"], "{ours:#?}");

    // SSH hosts apply on SIGHUP too: one added to the file is watched at once (nothing listens on port 1, so it
    // is reported unreachable), and once taken out again its alert is resolved as removed, with no new one.
    let next_line = |what: &str, want: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match watcher.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line for {what} printed"),
            }
        }
    };
    let far = |t: &serde_json::Value| t["alert"]["target"]["host"] == "far";
    std::fs::write(
        &config,
        format!("{good}\n[[hosts]]\nname = \"far\"\ndestination = \"me@127.0.0.1:1\"\n"),
    )
    .expect("write config with a host");
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let raised = next_line("the added host unreachable", &|t| {
        far(t) && t["kind"] == "raised"
    });
    assert_eq!(raised["alert"]["metric"], "unreachable", "{raised:#}");
    std::fs::write(&config, &good).expect("restore config");
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let removed = next_line("the removed host's alert closed", &|t| {
        far(t) && t["kind"] == "resolved"
    });
    assert!(
        removed["alert"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("far was removed from the settings")),
        "{removed:#}"
    );
    std::thread::sleep(Duration::from_secs(3));
    let after: Vec<serde_json::Value> = watcher.lines.try_iter().filter(|t| far(t)).collect();
    assert!(
        after.is_empty(),
        "nothing more about a removed host: {after:#?}"
    );

    // Ctrl-C flushes and exits cleanly.
    let interrupted_at = chrono::Utc::now();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = watcher.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");

    // The history has the samples and the alert.
    let output = docktray(
        &config,
        &[
            "history",
            &burner.name,
            "--metric",
            "cpu_percent",
            "--since",
            "10m",
            "--json",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let series: serde_json::Value = serde_json::from_slice(&output.stdout).expect("series JSON");
    let points = series["points"].as_array().expect("points");
    assert!(
        points.len() >= 10,
        "samples at the interval were stored: {}",
        points.len()
    );
    assert!(
        points
            .iter()
            .any(|p| p["avg"].as_f64().is_some_and(|v| v >= 30.0)),
        "the load is in the history"
    );
    // The batch being collected at Ctrl-C was written too: batches are committed every 2 s, samples come
    // every 0.5 s, so without the flush the newest stored sample would often be seconds old.
    let newest = points
        .iter()
        .filter_map(|p| p["at"].as_str())
        .filter_map(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .max()
        .expect("sample times");
    assert!(
        newest >= interrupted_at - chrono::Duration::milliseconds(1500),
        "newest sample {newest} vs Ctrl-C at {interrupted_at}"
    );

    let output = docktray(&config, &["alerts", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let alerts: serde_json::Value = serde_json::from_slice(&output.stdout).expect("alerts JSON");
    let alert = alerts
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["target"]["name"] == burner.name.as_str())
        .expect("the CPU alert is recorded");
    assert_eq!(alert["metric"], "container_cpu_percent");
    assert!(alert["resolved_at"].is_string(), "{alert}");
    let output = docktray(&config, &["alerts", "--active", "--json"]);
    let active: serde_json::Value = serde_json::from_slice(&output.stdout).expect("alerts JSON");
    assert!(
        !active
            .as_array()
            .expect("array")
            .iter()
            .any(|a| a["target"]["name"] == burner.name.as_str()),
        "resolved alerts are not active"
    );

    // `docktray export` of the last 10 minutes in `format`, read back from its output file.
    let export_text = |format: &str| {
        let export = dir.path().join(format!("export.{format}"));
        let output = docktray(
            &config,
            &[
                "export",
                "--since",
                "10m",
                "--format",
                format,
                "-o",
                &export.to_string_lossy(),
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::read_to_string(&export).expect("export file")
    };
    let text = export_text("jsonl");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        rows.iter().any(|r| r["kind"] == "container_sample"),
        "container samples exported"
    );
    assert!(rows.iter().any(|r| r["kind"] == "alert"), "alerts exported");

    // The same through the other formats and filters people use from a shell.
    let ours = |args: &[&str]| -> Vec<serde_json::Value> {
        let output = docktray(&config, args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("alerts JSON");
        list.as_array()
            .expect("array")
            .iter()
            .filter(|a| a["target"]["name"] == burner.name.as_str())
            .cloned()
            .collect()
    };
    assert_eq!(
        ours(&["alerts", "--level", "critical", "--since", "10m", "--json"]).len(),
        1,
        "the critical alert passes a critical filter"
    );
    assert!(
        ours(&["alerts", "--since", "1s", "--json"]).is_empty(),
        "it started more than a second ago"
    );
    let output = docktray(&config, &["alerts", "--level", "severe"]);
    assert_eq!(output.status.code(), Some(2), "a bad level is bad usage");
    assert!(String::from_utf8_lossy(&output.stderr).contains("info, warning or critical"));

    let output = docktray(
        &config,
        &[
            "history",
            &burner.name,
            "--metric",
            "cpu_percent",
            "--since",
            "10m",
            "--csv",
        ],
    );
    let csv = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("at,min,avg,max"), "{csv}");
    let csv_points: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(
        csv_points.len(),
        points.len(),
        "the CSV has the JSON's points"
    );
    assert!(csv_points
        .iter()
        .all(|p| p.len() == 4 && p[2].parse::<f64>().is_ok()));

    let text = export_text("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(&header[..3], ["kind", "at", "host"]);
    let kinds: Vec<&str> = lines.filter_map(|l| l.split(',').next()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "container_sample").count(),
        rows.iter()
            .filter(|r| r["kind"] == "container_sample")
            .count(),
        "CSV and JSON lines export the same samples"
    );
    assert!(kinds.contains(&"alert"));
}
