//! The state machine's rules, fed with timestamps: no clocks, no engine.

use std::path::Path;

use super::*;
use crate::model::{ContainerState, CpuUsage, LoadAverage, NetworkRates, SampleMethod, Usage};

pub(super) fn config(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml")).expect("valid config")
}

pub(super) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

pub(super) fn info(name: &str) -> ContainerInfo {
    ContainerInfo {
        host: "local".into(),
        id: format!("id-{name}"),
        name: name.into(),
        image: "img".into(),
        state: ContainerState::Running,
        status: String::new(),
        health: None,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        compose_project: None,
        compose_service: None,
        pod: None,
        ports: vec![],
        created: at(0),
        started_at: None,
        finished_at: None,
        labels: Default::default(),
        ip_addresses: Default::default(),
        pid: None,
    }
}

pub(super) fn cpu(value: f64, seconds: i64) -> ContainerStats {
    ContainerStats {
        sampled_at: at(seconds),
        method: SampleMethod::Cgroup,
        cpu_percent: value,
        cpu_host_percent: value / 2.0,
        online_cpus: 2,
        memory_bytes: 1,
        memory_limit_bytes: 100,
        memory_percent: 1.0,
        net_rx_bytes: 0,
        net_tx_bytes: 0,
        net_rx_bytes_per_s: 0.0,
        net_tx_bytes_per_s: 0.0,
        block_read_bytes: 0,
        block_write_bytes: 0,
        block_read_bytes_per_s: 0.0,
        block_write_bytes_per_s: 0.0,
        pids: 1,
    }
}

/// Feeds CPU values every 2 s from t=0 and returns the kinds of transitions with their times.
fn run(
    evaluator: &mut Evaluator,
    container: &ContainerInfo,
    values: &[f64],
) -> Vec<(i64, TransitionKind, Level)> {
    values
        .iter()
        .enumerate()
        .flat_map(|(i, value)| {
            let seconds = i as i64 * 2;
            evaluator
                .container_stats(container, &cpu(*value, seconds))
                .into_iter()
                .map(move |t| (seconds, t.kind, t.alert.level))
        })
        .collect()
}

#[test]
fn a_one_sample_spike_raises_nothing() {
    let mut evaluator = Evaluator::new(&config(""));
    let changes = run(
        &mut evaluator,
        &info("web"),
        &[10.0, 99.0, 10.0, 10.0, 99.0, 10.0, 10.0, 10.0],
    );
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn sustained_load_raises_once_then_resolves_once() {
    let mut evaluator = Evaluator::new(&config(""));
    let mut values = vec![95.0; 10];
    values.extend([5.0; 10]);
    let changes = run(&mut evaluator, &info("web"), &values);
    assert_eq!(
        changes,
        vec![
            (10, TransitionKind::Raised, Level::Critical),
            (30, TransitionKind::Resolved, Level::Resolved)
        ],
        "raised after the 10 s hold, resolved after 10 s back below"
    );
}

#[test]
fn warning_escalates_to_critical_and_eases_back() {
    let mut evaluator = Evaluator::new(&config(""));
    let values = [
        75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 95.0, 95.0, 95.0, 95.0, 95.0, 95.0, 80.0, 80.0, 80.0,
        80.0, 80.0, 80.0,
    ];
    let changes = run(&mut evaluator, &info("web"), &values);
    let kinds: Vec<TransitionKind> = changes.iter().map(|c| c.1).collect();
    assert_eq!(
        kinds,
        [
            TransitionKind::Raised,
            TransitionKind::Escalated,
            TransitionKind::Eased
        ]
    );
    assert_eq!(changes[0].2, Level::Warning);
    assert_eq!(changes[1].2, Level::Critical);
    assert_eq!(evaluator.active()[0].level, Level::Warning);
}

#[test]
fn a_noisy_signal_around_the_warning_line_does_not_flap() {
    // Raised once; values wobbling just under the warning line (inside the hysteresis band) never clear it.
    let mut evaluator = Evaluator::new(&config(""));
    let mut values = vec![75.0; 6];
    for i in 0..40 {
        values.push(if i % 2 == 0 { 71.0 } else { 66.0 });
    }
    let changes = run(&mut evaluator, &info("web"), &values);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].1, TransitionKind::Raised);
}

#[test]
fn per_metric_hold_and_hysteresis_come_from_config() {
    let mut evaluator = Evaluator::new(&config(
        "[alerts]\nhysteresis_percent = 0\n[thresholds.container_cpu_percent]\nwarning = 50\ncritical = 80\nhold = \"0s\"\n",
    ));
    let changes = run(&mut evaluator, &info("web"), &[60.0, 49.0]);
    assert_eq!(
        changes,
        vec![
            (0, TransitionKind::Raised, Level::Warning),
            (2, TransitionKind::Resolved, Level::Resolved)
        ]
    );
}

#[test]
fn overrides_and_disabled_metrics_are_honoured() {
    let mut evaluator = Evaluator::new(&config(
        "[[overrides]]\ncontainer = \"batch\"\nthresholds.container_cpu_percent = { enabled = false }\n",
    ));
    assert!(run(&mut evaluator, &info("batch"), &[99.0; 10]).is_empty());
    assert_eq!(run(&mut evaluator, &info("web"), &[99.0; 10]).len(), 1);
}

#[test]
fn reminder_only_after_the_cooldown() {
    let mut evaluator = Evaluator::new(&config("[alerts]\ncooldown = \"1m\""));
    run(&mut evaluator, &info("web"), &[95.0; 6]);
    assert!(evaluator.tick(at(30)).is_empty());
    let reminders = evaluator.tick(at(80));
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].kind, TransitionKind::Reminder);
    assert!(evaluator.tick(at(100)).is_empty());
}

#[test]
fn acknowledged_alerts_stop_driving_the_level_until_they_escalate() {
    let mut evaluator = Evaluator::new(&config(""));
    run(&mut evaluator, &info("web"), &[75.0; 6]);
    let id = evaluator.active()[0].id;
    assert!(evaluator.acknowledge(id, at(20)).is_some());
    assert_eq!(
        super::super::overall_level(&evaluator.active(), &[]),
        super::super::OverallLevel::Ok
    );
    let container = info("web");
    let mut escalated = Vec::new();
    for i in 0..8 {
        escalated.extend(evaluator.container_stats(&container, &cpu(95.0, 20 + i * 2)));
    }
    assert_eq!(
        escalated
            .iter()
            .filter(|t| t.kind == TransitionKind::Escalated)
            .count(),
        1
    );
    assert!(!evaluator.active()[0].acknowledged);
    assert_eq!(
        super::super::overall_level(&evaluator.active(), &[]),
        super::super::OverallLevel::Critical
    );
}

fn event(
    action: &str,
    seconds: i64,
    exit_code: Option<i64>,
    health: Option<Health>,
) -> ContainerEvent {
    ContainerEvent {
        host: "local".into(),
        id: "id-job".into(),
        name: "job".into(),
        action: action.into(),
        exit_code,
        health,
        at: at(seconds),
    }
}

#[test]
fn event_alerts_for_exit_oom_unhealthy_and_restart_loop() {
    let mut evaluator = Evaluator::new(&config(""));
    let job = info("job");
    let exited = evaluator.container_event(&event("die", 0, Some(3), None), Some(&job));
    assert_eq!(exited.len(), 1);
    assert_eq!(exited[0].alert.metric, metric::EXITED);
    assert!(
        exited[0].alert.message.contains("code 3"),
        "{}",
        exited[0].alert.message
    );

    // A stop asked for by the user is not an alert.
    let mut other = Evaluator::new(&config(""));
    assert!(other
        .container_event(&event("kill", 0, None, None), Some(&job))
        .is_empty());
    assert!(other
        .container_event(&event("die", 1, Some(137), None), Some(&job))
        .is_empty());

    let oom = evaluator.container_event(&event("oom", 5, None, None), Some(&job));
    assert_eq!(oom[0].alert.metric, metric::OOM_KILLED);
    assert_eq!(oom[0].alert.level, Level::Critical);

    let unhealthy = evaluator.container_event(
        &event("health_status", 6, None, Some(Health::Unhealthy)),
        Some(&job),
    );
    assert_eq!(unhealthy[0].alert.metric, metric::UNHEALTHY);
    let healthy = evaluator.container_event(
        &event("health_status", 7, None, Some(Health::Healthy)),
        Some(&job),
    );
    assert_eq!(healthy[0].kind, TransitionKind::Resolved);

    // Three restarts (start after die) within five minutes make a loop; the exit alert is not repeated.
    let mut loops = Vec::new();
    for i in 0..3 {
        loops.extend(
            evaluator.container_event(&event("start", 10 + i * 20, None, None), Some(&job)),
        );
        loops.extend(
            evaluator.container_event(&event("die", 15 + i * 20, Some(1), None), Some(&job)),
        );
    }
    let kinds: Vec<(&str, TransitionKind)> = loops
        .iter()
        .map(|t| (t.alert.metric.as_str(), t.kind))
        .collect();
    assert_eq!(kinds, [(metric::RESTART_LOOP, TransitionKind::Raised)]);
    // Running steadily again resolves the exit, OOM and (once the window passes) the loop.
    evaluator.container_event(&event("start", 100, None, None), Some(&job));
    let resolved = evaluator.tick(at(100 + 400));
    let metrics: Vec<&str> = resolved.iter().map(|t| t.alert.metric.as_str()).collect();
    assert!(
        metrics.contains(&metric::EXITED)
            && metrics.contains(&metric::OOM_KILLED)
            && metrics.contains(&metric::RESTART_LOOP),
        "{metrics:?}"
    );
}

fn source(state: SourceState) -> SourceStatus {
    SourceStatus {
        name: "local".into(),
        kind: "docker".into(),
        endpoint: "unix:///x".into(),
        state,
        reason: Some("gone".into()),
        consecutive_failures: 1,
        next_retry: None,
        engine_version: None,
        api_version: None,
        stats_method: None,
        since: at(0),
        rate_limit: None,
        last_error: None,
        errors: Vec::new(),
        engine_product: None,
        rootless: false,
        stats_note: None,
    }
}

#[test]
fn an_unreachable_podman_engine_is_named_podman() {
    let mut evaluator = Evaluator::new(&config(""));
    let known = SourceStatus {
        engine_product: Some(crate::model::EngineProduct::Podman),
        ..source(SourceState::Unreachable)
    };
    let down = evaluator.source(&known, at(0));
    assert!(down[0]
        .alert
        .message
        .starts_with("Podman engine of local unreachable"));
    let mut evaluator = Evaluator::new(&config(""));
    let never_reached = SourceStatus {
        endpoint: "unix:///run/user/1000/podman/podman.sock".into(),
        ..source(SourceState::Unreachable)
    };
    let down = evaluator.source(&never_reached, at(0));
    assert!(down[0]
        .alert
        .message
        .starts_with("Podman engine of local unreachable"));
}

#[test]
fn unreachable_source_alert_and_grey_level() {
    let mut evaluator = Evaluator::new(&config(""));
    let down = evaluator.source(&source(SourceState::Unreachable), at(0));
    assert_eq!(down[0].alert.metric, metric::UNREACHABLE);
    assert!(down[0].alert.message.contains("gone"));
    assert!(
        down[0].alert.message.starts_with("Docker engine of local"),
        "{}",
        down[0].alert.message
    );
    assert!(
        evaluator
            .source(&source(SourceState::Unreachable), at(5))
            .is_empty(),
        "said once"
    );
    assert_eq!(
        super::super::overall_level(&evaluator.active(), &[source(SourceState::Unreachable)]),
        super::super::OverallLevel::Unreachable
    );
    let up = evaluator.source(&source(SourceState::Up), at(9));
    assert_eq!(up[0].kind, TransitionKind::Resolved);
    assert_eq!(
        super::super::overall_level(&evaluator.active(), &[source(SourceState::Up)]),
        super::super::OverallLevel::Ok
    );
}

#[test]
fn caddy_unreachable_is_a_warning_that_does_not_grey_the_tray() {
    let mut evaluator = Evaluator::new(&config(""));
    let caddy = |state| SourceStatus {
        name: "caddy".into(),
        kind: "caddy".into(),
        endpoint: "http://localhost:2019".into(),
        reason: Some("no answer from Caddy's admin API".into()),
        ..source(state)
    };
    let docker = source(SourceState::Up);
    let down = evaluator.source(&caddy(SourceState::Unreachable), at(0));
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].alert.level, Level::Warning);
    assert_eq!(down[0].alert.target.kind, TargetKind::Proxy);
    assert!(
        down[0]
            .alert
            .message
            .starts_with("Caddy unreachable: no answer"),
        "{}",
        down[0].alert.message
    );
    let sources = [docker.clone(), caddy(SourceState::Unreachable)];
    assert_eq!(
        super::super::overall_level(&evaluator.active(), &sources),
        super::super::OverallLevel::Warning,
        "amber, not grey: the engines answer"
    );
    // Every engine away is grey, whatever Caddy does.
    let all_down = [source(SourceState::Unreachable), caddy(SourceState::Up)];
    assert_eq!(
        super::super::overall_level(&[], &all_down),
        super::super::OverallLevel::Unreachable
    );
    let back = evaluator.source(&caddy(SourceState::Up), at(9));
    assert_eq!(back[0].kind, TransitionKind::Resolved);
    assert!(back[0].alert.message.contains("Caddy is back"));
    assert!(evaluator.active().is_empty());
}

#[test]
fn host_alerts_carry_the_top_containers_and_disks_alert_per_mount() {
    let mut evaluator = Evaluator::new(&config("[alerts]\nhold = \"0s\""));
    let usage = |percent| Usage {
        used_gb: 1.0,
        total_gb: 2.0,
        percent,
    };
    let stats = ServerStats {
        server_name: "local".into(),
        source_type: "docker-host".into(),
        memory: usage(10.0),
        swap: usage(0.0),
        disk: usage(97.0),
        disks: vec![
            crate::model::DiskUsage {
                mount: "/".into(),
                filesystem: "ext4".into(),
                used_gb: 1.0,
                total_gb: 2.0,
                percent: 50.0,
            },
            crate::model::DiskUsage {
                mount: "/data".into(),
                filesystem: "ext4".into(),
                used_gb: 1.0,
                total_gb: 2.0,
                percent: 97.0,
            },
        ],
        cpu: CpuUsage {
            count: 2,
            percent: 99.0,
            per_core: vec![99.0, 99.0],
        },
        network: NetworkRates {
            rx_bytes_per_s: 0.0,
            tx_bytes_per_s: 0.0,
        },
        load: LoadAverage {
            one: 2.0,
            five: 2.0,
            fifteen: 2.0,
        },
        uptime_s: 1,
        status: "active".into(),
        timestamp: at(0),
        vps: None,
    };
    let changes = evaluator.host_stats(
        &stats,
        vec![("db".into(), 150.0), ("web".into(), 40.0)],
        vec![],
    );
    let cpu_alert = changes
        .iter()
        .find(|t| t.alert.metric == metric::HOST_CPU)
        .expect("cpu alert");
    assert_eq!(cpu_alert.alert.top[0].0, "db");
    let disk = changes
        .iter()
        .find(|t| t.alert.metric == metric::HOST_DISK)
        .expect("disk alert");
    assert_eq!(disk.alert.detail.as_deref(), Some("/data"));
    assert!(
        disk.alert.message.contains("Disk /data"),
        "{}",
        disk.alert.message
    );
}

#[test]
fn removed_containers_end_their_alerts_with_a_notice() {
    let mut evaluator = Evaluator::new(&config(""));
    run(&mut evaluator, &info("web"), &[95.0; 6]);
    let changes = evaluator.container_removed("local", "id-web", "web", at(20));
    let kinds: Vec<TransitionKind> = changes.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [TransitionKind::Resolved, TransitionKind::Notice]);
    assert!(evaluator.active().is_empty());
}

#[test]
fn a_removed_host_resolves_only_its_own_alerts_and_raises_nothing() {
    let mut evaluator = Evaluator::new(&config(""));
    let mut web = info("web");
    web.host = "nas".into();
    run(&mut evaluator, &web, &[95.0; 6]);
    run(&mut evaluator, &info("api"), &[95.0; 6]);
    let mut down = source(SourceState::Unreachable);
    down.name = "nas".into();
    down.endpoint = "ssh://admin@nas/var/run/docker.sock".into();
    assert_eq!(evaluator.source(&down, at(12)).len(), 1);
    assert_eq!(evaluator.active().len(), 3);

    let changes = evaluator.host_removed("nas", &["id-web".to_owned()], at(20));
    let kinds: Vec<TransitionKind> = changes.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [TransitionKind::Resolved, TransitionKind::Resolved]);
    assert!(
        changes.iter().all(|t| t.alert.target.host == "nas"
            && t.alert
                .message
                .contains("nas was removed from the settings")),
        "{changes:?}"
    );
    let left = evaluator.active();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].target.host, "local");
    assert!(
        evaluator.host_removed("nas", &[], at(21)).is_empty(),
        "said once"
    );
}

fn vps(status: &str, memory_mib: f64, network_gb: f64, seconds: i64) -> ServerStats {
    let server: crate::sources::webdock::api::Server = serde_json::from_value(serde_json::json!({
        "slug": "shop1", "name": "Shop", "status": status,
        "profileData": {"slug": "p", "ram": 1000, "disk": 1000, "cpu": {"cores": 1}}
    }))
    .expect("server");
    let metrics: crate::sources::webdock::api::InstantMetrics =
        serde_json::from_value(serde_json::json!({
            "memory": {"latestUsageSampling": {"amount": memory_mib}},
            "disk": {"allowed": 1000, "lastSamplings": {"amount": 100}},
            "network": {"total": network_gb, "allowed": 100}
        }))
        .expect("metrics");
    crate::sources::webdock::normalise::vps_stats(
        "work",
        &server,
        server.profile_data.as_ref(),
        Some(&metrics),
        at(seconds),
    )
}

#[test]
fn vps_memory_quota_and_status_alerts_name_the_server() {
    let mut evaluator = Evaluator::new(&config("[alerts]\nhold = \"0s\"\n"));
    let changes = evaluator.host_stats(&vps("running", 500.0, 10.0, 0), vec![], vec![]);
    assert!(changes.is_empty(), "{changes:?}");
    let changes = evaluator.host_stats(&vps("running", 970.0, 85.0, 1), vec![], vec![]);
    let raised: Vec<(&str, Level)> = changes
        .iter()
        .map(|c| (c.alert.metric.as_str(), c.alert.level))
        .collect();
    assert_eq!(
        raised,
        vec![
            (metric::HOST_MEMORY, Level::Critical),
            (metric::VPS_NETWORK_QUOTA, Level::Warning)
        ]
    );
    assert!(changes
        .iter()
        .all(|c| c.alert.target.kind == TargetKind::Vps
            && c.alert.target.name == "Shop"
            && c.alert.target.id == "shop1"));
    assert!(
        changes[0].alert.message.contains("Memory of Shop"),
        "{:?}",
        changes[0].alert.message
    );
    let changes = evaluator.host_stats(&vps("running", 970.0, 96.0, 2), vec![], vec![]);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, TransitionKind::Escalated);
    assert_eq!(changes[0].alert.metric, metric::VPS_NETWORK_QUOTA);

    let changes = evaluator.host_stats(&vps("stopping", 0.0, 96.0, 3), vec![], vec![]);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].alert.metric.as_str(), changes[0].alert.level),
        (metric::VPS_STATUS, Level::Warning)
    );
    assert!(
        changes[0].alert.message.contains("Shop is not running"),
        "{}",
        changes[0].alert.message
    );
    assert!(evaluator
        .host_stats(&vps("stopping", 0.0, 96.0, 4), vec![], vec![])
        .is_empty());
    let changes = evaluator.host_stats(&vps("stopped", 0.0, 96.0, 5), vec![], vec![]);
    assert_eq!(
        (changes.len(), changes[0].kind, changes[0].alert.level),
        (1, TransitionKind::Escalated, Level::Critical)
    );
    let changes = evaluator.host_stats(&vps("running", 970.0, 96.0, 6), vec![], vec![]);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].alert.metric.as_str(), changes[0].kind),
        (metric::VPS_STATUS, TransitionKind::Resolved)
    );
}

/// A die whose container Docker marks OOMKilled is an OOM kill even without an `oom` event; a kill by signal
/// (exit 137, no OOM) is neither an OOM alert nor an exit alert.
#[test]
fn oom_from_the_container_state_and_a_signal_kill_is_not_oom() {
    let mut evaluator = Evaluator::new(&config(""));
    let mut job = info("job");
    job.oom_killed = true;
    let changes = evaluator.container_event(&event("die", 1, Some(137), None), Some(&job));
    let metrics: Vec<&str> = changes.iter().map(|t| t.alert.metric.as_str()).collect();
    assert_eq!(metrics, [metric::OOM_KILLED]);
    assert!(changes[0].alert.message.contains("job"));

    let mut other = Evaluator::new(&config(""));
    let killed = info("job");
    assert!(other
        .container_event(&event("kill", 10, None, None), Some(&killed))
        .is_empty());
    assert!(other
        .container_event(&event("die", 10, Some(137), None), Some(&killed))
        .is_empty());
}
