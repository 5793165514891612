//! Log following for the streams: a client's `tail`, `since` and `timestamps`, on the engine's one shared
//! Docker log stream per container (however many clients follow it), and the lines batched into messages.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::containers::{find, Params};
use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use crate::engine::{LogLine, LogQuery, LogSubscription};

/// Lines arriving within this are sent as one message (as the desktop window gets them).
pub const BATCH_GAP: Duration = Duration::from_millis(100);
/// The most lines one message holds.
pub const BATCH_LINES: usize = 1000;
/// The most history lines a client may ask for.
const MAX_TAIL: usize = 100_000;

/// What a client asked of a container's logs.
#[derive(Debug, Clone)]
pub struct LogRequest {
    pub container: String,
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub timestamps: bool,
}

impl LogRequest {
    /// From query parameters (`tail`, `since`, `timestamps`) for `container`.
    pub fn from_params(container: &str, params: &Params) -> ApiResult<Self> {
        let tail: Option<usize> = params.number("tail", "a whole number of lines such as 100")?;
        if tail.is_some_and(|t| t > MAX_TAIL) {
            return Err(ApiError::bad_parameter(
                "tail",
                format!("`tail` must be at most {MAX_TAIL}"),
            ));
        }
        Ok(Self {
            container: container.to_owned(),
            tail,
            since: params.time("since")?,
            timestamps: params.flag("timestamps")?.unwrap_or(false),
        })
    }
}

/// A client's following of one container's logs.
pub struct Following {
    pub container_id: String,
    pub subscription: LogSubscription,
    pub timestamps: bool,
    /// Lost lines already reported.
    pub reported_lost: u64,
    /// The batch being gathered, and when it is due. Kept here, not in [`Following::next_batch`]'s future: the
    /// streams poll that future in a `select!` that drops it whenever another branch wins (a snapshot, a client
    /// message), and lines held by a dropped future were lost (a followed log once went "tick 22", "tick 24").
    batch: Vec<LogLine>,
    due: Option<tokio::time::Instant>,
}

impl Following {
    /// Subscribes to the shared stream of the container `request` names.
    pub async fn start(state: &ApiState, request: &LogRequest) -> ApiResult<Self> {
        let id = {
            let snapshot = state.sources.view.snapshot();
            find(&snapshot, &request.container)?.info.id.clone()
        };
        let query = LogQuery {
            tail: request.tail,
            since: request.since,
            ..LogQuery::default()
        };
        let subscription = state
            .sources
            .logs
            .subscribe(&id, query)
            .await
            .map_err(ApiError::from_engine)?;
        Ok(Self {
            container_id: id,
            subscription,
            timestamps: request.timestamps,
            reported_lost: 0,
            batch: Vec::new(),
            due: None,
        })
    }

    /// The history lines, as messages.
    pub fn history_messages(&mut self) -> Vec<String> {
        let history = std::mem::take(&mut self.subscription.history);
        history
            .chunks(BATCH_LINES)
            .map(|chunk| self.message(chunk.to_vec()))
            .collect()
    }

    /// The next batch of live lines: waits for one, then takes what else arrives within [`BATCH_GAP`].
    /// `None` when the stream has ended. Cancel-safe: every line received is stored in `self` before the next
    /// await, so dropping this future (a `select!` taking another branch) loses nothing; the next call goes on
    /// with the same batch and deadline.
    pub async fn next_batch(&mut self) -> Option<Vec<LogLine>> {
        if self.batch.is_empty() {
            let first = self.subscription.next().await?;
            self.batch.push(first);
            self.due = Some(tokio::time::Instant::now() + BATCH_GAP);
        }
        let due = *self
            .due
            .get_or_insert_with(|| tokio::time::Instant::now() + BATCH_GAP);
        while self.batch.len() < BATCH_LINES {
            match tokio::time::timeout_at(due, self.subscription.next()).await {
                Ok(Some(line)) => self.batch.push(line),
                Ok(None) | Err(_) => break,
            }
        }
        self.due = None;
        Some(std::mem::take(&mut self.batch))
    }

    /// Lines lost since the last report (the client read too slowly), if any.
    pub fn newly_lost(&mut self) -> Option<u64> {
        let lost = self.subscription.skipped - self.reported_lost;
        self.reported_lost = self.subscription.skipped;
        (lost > 0).then_some(lost)
    }

    /// `{"type": "logs", "container_id", "lines": [LogLine]}`, the window's `logs` batch; `timestamp` is left
    /// out unless asked for.
    pub fn message(&self, mut lines: Vec<LogLine>) -> String {
        if !self.timestamps {
            for line in &mut lines {
                line.timestamp = None;
            }
        }
        json!({"type": "logs", "container_id": self.container_id, "lines": lines}).to_string()
    }
}

/// The notice a client gets after losing messages.
pub fn lagged(stream: &str, lost: u64) -> String {
    json!({
        "type": "lagged",
        "stream": stream,
        "lost": lost,
        "message": format!("{lost} {stream} messages were dropped because this client read too slowly"),
    })
    .to_string()
}
