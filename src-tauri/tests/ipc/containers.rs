//! Snapshots, actions, log batches, alerts, routes and capabilities.

use super::*;

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
