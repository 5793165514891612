//! A rootless Podman engine (a user created for the test, its own XDG_RUNTIME_DIR and subordinate ids).

use std::time::Duration;

use docktray::alerts::metric;
use docktray::model::{EngineProduct, SampleMethod};
use docktray::sources::docker::logs::LogQuery;
use docktray::sources::docker::LogHub;
use docktray::{Action, ContainerState};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rootless_podman_is_watched_and_says_what_it_cannot_measure() {
    let mut podman = PodmanService::rootless("rl");
    let version = podman.version();
    // No resource limits: rootless Podman without a cgroup of its own ignores or refuses them.
    podman.run(
        "sleeper",
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.2; done",
        ],
    );
    podman.run(
        "talker",
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; for i in $(seq 1 10); do echo line $i; done; while :; do sleep 0.2; done",
        ],
    );
    let engine = start_engine(config_for(&podman.host())).await;
    let source = wait_for(&engine, Duration::from_secs(20), "the engine up", |s| {
        local_source(s)
            .filter(|src| src.state == docktray::SourceState::Up)
            .cloned()
    })
    .await;
    assert_eq!(source.engine_product, Some(EngineProduct::Podman));
    assert!(source.rootless);
    assert_eq!(
        source.engine_label(),
        Some(format!("Podman {version} (rootless)"))
    );
    let snapshot = engine.snapshot();
    assert!(find(&snapshot, "sleeper").is_some() && find(&snapshot, "talker").is_some());

    // Rootless containers get a cgroup of their own only on cgroup v2 with one delegated to the user.
    let podman_has_figures = podman
        .podman_output(&["stats", "--no-stream", "talker"])
        .status
        .success();
    if !cgroup_v2_host() {
        assert!(
            !podman_has_figures,
            "podman stats has no figures on cgroup v1 rootless"
        );
    }
    if podman_has_figures {
        assert_eq!(source.stats_method, Some(SampleMethod::Cgroup));
        assert_memory_agrees(&engine, &podman, "talker").await;
        let cpu = burner_cpu(&engine, &podman, "burner", &[]).await;
        assert!(
            (35.0..=65.0).contains(&cpu),
            "CPU of a --cpus 0.5 burner: {cpu}"
        );
    } else {
        // Podman's API answers zeros for them and `podman stats` refuses: Docktray shows no figures, never zeros.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let snapshot = engine.snapshot();
        for name in ["sleeper", "talker"] {
            let stats = find(&snapshot, name).and_then(|c| c.stats.clone());
            assert_eq!(stats, None, "{name} shows no made-up figures");
        }
    }
    if !cgroup_v2_host() {
        // And it says why, and what to do.
        assert_eq!(source.stats_method, None);
        let note = source.stats_note.clone().expect("the source says why");
        assert!(note.contains("cgroup v2"), "{note}");
        // Pause needs a cgroup: Podman's refusal reaches the user as it is.
        let err = engine
            .act("talker", Action::Pause, &docktray::model::Actor::cli())
            .await
            .expect_err("no pause without a cgroup");
        assert!(err.to_string().contains("cgroup"), "{err}");
    }

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

    for (action, state) in [
        (Action::Stop, ContainerState::Exited),
        (Action::Start, ContainerState::Running),
    ] {
        engine
            .act("talker", action, &docktray::model::Actor::cli())
            .await
            .expect("action");
        wait_for(
            &engine,
            Duration::from_secs(15),
            "talker's new state",
            |s| find(s, "talker").and_then(|c| (c.info.state == state).then_some(())),
        )
        .await;
    }

    let dier = podman.run("dier", &[], &["sh", "-c", "sleep 1; exit 4"]);
    let alert = wait_for(&engine, Duration::from_secs(20), "the exit alert", |s| {
        s.alerts
            .iter()
            .find(|a| a.target.id == dier && a.metric == metric::EXITED)
            .cloned()
    })
    .await;
    assert_eq!(alert.value, Some(4.0));

    engine.shutdown().await;
    podman.stop();
    assert_eq!(podman.leftover_processes(), Vec::<String>::new());
    assert_eq!(podman.leftover_mounts(), Vec::<String>::new());
}
