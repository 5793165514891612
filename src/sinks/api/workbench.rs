//! What the desktop window's workbench and detail views do, for the page: a container's inspect data, alert
//! acknowledgement, images / volumes / networks / disk usage per host, removals and prunes, compose stack
//! actions, "retry now" for a host, and the timeline. Each handler calls the very engine function the window's
//! command calls (src-tauri/src/workbench.rs, commands.rs), lent by the face through [`Control::engine`]. Reading
//! needs the token (or a signed-in page); changing anything also needs `[api] allow_actions = true` (and, for a
//! page, its CSRF header: see [`super::session`]).
//!
//! [`Control::engine`]: super::Control::engine

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::containers::{find, Params};
use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use super::EngineGuard;
use crate::history::TimelineQuery;
use crate::model::{
    Actor, ContainerDetail, DockerDiskUsage, ImageSummary, NetworkSummary, Reclaimed, StackAction,
    StackReport, TimelineRow, VolumeSummary,
};

/// Disk usage younger than this is answered from the engine's last measurement (as the window's command does).
const DISK_USAGE_MAX_AGE: Duration = Duration::from_secs(6 * 60);
/// The most timeline rows one answer holds (the newest), as in the window.
const MAX_TIMELINE_ROWS: usize = 2000;

/// Refuses a change unless the config allows actions through the API, saying how to allow them.
pub fn allowed(state: &ApiState, what: &str) -> ApiResult<()> {
    if state.api.allow_actions {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "{what} through the API is off: set allow_actions = true in [api] of the config file (or \
         DOCKTRAY_API__ALLOW_ACTIONS=true) and restart docktray serve"
    )))
}

/// Who the audit names for a change made through the API.
fn actor() -> Actor {
    Actor::api(super::token::TOKEN_NAME)
}

async fn engine(state: &ApiState) -> ApiResult<EngineGuard<'_>> {
    state
        .sources
        .control
        .engine()
        .await
        .map_err(|err| ApiError::unavailable(err.to_string()))
}

/// The engine, once `host` is known to be a watched Docker host (else a 404 naming the hosts there are).
async fn engine_on<'a>(state: &'a ApiState, host: &str) -> ApiResult<EngineGuard<'a>> {
    let engine = engine(state).await?;
    let hosts = engine.docker_hosts();
    if hosts.iter().any(|h| h == host) {
        return Ok(engine);
    }
    Err(ApiError::not_found(format!(
        "no Docker host named '{}': the hosts are {}",
        host.chars().take(100).collect::<String>(),
        hosts.join(", ")
    )))
}

fn stack_action(text: &str) -> ApiResult<StackAction> {
    match text {
        "start" => Ok(StackAction::Start),
        "stop" => Ok(StackAction::Stop),
        "restart" => Ok(StackAction::Restart),
        _ => Err(ApiError::bad_parameter(
            "action",
            "`action` must be start, stop or restart",
        )),
    }
}

/// `GET /api/v1/containers/{ref}/detail`: what the window's Info tab shows.
pub async fn detail(
    State(state): State<Arc<ApiState>>,
    Path(wanted): Path<String>,
) -> ApiResult<Json<ContainerDetail>> {
    let id = find(&state.sources.view.snapshot(), &wanted)?
        .info
        .id
        .clone();
    let engine = engine(&state).await?;
    let detail = engine.container_detail(&id).await;
    detail.map(Json).map_err(ApiError::from_engine)
}

/// `POST /api/v1/alerts/{id}/acknowledge`.
pub async fn acknowledge(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: u64 = id.trim().parse().map_err(|_| {
        ApiError::bad_parameter(
            "id",
            "`id` must be an alert's number (GET /api/v1/snapshot lists them)",
        )
    })?;
    allowed(&state, "acknowledging alerts")?;
    let acknowledged = engine(&state).await?.acknowledge(id).await;
    if !acknowledged {
        return Err(ApiError::not_found(format!(
            "no active, unacknowledged alert {id} (it may have ended or been acknowledged already)"
        )));
    }
    tracing::info!(alert = id, "alert acknowledged through the API");
    Ok(Json(json!({ "id": id, "acknowledged": true })))
}

/// `GET /api/v1/hosts/{host}/images`.
pub async fn images(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Vec<ImageSummary>>> {
    let engine = engine_on(&state, &host).await?;
    let images = engine.images(&host).await;
    images.map(Json).map_err(ApiError::from_engine)
}

/// `GET /api/v1/hosts/{host}/volumes`.
pub async fn volumes(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Vec<VolumeSummary>>> {
    let engine = engine_on(&state, &host).await?;
    let volumes = engine.volumes(&host).await;
    volumes.map(Json).map_err(ApiError::from_engine)
}

/// `GET /api/v1/hosts/{host}/networks`.
pub async fn networks(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Vec<NetworkSummary>>> {
    let engine = engine_on(&state, &host).await?;
    let networks = engine.networks(&host).await;
    networks.map(Json).map_err(ApiError::from_engine)
}

/// `GET /api/v1/hosts/{host}/disk-usage?fresh=`: the last measurement when recent, unless `fresh`.
pub async fn disk_usage(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<DockerDiskUsage>> {
    let fresh = Params(params).flag("fresh")?.unwrap_or(false);
    let max_age = if fresh {
        Duration::ZERO
    } else {
        DISK_USAGE_MAX_AGE
    };
    let engine = engine_on(&state, &host).await?;
    let usage = engine.disk_usage(&host, max_age).await;
    usage.map(Json).map_err(ApiError::from_engine)
}

/// `DELETE /api/v1/hosts/{host}/images/{image}?force=`: refused while a container uses it, unless `force`.
pub async fn remove_image(
    State(state): State<Arc<ApiState>>,
    Path((host, image)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Reclaimed>> {
    let force = Params(params).flag("force")?.unwrap_or(false);
    allowed(&state, "removing images")?;
    let engine = engine_on(&state, &host).await?;
    tracing::info!(host, image, force, "removing an image through the API");
    let result = engine.remove_image(&host, &image, force, &actor()).await;
    result.map(Json).map_err(ApiError::from_engine)
}

/// `POST /api/v1/hosts/{host}/images/prune`: dangling images.
pub async fn prune_images(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Reclaimed>> {
    allowed(&state, "pruning images")?;
    let engine = engine_on(&state, &host).await?;
    let result = engine.prune_images(&host, &actor()).await;
    result.map(Json).map_err(ApiError::from_engine)
}

/// `DELETE /api/v1/hosts/{host}/volumes/{volume}`.
pub async fn remove_volume(
    State(state): State<Arc<ApiState>>,
    Path((host, volume)): Path<(String, String)>,
) -> ApiResult<Json<Reclaimed>> {
    allowed(&state, "removing volumes")?;
    let engine = engine_on(&state, &host).await?;
    tracing::info!(host, volume, "removing a volume through the API");
    let result = engine.remove_volume(&host, &volume, &actor()).await;
    result.map(Json).map_err(ApiError::from_engine)
}

/// `POST /api/v1/hosts/{host}/volumes/prune`: unused volumes.
pub async fn prune_volumes(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Reclaimed>> {
    allowed(&state, "pruning volumes")?;
    let engine = engine_on(&state, &host).await?;
    let result = engine.prune_volumes(&host, &actor()).await;
    result.map(Json).map_err(ApiError::from_engine)
}

/// `DELETE /api/v1/hosts/{host}/networks/{network}`.
pub async fn remove_network(
    State(state): State<Arc<ApiState>>,
    Path((host, network)): Path<(String, String)>,
) -> ApiResult<Json<Reclaimed>> {
    allowed(&state, "removing networks")?;
    let engine = engine_on(&state, &host).await?;
    tracing::info!(host, network, "removing a network through the API");
    let result = engine.remove_network(&host, &network, &actor()).await;
    result.map(Json).map_err(ApiError::from_engine)
}

/// `GET /api/v1/hosts/{host}/stacks/{project}/plan?action=`: what a stack action would do, for the confirmation.
pub async fn stack_plan(
    State(state): State<Arc<ApiState>>,
    Path((host, project)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<StackReport>> {
    let action = stack_action(Params(params).text("action").unwrap_or_default())?;
    let engine = engine_on(&state, &host).await?;
    let plan = engine.stack_plan(Some(&host), &project, action).await;
    plan.map(Json).map_err(ApiError::from_engine)
}

/// `POST /api/v1/hosts/{host}/stacks/{project}/{action}`: start, stop or restart a compose project.
pub async fn stack(
    State(state): State<Arc<ApiState>>,
    Path((host, project, action)): Path<(String, String, String)>,
) -> ApiResult<Json<StackReport>> {
    let action = stack_action(&action)?;
    allowed(&state, "stack actions")?;
    let engine = engine_on(&state, &host).await?;
    tracing::info!(
        host,
        project,
        action = action.as_str(),
        "stack action through the API"
    );
    let report = engine.stack(Some(&host), &project, action, &actor()).await;
    report.map(Json).map_err(ApiError::from_engine)
}

/// `POST /api/v1/hosts/{host}/retry`: ends a host's backoff wait and connects now.
pub async fn retry_host(
    State(state): State<Arc<ApiState>>,
    Path(host): Path<String>,
) -> ApiResult<Json<Value>> {
    allowed(&state, "retrying hosts")?;
    if !engine(&state).await?.retry_now(&host) {
        return Err(ApiError::not_found(format!(
            "'{}' is not a configured host (see `docktray hosts`)",
            host.chars().take(100).collect::<String>()
        )));
    }
    Ok(Json(json!({ "host": host, "retrying": true })))
}

/// `GET /api/v1/timeline?since=&until=&host=&container=&kind=&text=&audit_only=&limit=`: engine events and
/// audit entries from the history, oldest first (the newest `limit`, at most 2000).
pub async fn timeline(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<TimelineRow>>> {
    let params = Params(params);
    let limit: Option<usize> = params.number("limit", "a whole number of rows")?;
    let query = TimelineQuery {
        since: params.time("since")?,
        until: params.time("until")?,
        host: params.text("host").map(str::to_owned),
        container: params.text("container").map(str::to_owned),
        kind: params.text("kind").map(str::to_owned),
        text: params.text("text").map(str::to_owned),
        audit_only: params.flag("audit_only")?.unwrap_or(false),
        limit: Some(limit.unwrap_or(MAX_TIMELINE_ROWS).min(MAX_TIMELINE_ROWS)),
        after: None,
    };
    let history = state.sources.history.clone().ok_or_else(|| {
        ApiError::unavailable(
            "the history is off (history.enabled = false, or its file could not be opened): no timeline",
        )
    })?;
    let page = tokio::task::spawn_blocking(move || history.timeline(&query))
        .await
        .map_err(|err| ApiError::internal(format!("reading the history failed: {err}")))?
        .map_err(|err| ApiError::internal(err.to_string()))?;
    Ok(Json(page.rows))
}
