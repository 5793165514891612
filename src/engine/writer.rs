//! The engine's writer: the one task that changes the live state. It takes observations from the sources in
//! the order they were sent, applies them, runs the alert evaluator on what changed, and publishes the updates.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};

use super::alerting::judge;
use super::Shared;
use crate::alerts::Evaluator;
use crate::config::Config;
use crate::model::{AlertTransition, Observation, Update};

/// Requests from the engine handle to the writer.
pub(crate) enum Command {
    Acknowledge {
        id: u64,
        reply: oneshot::Sender<bool>,
    },
    Reconfigure(Box<Config>),
    /// A host taken out of the settings: its task has stopped; forget everything about it.
    ForgetHost {
        host: String,
        reply: oneshot::Sender<()>,
    },
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut observations: mpsc::Receiver<Observation>,
    mut commands: mpsc::Receiver<Command>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut evaluator = Evaluator::new(&shared.config);
    // Holds and clears that depend on time alone (no new sample) are checked on this tick.
    let mut ticker = tokio::time::interval(
        shared
            .config
            .interval
            .max(std::time::Duration::from_secs(1)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let updates = tokio::select! {
            observation = observations.recv() => match observation {
                Some(observation) => observe(&shared, &mut evaluator, observation),
                None => return,
            },
            command = commands.recv() => match command {
                Some(command) => execute(&shared, &mut evaluator, command),
                None => return,
            },
            _ = ticker.tick() => {
                let changes = evaluator.tick(Utc::now());
                alert_updates(&shared, &evaluator, changes)
            }
            _ = shutdown.changed() => return,
        };
        for update in updates {
            shared.publish(update);
        }
    }
}

/// Applies one observation and judges what changed; returns the updates to publish, alert changes last.
fn observe(shared: &Shared, evaluator: &mut Evaluator, observation: Observation) -> Vec<Update> {
    let mut state = shared.write();
    let applied = state.apply(observation);
    if let Some(part) = applied.ready {
        shared.readiness.send_if_modified(|readiness| {
            let before = *readiness;
            readiness.mark(part);
            before != *readiness
        });
    }
    let mut changes: Vec<AlertTransition> = applied
        .updates
        .iter()
        .flat_map(|update| judge(evaluator, &state, update, &applied.removed_names))
        .collect();
    if !applied.log_matches.is_empty() {
        changes.extend(evaluator.log_matches(&applied.log_matches));
    }
    let mut updates = applied.updates;
    if !changes.is_empty() {
        state.alerts = evaluator.active();
        updates.extend(changes.into_iter().map(|c| Update::Alert(Box::new(c))));
    }
    updates
}

fn execute(shared: &Shared, evaluator: &mut Evaluator, command: Command) -> Vec<Update> {
    match command {
        Command::Acknowledge { id, reply } => {
            let change = evaluator.acknowledge(id, Utc::now());
            let acknowledged = change.is_some();
            // The state and subscribers show the acknowledgement before the caller hears back.
            for update in alert_updates(shared, evaluator, change.into_iter().collect()) {
                shared.publish(update);
            }
            let _ = reply.send(acknowledged);
            Vec::new()
        }
        Command::Reconfigure(config) => {
            evaluator.reconfigure(&config);
            // Channels taken out of the settings are no longer shown.
            let names = crate::model::channel::configured_names(
                config
                    .notifications
                    .webhooks
                    .iter()
                    .map(|hook| hook.name.as_str()),
                config.notifications.ntfy.active(),
                config.notifications.email.active(),
            );
            shared
                .write()
                .channels
                .retain(|name, _| names.contains(name));
            Vec::new()
        }
        Command::ForgetHost { host, reply } => {
            let mut state = shared.write();
            let ids = state.forget_host(&host);
            let changes = evaluator.host_removed(&host, &ids, Utc::now());
            if !changes.is_empty() {
                state.alerts = evaluator.active();
            }
            drop(state);
            let mut updates = vec![Update::HostRemoved { host }];
            updates.extend(changes.into_iter().map(|c| Update::Alert(Box::new(c))));
            // Published before the caller hears back, so its next snapshot and subscribers agree.
            for update in updates {
                shared.publish(update);
            }
            let _ = reply.send(());
            Vec::new()
        }
    }
}

/// Stores the active set, then returns the changes as updates.
fn alert_updates(
    shared: &Shared,
    evaluator: &Evaluator,
    changes: Vec<AlertTransition>,
) -> Vec<Update> {
    if changes.is_empty() {
        return Vec::new();
    }
    shared.write().alerts = evaluator.active();
    changes
        .into_iter()
        .map(|change| Update::Alert(Box::new(change)))
        .collect()
}
