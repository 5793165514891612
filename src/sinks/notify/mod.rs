//! Desktop notifications over `org.freedesktop.Notifications` (notify-rust), driven by alert transitions.
//!
//! Two halves, so the rules can be tested without a desktop:
//! - [`render`] is pure: it turns a batch of [`AlertTransition`]s plus the user's [`NotificationSettings`] into
//!   the [`Notification`]s to show (level filter, quiet hours, grouping of bursts, markup escaping);
//! - [`spawn_notifier`] listens to the engine's updates, gathers transitions that arrive close together into one
//!   batch (a host going down raises many alerts at once, and twelve pop-ups help nobody), renders and sends.
//!
//! A machine without a notification server (a server, a headless box, a broken session) is normal: the notifier
//! says so once, keeps running and tries again with the next batch.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveTime;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::alerts::labels::metric_label;
use crate::alerts::{AlertTransition, Level, Target, TransitionKind};
use crate::config::{parse_quiet_hours, NotificationSettings};
use crate::model::Update;

/// The application name servers show and group by.
pub const APP_NAME: &str = "Docktray";

/// More notifiable transitions than this in one batch become a single grouped notification.
pub const GROUP_ABOVE: usize = 3;

/// Lines a grouped notification lists before "and N more": enough to see what is worst, short enough to read.
const GROUP_LINES: usize = 4;

/// Containers named in a host alert's body.
const TOP_NAMED: usize = 3;

/// Every D-Bus call is bounded: a hung server must not stall the notifier (and with it later alerts) forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

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
    fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::TimedOut(_))
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
    fn new(clicks: broadcast::Sender<String>) -> Self {
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
    async fn close(&self) {
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

/// Sends notifications to the session bus's notification server, in order.
///
/// The server's capabilities are asked first, on every call: they tell whether the body may carry markup (else
/// the plain text is sent), and the answer doubles as the "is anyone there" check. Servers come and go with the
/// desktop session, so nothing is cached.
pub async fn send(notifications: &[Notification]) -> Result<(), NotifyError> {
    send_with_routes(notifications, None).await
}

/// [`send`], offering an "Open" action and remembering where a click leads when `clicks` is given.
async fn send_with_routes(
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
            clicks.remember(id, route_for(notification));
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::alerts::{metric, Alert, TargetKind};

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn container(name: &str) -> Target {
        Target {
            kind: TargetKind::Container,
            host: "local".into(),
            id: format!("id-{name}"),
            name: name.into(),
        }
    }

    fn host(name: &str) -> Target {
        Target {
            kind: TargetKind::Host,
            host: name.into(),
            id: name.into(),
            name: name.into(),
        }
    }

    fn alert(
        id: u64,
        target: Target,
        metric: &str,
        level: Level,
        value: f64,
        threshold: f64,
    ) -> Alert {
        Alert {
            id,
            target,
            metric: metric.into(),
            detail: None,
            level,
            value: Some(value),
            threshold: Some(threshold),
            unit: "%".into(),
            message: format!("message {id}"),
            started_at: Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap(),
            resolved_at: None,
            acknowledged: false,
            top: Vec::new(),
        }
    }

    fn change(
        kind: TransitionKind,
        alert: Alert,
        previous_level: Option<Level>,
    ) -> AlertTransition {
        AlertTransition {
            kind,
            at: alert.started_at,
            alert,
            previous_level,
        }
    }

    fn raised(id: u64, name: &str, level: Level, value: f64) -> AlertTransition {
        let threshold = if level == Level::Critical { 90.0 } else { 70.0 };
        change(
            TransitionKind::Raised,
            alert(
                id,
                container(name),
                metric::CONTAINER_CPU,
                level,
                value,
                threshold,
            ),
            None,
        )
    }

    fn resolved(id: u64, name: &str, previous: Level) -> AlertTransition {
        let mut gone = alert(
            id,
            container(name),
            metric::CONTAINER_CPU,
            Level::Resolved,
            12.0,
            70.0,
        );
        gone.message = format!("CPU of {name} on local back to 12.0 % (below 63.0 %)");
        change(TransitionKind::Resolved, gone, Some(previous))
    }

    fn settings() -> NotificationSettings {
        NotificationSettings::default()
    }

    #[test]
    fn one_notification_per_transition_with_value_against_threshold() {
        let shown = render(
            &[raised(1, "web", Level::Critical, 95.23)],
            &settings(),
            at(12, 0),
        );
        assert_eq!(shown.len(), 1);
        let n = &shown[0];
        assert_eq!(n.summary, "web on local: CPU critical");
        assert_eq!(n.body, "CPU 95.2 % (critical above 90 %)");
        assert_eq!(n.urgency, Urgency::Critical);
        assert_eq!(n.alert_ids, vec![1]);
        assert_eq!(n.target, Some(container("web")));
    }

    #[test]
    fn urgency_follows_the_level() {
        let escalated = change(
            TransitionKind::Escalated,
            alert(
                2,
                container("db"),
                metric::CONTAINER_MEMORY,
                Level::Critical,
                97.0,
                95.0,
            ),
            Some(Level::Warning),
        );
        let notice = change(
            TransitionKind::Notice,
            Alert {
                value: None,
                threshold: None,
                unit: String::new(),
                message: "old on local disappeared".into(),
                ..alert(
                    4,
                    container("old"),
                    metric::DISAPPEARED,
                    Level::Info,
                    0.0,
                    0.0,
                )
            },
            None,
        );
        let info = NotificationSettings {
            min_level: "info".into(),
            ..settings()
        };
        let shown = render(
            &[
                raised(1, "web", Level::Warning, 75.0),
                escalated,
                resolved(3, "api", Level::Warning),
            ],
            &info,
            at(12, 0),
        );
        let urgencies: Vec<Urgency> = shown.iter().map(|n| n.urgency).collect();
        assert_eq!(
            urgencies,
            [Urgency::Normal, Urgency::Critical, Urgency::Low]
        );
        assert_eq!(shown[1].summary, "db on local: Memory now critical");
        assert_eq!(shown[1].body, "Memory 97.0 % (critical above 95 %)");
        let shown = render(&[notice], &info, at(12, 0));
        assert_eq!(shown[0].urgency, Urgency::Low);
        assert_eq!(shown[0].summary, "old on local: Removed");
        assert_eq!(shown[0].body, "old on local disappeared");
        assert_eq!(Urgency::Critical.icon(), "dialog-error");
        assert_eq!(
            Urgency::Low.timeout(),
            notify_rust::Timeout::Milliseconds(5_000)
        );
    }

    #[test]
    fn below_min_level_is_not_notified() {
        let critical_only = NotificationSettings {
            min_level: "critical".into(),
            ..settings()
        };
        let batch = [
            raised(1, "web", Level::Warning, 75.0),
            raised(2, "db", Level::Critical, 99.0),
        ];
        let shown = render(&batch, &critical_only, at(12, 0));
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].alert_ids, vec![2]);
        // Notices are info: hidden at the default `warning`.
        let mut notice = raised(3, "old", Level::Info, 0.0);
        notice.kind = TransitionKind::Notice;
        assert!(render(&[notice], &settings(), at(12, 0)).is_empty());
        // Eased and acknowledged are never notified.
        let mut eased = raised(4, "web", Level::Warning, 80.0);
        eased.kind = TransitionKind::Eased;
        let mut acknowledged = raised(5, "web", Level::Critical, 99.0);
        acknowledged.kind = TransitionKind::Acknowledged;
        assert!(render(&[eased, acknowledged], &settings(), at(12, 0)).is_empty());
    }

    #[test]
    fn resolved_is_notified_only_when_the_alert_was() {
        let shown = render(
            &[resolved(1, "web", Level::Warning)],
            &settings(),
            at(12, 0),
        );
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].summary, "web on local: CPU back to normal");
        assert_eq!(
            shown[0].body,
            "CPU of web on local back to 12.0 % (below 63.0 %)"
        );
        assert_eq!(shown[0].urgency, Urgency::Low);
        let critical_only = NotificationSettings {
            min_level: "critical".into(),
            ..settings()
        };
        assert!(render(
            &[resolved(1, "web", Level::Warning)],
            &critical_only,
            at(12, 0)
        )
        .is_empty());
        assert_eq!(
            render(
                &[resolved(2, "db", Level::Critical)],
                &critical_only,
                at(12, 0)
            )
            .len(),
            1
        );
    }

    #[test]
    fn quiet_hours_span_midnight() {
        let quiet = NotificationSettings {
            quiet_hours: "22:00-07:00".into(),
            ..settings()
        };
        let batch = [raised(1, "web", Level::Critical, 95.0)];
        for silent in [at(22, 0), at(23, 59), at(0, 0), at(3, 30), at(6, 59)] {
            assert!(render(&batch, &quiet, silent).is_empty(), "{silent}");
        }
        for loud in [at(7, 0), at(12, 0), at(21, 59)] {
            assert_eq!(render(&batch, &quiet, loud).len(), 1, "{loud}");
        }
        let daytime = NotificationSettings {
            quiet_hours: "12:00-13:30".into(),
            ..settings()
        };
        assert!(render(&batch, &daytime, at(12, 45)).is_empty());
        assert_eq!(render(&batch, &daytime, at(13, 30)).len(), 1);
        assert!(!in_quiet_hours("", at(3, 0)));
        assert!(!in_quiet_hours("08:00-08:00", at(8, 0)));
    }

    #[test]
    fn disabled_means_nothing() {
        let off = NotificationSettings {
            enabled: false,
            ..settings()
        };
        assert!(render(&[raised(1, "web", Level::Critical, 95.0)], &off, at(12, 0)).is_empty());
    }

    #[test]
    fn a_burst_becomes_one_grouped_notification_worst_first() {
        let mut batch: Vec<AlertTransition> = (0..10)
            .map(|i| raised(i, &format!("c{i}"), Level::Warning, 75.0))
            .collect();
        batch.push(raised(10, "db", Level::Critical, 99.0));
        batch.push(resolved(11, "api", Level::Warning));
        let shown = render(&batch, &settings(), at(12, 0));
        assert_eq!(shown.len(), 1);
        let n = &shown[0];
        assert_eq!(n.summary, "12 alerts on local");
        assert_eq!(n.urgency, Urgency::Critical);
        assert_eq!(n.alert_ids, (0..12).collect::<Vec<u64>>());
        assert_eq!(n.target, None);
        let lines: Vec<&str> = n.body.lines().collect();
        assert_eq!(
            lines,
            [
                "db on local: CPU 99.0 % (critical above 90 %)",
                "c0 on local: CPU 75.0 % (warning above 70 %)",
                "c1 on local: CPU 75.0 % (warning above 70 %)",
                "c2 on local: CPU 75.0 % (warning above 70 %)",
                "and 8 more",
            ]
        );
        // Exactly at the limit: still one each.
        assert_eq!(render(&batch[..3], &settings(), at(12, 0)).len(), 3);
        // Filtered ones do not count toward grouping.
        let mut mostly_info = batch[..3].to_vec();
        for i in 20..25 {
            let mut notice = raised(i, "gone", Level::Info, 0.0);
            notice.kind = TransitionKind::Notice;
            mostly_info.push(notice);
        }
        assert_eq!(render(&mostly_info, &settings(), at(12, 0)).len(), 3);
    }

    #[test]
    fn grouped_across_hosts_and_all_resolved() {
        let mut batch: Vec<AlertTransition> = (0..4)
            .map(|i| resolved(i, &format!("c{i}"), Level::Critical))
            .collect();
        let shown = render(&batch, &settings(), at(12, 0));
        assert_eq!(shown[0].summary, "4 alerts resolved on local");
        assert_eq!(shown[0].urgency, Urgency::Low);
        assert_eq!(shown[0].body.lines().count(), 4);
        batch.push(change(
            TransitionKind::Raised,
            alert(
                9,
                host("nas"),
                metric::HOST_DISK,
                Level::Warning,
                85.0,
                80.0,
            ),
            None,
        ));
        let shown = render(&batch, &settings(), at(12, 0));
        assert_eq!(shown[0].summary, "5 alerts on local and nas");
        assert!(
            shown[0]
                .body
                .starts_with("nas: Disk 85.0 % (warning above 80 %)\n"),
            "{}",
            shown[0].body
        );
    }

    #[test]
    fn host_alerts_name_the_top_containers() {
        let mut cpu = alert(
            1,
            host("local"),
            metric::HOST_CPU,
            Level::Critical,
            97.04,
            95.0,
        );
        cpu.top = vec![
            ("db".into(), 61.0),
            ("web".into(), 20.25),
            ("cache".into(), 9.0),
            ("x".into(), 1.0),
        ];
        let shown = render(
            &[change(TransitionKind::Raised, cpu, None)],
            &settings(),
            at(12, 0),
        );
        assert_eq!(shown[0].summary, "local: CPU critical");
        assert_eq!(
            shown[0].body,
            "CPU 97.0 % (critical above 95 %)\nTop: db 61.0 %, web 20.2 %, cache 9.0 %"
        );
    }

    #[test]
    fn untrusted_names_are_plain_text() {
        let evil = "<img src=x onerror=alert(1)>";
        let mut cpu = alert(
            1,
            host("local"),
            metric::HOST_CPU,
            Level::Critical,
            97.0,
            95.0,
        );
        cpu.top = vec![(evil.into(), 50.0), ("a&b".into(), 10.0)];
        let mut exited = alert(2, container(evil), metric::EXITED, Level::Warning, 0.0, 0.0);
        exited.value = None;
        exited.threshold = None;
        exited.message = format!("{evil} on local exited with code 1");
        let shown = render(
            &[
                change(TransitionKind::Raised, cpu, None),
                change(TransitionKind::Raised, exited, None),
            ],
            &settings(),
            at(12, 0),
        );
        assert_eq!(
            shown[0].body,
            "CPU 97.0 % (critical above 95 %)\nTop: &lt;img src=x onerror=alert(1)&gt; 50.0 %, a&amp;b 10.0 %"
        );
        assert!(shown[0]
            .plain_body()
            .ends_with(&format!("Top: {evil} 50.0 %, a&b 10.0 %")));
        assert_eq!(
            shown[1].body,
            "&lt;img src=x onerror=alert(1)&gt; on local exited with code 1"
        );
        // The summary is plain text by the spec: passed through as is.
        assert_eq!(shown[1].summary, format!("{evil} on local: Exited"));
    }

    #[test]
    fn markup_escaping_round_trips() {
        for text in [
            "",
            "a < b && c > d",
            "&lt; literal",
            "&amp;lt;",
            "&",
            "trailing &",
        ] {
            assert_eq!(unescape_markup(&escape_markup(text)), text);
        }
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
