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
use crate::config::{Config, HostConfig};
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
    /// A remote host was taken out of the settings: its containers, figures and status are gone from the state.
    HostRemoved {
        host: String,
    },
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
    /// Written only when hosts are added or removed; readers hold the lock just for a lookup.
    clients: RwLock<BTreeMap<String, watch::Sender<Option<Client>>>>,
    /// Wakes a host's retry wait at once ("retry now").
    retry: RwLock<BTreeMap<String, Arc<Notify>>>,
}

/// Reads a lock even if a holder panicked (the maps stay consistent: every write is a single insert or remove).
fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        if let Some(sender) = read_lock(&self.clients).get(host) {
            // send_replace: `send` drops the value when nobody subscribed yet, and `client_for` reads it later.
            sender.send_replace(client);
        }
    }

    /// A host's connection channel, if the host is watched.
    fn client_channel(&self, host: &str) -> Option<watch::Sender<Option<Client>>> {
        read_lock(&self.clients).get(host).cloned()
    }

    /// The "retry now" signal of a watched host.
    pub fn retry_signal(&self, host: &str) -> Option<Arc<Notify>> {
        read_lock(&self.retry).get(host).cloned()
    }

    /// The remote hosts being watched, by name.
    fn remote_names(&self) -> Vec<String> {
        read_lock(&self.clients)
            .keys()
            .filter(|name| name.as_str() != LOCAL_HOST)
            .cloned()
            .collect()
    }

    /// Starts watching a host: its connection channel and retry signal.
    fn register_host(&self, host: &str) {
        write_lock(&self.clients).insert(host.to_owned(), watch::channel(None).0);
        write_lock(&self.retry).insert(host.to_owned(), Arc::new(Notify::new()));
    }

    /// Forgets a host whose source task has ended: its connection, retry signal, containers, figures and
    /// status. Subscribers hear of it through [`Update::HostRemoved`] (the alert task closes its alerts).
    fn forget_host(&self, host: &str) {
        if let Some(sender) = write_lock(&self.clients).remove(host) {
            // Log streams following its containers see the engine go away, then the channel close.
            sender.send_replace(None);
        }
        write_lock(&self.retry).remove(host);
        {
            let mut state = self.write();
            state.containers.retain(|_, entry| entry.info.host != host);
            state.hosts.remove(host);
            state
                .sources
                .retain(|_, source| source.name != host || source.kind == "webdock");
        }
        self.publish(Update::HostRemoved {
            host: host.to_owned(),
        });
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
        match self.0.client_channel(&host) {
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
    /// One source task per remote host, by name; changed by [`Engine::set_hosts`].
    hosts: tokio::sync::Mutex<BTreeMap<String, HostTask>>,
    alert_commands: mpsc::Sender<Command>,
}

/// A remote host's running source task.
struct HostTask {
    config: HostConfig,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// How long a removed host's task may take to close its SSH master before it is aborted (dropping the
/// connection still removes its socket and tells the master to exit).
const HOST_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What changes between the hosts being watched and the wanted ones: hosts to stop (gone, or changed) and
/// hosts to start (new, or changed). A changed host is in both. The local host is never a remote one.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct HostDiff {
    pub remove: Vec<String>,
    pub add: Vec<HostConfig>,
}

pub(crate) fn diff_hosts(
    running: &BTreeMap<String, HostConfig>,
    wanted: &[HostConfig],
) -> HostDiff {
    let mut wanted_by_name: BTreeMap<&str, &HostConfig> = BTreeMap::new();
    for host in wanted.iter().filter(|host| host.name != LOCAL_HOST) {
        // A repeated name (refused by validation) keeps its first entry.
        wanted_by_name.entry(host.name.as_str()).or_insert(host);
    }
    let remove = running
        .iter()
        .filter(|(name, config)| wanted_by_name.get(name.as_str()).copied() != Some(*config))
        .map(|(name, _)| name.clone())
        .collect();
    let add = wanted_by_name
        .values()
        .filter(|host| running.get(&host.name) != Some(**host))
        .map(|host| (*host).clone())
        .collect();
    HostDiff { remove, add }
}

/// Registers a host and starts its source task, with its own shutdown signal.
fn spawn_host(shared: &Arc<Shared>, logs: &LogHub, host: &HostConfig) -> HostTask {
    shared.register_host(&host.name);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let handle = tokio::spawn(docker::source::run(
        shared.clone(),
        logs.clone(),
        docker::source::Target::Ssh(host.clone()),
        shutdown_rx,
    ));
    HostTask {
        config: host.clone(),
        shutdown,
        handle,
    }
}

/// Stops a host's task and waits for it (its SSH master closed and its forwarded socket removed).
async fn stop_host(name: &str, task: HostTask) {
    let _ = task.shutdown.send(true);
    let mut handle = task.handle;
    if tokio::time::timeout(HOST_STOP_TIMEOUT, &mut handle)
        .await
        .is_err()
    {
        tracing::warn!(host = %name, "the host's source did not stop in time; aborting it");
        handle.abort();
        let _ = handle.await;
    }
}

impl Engine {
    /// Starts the collectors in the background. Must be called inside a tokio runtime.
    pub fn start(config: Config) -> Self {
        let (updates, _) = broadcast::channel(1024);
        let (readiness, _) = watch::channel(Readiness {
            webdock_waiting: config.webdock.len(),
            ..Readiness::default()
        });
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: RwLock::new(State::default()),
            updates,
            readiness,
            clients: RwLock::new(BTreeMap::new()),
            retry: RwLock::new(BTreeMap::new()),
        });
        shared.register_host(LOCAL_HOST);
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
        let diff = diff_hosts(&BTreeMap::new(), &config.hosts);
        let hosts = diff
            .add
            .iter()
            .map(|host| (host.name.clone(), spawn_host(&shared, &logs, host)))
            .collect();
        Self {
            shared,
            logs,
            shutdown,
            tasks,
            hosts: tokio::sync::Mutex::new(hosts),
            alert_commands,
        }
    }

    /// Makes the watched remote hosts these, at once: a new host is connected, a removed one is stopped (its
    /// SSH master closed, its forwarded socket removed) and everything about it leaves the state (containers,
    /// figures, status; its alerts are closed, never raised as "unreachable"), and a changed one (same name,
    /// other settings) is removed, then added. Returns once removed hosts are gone; new hosts connect in the
    /// background.
    pub async fn set_hosts(&self, hosts: &[HostConfig]) {
        let mut running = self.hosts.lock().await;
        let configs: BTreeMap<String, HostConfig> = running
            .iter()
            .map(|(name, task)| (name.clone(), task.config.clone()))
            .collect();
        let diff = diff_hosts(&configs, hosts);
        for name in &diff.remove {
            if let Some(task) = running.remove(name) {
                tracing::info!(host = %name, "host removed from the settings: no longer watched");
                stop_host(name, task).await;
                self.shared.forget_host(name);
            }
        }
        for host in &diff.add {
            tracing::info!(host = %host.name, destination = %host.destination, "host added: connecting");
            running.insert(
                host.name.clone(),
                spawn_host(&self.shared, &self.logs, host),
            );
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
        let names = self.shared.remote_names();
        let state = self.shared.read();
        names
            .iter()
            .all(|name| match state.sources.get(&format!("{name}/docker")) {
                Some(source) => match source.state {
                    SourceState::Connecting => false,
                    SourceState::Unreachable => true,
                    SourceState::Up | SourceState::Degraded => state.hosts.contains_key(name),
                },
                None => false,
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
        let channel = self.shared.client_channel(host);
        if let Some(client) = channel.as_ref().and_then(|sender| sender.borrow().clone()) {
            return Ok(client);
        }
        let state = self.shared.read();
        let source = state.sources.get(&format!("{host}/docker"));
        Err(Error::DockerUnreachable {
            endpoint: source
                .map(|s| s.endpoint.clone())
                .unwrap_or_else(|| self.shared.config.docker_endpoint()),
            reason: source.and_then(|s| s.reason.clone()).unwrap_or_else(|| {
                if channel.is_some() {
                    "still connecting".to_owned()
                } else {
                    format!("no host named {host} is configured (see `docktray hosts`)")
                }
            }),
        })
    }

    /// Ends a host's backoff wait and tries to connect now. Returns false for a host that is not watched.
    pub fn retry_now(&self, host: &str) -> bool {
        match self.shared.retry_signal(host) {
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

    /// Applies new thresholds, alert settings and remote hosts (see [`Engine::set_hosts`]). An invalid config
    /// is refused with the message naming what is wrong, and the settings in force stay as they were.
    pub async fn reconfigure(&self, config: &Config, origin: &std::path::Path) -> Result<()> {
        config.validate(origin)?;
        self.alert_commands
            .send(Command::Reconfigure(Box::new(config.clone())))
            .await
            .map_err(|_| Error::Other("the engine is shutting down".to_owned()))?;
        self.set_hosts(&config.hosts).await;
        Ok(())
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
        let hosts = std::mem::take(self.hosts.get_mut());
        for task in hosts.values() {
            let _ = task.shutdown.send(true);
        }
        self.logs.close();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        for (_, task) in hosts {
            let _ = task.handle.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
        for task in self.hosts.get_mut().values() {
            let _ = task.shutdown.send(true);
            task.handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, destination: &str) -> HostConfig {
        HostConfig {
            name: name.to_owned(),
            destination: destination.to_owned(),
            identity_file: None,
            socket: "/var/run/docker.sock".to_owned(),
            ssh_config: None,
        }
    }

    fn running(hosts: &[HostConfig]) -> BTreeMap<String, HostConfig> {
        hosts.iter().map(|h| (h.name.clone(), h.clone())).collect()
    }

    #[test]
    fn diff_adds_new_hosts_and_removes_gone_ones() {
        let nas = host("nas", "admin@nas");
        let pi = host("pi", "pi@pi.lan");
        let diff = diff_hosts(
            &running(std::slice::from_ref(&nas)),
            std::slice::from_ref(&pi),
        );
        assert_eq!(diff.remove, vec!["nas".to_owned()]);
        assert_eq!(diff.add, vec![pi]);
        let diff = diff_hosts(&running(&[]), std::slice::from_ref(&nas));
        assert_eq!(diff.remove, Vec::<String>::new());
        assert_eq!(diff.add, vec![nas]);
    }

    #[test]
    fn diff_leaves_unchanged_hosts_running() {
        let hosts = [host("nas", "admin@nas"), host("pi", "pi@pi.lan")];
        assert_eq!(diff_hosts(&running(&hosts), &hosts), HostDiff::default());
        // Order in the file does not matter.
        let reversed = [hosts[1].clone(), hosts[0].clone()];
        assert_eq!(diff_hosts(&running(&hosts), &reversed), HostDiff::default());
    }

    #[test]
    fn diff_replaces_a_changed_host() {
        let before = host("nas", "admin@nas");
        let mut identity = before.clone();
        identity.identity_file = Some("/home/me/.ssh/nas".into());
        let mut socket = before.clone();
        socket.socket = "/run/user/1000/docker.sock".to_owned();
        for after in [host("nas", "root@nas"), identity, socket] {
            let diff = diff_hosts(
                &running(std::slice::from_ref(&before)),
                std::slice::from_ref(&after),
            );
            assert_eq!(diff.remove, vec!["nas".to_owned()], "{after:?}");
            assert_eq!(diff.add, vec![after]);
        }
    }

    #[test]
    fn diff_never_takes_the_local_host_or_a_repeated_name() {
        let first = host("nas", "admin@nas");
        let wanted = [
            host(LOCAL_HOST, "me@here"),
            first.clone(),
            host("nas", "other@nas"),
        ];
        let diff = diff_hosts(&running(&[]), &wanted);
        assert_eq!(diff.add, vec![first]);
    }
}
