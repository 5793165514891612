//! One task turns the engine's updates into stream messages, each serialised once however many clients follow
//! it, into one bounded broadcast queue. A client that falls more than `[api] client_queue` messages behind is
//! told how many it lost; the queue never grows. With no client connected nothing is built at all.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::engine::View;
use crate::model::{AlertTransition, ContainerInfo, ContainerStats, Level, Update};

/// The snapshot stream sends at most one snapshot per this (as the desktop window gets them).
const SNAPSHOT_GAP: Duration = Duration::from_secs(1);

/// What a message is about, for subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// One message per sweep with every container's figures (`stats`).
    Stats,
    /// One message per container per sweep (`metrics_update`, WakeDock's shape with the figures).
    Metrics,
    /// Alert transitions (`alert`).
    Alerts,
    /// Container changes and Docker events (`container`, `container_removed`, `event`).
    Containers,
    /// Source changes (`source`, `host_removed`).
    Sources,
    /// Host and VPS figures (`host`).
    Hosts,
    /// The whole state, at most once a second (`snapshot`, the desktop window's event).
    Snapshot,
}

impl Stream {
    /// A stream by name; WakeDock's `system_status` is sources, hosts and containers together.
    pub fn parse(name: &str) -> Option<Vec<Stream>> {
        Some(match name.trim() {
            "stats" => vec![Self::Stats],
            "metrics" => vec![Self::Metrics],
            "alerts" => vec![Self::Alerts],
            "containers" => vec![Self::Containers],
            "sources" => vec![Self::Sources],
            "hosts" => vec![Self::Hosts],
            "snapshot" => vec![Self::Snapshot],
            "system_status" => vec![Self::Sources, Self::Hosts, Self::Containers],
            _ => return None,
        })
    }

    pub const NAMES: &'static str =
        "stats, metrics, alerts, containers, sources, hosts, snapshot, system_status";
}

/// One message, serialised once.
#[derive(Debug)]
pub struct Message {
    pub stream: Stream,
    pub json: Utf8Bytes,
    /// The container it is about (full id), for per-container filters.
    pub container: Option<String>,
    pub service: Option<String>,
    /// An alert's level (its previous one for a resolution).
    pub level: Option<Level>,
}

/// The shared queue and what it counts.
pub struct Hub {
    sender: broadcast::Sender<Arc<Message>>,
    /// Clients subscribed to per-container messages / snapshots: those are built only while someone wants them.
    pub metrics_wanted: AtomicUsize,
    pub snapshot_wanted: AtomicUsize,
    pub connections_total: AtomicU64,
    pub connections_active: AtomicUsize,
    pub messages_sent: AtomicU64,
}

impl Hub {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            sender: broadcast::channel(capacity.max(16)).0,
            metrics_wanted: AtomicUsize::new(0),
            snapshot_wanted: AtomicUsize::new(0),
            connections_total: AtomicU64::new(0),
            connections_active: AtomicUsize::new(0),
            messages_sent: AtomicU64::new(0),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.sender.subscribe()
    }

    fn publish(&self, message: Message) {
        let _ = self.sender.send(Arc::new(message));
    }

    fn listened(&self) -> bool {
        self.sender.receiver_count() > 0
    }
}

fn text(value: &impl Serialize) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()))
}

/// WakeDock's per-container figures, with Docktray's full figures beside them.
pub fn metrics_update(info: &ContainerInfo, stats: &ContainerStats) -> serde_json::Value {
    json!({
        "type": "metrics_update",
        "timestamp": stats.sampled_at,
        "data": {
            "container_id": info.id,
            "container_name": info.name,
            "service_name": info.compose_service,
            "host": info.host,
            "cpu_percent": stats.cpu_percent,
            "memory_usage": stats.memory_bytes,
            "memory_limit": stats.memory_limit_bytes,
            "memory_percent": stats.memory_percent,
            "network_rx_bytes": stats.net_rx_bytes,
            "network_tx_bytes": stats.net_tx_bytes,
            "pids": stats.pids,
        },
        "stats": stats,
    })
}

/// WakeDock's alert message, with the whole transition (the window's `alert` event) beside it.
pub fn alert_message(change: &AlertTransition) -> serde_json::Value {
    let alert = &change.alert;
    let container = matches!(alert.target.kind, crate::model::TargetKind::Container);
    json!({
        "type": "alert",
        "timestamp": change.at,
        "data": {
            "level": alert.level,
            "kind": change.kind,
            "message": alert.message,
            "metric_type": alert.metric,
            "value": alert.value,
            "threshold": alert.threshold,
            "container_id": container.then_some(&alert.target.id),
            "container_name": container.then_some(&alert.target.name),
            "target": alert.target,
        },
        "transition": change,
    })
}

/// Runs until the engine's updates end or `stop` is set.
pub async fn run(
    hub: Arc<Hub>,
    view: View,
    mut updates: broadcast::Receiver<Update>,
    mut stop: watch::Receiver<bool>,
) {
    let mut snapshot_due: Option<Instant> = None;
    let mut last_snapshot: Option<Instant> = None;
    loop {
        let due = snapshot_due;
        tokio::select! {
            update = updates.recv() => {
                let update = match update {
                    Ok(update) => update,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !hub.listened() {
                    continue;
                }
                if hub.snapshot_wanted.load(Ordering::Acquire) > 0 && snapshot_due.is_none() {
                    let now = Instant::now();
                    snapshot_due = Some(last_snapshot.map_or(now, |at| (at + SNAPSHOT_GAP).max(now)));
                }
                publish(&hub, &view, update);
            }
            _ = until(due) => {
                snapshot_due = None;
                last_snapshot = Some(Instant::now());
                let snapshot = view.snapshot();
                hub.publish(Message {
                    stream: Stream::Snapshot,
                    json: text(&json!({"type": "snapshot", "timestamp": snapshot.taken_at, "data": snapshot})),
                    container: None,
                    service: None,
                    level: None,
                });
            }
            _ = stop.changed() => return,
        }
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn plain(stream: Stream, json: Utf8Bytes) -> Message {
    Message {
        stream,
        json,
        container: None,
        service: None,
        level: None,
    }
}

fn publish(hub: &Hub, view: &View, update: Update) {
    let now: DateTime<Utc> = Utc::now();
    match update {
        Update::Stats { host, containers } => {
            let metrics_wanted = hub.metrics_wanted.load(Ordering::Acquire) > 0;
            // The few fields the messages need are taken under the state's read lock: no container's whole
            // description is copied per sweep.
            let (rows, metrics) = view.with_described(&containers, |described| {
                let mut rows: Vec<serde_json::Value> = Vec::with_capacity(containers.len());
                let mut metrics = Vec::new();
                for (info, stats) in described {
                    rows.push(json!({"id": info.id, "name": info.name, "host": info.host, "stats": stats}));
                    if metrics_wanted {
                        metrics.push(Message {
                            stream: Stream::Metrics,
                            json: text(&metrics_update(info, stats)),
                            container: Some(info.id.clone()),
                            service: info.compose_service.clone(),
                            level: None,
                        });
                    }
                }
                (rows, metrics)
            });
            hub.publish(plain(
                Stream::Stats,
                text(&json!({"type": "stats", "timestamp": now, "host": host, "containers": rows})),
            ));
            for message in metrics {
                hub.publish(message);
            }
        }
        Update::Alert(change) => {
            let level = match change.kind {
                crate::model::TransitionKind::Resolved => {
                    change.previous_level.unwrap_or(change.alert.level)
                }
                _ => change.alert.level,
            };
            let container = matches!(
                change.alert.target.kind,
                crate::model::TargetKind::Container
            )
            .then(|| change.alert.target.id.clone());
            hub.publish(Message {
                stream: Stream::Alerts,
                json: text(&alert_message(&change)),
                container,
                service: None,
                level: Some(level),
            });
        }
        Update::ContainerChanged(info) => hub.publish(Message {
            stream: Stream::Containers,
            json: text(&json!({"type": "container", "timestamp": now, "data": info})),
            container: Some(info.id.clone()),
            service: info.compose_service.clone(),
            level: None,
        }),
        Update::ContainerRemoved { host, id } => hub.publish(Message {
            stream: Stream::Containers,
            json: text(
                &json!({"type": "container_removed", "timestamp": now, "host": host, "id": id}),
            ),
            container: Some(id),
            service: None,
            level: None,
        }),
        // The timeline and the audit are read from the history (`GET /api/v1/events`), not streamed.
        Update::Timeline(_) | Update::Audit(_) => {}
        Update::Event(event) => hub.publish(Message {
            stream: Stream::Containers,
            json: text(&json!({"type": "event", "timestamp": event.at, "data": event})),
            container: Some(event.id.clone()),
            service: None,
            level: None,
        }),
        Update::Source(status) => hub.publish(plain(
            Stream::Sources,
            text(&json!({"type": "source", "timestamp": now, "data": status})),
        )),
        Update::HostRemoved { host } => hub.publish(plain(
            Stream::Sources,
            text(&json!({"type": "host_removed", "timestamp": now, "host": host})),
        )),
        Update::Host(stats) => hub.publish(plain(
            Stream::Hosts,
            text(&json!({"type": "host", "timestamp": stats.timestamp, "data": stats})),
        )),
        // In the snapshot stream (the forecasts and channel states are part of the snapshot).
        Update::Proxy(_) | Update::Forecasts(_) | Update::Channel(_) => {}
    }
}
