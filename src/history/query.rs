//! Reads: chart series and alert lists, on the read connection inside one read transaction (a consistent
//! snapshot of raw rows, rollups and the rollup watermark).

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use rusqlite::{params, Connection, Row, Transaction};

use super::schema::{CONTAINER_METRICS, HOST_METRICS};
use super::writer::{floor_minute, read_watermark};
use super::{
    from_ms, level_rank, AlertQuery, HistoryError, Point, Resolution, Series, SeriesQuery,
    SeriesTarget, AUTO_RAW_MAX,
};
use crate::alerts::{Alert, Level, Target, TargetKind};

/// Metrics whose service total is a sum; the rest (`memory_percent`) are averaged.
fn is_additive(metric: &str) -> bool {
    metric != "memory_percent"
}

/// One fetched row: (series, ts, min, avg, max).
type Row5 = (i64, i64, f64, f64, f64);

pub(crate) fn series(
    conn: &mut Connection,
    path: &Path,
    query: &SeriesQuery,
) -> Result<Series, HistoryError> {
    let db = |action, e| HistoryError::db(path, action, e);
    let since = query.since.timestamp_millis();
    let until = query.until.timestamp_millis();
    if since >= until {
        return Err(HistoryError::EmptyRange {
            since: query.since.to_rfc3339(),
            until: query.until.to_rfc3339(),
        });
    }
    let (metrics, kind, raw, minute) = match query.target {
        SeriesTarget::Host { .. } => (&HOST_METRICS[..], "host", "host_raw", "host_minute"),
        _ => (
            &CONTAINER_METRICS[..],
            "container",
            "container_raw",
            "container_minute",
        ),
    };
    let wanted = query.metric.trim();
    let metric =
        *metrics
            .iter()
            .find(|m| **m == wanted)
            .ok_or_else(|| HistoryError::UnknownMetric {
                metric: query.metric.clone(),
                target: kind,
                valid: metrics.to_vec(),
            })?;
    let resolution = match query.resolution {
        Resolution::Auto if until - since <= AUTO_RAW_MAX.as_millis() as i64 => Resolution::Raw,
        Resolution::Auto => Resolution::Minute,
        chosen => chosen,
    };

    let tx = conn
        .transaction()
        .map_err(|e| db("start a read transaction", e))?;
    let ids = resolve(&tx, &query.target).map_err(|e| match e {
        Resolve::Db(e) => db("look up the series", e),
        Resolve::Err(e) => e,
    })?;
    let mut rows: Vec<Row5> = Vec::new();
    if !ids.is_empty() {
        let watermark = read_watermark(&tx)
            .map_err(|e| db("read the rollup watermark", e))?
            .unwrap_or(i64::MIN);
        let sql = match resolution {
            Resolution::Minute => format!(
                "SELECT ts, {metric}_min, {metric}_avg, {metric}_max FROM {minute} \
                 WHERE series = ?1 AND ts >= ?2 AND ts < ?3 AND ts < ?4 \
                 UNION ALL \
                 SELECT (ts / 60000) * 60000, min({metric}), CASE WHEN min({metric}) = max({metric}) \
                 THEN min({metric}) ELSE avg({metric}) END, max({metric}) FROM {raw} \
                 WHERE series = ?1 AND ts >= max(?2, ?4) AND ts < ?3 GROUP BY ts / 60000"
            ),
            _ => format!(
                "SELECT ts, {metric}, {metric}, {metric} FROM {raw} \
                 WHERE series = ?1 AND ts >= ?2 AND ts < ?3"
            ),
        };
        let from = match resolution {
            Resolution::Minute => floor_minute(since),
            _ => since,
        };
        let mut stmt = tx
            .prepare_cached(&sql)
            .map_err(|e| db("prepare a series query", e))?;
        for id in &ids {
            let read =
                |row: &Row<'_>| Ok((*id, row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?));
            let fetched = match resolution {
                Resolution::Minute => stmt.query_map(params![id, from, until, watermark], read),
                _ => stmt.query_map(params![id, from, until], read),
            }
            .and_then(|iter| iter.collect::<rusqlite::Result<Vec<Row5>>>())
            .map_err(|e| db("read samples", e))?;
            rows.extend(fetched);
        }
    }
    rows.sort_by_key(|r| (r.1, r.0));
    let mut points = match query.target {
        SeriesTarget::Service { .. } => combine_service(&rows, resolution, is_additive(metric)),
        _ => merge_same_time(&rows),
    };
    if let Some(limit) = query.limit {
        let excess = points.len().saturating_sub(limit);
        points.drain(..excess);
    }
    Ok(Series { resolution, points })
}

enum Resolve {
    Db(rusqlite::Error),
    Err(HistoryError),
}

impl From<rusqlite::Error> for Resolve {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e)
    }
}

/// The series ids a target covers.
fn resolve(tx: &Transaction<'_>, target: &SeriesTarget) -> Result<Vec<i64>, Resolve> {
    match target {
        SeriesTarget::Host { name } => {
            let mut stmt = tx.prepare_cached("SELECT id FROM host_series WHERE name = ?1")?;
            let ids = stmt.query_map([name.trim()], |row| row.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        }
        SeriesTarget::Service { host, service } => {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM container_series WHERE service = ?2 AND (?1 IS NULL OR host = ?1)",
            )?;
            let ids = stmt.query_map(params![host, service.trim()], |row| row.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        }
        SeriesTarget::Container { host, id_or_name } => {
            let wanted = id_or_name.trim().trim_start_matches('/');
            let mut stmt = tx.prepare_cached(
                "SELECT id, host, container_id, name FROM container_series \
                 WHERE (?1 IS NULL OR host = ?1) AND (container_id = ?2 OR name = ?2 \
                 OR (length(?2) >= 4 AND substr(container_id, 1, length(?2)) = ?2))",
            )?;
            let found: Vec<(i64, String, String, String)> = stmt
                .query_map(params![host, wanted], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            // An exact id wins over a name, a name over an id prefix.
            let exact: Vec<_> = found.iter().filter(|f| f.2 == wanted).collect();
            let named: Vec<_> = found.iter().filter(|f| f.3 == wanted).collect();
            let chosen = if !exact.is_empty() {
                exact
            } else if !named.is_empty() {
                named
            } else {
                let ids: BTreeSet<&str> = found.iter().map(|f| f.2.as_str()).collect();
                if ids.len() > 1 {
                    return Err(Resolve::Err(HistoryError::AmbiguousId {
                        what: wanted.to_owned(),
                        ids: ids
                            .into_iter()
                            .map(|id| id.chars().take(12).collect())
                            .collect(),
                    }));
                }
                found.iter().collect()
            };
            let hosts: BTreeSet<&str> = chosen.iter().map(|f| f.1.as_str()).collect();
            if host.is_none() && hosts.len() > 1 {
                return Err(Resolve::Err(HistoryError::AmbiguousTarget {
                    what: wanted.to_owned(),
                    hosts: hosts.into_iter().map(str::to_owned).collect(),
                }));
            }
            Ok(chosen.into_iter().map(|f| f.0).collect())
        }
    }
}

/// One container can span several series (renamed); points at the same time are merged.
fn merge_same_time(rows: &[Row5]) -> Vec<Point> {
    let mut points: Vec<Point> = Vec::with_capacity(rows.len());
    let mut merged = 1.0;
    let mut last_ts = None;
    for &(_, ts, min, avg, max) in rows {
        match points.last_mut() {
            Some(point) if last_ts == Some(ts) => {
                point.min = point.min.min(min);
                point.max = point.max.max(max);
                merged += 1.0;
                point.avg += (avg - point.avg) / merged;
            }
            _ => {
                merged = 1.0;
                last_ts = Some(ts);
                points.push(Point {
                    at: from_ms(ts),
                    min,
                    avg,
                    max,
                });
            }
        }
    }
    points
}

/// Combines a service's containers per sampling sweep (raw: a group closes when a container shows up a
/// second time, so sweeps with slightly different per-container times still line up) or per minute
/// (rollups). The point's time is the group's first sample.
fn combine_service(rows: &[Row5], resolution: Resolution, additive: bool) -> Vec<Point> {
    let mut points = Vec::new();
    let mut group: Vec<Row5> = Vec::new();
    let mut members: HashSet<i64> = HashSet::new();
    let close = |group: &[Row5], points: &mut Vec<Point>| {
        if let Some(first) = group.first() {
            let n = group.len() as f64;
            let (mut min, mut avg, mut max) = (0.0, 0.0, 0.0);
            for r in group {
                min += r.2;
                avg += r.3;
                max += r.4;
            }
            if !additive {
                (min, avg, max) = (min / n, avg / n, max / n);
            }
            points.push(Point {
                at: from_ms(first.1),
                min,
                avg,
                max,
            });
        }
    };
    for row in rows {
        let new_group = match (resolution, group.first()) {
            (_, None) => false,
            (Resolution::Minute, Some(first)) => row.1 != first.1,
            (_, Some(_)) => members.contains(&row.0),
        };
        if new_group {
            close(&group, &mut points);
            group.clear();
            members.clear();
        }
        members.insert(row.0);
        group.push(*row);
    }
    close(&group, &mut points);
    points
}

pub(crate) const ALERT_COLUMNS: &str = "id, level, metric, target_kind, target_host, target_id, \
    target_name, detail, started_at, resolved_at, acknowledged, message, value, threshold, unit, top, lines";

/// Reads a row selected with [`ALERT_COLUMNS`].
pub(crate) fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let level: String = row.get(1)?;
    let kind: String = row.get(3)?;
    let top: String = row.get(15)?;
    let lines: String = row.get(16)?;
    Ok(Alert {
        id: row.get::<_, i64>(0)? as u64,
        target: Target {
            kind: match kind.as_str() {
                "host" => TargetKind::Host,
                "vps" => TargetKind::Vps,
                "proxy" => TargetKind::Proxy,
                _ => TargetKind::Container,
            },
            host: row.get(4)?,
            id: row.get(5)?,
            name: row.get(6)?,
        },
        metric: row.get(2)?,
        detail: row.get(7)?,
        level: Level::parse(&level).unwrap_or(Level::Info),
        value: row.get(12)?,
        threshold: row.get(13)?,
        unit: row.get(14)?,
        message: row.get(11)?,
        started_at: from_ms(row.get(8)?),
        resolved_at: row.get::<_, Option<i64>>(9)?.map(from_ms),
        acknowledged: row.get(10)?,
        top: serde_json::from_str(&top).unwrap_or_default(),
        lines: serde_json::from_str(&lines).unwrap_or_default(),
    })
}

pub(crate) fn alerts(
    conn: &mut Connection,
    path: &Path,
    query: &AlertQuery,
) -> Result<Vec<Alert>, HistoryError> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts \
         WHERE (?1 IS NULL OR peak_rank >= ?1) \
         AND (?2 IS NULL OR resolved_at IS NULL OR resolved_at >= ?2) \
         AND (?3 IS NULL OR started_at < ?3) \
         AND (?4 = 0 OR (resolved_at IS NULL AND level_rank >= 2)) \
         ORDER BY started_at DESC, id DESC LIMIT ?5"
    );
    let limit = query
        .limit
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(|e| HistoryError::db(path, "prepare the alert query", e))?;
    let alerts = stmt
        .query_map(
            params![
                query.level.map(level_rank),
                query.since.map(|t| t.timestamp_millis()),
                query.until.map(|t| t.timestamp_millis()),
                query.active_only,
                limit
            ],
            alert_from_row,
        )
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Alert>>>())
        .map_err(|e| HistoryError::db(path, "read alerts", e))?;
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(points: &[Point]) -> Vec<(i64, f64)> {
        points
            .iter()
            .map(|p| (p.at.timestamp_millis(), p.avg))
            .collect()
    }

    #[test]
    fn service_sweeps_line_up_despite_jitter() {
        // Two containers, sampled 2 s apart, in varying order within each sweep.
        let rows = [
            (1, 0, 1.0, 1.0, 1.0),
            (2, 80, 2.0, 2.0, 2.0),
            (2, 1990, 2.0, 2.0, 2.0),
            (1, 2010, 1.0, 1.0, 1.0),
            (1, 4000, 5.0, 5.0, 5.0),
        ];
        let points = combine_service(&rows, Resolution::Raw, true);
        assert_eq!(values(&points), vec![(0, 3.0), (1990, 3.0), (4000, 5.0)]);
        let points = combine_service(&rows, Resolution::Raw, false);
        assert_eq!(values(&points), vec![(0, 1.5), (1990, 1.5), (4000, 5.0)]);
    }

    #[test]
    fn service_minutes_group_by_minute() {
        let rows = [
            (1, 0, 1.0, 2.0, 3.0),
            (2, 0, 10.0, 20.0, 30.0),
            (1, 60_000, 1.0, 1.0, 1.0),
        ];
        let points = combine_service(&rows, Resolution::Minute, true);
        assert_eq!(points.len(), 2);
        assert_eq!(
            (points[0].min, points[0].avg, points[0].max),
            (11.0, 22.0, 33.0)
        );
    }

    #[test]
    fn same_time_points_of_one_container_merge() {
        let rows = [
            (1, 0, 1.0, 2.0, 3.0),
            (2, 0, 0.5, 4.0, 2.0),
            (1, 5, 1.0, 1.0, 1.0),
        ];
        let points = merge_same_time(&rows);
        assert_eq!(points.len(), 2);
        assert_eq!(
            (points[0].min, points[0].avg, points[0].max),
            (0.5, 3.0, 3.0)
        );
    }
}
