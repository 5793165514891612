//! Sending over `org.freedesktop.Notifications` on the session bus: capabilities first, then `Notify`, every
//! call bounded in time; and following clicks (`ActionInvoked`) on the connection that sent the notification.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::render::{Notification, Urgency};

/// The application name servers show and group by.
pub const APP_NAME: &str = "Docktray";

/// Every D-Bus call is bounded: a hung server must not stall the notifier (and with it later alerts) forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong sending a notification.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No session bus, or no server owns `org.freedesktop.Notifications` on it.
    #[error("no desktop notification server answers on the D-Bus session bus: {0}")]
    Unreachable(String),
    /// The server was there but did not answer in time.
    #[error("the desktop notification server did not answer within {0:?}")]
    TimedOut(Duration),
    /// The server answered the capability query but refused the notification itself.
    #[error("the desktop notification server refused the notification: {0}")]
    Rejected(String),
}

impl NotifyError {
    /// Errors that mean "nobody is listening" rather than "this notification was bad": these are reported once.
    pub(super) fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::TimedOut(_))
    }
}

/// Clicks on our notifications: the notification ids the server gave us, with the route a click should open
/// (the last [`REMEMBERED_CLICKS`]), and the session-bus connection these notifications are sent on.
///
/// Servers tell of a click with `ActionInvoked`, and dunst sends it only to the connection that called `Notify`
/// (GNOME Shell sends it to everyone). So notifications that offer "Open" are sent on one connection that also
/// listens, kept open while the notifier runs; a new one is made when it closes (the session bus went away).
#[derive(Debug, Clone)]
pub struct ClickRoutes {
    routes: Arc<Mutex<VecDeque<(u32, String)>>>,
    connection: Arc<tokio::sync::Mutex<Option<Listening>>>,
    clicks: broadcast::Sender<String>,
}

/// A session-bus connection and the task that follows `ActionInvoked` on it.
type Listening = (zbus::Connection, JoinHandle<()>);

/// Enough for every notification still on screen; older ones are long gone.
const REMEMBERED_CLICKS: usize = 256;

impl ClickRoutes {
    pub(super) fn new(clicks: broadcast::Sender<String>) -> Self {
        Self {
            routes: Arc::default(),
            connection: Arc::default(),
            clicks,
        }
    }

    fn remember(&self, id: u32, route: String) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if routes.len() >= REMEMBERED_CLICKS {
            routes.pop_front();
        }
        routes.push_back((id, route));
    }

    fn route(&self, id: u32) -> Option<String> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes
            .iter()
            .rev()
            .find(|(known, _)| *known == id)
            .map(|(_, route)| route.clone())
    }

    /// The connection to send on: the open one, or a new one that already listens for clicks.
    async fn connection(&self) -> Result<zbus::Connection, zbus::Error> {
        let mut slot = self.connection.lock().await;
        if let Some((connection, listener)) = slot.as_ref() {
            if !listener.is_finished() {
                return Ok(connection.clone());
            }
        }
        let connection = zbus::Connection::session().await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.Notifications")
            .member("ActionInvoked")
            .build()?;
        // In place before the first `Notify` on this connection, so no click can come before it.
        let stream = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
        let listener = tokio::spawn(follow_clicks(stream, self.clone()));
        *slot = Some((connection.clone(), listener));
        Ok(connection)
    }

    /// Stops following clicks (the notifier ended).
    pub(super) async fn close(&self) {
        if let Some((_, listener)) = self.connection.lock().await.take() {
            listener.abort();
        }
    }
}

/// Turns `ActionInvoked` signals about our notifications into routes; ends when the connection closes.
async fn follow_clicks(mut stream: zbus::MessageStream, routes: ClickRoutes) {
    use futures_util::StreamExt;
    while let Some(message) = stream.next().await {
        let Ok(message) = message else { continue };
        let Ok((id, _action)) = message.body().deserialize::<(u32, String)>() else {
            continue;
        };
        if let Some(route) = routes.route(id) {
            tracing::debug!(id, %route, "notification clicked");
            let _ = routes.clicks.send(route);
        }
    }
}

/// Sends notifications to the session bus's notification server, in order.
///
/// The server's capabilities are asked first, on every call: they tell whether the body may carry markup (else
/// the plain text is sent), and the answer doubles as the "is anyone there" check. Servers come and go with the
/// desktop session, so nothing is cached.
pub async fn send(notifications: &[Notification]) -> Result<(), NotifyError> {
    send_with_routes(notifications, None).await
}

/// [`send`], offering an "Open" action and remembering where a click leads when `clicks` is given.
pub(super) async fn send_with_routes(
    notifications: &[Notification],
    clicks: Option<&ClickRoutes>,
) -> Result<(), NotifyError> {
    let unreachable = |err: zbus::Error| NotifyError::Unreachable(err.to_string());
    // With clicks, everything goes over the connection that hears them (see [`ClickRoutes`]).
    let connection = match clicks {
        Some(clicks) => {
            Some(bounded(async { clicks.connection().await.map_err(unreachable) }).await?)
        }
        None => None,
    };
    let capabilities = bounded(server_capabilities(connection.as_ref())).await?;
    let markup = capabilities.iter().any(|c| c == "body-markup");
    let actions = connection.is_some() && capabilities.iter().any(|c| c == "actions");
    for notification in notifications {
        let mut message = notify_rust::Notification::new();
        let body = if markup {
            notification.body.clone()
        } else {
            notification.plain_body()
        };
        message
            .appname(APP_NAME)
            .summary(&notification.summary)
            .body(&body)
            .icon(notification.urgency.icon())
            .urgency(notification.urgency.into())
            .timeout(notification.urgency.timeout());
        if actions {
            // "default" is what servers invoke when the notification itself is clicked.
            message.action("default", "Open in Docktray");
        }
        let rejected = |err: String| NotifyError::Rejected(err);
        let id = bounded(async {
            match &connection {
                Some(connection) => notify_on(connection, &message)
                    .await
                    .map_err(|err| rejected(err.to_string())),
                None => message
                    .show_async()
                    .await
                    .map(|handle| handle.id())
                    .map_err(|err| rejected(err.to_string())),
            }
        })
        .await?;
        if let (true, Some(clicks)) = (actions, clicks) {
            clicks.remember(id, super::route_for(notification));
        }
    }
    Ok(())
}

/// `Notify` with what notify-rust would send for `message` (its fields and hints, no id to replace), on
/// `connection`, which stays open after the call.
async fn notify_on(
    connection: &zbus::Connection,
    message: &notify_rust::Notification,
) -> Result<u32, zbus::Error> {
    let hints: std::collections::HashMap<&str, zbus::Variant<'_>> =
        message.hints.iter().map(Into::into).collect();
    connection
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "Notify",
            &(
                &message.appname,
                0u32,
                &message.icon,
                &message.summary,
                &message.body,
                &message.actions,
                hints,
                i32::from(message.timeout),
            ),
        )
        .await?
        .body()
        .deserialize()
}

/// Shows one test notification, ignoring settings: for a "Send test notification" menu item or a CLI check that
/// tells the user, with the error, why nothing appears.
pub async fn send_test() -> Result<(), NotifyError> {
    send(&[Notification {
        summary: "Docktray test notification".to_owned(),
        body: "Desktop notifications work: alerts will appear like this.".to_owned(),
        urgency: Urgency::Normal,
        alert_ids: Vec::new(),
        target: None,
    }])
    .await
}

/// Runs a D-Bus exchange with [`CALL_TIMEOUT`].
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, NotifyError>>,
) -> Result<T, NotifyError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| NotifyError::TimedOut(CALL_TIMEOUT))?
}

/// Asks `GetCapabilities` (on `connection`, or a new one); any failure means no usable server (every compliant
/// server implements it).
async fn server_capabilities(
    connection: Option<&zbus::Connection>,
) -> Result<Vec<String>, NotifyError> {
    let unreachable = |err: zbus::Error| NotifyError::Unreachable(err.to_string());
    let connection = match connection {
        Some(connection) => connection.clone(),
        None => zbus::Connection::session().await.map_err(unreachable)?,
    };
    let reply = connection
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "GetCapabilities",
            &(),
        )
        .await
        .map_err(unreachable)?;
    reply.body().deserialize().map_err(unreachable)
}
