//! Docktray's engine: collects Docker container and host metrics, keeps the live state, and hands it to
//! subscribers (the desktop shell, the `docktray` CLI). It has no UI dependency and runs headless.
//!
//! The public surface is small on purpose:
//! - [`Config`] loads and validates the TOML configuration;
//! - [`Engine`] runs the collectors and gives [`Snapshot`]s, pushed [`Update`]s, logs and container actions.

pub mod alerts;
pub mod config;
pub mod config_file;
pub mod docker;
pub mod engine;
pub mod error;
pub mod history;
pub mod host;
pub mod logs;
pub mod model;
pub mod monitor;
pub mod notify;
mod recorder;
pub mod ssh;
pub mod stats;
pub mod tray;
pub mod util;
pub mod webdock;

pub use config::Config;
pub use engine::{Engine, Update};
pub use error::{ConfigError, Error};
pub use model::{
    Action, ContainerEvent, ContainerInfo, ContainerSnapshot, ContainerState, ContainerStats,
    Health, ServerStats, Snapshot, SourceState, SourceStatus,
};
