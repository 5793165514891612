//! Small helpers shared by several modules: duration parsing, ANSI stripping, lossy text, backoff.

use std::time::Duration;

use rand::Rng;

/// Parses a human duration such as `2s`, `500ms`, `1m`, `1h` or `1m30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            "d" => number * 86400.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(seconds).ok()?;
    }
    Some(total)
}

/// Formats a duration the way [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// Removes ANSI escape sequences (CSI colour codes, OSC titles, lone ESC pairs) so text can be searched.
pub fn strip_ansi(text: &str) -> String {
    if !text.contains('\u{1b}') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                // CSI: parameters and intermediates, ended by a byte in 0x40..=0x7e.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                chars.next();
                // OSC: ended by BEL or ESC \.
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

/// Exponential backoff with full jitter between `min` and `max`, so many clients never retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            attempt: 0,
        }
    }

    /// The ceiling of the next delay before jitter: min x 2^attempt, capped at max.
    pub fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        self.min.saturating_mul(factor).min(self.max)
    }

    /// Next delay: uniformly drawn in [ceiling/2, ceiling], never below `min`.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let low = (ceiling / 2).max(self.min);
        if ceiling <= low {
            return low;
        }
        let span = (ceiling - low).as_millis() as u64;
        low + Duration::from_millis(rand::rng().random_range(0..=span))
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// Difference of two cumulative counters. A counter that went down was reset (the container restarted and
/// got a new cgroup), so everything it counted since is new.
pub fn counter_delta(previous: u64, current: u64) -> u64 {
    if current >= previous {
        current - previous
    } else {
        current
    }
}

/// Per-second rate of a cumulative counter between two samples, robust to resets and zero intervals.
pub fn rate_per_second(previous: u64, current: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 || !seconds.is_finite() {
        return 0.0;
    }
    counter_delta(previous, current) as f64 / seconds
}

/// The environment variable holding a named thing's secret: `prefix` then `name` upper-cased, anything but ASCII
/// letters and digits as `_` (`"DOCKTRAY_WEBDOCK_TOKEN_"`, `"my-shop"` gives `DOCKTRAY_WEBDOCK_TOKEN_MY_SHOP`).
pub fn env_var_name(prefix: &str, name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("two seconds"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn ansi_is_stripped_for_search() {
        assert_eq!(strip_ansi("\u{1b}[31merror\u{1b}[0m: x"), "error: x");
        assert_eq!(strip_ansi("\u{1b}[1;38;5;196mred"), "red");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}text"), "text");
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(strip_ansi("dangling \u{1b}"), "dangling ");
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut last_ceiling = Duration::ZERO;
        for _ in 0..12 {
            let ceiling = backoff.ceiling();
            assert!(ceiling >= last_ceiling);
            let delay = backoff.next_delay();
            assert!(
                delay >= Duration::from_secs(1) && delay <= ceiling.max(Duration::from_secs(1))
            );
            last_ceiling = ceiling;
        }
        assert_eq!(backoff.ceiling(), Duration::from_secs(60));
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_secs(1));
    }

    #[test]
    fn rates_survive_counter_resets() {
        assert_eq!(rate_per_second(1000, 3000, 2.0), 1000.0);
        // Counter reset (container restarted): the new value is what was counted since.
        assert_eq!(rate_per_second(5000, 800, 2.0), 400.0);
        assert_eq!(rate_per_second(0, 100, 0.0), 0.0);
        assert_eq!(counter_delta(10, 4), 4);
    }
}
