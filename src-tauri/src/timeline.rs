//! The timeline's commands (docs/ipc.md): rows from the history filtered as `docktray events` filters them,
//! and the window's exports (the timeline, a chart's visible range) written as JSON lines or CSV with the
//! CLI's columns to the file the user chose in the window's save dialog.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use docktray::history::{
    write_series, write_timeline, ExportFormat, History, Resolution, SeriesQuery, SeriesTarget,
    TimelineQuery,
};
use docktray::model::TimelineRow;
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

use crate::payloads::HistoryTarget;
use crate::state::Shell;

type Answer<T> = Result<T, String>;

/// The most rows one `list_timeline` answer holds (the newest).
const MAX_ROWS: usize = 2000;

/// Which timeline rows the window asks for; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimelineFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub host: Option<String>,
    /// A container's name or id.
    pub container: Option<String>,
    /// An event kind, a scope (container, image, volume, network), or `audit`.
    pub kind: Option<String>,
    /// Words every row must contain.
    pub text: Option<String>,
    pub audit_only: bool,
    /// The newest rows only (at most 2000).
    pub limit: Option<u32>,
}

impl TimelineFilter {
    fn query(self, cap: Option<usize>) -> TimelineQuery {
        let text = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        TimelineQuery {
            since: self.since,
            until: self.until,
            host: text(self.host),
            container: text(self.container),
            kind: text(self.kind),
            text: text(self.text),
            audit_only: self.audit_only,
            limit: match (self.limit, cap) {
                (Some(limit), Some(cap)) => Some((limit as usize).min(cap)),
                (Some(limit), None) => Some(limit as usize),
                (None, cap) => cap,
            },
            after: None,
        }
    }
}

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum ExportKind {
    Csv,
    Jsonl,
}

impl ExportKind {
    fn format(self) -> ExportFormat {
        match self {
            Self::Csv => ExportFormat::Csv,
            Self::Jsonl => ExportFormat::JsonLines,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Exported {
    pub path: String,
    pub rows: u32,
}

async fn history(shell: &State<'_, Shell>) -> Answer<Arc<History>> {
    shell.monitor().await?.history().cloned().ok_or_else(|| {
        "the history is off (history.enabled = false, or its file could not be opened): no timeline"
            .to_owned()
    })
}

/// SQLite reads block: keep them off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Answer<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|err| format!("reading the history failed: {err}"))?
}

/// Timeline rows, oldest first (the newest `limit`, at most 2000).
#[tauri::command]
pub async fn list_timeline(
    shell: State<'_, Shell>,
    filter: TimelineFilter,
) -> Answer<Vec<TimelineRow>> {
    let history = history(&shell).await?;
    let query = filter.query(Some(MAX_ROWS));
    blocking(move || {
        // What the recorder still holds is written first: rows pushed to the window before this view opened
        // would otherwise be in neither the answer nor a later push.
        if let Err(err) = history.flush() {
            tracing::warn!(%err, "the timeline is read without the last recorded rows");
        }
        history
            .timeline(&query)
            .map(|page| page.rows)
            .map_err(|err| err.to_string())
    })
    .await
}

/// Where the save dialog proposes to save: the Downloads folder (else home) and a name with the time.
#[tauri::command]
pub fn default_export_path(stem: String, kind: ExportKind) -> String {
    let folder = dirs::download_dir()
        .or_else(dirs::home_dir)
        .unwrap_or_else(std::env::temp_dir);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    folder
        .join(format!("docktray-{stem}-{stamp}.{}", kind.extension()))
        .display()
        .to_string()
}

/// Writes the timeline rows the filter selects (all of them) to `path`, as `docktray events --json` prints
/// them, or as CSV with the same columns.
#[tauri::command]
pub async fn export_timeline(
    shell: State<'_, Shell>,
    filter: TimelineFilter,
    kind: ExportKind,
    path: String,
) -> Answer<Exported> {
    let history = history(&shell).await?;
    let target = checked_path(&path)?;
    let query = filter.query(None);
    blocking(move || {
        if let Err(err) = history.flush() {
            tracing::warn!(%err, "the export is made without the last recorded rows");
        }
        let rows = history.timeline(&query).map_err(|e| e.to_string())?.rows;
        write_file(&target, |out| {
            write_timeline(&rows, kind.format(), out).map_err(|e| e.to_string())
        })
    })
    .await
}

/// Writes what a chart shows (its metrics, from `since` to `until`: the visible range) to `path`, with the
/// columns of `docktray history --csv`.
#[tauri::command]
pub async fn export_series(
    shell: State<'_, Shell>,
    target: HistoryTarget,
    metrics: Vec<String>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    kind: ExportKind,
    path: String,
) -> Answer<Exported> {
    let history = history(&shell).await?;
    let file = checked_path(&path)?;
    if metrics.is_empty() {
        return Err("no metric to export".to_owned());
    }
    let target = match target {
        HistoryTarget::Container { host, id } => SeriesTarget::Container {
            host: Some(host),
            id_or_name: id,
        },
        HistoryTarget::Host { name } => SeriesTarget::Host { name },
    };
    blocking(move || {
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
            let points = history.query(&query).map_err(|e| e.to_string())?.points;
            series.push((metric, points));
        }
        write_file(&file, |out| {
            write_series(&series, kind.format(), out).map_err(|e| e.to_string())
        })
    })
    .await
}

/// An absolute path to a new file in an existing folder: an export never replaces a file.
fn checked_path(path: &str) -> Answer<PathBuf> {
    let path = PathBuf::from(path.trim());
    if path.as_os_str().is_empty() || !path.is_absolute() {
        return Err(format!(
            "\"{}\" is not a full path: give the folder and the file name, such as /home/me/Downloads/timeline.csv",
            path.display()
        ));
    }
    if path.exists() {
        return Err(format!(
            "{} already exists: choose another name (an export never replaces a file)",
            path.display()
        ));
    }
    match path.parent() {
        Some(folder) if folder.is_dir() => Ok(path),
        _ => Err(format!(
            "there is no folder {}: choose an existing one",
            path.parent().unwrap_or(Path::new("/")).display()
        )),
    }
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<u64, String>,
) -> Answer<Exported> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| format!("cannot create {}: {err}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let rows = write(&mut out)?;
    out.flush()
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    tracing::info!(path = %path.display(), rows, "exported from the window");
    Ok(Exported {
        path: path.display().to_string(),
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
    })
}
