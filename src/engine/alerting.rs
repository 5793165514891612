//! Feeds each update the writer publishes through the alert [`Evaluator`], with what it needs from the state
//! (the container behind a sample, the containers using most of a host), and returns the alert transitions.

use std::collections::HashMap;

use chrono::Utc;

use super::state::State;
use crate::alerts::Evaluator;
use crate::model::alert::metric;
use crate::model::{
    AlertTransition, ContainerInfo, ContainerStats, DockerDiskUsage, ServerStats, TransitionKind,
    Update,
};

/// How many containers a host alert names as the likely cause.
const TOP_CONTAINERS: usize = 3;

/// The alert changes one update causes. `removed_names` names containers no longer in the state.
pub(crate) fn judge(
    evaluator: &mut Evaluator,
    state: &State,
    update: &Update,
    removed_names: &HashMap<String, String>,
) -> Vec<AlertTransition> {
    let now = Utc::now();
    match update {
        Update::Stats { containers, .. } => containers
            .iter()
            .filter_map(|(id, stats)| state.containers.get(id).map(|entry| (&entry.info, stats)))
            .flat_map(|(info, stats)| evaluator.container_stats(info, stats))
            .collect(),
        Update::Host(stats) => {
            let (top_cpu, top_memory) =
                top_containers(state, &stats.server_name, stats.memory.total_gb);
            let mut changes = evaluator.host_stats(stats, top_cpu, top_memory);
            if let Some(usage) = state.docker_disk.get(&stats.server_name) {
                name_reclaimable(evaluator, &mut changes, stats, usage);
            }
            changes
        }
        Update::ContainerChanged(info) => {
            if info.state.has_processes() {
                Vec::new()
            } else {
                evaluator.container_not_sampled(info, now)
            }
        }
        Update::ContainerRemoved { host, id } => {
            let name = removed_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.chars().take(12).collect());
            evaluator.container_removed(host, id, &name, now)
        }
        Update::Event(event) => {
            let info: Option<&ContainerInfo> =
                state.containers.get(&event.id).map(|entry| &entry.info);
            evaluator.container_event(event, info)
        }
        Update::Source(status) => evaluator.source(status, now),
        // Judged where the host is forgotten: its containers are gone from the state by then.
        Update::Forecasts(round) => evaluator.forecasts(round, now),
        Update::HostRemoved { .. }
        | Update::Alert(_)
        | Update::Proxy(_)
        | Update::Channel(_)
        | Update::Timeline(_)
        | Update::Audit(_) => Vec::new(),
    }
}

/// Container names with a figure, highest first.
type Ranking = Vec<(String, f64)>;

/// The containers of `host` using the most CPU and memory, as shares of the host (percent), highest first.
fn top_containers(state: &State, host: &str, memory_total_gb: f64) -> (Ranking, Ranking) {
    let running: Vec<(&str, &ContainerStats)> = state
        .containers
        .values()
        .filter(|entry| entry.info.host == host)
        .filter_map(|entry| {
            entry
                .stats
                .as_ref()
                .map(|stats| (entry.info.name.as_str(), stats))
        })
        .collect();
    let memory_total = memory_total_gb * 1024.0 * 1024.0 * 1024.0;
    let pick = |value: &dyn Fn(&ContainerStats) -> f64| {
        let mut list: Ranking = running
            .iter()
            .map(|(name, stats)| ((*name).to_owned(), (value(stats) * 10.0).round() / 10.0))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        list.sort_by(|a, b| b.1.total_cmp(&a.1));
        list.truncate(TOP_CONTAINERS);
        list
    };
    let cpu = pick(&|stats| stats.cpu_host_percent);
    let memory = pick(&|stats| {
        if memory_total > 0.0 {
            stats.memory_bytes as f64 / memory_total * 100.0
        } else {
            0.0
        }
    });
    (cpu, memory)
}

/// A host disk alert on the disk holding Docker's data says what Docker could free there (`docker system df`'s
/// reclaimable space), in the alert kept active and in the change that is notified.
fn name_reclaimable(
    evaluator: &mut Evaluator,
    changes: &mut [AlertTransition],
    stats: &ServerStats,
    usage: &DockerDiskUsage,
) {
    let Some(note) = usage.reclaim_note() else {
        return;
    };
    let docker_disk = usage.root_dir.as_deref().and_then(|root| {
        stats
            .disks
            .iter()
            .map(|disk| disk.mount.as_str())
            .filter(|mount| {
                let mount = mount.trim_end_matches('/');
                root == mount || root.starts_with(&format!("{mount}/"))
            })
            .max_by_key(|mount| mount.len())
    });
    for change in changes.iter_mut() {
        let on_docker_disk = match docker_disk {
            Some(mount) => change.alert.detail.as_deref() == Some(mount),
            // Where Docker keeps its data is unknown: every disk alert of the host mentions it.
            None => true,
        };
        let still_active = matches!(
            change.kind,
            TransitionKind::Raised
                | TransitionKind::Escalated
                | TransitionKind::Eased
                | TransitionKind::Reminder
        );
        if change.alert.metric == metric::HOST_DISK && on_docker_disk && still_active {
            if let Some(message) = evaluator.annotate(change.alert.id, &note) {
                change.alert.message = message;
            }
        }
    }
}
