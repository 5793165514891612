//! Forecast and log-pattern alerts through the one state machine: hold, hysteresis on the projected time,
//! cooldown, acknowledgement, clearing when the trend turns or the logs go quiet.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::model::{Forecast, ForecastKind, ForecastState, LogMatch};

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml")).expect("valid config")
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn disk(hours_left: Option<f64>, state: ForecastState, seconds: i64) -> Forecast {
    Forecast {
        kind: ForecastKind::Disk,
        target: Target {
            kind: TargetKind::Host,
            host: "local".into(),
            id: "local".into(),
            name: "local".into(),
        },
        detail: Some("/data".into()),
        state,
        unit: "%".into(),
        current: 80.0,
        limit: 100.0,
        slope_per_hour: 0.5,
        quality: 0.98,
        reaches_at: None,
        hours_left,
        since: None,
        points: 100,
        computed_at: at(seconds),
        summary: match hours_left {
            Some(h) => format!("full in {h} h"),
            None => "not growing".into(),
        },
    }
}

/// Warning within 48 h, critical within 12 h, a 60 s hold, 10 % hysteresis.
fn evaluator() -> Evaluator {
    Evaluator::new(&config(
        "[alerts]\nhold = \"60s\"\ncooldown = \"15m\"\n\
         [forecasts.disk]\nwarning = \"48h\"\ncritical = \"12h\"\n",
    ))
}

#[test]
fn a_projection_within_the_horizon_is_raised_after_the_hold() {
    let mut evaluator = evaluator();
    let rising = |h, s| disk(Some(h), ForecastState::Rising, s);
    assert!(evaluator.forecasts(&[rising(30.0, 0)], at(0)).is_empty());
    let changes = evaluator.forecasts(&[rising(29.0, 60)], at(60));
    assert_eq!(changes.len(), 1, "{changes:?}");
    let alert = &changes[0].alert;
    assert_eq!(changes[0].kind, TransitionKind::Raised);
    assert_eq!(alert.level, Level::Warning);
    assert_eq!(alert.metric, metric::DISK_FULL_FORECAST);
    assert_eq!(alert.detail.as_deref(), Some("/data"));
    assert_eq!(alert.value, Some(29.0));
    assert!(
        alert.message.contains("Disk /data of local: full in 29 h"),
        "{}",
        alert.message
    );
    // Within the critical horizon for the hold: escalated.
    assert!(evaluator
        .forecasts(&[rising(11.0, 120)], at(120))
        .is_empty());
    let changes = evaluator.forecasts(&[rising(10.0, 180)], at(180));
    assert_eq!(changes[0].kind, TransitionKind::Escalated);
    assert_eq!(changes[0].alert.level, Level::Critical);
}

#[test]
fn hysteresis_is_on_the_projected_time_and_a_turned_trend_clears() {
    let mut evaluator = evaluator();
    let rising = |h, s| disk(Some(h), ForecastState::Rising, s);
    evaluator.forecasts(&[rising(40.0, 0)], at(0));
    assert_eq!(evaluator.forecasts(&[rising(40.0, 60)], at(60)).len(), 1);
    // 50 h is beyond 48 h but within 48 h + 10 %: still a warning.
    evaluator.forecasts(&[rising(50.0, 120)], at(120));
    assert!(evaluator
        .forecasts(&[rising(50.0, 240)], at(240))
        .is_empty());
    assert_eq!(evaluator.active().len(), 1);
    // The trend turns: no projection at all, held for the hold, clears.
    let turned = |s| disk(None, ForecastState::Steady, s);
    assert!(evaluator.forecasts(&[turned(300)], at(300)).is_empty());
    let changes = evaluator.forecasts(&[turned(360)], at(360));
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].kind, TransitionKind::Resolved);
    assert!(
        changes[0].alert.message.contains("trend turned"),
        "{}",
        changes[0].alert.message
    );
    assert_eq!(
        changes[0].alert.value,
        Some(50.0),
        "the last finite projection stays"
    );
}

#[test]
fn forecast_alerts_are_reminded_acknowledged_and_end_with_their_target() {
    let mut evaluator = evaluator();
    let rising = |h, s| disk(Some(h), ForecastState::Rising, s);
    evaluator.forecasts(&[rising(20.0, 0)], at(0));
    let raised = evaluator.forecasts(&[rising(20.0, 60)], at(60));
    let id = raised[0].alert.id;
    let reminders = evaluator.tick(at(60 + 15 * 60));
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].kind, TransitionKind::Reminder);
    let ack = evaluator.acknowledge(id, at(2000)).expect("acknowledged");
    assert!(ack.alert.acknowledged);
    // The disk is no longer watched: a round without it ends its alert.
    let changes = evaluator.forecasts(&[], at(2100));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, TransitionKind::Resolved);
    assert!(evaluator.active().is_empty());
}

#[test]
fn flat_and_learning_forecasts_never_raise() {
    let mut evaluator = evaluator();
    for second in (0..3600).step_by(60) {
        let flat = disk(None, ForecastState::Steady, second);
        let learning = Forecast {
            state: ForecastState::Learning,
            detail: Some("/".into()),
            ..disk(None, ForecastState::Learning, second)
        };
        assert!(evaluator
            .forecasts(&[flat, learning], at(second))
            .is_empty());
    }
}

fn matches(count: u32, last_match: Option<i64>, seconds: i64) -> LogMatch {
    LogMatch {
        target: Target {
            kind: TargetKind::Container,
            host: "local".into(),
            id: "abc".into(),
            name: "web".into(),
        },
        rule: "errors".into(),
        pattern: "ERROR".into(),
        count,
        needed: 10,
        window: Duration::from_secs(60),
        level: Level::Critical,
        clear_after: Duration::from_secs(30),
        last_match: last_match.map(at),
        lines: (0..count).map(|i| format!("ERROR {i}")).collect(),
        at: at(seconds),
    }
}

#[test]
fn ten_matches_raise_one_alert_that_quiet_clears() {
    let mut evaluator = Evaluator::new(&config(""));
    assert!(evaluator.log_matches(&[matches(9, Some(0), 0)]).is_empty());
    let raised = evaluator.log_matches(&[matches(10, Some(1), 1)]);
    assert_eq!(raised.len(), 1);
    let alert = &raised[0].alert;
    assert_eq!(alert.level, Level::Critical);
    assert_eq!(alert.metric, metric::LOG_PATTERN);
    assert_eq!(alert.lines.len(), logs::ALERT_LINES);
    assert_eq!(alert.lines.last().map(String::as_str), Some("ERROR 9"));
    // More matches: one alert, its lines follow.
    assert!(evaluator.log_matches(&[matches(14, Some(5), 5)]).is_empty());
    assert_eq!(evaluator.active().len(), 1);
    assert_eq!(
        evaluator.active()[0].lines.last().map(String::as_str),
        Some("ERROR 13")
    );
    // Not yet quiet for 30 s, then quiet.
    assert!(evaluator
        .log_matches(&[matches(14, Some(5), 30)])
        .is_empty());
    let cleared = evaluator.log_matches(&[matches(0, Some(5), 35)]);
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].kind, TransitionKind::Resolved);
    assert!(
        cleared[0].alert.message.contains("no line matched"),
        "{}",
        cleared[0].alert.message
    );
}
