//! The engine against a real Docker engine: container metadata, stats that agree with `docker stats`, events,
//! logs and actions.

mod common;

use std::time::Duration;

use common::*;
use docktray::sources::docker::logs::LogQuery;
use docktray::{Action, ContainerState, Update};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_container_appears_with_its_metadata() {
    let ctr = TestContainer::run(
        "meta",
        &[
            "--label",
            "com.docker.compose.project=shop",
            "--label",
            "com.docker.compose.service=web",
            "--label",
            "tier=front",
            "-p",
            "127.0.0.1::8080",
        ],
        &["sleep", "300"],
    );
    let engine = start_engine(test_config()).await;
    let found = wait_for(&engine, WAIT, "the container in the snapshot", |s| {
        find(s, &ctr.name).cloned()
    })
    .await;
    let info = &found.info;
    assert_eq!(info.id, ctr.id);
    assert_eq!(info.image, image());
    assert_eq!(info.state, ContainerState::Running);
    assert!(info.status.starts_with("Up "), "{}", info.status);
    assert_eq!(info.compose_project.as_deref(), Some("shop"));
    assert_eq!(info.compose_service.as_deref(), Some("web"));
    assert_eq!(info.labels.get("tier").map(String::as_str), Some("front"));
    assert_eq!(info.host, "local");
    assert_eq!(info.restart_count, 0);
    assert_eq!(info.exit_code, None);
    let port = info
        .ports
        .iter()
        .find(|p| p.container_port == 8080)
        .expect("port 8080 listed");
    assert_eq!(port.protocol, "tcp");
    assert!(port.host_port.is_some_and(|p| p > 0), "{port:?}");
    let docker_port = docker(&["port", &ctr.name, "8080/tcp"]);
    assert!(
        docker_port.ends_with(&format!(":{}", port.host_port.unwrap_or(0))),
        "{docker_port} vs {port:?}"
    );
    let created = docker(&["inspect", "-f", "{{.Created}}", &ctr.name]);
    assert_eq!(
        info.created.timestamp(),
        chrono::DateTime::parse_from_rfc3339(&created)
            .expect("time")
            .timestamp()
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_under_half_a_core_quota_reads_about_fifty_percent() {
    let ctr = TestContainer::run(
        "cpu",
        &["--cpus", "0.5"],
        &["sh", "-c", "while :; do :; done"],
    );
    let engine = start_engine(test_config()).await;
    let mut readings = Vec::new();
    let mut rx = engine.subscribe();
    while readings.len() < 6 {
        let update = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("stats keep coming")
            .expect("open");
        if let Update::Stats { containers, .. } = update {
            if let Some((_, stats)) = containers.iter().find(|(id, _)| *id == ctr.id) {
                readings.push(stats.cpu_percent);
            }
        }
    }
    // Skip the short warm-up window; average the steady samples.
    let steady = &readings[2..];
    let average = steady.iter().sum::<f64>() / steady.len() as f64;
    assert!(
        (35.0..=65.0).contains(&average),
        "CPU {average:.1}% (samples {readings:?}), expected 50 +-15"
    );
    let stats = container_stats_now(&engine, &ctr.name).await;
    assert!(
        (stats.cpu_host_percent * f64::from(stats.online_cpus) - stats.cpu_percent).abs() < 1e-6
    );
    engine.shutdown().await;
}

async fn container_stats_now(engine: &docktray::Engine, name: &str) -> docktray::ContainerStats {
    wait_for(engine, WAIT, "stats of the container", |s| {
        find(s, name).and_then(|c| c.stats.clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_of_64_mib_agrees_with_docker_stats() {
    // 64 MiB written to tmpfs is charged to the container and cannot be reclaimed: a stable figure.
    let ctr = TestContainer::run(
        "mem",
        &["--shm-size", "128m", "--memory", "256m"],
        &["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; touch /tmp/ready; sleep 300"],
    );
    let engine = start_engine(test_config()).await;
    let ours = wait_for(&engine, WAIT, "64 MiB in use", |s| {
        find(s, &ctr.name)
            .and_then(|c| c.stats.clone())
            .filter(|stats| stats.memory_bytes >= 64 << 20)
    })
    .await;
    let theirs = docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}",
        &ctr.name,
    ]);
    let (usage, limit) = theirs
        .split_once(" / ")
        .expect("docker stats MemUsage has a limit");
    let (usage, limit) = (parse_size(usage), parse_size(limit));
    let deviation = (ours.memory_bytes as f64 - usage).abs() / usage;
    assert!(
        deviation < 0.10,
        "docktray {} B vs docker stats {usage} B ({theirs})",
        ours.memory_bytes
    );
    assert_eq!(ours.memory_limit_bytes, 256 << 20);
    assert!((limit - (256 << 20) as f64).abs() < 1.0, "{theirs}");
    assert!(
        (ours.memory_percent - ours.memory_bytes as f64 / (256u64 << 20) as f64 * 100.0).abs()
            < 1e-6
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_and_block_counters_rise_with_traffic_and_writes() {
    let dir = tempfile::tempdir_in("/var/tmp").expect("tempdir");
    let host_dir = dir.path().to_string_lossy().into_owned();
    let device = block_device_of(&host_dir);
    let volume = format!("{host_dir}:/data");
    let mut options = vec!["-v", volume.as_str()];
    // cgroup v1 kernels only account block I/O for cgroups with a throttle rule; a generous one does no harm.
    let write_rule = format!("{device}:1gb");
    if device.starts_with("/dev/") {
        options.extend_from_slice(&[
            "--device-write-bps",
            &write_rule,
            "--device-read-bps",
            &write_rule,
        ]);
    }
    let ctr = TestContainer::run(
        "io",
        &options,
        &[
            "sh",
            "-c",
            "touch /data/go-wait; while [ ! -e /data/go ]; do sleep 0.2; done; \
          ping -c 40 -i 0.1 -s 1200 \"$(ip route | awk '/default/ {print $3}')\" >/dev/null 2>&1; \
          dd if=/dev/zero of=/data/blob bs=1M count=16 oflag=direct 2>/dev/null; sleep 300",
        ],
    );
    let engine = start_engine(test_config()).await;
    let before = container_stats_now(&engine, &ctr.name).await;
    std::fs::write(dir.path().join("go"), b"").expect("signal the container");
    let after = wait_for(&engine, WAIT, "network and block counters to rise", |s| {
        find(s, &ctr.name)
            .and_then(|c| c.stats.clone())
            .filter(|stats| {
                stats.net_tx_bytes >= before.net_tx_bytes + 40_000
                    && stats.block_write_bytes >= before.block_write_bytes + (16 << 20)
            })
    })
    .await;
    assert!(
        after.net_rx_bytes > before.net_rx_bytes,
        "echo replies are received: {before:?} -> {after:?}"
    );
    // Rates were seen while the traffic flowed.
    let theirs = docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.NetIO}}|{{.BlockIO}}",
        &ctr.name,
    ]);
    let (net, block) = theirs.split_once('|').expect("two columns");
    let docker_tx = parse_size(net.split(" / ").nth(1).expect("tx"));
    let docker_write = parse_size(block.split(" / ").nth(1).expect("write"));
    let final_stats = container_stats_now(&engine, &ctr.name).await;
    assert!(
        (final_stats.net_tx_bytes as f64 - docker_tx).abs() / docker_tx < 0.10,
        "{final_stats:?} vs {theirs}"
    );
    assert!(
        (final_stats.block_write_bytes as f64 - docker_write).abs() / docker_write < 0.10,
        "{final_stats:?} vs {theirs}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_in_order_and_tail_returns_exactly_the_last_lines() {
    let ctr = TestContainer::run(
        "logs",
        &[],
        &[
            "sh",
            "-c",
            "seq 1 300; i=301; while :; do echo $i; i=$((i+1)); sleep 0.05; done",
        ],
    );
    let engine = start_engine(test_config()).await;
    let client = engine.client().expect("engine connected");
    // Let the burst be written, then hold the writer still so the tail can be compared with the engine's own.
    tokio::time::sleep(Duration::from_millis(500)).await;
    docker(&["pause", &ctr.name]);
    let tail = docktray::sources::docker::logs::LogHub::fetch(
        &client,
        &ctr.id,
        &LogQuery {
            tail: Some(5),
            ..LogQuery::default()
        },
    )
    .await
    .expect("tail");
    assert_eq!(tail.len(), 5);
    let numbers: Vec<u64> = tail
        .iter()
        .map(|l| l.text.parse().expect("numbers"))
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    assert!(
        numbers[0] > 300,
        "the tail is the newest lines: {numbers:?}"
    );
    let expected: Vec<u64> =
        String::from_utf8_lossy(&docker_output(&["logs", "--tail", "5", &ctr.name]).stdout)
            .lines()
            .map(|l| l.trim().parse().expect("numbers"))
            .collect();
    assert_eq!(
        numbers, expected,
        "exactly the last 5 lines, as `docker logs --tail 5`"
    );
    docker(&["unpause", &ctr.name]);

    let mut subscription = engine
        .logs()
        .subscribe(
            &ctr.id,
            LogQuery {
                tail: Some(10),
                ..LogQuery::default()
            },
        )
        .await
        .expect("subscribe");
    assert_eq!(
        subscription.history.len(),
        10,
        "tail 10 of the history at once"
    );
    let mut last: u64 = subscription
        .history
        .last()
        .map(|l| l.text.parse().expect("number"))
        .unwrap_or(0);
    for _ in 0..20 {
        let line = tokio::time::timeout(WAIT, subscription.next())
            .await
            .expect("live lines")
            .expect("open");
        let number: u64 = line.text.parse().expect("number");
        assert_eq!(number, last + 1, "lines arrive in order with none missing");
        assert!(line.timestamp.is_some());
        last = number;
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_subscribers_share_one_docker_log_stream() {
    let ctr = TestContainer::run(
        "share",
        &[],
        &[
            "sh",
            "-c",
            "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done",
        ],
    );
    let engine = start_engine(test_config()).await;
    let hub = engine.logs();
    let opened_before = hub.follow_streams_opened();
    let mut first = hub
        .subscribe(&ctr.id, LogQuery::default())
        .await
        .expect("first");
    let mut second = hub
        .subscribe(&ctr.id, LogQuery::default())
        .await
        .expect("second");
    let a = tokio::time::timeout(WAIT, first.next())
        .await
        .expect("line")
        .expect("open");
    // The second viewer sees the very same line (same sequence number) from the same stream.
    let mut b = tokio::time::timeout(WAIT, second.next())
        .await
        .expect("line")
        .expect("open");
    while b.seq < a.seq {
        b = tokio::time::timeout(WAIT, second.next())
            .await
            .expect("line")
            .expect("open");
    }
    assert_eq!(a.seq, b.seq);
    assert_eq!(a.text, b.text);
    assert_eq!(
        hub.follow_streams_opened() - opened_before,
        1,
        "one Docker stream for two viewers"
    );
    assert!(second.history.len() >= first.history.len());
    engine.shutdown().await;
}

/// Waits for an event with `action` about container `id`.
async fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<Update>,
    id: &str,
    action: &str,
) -> docktray::ContainerEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let update = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {action} event for {id}"))
            .expect("updates open");
        if let Update::Event(event) = update {
            if event.id == id && event.action == action {
                return event;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_start_and_kill_arrive_as_events_with_state_and_exit_code() {
    let ctr = TestContainer::run(
        "events",
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.1; done",
        ],
    );
    let engine = start_engine(test_config()).await;
    let mut rx = engine.subscribe();
    wait_for(&engine, WAIT, "container listed", |s| {
        find(s, &ctr.name).cloned()
    })
    .await;

    engine
        .act(&ctr.name, Action::Stop, &docktray::model::Actor::cli())
        .await
        .expect("stop");
    let died = wait_event(&mut rx, &ctr.id, "die").await;
    assert_eq!(died.exit_code, Some(3), "the trap's exit code");
    let stopped = wait_for(&engine, WAIT, "exited state", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.state == ContainerState::Exited)
            .cloned()
    })
    .await;
    assert_eq!(stopped.info.exit_code, Some(3));
    assert!(
        stopped.stats.is_none(),
        "a stopped container has no live figures"
    );

    engine
        .act(&ctr.id[..12], Action::Start, &docktray::model::Actor::cli())
        .await
        .expect("start by id prefix");
    wait_event(&mut rx, &ctr.id, "start").await;
    wait_for(&engine, WAIT, "running again with stats", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.state == ContainerState::Running && c.stats.is_some())
            .cloned()
    })
    .await;

    docker(&["kill", &ctr.name]);
    let killed = wait_event(&mut rx, &ctr.id, "kill").await;
    assert_eq!(killed.name, ctr.name);
    let died = wait_event(&mut rx, &ctr.id, "die").await;
    assert_eq!(died.exit_code, Some(137));
    wait_for(&engine, WAIT, "exit code 137", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.exit_code == Some(137))
            .cloned()
    })
    .await;

    // Pause and unpause go through the engine too; an action on a stopped container reports Docker's error.
    let refused = engine
        .act(&ctr.name, Action::Pause, &docktray::model::Actor::cli())
        .await
        .expect_err("cannot pause a stopped container");
    assert!(refused.to_string().contains("not running"), "{refused}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_unpause_restart_and_destroy_keep_the_set_current() {
    let ctr = TestContainer::run("pause", &[], &["sleep", "300"]);
    let engine = start_engine(test_config()).await;
    let mut rx = engine.subscribe();
    engine
        .act(&ctr.name, Action::Pause, &docktray::model::Actor::cli())
        .await
        .expect("pause");
    wait_event(&mut rx, &ctr.id, "pause").await;
    wait_for(&engine, WAIT, "paused", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.state == ContainerState::Paused)
            .cloned()
    })
    .await;
    engine
        .act(&ctr.name, Action::Unpause, &docktray::model::Actor::cli())
        .await
        .expect("unpause");
    wait_event(&mut rx, &ctr.id, "unpause").await;
    engine
        .act(&ctr.name, Action::Restart, &docktray::model::Actor::cli())
        .await
        .expect("restart");
    wait_event(&mut rx, &ctr.id, "restart").await;
    wait_for(&engine, WAIT, "running after restart", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.state == ContainerState::Running)
            .cloned()
    })
    .await;
    docker(&["rm", "-f", &ctr.id]);
    wait_event(&mut rx, &ctr.id, "destroy").await;
    wait_for(&engine, WAIT, "container gone", |s| {
        find(s, &ctr.name).is_none().then_some(())
    })
    .await;
    let missing = engine
        .act(&ctr.name, Action::Start, &docktray::model::Actor::cli())
        .await
        .expect_err("gone");
    assert!(missing.to_string().contains("no container"), "{missing}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_is_reported_with_its_flag_and_exit_code() {
    let engine = start_engine(test_config()).await;
    let mut rx = engine.subscribe();
    // `tail /dev/zero` buffers one endless line: it grows until the 16 MiB limit kills it.
    let ctr = TestContainer::run(
        "oom",
        &["--memory", "16m", "--memory-swap", "16m"],
        &["tail", "/dev/zero"],
    );
    wait_event(&mut rx, &ctr.id, "oom").await;
    let died = wait_event(&mut rx, &ctr.id, "die").await;
    assert_eq!(died.exit_code, Some(137));
    let info = wait_for(&engine, WAIT, "OOM-killed state", |s| {
        find(s, &ctr.name)
            .filter(|c| c.info.state == ContainerState::Exited)
            .cloned()
    })
    .await
    .info;
    assert!(info.oom_killed, "{info:?}");
    assert_eq!(info.exit_code, Some(137));
    engine.shutdown().await;
}
