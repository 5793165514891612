//! Settings: validation, saving with comments kept, Webdock tokens and SSH hosts.

use super::*;

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

/// HTTP requests received on loopback (a real socket; the webhook client is the app's), each answered 200,
/// until the test message arrives; returns it. Alert batches the running channel delivers meanwhile (a busy
/// machine's host CPU alert, say) are skipped: taking the first request made the test fail when one came first.
fn receive_test_message(listener: std::net::TcpListener) -> std::thread::JoinHandle<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    std::thread::spawn(move || loop {
        let (stream, _) = listener.accept().expect("a request");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut length = 0usize;
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            if line.trim().is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().expect("length");
            }
            head.push_str(&line);
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).expect("body");
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .expect("answer");
        let is_test = serde_json::from_slice::<Value>(&body).is_ok_and(|b| b["test"] == true);
        if is_test {
            return format!("{head}\n{}", String::from_utf8_lossy(&body));
        }
    })
}

#[test]
fn send_test_goes_through_the_channel_and_names_unknown_ones() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let received = receive_test_message(listener);
    // The host's memory is always above 2 %: a critical alert goes to the same webhook at once, as a real
    // alert may at any time, and the test message still gets through and is told apart.
    let harness = Harness::start(&format!(
        "[alerts]\nhold = \"0s\"\n[thresholds.host_memory_percent]\nwarning = 1\ncritical = 2\n\
         [[notifications.webhooks]]\nname = \"ops\"\nurl = \"{url}\"\ngroup_window = \"0s\"\n"
    ));
    let answer = harness.ok("test_channel", json!({"channel": "webhook:ops"}));
    assert!(answer.is_string(), "{answer}");
    let request = received.join().expect("receiver");
    assert!(request.starts_with("POST /hook "), "{request}");
    let body: Value =
        serde_json::from_str(request.split_once("\n\n").expect("body").1).expect("JSON body");
    assert_eq!(body["schema"], "docktray.notification/1");
    assert_eq!(body["test"], true);
    assert_eq!(body["level"], "info");

    let err = harness
        .invoke("test_channel", json!({"channel": "pager"}))
        .expect_err("no such channel");
    let text = err.as_str().expect("a message");
    assert!(
        text.contains("no channel named pager") && text.contains("webhook:ops"),
        "{text}"
    );
}
