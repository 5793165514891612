//! The rendering rules: level filter, quiet hours, grouping, escaping.

use chrono::{TimeZone, Utc};

use super::*;
use crate::alerts::{metric, Alert, TargetKind};

fn at(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
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

fn alert(id: u64, target: Target, metric: &str, level: Level, value: f64, threshold: f64) -> Alert {
    Alert {
        id,
        target,
        metric: metric.into(),
        detail: None,
        level,
        value: Some(value),
        threshold: Some(threshold),
        unit: "%".into(),
        message: format!("message {id}"),
        started_at: Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap(),
        resolved_at: None,
        acknowledged: false,
        top: Vec::new(),
        lines: Vec::new(),
    }
}

fn change(kind: TransitionKind, alert: Alert, previous_level: Option<Level>) -> AlertTransition {
    AlertTransition {
        kind,
        at: alert.started_at,
        alert,
        previous_level,
    }
}

fn raised(id: u64, name: &str, level: Level, value: f64) -> AlertTransition {
    let threshold = if level == Level::Critical { 90.0 } else { 70.0 };
    change(
        TransitionKind::Raised,
        alert(
            id,
            container(name),
            metric::CONTAINER_CPU,
            level,
            value,
            threshold,
        ),
        None,
    )
}

fn resolved(id: u64, name: &str, previous: Level) -> AlertTransition {
    let mut gone = alert(
        id,
        container(name),
        metric::CONTAINER_CPU,
        Level::Resolved,
        12.0,
        70.0,
    );
    gone.message = format!("CPU of {name} on local back to 12.0 % (below 63.0 %)");
    change(TransitionKind::Resolved, gone, Some(previous))
}

fn settings() -> NotificationSettings {
    NotificationSettings::default()
}

#[test]
fn one_notification_per_transition_with_value_against_threshold() {
    let shown = render(
        &[raised(1, "web", Level::Critical, 95.23)],
        &settings(),
        at(12, 0),
    );
    assert_eq!(shown.len(), 1);
    let n = &shown[0];
    assert_eq!(n.summary, "web on local: CPU critical");
    assert_eq!(n.body, "CPU 95.2 % (critical above 90 %)");
    assert_eq!(n.urgency, Urgency::Critical);
    assert_eq!(n.alert_ids, vec![1]);
    assert_eq!(n.target, Some(container("web")));
}

#[test]
fn urgency_follows_the_level() {
    let escalated = change(
        TransitionKind::Escalated,
        alert(
            2,
            container("db"),
            metric::CONTAINER_MEMORY,
            Level::Critical,
            97.0,
            95.0,
        ),
        Some(Level::Warning),
    );
    let notice = change(
        TransitionKind::Notice,
        Alert {
            value: None,
            threshold: None,
            unit: String::new(),
            message: "old on local disappeared".into(),
            ..alert(
                4,
                container("old"),
                metric::DISAPPEARED,
                Level::Info,
                0.0,
                0.0,
            )
        },
        None,
    );
    let info = NotificationSettings {
        min_level: "info".into(),
        ..settings()
    };
    let shown = render(
        &[
            raised(1, "web", Level::Warning, 75.0),
            escalated,
            resolved(3, "api", Level::Warning),
        ],
        &info,
        at(12, 0),
    );
    let urgencies: Vec<Urgency> = shown.iter().map(|n| n.urgency).collect();
    assert_eq!(
        urgencies,
        [Urgency::Normal, Urgency::Critical, Urgency::Low]
    );
    assert_eq!(shown[1].summary, "db on local: Memory now critical");
    assert_eq!(shown[1].body, "Memory 97.0 % (critical above 95 %)");
    let shown = render(&[notice], &info, at(12, 0));
    assert_eq!(shown[0].urgency, Urgency::Low);
    assert_eq!(shown[0].summary, "old on local: Removed");
    assert_eq!(shown[0].body, "old on local disappeared");
    assert_eq!(Urgency::Critical.icon(), "dialog-error");
    assert_eq!(
        Urgency::Low.timeout(),
        notify_rust::Timeout::Milliseconds(5_000)
    );
}

#[test]
fn below_min_level_is_not_notified() {
    let critical_only = NotificationSettings {
        min_level: "critical".into(),
        ..settings()
    };
    let batch = [
        raised(1, "web", Level::Warning, 75.0),
        raised(2, "db", Level::Critical, 99.0),
    ];
    let shown = render(&batch, &critical_only, at(12, 0));
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].alert_ids, vec![2]);
    // Notices are info: hidden at the default `warning`.
    let mut notice = raised(3, "old", Level::Info, 0.0);
    notice.kind = TransitionKind::Notice;
    assert!(render(&[notice], &settings(), at(12, 0)).is_empty());
    // Eased and acknowledged are never notified.
    let mut eased = raised(4, "web", Level::Warning, 80.0);
    eased.kind = TransitionKind::Eased;
    let mut acknowledged = raised(5, "web", Level::Critical, 99.0);
    acknowledged.kind = TransitionKind::Acknowledged;
    assert!(render(&[eased, acknowledged], &settings(), at(12, 0)).is_empty());
}

#[test]
fn resolved_is_notified_only_when_the_alert_was() {
    let shown = render(
        &[resolved(1, "web", Level::Warning)],
        &settings(),
        at(12, 0),
    );
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].summary, "web on local: CPU back to normal");
    assert_eq!(
        shown[0].body,
        "CPU of web on local back to 12.0 % (below 63.0 %)"
    );
    assert_eq!(shown[0].urgency, Urgency::Low);
    let critical_only = NotificationSettings {
        min_level: "critical".into(),
        ..settings()
    };
    assert!(render(
        &[resolved(1, "web", Level::Warning)],
        &critical_only,
        at(12, 0)
    )
    .is_empty());
    assert_eq!(
        render(
            &[resolved(2, "db", Level::Critical)],
            &critical_only,
            at(12, 0)
        )
        .len(),
        1
    );
}

#[test]
fn quiet_hours_span_midnight() {
    let quiet = NotificationSettings {
        quiet_hours: "22:00-07:00".into(),
        ..settings()
    };
    let batch = [raised(1, "web", Level::Critical, 95.0)];
    for silent in [at(22, 0), at(23, 59), at(0, 0), at(3, 30), at(6, 59)] {
        assert!(render(&batch, &quiet, silent).is_empty(), "{silent}");
    }
    for loud in [at(7, 0), at(12, 0), at(21, 59)] {
        assert_eq!(render(&batch, &quiet, loud).len(), 1, "{loud}");
    }
    let daytime = NotificationSettings {
        quiet_hours: "12:00-13:30".into(),
        ..settings()
    };
    assert!(render(&batch, &daytime, at(12, 45)).is_empty());
    assert_eq!(render(&batch, &daytime, at(13, 30)).len(), 1);
    assert!(!in_quiet_hours("", at(3, 0)));
    assert!(!in_quiet_hours("08:00-08:00", at(8, 0)));
}

#[test]
fn disabled_means_nothing() {
    let off = NotificationSettings {
        enabled: false,
        ..settings()
    };
    assert!(render(&[raised(1, "web", Level::Critical, 95.0)], &off, at(12, 0)).is_empty());
}

#[test]
fn a_burst_becomes_one_grouped_notification_worst_first() {
    let mut batch: Vec<AlertTransition> = (0..10)
        .map(|i| raised(i, &format!("c{i}"), Level::Warning, 75.0))
        .collect();
    batch.push(raised(10, "db", Level::Critical, 99.0));
    batch.push(resolved(11, "api", Level::Warning));
    let shown = render(&batch, &settings(), at(12, 0));
    assert_eq!(shown.len(), 1);
    let n = &shown[0];
    assert_eq!(n.summary, "12 alerts on local");
    assert_eq!(n.urgency, Urgency::Critical);
    assert_eq!(n.alert_ids, (0..12).collect::<Vec<u64>>());
    assert_eq!(n.target, None);
    let lines: Vec<&str> = n.body.lines().collect();
    assert_eq!(
        lines,
        [
            "db on local: CPU 99.0 % (critical above 90 %)",
            "c0 on local: CPU 75.0 % (warning above 70 %)",
            "c1 on local: CPU 75.0 % (warning above 70 %)",
            "c2 on local: CPU 75.0 % (warning above 70 %)",
            "and 8 more",
        ]
    );
    // Exactly at the limit: still one each.
    assert_eq!(render(&batch[..3], &settings(), at(12, 0)).len(), 3);
    // Filtered ones do not count toward grouping.
    let mut mostly_info = batch[..3].to_vec();
    for i in 20..25 {
        let mut notice = raised(i, "gone", Level::Info, 0.0);
        notice.kind = TransitionKind::Notice;
        mostly_info.push(notice);
    }
    assert_eq!(render(&mostly_info, &settings(), at(12, 0)).len(), 3);
}

#[test]
fn grouped_across_hosts_and_all_resolved() {
    let mut batch: Vec<AlertTransition> = (0..4)
        .map(|i| resolved(i, &format!("c{i}"), Level::Critical))
        .collect();
    let shown = render(&batch, &settings(), at(12, 0));
    assert_eq!(shown[0].summary, "4 alerts resolved on local");
    assert_eq!(shown[0].urgency, Urgency::Low);
    assert_eq!(shown[0].body.lines().count(), 4);
    batch.push(change(
        TransitionKind::Raised,
        alert(
            9,
            host("nas"),
            metric::HOST_DISK,
            Level::Warning,
            85.0,
            80.0,
        ),
        None,
    ));
    let shown = render(&batch, &settings(), at(12, 0));
    assert_eq!(shown[0].summary, "5 alerts on local and nas");
    assert!(
        shown[0]
            .body
            .starts_with("nas: Disk 85.0 % (warning above 80 %)\n"),
        "{}",
        shown[0].body
    );
}

#[test]
fn host_alerts_name_the_top_containers() {
    let mut cpu = alert(
        1,
        host("local"),
        metric::HOST_CPU,
        Level::Critical,
        97.04,
        95.0,
    );
    cpu.top = vec![
        ("db".into(), 61.0),
        ("web".into(), 20.25),
        ("cache".into(), 9.0),
        ("x".into(), 1.0),
    ];
    let shown = render(
        &[change(TransitionKind::Raised, cpu, None)],
        &settings(),
        at(12, 0),
    );
    assert_eq!(shown[0].summary, "local: CPU critical");
    assert_eq!(
        shown[0].body,
        "CPU 97.0 % (critical above 95 %)\nTop: db 61.0 %, web 20.2 %, cache 9.0 %"
    );
}

#[test]
fn untrusted_names_are_plain_text() {
    let evil = "<img src=x onerror=alert(1)>";
    let mut cpu = alert(
        1,
        host("local"),
        metric::HOST_CPU,
        Level::Critical,
        97.0,
        95.0,
    );
    cpu.top = vec![(evil.into(), 50.0), ("a&b".into(), 10.0)];
    let mut exited = alert(2, container(evil), metric::EXITED, Level::Warning, 0.0, 0.0);
    exited.value = None;
    exited.threshold = None;
    exited.message = format!("{evil} on local exited with code 1");
    let shown = render(
        &[
            change(TransitionKind::Raised, cpu, None),
            change(TransitionKind::Raised, exited, None),
        ],
        &settings(),
        at(12, 0),
    );
    assert_eq!(
        shown[0].body,
        "CPU 97.0 % (critical above 95 %)\nTop: &lt;img src=x onerror=alert(1)&gt; 50.0 %, a&amp;b 10.0 %"
    );
    assert!(shown[0]
        .plain_body()
        .ends_with(&format!("Top: {evil} 50.0 %, a&b 10.0 %")));
    assert_eq!(
        shown[1].body,
        "&lt;img src=x onerror=alert(1)&gt; on local exited with code 1"
    );
    // The summary is plain text by the spec: passed through as is.
    assert_eq!(shown[1].summary, format!("{evil} on local: Exited"));
}

#[test]
fn markup_escaping_round_trips() {
    for text in [
        "",
        "a < b && c > d",
        "&lt; literal",
        "&amp;lt;",
        "&",
        "trailing &",
    ] {
        assert_eq!(unescape_markup(&escape_markup(text)), text);
    }
    assert_eq!(one_line("a\nb\tc"), "a b c");
}
