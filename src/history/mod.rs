//! Local metrics history: container and host samples, one-minute rollups and alerts in one SQLite file (WAL).
//!
//! Sampling must never wait for the disk, so `record_*` only put rows on a bounded in-memory queue and a writer
//! thread (the only one writing) commits them in batches: one transaction every 2 s or 2000 rows. A crash or
//! `kill -9` therefore loses at most the batch being collected; committed batches survive (WAL with
//! `synchronous = NORMAL` is durable against process crashes, tests/history.rs kills a writer to prove it).
//! The same thread turns completed minutes into rollups inside the batch's transaction and prunes old rows in
//! small batches. Reads use their own connection, so charts never wait for a commit.
//!
//! Retention (from [`HistorySettings`]): raw samples `raw_retention` (48 h), rollups `rollup_retention` (30 d),
//! alerts `alert_retention` (30 d), engine events `event_retention` (30 d), audit entries `audit_retention`
//! (365 d, and never less than the samples are kept).

mod error;
mod export;
mod gauges;
mod query;
mod schema;
mod table;
mod timeline;
mod types;
mod writer;

#[cfg(test)]
mod upgrade_tests;

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};

use crate::alerts::{Alert, Level};
use crate::config::HistorySettings;
use crate::model::{AuditEntry, ContainerInfo, ContainerStats, EngineEvent, ServerStats};

pub use error::{HistoryError, Problem};
pub use gauges::{GaugeQuery, GAUGE_DISK, GAUGE_NETWORK_QUOTA};
pub use schema::{CONTAINER_METRICS, HOST_METRICS, SCHEMA_VERSION};
pub use table::{write_series, write_timeline};
pub use timeline::{TimelineCursor, TimelinePage, TimelineQuery};
pub use types::*;

/// A row on its way to the writer.
#[derive(Debug)]
pub(crate) enum Record {
    Container(ContainerSample),
    Host(HostSample),
    Gauge(gauges::GaugeSample),
    Alert(Box<Alert>),
    Event(Box<EngineEvent>),
    Audit(Box<AuditEntry>),
}

/// Requests the writer answers in order with the data queued before them.
pub(crate) enum Control {
    Flush(mpsc::SyncSender<Result<(), HistoryError>>),
    Prune(
        DateTime<Utc>,
        mpsc::SyncSender<Result<PruneReport, HistoryError>>,
    ),
    /// New retentions, used from the next pass on.
    Settings(
        Box<HistorySettings>,
        mpsc::SyncSender<Result<(), HistoryError>>,
    ),
}

#[derive(Default)]
pub(crate) struct Queue {
    pub data: VecDeque<Record>,
    /// When the oldest queued row arrived: the batch is due `batch_interval` later.
    pub oldest_at: Option<Instant>,
    pub controls: VecDeque<Control>,
    pub shutdown: bool,
    pub dropped: u64,
    pub overflow_logged: bool,
    pub committed_rows: u64,
    pub last_error: Option<String>,
}

/// The queue between `record_*` and the writer thread.
#[derive(Default)]
pub(crate) struct Shared {
    pub queue: Mutex<Queue>,
    pub wake: Condvar,
}

impl Shared {
    /// A panic elsewhere while holding the lock leaves the queue itself consistent, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The history store. Cheap to share (`Arc<History>`): recording only takes a short lock.
pub struct History {
    path: PathBuf,
    shared: Arc<Shared>,
    reader: Mutex<Connection>,
    tuning: Tuning,
    writer: Option<JoinHandle<()>>,
}

impl History {
    /// Opens or creates the database (and its folder), enables WAL, migrates the schema and starts the writer.
    /// `settings.enabled` and `settings.path` are the caller's business; the retentions are used here.
    pub fn open(path: &Path, settings: &HistorySettings) -> Result<History, HistoryError> {
        Self::open_tuned(path, settings, Tuning::default())
    }

    /// [`History::open`] with other writer knobs.
    pub fn open_tuned(
        path: &Path,
        settings: &HistorySettings,
        tuning: Tuning,
    ) -> Result<History, HistoryError> {
        let writer_conn = open_writer_connection(path)?;
        let db = |action, e| HistoryError::db(path, action, e);
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db("open a read connection", e))?;
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| db("set the busy timeout", e))?;
        reader.set_prepared_statement_cache_capacity(64);
        writer_conn.set_prepared_statement_cache_capacity(64);

        let shared = Arc::new(Shared::default());
        let state = writer::Writer::new(
            writer_conn,
            path.to_owned(),
            shared.clone(),
            settings.clone(),
            tuning.clone(),
        )
        .map_err(|e| db("read the rollup state", e))?;
        let writer = std::thread::Builder::new()
            .name("docktray-history".to_owned())
            .spawn(move || state.run())
            .map_err(|e| HistoryError::WriterStopped {
                path: path.to_owned(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        tracing::info!(path = %path.display(), version = SCHEMA_VERSION, "history opened");
        Ok(History {
            path: path.to_owned(),
            shared,
            reader: Mutex::new(reader),
            tuning,
            writer: Some(writer),
        })
    }

    /// `$XDG_DATA_HOME/docktray/history.sqlite` (or the platform's data dir).
    pub fn default_path() -> Option<PathBuf> {
        dirs::data_dir().map(|dir| dir.join("docktray").join("history.sqlite"))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues container samples; never waits for the disk.
    pub fn record_containers(&self, samples: &[(ContainerInfo, ContainerStats)]) {
        self.record_described(samples.iter().map(|(info, stats)| (info, stats)));
    }

    /// [`History::record_containers`] with borrowed descriptions (the engine's own, under its read lock: no
    /// copy of each container's description per sweep).
    pub fn record_described<'a>(
        &self,
        samples: impl Iterator<Item = (&'a ContainerInfo, &'a ContainerStats)>,
    ) {
        self.push(samples.map(|(info, stats)| {
            Record::Container(ContainerSample {
                at: to_ms_precision(stats.sampled_at),
                host: info.host.clone(),
                container_id: info.id.clone(),
                name: info.name.trim_start_matches('/').to_owned(),
                compose_service: info.compose_service.clone(),
                compose_project: info.compose_project.clone(),
                cpu_percent: finite(stats.cpu_percent),
                cpu_host_percent: finite(stats.cpu_host_percent),
                memory_bytes: stats.memory_bytes,
                memory_limit_bytes: stats.memory_limit_bytes,
                memory_percent: finite(stats.memory_percent),
                net_rx_bytes_per_s: finite(stats.net_rx_bytes_per_s),
                net_tx_bytes_per_s: finite(stats.net_tx_bytes_per_s),
                block_read_bytes_per_s: finite(stats.block_read_bytes_per_s),
                block_write_bytes_per_s: finite(stats.block_write_bytes_per_s),
                pids: stats.pids,
            })
        }));
    }

    /// Queues one host sample, with its gauges (each filesystem, a VPS's traffic quota); never waits for the
    /// disk.
    pub fn record_host(&self, stats: &ServerStats) {
        let at = to_ms_precision(stats.timestamp);
        self.push(gauges::samples_of(stats, at).into_iter().map(Record::Gauge));
        self.push(std::iter::once(Record::Host(HostSample {
            at,
            host: stats.server_name.clone(),
            cpu_percent: finite(stats.cpu.percent),
            memory_percent: finite(stats.memory.percent),
            memory_used_gb: finite(stats.memory.used_gb),
            swap_percent: finite(stats.swap.percent),
            disk_percent: finite(stats.disk.percent),
            net_rx_bytes_per_s: finite(stats.network.rx_bytes_per_s),
            net_tx_bytes_per_s: finite(stats.network.tx_bytes_per_s),
            load_1: finite(stats.load.one),
        })));
    }

    /// Inserts or updates an alert by `alert.id` (alerts change level, get resolved, acknowledged).
    pub fn record_alert(&self, alert: &Alert) {
        self.push(std::iter::once(Record::Alert(Box::new(alert.clone()))));
    }

    /// Queues engine events for the timeline; one already stored (a back-filled copy) is ignored.
    pub fn record_events(&self, events: &[EngineEvent]) {
        self.push(events.iter().map(|e| Record::Event(Box::new(e.clone()))));
    }

    /// Queues an audit entry (an action taken through Docktray).
    pub fn record_audit(&self, entry: &AuditEntry) {
        self.push(std::iter::once(Record::Audit(Box::new(entry.clone()))));
    }

    fn push(&self, records: impl Iterator<Item = Record>) {
        let mut queue = self.shared.lock();
        let was_empty = queue.data.is_empty();
        let mut dropped = 0u64;
        for record in records {
            if queue.data.len() >= self.tuning.queue_capacity.max(1) {
                queue.data.pop_front();
                dropped += 1;
            }
            queue.data.push_back(record);
        }
        if was_empty && !queue.data.is_empty() {
            queue.oldest_at = Some(Instant::now());
        }
        if dropped > 0 {
            queue.dropped += dropped;
            if !queue.overflow_logged {
                queue.overflow_logged = true;
                tracing::warn!(
                    path = %self.path.display(),
                    capacity = self.tuning.queue_capacity,
                    "history writer is behind (slow or full disk?): dropping the oldest queued samples; \
                     the count is in History::stats().dropped"
                );
            }
        }
        let due = queue.data.len() >= self.tuning.batch_rows;
        drop(queue);
        if was_empty || due {
            self.shared.wake.notify_one();
        }
    }

    fn control<T>(
        &self,
        make: impl FnOnce(mpsc::SyncSender<Result<T, HistoryError>>) -> Control,
    ) -> Result<T, HistoryError> {
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut queue = self.shared.lock();
            if queue.shutdown {
                return Err(self.stopped("it was shut down"));
            }
            queue.controls.push_back(make(tx));
        }
        self.shared.wake.notify_one();
        rx.recv()
            .map_err(|_| self.stopped("it ended unexpectedly; see the log"))?
    }

    fn stopped(&self, reason: &str) -> HistoryError {
        HistoryError::WriterStopped {
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
    }

    /// Writes everything queued so far and waits for the commit (on Quit / Ctrl-C).
    pub fn flush(&self) -> Result<(), HistoryError> {
        self.control(Control::Flush)
    }

    /// Points of one metric of a container, service or host. Unknown metric names are an error listing the
    /// valid ones; a target with no rows gives an empty series.
    pub fn query(&self, query: &SeriesQuery) -> Result<Series, HistoryError> {
        let mut conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        query::series(&mut conn, &self.path, query)
    }

    /// Points of one gauge (a filesystem's use, a VPS's traffic quota); a gauge with no rows gives an empty
    /// series.
    pub fn gauge(&self, query: &GaugeQuery) -> Result<Series, HistoryError> {
        let mut conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        gauges::series(&mut conn, &self.path, query)
    }

    /// Stored alerts, newest first.
    pub fn alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, HistoryError> {
        let mut conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        query::alerts(&mut conn, &self.path, query)
    }

    /// Timeline rows (engine events and audit entries), oldest first, with the cursor to read newer ones.
    pub fn timeline(&self, query: &TimelineQuery) -> Result<TimelinePage, HistoryError> {
        let mut conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        timeline::read(&mut conn, &self.path, query)
    }

    /// Where each host's timeline resumes after a start (by host name): its last stored event, or its last
    /// host sample when later. Given to [`crate::Engine::start_resuming`] for the back-fill.
    pub fn resume_points(
        &self,
    ) -> Result<std::collections::BTreeMap<String, DateTime<Utc>>, HistoryError> {
        let mut conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(timeline::resume_points(&mut conn, &self.path)?
            .into_iter()
            .collect())
    }

    /// Writes the raw container and host samples taken in [since, until), the alerts active at any time in it,
    /// and its engine events and audit entries, as JSON lines or CSV (see [`ExportRow`], [`parse_export`]);
    /// returns the rows written. Flushes the queue first. Samples come grouped by container (then host), each
    /// in time order; then the alerts, the events and the audit entries, each in time order.
    pub fn export(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64, HistoryError> {
        self.flush()?;
        // Its own connection: a long export must not hold up charts.
        let mut conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| HistoryError::db(&self.path, "open a connection for the export", e))?;
        export::export(&mut conn, &self.path, since, until, format, out)
    }

    /// Runs a retention pass now (one also runs in the background every 10 min): small DELETE batches between
    /// which queued samples keep being committed.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<PruneReport, HistoryError> {
        self.control(|reply| Control::Prune(now, reply))
    }

    /// Takes new retentions (changed in the settings) without reopening the store; the next retention pass,
    /// which runs in the background, uses them.
    pub fn set_retention(&self, settings: &HistorySettings) -> Result<(), HistoryError> {
        self.control(|reply| Control::Settings(Box::new(settings.clone()), reply))
    }

    /// Queue and writer counters.
    pub fn stats(&self) -> HistoryStats {
        let queue = self.shared.lock();
        HistoryStats {
            queued: queue.data.len(),
            dropped: queue.dropped,
            committed_rows: queue.committed_rows,
            last_error: queue.last_error.clone(),
        }
    }
}

/// Stops the writer after it commits what is queued, so dropping the store on exit loses nothing.
impl Drop for History {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(handle) = self.writer.take() {
            if handle.join().is_err() {
                tracing::error!(path = %self.path.display(), "history writer panicked");
            }
        }
    }
}

/// Reads back what [`History::export`] wrote.
pub fn parse_export(
    format: ExportFormat,
    input: impl BufRead,
) -> Result<Vec<ExportRow>, HistoryError> {
    export::parse(format, input)
}

/// Creates the folder, opens the file, refuses newer schemas before changing anything, then sets WAL and
/// migrates.
fn open_writer_connection(path: &Path) -> Result<Connection, HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: path.to_owned(),
                dir: dir.to_owned(),
                source,
            })?;
        }
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| db("open the file", e))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| db("set the busy timeout", e))?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| db("read the schema version", e))?;
    if found > SCHEMA_VERSION {
        return Err(HistoryError::NewerSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| db("switch to WAL mode", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "history database is not in WAL mode (network filesystem?)");
    }
    // NORMAL in WAL mode: a process crash loses nothing committed; a power cut may lose the last commits.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| db("set synchronous = NORMAL", e))?;
    // Keep the WAL file from staying large after a big batch or a prune.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(|e| db("set the WAL size limit", e))?;
    schema::migrate(&mut conn, found, schema::MIGRATIONS)
        .map_err(|e| db("migrate the schema", e))?;
    Ok(conn)
}

pub(crate) fn to_ms_precision(at: DateTime<Utc>) -> DateTime<Utc> {
    from_ms(at.timestamp_millis())
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

/// NaN or infinite numbers would break JSON export and aggregates; they only come from a broken sample.
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

pub(crate) fn level_rank(level: Level) -> i64 {
    match level {
        Level::Resolved => 0,
        Level::Info => 1,
        Level::Warning => 2,
        Level::Critical => 3,
    }
}
