//! Gauges: single figures kept beside the wide host rows, one series per host, name and detail: each filesystem's
//! use (`disk_percent`, detail = mount point) and a VPS's monthly traffic (`network_quota_percent`). They are what
//! forecasts fit; rolled up per minute and pruned with the other samples.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};

use super::writer::{floor_minute, read_watermark};
use super::{from_ms, HistoryError, Point, Resolution, Series, AUTO_RAW_MAX};
use crate::model::ServerStats;

/// A filesystem's use in percent; the detail is its mount point.
pub const GAUGE_DISK: &str = "disk_percent";
/// A Webdock server's traffic this month as a share of its allowance, in percent.
pub const GAUGE_NETWORK_QUOTA: &str = "network_quota_percent";

/// One gauge value on its way to the writer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GaugeSample {
    pub at: DateTime<Utc>,
    pub host: String,
    pub name: &'static str,
    pub detail: String,
    pub value: f64,
}

/// What a forecast asks of one gauge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeQuery {
    pub host: String,
    /// [`GAUGE_DISK`] or [`GAUGE_NETWORK_QUOTA`].
    pub name: String,
    /// The mount point of a disk; empty for a gauge without one.
    pub detail: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub resolution: Resolution,
}

/// The gauges of one host sample: every filesystem, and the VPS's traffic quota.
pub(crate) fn samples_of(stats: &ServerStats, at: DateTime<Utc>) -> Vec<GaugeSample> {
    let finite = |value: f64| if value.is_finite() { value } else { 0.0 };
    let mut samples: Vec<GaugeSample> = stats
        .disks
        .iter()
        .map(|disk| GaugeSample {
            at,
            host: stats.server_name.clone(),
            name: GAUGE_DISK,
            detail: disk.mount.clone(),
            value: finite(disk.percent),
        })
        .collect();
    if let Some(quota) = stats
        .vps
        .as_ref()
        .and_then(|vps| vps.network_quota.as_ref())
    {
        if quota.allowed_gb > 0.0 {
            samples.push(GaugeSample {
                at,
                host: stats.server_name.clone(),
                name: GAUGE_NETWORK_QUOTA,
                detail: String::new(),
                value: finite(quota.percent),
            });
        }
    }
    samples
}

const UPSERT_SERIES: &str = "INSERT INTO gauge_series (host, name, detail) VALUES (?1, ?2, ?3) \
    ON CONFLICT (host, name, detail) DO UPDATE SET name = excluded.name RETURNING id";

const INSERT_RAW: &str = "INSERT OR REPLACE INTO gauge_raw (series, ts, value) VALUES (?1, ?2, ?3)";

pub(crate) const DELETE_RAW: &str =
    "DELETE FROM gauge_raw WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM gauge_series s CROSS JOIN gauge_raw r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
pub(crate) const DELETE_MINUTE: &str =
    "DELETE FROM gauge_minute WHERE (series, ts) IN (SELECT r.series, r.ts \
    FROM gauge_series s CROSS JOIN gauge_minute r ON r.series = s.id AND r.ts < ?1 LIMIT ?2)";
pub(crate) const DELETE_ORPHANS: &str = "DELETE FROM gauge_series \
    WHERE NOT EXISTS (SELECT 1 FROM gauge_raw r WHERE r.series = gauge_series.id) \
    AND NOT EXISTS (SELECT 1 FROM gauge_minute m WHERE m.series = gauge_series.id)";

/// Series ids by (host, name, detail), cached by the writer.
pub(crate) type SeriesCache = HashMap<(String, &'static str, String), i64>;

/// Inserts one value; returns its time in milliseconds.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    cache: &mut SeriesCache,
    sample: &GaugeSample,
) -> rusqlite::Result<i64> {
    let key = (sample.host.clone(), sample.name, sample.detail.clone());
    let series = match cache.get(&key) {
        Some(id) => *id,
        None => {
            let id: i64 = tx
                .prepare_cached(UPSERT_SERIES)?
                .query_row(params![sample.host, sample.name, sample.detail], |row| {
                    row.get(0)
                })?;
            cache.insert(key, id);
            id
        }
    };
    let ts = sample.at.timestamp_millis();
    tx.prepare_cached(INSERT_RAW)?
        .execute(params![series, ts, sample.value])?;
    Ok(ts)
}

/// Points of one gauge, as [`super::History::query`] gives a metric's.
pub(crate) fn series(
    conn: &mut Connection,
    path: &Path,
    query: &GaugeQuery,
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
    let resolution = match query.resolution {
        Resolution::Auto if until - since <= AUTO_RAW_MAX.as_millis() as i64 => Resolution::Raw,
        Resolution::Auto => Resolution::Minute,
        chosen => chosen,
    };
    let tx = conn
        .transaction()
        .map_err(|e| db("start a read transaction", e))?;
    let series: Option<i64> = tx
        .prepare_cached("SELECT id FROM gauge_series WHERE host = ?1 AND name = ?2 AND detail = ?3")
        .and_then(|mut stmt| {
            let mut rows = stmt.query(params![query.host, query.name, query.detail])?;
            rows.next()?.map(|row| row.get(0)).transpose()
        })
        .map_err(|e| db("look up the gauge", e))?;
    let Some(series) = series else {
        return Ok(Series {
            resolution,
            points: Vec::new(),
        });
    };
    let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<Point> {
        Ok(Point {
            at: from_ms(row.get(0)?),
            min: row.get(1)?,
            avg: row.get(2)?,
            max: row.get(3)?,
        })
    };
    let points = match resolution {
        Resolution::Minute => {
            let watermark = read_watermark(&tx)
                .map_err(|e| db("read the rollup watermark", e))?
                .unwrap_or(i64::MIN);
            let mut stmt = tx
                .prepare_cached(
                    "SELECT ts, value_min, value_avg, value_max FROM gauge_minute \
                     WHERE series = ?1 AND ts >= ?2 AND ts < ?3 AND ts < ?4 \
                     UNION ALL \
                     SELECT (ts / 60000) * 60000, min(value), avg(value), max(value) FROM gauge_raw \
                     WHERE series = ?1 AND ts >= max(?2, ?4) AND ts < ?3 GROUP BY ts / 60000 \
                     ORDER BY 1",
                )
                .map_err(|e| db("prepare a gauge query", e))?;
            let rows = stmt
                .query_map(params![series, floor_minute(since), until, watermark], read)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Point>>>());
            rows.map_err(|e| db("read gauge samples", e))?
        }
        _ => {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT ts, value, value, value FROM gauge_raw \
                     WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                )
                .map_err(|e| db("prepare a gauge query", e))?;
            let rows = stmt
                .query_map(params![series, since, until], read)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Point>>>());
            rows.map_err(|e| db("read gauge samples", e))?
        }
    };
    Ok(Series { resolution, points })
}
