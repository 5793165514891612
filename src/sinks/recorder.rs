//! Feeds the history store from the engine's update stream: container and host samples at the collection
//! interval, every alert change, the engines' events and the audit entries of actions. It only queues; the store's writer thread does the disk work in batches.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::engine::View;
use crate::history::History;
use crate::model::Update;

/// Records until `shutdown` turns true or the engine stops publishing.
pub async fn run(
    view: View,
    history: Arc<History>,
    mut updates: broadcast::Receiver<Update>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let update = tokio::select! {
            update = updates.recv() => update,
            _ = shutdown.changed() => return,
        };
        match update {
            Ok(Update::Stats { containers, .. }) => {
                if !containers.is_empty() {
                    view.with_described(&containers, |samples| history.record_described(samples));
                }
            }
            Ok(Update::Host(stats)) => history.record_host(&stats),
            Ok(Update::Alert(change)) => history.record_alert(&change.alert),
            Ok(Update::Timeline(events)) => history.record_events(&events),
            Ok(Update::Audit(entry)) => history.record_audit(&entry),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(
                    skipped,
                    "history recording fell behind; some samples were not stored"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
