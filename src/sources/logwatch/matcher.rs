//! Matching one container's log lines against its `[[log_alerts]]` rules, and counting the matches in each
//! rule's window. Pure and bounded: each line is matched on its text without colour codes, cut to
//! [`MAX_MATCHED_BYTES`] (the regex engine runs in time linear in its input), and each rule keeps at most
//! [`MAX_COUNTED`] match times and [`KEPT_LINES`] lines.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::LogAlert;
use crate::model::{LogMatch, Target};

/// The part of a line a pattern sees: a bounded cost per line, however long the line.
pub const MAX_MATCHED_BYTES: usize = 8 * 1024;
/// Match times a rule remembers: a flood of matching lines costs no more memory than this.
pub const MAX_COUNTED: usize = 10_000;
/// Matching lines a rule keeps to show in its alert.
pub const KEPT_LINES: usize = 5;
/// A kept line is cut to this many characters.
const KEPT_CHARS: usize = 300;

/// One rule, compiled, with its matches in one container.
pub struct RuleState {
    pub config: LogAlert,
    regex: regex::Regex,
    times: VecDeque<DateTime<Utc>>,
    lines: VecDeque<String>,
    last_match: Option<DateTime<Utc>>,
    /// The state was last reported as quiet (after `clear_after`): nothing to say until the next match.
    settled: bool,
}

impl RuleState {
    /// Compiles a validated rule; `None` (logged) if the pattern does not compile after all.
    pub fn new(config: LogAlert) -> Option<Self> {
        match config.regex() {
            Ok(regex) => Some(Self {
                config,
                regex,
                times: VecDeque::new(),
                lines: VecDeque::new(),
                last_match: None,
                settled: true,
            }),
            Err(err) => {
                tracing::warn!(pattern = %config.pattern, %err, "a log alert's pattern does not compile");
                None
            }
        }
    }

    /// Takes a changed rule with the same name and selector, keeping the matches counted so far.
    pub fn update(&mut self, config: LogAlert) {
        if config.pattern != self.config.pattern {
            if let Ok(regex) = config.regex() {
                self.regex = regex;
            }
        }
        self.config = config;
    }

    /// Matches one line (without colour codes) received at `at`; returns whether it matched.
    pub fn feed(&mut self, plain: &str, at: DateTime<Utc>) -> bool {
        let text = cut(plain, MAX_MATCHED_BYTES);
        if !self.regex.is_match(text) {
            return false;
        }
        if self.times.len() >= MAX_COUNTED {
            self.times.pop_front();
        }
        self.times.push_back(at);
        if self.lines.len() >= KEPT_LINES {
            self.lines.pop_front();
        }
        let shown = match text.char_indices().nth(KEPT_CHARS) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text.to_owned(),
        };
        self.lines.push_back(shown);
        self.last_match = Some(at);
        self.settled = false;
        true
    }

    /// The rule's state at `at` for the evaluator, or `None` when it has been quiet and was said to be.
    pub fn report(&mut self, target: &Target, at: DateTime<Utc>) -> Option<LogMatch> {
        if self.settled {
            return None;
        }
        let window = TimeDelta::from_std(self.config.window).unwrap_or(TimeDelta::MAX);
        while self
            .times
            .front()
            .is_some_and(|first| at.signed_duration_since(*first) > window)
        {
            self.times.pop_front();
        }
        let clear_after = self.config.clear_after();
        let quiet = self.last_match.is_none_or(|last| {
            at.signed_duration_since(last)
                >= TimeDelta::from_std(clear_after).unwrap_or(TimeDelta::MAX)
        });
        if quiet {
            // Said once, so an alert clears; then nothing until the next match.
            self.settled = true;
        }
        Some(self.state(target, at))
    }

    /// The rule is going away (removed from the settings): its last word clears its alert.
    pub fn farewell(&mut self, target: &Target, at: DateTime<Utc>) -> Option<LogMatch> {
        if self.settled {
            return None;
        }
        self.settled = true;
        self.times.clear();
        self.last_match = None;
        Some(self.state(target, at))
    }

    fn state(&self, target: &Target, at: DateTime<Utc>) -> LogMatch {
        LogMatch {
            target: target.clone(),
            rule: self.config.label().to_owned(),
            pattern: self.config.pattern.clone(),
            count: u32::try_from(self.times.len()).unwrap_or(u32::MAX),
            needed: self.config.count,
            window: self.config.window,
            level: self.config.level(),
            clear_after: self.config.clear_after(),
            last_match: self.last_match,
            lines: self.lines.iter().cloned().collect(),
            at,
        }
    }
}

/// How often counts are reported while a rule is active.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetKind;

    fn rule(pattern: &str, count: u32, window_s: u64) -> RuleState {
        RuleState::new(LogAlert {
            name: String::new(),
            container: Some("web".into()),
            service: None,
            label: None,
            host: None,
            pattern: pattern.into(),
            count,
            window: Duration::from_secs(window_s),
            level: "warning".into(),
            clear_after: Some(Duration::from_secs(30)),
        })
        .expect("compiles")
    }

    fn target() -> Target {
        Target {
            kind: TargetKind::Container,
            host: "local".into(),
            id: "abc".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn counts_within_the_window_and_goes_quiet() {
        let mut state = rule("ERROR", 3, 10);
        let t0 = Utc::now();
        for i in 0..5 {
            assert!(state.feed("an ERROR here", t0 + TimeDelta::seconds(i)));
        }
        assert!(!state.feed("all fine", t0));
        let report = state
            .report(&target(), t0 + TimeDelta::seconds(5))
            .expect("active");
        assert_eq!(report.count, 5);
        assert_eq!(report.lines.len(), KEPT_LINES);
        // At 12 s the first two have left the 10 s window (one exactly 10 s old stays).
        let report = state
            .report(&target(), t0 + TimeDelta::seconds(12))
            .expect("active");
        assert_eq!(report.count, 3);
        // Quiet for clear_after: said once, then nothing.
        let quiet = state
            .report(&target(), t0 + TimeDelta::seconds(40))
            .expect("said once");
        assert_eq!(quiet.count, 0);
        assert!(state
            .report(&target(), t0 + TimeDelta::seconds(41))
            .is_none());
    }

    #[test]
    fn long_lines_are_cut_before_matching() {
        let mut state = rule("NEEDLE", 1, 10);
        let long = format!("{}NEEDLE", "x".repeat(MAX_MATCHED_BYTES));
        assert!(
            !state.feed(&long, Utc::now()),
            "beyond the bound is not looked at"
        );
        let multibyte = "é".repeat(MAX_MATCHED_BYTES);
        assert_eq!(cut(&multibyte, 5).len(), 4);
    }
}
