//! Docktray's engine: watches Docker containers, hosts and Webdock VPS servers, keeps the live state, judges it
//! and hands it to whoever shows or stores it (the desktop shell, the `docktray` CLI). No UI dependency; runs
//! headless. The folders tell how data flows (docs/architecture.md):
//!
//! ```text
//! sources ──observations──▶ engine (the one writer of the live state) ──updates──▶ alerts
//!                                        │
//!                                        ▼
//!                                      sinks (notifications, tray model, history recording)
//! ```
//!
//! - [`model`]: the shared vocabulary (observations, state, updates, alerts); depends on nothing else.
//! - [`config`]: the settings, their validation and the comment-keeping file writer.
//! - [`sources`]: Docker engines (local and over SSH), hosts, Webdock accounts: they observe and report.
//! - [`engine`]: applies observations to the live state, computes rates, runs the alert evaluator, publishes.
//! - [`alerts`]: the judging (thresholds, hold, hysteresis, event rules, the overall level).
//! - [`sinks`]: what consumes updates: desktop notifications, history recording, the tray's model.
//! - [`history`]: the SQLite store and its queries.
//! - [`monitor`]: wires sources, engine and sinks together for the desktop app and `docktray watch`.
//! - [`logfile`]: diagnostics on standard error and an optional rotated log file, for the faces.

pub mod alerts;
pub mod config;
pub mod desk;
pub mod engine;
pub mod error;
pub mod history;
pub mod keychain;
pub mod logfile;
pub mod model;
pub mod monitor;
pub mod sinks;
pub mod sources;
pub mod util;

pub use config::Config;
pub use engine::Engine;
pub use error::{ConfigError, Error};
pub use model::{
    Action, ContainerEvent, ContainerInfo, ContainerSnapshot, ContainerState, ContainerStats,
    Health, ServerStats, Snapshot, SourceState, SourceStatus, Update,
};
