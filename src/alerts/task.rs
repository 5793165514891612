//! Runs the [`Evaluator`] on the engine's update stream: every sample, event and source change goes in, every
//! alert transition comes out on the same stream as [`Update::Alert`], and the active set is kept in the state
//! for snapshots.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::{AlertTransition, Evaluator};
use crate::config::Config;
use crate::engine::{Shared, Update};
use crate::model::ContainerInfo;

/// Requests from the engine handle to the alert task.
pub(crate) enum Command {
    Acknowledge {
        id: u64,
        reply: oneshot::Sender<bool>,
    },
    Reconfigure(Box<Config>),
}

/// How many containers a host alert names as the likely cause.
const TOP_CONTAINERS: usize = 3;

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut updates: broadcast::Receiver<Update>,
    mut commands: mpsc::Receiver<Command>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut evaluator = Evaluator::new(&shared.config);
    let mut names: HashMap<String, ContainerInfo> = HashMap::new();
    let mut ticker = tokio::time::interval(
        shared
            .config
            .interval
            .max(std::time::Duration::from_secs(1)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let changes: Vec<AlertTransition> = tokio::select! {
            update = updates.recv() => match update {
                Ok(update) => evaluate(&shared, &mut evaluator, &mut names, update),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "alert evaluation fell behind; some samples were skipped");
                    Vec::new()
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            command = commands.recv() => match command {
                Some(Command::Acknowledge { id, reply }) => {
                    let change = evaluator.acknowledge(id, Utc::now());
                    let acknowledged = change.is_some();
                    // The state shows the acknowledgement before the caller hears back.
                    publish(&shared, &evaluator, change.into_iter().collect());
                    let _ = reply.send(acknowledged);
                    Vec::new()
                }
                Some(Command::Reconfigure(config)) => {
                    evaluator.reconfigure(&config);
                    Vec::new()
                }
                None => return,
            },
            _ = ticker.tick() => evaluator.tick(Utc::now()),
            _ = shutdown.changed() => return,
        };
        publish(&shared, &evaluator, changes);
    }
}

/// Stores the active set, then tells subscribers what changed.
fn publish(shared: &Shared, evaluator: &Evaluator, changes: Vec<AlertTransition>) {
    if changes.is_empty() {
        return;
    }
    shared.write().alerts = evaluator.active();
    for change in changes {
        shared.publish(Update::Alert(Box::new(change)));
    }
}

fn evaluate(
    shared: &Shared,
    evaluator: &mut Evaluator,
    known: &mut HashMap<String, ContainerInfo>,
    update: Update,
) -> Vec<AlertTransition> {
    let now = Utc::now();
    match update {
        Update::Stats { containers, .. } => {
            let infos: Vec<(ContainerInfo, crate::model::ContainerStats)> = {
                let state = shared.read();
                containers
                    .into_iter()
                    .filter_map(|(id, stats)| {
                        state
                            .containers
                            .get(&id)
                            .map(|entry| (entry.info.clone(), stats))
                    })
                    .collect()
            };
            infos
                .iter()
                .flat_map(|(info, stats)| evaluator.container_stats(info, stats))
                .collect()
        }
        Update::Host(stats) => {
            let (top_cpu, top_memory) =
                top_containers(shared, &stats.server_name, stats.memory.total_gb);
            evaluator.host_stats(&stats, top_cpu, top_memory)
        }
        Update::ContainerChanged(info) => {
            let info = *info;
            let changes = if info.state.has_processes() {
                Vec::new()
            } else {
                evaluator.container_not_sampled(&info, now)
            };
            known.insert(info.id.clone(), info);
            changes
        }
        Update::ContainerRemoved { host, id } => {
            let name = known
                .remove(&id)
                .map(|info| info.name)
                .unwrap_or_else(|| id.chars().take(12).collect());
            evaluator.container_removed(&host, &id, &name, now)
        }
        Update::Event(event) => {
            let info = shared
                .read()
                .containers
                .get(&event.id)
                .map(|entry| entry.info.clone());
            evaluator.container_event(&event, info.as_ref())
        }
        Update::Source(status) => evaluator.source(&status, now),
        Update::HostRemoved { host } => {
            let ids: Vec<String> = known
                .values()
                .filter(|info| info.host == host)
                .map(|info| info.id.clone())
                .collect();
            for id in &ids {
                known.remove(id);
            }
            evaluator.host_removed(&host, &ids, now)
        }
        Update::Alert(_) => Vec::new(),
    }
}

/// Container names with a figure, highest first.
type Ranking = Vec<(String, f64)>;

/// The containers of `host` using the most CPU and memory, as shares of the host (percent), highest first.
fn top_containers(shared: &Shared, host: &str, memory_total_gb: f64) -> (Ranking, Ranking) {
    let state = shared.read();
    let running: Vec<(&str, &crate::model::ContainerStats)> = state
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
    let pick = |value: &dyn Fn(&crate::model::ContainerStats) -> f64| {
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
