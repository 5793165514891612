//! `docktray events` and the CLI's audit trail end to end: a `docktray watch` records the real engine's events
//! into a history file; `docktray restart` records who restarted what (and the engine's refusal); `docktray
//! events` lists them with its filters as text or one JSON object per line, `-f` follows new ones, and
//! `docktray export` carries them.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn docktray(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run docktray")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_lines(output: &Output) -> Vec<Value> {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect()
}

/// A child process killed when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(config: &Path, args: &[&str]) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_docktray"))
            .arg("--config")
            .arg(config)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docktray"),
    )
}

/// The JSON lines a running `docktray events -f --json` prints, as they come.
fn lines_of(child: &mut Running) -> mpsc::Receiver<Value> {
    let out = child.0.stdout.take().expect("stdout");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                let _ = sender.send(value);
            }
        }
    });
    receiver
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "interval = \"500ms\"\n[history]\npath = \"{}\"\n",
            dir.path().join("history.sqlite").display()
        ),
    )
    .expect("write config");
    (dir, config)
}

/// Polls `docktray events ARGS --json` until a row satisfies `want`.
fn wait_row(config: &Path, args: &[&str], want: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut full = vec!["events", "--json"];
        full.extend_from_slice(args);
        let output = docktray(config, &full);
        if output.status.success() {
            let rows = json_lines(&output);
            if rows.iter().any(&want) {
                return rows;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no such row from docktray events {args:?}: {}{}",
            stdout(&output),
            stderr(&output)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until a `docktray watch` records the engine's events: a volume made and removed shows in the timeline
/// (made again every few seconds, as one made before the watch connected is never seen).
fn wait_recording(config: &Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        let volume = unique("cli-ready");
        docker(&["volume", "create", &volume]);
        docker(&["volume", "rm", &volume]);
        let poll_until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < poll_until {
            let output = docktray(
                config,
                &["events", "--json", "--kind", "volume", "--grep", &volume],
            );
            if output.status.success() && !stdout(&output).trim().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        assert!(Instant::now() < deadline, "docktray watch records nothing");
    }
}

#[test]
fn events_lists_exit_codes_and_who_restarted_what() {
    let (_dir, config) = setup();
    let _watch = spawn(&config, &["watch", "--no-notify"]);
    wait_recording(&config);
    let three = TestContainer::run("cli-exit3", &[], &["sh", "-c", "sleep 1; exit 3"]);
    let rows = wait_row(&config, &["--container", &three.name], |row| {
        row["kind"] == "die"
    });
    let die = rows.iter().find(|row| row["kind"] == "die").expect("die");
    assert_eq!(die["exit_code"], 3);
    assert_eq!(die["oom"], false);
    assert_eq!(die["host"], "local");
    assert_eq!(die["container"], three.name.as_str());
    assert!(
        die["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{die}"
    );
    let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["create", "start", "die"],
        "oldest first, its own only"
    );

    // A restart from the command line, and one the engine refuses.
    let restarted = TestContainer::run("cli-restart", &[], &["sleep", "300"]);
    let output = docktray(&config, &["restart", &restarted.name]);
    assert!(output.status.success(), "{}", stderr(&output));
    let absent = unique("no-such");
    let output = docktray(&config, &["restart", &absent]);
    assert_eq!(output.status.code(), Some(1));
    let audit = json_lines(&docktray(&config, &["events", "--audit", "--json"]));
    let ok = audit
        .iter()
        .find(|row| row["container"] == restarted.name.as_str())
        .expect("the restart is recorded");
    assert_eq!(
        (&ok["kind"], &ok["source"], &ok["action"], &ok["result"]),
        (
            &Value::from("audit"),
            &Value::from("cli"),
            &Value::from("restart"),
            &Value::from("ok")
        )
    );
    let failed = audit
        .iter()
        .find(|row| row["container"] == absent.as_str())
        .expect("the refused restart is recorded");
    assert_eq!(failed["result"], "error");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains(&absent)),
        "{failed}"
    );
    // The container's timeline has the engine's restart (its kill, die and start) and the action that caused it
    // (stamped when the action ended, so it comes after them).
    let rows = wait_row(&config, &["--container", &restarted.name], |row| {
        row["kind"] == "restart"
    });
    let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
    let restart_at = kinds.iter().position(|k| *k == "restart").expect("restart");
    let action_at = kinds.iter().position(|k| *k == "audit").expect("audit row");
    assert!(restart_at < action_at, "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "audit").count(),
        1,
        "{kinds:?}"
    );

    // Filters and the text form.
    let only = json_lines(&docktray(
        &config,
        &["events", "--json", "--kind", "die", "--host", "local"],
    ));
    assert!(!only.is_empty() && only.iter().all(|r| r["kind"] == "die"));
    assert!(json_lines(&docktray(
        &config,
        &["events", "--json", "--host", "elsewhere"]
    ))
    .is_empty());
    let text = docktray(&config, &["events", "--container", &three.name]);
    assert!(stdout(&text).contains("exit code 3"), "{}", stdout(&text));
    let text = docktray(
        &config,
        &["events", "--audit", "--container", &restarted.name],
    );
    assert!(
        stdout(&text).contains("restart by cli: ok"),
        "{}",
        stdout(&text)
    );
    let text = docktray(&config, &["events", "--audit", "--container", &absent]);
    assert!(
        stdout(&text).contains("restart by cli: failed: "),
        "{}",
        stdout(&text)
    );

    // The export has them too.
    let export = docktray(&config, &["export", "--since", "10m"]);
    assert!(export.status.success(), "{}", stderr(&export));
    let rows: Vec<Value> = stdout(&export)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert!(rows
        .iter()
        .any(|r| r["kind"] == "event" && r["name"] == three.name.as_str() && r["exit_code"] == 3));
    assert!(rows.iter().any(|r| r["kind"] == "audit"
        && r["target"] == restarted.name.as_str()
        && r["source"] == "cli"
        && r["action"] == "restart"));
}

#[test]
fn events_follow_prints_new_events_and_actions_as_they_happen() {
    let (_dir, config) = setup();
    let _watch = spawn(&config, &["watch", "--no-notify"]);
    wait_recording(&config);
    let ctr = TestContainer::run("cli-follow", &[], &["sleep", "300"]);
    wait_row(&config, &["--container", &ctr.name], |row| {
        row["kind"] == "start"
    });

    let mut follower = spawn(
        &config,
        &["events", "-f", "--json", "--container", &ctr.name],
    );
    let lines = lines_of(&mut follower);
    // Give it time to connect before anything happens.
    std::thread::sleep(Duration::from_secs(3));
    docker(&["kill", &ctr.name]);
    let output = docktray(&config, &["start", &ctr.name]);
    assert!(output.status.success(), "{}", stderr(&output));

    let deadline = Instant::now() + WAIT;
    let mut seen: Vec<Value> = Vec::new();
    let wanted = |seen: &[Value]| {
        seen.iter()
            .any(|r| r["kind"] == "kill" && r["signal"] == "9")
            && seen
                .iter()
                .any(|r| r["kind"] == "die" && r["exit_code"] == 137 && r["oom"] == false)
            && seen
                .iter()
                .any(|r| r["kind"] == "audit" && r["action"] == "start" && r["source"] == "cli")
            && seen.iter().any(|r| r["kind"] == "start")
    };
    while !wanted(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(row) => seen.push(row),
            Err(_) => panic!("docktray events -f printed only {seen:#?}"),
        }
    }
    assert!(
        seen.iter().all(|r| r["container"] == ctr.name.as_str()),
        "the filter holds while following: {seen:#?}"
    );
    let kills = seen.iter().filter(|r| r["kind"] == "kill").count();
    assert_eq!(kills, 1, "each event once: {seen:#?}");
}
