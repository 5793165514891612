//! The engine: starts the sources, owns the live state, and hands out snapshots and pushed updates. Sources send
//! observations; the writer task ([`writer`]) alone applies them to the state ([`state`]), computes rates
//! ([`rates`]), runs the alert evaluator ([`alerting`]) and publishes [`Update`]s. Everyone else reads.

mod alerting;
mod hosts;
pub mod rates;
mod shared;
mod state;
pub mod terminal;
mod view;
mod workbench;
mod writer;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::alerts::overall_level;
use crate::config::{Config, HostConfig};
use crate::error::{Error, Result};
use crate::model::{
    Action, Actor, AuditTarget, OverallLevel, SelfFigures, Snapshot, SourceStatus, Update,
    LOCAL_HOST,
};
use crate::sources::docker::{self, Client, DockerSource, Target};
use crate::sources::{host, logwatch, webdock, Reporter};
use hosts::{diff_hosts, spawn_host, stop_host, HostTask};
use shared::{read_lock, Shared};
use state::{Readiness, State};
pub use view::View;
use view::{HostClients, StateContainers};
use writer::Command;

/// The shared log streams the engine hands out ([`Engine::logs`]), for sinks that follow logs (the HTTP API).
pub use crate::sources::docker::logs::{LogHub, LogLine, LogQuery, LogStream, LogSubscription};

/// How many observations may wait for the writer before sources wait in turn.
const OBSERVATION_QUEUE: usize = 1024;
/// How many updates a subscriber may fall behind before it is told it lagged.
const UPDATE_QUEUE: usize = 1024;

/// A running engine. Dropping it stops the collectors; call [`Engine::shutdown`] to wait for them.
pub struct Engine {
    shared: Arc<Shared>,
    logs: LogHub,
    reporter: Reporter,
    shutdown: watch::Sender<bool>,
    writer: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
    /// One source task per remote host, by name; changed by [`Engine::set_hosts`].
    hosts: tokio::sync::Mutex<BTreeMap<String, HostTask>>,
    commands: mpsc::Sender<Command>,
    /// The `[[log_alerts]]` rules the log watcher follows; changed by [`Engine::reconfigure`].
    log_rules: watch::Sender<Vec<crate::config::LogAlert>>,
}

impl Engine {
    /// Starts the writer and the sources in the background. Must be called inside a tokio runtime.
    pub fn start(config: Config) -> Self {
        Self::start_resuming(config, BTreeMap::new())
    }

    /// [`Engine::start`], with each host's last stored timeline event (by host name): the sources ask their
    /// engines for what happened since then, so events from while Docktray was not running are not lost.
    pub fn start_resuming(config: Config, resume: BTreeMap<String, DateTime<Utc>>) -> Self {
        // Raises the soft open-file limit to the hard one, before any counter file is kept open.
        docker::descriptors::budget();
        let (updates, _) = broadcast::channel(UPDATE_QUEUE);
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
            resume,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (observations, observations_rx) = mpsc::channel(OBSERVATION_QUEUE);
        let (commands, commands_rx) = mpsc::channel(16);
        let reporter = Reporter::new(observations);
        // The writer runs before any source reports, so it judges every observation from the first one.
        let writer = tokio::spawn(writer::run(
            shared.clone(),
            observations_rx,
            commands_rx,
            shutdown_rx.clone(),
        ));
        let logs = LogHub::new(HostClients(shared.clone()), config.logs.ring_lines);
        let (connection, retry) = shared.register_host(LOCAL_HOST);
        let mut tasks = vec![
            tokio::spawn(docker::collector::run(
                DockerSource {
                    target: Target::Local {
                        endpoint: config.docker_endpoint(),
                    },
                    settings: shared.session_settings(),
                    reporter: reporter.clone(),
                    logs: logs.clone(),
                    connection,
                    retry,
                    resume: shared.resume.get(LOCAL_HOST).copied(),
                },
                shutdown_rx.clone(),
            )),
            tokio::spawn(host::run(
                reporter.clone(),
                config.interval,
                shutdown_rx.clone(),
            )),
        ];
        // Log-pattern alerts count lines on the shared log streams; idle while no rule is set.
        let (log_rules, log_rules_rx) = watch::channel(config.log_alerts.clone());
        tasks.push(tokio::spawn(logwatch::run(logwatch::Wiring {
            hub: logs.clone(),
            containers: Arc::new(StateContainers(shared.clone())),
            updates: shared.updates.subscribe(),
            reporter: reporter.clone(),
            rules: log_rules_rx,
            shutdown: shutdown_rx.clone(),
        })));
        for account in &config.webdock {
            tasks.push(tokio::spawn(webdock::source::run(
                reporter.clone(),
                account.clone(),
                shutdown_rx.clone(),
            )));
        }
        // One session per remote host, each with its own SSH master, client, backoff and error record.
        let diff = diff_hosts(&BTreeMap::new(), &config.hosts);
        let hosts = diff
            .add
            .iter()
            .map(|host| {
                (
                    host.name.clone(),
                    spawn_host(&shared, &reporter, &logs, host),
                )
            })
            .collect();
        Self {
            shared,
            logs,
            reporter,
            shutdown,
            writer,
            tasks,
            hosts: tokio::sync::Mutex::new(hosts),
            commands,
            log_rules,
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
                self.shared.unregister_host(name);
                let (reply, done) = oneshot::channel();
                let command = Command::ForgetHost {
                    host: name.clone(),
                    reply,
                };
                if self.commands.send(command).await.is_ok() {
                    let _ = done.await;
                }
            }
        }
        for host in &diff.add {
            tracing::info!(host = %host.name, destination = %host.destination, "host added: connecting");
            running.insert(
                host.name.clone(),
                spawn_host(&self.shared, &self.reporter, &self.logs, host),
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
        let local = tokio::time::timeout_at(deadline, readiness.wait_for(Readiness::local_ready))
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

    /// Whether every source has delivered its first round (or failed once), right now.
    pub fn is_ready(&self) -> bool {
        self.shared.is_ready()
    }

    /// Whether the writer task is alive: false once it has ended (shut down, or died).
    pub fn is_running(&self) -> bool {
        !self.writer.is_finished()
    }

    /// Whether every remote host has either failed once or is up with its first figures.
    fn remotes_settled(&self) -> bool {
        self.shared.remotes_settled()
    }

    /// Everything known right now, containers sorted by host, compose project and name.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// What the engine costs its process (descriptors, the last sweep's reads), for `status --json`.
    pub fn self_figures(&self) -> SelfFigures {
        SelfFigures {
            descriptors: docker::descriptors::figures(),
            sweep: docker::descriptors::sweep_figures(),
        }
    }

    /// Pushed changes. A slow subscriber that falls behind gets `RecvError::Lagged` and should take a snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.shared.updates.subscribe()
    }

    /// A handle to report observations with, for a sink that also watches its own target (a reverse proxy's
    /// reachability): the engine keeps that state and judges it like any source's.
    pub fn reporter(&self) -> Reporter {
        self.reporter.clone()
    }

    /// A read-only view of the live state, for sinks.
    pub fn view(&self) -> View {
        View(self.shared.clone())
    }

    /// Shared log streams (one Docker stream per container, however many subscribers).
    pub fn logs(&self) -> &LogHub {
        &self.logs
    }

    /// The container's id and the client of the host it runs on (by name, id or id prefix; an unknown
    /// container goes to the local engine, which says whether it exists).
    fn route(&self, container: &str) -> Result<(String, Client)> {
        let (id, _, host) = self.locate(container);
        Ok((id, self.client_for(&host)?))
    }

    /// A container's id, name and host (an unknown one: as given, on the local host).
    fn locate(&self, container: &str) -> (String, String, String) {
        self.snapshot()
            .find_container(container)
            .map(|c| (c.info.id.clone(), c.info.name.clone(), c.info.host.clone()))
            .unwrap_or_else(|| {
                (
                    container.to_owned(),
                    container.trim_start_matches('/').to_owned(),
                    LOCAL_HOST.to_owned(),
                )
            })
    }

    /// Starts, stops, restarts, pauses or unpauses a container given by name, id or id prefix, on whichever
    /// host it runs. The action and how it ended (or the engine's error) are published as an audit entry of
    /// `actor`, which the history keeps.
    pub async fn act(&self, container: &str, action: Action, actor: &Actor) -> Result<()> {
        let (id, name, host) = self.locate(container);
        let result = match self.client_for(&host) {
            Ok(client) => client.act(&id, action).await,
            Err(err) => Err(err),
        };
        self.shared.audit(
            actor,
            &host,
            AuditTarget::container(&name),
            action.as_str(),
            &result,
        );
        result
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
        match read_lock(&self.shared.retry).get(host) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }

    /// Acknowledges an active alert: it stays listed but no longer drives the overall level until it escalates.
    /// Returns whether an active, unacknowledged alert with that id existed.
    pub async fn acknowledge(&self, alert_id: u64) -> bool {
        let (reply, answer) = oneshot::channel();
        let command = Command::Acknowledge {
            id: alert_id,
            reply,
        };
        if self.commands.send(command).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Applies new thresholds, alert settings and remote hosts (see [`Engine::set_hosts`]). An invalid config
    /// is refused with the message naming what is wrong, and the settings in force stay as they were.
    pub async fn reconfigure(&self, config: &Config, origin: &std::path::Path) -> Result<()> {
        config.validate(origin)?;
        self.commands
            .send(Command::Reconfigure(Box::new(config.clone())))
            .await
            .map_err(|_| Error::Other("the engine is shutting down".to_owned()))?;
        self.log_rules.send_if_modified(|rules| {
            let changed = *rules != config.log_alerts;
            rules.clone_from(&config.log_alerts);
            changed
        });
        self.set_hosts(&config.hosts).await;
        Ok(())
    }

    /// The overall level right now (what the tray shows).
    pub fn overall(&self) -> OverallLevel {
        let state = self.shared.read();
        let sources: Vec<SourceStatus> = state.sources.values().cloned().collect();
        overall_level(&state.alerts, &sources)
    }

    /// Stops every collector and the writer, and waits for them to finish.
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
        let _ = (&mut self.writer).await;
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
        self.writer.abort();
    }
}
