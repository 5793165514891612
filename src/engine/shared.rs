//! The state the writer task and the engine handle share: the live state (written by the writer alone), the
//! update channel, readiness, and each watched host's connection and retry signal.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch, Notify};

use super::state::{Readiness, State};
use crate::alerts::overall_level;
use crate::config::Config;
use crate::error::Result;
use crate::model::{
    Actor, AuditTarget, ContainerSnapshot, ServiceRegistry, Snapshot, SourceState, SourceStatus,
    Update, LOCAL_HOST,
};
use crate::sources::docker::{Client, SessionSettings};

/// State shared by the writer task and the engine handle. Only the writer writes `state`.
pub(crate) struct Shared {
    pub config: Config,
    pub(super) state: RwLock<State>,
    pub(super) updates: broadcast::Sender<Update>,
    pub(super) readiness: watch::Sender<Readiness>,
    /// Each host's current engine connection (`None` while unreachable), by host name; its source fills it in.
    /// Actions and logs use it. Entries change only when hosts are added or removed.
    pub(super) clients: RwLock<BTreeMap<String, watch::Sender<Option<Client>>>>,
    /// Wakes a host's retry wait at once ("retry now").
    pub(super) retry: RwLock<BTreeMap<String, Arc<Notify>>>,
    /// Each host's last stored timeline event (engine time): its source back-fills from there.
    pub(super) resume: BTreeMap<String, DateTime<Utc>>,
}

/// Reads a lock even if a holder panicked (the maps stay consistent: every write is a single insert or remove).
pub(super) fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(super) fn read(&self) -> RwLockReadGuard<'_, State> {
        read_lock(&self.state)
    }

    /// For the writer task only.
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, State> {
        write_lock(&self.state)
    }

    /// Publishes an update; having no subscriber is normal.
    pub(super) fn publish(&self, update: Update) {
        let _ = self.updates.send(update);
    }

    /// Publishes who did what and how it ended, for the history (see [`Engine::act`]).
    pub(super) fn audit<T>(
        &self,
        actor: &Actor,
        host: &str,
        target: AuditTarget,
        action: &str,
        result: &Result<T>,
    ) {
        let outcome = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        let entry = actor.entry(host, target, action, outcome);
        self.publish(Update::Audit(Box::new(entry)));
    }

    pub(super) fn session_settings(&self) -> SessionSettings {
        SessionSettings {
            interval: self.config.interval,
            reconcile_every: self.config.docker.reconcile_every,
        }
    }

    /// Starts watching a host: the slot its source puts its connection in, and its retry signal.
    pub(super) fn register_host(&self, host: &str) -> (watch::Sender<Option<Client>>, Arc<Notify>) {
        let slot = watch::channel(None).0;
        let retry = Arc::new(Notify::new());
        write_lock(&self.clients).insert(host.to_owned(), slot.clone());
        write_lock(&self.retry).insert(host.to_owned(), retry.clone());
        (slot, retry)
    }

    /// Lets go of a host whose source task has ended: its connection and retry signal.
    pub(super) fn unregister_host(&self, host: &str) {
        if let Some(sender) = write_lock(&self.clients).remove(host) {
            // Log streams following its containers see the engine go away, then the channel close.
            sender.send_replace(None);
        }
        write_lock(&self.retry).remove(host);
    }

    /// A host's connection channel, if the host is watched.
    pub(super) fn client_channel(&self, host: &str) -> Option<watch::Sender<Option<Client>>> {
        read_lock(&self.clients).get(host).cloned()
    }

    /// The remote hosts being watched, by name.
    pub(super) fn remote_names(&self) -> Vec<String> {
        read_lock(&self.clients)
            .keys()
            .filter(|name| name.as_str() != LOCAL_HOST)
            .cloned()
            .collect()
    }

    /// Everything known right now, containers sorted by host, compose project and name, with the services
    /// their labels describe and Caddy's state for each.
    pub(super) fn snapshot(&self) -> Snapshot {
        let now = Utc::now();
        let state = self.read();
        let mut containers: Vec<ContainerSnapshot> = state
            .containers
            .values()
            .map(|entry| {
                let mut info = entry.info.clone();
                info.status = crate::model::status_text(&info, now);
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
        let registry = ServiceRegistry::build(
            containers.iter().map(|c| &c.info),
            &self.config.services.label_prefix,
        )
        .with_routes(state.proxy.as_ref());
        let sources: Vec<SourceStatus> = state.sources.values().cloned().collect();
        Snapshot {
            taken_at: now,
            overall: overall_level(&state.alerts, &sources),
            alerts: state.alerts.clone(),
            sources,
            hosts: state.hosts.values().cloned().collect(),
            containers,
            services: registry.services,
            service_problems: registry.problems,
            proxy: state.proxy.clone(),
            forecasts: state.forecasts.clone(),
            channels: state.channels.values().cloned().collect(),
        }
    }

    /// Whether every source has delivered its first round (or failed once): the local engine and host, and
    /// each remote host (up with its figures, or failed).
    pub(super) fn is_ready(&self) -> bool {
        self.readiness.borrow().local_ready() && self.remotes_settled()
    }

    /// Whether every remote host has either failed once or is up with its first figures.
    pub(super) fn remotes_settled(&self) -> bool {
        let names = self.remote_names();
        let state = self.read();
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

    /// The host a container runs on (the local one when it is not known yet).
    pub(super) fn host_of(&self, container: &str) -> String {
        self.read()
            .containers
            .get(container)
            .map_or_else(|| LOCAL_HOST.to_owned(), |entry| entry.info.host.clone())
    }
}
