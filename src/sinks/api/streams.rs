//! Live streams: a WebSocket (`/api/v1/ws`, WakeDock's `/api/v1/monitoring/ws`, the Control Platform's
//! `/ws/containers/{id}/logs` and `/ws/containers/{id}/stats`) and Server-Sent Events (`/api/v1/events`).
//! Messages come from the shared [`Hub`] queue; a client that reads too slowly is told how many it lost, and
//! one that stops reading altogether is disconnected after [`SEND_TIMEOUT`]. The protocol is in docs/api.md.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream as FuturesStream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use super::containers::{find, Params};
use super::error::{ApiError, ApiResult};
use super::guard::WS_PROTOCOL;
use super::hub::{Message, Stream};
use super::logs::{lagged, Following, LogRequest};
use super::routes::ApiState;
use crate::model::Level;

/// A client whose socket takes no data for this long is disconnected.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// What a client follows.
struct Session {
    state: Arc<ApiState>,
    streams: HashSet<Stream>,
    /// Full container ids (or what was given, for containers not known yet).
    containers: Vec<String>,
    services: Vec<String>,
    levels: Vec<Level>,
    logs: Option<Following>,
    holds_metrics: bool,
    holds_snapshot: bool,
}

impl Session {
    fn new(state: Arc<ApiState>) -> Self {
        state.hub.connections_total.fetch_add(1, Ordering::Relaxed);
        state.hub.connections_active.fetch_add(1, Ordering::Relaxed);
        Self {
            state,
            streams: HashSet::new(),
            containers: Vec::new(),
            services: Vec::new(),
            levels: Vec::new(),
            logs: None,
            holds_metrics: false,
            holds_snapshot: false,
        }
    }

    /// Keeps the hub's counts of per-container and snapshot subscribers right (those are built only on demand).
    fn recount(&mut self) {
        let hub = &self.state.hub;
        for (wanted, held, counter) in [
            (
                self.streams.contains(&Stream::Metrics),
                &mut self.holds_metrics,
                &hub.metrics_wanted,
            ),
            (
                self.streams.contains(&Stream::Snapshot),
                &mut self.holds_snapshot,
                &hub.snapshot_wanted,
            ),
        ] {
            if wanted && !*held {
                counter.fetch_add(1, Ordering::AcqRel);
            } else if !wanted && *held {
                counter.fetch_sub(1, Ordering::AcqRel);
            }
            *held = wanted;
        }
    }

    fn subscribe(&mut self, streams: &[Stream]) {
        self.streams.extend(streams.iter().copied());
        self.recount();
    }

    fn unsubscribe(&mut self, streams: &[Stream]) {
        for stream in streams {
            self.streams.remove(stream);
        }
        self.recount();
    }

    /// Containers by id, prefix, name or HOST:NAME, kept as full ids when known.
    fn filter_containers(&mut self, wanted: &[String]) {
        let snapshot = self.state.sources.view.snapshot();
        self.containers = wanted
            .iter()
            .map(|w| find(&snapshot, w).map_or_else(|_| w.clone(), |c| c.info.id.clone()))
            .collect();
    }

    fn wants(&self, message: &Message) -> bool {
        if !self.streams.contains(&message.stream) {
            return false;
        }
        if !self.containers.is_empty() {
            match &message.container {
                Some(id) if self.containers.iter().any(|c| id.starts_with(c.as_str())) => {}
                Some(_) => return false,
                // Messages about no container (a host's figures, a source) pass a container filter only on the
                // streams that have no container messages at all.
                None => {
                    if matches!(message.stream, Stream::Metrics | Stream::Containers) {
                        return false;
                    }
                }
            }
        }
        if !self.services.is_empty()
            && !message
                .service
                .as_ref()
                .is_some_and(|s| self.services.contains(s))
        {
            return false;
        }
        if !self.levels.is_empty() && !message.level.is_some_and(|l| self.levels.contains(&l)) {
            return false;
        }
        true
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.streams.clear();
        self.recount();
        self.state
            .hub
            .connections_active
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The streams named in `?streams=a,b`, or `default` when absent.
fn parse_streams(params: &Params, default: &[Stream]) -> ApiResult<(Vec<Stream>, bool)> {
    let Some(text) = params.text("streams") else {
        return Ok((default.to_vec(), false));
    };
    let mut streams = Vec::new();
    let mut logs = false;
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "logs" {
            logs = true;
            continue;
        }
        match Stream::parse(name) {
            Some(found) => streams.extend(found),
            None => {
                return Err(ApiError::bad_parameter(
                    "streams",
                    format!(
                        "`streams` names '{}', which is not a stream: use {}, logs",
                        name.chars().take(40).collect::<String>(),
                        Stream::NAMES
                    ),
                ))
            }
        }
    }
    Ok((streams, logs))
}

/// `GET /api/v1/ws` and WakeDock's `/api/v1/monitoring/ws`: subscribe with messages, or with
/// `?streams=...` (`&container=` for logs with `tail`, `since`, `timestamps`).
pub async fn websocket(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let params = Params(params);
    let (streams, logs) = parse_streams(&params, &[])?;
    let logs = match (logs, params.text("container")) {
        (true, Some(container)) => Some(LogRequest::from_params(container, &params)?),
        (true, None) => {
            return Err(ApiError::bad_parameter(
                "container",
                "the logs stream needs `container` (an id, name or HOST:NAME)",
            ))
        }
        (false, _) => None,
    };
    let following = match &logs {
        Some(request) => Some(Following::start(&state, request).await?),
        None => None,
    };
    let upgrade = upgrade.map_err(not_websocket)?;
    Ok(upgrade
        .protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| async move {
            let mut session = Session::new(state);
            session.subscribe(&streams);
            session.logs = following;
            serve_socket(socket, session).await;
        })
        .into_response())
}

/// The Control Platform's `/ws/containers/{id}/logs?tail=&since=&timestamps=`.
pub async fn container_logs(
    State(state): State<Arc<ApiState>>,
    Path(container): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let request = LogRequest::from_params(&container, &Params(params))?;
    let following = Following::start(&state, &request).await?;
    let upgrade = upgrade.map_err(not_websocket)?;
    Ok(upgrade
        .protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| async move {
            let mut session = Session::new(state);
            session.logs = Some(following);
            serve_socket(socket, session).await;
        })
        .into_response())
}

/// The Control Platform's `/ws/containers/{id}/stats`: the container's figures once per sweep.
pub async fn container_stats(
    State(state): State<Arc<ApiState>>,
    Path(container): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let id = find(&state.sources.view.snapshot(), &container)?
        .info
        .id
        .clone();
    let upgrade = upgrade.map_err(not_websocket)?;
    Ok(upgrade
        .protocols([WS_PROTOCOL])
        .on_upgrade(move |socket| async move {
            let mut session = Session::new(state);
            session.containers = vec![id];
            session.subscribe(&[Stream::Metrics]);
            serve_socket(socket, session).await;
        })
        .into_response())
}

/// A plain request to a WebSocket endpoint.
fn not_websocket(rejection: WebSocketUpgradeRejection) -> ApiError {
    ApiError::bad_parameter(
        "upgrade",
        format!("this endpoint is a WebSocket: connect with a WebSocket client ({rejection})"),
    )
}

/// A client's message.
#[derive(Debug, Deserialize)]
struct Command {
    action: String,
    #[serde(default)]
    stream_type: Option<String>,
    #[serde(default)]
    filters: Filters,
    #[serde(default)]
    container_id: Option<String>,
    #[serde(default)]
    tail: Option<usize>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    timestamps: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    container_ids: Vec<String>,
    #[serde(default)]
    service_names: Vec<String>,
    #[serde(default)]
    alert_levels: Vec<String>,
}

async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(WsMessage::Text(text))).await,
        Ok(Ok(()))
    )
}

async fn next_logs(logs: &mut Option<Following>) -> Option<Vec<crate::engine::LogLine>> {
    match logs {
        Some(following) => following.next_batch().await,
        None => std::future::pending().await,
    }
}

async fn serve_socket(mut socket: WebSocket, mut session: Session) {
    let hub = session.state.hub.clone();
    let mut queue = hub.subscribe();
    if let Some(following) = session.logs.as_mut() {
        for message in following.history_messages() {
            if !send(&mut socket, message.into()).await {
                return;
            }
        }
    }
    loop {
        let outgoing: Vec<Utf8Bytes> = tokio::select! {
            message = queue.recv() => match message {
                Ok(message) if session.wants(&message) => vec![message.json.clone()],
                Ok(_) => Vec::new(),
                Err(broadcast::error::RecvError::Lagged(lost)) => vec![lagged("update", lost).into()],
                Err(broadcast::error::RecvError::Closed) => break,
            },
            batch = next_logs(&mut session.logs) => match (batch, session.logs.as_mut()) {
                (Some(lines), Some(following)) => {
                    let mut out = Vec::new();
                    if let Some(lost) = following.newly_lost() {
                        out.push(lagged("log line", lost).into());
                    }
                    out.push(following.message(lines).into());
                    out
                }
                _ => {
                    session.logs = None;
                    vec![json!({"type": "logs_ended"}).to_string().into()]
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => command(&mut session, text.as_str())
                    .await
                    .into_iter()
                    .map(Utf8Bytes::from)
                    .collect(),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => Vec::new(),
            },
        };
        for text in outgoing {
            if !send(&mut socket, text).await {
                tracing::debug!("a stream client stopped reading: disconnected");
                return;
            }
            hub.messages_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Applies a client's message; returns the answers to send.
async fn command(session: &mut Session, text: &str) -> Vec<String> {
    let error = |message: String| vec![json!({"type": "error", "message": message}).to_string()];
    let command: Command = match serde_json::from_str(text) {
        Ok(command) => command,
        Err(err) => {
            return error(format!(
                "not a command ({err}): send {{\"action\": \"subscribe\", \"stream_type\": \"metrics\"}}"
            ))
        }
    };
    let stream_type = command.stream_type.clone().unwrap_or_default();
    match command.action.as_str() {
        "ping" => vec![json!({"type": "pong"}).to_string()],
        "subscribe" | "unsubscribe" if stream_type == "logs" => {
            if command.action == "unsubscribe" {
                session.logs = None;
                return vec![json!({"type": "unsubscribed", "stream_type": "logs"}).to_string()];
            }
            let Some(container) = command.container_id.clone() else {
                return error("the logs stream needs container_id".to_owned());
            };
            let mut params = HashMap::new();
            if let Some(since) = &command.since {
                params.insert("since".to_owned(), since.clone());
            }
            let request = match LogRequest::from_params(&container, &Params(params)) {
                Ok(mut request) => {
                    request.tail = command.tail;
                    request.timestamps = command.timestamps.unwrap_or(false);
                    request
                }
                Err(err) => return error(err.body.message),
            };
            match Following::start(&session.state, &request).await {
                Ok(mut following) => {
                    let history = following.history_messages();
                    session.logs = Some(following);
                    let mut answers =
                        vec![json!({"type": "subscribed", "stream_type": "logs"}).to_string()];
                    answers.extend(history);
                    answers
                }
                Err(err) => error(err.body.message),
            }
        }
        "subscribe" | "unsubscribe" => {
            let Some(streams) = Stream::parse(&stream_type) else {
                return error(format!(
                    "unknown stream_type '{}': use {}, logs",
                    stream_type.chars().take(40).collect::<String>(),
                    Stream::NAMES
                ));
            };
            if command.action == "unsubscribe" {
                session.unsubscribe(&streams);
                return vec![
                    json!({"type": "unsubscribed", "stream_type": stream_type}).to_string()
                ];
            }
            let filters = command.filters;
            let mut levels = Vec::new();
            for name in &filters.alert_levels {
                match Level::parse(name) {
                    Some(level) => levels.push(level),
                    None => {
                        return error(format!(
                            "unknown alert level '{}': use info, warning or critical",
                            name.chars().take(40).collect::<String>()
                        ))
                    }
                }
            }
            session.filter_containers(&filters.container_ids);
            session.services = filters.service_names;
            session.levels = levels;
            session.subscribe(&streams);
            let mut answers =
                vec![json!({"type": "subscribed", "stream_type": stream_type}).to_string()];
            if streams.contains(&Stream::Alerts) {
                answers.extend(active_alerts(session));
            }
            answers
        }
        other => error(format!(
            "unknown action '{}': use subscribe, unsubscribe or ping",
            other.chars().take(40).collect::<String>()
        )),
    }
}

/// The alerts already active when a client subscribes, as `raised` messages at the time they started and marked
/// `"replay": true`: a client that connects after an alert was raised still learns of it without a second request.
fn active_alerts(session: &Session) -> Vec<String> {
    let snapshot = session.state.sources.view.snapshot();
    snapshot
        .alerts
        .iter()
        .filter(|alert| alert.is_active())
        .map(|alert| {
            let change = crate::model::AlertTransition {
                kind: crate::model::TransitionKind::Raised,
                alert: alert.clone(),
                previous_level: None,
                at: alert.started_at,
            };
            let container = matches!(alert.target.kind, crate::model::TargetKind::Container)
                .then(|| alert.target.id.clone());
            (change, container)
        })
        .filter(|(change, container)| {
            session.wants(&Message {
                stream: Stream::Alerts,
                json: Utf8Bytes::from_static(""),
                container: container.clone(),
                service: None,
                level: Some(change.alert.level),
            })
        })
        .map(|(change, _)| {
            let mut message = super::hub::alert_message(&change);
            message["replay"] = json!(true);
            message.to_string()
        })
        .collect()
}

/// `GET /api/v1/events`: Server-Sent Events for curl users. `?streams=` (default stats, alerts, containers,
/// sources; `logs` with `container`, `tail`, `since`, `timestamps`).
pub async fn events(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Sse<impl FuturesStream<Item = Result<Event, Infallible>>>> {
    let params = Params(params);
    let default = [
        Stream::Stats,
        Stream::Alerts,
        Stream::Containers,
        Stream::Sources,
    ];
    let (streams, mut logs) = parse_streams(&params, &default)?;
    let container = params.text("container").map(str::to_owned);
    if container.is_some() && params.text("streams").is_none() {
        logs = true;
    }
    let following = match (logs, &container) {
        (true, Some(container)) => {
            let request = LogRequest::from_params(container, &params)?;
            Some(Following::start(&state, &request).await?)
        }
        (true, None) => {
            return Err(ApiError::bad_parameter(
                "container",
                "the logs stream needs `container` (an id, name or HOST:NAME)",
            ))
        }
        (false, _) => None,
    };
    // A small hand-over queue to the response body: when the client stops reading it fills, the task waits,
    // and the shared queue tells it how much was lost.
    let (sender, receiver) = mpsc::channel::<Event>(32);
    tokio::spawn(async move {
        let mut session = Session::new(state);
        session.subscribe(&streams);
        session.logs = following;
        pump_events(session, sender).await;
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn event(kind: &str, data: &str) -> Event {
    Event::default().event(kind).data(data)
}

/// The event name of a hub message: its `type`.
fn kind_of(message: &Message) -> &'static str {
    match message.stream {
        Stream::Stats => "stats",
        Stream::Metrics => "metrics_update",
        Stream::Alerts => "alert",
        Stream::Containers => "container",
        Stream::Sources => "source",
        Stream::Hosts => "host",
        Stream::Snapshot => "snapshot",
    }
}

async fn pump_events(mut session: Session, sender: mpsc::Sender<Event>) {
    let hub = session.state.hub.clone();
    let mut queue = hub.subscribe();
    if let Some(following) = session.logs.as_mut() {
        for message in following.history_messages() {
            if sender.send(event("logs", &message)).await.is_err() {
                return;
            }
        }
    }
    loop {
        let outgoing = tokio::select! {
            message = queue.recv() => match message {
                Ok(message) => session.wants(&message).then(|| event(kind_of(&message), message.json.as_str())),
                Err(broadcast::error::RecvError::Lagged(lost)) => Some(event("lagged", &lagged("update", lost))),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            batch = next_logs(&mut session.logs) => match (batch, session.logs.as_mut()) {
                (Some(lines), Some(following)) => {
                    if let Some(lost) = following.newly_lost() {
                        if sender.send(event("lagged", &lagged("log line", lost))).await.is_err() {
                            break;
                        }
                    }
                    Some(event("logs", &following.message(lines)))
                }
                _ => {
                    session.logs = None;
                    Some(event("logs_ended", "{}"))
                }
            },
            _ = sender.closed() => break,
        };
        if let Some(outgoing) = outgoing {
            match tokio::time::timeout(SEND_TIMEOUT, sender.send(outgoing)).await {
                Ok(Ok(())) => {
                    hub.messages_sent.fetch_add(1, Ordering::Relaxed);
                }
                _ => break,
            }
        }
    }
}

/// `GET /api/v1/containers/{ref}/logs`: one container's logs as Server-Sent Events.
pub async fn events_for_container(
    state: State<Arc<ApiState>>,
    Path(container): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Response {
    params.insert("container".to_owned(), container);
    params.insert("streams".to_owned(), "logs".to_owned());
    match events(state, Query(params)).await {
        Ok(sse) => sse.into_response(),
        Err(err) => err.into_response(),
    }
}
