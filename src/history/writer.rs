//! The writer thread: the only code that writes the database. It commits queued rows in batches, rolls
//! completed minutes up inside the same transaction (so rollups and raw rows never disagree after a crash),
//! answers flush and prune requests, and prunes in the background in small batches.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::gauges;
use super::schema::{CONTAINER_METRICS, HOST_METRICS};
use super::timeline;
use super::{level_rank, Control, HistoryError, PruneReport, Queue, Record, Shared, Tuning};
use crate::alerts::{Alert, TargetKind};
use crate::config::HistorySettings;

const MINUTE_MS: i64 = 60_000;

/// All minutes before this are rolled up; raw rows at or after it may not be yet.
pub(crate) const WATERMARK_KEY: &str = "rollup_watermark";

const INSERT_CONTAINER_RAW: &str = "INSERT OR REPLACE INTO container_raw (series, ts, cpu_percent, \
    cpu_host_percent, memory_bytes, memory_limit_bytes, memory_percent, net_rx_bytes_per_s, net_tx_bytes_per_s, \
    block_read_bytes_per_s, block_write_bytes_per_s, pids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const INSERT_HOST_RAW: &str =
    "INSERT OR REPLACE INTO host_raw (series, ts, cpu_percent, memory_percent, \
    memory_used_gb, swap_percent, disk_percent, net_rx_bytes_per_s, net_tx_bytes_per_s, load_1) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const UPSERT_CONTAINER_SERIES: &str =
    "INSERT INTO container_series (host, container_id, name, service, project) \
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, container_id, name, service) \
    DO UPDATE SET project = excluded.project RETURNING id";

const UPSERT_HOST_SERIES: &str = "INSERT INTO host_series (name) VALUES (?1) \
    ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";

const UPSERT_ALERT: &str = "INSERT INTO alerts (id, level, level_rank, peak_rank, metric, target_kind, \
    target_host, target_id, target_name, detail, started_at, resolved_at, acknowledged, message, value, threshold, \
    unit, top, lines) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) \
    ON CONFLICT (id) DO UPDATE SET level = excluded.level, level_rank = excluded.level_rank, \
    peak_rank = max(alerts.peak_rank, excluded.peak_rank), metric = excluded.metric, \
    target_kind = excluded.target_kind, target_host = excluded.target_host, target_id = excluded.target_id, \
    target_name = excluded.target_name, detail = excluded.detail, started_at = excluded.started_at, \
    resolved_at = excluded.resolved_at, acknowledged = excluded.acknowledged, message = excluded.message, \
    value = excluded.value, threshold = excluded.threshold, unit = excluded.unit, top = excluded.top, \
    lines = excluded.lines";

const SET_WATERMARK: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// Deletes pick the first `?2` old rows series by series (one index seek each), then delete them by primary key.
const DELETE_CONTAINER_RAW: &str =
    "DELETE FROM container_raw WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM container_series s CROSS JOIN container_raw r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
const DELETE_HOST_RAW: &str = "DELETE FROM host_raw WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM host_series s CROSS JOIN host_raw r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
const DELETE_CONTAINER_MINUTE: &str = "DELETE FROM container_minute WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM container_series s CROSS JOIN container_minute r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
const DELETE_HOST_MINUTE: &str =
    "DELETE FROM host_minute WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM host_series s CROSS JOIN host_minute r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
/// Active alerts stay however old they are.
const DELETE_ALERTS: &str = "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts \
    WHERE coalesce(resolved_at, started_at) < ?1 AND NOT (resolved_at IS NULL AND level_rank >= 2) LIMIT ?2)";
const DELETE_CONTAINER_ORPHANS: &str = "DELETE FROM container_series \
    WHERE NOT EXISTS (SELECT 1 FROM container_raw r WHERE r.series = container_series.id) \
    AND NOT EXISTS (SELECT 1 FROM container_minute m WHERE m.series = container_series.id)";
const DELETE_HOST_ORPHANS: &str = "DELETE FROM host_series \
    WHERE NOT EXISTS (SELECT 1 FROM host_raw r WHERE r.series = host_series.id) \
    AND NOT EXISTS (SELECT 1 FROM host_minute m WHERE m.series = host_series.id)";

/// `INSERT ... SELECT ... GROUP BY` of the minutes in [?1, ?2) of every series (one index range per series).
pub(crate) fn rollup_sql(series: &str, raw: &str, minute: &str, metrics: &[&str]) -> String {
    let columns: Vec<String> = metrics
        .iter()
        .map(|m| format!("{m}_min, {m}_avg, {m}_max"))
        .collect();
    let aggregates: Vec<String> = metrics
        .iter()
        // A constant metric (idle rates, limits) keeps its exact, often integral, value as the average: the
        // same number, stored in fewer bytes.
        .map(|m| {
            format!(
                "min(r.{m}), CASE WHEN min(r.{m}) = max(r.{m}) THEN min(r.{m}) ELSE avg(r.{m}) END, max(r.{m})"
            )
        })
        .collect();
    format!(
        "INSERT OR REPLACE INTO {minute} (series, ts, samples, {}) \
         SELECT r.series, (r.ts / {MINUTE_MS}) * {MINUTE_MS}, count(*), {} \
         FROM {series} s CROSS JOIN {raw} r ON r.series = s.id AND r.ts >= ?1 AND r.ts < ?2 \
         GROUP BY r.series, r.ts / {MINUTE_MS}",
        columns.join(", "),
        aggregates.join(", ")
    )
}

/// Which [`PruneReport`] field a delete step adds to.
type Counter = fn(&mut PruneReport) -> &mut u64;

pub(crate) fn floor_minute(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
}

type SeriesKey = (String, String, String, String);

pub(crate) struct Writer {
    conn: Connection,
    path: PathBuf,
    shared: Arc<Shared>,
    settings: HistorySettings,
    tuning: Tuning,
    containers: HashMap<SeriesKey, i64>,
    hosts: HashMap<String, i64>,
    gauges: gauges::SeriesCache,
    watermark: Option<i64>,
    rollup_containers: String,
    rollup_hosts: String,
    rollup_gauges: String,
    /// The last error logged, so a full disk is reported once rather than every 2 s.
    last_logged: Option<String>,
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        path: PathBuf,
        shared: Arc<Shared>,
        settings: HistorySettings,
        tuning: Tuning,
    ) -> rusqlite::Result<Self> {
        let watermark = read_watermark(&conn)?;
        Ok(Self {
            conn,
            path,
            shared,
            settings,
            tuning,
            containers: HashMap::new(),
            hosts: HashMap::new(),
            gauges: HashMap::new(),
            watermark,
            rollup_containers: rollup_sql(
                "container_series",
                "container_raw",
                "container_minute",
                &CONTAINER_METRICS,
            ),
            rollup_hosts: rollup_sql("host_series", "host_raw", "host_minute", &HOST_METRICS),
            rollup_gauges: rollup_sql("gauge_series", "gauge_raw", "gauge_minute", &["value"]),
            last_logged: None,
        })
    }

    pub(crate) fn run(mut self) {
        let mut next_prune = Instant::now() + self.tuning.prune_every.min(Duration::from_secs(60));
        loop {
            let (data, controls, shutdown) = self.wait(next_prune);
            let written = self.write_all(data);
            for control in controls {
                match control {
                    Control::Flush(reply) => {
                        let _ = reply.send(written.clone());
                    }
                    Control::Prune(now, reply) => {
                        let report = self.prune(now);
                        let _ = reply.send(report);
                    }
                    Control::Settings(settings, reply) => {
                        tracing::info!(
                            raw = ?settings.raw_retention,
                            rollups = ?settings.rollup_retention,
                            alerts = ?settings.alert_retention,
                            "history retentions changed"
                        );
                        self.settings = *settings;
                        let _ = reply.send(Ok(()));
                    }
                }
            }
            if shutdown {
                break;
            }
            if Instant::now() >= next_prune {
                if let Err(err) = self.prune(Utc::now()) {
                    tracing::warn!(%err, "history retention pass failed; retrying at the next one");
                }
                next_prune = Instant::now() + self.tuning.prune_every;
            }
        }
        // A clean close checkpoints the WAL into the main file.
        tracing::debug!(path = %self.path.display(), "history writer stopped");
    }

    /// Sleeps until a batch is due (size or age), a request arrives, a prune is due, or shutdown; then takes
    /// everything queued.
    fn wait(&self, next_prune: Instant) -> (Vec<Record>, Vec<Control>, bool) {
        let mut queue = self.shared.lock();
        loop {
            let now = Instant::now();
            if queue.shutdown
                || !queue.controls.is_empty()
                || self.data_due(&queue, now)
                || now >= next_prune
            {
                break;
            }
            let deadline = match queue.oldest_at {
                Some(at) => next_prune.min(at + self.tuning.batch_interval),
                None => next_prune,
            };
            queue = self
                .shared
                .wake
                .wait_timeout(queue, deadline.saturating_duration_since(now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.oldest_at = None;
        (
            queue.data.drain(..).collect(),
            queue.controls.drain(..).collect(),
            queue.shutdown,
        )
    }

    fn data_due(&self, queue: &Queue, now: Instant) -> bool {
        queue.data.len() >= self.tuning.batch_rows
            || queue
                .oldest_at
                .is_some_and(|at| now >= at + self.tuning.batch_interval)
    }

    /// Between prune batches: commits a due batch and answers flushes, so a long pass never delays sampling
    /// or Quit. Returns false when the store is shutting down.
    fn between_batches(&mut self) -> bool {
        let (data, flushes, shutdown) = {
            let mut queue = self.shared.lock();
            let flush_waiting = queue
                .controls
                .iter()
                .any(|c| matches!(c, Control::Flush(_)));
            if !(queue.shutdown || flush_waiting || self.data_due(&queue, Instant::now())) {
                return true;
            }
            queue.oldest_at = None;
            let data: Vec<Record> = queue.data.drain(..).collect();
            let (flushes, rest): (Vec<Control>, Vec<Control>) = queue
                .controls
                .drain(..)
                .partition(|c| matches!(c, Control::Flush(_)));
            queue.controls.extend(rest);
            (data, flushes, queue.shutdown)
        };
        let written = self.write_all(data);
        for control in flushes {
            if let Control::Flush(reply) = control {
                let _ = reply.send(written.clone());
            }
        }
        !shutdown
    }

    /// Commits `data` in transactions of at most `batch_rows` rows. A failed batch is dropped (and counted)
    /// rather than retried forever; the first error is returned.
    fn write_all(&mut self, data: Vec<Record>) -> Result<(), HistoryError> {
        let mut first_error = None;
        for chunk in data.chunks(self.tuning.batch_rows.max(1)) {
            let started = Instant::now();
            match self.write_batch(chunk) {
                Ok(()) => {
                    let took = started.elapsed();
                    if took > Duration::from_secs(1) {
                        tracing::warn!(
                            rows = chunk.len(),
                            took_ms = took.as_millis() as u64,
                            "slow history commit"
                        );
                    } else {
                        tracing::trace!(
                            rows = chunk.len(),
                            took_us = took.as_micros() as u64,
                            "history batch committed"
                        );
                    }
                    let mut queue = self.shared.lock();
                    queue.committed_rows += chunk.len() as u64;
                    queue.last_error = None;
                    self.last_logged = None;
                }
                Err(source) => {
                    // The rollback may have undone series rows the caches point at.
                    self.containers.clear();
                    self.hosts.clear();
                    self.gauges.clear();
                    let err = HistoryError::db(&self.path, "commit a batch of samples", source);
                    let text = err.to_string();
                    if self.last_logged.as_deref() != Some(text.as_str()) {
                        tracing::error!(rows = chunk.len(), "{text}");
                        self.last_logged = Some(text.clone());
                    }
                    let mut queue = self.shared.lock();
                    queue.dropped += chunk.len() as u64;
                    queue.last_error = Some(text);
                    first_error.get_or_insert(err);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn write_batch(&mut self, chunk: &[Record]) -> rusqlite::Result<()> {
        let Self {
            conn,
            containers,
            hosts,
            gauges: gauge_series,
            watermark,
            rollup_containers,
            rollup_hosts,
            rollup_gauges,
            ..
        } = self;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        // Minutes already rolled up that this batch adds samples to (a slow remote host).
        let mut late = BTreeSet::new();
        let mut seen = |ts: i64| {
            lo = lo.min(ts);
            hi = hi.max(ts);
            if watermark.is_some_and(|w| ts < w) {
                late.insert(floor_minute(ts));
            }
        };
        {
            let mut container_row = tx.prepare_cached(INSERT_CONTAINER_RAW)?;
            let mut host_row = tx.prepare_cached(INSERT_HOST_RAW)?;
            let mut alert_row = tx.prepare_cached(UPSERT_ALERT)?;
            let mut event_row = tx.prepare_cached(timeline::INSERT_EVENT)?;
            let mut audit_row = tx.prepare_cached(timeline::INSERT_AUDIT)?;
            for record in chunk {
                match record {
                    Record::Container(s) => {
                        let key = (
                            s.host.clone(),
                            s.container_id.clone(),
                            s.name.clone(),
                            s.compose_service.clone().unwrap_or_default(),
                        );
                        let series = match containers.get(&key) {
                            Some(id) => *id,
                            None => {
                                let id: i64 =
                                    tx.prepare_cached(UPSERT_CONTAINER_SERIES)?.query_row(
                                        params![
                                            key.0,
                                            key.1,
                                            key.2,
                                            key.3,
                                            s.compose_project.as_deref().unwrap_or_default()
                                        ],
                                        |row| row.get(0),
                                    )?;
                                containers.insert(key, id);
                                id
                            }
                        };
                        let ts = s.at.timestamp_millis();
                        seen(ts);
                        container_row.execute(params![
                            series,
                            ts,
                            s.cpu_percent,
                            s.cpu_host_percent,
                            to_i64(s.memory_bytes),
                            to_i64(s.memory_limit_bytes),
                            s.memory_percent,
                            s.net_rx_bytes_per_s,
                            s.net_tx_bytes_per_s,
                            s.block_read_bytes_per_s,
                            s.block_write_bytes_per_s,
                            to_i64(s.pids),
                        ])?;
                    }
                    Record::Host(s) => {
                        let series = match hosts.get(&s.host) {
                            Some(id) => *id,
                            None => {
                                let id: i64 = tx
                                    .prepare_cached(UPSERT_HOST_SERIES)?
                                    .query_row([&s.host], |row| row.get(0))?;
                                hosts.insert(s.host.clone(), id);
                                id
                            }
                        };
                        let ts = s.at.timestamp_millis();
                        seen(ts);
                        host_row.execute(params![
                            series,
                            ts,
                            s.cpu_percent,
                            s.memory_percent,
                            s.memory_used_gb,
                            s.swap_percent,
                            s.disk_percent,
                            s.net_rx_bytes_per_s,
                            s.net_tx_bytes_per_s,
                            s.load_1,
                        ])?;
                    }
                    Record::Gauge(sample) => seen(gauges::insert(&tx, gauge_series, sample)?),
                    Record::Alert(alert) => upsert_alert(&mut alert_row, alert)?,
                    Record::Event(event) => timeline::insert_event(&mut event_row, event)?,
                    Record::Audit(entry) => timeline::insert_audit(&mut audit_row, entry)?,
                }
            }
        }
        let mut new_watermark = *watermark;
        // Late samples re-roll just their own minutes, so rollups always match the raw rows.
        for minute in late {
            tx.prepare_cached(rollup_containers)?
                .execute([minute, minute + MINUTE_MS])?;
            tx.prepare_cached(rollup_hosts)?
                .execute([minute, minute + MINUTE_MS])?;
            tx.prepare_cached(rollup_gauges)?
                .execute([minute, minute + MINUTE_MS])?;
        }
        if lo <= hi {
            // Minutes before the newest sample's minute are complete.
            let from = watermark.unwrap_or(floor_minute(lo));
            let to = from.max(floor_minute(hi));
            if from < to {
                tx.prepare_cached(rollup_containers)?.execute([from, to])?;
                tx.prepare_cached(rollup_hosts)?.execute([from, to])?;
                tx.prepare_cached(rollup_gauges)?.execute([from, to])?;
            }
            if Some(to) != *watermark {
                tx.prepare_cached(SET_WATERMARK)?
                    .execute(params![WATERMARK_KEY, to])?;
                new_watermark = Some(to);
            }
        }
        tx.commit()?;
        *watermark = new_watermark;
        Ok(())
    }

    /// Deletes what is older than the retentions, `prune_batch` rows per transaction. Raw rows not yet
    /// rolled up are kept whatever their age, so a long pause never loses minutes.
    pub(crate) fn prune(&mut self, now: DateTime<Utc>) -> Result<PruneReport, HistoryError> {
        let started = Instant::now();
        let now_ms = now.timestamp_millis();
        let ago =
            |d: Duration| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let raw_cut = ago(self.settings.raw_retention).min(self.watermark.unwrap_or(i64::MIN));
        let rollup_cut = ago(self.settings.rollup_retention);
        let alert_cut = ago(self.settings.alert_retention);
        // Events and audit entries are stored in nanoseconds.
        let ns = |ms: i64| ms.saturating_mul(1_000_000);
        let event_cut = ns(ago(self.settings.event_retention));
        // Actions are never forgotten before the samples of their time are.
        let settings = &self.settings;
        let audit_keep = settings
            .audit_retention
            .max(settings.rollup_retention)
            .max(settings.raw_retention);
        let audit_cut = ns(ago(audit_keep));
        let mut report = PruneReport::default();
        let steps: [(&str, i64, Counter); 9] = [
            (DELETE_CONTAINER_RAW, raw_cut, |r| &mut r.container_raw_rows),
            (DELETE_HOST_RAW, raw_cut, |r| &mut r.host_raw_rows),
            // Gauges count with the host's rows: they are parts of host samples.
            (gauges::DELETE_RAW, raw_cut, |r| &mut r.host_raw_rows),
            (gauges::DELETE_MINUTE, rollup_cut, |r| {
                &mut r.host_minute_rows
            }),
            (DELETE_CONTAINER_MINUTE, rollup_cut, |r| {
                &mut r.container_minute_rows
            }),
            (DELETE_HOST_MINUTE, rollup_cut, |r| &mut r.host_minute_rows),
            (DELETE_ALERTS, alert_cut, |r| &mut r.alerts),
            (timeline::DELETE_EVENTS, event_cut, |r| &mut r.events),
            (timeline::DELETE_AUDIT, audit_cut, |r| &mut r.audit_entries),
        ];
        let mut complete = true;
        for (sql, cut, field) in steps {
            let (deleted, done) = self.delete_in_batches(sql, cut)?;
            *field(&mut report) += deleted;
            if !done {
                complete = false;
                break;
            }
        }
        if complete {
            for sql in [
                DELETE_CONTAINER_ORPHANS,
                DELETE_HOST_ORPHANS,
                gauges::DELETE_ORPHANS,
            ] {
                let n = self
                    .conn
                    .execute(sql, [])
                    .map_err(|e| HistoryError::db(&self.path, "delete unused series", e))?;
                report.series += n as u64;
            }
            if report.series > 0 {
                self.containers.clear();
                self.hosts.clear();
                self.gauges.clear();
            }
        }
        report.took_ms = started.elapsed().as_millis() as u64;
        let deleted = report.container_raw_rows
            + report.host_raw_rows
            + report.container_minute_rows
            + report.host_minute_rows
            + report.alerts
            + report.events
            + report.audit_entries;
        if deleted > 0 {
            tracing::info!(?report, complete, "history retention pass");
        } else {
            tracing::debug!(
                took_ms = report.took_ms,
                "history retention pass: nothing to delete"
            );
        }
        Ok(report)
    }

    /// Returns the rows deleted and whether it finished (false when interrupted by shutdown).
    fn delete_in_batches(&mut self, sql: &str, cut: i64) -> Result<(u64, bool), HistoryError> {
        let batch = self.tuning.prune_batch.max(1);
        let mut total = 0u64;
        loop {
            let deleted = (|| -> rusqlite::Result<usize> {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let n = tx
                    .prepare_cached(sql)?
                    .execute(params![cut, batch as i64])?;
                tx.commit()?;
                Ok(n)
            })()
            .map_err(|e| HistoryError::db(&self.path, "delete old rows", e))?;
            total += deleted as u64;
            if deleted < batch {
                return Ok((total, true));
            }
            if !self.between_batches() {
                return Ok((total, false));
            }
        }
    }
}

pub(crate) fn read_watermark(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        [WATERMARK_KEY],
        |row| row.get(0),
    )
    .optional()
}

fn upsert_alert(stmt: &mut rusqlite::CachedStatement<'_>, alert: &Alert) -> rusqlite::Result<()> {
    let top: Vec<(&str, f64)> = alert
        .top
        .iter()
        .map(|(name, value)| (name.as_str(), if value.is_finite() { *value } else { 0.0 }))
        .collect();
    let top = serde_json::to_string(&top).unwrap_or_else(|_| "[]".to_owned());
    let lines = serde_json::to_string(&alert.lines).unwrap_or_else(|_| "[]".to_owned());
    stmt.execute(params![
        alert.id as i64,
        alert.level.as_str(),
        level_rank(alert.level),
        alert.metric,
        target_kind_str(alert.target.kind),
        alert.target.host,
        alert.target.id,
        alert.target.name,
        alert.detail,
        alert.started_at.timestamp_millis(),
        alert.resolved_at.map(|at| at.timestamp_millis()),
        alert.acknowledged,
        alert.message,
        alert.value,
        alert.threshold,
        alert.unit,
        top,
        lines,
    ])?;
    Ok(())
}

pub(crate) fn target_kind_str(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Host => "host",
        TargetKind::Container => "container",
        TargetKind::Vps => "vps",
        TargetKind::Proxy => "proxy",
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
