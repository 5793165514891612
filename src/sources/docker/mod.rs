//! A Docker engine as a source: the client ([`client`]), the collector loop ([`collector`]) with its sweeps
//! ([`cgroup`] files for a local engine, [`api_stats`] otherwise, [`remote`] batched reads over SSH), and the
//! shared log streams ([`logs`]); Podman's differences behind the same API in [`podman`] and [`formula`]; the
//! workbench: [`exec`] into containers, images, volumes and networks (`workbench`), disk usage (`disk`) and
//! compose [`stack`] actions.

pub mod api_stats;
mod baseline;
pub mod cgroup;
mod client;
pub mod collector;
pub mod descriptors;
mod disk;
mod events;
pub mod exec;
pub mod formula;
pub mod logs;
pub mod podman;
mod raw;
mod remote;
mod session;
pub mod stack;
mod workbench;

pub use client::*;
pub use collector::{DockerSource, Target};
pub use exec::{Exec, ExecChunk, ExecHandle, ExecInput, ExecOptions, ExecOutput, TermSize};
pub use logs::LogHub;
pub use session::{SessionSettings, DISK_USAGE_EVERY, DISK_USAGE_FIRST};
