//! The engine: owns the live state, runs the collectors on tokio, and hands out snapshots and pushed updates.
//! Data flows one way: sources write into the state and publish an [`Update`]; subscribers read.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use crate::alerts::task::Command;
use crate::alerts::{overall_level, Alert, OverallLevel};
use crate::config::Config;
use crate::docker::{self, Client};
use crate::error::{Error, Result};
use crate::host;
use crate::logs::LogHub;
use crate::model::{
    Action, ContainerEvent, ContainerInfo, ContainerSnapshot, ContainerStats, ServerStats,
    Snapshot, SourceState, SourceStatus,
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
    /// Active alerts (warning or critical), oldest first.
    pub alerts: Vec<Alert>,
}

/// Which sources have delivered their first complete sample (or given up trying).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub docker: bool,
    pub host: bool,
    /// Webdock accounts still before their first round.
    pub webdock_waiting: usize,
}

/// State shared by the collectors and the engine handle.
pub(crate) struct Shared {
    pub config: Config,
    state: RwLock<State>,
    pub updates: broadcast::Sender<Update>,
    pub readiness: watch::Sender<Readiness>,
    /// Each host's current engine connection (`None` while unreachable), by host name. Actions and logs use it.
    pub clients: BTreeMap<String, watch::Sender<Option<Client>>>,
    /// Wakes a host's retry wait at once ("retry now").
    pub retry: BTreeMap<String, Arc<Notify>>,
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

    /// Sets (or clears) a host's engine connection.
    pub fn set_client(&self, host: &str, client: Option<Client>) {
        if let Some(sender) = self.clients.get(host) {
            // send_replace: `send` drops the value when nobody subscribed yet, and `client_for` reads it later.
            sender.send_replace(client);
        }
    }

    /// The host a container runs on (the local one when it is not known yet).
    pub fn host_of(&self, container: &str) -> String {
        self.read()
            .containers
            .get(container)
            .map_or_else(|| LOCAL_HOST.to_owned(), |entry| entry.info.host.clone())
    }

    pub fn mark_ready(&self, change: impl FnOnce(&mut Readiness)) {
        self.readiness.send_if_modified(|readiness| {
            let before = *readiness;
            change(readiness);
            before != *readiness
        });
    }
}

/// Routes a container's log stream to the client of the host it runs on.
struct HostClients(Arc<Shared>);

impl crate::logs::ClientLookup for HostClients {
    fn client_for(&self, container: &str) -> watch::Receiver<Option<Client>> {
        let host = self.0.host_of(container);
        match self.0.clients.get(&host) {
            Some(sender) => sender.subscribe(),
            // A host that is not watched: a receiver that never gets a client.
            None => watch::channel(None).1,
        }
    }
}

/// A running engine. Dropping it stops the collectors; call [`Engine::shutdown`] to wait for them.
pub struct Engine {
    shared: Arc<Shared>,
    logs: LogHub,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    alert_commands: mpsc::Sender<Command>,
}

impl Engine {
    /// Starts the collectors in the background. Must be called inside a tokio runtime.
    pub fn start(config: Config) -> Self {
        let (updates, _) = broadcast::channel(1024);
        let (readiness, _) = watch::channel(Readiness {
            webdock_waiting: config.webdock.len(),
            ..Readiness::default()
        });
        let names = std::iter::once(LOCAL_HOST.to_owned())
            .chain(config.hosts.iter().map(|host| host.name.clone()));
        let clients = names
            .clone()
            .map(|name| (name, watch::channel(None).0))
            .collect();
        let retry = names.map(|name| (name, Arc::new(Notify::new()))).collect();
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: RwLock::new(State::default()),
            updates,
            readiness,
            clients,
            retry,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let logs = LogHub::new(HostClients(shared.clone()), config.logs.ring_lines);
        let (alert_commands, commands_rx) = mpsc::channel(16);
        // Subscribed before any source starts, so the alert task sees every update from the first one.
        let alert_updates = shared.updates.subscribe();
        let mut tasks = vec![
            tokio::spawn(crate::alerts::task::run(
                shared.clone(),
                alert_updates,
                commands_rx,
                shutdown_rx.clone(),
            )),
            tokio::spawn(docker::source::run(
                shared.clone(),
                logs.clone(),
                docker::source::Target::Local {
                    endpoint: config.docker_endpoint(),
                },
                shutdown_rx.clone(),
            )),
            tokio::spawn(host::run(shared.clone(), shutdown_rx.clone())),
        ];
        for account in &config.webdock {
            tasks.push(tokio::spawn(crate::webdock::source::run(
                shared.clone(),
                account.clone(),
                shutdown_rx.clone(),
            )));
        }
        // One session per remote host, each with its own SSH master, client, backoff and error record.
        for remote in &config.hosts {
            tasks.push(tokio::spawn(docker::source::run(
                shared.clone(),
                logs.clone(),
                docker::source::Target::Ssh(remote.clone()),
                shutdown_rx.clone(),
            )));
        }
        Self {
            shared,
            logs,
            shutdown,
            tasks,
            alert_commands,
        }
    }

    /// Waits until every source has delivered a first full sample (or reported itself unreachable), at most
    /// `timeout`: the local engine and host, and each remote host (up with its figures, or failed). Returns
    /// whether everything was ready in time.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut updates = self.shared.updates.subscribe();
        let mut readiness = self.shared.readiness.subscribe();
        let local = tokio::time::timeout_at(
            deadline,
            readiness.wait_for(|r| r.docker && r.host && r.webdock_waiting == 0),
        )
        .await
        .is_ok_and(|result| result.is_ok());
        if !local {
            return false;
        }
        loop {
            if self.remotes_settled() {
                return true;
            }
            match tokio::time::timeout_at(deadline, updates.recv()).await {
                Err(_) => return false,
                Ok(Err(broadcast::error::RecvError::Closed)) => return false,
                Ok(_) => {}
            }
        }
    }

    /// Whether every remote host has either failed once or is up with its first figures.
    fn remotes_settled(&self) -> bool {
        let state = self.shared.read();
        self.shared.config.hosts.iter().all(|host| {
            match state.sources.get(&format!("{}/docker", host.name)) {
                Some(source) => match source.state {
                    SourceState::Connecting => false,
                    SourceState::Unreachable => true,
                    SourceState::Up | SourceState::Degraded => state.hosts.contains_key(&host.name),
                },
                None => false,
            }
        })
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
        let sources: Vec<SourceStatus> = state.sources.values().cloned().collect();
        Snapshot {
            taken_at: now,
            overall: overall_level(&state.alerts, &sources),
            alerts: state.alerts.clone(),
            sources,
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

    /// The container's id and the client of the host it runs on (by name, id or id prefix; an unknown
    /// container goes to the local engine, which says whether it exists).
    fn route(&self, container: &str) -> Result<(String, Client)> {
        let (id, host) = self
            .snapshot()
            .find_container(container)
            .map(|c| (c.info.id.clone(), c.info.host.clone()))
            .unwrap_or_else(|| (container.to_owned(), LOCAL_HOST.to_owned()));
        Ok((id, self.client_for(&host)?))
    }

    /// Starts, stops, restarts, pauses or unpauses a container given by name, id or id prefix, on whichever
    /// host it runs.
    pub async fn act(&self, container: &str, action: Action) -> Result<()> {
        let (id, client) = self.route(container)?;
        client.act(&id, action).await
    }

    /// The detail view of one container (by name, id or id prefix).
    pub async fn container_detail(&self, container: &str) -> Result<crate::model::ContainerDetail> {
        let (id, client) = self.route(container)?;
        client.detail(&id).await
    }

    /// The local engine connection, or why there is none.
    pub fn client(&self) -> Result<Client> {
        self.client_for(LOCAL_HOST)
    }

    /// A host's engine connection, or why there is none.
    pub fn client_for(&self, host: &str) -> Result<Client> {
        if let Some(client) = self
            .shared
            .clients
            .get(host)
            .and_then(|sender| sender.borrow().clone())
        {
            return Ok(client);
        }
        let state = self.shared.read();
        let source = state.sources.get(&format!("{host}/docker"));
        Err(Error::DockerUnreachable {
            endpoint: source
                .map(|s| s.endpoint.clone())
                .unwrap_or_else(|| self.shared.config.docker_endpoint()),
            reason: source.and_then(|s| s.reason.clone()).unwrap_or_else(|| {
                if self.shared.clients.contains_key(host) {
                    "still connecting".to_owned()
                } else {
                    format!("no host named {host} is configured (see `docktray hosts`)")
                }
            }),
        })
    }

    /// Ends a host's backoff wait and tries to connect now. Returns false for a host that is not watched.
    pub fn retry_now(&self, host: &str) -> bool {
        match self.shared.retry.get(host) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }

    /// Records samples and alert changes into `history` from now on (the desktop app and `docktray watch`).
    pub fn record_into(&mut self, history: Arc<crate::history::History>) {
        let updates = self.shared.updates.subscribe();
        let shutdown = self.shutdown.subscribe();
        self.tasks.push(tokio::spawn(crate::recorder::run(
            self.shared.clone(),
            history,
            updates,
            shutdown,
        )));
    }

    /// Acknowledges an active alert: it stays listed but no longer drives the overall level until it escalates.
    /// Returns whether an active, unacknowledged alert with that id existed.
    pub async fn acknowledge(&self, alert_id: u64) -> bool {
        let (reply, answer) = oneshot::channel();
        if self
            .alert_commands
            .send(Command::Acknowledge {
                id: alert_id,
                reply,
            })
            .await
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Applies new thresholds and alert settings. An invalid config is refused with the message naming what is
    /// wrong, and the settings in force stay as they were.
    pub async fn reconfigure(&self, config: &Config, origin: &std::path::Path) -> Result<()> {
        config.validate(origin)?;
        self.alert_commands
            .send(Command::Reconfigure(Box::new(config.clone())))
            .await
            .map_err(|_| Error::Other("the engine is shutting down".to_owned()))
    }

    /// The overall level right now (what the tray shows).
    pub fn overall(&self) -> OverallLevel {
        let state = self.shared.read();
        let sources: Vec<SourceStatus> = state.sources.values().cloned().collect();
        overall_level(&state.alerts, &sources)
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
