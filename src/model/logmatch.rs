//! What the log watcher reports: how often a `[[log_alerts]]` pattern matched a container's log lines lately,
//! and the last lines that did. The engine's alert evaluator turns these counts into alerts.

use chrono::{DateTime, Utc};

use super::alert::{Level, Target};

/// One rule's matches in one container's logs, as counted at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMatch {
    pub target: Target,
    /// The rule's name (`name`, else its pattern): the alert's detail, so each rule has its own alert.
    pub rule: String,
    /// The rule's pattern, for messages.
    pub pattern: String,
    /// Matching lines within the rule's window, ending at `at`.
    pub count: u32,
    /// How many matches within the window raise the alert.
    pub needed: u32,
    /// The window the count is taken over.
    pub window: std::time::Duration,
    pub level: Level,
    /// The alert clears once no line has matched for this long.
    pub clear_after: std::time::Duration,
    /// When a line last matched.
    pub last_match: Option<DateTime<Utc>>,
    /// The last matching lines (without colour codes), oldest first.
    pub lines: Vec<String>,
    pub at: DateTime<Utc>,
}
