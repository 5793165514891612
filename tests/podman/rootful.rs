//! A rootful Podman engine watched through its socket (cgroup files) and through its API (a TCP endpoint).

use std::time::Duration;

use docktray::alerts::metric;
use docktray::model::{EngineProduct, SampleMethod};
use docktray::sources::docker::logs::LogQuery;
use docktray::sources::docker::LogHub;
use docktray::{Action, ContainerState};

use super::*;

/// 30 MB written to a file: inactive page cache, which `podman stats` 4.x counts on cgroup v1 and Docker's
/// formula does not.
const CACHE: &[&str] = &[
    "sh",
    "-c",
    "trap 'exit 0' TERM; dd if=/dev/zero of=/tmp/fill bs=1M count=30 2>/dev/null; while :; do sleep 0.2; done",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rootful_podman_socket_is_watched_like_a_docker_engine() {
    let mut podman = PodmanService::rootful("rf");
    let version = podman.version();
    podman.podman(&["pod", "create", "--infra=false", "--name", "shop"]);
    podman.run("shop-web", &["--pod", "shop"], &["sleep", "600"]);
    podman.run("cache", &["--memory", "128m"], CACHE);
    podman.run(
        "talker",
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; for i in $(seq 1 10); do echo line $i; done; while :; do sleep 0.2; done",
        ],
    );

    // `[docker] host` takes Podman's socket as it is: here a bare path.
    let engine = start_engine(config_for(&podman.socket().display().to_string())).await;
    let source = wait_for(&engine, Duration::from_secs(20), "the engine up", |s| {
        local_source(s)
            .filter(|src| src.state == docktray::SourceState::Up)
            .cloned()
    })
    .await;
    assert_eq!(source.engine_product, Some(EngineProduct::Podman));
    assert_eq!(source.engine_label(), Some(format!("Podman {version}")));
    assert!(!source.rootless);
    assert_eq!(source.stats_method, Some(SampleMethod::Cgroup));
    assert_eq!(source.stats_note, None);

    // The container list, with the pod as the containers' group (read at the first listing).
    let snapshot = engine.snapshot();
    for name in ["shop-web", "cache", "talker"] {
        assert!(
            find(&snapshot, name).is_some(),
            "{name} listed: {snapshot:#?}"
        );
    }
    assert_eq!(
        find(&snapshot, "shop-web").and_then(|c| c.info.pod.clone()),
        Some("shop".to_owned())
    );
    assert_eq!(
        find(&snapshot, "cache").and_then(|c| c.info.pod.clone()),
        None
    );
    // A pod member created while watched gets its pod from the create event.
    podman.run("shop-worker", &["--pod", "shop"], &["sleep", "600"]);
    wait_for(
        &engine,
        Duration::from_secs(10),
        "shop-worker in its pod",
        |s| {
            find(s, "shop-worker")
                .and_then(|c| (c.info.pod.as_deref() == Some("shop")).then_some(()))
        },
    )
    .await;

    // Figures from the cgroup files agree with `podman stats`.
    assert_eq!(
        stats_of(&engine, "cache").await.method,
        SampleMethod::Cgroup
    );
    assert_memory_agrees(&engine, &podman, "cache").await;
    let cpu = burner_cpu(&engine, &podman, "burner", &[]).await;
    assert!(
        (35.0..=65.0).contains(&cpu),
        "CPU of a --cpus 0.5 burner: {cpu}"
    );

    // Logs with a tail.
    let client = engine
        .client_for(docktray::model::LOCAL_HOST)
        .expect("the engine's client");
    let query = LogQuery {
        tail: Some(3),
        ..LogQuery::default()
    };
    let lines = LogHub::fetch(&client, "talker", &query)
        .await
        .expect("logs");
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["line 8", "line 9", "line 10"]);

    // Actions, each seen by the engine and by Podman.
    for (action, state, status) in [
        (Action::Stop, ContainerState::Exited, "exited"),
        (Action::Start, ContainerState::Running, "running"),
        (Action::Pause, ContainerState::Paused, "paused"),
        (Action::Unpause, ContainerState::Running, "running"),
    ] {
        engine
            .act("talker", action, &docktray::model::Actor::cli())
            .await
            .expect("action");
        wait_for(
            &engine,
            Duration::from_secs(15),
            &format!("talker {status}"),
            |s| find(s, "talker").and_then(|c| (c.info.state == state).then_some(())),
        )
        .await;
        assert_eq!(
            podman.podman(&["inspect", "-f", "{{.State.Status}}", "talker"]),
            status
        );
    }

    // A die event raises the exit alert.
    let dier = podman.run("dier", &[], &["sh", "-c", "sleep 1; exit 3"]);
    let alert = wait_for(&engine, Duration::from_secs(20), "the exit alert", |s| {
        s.alerts
            .iter()
            .find(|a| a.target.id == dier && a.metric == metric::EXITED)
            .cloned()
    })
    .await;
    assert_eq!(alert.value, Some(3.0));
    assert!(
        alert.message.contains("exited with code 3"),
        "{}",
        alert.message
    );
    // Podman's `remove` event (Docker says `destroy`) ends the container at once; the re-list is minutes away.
    podman.podman(&["rm", "dier"]);
    wait_for(&engine, Duration::from_secs(5), "dier gone", |s| {
        find(s, "dier").is_none().then_some(())
    })
    .await;

    engine.shutdown().await;
    podman.stop();
    assert_eq!(podman.leftover_processes(), Vec::<String>::new());
    assert_eq!(podman.leftover_mounts(), Vec::<String>::new());
}

/// An endpoint whose cgroup files are not read (TCP): figures come from Podman's stats API, which counts CPU
/// against another clock than Docker's, and they still agree with `podman stats`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_through_podmans_api_agree_with_podman_stats() {
    let mut podman = PodmanService::rootful("ap");
    podman.run("cache", &["--memory", "128m"], CACHE);
    let tcp = podman.serve_tcp();
    let engine = start_engine(config_for(&tcp)).await;
    let source = wait_for(&engine, Duration::from_secs(20), "the engine up", |s| {
        local_source(s)
            .filter(|src| src.state == docktray::SourceState::Up)
            .cloned()
    })
    .await;
    assert_eq!(source.engine_product, Some(EngineProduct::Podman));
    assert_eq!(
        source.stats_method,
        Some(SampleMethod::Api),
        "the source says so"
    );
    assert_eq!(stats_of(&engine, "cache").await.method, SampleMethod::Api);
    assert_memory_agrees(&engine, &podman, "cache").await;
    let cpu = burner_cpu(&engine, &podman, "burner", &[]).await;
    assert!(
        (35.0..=65.0).contains(&cpu),
        "CPU of a --cpus 0.5 burner via the API: {cpu}"
    );
    engine.shutdown().await;
}
