//! Desktop notifications end to end: alert transitions go into the notifier through a broadcast channel, as the
//! engine publishes them, and come out as `Notify` calls on a real D-Bus session bus (`tests/common/notifications.rs`:
//! a private `dbus-daemon` with dunst on it, and a D-Bus monitor that records what dunst was sent).
//!
//! Why ONE test function: notify-rust (and zbus under it) find the session bus through the process environment
//! (`DBUS_SESSION_BUS_ADDRESS`), read at each send. Changing the environment while other threads may read it is
//! a data race (`set_var` is `unsafe` from edition 2024 on for that reason), and parallel tests would need
//! different buses or server states ("no server" versus "server"). So this file has a single `#[test]` that sets
//! the variable once, before it starts any thread or runtime, and runs the scenarios one after another on one bus.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use docktray::alerts::{metric, Alert, AlertTransition, Level, Target, TargetKind, TransitionKind};
use docktray::config::NotificationSettings;
use docktray::sinks::notify::spawn_notifier;
use docktray::Update;
use tokio::sync::{broadcast, watch};

use common::notifications::{Markup, NotificationServer, Recorded, TestBus};

/// Long enough for the notifier to gather a batch and send it, short enough to keep the test quick.
const WINDOW: Duration = Duration::from_millis(300);
const ARRIVAL: Duration = Duration::from_secs(10);

#[test]
fn notifier_over_a_real_session_bus() {
    let bus = TestBus::start();
    // Before any thread of ours exists (see the file comment).
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", bus.address());
    let logs = capture_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let server = no_server_is_reported_once_then_a_new_server_is_used(&bus, &logs).await;
        raised_escalated_resolved_arrive_with_summary_body_and_urgency(&server).await;
        a_burst_becomes_one_grouped_notification(&server).await;
        quiet_hours_min_level_and_pause_suppress(&server, &logs).await;
        drop(server);
        bodies_are_plain_text_or_escaped_markup_as_the_server_supports(&bus).await;
        a_click_on_a_notification_gives_the_route_of_its_target(&bus).await;
    });
}

async fn a_click_on_a_notification_gives_the_route_of_its_target(bus: &TestBus) {
    let server = NotificationServer::start_on(bus);
    let (updates, receiver) = broadcast::channel(64);
    let (_paused, paused_rx) = watch::channel(false);
    let (clicks, mut clicked) = broadcast::channel(4);
    let (change_settings, settings_rx) = watch::channel(settings());
    let task = docktray::sinks::notify::spawn_notifier_with_clicks(
        settings_rx,
        receiver,
        paused_rx,
        clicks,
    );
    updates
        .send(Update::Alert(Box::new(raised(
            50,
            container("web"),
            Level::Critical,
            99.0,
        ))))
        .expect("subscribed");
    let got = server.wait_for_async(1, ARRIVAL).await;
    assert!(
        got[0].actions.iter().any(|a| a == "default"),
        "an Open action is offered: {:?}",
        got[0]
    );
    // The user clicks it: dunst invokes its default action and tells Docktray with `ActionInvoked`.
    server.click(0);
    let route = tokio::time::timeout(ARRIVAL, clicked.recv())
        .await
        .expect("a click arrives")
        .expect("open");
    assert_eq!(route, "container:local/id-web");
    // A click on another application's notification leads nowhere.
    server.close_top();
    let connection = zbus::Connection::session().await.expect("test bus");
    let hints: HashMap<&str, zbus::Variant> = HashMap::new();
    connection
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "Notify",
            &(
                "other-app",
                0u32,
                "",
                "Not Docktray's",
                "",
                vec!["default", "Open"],
                hints,
                0i32,
            ),
        )
        .await
        .expect("another application's notification is shown");
    let got = server.wait_for_async(2, ARRIVAL).await;
    assert_eq!(got[1].app_name, "other-app");
    server.click(0);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), clicked.recv())
            .await
            .is_err()
    );
    server.clear();

    // Settings changed while running (the window's Save) apply to the next batch, with no restart.
    change_settings.send_replace(NotificationSettings {
        enabled: false,
        ..settings()
    });
    updates
        .send(Update::Alert(Box::new(raised(
            51,
            container("db"),
            Level::Critical,
            97.0,
        ))))
        .expect("subscribed");
    tokio::time::sleep(WINDOW * 3).await;
    assert_eq!(server.received().len(), 0, "nothing shown while turned off");
    change_settings.send_replace(NotificationSettings {
        min_level: "critical".to_owned(),
        ..settings()
    });
    for (id, name, level) in [
        (52, "cache", Level::Warning),
        (53, "queue", Level::Critical),
    ] {
        updates
            .send(Update::Alert(Box::new(raised(
                id,
                container(name),
                level,
                98.0,
            ))))
            .expect("subscribed");
        // Separate batches, so each is judged on its own.
        tokio::time::sleep(WINDOW * 2).await;
    }
    let got = server.wait_for_async(1, ARRIVAL).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].summary.contains("queue"), "{:?}", got[0]);
    tokio::time::sleep(WINDOW * 2).await;
    assert_eq!(
        server.received().len(),
        1,
        "the warning is below the new minimum level, and the alert raised while off is not shown late"
    );
    drop(updates);
    let _ = tokio::time::timeout(ARRIVAL, task).await;
}

async fn no_server_is_reported_once_then_a_new_server_is_used(
    bus: &TestBus,
    logs: &Logs,
) -> NotificationServer {
    let notifier = Harness::start(settings());
    notifier.send(raised(1, container("web"), Level::Critical, 95.0));
    logs.wait_for("desktop notifications are not shown", 1)
        .await;
    notifier.send(raised(2, container("api"), Level::Critical, 96.0));
    logs.wait_for("notification server still unreachable", 1)
        .await;
    let text = logs.text();
    assert_eq!(
        text.matches("desktop notifications are not shown").count(),
        1,
        "one warning for the outage, not one per batch:\n{text}"
    );
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("DBUS_SESSION_BUS_ADDRESS"),
        "the warning says how to fix it:\n{text}"
    );
    assert!(
        !notifier.task.is_finished(),
        "the notifier keeps running without a server"
    );

    let server = NotificationServer::start_on(bus);
    notifier.send(raised(3, container("db"), Level::Critical, 97.0));
    let received = server.wait_for_async(1, ARRIVAL).await;
    assert_eq!(received[0].summary, "db on local: CPU critical");
    logs.wait_for("delivered again", 1).await;
    notifier.stop().await;
    assert_eq!(server.received().len(), 1, "{:#?}", server.received());
    server.clear();
    server
}

async fn raised_escalated_resolved_arrive_with_summary_body_and_urgency(
    server: &NotificationServer,
) {
    let notifier = Harness::start(settings());

    notifier.send(raised(10, container("web"), Level::Warning, 75.04));
    let got = server.wait_for_async(1, ARRIVAL).await;
    expect(
        &got[0],
        "web on local: CPU warning",
        "CPU 75.0 % (warning above 70 %)",
        1,
        "dialog-warning",
        10_000,
    );

    let mut escalated = raised(10, container("web"), Level::Critical, 93.5);
    escalated.kind = TransitionKind::Escalated;
    escalated.previous_level = Some(Level::Warning);
    notifier.send(escalated);
    let got = server.wait_for_async(2, ARRIVAL).await;
    expect(
        &got[1],
        "web on local: CPU now critical",
        "CPU 93.5 % (critical above 90 %)",
        2,
        "dialog-error",
        0,
    );

    let mut resolved = raised(10, container("web"), Level::Resolved, 12.0);
    resolved.kind = TransitionKind::Resolved;
    resolved.previous_level = Some(Level::Critical);
    resolved.alert.message = "CPU of web on local back to 12.0 % (below 63.0 %)".into();
    notifier.send(resolved);
    let got = server.wait_for_async(3, ARRIVAL).await;
    expect(
        &got[2],
        "web on local: CPU back to normal",
        "CPU of web on local back to 12.0 % (below 63.0 %)",
        0,
        "dialog-information",
        5_000,
    );

    let mut host_cpu = raised(11, host("local"), Level::Critical, 97.0);
    host_cpu.alert.metric = metric::HOST_CPU.into();
    host_cpu.alert.threshold = Some(95.0);
    host_cpu.alert.top = vec![("db".into(), 61.0), ("web".into(), 20.3)];
    notifier.send(host_cpu);
    let got = server.wait_for_async(4, ARRIVAL).await;
    expect(
        &got[3],
        "local: CPU critical",
        "CPU 97.0 % (critical above 95 %)\nTop: db 61.0 %, web 20.3 %",
        2,
        "dialog-error",
        0,
    );
    for notification in &got {
        assert_eq!(notification.app_name, "Docktray");
        assert_eq!(notification.replaces_id, 0);
        assert!(notification.hint_names.contains(&"urgency".to_owned()));
    }
    notifier.stop().await;
    assert_eq!(
        server.received().len(),
        4,
        "one notification per transition: {:#?}",
        server.received()
    );
    server.clear();
}

async fn a_burst_becomes_one_grouped_notification(server: &NotificationServer) {
    let notifier = Harness::start(settings());
    for i in 0..9 {
        notifier.send(raised(
            20 + i,
            container(&format!("c{i}")),
            Level::Warning,
            80.0,
        ));
    }
    notifier.send(raised(29, container("db"), Level::Critical, 99.0));
    // Stopping waits for the notifier to flush and end: everything it would send has arrived.
    notifier.stop().await;
    let got = server.received();
    assert_eq!(got.len(), 1, "exactly one grouped notification: {got:#?}");
    let grouped = &got[0];
    assert_eq!(grouped.summary, "10 alerts on local");
    assert_eq!(grouped.urgency, Some(2), "urgency of the worst");
    let lines: Vec<&str> = grouped.body.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"db on local: CPU 99.0 % (critical above 90 %)")
    );
    assert_eq!(lines.last(), Some(&"and 6 more"));
    assert_eq!(lines.len(), 5, "{}", grouped.body);
    server.clear();
}

async fn quiet_hours_min_level_and_pause_suppress(server: &NotificationServer, logs: &Logs) {
    // Quiet hours around now (the range may span midnight, which the notifier handles).
    let now = chrono::Local::now().time();
    let quiet = format!(
        "{}-{}",
        (now - chrono::Duration::minutes(5)).format("%H:%M"),
        (now + chrono::Duration::minutes(5)).format("%H:%M")
    );
    let notifier = Harness::start(NotificationSettings {
        quiet_hours: quiet.clone(),
        ..settings()
    });
    notifier.send(raised(30, container("web"), Level::Critical, 99.0));
    notifier.stop().await;
    assert!(
        server.received().is_empty(),
        "quiet hours {quiet}: {:#?}",
        server.received()
    );

    let notifier = Harness::start(NotificationSettings {
        min_level: "critical".into(),
        ..settings()
    });
    notifier.send(raised(31, container("web"), Level::Warning, 75.0));
    notifier.send(raised(32, container("db"), Level::Critical, 99.0));
    notifier.stop().await;
    let got = server.received();
    assert_eq!(got.len(), 1, "warning below min_level critical: {got:#?}");
    assert_eq!(got[0].summary, "db on local: CPU critical");
    server.clear();

    let notifier = Harness::start(settings());
    notifier.paused.send_replace(true);
    notifier.send(raised(33, container("web"), Level::Critical, 99.0));
    logs.wait_for("notifications paused: batch dropped", 1)
        .await;
    assert!(
        server.received().is_empty(),
        "paused: {:#?}",
        server.received()
    );
    notifier.paused.send_replace(false);
    notifier.send(raised(34, container("api"), Level::Critical, 99.0));
    let got = server.wait_for_async(1, ARRIVAL).await;
    assert_eq!(
        got[0].summary, "api on local: CPU critical",
        "nothing queued while paused"
    );
    notifier.stop().await;
    assert_eq!(server.received().len(), 1);
    server.clear();
}

async fn bodies_are_plain_text_or_escaped_markup_as_the_server_supports(bus: &TestBus) {
    let evil = "<img src=x onerror=alert(1)>";
    let mut host_cpu = raised(40, host("local"), Level::Critical, 97.0);
    host_cpu.alert.metric = metric::HOST_CPU.into();
    host_cpu.alert.top = vec![(evil.into(), 50.0), ("a&b".into(), 10.0)];

    // dunst configured with `markup = no` does not advertise `body-markup` and shows text verbatim, so plain
    // text is sent.
    let server = NotificationServer::start_at(&bus.address(), Markup::No);
    let notifier = Harness::start(settings());
    notifier.send(host_cpu.clone());
    let got = server.wait_for_async(1, ARRIVAL).await;
    assert!(
        got[0]
            .body
            .ends_with(&format!("Top: {evil} 50.0 %, a&b 10.0 %")),
        "{}",
        got[0].body
    );
    notifier.stop().await;
    drop(server);

    // dunst's default (`markup = full`) advertises `body-markup`: the same text arrives escaped and is shown
    // literally.
    let server = NotificationServer::start_on(bus);
    let notifier = Harness::start(settings());
    notifier.send(host_cpu);
    let got = server.wait_for_async(1, ARRIVAL).await;
    assert!(
        got[0]
            .body
            .ends_with("Top: &lt;img src=x onerror=alert(1)&gt; 50.0 %, a&amp;b 10.0 %"),
        "{}",
        got[0].body
    );
    notifier.stop().await;
}

fn expect(got: &Recorded, summary: &str, body: &str, urgency: u8, icon: &str, expire_timeout: i32) {
    assert_eq!(got.summary, summary, "{got:#?}");
    assert_eq!(got.body, body, "{got:#?}");
    assert_eq!(got.urgency, Some(urgency), "{got:#?}");
    assert_eq!(got.app_icon, icon, "{got:#?}");
    assert_eq!(got.expire_timeout, expire_timeout, "{got:#?}");
}

/// A notifier fed through a broadcast channel, as the engine feeds it.
struct Harness {
    updates: broadcast::Sender<Update>,
    paused: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Harness {
    fn start(settings: NotificationSettings) -> Self {
        let (updates, receiver) = broadcast::channel(64);
        let (paused, paused_rx) = watch::channel(false);
        let task = spawn_notifier(settings, receiver, paused_rx);
        Self {
            updates,
            paused,
            task,
        }
    }

    fn send(&self, change: AlertTransition) {
        self.updates
            .send(Update::Alert(Box::new(change)))
            .expect("the notifier is subscribed");
    }

    /// Closing the stream ends the notifier (after it flushed its batch).
    async fn stop(self) {
        drop(self.updates);
        tokio::time::timeout(ARRIVAL, self.task)
            .await
            .expect("the notifier ends when the update stream closes")
            .expect("the notifier did not panic");
    }
}

fn settings() -> NotificationSettings {
    NotificationSettings {
        group_window: WINDOW,
        ..NotificationSettings::default()
    }
}

fn container(name: &str) -> Target {
    Target {
        kind: TargetKind::Container,
        host: "local".into(),
        id: format!("id-{name}"),
        name: name.into(),
    }
}

fn host(name: &str) -> Target {
    Target {
        kind: TargetKind::Host,
        host: name.into(),
        id: name.into(),
        name: name.into(),
    }
}

/// A CPU alert raised at `level` (threshold 90 for critical, 70 for warning).
fn raised(id: u64, target: Target, level: Level, value: f64) -> AlertTransition {
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    AlertTransition {
        kind: TransitionKind::Raised,
        alert: Alert {
            id,
            target,
            metric: metric::CONTAINER_CPU.into(),
            detail: None,
            level,
            value: Some(value),
            threshold: Some(if level == Level::Critical { 90.0 } else { 70.0 }),
            unit: "%".into(),
            message: format!("alert {id}"),
            started_at: at,
            resolved_at: None,
            acknowledged: false,
            top: Vec::new(),
            lines: Vec::new(),
        },
        previous_level: None,
        at,
    }
}

/// Everything the process logs through tracing, for the "said once" check.
#[derive(Clone)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Waits until `needle` was logged `count` times in all: the notifier's own word that it handled a batch,
    /// so "nothing was shown" is checked after the decision rather than after a guessed sleep.
    async fn wait_for(&self, needle: &str, count: usize) {
        let deadline = std::time::Instant::now() + ARRIVAL;
        while self.text().matches(needle).count() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "`{needle}` not logged {count} times within {ARRIVAL:?}:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        // Also shown when the test fails (captured by the harness otherwise).
        eprint!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A process-wide subscriber (the notifier logs from the runtime's worker threads, where a thread-local one
/// would not see it); fine here because this file has one test.
fn capture_logs() -> Logs {
    let logs = Logs(Arc::new(Mutex::new(Vec::new())));
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("docktray=debug"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    logs
}
