//! The CLI's actions in the history's audit log: who (the command line), which host and container, what, and
//! how it ended. A short-lived command has no recorder running, so it writes its entries itself (the history
//! takes writes from several processes; a running desktop app or `docktray watch` keeps recording meanwhile).

use docktray::history::History;
use docktray::model::{Actor, AuditTarget};
use docktray::Config;

/// The history to record the CLI's actions in; `None` when it is turned off or cannot be opened (the action
/// still runs: a missing audit entry is logged, never a reason to refuse).
pub struct AuditLog {
    history: Option<History>,
}

impl AuditLog {
    pub fn open(config: &Config) -> Self {
        if !config.history.enabled {
            return Self { history: None };
        }
        let history = docktray::monitor::history_path(config)
            .map_err(|err| err.to_string())
            .and_then(|path| History::open(&path, &config.history).map_err(|err| err.to_string()));
        match history {
            Ok(history) => Self {
                history: Some(history),
            },
            Err(err) => {
                tracing::warn!(%err, "cannot open the history: this action is not audited");
                Self { history: None }
            }
        }
    }

    /// Records one action of the CLI and how it ended (`Err`: the engine's error as text).
    pub fn record<T, E: std::fmt::Display>(
        &self,
        host: &str,
        target: AuditTarget,
        action: &str,
        result: &Result<T, E>,
    ) {
        let Some(history) = &self.history else { return };
        let outcome = result.as_ref().map(|_| ()).map_err(ToString::to_string);
        history.record_audit(&Actor::cli().entry(host, target, action, outcome));
    }

    /// Writes what was recorded before the command ends.
    pub fn close(self) {
        if let Some(history) = self.history {
            if let Err(err) = history.flush() {
                tracing::warn!(%err, "the audit entries of this command were not stored");
            }
        }
    }
}
