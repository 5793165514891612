//! What the window's Alerts view and its exports read, for the page: the alerts with their history (active ones
//! live, the rest from the history, as the window's `list_alerts` merges them), and the timeline and a chart's
//! series as files to download, in the formats the window's exports write (`docktray events --json` / CSV, the
//! columns of `docktray history --csv`). A download says its row count in [`ROWS_HEADER`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

use super::containers::Params;
use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use crate::alerts::{merge_alerts, Alert, Level};
use crate::history::{
    write_series, write_timeline, AlertQuery, ExportFormat, History, HistoryError, Resolution,
    SeriesQuery, SeriesTarget, TimelineQuery, CONTAINER_METRICS, HOST_METRICS,
};

/// The header of a download that says how many rows it holds.
pub const ROWS_HEADER: &str = "x-docktray-rows";

fn history(state: &ApiState, what: &str) -> ApiResult<Arc<History>> {
    state.sources.history.clone().ok_or_else(|| {
        ApiError::unavailable(format!(
            "the history is off (history.enabled = false, or its file could not be opened): no {what}"
        ))
    })
}

/// Runs a history read off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::internal(format!("reading the history failed: {err}")))?
        .map_err(|err| match err {
            HistoryError::AmbiguousTarget { .. }
            | HistoryError::AmbiguousId { .. }
            | HistoryError::UnknownMetric { .. }
            | HistoryError::EmptyRange { .. } => ApiError::bad_parameter("query", err.to_string()),
            other => ApiError::internal(format!("reading the history failed: {other}")),
        })
}

/// `GET /api/v1/alerts?active_only=&level=&since=`: what the window's Alerts view lists, newest first.
pub async fn alerts(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<Alert>>> {
    let params = Params(params);
    let active_only = params.flag("active_only")?.unwrap_or(false);
    let level = params
        .text("level")
        .map(|text| match Level::parse(text) {
            Some(level) if level != Level::Resolved => Ok(level),
            _ => Err(ApiError::bad_parameter(
                "level",
                "`level` must be info, warning or critical",
            )),
        })
        .transpose()?;
    let since = params.time("since")?;
    let live = state.sources.view.snapshot().alerts;
    let recorded = match state.sources.history.clone() {
        Some(history) => {
            let query = AlertQuery {
                level,
                since,
                until: None,
                active_only,
                limit: None,
            };
            blocking(move || history.alerts(&query)).await?
        }
        None => Vec::new(),
    };
    Ok(Json(merge_alerts(recorded, live, level)))
}

fn format(params: &Params) -> ApiResult<ExportFormat> {
    match params.text("format").unwrap_or("csv") {
        "csv" => Ok(ExportFormat::Csv),
        "jsonl" => Ok(ExportFormat::JsonLines),
        _ => Err(ApiError::bad_parameter(
            "format",
            "`format` must be csv or jsonl (JSON lines)",
        )),
    }
}

/// A download: the body, its type, a file name and the row count.
fn download(body: Vec<u8>, format: ExportFormat, stem: &str, rows: u64) -> Response {
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::JsonLines => ("application/x-ndjson", "jsonl"),
    };
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let disposition = format!("attachment; filename=\"docktray-{stem}-{stamp}.{extension}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(ROWS_HEADER, HeaderValue::from(rows));
    response
}

/// `GET /api/v1/timeline/export?format=&since=&until=&host=&container=&kind=&text=&audit_only=&limit=`: every
/// timeline row the filter selects (not only the newest 2000), as the window's export writes them.
pub async fn timeline(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let params = Params(params);
    let format = format(&params)?;
    let query = TimelineQuery {
        since: params.time("since")?,
        until: params.time("until")?,
        host: params.text("host").map(str::to_owned),
        container: params.text("container").map(str::to_owned),
        kind: params.text("kind").map(str::to_owned),
        text: params.text("text").map(str::to_owned),
        audit_only: params.flag("audit_only")?.unwrap_or(false),
        limit: params.number("limit", "a whole number of rows")?,
        after: None,
    };
    let history = history(&state, "timeline")?;
    let (body, rows) = blocking(move || {
        if let Err(err) = history.flush() {
            tracing::warn!(%err, "the export is made without the last recorded rows");
        }
        let rows = history.timeline(&query)?.rows;
        let mut body = Vec::new();
        let written = write_timeline(&rows, format, &mut body)?;
        Ok((body, written))
    })
    .await?;
    Ok(download(body, format, "timeline", rows))
}

/// Whose series: a container (`container`, with `host`) or a host (`host` alone).
fn series_target(params: &Params) -> ApiResult<(SeriesTarget, &'static [&'static str])> {
    let host = params.text("host").map(str::to_owned);
    match (params.text("container"), host) {
        (Some(container), host) => Ok((
            SeriesTarget::Container {
                host,
                id_or_name: container.to_owned(),
            },
            &CONTAINER_METRICS,
        )),
        (None, Some(name)) => Ok((SeriesTarget::Host { name }, &HOST_METRICS)),
        (None, None) => Err(ApiError::bad_parameter(
            "container",
            "name a `container` (with its `host`), or a `host` alone for the host's own figures",
        )),
    }
}

fn required_time(params: &Params, name: &str) -> ApiResult<DateTime<Utc>> {
    params.time(name)?.ok_or_else(|| {
        ApiError::bad_parameter(
            name,
            format!("`{name}` is needed: RFC 3339, Unix seconds, or a duration ago (10m)"),
        )
    })
}

/// `GET /api/v1/history/export?container=&host=&metrics=&since=&until=&format=`: what a chart shows (its
/// metrics, over its visible range), with the columns of `docktray history --csv`.
pub async fn series(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let params = Params(params);
    let format = format(&params)?;
    let (target, known) = series_target(&params)?;
    let metrics: Vec<String> = params
        .text("metrics")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    if metrics.is_empty() {
        return Err(ApiError::bad_parameter(
            "metrics",
            format!(
                "`metrics` names what to export, comma-separated: {}",
                known.join(", ")
            ),
        ));
    }
    if let Some(unknown) = metrics.iter().find(|m| !known.contains(&m.as_str())) {
        return Err(ApiError::bad_parameter(
            "metrics",
            format!(
                "'{}' is not a recorded metric here: {}",
                unknown.chars().take(60).collect::<String>(),
                known.join(", ")
            ),
        ));
    }
    let (since, until) = (
        required_time(&params, "since")?,
        required_time(&params, "until")?,
    );
    if since > until {
        return Err(ApiError::bad_parameter(
            "since",
            "`since` must not be after `until`",
        ));
    }
    let stem = match &target {
        SeriesTarget::Container { id_or_name, .. } => id_or_name.clone(),
        SeriesTarget::Host { name } => name.clone(),
        SeriesTarget::Service { service, .. } => service.clone(),
    };
    let stem: String = stem
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let history = history(&state, "history")?;
    let (body, rows) = blocking(move || {
        if let Err(err) = history.flush() {
            tracing::warn!(%err, "the export is made without the last recorded figures");
        }
        let mut series = Vec::with_capacity(metrics.len());
        for metric in metrics {
            let query = SeriesQuery {
                target: target.clone(),
                metric: metric.clone(),
                since,
                until,
                limit: None,
                resolution: Resolution::Auto,
            };
            series.push((metric, history.query(&query)?.points));
        }
        let mut body = Vec::new();
        let written = write_series(&series, format, &mut body)?;
        Ok((body, written))
    })
    .await?;
    Ok(download(body, format, &stem, rows))
}
