//! The Settings view's routes (issue 13: the page does what the window's settings do), against a real
//! `docktray serve` on the test engine: settings read, validated and saved with the file's comments kept (a bad
//! value is 422 naming the key and leaves the file as it was), what needs a restart answered; a Webdock token
//! stored in a real keychain (gnome-keyring) and never answered back; an SSH host's key scanned, trusted, the
//! host saved and removed against a real sshd; pause, Caddy and channel refusals. A page needs its CSRF header
//! for every change, and every change needs `[api] allow_actions = true`.

mod common;

use std::process::Command;

use common::keyring::Keychain;
use common::serve::{parsed, Options, Serve};
use common::sshd::TestSshd;
use common::webdock::WebdockFixture;
use serde_json::{json, Value};

const ALLOW: &str = "allow_actions = true";
const WEBDOCK_TOKEN: &str = "wd-token-3f9a1c77e2b04d5e";

#[test]
fn settings_are_read_validated_and_saved_as_the_window_saves_them() {
    let serve = Serve::start(Options {
        api: ALLOW,
        ..Options::default()
    });
    let before = std::fs::read_to_string(&serve.config).expect("config");

    // Read: the settings in force and the file.
    let settings = serve.json("/api/v1/settings");
    assert_eq!(
        settings["path"].as_str(),
        Some(serve.config.to_string_lossy().as_ref())
    );
    let mut config = settings["config"].clone();
    assert_eq!(config["interval"], "500ms", "{config}");

    // Validate: a bad value names its key, with the config file's message; nothing is written.
    config["logs"]["ring_lines"] = json!(0);
    let body = json!({ "config": config }).to_string();
    let (status, text) = serve.request("POST", "/api/v1/settings/validate", &[], Some(&body));
    let validation = parsed(status, &text, "validate");
    assert_eq!(validation["ok"], false, "{validation}");
    assert_eq!(validation["key"], "logs.ring_lines", "{validation}");

    // Save a bad value: 422 naming the field, the file unchanged.
    let (status, text) = serve.request("PUT", "/api/v1/settings", &[], Some(&body));
    assert_eq!(status, 422, "{text}");
    let refusal: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(refusal["field"], "logs.ring_lines", "{refusal}");
    assert!(
        refusal["message"]
            .as_str()
            .is_some_and(|m| m.contains("ring_lines")),
        "{refusal}"
    );
    assert_eq!(
        std::fs::read_to_string(&serve.config).expect("config"),
        before
    );

    // A page signed in: without its CSRF header the change is refused, with it the file is saved.
    let (cookie, csrf) = serve.sign_in();
    config["logs"]["ring_lines"] = json!(4321);
    config["thresholds"]["container_cpu_percent"]["warning"] = json!(55.0);
    let body = json!({ "config": config }).to_string();
    let (status, text) = serve.page("PUT", "/api/v1/settings", &[&cookie], Some(&body));
    assert_eq!(status, 403, "no CSRF header: {text}");
    assert!(text.contains("x-docktray-csrf"), "{text}");
    let (status, text) = serve.page("PUT", "/api/v1/settings", &[], Some(&body));
    assert_eq!(status, 401, "not signed in: {text}");
    assert_eq!(
        std::fs::read_to_string(&serve.config).expect("config"),
        before
    );

    let (status, text) = serve.page("PUT", "/api/v1/settings", &[&cookie, &csrf], Some(&body));
    let answer = parsed(status, &text, "save");
    // The log ring is taken at start, the thresholds at once: the answer says which is which.
    assert_eq!(answer["restart_needed"], json!(["[logs]"]), "{answer}");
    let after = std::fs::read_to_string(&serve.config).expect("config");
    for line in before.lines().filter(|l| l.starts_with('#')) {
        assert!(after.contains(line), "comment {line:?} lost:\n{after}");
    }
    let saved = docktray::Config::parse(&after, &serve.config).expect("the file still loads");
    assert_eq!(saved.logs.ring_lines, 4321);
    assert_eq!(saved.thresholds.container_cpu_percent.warning, 55.0);
    // Applied at once: the API's own view of the settings has the new threshold.
    assert_eq!(
        serve.json("/api/v1/monitoring/thresholds")[0]["warning_threshold"],
        55.0
    );
    assert_eq!(
        serve.json("/api/v1/settings")["config"]["logs"]["ring_lines"],
        4321
    );

    // Pause: a zero-minute pause is refused naming the field; a timed one is taken.
    let (status, text) = serve.page(
        "POST",
        "/api/v1/notifications/pause",
        &[&cookie, &csrf],
        Some(r#"{"paused": true, "minutes": 0}"#),
    );
    assert_eq!(status, 422, "{text}");
    assert!(text.contains(r#""field":"minutes""#), "{text}");
    let (status, text) = serve.page(
        "POST",
        "/api/v1/notifications/pause",
        &[&cookie, &csrf],
        Some(r#"{"paused": true, "minutes": 60}"#),
    );
    assert_eq!(parsed(status, &text, "pause")["paused"], true);

    // Caddy sync is off and no channel is configured: each says so, as the window's buttons do.
    let (status, text) = serve.page("POST", "/api/v1/caddy/retry", &[&cookie, &csrf], None);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("[caddy] admin_url"), "{text}");
    let (status, text) = serve.page(
        "POST",
        "/api/v1/channels/webhook:nowhere/test",
        &[&cookie, &csrf],
        None,
    );
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("no channel named"), "{text}");
}

#[test]
fn without_allow_actions_reads_work_and_changes_say_how_to_allow_them() {
    let serve = Serve::start(Options::default());
    let before = std::fs::read_to_string(&serve.config).expect("config");
    let config = serve.json("/api/v1/settings")["config"].clone();
    let body = json!({ "config": config }).to_string();
    // Validating changes nothing: allowed.
    let (status, text) = serve.request("POST", "/api/v1/settings/validate", &[], Some(&body));
    assert_eq!(parsed(status, &text, "validate")["ok"], true);
    let host =
        r#"{"host": {"name": "h", "destination": "dt-remote", "socket": "/run/docker.sock"}}"#;
    let webdock = r#"{"account": {"name": "w"}, "token": "x"}"#;
    for (method, path, body) in [
        ("PUT", "/api/v1/settings", Some(body.as_str())),
        (
            "POST",
            "/api/v1/notifications/pause",
            Some(r#"{"paused": true, "minutes": null}"#),
        ),
        ("PUT", "/api/v1/webdock/token", Some(webdock)),
        ("POST", "/api/v1/webdock/test", Some(webdock)),
        ("DELETE", "/api/v1/webdock/accounts/w/token", None),
        ("POST", "/api/v1/ssh-hosts/check", Some(host)),
        ("POST", "/api/v1/ssh-hosts/fingerprint", Some(host)),
        ("POST", "/api/v1/ssh-hosts", Some(host)),
        ("DELETE", "/api/v1/ssh-hosts/h", None),
        ("POST", "/api/v1/caddy/retry", None),
        ("POST", "/api/v1/channels/ntfy/test", None),
    ] {
        let (status, text) = serve.request(method, path, &[], body);
        assert_eq!(status, 403, "{method} {path}: {text}");
        assert!(
            text.contains("allow_actions = true") && text.contains("[api]"),
            "{method} {path}: {text}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&serve.config).expect("config"),
        before
    );
    // Reads stay open to the token.
    let (status, text) = serve.get("/api/v1/ssh-hosts/discover");
    assert!(parsed(status, &text, "discover").is_array(), "{text}");
    let (status, text) = serve.get("/api/v1/webdock/accounts/w/token");
    assert_eq!(parsed(status, &text, "token status")["account"], "w");
    // Without the token nothing is answered.
    let (status, _) = serve.request(
        "GET",
        "/api/v1/settings",
        &["Authorization: Bearer wrong"],
        None,
    );
    assert_eq!(status, 401);
}

#[test]
fn a_webdock_token_goes_into_the_keychain_and_never_comes_back() {
    let keychain = Keychain::start();
    let fixture = WebdockFixture::start(WEBDOCK_TOKEN);
    let extra = format!(
        "[[webdock]]\nname = \"w\"\nbase_url = \"{}\"\n",
        fixture.url()
    );
    let prepare = |command: &mut Command| keychain.apply(command);
    let serve = Serve::start(Options {
        extra: &extra,
        api: ALLOW,
        prepare: Some(&prepare),
        ..Options::default()
    });
    let (cookie, csrf) = serve.sign_in();
    let headers = [cookie.as_str(), csrf.as_str()];
    let status_now = || serve.json("/api/v1/webdock/accounts/w/token");
    assert_eq!(status_now()["state"], "not set", "{}", status_now());

    let account = json!({ "name": "w", "base_url": fixture.url() });
    // A wrong token: Webdock refuses it, nothing is stored.
    let body = json!({ "account": account, "token": "not-the-token" }).to_string();
    let (status, text) = serve.page("PUT", "/api/v1/webdock/token", &headers, Some(&body));
    let answer = parsed(status, &text, "set a wrong token");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        !text.contains("not-the-token"),
        "the token came back: {text}"
    );
    assert_eq!(status_now()["state"], "not set");

    // The right one: tested, stored in the keychain, answered without it.
    let body = json!({ "account": account, "token": WEBDOCK_TOKEN }).to_string();
    let (status, text) = serve.page("POST", "/api/v1/webdock/test", &headers, Some(&body));
    assert_eq!(parsed(status, &text, "test")["ok"], true, "{text}");
    let (status, text) = serve.page("PUT", "/api/v1/webdock/token", &headers, Some(&body));
    let answer = parsed(status, &text, "set the token");
    assert_eq!(answer["ok"], true, "{answer}");
    assert!(
        answer["servers"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["slug"] == "shop1")),
        "{answer}"
    );
    assert!(!text.contains(WEBDOCK_TOKEN), "the token came back: {text}");
    // Read back by another client of the same Secret Service.
    let stored = keychain.secret_tool(&["lookup", "service", "docktray-webdock", "username", "w"]);
    let found = String::from_utf8_lossy(&stored.stdout);
    assert_eq!(found.trim(), WEBDOCK_TOKEN, "not in the keychain");
    let status = status_now();
    assert_eq!(status["state"], "set", "{status}");
    assert_eq!(status["source"], "keychain", "{status}");
    assert!(!status.to_string().contains(WEBDOCK_TOKEN));

    // The stored token serves the VPS history; an unknown account is a 404 naming it.
    let (status, text) = serve.get("/api/v1/webdock/accounts/w/servers/shop1/history");
    parsed(status, &text, "history");
    let (status, text) = serve.get("/api/v1/webdock/accounts/nobody/servers/shop1/history");
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("no Webdock account 'nobody'"), "{text}");

    // Removed: gone from the keychain.
    let (status, text) = serve.page("DELETE", "/api/v1/webdock/accounts/w/token", &headers, None);
    assert_eq!(parsed(status, &text, "remove")["removed"], true);
    assert_eq!(status_now()["state"], "not set");
    assert!(
        !serve.stderr().contains(WEBDOCK_TOKEN),
        "the token is in the server's log"
    );
}

#[test]
fn an_ssh_host_is_scanned_trusted_saved_and_removed() {
    let sshd = TestSshd::new();
    let serve = Serve::start(Options {
        api: ALLOW,
        ..Options::default()
    });
    let (cookie, csrf) = serve.sign_in();
    let headers = [cookie.as_str(), csrf.as_str()];
    let host = sshd.host("far", "dt-remote", "/run/docktray-test-none.sock");
    let body = |fingerprints: &[&str], replacing: Option<&str>| {
        json!({ "host": host, "fingerprints": fingerprints, "replacing": replacing }).to_string()
    };

    // A bad host is 422 naming the key, as the config file would.
    let bad =
        json!({ "host": { "name": "far", "destination": "", "socket": "/x.sock" } }).to_string();
    let (status, text) = serve.page("POST", "/api/v1/ssh-hosts/check", &headers, Some(&bad));
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("hosts[0].destination"), "{text}");

    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts/fingerprint",
        &headers,
        Some(&body(&[], None)),
    );
    let keys = parsed(status, &text, "fingerprint");
    assert_eq!(keys["known"], false, "{keys}");
    let offered = sshd.fingerprint();
    assert!(
        keys["keys"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k["fingerprint"] == offered.as_str())),
        "{keys} lacks {offered}"
    );

    // A fingerprint the host does not offer is refused; the right one is written to known_hosts.
    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts/trust",
        &headers,
        Some(&body(&["SHA256:not-this-one"], None)),
    );
    assert_eq!(status, 409, "{text}");
    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts/trust",
        &headers,
        Some(&body(&[&offered], None)),
    );
    let trusted = parsed(status, &text, "trust");
    let file = trusted["file"].as_str().expect("the file written");
    assert_eq!(std::path::Path::new(file), sshd.path("known_hosts"));
    let known = std::fs::read_to_string(file).expect("known_hosts");
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{known}"
    );

    // The check runs its steps (ssh connects: the key is known now).
    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts/check",
        &headers,
        Some(&body(&[], None)),
    );
    let steps = parsed(status, &text, "check");
    assert!(steps.as_array().is_some_and(|s| !s.is_empty()), "{steps}");

    // Saved into the file (comments kept), then removed; hosts apply at once.
    let before = std::fs::read_to_string(&serve.config).expect("config");
    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts",
        &headers,
        Some(&body(&[], None)),
    );
    assert_eq!(
        parsed(status, &text, "save host")["restart_needed"],
        json!([])
    );
    let saved = std::fs::read_to_string(&serve.config).expect("config");
    assert!(saved.contains("name = \"far\""), "{saved}");
    assert!(
        saved.starts_with(before.lines().next().unwrap_or("#")),
        "{saved}"
    );
    let (status, text) = serve.page(
        "POST",
        "/api/v1/ssh-hosts",
        &headers,
        Some(&body(&[], None)),
    );
    assert_eq!(status, 409, "a second host named far: {text}");
    let (status, text) = serve.page("DELETE", "/api/v1/ssh-hosts/far", &headers, None);
    assert_eq!(
        parsed(status, &text, "remove host")["restart_needed"],
        json!([])
    );
    assert!(!std::fs::read_to_string(&serve.config)
        .expect("config")
        .contains("name = \"far\""));
    let (status, text) = serve.page("DELETE", "/api/v1/ssh-hosts/far", &headers, None);
    assert_eq!(status, 404, "{text}");
}
