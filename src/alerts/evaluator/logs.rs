//! Log-pattern alerts (`[[log_alerts]]`): raised at the rule's level once `count` lines matched within its
//! window (the count itself is the hold), kept while lines keep matching (with the last ones shown), reminded
//! after the cooldown and acknowledged like any alert, and cleared once nothing matched for `clear_after`.

use super::*;
use crate::model::LogMatch;
use crate::util::format_duration;

/// Matching lines an alert carries: enough to see what happened.
pub const ALERT_LINES: usize = 5;

impl Evaluator {
    /// Judges the log watcher's latest counts.
    pub fn log_matches(&mut self, matches: &[LogMatch]) -> Vec<AlertTransition> {
        let mut changes = Vec::new();
        for found in matches {
            let key = Key::new(&found.target, metric::LOG_PATTERN, Some(found.rule.clone()));
            let lines: Vec<String> = found
                .lines
                .iter()
                .rev()
                .take(ALERT_LINES)
                .rev()
                .cloned()
                .collect();
            let quiet = found
                .last_match
                .is_none_or(|last| elapsed(last, found.at) >= found.clear_after);
            match self.active.get_mut(&key) {
                Some(active) => {
                    if quiet {
                        let message = format!(
                            "{}: no line matched \"{}\" for {}",
                            found.target.label(),
                            found.pattern,
                            format_duration(found.clear_after)
                        );
                        changes.extend(self.close(&key, message, found.at));
                    } else {
                        active.alert.value = Some(f64::from(found.count));
                        if !lines.is_empty() {
                            active.alert.lines = lines;
                        }
                    }
                }
                None if found.count >= found.needed && !quiet => {
                    let alert = Alert {
                        id: self.next_id(found.at),
                        target: found.target.clone(),
                        metric: metric::LOG_PATTERN.to_owned(),
                        detail: Some(found.rule.clone()),
                        level: found.level,
                        value: Some(f64::from(found.count)),
                        threshold: Some(f64::from(found.needed)),
                        unit: "lines".to_owned(),
                        message: format!(
                            "{} lines of {} matched \"{}\" within {}",
                            found.count,
                            found.target.label(),
                            found.pattern,
                            format_duration(found.window)
                        ),
                        started_at: found.at,
                        resolved_at: None,
                        acknowledged: false,
                        top: Vec::new(),
                        lines,
                    };
                    changes.push(self.open(key, alert, found.at));
                }
                None => {}
            }
        }
        changes
    }
}
