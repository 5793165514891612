//! WakeDock's monitoring API under `/api/v1/monitoring/`: status, monitored containers, metrics from the
//! history (GET and POST query), recorded alerts, and the thresholds (GET; PUT saves into the config file with
//! its comments kept and applies at once; a bad value is 422 naming the field and leaves the file alone).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::containers::Params;
use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use crate::config::Threshold;
use crate::error::ConfigError;
use crate::history::{AlertQuery, Resolution, SeriesQuery, SeriesTarget};
use crate::model::{ContainerInfo, Level, TargetKind};

/// Longest range a metrics query may ask for (the rollups' default retention).
const MAX_HOURS: f64 = 30.0 * 24.0;
const MAX_LIMIT: usize = 100_000;

pub async fn status(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let snapshot = state.sources.view.snapshot();
    let config = state.config();
    let hub = &state.hub;
    Json(json!({
        "monitoring": {
            "is_running": state.sources.control.running(),
            "monitored_containers": snapshot.containers.iter().filter(|c| c.info.state.has_processes()).count(),
            "collection_interval": config.interval.as_secs_f64(),
            "retention_days": config.history.raw_retention.as_secs_f64() / 86400.0,
            "history": state.sources.history.is_some(),
        },
        "websocket": {
            "active_connections": hub.connections_active.load(Ordering::Relaxed),
            "total_connections": hub.connections_total.load(Ordering::Relaxed),
            "messages_sent": hub.messages_sent.load(Ordering::Relaxed),
        },
        "overall": snapshot.overall,
        "timestamp": snapshot.taken_at,
    }))
}

pub async fn containers(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let snapshot = state.sources.view.snapshot();
    let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
    let containers: Vec<Value> = snapshot
        .containers
        .iter()
        .filter(|c| c.info.state.has_processes())
        .map(|c| {
            let stats = c.stats.as_ref();
            json!({
                "container_id": c.info.id,
                "container_name": c.info.name,
                "service_name": c.info.compose_service,
                "host": c.info.host,
                "last_update": stats.map(|s| s.sampled_at),
                "cpu_percent": stats.map(|s| s.cpu_percent),
                "memory_percent": stats.map(|s| s.memory_percent),
                "network_rx_mb": stats.map(|s| mib(s.net_rx_bytes)),
                "network_tx_mb": stats.map(|s| mib(s.net_tx_bytes)),
            })
        })
        .collect();
    Json(
        json!({"containers": containers, "count": containers.len(), "timestamp": snapshot.taken_at}),
    )
}

/// The body of `POST /api/v1/monitoring/metrics/query` (the query parameters of the GET, as JSON).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// A container id, id prefix, name or HOST:NAME; all containers when absent.
    pub container_id: Option<String>,
    /// Only the containers of this compose service.
    pub service_name: Option<String>,
    /// Hours back from now (default 1, at most 720).
    pub hours: Option<f64>,
    /// At most this many rows, newest kept (default 1000).
    pub limit: Option<usize>,
}

pub async fn metrics(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Value>>> {
    let params = Params(params);
    let query = MetricsQuery {
        container_id: params.text("container_id").map(str::to_owned),
        service_name: params.text("service_name").map(str::to_owned),
        hours: params.number("hours", "a number of hours such as 1 or 0.5")?,
        limit: params.number("limit", "a whole number of rows such as 1000")?,
    };
    metrics_rows(&state, query).await.map(Json)
}

pub async fn metrics_query(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<MetricsQuery>, JsonRejection>,
) -> ApiResult<Json<Vec<Value>>> {
    let Json(query) = body.map_err(ApiError::body)?;
    metrics_rows(&state, query).await.map(Json)
}

async fn metrics_rows(state: &ApiState, query: MetricsQuery) -> ApiResult<Vec<Value>> {
    let hours = query.hours.unwrap_or(1.0);
    if !(hours > 0.0 && hours <= MAX_HOURS) {
        return Err(ApiError::bad_parameter(
            "hours",
            format!("`hours` must be above 0 and at most {MAX_HOURS}"),
        ));
    }
    let limit = query.limit.unwrap_or(1000);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_parameter(
            "limit",
            format!("`limit` must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let Some(history) = state.sources.history.clone() else {
        return Err(ApiError::unavailable(
            "the history is off ([history] enabled = false, or docktray serve --no-history): no metrics are kept",
        ));
    };
    let snapshot = state.sources.view.snapshot();
    let containers: Vec<ContainerInfo> = match &query.container_id {
        Some(wanted) => vec![super::containers::find(&snapshot, wanted)?.info.clone()],
        None => snapshot.containers.iter().map(|c| c.info.clone()).collect(),
    }
    .into_iter()
    .filter(|c| {
        query
            .service_name
            .as_ref()
            .is_none_or(|s| c.compose_service.as_deref() == Some(s))
    })
    .collect();
    let until = Utc::now();
    let since = until - TimeDelta::milliseconds((hours * 3_600_000.0) as i64);
    let rows = tokio::task::spawn_blocking(move || {
        let mut rows: Vec<(chrono::DateTime<Utc>, Value)> = Vec::new();
        for info in containers {
            let mut columns: BTreeMap<&str, Vec<crate::history::Point>> = BTreeMap::new();
            for metric in [
                "cpu_percent",
                "memory_bytes",
                "memory_limit_bytes",
                "memory_percent",
                "net_rx_bytes_per_s",
                "net_tx_bytes_per_s",
                "pids",
            ] {
                let series = history.query(&SeriesQuery {
                    target: SeriesTarget::Container {
                        host: Some(info.host.clone()),
                        id_or_name: info.id.clone(),
                    },
                    metric: metric.to_owned(),
                    since,
                    until,
                    limit: Some(limit),
                    resolution: Resolution::Auto,
                })?;
                columns.insert(metric, series.points);
            }
            let value = |metric: &str, index: usize| {
                columns
                    .get(metric)
                    .and_then(|points| points.get(index))
                    .map(|p| p.avg)
            };
            let count = columns.get("cpu_percent").map_or(0, Vec::len);
            for index in 0..count {
                let Some(at) = columns
                    .get("cpu_percent")
                    .and_then(|p| p.get(index))
                    .map(|p| p.at)
                else {
                    continue;
                };
                rows.push((
                    at,
                    json!({
                        "container_id": info.id,
                        "container_name": info.name,
                        "service_name": info.compose_service,
                        "host": info.host,
                        "timestamp": at,
                        "cpu_percent": value("cpu_percent", index),
                        "memory_usage": value("memory_bytes", index).map(|v| v as u64),
                        "memory_limit": value("memory_limit_bytes", index).map(|v| v as u64),
                        "memory_percent": value("memory_percent", index),
                        // Docktray keeps rates, not running totals, in the history.
                        "network_rx_bytes": Value::Null,
                        "network_tx_bytes": Value::Null,
                        "network_rx_bytes_per_s": value("net_rx_bytes_per_s", index),
                        "network_tx_bytes_per_s": value("net_tx_bytes_per_s", index),
                        "pids": value("pids", index).map(|v| v as u64),
                    }),
                ));
            }
        }
        rows.sort_by_key(|(at, _)| *at);
        let skip = rows.len().saturating_sub(limit);
        Ok::<_, crate::history::HistoryError>(rows.into_iter().skip(skip).map(|(_, v)| v).collect())
    })
    .await
    .map_err(|err| ApiError::internal(format!("the history query failed: {err}")))?
    .map_err(|err| ApiError::internal(format!("the history query failed: {err}")))?;
    Ok(rows)
}

pub async fn alerts(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Value>>> {
    let params = Params(params);
    let level = params
        .text("level")
        .map(|l| match Level::parse(l) {
            Some(level) if level != Level::Resolved => Ok(level),
            _ => Err(ApiError::bad_parameter(
                "level",
                "`level` must be info, warning or critical",
            )),
        })
        .transpose()?;
    let hours: f64 = params
        .number("hours", "a number of hours such as 24")?
        .unwrap_or(24.0);
    if !(hours > 0.0 && hours <= MAX_HOURS) {
        return Err(ApiError::bad_parameter(
            "hours",
            format!("`hours` must be above 0 and at most {MAX_HOURS}"),
        ));
    }
    let since = Utc::now() - TimeDelta::milliseconds((hours * 3_600_000.0) as i64);
    let alerts = match state.sources.history.clone() {
        Some(history) => {
            let query = AlertQuery {
                level,
                since: Some(since),
                until: None,
                active_only: false,
                limit: Some(10_000),
            };
            tokio::task::spawn_blocking(move || history.alerts(&query))
                .await
                .map_err(|err| ApiError::internal(err.to_string()))?
                .map_err(|err| ApiError::internal(format!("reading the alerts failed: {err}")))?
        }
        None => state
            .sources
            .view
            .snapshot()
            .alerts
            .into_iter()
            .filter(|a| level.is_none_or(|l| a.level >= l))
            .collect(),
    };
    Ok(Json(
        alerts
            .iter()
            .map(|a| {
                let container = a.target.kind == TargetKind::Container;
                json!({
                    "id": a.id,
                    "container_id": container.then_some(&a.target.id),
                    "container_name": container.then_some(&a.target.name),
                    "target": a.target,
                    "timestamp": a.started_at,
                    "resolved_at": a.resolved_at,
                    "level": a.level,
                    "metric_type": a.metric,
                    "value": a.value,
                    "threshold": a.threshold,
                    "unit": a.unit,
                    "message": a.message,
                    "acknowledged": a.acknowledged,
                })
            })
            .collect(),
    ))
}

/// WakeDock's metric names for Docktray's thresholds.
const WAKEDOCK_NAMES: &[(&str, &str)] = &[
    ("cpu_percent", "container_cpu_percent"),
    ("memory_percent", "container_memory_percent"),
    ("network_rx", "container_net_rx_mb_per_s"),
    ("network_tx", "container_net_tx_mb_per_s"),
];

/// One threshold as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdView {
    /// Docktray's name (the key under `[thresholds]`).
    pub metric_type: String,
    /// WakeDock's name for it, where it has one.
    pub wakedock_name: Option<String>,
    pub warning_threshold: f64,
    pub critical_threshold: f64,
    pub enabled: bool,
    pub unit: String,
    /// How long a level must hold, when it differs from `[alerts] hold`.
    pub hold: Option<String>,
}

fn view(name: &str, threshold: Threshold, unit: &str) -> ThresholdView {
    ThresholdView {
        metric_type: name.to_owned(),
        wakedock_name: WAKEDOCK_NAMES
            .iter()
            .find(|(_, ours)| *ours == name)
            .map(|(theirs, _)| (*theirs).to_owned()),
        warning_threshold: threshold.warning,
        critical_threshold: threshold.critical,
        enabled: threshold.enabled,
        unit: unit.to_owned(),
        hold: threshold.hold.map(crate::util::format_duration),
    }
}

pub async fn thresholds(State(state): State<Arc<ApiState>>) -> Json<Vec<ThresholdView>> {
    let config = state.config();
    Json(
        config
            .thresholds
            .entries()
            .into_iter()
            .map(|(name, threshold, _, unit)| view(name, threshold, unit))
            .collect(),
    )
}

/// The body of `PUT /api/v1/monitoring/thresholds/{metric}` (WakeDock's shape); fields left out keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdUpdate {
    /// The metric again (WakeDock sends it); must match the path when given.
    pub metric_type: Option<String>,
    pub warning_threshold: Option<f64>,
    pub critical_threshold: Option<f64>,
    pub enabled: Option<bool>,
}

/// Changes one threshold: validated as the window validates, saved into the config file (comments kept),
/// applied at once.
pub async fn put_threshold(
    State(state): State<Arc<ApiState>>,
    Path(metric): Path<String>,
    body: Result<Json<ThresholdUpdate>, JsonRejection>,
) -> ApiResult<Json<ThresholdView>> {
    let Json(update) = body.map_err(ApiError::body)?;
    let name = WAKEDOCK_NAMES
        .iter()
        .find(|(theirs, _)| *theirs == metric)
        .map_or(metric.as_str(), |(_, ours)| ours)
        .to_owned();
    let _saving = state.saving.lock().await;
    let (mut config, path) = state.sources.control.settings();
    let Some(current) = config.thresholds.get(&name) else {
        let names: Vec<&str> = config.thresholds.entries().iter().map(|e| e.0).collect();
        return Err(ApiError::not_found(format!(
            "no threshold named '{}': use one of {} (or WakeDock's cpu_percent, memory_percent, network_rx, network_tx)",
            metric.chars().take(60).collect::<String>(),
            names.join(", ")
        )));
    };
    if let Some(given) = &update.metric_type {
        if *given != metric && *given != name {
            return Err(ApiError::unprocessable(
                "metric_type",
                format!("`metric_type` is '{given}' but the path names '{metric}'"),
            ));
        }
    }
    let changed = Threshold {
        warning: update.warning_threshold.unwrap_or(current.warning),
        critical: update.critical_threshold.unwrap_or(current.critical),
        enabled: update.enabled.unwrap_or(current.enabled),
        hold: current.hold,
    };
    set_threshold(&mut config.thresholds, &name, changed);
    if let Err(err) = config.validate(&path) {
        return Err(refusal(err));
    }
    let saved = config.clone();
    let file = path.clone();
    tokio::task::spawn_blocking(move || crate::config::file::save(&file, &saved))
        .await
        .map_err(|err| ApiError::internal(format!("saving the settings failed: {err}")))?
        .map_err(|err| match err {
            crate::config::file::SaveError::Invalid(inner) => refusal(inner),
            other => ApiError::internal(other.to_string()),
        })?;
    tracing::info!(metric = %name, path = %path.display(), "threshold changed through the API");
    state
        .sources
        .control
        .apply(config.clone())
        .await
        .map_err(|err| {
            ApiError::internal(format!(
                "the threshold was saved but could not be applied: {err}"
            ))
        })?;
    let unit = config.thresholds.unit(&name).unwrap_or_default();
    Ok(Json(view(&name, changed, unit)))
}

/// A validation failure as 422, naming the body field (`warning_threshold` ...) when it is one.
fn refusal(err: ConfigError) -> ApiError {
    let field = match &err {
        ConfigError::Invalid { key, .. } if key.ends_with(".warning") => "warning_threshold",
        ConfigError::Invalid { key, .. } if key.ends_with(".critical") => "critical_threshold",
        ConfigError::Invalid { key, .. } if key.ends_with(".enabled") => "enabled",
        _ => "body",
    };
    ApiError::unprocessable(field, format!("`{field}`: {err}"))
}

fn set_threshold(thresholds: &mut crate::config::Thresholds, name: &str, value: Threshold) {
    let slot = match name {
        "container_cpu_percent" => &mut thresholds.container_cpu_percent,
        "container_memory_percent" => &mut thresholds.container_memory_percent,
        "container_net_rx_mb_per_s" => &mut thresholds.container_net_rx_mb_per_s,
        "container_net_tx_mb_per_s" => &mut thresholds.container_net_tx_mb_per_s,
        "host_cpu_percent" => &mut thresholds.host_cpu_percent,
        "host_memory_percent" => &mut thresholds.host_memory_percent,
        "host_disk_percent" => &mut thresholds.host_disk_percent,
        "vps_network_quota_percent" => &mut thresholds.vps_network_quota_percent,
        _ => return,
    };
    *slot = value;
}
