//! One connected period of a Docker engine: list once, keep the container set current from the event stream
//! (a periodic re-list heals anything missed), and read every running container's counters each interval. All
//! of it is reported to the engine as observations; the session keeps only what it needs to know which
//! containers to read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use chrono::{DateTime, Utc};
use futures_util::{stream, Stream, StreamExt};
use tokio::sync::watch;

use super::cgroup::{CgroupPaths, KeptFiles, Mounts, Outcome};
use super::collector::Failure;
use super::formula::MemoryFormula;
use super::logs::LogHub;
use super::remote::RemoteReads;
use super::{api_stats, events, Client};
use crate::model::{
    ContainerEvent, ContainerInfo, CounterSample, EngineEvent, ErrorStep, Health, Observation,
    RawCounters, ReadyPart, SampleMethod, SourceState, SourceStatus,
};
use crate::sources::ssh;
use crate::sources::Reporter;

/// Docker event actions that change what we show about a container (and Podman's `remove`, its `destroy`).
const WATCHED_ACTIONS: &[&str] = &[
    "remove",
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
/// After a lost connection, the back-fill starts this long before we noticed (the engine's clock may differ a
/// little from ours; events already stored are recognised and not stored twice).
const RESUME_MARGIN: Duration = Duration::from_secs(60);
/// The first CPU figure is computed over this short window so a first snapshot is quick.
const WARMUP: Duration = Duration::from_millis(100);
/// API stats requests in flight at once when cgroups cannot be read.
const API_CONCURRENCY: usize = 8;
/// How often Docker's disk usage is measured (also after each removal or prune from Docktray): the engine
/// walks every container's writable layer for it, so not every interval. The first comes once a short
/// command (`docktray status`) would be done.
pub const DISK_USAGE_EVERY: Duration = Duration::from_secs(300);
/// When the first disk-usage measurement comes after a session starts.
pub const DISK_USAGE_FIRST: Duration = Duration::from_secs(10);

/// The collection settings a session runs with (taken at start).
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub interval: Duration,
    pub reconcile_every: Duration,
}

/// What the session needs to know of a container to read it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    /// Whether it has processes (running, paused, restarting): only those have counters.
    pub has_processes: bool,
    pub pid: Option<u32>,
}

impl Known {
    fn of(info: &ContainerInfo) -> Self {
        Self {
            has_processes: info.state.has_processes(),
            pid: info.pid,
        }
    }
}

pub(super) struct Session<'a> {
    reporter: &'a Reporter,
    logs: &'a LogHub,
    slot: &'a watch::Sender<Option<Client>>,
    settings: SessionSettings,
    pub(super) client: Client,
    /// The engine's containers as last listed or inspected, by id.
    pub(super) known: HashMap<String, Known>,
    /// A remote host's cgroup locations by container id, with the pid they were found for.
    pub(super) cgroups: HashMap<String, (u32, Option<CgroupPaths>)>,
    /// This machine's cgroup mounts, when the engine runs here and they can be read.
    mounts: Option<Mounts>,
    /// The local containers' counter files, kept open between sweeps (taken out while a sweep runs).
    pub(super) kept: Option<KeptFiles>,
    /// A remote host's SSH connection and its batched reads (None for the local engine).
    pub(super) remote: Option<RemoteReads>,
    /// Which containers the OOM killer hit in their current run (their `die` is marked).
    oom: events::OomWatch,
    /// Where the timeline's back-fill starts: the last event seen (engine time), or when the last connection
    /// was lost; `None` when there is nothing to catch up on.
    resume: Option<DateTime<Utc>>,
    /// How the engine's own stats command counts memory, so the figures agree with it.
    pub(super) memory: MemoryFormula,
    /// Why the engine has no container figures at all (rootless Podman on cgroup v1), when it has none.
    pub(super) stats_unavailable: Option<String>,
    /// Podman: each container's pod (container id -> pod name), from the last re-list and create events.
    pods: HashMap<String, String>,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        settings: &SessionSettings,
        reporter: &'a Reporter,
        logs: &'a LogHub,
        slot: &'a watch::Sender<Option<Client>>,
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
        let memory = client.memory_formula();
        Self {
            reporter,
            logs,
            slot,
            settings: *settings,
            memory,
            stats_unavailable: client.podman_host.stats_unavailable(),
            pods: HashMap::new(),
            client,
            known: HashMap::new(),
            cgroups: HashMap::new(),
            kept: mounts.clone().map(|mounts| KeptFiles::new(mounts, memory)),
            mounts,
            remote: remote.map(RemoteReads::new),
            oom: events::OomWatch::default(),
            resume: None,
        }
    }

    /// Runs while the engine answers; reports the connection lost when it ends, whatever the reason. `resume`
    /// says from when to back-fill the timeline, and is moved on to where the next connection should.
    pub(super) async fn run(
        mut self,
        status: &mut SourceStatus,
        shutdown: &mut watch::Receiver<bool>,
        resume: &mut Option<DateTime<Utc>>,
    ) -> Result<(), Failure> {
        self.resume = *resume;
        let outcome = self.connected(status, shutdown).await;
        if status.state != SourceState::Connecting {
            // Everything up to now was seen live: the next connection catches up from about here.
            let lost = Utc::now() - RESUME_MARGIN;
            self.resume = Some(self.resume.map_or(lost, |seen| seen.max(lost)));
        }
        *resume = self.resume;
        self.slot.send_replace(None);
        self.reporter
            .report(Observation::EngineLost {
                host: self.client.host.clone(),
            })
            .await;
        outcome
    }

    async fn connected(
        &mut self,
        status: &mut SourceStatus,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Failure> {
        // Subscribe to events before listing, so nothing that happens during the list is missed.
        let mut events = self.events();
        let warmup = WARMUP.min(self.settings.interval);
        // The first two sweeps run beside the list and the inspects (local engines).
        let early = self.start_baseline(warmup);
        self.reconcile().await.map_err(docker_failure)?;
        let first_figures = match early {
            Some(early) => self.finish_baseline(early).await,
            None => None,
        };
        self.backfill().await;
        status.state = SourceState::Up;
        status.reason = None;
        status.consecutive_failures = 0;
        status.next_retry = None;
        status.since = Utc::now();
        status.engine_version = Some(self.client.engine_version.clone());
        status.api_version = Some(self.client.api_version.clone());
        status.engine_product = Some(self.client.product);
        status.rootless = self.client.podman_host.rootless;
        status.stats_note = self.stats_unavailable.clone();
        status.stats_method = if self.stats_unavailable.is_some() {
            None
        } else if self.mounts.is_some()
            || self.remote.as_ref().is_some_and(RemoteReads::reads_cgroups)
        {
            Some(SampleMethod::Cgroup)
        } else {
            Some(SampleMethod::Api)
        };
        self.reporter
            .report(Observation::Source(status.clone()))
            .await;
        // send_replace: `send` drops the value when nobody subscribed yet, and log streams read it later.
        self.slot.send_replace(Some(self.client.clone()));
        self.logs.engine_reconnected();
        tracing::info!(endpoint = %self.client.endpoint, engine = %self.client.label(), "container engine up");

        // Baseline sample now, first figures after a short warm-up, then every interval; when the first sweeps
        // gave every container its figures, the source is ready now and the next sweep is an interval on.
        self.probe_remote(status).await?;
        let interval = self.settings.interval;
        let first = match first_figures {
            Some(figures) if figures.complete => {
                self.report(Observation::Ready(ReadyPart::Docker)).await;
                tokio::time::Instant::from_std(figures.at) + interval
            }
            Some(figures) => tokio::time::Instant::from_std(figures.at) + warmup,
            None => {
                self.sweep().await;
                tokio::time::Instant::now() + warmup
            }
        };
        let mut ticker = tokio::time::interval_at(first, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reconcile_every = self.settings.reconcile_every;
        let mut reconcile = tokio::time::interval_at(
            tokio::time::Instant::now() + reconcile_every,
            reconcile_every,
        );
        let mut disk_usage = tokio::time::interval_at(
            tokio::time::Instant::now() + DISK_USAGE_FIRST,
            DISK_USAGE_EVERY,
        );
        disk_usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut measuring: Option<tokio::task::JoinHandle<()>> = None;
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
                    tracing::debug!(host = %self.client.host, "swept");
                    if self.remote.is_none() {
                        self.reporter.report(Observation::Ready(ReadyPart::Docker)).await;
                    }
                }
                _ = reconcile.tick() => {
                    if let Err(message) = self.reconcile().await {
                        return Err(self.blame(message).await);
                    }
                }
                _ = disk_usage.tick() => {
                    // On its own task: a slow measurement must not hold up events and figures.
                    if measuring.as_ref().is_none_or(|task| task.is_finished()) {
                        measuring = Some(self.measure_disk_usage());
                    }
                }
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    /// Measures Docker's disk usage in the background and reports it.
    fn measure_disk_usage(&self) -> tokio::task::JoinHandle<()> {
        let client = self.client.clone();
        let reporter = self.reporter.clone();
        tokio::spawn(async move {
            match client.disk_usage().await {
                Ok(usage) => {
                    reporter
                        .report(Observation::DiskUsage(Box::new(usage)))
                        .await
                }
                Err(err) => tracing::debug!(host = %client.host, %err, "disk usage not measured"),
            }
        })
    }

    pub(super) fn interval(&self) -> Duration {
        self.settings.interval
    }

    pub(super) async fn report(&self, observation: Observation) {
        self.reporter.report(observation).await;
    }

    /// Names the step behind a broken Docker stream: on a remote host a dead SSH master explains it.
    pub(super) async fn blame(&self, message: String) -> Failure {
        if let Some(remote) = &self.remote {
            if let Err(err) = remote.connection.check().await {
                return (err.step, err.message);
            }
        }
        docker_failure(message)
    }

    fn events(
        &self,
    ) -> impl Stream<Item = Result<EventMessage, bollard::errors::Error>> + Unpin + 'static {
        Box::pin(self.client.docker.events(Some(events::options(None, None))))
    }

    /// Reports the events the engine kept since the timeline's resume point (what happened while nobody
    /// watched). A failure costs only the back-fill: the session goes on.
    async fn backfill(&mut self) {
        let Some(since) = self.resume else { return };
        match events::backfill(&self.client, since).await {
            Ok(found) if found.is_empty() => {}
            Ok(found) => {
                tracing::info!(host = %self.client.host, events = found.len(), %since, "timeline back-filled from the engine's buffer");
                self.report(Observation::Timeline {
                    events: found,
                    backfill: true,
                })
                .await;
            }
            Err(err) => {
                tracing::warn!(host = %self.client.host, %err, "could not back-fill the timeline")
            }
        }
    }

    /// Lists every container and inspects each, and reports the full set: containers that vanished are gone
    /// (no ghosts after a missed event), new ones added, changed ones updated.
    async fn reconcile(&mut self) -> Result<(), String> {
        let listed = self
            .client
            .list_all()
            .await
            .map_err(|err| format!("listing containers failed: {err}"))?;
        tracing::debug!(host = %self.client.host, containers = listed.len(), "listed");
        let client = &self.client;
        let infos: Vec<_> = stream::iter(listed.into_iter().map(|(id, _)| id))
            .map(|id| async move { client.inspect(&id).await })
            .buffer_unordered(16)
            .collect()
            .await;
        tracing::debug!(host = %self.client.host, "inspected");
        self.pods = self.client.pods(None).await;
        let mut containers = Vec::with_capacity(infos.len());
        for info in infos {
            // A container removed between the list and its inspect is simply gone.
            if let Some(mut info) =
                info.map_err(|err| format!("inspecting containers failed: {err}"))?
            {
                info.pod = self.pods.get(&info.id).cloned();
                containers.push(info);
            }
        }
        self.known = containers
            .iter()
            .map(|info| (info.id.clone(), Known::of(info)))
            .collect();
        self.cgroups.retain(|id, _| self.known.contains_key(id));
        if let Some(kept) = &mut self.kept {
            let known = &self.known;
            kept.retain(|id| known.get(id).is_some_and(|known| known.has_processes));
            // A cgroup that moved (the process is the same) is found at the next sweep.
            kept.recheck_locations();
        }
        self.report(Observation::Containers {
            host: self.client.host.clone(),
            containers,
        })
        .await;
        Ok(())
    }

    async fn on_event(&mut self, event: EventMessage) -> Result<(), String> {
        let mut timeline = events::timeline_event(&self.client.host, &event);
        if let Some(entry) = &timeline {
            self.resume = Some(self.resume.map_or(entry.at, |seen| seen.max(entry.at)));
        }
        if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
            if let Some(entry) = timeline {
                self.report_timeline(entry, false).await;
            }
            return Ok(());
        }
        let Some(actor) = event.actor else {
            return Ok(());
        };
        let Some(id) = actor.id else { return Ok(()) };
        let full_action = event.action.unwrap_or_default();
        let action = match full_action.split(':').next().unwrap_or_default().trim() {
            // Podman's word for Docker's `destroy`: everything downstream speaks Docker's.
            "remove" => "destroy".to_owned(),
            other => other.to_owned(),
        };
        if !WATCHED_ACTIONS.contains(&action.as_str()) {
            return Ok(());
        }
        let attributes = actor.attributes.unwrap_or_default();
        let at = timeline.as_ref().map_or_else(Utc::now, |entry| entry.at);
        let mut inspected_oom = false;
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
            self.remove(&id).await;
        } else {
            match self.client.inspect(&id).await {
                Ok(Some(mut info)) => {
                    name = info.name.clone();
                    if action == "create" {
                        self.pods.extend(self.client.pods(Some(&id)).await);
                    }
                    info.pod = self.pods.get(&id).cloned();
                    if action == "oom" {
                        info.oom_killed = true;
                    }
                    inspected_oom = info.oom_killed;
                    let known = Known::of(&info);
                    if !known.has_processes {
                        // Stopped: its counter files close now, not at the next sweep.
                        self.forget_files(&id);
                    }
                    self.known.insert(id.clone(), known);
                    // A new run gets a new cgroup: its rates start from a fresh baseline.
                    let new_run = matches!(action.as_str(), "start" | "restart" | "die");
                    self.report(Observation::Container {
                        info: Box::new(info),
                        new_run,
                    })
                    .await;
                }
                Ok(None) => self.remove(&id).await,
                Err(err) => {
                    // The session reconnects; the event itself is kept all the same (not left to a back-fill
                    // that starts after it).
                    if let Some(entry) = timeline {
                        self.report_timeline(entry, false).await;
                    }
                    return Err(format!("inspecting container {id} failed: {err}"));
                }
            }
        }
        if action == "start" || action == "restart" {
            self.logs.container_started(&id);
        }
        if let Some(entry) = timeline.as_mut() {
            // The name as the engine knows it now (a rename's event carries the new one too).
            entry.name = name.trim_start_matches('/').to_owned();
        }
        self.report(Observation::Event(ContainerEvent {
            host: self.client.host.clone(),
            id,
            name,
            action,
            exit_code,
            health,
            at,
        }))
        .await;
        if let Some(entry) = timeline {
            self.report_timeline(entry, inspected_oom).await;
        }
        Ok(())
    }

    /// Reports one live event for the timeline, a die marked OOM or not.
    async fn report_timeline(&mut self, entry: EngineEvent, inspected_oom: bool) {
        let entry = self.oom.mark(entry, inspected_oom);
        self.report(Observation::Timeline {
            events: vec![entry],
            backfill: false,
        })
        .await;
    }

    async fn remove(&mut self, id: &str) {
        self.cgroups.remove(id);
        self.forget_files(id);
        self.pods.remove(id);
        if self.known.remove(id).is_some() {
            self.report(Observation::ContainerGone {
                host: self.client.host.clone(),
                id: id.to_owned(),
            })
            .await;
        }
    }

    /// The containers with processes, and their main pid where Docker gave one.
    pub(super) fn targets(&self) -> Vec<(String, Option<u32>)> {
        self.known
            .iter()
            .filter(|(_, known)| known.has_processes)
            .map(|(id, known)| (id.clone(), known.pid))
            .collect()
    }

    /// Closes a container's counter files (it stopped or was removed).
    fn forget_files(&mut self, id: &str) {
        if let Some(kept) = &mut self.kept {
            kept.forget(id);
        }
    }

    /// Reads every container that has processes: from cgroup files where they can be read, else through the
    /// API. Reports all the counters as one observation.
    async fn sweep(&mut self) {
        if self.stats_unavailable.is_some() {
            // Nothing to read, and the API's zeros are not figures; the source's status says why.
            self.report(Observation::Counters {
                host: self.client.host.clone(),
                samples: Vec::new(),
            })
            .await;
            return;
        }
        let targets = self.targets();
        if !self.cgroups.is_empty() {
            let live: HashSet<&String> = targets.iter().map(|(id, _)| id).collect();
            self.cgroups.retain(|id, _| live.contains(id));
        }

        let mut samples: Vec<CounterSample> = Vec::with_capacity(targets.len());
        let mut via_api = Vec::new();
        if let Some(mounts) = &self.mounts {
            let mut jobs = Vec::with_capacity(targets.len());
            for (id, pid) in targets {
                match pid {
                    Some(pid) => jobs.push((id, pid)),
                    None => via_api.push(id),
                }
            }
            // One blocking task reads every file; the kept descriptors travel with it and come back.
            let mut kept = self
                .kept
                .take()
                .unwrap_or_else(|| KeptFiles::new(mounts.clone(), self.memory));
            let swept = tokio::task::spawn_blocking(move || {
                let read = kept.sweep(jobs, Instant::now());
                (read, kept)
            })
            .await;
            match swept {
                Ok((read, kept)) => {
                    self.kept = Some(kept);
                    for (id, outcome) in read {
                        match outcome {
                            Outcome::Counters(counters) => {
                                samples.push(sample(id, counters, SampleMethod::Cgroup))
                            }
                            // It stopped during the sweep; its events follow.
                            Outcome::Gone => {}
                            Outcome::Unreadable => via_api.push(id),
                        }
                    }
                }
                // Its files were closed with it; the next sweep opens them again.
                Err(err) => tracing::warn!(%err, "the counter sweep failed"),
            }
        } else if let Some(read) = self.remote.as_mut().and_then(RemoteReads::take_samples) {
            // Read on the host by the interval's batched command (probe_remote, just before this).
            let mut read = read;
            for (id, _) in &targets {
                match read.remove(id) {
                    Some(counters) => {
                        samples.push(sample(id.clone(), counters, SampleMethod::Cgroup))
                    }
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
                    let result = api_stats::sample(&client.docker, client.product, &id).await;
                    (id, result)
                })
                .buffer_unordered(API_CONCURRENCY)
                .collect()
                .await;
            for (id, result) in fetched {
                match result {
                    Ok(counters) => samples.push(sample(id, counters, SampleMethod::Api)),
                    Err(err) => tracing::debug!(%id, %err, "stats sample failed"),
                }
            }
        }
        self.report(Observation::Counters {
            host: self.client.host.clone(),
            samples,
        })
        .await;
    }
}

fn sample(id: String, counters: RawCounters, method: SampleMethod) -> CounterSample {
    CounterSample {
        id,
        counters,
        method,
    }
}

pub(super) fn docker_failure(message: String) -> Failure {
    (ErrorStep::Docker, message)
}
