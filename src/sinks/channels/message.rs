//! What a channel sends for a batch of alert changes: a title and a plain-text body written as the desktop
//! notifications are (the same words), the worst level, and the changes themselves for webhooks' JSON
//! (docs/notifications.md). A channel's own minimum level and quiet hours decide which changes it gets.

use chrono::{DateTime, NaiveTime, Utc};
use serde::Serialize;

use crate::alerts::{AlertTransition, Level, TransitionKind};
use crate::config::channels::Delivery;
use crate::config::NotificationSettings;
use crate::sinks::notify::render;

/// The version of the webhook body's schema (docs/notifications.md); a change that breaks readers bumps it.
pub const SCHEMA: &str = "docktray.notification/1";

/// One message for one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// A short line: "web on local: CPU critical", "5 alerts on local".
    pub title: String,
    /// Plain text: one paragraph per change (its details, a log alert's last lines).
    pub text: String,
    /// The worst level among the changes (`resolved` when all are good news).
    pub level: Level,
    /// True for `docktray notify test` and the settings' "Send test" button.
    pub test: bool,
    pub sent_at: DateTime<Utc>,
    /// The alert changes, as the engine publishes them (docs/status-json.md describes an alert).
    pub changes: Vec<AlertTransition>,
}

/// The level a change conveys: a resolution is good news whatever it was, a notice is information.
fn shown_level(change: &AlertTransition) -> Level {
    match change.kind {
        TransitionKind::Resolved => Level::Resolved,
        TransitionKind::Notice => Level::Info,
        _ => change.alert.level,
    }
}

/// The desktop rules (enabled, minimum level, quiet hours) with a channel's values.
fn rules(delivery: &Delivery) -> NotificationSettings {
    NotificationSettings {
        enabled: delivery.enabled,
        min_level: delivery.min_level.as_str().to_owned(),
        quiet_hours: delivery.quiet_hours.clone(),
        group_window: delivery.group_window,
        ..NotificationSettings::default()
    }
}

/// The message for a batch, or `None` when the channel's rules leave nothing to send.
pub fn for_batch(
    batch: &[AlertTransition],
    delivery: &Delivery,
    now_local: NaiveTime,
) -> Option<Message> {
    let settings = rules(delivery);
    let mut parts: Vec<(String, String, &AlertTransition)> = Vec::new();
    for change in batch {
        // One change at a time: the desktop's grouping is replaced by one message per batch.
        if let Some(shown) = render(std::slice::from_ref(change), &settings, now_local).pop() {
            parts.push((shown.summary.clone(), shown.plain_body(), change));
        }
    }
    let level = parts.iter().map(|(.., change)| shown_level(change)).max()?;
    let title = match parts.as_slice() {
        [(summary, ..)] => summary.clone(),
        more => {
            let mut hosts: Vec<&str> = more
                .iter()
                .map(|(.., change)| change.alert.target.host.as_str())
                .collect();
            hosts.dedup();
            let place = if hosts.len() == 1 {
                hosts[0].to_owned()
            } else {
                format!("{} hosts", hosts.len())
            };
            format!("{} alert changes on {place}", more.len())
        }
    };
    let text = parts
        .iter()
        .map(|(summary, body, _)| {
            if parts.len() > 1 {
                format!("{summary}\n{body}")
            } else {
                body.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    Some(Message {
        schema: SCHEMA,
        title,
        text,
        level,
        test: false,
        sent_at: Utc::now(),
        changes: parts
            .into_iter()
            .map(|(.., change)| change.clone())
            .collect(),
    })
}

/// The message of a test send: no alert, information level.
pub fn test(channel: &str) -> Message {
    Message {
        schema: SCHEMA,
        title: "Docktray test notification".to_owned(),
        text: format!(
            "This is a test from Docktray through {channel}. If you read it, alerts will reach you here."
        ),
        level: Level::Info,
        test: true,
        sent_at: Utc::now(),
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Alert, Target, TargetKind};
    use std::time::Duration;

    fn change(kind: TransitionKind, level: Level, host: &str) -> AlertTransition {
        let now = Utc::now();
        AlertTransition {
            kind,
            alert: Alert {
                id: 7,
                target: Target {
                    kind: TargetKind::Container,
                    host: host.into(),
                    id: "abc".into(),
                    name: "web <b>".into(),
                },
                metric: "log_pattern".into(),
                detail: Some("errors".into()),
                level,
                value: Some(12.0),
                threshold: Some(10.0),
                unit: "lines".into(),
                message: "12 lines matched".into(),
                started_at: now,
                resolved_at: None,
                acknowledged: false,
                top: Vec::new(),
                lines: vec!["ERROR one".into(), "ERROR two".into()],
            },
            previous_level: None,
            at: now,
        }
    }

    fn delivery(min_level: Level) -> Delivery {
        Delivery {
            enabled: true,
            min_level,
            quiet_hours: String::new(),
            group_window: Duration::from_secs(1),
            retries: 0,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn one_change_is_its_own_message_with_plain_text_and_lines() {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let message = for_batch(
            &[change(TransitionKind::Raised, Level::Critical, "local")],
            &delivery(Level::Warning),
            noon,
        )
        .expect("sent");
        assert_eq!(message.level, Level::Critical);
        assert!(
            message.title.contains("web <b> on local"),
            "{}",
            message.title
        );
        assert!(message.text.contains("\nERROR two"), "{}", message.text);
        assert!(
            !message.text.contains("&lt;"),
            "plain text: {}",
            message.text
        );
    }

    #[test]
    fn the_channels_minimum_level_and_quiet_hours_apply() {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let warning = [change(TransitionKind::Raised, Level::Warning, "local")];
        assert!(for_batch(&warning, &delivery(Level::Critical), noon).is_none());
        let mut quiet = delivery(Level::Info);
        quiet.quiet_hours = "11:00-13:00".into();
        assert!(for_batch(&warning, &quiet, noon).is_none());
        let both = [
            change(TransitionKind::Raised, Level::Warning, "local"),
            change(TransitionKind::Raised, Level::Critical, "nas"),
        ];
        let message = for_batch(&both, &delivery(Level::Info), noon).expect("sent");
        assert_eq!(message.title, "2 alert changes on 2 hosts");
        assert_eq!(message.changes.len(), 2);
        assert_eq!(message.level, Level::Critical);
    }
}
