//! Alerts raised by the engine from a real Docker engine: figures held over a threshold, and the event alerts
//! (exit code, OOM, unhealthy, restart loop), with overrides, disabled metrics and refused bad thresholds.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use docktray::alerts::{metric, AlertTransition, Level, OverallLevel, TransitionKind};
use docktray::{Config, Update};
use tokio::sync::broadcast::Receiver;

const WAIT: Duration = Duration::from_secs(40);

fn config(text: &str) -> Config {
    let mut config = Config::parse(text, Path::new("alerts-test.toml")).expect("valid test config");
    config.interval = Duration::from_millis(500);
    config
}

/// Waits for a transition matching `want`, failing after `timeout`.
async fn wait_transition(
    rx: &mut Receiver<Update>,
    timeout: Duration,
    what: &str,
    want: impl Fn(&AlertTransition) -> bool,
) -> AlertTransition {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => panic!("no transition: {what}"),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(err)) => panic!("update stream ended: {err}"),
            Ok(Ok(Update::Alert(change))) if want(&change) => return *change,
            Ok(Ok(_)) => {}
        }
    }
}

/// A named expectation on an alert transition.
type Expectation<'a> = (&'a str, &'a dyn Fn(&AlertTransition) -> bool);

/// Waits until each expectation has matched one transition, in whatever order they come, failing after
/// `timeout` with the names of those still missing. Returns the first match of each, in the given order.
async fn wait_all<const N: usize>(
    rx: &mut Receiver<Update>,
    timeout: Duration,
    expectations: &[Expectation<'_>; N],
) -> [AlertTransition; N] {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut found: [Option<AlertTransition>; N] = std::array::from_fn(|_| None);
    while found.iter().any(Option::is_none) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => {
                let missing: Vec<&str> = expectations
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| f.is_none())
                    .map(|((name, _), _)| *name)
                    .collect();
                panic!("no transition: {}", missing.join(", "));
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(err)) => panic!("update stream ended: {err}"),
            Ok(Ok(Update::Alert(change))) => {
                for ((_, want), slot) in expectations.iter().zip(found.iter_mut()) {
                    if slot.is_none() && want(&change) {
                        *slot = Some((*change).clone());
                    }
                }
            }
            Ok(Ok(_)) => {}
        }
    }
    found.map(|f| f.unwrap_or_else(|| unreachable!("loop ends only when all are found")))
}

/// Collects every alert transition about `container_id` for `duration`.
async fn collect_for(
    rx: &mut Receiver<Update>,
    container_id: &str,
    duration: Duration,
) -> Vec<AlertTransition> {
    let deadline = tokio::time::Instant::now() + duration;
    let mut seen = Vec::new();
    while let Ok(update) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let Ok(Update::Alert(change)) = update {
            if change.alert.target.id == container_id {
                seen.push(*change);
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_over_a_lowered_critical_threshold_raises_once_and_resolves_once() {
    let engine = start_engine(config(
        "[alerts]\nhold = \"2s\"\n[thresholds.container_cpu_percent]\nwarning = 15\ncritical = 30\n",
    ))
    .await;
    let mut rx = engine.subscribe();
    let burner = TestContainer::run(
        "burn",
        &["--cpus", "0.5"],
        &[
            "sh",
            "-c",
            "while [ ! -e /tmp/stop ]; do :; done; sleep 300",
        ],
    );
    let raised = wait_transition(&mut rx, WAIT, "critical CPU alert", |t| {
        t.alert.target.id == burner.id && t.kind == TransitionKind::Raised
    })
    .await;
    assert_eq!(raised.alert.level, Level::Critical, "{raised:?}");
    assert_eq!(raised.alert.metric, metric::CONTAINER_CPU);
    assert_eq!(raised.alert.threshold, Some(30.0));
    assert!(raised.alert.value.is_some_and(|v| v >= 30.0));
    assert!(
        raised.alert.message.contains(&burner.name),
        "{}",
        raised.alert.message
    );
    assert_eq!(engine.snapshot().overall, OverallLevel::Critical);
    assert!(engine
        .snapshot()
        .alerts
        .iter()
        .any(|a| a.id == raised.alert.id));

    // Still burning: no second notification-worthy transition for a while.
    let more = collect_for(&mut rx, &burner.id, Duration::from_secs(4)).await;
    assert!(
        more.iter()
            .all(|t| t.kind != TransitionKind::Raised && t.kind != TransitionKind::Escalated),
        "{more:?}"
    );

    docker(&["exec", &burner.name, "touch", "/tmp/stop"]);
    let resolved = wait_transition(&mut rx, WAIT, "resolution", |t| {
        t.alert.target.id == burner.id && t.kind == TransitionKind::Resolved
    })
    .await;
    assert_eq!(resolved.alert.id, raised.alert.id);
    assert!(resolved.alert.resolved_at.is_some());
    let after = collect_for(&mut rx, &burner.id, Duration::from_secs(3)).await;
    assert!(after.is_empty(), "nothing after the resolution: {after:?}");
    // Other tests' containers may alert in this engine too: only this container's alerts are ours to check.
    assert!(!engine
        .snapshot()
        .alerts
        .iter()
        .any(|a| a.target.id == burner.id));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brief_spike_raises_nothing() {
    let engine = start_engine(config(
        "[alerts]\nhold = \"4s\"\n[thresholds.container_cpu_percent]\nwarning = 15\ncritical = 30\n",
    ))
    .await;
    let mut rx = engine.subscribe();
    // About one second of full CPU, then idle.
    let spiker = TestContainer::run("spike", &[], &["sh", "-c", "sleep 1; end=$(( $(date +%s) + 1 )); while [ $(date +%s) -lt $end ]; do :; done; sleep 300"]);
    let seen = collect_for(&mut rx, &spiker.id, Duration::from_secs(8)).await;
    assert!(seen.is_empty(), "{seen:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_oom_unhealthy_and_restart_loop_each_raise_their_alert() {
    let engine = start_engine(config("")).await;
    let mut rx = engine.subscribe();
    let exits = TestContainer::run("exit", &[], &["sh", "-c", "sleep 1; exit 7"]);
    let oom = TestContainer::run(
        "oom",
        &["--memory", "16m", "--memory-swap", "16m"],
        &["sh", "-c", "sleep 1; tail /dev/zero"],
    );
    let sick = TestContainer::run(
        "sick",
        &[
            "--health-cmd",
            "test -e /tmp/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "--health-timeout",
            "1s",
        ],
        &["sleep", "300"],
    );
    let looping = TestContainer::run(
        "loop",
        &["--restart", "always"],
        &["sh", "-c", "sleep 0.3; exit 1"],
    );

    // The four containers misbehave concurrently, so their alerts arrive in any order: wait for all of them
    // at once rather than one after another (a sequential wait would drop an early restart-loop alert).
    let early = wait_all(
        &mut rx,
        Duration::from_secs(60),
        &[
            ("exit alert", &|t| {
                t.alert.target.id == exits.id && t.alert.metric == metric::EXITED
            }),
            ("OOM alert", &|t| {
                t.alert.target.id == oom.id && t.alert.metric == metric::OOM_KILLED
            }),
            ("unhealthy alert", &|t| {
                t.alert.target.id == sick.id
                    && t.alert.metric == metric::UNHEALTHY
                    && t.kind == TransitionKind::Raised
            }),
            ("restart loop alert", &|t| {
                t.alert.target.id == looping.id && t.alert.metric == metric::RESTART_LOOP
            }),
        ],
    )
    .await;
    let [exited, oom_alert, unhealthy, restart_loop] = early;
    assert_eq!(exited.alert.value, Some(7.0));
    assert!(
        exited.alert.message.contains("exited with code 7"),
        "{}",
        exited.alert.message
    );
    assert_eq!(exited.alert.level, Level::Warning);
    assert_eq!(oom_alert.alert.level, Level::Critical);
    assert_eq!(unhealthy.kind, TransitionKind::Raised);

    docker(&["exec", &sick.name, "touch", "/tmp/ok"]);
    let healthy = wait_transition(&mut rx, WAIT, "healthy again", |t| {
        t.alert.target.id == sick.id && t.alert.metric == metric::UNHEALTHY
    })
    .await;
    assert_eq!(healthy.kind, TransitionKind::Resolved);

    assert_eq!(restart_loop.alert.level, Level::Critical);
    assert!(restart_loop.alert.value.is_some_and(|v| v >= 3.0));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_container_override_and_disabled_metric_are_honoured_and_bad_thresholds_refused() {
    let mut base = config(
        // Low thresholds: a busy loop capped at 0.3 CPU stays above them even on a loaded machine.
        "[alerts]\nhold = \"1s\"\n[thresholds.container_cpu_percent]\nwarning = 2\ncritical = 5\n\
         [[overrides]]\nlabel = \"docktray.quiet=1\"\nthresholds.container_cpu_percent = { enabled = false }\n",
    );
    base.interval = Duration::from_millis(500);
    let engine = start_engine(base.clone()).await;
    let mut rx = engine.subscribe();

    // A bad threshold is refused with a message naming it; the settings in force stay.
    let mut bad = base.clone();
    bad.thresholds.container_cpu_percent.warning = 50.0;
    bad.thresholds.container_cpu_percent.critical = 40.0;
    let refused = engine
        .reconfigure(&bad, Path::new("config.toml"))
        .await
        .expect_err("refused");
    let message = refused.to_string();
    assert!(
        message.contains("thresholds.container_cpu_percent.warning"),
        "{message}"
    );
    assert!(message.contains("below critical"), "{message}");

    let quiet = TestContainer::run(
        "quiet",
        &["--cpus", "0.3", "--label", "docktray.quiet=1"],
        &["sh", "-c", "while :; do :; done"],
    );
    let loud = TestContainer::run(
        "loud",
        &["--cpus", "0.3"],
        &["sh", "-c", "while :; do :; done"],
    );
    let raised = wait_transition(
        &mut rx,
        WAIT,
        "alert for the container without override",
        |t| t.alert.target.id == loud.id && t.kind == TransitionKind::Raised,
    )
    .await;
    assert_eq!(
        raised.alert.level,
        Level::Critical,
        "old thresholds (critical 5) still in force"
    );
    let quiet_seen = collect_for(&mut rx, &quiet.id, Duration::from_secs(3)).await;
    assert!(
        quiet_seen.is_empty(),
        "the disabled metric raised: {quiet_seen:?}"
    );

    // A valid change applies: a per-container override by name lifts the loud one's thresholds above its load.
    let mut relaxed = base.clone();
    relaxed.overrides.push(
        toml::from_str(&format!(
            "container = \"{}\"\nthresholds.container_cpu_percent = {{ warning = 80, critical = 90 }}\n",
            loud.name
        ))
        .expect("override"),
    );
    engine
        .reconfigure(&relaxed, Path::new("config.toml"))
        .await
        .expect("valid change applies");
    let resolved = wait_transition(&mut rx, WAIT, "resolution under the new override", |t| {
        t.alert.target.id == loud.id && t.kind == TransitionKind::Resolved
    })
    .await;
    assert_eq!(resolved.alert.id, raised.alert.id);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_alerts_stay_listed_but_do_not_drive_the_overall_level() {
    let engine = start_engine(config("[alerts]\nhold = \"0s\"\n")).await;
    let mut rx = engine.subscribe();
    let exits = TestContainer::run("ack", &[], &["sh", "-c", "exit 5"]);
    let exited = wait_transition(&mut rx, WAIT, "exit alert", |t| {
        t.alert.target.id == exits.id && t.kind == TransitionKind::Raised
    })
    .await;
    wait_for(&engine, WAIT, "the alert in the snapshot", |s| {
        s.alerts.iter().find(|a| a.id == exited.alert.id).cloned()
    })
    .await;
    assert!(engine.acknowledge(exited.alert.id).await);
    let snapshot = engine.snapshot();
    let listed = snapshot
        .alerts
        .iter()
        .find(|a| a.id == exited.alert.id)
        .expect("still listed");
    assert!(listed.acknowledged);
    assert!(
        !snapshot
            .alerts
            .iter()
            .any(|a| !a.acknowledged && a.target.id == exits.id),
        "no unacknowledged alert left for it"
    );
    assert!(
        !engine.acknowledge(exited.alert.id).await,
        "acknowledging twice changes nothing"
    );
    engine.shutdown().await;
}
