//! One round of forecasts: for every disk, running container and Webdock quota in a snapshot, the recorded
//! history of its figure (the rule's window, after the last restart or the month's reset) is fitted with a robust
//! line, and the line is followed to the limit.

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Utc};

use super::fit::{fit, Line};
use crate::alerts::labels::format_hours;
use crate::config::{ForecastRule, ForecastSettings};
use crate::history::{
    GaugeQuery, History, Point, Resolution, SeriesQuery, SeriesTarget, GAUGE_DISK,
    GAUGE_NETWORK_QUOTA,
};
use crate::model::{
    Forecast, ForecastKind, ForecastState, ServerStats, Snapshot, Target, TargetKind,
};

/// Fewer points than this never make a line.
const MIN_POINTS: usize = 5;
/// A value this close to its limit is at it.
const AT_LIMIT: f64 = 0.999;

/// Every forecast the history allows now. Figures without history (history off, a new target) give
/// `Learning` forecasts; a history read that fails is skipped (and logged).
pub fn compute(
    history: &History,
    snapshot: &Snapshot,
    settings: &ForecastSettings,
    now: DateTime<Utc>,
) -> Vec<Forecast> {
    let mut out = Vec::new();
    if settings.disk.enabled {
        for stats in &snapshot.hosts {
            for disk in &stats.disks {
                let rule = &settings.disk;
                let points = gauge(history, stats, GAUGE_DISK, &disk.mount, rule, now);
                out.push(project(
                    Subject {
                        kind: ForecastKind::Disk,
                        target: server_target(stats),
                        detail: Some(disk.mount.clone()),
                        unit: "%",
                        limit: 100.0,
                        since: None,
                        until: None,
                    },
                    points,
                    rule,
                    now,
                ));
            }
        }
    }
    if settings.memory.enabled {
        let rule = &settings.memory;
        for container in &snapshot.containers {
            let info = &container.info;
            if !info.state.has_processes() {
                continue;
            }
            let query = |metric: &str| SeriesQuery {
                target: SeriesTarget::Container {
                    host: Some(info.host.clone()),
                    id_or_name: info.id.clone(),
                },
                metric: metric.to_owned(),
                since: now - delta(rule.window),
                until: now + TimeDelta::seconds(1),
                limit: None,
                resolution: Resolution::Auto,
            };
            // The live limit, else the last recorded one (a snapshot taken before the second sample).
            let limit = match &container.stats {
                Some(stats) => stats.memory_limit_bytes as f64,
                None => read(history.query(&query("memory_limit_bytes")), &info.name)
                    .last()
                    .map_or(0.0, |point| point.max),
            };
            if limit <= 0.0 {
                continue;
            }
            let points = read(history.query(&query("memory_bytes")), &info.name);
            out.push(project(
                Subject {
                    kind: ForecastKind::Memory,
                    target: Target {
                        kind: TargetKind::Container,
                        host: info.host.clone(),
                        id: info.id.clone(),
                        name: info.name.clone(),
                    },
                    detail: None,
                    unit: "B",
                    limit,
                    // The last restart starts a new run: its memory starts again from nothing.
                    since: info.started_at,
                    until: None,
                },
                points,
                rule,
                now,
            ));
        }
    }
    if settings.network_quota.enabled {
        let rule = &settings.network_quota;
        for stats in &snapshot.hosts {
            let has_quota = stats
                .vps
                .as_ref()
                .and_then(|vps| vps.network_quota.as_ref())
                .is_some_and(|quota| quota.allowed_gb > 0.0);
            if !has_quota {
                continue;
            }
            let points = gauge(history, stats, GAUGE_NETWORK_QUOTA, "", rule, now);
            let (month_start, month_end) = month_of(now);
            out.push(project(
                Subject {
                    kind: ForecastKind::NetworkQuota,
                    target: server_target(stats),
                    detail: None,
                    unit: "%",
                    limit: 100.0,
                    // The allowance starts again each month.
                    since: Some(month_start),
                    until: Some(month_end),
                },
                points,
                rule,
                now,
            ));
        }
    }
    out
}

/// What is being forecast, and within which bounds.
struct Subject {
    kind: ForecastKind,
    target: Target,
    detail: Option<String>,
    unit: &'static str,
    limit: f64,
    /// Points before this are another run (a restart) or another month: left out.
    since: Option<DateTime<Utc>>,
    /// The limit counts only if reached before this (a quota's month end).
    until: Option<DateTime<Utc>>,
}

fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

fn gauge(
    history: &History,
    stats: &ServerStats,
    name: &str,
    detail: &str,
    rule: &ForecastRule,
    now: DateTime<Utc>,
) -> Vec<Point> {
    let query = GaugeQuery {
        host: stats.server_name.clone(),
        name: name.to_owned(),
        detail: detail.to_owned(),
        since: now - delta(rule.window),
        until: now + TimeDelta::seconds(1),
        resolution: Resolution::Auto,
    };
    read(history.gauge(&query), &stats.server_name)
}

fn read(
    result: Result<crate::history::Series, crate::history::HistoryError>,
    what: &str,
) -> Vec<Point> {
    match result {
        Ok(series) => series.points,
        Err(err) => {
            tracing::debug!(%err, target = what, "no history to forecast from");
            Vec::new()
        }
    }
}

/// A host's or VPS's target, as its alerts name it.
fn server_target(stats: &ServerStats) -> Target {
    Target {
        kind: if stats.source_type == "webdock-vps" {
            TargetKind::Vps
        } else {
            TargetKind::Host
        },
        host: stats.server_name.clone(),
        id: stats.server_name.clone(),
        name: stats
            .vps
            .as_ref()
            .map(|vps| vps.name.clone())
            .unwrap_or_else(|| stats.server_name.clone()),
    }
}

/// The first instant of this month and of the next (UTC).
fn month_of(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let end = Utc
        .with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    (start, end)
}

/// Fits the points of one subject and follows the line to its limit.
fn project(
    subject: Subject,
    points: Vec<Point>,
    rule: &ForecastRule,
    now: DateTime<Utc>,
) -> Forecast {
    let relevant: Vec<(f64, f64)> = points
        .iter()
        .filter(|point| subject.since.is_none_or(|since| point.at >= since))
        .map(|point| {
            let t = point.at.signed_duration_since(now).num_milliseconds() as f64 / 1000.0;
            (t, point.avg)
        })
        .collect();
    let last = relevant.last().map_or(0.0, |(_, v)| *v);
    let span = match (relevant.first(), relevant.last()) {
        (Some(first), Some(last)) => last.0 - first.0,
        _ => 0.0,
    };
    let mut forecast = Forecast {
        kind: subject.kind,
        target: subject.target,
        detail: subject.detail,
        state: ForecastState::Learning,
        unit: subject.unit.to_owned(),
        current: last,
        limit: subject.limit,
        slope_per_hour: 0.0,
        quality: 0.0,
        reaches_at: None,
        hours_left: None,
        since: relevant
            .first()
            .map(|(t, _)| now + TimeDelta::milliseconds((t * 1000.0) as i64)),
        points: relevant.len() as u32,
        computed_at: now,
        summary: String::new(),
    };
    if last >= subject.limit * AT_LIMIT {
        forecast.state = ForecastState::AtLimit;
        forecast.hours_left = Some(0.0);
        forecast.reaches_at = Some(now);
        forecast.summary = match subject.kind {
            ForecastKind::Disk => "full".to_owned(),
            ForecastKind::Memory => "at its memory limit".to_owned(),
            ForecastKind::NetworkQuota => "the monthly quota is used up".to_owned(),
        };
        return forecast;
    }
    let line = (relevant.len() >= MIN_POINTS && span >= rule.min_data.as_secs_f64())
        .then(|| fit(&relevant))
        .flatten();
    let Some(line) = line else {
        forecast.summary = format!(
            "learning: needs {} of history{}",
            crate::util::format_duration(rule.min_data),
            if subject.kind == ForecastKind::Memory {
                " since the container started"
            } else {
                ""
            }
        );
        return forecast;
    };
    judge_line(&mut forecast, &line, rule, now, subject.until);
    forecast
}

fn judge_line(
    forecast: &mut Forecast,
    line: &Line,
    rule: &ForecastRule,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) {
    let per_hour = line.slope * 3600.0;
    forecast.slope_per_hour = per_hour;
    forecast.quality = line.quality;
    forecast.current = line.at(0.0);
    let rate = rate_text(per_hour, &forecast.unit);
    if per_hour <= 0.0 || !per_hour.is_finite() {
        forecast.state = ForecastState::Steady;
        forecast.summary = "not growing".to_owned();
        return;
    }
    if line.quality < rule.min_fit {
        forecast.state = ForecastState::Unsteady;
        forecast.summary = format!(
            "no steady trend (fit {:.2}, needs {:.2})",
            line.quality, rule.min_fit
        );
        return;
    }
    forecast.state = ForecastState::Rising;
    let hours = ((forecast.limit - forecast.current) / per_hour).max(0.0);
    let reaches = TimeDelta::try_milliseconds((hours * 3_600_000.0) as i64).map(|d| now + d);
    let within = reaches.filter(|at| until.is_none_or(|end| *at < end));
    forecast.reaches_at = within;
    forecast.hours_left = within.map(|_| hours);
    forecast.summary = match (forecast.kind, within) {
        (ForecastKind::Disk, Some(_)) => format!("full in {} (grows {rate})", format_hours(hours)),
        (ForecastKind::Memory, Some(_)) => {
            format!("grows {rate}, reaches its limit in {}", format_hours(hours))
        }
        (ForecastKind::NetworkQuota, Some(at)) => format!(
            "reaches the monthly quota on the {} (grows {rate})",
            ordinal(at.day())
        ),
        (ForecastKind::NetworkQuota, None) => {
            format!("grows {rate}, stays under the quota this month")
        }
        (_, None) => format!("grows {rate}, far from its limit"),
    };
}

/// "1.2 %/h", "0.3 %/day", "about 40 MB/h".
fn rate_text(per_hour: f64, unit: &str) -> String {
    if unit == "B" {
        let (value, suffix) = if per_hour.abs() >= 1e9 {
            (per_hour / 1e9, "GB")
        } else if per_hour.abs() >= 1e6 {
            (per_hour / 1e6, "MB")
        } else {
            (per_hour / 1e3, "kB")
        };
        return format!("about {value:.0} {suffix}/h");
    }
    if per_hour.abs() >= 0.1 {
        format!("{per_hour:.1} {unit}/h")
    } else {
        format!("{:.2} {unit}/day", per_hour * 24.0)
    }
}

/// "1st", "2nd", "24th".
fn ordinal(day: u32) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

#[cfg(test)]
mod tests;
