//! Crash safety under a real `kill -9`, export round trips, alerts, the bounded queue, and the errors users see
//! for bad paths and files.

use super::*;

const CRASH_DB_ENV: &str = "DOCKTRAY_HISTORY_CRASH_DB";
const CRASH_ROUND_ENV: &str = "DOCKTRAY_HISTORY_CRASH_ROUND";
/// The child test's full name, for `--exact`.
const CRASH_CHILD: &str = "durability::crash_child_writes_batches_until_killed";
/// Rows per batch in each round: the default batch size, then batches larger than SQLite's page cache, whose
/// commits write WAL frames for longer (so a kill can land in the middle of one).
fn crash_rows(round: i64) -> i64 {
    if round < 3 {
        2000
    } else {
        40_000
    }
}
const CRASH_CONTAINERS: i64 = 100;
const ROUNDS: i64 = 6;

/// Not a test on its own (ignored, so a normal run skips it): the child process of the kill -9 test, which
/// runs it with `--ignored`. Without its environment it does nothing. Writes batches of 2000 rows (20 sweeps x 100 containers, `pids` = batch number) through the real writer
/// and prints `BATCH n` once `flush` says batch n is committed.
#[test]
#[ignore = "the child process of kill_9_during_writes_keeps_every_committed_batch"]
fn crash_child_writes_batches_until_killed() {
    let Ok(path) = std::env::var(CRASH_DB_ENV) else {
        return;
    };
    let round: i64 = std::env::var(CRASH_ROUND_ENV).unwrap().parse().unwrap();
    let rows = crash_rows(round);
    let tuning = Tuning {
        batch_rows: rows as usize,
        queue_capacity: 2 * rows as usize,
        ..fast()
    };
    let history =
        History::open_tuned(Path::new(&path), &HistorySettings::default(), tuning).unwrap();
    let infos: Vec<ContainerInfo> = (0..CRASH_CONTAINERS)
        .map(|c| info("local", &format!("{c:064x}"), &format!("c{c}"), Some("svc")))
        .collect();
    let t0 = base_time();
    let started = Instant::now();
    let sweeps = rows / CRASH_CONTAINERS;
    for batch in round * 1000.. {
        for sweep in 0..sweeps {
            let at = t0 + secs(round * 100_000 + (batch - round * 1000) * sweeps + sweep);
            let samples: Vec<_> = infos
                .iter()
                .map(|i| (i.clone(), stats(at, batch as f64)))
                .collect();
            history.record_containers(&samples);
        }
        history.flush().unwrap();
        println!("BATCH {batch}");
        // Never outlive a parent that failed to kill us.
        assert!(started.elapsed() < Duration::from_secs(120));
    }
}

/// Counts WAL frames written after the last commit frame of the current WAL generation: pages of a
/// transaction that was being committed when the process died. (WAL format: 32-byte header with the page
/// size at 8 and the salts at 16; each frame a 24-byte header, non-zero "db size" at 4 for commit frames,
/// its salts at 8, then the page.)
fn torn_wal_frames(db: &Path) -> usize {
    let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) else {
        return 0;
    };
    if wal.len() < 32 {
        return 0;
    }
    let page = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let salts = &wal[16..24];
    let mut torn = 0;
    let mut at = 32;
    while at + 24 + page <= wal.len() {
        let header = &wal[at..at + 24];
        if &header[8..16] != salts {
            break;
        }
        let commit = u32::from_be_bytes(header[4..8].try_into().unwrap()) != 0;
        torn = if commit { 0 } else { torn + 1 };
        at += 24 + page;
    }
    torn
}

#[test]
fn kill_9_during_writes_keeps_every_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut reported = Vec::new();
    let mut in_flight = Vec::new();
    for round in 0..ROUNDS {
        let rows = crash_rows(round);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                CRASH_CHILD,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DB_ENV, &path)
            .env(CRASH_ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(90);
        let (mut last_at, mut period) = (Instant::now(), Duration::ZERO);
        while seen < if rows > 2000 { 2 } else { 4 + round } {
            assert!(Instant::now() < deadline, "the child reported no batches");
            let line = lines.next().expect("child exited early").unwrap();
            // Not a prefix: libtest writes "test NAME ... " before the test's own output on that line.
            if let Some(n) = line.split_once("BATCH ").map(|(_, n)| n) {
                reported.push((n.parse::<i64>().unwrap(), rows));
                seen += 1;
                period = last_at.elapsed();
                last_at = Instant::now();
            }
        }
        // Kill at a different point of the next batch each round (queueing, committing), then SIGKILL.
        std::thread::sleep(period * (round as u32 + 1) / (ROUNDS as u32 + 1));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        // Lines it printed before dying are batches it saw committed too.
        for line in lines {
            if let Some(n) = line.unwrap().split_once("BATCH ").map(|(_, n)| n) {
                reported.push((n.parse::<i64>().unwrap(), rows));
            }
        }

        // Frames of a transaction the kill cut short, still in the WAL (SQLite ignores them on open).
        let torn = torn_wal_frames(&path);
        // The database opens as it is (no recovery step of ours) and is intact.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mut counts: HashMap<i64, i64> = HashMap::new();
        let mut stmt = conn
            .prepare("SELECT pids, count(*) FROM container_raw GROUP BY pids")
            .unwrap();
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
        {
            let (batch, n) = row.unwrap();
            counts.insert(batch, n);
        }
        let (last, _) = *reported.last().unwrap();
        in_flight.push((last + 1, rows));
        for (batch, rows) in &reported {
            assert_eq!(
                counts.get(batch),
                Some(rows),
                "batch {batch} was reported committed"
            );
        }
        for (batch, n) in &counts {
            if !reported.iter().any(|r| r.0 == *batch) {
                // Only a batch in flight at a kill may be there (whole or in part).
                let flight = in_flight.iter().find(|f| f.0 == *batch);
                assert!(
                    flight.is_some_and(|f| *n <= f.1),
                    "unexpected rows of batch {batch}"
                );
            }
        }
        eprintln!(
                        "round {round}: {} batches reported, in-flight batch has {} rows; the kill cut a commit \
             short after {torn} WAL frames",
            reported.len(),
            counts.get(&(last + 1)).copied().unwrap_or(0)
        );
        drop(stmt);
        drop(conn);
    }
    // And the store itself reopens and answers.
    let history = open(&path);
    let t0 = base_time() - TimeDelta::hours(1);
    let series = history
        .query(&query(
            container("c7"),
            "pids",
            t0,
            t0 + TimeDelta::days(7),
            Resolution::Raw,
        ))
        .unwrap();
    let committed: i64 = reported.iter().map(|r| r.1).sum();
    assert!(series.points.len() as i64 >= committed / CRASH_CONTAINERS);
}

// ---------------------------------------------------------------------------------------------------------
// Export

#[test]
fn export_jsonl_and_csv_parse_back_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let history = open(&db_path(&dir));
    let t0 = base_time();
    let awkward = [0.1, 1e-7, 123_456.789, 1.0 / 3.0, 0.0];
    for (i, v) in awkward.iter().enumerate() {
        let at = t0 + secs(2 * i as i64) + TimeDelta::microseconds(1234);
        history.record_containers(&[
            (info("local", WEB1, "web-1", Some("web")), stats(at, *v)),
            (info("edge", EDGE_CACHE, "cache", None), stats(at, v * 3.0)),
        ]);
        history.record_host(&host_stats("local", at, *v));
    }
    let mut tricky = alert(7, Level::Critical, t0 + secs(1), None);
    tricky.message = "disk \"/\" at 97%, see\nline two".to_owned();
    tricky.detail = Some("/".to_owned());
    tricky.top = vec![("web-1".to_owned(), 45.5), ("db, main".to_owned(), 0.1)];
    tricky.target.kind = TargetKind::Host;
    let plain = alert(
        8,
        Level::Resolved,
        t0 - TimeDelta::hours(1),
        Some(t0 + secs(3)),
    );
    let outside = alert(
        9,
        Level::Warning,
        t0 - TimeDelta::hours(2),
        Some(t0 - TimeDelta::hours(1)),
    );
    history.record_alert(&tricky);
    history.record_alert(&plain);
    history.record_alert(&outside);

    let (since, until) = (t0, t0 + secs(10));
    let mut jsonl = Vec::new();
    let json_rows = history
        .export(since, until, ExportFormat::JsonLines, &mut jsonl)
        .unwrap();
    let mut csv = Vec::new();
    let csv_rows = history
        .export(since, until, ExportFormat::Csv, &mut csv)
        .unwrap();
    assert_eq!(json_rows, 5 * 2 + 5 + 2);
    assert_eq!(csv_rows, json_rows);

    let from_json = parse_export(ExportFormat::JsonLines, &jsonl[..]).unwrap();
    let from_csv = parse_export(ExportFormat::Csv, &csv[..]).unwrap();
    assert_eq!(from_json.len() as u64, json_rows);
    assert_eq!(from_json, from_csv);
    let text = String::from_utf8(jsonl).unwrap();
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            ["container_sample", "host_sample", "alert"].contains(&value["kind"].as_str().unwrap())
        );
    }
    assert!(String::from_utf8(csv)
        .unwrap()
        .starts_with("kind,at,host,container_id,name,"));

    // The rows are what was recorded (times at millisecond precision).
    let ms = |at: DateTime<Utc>| DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap();
    let mut containers = 0;
    for row in &from_json {
        match row {
            ExportRow::ContainerSample(s) => {
                containers += 1;
                let i = (s.at - t0).num_seconds() / 2;
                let v = if s.name == "cache" {
                    awkward[i as usize] * 3.0
                } else {
                    awkward[i as usize]
                };
                let expected = stats(t0 + secs(2 * i) + TimeDelta::microseconds(1234), v);
                assert_eq!(s.at, ms(expected.sampled_at));
                assert_eq!(s.cpu_percent, expected.cpu_percent);
                assert_eq!(s.memory_bytes, expected.memory_bytes);
                assert_eq!(s.net_tx_bytes_per_s, expected.net_tx_bytes_per_s);
                assert_eq!(s.pids, expected.pids);
                assert_eq!(
                    s.compose_service.as_deref(),
                    (s.name == "web-1").then_some("web")
                );
            }
            ExportRow::HostSample(s) => {
                let i = (s.at - t0).num_seconds() / 2;
                assert_eq!(s.load_1, awkward[i as usize] / 8.0);
                assert_eq!(s.disk_percent, awkward[i as usize] + 3.0);
            }
            ExportRow::Alert(a) => {
                let expected = if a.id == 7 { &tricky } else { &plain };
                assert_eq!(a, expected);
            }
            ExportRow::Event(_) | ExportRow::Audit(_) => {
                panic!("no timeline was recorded: {row:?}")
            }
        }
    }
    assert_eq!(containers, 10);

    // An empty range still has the CSV header.
    let mut empty = Vec::new();
    let n = history
        .export(
            t0 - TimeDelta::days(9),
            t0 - TimeDelta::days(8),
            ExportFormat::Csv,
            &mut empty,
        )
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(String::from_utf8(empty).unwrap().lines().count(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// Alerts

#[test]
fn alerts_upsert_and_filter_by_level_time_and_active() {
    let dir = tempfile::tempdir().unwrap();
    let history = open(&db_path(&dir));
    let t0 = base_time();
    let m = |n: i64| t0 + TimeDelta::minutes(n);

    // Alert 1 is raised, escalates, then resolves: one row, the latest state.
    let mut a = alert(1, Level::Warning, m(0), None);
    history.record_alert(&a);
    a.level = Level::Critical;
    a.value = Some(99.0);
    history.record_alert(&a);
    a.level = Level::Resolved;
    a.resolved_at = Some(m(10));
    a.message = "back to normal".to_owned();
    history.record_alert(&a);
    let b = alert(2, Level::Critical, m(5), None);
    history.record_alert(&b);
    let c = alert(3, Level::Info, m(1), None); // a notice, never active
    history.record_alert(&c);
    let mut d = alert(4, Level::Warning, m(20), None);
    history.record_alert(&d);
    d.acknowledged = true;
    history.record_alert(&d);
    history.flush().unwrap();

    let ids =
        |q: AlertQuery| -> Vec<u64> { history.alerts(&q).unwrap().iter().map(|a| a.id).collect() };
    let all = history.alerts(&AlertQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![4, 2, 3, 1]
    );
    assert_eq!(all[3], a);
    assert_eq!(all[0], d);

    let level = |l| AlertQuery {
        level: Some(l),
        ..AlertQuery::default()
    };
    // Levels reached at any time count: alert 1 was critical before it resolved.
    assert_eq!(ids(level(Level::Warning)), vec![4, 2, 1]);
    assert_eq!(ids(level(Level::Critical)), vec![2, 1]);
    assert_eq!(ids(level(Level::Info)), vec![4, 2, 3, 1]);

    let active = AlertQuery {
        active_only: true,
        ..AlertQuery::default()
    };
    assert_eq!(ids(active.clone()), vec![4, 2]);
    assert!(history
        .alerts(&active)
        .unwrap()
        .iter()
        .all(Alert::is_active));

    let since = AlertQuery {
        since: Some(m(15)),
        ..AlertQuery::default()
    };
    assert_eq!(ids(since), vec![4, 2, 3]);
    let until = AlertQuery {
        until: Some(m(2)),
        ..AlertQuery::default()
    };
    assert_eq!(ids(until), vec![3, 1]);
    let window = AlertQuery {
        since: Some(m(11)),
        until: Some(m(19)),
        level: Some(Level::Warning),
        ..AlertQuery::default()
    };
    assert_eq!(ids(window), vec![2]);
    let limited = AlertQuery {
        limit: Some(2),
        ..AlertQuery::default()
    };
    assert_eq!(ids(limited), vec![4, 2]);
}

// ---------------------------------------------------------------------------------------------------------
// The queue

#[test]
fn a_full_queue_drops_the_oldest_rows_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let tuning = Tuning {
        queue_capacity: 10,
        batch_interval: Duration::from_secs(3600),
        batch_rows: 100_000,
        ..fast()
    };
    let history = History::open_tuned(&db_path(&dir), &HistorySettings::default(), tuning).unwrap();
    let t0 = base_time();
    for i in 0..25 {
        history.record_containers(&[(
            info("local", WEB1, "web-1", None),
            stats(t0 + secs(i), i as f64),
        )]);
    }
    let counters = history.stats();
    assert_eq!(
        (counters.queued, counters.dropped, counters.committed_rows),
        (10, 15, 0)
    );
    history.flush().unwrap();
    let series = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0,
            t0 + secs(60),
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(avgs(&series), (15..25).map(f64::from).collect::<Vec<_>>());
    assert_eq!(history.stats().committed_rows, 10);
}

#[test]
fn dropping_the_store_commits_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let tuning = Tuning {
        batch_interval: Duration::from_secs(3600),
        ..fast()
    };
    let t0 = base_time();
    {
        let history = History::open_tuned(&path, &HistorySettings::default(), tuning).unwrap();
        for i in 0..5 {
            history.record_containers(&[(
                info("local", WEB1, "web-1", None),
                stats(t0 + secs(i), 1.0),
            )]);
        }
        history.record_alert(&alert(1, Level::Warning, t0, None));
    }
    let history = open(&path);
    let series = history
        .query(&query(
            container("web-1"),
            "cpu_percent",
            t0,
            t0 + secs(60),
            Resolution::Raw,
        ))
        .unwrap();
    assert_eq!(series.points.len(), 5);
    assert_eq!(history.alerts(&AlertQuery::default()).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// Errors users see

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn unwritable_locations_give_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();

    // A parent that cannot be created: part of it is a regular file (refused even for root).
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let path = file.join("sub").join("history.sqlite");
    let err = History::open(&path, &HistorySettings::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::CreateDir { .. }), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("[history]"), "{text}");

    // A folder nobody may create files in (also for root).
    let path = Path::new("/proc/self/docktray-history.sqlite");
    let err = History::open(path, &HistorySettings::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert_eq!(err.problem(), Some(Problem::Permission), "{text}");
    assert!(
        text.contains("/proc/self/docktray-history.sqlite"),
        "{text}"
    );
    assert!(text.contains("writable"), "{text}");

    // A read-only folder and a read-only file; root ignores permissions, so only as another user.
    if is_root() {
        eprintln!("running as root: read-only folder/file cases skipped (root may write them)");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let path = locked.join("history.sqlite");
    let err = History::open(&path, &HistorySettings::default())
        .err()
        .unwrap();
    assert_eq!(err.problem(), Some(Problem::Permission), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    let path = dir.path().join("ro.sqlite");
    drop(History::open(&path, &HistorySettings::default()).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = History::open(&path, &HistorySettings::default())
        .err()
        .unwrap();
    assert_eq!(err.problem(), Some(Problem::Permission), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

fn snapshot_dir(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mut bytes = Vec::new();
            std::fs::File::open(e.path())
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                bytes,
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

#[test]
fn a_newer_schema_is_refused_and_the_file_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE future (x); INSERT INTO future VALUES (42); PRAGMA user_version = {};",
            SCHEMA_VERSION + 1
        ))
        .unwrap();
    }
    let before = snapshot_dir(dir.path());
    std::thread::sleep(Duration::from_millis(20));
    let err = History::open(&path, &HistorySettings::default())
        .err()
        .unwrap();
    let text = err.to_string();
    match &err {
        HistoryError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("newer Docktray") && text.contains("not changed"),
        "{text}"
    );
    assert_eq!(
        snapshot_dir(dir.path()),
        before,
        "the file (and its folder) must not change"
    );
}

#[test]
fn a_corrupt_file_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite");
    std::fs::write(&path, "this is not a database\n".repeat(200)).unwrap();
    let err = History::open(&path, &HistorySettings::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert_eq!(err.problem(), Some(Problem::Corrupt), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("move it aside"), "{text}");
}
