//! Containers and servers: `/containers` (filters), `/containers/{ref}`, `/containers/summary`, actions, the
//! Dockpeek `/server-stats`, and the service answers prepared by the Caddy sink (`/labels`, `/ips` ...).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use crate::model::{Action, Actor, ContainerSnapshot, ContainerState, ServerStats, Snapshot};
use crate::sinks::caddy::shapes;

/// Query parameters, read one by one so a bad value gets a 400 naming it.
pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, expected: &str) -> ApiResult<Option<T>> {
        self.text(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_parameter(name, format!("`{name}` must be {expected}"))
                })
            })
            .transpose()
    }

    pub fn flag(&self, name: &str) -> ApiResult<Option<bool>> {
        self.text(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                _ => Err(ApiError::bad_parameter(
                    name,
                    format!("`{name}` must be true or false"),
                )),
            })
            .transpose()
    }

    /// A time: RFC 3339, Unix seconds, or a duration ago (`10m`).
    pub fn time(&self, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        if let Some(ago) =
            crate::util::parse_duration(text).and_then(|d| chrono::TimeDelta::from_std(d).ok())
        {
            return Ok(Some(Utc::now() - ago));
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(Some(at.with_timezone(&Utc)));
        }
        if let Some(at) = text
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
        {
            return Ok(Some(at));
        }
        Err(ApiError::bad_parameter(
            name,
            format!(
                "`{name}` must be a time: RFC 3339 (2026-11-23T08:00:00Z), Unix seconds, or a duration ago (10m)"
            ),
        ))
    }
}

/// Finds a container by id, unique id prefix, name, or `host:name`.
pub fn find<'a>(snapshot: &'a Snapshot, wanted: &str) -> ApiResult<&'a ContainerSnapshot> {
    let wanted = wanted.trim().trim_start_matches('/');
    if let Some((host, name)) = wanted.split_once(':') {
        if let Some(found) = snapshot
            .containers
            .iter()
            .find(|c| c.info.host == host && c.info.name == name)
        {
            return Ok(found);
        }
    }
    let named: Vec<&ContainerSnapshot> = snapshot
        .containers
        .iter()
        .filter(|c| c.info.name == wanted || c.info.id == wanted)
        .collect();
    if named.len() == 1 {
        return Ok(named[0]);
    }
    if named.len() > 1 {
        return Err(ApiError::not_found(format!(
            "'{wanted}' names containers on several hosts: use HOST:NAME or the id"
        )));
    }
    let prefixed: Vec<&ContainerSnapshot> = snapshot
        .containers
        .iter()
        .filter(|c| wanted.len() >= 4 && c.info.id.starts_with(wanted))
        .collect();
    match prefixed.as_slice() {
        [one] => Ok(one),
        [] => Err(ApiError::not_found(format!(
            "no container with the id, id prefix, name or HOST:NAME '{}' (GET /containers lists them)",
            wanted.chars().take(100).collect::<String>()
        ))),
        _ => Err(ApiError::not_found(format!(
            "the id prefix '{wanted}' matches several containers: give more characters"
        ))),
    }
}

/// `GET /containers?host=&state=&project=`.
pub async fn list(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let params = Params(params);
    let wanted_state = params
        .text("state")
        .map(|s| match ContainerState::parse(s) {
            ContainerState::Unknown if s != "unknown" => Err(ApiError::bad_parameter(
                "state",
                "`state` must be one of created, running, paused, restarting, removing, exited, dead",
            )),
            parsed => Ok(parsed),
        })
        .transpose()?;
    let host = params.text("host");
    let project = params.text("project").or(params.text("compose_project"));
    let snapshot = state.sources.view.snapshot();
    let containers: Vec<&ContainerSnapshot> = snapshot
        .containers
        .iter()
        .filter(|c| host.is_none_or(|h| c.info.host == h))
        .filter(|c| wanted_state.is_none_or(|s| c.info.state == s))
        .filter(|c| project.is_none_or(|p| c.info.compose_project.as_deref() == Some(p)))
        .collect();
    Ok(Json(json!({
        "containers": containers,
        "count": containers.len(),
        "timestamp": snapshot.taken_at,
    })))
}

/// `GET /containers/{ref}`: its description and live figures.
pub async fn one(
    State(state): State<Arc<ApiState>>,
    Path(wanted): Path<String>,
) -> ApiResult<Json<ContainerSnapshot>> {
    let snapshot = state.sources.view.snapshot();
    find(&snapshot, &wanted).cloned().map(Json)
}

/// `GET /containers/summary`: counts by host and state.
pub async fn summary(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let snapshot = state.sources.view.snapshot();
    let mut by_host: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &snapshot.containers {
        *by_host
            .entry(&c.info.host)
            .or_default()
            .entry(c.info.state.as_str())
            .or_default() += 1;
        *by_state.entry(c.info.state.as_str()).or_default() += 1;
    }
    let hosts: BTreeMap<&str, Value> = by_host
        .into_iter()
        .map(|(host, states)| {
            let total: usize = states.values().sum();
            (host, json!({"total": total, "states": states}))
        })
        .collect();
    Json(json!({
        "total_containers": snapshot.containers.len(),
        "running": by_state.get("running").copied().unwrap_or(0),
        "by_state": by_state,
        "hosts": hosts,
        "timestamp": snapshot.taken_at,
    }))
}

/// `POST /containers/{ref}/{action}`, only with `[api] allow_actions = true`.
pub async fn act(
    State(state): State<Arc<ApiState>>,
    Path((wanted, action)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let action = match action.as_str() {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "restart" => Action::Restart,
        "pause" => Action::Pause,
        "unpause" => Action::Unpause,
        _ => {
            return Err(ApiError::not_found(
                "no such action: use start, stop, restart, pause or unpause",
            ))
        }
    };
    if !state.api.allow_actions {
        return Err(ApiError::forbidden(
            "container actions are off for the API: set allow_actions = true in [api] of the config file (or \
             DOCKTRAY_API__ALLOW_ACTIONS=true) and restart docktray serve",
        ));
    }
    let snapshot = state.sources.view.snapshot();
    let container = find(&snapshot, &wanted)?;
    let id = container.info.id.clone();
    state
        .sources
        .control
        .act(&id, action, &Actor::api(super::token::TOKEN_NAME))
        .await
        .map_err(ApiError::from_engine)?;
    tracing::info!(container = %container.info.name, action = action.as_str(), "action through the API");
    Ok(Json(json!({
        "container_id": id,
        "name": container.info.name,
        "host": container.info.host,
        "action": action.as_str(),
        "ok": true,
    })))
}

/// The Dockpeek `/server-stats` answer: every Docker host and Webdock VPS in the normalised form.
#[derive(Serialize)]
pub struct ServerStatsAnswer {
    pub stats: Vec<ServerStats>,
    pub timestamp: DateTime<Utc>,
    pub count: usize,
}

pub async fn server_stats(State(state): State<Arc<ApiState>>) -> Json<ServerStatsAnswer> {
    let snapshot = state.sources.view.snapshot();
    Json(ServerStatsAnswer {
        count: snapshot.hosts.len(),
        stats: snapshot.hosts,
        timestamp: snapshot.taken_at,
    })
}

/// `GET /server-stats/{name}`: one host or VPS (by its server name, or a VPS's slug).
pub async fn server_stats_one(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<ServerStats>> {
    let snapshot = state.sources.view.snapshot();
    snapshot
        .hosts
        .into_iter()
        .find(|h| h.server_name == name || h.vps.as_ref().is_some_and(|v| v.slug == name))
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no host or VPS named '{}' (GET /server-stats lists them)",
                name.chars().take(100).collect::<String>()
            ))
        })
}

/// `GET /api/v1/snapshot`: everything, as the desktop window gets it.
pub async fn snapshot(State(state): State<Arc<ApiState>>) -> Json<Snapshot> {
    Json(state.sources.view.snapshot())
}

pub async fn services(State(state): State<Arc<ApiState>>) -> Json<shapes::ServicesAnswer> {
    Json(shapes::services(
        &state.sources.view.snapshot(),
        &state.config(),
    ))
}

pub async fn services_schema(State(state): State<Arc<ApiState>>) -> Json<shapes::SchemaAnswer> {
    Json(shapes::schema(&state.config(), Utc::now()))
}

pub async fn labels(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<BTreeMap<String, BTreeMap<String, String>>> {
    let mut config = state.config();
    if let Some(prefix) = Params(params).text("prefix") {
        config.services.label_prefix = prefix.to_owned();
    }
    Json(shapes::labels(&state.sources.view.snapshot(), &config))
}

pub async fn caddy(State(state): State<Arc<ApiState>>) -> Json<shapes::CaddyAnswer> {
    Json(shapes::caddy(
        &state.sources.view.snapshot(),
        &state.config(),
    ))
}

pub async fn caddy_status(State(state): State<Arc<ApiState>>) -> Json<shapes::CaddyStatusAnswer> {
    Json(shapes::caddy_status(
        &state.sources.view.snapshot(),
        &state.config(),
    ))
}

pub async fn ips(State(state): State<Arc<ApiState>>) -> Json<shapes::IpsAnswer> {
    Json(shapes::ips(&state.sources.view.snapshot(), &state.config()))
}
