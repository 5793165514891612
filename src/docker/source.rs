//! The collector loop of one Docker engine: connect, list once, then keep the container set current from the
//! event stream (a periodic re-list heals anything missed), and sample every running container each interval.
//! When the engine goes away the source is marked unreachable with the reason and retried with backoff.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use chrono::{TimeZone, Utc};
use futures_util::{stream, Stream, StreamExt};
use tokio::sync::watch;

use super::Client;
use crate::config::HostConfig;
use crate::engine::{Entry, Shared, Update, LOCAL_HOST};
use crate::logs::LogHub;
use crate::model::{
    ContainerEvent, ContainerStats, ErrorStep, Health, SampleMethod, SourceState, SourceStatus,
};
use crate::ssh::{
    self,
    hoststats::{self, RemoteSampler},
};
use crate::stats::cgroup::{self, CgroupPaths, Mounts};
use crate::stats::{api, formula, RawCounters};
use crate::util::Backoff;

/// Docker event actions that change what we show about a container.
const WATCHED_ACTIONS: &[&str] = &[
    "create",
    "start",
    "die",
    "oom",
    "kill",
    "destroy",
    "restart",
    "health_status",
    "pause",
    "unpause",
    "stop",
    "rename",
    "update",
];
/// The first CPU figure is computed over this short window so a first snapshot is quick.
const WARMUP: Duration = Duration::from_millis(100);
/// API stats requests in flight at once when cgroups cannot be read.
const API_CONCURRENCY: usize = 8;

/// Which engine a source watches.
pub(crate) enum Target {
    /// The local engine at this endpoint (`unix://…`, `tcp://…`).
    Local { endpoint: String },
    /// A remote host's engine, reached through its Docker socket forwarded over SSH.
    Ssh(HostConfig),
}

impl Target {
    /// The longest wait between attempts: the local engine usually comes back in seconds (a restart, a
    /// package upgrade), a remote host may be away for long (a laptop, a reboot) and each attempt costs an SSH
    /// handshake.
    fn max_backoff(&self) -> Duration {
        match self {
            Self::Local { .. } => Duration::from_secs(60),
            Self::Ssh(_) => Duration::from_secs(300),
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Local { .. } => LOCAL_HOST,
            Self::Ssh(host) => &host.name,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Self::Local { endpoint } => endpoint.clone(),
            Self::Ssh(host) => format!("ssh://{}{}", host.destination, host.socket),
        }
    }
}

/// Why a connected period ended: the failed step and a message saying how to fix it.
pub(crate) type Failure = (ErrorStep, String);

/// Runs until `shutdown` turns true; never returns early, never panics on engine or SSH failures. Each failed
/// attempt is recorded (step, message, history) and retried with jittered exponential backoff from 1 s to 60 s (local) or 5 min (SSH),
/// or at once on "retry now".
pub(crate) async fn run(
    shared: Arc<Shared>,
    logs: LogHub,
    target: Target,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = target.name().to_owned();
    let endpoint = target.endpoint();
    let retry = shared.retry_signal(&name).unwrap_or_default();
    let mut backoff = Backoff::new(Duration::from_secs(1), target.max_backoff());
    let mut failures = 0u32;
    let mut status = SourceStatus::connecting(&name, "docker", &endpoint);
    shared.set_source(status.clone());
    loop {
        let outcome = match &target {
            Target::Local { endpoint } => match Client::connect(LOCAL_HOST, endpoint).await {
                Ok(client) => {
                    backoff.reset();
                    failures = 0;
                    let mut session = Session::new(shared.clone(), logs.clone(), client, None);
                    let outcome = session.run(&mut status, &mut shutdown).await;
                    session.end();
                    outcome
                }
                Err(crate::Error::DockerUnreachable { reason, .. }) => {
                    Err((ErrorStep::Docker, reason))
                }
                Err(err) => Err((ErrorStep::Docker, err.to_string())),
            },
            Target::Ssh(host) => {
                let keepalive = shared.config.interval;
                match ssh::Connection::open(host, keepalive).await {
                    Ok(connection) => {
                        let mut connection = Arc::new(connection);
                        let outcome = match remote_client(host, &connection).await {
                            Ok(client) => {
                                backoff.reset();
                                failures = 0;
                                let mut session = Session::new(
                                    shared.clone(),
                                    logs.clone(),
                                    client,
                                    Some(connection.clone()),
                                );
                                let outcome = session.run(&mut status, &mut shutdown).await;
                                session.end();
                                drop(session);
                                outcome
                            }
                            Err(failure) => Err(failure),
                        };
                        // The session is gone, so this is the last handle: close the master and the socket.
                        if let Some(connection) = Arc::get_mut(&mut connection) {
                            connection.close().await;
                        }
                        outcome
                    }
                    Err(err) => Err((err.step, err.message)),
                }
            }
        };
        if *shutdown.borrow() {
            return;
        }
        let Err((step, reason)) = outcome else { return };
        failures = failures.saturating_add(1);
        let delay = backoff.next_delay();
        let was_up = status.state != SourceState::Unreachable;
        if was_up {
            tracing::warn!(host = %name, %endpoint, step = step.as_str(), %reason, retry_in = ?delay, "source unreachable");
        } else {
            tracing::debug!(host = %name, %endpoint, %reason, retry_in = ?delay, "source still unreachable");
        }
        let now = Utc::now();
        status.state = SourceState::Unreachable;
        status.reason = Some(reason.clone());
        status.record_error(step, reason, now);
        status.consecutive_failures = failures;
        status.next_retry = Some(now + delay);
        if was_up {
            status.since = now;
            if let Some(host) = shared.write().hosts.get_mut(&name) {
                host.status = "unreachable".to_owned();
            }
        }
        shared.set_source(status.clone());
        if name == LOCAL_HOST {
            shared.mark_ready(|r| r.docker = true);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = retry.notified() => tracing::info!(host = %name, "retrying now, as asked"),
            _ = shutdown.changed() => return,
        }
    }
}

/// Connects bollard to the forwarded socket; a failure here is the remote engine's, not SSH's.
pub(crate) async fn remote_client(
    host: &HostConfig,
    connection: &ssh::Connection,
) -> Result<Client, Failure> {
    let client = Client::connect(&host.name, &connection.endpoint())
        .await
        .map_err(|err| {
            let reason = match err {
                crate::Error::DockerUnreachable { reason, .. } => reason,
                other => other.to_string(),
            };
            (
                ErrorStep::Docker,
                format!(
                    "Docker step failed for {}: the engine behind {} did not answer through the SSH tunnel: {reason}",
                    host.destination, host.socket
                ),
            )
        })?;
    if !api_at_least(&client.api_version, 1, 41) {
        return Err((
            ErrorStep::DockerVersion,
            format!(
                "Docker version step failed for {}: the engine speaks API {} (Docker {}); Docktray needs API 1.41                  (Docker 20.10) or newer: upgrade Docker on that host",
                host.destination, client.api_version, client.engine_version
            ),
        ));
    }
    Ok(client)
}

/// Whether an API version such as `1.43` is at least `major.minor`.
fn api_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// One connected period of an engine.
struct Session {
    shared: Arc<Shared>,
    logs: LogHub,
    client: Client,
    /// The SSH connection of a remote host (None for the local engine).
    remote: Option<Arc<ssh::Connection>>,
    /// Previous counters of the remote host's figures.
    remote_host: RemoteSampler,
    /// Whether a remote host's container counters come from its cgroup files, read in the interval's batched
    /// SSH command (else from the Docker API through the tunnel).
    remote_cgroup: bool,
    /// The remote host's cgroup mount points (read once per connection).
    remote_mounts: Option<Mounts>,
    /// Counters read by this interval's batched command, taken by the sweep.
    remote_samples: HashMap<String, RawCounters>,
    mounts: Option<Mounts>,
    /// Cgroup locations by container id, with the pid they were found for.
    cgroups: HashMap<String, (u32, Option<CgroupPaths>)>,
    /// The local containers' counter files, kept open between sweeps.
    open_files: cgroup::OpenFiles,
}

impl Session {
    fn new(
        shared: Arc<Shared>,
        logs: LogHub,
        client: Client,
        remote: Option<Arc<ssh::Connection>>,
    ) -> Self {
        // Cgroup files are only ours to read when the engine runs on this machine.
        let local = remote.is_none()
            && (client.endpoint.starts_with("unix://") || client.endpoint.starts_with('/'));
        let mounts = local
            .then(Mounts::discover)
            .and_then(Result::ok)
            .filter(Mounts::usable);
        Self {
            shared,
            logs,
            client,
            remote,
            remote_host: RemoteSampler::default(),
            remote_cgroup: remote_stats_from_cgroup(),
            remote_mounts: None,
            remote_samples: HashMap::new(),
            mounts,
            cgroups: HashMap::new(),
            open_files: cgroup::OpenFiles::default(),
        }
    }

    async fn run(
        &mut self,
        status: &mut SourceStatus,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Failure> {
        // Subscribe to events before listing, so nothing that happens during the list is missed.
        let mut events = self.events();
        self.reconcile().await.map_err(docker_failure)?;
        status.state = SourceState::Up;
        status.reason = None;
        status.consecutive_failures = 0;
        status.next_retry = None;
        status.since = Utc::now();
        status.engine_version = Some(self.client.engine_version.clone());
        status.api_version = Some(self.client.api_version.clone());
        status.stats_method = Some(
            if self.mounts.is_some() || (self.remote.is_some() && self.remote_cgroup) {
                SampleMethod::Cgroup
            } else {
                SampleMethod::Api
            },
        );
        self.shared.set_source(status.clone());
        self.shared
            .set_client(&self.client.host, Some(self.client.clone()));
        self.logs.engine_reconnected();
        tracing::info!(endpoint = %self.client.endpoint, version = %self.client.engine_version, "Docker engine up");

        // Baseline sample now, first figures after a short warm-up, then every interval.
        self.probe_remote(status).await?;
        self.sweep().await;
        let interval = self.shared.config.interval;
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + WARMUP.min(interval), interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reconcile_every = self.shared.config.docker.reconcile_every;
        let mut reconcile = tokio::time::interval_at(
            tokio::time::Instant::now() + reconcile_every,
            reconcile_every,
        );
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        if let Err(message) = self.on_event(event).await {
                            return Err(self.blame(message).await);
                        }
                    }
                    Some(Err(err)) => return Err(self.blame(format!("the event stream broke: {err}")).await),
                    None => return Err(self.blame("the engine closed the connection".to_owned()).await),
                },
                _ = ticker.tick() => {
                    self.probe_remote(status).await?;
                    self.sweep().await;
                    if self.remote.is_none() {
                        self.shared.mark_ready(|r| r.docker = true);
                    }
                }
                _ = reconcile.tick() => {
                    if let Err(message) = self.reconcile().await {
                        return Err(self.blame(message).await);
                    }
                }
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    /// Forgets the connection so actions and logs report the engine as unreachable.
    fn end(&self) {
        self.shared.set_client(&self.client.host, None);
        let mut state = self.shared.write();
        for entry in state.containers.values_mut() {
            if entry.info.host == self.client.host {
                entry.stats = None;
                entry.previous = None;
            }
        }
    }

    /// Names the step behind a broken Docker stream: on a remote host a dead SSH master explains it.
    async fn blame(&self, message: String) -> Failure {
        if let Some(remote) = &self.remote {
            if let Err(err) = remote.check().await {
                return (err.step, err.message);
            }
        }
        docker_failure(message)
    }

    /// A round trip through the tunnel: the engine's `/_ping` over the forwarded socket. When the network is
    /// cut (or the laptop slept), the SSH master lives on until its keepalives fail, three intervals later,
    /// but nothing comes back through it; no answer within an interval means the connection is gone. No
    /// remote shell runs for it, so a slow shell start-up on the host cannot be mistaken for a dead link.
    async fn tunnel_answers(&self) -> Result<(), Failure> {
        let within = self.shared.config.interval.max(Duration::from_secs(2));
        match tokio::time::timeout(within, self.client.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(self
                .blame(format!("the engine stopped answering through SSH: {err}"))
                .await),
            Err(_) => Err((
                ErrorStep::Ssh,
                format!(
                    "no answer through SSH from {} within {within:?}: the connection is gone (network down, \
                     host asleep or stopped); reconnecting",
                    self.client.host
                ),
            )),
        }
    }

    /// On a remote host, each interval: checks the SSH master (a dropped connection is noticed within two
    /// intervals) and reads the host's figures with one batched command. A failing stats command while SSH
    /// lives makes the host degraded, not unreachable.
    async fn probe_remote(&mut self, status: &mut SourceStatus) -> Result<(), Failure> {
        let Some(remote) = self.remote.clone() else {
            return Ok(());
        };
        remote
            .check()
            .await
            .map_err(|err| (err.step, err.message))?;
        self.tunnel_answers().await?;
        let timeout = self.shared.config.interval.max(Duration::from_secs(2)) * 2;
        let (script, args, located) = self.remote_script();
        let result = match remote.run_with_args(&script, &args, timeout).await {
            Ok(output) => {
                let now = Instant::now();
                self.read_remote_counters(&output, &located, now);
                self.remote_host.parse(&self.client.host, &output, now)
            }
            Err(err) => {
                // The command may have failed because the connection just dropped.
                remote
                    .check()
                    .await
                    .map_err(|err| (err.step, err.message))?;
                Err(err.message)
            }
        };
        match result {
            Ok(stats) => {
                self.shared
                    .write()
                    .hosts
                    .insert(stats.server_name.clone(), stats.clone());
                self.shared.publish(Update::Host(Box::new(stats)));
                if status.state == SourceState::Degraded {
                    status.state = SourceState::Up;
                    status.reason = None;
                    self.shared.set_source(status.clone());
                }
            }
            Err(message) => {
                if status.state != SourceState::Degraded {
                    let message = format!("reading the host's figures over SSH failed: {message}");
                    tracing::warn!(host = %self.client.host, %message, "host degraded");
                    status.state = SourceState::Degraded;
                    status.reason = Some(message.clone());
                    status.record_error(ErrorStep::HostStats, message, Utc::now());
                    self.shared.set_source(status.clone());
                }
            }
        }
        Ok(())
    }

    fn events(
        &self,
    ) -> impl Stream<Item = Result<EventMessage, bollard::errors::Error>> + Unpin + 'static {
        let filters = HashMap::from([("type", vec!["container"])]);
        let options = EventsOptionsBuilder::new().filters(&filters).build();
        Box::pin(self.client.docker.events(Some(options)))
    }

    /// Lists every container and inspects each, replacing the state: containers that vanished are removed
    /// (no ghosts after a missed event), new ones added, changed ones updated.
    async fn reconcile(&mut self) -> Result<(), String> {
        let options = ListContainersOptionsBuilder::new().all(true).build();
        let listed = self
            .client
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|err| format!("listing containers failed: {err}"))?;
        let ids: Vec<String> = listed.into_iter().filter_map(|c| c.id).collect();
        let client = &self.client;
        let infos: Vec<_> = stream::iter(ids.iter().cloned())
            .map(|id| async move { client.inspect(&id).await })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut seen = HashSet::new();
        let mut changed = Vec::new();
        for info in infos {
            // A container removed between the list and its inspect is simply gone.
            let Some(info) = info.map_err(|err| format!("inspecting containers failed: {err}"))?
            else {
                continue;
            };
            seen.insert(info.id.clone());
            changed.push(info);
        }
        let removed: Vec<String> = {
            let mut state = self.shared.write();
            let removed: Vec<String> = state
                .containers
                .iter()
                .filter(|(id, entry)| entry.info.host == self.client.host && !seen.contains(*id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in &removed {
                state.containers.remove(id);
            }
            for info in &changed {
                upsert(&mut state.containers, info.clone());
            }
            removed
        };
        for id in removed {
            self.cgroups.remove(&id);
            self.shared.publish(Update::ContainerRemoved {
                host: self.client.host.clone(),
                id,
            });
        }
        for info in changed {
            self.shared
                .publish(Update::ContainerChanged(Box::new(info)));
        }
        Ok(())
    }

    async fn on_event(&mut self, event: EventMessage) -> Result<(), String> {
        let Some(actor) = event.actor else {
            return Ok(());
        };
        let Some(id) = actor.id else { return Ok(()) };
        let full_action = event.action.unwrap_or_default();
        let action = full_action
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !WATCHED_ACTIONS.contains(&action.as_str()) {
            return Ok(());
        }
        let attributes = actor.attributes.unwrap_or_default();
        let at = event
            .time_nano
            .map(|nanos| Utc.timestamp_nanos(nanos))
            .or_else(|| {
                event
                    .time
                    .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
            })
            .unwrap_or_else(Utc::now);
        let mut name = attributes.get("name").cloned().unwrap_or_default();
        let exit_code = attributes
            .get("exitCode")
            .and_then(|code| code.parse().ok());
        let health = full_action
            .split_once(':')
            .and_then(|(_, status)| match status.trim() {
                "healthy" => Some(Health::Healthy),
                "unhealthy" => Some(Health::Unhealthy),
                "starting" => Some(Health::Starting),
                _ => None,
            });

        if action == "destroy" {
            self.remove(&id);
        } else {
            match self.client.inspect(&id).await {
                Ok(Some(mut info)) => {
                    name = info.name.clone();
                    if action == "oom" {
                        info.oom_killed = true;
                    }
                    let mut state = self.shared.write();
                    if matches!(action.as_str(), "start" | "restart" | "die") {
                        // A new run gets a new cgroup: start its rates from a fresh baseline.
                        if let Some(entry) = state.containers.get_mut(&id) {
                            entry.previous = None;
                            entry.stats = None;
                        }
                    }
                    upsert(&mut state.containers, info.clone());
                    drop(state);
                    self.shared
                        .publish(Update::ContainerChanged(Box::new(info)));
                }
                Ok(None) => self.remove(&id),
                Err(err) => return Err(format!("inspecting container {id} failed: {err}")),
            }
        }
        if action == "start" || action == "restart" {
            self.logs.container_started(&id);
        }
        self.shared.publish(Update::Event(ContainerEvent {
            host: self.client.host.clone(),
            id,
            name,
            action,
            exit_code,
            health,
            at,
        }));
        Ok(())
    }

    fn remove(&mut self, id: &str) {
        self.cgroups.remove(id);
        if self.shared.write().containers.remove(id).is_some() {
            self.shared.publish(Update::ContainerRemoved {
                host: self.client.host.clone(),
                id: id.to_owned(),
            });
        }
    }

    /// Samples every container that has processes: from cgroup files where they can be read, else through
    /// the API. Stores the figures and publishes them in one update.
    async fn sweep(&mut self) {
        let targets: Vec<(String, Option<u32>)> = {
            let state = self.shared.read();
            state
                .containers
                .values()
                .filter(|e| e.info.host == self.client.host && e.info.state.has_processes())
                .map(|e| (e.info.id.clone(), e.info.pid))
                .collect()
        };
        let live: HashSet<&String> = targets.iter().map(|(id, _)| id).collect();
        self.cgroups.retain(|id, _| live.contains(id));

        let mut samples: Vec<(String, RawCounters, SampleMethod)> =
            Vec::with_capacity(targets.len());
        let mut via_api = Vec::new();
        if let Some(mounts) = &self.mounts {
            // Locate cgroups once per (container, pid); then one blocking sweep over all the files.
            let mut jobs = Vec::with_capacity(targets.len());
            for (id, pid) in &targets {
                let Some(pid) = *pid else {
                    via_api.push(id.clone());
                    continue;
                };
                let cached = self
                    .cgroups
                    .get(id)
                    .filter(|(cached_pid, _)| *cached_pid == pid);
                let paths = match cached {
                    Some((_, paths)) => paths.clone(),
                    None => {
                        let paths = mounts.locate(pid, id);
                        self.cgroups.insert(id.clone(), (pid, paths.clone()));
                        paths
                    }
                };
                match paths {
                    Some(paths) => jobs.push((id.clone(), pid, paths)),
                    None => via_api.push(id.clone()),
                }
            }
            let mut files = std::mem::take(&mut self.open_files);
            let (read, files) = tokio::task::spawn_blocking(move || {
                let now = Instant::now();
                let host = cgroup::read_host_cpu().ok();
                let read = jobs
                    .into_iter()
                    .map(|(id, pid, paths)| {
                        let counters = host.as_ref().and_then(|host| {
                            cgroup::read_counters_kept_open(&paths, pid, host, now, &mut files).ok()
                        });
                        (id, counters)
                    })
                    .collect::<Vec<_>>();
                files.end_sweep();
                (read, files)
            })
            .await
            .unwrap_or_default();
            self.open_files = files;
            for (id, counters) in read {
                match counters {
                    Some(counters) => samples.push((id, counters, SampleMethod::Cgroup)),
                    // The process may have just exited; the API knows better.
                    None => via_api.push(id),
                }
            }
        } else if self.remote.is_some() && self.remote_cgroup {
            // Read on the host by the interval's batched command (probe_remote, just before this).
            let mut read = std::mem::take(&mut self.remote_samples);
            for (id, _) in &targets {
                match read.remove(id) {
                    Some(counters) => samples.push((id.clone(), counters, SampleMethod::Cgroup)),
                    None => via_api.push(id.clone()),
                }
            }
        } else {
            via_api.extend(targets.iter().map(|(id, _)| id.clone()));
        }
        if !via_api.is_empty() {
            let client = &self.client;
            let fetched: Vec<_> = stream::iter(via_api)
                .map(|id| async move {
                    let result = api::sample(&client.docker, &id).await;
                    (id, result)
                })
                .buffer_unordered(API_CONCURRENCY)
                .collect()
                .await;
            for (id, result) in fetched {
                match result {
                    Ok(counters) => samples.push((id, counters, SampleMethod::Api)),
                    Err(err) => tracing::debug!(%id, %err, "stats sample failed"),
                }
            }
        }

        let now = Utc::now();
        let mut published: Vec<(String, ContainerStats)> = Vec::new();
        {
            let mut state = self.shared.write();
            for (id, counters, method) in samples {
                let Some(entry) = state.containers.get_mut(&id) else {
                    continue;
                };
                if let Some(previous) = &entry.previous {
                    let stats = formula::container_stats(previous, &counters, method, now);
                    entry.stats = Some(stats.clone());
                    published.push((id, stats));
                }
                entry.previous = Some(counters);
            }
            // Containers without processes keep no figures.
            for entry in state.containers.values_mut() {
                if entry.info.host == self.client.host && !entry.info.state.has_processes() {
                    entry.stats = None;
                    entry.previous = None;
                }
            }
        }
        self.shared.publish(Update::Stats {
            host: self.client.host.clone(),
            containers: published,
        });
    }
}

/// Where a remote host's container counters come from: `DOCKTRAY_REMOTE_STATS=api` or `cgroup` (the default,
/// chosen by measurement: see docs/benchmarks.md).
fn remote_stats_from_cgroup() -> bool {
    !matches!(std::env::var("DOCKTRAY_REMOTE_STATS").as_deref(), Ok("api"))
}

impl Session {
    /// The interval's one command for a remote host: host figures, plus (cgroup mode) every located
    /// container's cgroup and net/dev files, the cgroup of containers not located yet and, once, the mount
    /// table. File and pid lists go as arguments. Returns the script, its arguments and the located containers.
    fn remote_script(&mut self) -> (String, Vec<String>, Vec<(String, u32, CgroupPaths)>) {
        let mut located = Vec::new();
        if !self.remote_cgroup {
            return (hoststats::COMMAND.to_owned(), Vec::new(), located);
        }
        let targets: Vec<(String, u32)> = {
            let state = self.shared.read();
            state
                .containers
                .values()
                .filter(|e| e.info.host == self.client.host && e.info.state.has_processes())
                .filter_map(|e| Some((e.info.id.clone(), e.info.pid?)))
                .collect()
        };
        let mut files = Vec::new();
        let mut to_locate = Vec::new();
        for (id, pid) in targets {
            match self.cgroups.get(&id).filter(|(cached, _)| *cached == pid) {
                Some((_, Some(paths))) => {
                    files.extend(
                        cgroup::files_of(paths, pid)
                            .into_iter()
                            .map(|f| f.to_string_lossy().into_owned()),
                    );
                    located.push((id, pid, paths.clone()));
                }
                // Cgroup not found there: the API samples it.
                Some((_, None)) => {}
                None => to_locate.push(pid.to_string()),
            }
        }
        // One grep reads every file (a `cat` per file cost the host 18 % of a core for 50 containers) and keeps
        // only the lines the counters need (memory.stat is long), each prefixed with its file's path.
        let mut script = String::from(
            "echo @files; n=0; for a in \"$@\"; do case \"$a\" in /*) n=$((n+1)) ;; esac; done; \
             [ $n -gt 0 ] && grep -sHE '^([0-9]|(total_)?inactive_file |hierarchical_memory_limit |usage_usec |.*[|]| *[a-z0-9_.@-]+:)' \
             $(for a in \"$@\"; do case \"$a\" in /*) echo \"$a\" ;; esac; done); \
             for a in \"$@\"; do case \"$a\" in /*) ;; *) echo \"@cg $a\"; cat \"/proc/$a/cgroup\" 2>/dev/null ;; esac; done; ",
        );
        if self.remote_mounts.is_none() {
            script.push_str("echo @mountinfo; cat /proc/self/mountinfo; ");
        }
        script.push_str(hoststats::COMMAND);
        let mut args = files;
        args.extend(to_locate);
        (script, args, located)
    }

    /// Takes the container counters (and cgroup locations) out of the interval command's output.
    fn read_remote_counters(
        &mut self,
        output: &str,
        located: &[(String, u32, CgroupPaths)],
        now: Instant,
    ) {
        if !self.remote_cgroup {
            return;
        }
        let sections = hoststats::sections(output);
        let text = |name: &str| sections.get(name).map(|lines| lines.join("\n"));
        if self.remote_mounts.is_none() {
            self.remote_mounts = text("mountinfo")
                .map(|t| Mounts::parse(&t))
                .filter(Mounts::usable);
        }
        let Some(mounts) = &self.remote_mounts else {
            // No cgroup mounts visible there: the API samples everything.
            self.remote_cgroup = false;
            return;
        };
        let unlocated: Vec<(String, u32)> = {
            let state = self.shared.read();
            state
                .containers
                .values()
                .filter(|e| e.info.host == self.client.host && e.info.state.has_processes())
                .filter_map(|e| Some((e.info.id.clone(), e.info.pid?)))
                .filter(|(id, pid)| self.cgroups.get(id).is_none_or(|(cached, _)| cached != pid))
                .collect()
        };
        for (id, pid) in unlocated {
            if let Some(proc_cgroup) = text(&format!("cg {pid}")) {
                let paths = mounts.locate_in(&proc_cgroup, &id);
                self.cgroups.insert(id, (pid, paths));
            }
        }
        let (Some(stat), Some(meminfo)) = (text("stat"), text("meminfo")) else {
            return;
        };
        let Some(host) = cgroup::parse_host_cpu(&stat, &meminfo, 100) else {
            return;
        };
        let mut files: HashMap<&str, String> = HashMap::new();
        for line in sections.get("files").into_iter().flatten() {
            if let Some((path, content)) = line.split_once(':') {
                let file = files.entry(path).or_default();
                file.push_str(content);
                file.push('\n');
            }
        }
        let read = |path: &Path| {
            files
                .get(path.to_string_lossy().as_ref())
                .cloned()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string())
                })
        };
        for (id, pid, paths) in located {
            if let Ok(counters) = cgroup::counters_with(paths, *pid, &host, now, &read) {
                self.remote_samples.insert(id.clone(), counters);
            }
        }
    }
}

fn docker_failure(message: String) -> Failure {
    (ErrorStep::Docker, message)
}

/// Inserts or updates a container's info, keeping its figures.
fn upsert(containers: &mut HashMap<String, Entry>, info: crate::model::ContainerInfo) {
    match containers.get_mut(&info.id) {
        Some(entry) => entry.info = info,
        None => {
            containers.insert(
                info.id.clone(),
                Entry {
                    info,
                    stats: None,
                    previous: None,
                },
            );
        }
    }
}
