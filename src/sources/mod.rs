//! Sources observe and report, nothing else: each runs as its own task, reads one kind of thing and sends
//! [`Observation`]s to the engine through a [`Reporter`]. They never write the live state and never call a sink.
//!
//! - [`docker`]: a Docker engine (local, or a remote one through [`ssh`]): containers, events, counters, logs.
//! - [`host`]: a machine's own figures (this one through sysinfo, a remote one from `/proc` over SSH).
//! - [`ssh`]: connections to remote hosts and their management (check, trust, keys, discovery).
//! - [`webdock`]: Webdock VPS servers through the Webdock API.

pub mod docker;
pub mod host;
pub mod ssh;
pub mod webdock;

use tokio::sync::mpsc;

use crate::model::Observation;

/// How a source hands its observations to the engine. Sending waits when the engine is behind (the queue is
/// bounded); once the engine has stopped, observations are dropped.
#[derive(Debug, Clone)]
pub struct Reporter {
    sender: mpsc::Sender<Observation>,
}

impl Reporter {
    pub fn new(sender: mpsc::Sender<Observation>) -> Self {
        Self { sender }
    }

    pub async fn report(&self, observation: Observation) {
        // The only error is a closed channel: the engine is shutting down and nobody needs it any more.
        let _ = self.sender.send(observation).await;
    }
}
