//! The `docktray` binary end to end: exit codes, the config error, status JSON, logs and actions.

mod common;

use std::process::{Command, Output};

use common::*;

fn docktray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(args)
        .output()
        .expect("run docktray")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_file_gives_the_documented_error_and_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let original = "# my settings\ninterval = \"fast\"\n[logs]\nring_lines = 100\n";
    std::fs::write(&path, original).expect("write config");
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let output = docktray(&["--config", &path.to_string_lossy(), "status"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interval"), "names the key: {stderr}");
    assert!(stderr.contains("\"fast\""), "names the bad value: {stderr}");
    assert!(
        stderr.contains("\"2s\""),
        "shows the expected form: {stderr}"
    );
    assert!(
        stderr.contains(&path.to_string_lossy().into_owned()),
        "names the file: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read back"), original);
    assert_eq!(
        std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified
    );

    std::fs::write(&path, "[logs]\nring_lines = 0\n").expect("write");
    let output = docktray(&["--config", &path.to_string_lossy(), "status"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("`logs.ring_lines` = 0"), "{stderr}");
    assert!(stderr.contains("from 1 to 1000000"), "{stderr}");

    let missing = dir.path().join("absent.toml");
    let output = docktray(&["--config", &missing.to_string_lossy(), "status"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("absent.toml"));
}

#[test]
fn bad_usage_exits_with_two_and_says_what_is_wrong() {
    let output = docktray(&["logs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("CONTAINER"), "{}", text(&output).1);
    let output = docktray(&["logs", "x", "--since", "yesterday-ish"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("10m"), "{}", text(&output).1);
    let output = docktray(&["logs", "x", "--grep", "(unclosed"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("--grep"), "{}", text(&output).1);
    let output = docktray(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    let help = docktray(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let (stdout, _) = text(&help);
    for word in [
        "status",
        "logs",
        "start",
        "stop",
        "restart",
        "pause",
        "unpause",
        "Exit codes",
    ] {
        assert!(stdout.contains(word), "help mentions {word}: {stdout}");
    }
}

#[test]
fn an_unreachable_engine_is_a_runtime_failure_that_says_how_to_fix_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["status"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("systemctl start docker"), "{stderr}");
    assert!(
        stdout.contains("UNREACHABLE"),
        "the table still shows the host: {stdout}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["stop", "anything"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn status_json_lists_containers_with_stats_and_the_table_shows_them() {
    let ctr = TestContainer::run(
        "cli-status",
        &["--label", "com.docker.compose.project=clitest"],
        &["sleep", "300"],
    );
    let output = docktray(&["status", "--json"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    let containers = json["containers"].as_array().expect("containers array");
    let ours = containers
        .iter()
        .find(|c| c["name"] == ctr.name.as_str())
        .expect("our container");
    assert_eq!(ours["id"], ctr.id.as_str());
    assert_eq!(ours["state"], "running");
    assert_eq!(ours["compose_project"], "clitest");
    assert!(
        ours["stats"]["memory_bytes"]
            .as_u64()
            .is_some_and(|m| m > 0),
        "{ours}"
    );
    assert!(ours["stats"]["cpu_percent"].as_f64().is_some());
    let docker_source = json["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["kind"] == "docker")
        .cloned();
    assert_eq!(docker_source.expect("docker source")["state"], "up");
    assert!(
        ["ok", "warning", "critical", "unreachable"]
            .contains(&json["overall"].as_str().unwrap_or_default()),
        "overall level: {}",
        json["overall"]
    );
    assert!(json["alerts"].is_array());
    let host = &json["hosts"][0];
    assert_eq!(host["source_type"], "docker-host");
    assert!(host["memory"]["total_gb"].as_f64().is_some_and(|t| t > 0.0));
    assert!(host["cpu"]["count"].as_u64().is_some_and(|c| c >= 1));

    let table = docktray(&["status"]);
    let (stdout, _) = text(&table);
    assert!(table.status.success());
    let row = stdout
        .lines()
        .find(|l| l.contains(&ctr.name))
        .expect("a row for our container");
    assert!(row.contains("running") && row.contains("clitest"), "{row}");
}

#[test]
fn logs_tail_grep_and_timestamps() {
    let ctr = TestContainer::run(
        "cli-logs",
        &[],
        &[
            "sh",
            "-c",
            "seq 1 50; sleep 0.5; echo error: disk full >&2; sleep 300",
        ],
    );
    let mut tries = 0;
    while !docker_output(&["logs", &ctr.name])
        .stderr
        .starts_with(b"error")
        && tries < 50
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
        tries += 1;
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let output = docktray(&["logs", &ctr.name, "--tail", "4"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["48", "49", "50"],
        "stdout of the last 4 lines"
    );
    assert_eq!(
        stderr.trim(),
        "error: disk full",
        "stderr lines go to stderr"
    );

    let output = docktray(&["logs", &ctr.name, "--grep", "^4[0-9]$"]);
    let (stdout, _) = text(&output);
    assert_eq!(stdout.lines().count(), 10, "{stdout}");

    let output = docktray(&["logs", &ctr.id, "--tail", "1", "--timestamps"]);
    let (_, stderr) = text(&output);
    let (stamp, rest) = stderr.trim().split_once(' ').expect("timestamp then text");
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{stamp}"
    );
    assert_eq!(rest, "error: disk full");

    // --since: the numbers were written at least 0.5 s before the error line, so a time just before that line
    // keeps it alone.
    let error_at = chrono::DateTime::parse_from_rfc3339(stamp).expect("timestamp");
    let since = (error_at - chrono::Duration::milliseconds(200)).to_rfc3339();
    let output = docktray(&["logs", &ctr.name, "--since", &since]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "", "no stdout line is that recent");
    assert_eq!(stderr.trim(), "error: disk full");
    let since = (error_at - chrono::Duration::seconds(60)).to_rfc3339();
    let output = docktray(&["logs", &ctr.name, "--since", &since]);
    assert_eq!(
        text(&output).0.lines().count(),
        50,
        "a minute back keeps every line"
    );

    let output = docktray(&["logs", "no-such-container-xyz"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).1.contains("no container"),
        "{}",
        text(&output).1
    );
}

#[test]
fn logs_follow_prints_new_lines_in_order_as_they_come() {
    use std::io::{BufRead, BufReader};
    let ctr = TestContainer::run(
        "cli-follow",
        &[],
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done",
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["logs", &ctr.name, "--follow", "--tail", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run docktray logs --follow");
    let stdout = child.stdout.take().expect("piped stdout");
    // A follow that hangs silently must fail the test, not stall the suite.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = Command::new("kill").arg(&pid).status();
    });
    let numbers: Vec<u64> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(8)
        .map(|line| {
            line.strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    // Without --follow the command would end after the one tail line.
    assert_eq!(numbers.len(), 8, "follow kept printing: {numbers:?}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive and in order: {numbers:?}"
    );
}

#[test]
fn actions_stop_and_start_containers_and_report_failures() {
    let ctr = TestContainer::run("cli-act", &[], &["sleep", "300"]);
    let output = docktray(&["stop", &ctr.name]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &ctr.name]),
        "exited"
    );
    let output = docktray(&["start", &ctr.name]);
    assert!(output.status.success(), "{}", text(&output).1);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &ctr.name]),
        "running"
    );
    let output = docktray(&["pause", &ctr.name]);
    assert!(output.status.success());
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &ctr.name]),
        "paused"
    );
    let output = docktray(&["unpause", &ctr.name]);
    assert!(output.status.success());
    let output = docktray(&["start", "no-such-container-xyz"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).1.contains("no container named"),
        "{}",
        text(&output).1
    );
}

#[test]
fn a_socket_without_permission_says_to_join_the_docker_group() {
    // Run as `nobody` against the test engine's socket (root:docker, mode 660).
    let uid = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "this test drops to `nobody` and needs root"
    );
    // `nobody` must be able to run the binary wherever the checkout is (e.g. under /root, mode 700).
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod tempdir");
    let binary = dir.path().join("docktray");
    std::fs::copy(env!("CARGO_BIN_EXE_docktray"), &binary).expect("copy the binary");
    let output = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .arg("status")
        .env("HOME", "/nonexistent")
        .output()
        .expect("runuser");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(stderr.contains("docker group"), "{stderr}");
}
