//! How each notification channel beside the desktop (webhooks, ntfy, e-mail) is doing: the channel sinks report
//! it to the engine after every delivery attempt, so the window, `docktray status` and the tray can show a
//! failing channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A channel's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum ChannelState {
    /// Nothing sent yet, or the last message went through.
    Ok,
    /// The last attempt failed and it is being tried again.
    Retrying,
    /// Every attempt at the last message failed: the message was given up.
    Failing,
    /// Turned off in the settings.
    Off,
}

/// One channel's state, as its sink last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChannelStatus {
    /// `webhook:NAME`, `ntfy` or `email`: what `docktray notify test` takes.
    pub name: String,
    /// `webhook`, `ntfy` or `email`.
    pub kind: String,
    pub state: ChannelState,
    /// Where it sends to, without secrets: the URL, the topic's address, the SMTP server.
    pub destination: String,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The last failure in words (never a secret), and when.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Messages waiting in this channel's own queue.
    pub queued: u32,
    /// Messages given up (every retry failed) or dropped (its queue was full) since start.
    pub dropped: u64,
    pub sent: u64,
}

/// The names of the channels a configuration has: `webhook:NAME` for each webhook, `ntfy` and `email` when set.
pub fn configured_names<'a>(
    webhooks: impl Iterator<Item = &'a str>,
    ntfy: bool,
    email: bool,
) -> Vec<String> {
    let mut names: Vec<String> = webhooks.map(|name| format!("webhook:{name}")).collect();
    if ntfy {
        names.push("ntfy".to_owned());
    }
    if email {
        names.push("email".to_owned());
    }
    names
}
