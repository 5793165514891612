//! Pure rendering: a batch of [`AlertTransition`]s plus the user's [`NotificationSettings`] become the
//! [`Notification`]s to show (level filter, quiet hours, grouping of bursts, markup escaping). No D-Bus here, so
//! every rule is tested without a desktop.

use chrono::NaiveTime;

use crate::alerts::labels::metric_label;
use crate::alerts::{AlertTransition, Level, Target, TransitionKind};
use crate::config::{parse_quiet_hours, NotificationSettings};

/// More notifiable transitions than this in one batch become a single grouped notification.
pub const GROUP_ABOVE: usize = 3;

/// Lines a grouped notification lists before "and N more": enough to see what is worst, short enough to read.
const GROUP_LINES: usize = 4;

/// Containers named in a host alert's body.
const TOP_NAMED: usize = 3;

/// A log alert's last matching lines shown in its notification.
const LOG_LINES: usize = 3;

/// How urgent a notification is; maps to the spec's `urgency` hint (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

impl Urgency {
    /// Critical alerts are critical notifications; warnings normal; information and resolutions low, so a
    /// server's do-not-disturb rules can let only what matters through.
    pub fn for_level(level: Level) -> Self {
        match level {
            Level::Critical => Self::Critical,
            Level::Warning => Self::Normal,
            Level::Info | Level::Resolved => Self::Low,
        }
    }

    /// A themed icon name every freedesktop icon theme has, so no icon file has to be installed.
    pub fn icon(self) -> &'static str {
        match self {
            Self::Critical => "dialog-error",
            Self::Normal => "dialog-warning",
            Self::Low => "dialog-information",
        }
    }

    /// How long the server shows it: critical ones stay until dismissed (the spec says servers should not
    /// expire them anyway), a warning long enough to read, information briefly.
    pub fn timeout(self) -> notify_rust::Timeout {
        match self {
            Self::Critical => notify_rust::Timeout::Never,
            Self::Normal => notify_rust::Timeout::Milliseconds(10_000),
            Self::Low => notify_rust::Timeout::Milliseconds(5_000),
        }
    }
}

impl From<Urgency> for notify_rust::Urgency {
    fn from(urgency: Urgency) -> Self {
        match urgency {
            Urgency::Low => Self::Low,
            Urgency::Normal => Self::Normal,
            Urgency::Critical => Self::Critical,
        }
    }
}

/// One desktop notification, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// One line of plain text (the spec allows no markup in the summary, so it is not escaped).
    pub summary: String,
    /// Body in the spec's markup subset: `<`, `>` and `&` of any text (container names included) are escaped,
    /// so a server that interprets markup shows them literally. See [`Notification::plain_body`].
    pub body: String,
    pub urgency: Urgency,
    /// The alerts this notification is about (several when grouped), for "open the alert" actions.
    pub alert_ids: Vec<u64>,
    /// The target when the notification is about one target (a grouped one may span several: `None`).
    pub target: Option<Target>,
}

impl Notification {
    /// The body as plain text, for servers without the `body-markup` capability: they show the text verbatim,
    /// so an escaped `&lt;` would appear as such.
    pub fn plain_body(&self) -> String {
        unescape_markup(&self.body)
    }
}

/// Turns a batch of transitions into the notifications to show. Pure: the caller passes the local time.
///
/// - only notifiable transitions count ([`AlertTransition::is_notifiable`]), and only at or above
///   `settings.min_level` (a resolution counts at the level the alert had, a notice as `info`);
/// - nothing when notifications are disabled or `now_local` is within the quiet hours;
/// - up to [`GROUP_ABOVE`] transitions give one notification each, more give one grouped notification.
pub fn render(
    batch: &[AlertTransition],
    settings: &NotificationSettings,
    now_local: NaiveTime,
) -> Vec<Notification> {
    if !settings.enabled || in_quiet_hours(&settings.quiet_hours, now_local) {
        return Vec::new();
    }
    // Config validation rejects anything else; a bad value must still not silence everything.
    let min_level = match Level::parse(&settings.min_level) {
        Some(Level::Resolved) | None => Level::Warning,
        Some(level) => level,
    };
    let shown: Vec<&AlertTransition> = batch
        .iter()
        .filter(|change| change.is_notifiable() && filter_level(change) >= min_level)
        .collect();
    if shown.len() > GROUP_ABOVE {
        vec![grouped(&shown)]
    } else {
        shown.into_iter().map(single).collect()
    }
}

/// The level the `min_level` filter compares against.
fn filter_level(change: &AlertTransition) -> Level {
    match change.kind {
        // A resolution is worth showing exactly when its alert was: otherwise "back to normal" would pop up
        // for a warning the user chose not to hear about. Unknown previous level: not shown.
        TransitionKind::Resolved => change.previous_level.unwrap_or(Level::Resolved),
        TransitionKind::Notice => Level::Info,
        _ => change.alert.level,
    }
}

/// The level a notification conveys (urgency, order in a group): a resolution is good news whatever it was.
fn shown_level(change: &AlertTransition) -> Level {
    match change.kind {
        TransitionKind::Resolved => Level::Resolved,
        TransitionKind::Notice => Level::Info,
        _ => change.alert.level,
    }
}

/// Whether `now` is within `HH:MM-HH:MM`; a range whose start is after its end spans midnight. An empty,
/// invalid or zero-length range means no quiet hours.
pub fn in_quiet_hours(quiet_hours: &str, now: NaiveTime) -> bool {
    let Some((start, end)) = parse_quiet_hours(quiet_hours) else {
        return false;
    };
    if start <= end {
        start <= now && now < end
    } else {
        now >= start || now < end
    }
}

/// One transition's notification.
fn single(change: &AlertTransition) -> Notification {
    let alert = &change.alert;
    let mut body = detail_line(change);
    if !alert.top.is_empty() && change.kind != TransitionKind::Resolved {
        body.push('\n');
        body.push_str(&top_line(&alert.top, &alert.unit));
    }
    // A log alert's last matching lines (escaped below like any text).
    if change.kind != TransitionKind::Resolved {
        for line in alert.lines.iter().rev().take(LOG_LINES).rev() {
            body.push('\n');
            body.push_str(&one_line(line));
        }
    }
    Notification {
        summary: one_line(&headline(change)),
        body: escape_markup(&body),
        urgency: Urgency::for_level(shown_level(change)),
        alert_ids: vec![alert.id],
        target: Some(alert.target.clone()),
    }
}

/// A burst as one notification: the worst first, a few lines, then how many more.
fn grouped(changes: &[&AlertTransition]) -> Notification {
    let mut sorted: Vec<&AlertTransition> = changes.to_vec();
    // Stable: equally bad ones keep their arrival order.
    sorted.sort_by_key(|change| std::cmp::Reverse(shown_level(change)));
    let worst = sorted
        .first()
        .map_or(Level::Resolved, |change| shown_level(change));

    let mut hosts: Vec<&str> = Vec::new();
    for change in changes {
        let host = change.alert.target.host.as_str();
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    let place = match hosts.as_slice() {
        [one] => (*one).to_owned(),
        [one, two] => format!("{one} and {two}"),
        more => format!("{} hosts", more.len()),
    };
    let all_resolved = changes
        .iter()
        .all(|change| change.kind == TransitionKind::Resolved);
    let summary = if all_resolved {
        format!("{} alerts resolved on {place}", changes.len())
    } else {
        format!("{} alerts on {place}", changes.len())
    };

    let mut lines: Vec<String> = sorted
        .iter()
        .take(GROUP_LINES)
        .map(|change| group_line(change))
        .collect();
    if changes.len() > GROUP_LINES {
        lines.push(format!("and {} more", changes.len() - GROUP_LINES));
    }

    let first_target = &changes[0].alert.target;
    let same_target = changes
        .iter()
        .all(|change| &change.alert.target == first_target);
    Notification {
        summary: one_line(&summary),
        body: escape_markup(&lines.join("\n")),
        urgency: Urgency::for_level(worst),
        alert_ids: changes.iter().map(|change| change.alert.id).collect(),
        target: same_target.then(|| first_target.clone()),
    }
}

/// "web on local: CPU critical", "local: Disk /var back to normal", "web on local: Exited".
fn headline(change: &AlertTransition) -> String {
    let alert = &change.alert;
    let target = alert.target.label();
    let what = metric_label(&alert.metric, alert.detail.as_deref());
    let numeric = is_numeric(change);
    let level = alert.level.as_str();
    match change.kind {
        TransitionKind::Raised if numeric => format!("{target}: {what} {level}"),
        TransitionKind::Escalated => format!("{target}: {what} now {level}"),
        TransitionKind::Reminder => format!("{target}: {what} still {level}"),
        TransitionKind::Resolved if numeric => format!("{target}: {what} back to normal"),
        TransitionKind::Resolved => format!("{target}: {what} resolved"),
        _ => format!("{target}: {what}"),
    }
}

/// Whether the alert is about a measured value with a threshold (CPU, memory ...) rather than an event.
fn is_numeric(change: &AlertTransition) -> bool {
    change.alert.value.is_some() && change.alert.threshold.is_some()
}

/// "CPU 95.2 % (critical above 90 %)" for a measured value still above its line; the evaluator's message
/// otherwise (it already says "back to 42.0 % (below 63 %)", "exited with code 137" ...).
fn detail_line(change: &AlertTransition) -> String {
    let alert = &change.alert;
    match (alert.value, alert.threshold) {
        // A forecast's message says the projection in words ("full in about 3 days").
        _ if crate::alerts::metric::is_forecast(&alert.metric) => alert.message.clone(),
        (Some(value), Some(threshold)) if change.kind != TransitionKind::Resolved => format!(
            "{} {} ({} above {})",
            metric_label(&alert.metric, alert.detail.as_deref()),
            with_unit(&format!("{value:.1}"), &alert.unit),
            alert.level.as_str(),
            with_unit(&compact(threshold), &alert.unit),
        ),
        _ => alert.message.clone(),
    }
}

/// One line of a grouped notification: the target and the detail (or the headline when there is no value).
fn group_line(change: &AlertTransition) -> String {
    if is_numeric(change) && change.kind != TransitionKind::Resolved {
        format!("{}: {}", change.alert.target.label(), detail_line(change))
    } else {
        headline(change)
    }
}

/// "Top: db 61.0 %, web 20.3 %".
fn top_line(top: &[(String, f64)], unit: &str) -> String {
    let named: Vec<String> = top
        .iter()
        .take(TOP_NAMED)
        .map(|(name, value)| format!("{name} {}", with_unit(&format!("{value:.1}"), unit)))
        .collect();
    format!("Top: {}", named.join(", "))
}

fn with_unit(number: &str, unit: &str) -> String {
    if unit.is_empty() {
        number.to_owned()
    } else {
        format!("{number} {unit}")
    }
}

/// Thresholds are usually round ("90 %"); show a decimal only when there is one.
fn compact(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The summary is one line in every server; a stray line break or control character would garble it.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Escapes what the spec's body markup would interpret, so text shows literally.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Exact inverse of [`escape_markup`] (one left-to-right pass, so `&amp;lt;` becomes `&lt;`, not `<`).
fn unescape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (replacement, len) = if rest.starts_with("&amp;") {
            ('&', 5)
        } else if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(replacement);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
