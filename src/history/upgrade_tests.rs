//! A database written by an older release opens in this one with everything it held: samples, rollups, alerts and
//! (from version 2) the timeline, and takes the new tables (gauges, alert lines) beside them.

use std::path::Path;

use chrono::{TimeDelta, Utc};
use rusqlite::{params, Connection};

use super::schema::{migrate, MIGRATIONS};
use super::*;
use crate::config::HistorySettings;

const ID: &str = "cccc3333000000000000000000000000000000000000000000000000000000000";

/// Writes a file at `version` holding one container (two raw samples and their minute), one host sample, one
/// resolved alert and, from version 2 on, one engine event. Returns the time of the first sample in ms.
fn old_file(path: &Path, version: usize) -> i64 {
    let mut conn = Connection::open(path).unwrap();
    migrate(&mut conn, 0, &MIGRATIONS[..version]).unwrap();
    let minute = (Utc::now() - TimeDelta::minutes(10)).timestamp_millis() / 60_000 * 60_000;
    conn.execute(
        "INSERT INTO container_series (id, host, container_id, name, service, project) \
         VALUES (1, 'local', ?1, 'db', 'db', 'shop')",
        [ID],
    )
    .unwrap();
    for (offset, memory) in [(0, 100_000_000i64), (2_000, 120_000_000)] {
        conn.execute(
            "INSERT INTO container_raw VALUES (1, ?1, 1.5, 0.75, ?2, 536870912, 20, 0, 0, 0, 0, 7)",
            params![minute + offset, memory],
        )
        .unwrap();
    }
    let metric_columns = vec!["0"; 30].join(", ");
    conn.execute(
        &format!("INSERT INTO container_minute VALUES (1, ?1, 2, {metric_columns})"),
        [minute],
    )
    .unwrap();
    conn.execute("INSERT INTO host_series (id, name) VALUES (1, 'local')", [])
        .unwrap();
    conn.execute(
        "INSERT INTO host_raw VALUES (1, ?1, 12, 40, 3.2, 0, 61, 0, 0, 0.5)",
        [minute],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO alerts (id, level, level_rank, peak_rank, metric, target_kind, target_host, target_id, \
         target_name, detail, started_at, resolved_at, acknowledged, message, value, threshold, unit, top) \
         VALUES (7, 'resolved', 0, 2, 'container_memory_percent', 'container', 'local', ?1, 'db', NULL, ?2, ?3, \
         0, 'memory of db at 85 %', 85.0, 80.0, '%', '[]')",
        params![ID, minute, minute + 60_000],
    )
    .unwrap();
    if version >= 2 {
        conn.execute(
            "INSERT INTO events (host, ts_ns, scope, action, kind, object_id, name, exit_code) \
             VALUES ('local', ?1, 'container', 'die', 'die', ?2, 'db', 137)",
            params![minute * 1_000_000, ID],
        )
        .unwrap();
    }
    minute
}

fn check_upgrade(version: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    let minute = old_file(&path, version);
    let history = History::open(&path, &HistorySettings::default()).unwrap();
    let found: i64 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(found, SCHEMA_VERSION, "from version {version}");

    let since = from_ms(minute - 60_000);
    let until = from_ms(minute + 120_000);
    let raw = history
        .query(&SeriesQuery {
            target: SeriesTarget::Container {
                host: None,
                id_or_name: "db".into(),
            },
            metric: "memory_bytes".into(),
            since,
            until,
            limit: None,
            resolution: Resolution::Raw,
        })
        .unwrap();
    let memory: Vec<f64> = raw.points.iter().map(|p| p.avg).collect();
    assert_eq!(
        memory,
        [100_000_000.0, 120_000_000.0],
        "from version {version}"
    );
    let minutes = history
        .query(&SeriesQuery {
            target: SeriesTarget::Container {
                host: None,
                id_or_name: "db".into(),
            },
            metric: "pids".into(),
            since,
            until: from_ms(minute + 59_000),
            limit: None,
            resolution: Resolution::Minute,
        })
        .unwrap();
    assert_eq!(minutes.points.len(), 1, "from version {version}");
    let disk = history
        .query(&SeriesQuery {
            target: SeriesTarget::Host {
                name: "local".into(),
            },
            metric: "disk_percent".into(),
            since,
            until,
            limit: None,
            resolution: Resolution::Raw,
        })
        .unwrap();
    assert_eq!(disk.points.len(), 1);
    assert_eq!(disk.points[0].avg, 61.0);

    let alerts = history.alerts(&AlertQuery::default()).unwrap();
    assert_eq!(alerts.len(), 1, "from version {version}");
    assert_eq!(alerts[0].target.name, "db");
    assert_eq!(alerts[0].message, "memory of db at 85 %");
    assert!(alerts[0].lines.is_empty(), "old alerts have no log lines");

    let timeline = history.timeline(&TimelineQuery::default()).unwrap();
    let dies: Vec<_> = timeline.rows.iter().filter(|r| r.kind == "die").collect();
    assert_eq!(
        dies.len(),
        usize::from(version >= 2),
        "from version {version}"
    );

    // The new column takes new data beside the old rows.
    let mut with_lines = alerts[0].clone();
    with_lines.id = 8;
    with_lines.lines = vec!["ERROR disk full".into()];
    history.record_alert(&with_lines);
    history.flush().unwrap();
    let alerts = history.alerts(&AlertQuery::default()).unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts
        .iter()
        .any(|a| a.id == 8 && a.lines == ["ERROR disk full"]));
}

#[test]
fn a_version_1_file_keeps_its_samples_and_alerts() {
    check_upgrade(1);
}

#[test]
fn a_version_2_file_keeps_its_samples_alerts_and_timeline() {
    check_upgrade(2);
}
