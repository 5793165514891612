//! The window's commands through Tauri's IPC (mock runtime, the app's real context and capabilities) against a
//! real engine: the Docker engine `make test` brings up (`scripts/test-env.sh`; DOCKER_HOST and
//! DOCKTRAY_TEST_IMAGE come from `eval "$(scripts/test-env.sh env)"`). Test containers carry the
//! `docktray.test=1` label and are removed when their guard drops.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docktray::monitor::{Monitor, MonitorOptions};
use docktray::Config;
use docktray_desktop::Shell;
use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The local Webdock API fixture shared with the engine's tests.
#[path = "../../tests/common/webdock.rs"]
#[allow(dead_code)]
mod webdock_fixture;

/// The real sshd shared with the engine's SSH host tests.
#[path = "../../tests/common/sshd.rs"]
#[allow(dead_code)]
mod sshd;

/// The app as the window sees it, with a real monitor behind it.
struct Harness {
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
    config_path: PathBuf,
}

impl Harness {
    /// `config_text` is written to the settings file the app saves to.
    fn start(config_text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text).expect("write config");
        let mut config = Config::load(Some(&config_path)).expect("test config loads");
        config.history.path = dir.path().join("history.sqlite").display().to_string();
        let monitor = tauri::async_runtime::block_on(async {
            let monitor = Monitor::start(
                config.clone(),
                MonitorOptions {
                    history: true,
                    notifications: false,
                },
            )
            .expect("monitor starts");
            assert!(
                monitor.engine().ready(Duration::from_secs(20)).await,
                "the engine did not get ready; is the test engine up (make test)? {:?}",
                monitor.engine().snapshot().sources
            );
            monitor
        });
        let app = docktray_desktop::with_ipc(mock_builder())
            .manage(Shell::new(monitor, config, config_path.clone()))
            .build(docktray_desktop::context())
            .expect("app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("window");
        Self {
            app,
            window,
            _dir: dir,
            config_path,
        }
    }

    fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        invoke_in(&self.window, command, args)
    }

    fn ok(&self, command: &str, args: Value) -> Value {
        self.invoke(command, args)
            .unwrap_or_else(|err| panic!("{command} failed: {err}"))
    }

    /// Polls `get_snapshot` until `check` finds something.
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let snapshot = self.ok("get_snapshot", json!({}));
            if let Some(found) = check(&snapshot) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last snapshot: {snapshot:#}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        tauri::async_runtime::block_on(docktray_desktop::control::shut_down(self.app.handle()));
    }
}

fn invoke_in(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: command.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("JSON answer"))
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run the docker CLI: {err}"));
    assert!(
        output.status.success(),
        "docker {} failed: {} (run the tests with `make test`, which starts the engine)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A labelled test container, removed on drop.
struct TestContainer {
    name: String,
    id: String,
}

impl TestContainer {
    fn run(prefix: &str, command: &[&str]) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "dtd-{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let image = std::env::var("DOCKTRAY_TEST_IMAGE")
            .unwrap_or_else(|_| "docktray-test-busybox:latest".to_owned());
        let mut args = vec![
            "run",
            "-d",
            "--label",
            "docktray.test=1",
            "--name",
            &name,
            &image,
        ];
        args.extend_from_slice(command);
        let id = docker(&args);
        Self { name, id }
    }

    fn running(&self) -> bool {
        docker(&["inspect", "-f", "{{.State.Running}}", &self.id]) == "true"
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}

fn find_container<'a>(snapshot: &'a Value, name: &str) -> Option<&'a Value> {
    snapshot["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

#[test]
fn snapshot_lists_containers_and_actions_stop_them() {
    let harness = Harness::start("interval = \"500ms\"\n");
    let container = TestContainer::run("stop", &["sleep", "300"]);
    let found = harness.wait_for("the running test container in the snapshot", |snapshot| {
        find_container(snapshot, &container.name)
            .filter(|c| c["state"] == "running")
            .cloned()
    });
    // Snapshot containers carry the info's fields inline (serde flatten), as the bindings say.
    assert_eq!(found["id"], container.id);

    let detail = harness.ok(
        "get_container_detail",
        json!({ "container": container.name }),
    );
    assert_eq!(detail["info"]["id"], container.id);
    assert_eq!(detail["command"], json!(["sleep", "300"]));

    let answer = harness.ok(
        "container_action",
        json!({ "container": container.name, "action": "stop" }),
    );
    assert_eq!(answer, Value::Null);
    assert!(!container.running(), "stopped by the action");
    harness.wait_for("the stopped state in the snapshot", |snapshot| {
        find_container(snapshot, &container.name)
            .filter(|c| c["state"] == "exited")
            .map(|_| ())
    });

    // Errors reach the window as the engine's message, a plain string.
    let err = harness
        .invoke(
            "container_action",
            json!({ "container": "dtd-no-such-container", "action": "start" }),
        )
        .unwrap_err();
    let message = err.as_str().expect("a plain string");
    assert!(message.contains("dtd-no-such-container"), "{message}");
}

#[test]
fn validate_settings_uses_the_config_file_rules_and_messages() {
    let harness = Harness::start("");
    let settings = harness.ok("get_settings", json!({}));
    assert_eq!(
        settings["path"],
        harness.config_path.display().to_string(),
        "{settings:#}"
    );
    let mut config = settings["config"].clone();
    assert_eq!(
        harness.ok("validate_settings", json!({ "config": config })),
        json!({ "ok": true, "key": null, "message": null })
    );

    config["thresholds"]["container_cpu_percent"]["warning"] = json!(95.0);
    config["thresholds"]["container_cpu_percent"]["critical"] = json!(90.0);
    let answer = harness.ok("validate_settings", json!({ "config": config }));
    let expected = Config::parse(
        "[thresholds.container_cpu_percent]\nwarning = 95.0\ncritical = 90.0\n",
        &harness.config_path,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["key"], "thresholds.container_cpu_percent.warning");
    assert_eq!(
        answer["message"], expected,
        "same message as the config file"
    );

    // Equal levels are refused too, and saving refuses with the same message.
    config["thresholds"]["container_cpu_percent"]["warning"] = json!(90.0);
    let answer = harness.ok("validate_settings", json!({ "config": config }));
    assert_eq!(answer["ok"], false);
    let err = harness
        .invoke("save_settings", json!({ "config": config }))
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("thresholds.container_cpu_percent.warning")),
        "{err}"
    );
}

#[test]
fn save_settings_keeps_the_files_comments_and_applies_thresholds() {
    let original = "# Docktray settings, edited by hand.\ninterval = \"500ms\" # fast for tests\n\n\
                    [thresholds.container_cpu_percent]\n# Batch work runs hot.\nwarning = 75\ncritical = 90\n";
    let harness = Harness::start(original);
    let mut config = harness.ok("get_settings", json!({}))["config"].clone();
    config["thresholds"]["container_cpu_percent"]["critical"] = json!(95.0);
    config["notifications"]["quiet_hours"] = json!("22:00-07:00");
    // Thresholds and notification options apply at once: nothing waits for a restart.
    assert_eq!(
        harness.ok("save_settings", json!({ "config": config })),
        json!([])
    );
    let text = std::fs::read_to_string(&harness.config_path).expect("read");
    assert!(
        text.starts_with("# Docktray settings, edited by hand.\n"),
        "{text}"
    );
    assert!(
        text.contains("interval = \"500ms\" # fast for tests\n"),
        "{text}"
    );
    assert!(
        text.contains("# Batch work runs hot.\nwarning = 75\ncritical = 95.0\n"),
        "{text}"
    );
    assert!(
        text.contains("[notifications]\nquiet_hours = \"22:00-07:00\"\n"),
        "{text}"
    );
    let saved = Config::load(Some(&harness.config_path)).expect("still loads");
    assert_eq!(saved.thresholds.container_cpu_percent.critical, 95.0);
    // get_settings answers with what was saved.
    let settings = harness.ok("get_settings", json!({}));
    assert_eq!(
        settings["config"]["notifications"]["quiet_hours"],
        "22:00-07:00"
    );

    // The collection interval is taken at start: saved, and reported as such.
    let mut config = settings["config"].clone();
    config["interval"] = json!("3s");
    assert_eq!(
        harness.ok("save_settings", json!({ "config": config })),
        json!(["interval"])
    );
    let saved = Config::load(Some(&harness.config_path)).expect("still loads");
    assert_eq!(saved.interval, Duration::from_secs(3));
}

#[test]
fn logs_arrive_in_batches_until_unsubscribed() {
    let harness = Harness::start("interval = \"500ms\"\n");
    let container = TestContainer::run(
        "logs",
        &[
            "sh",
            "-c",
            "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done",
        ],
    );
    harness.wait_for("the logging container", |snapshot| {
        find_container(snapshot, &container.name).map(|_| ())
    });
    std::thread::sleep(Duration::from_millis(500));
    let batches: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = batches.clone();
    harness.app.listen_any("logs", move |event| {
        let batch: Value = serde_json::from_str(event.payload()).expect("JSON payload");
        sink.lock().expect("lock").push(batch);
    });
    let answer = harness.ok(
        "subscribe_logs",
        json!({ "container": container.name, "tail": 5 }),
    );
    let subscription = answer["subscription"].as_u64().expect("an id");
    let history = answer["history"].as_array().expect("history");
    assert!(!history.is_empty() && history.len() <= 5, "{answer:#}");
    assert!(history[0]["plain"]
        .as_str()
        .is_some_and(|l| l.starts_with("line ")));

    let deadline = Instant::now() + TIMEOUT;
    while batches.lock().expect("lock").len() < 3 {
        assert!(Instant::now() < deadline, "no log batches arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    for batch in batches.lock().expect("lock").iter() {
        assert_eq!(batch["subscription"], subscription);
        let lines = batch["lines"].as_array().expect("lines");
        assert!(!lines.is_empty() && lines.len() <= 1000);
    }
    let shell = harness.app.state::<Shell>();
    assert_eq!(shell.subscription_count(), 1);
    assert_eq!(
        harness.ok("unsubscribe_logs", json!({ "subscription": subscription })),
        Value::Null
    );
    assert_eq!(shell.subscription_count(), 0);
    std::thread::sleep(Duration::from_millis(300));
    let settled = batches.lock().expect("lock").len();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        batches.lock().expect("lock").len(),
        settled,
        "no batches after unsubscribing"
    );

    // Closing the window ends its subscriptions. (The mock runtime reports no `Destroyed` event, so the
    // app's window-event handler is given one; a real close was checked under Xvfb.)
    harness.ok(
        "subscribe_logs",
        json!({ "container": container.name, "tail": 0 }),
    );
    assert_eq!(shell.subscription_count(), 1);
    docktray_desktop::window::on_window_event(
        &harness.window.as_ref().window(),
        &tauri::WindowEvent::Destroyed,
    );
    assert_eq!(
        shell.subscription_count(),
        0,
        "subscriptions outlived the window"
    );

    let err = harness
        .invoke(
            "subscribe_logs",
            json!({ "container": "dtd-missing", "tail": null }),
        )
        .unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("dtd-missing")),
        "{err}"
    );
}

#[test]
fn alerts_are_listed_acknowledged_and_charted() {
    let harness = Harness::start("interval = \"500ms\"\n");
    let container = TestContainer::run("exit", &["sh", "-c", "sleep 1; exit 3"]);
    let alert = harness.wait_for("the exit alert", |snapshot| {
        snapshot["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["metric"] == "exited" && a["target"]["name"] == container.name.as_str())
            .cloned()
    });
    let id = alert["id"].as_u64().expect("id");
    let listed = harness.ok(
        "list_alerts",
        json!({ "activeOnly": true, "level": "warning", "since": null }),
    );
    let listed = listed.as_array().expect("list");
    assert!(listed.iter().any(|a| a["id"] == id), "{listed:#?}");
    let newest_first = listed
        .windows(2)
        .all(|pair| pair[0]["started_at"].as_str() >= pair[1]["started_at"].as_str());
    assert!(newest_first, "{listed:#?}");
    assert_eq!(
        harness.ok("acknowledge_alert", json!({ "id": id })),
        json!(true)
    );
    assert_eq!(
        harness.ok("acknowledge_alert", json!({ "id": id })),
        json!(false)
    );
    let acknowledged = harness.ok(
        "list_alerts",
        json!({ "activeOnly": false, "level": null, "since": "2000-01-01T00:00:00Z" }),
    );
    assert!(
        acknowledged
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["id"] == id && a["acknowledged"] == true),
        "{acknowledged:#}"
    );

    // The host's CPU has been recorded meanwhile.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let series = harness.ok(
            "get_history",
            json!({ "target": { "kind": "host", "name": "local" }, "metric": "cpu_percent", "range": "15m" }),
        );
        assert_eq!(series["resolution"], "raw");
        if series["points"].as_array().is_some_and(|p| !p.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no history points: {series:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let err = harness
        .invoke(
            "get_history",
            json!({ "target": { "kind": "host", "name": "local" }, "metric": "nope", "range": "7d" }),
        )
        .unwrap_err();
    assert!(err.as_str().is_some_and(|m| m.contains("nope")), "{err}");
}

#[test]
fn routes_pauses_and_capabilities() {
    let harness = Harness::start("");
    let shell = harness.app.state::<Shell>();
    assert_eq!(harness.ok("take_route", json!({})), Value::Null);
    shell.set_route(Some("container:local/abc".to_owned()));
    assert_eq!(
        harness.ok("take_route", json!({})),
        json!("container:local/abc")
    );
    assert_eq!(
        harness.ok("take_route", json!({})),
        Value::Null,
        "taken once"
    );

    harness.ok(
        "set_notifications_paused",
        json!({ "paused": true, "minutes": 60 }),
    );
    assert!(shell.paused());
    harness.ok(
        "set_notifications_paused",
        json!({ "paused": false, "minutes": null }),
    );
    assert!(!shell.paused());
    assert!(harness
        .invoke(
            "set_notifications_paused",
            json!({ "paused": true, "minutes": 0 })
        )
        .is_err());

    // Only the main window may call the app's commands (capabilities/main.json).
    let other = WebviewWindowBuilder::new(&harness.app, "other", Default::default())
        .build()
        .expect("second window");
    let err = invoke_in(&other, "get_snapshot", json!({})).unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("not allowed")),
        "{err}"
    );
}

#[test]
fn every_command_is_allowed_for_the_main_window() {
    let harness = Harness::start("");
    for command in [
        "get_snapshot",
        "get_container_detail",
        "container_action",
        "get_history",
        "subscribe_logs",
        "unsubscribe_logs",
        "list_alerts",
        "acknowledge_alert",
        "get_settings",
        "validate_settings",
        "save_settings",
        "set_notifications_paused",
        "take_route",
        "webdock_token_status",
        "webdock_test_connection",
        "webdock_set_token",
        "webdock_remove_token",
        "get_vps_history",
        "check_host",
        "host_fingerprint",
        "trust_host",
        "save_host",
        "remove_host",
        "retry_host",
    ] {
        // Missing arguments fail after the permission check, with a message naming the argument.
        if let Err(err) = harness.invoke(command, json!({})) {
            let message = err.as_str().unwrap_or_default();
            assert!(!message.contains("not allowed"), "{command}: {message}");
            assert!(!message.contains("not found"), "{command}: {message}");
        }
    }
    let err = harness.invoke("no_such_command", json!({})).unwrap_err();
    assert!(err.as_str().is_some_and(|m| !m.is_empty()), "{err}");
}

#[test]
fn webdock_tokens_only_go_in_and_replies_say_set_or_not_set() {
    const TOKEN: &str = "dtt-ipc-token-71b0c3";
    let fixture = webdock_fixture::WebdockFixture::start(TOKEN);
    let harness = Harness::start(&format!(
        "[[webdock]]\nname = \"win\"\nbase_url = \"{}\"\n",
        fixture.url()
    ));
    let account = json!({
        "name": "win", "servers": "all", "interval": "60s", "base_url": fixture.url(), "timeout": "5s"
    });
    let test = harness.ok(
        "webdock_test_connection",
        json!({ "account": account, "token": TOKEN }),
    );
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(test["servers"][0]["slug"], "shop1");
    assert_eq!(test["servers"][0]["name"], "Shop");
    assert!(test["rate_limit"]["remaining"].as_u64().is_some(), "{test}");
    let rejected = harness.ok(
        "webdock_test_connection",
        json!({ "account": account, "token": "not-it" }),
    );
    assert_eq!(rejected["ok"], false);
    assert!(
        rejected["message"]
            .as_str()
            .is_some_and(|m| m.contains("rejected the token")),
        "{rejected}"
    );
    let status = harness.ok("webdock_token_status", json!({ "account": "win" }));
    assert_eq!(status["state"], "not set", "{status}");
    // The account shows up as a source of the snapshot (unreachable here: no token is set).
    let source = harness.wait_for("the Webdock account's source", |snapshot| {
        snapshot["sources"]
            .as_array()?
            .iter()
            .find(|s| s["kind"] == "webdock" && s["name"] == "win")
            .cloned()
    });
    assert_eq!(source["endpoint"], fixture.url());
    for reply in [
        test,
        rejected,
        status,
        source,
        harness.ok("get_snapshot", json!({})),
    ] {
        let text = reply.to_string();
        assert!(!text.contains(TOKEN) && !text.contains("not-it"), "{text}");
    }
}

#[test]
fn ssh_hosts_are_saved_checked_retried_and_removed() {
    let harness = Harness::start("# my hosts, by hand\ninterval = \"2s\"\n");
    let host = json!({
        "name": "far",
        "destination": "me@127.0.0.1:1",
        "identity_file": null,
        "socket": "/var/run/docker.sock",
    });

    // Nothing listens on port 1: the check stops at the TCP step and says so.
    let steps = harness.ok("check_host", json!({ "host": host }));
    let steps = steps.as_array().expect("steps");
    assert_eq!(steps.first().expect("a DNS step")["step"], "DNS");
    assert_eq!(steps.first().expect("a DNS step")["ok"], true);
    let last = steps.last().expect("a failed step");
    assert_eq!(last["step"], "TCP", "{steps:?}");
    assert_eq!(last["ok"], false);
    assert!(
        last["detail"]
            .as_str()
            .is_some_and(|d| d.contains("127.0.0.1:1")),
        "{last}"
    );

    // Saved to the file, comments kept; the host is watched at once (nothing waits for a restart).
    let later = harness.ok("save_host", json!({ "host": host, "replacing": null }));
    assert_eq!(later, json!([]));
    let docker_source = |name: &'static str| {
        move |snapshot: &Value| {
            snapshot["sources"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == name && s["kind"] == "docker")
                .cloned()
        }
    };
    let watched = harness.wait_for("the saved host watched", docker_source("far"));
    assert_eq!(
        watched["endpoint"],
        "ssh://me@127.0.0.1:1/var/run/docker.sock"
    );
    let text = std::fs::read_to_string(&harness.config_path).expect("config");
    assert!(text.contains("# my hosts, by hand"), "{text}");
    assert!(text.contains("me@127.0.0.1:1"), "{text}");
    let settings = harness.ok("get_settings", json!({}));
    assert_eq!(settings["config"]["hosts"][0]["name"], "far");

    let err = harness
        .invoke("save_host", json!({ "host": host, "replacing": null }))
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("already configured")),
        "{err}"
    );
    let mut renamed = host.clone();
    renamed["name"] = "farther".into();
    assert_eq!(
        harness.ok("save_host", json!({ "host": renamed, "replacing": "far" })),
        json!([])
    );
    harness.wait_for("the renamed host watched", docker_source("farther"));
    harness.wait_for("the old name gone", |snapshot| {
        docker_source("far")(snapshot).is_none().then_some(())
    });
    let text = std::fs::read_to_string(&harness.config_path).expect("config");
    assert!(
        text.contains("farther") && !text.contains("\"far\""),
        "{text}"
    );
    let mut invalid = host.clone();
    invalid["name"] = "local".into();
    let err = harness
        .invoke("save_host", json!({ "host": invalid, "replacing": null }))
        .unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("hosts[1].name")),
        "{err}"
    );

    // A watched host's wait ends at once, one saved while running included; an unknown name is refused.
    assert_eq!(
        harness.ok("retry_host", json!({ "name": "local" })),
        Value::Null
    );
    harness.wait_for("the local engine up after the retry", |snapshot| {
        snapshot["sources"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == "local" && s["state"] == "up")
            .map(|_| ())
    });
    assert_eq!(
        harness.ok("retry_host", json!({ "name": "farther" })),
        Value::Null
    );
    let err = harness
        .invoke("retry_host", json!({ "name": "nowhere" }))
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("nowhere is not a configured host")),
        "{err}"
    );

    // Removed: gone from the file and, at once, from what the window shows.
    assert_eq!(
        harness.ok("remove_host", json!({ "name": "farther" })),
        json!([])
    );
    assert!(
        docker_source("farther")(&harness.ok("get_snapshot", json!({}))).is_none(),
        "the removed host is still in the snapshot"
    );
    let err = harness
        .invoke("retry_host", json!({ "name": "farther" }))
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("not a configured host")),
        "{err}"
    );
    let text = std::fs::read_to_string(&harness.config_path).expect("config");
    assert!(!text.contains("farther"), "{text}");
    assert!(text.contains("# my hosts, by hand"), "{text}");
    let err = harness
        .invoke("remove_host", json!({ "name": "farther" }))
        .unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("no host named")),
        "{err}"
    );
}

/// The Docker socket of the test engine (DOCKER_HOST), which root reaches over the test sshd as a "remote" one.
fn test_engine_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(str::to_owned))
        .expect("DOCKER_HOST=unix://... (eval \"$(scripts/test-env.sh env)\")")
}

#[test]
fn an_unknown_host_is_checked_shown_trusted_after_confirmation_and_then_passes() {
    let harness = Harness::start("interval = \"2s\"\n");
    let sshd = sshd::TestSshd::new();
    let known_hosts = sshd.path("known_hosts");
    let host = json!({
        "name": "far",
        "destination": "dt-remote",
        "identity_file": null,
        "socket": test_engine_socket(),
        "ssh_config": sshd.ssh_config(),
    });

    // The check stops at the host key, which nobody trusted yet; nothing is written.
    let steps = harness.ok("check_host", json!({ "host": host }));
    let names: Vec<&str> = steps
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(names, ["DNS", "TCP", "host key"], "{steps:#}");
    assert_eq!(steps[2]["ok"], false);
    assert!(!known_hosts.exists());

    // The fingerprint shown is the server's own.
    let keys = harness.ok("host_fingerprint", json!({ "host": host }));
    assert_eq!(keys["known"], false);
    assert_eq!(
        keys["known_hosts_name"],
        format!("[127.0.0.1]:{}", sshd.port)
    );
    assert_eq!(keys["keys"][0]["fingerprint"], sshd.fingerprint());
    assert!(!known_hosts.exists(), "showing trusts nothing");

    // A fingerprint the user did not confirm is refused.
    let err = harness
        .invoke(
            "trust_host",
            json!({ "host": host, "fingerprints": ["SHA256:not-the-one"] }),
        )
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("not the fingerprint you confirmed")),
        "{err}"
    );
    assert!(!known_hosts.exists(), "nothing was trusted");

    let file = harness.ok(
        "trust_host",
        json!({ "host": host, "fingerprints": [sshd.fingerprint()] }),
    );
    assert_eq!(file, json!(known_hosts.display().to_string()));
    assert!(std::fs::read_to_string(&known_hosts)
        .expect("known_hosts")
        .contains(&format!("[127.0.0.1]:{}", sshd.port)));

    // Now every step passes, down to the Docker engine behind the host.
    let steps = harness.ok("check_host", json!({ "host": host }));
    let steps = steps.as_array().expect("steps");
    assert!(steps.iter().all(|s| s["ok"] == true), "{steps:#?}");
    assert_eq!(
        steps.last().map(|s| s["step"].clone()),
        Some(json!("Docker"))
    );
    assert_eq!(
        harness.ok("host_fingerprint", json!({ "host": host }))["known"],
        true
    );
    let err = harness
        .invoke(
            "trust_host",
            json!({ "host": host, "fingerprints": [sshd.fingerprint()] }),
        )
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("already has a key")),
        "{err}"
    );

    // A typed destination that ssh would read as an option never reaches ssh.
    let mut option = host.clone();
    option["destination"] = json!("-oProxyCommand=touch${IFS}/tmp/docktray-pwned");
    for command in ["check_host", "host_fingerprint"] {
        let err = harness
            .invoke(command, json!({ "host": option }))
            .unwrap_err();
        assert!(
            err.as_str().is_some_and(|m| m.contains("destination")),
            "{command}: {err}"
        );
    }
    assert!(!std::path::Path::new("/tmp/docktray-pwned").exists());
}
