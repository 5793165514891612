//! The engine: owns the live state, runs the collectors on tokio, and hands out snapshots and pushed updates.
//! Data flows one way: sources write into the state and publish an [`Update`]; subscribers read.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::docker::{self, Client};
use crate::error::{Error, Result};
use crate::host;
use crate::logs::LogHub;
use crate::model::{
    Action, ContainerEvent, ContainerInfo, ContainerSnapshot, ContainerStats, ServerStats,
    Snapshot, SourceStatus,
};
use crate::stats::RawCounters;

/// The name the local machine and its engine go by in every view.
pub const LOCAL_HOST: &str = "local";

/// A change pushed to subscribers. Stats come once per sweep, not once per container.
#[derive(Debug, Clone)]
pub enum Update {
    Source(SourceStatus),
    ContainerChanged(Box<ContainerInfo>),
    ContainerRemoved {
        host: String,
        id: String,
    },
    Stats {
        host: String,
        containers: Vec<(String, ContainerStats)>,
    },
    Host(Box<ServerStats>),
    Event(ContainerEvent),
    /// An alert changed (raised, escalated, resolved ...): what the tray, notifier, window and CLI react to.
    Alert(Box<crate::alerts::AlertTransition>),
}

/// One container's entry in the live state.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub info: ContainerInfo,
    pub stats: Option<ContainerStats>,
    /// Counters of the previous sample, kept to compute CPU and rates.
    pub previous: Option<RawCounters>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Keyed by `name/kind`: a host and its engine share the host's name.
    pub sources: BTreeMap<String, SourceStatus>,
    /// Keyed by container id.
    pub containers: HashMap<String, Entry>,
    pub hosts: BTreeMap<String, ServerStats>,
}

/// Which sources have delivered their first complete sample (or given up trying).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub docker: bool,
    pub host: bool,
}

/// State shared by the collectors and the engine handle.
pub(crate) struct Shared {
    pub config: Config,
    state: RwLock<State>,
    pub updates: broadcast::Sender<Update>,
    pub readiness: watch::Sender<Readiness>,
    /// The current engine connection; `None` while unreachable. Actions and logs use it.
    pub client: watch::Sender<Option<Client>>,
}

impl Shared {
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes an update; having no subscriber is normal.
    pub fn publish(&self, update: Update) {
        let _ = self.updates.send(update);
    }

    pub fn set_source(&self, status: SourceStatus) {
        let key = format!("{}/{}", status.name, status.kind);
        self.write().sources.insert(key, status.clone());
        self.publish(Update::Source(status));
    }

    pub fn mark_ready(&self, change: impl FnOnce(&mut Readiness)) {
        self.readiness.send_if_modified(|readiness| {
            let before = *readiness;
            change(readiness);
            before != *readiness
        });
    }
}

/// A running engine. Dropping it stops the collectors; call [`Engine::shutdown`] to wait for them.
pub struct Engine {
    shared: Arc<Shared>,
    logs: LogHub,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Starts the collectors in the background. Must be called inside a tokio runtime.
    pub fn start(config: Config) -> Self {
        let (updates, _) = broadcast::channel(1024);
        let (readiness, _) = watch::channel(Readiness::default());
        let (client, client_rx) = watch::channel(None);
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: RwLock::new(State::default()),
            updates,
            readiness,
            client,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let logs = LogHub::new(client_rx, config.logs.ring_lines);
        let tasks = vec![
            tokio::spawn(docker::source::run(
                shared.clone(),
                logs.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(host::run(shared.clone(), shutdown_rx)),
        ];
        if !config.hosts.is_empty() {
            tracing::warn!(
                hosts = config.hosts.len(),
                "remote SSH hosts are configured but not watched yet by this version"
            );
        }
        Self {
            shared,
            logs,
            shutdown,
            tasks,
        }
    }

    /// Waits until every source has delivered a first full sample (or reported itself unreachable), at most
    /// `timeout`. Returns whether everything was ready in time.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let mut readiness = self.shared.readiness.subscribe();
        tokio::time::timeout(timeout, readiness.wait_for(|r| r.docker && r.host))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// Everything known right now, containers sorted by host, compose project and name.
    pub fn snapshot(&self) -> Snapshot {
        let now = Utc::now();
        let state = self.shared.read();
        let mut containers: Vec<ContainerSnapshot> = state
            .containers
            .values()
            .map(|entry| {
                let mut info = entry.info.clone();
                info.status = docker::status_text(&info, now);
                ContainerSnapshot {
                    info,
                    stats: entry.stats.clone(),
                }
            })
            .collect();
        containers.sort_by(|a, b| {
            (&a.info.host, &a.info.compose_project, &a.info.name).cmp(&(
                &b.info.host,
                &b.info.compose_project,
                &b.info.name,
            ))
        });
        Snapshot {
            taken_at: now,
            sources: state.sources.values().cloned().collect(),
            hosts: state.hosts.values().cloned().collect(),
            containers,
        }
    }

    /// Pushed changes. A slow subscriber that falls behind gets `RecvError::Lagged` and should take a snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.shared.updates.subscribe()
    }

    /// Shared log streams (one Docker stream per container, however many subscribers).
    pub fn logs(&self) -> &LogHub {
        &self.logs
    }

    /// Starts, stops, restarts, pauses or unpauses a container given by name, id or id prefix.
    pub async fn act(&self, container: &str, action: Action) -> Result<()> {
        let client = self.client()?;
        let id = self
            .snapshot()
            .find_container(container)
            .map(|c| c.info.id.clone())
            .unwrap_or_else(|| container.to_owned());
        client.act(&id, action).await
    }

    /// The current engine connection, or why there is none.
    pub fn client(&self) -> Result<Client> {
        if let Some(client) = self.shared.client.borrow().clone() {
            return Ok(client);
        }
        let state = self.shared.read();
        let source = state.sources.get(&format!("{LOCAL_HOST}/docker"));
        Err(Error::DockerUnreachable {
            endpoint: source
                .map(|s| s.endpoint.clone())
                .unwrap_or_else(|| self.shared.config.docker_endpoint()),
            reason: source
                .and_then(|s| s.reason.clone())
                .unwrap_or_else(|| "still connecting".to_owned()),
        })
    }

    /// Stops every collector and waits for them to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.logs.close();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
