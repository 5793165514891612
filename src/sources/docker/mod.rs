//! A Docker engine as a source: the client ([`client`]), the collector loop ([`collector`]) with its sweeps
//! ([`cgroup`] files for a local engine, [`api_stats`] otherwise, [`remote`] batched reads over SSH), and the
//! shared log streams ([`logs`]).

pub mod api_stats;
pub mod cgroup;
mod client;
pub mod collector;
mod formula;
pub mod logs;
mod remote;
mod session;

pub use client::*;
pub use collector::{DockerSource, Target};
pub use logs::LogHub;
pub use session::SessionSettings;
