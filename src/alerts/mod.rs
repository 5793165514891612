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
