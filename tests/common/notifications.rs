//! A real desktop notification server for tests: Debian's `dunst` on a private `dbus-daemon` (its own socket in a
//! temp dir, so the developer's session is never touched), drawing on its own `Xvfb` display, with a private
//! dunstrc. Docktray talks to it exactly as to the user's dunst: over D-Bus, through the address in
//! `DBUS_SESSION_BUS_ADDRESS`.
//!
//! What Docktray sent is observed from the D-Bus side: a monitor connection on the private bus
//! (`org.freedesktop.DBus.Monitoring.BecomeMonitor`) sees every `Notify` call and the method return dunst answered
//! it with, so each [`Recorded`] carries the id the server gave. Only calls the server answered are recorded.
//!
//! - [`TestBus::start`] starts just the bus (for "no server reachable"); [`NotificationServer::start_on`] then
//!   starts dunst on it, and dropping the server ends dunst and waits until the bus has no server again;
//! - [`NotificationServer::start`] starts a bus and a server together, for a child process
//!   (`DBUS_SESSION_BUS_ADDRESS=server.address()`), with nothing set in this process's environment.
//!
//! Every server has its own Xvfb, which picks a free display itself (`-displayfd`), so tests running in parallel
//! and test binaries one after another never share a display. The monitor runs on its own thread and tokio
//! runtime, so it works whether the test is sync or async and whatever runtime the code under test uses.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use zbus::message::Type;
use zbus::OwnedVariant;

pub use super::dbus::TestBus;

pub const NOTIFICATIONS_NAME: &str = "org.freedesktop.Notifications";
pub const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// Interface of the marker signals the fixture sends to itself through the bus (see [`NotificationServer::received`]).
const BARRIER_INTERFACE: &str = "org.docktray.TestMonitor";
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// One `Notify` call as the server received it, with the id it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The id dunst answered with.
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    /// The `urgency` hint decoded: 0 low, 1 normal, 2 critical; `None` when not sent.
    pub urgency: Option<u8>,
    /// Names of all hints sent (sorted).
    pub hint_names: Vec<String>,
    /// Milliseconds; -1 server default, 0 never.
    pub expire_timeout: i32,
}

/// How dunst is configured; the D-Bus side differs only in what it advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// dunst's default (`markup = full`): advertises `body-markup`.
    Full,
    /// `markup = no`, a setting users pick: dunst shows bodies verbatim and does not advertise `body-markup`.
    No,
}

/// dunst on a test bus, with a monitor recording what it was sent.
pub struct NotificationServer {
    address: String,
    recorder: Arc<Recorder>,
    dunst: Child,
    display: String,
    commands: tokio::sync::mpsc::UnboundedSender<Request>,
    thread: Option<JoinHandle<()>>,
    xvfb: Child,
    // Config, logs; removed after the processes are gone.
    dir: tempfile::TempDir,
    // Declared last: dropped after everything else.
    own_bus: Option<TestBus>,
}

impl NotificationServer {
    /// A new bus with dunst on it; the bus lives as long as the server.
    pub fn start() -> Self {
        let bus = TestBus::start();
        let mut server = Self::start_at(&bus.address(), Markup::Full);
        server.own_bus = Some(bus);
        server
    }

    /// dunst with its default configuration (markup included) on an existing bus.
    pub fn start_on(bus: &TestBus) -> Self {
        Self::start_at(&bus.address(), Markup::Full)
    }

    /// dunst on the bus at `address`, configured with `markup`. Returns once it owns the name and the monitor
    /// is in place.
    pub fn start_at(address: &str, markup: Markup) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dtt-dunst")
            .tempdir()
            .expect("temp dir for dunst");
        let (xvfb, display) = start_xvfb(dir.path());
        let recorder = Arc::new(Recorder::default());
        let (commands, thread) = start_monitor(address, recorder.clone());

        let config = dir.path().join("dunstrc");
        std::fs::write(&config, dunstrc(markup)).expect("write the dunstrc");
        let log = dir.path().join("dunst.log");
        let dunst = Command::new("dunst")
            .arg("-config")
            .arg(&config)
            .args(["-verbosity", "info"])
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            // dunst also reads drop-ins next to its config and the user's files under these: keep it private.
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_CONFIG_DIRS", dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("dunst log file"))
            .stderr(std::fs::File::create(dir.path().join("dunst.err")).expect("dunst log file"))
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start dunst: {err} (install the Debian package `dunst`; `make test` does it through \
                     scripts/deps.sh)"
                )
            });
        let mut server = Self {
            address: address.to_owned(),
            recorder,
            dunst,
            display,
            commands,
            thread: Some(thread),
            xvfb,
            dir,
            own_bus: None,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !server.has_owner() {
            if let Ok(Some(status)) = server.dunst.try_wait() {
                panic!(
                    "dunst exited ({status}) before owning {NOTIFICATIONS_NAME}: {}",
                    server.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dunst did not own {NOTIFICATIONS_NAME} within {START_TIMEOUT:?}: {}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The address of the bus the server is on, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// The X display dunst draws on (`:N`).
    pub fn display(&self) -> String {
        self.display.clone()
    }

    /// Everything the server answered so far, oldest first.
    ///
    /// First a marker signal goes through the bus and this waits until the monitor saw it: the bus hands the
    /// monitor its messages in order, so every reply a client got before this call is recorded by then.
    pub fn received(&self) -> Vec<Recorded> {
        self.sync();
        self.recorder.lock().received.clone()
    }

    /// Forgets what was received (between scenarios).
    pub fn clear(&self) {
        self.sync();
        self.recorder.lock().received.clear();
    }

    /// Blocks until at least `n` notifications arrived and returns all of them; panics after `timeout` with
    /// what did arrive. Do not call it on a current-thread runtime that must also run the sender: use
    /// [`NotificationServer::wait_for_async`] there.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} notifications within {timeout:?}, got {}: {received:#?}",
                    received.len()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`NotificationServer::wait_for`] for async tests.
    pub async fn wait_for_async(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {n} notifications within {timeout:?}, got {}: {received:#?}",
                    received.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many notifications dunst has on screen (`dunstctl count displayed`).
    pub fn displayed(&self) -> usize {
        let out = self.dunstctl(&["count", "displayed"]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("dunstctl count displayed: {out:?}"))
    }

    /// Clicks the `position`-th notification on screen (0 = top) as a user would with the left button under
    /// this dunstrc (`mouse_left_click = do_action, close_current`): `dunstctl action`, which makes dunst
    /// invoke the notification's default action and send `ActionInvoked` to the application. Waits until
    /// dunst shows that many notifications first.
    pub fn click(&self, position: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        while self.displayed() <= position {
            assert!(
                Instant::now() < deadline,
                "dunst shows {} notifications, none at position {position}: {}",
                self.displayed(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.dunstctl(&["action", &position.to_string()]);
    }

    /// Closes the notification on top (`dunstctl close`), as a user dismissing it.
    pub fn close_top(&self) {
        self.dunstctl(&["close"]);
    }

    /// Runs `dunstctl` against this dunst and returns its stdout; panics when it fails.
    pub fn dunstctl(&self, args: &[&str]) -> String {
        let output = Command::new("dunstctl")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap_or_else(|err| panic!("cannot run dunstctl: {err}"));
        assert!(
            output.status.success(),
            "dunstctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// dunst's own log, for failure messages.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "\n--- dunst ---\n{}{}\n--- Xvfb ---\n{}",
            read("dunst.log"),
            read("dunst.err"),
            read("xvfb.log")
        )
    }

    fn has_owner(&self) -> bool {
        let (reply, answer) = mpsc::channel();
        self.command(Request::HasOwner(reply));
        answer
            .recv_timeout(START_TIMEOUT)
            .expect("the monitor thread answers NameHasOwner")
    }

    /// Sends a marker through the bus and waits until the monitor saw it.
    fn sync(&self) {
        let (reply, answer) = mpsc::channel();
        self.command(Request::Barrier(reply));
        let token = answer
            .recv_timeout(START_TIMEOUT)
            .expect("the monitor thread sends the marker");
        let deadline = Instant::now() + START_TIMEOUT;
        let mut state = self.recorder.lock();
        while state.barrier < token {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the monitor did not see its marker {token} within {START_TIMEOUT:?}"
            );
            state = self
                .recorder
                .seen
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn command(&self, command: Request) {
        self.commands
            .send(command)
            .expect("the monitor thread is running");
    }
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        let _ = self.dunst.kill();
        let _ = self.dunst.wait();
        // The bus notices the closed connection on its own time: wait, so the next call sees "no owner".
        let deadline = Instant::now() + START_TIMEOUT;
        while self.has_owner() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.commands.send(Request::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// `Xvfb -displayfd`: it takes the first free display number itself (lock files in /tmp make that safe between
/// concurrent starts) and writes it to the pipe once it accepts clients.
fn start_xvfb(dir: &Path) -> (Child, String) {
    let log = std::fs::File::create(dir.join("xvfb.log")).expect("Xvfb log file");
    let mut child = Command::new("Xvfb")
        .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1024x768x24"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|err| {
            panic!(
                "cannot start Xvfb: {err} (install the Debian package `xvfb`; `make test` does it through \
                 scripts/deps.sh)"
            )
        });
    let stdout = child.stdout.take().expect("Xvfb stdout is piped");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let number = line.trim().to_owned();
    if read.is_err() || number.parse::<u32>().is_err() {
        let _ = child.kill();
        let status = child.wait();
        let log = std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default();
        panic!("Xvfb printed no display number (read: {read:?} {line:?}, exit: {status:?}): {log}");
    }
    (child, format!(":{number}"))
}

/// A private configuration: nothing from the machine or the user, no scripts or sounds, and notifications stay
/// on screen (no idle detection, no limit) so that a test can click them.
fn dunstrc(markup: Markup) -> String {
    let markup = match markup {
        Markup::Full => "full",
        Markup::No => "no",
    };
    format!(
        r#"[global]
    markup = {markup}
    idle_threshold = 0
    notification_limit = 0
    indicate_hidden = yes
    sticky_history = no
    history_length = 100
    show_indicators = no
    mouse_left_click = do_action, close_current
    mouse_middle_click = close_current
    mouse_right_click = close_all
"#
    )
}

#[derive(Default)]
struct Recorder {
    state: Mutex<State>,
    seen: Condvar,
}

#[derive(Default)]
struct State {
    received: Vec<Recorded>,
    /// The last marker the monitor saw.
    barrier: u64,
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

enum Request {
    HasOwner(mpsc::Sender<bool>),
    Barrier(mpsc::Sender<u64>),
    Stop,
}

/// The monitor thread: a monitor connection that records, and a plain one for the fixture's own calls.
fn start_monitor(
    address: &str,
    recorder: Arc<Recorder>,
) -> (tokio::sync::mpsc::UnboundedSender<Request>, JoinHandle<()>) {
    let (commands, receiver) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let address = address.to_owned();
    let thread = std::thread::Builder::new()
        .name("test-notification-monitor".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for the notification monitor");
            runtime.block_on(monitor(address, recorder, receiver, ready_tx));
        })
        .expect("spawn the notification monitor thread");
    match ready_rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => panic!("the D-Bus monitor could not start: {err}"),
        Err(err) => panic!("the D-Bus monitor did not start within {START_TIMEOUT:?}: {err}"),
    }
    (commands, thread)
}

async fn monitor(
    address: String,
    recorder: Arc<Recorder>,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Request>,
    ready: mpsc::Sender<Result<(), String>>,
) {
    let connected = async {
        let control = zbus::connection::Builder::address(address.as_str())
            .build()
            .await?;
        let watcher = zbus::connection::Builder::address(address.as_str())
            .build()
            .await?;
        let barrier = format!("type='signal',interface='{BARRIER_INTERFACE}'");
        let rules = [
            "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            "type='method_return'",
            "type='error'",
            barrier.as_str(),
        ]
        .into_iter()
        .map(zbus::MatchRule::try_from)
        .collect::<Result<Vec<_>, _>>()?;
        // The stream exists before the connection becomes a monitor, so nothing seen after is missed.
        let stream = zbus::MessageStream::from(&watcher);
        zbus::fdo::MonitoringProxy::new(&watcher)
            .await?
            .become_monitor(&rules, 0)
            .await?;
        let dbus = zbus::fdo::DBusProxy::new(&control).await?;
        Ok::<_, zbus::Error>((control, dbus, watcher, stream))
    }
    .await;
    let (control, dbus, _watcher, mut stream) = match connected {
        Ok(connected) => connected,
        Err(err) => {
            let _ = ready.send(Err(err.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let mut pending: HashMap<(String, u32), Recorded> = HashMap::new();
    let mut next_token = 0u64;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(Ok(message)) = message else { return };
                observe(&message, &mut pending, &recorder);
            }
            command = commands.recv() => match command {
                None | Some(Request::Stop) => return,
                Some(Request::HasOwner(reply)) => {
                    let owned = dbus
                        .name_has_owner(NOTIFICATIONS_NAME.try_into().expect("a valid bus name"))
                        .await
                        .unwrap_or(false);
                    let _ = reply.send(owned);
                }
                Some(Request::Barrier(reply)) => {
                    next_token += 1;
                    control
                        .emit_signal(None::<&str>, "/", BARRIER_INTERFACE, "Barrier", &(next_token,))
                        .await
                        .expect("emit the marker signal");
                    let _ = reply.send(next_token);
                }
            }
        }
    }
}

/// One message the monitor saw: a `Notify` call waits for its return, which makes it a [`Recorded`].
fn observe(
    message: &zbus::Message,
    pending: &mut HashMap<(String, u32), Recorded>,
    recorder: &Recorder,
) {
    let header = message.header();
    match header.message_type() {
        Type::MethodCall => {
            let Some(sender) = header.sender() else {
                return;
            };
            type Args = (
                String,
                u32,
                String,
                String,
                String,
                Vec<String>,
                HashMap<String, OwnedVariant>,
                i32,
            );
            let (app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout) =
                match message.body().deserialize::<Args>() {
                    Ok(args) => args,
                    Err(err) => panic!("a Notify call the spec does not allow: {err}: {message:?}"),
                };
            let urgency = hints.get("urgency").and_then(|value| match &**value {
                zbus::Variant::U8(level) => Some(*level),
                _ => None,
            });
            let mut hint_names: Vec<String> = hints.keys().cloned().collect();
            hint_names.sort();
            pending.insert(
                (sender.to_string(), header.primary().serial_num().get()),
                Recorded {
                    id: 0,
                    app_name,
                    replaces_id,
                    app_icon,
                    summary,
                    body,
                    actions,
                    urgency,
                    hint_names,
                    expire_timeout,
                },
            );
        }
        Type::MethodReturn | Type::Error => {
            let (Some(destination), Some(serial)) = (header.destination(), header.reply_serial())
            else {
                return;
            };
            let Some(mut call) = pending.remove(&(destination.to_string(), serial.get())) else {
                return;
            };
            if header.message_type() == Type::Error {
                // Not shown: the server refused it, or nobody owned the name.
                return;
            }
            call.id = message
                .body()
                .deserialize::<u32>()
                .unwrap_or_else(|err| panic!("Notify answered without an id: {err}: {message:?}"));
            recorder.lock().received.push(call);
        }
        Type::Signal => {
            if header
                .interface()
                .is_some_and(|i| i.as_str() == BARRIER_INTERFACE)
            {
                if let Ok(token) = message.body().deserialize::<u64>() {
                    recorder.lock().barrier = token;
                    recorder.seen.notify_all();
                }
            }
        }
    }
}
