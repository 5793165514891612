//! The Docker engine going away and coming back mid-run: the source is marked unreachable with the reason,
//! retried with growing backoff, and every stream (events, stats, logs) resumes without help.
//! Runs its own private `dockerd` (Debian's docker.io, as `make test` installs it) so stopping it disturbs
//! no other test.

mod common;

use std::time::{Duration, Instant};

use common::dockerd::PrivateDockerd;
use common::*;
use docktray::sources::docker::logs::LogQuery;
use docktray::{ContainerState, SourceState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_stopped_and_started_again_is_survived_and_data_flows_again() {
    let mut dockerd = PrivateDockerd::new("dtr", "192.0.2.1/24");
    dockerd.load_test_image();
    let id = dockerd.docker(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "survivor",
        &image(),
        "sh",
        "-c",
        "i=0; while :; do echo beat $i; i=$((i+1)); sleep 0.2; done",
    ]);

    // A container that will vanish while the engine is down: no destroy event will ever tell us.
    let ghost_id = dockerd.docker(&[
        "create",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "ghost",
        &image(),
        "true",
    ]);

    let mut config = test_config();
    config.docker.host = dockerd.host();
    let engine = start_engine(config).await;
    wait_for(
        &engine,
        Duration::from_secs(30),
        "the container with stats",
        |s| find(s, "survivor").and_then(|c| c.stats.clone()),
    )
    .await;
    let mut logs = engine
        .logs()
        .subscribe(&id, LogQuery::default())
        .await
        .expect("follow logs");
    tokio::time::timeout(Duration::from_secs(10), logs.next())
        .await
        .expect("a live line")
        .expect("open");

    wait_for(&engine, Duration::from_secs(30), "the ghost listed", |s| {
        find(s, "ghost").cloned()
    })
    .await;
    dockerd.stop();
    // Remove the ghost's state behind the engine's back: the restarted engine no longer knows it.
    std::fs::remove_dir_all(
        dockerd
            .root
            .path()
            .join("data")
            .join("containers")
            .join(&ghost_id),
    )
    .expect("remove the ghost's state");
    let down = wait_for(
        &engine,
        Duration::from_secs(30),
        "the source marked unreachable",
        |s| {
            s.sources
                .iter()
                .find(|src| src.kind == "docker" && src.state == SourceState::Unreachable)
                .cloned()
        },
    )
    .await;
    let reason = down.reason.clone().unwrap_or_default();
    assert!(!reason.is_empty(), "an unreachable source says why");
    assert!(down.next_retry.is_some());
    let unreachable_error = engine
        .client()
        .expect_err("no client while the engine is down")
        .to_string();
    assert!(
        unreachable_error.contains("cannot reach the Docker engine"),
        "{unreachable_error}"
    );
    // Retries keep going with growing delays while it is down (1 s, then about 2 s ...), not spinning.
    let retried = wait_for(
        &engine,
        Duration::from_secs(20),
        "at least three failed attempts",
        |s| {
            s.sources
                .iter()
                .find(|src| src.kind == "docker" && src.consecutive_failures >= 3)
                .cloned()
        },
    )
    .await;
    assert!(
        retried.consecutive_failures < 10,
        "retries are backed off, not spinning: {retried:?}"
    );
    assert!(
        find(&engine.snapshot(), "survivor").is_some_and(|c| c.stats.is_none()),
        "no stale figures while the engine is unreachable"
    );

    let restarted_at = chrono::Utc::now();
    dockerd.start();
    wait_for(&engine, Duration::from_secs(90), "source up again", |s| {
        s.sources
            .iter()
            .find(|src| src.kind == "docker" && src.state == SourceState::Up)
            .cloned()
    })
    .await;
    wait_for(
        &engine,
        Duration::from_secs(60),
        "fresh stats after the restart",
        |s| {
            find(s, "survivor")
                .filter(|c| c.info.state == ContainerState::Running)
                .and_then(|c| c.stats.clone())
                .filter(|stats| stats.sampled_at > restarted_at)
        },
    )
    .await;
    wait_for(
        &engine,
        Duration::from_secs(30),
        "the ghost gone after the re-list",
        |s| find(s, "ghost").is_none().then_some(()),
    )
    .await;
    // The log stream resumes too: a line written after the restart arrives.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), logs.next())
            .await
            .expect("logs resume")
            .expect("open");
        if line.timestamp.is_some_and(|at| at > restarted_at) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line from after the restart"
        );
    }
    assert!(engine.client().is_ok());
    engine.shutdown().await;
}
