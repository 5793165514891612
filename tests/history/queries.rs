//! Queries, resolutions, rollups and retention.

use super::*;

#[test]
fn samples_are_queryable_by_id_name_service_host_time_range_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let t0 = base_time();
    let history = open(&path);
    for i in 0..30 {
        let at = t0 + secs(2 * i);
        let v = i as f64;
        history.record_containers(&[
            (info("local", WEB1, "web-1", Some("web")), stats(at, v)),
            // Sampled a little later in each sweep, as a real sweep does.
            (
                info("local", WEB2, "/web-2", Some("web")),
                stats(at + TimeDelta::milliseconds(137), 10.0 * v),
            ),
            (info("local", DB, "db", Some("db")), stats(at, 100.0 + v)),
            (info("edge", EDGE_CACHE, "cache", None), stats(at, 1.0)),
            (info("local", LOCAL_CACHE, "cache", None), stats(at, 2.0)),
        ]);
        history.record_host(&host_stats("local", at, v));
    }
    history.flush().unwrap();
    let until = t0 + secs(60);
    let expected: Vec<f64> = (0..30).map(f64::from).collect();

    for target in [WEB1, "aaaa", "aaaa1111", "web-1", "/web-1"] {
        let series = history
            .query(&query(
                container(target),
                "cpu_percent",
                t0,
                until,
                Resolution::Raw,
            ))
            .unwrap();
        assert_eq!(series.resolution, Resolution::Raw);
        assert_eq!(avgs(&series), expected, "by {target}");
        assert_eq!(
            times(&series),
            (0..30).map(|i| t0 + secs(2 * i)).collect::<Vec<_>>()
        );
        assert!(series
            .points
            .iter()
            .all(|p| p.min == p.avg && p.max == p.avg));
    }
    // The leading slash Docker puts on names is not stored.
    let web2 = history
        .query(&query(
            container("web-2"),
            "net_tx_bytes_per_s",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(
        avgs(&web2),
        (0..30).map(|i| 200.0 * i as f64).collect::<Vec<_>>()
    );

    // A service sums additive metrics per sweep (web-2 is sampled 137 ms after web-1) ...
    let web = SeriesTarget::Service {
        host: None,
        service: "web".to_owned(),
    };
    let service = history
        .query(&query(
            web.clone(),
            "cpu_percent",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(
        avgs(&service),
        (0..30).map(|i| 11.0 * i as f64).collect::<Vec<_>>()
    );
    assert_eq!(service.points[1].at, t0 + secs(2));
    // ... and averages memory_percent.
    let service_mem = history
        .query(&query(web, "memory_percent", t0, until, Resolution::Raw))
        .unwrap();
    assert_eq!(
        avgs(&service_mem),
        (0..30)
            .map(|i| (i as f64 / 4.0 + 10.0 * i as f64 / 4.0) / 2.0)
            .collect::<Vec<_>>()
    );

    let host = history
        .query(&query(
            SeriesTarget::Host {
                name: "local".to_owned(),
            },
            "memory_percent",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(
        avgs(&host),
        (0..30).map(|i| i as f64 + 1.0).collect::<Vec<_>>()
    );

    // Time range: [since, until).
    let range = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0 + secs(10),
            t0 + secs(20),
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(avgs(&range), vec![5.0, 6.0, 7.0, 8.0, 9.0]);

    // Limit keeps the newest points, oldest first.
    let mut limited = query(container(DB), "pids", t0, until, Resolution::Raw);
    limited.limit = Some(3);
    assert_eq!(
        avgs(&history.query(&limited).unwrap()),
        vec![127.0, 128.0, 129.0]
    );

    // Same name on two hosts: ambiguous without a host, fine with one.
    let err = history
        .query(&query(
            container("cache"),
            "cpu_percent",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap_err();
    assert!(matches!(err, HistoryError::AmbiguousTarget { .. }), "{err}");
    assert!(err.to_string().contains("edge, local"), "{err}");
    let edge = SeriesTarget::Container {
        host: Some("edge".to_owned()),
        id_or_name: "cache".to_owned(),
    };
    let series = history
        .query(&query(edge, "cpu_percent", t0, until, Resolution::Raw))
        .unwrap();
    assert_eq!(avgs(&series), vec![1.0; 30]);

    // Nothing recorded: empty, not an error. An empty range is an error.
    let none = history
        .query(&query(
            container("nope"),
            "cpu_percent",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap();
    assert!(none.points.is_empty());
    let err = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            until,
            t0,
            Resolution::Raw,
        ))
        .unwrap_err();
    assert!(matches!(err, HistoryError::EmptyRange { .. }), "{err}");

    // Everything is still there after reopening.
    drop(history);
    let history = open(&path);
    let series = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0,
            until,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(avgs(&series), expected);
}

#[test]
fn unknown_metric_names_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let history = open(&db_path(&dir));
    let t0 = base_time();
    let err = history
        .query(&query(
            container("web"),
            "cpu",
            t0,
            t0 + secs(60),
            Resolution::Auto,
        ))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::UnknownMetric { .. }), "{text}");
    for name in docktray::history::CONTAINER_METRICS {
        assert!(text.contains(name), "{text}");
    }
    let err = history
        .query(&query(
            SeriesTarget::Host {
                name: "local".to_owned(),
            },
            "pids",
            t0,
            t0 + secs(60),
            Resolution::Auto,
        ))
        .unwrap_err();
    assert!(err.to_string().contains("load_1"), "{err}");
    assert!(err.to_string().contains("disk_percent"), "{err}");
}

#[test]
fn auto_resolution_uses_raw_for_15_minutes_and_rollups_for_24_hours() {
    let dir = tempfile::tempdir().unwrap();
    let history = open(&db_path(&dir));
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let start = now - TimeDelta::minutes(20);
    for i in 0..(20 * 12) {
        history.record_containers(&[(
            info("local", WEB1, "web-1", None),
            stats(start + secs(5 * i), 1.0),
        )]);
    }
    history.flush().unwrap();

    let short = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            now - TimeDelta::minutes(15),
            now,
            Resolution::Auto,
        ))
        .unwrap();
    assert_eq!(short.resolution, Resolution::Raw);
    assert_eq!(short.points.len(), 15 * 12);

    let two_hours = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            now - TimeDelta::hours(2),
            now,
            Resolution::Auto,
        ))
        .unwrap();
    assert_eq!(two_hours.resolution, Resolution::Raw);

    let day = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            now - TimeDelta::hours(24),
            now,
            Resolution::Auto,
        ))
        .unwrap();
    assert_eq!(day.resolution, Resolution::Minute);
    assert_eq!(day.points.len(), 20);
    assert!(day.points.iter().all(|p| p.at.timestamp() % 60 == 0));
}

/// Per-minute (min, avg, max) computed here from the raw points.
fn expected_minutes(raw: &Series) -> Vec<(DateTime<Utc>, f64, f64, f64)> {
    let mut by_minute: BTreeMap<DateTime<Utc>, Vec<f64>> = BTreeMap::new();
    for p in &raw.points {
        by_minute
            .entry(p.at.duration_trunc(TimeDelta::minutes(1)).unwrap())
            .or_default()
            .push(p.avg);
    }
    by_minute
        .into_iter()
        .map(|(at, v)| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (at, min, v.iter().sum::<f64>() / v.len() as f64, max)
        })
        .collect()
}

fn minutes(series: &Series) -> Vec<(DateTime<Utc>, f64, f64, f64)> {
    series
        .points
        .iter()
        .map(|p| (p.at, p.min, p.avg, p.max))
        .collect()
}

#[test]
fn rollups_match_the_raw_samples_they_summarise() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let history = open(&path);
    let t0 = base_time();
    // Ten minutes at 5 s, values exact in binary so any summation order gives the same average.
    for i in 0..120i64 {
        let at = t0 + TimeDelta::milliseconds(5000 * i + 1500);
        let v = ((i * 7) % 13) as f64 * 0.25;
        history.record_containers(&[
            (info("local", WEB1, "web-1", Some("web")), stats(at, v)),
            (
                info("local", WEB2, "web-2", Some("web")),
                stats(at + TimeDelta::milliseconds(40), v + 1.0),
            ),
        ]);
        history.record_host(&host_stats("local", at, v));
    }
    history.flush().unwrap();

    // The writer stored rollups for the nine completed minutes; the tenth is computed from raw rows on the fly.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM container_minute", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 2 * 9);
    let stored_hosts: i64 = conn
        .query_row("SELECT count(*) FROM host_minute", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored_hosts, 9);

    let until = t0 + TimeDelta::minutes(10);
    let check = |history: &History, target: SeriesTarget, metric: &str| {
        let raw = history
            .query(&query(target.clone(), metric, t0, until, Resolution::Raw))
            .unwrap();
        let rolled = history
            .query(&query(target, metric, t0, until, Resolution::Minute))
            .unwrap();
        assert_eq!(rolled.resolution, Resolution::Minute);
        assert_eq!(rolled.points.len(), 10, "{metric}");
        assert_eq!(minutes(&rolled), expected_minutes(&raw), "{metric}");
    };
    for metric in [
        "cpu_percent",
        "memory_bytes",
        "pids",
        "block_write_bytes_per_s",
    ] {
        check(&history, container("web-1"), metric);
    }
    for metric in ["cpu_percent", "load_1", "swap_percent"] {
        check(
            &history,
            SeriesTarget::Host {
                name: "local".to_owned(),
            },
            metric,
        );
    }

    // A service's minute sums its members' minutes.
    let w1 = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0,
            until,
            Resolution::Minute,
        ))
        .unwrap();
    let w2 = history
        .query(&query(
            container("web-2"),
            "cpu_percent",
            t0,
            until,
            Resolution::Minute,
        ))
        .unwrap();
    let web = history
        .query(&query(
            SeriesTarget::Service {
                host: None,
                service: "web".to_owned(),
            },
            "cpu_percent",
            t0,
            until,
            Resolution::Minute,
        ))
        .unwrap();
    for ((a, b), s) in w1.points.iter().zip(&w2.points).zip(&web.points) {
        assert_eq!(
            (s.min, s.avg, s.max),
            (a.min + b.min, a.avg + b.avg, a.max + b.max)
        );
    }

    // A late sample (a slow remote host) lands in an already rolled-up minute: that minute is rolled up again.
    history.record_containers(&[(
        info("local", WEB1, "web-1", Some("web")),
        stats(t0 + TimeDelta::minutes(2) + secs(59), 100.0),
    )]);
    history.flush().unwrap();
    check(&history, container("web-1"), "cpu_percent");
    let rolled = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0,
            until,
            Resolution::Minute,
        ))
        .unwrap();
    assert_eq!(rolled.points[2].max, 100.0);
}

// ---------------------------------------------------------------------------------------------------------
// Retention

#[test]
fn retentions_changed_while_open_apply_to_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    let long = HistorySettings {
        raw_retention: Duration::from_secs(10 * 3600),
        ..HistorySettings::default()
    };
    let history = History::open_tuned(&db_path(&dir), &long, fast()).unwrap();
    let now = base_time();
    for k in 0..180 {
        let at = now - TimeDelta::minutes(k) + secs(10);
        history.record_containers(&[(info("local", WEB1, "web-1", None), stats(at, k as f64))]);
    }
    history.flush().unwrap();
    assert_eq!(history.prune(now).unwrap().container_raw_rows, 0);

    // The window's settings shorten the raw retention to one hour: no reopening.
    history
        .set_retention(&HistorySettings {
            raw_retention: Duration::from_secs(3600),
            ..long
        })
        .unwrap();
    assert_eq!(history.prune(now).unwrap().container_raw_rows, 180 - 61);
}

#[test]
fn retention_removes_what_is_older_than_the_settings_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let settings = HistorySettings {
        raw_retention: Duration::from_secs(3600),
        rollup_retention: Duration::from_secs(3 * 3600),
        alert_retention: Duration::from_secs(2 * 3600),
        ..HistorySettings::default()
    };
    // Tiny delete batches, so a pass takes many of them (and keeps committing samples in between).
    let tuning = Tuning {
        prune_batch: 7,
        ..fast()
    };
    let history = History::open_tuned(&path, &settings, tuning).unwrap();
    let now = base_time();
    // Five hours, one sample a minute (10 s into it), newest in the minute starting at `now`.
    for k in 0..300 {
        let at = now - TimeDelta::minutes(k) + secs(10);
        history.record_containers(&[(info("local", WEB1, "web-1", None), stats(at, k as f64))]);
        history.record_host(&host_stats("local", at, k as f64));
    }
    let hours = |h: i64| now - TimeDelta::hours(h);
    history.record_alert(&alert(1, Level::Resolved, hours(4), Some(hours(3)))); // over 2 h ago: goes
    history.record_alert(&alert(2, Level::Resolved, hours(4), Some(hours(1)))); // resolved 1 h ago: stays
    history.record_alert(&alert(3, Level::Warning, hours(4), None)); // still active: stays
    history.record_alert(&alert(4, Level::Info, hours(4), None)); // an old notice: goes
    history.flush().unwrap();
    // Samples keep arriving during the pass.
    history.record_containers(&[(info("local", DB, "db", None), stats(now + secs(20), 1.0))]);

    let report = history.prune(now).unwrap();
    // Raw: kept from now - 1 h (k <= 60); rollups: kept from now - 3 h (minutes k = 1..=180).
    assert_eq!(report.container_raw_rows, 300 - 61);
    assert_eq!(report.host_raw_rows, 300 - 61);
    assert_eq!(report.container_minute_rows, 299 - 180);
    assert_eq!(report.host_minute_rows, 299 - 180);
    assert_eq!(report.alerts, 2);
    assert_eq!(report.series, 0);

    let all = now - TimeDelta::hours(6);
    let end = now + TimeDelta::minutes(1);
    let raw = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            all,
            end,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(raw.points.len(), 61);
    assert_eq!(raw.points[0].at, hours(1) + secs(10));
    let rolled = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            all,
            end,
            Resolution::Minute,
        ))
        .unwrap();
    // 180 stored minutes plus the current one from raw rows.
    assert_eq!(rolled.points.len(), 181);
    assert_eq!(rolled.points[0].at, hours(3));
    let host = history
        .query(&query(
            SeriesTarget::Host {
                name: "local".to_owned(),
            },
            "cpu_percent",
            all,
            end,
            Resolution::Minute,
        ))
        .unwrap();
    assert_eq!(host.points.len(), 181);
    let ids: Vec<u64> = history
        .alerts(&AlertQuery::default())
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec![3, 2]);
    history.flush().unwrap();
    let db = history
        .query(&query(
            container("db"),
            "cpu_percent",
            all,
            end,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(db.points.len(), 1);

    // A second pass finds nothing.
    let again = history.prune(now).unwrap();
    assert_eq!(
        again,
        PruneReport {
            took_ms: again.took_ms,
            ..PruneReport::default()
        }
    );

    // A day later everything rolled up is past both retentions, but raw rows of the minute not rolled up
    // yet (web-1 and the host at now + 10 s, db at now + 20 s) stay, whatever their age.
    let report = history.prune(now + TimeDelta::days(1)).unwrap();
    assert_eq!(
        (
            report.container_raw_rows,
            report.container_minute_rows,
            report.alerts,
            report.series
        ),
        (60, 180, 1, 0)
    );
    let left = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            all,
            end,
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(times(&left), vec![now + secs(10)]);

    // Once a later sample rolls that minute up and it ages out too, series with no rows left go.
    history.record_containers(&[(info("local", DB, "db", None), stats(now + secs(125), 1.0))]);
    history.flush().unwrap();
    let report = history.prune(now + TimeDelta::days(30)).unwrap();
    assert_eq!(
        (
            report.container_raw_rows,
            report.host_raw_rows,
            report.container_minute_rows,
            report.host_minute_rows
        ),
        (2, 1, 2, 1)
    );
    assert_eq!(report.alerts, 0, "alert 3 is still active");
    assert_eq!(
        report.series, 2,
        "web-1 and host local; db still has a raw row"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Crash safety
