//! Read-only views of the live state: [`View`] for sinks, and the two lookups the log machinery is wired with
//! (which containers exist, which host's client serves a container).

use std::sync::Arc;

use tokio::sync::watch;

use super::Shared;
use crate::model::{ContainerInfo, Snapshot};
use crate::sources::docker::{self, Client};
use crate::sources::logwatch;

/// The containers in the live state, for the log watcher.
pub(super) struct StateContainers(pub(super) Arc<Shared>);

impl logwatch::Containers for StateContainers {
    fn containers(&self) -> Vec<ContainerInfo> {
        self.0
            .read()
            .containers
            .values()
            .map(|entry| entry.info.clone())
            .collect()
    }
}

/// Routes a container's log stream to the client of the host it runs on.
pub(super) struct HostClients(pub(super) Arc<Shared>);

impl docker::logs::ClientLookup for HostClients {
    fn client_for(&self, container: &str) -> watch::Receiver<Option<Client>> {
        let host = self.0.host_of(container);
        match self.0.client_channel(&host) {
            Some(sender) => sender.subscribe(),
            // A host that is not watched: a receiver that never gets a client.
            None => watch::channel(None).1,
        }
    }
}

/// A read-only view of the live state for sinks that need more than an update carries (the history recorder
/// names the container behind each sample). Cheap to clone.
#[derive(Clone)]
pub struct View(pub(super) Arc<Shared>);

impl View {
    /// Everything known right now, as [`Engine::snapshot`] gives it.
    pub fn snapshot(&self) -> Snapshot {
        self.0.snapshot()
    }

    /// Whether every source has delivered its first round, as [`Engine::is_ready`] says: before that, the
    /// state does not hold every container yet.
    pub fn is_ready(&self) -> bool {
        self.0.is_ready()
    }

    /// Each container's CPU time so far, in seconds, by id (the counter `container_cpu_usage_seconds_total` is
    /// made from): the last sample's cumulative counter, for containers with one.
    pub fn cpu_seconds(&self) -> std::collections::HashMap<String, f64> {
        self.0
            .read()
            .containers
            .iter()
            .filter_map(|(id, entry)| {
                let counters = entry.previous.as_ref()?;
                Some((id.clone(), counters.0.cpu_total_ns as f64 / 1e9))
            })
            .collect()
    }

    /// The description of a container in the live state.
    pub fn container(&self, id: &str) -> Option<ContainerInfo> {
        self.0
            .read()
            .containers
            .get(id)
            .map(|entry| entry.info.clone())
    }

    /// Hands `each` the items paired with the descriptions of their containers (by id), under one read of the
    /// state and without copying a description (sinks take the few fields they keep); items of containers no
    /// longer known are skipped. Keep `each` short: the writer waits for it.
    pub fn with_described<T, R>(
        &self,
        items: &[(String, T)],
        each: impl for<'s> FnOnce(&mut dyn Iterator<Item = (&'s ContainerInfo, &'s T)>) -> R,
    ) -> R {
        let state = self.0.read();
        let mut described = items
            .iter()
            .filter_map(|(id, item)| state.containers.get(id).map(|entry| (&entry.info, item)));
        each(&mut described)
    }
}
