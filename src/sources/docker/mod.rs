//! A Docker engine as a source: the client ([`client`]), the collector loop ([`collector`]) with its sweeps
//! ([`cgroup`] files for a local engine, [`api_stats`] otherwise, [`remote`] batched reads over SSH), and the
//! shared log streams ([`logs`]); Podman's differences behind the same API in [`podman`] and [`formula`].

pub mod api_stats;
pub mod cgroup;
mod client;
pub mod collector;
pub mod formula;
pub mod logs;
pub mod podman;
mod remote;
mod session;

pub use client::*;
pub use collector::{DockerSource, Target};
pub use logs::LogHub;
pub use session::SessionSettings;
