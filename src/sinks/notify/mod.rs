//! Desktop notifications over `org.freedesktop.Notifications` (notify-rust), driven by alert transitions.
//!
//! Three parts, so the rules can be tested without a desktop:
//! - [`render`] is pure: it turns a batch of [`AlertTransition`]s plus the user's [`NotificationSettings`] into
//!   the [`Notification`]s to show (level filter, quiet hours, grouping of bursts, markup escaping);
//! - [`dbus`] sends them and follows clicks;
//! - [`spawn_notifier`] (here) listens to the engine's updates, gathers transitions that arrive close together
//!   into one batch (a host going down raises many alerts at once, and twelve pop-ups help nobody), renders and
//!   sends.
//!
//! A machine without a notification server (a server, a headless box, a broken session) is normal: the notifier
//! says so once, keeps running and tries again with the next batch.

mod dbus;
mod render;

use chrono::NaiveTime;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::alerts::AlertTransition;
use crate::config::NotificationSettings;
use crate::model::Update;
use dbus::send_with_routes;
pub use dbus::{send, send_test, ClickRoutes, NotifyError, APP_NAME};
pub use render::{escape_markup, in_quiet_hours, render, Notification, Urgency, GROUP_ABOVE};

/// Sends rendered notifications and remembers whether an outage was already reported.
#[derive(Debug)]
pub struct Notifier {
    settings: NotificationSettings,
    /// Set after the "no notification server" warning, cleared after the next success: one warning per outage
    /// instead of one per alert.
    warned_unreachable: bool,
    /// Where a click on a shown notification leads, when someone listens for clicks.
    clicks: Option<ClickRoutes>,
    /// Settings changed while running (the window's settings): taken before each batch.
    changes: Option<watch::Receiver<NotificationSettings>>,
}

/// Where the window should open for a notification: its target, or the alert list for a grouped one.
pub fn route_for(notification: &Notification) -> String {
    notification
        .target
        .as_ref()
        .map(crate::sinks::tray::route_for)
        .unwrap_or_else(|| "alerts".to_owned())
}

impl Notifier {
    pub fn new(settings: NotificationSettings) -> Self {
        Self {
            settings,
            warned_unreachable: false,
            clicks: None,
            changes: None,
        }
    }

    /// Takes the latest settings, if they changed. Alerts already notified are not notified again: only
    /// transitions from now on are rendered with the new settings.
    fn refresh_settings(&mut self) {
        if let Some(changes) = &mut self.changes {
            if changes.has_changed().unwrap_or(false) {
                self.settings = changes.borrow_and_update().clone();
                tracing::debug!(settings = ?self.settings, "notification settings changed");
            }
        }
    }

    /// Renders a batch for `now_local` and sends the result; failures are logged, never returned, because a
    /// missing notification server must not stop anything else. Returns how many notifications were shown.
    pub async fn deliver(&mut self, batch: &[AlertTransition], now_local: NaiveTime) -> usize {
        let notifications = render(batch, &self.settings, now_local);
        if notifications.is_empty() {
            tracing::debug!(
                transitions = batch.len(),
                "no notification for this batch (settings)"
            );
            return 0;
        }
        match send_with_routes(&notifications, self.clicks.as_ref()).await {
            Ok(()) => {
                if self.warned_unreachable {
                    tracing::info!("desktop notifications are delivered again");
                    self.warned_unreachable = false;
                }
                notifications.len()
            }
            Err(err) if err.is_unreachable() => {
                if !self.warned_unreachable {
                    self.warned_unreachable = true;
                    tracing::warn!(
                        "desktop notifications are not shown: {err}. Start a notification server (your desktop's, \
                         or e.g. `dunst`) in this session and check that DBUS_SESSION_BUS_ADDRESS points at its bus, \
                         or turn them off with `enabled = false` under [notifications]. Docktray keeps running and \
                         tries again with the next alert."
                    );
                } else {
                    tracing::debug!(%err, "notification server still unreachable");
                }
                0
            }
            Err(err) => {
                tracing::warn!(%err, "a desktop notification was not shown");
                0
            }
        }
    }

    /// Gathers transitions into batches (the first one opens a window of `group_window`; everything notifiable
    /// that arrives within it joins) and delivers each batch, until the update stream closes. A pending batch is
    /// still delivered when the stream closes, so an alert raised just before shutdown is not lost.
    ///
    /// Sending happens inline: a batch costs at most a few bounded D-Bus calls, and the broadcast channel holds
    /// far more updates than arrive meanwhile.
    pub async fn run(
        mut self,
        mut updates: broadcast::Receiver<Update>,
        paused: watch::Receiver<bool>,
    ) {
        loop {
            let Some(first) = next_transition(&mut updates).await else {
                return;
            };
            self.refresh_settings();
            let mut batch = vec![first];
            let deadline = Instant::now() + self.settings.group_window;
            let mut closed = false;
            loop {
                match tokio::time::timeout_at(deadline, next_transition(&mut updates)).await {
                    Ok(Some(change)) => batch.push(change),
                    Ok(None) => {
                        closed = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            // Checked when the batch is complete: pausing from the tray drops what would show now, it does not
            // queue it for later (stale pop-ups after "resume" would be worse than none).
            if *paused.borrow() {
                tracing::debug!(
                    transitions = batch.len(),
                    "notifications paused: batch dropped"
                );
            } else {
                self.refresh_settings();
                self.deliver(&batch, chrono::Local::now().time()).await;
            }
            if closed {
                return;
            }
        }
    }
}

/// The next notifiable transition on the stream, or `None` once it is closed. Cancel-safe (broadcast `recv` is),
/// which the grouping window relies on.
async fn next_transition(updates: &mut broadcast::Receiver<Update>) -> Option<AlertTransition> {
    loop {
        match updates.recv().await {
            Ok(Update::Alert(change)) if change.is_notifiable() => return Some(*change),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(
                    skipped,
                    "the notifier fell behind the engine; some alerts may not be notified"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Starts the notifier on the current tokio runtime. It ends when `updates` closes (the engine stopped).
/// `paused` is the tray's "Pause notifications": while `true`, batches are dropped.
pub fn spawn_notifier(
    settings: NotificationSettings,
    updates: broadcast::Receiver<Update>,
    paused: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(Notifier::new(settings).run(updates, paused))
}

/// Like [`spawn_notifier`], and notifications offer an "Open" action (where the server supports actions): a
/// click sends the route of the notification's target (`container:<host>/<id>`, `host:<name>`, `alerts`) on
/// `clicks`, for the desktop app to open its window there.
///
/// `settings` may change while it runs (the window's settings): each batch is rendered with the latest.
pub fn spawn_notifier_with_clicks(
    settings: watch::Receiver<NotificationSettings>,
    updates: broadcast::Receiver<Update>,
    paused: watch::Receiver<bool>,
    clicks: broadcast::Sender<String>,
) -> JoinHandle<()> {
    let routes = ClickRoutes::new(clicks);
    let mut notifier = Notifier::new(settings.borrow().clone());
    notifier.changes = Some(settings);
    notifier.clicks = Some(routes.clone());
    tokio::spawn(async move {
        notifier.run(updates, paused).await;
        routes.close().await;
    })
}
