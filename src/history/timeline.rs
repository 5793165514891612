//! The timeline in the history: engine events (stored once each: a back-filled copy of a stored event is
//! ignored) and audit entries, their retention, and the reads behind `docktray events`, the window's timeline
//! and the exports.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, CachedStatement, Connection, Row, ToSql};
use serde::{Deserialize, Serialize};

use super::HistoryError;
use crate::model::{AuditEntry, AuditSource, EngineEvent, EventScope, TimelineRow};

/// Stored once: the same event back-filled again (same host, time, scope, action and object) is ignored.
pub(crate) const INSERT_EVENT: &str = "INSERT OR IGNORE INTO events (host, ts_ns, scope, action, \
    kind, object_id, name, exit_code, signal, oom, health) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit (ts_ns, source, actor, host, container, \
    target, action, ok, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

pub(crate) const DELETE_EVENTS: &str =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_ns < ?1 LIMIT ?2)";
pub(crate) const DELETE_AUDIT: &str =
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts_ns < ?1 LIMIT ?2)";

const EVENT_COLUMNS: &str =
    "id, host, ts_ns, scope, action, object_id, name, exit_code, signal, oom, health";
const AUDIT_COLUMNS: &str = "id, ts_ns, source, actor, host, container, target, action, ok, error";

pub(crate) fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn from_nanos(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

pub(crate) fn insert_event(
    stmt: &mut CachedStatement<'_>,
    event: &EngineEvent,
) -> rusqlite::Result<()> {
    stmt.execute(params![
        event.host,
        nanos(event.at),
        event.scope.as_str(),
        event.action,
        event.kind(),
        event.id,
        event.name,
        event.exit_code,
        event.signal,
        event.oom,
        event.health,
    ])?;
    Ok(())
}

pub(crate) fn insert_audit(
    stmt: &mut CachedStatement<'_>,
    entry: &AuditEntry,
) -> rusqlite::Result<()> {
    stmt.execute(params![
        nanos(entry.at),
        entry.source.as_str(),
        entry.actor,
        entry.host,
        entry.container,
        entry.target,
        entry.action,
        entry.ok,
        entry.error,
    ])?;
    Ok(())
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, EngineEvent)> {
    let scope: String = row.get(3)?;
    Ok((
        row.get(0)?,
        EngineEvent {
            host: row.get(1)?,
            at: from_nanos(row.get(2)?),
            scope: EventScope::parse(&scope).unwrap_or(EventScope::Container),
            action: row.get(4)?,
            id: row.get(5)?,
            name: row.get(6)?,
            exit_code: row.get(7)?,
            signal: row.get(8)?,
            oom: row.get(9)?,
            health: row.get(10)?,
        },
    ))
}

fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, AuditEntry)> {
    let source: String = row.get(2)?;
    Ok((
        row.get(0)?,
        AuditEntry {
            at: from_nanos(row.get(1)?),
            source: AuditSource::parse(&source).unwrap_or(AuditSource::Cli),
            actor: row.get(3)?,
            host: row.get(4)?,
            container: row.get(5)?,
            target: row.get(6)?,
            action: row.get(7)?,
            ok: row.get(8)?,
            error: row.get(9)?,
        },
    ))
}

/// Which timeline rows to read. Every filter is optional; rows come oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub host: Option<String>,
    /// A container's name, id or id prefix (4+ characters).
    pub container: Option<String>,
    /// An event kind (`die`, `oom`, `image_pull`...), a scope (`container`, `image`, `volume`, `network`:
    /// all its kinds), or `audit` (audit entries only).
    pub kind: Option<String>,
    /// Words that must all appear (case-insensitive) in the row's names, kind, action, codes or error.
    pub text: Option<String>,
    /// Audit entries only.
    pub audit_only: bool,
    /// Keep only the newest `limit` rows.
    pub limit: Option<usize>,
    /// Only rows stored after this point (for following: see [`TimelinePage::next`]).
    pub after: Option<TimelineCursor>,
}

/// Where a reader got to in each table (row ids only grow).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineCursor {
    pub event: i64,
    pub audit: i64,
}

/// Rows oldest first, and the cursor that reads only newer ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelinePage {
    pub rows: Vec<TimelineRow>,
    pub next: TimelineCursor,
}

/// Builds the WHERE clause of one table's part of a query.
struct Filter {
    clauses: Vec<String>,
    values: Vec<Box<dyn ToSql>>,
}

impl Filter {
    fn new() -> Self {
        Self {
            clauses: vec!["1 = 1".to_owned()],
            values: Vec::new(),
        }
    }

    fn add(&mut self, clause: &str, values: Vec<Box<dyn ToSql>>) {
        // Placeholders are written as `?` and numbered here, in order.
        let mut text = String::new();
        for (index, part) in clause.split('?').enumerate() {
            if index > 0 {
                text.push_str(&format!("?{}", self.values.len() + index));
            }
            text.push_str(part);
        }
        self.clauses.push(format!("({text})"));
        self.values.extend(values);
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

fn like(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The timeline rows matching `query`, oldest first.
pub(crate) fn read(
    conn: &mut Connection,
    path: &Path,
    query: &TimelineQuery,
) -> Result<TimelinePage, HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    let kind = query
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let want_audit = query.audit_only || kind.is_none_or(|k| k == "audit");
    let want_events = !query.audit_only && kind != Some("audit");
    let words: Vec<String> = query
        .text
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let tx = conn
        .transaction()
        .map_err(|e| db("start a read transaction", e))?;
    let mut next = query.after.unwrap_or_default();
    let mut rows: Vec<(i64, TimelineRow)> = Vec::new();
    let limit = query.limit.map_or(-1, |l| l as i64);

    if want_events {
        let mut filter = Filter::new();
        common(&mut filter, query, "ts_ns", "host");
        if let Some(after) = query.after {
            filter.add("id > ?", vec![Box::new(after.event)]);
        }
        if let Some(container) = query.container.as_deref() {
            let prefix = if container.len() >= 4 {
                format!("{}%", container.replace(['%', '_'], ""))
            } else {
                container.to_owned()
            };
            filter.add(
                "scope = 'container' AND (name = ? OR object_id LIKE ?)",
                vec![
                    Box::new(container.trim_start_matches('/').to_owned()),
                    Box::new(prefix),
                ],
            );
        }
        if let Some(kind) = kind {
            filter.add(
                "kind = ? OR scope = ?",
                vec![Box::new(kind.to_owned()), Box::new(kind.to_owned())],
            );
        }
        for word in &words {
            filter.add(
                "lower(name || ' ' || kind || ' ' || object_id || ' ' || coalesce(exit_code, '') || ' ' || \
                 coalesce(signal, '') || ' ' || coalesce(health, '') || ' ' || host) LIKE ? ESCAPE '\\'",
                vec![Box::new(like(word))],
            );
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE {} ORDER BY ts_ns DESC, id DESC LIMIT {limit}",
            filter.sql()
        );
        let mut stmt = tx.prepare(&sql).map_err(|e| db("read the timeline", e))?;
        let params: Vec<&dyn ToSql> = filter.values.iter().map(|v| v.as_ref()).collect();
        let found = stmt
            .query_map(params.as_slice(), event_from_row)
            .map_err(|e| db("read the timeline", e))?;
        for item in found {
            let (id, event) = item.map_err(|e| db("read the timeline", e))?;
            next.event = next.event.max(id);
            rows.push((nanos(event.at), TimelineRow::from(&event)));
        }
    }
    if want_audit {
        let mut filter = Filter::new();
        common(&mut filter, query, "ts_ns", "host");
        if let Some(after) = query.after {
            filter.add("id > ?", vec![Box::new(after.audit)]);
        }
        if let Some(container) = query.container.as_deref() {
            filter.add(
                "container = ?",
                vec![Box::new(container.trim_start_matches('/').to_owned())],
            );
        }
        for word in &words {
            filter.add(
                "lower(coalesce(container, '') || ' audit ' || target || ' ' || action || ' ' || source || ' ' || \
                 coalesce(actor, '') || ' ' || coalesce(error, '') || ' ' || host || \
                 CASE WHEN ok THEN ' ok' ELSE ' error' END) LIKE ? ESCAPE '\\'",
                vec![Box::new(like(word))],
            );
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE {} ORDER BY ts_ns DESC, id DESC LIMIT {limit}",
            filter.sql()
        );
        let mut stmt = tx
            .prepare(&sql)
            .map_err(|e| db("read the audit entries", e))?;
        let params: Vec<&dyn ToSql> = filter.values.iter().map(|v| v.as_ref()).collect();
        let found = stmt
            .query_map(params.as_slice(), audit_from_row)
            .map_err(|e| db("read the audit entries", e))?;
        for item in found {
            let (id, entry) = item.map_err(|e| db("read the audit entries", e))?;
            next.audit = next.audit.max(id);
            rows.push((nanos(entry.at), TimelineRow::from(&entry)));
        }
    }
    // Newest `limit` of both tables together, then oldest first.
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    if let Some(limit) = query.limit {
        rows.truncate(limit);
    }
    rows.reverse();
    if query.after.is_none() || rows.is_empty() {
        // The cursor must cover every stored row, also those the filters left out.
        let (events, audit) = tx
            .query_row(
                "SELECT (SELECT coalesce(max(id), 0) FROM events), (SELECT coalesce(max(id), 0) FROM audit)",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map_err(|e| db("read the timeline", e))?;
        next.event = next.event.max(events);
        next.audit = next.audit.max(audit);
    }
    Ok(TimelinePage {
        rows: rows.into_iter().map(|(_, row)| row).collect(),
        next,
    })
}

fn common(filter: &mut Filter, query: &TimelineQuery, ts: &str, host: &str) {
    if let Some(since) = query.since {
        filter.add(&format!("{ts} >= ?"), vec![Box::new(nanos(since))]);
    }
    if let Some(until) = query.until {
        filter.add(&format!("{ts} < ?"), vec![Box::new(nanos(until))]);
    }
    if let Some(name) = query.host.as_deref() {
        filter.add(&format!("{host} = ?"), vec![Box::new(name.to_owned())]);
    }
}

/// Every stored event and audit entry in [since, until), oldest first (for `docktray export`).
pub(crate) fn export_rows(
    tx: &rusqlite::Transaction<'_>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    mut each: impl FnMut(TimelineItem) -> Result<(), HistoryError>,
    path: &Path,
) -> Result<(), HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    let (since, until) = (nanos(since), nanos(until));
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE ts_ns >= ?1 AND ts_ns < ?2 ORDER BY ts_ns, id"
    );
    let mut stmt = tx.prepare(&sql).map_err(|e| db("read events", e))?;
    let mut rows = stmt
        .query(params![since, until])
        .map_err(|e| db("read events", e))?;
    while let Some(row) = rows.next().map_err(|e| db("read events", e))? {
        let (_, event) = event_from_row(row).map_err(|e| db("read events", e))?;
        each(TimelineItem::Event(event))?;
    }
    drop(rows);
    drop(stmt);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit WHERE ts_ns >= ?1 AND ts_ns < ?2 ORDER BY ts_ns, id"
    );
    let mut stmt = tx.prepare(&sql).map_err(|e| db("read audit entries", e))?;
    let mut rows = stmt
        .query(params![since, until])
        .map_err(|e| db("read audit entries", e))?;
    while let Some(row) = rows.next().map_err(|e| db("read audit entries", e))? {
        let (_, entry) = audit_from_row(row).map_err(|e| db("read audit entries", e))?;
        each(TimelineItem::Audit(entry))?;
    }
    Ok(())
}

/// One stored timeline item, as the export writes it.
pub(crate) enum TimelineItem {
    Event(EngineEvent),
    Audit(AuditEntry),
}

/// Where each host's timeline should resume: its last stored event, or its last host sample when that is later
/// (Docktray was running then, so nothing before it was missed).
pub(crate) fn resume_points(
    conn: &mut Connection,
    path: &Path,
) -> Result<Vec<(String, DateTime<Utc>)>, HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    let tx = conn
        .transaction()
        .map_err(|e| db("start a read transaction", e))?;
    let mut points: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    {
        let mut stmt = tx
            .prepare("SELECT host, max(ts_ns) FROM events GROUP BY host")
            .map_err(|e| db("read the last events", e))?;
        let found = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(|e| db("read the last events", e))?;
        for item in found {
            let (host, ns) = item.map_err(|e| db("read the last events", e))?;
            points.insert(host, ns);
        }
        let mut stmt = tx
            .prepare(
                "SELECT name, (SELECT max(ts) FROM host_raw r WHERE r.series = s.id) FROM host_series s",
            )
            .map_err(|e| db("read the last samples", e))?;
        let found = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?))
            })
            .map_err(|e| db("read the last samples", e))?;
        for item in found {
            let (host, ms) = item.map_err(|e| db("read the last samples", e))?;
            if let Some(ms) = ms {
                let ns = ms.saturating_mul(1_000_000);
                let point = points.entry(host).or_insert(ns);
                *point = (*point).max(ns);
            }
        }
    }
    Ok(points
        .into_iter()
        .map(|(host, ns)| (host, from_nanos(ns)))
        .collect())
}
