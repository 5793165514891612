//! A terminal into a container over a WebSocket (`/api/v1/containers/{ref}/exec?shell=&cols=&rows=`), for the
//! page's Terminal tab and for scripts: the same shell, TTY and hang-up as the desktop window's terminal
//! ([`crate::engine::terminal`]). Opening one is an action: it needs `[api] allow_actions = true`, and a page
//! signed in by its cookie offers its CSRF token as the `csrf.<token>` subprotocol (the `Origin` and sign-in checks
//! of [`super::guard`] come first).
//!
//! The protocol: the server's first message is `{"type":"started","shell":"bash"}` (or `{"type":"error",
//! "message":...}` and the end when the terminal cannot open: not running, no shell). Then the terminal's output
//! comes as binary messages, the bytes exactly as the container wrote them; binary messages from the client are
//! typed bytes, and text messages are JSON: `{"type":"resize","cols":120,"rows":40}` or `{"type":"input",
//! "data":"ls\r"}`. When the shell ends the last message is `{"type":"end","exit_code":0,"message":...}`, then the
//! socket closes. When the client goes, the shell is hung up. Nothing is queued: output is read from the
//! container only as fast as the client takes it, and input only as fast as the container takes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::containers::{find, Params};
use super::error::{ApiError, ApiResult};
use super::guard::{has_bearer, WS_PROTOCOL};
use super::routes::ApiState;
use super::streams::SEND_TIMEOUT;
use super::workbench::allowed;
use crate::engine::terminal::{TermSize, Terminal, TerminalRequest};

/// At most this many terminals are open through the API at once.
const MAX_TERMINALS: usize = 32;
/// The largest message a client may send (a paste).
const MAX_MESSAGE: usize = 256 * 1024;
/// The size of a terminal whose client did not say.
const DEFAULT_SIZE: TermSize = TermSize { cols: 80, rows: 24 };

static OPEN: AtomicUsize = AtomicUsize::new(0);

/// One open terminal counted in [`OPEN`] while it lives.
struct Slot;

impl Slot {
    fn take() -> ApiResult<Self> {
        let taken = OPEN.fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
            (open < MAX_TERMINALS).then_some(open + 1)
        });
        match taken {
            Ok(_) => Ok(Self),
            Err(_) => Err(ApiError::unavailable(format!(
                "{MAX_TERMINALS} terminals are open through the API already: close one first"
            ))),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client's text message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Resize { cols: u16, rows: u16 },
    Input { data: String },
}

fn size(params: &Params) -> ApiResult<TermSize> {
    let cols: Option<u16> = params.number("cols", "a number of columns from 1 to 65535")?;
    let rows: Option<u16> = params.number("rows", "a number of rows from 1 to 65535")?;
    Ok(TermSize {
        cols: cols.unwrap_or(DEFAULT_SIZE.cols).max(1),
        rows: rows.unwrap_or(DEFAULT_SIZE.rows).max(1),
    })
}

/// `GET /api/v1/containers/{ref}/exec?shell=&cols=&rows=` (a WebSocket).
pub async fn exec(
    State(state): State<Arc<ApiState>>,
    Path(wanted): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    allowed(&state, "opening terminals")?;
    if !has_bearer(&headers) {
        state.sessions.authorize_websocket(&headers)?;
    }
    let params = Params(params);
    let size = size(&params)?;
    let shell = params
        .text("shell")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let container = find(&state.sources.view.snapshot(), &wanted)?
        .info
        .id
        .clone();
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::bad_parameter(
            "upgrade",
            format!("this endpoint is a WebSocket: connect with a WebSocket client ({rejection})"),
        )
    })?;
    let slot = Slot::take()?;
    let request = TerminalRequest {
        container,
        shell,
        size,
    };
    Ok(upgrade
        .protocols([WS_PROTOCOL])
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            serve(socket, state, request).await;
            drop(slot);
        })
        .into_response())
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn send_json(socket: &mut WebSocket, value: serde_json::Value) -> bool {
    send(socket, Message::Text(value.to_string().into())).await
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = send(socket, Message::Close(Some(frame))).await;
}

/// Opens the terminal (the engine is held only for that), then copies bytes both ways until one side ends.
async fn serve(mut socket: WebSocket, state: Arc<ApiState>, request: TerminalRequest) {
    let opened = match state.sources.control.engine().await {
        Ok(engine) => engine.open_terminal(&request).await,
        Err(err) => Err(err),
    };
    let terminal = match opened {
        Ok(terminal) => terminal,
        Err(err) => {
            let message = err.to_string();
            if send_json(&mut socket, json!({"type": "error", "message": message})).await {
                close(&mut socket, 1011, "the terminal could not be opened").await;
            }
            return;
        }
    };
    tracing::info!(
        container = request.container,
        shell = terminal.shell,
        "terminal opened through the API"
    );
    if !send_json(
        &mut socket,
        json!({"type": "started", "shell": terminal.shell}),
    )
    .await
    {
        terminal.control.hang_up();
        return;
    }
    let Terminal {
        mut output,
        mut input,
        control,
        ..
    } = terminal;
    let mut failure = None;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    if !send(&mut socket, Message::Binary(bytes.into())).await {
                        // The client stopped reading, or went.
                        control.hang_up();
                        return;
                    }
                }
                Some(Err(err)) => {
                    failure = Some(format!("the connection to the container broke: {err}"));
                    break;
                }
                None => break,
            },
            message = socket.recv() => {
                let typed = match message {
                    Some(Ok(Message::Binary(bytes))) => bytes.to_vec(),
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Input { data }) => data.into_bytes(),
                        Ok(ClientMessage::Resize { cols, rows }) => {
                            if let Err(err) = control.resize(TermSize { cols, rows }).await {
                                tracing::debug!(%err, "a terminal was not resized");
                            }
                            continue;
                        }
                        Err(err) => {
                            let message = format!(
                                "a terminal's text message must be {{\"type\":\"resize\",\"cols\":N,\"rows\":N}} or \
                                 {{\"type\":\"input\",\"data\":\"...\"}}: {err}"
                            );
                            let _ = send_json(&mut socket, json!({"type": "error", "message": message})).await;
                            continue;
                        }
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // The client closed the terminal (or its connection broke): the shell is hung up.
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        control.hang_up();
                        return;
                    }
                };
                if let Err(err) = input.write(&typed).await {
                    failure = Some(format!("the container stopped taking input: {err}"));
                    break;
                }
            },
        }
    }
    let end = control.describe_end(failure).await;
    if send_json(
        &mut socket,
        json!({"type": "end", "exit_code": end.exit_code, "message": end.message}),
    )
    .await
    {
        close(&mut socket, 1000, "the session ended").await;
    }
}
