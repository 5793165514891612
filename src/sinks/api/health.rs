//! The Enhanced Docker Monitor's health endpoints: `/healthz` (the engine runs), `/readiness` (every source
//! delivered its first round), `/health` (each source's state, last error and its step, failures, next retry,
//! and the overall level) and `/errors` (the connection error history per host).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::routes::ApiState;
use crate::model::SourceState;

/// 200 while the engine's writer runs, 503 once it has died.
pub async fn healthz(State(state): State<Arc<ApiState>>) -> (StatusCode, Json<Value>) {
    if state.sources.control.running() {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "engine": "running"})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "error",
                "engine": "stopped",
                "message": "the engine's task has ended: restart docktray serve (its log says why)",
            })),
        )
    }
}

/// 200 once every source has delivered its first round (or failed once), 503 before.
pub async fn readiness(State(state): State<Arc<ApiState>>) -> (StatusCode, Json<Value>) {
    let snapshot = state.sources.view.snapshot();
    if state.sources.view.is_ready() {
        return (
            StatusCode::OK,
            Json(json!({"ready": true, "status": "ready", "timestamp": snapshot.taken_at})),
        );
    }
    let waiting: Vec<&str> = snapshot
        .sources
        .iter()
        .filter(|s| s.state == SourceState::Connecting)
        .map(|s| s.name.as_str())
        .collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "ready": false,
            "status": "not ready",
            "waiting_for": waiting,
            "timestamp": snapshot.taken_at,
        })),
    )
}

/// Each source's health and the overall level.
pub async fn health(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let snapshot = state.sources.view.snapshot();
    let sources: Vec<Value> = snapshot
        .sources
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "kind": s.kind,
                "endpoint": s.endpoint,
                "state": s.state,
                "healthy": matches!(s.state, SourceState::Up),
                "reason": s.reason,
                "last_error": s.last_error,
                "error_step": s.last_error.as_ref().map(|e| e.step),
                "consecutive_failures": s.consecutive_failures,
                "next_retry": s.next_retry,
                "since": s.since,
            })
        })
        .collect();
    let unhealthy = snapshot
        .sources
        .iter()
        .filter(|s| s.state != SourceState::Up)
        .count();
    Json(json!({
        "status": if unhealthy == 0 { "healthy" } else { "degraded" },
        "overall": snapshot.overall,
        "engine_running": state.sources.control.running(),
        "ready": state.sources.view.is_ready(),
        "sources": sources,
        "active_alerts": snapshot.alerts.len(),
        "containers": snapshot.containers.len(),
        "timestamp": snapshot.taken_at,
    }))
}

/// The error history of each source, by host.
pub async fn errors(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let snapshot = state.sources.view.snapshot();
    let mut hosts: BTreeMap<String, Value> = BTreeMap::new();
    let mut total = 0;
    for s in &snapshot.sources {
        total += s.errors.len();
        hosts.insert(
            format!("{}/{}", s.name, s.kind),
            json!({
                "host": s.name,
                "kind": s.kind,
                "state": s.state,
                "consecutive_failures": s.consecutive_failures,
                "next_retry": s.next_retry,
                "last_error": s.last_error,
                "errors": s.errors,
            }),
        );
    }
    Json(json!({
        "sources": hosts,
        "total_errors": total,
        "failing": snapshot.sources.iter().filter(|s| s.consecutive_failures > 0).count(),
        "timestamp": snapshot.taken_at,
    }))
}
