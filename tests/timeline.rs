//! The timeline on the real Docker engine, through the monitor (engine, recorder, history file): an OOM kill
//! recorded and alerted as such, an exit code kept, a `docker kill` recorded with its signal and not as OOM,
//! volumes, networks and images coming and going, a restart loop alerted once and resolved when the container
//! is removed, actions recorded with who asked and how they ended, and events from while Docktray was not
//! running back-filled once.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use docktray::alerts::{metric, AlertTransition, TransitionKind};
use docktray::history::TimelineQuery;
use docktray::model::{Actor, TimelineRow};
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::{Action, Config, Update};
use tokio::sync::broadcast::Receiver;

const WAIT: Duration = Duration::from_secs(60);

fn config(history: &Path, extra: &str) -> Config {
    let text = format!(
        "interval = \"500ms\"\n[history]\npath = \"{}\"\n{extra}",
        history.display()
    );
    Config::parse(&text, Path::new("timeline-test.toml")).expect("valid test config")
}

async fn start(config: Config) -> Monitor {
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: true,
            notifications: false,
        },
    )
    .expect("monitor starts");
    assert!(
        monitor.engine().ready(Duration::from_secs(20)).await,
        "no first snapshot"
    );
    monitor
}

/// The history's timeline rows for `query`, oldest first.
fn rows(monitor: &Monitor, query: &TimelineQuery) -> Vec<TimelineRow> {
    let history = monitor.history().expect("history on");
    history.flush().expect("flush");
    history.timeline(query).expect("timeline").rows
}

/// The container's engine events (not audit entries), oldest first.
fn events_of(monitor: &Monitor, name: &str) -> Vec<TimelineRow> {
    rows(
        monitor,
        &TimelineQuery {
            container: Some(name.to_owned()),
            ..TimelineQuery::default()
        },
    )
    .into_iter()
    .filter(|row| !row.is_audit())
    .collect()
}

/// Waits until the history holds an event of `kind` for container `name`.
async fn wait_event(monitor: &Monitor, name: &str, kind: &str) -> TimelineRow {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = events_of(monitor, name)
            .into_iter()
            .find(|e| e.kind == kind)
        {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} event stored for {name}: {:?}",
            events_of(monitor, name)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Collects the alert changes of `container_id` until `until` holds for them (or the time runs out).
async fn transitions_for(
    rx: &mut Receiver<Update>,
    container_id: &str,
    seen: &mut Vec<AlertTransition>,
    timeout: Duration,
    until: impl Fn(&[AlertTransition]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !until(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => return,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(err)) => panic!("update stream ended: {err}"),
            Ok(Ok(Update::Alert(change))) if change.alert.target.id == container_id => {
                seen.push(*change)
            }
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_exit_code_and_kill_signal_are_recorded_and_the_oom_alerted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let monitor = start(config(&dir.path().join("history.sqlite"), "")).await;
    let mut rx = monitor.engine().subscribe();

    // The shell keeps 64 MiB in a variable under a 16 MiB limit (no swap to spill to): the OOM killer ends it.
    let hog = TestContainer::run(
        "oomhog",
        &["--memory", "16m", "--memory-swap", "16m"],
        &[
            "sh",
            "-c",
            "sleep 1; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    let three = TestContainer::run("exit3", &[], &["sh", "-c", "sleep 1; exit 3"]);
    let victim = TestContainer::run("killed", &[], &["sleep", "300"]);
    wait_event(&monitor, &victim.name, "start").await;
    docker(&["kill", &victim.name]);

    wait_event(&monitor, &hog.name, "oom").await;
    let died = wait_event(&monitor, &hog.name, "die").await;
    assert_eq!(died.exit_code, Some(137));
    assert_eq!(died.oom, Some(true), "{died:?}");
    assert_eq!(died.container.as_deref(), Some(hog.name.as_str()));
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.OOMKilled}}", &hog.name]),
        "true"
    );

    let died = wait_event(&monitor, &three.name, "die").await;
    assert_eq!((died.exit_code, died.oom), (Some(3), Some(false)));
    assert_eq!(died.id.as_deref(), Some(three.id.as_str()));
    assert_eq!(died.host, "local");

    let kill = wait_event(&monitor, &victim.name, "kill").await;
    assert_eq!(kill.signal.as_deref(), Some("9"));
    let died = wait_event(&monitor, &victim.name, "die").await;
    assert_eq!(died.exit_code, Some(137));
    assert_eq!(
        died.oom,
        Some(false),
        "a kill by signal is not out of memory"
    );
    assert!(
        !events_of(&monitor, &victim.name)
            .iter()
            .any(|e| e.kind == "oom"),
        "no oom event for a signal kill"
    );

    // The OOM kill is alerted, named for the container; the signal kill raises no OOM alert.
    let mut seen = Vec::new();
    transitions_for(&mut rx, &hog.id, &mut seen, WAIT, |seen| {
        seen.iter().any(|t| t.alert.metric == metric::OOM_KILLED)
    })
    .await;
    let alert = seen
        .iter()
        .find(|t| t.alert.metric == metric::OOM_KILLED)
        .expect("OOM alert raised");
    assert_eq!(alert.kind, TransitionKind::Raised);
    assert!(
        alert.alert.message.contains(&hog.name) && alert.alert.message.contains("out of memory"),
        "{}",
        alert.alert.message
    );
    let victim_oom: Vec<_> = monitor
        .engine()
        .snapshot()
        .alerts
        .into_iter()
        .filter(|a| a.target.id == victim.id && a.metric == metric::OOM_KILLED)
        .collect();
    assert!(victim_oom.is_empty(), "{victim_oom:?}");
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_volumes_and_networks_are_kept_where_the_engine_sends_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let monitor = start(config(&dir.path().join("history.sqlite"), "")).await;
    let volume = unique("vol");
    let network = unique("net");
    let tag = format!("{}:timeline", unique("img"));
    docker(&["volume", "create", &volume]);
    docker(&["volume", "rm", &volume]);
    docker(&["network", "create", &network]);
    docker(&["network", "rm", &network]);
    docker(&["tag", &image(), &tag]);
    docker(&["rmi", &tag]);

    let wanted = [
        ("volume_create", volume.as_str()),
        ("volume_destroy", volume.as_str()),
        ("network_create", network.as_str()),
        ("network_destroy", network.as_str()),
        ("image_tag", tag.as_str()),
        ("image_untag", ""),
    ];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = rows(&monitor, &TimelineQuery::default());
        let missing: Vec<_> = wanted
            .iter()
            .filter(|(kind, name)| {
                !all.iter().any(|row| {
                    row.kind == *kind && (name.is_empty() || row.object.as_deref() == Some(*name))
                })
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not recorded: {missing:?} in {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The scope filter and the text filter find the volume's two events, and only them.
    let volumes = rows(
        &monitor,
        &TimelineQuery {
            kind: Some("volume".into()),
            text: Some(volume.clone()),
            ..TimelineQuery::default()
        },
    );
    let kinds: Vec<&str> = volumes.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["volume_create", "volume_destroy"], "{volumes:?}");
    assert!(volumes
        .iter()
        .all(|r| r.host == "local" && r.container.is_none()));
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loop_alerts_once_and_is_resolved_when_the_container_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let monitor = start(config(
        &dir.path().join("history.sqlite"),
        "[alerts]\nrestart_loop_count = 3\nrestart_loop_window = \"2m\"\n",
    ))
    .await;
    let mut rx = monitor.engine().subscribe();
    let looping = TestContainer::run(
        "loop",
        &["--restart", "always"],
        &["sh", "-c", "sleep 1; exit 0"],
    );
    let mut seen = Vec::new();
    transitions_for(&mut rx, &looping.id, &mut seen, WAIT, |seen| {
        seen.iter().any(|t| t.alert.metric == metric::RESTART_LOOP)
    })
    .await;
    let raised = seen
        .iter()
        .find(|t| t.alert.metric == metric::RESTART_LOOP)
        .expect("restart-loop alert raised")
        .clone();
    assert_eq!(raised.kind, TransitionKind::Raised);
    assert!(
        raised.alert.message.contains(&looping.name),
        "{}",
        raised.alert.message
    );
    // It keeps restarting (two more starts in the timeline), and is not alerted again.
    let starts = |monitor: &Monitor| {
        events_of(monitor, &looping.name)
            .iter()
            .filter(|e| e.kind == "start")
            .count()
    };
    let starts_then = starts(&monitor);
    let deadline = tokio::time::Instant::now() + WAIT;
    while starts(&monitor) < starts_then + 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "it stopped restarting"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    transitions_for(
        &mut rx,
        &looping.id,
        &mut seen,
        Duration::from_millis(500),
        |_| false,
    )
    .await;
    let loop_alerts: Vec<_> = seen
        .iter()
        .filter(|t| t.alert.metric == metric::RESTART_LOOP)
        .collect();
    assert_eq!(loop_alerts.len(), 1, "raised once: {loop_alerts:?}");

    docker(&["rm", "-f", &looping.id]);
    transitions_for(&mut rx, &looping.id, &mut seen, WAIT, |seen| {
        seen.iter()
            .any(|t| t.alert.metric == metric::RESTART_LOOP && t.kind == TransitionKind::Resolved)
    })
    .await;
    let resolved = seen
        .iter()
        .find(|t| t.alert.metric == metric::RESTART_LOOP && t.kind == TransitionKind::Resolved)
        .expect("resolved when removed");
    assert!(
        resolved.alert.message.contains("removed"),
        "{}",
        resolved.alert.message
    );
    wait_event(&monitor, &looping.name, "destroy").await;
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_are_recorded_with_who_asked_and_the_engines_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let monitor = start(config(&dir.path().join("history.sqlite"), "")).await;
    let ctr = TestContainer::run("acted", &[], &["sleep", "300"]);
    wait_for(monitor.engine(), WAIT, "listed", |s| {
        find(s, &ctr.name).cloned()
    })
    .await;
    monitor
        .engine()
        .act(&ctr.name, Action::Restart, &Actor::window())
        .await
        .expect("restart");
    let missing = unique("absent");
    let refused = monitor
        .engine()
        .act(&missing, Action::Start, &Actor::api("deploy-bot"))
        .await
        .expect_err("no such container");

    let audit_query = TimelineQuery {
        audit_only: true,
        ..TimelineQuery::default()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    let entries = loop {
        let entries: Vec<TimelineRow> = rows(&monitor, &audit_query)
            .into_iter()
            .filter(|r| {
                r.container.as_deref() == Some(ctr.name.as_str())
                    || r.container.as_deref() == Some(missing.as_str())
            })
            .collect();
        if entries.len() == 2 {
            break entries;
        }
        assert!(tokio::time::Instant::now() < deadline, "{entries:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let done = &entries[0];
    assert_eq!(
        (
            done.kind.as_str(),
            done.source.as_deref(),
            done.action.as_deref(),
            done.result.as_deref(),
            done.host.as_str()
        ),
        (
            "audit",
            Some("window"),
            Some("restart"),
            Some("ok"),
            "local"
        )
    );
    assert_eq!(done.error, None);
    let failed = &entries[1];
    assert_eq!(
        (
            failed.source.as_deref(),
            failed.actor.as_deref(),
            failed.action.as_deref(),
            failed.result.as_deref()
        ),
        (
            Some("api"),
            Some("deploy-bot"),
            Some("start"),
            Some("error")
        )
    );
    assert_eq!(failed.error.as_deref(), Some(refused.to_string().as_str()));
    // The restart itself shows in the container's events after the action.
    let restart = wait_event(&monitor, &ctr.name, "restart").await;
    assert!(restart.time >= done.time - chrono::TimeDelta::seconds(1));
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_while_docktray_was_not_running_are_back_filled_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let monitor = start(config(&path, "")).await;
    let ctr = TestContainer::run("away", &[], &["sleep", "300"]);
    wait_event(&monitor, &ctr.name, "start").await;
    monitor.shutdown().await.expect("shutdown");

    // Docktray is not running: the container is killed.
    docker(&["kill", &ctr.name]);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &ctr.name]),
        "exited"
    );

    let monitor = start(config(&path, "")).await;
    let died = wait_event(&monitor, &ctr.name, "die").await;
    assert_eq!((died.exit_code, died.oom), (Some(137), Some(false)));
    assert_eq!(
        wait_event(&monitor, &ctr.name, "kill")
            .await
            .signal
            .as_deref(),
        Some("9")
    );
    monitor.shutdown().await.expect("shutdown");

    // Started again, the engine's buffer is read again from the last stored event: nothing is stored twice.
    let monitor = start(config(&path, "")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = events_of(&monitor, &ctr.name);
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(
        (count("create"), count("start"), count("kill"), count("die")),
        (1, 1, 1, 1),
        "{events:?}"
    );
    monitor.shutdown().await.expect("shutdown");
}
