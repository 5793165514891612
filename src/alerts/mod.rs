//! Alerts: decides when something is wrong from samples and events, without flapping, and describes each
//! change as an [`AlertTransition`] that the tray, the notifier, the window, the history and the CLI all share.
//! The engine feeds every update it publishes through the [`Evaluator`] and publishes what comes out.
//!
//! - [`rules`] resolves the thresholds that apply to one target (defaults, per-container and per-host overrides);
//! - [`evaluator`] is the pure state machine (hold durations, hysteresis, cooldown, event alerts);
//! - [`overall`] folds the active alerts and source states into the one level the tray shows;
//! - [`labels`] names metrics and values for people.
//!
//! The types (levels, targets, alerts, transitions) are the shared vocabulary in [`crate::model::alert`], re-exported
//! here.

pub mod evaluator;
pub mod labels;
pub mod overall;
pub mod rules;

pub use crate::model::alert::{
    metric, Alert, AlertTransition, Level, OverallLevel, Target, TargetKind, TransitionKind,
};
pub use evaluator::Evaluator;
pub use overall::overall_level;

/// Recorded and live alerts, newest first; the live copy of an alert wins (it has the latest level and
/// acknowledgement, the history may lag by a batch). Live alerts are active now, so they match any `since`. What
/// the window's Alerts view lists, from the desktop and over the API alike.
pub fn merge_alerts(recorded: Vec<Alert>, live: Vec<Alert>, level: Option<Level>) -> Vec<Alert> {
    let live: Vec<Alert> = live
        .into_iter()
        .filter(|alert| alert.is_active() && level.is_none_or(|wanted| alert.level >= wanted))
        .collect();
    let mut merged: Vec<Alert> = recorded
        .into_iter()
        .filter(|alert| !live.iter().any(|l| l.id == alert.id))
        .collect();
    merged.extend(live);
    merged.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    merged
}
