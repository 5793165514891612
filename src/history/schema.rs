//! The database schema and its migrations.
//!
//! The version lives in `PRAGMA user_version`. [`MIGRATIONS`] is append-only: step `i` moves a database from
//! version `i` to `i + 1`, so a later release changes the schema by adding a step (ALTER TABLE, a new table and an
//! INSERT ... SELECT copy, ...) and existing files keep their data. Never edit a step that has shipped.

use rusqlite::Connection;

/// Container metrics, in column order. Also the names [`super::SeriesQuery::metric`] accepts for containers and
/// services.
pub const CONTAINER_METRICS: [&str; 10] = [
    "cpu_percent",
    "cpu_host_percent",
    "memory_bytes",
    "memory_limit_bytes",
    "memory_percent",
    "net_rx_bytes_per_s",
    "net_tx_bytes_per_s",
    "block_read_bytes_per_s",
    "block_write_bytes_per_s",
    "pids",
];

/// Host metrics, in column order. `disk_percent` is the root filesystem (`ServerStats::disk`).
pub const HOST_METRICS: [&str; 8] = [
    "cpu_percent",
    "memory_percent",
    "memory_used_gb",
    "swap_percent",
    "disk_percent",
    "net_rx_bytes_per_s",
    "net_tx_bytes_per_s",
    "load_1",
];

/// Version 0 -> 1: the first schema.
///
/// Samples are wide rows keyed by (series, ts) in WITHOUT ROWID tables, so one container's time range is one
/// contiguous B-tree range. Times are integer milliseconds since the epoch (UTC). `*_minute` tables hold one
/// row per series per minute (`ts` = start of the minute) with the min, avg and max of every metric.
///
/// Metric columns are NUMERIC, not REAL: SQLite then stores integral values (idle rates are exactly 0, pids,
/// constant limits) as 0-6 byte integers instead of 8-byte floats; they read back as the same f64. Measured:
/// this build's SQLite stores every value of a REAL column in 8 bytes.
const V1: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE container_series (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    container_id TEXT NOT NULL,
    name TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    project TEXT NOT NULL DEFAULT '',
    UNIQUE (host, container_id, name, service)
);
CREATE INDEX container_series_name ON container_series (name);
CREATE INDEX container_series_service ON container_series (service);

CREATE TABLE container_raw (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    cpu_percent NUMERIC NOT NULL,
    cpu_host_percent NUMERIC NOT NULL,
    memory_bytes INTEGER NOT NULL,
    memory_limit_bytes INTEGER NOT NULL,
    memory_percent NUMERIC NOT NULL,
    net_rx_bytes_per_s NUMERIC NOT NULL,
    net_tx_bytes_per_s NUMERIC NOT NULL,
    block_read_bytes_per_s NUMERIC NOT NULL,
    block_write_bytes_per_s NUMERIC NOT NULL,
    pids INTEGER NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

CREATE TABLE container_minute (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    cpu_percent_min NUMERIC NOT NULL,
    cpu_percent_avg NUMERIC NOT NULL,
    cpu_percent_max NUMERIC NOT NULL,
    cpu_host_percent_min NUMERIC NOT NULL,
    cpu_host_percent_avg NUMERIC NOT NULL,
    cpu_host_percent_max NUMERIC NOT NULL,
    memory_bytes_min NUMERIC NOT NULL,
    memory_bytes_avg NUMERIC NOT NULL,
    memory_bytes_max NUMERIC NOT NULL,
    memory_limit_bytes_min NUMERIC NOT NULL,
    memory_limit_bytes_avg NUMERIC NOT NULL,
    memory_limit_bytes_max NUMERIC NOT NULL,
    memory_percent_min NUMERIC NOT NULL,
    memory_percent_avg NUMERIC NOT NULL,
    memory_percent_max NUMERIC NOT NULL,
    net_rx_bytes_per_s_min NUMERIC NOT NULL,
    net_rx_bytes_per_s_avg NUMERIC NOT NULL,
    net_rx_bytes_per_s_max NUMERIC NOT NULL,
    net_tx_bytes_per_s_min NUMERIC NOT NULL,
    net_tx_bytes_per_s_avg NUMERIC NOT NULL,
    net_tx_bytes_per_s_max NUMERIC NOT NULL,
    block_read_bytes_per_s_min NUMERIC NOT NULL,
    block_read_bytes_per_s_avg NUMERIC NOT NULL,
    block_read_bytes_per_s_max NUMERIC NOT NULL,
    block_write_bytes_per_s_min NUMERIC NOT NULL,
    block_write_bytes_per_s_avg NUMERIC NOT NULL,
    block_write_bytes_per_s_max NUMERIC NOT NULL,
    pids_min NUMERIC NOT NULL,
    pids_avg NUMERIC NOT NULL,
    pids_max NUMERIC NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

CREATE TABLE host_series (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE host_raw (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    cpu_percent NUMERIC NOT NULL,
    memory_percent NUMERIC NOT NULL,
    memory_used_gb NUMERIC NOT NULL,
    swap_percent NUMERIC NOT NULL,
    disk_percent NUMERIC NOT NULL,
    net_rx_bytes_per_s NUMERIC NOT NULL,
    net_tx_bytes_per_s NUMERIC NOT NULL,
    load_1 NUMERIC NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

CREATE TABLE host_minute (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    cpu_percent_min NUMERIC NOT NULL,
    cpu_percent_avg NUMERIC NOT NULL,
    cpu_percent_max NUMERIC NOT NULL,
    memory_percent_min NUMERIC NOT NULL,
    memory_percent_avg NUMERIC NOT NULL,
    memory_percent_max NUMERIC NOT NULL,
    memory_used_gb_min NUMERIC NOT NULL,
    memory_used_gb_avg NUMERIC NOT NULL,
    memory_used_gb_max NUMERIC NOT NULL,
    swap_percent_min NUMERIC NOT NULL,
    swap_percent_avg NUMERIC NOT NULL,
    swap_percent_max NUMERIC NOT NULL,
    disk_percent_min NUMERIC NOT NULL,
    disk_percent_avg NUMERIC NOT NULL,
    disk_percent_max NUMERIC NOT NULL,
    net_rx_bytes_per_s_min NUMERIC NOT NULL,
    net_rx_bytes_per_s_avg NUMERIC NOT NULL,
    net_rx_bytes_per_s_max NUMERIC NOT NULL,
    net_tx_bytes_per_s_min NUMERIC NOT NULL,
    net_tx_bytes_per_s_avg NUMERIC NOT NULL,
    net_tx_bytes_per_s_max NUMERIC NOT NULL,
    load_1_min NUMERIC NOT NULL,
    load_1_avg NUMERIC NOT NULL,
    load_1_max NUMERIC NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

-- One row per alert id, updated as the alert changes. level_rank: resolved 0, info 1, warning 2, critical 3;
-- peak_rank is the highest level the alert ever had, so resolved warnings still match a warning filter.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    level TEXT NOT NULL,
    level_rank INTEGER NOT NULL,
    peak_rank INTEGER NOT NULL,
    metric TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_host TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL,
    detail TEXT,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER,
    acknowledged INTEGER NOT NULL,
    message TEXT NOT NULL,
    value REAL,
    threshold REAL,
    unit TEXT NOT NULL,
    top TEXT NOT NULL
);
CREATE INDEX alerts_started_at ON alerts (started_at);
";

/// Version 1 -> 2: the timeline. Engine events, each stored once (`UNIQUE`: a back-filled copy of a stored
/// event is ignored; the index also answers "the last event of this host"), and audit entries of actions taken
/// through Docktray. Times are integer nanoseconds since the epoch (UTC), as the engine gives them.
const V2: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    name TEXT NOT NULL,
    exit_code INTEGER,
    signal TEXT,
    oom INTEGER,
    health TEXT,
    UNIQUE (host, ts_ns, scope, action, object_id)
);
CREATE INDEX events_ts ON events (ts_ns);
CREATE INDEX events_name ON events (name, ts_ns);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts_ns INTEGER NOT NULL,
    source TEXT NOT NULL,
    actor TEXT,
    host TEXT NOT NULL,
    container TEXT,
    target TEXT NOT NULL,
    action TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX audit_ts ON audit (ts_ns);
";

/// Version 2 -> 3: single figures beside the wide rows, for what forecasts fit: each filesystem of a host or VPS
/// (`disk_percent`, detail = the mount point) and a VPS's monthly traffic (`network_quota_percent`), as raw
/// samples and one-minute rollups like the others; and the last matching lines of log-pattern alerts.
const V3: &str = "
CREATE TABLE gauge_series (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    name TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    UNIQUE (host, name, detail)
);

CREATE TABLE gauge_raw (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value NUMERIC NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

CREATE TABLE gauge_minute (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    value_min NUMERIC NOT NULL,
    value_avg NUMERIC NOT NULL,
    value_max NUMERIC NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;

ALTER TABLE alerts ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';
";

/// Schema steps, oldest first. See the module comment before touching this.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies `steps[from..]`, each in its own transaction together with the new `user_version`, so a crash
/// mid-migration leaves the previous version intact.
pub(crate) fn migrate(conn: &mut Connection, from: i64, steps: &[&str]) -> rusqlite::Result<()> {
    let start = usize::try_from(from).unwrap_or(0);
    for (index, step) in steps.iter().enumerate().skip(start) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "history schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        let names = stmt.query_map([], |row| row.get::<_, String>(1)).unwrap();
        names.map(|n| n.unwrap()).collect()
    }

    /// The metric lists drive the generated SQL; the literal schema must have a column for each.
    #[test]
    fn schema_has_a_column_for_every_metric() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 0, MIGRATIONS).unwrap();
        for (metrics, raw, minute) in [
            (&CONTAINER_METRICS[..], "container_raw", "container_minute"),
            (&HOST_METRICS[..], "host_raw", "host_minute"),
        ] {
            let raw_cols = columns(&conn, raw);
            let minute_cols = columns(&conn, minute);
            assert_eq!(
                raw_cols[2..],
                metrics.iter().map(|m| m.to_string()).collect::<Vec<_>>()[..]
            );
            for m in metrics {
                for suffix in ["min", "avg", "max"] {
                    assert!(
                        minute_cols.contains(&format!("{m}_{suffix}")),
                        "{minute} lacks {m}_{suffix}"
                    );
                }
            }
            assert_eq!(minute_cols.len(), 3 + 3 * metrics.len());
        }
    }

    /// A later step changes the schema of a database that already holds data, and the data stays.
    #[test]
    fn a_later_migration_step_keeps_existing_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 0, MIGRATIONS).unwrap();
        conn.execute("INSERT INTO host_series (id, name) VALUES (1, 'local')", [])
            .unwrap();
        conn.execute(
            "INSERT INTO host_raw VALUES (1, 1000, 1, 2, 3, 4, 5, 6, 7, 8)",
            [],
        )
        .unwrap();
        let v2 = "ALTER TABLE host_raw ADD COLUMN load_5 REAL NOT NULL DEFAULT 0;";
        let mut steps = MIGRATIONS.to_vec();
        steps.push(v2);
        migrate(&mut conn, SCHEMA_VERSION, &steps).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION + 1);
        let (cpu, load5): (f64, f64) = conn
            .query_row(
                "SELECT cpu_percent, load_5 FROM host_raw WHERE series = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((cpu, load5), (1.0, 0.0));
    }

    /// A failing step leaves the previous version and its data in place.
    #[test]
    fn a_failing_step_rolls_back_to_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, 0, MIGRATIONS).unwrap();
        let mut steps = MIGRATIONS.to_vec();
        steps.push("CREATE TABLE extra (x); INSERT INTO nowhere VALUES (1);");
        assert!(migrate(&mut conn, SCHEMA_VERSION, &steps).is_err());
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let extra: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'extra'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(extra, 0);
    }
}
