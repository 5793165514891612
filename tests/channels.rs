//! Notification channels against real receivers started here: aiosmtpd's SMTP server behind STARTTLS and TLS with
//! a login (the password from a real gnome-keyring), an HTTP receiver on loopback that checks the webhook's
//! signature with Python's own HMAC, a local ntfy stand-in following ntfy's publish protocol, and dunst for the
//! desktop notifications that must stay on time while a receiver is down or slow.
//!
//! ONE test function, as in tests/notifications.rs: the keychain and the notification server are found through
//! the process environment (the session bus, HOME), which is set once before any thread or runtime starts.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use docktray::alerts::{metric, Alert, AlertTransition, Level, Target, TargetKind, TransitionKind};
use docktray::config::NotificationSettings;
use docktray::model::{ChannelState, ChannelStatus, Observation, Reporter};
use docktray::sinks::channels::Channels;
use docktray::{Config, Update};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};

use common::keyring::Keychain;
use common::notifications::{Markup, NotificationServer};
use common::receivers::{free_port, private_ca, Receiver};

const SMTP_USER: &str = "docktray";
const SMTP_PASSWORD: &str = "dtt-smtp-pw-5151";
const HOOK_SECRET: &str = "dtt-hook-secret-7e21";
const NTFY_TOKEN: &str = "tk_dtt0ntfy0token0000000000";
const ARRIVAL: Duration = Duration::from_secs(20);

#[test]
fn channels_deliver_to_real_receivers() {
    let keychain = Keychain::start();
    // Before any thread of ours exists: the keychain (HOME, XDG dirs, its bus) and dunst on the same bus.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keychain.bus_address());
    std::env::set_var("HOME", keychain.home());
    for (name, dir) in [
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        std::env::set_var(name, keychain.home().join(dir));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        email_goes_through_starttls_and_tls_with_the_keychain_password(&keychain, dir.path()).await;
        webhooks_are_signed_and_ntfy_gets_its_publish_format(&keychain, dir.path()).await;
        a_down_or_slow_receiver_leaves_the_desktop_on_time_and_is_retried(&keychain).await;
    });
}

fn docktray(keychain: &Keychain, config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    keychain.apply(&mut command);
    let mut child = command.spawn().expect("run docktray");
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let output = child.wait_with_output().expect("docktray output");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in [SMTP_PASSWORD, HOOK_SECRET, NTFY_TOKEN] {
        assert!(!all.contains(secret), "a secret was printed: {all}");
    }
    output
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_config(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("[history]\nenabled = false\n{text}")).expect("write config");
    path
}

fn settings(path: &Path) -> NotificationSettings {
    Config::load(Some(path))
        .expect("valid config")
        .notifications
}

fn change(kind: TransitionKind, level: Level, name: &str, id: u64) -> AlertTransition {
    let now = Utc::now();
    AlertTransition {
        kind,
        alert: Alert {
            id,
            target: Target {
                kind: TargetKind::Container,
                host: "local".into(),
                id: format!("id-{name}"),
                name: name.into(),
            },
            metric: metric::CONTAINER_CPU.into(),
            detail: None,
            level,
            value: Some(97.5),
            threshold: Some(90.0),
            unit: "%".into(),
            message: format!("CPU of {name} on local at 97.5 %"),
            started_at: now,
            resolved_at: (kind == TransitionKind::Resolved).then_some(now),
            acknowledged: false,
            top: Vec::new(),
            lines: Vec::new(),
        },
        previous_level: (kind == TransitionKind::Resolved).then_some(Level::Critical),
        at: now,
    }
}

/// The channels' reported states, by name, as the engine would keep them.
type States = Arc<Mutex<BTreeMap<String, ChannelStatus>>>;

fn reporter() -> (Reporter, States) {
    let (sender, mut receiver) = mpsc::channel(64);
    let states: States = Arc::default();
    let sink = states.clone();
    tokio::spawn(async move {
        while let Some(observation) = receiver.recv().await {
            if let Observation::Channel(status) = observation {
                sink.lock().unwrap().insert(status.name.clone(), *status);
            }
        }
    });
    (Reporter::new(sender), states)
}

async fn wait_state(
    states: &States,
    name: &str,
    what: &str,
    check: impl Fn(&ChannelStatus) -> bool,
) -> ChannelStatus {
    let deadline = Instant::now() + ARRIVAL;
    loop {
        if let Some(status) = states.lock().unwrap().get(name).filter(|s| check(s)) {
            return status.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached {what}: {:#?}",
            states.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn email_goes_through_starttls_and_tls_with_the_keychain_password(
    keychain: &Keychain,
    dir: &Path,
) {
    let (ca, cert, key) = private_ca(dir);
    let smtp = Receiver::start(&[
        "smtp",
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--user",
        SMTP_USER,
        "--password",
        SMTP_PASSWORD,
    ]);
    let email = |security: &str, port: u16| {
        format!(
            "[notifications.email]\nserver = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\n\
             ca_file = \"{}\"\nusername = \"{SMTP_USER}\"\nfrom = \"Docktray <docktray@example.test>\"\n\
             to = [\"ops@example.test\"]\ngroup_window = \"200ms\"\nretries = 0\ntimeout = \"10s\"\n",
            ca.display()
        )
    };
    let starttls = write_config(
        dir,
        "email-starttls.toml",
        &email("starttls", smtp.port("starttls")),
    );

    // No password stored yet: the failure says how to store one, and nothing is sent.
    let out = docktray(keychain, &starttls, &["notify", "test", "email"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("docktray notify secret email"),
        "{}",
        text(&out)
    );

    let out = docktray(
        keychain,
        &starttls,
        &["notify", "secret", "email"],
        Some(SMTP_PASSWORD),
    );
    assert!(out.status.success(), "{}", text(&out));
    // An independent client reads it from the real keychain.
    let looked_up =
        keychain.secret_tool(&["lookup", "service", "docktray-notify", "username", "email"]);
    assert_eq!(
        String::from_utf8_lossy(&looked_up.stdout).trim(),
        SMTP_PASSWORD
    );

    let out = docktray(keychain, &starttls, &["notify", "test", "email"], None);
    assert!(out.status.success(), "{}", text(&out));
    let got = smtp.wait_for(1, ARRIVAL);
    assert_eq!(got[0]["mode"], "starttls", "{got:#?}");
    assert_eq!(got[0]["tls"], true, "STARTTLS before the login: {got:#?}");
    assert_eq!(
        got[0]["subject"],
        "[Docktray] TEST: Docktray test notification"
    );
    assert_eq!(got[0]["level"], "info");
    assert_eq!(got[0]["rcpt_tos"][0], "ops@example.test");

    // An alert: the subject and the level header say what it is.
    let (reporter, states) = reporter();
    let (updates, _) = broadcast::channel(16);
    let channels = Channels::start(&settings(&starttls), updates.subscribe(), reporter);
    updates
        .send(Update::Alert(Box::new(change(
            TransitionKind::Raised,
            Level::Critical,
            "web",
            1,
        ))))
        .expect("a subscriber");
    let got = smtp.wait_for(2, ARRIVAL);
    assert_eq!(
        got[1]["subject"], "[Docktray] CRITICAL: web on local: CPU critical",
        "{got:#?}"
    );
    assert_eq!(got[1]["level"], "critical");
    assert!(
        got[1]["body"].as_str().unwrap().contains("CPU 97.5 %"),
        "{got:#?}"
    );
    let status = wait_state(&states, "email", "one sent", |s| s.sent == 1).await;
    assert_eq!(status.state, ChannelState::Ok);

    // Implicit TLS ("SMTPS") on the other port, from the window's "Send test" path.
    let tls = write_config(dir, "email-tls.toml", &email("tls", smtp.port("tls")));
    channels.reconfigure(&settings(&tls));
    channels.test("email").await.expect("sent over TLS");
    let got = smtp.wait_for(3, ARRIVAL);
    assert_eq!(got[2]["mode"], "tls", "{got:#?}");

    // A wrong password: the failure is shown (in words, without the password) and nothing arrives.
    let out = docktray(
        keychain,
        &tls,
        &["notify", "secret", "email"],
        Some("not-the-password"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let err = channels.test("email").await.expect_err("refused");
    assert!(err.to_string().contains("SMTP"), "{err}");
    assert!(!err.to_string().contains("not-the-password"), "{err}");
    let status = wait_state(&states, "email", "failing", |s| {
        s.state == ChannelState::Failing
    })
    .await;
    assert!(status.last_error.is_some());
    assert_eq!(smtp.received().len(), 3);
    channels.stop().await;
}

async fn webhooks_are_signed_and_ntfy_gets_its_publish_format(keychain: &Keychain, dir: &Path) {
    let hook = Receiver::start(&["webhook", "--secret", HOOK_SECRET]);
    let ntfy = Receiver::start(&["ntfy", "--token", NTFY_TOKEN]);
    let config = write_config(
        dir,
        "http.toml",
        &format!(
            "[[notifications.webhooks]]\nname = \"ops\"\nurl = \"http://127.0.0.1:{}/hooks/docktray\"\nsign = true\n\
             headers = {{ X-Team = \"ops\" }}\ngroup_window = \"300ms\"\n\
             [notifications.ntfy]\nserver = \"http://127.0.0.1:{}\"\ntopic = \"dtt-alerts\"\ntoken = true\n\
             min_level = \"info\"\ngroup_window = \"300ms\"\n",
            hook.port("http"),
            ntfy.port("http")
        ),
    );
    for (channel, secret) in [("webhook:ops", HOOK_SECRET), ("ntfy", NTFY_TOKEN)] {
        let out = docktray(
            keychain,
            &config,
            &["notify", "secret", channel],
            Some(secret),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = docktray(keychain, &config, &["notify", "list"], None);
    assert!(
        text(&out).contains("webhook:ops") && text(&out).contains("secret stored"),
        "{}",
        text(&out)
    );

    let (reporter, states) = reporter();
    let (updates, _) = broadcast::channel(16);
    let channels = Channels::start(&settings(&config), updates.subscribe(), reporter);
    // Two changes within the grouping window: one request each.
    for (level, name, id) in [(Level::Critical, "web", 11), (Level::Warning, "db", 12)] {
        updates
            .send(Update::Alert(Box::new(change(
                TransitionKind::Raised,
                level,
                name,
                id,
            ))))
            .expect("a subscriber");
    }
    let got = hook.wait_for(1, ARRIVAL);
    let request = &got[0];
    assert_eq!(request["signature_valid"], true, "{request:#}");
    assert_eq!(request["path"], "/hooks/docktray");
    assert_eq!(request["content_type"], "application/json");
    assert_eq!(request["headers"]["x-team"], "ops");
    let body = &request["body"];
    assert_eq!(body["schema"], "docktray.notification/1");
    assert_eq!(body["level"], "critical");
    assert_eq!(body["test"], false);
    assert_eq!(body["title"], "2 alert changes on local");
    let changes = body["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["kind"], "raised");
    assert_eq!(changes[0]["alert"]["target"]["name"], "web");
    assert_eq!(changes[1]["alert"]["level"], "warning");

    let got = ntfy.wait_for(1, ARRIVAL);
    let published = &got[0];
    assert_eq!(published["form"], "json", "{published:#}");
    assert_eq!(published["authorized"], true);
    assert_eq!(published["topic"], "dtt-alerts");
    assert_eq!(published["priority"], 5);
    assert_eq!(published["title"], "2 alert changes on local");
    assert!(published["tags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("rotating_light")));
    assert!(
        published["message"]
            .as_str()
            .unwrap()
            .contains("web on local"),
        "{published:#}"
    );

    // A resolution is good news: low priority.
    updates
        .send(Update::Alert(Box::new(change(
            TransitionKind::Resolved,
            Level::Resolved,
            "web",
            11,
        ))))
        .expect("a subscriber");
    let got = ntfy.wait_for(2, ARRIVAL);
    assert_eq!(got[1]["priority"], 2, "{got:#?}");
    assert!(
        got[1]["title"].as_str().unwrap().contains("back to normal"),
        "{got:#?}"
    );
    wait_state(&states, "webhook:ops", "two sent", |s| s.sent == 2).await;
    wait_state(&states, "ntfy", "two sent", |s| s.sent == 2).await;

    // `docktray notify test` through the webhook, signed too.
    let out = docktray(keychain, &config, &["notify", "test", "ops"], None);
    assert!(out.status.success(), "{}", text(&out));
    let got = hook.wait_for(3, ARRIVAL);
    assert_eq!(got[2]["body"]["test"], true);
    assert_eq!(got[2]["signature_valid"], true);
    // A wrong token is refused by the server; the failure says so.
    let out = docktray(
        keychain,
        &config,
        &["notify", "secret", "ntfy"],
        Some("tk_wrong"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = docktray(keychain, &config, &["notify", "test", "ntfy"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("403"), "{}", text(&out));
    channels.stop().await;
}

async fn a_down_or_slow_receiver_leaves_the_desktop_on_time_and_is_retried(keychain: &Keychain) {
    let server = NotificationServer::start_at(&keychain.bus_address(), Markup::Full);
    let down_port = free_port();
    let slow = Receiver::start(&["webhook", "--delay", "30"]);
    let mut notifications = NotificationSettings {
        group_window: Duration::from_millis(200),
        ..NotificationSettings::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    notifications.webhooks = settings(&write_config(
        dir.path(),
        "resilience.toml",
        &format!(
            "[[notifications.webhooks]]\nname = \"down\"\nurl = \"http://127.0.0.1:{down_port}/\"\n\
             group_window = \"100ms\"\nretries = 8\ntimeout = \"2s\"\n\
             [[notifications.webhooks]]\nname = \"slow\"\nurl = \"http://127.0.0.1:{}/\"\n\
             group_window = \"100ms\"\nretries = 1\ntimeout = \"1s\"\n",
            slow.port("http")
        ),
    ))
    .webhooks;
    let (reporter, states) = reporter();
    let (updates, _) = broadcast::channel(64);
    let (_paused, paused_rx) = watch::channel(false);
    let desktop = docktray::sinks::notify::spawn_notifier(
        notifications.clone(),
        updates.subscribe(),
        paused_rx,
    );
    let channels = Channels::start(&notifications, updates.subscribe(), reporter);
    updates
        .send(Update::Alert(Box::new(change(
            TransitionKind::Raised,
            Level::Critical,
            "api",
            21,
        ))))
        .expect("subscribers");

    // The desktop notification arrives while one receiver is down and the other still holds its request.
    let shown = server.wait_for_async(1, ARRIVAL).await;
    assert!(shown[0].summary.contains("api on local"), "{shown:#?}");
    wait_state(&states, "webhook:down", "a failed attempt", |s| {
        s.state == ChannelState::Retrying
    })
    .await;
    assert_eq!(
        states.lock().unwrap()["webhook:slow"].sent,
        0,
        "the slow receiver has not answered yet"
    );
    // Nothing waits for them: a second alert is on the desktop too.
    updates
        .send(Update::Alert(Box::new(change(
            TransitionKind::Raised,
            Level::Warning,
            "cache",
            22,
        ))))
        .expect("subscribers");
    let shown = server.wait_for_async(2, ARRIVAL).await;
    assert!(shown[1].summary.contains("cache on local"), "{shown:#?}");

    // The receiver comes up: the retries deliver what was waiting.
    let up = Receiver::start(&["webhook", "--port", &down_port.to_string()]);
    let got = up.wait_for(1, Duration::from_secs(60));
    let titles: Vec<&str> = got
        .iter()
        .filter_map(|r| r["body"]["title"].as_str())
        .collect();
    assert!(
        titles.iter().any(|t| t.contains("api on local")),
        "{got:#?}"
    );
    wait_state(
        &states,
        "webhook:down",
        "delivered after the retries",
        |s| s.state == ChannelState::Ok && s.sent >= 1,
    )
    .await;
    // The slow one timed out, was tried again, and gave the message up: shown as failing.
    let failing = wait_state(&states, "webhook:slow", "failing", |s| {
        s.state == ChannelState::Failing
    })
    .await;
    assert!(failing.dropped >= 1, "{failing:#?}");
    assert!(
        slow.received().len() >= 2,
        "retried: {:#?}",
        slow.received()
    );
    channels.stop().await;
    drop(updates);
    let _ = desktop.await;
}
