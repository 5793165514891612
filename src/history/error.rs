//! What the history store can fail with. Every message names the file and says what the user can do about it,
//! because the desktop app shows these as-is.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// The broad cause of a database error, so the app can react (e.g. offer to move a corrupt file aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The file or its folder cannot be created, opened or written by this user.
    Permission,
    DiskFull,
    /// The file is damaged or is not a SQLite database.
    Corrupt,
    /// Another process holds a lock for longer than the busy timeout.
    Busy,
    Other,
}

impl Problem {
    fn of(error: &rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(
                ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::AuthorizationForStatementDenied,
            ) => Self::Permission,
            Some(ErrorCode::DiskFull) => Self::DiskFull,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Self::Corrupt,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy,
            _ => Self::Other,
        }
    }

    fn hint(self, path: &Path) -> String {
        let path = path.display();
        match self {
            Self::Permission => format!(
                "Check that {path} and its folder exist and are writable by this user (ls -ld), or set `path` in the \
                 [history] section of the config to a writable file"
            ),
            Self::DiskFull => format!(
                "The disk holding {path} is full: free some space, or shorten `raw_retention` in the [history] section \
                 of the config"
            ),
            Self::Corrupt => format!(
                "The file is damaged or is not a Docktray history database: move it aside (e.g. `mv {path} \
                 {path}.bad`) and Docktray starts a new one"
            ),
            Self::Busy => "Another program holds a lock on it: close other Docktray instances or sqlite3 shells using \
                           the file, then try again"
                .to_owned(),
            Self::Other => "If it keeps happening, move the file aside and Docktray starts a new one".to_owned(),
        }
    }
}

/// Anything the history store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "cannot create the folder {} for the history database {}: {source}. Create it yourself, or set `path` in the \
         [history] section of the config to a writable place",
        .dir.display(), .path.display()
    )]
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        source: io::Error,
    },

    /// A SQLite call failed; `hint` says how to fix it for this `problem`.
    #[error("history database {}: cannot {action}: {detail}. {hint}", .path.display())]
    Database {
        path: PathBuf,
        action: &'static str,
        problem: Problem,
        detail: String,
        hint: String,
    },

    #[error(
        "history database {} has schema version {found}, newer than the {supported} this Docktray knows: it was \
         written by a newer Docktray. Upgrade Docktray, or set `path` in the [history] section of the config to \
         another file. The file was not changed",
        .path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("unknown {target} metric {metric:?}; valid names: {}", .valid.join(", "))]
    UnknownMetric {
        metric: String,
        /// `container` (also for services) or `host`.
        target: &'static str,
        valid: Vec<&'static str>,
    },

    #[error("{what:?} matches containers on several hosts ({}): say which host", .hosts.join(", "))]
    AmbiguousTarget { what: String, hosts: Vec<String> },

    #[error("{what:?} is the start of several container ids ({}): give more of the id or the name", .ids.join(", "))]
    AmbiguousId { what: String, ids: Vec<String> },

    #[error("empty time range: `since` ({since}) must be before `until` ({until})")]
    EmptyRange { since: String, until: String },

    #[error("the history writer of {} has stopped ({reason}); restart Docktray", .path.display())]
    WriterStopped { path: PathBuf, reason: String },

    #[error("cannot write the export: {source}. Check that the output's disk has space and that it is writable")]
    ExportWrite { source: io::Error },

    #[error("cannot read export line {line}: {reason}")]
    ExportParse { line: u64, reason: String },
}

impl HistoryError {
    pub(crate) fn db(path: &Path, action: &'static str, error: rusqlite::Error) -> Self {
        let problem = Problem::of(&error);
        Self::Database {
            path: path.to_owned(),
            action,
            problem,
            detail: error.to_string(),
            hint: problem.hint(path),
        }
    }

    /// The broad cause for database errors, `None` for the others.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            Self::Database { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}

/// Manual because `io::Error` is not `Clone`; the writer answers several waiting `flush` calls with one error.
impl Clone for HistoryError {
    fn clone(&self) -> Self {
        let io_copy = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
        match self {
            Self::CreateDir { path, dir, source } => Self::CreateDir {
                path: path.clone(),
                dir: dir.clone(),
                source: io_copy(source),
            },
            Self::Database {
                path,
                action,
                problem,
                detail,
                hint,
            } => Self::Database {
                path: path.clone(),
                action,
                problem: *problem,
                detail: detail.clone(),
                hint: hint.clone(),
            },
            Self::NewerSchema {
                path,
                found,
                supported,
            } => Self::NewerSchema {
                path: path.clone(),
                found: *found,
                supported: *supported,
            },
            Self::UnknownMetric {
                metric,
                target,
                valid,
            } => Self::UnknownMetric {
                metric: metric.clone(),
                target,
                valid: valid.clone(),
            },
            Self::AmbiguousTarget { what, hosts } => Self::AmbiguousTarget {
                what: what.clone(),
                hosts: hosts.clone(),
            },
            Self::AmbiguousId { what, ids } => Self::AmbiguousId {
                what: what.clone(),
                ids: ids.clone(),
            },
            Self::EmptyRange { since, until } => Self::EmptyRange {
                since: since.clone(),
                until: until.clone(),
            },
            Self::WriterStopped { path, reason } => Self::WriterStopped {
                path: path.clone(),
                reason: reason.clone(),
            },
            Self::ExportWrite { source } => Self::ExportWrite {
                source: io_copy(source),
            },
            Self::ExportParse { line, reason } => Self::ExportParse {
                line: *line,
                reason: reason.clone(),
            },
        }
    }
}
