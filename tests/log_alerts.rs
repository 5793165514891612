//! Log-pattern alerts against the real engine: a container writes ten matching lines (plain, with colour codes
//! inside the word, with invalid UTF-8 before it) among others, which raises exactly one alert showing the last
//! matching lines; a quiet period clears it. The watcher follows the engine's shared log stream from the moment
//! the container runs (not while it is only created): a viewer of the same container's logs opens no second
//! Docker stream.

mod common;

use std::time::{Duration, Instant};

use docktray::alerts::{metric, AlertTransition, Level, TransitionKind};
use docktray::sources::docker::logs::LogQuery;
use docktray::{Config, ContainerState, Update};
use tokio::sync::broadcast;

use common::*;

/// Lines the test container writes after a pause (so the watcher is following by then): 4 plain matches, 3 with
/// a colour code inside "ERROR", 3 with invalid UTF-8 before it, and 5 that must not match.
const SCRIPT: &str = "sleep 3; \
    for i in 1 2 3 4; do echo \"ERROR plain $i\"; echo \"all good $i\"; done; \
    for i in 1 2 3; do printf 'E\\033[31mRROR coloured %s\\033[0m\\n' $i; done; \
    for i in 1 2 3; do printf '\\377\\376 ERROR bad-utf8 %s\\n' $i; done; \
    echo 'error lower case'; \
    sleep 3600";

async fn next_alert(
    updates: &mut broadcast::Receiver<Update>,
    container: &str,
    timeout: Duration,
) -> Option<AlertTransition> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, updates.recv()).await {
            Err(_) => return None,
            Ok(Ok(Update::Alert(change)))
                if change.alert.metric == metric::LOG_PATTERN
                    && change.alert.target.id == container =>
            {
                return Some(*change)
            }
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_matching_lines_raise_one_alert_and_quiet_clears_it() {
    let name = unique("logs");
    let text = format!(
        "interval = \"500ms\"\n\
         [[log_alerts]]\nname = \"errors\"\ncontainer = \"{name}\"\npattern = \"ERROR\"\ncount = 10\nwindow = \"30s\"\n\
         level = \"critical\"\nclear_after = \"4s\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("log-alerts.toml")).expect("valid");
    let engine = start_engine(config).await;
    let mut updates = engine.subscribe();
    let image = image();
    let id = docker(&[
        "create",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        SCRIPT,
    ]);
    let container = TestContainer {
        name: name.clone(),
        id: id.clone(),
    };
    // Known to the engine while only created (a rule selects it already): the watcher waits for it to run
    // rather than opening a stream that Docker ends at once and that would be opened again.
    wait_for(
        &engine,
        Duration::from_secs(10),
        "the created container",
        |s| {
            find(s, &name)
                .filter(|c| c.info.state == ContainerState::Created)
                .map(|_| ())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        engine.logs().follow_streams_opened(),
        0,
        "no stream before it runs"
    );
    docker(&["start", &id]);

    // A viewer of the same logs (the window's log view) shares the watcher's stream.
    let viewer = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while engine.logs().follow_streams_opened() == 0 {
            assert!(
                Instant::now() < deadline,
                "the watcher never followed the logs"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        engine
            .logs()
            .subscribe(&id, LogQuery::default())
            .await
            .expect("a viewer subscribes")
    };
    let mut viewer = viewer.await;

    let raised = next_alert(&mut updates, &id, Duration::from_secs(20))
        .await
        .expect("the log alert is raised");
    assert_eq!(raised.kind, TransitionKind::Raised, "{raised:#?}");
    let alert = &raised.alert;
    assert_eq!(alert.level, Level::Critical);
    assert_eq!(alert.detail.as_deref(), Some("errors"));
    assert!(alert.value.is_some_and(|count| count >= 10.0), "{alert:#?}");
    assert!(alert.message.contains(&name), "{}", alert.message);
    // The last matching lines, as text: colour codes gone, invalid bytes replaced.
    assert!(!alert.lines.is_empty(), "{alert:#?}");
    assert!(
        alert.lines.iter().all(|line| line.contains("ERROR")),
        "{:?}",
        alert.lines
    );
    assert!(
        alert.lines.iter().all(|line| !line.contains('\u{1b}')),
        "{:?}",
        alert.lines
    );
    assert!(
        alert
            .lines
            .iter()
            .any(|line| line.contains('\u{fffd}') && line.contains("bad-utf8")),
        "{:?}",
        alert.lines
    );
    assert!(
        alert
            .lines
            .iter()
            .any(|line| line.contains("ERROR coloured")),
        "{:?}",
        alert.lines
    );
    assert!(
        engine
            .snapshot()
            .alerts
            .iter()
            .any(|a| a.id == alert.id && !a.lines.is_empty()),
        "the active alert carries its lines"
    );

    // The viewer saw the same lines through the same stream (in its history or live).
    let mut seen: Vec<String> = viewer.history.iter().map(|l| l.plain.clone()).collect();
    while !seen.iter().any(|line| line.contains("ERROR bad-utf8 3")) {
        let line = tokio::time::timeout(Duration::from_secs(10), viewer.next())
            .await
            .expect("the viewer gets the lines")
            .expect("the stream is open");
        seen.push(line.plain);
    }
    assert_eq!(
        engine.logs().follow_streams_opened(),
        1,
        "one Docker log stream"
    );

    // Quiet for 4 s: cleared, and nothing else was raised meanwhile.
    let cleared = next_alert(&mut updates, &id, Duration::from_secs(20))
        .await
        .expect("the alert clears");
    assert_eq!(cleared.kind, TransitionKind::Resolved, "{cleared:#?}");
    assert_eq!(cleared.alert.id, alert.id);
    assert!(
        cleared.alert.message.contains("no line matched"),
        "{}",
        cleared.alert.message
    );
    assert!(next_alert(&mut updates, &id, Duration::from_secs(3))
        .await
        .is_none());
    drop(viewer);
    drop(container);
    engine.shutdown().await;
}
