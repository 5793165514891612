//! The service registry from real containers' labels: the old monitor's `snadboy.` prefix, bad labels named on
//! the container with the others going on, and the `docktray services` / `docktray caddy status` commands,
//! against the real Docker engine and a real Caddy.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::caddy::Caddy;
use common::*;
use docktray::model::{RouteState, ServiceKind};
use docktray::monitor::{Monitor, MonitorOptions};
use serde_json::Value;

fn docktray(config: &std::path::Path, args: &[&str]) -> Output {
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

fn write_config(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[history]\nenabled = false\n{text}")).expect("write config");
    path
}

fn httpd(labels: &[String], page: &str) -> TestContainer {
    let script =
        format!("mkdir -p /www && echo {page} > /www/index.html && exec httpd -f -p 80 -h /www");
    let mut options: Vec<&str> = Vec::new();
    for label in labels {
        options.extend(["--label", label.as_str()]);
    }
    TestContainer::run("svc", &options, &["sh", "-c", &script])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_monitors_prefix_routes_and_the_commands_show_it() {
    let mut caddy = Caddy::start();
    let domain = format!("{}.test", unique("old"));
    // Labels exactly as the Enhanced Docker Monitor's users wrote them.
    let web = httpd(
        &[
            format!("snadboy.revp.domain={domain}"),
            "snadboy.revp.port=80".to_owned(),
            "snadboy.revp.path=/".to_owned(),
            "snadboy.revp.ssl=false".to_owned(),
        ],
        "old-page",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        &dir,
        &format!(
            "[services]\nlabel_prefix = \"snadboy.\"\n[caddy]\nadmin_url = \"{}\"\ncheck_every = \"1s\"\n",
            caddy.admin_url()
        ),
    );
    let config = docktray::Config::load(Some(&path)).expect("config loads");
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: false,
            notifications: false,
        },
    )
    .expect("monitor");
    let deadline = Instant::now() + Duration::from_secs(15);
    while caddy.get(&domain, "/") != (200, "old-page".to_owned()) {
        assert!(
            Instant::now() < deadline,
            "the snadboy.-labelled container was not routed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let output = docktray(&path, &["services", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(answer["label_prefix"], "snadboy.");
    let service = answer["services"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|s| s["container_name"] == web.name.as_str())
        })
        .unwrap_or_else(|| panic!("the service in {answer:#}"))
        .clone();
    assert_eq!(service["type"], "revp");
    assert_eq!(service["url"], format!("http://{domain}/"));
    assert_eq!(
        service["caddy"], "routed",
        "the running monitor routed it: {service:#}"
    );

    let table = stdout(&docktray(&path, &["services"]));
    let line = table
        .lines()
        .find(|l| l.contains(&web.name))
        .unwrap_or_else(|| panic!("{table}"));
    for column in [
        "revp",
        &format!("http://{domain}/"),
        "local",
        "running",
        "routed",
    ] {
        assert!(line.contains(column), "{column} missing from {line:?}");
    }
    assert!(table.starts_with("NAME"), "{table}");

    let output = docktray(&path, &["caddy", "status", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        (status["enabled"].clone(), status["state"].clone()),
        (true.into(), "up".into())
    );
    assert_eq!(status["server"], "main");
    assert_eq!(status["user_routes"], 1);
    let id = docktray::model::services::route_id("local", &web.name, ServiceKind::Revp);
    assert_eq!(
        status["managed_routes"][&id]["state"], "routed",
        "{status:#}"
    );
    let text = stdout(&docktray(&path, &["caddy", "status"]));
    assert!(
        text.contains("up  server main") && text.contains(&id),
        "{text}"
    );

    // Caddy stopped: the command says so and fails; the running monitor raises its alert, nothing panics.
    caddy.stop();
    let output = docktray(&path, &["caddy", "status"]);
    assert_eq!(output.status.code(), Some(1));
    let (out, err) = (
        stdout(&output),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        out.contains("UNREACHABLE") && out.contains("last error"),
        "{out}"
    );
    assert!(err.contains("Caddy is unreachable"), "{err}");
    wait_for(
        monitor.engine(),
        Duration::from_secs(15),
        "the alert",
        |s| {
            s.alerts
                .iter()
                .find(|a| a.message.starts_with("Caddy unreachable"))
                .map(|_| ())
        },
    )
    .await;
    assert!(monitor.engine().is_running());
    monitor.shutdown().await.expect("shutdown");

    // Sync off: the command says how to turn it on.
    let off = write_config(&dir, "[services]\nlabel_prefix = \"snadboy.\"\n");
    let output = docktray(&off, &["caddy", "status"]);
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("set [caddy] admin_url"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_labels_are_named_on_their_container_and_the_others_go_on() {
    let caddy = Caddy::start();
    let prefix = format!("{}.", unique("bad"));
    let label = |key: &str, value: &str| format!("{prefix}{key}={value}");
    let shared = format!("{}.test", unique("shared"));
    let good_domain = format!("{}.test", unique("good"));
    let bad_port = httpd(
        &[
            label("revp.domain", "port.test"),
            label("revp.port", "eighty"),
        ],
        "bad-port",
    );
    let unknown = httpd(
        &[
            label("web.domain", "unknown.test"),
            label("web.port", "80"),
            label("web.domian", "typo.test"),
        ],
        "unknown",
    );
    let older = httpd(
        &[label("api.domain", &shared), label("api.port", "80")],
        "older",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let newer = httpd(
        &[label("revp.domain", &shared), label("revp.port", "80")],
        "newer",
    );
    let good = httpd(
        &[
            label("metrics.domain", &good_domain),
            label("metrics.port", "80"),
        ],
        "good",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        &dir,
        &format!(
            "[services]\nlabel_prefix = \"{prefix}\"\n[caddy]\nadmin_url = \"{}\"\n",
            caddy.admin_url()
        ),
    );
    let monitor = Monitor::start(
        docktray::Config::load(Some(&path)).expect("config"),
        MonitorOptions {
            history: false,
            notifications: false,
        },
    )
    .expect("monitor");
    let engine = monitor.engine();
    let snapshot = wait_for(
        engine,
        Duration::from_secs(20),
        "three problems and the good services routed",
        |s| {
            let routed = |name: &str| {
                s.services
                    .iter()
                    .any(|x| x.container_name == name && x.caddy == RouteState::Routed)
            };
            (s.service_problems.len() == 3 && routed(&good.name) && routed(&older.name))
                .then(|| s.clone())
        },
    )
    .await;
    let problem_of = |container: &TestContainer| {
        snapshot
            .service_problems
            .iter()
            .find(|p| p.container_id == container.id)
            .unwrap_or_else(|| {
                panic!(
                    "no problem for {}: {:#?}",
                    container.name, snapshot.service_problems
                )
            })
            .clone()
    };
    let port = problem_of(&bad_port);
    assert_eq!(port.label, format!("{prefix}revp.port"));
    assert!(
        port.message.contains(&port.label) && port.message.contains("\"eighty\""),
        "{}",
        port.message
    );
    let key = problem_of(&unknown);
    assert_eq!(key.label, format!("{prefix}web.domian"));
    assert!(
        key.message.contains("unknown key \"domian\""),
        "{}",
        key.message
    );
    let claim = problem_of(&newer);
    assert_eq!(claim.label, format!("{prefix}revp.domain"));
    assert!(
        claim
            .message
            .contains(&format!("already claimed by {}", older.name)),
        "{}",
        claim.message
    );

    // Those services are left out (and out of Caddy); the others go on.
    let names: Vec<&str> = snapshot
        .services
        .iter()
        .map(|s| s.container_name.as_str())
        .collect();
    for left_out in [&bad_port, &unknown, &newer] {
        assert!(
            !names.contains(&left_out.name.as_str()),
            "{} listed: {names:?}",
            left_out.name
        );
    }
    assert_eq!(caddy.get(&good_domain, "/"), (200, "good".to_owned()));
    assert_eq!(caddy.get(&shared, "/"), (200, "older".to_owned()));
    assert_ne!(caddy.get("port.test", "/").1, "bad-port");
    assert_ne!(caddy.get("unknown.test", "/").1, "unknown");

    // The command lists them with their messages.
    let table = stdout(&docktray(&path, &["services"]));
    assert!(
        table.contains("PROBLEMS (3; these services are left out)"),
        "{table}"
    );
    for problem in [&port, &key, &claim] {
        assert!(
            table.contains(&problem.message),
            "{} missing from {table}",
            problem.message
        );
    }
    caddy.assert_user_route_untouched("main");
    monitor.shutdown().await.expect("shutdown");
}

/// `docktray watch` keeps the routes too, and prints Caddy's alert when it goes and when it is back.
#[test]
fn docktray_watch_routes_and_prints_the_caddy_alert() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;

    let mut caddy = Caddy::start();
    let prefix = format!("{}.", unique("watch"));
    let domain = format!("{}.test", unique("w"));
    let _web = httpd(
        &[
            format!("{prefix}revp.domain={domain}"),
            format!("{prefix}revp.port=80"),
        ],
        "watched",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        &dir,
        &format!(
            "[services]\nlabel_prefix = \"{prefix}\"\n[caddy]\nadmin_url = \"{}\"\ncheck_every = \"1s\"\n",
            caddy.admin_url()
        ),
    );
    let mut child = Watch(
        Command::new(env!("CARGO_BIN_EXE_docktray"))
            .arg("--config")
            .arg(&path)
            .args(["watch", "--json", "--no-notify", "--no-history"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docktray watch"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = sender.send(value);
            }
        }
    });
    let wait_line = |kind: &str| -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {kind} Caddy alert from docktray watch"));
            if line["kind"] == kind && line["alert"]["target"]["kind"] == "proxy" {
                return line;
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while caddy.get(&domain, "/") != (200, "watched".to_owned()) {
        assert!(
            Instant::now() < deadline,
            "docktray watch did not route the container"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    caddy.stop();
    let raised = wait_line("raised");
    assert_eq!(raised["alert"]["level"], "warning");
    assert!(
        raised["alert"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Caddy unreachable")),
        "{raised}"
    );
    caddy.run();
    let resolved = wait_line("resolved");
    assert!(resolved["alert"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("Caddy is back")));
    let deadline = Instant::now() + Duration::from_secs(20);
    while caddy.get(&domain, "/") != (200, "watched".to_owned()) {
        assert!(Instant::now() < deadline, "the route did not come back");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM: docktray watch stops cleanly.
    let pid = i32::try_from(child.0.id()).expect("pid");
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = child.0.wait().expect("wait");
    assert!(status.success(), "{status}");
}

/// `docktray watch` as a child process, killed if the test fails before it is stopped.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
