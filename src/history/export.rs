//! Export of raw samples and alerts as JSON lines or CSV, and the matching parser so exports can be read back
//! (and are tested to round-trip).

use std::io::{BufRead, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};

use super::query::{alert_from_row, ALERT_COLUMNS};
use super::timeline::{self, TimelineItem};
use super::{from_ms, ContainerSample, ExportFormat, ExportRow, HistoryError, HostSample};
use crate::alerts::{Alert, Level, Target, TargetKind};
use crate::model::{AuditEntry, AuditSource, EngineEvent, EventScope};

const CONTAINER_SQL: &str = "SELECT s.host, s.container_id, s.name, s.service, s.project, r.ts, \
    r.cpu_percent, r.cpu_host_percent, r.memory_bytes, r.memory_limit_bytes, r.memory_percent, \
    r.net_rx_bytes_per_s, r.net_tx_bytes_per_s, r.block_read_bytes_per_s, r.block_write_bytes_per_s, r.pids \
    FROM container_series s CROSS JOIN container_raw r ON r.series = s.id AND r.ts >= ?1 AND r.ts < ?2 \
    ORDER BY s.id, r.ts";

const HOST_SQL: &str = "SELECT s.name, r.ts, r.cpu_percent, r.memory_percent, r.memory_used_gb, \
    r.swap_percent, r.disk_percent, r.net_rx_bytes_per_s, r.net_tx_bytes_per_s, r.load_1 \
    FROM host_series s CROSS JOIN host_raw r ON r.series = s.id AND r.ts >= ?1 AND r.ts < ?2 \
    ORDER BY s.id, r.ts";

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn container_from_row(row: &Row<'_>) -> rusqlite::Result<ContainerSample> {
    Ok(ContainerSample {
        host: row.get(0)?,
        container_id: row.get(1)?,
        name: row.get(2)?,
        compose_service: non_empty(row.get(3)?),
        compose_project: non_empty(row.get(4)?),
        at: from_ms(row.get(5)?),
        cpu_percent: row.get(6)?,
        cpu_host_percent: row.get(7)?,
        memory_bytes: u64::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
        memory_limit_bytes: u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
        memory_percent: row.get(10)?,
        net_rx_bytes_per_s: row.get(11)?,
        net_tx_bytes_per_s: row.get(12)?,
        block_read_bytes_per_s: row.get(13)?,
        block_write_bytes_per_s: row.get(14)?,
        pids: u64::try_from(row.get::<_, i64>(15)?).unwrap_or(0),
    })
}

fn host_from_row(row: &Row<'_>) -> rusqlite::Result<HostSample> {
    Ok(HostSample {
        host: row.get(0)?,
        at: from_ms(row.get(1)?),
        cpu_percent: row.get(2)?,
        memory_percent: row.get(3)?,
        memory_used_gb: row.get(4)?,
        swap_percent: row.get(5)?,
        disk_percent: row.get(6)?,
        net_rx_bytes_per_s: row.get(7)?,
        net_tx_bytes_per_s: row.get(8)?,
        load_1: row.get(9)?,
    })
}

/// Where rows go: JSON lines straight to the output, CSV through the csv writer (quoting).
enum Sink<'a> {
    Json(&'a mut dyn Write),
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
}

impl Sink<'_> {
    fn write(&mut self, row: ExportRow) -> std::io::Result<()> {
        match self {
            Self::Json(out) => {
                serde_json::to_writer(&mut **out, &row)?;
                out.write_all(b"\n")
            }
            Self::Csv(out) => Ok(out.serialize(CsvRow::from(row))?),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Self::Json(out) => out.flush(),
            Self::Csv(mut out) => out.flush(),
        }
    }
}

pub(crate) fn export(
    conn: &mut Connection,
    path: &Path,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    let io = |source| HistoryError::ExportWrite { source };
    let (since, until) = (since.timestamp_millis(), until.timestamp_millis());
    // One read transaction: the three parts come from the same snapshot.
    let tx = conn
        .transaction()
        .map_err(|e| db("start a read transaction", e))?;
    let mut sink = match format {
        ExportFormat::JsonLines => Sink::Json(out),
        ExportFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out);
            writer.write_record(CSV_HEADER).map_err(|e| io(e.into()))?;
            Sink::Csv(Box::new(writer))
        }
    };
    let mut written = 0u64;

    let mut stmt = tx
        .prepare(CONTAINER_SQL)
        .map_err(|e| db("prepare the export", e))?;
    let mut rows = stmt
        .query(params![since, until])
        .map_err(|e| db("read container samples", e))?;
    while let Some(row) = rows.next().map_err(|e| db("read container samples", e))? {
        let sample = container_from_row(row).map_err(|e| db("read container samples", e))?;
        sink.write(ExportRow::ContainerSample(sample)).map_err(io)?;
        written += 1;
    }
    drop(rows);
    drop(stmt);

    let mut stmt = tx
        .prepare(HOST_SQL)
        .map_err(|e| db("prepare the export", e))?;
    let mut rows = stmt
        .query(params![since, until])
        .map_err(|e| db("read host samples", e))?;
    while let Some(row) = rows.next().map_err(|e| db("read host samples", e))? {
        let sample = host_from_row(row).map_err(|e| db("read host samples", e))?;
        sink.write(ExportRow::HostSample(sample)).map_err(io)?;
        written += 1;
    }
    drop(rows);
    drop(stmt);

    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE started_at < ?2 \
         AND (resolved_at IS NULL OR resolved_at >= ?1) ORDER BY started_at, id"
    );
    let mut stmt = tx.prepare(&sql).map_err(|e| db("prepare the export", e))?;
    let mut rows = stmt
        .query(params![since, until])
        .map_err(|e| db("read alerts", e))?;
    while let Some(row) = rows.next().map_err(|e| db("read alerts", e))? {
        let alert = alert_from_row(row).map_err(|e| db("read alerts", e))?;
        sink.write(ExportRow::Alert(alert)).map_err(io)?;
        written += 1;
    }
    drop(rows);
    drop(stmt);

    let (from, to) = (from_ms(since), from_ms(until));
    timeline::export_rows(
        &tx,
        from,
        to,
        |item| {
            let row = match item {
                TimelineItem::Event(event) => ExportRow::Event(event),
                TimelineItem::Audit(entry) => ExportRow::Audit(entry),
            };
            sink.write(row).map_err(io)?;
            written += 1;
            Ok(())
        },
        path,
    )?;
    sink.finish().map_err(io)?;
    tracing::info!(rows = written, ?format, "history exported");
    Ok(written)
}

pub(crate) fn parse(
    format: ExportFormat,
    input: impl BufRead,
) -> Result<Vec<ExportRow>, HistoryError> {
    let mut out = Vec::new();
    match format {
        ExportFormat::JsonLines => {
            for (index, line) in input.lines().enumerate() {
                let line_no = index as u64 + 1;
                let line = line.map_err(|e| HistoryError::ExportParse {
                    line: line_no,
                    reason: e.to_string(),
                })?;
                if line.trim().is_empty() {
                    continue;
                }
                let row = serde_json::from_str(&line).map_err(|e| HistoryError::ExportParse {
                    line: line_no,
                    reason: e.to_string(),
                })?;
                out.push(row);
            }
        }
        ExportFormat::Csv => {
            let mut reader = csv::Reader::from_reader(input);
            for (index, record) in reader.deserialize::<CsvRow>().enumerate() {
                // Line 1 is the header.
                let line = index as u64 + 2;
                let row = record.map_err(|e| HistoryError::ExportParse {
                    line,
                    reason: e.to_string(),
                })?;
                out.push(row.into_export(line)?);
            }
        }
    }
    Ok(out)
}

/// Column order of the CSV export; must match the fields of [`CsvRow`].
const CSV_HEADER: [&str; 47] = [
    "kind",
    "at",
    "host",
    "container_id",
    "name",
    "compose_service",
    "compose_project",
    "cpu_percent",
    "cpu_host_percent",
    "memory_bytes",
    "memory_limit_bytes",
    "memory_percent",
    "memory_used_gb",
    "swap_percent",
    "disk_percent",
    "net_rx_bytes_per_s",
    "net_tx_bytes_per_s",
    "block_read_bytes_per_s",
    "block_write_bytes_per_s",
    "pids",
    "load_1",
    "alert_id",
    "level",
    "metric",
    "target_kind",
    "target_id",
    "target_name",
    "detail",
    "value",
    "threshold",
    "unit",
    "message",
    "started_at",
    "resolved_at",
    "acknowledged",
    "top",
    "scope",
    "action",
    "exit_code",
    "signal",
    "oom",
    "health",
    "source",
    "actor",
    "target",
    "ok",
    "error",
];

/// One CSV line: the union of all kinds' columns, empty where a kind has none. For alerts, `host` is the
/// target's host and `at` its start; `top` is JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CsvRow {
    kind: String,
    at: Option<DateTime<Utc>>,
    host: Option<String>,
    container_id: Option<String>,
    name: Option<String>,
    compose_service: Option<String>,
    compose_project: Option<String>,
    cpu_percent: Option<f64>,
    cpu_host_percent: Option<f64>,
    memory_bytes: Option<u64>,
    memory_limit_bytes: Option<u64>,
    memory_percent: Option<f64>,
    memory_used_gb: Option<f64>,
    swap_percent: Option<f64>,
    disk_percent: Option<f64>,
    net_rx_bytes_per_s: Option<f64>,
    net_tx_bytes_per_s: Option<f64>,
    block_read_bytes_per_s: Option<f64>,
    block_write_bytes_per_s: Option<f64>,
    pids: Option<u64>,
    load_1: Option<f64>,
    alert_id: Option<u64>,
    level: Option<Level>,
    metric: Option<String>,
    target_kind: Option<TargetKind>,
    target_id: Option<String>,
    target_name: Option<String>,
    detail: Option<String>,
    value: Option<f64>,
    threshold: Option<f64>,
    unit: Option<String>,
    message: Option<String>,
    started_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    acknowledged: Option<bool>,
    top: Option<String>,
    scope: Option<EventScope>,
    action: Option<String>,
    exit_code: Option<i64>,
    signal: Option<String>,
    oom: Option<bool>,
    health: Option<String>,
    source: Option<AuditSource>,
    actor: Option<String>,
    target: Option<String>,
    ok: Option<bool>,
    error: Option<String>,
}

impl From<ExportRow> for CsvRow {
    fn from(row: ExportRow) -> Self {
        match row {
            ExportRow::ContainerSample(s) => Self {
                kind: "container_sample".to_owned(),
                at: Some(s.at),
                host: Some(s.host),
                container_id: Some(s.container_id),
                name: Some(s.name),
                compose_service: s.compose_service,
                compose_project: s.compose_project,
                cpu_percent: Some(s.cpu_percent),
                cpu_host_percent: Some(s.cpu_host_percent),
                memory_bytes: Some(s.memory_bytes),
                memory_limit_bytes: Some(s.memory_limit_bytes),
                memory_percent: Some(s.memory_percent),
                net_rx_bytes_per_s: Some(s.net_rx_bytes_per_s),
                net_tx_bytes_per_s: Some(s.net_tx_bytes_per_s),
                block_read_bytes_per_s: Some(s.block_read_bytes_per_s),
                block_write_bytes_per_s: Some(s.block_write_bytes_per_s),
                pids: Some(s.pids),
                ..Self::default()
            },
            ExportRow::HostSample(s) => Self {
                kind: "host_sample".to_owned(),
                at: Some(s.at),
                host: Some(s.host),
                cpu_percent: Some(s.cpu_percent),
                memory_percent: Some(s.memory_percent),
                memory_used_gb: Some(s.memory_used_gb),
                swap_percent: Some(s.swap_percent),
                disk_percent: Some(s.disk_percent),
                net_rx_bytes_per_s: Some(s.net_rx_bytes_per_s),
                net_tx_bytes_per_s: Some(s.net_tx_bytes_per_s),
                load_1: Some(s.load_1),
                ..Self::default()
            },
            ExportRow::Alert(a) => Self {
                kind: "alert".to_owned(),
                at: Some(a.started_at),
                host: Some(a.target.host),
                alert_id: Some(a.id),
                level: Some(a.level),
                metric: Some(a.metric),
                target_kind: Some(a.target.kind),
                target_id: Some(a.target.id),
                target_name: Some(a.target.name),
                detail: a.detail,
                value: a.value,
                threshold: a.threshold,
                unit: Some(a.unit),
                message: Some(a.message),
                started_at: Some(a.started_at),
                resolved_at: a.resolved_at,
                acknowledged: Some(a.acknowledged),
                top: Some(serde_json::to_string(&a.top).unwrap_or_else(|_| "[]".to_owned())),
                ..Self::default()
            },
            ExportRow::Event(e) => Self {
                kind: "event".to_owned(),
                at: Some(e.at),
                host: Some(e.host),
                container_id: Some(e.id),
                name: Some(e.name),
                scope: Some(e.scope),
                action: Some(e.action),
                exit_code: e.exit_code,
                signal: e.signal,
                oom: e.oom,
                health: e.health,
                ..Self::default()
            },
            ExportRow::Audit(a) => Self {
                kind: "audit".to_owned(),
                at: Some(a.at),
                host: Some(a.host),
                name: a.container,
                action: Some(a.action),
                source: Some(a.source),
                actor: a.actor,
                target: Some(a.target),
                ok: Some(a.ok),
                error: a.error,
                ..Self::default()
            },
        }
    }
}

impl CsvRow {
    fn into_export(self, line: u64) -> Result<ExportRow, HistoryError> {
        fn need<T>(value: Option<T>, column: &str, line: u64) -> Result<T, HistoryError> {
            value.ok_or_else(|| HistoryError::ExportParse {
                line,
                reason: format!("column `{column}` is empty"),
            })
        }
        Ok(match self.kind.as_str() {
            "container_sample" => ExportRow::ContainerSample(ContainerSample {
                at: need(self.at, "at", line)?,
                host: need(self.host, "host", line)?,
                container_id: need(self.container_id, "container_id", line)?,
                name: need(self.name, "name", line)?,
                compose_service: self.compose_service,
                compose_project: self.compose_project,
                cpu_percent: need(self.cpu_percent, "cpu_percent", line)?,
                cpu_host_percent: need(self.cpu_host_percent, "cpu_host_percent", line)?,
                memory_bytes: need(self.memory_bytes, "memory_bytes", line)?,
                memory_limit_bytes: need(self.memory_limit_bytes, "memory_limit_bytes", line)?,
                memory_percent: need(self.memory_percent, "memory_percent", line)?,
                net_rx_bytes_per_s: need(self.net_rx_bytes_per_s, "net_rx_bytes_per_s", line)?,
                net_tx_bytes_per_s: need(self.net_tx_bytes_per_s, "net_tx_bytes_per_s", line)?,
                block_read_bytes_per_s: need(
                    self.block_read_bytes_per_s,
                    "block_read_bytes_per_s",
                    line,
                )?,
                block_write_bytes_per_s: need(
                    self.block_write_bytes_per_s,
                    "block_write_bytes_per_s",
                    line,
                )?,
                pids: need(self.pids, "pids", line)?,
            }),
            "host_sample" => ExportRow::HostSample(HostSample {
                at: need(self.at, "at", line)?,
                host: need(self.host, "host", line)?,
                cpu_percent: need(self.cpu_percent, "cpu_percent", line)?,
                memory_percent: need(self.memory_percent, "memory_percent", line)?,
                memory_used_gb: need(self.memory_used_gb, "memory_used_gb", line)?,
                swap_percent: need(self.swap_percent, "swap_percent", line)?,
                disk_percent: need(self.disk_percent, "disk_percent", line)?,
                net_rx_bytes_per_s: need(self.net_rx_bytes_per_s, "net_rx_bytes_per_s", line)?,
                net_tx_bytes_per_s: need(self.net_tx_bytes_per_s, "net_tx_bytes_per_s", line)?,
                load_1: need(self.load_1, "load_1", line)?,
            }),
            "alert" => {
                let top = need(self.top, "top", line)?;
                ExportRow::Alert(Alert {
                    id: need(self.alert_id, "alert_id", line)?,
                    target: Target {
                        kind: need(self.target_kind, "target_kind", line)?,
                        host: need(self.host, "host", line)?,
                        id: need(self.target_id, "target_id", line)?,
                        name: need(self.target_name, "target_name", line)?,
                    },
                    metric: need(self.metric, "metric", line)?,
                    detail: self.detail,
                    level: need(self.level, "level", line)?,
                    value: self.value,
                    threshold: self.threshold,
                    unit: self.unit.unwrap_or_default(),
                    message: self.message.unwrap_or_default(),
                    started_at: need(self.started_at, "started_at", line)?,
                    resolved_at: self.resolved_at,
                    acknowledged: need(self.acknowledged, "acknowledged", line)?,
                    top: serde_json::from_str(&top).map_err(|e| HistoryError::ExportParse {
                        line,
                        reason: format!("column `top` is not JSON: {e}"),
                    })?,
                    // CSV has no column for a log alert's lines (JSON lines keeps them).
                    lines: Vec::new(),
                })
            }
            "event" => ExportRow::Event(EngineEvent {
                at: need(self.at, "at", line)?,
                host: need(self.host, "host", line)?,
                scope: need(self.scope, "scope", line)?,
                action: need(self.action, "action", line)?,
                id: self.container_id.unwrap_or_default(),
                name: self.name.unwrap_or_default(),
                exit_code: self.exit_code,
                signal: self.signal,
                oom: self.oom,
                health: self.health,
            }),
            "audit" => ExportRow::Audit(AuditEntry {
                at: need(self.at, "at", line)?,
                source: need(self.source, "source", line)?,
                actor: self.actor,
                host: need(self.host, "host", line)?,
                container: self.name,
                target: need(self.target, "target", line)?,
                action: need(self.action, "action", line)?,
                ok: need(self.ok, "ok", line)?,
                error: self.error,
            }),
            other => {
                return Err(HistoryError::ExportParse {
                    line,
                    reason: format!(
                        "unknown kind {other:?} (expected container_sample, host_sample, alert, event or audit)"
                    ),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header is written by hand (so an empty export still has one); it must name CsvRow's fields in order.
    #[test]
    fn csv_header_matches_the_row_fields() {
        let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
        writer.serialize(CsvRow::default()).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), CSV_HEADER.join(","));
    }
}
