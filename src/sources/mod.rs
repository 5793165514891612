//! Sources observe and report, nothing else: each runs as its own task, reads one kind of thing and sends
//! [`Observation`]s to the engine through a [`Reporter`]. They never write the live state and never call a sink.
//!
//! - [`docker`]: a Docker engine (local, or a remote one through [`ssh`]): containers, events, counters, logs.
//! - [`host`]: a machine's own figures (this one through sysinfo, a remote one from `/proc` over SSH).
//! - [`logwatch`]: `[[log_alerts]]` patterns counted on the shared log streams of [`docker`].
//! - [`ssh`]: connections to remote hosts and their management (check, trust, keys, discovery).
//! - [`webdock`]: Webdock VPS servers through the Webdock API.

pub mod docker;
pub mod host;
pub mod logwatch;
pub mod ssh;
pub mod webdock;

pub use crate::model::Reporter;
