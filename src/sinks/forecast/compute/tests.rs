//! Forecasts on made-up series: a steady rise is projected, a flat or scattered series never is, a restart
//! starts the fit again, a quota counts only within its month.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use crate::config::ForecastSettings;

fn rule() -> ForecastRule {
    ForecastRule {
        window: Duration::from_secs(3600),
        min_data: Duration::from_secs(600),
        ..ForecastSettings::default().memory
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

/// One point a minute over the last `minutes`, valued by `value(minutes before now)`.
fn points(minutes: i64, value: impl Fn(i64) -> f64) -> Vec<Point> {
    (0..=minutes)
        .rev()
        .map(|ago| {
            let v = value(ago);
            Point {
                at: now() - TimeDelta::minutes(ago),
                min: v,
                avg: v,
                max: v,
            }
        })
        .collect()
}

fn subject(kind: ForecastKind, limit: f64) -> Subject {
    Subject {
        kind,
        target: Target {
            kind: TargetKind::Container,
            host: "local".into(),
            id: "abc".into(),
            name: "db".into(),
        },
        detail: None,
        unit: if kind == ForecastKind::Memory {
            "B"
        } else {
            "%"
        },
        limit,
        since: None,
        until: None,
    }
}

#[test]
fn a_steady_leak_is_projected_to_its_limit() {
    // 1 MB a minute from 100 MB, limit 400 MB: 240 minutes left.
    let mb = 1e6;
    let series = points(60, |ago| 160.0 * mb - ago as f64 * mb);
    let forecast = project(
        subject(ForecastKind::Memory, 400.0 * mb),
        series,
        &rule(),
        now(),
    );
    assert_eq!(forecast.state, ForecastState::Rising, "{forecast:?}");
    let hours = forecast.hours_left.expect("a projection");
    assert!((hours - 4.0).abs() < 0.01, "{forecast:?}");
    assert!(forecast.summary.contains("60 MB/h"), "{}", forecast.summary);
    assert!(forecast.summary.contains("4 h"), "{}", forecast.summary);
}

#[test]
fn a_flat_or_scattered_series_is_never_projected() {
    let flat = project(
        subject(ForecastKind::Disk, 100.0),
        points(60, |_| 42.0),
        &rule(),
        now(),
    );
    assert_eq!(flat.state, ForecastState::Steady, "{flat:?}");
    assert_eq!(flat.hours_left, None);
    let wobble = project(
        subject(ForecastKind::Disk, 100.0),
        points(60, |ago| 42.0 + ((ago as f64) * 1.7).sin() * 2.0),
        &rule(),
        now(),
    );
    assert_ne!(wobble.state, ForecastState::Rising, "{wobble:?}");
    assert_eq!(wobble.hours_left, None);
}

#[test]
fn a_restart_starts_the_fit_again() {
    let mb = 1e6;
    let restart = |series: Vec<Point>| {
        let mut restarted = subject(ForecastKind::Memory, 400.0 * mb);
        restarted.since = Some(now() - TimeDelta::minutes(20));
        project(restarted, series, &rule(), now())
    };
    // Flat at 50 MB in the old run, flat at 200 MB since the restart 20 minutes ago: no trend.
    let jump = points(60, |ago| if ago > 20 { 50.0 * mb } else { 200.0 * mb });
    let forecast = restart(jump);
    assert_eq!(forecast.state, ForecastState::Steady, "{forecast:?}");
    // The old run leaked up to 300 MB; the new one leaks 1 MB a minute from 60 MB: only the new run counts.
    let leak = points(60, |ago| {
        if ago > 20 {
            300.0 * mb - (ago - 21) as f64 * 3.0 * mb
        } else {
            (80.0 - ago as f64) * mb
        }
    });
    let forecast = restart(leak.clone());
    assert_eq!(forecast.state, ForecastState::Rising, "{forecast:?}");
    let hours = forecast.hours_left.expect("a projection");
    assert!((hours - 320.0 / 60.0).abs() < 0.05, "{forecast:?}");
    let across = project(
        subject(ForecastKind::Memory, 400.0 * mb),
        leak,
        &rule(),
        now(),
    );
    assert!(
        across
            .hours_left
            .is_none_or(|h| (h - 320.0 / 60.0).abs() > 0.5),
        "across the restart the drop hides the new run's leak: {across:?}"
    );
}

#[test]
fn too_little_history_is_learning() {
    let forecast = project(
        subject(ForecastKind::Disk, 100.0),
        points(5, |ago| 90.0 - ago as f64),
        &rule(),
        now(),
    );
    assert_eq!(forecast.state, ForecastState::Learning, "{forecast:?}");
    assert!(forecast.summary.contains("10m"), "{}", forecast.summary);
}

#[test]
fn a_quota_counts_only_within_its_month() {
    let (start, end) = month_of(now());
    assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    let mut quota = subject(ForecastKind::NetworkQuota, 100.0);
    quota.until = Some(end);
    // 0.1 % a minute from 60 %: 400 minutes left, on the 20th.
    let forecast = project(
        quota,
        points(60, |ago| 60.0 - ago as f64 * 0.1),
        &rule(),
        now(),
    );
    assert_eq!(forecast.state, ForecastState::Rising);
    assert!(
        forecast.summary.contains("on the 20th"),
        "{}",
        forecast.summary
    );
    let mut slow = subject(ForecastKind::NetworkQuota, 100.0);
    slow.until = Some(end);
    // 0.001 % a minute: months away, past the reset.
    let forecast = project(
        slow,
        points(60, |ago| 10.0 - ago as f64 * 0.001),
        &rule(),
        now(),
    );
    assert_eq!(forecast.hours_left, None, "{forecast:?}");
    assert!(
        forecast.summary.contains("stays under"),
        "{}",
        forecast.summary
    );
}

#[test]
fn ordinals_and_rates_read_well() {
    assert_eq!(ordinal(1), "1st");
    assert_eq!(ordinal(12), "12th");
    assert_eq!(ordinal(23), "23rd");
    assert_eq!(rate_text(40e6, "B"), "about 40 MB/h");
    assert_eq!(rate_text(0.01, "%"), "0.24 %/day");
}
