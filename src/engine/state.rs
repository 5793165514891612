//! The live state and how observations change it. Only the engine's writer task calls [`State::apply`]; everyone
//! else reads through the engine handle (snapshots) or a [`super::View`].

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use super::rates;
use crate::model::{
    Alert, ChannelStatus, ContainerInfo, ContainerStats, CounterSample, DockerDiskUsage, Forecast,
    LogMatch, Observation, ProxyStatus, RawCounters, ReadyPart, SampleMethod, ServerStats,
    SourceState, SourceStatus, Update,
};

/// One container's entry in the live state.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub info: ContainerInfo,
    pub stats: Option<ContainerStats>,
    /// Counters of the previous sample and how they were read, kept to compute CPU and rates (only against a
    /// sample read the same way: Podman's API counts CPU against another clock than its cgroup files).
    pub previous: Option<(RawCounters, SampleMethod)>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Keyed by `name/kind`: a host and its engine share the host's name.
    pub sources: BTreeMap<String, SourceStatus>,
    /// Keyed by container id; looked up for every container each sweep, so hashed with foldhash rather than
    /// SipHash.
    pub containers: foldhash::HashMap<String, Entry>,
    pub hosts: BTreeMap<String, ServerStats>,
    /// Active alerts (warning or critical), oldest first.
    pub alerts: Vec<Alert>,
    /// Docker's latest disk usage per host (`docker system df`): names what a full disk could get back.
    pub docker_disk: BTreeMap<String, DockerDiskUsage>,
    /// The Caddy sink's last report on its routes (none while Caddy sync is off).
    pub proxy: Option<ProxyStatus>,
    /// The forecaster's latest round.
    pub forecasts: Vec<Forecast>,
    /// Each notification channel's last reported state, by name.
    pub channels: BTreeMap<String, ChannelStatus>,
}

/// Which sources have delivered their first complete sample (or given up trying).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Readiness {
    pub docker: bool,
    pub host: bool,
    /// Webdock accounts still before their first round.
    pub webdock_waiting: usize,
}

impl Readiness {
    pub fn mark(&mut self, part: ReadyPart) {
        match part {
            ReadyPart::Docker => self.docker = true,
            ReadyPart::Host => self.host = true,
            ReadyPart::Webdock => self.webdock_waiting = self.webdock_waiting.saturating_sub(1),
        }
    }

    pub fn local_ready(&self) -> bool {
        self.docker && self.host && self.webdock_waiting == 0
    }
}

/// What applying an observation changed: the updates to publish, and what the alert evaluator needs to know
/// of containers that are no longer in the state.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub updates: Vec<Update>,
    /// Names of removed containers, by id (their alerts end with a notice naming them).
    pub removed_names: HashMap<String, String>,
    /// A source delivered its first round.
    pub ready: Option<ReadyPart>,
    /// Log-pattern counts for the alert evaluator (they change no state of their own).
    pub log_matches: Vec<LogMatch>,
}

impl Applied {
    fn one(update: Update) -> Self {
        Self {
            updates: vec![update],
            ..Self::default()
        }
    }
}

impl State {
    /// Turns one observation into state changes and the updates that announce them.
    pub fn apply(&mut self, observation: Observation) -> Applied {
        match observation {
            Observation::Source(status) => self.source(status),
            Observation::Containers { host, containers } => self.listing(&host, containers),
            Observation::Container { info, new_run } => {
                if new_run {
                    if let Some(entry) = self.containers.get_mut(&info.id) {
                        entry.previous = None;
                        entry.stats = None;
                    }
                }
                self.upsert(info.as_ref().clone());
                Applied::one(Update::ContainerChanged(info))
            }
            Observation::ContainerGone { host, id } => {
                let mut applied = Applied::default();
                self.remove(host, id, &mut applied);
                applied
            }
            Observation::Counters { host, samples } => self.counters(host, samples),
            Observation::EngineLost { host } => {
                for entry in self.containers.values_mut() {
                    if entry.info.host == host {
                        entry.stats = None;
                        entry.previous = None;
                    }
                }
                Applied::default()
            }
            Observation::Server(stats) => {
                self.hosts
                    .insert(stats.server_name.clone(), (*stats).clone());
                Applied::one(Update::Host(stats))
            }
            Observation::VpsRound { account, seen } => {
                self.hosts.retain(|name, stats| {
                    stats.vps.as_ref().is_none_or(|vps| vps.account != account)
                        || seen.contains(name)
                });
                Applied::default()
            }
            Observation::Event(event) => Applied::one(Update::Event(event)),
            // Nothing in the live state: the timeline lives in the history.
            Observation::Timeline { events, .. } => Applied::one(Update::Timeline(events)),
            Observation::Ready(part) => Applied {
                ready: Some(part),
                ..Applied::default()
            },
            Observation::DiskUsage(usage) => {
                self.docker_disk.insert(usage.host.clone(), *usage);
                Applied::default()
            }
            Observation::Proxy(status) => {
                self.proxy = Some((*status).clone());
                Applied::one(Update::Proxy(status))
            }
            Observation::Forecasts(round) => {
                self.forecasts = round.clone();
                Applied::one(Update::Forecasts(round))
            }
            Observation::LogMatches(matches) => Applied {
                log_matches: matches,
                ..Applied::default()
            },
            Observation::Channel(status) => {
                self.channels.insert(status.name.clone(), (*status).clone());
                Applied::one(Update::Channel(status))
            }
        }
    }

    fn source(&mut self, status: SourceStatus) -> Applied {
        let key = format!("{}/{}", status.name, status.kind);
        let was_unreachable = self
            .sources
            .get(&key)
            .is_some_and(|before| before.state == SourceState::Unreachable);
        if status.kind == "docker" && status.state == SourceState::Unreachable && !was_unreachable {
            // The host's last figures stay, marked as no longer current.
            if let Some(host) = self.hosts.get_mut(&status.name) {
                host.status = "unreachable".to_owned();
            }
        }
        self.sources.insert(key, status.clone());
        Applied::one(Update::Source(status))
    }

    /// A full listing: containers of the host that vanished are removed (no ghosts after a missed event), new
    /// ones added, changed ones updated.
    fn listing(&mut self, host: &str, containers: Vec<ContainerInfo>) -> Applied {
        let listed: std::collections::HashSet<&str> =
            containers.iter().map(|info| info.id.as_str()).collect();
        let vanished: Vec<String> = self
            .containers
            .iter()
            .filter(|(id, entry)| entry.info.host == host && !listed.contains(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        let mut applied = Applied::default();
        for id in vanished {
            self.remove(host.to_owned(), id, &mut applied);
        }
        for info in containers {
            self.upsert(info.clone());
            applied
                .updates
                .push(Update::ContainerChanged(Box::new(info)));
        }
        applied
    }

    fn remove(&mut self, host: String, id: String, applied: &mut Applied) {
        if let Some(entry) = self.containers.remove(&id) {
            applied.removed_names.insert(id.clone(), entry.info.name);
            applied.updates.push(Update::ContainerRemoved { host, id });
        }
    }

    /// Inserts or updates a container's info, keeping its figures.
    fn upsert(&mut self, info: ContainerInfo) {
        match self.containers.get_mut(&info.id) {
            Some(entry) => entry.info = info,
            None => {
                self.containers.insert(
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

    /// A sweep's counters become figures (rates against each container's previous counters); containers of
    /// the host without processes keep none. One update for the whole sweep.
    fn counters(&mut self, host: String, samples: Vec<CounterSample>) -> Applied {
        let now = Utc::now();
        let mut published: Vec<(String, ContainerStats)> = Vec::with_capacity(samples.len());
        for sample in samples {
            let Some(entry) = self.containers.get_mut(&sample.id) else {
                continue;
            };
            if let Some((previous, _)) = entry
                .previous
                .as_ref()
                .filter(|(_, method)| *method == sample.method)
            {
                let stats = rates::container_stats(previous, &sample.counters, sample.method, now);
                entry.stats = Some(stats.clone());
                published.push((sample.id, stats));
            }
            entry.previous = Some((sample.counters, sample.method));
        }
        for entry in self.containers.values_mut() {
            if entry.info.host == host && !entry.info.state.has_processes() {
                entry.stats = None;
                entry.previous = None;
            }
        }
        Applied::one(Update::Stats {
            host,
            containers: published.into(),
        })
    }

    /// Forgets a host taken out of the settings: its containers, figures and status. Returns the ids of its
    /// containers (their alerts are closed).
    pub fn forget_host(&mut self, host: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, entry)| entry.info.host == host)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.containers.remove(id);
        }
        self.hosts.remove(host);
        self.docker_disk.remove(host);
        self.sources.retain(|_, source| {
            source.name != host || matches!(source.kind.as_str(), "webdock" | "caddy")
        });
        ids
    }
}
