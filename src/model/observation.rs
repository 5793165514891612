//! What sources report to the engine. Sources observe and report, nothing else: the engine alone turns
//! observations into the live state (computing rates from counters) and publishes [`super::Update`]s.

use std::collections::BTreeSet;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{
    ContainerEvent, ContainerInfo, DockerDiskUsage, SampleMethod, ServerStats, SourceStatus,
};

/// One thing a source saw. A sweep of any number of containers is one [`Observation::Counters`].
#[derive(Debug, Clone)]
pub enum Observation {
    /// A source's reachability changed (connecting, up, degraded, unreachable), with its error history.
    Source(SourceStatus),
    /// A full listing of one engine: the host's containers become exactly these (any other is gone).
    Containers {
        host: String,
        containers: Vec<ContainerInfo>,
    },
    /// One container appeared or changed. `new_run`: it started, restarted or died, so its rates start again
    /// from a fresh baseline (a new run has new cgroup counters).
    Container {
        info: Box<ContainerInfo>,
        new_run: bool,
    },
    /// A container was destroyed (or vanished between a listing and its inspection).
    ContainerGone { host: String, id: String },
    /// One sweep's cumulative counters of an engine's running containers.
    Counters {
        host: String,
        samples: Vec<CounterSample>,
    },
    /// A host's engine connection ended: its containers keep their description but lose their figures.
    EngineLost { host: String },
    /// A host's or a VPS's figures, in the normalised server-stats form.
    Server(Box<ServerStats>),
    /// One round of a Webdock account: its servers not in `seen` are no longer watched and leave the views.
    VpsRound {
        account: String,
        seen: BTreeSet<String>,
    },
    /// A Docker event about a container, reported after the container's own observation.
    Event(ContainerEvent),
    /// Engine events for the timeline (containers, images, volumes, networks): each live one as it comes, and
    /// after a (re)connection those the engine kept from while nobody watched (`backfill`: they change no state
    /// and raise no alert, and the history ignores any it already has).
    Timeline {
        events: Vec<super::EngineEvent>,
        backfill: bool,
    },
    /// A source delivered its first complete round (or gave up trying).
    Ready(ReadyPart),
    /// Docker's disk usage on a host (`docker system df`), measured every few minutes and after removals.
    DiskUsage(Box<DockerDiskUsage>),
    /// The reverse-proxy sink's routes after its last pass (its reachability comes as a [`Observation::Source`]).
    Proxy(Box<super::ProxyStatus>),
    /// One round of the forecaster: every forecast it could fit now (a target missing from it has none).
    Forecasts(Vec<super::Forecast>),
    /// The log watcher's counts of `[[log_alerts]]` matches, for rules that matched lately.
    LogMatches(Vec<super::LogMatch>),
    /// A notification channel's delivery state after an attempt (sinks report their own reachability).
    Channel(Box<super::ChannelStatus>),
}

/// The sources [`crate::Engine::ready`] waits for (remote hosts are judged from their state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyPart {
    /// The local Docker engine: its first sweep, or its first failure.
    Docker,
    /// The local machine's figures.
    Host,
    /// One Webdock account's first round.
    Webdock,
}

/// One container's counters in a sweep, and how they were read.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSample {
    pub id: String,
    pub counters: RawCounters,
    pub method: SampleMethod,
}

/// Cumulative counters of one container at one instant; two of them make a [`super::ContainerStats`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawCounters {
    pub at: Instant,
    /// Container CPU time, nanoseconds.
    pub cpu_total_ns: u64,
    /// Host CPU time (all cores, as `/proc/stat` counts it), nanoseconds.
    pub system_ns: u64,
    pub online_cpus: u32,
    /// Memory as `docker stats` counts it (usage minus inactive file cache).
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub block_read_bytes: u64,
    pub block_write_bytes: u64,
    pub pids: u64,
}

/// How a source hands its observations to the engine. Sending waits when the engine is behind (the queue is
/// bounded); once the engine has stopped, observations are dropped. Anything that observes the outside world
/// reports through one (a sink that also watches its own target, such as a reverse proxy, gets one from
/// [`crate::Engine::reporter`]).
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
