//! A real desktop notification server for tests: a private `dbus-daemon` (its own socket in a temp dir, so the
//! developer's session is never touched) and, on it, a zbus service that owns `org.freedesktop.Notifications` and
//! records every `Notify` call. Docktray talks to it exactly as to dunst or GNOME Shell: over D-Bus, through the
//! address in `DBUS_SESSION_BUS_ADDRESS`.
//!
//! - [`TestBus::start`] starts just the bus (for "no server reachable"); [`NotificationServer::start_on`] then
//!   starts a server on it, and dropping the server releases the name again;
//! - [`NotificationServer::start`] starts a bus and a server together, for a child process
//!   (`DBUS_SESSION_BUS_ADDRESS=server.address()`), with nothing set in this process's environment.
//!
//! The server runs on its own thread and tokio runtime, so it answers whether the test is sync or async and
//! whatever runtime the code under test uses.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zbus::OwnedVariant;

pub use super::dbus::TestBus;

pub const NOTIFICATIONS_NAME: &str = "org.freedesktop.Notifications";
pub const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// What a real server (dunst) advertises minus markup: tests see the plain-text path unless they ask otherwise.
pub const DEFAULT_CAPABILITIES: &[&str] = &["body", "actions"];

/// One `Notify` call as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The id the server answered with (1, 2, ... per server).
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

/// A recording `org.freedesktop.Notifications` server on a test bus.
pub struct NotificationServer {
    received: Arc<Mutex<Vec<Recorded>>>,
    address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    // Declared last: dropped after the server, so the server's connection goes first.
    own_bus: Option<TestBus>,
}

impl NotificationServer {
    /// A new bus with a server on it; the bus lives as long as the server.
    pub fn start() -> Self {
        let bus = TestBus::start();
        let mut server = Self::start_at(&bus.address(), DEFAULT_CAPABILITIES);
        server.own_bus = Some(bus);
        server
    }

    /// A server on an existing bus, with [`DEFAULT_CAPABILITIES`].
    pub fn start_on(bus: &TestBus) -> Self {
        Self::start_at(&bus.address(), DEFAULT_CAPABILITIES)
    }

    /// A server on the bus at `address` that advertises `capabilities` (add "body-markup" to test markup).
    /// Returns once it owns the name.
    pub fn start_at(address: &str, capabilities: &[&str]) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            received: received.clone(),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            next_id: 0,
        };
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let bus_address = address.to_owned();
        let thread = std::thread::Builder::new()
            .name("test-notification-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for the notification server");
                runtime.block_on(serve(bus_address, recorder, ready_tx, stopped));
            })
            .expect("spawn the notification server thread");
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                panic!("the test notification server could not start on {address}: {err}")
            }
            Err(err) => panic!("the test notification server did not start within 10 s: {err}"),
        }
        Self {
            received,
            address: address.to_owned(),
            stop: Some(stop),
            thread: Some(thread),
            own_bus: None,
        }
    }

    /// The address of the bus the server is on, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Recorded> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets what was received (between scenarios).
    pub fn clear(&self) {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Owns the name, serves until `stopped`, then releases the name before returning, so that when
/// [`NotificationServer`]'s drop returns the bus already has no server (the next call sees "no owner").
async fn serve(
    address: String,
    recorder: Recorder,
    ready: mpsc::Sender<Result<(), String>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let built = zbus::connection::Builder::address(address.as_str())
        .name(NOTIFICATIONS_NAME)
        .serve_at(NOTIFICATIONS_PATH, recorder)
        .build()
        .await;
    let connection = match built {
        Ok(connection) => connection,
        Err(err) => {
            let _ = ready.send(Err(err.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let _ = stopped.await;
    let _ = connection.release_name(NOTIFICATIONS_NAME).await;
    drop(connection);
}

struct Recorder {
    received: Arc<Mutex<Vec<Recorded>>>,
    capabilities: Vec<String>,
    next_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        self.next_id += 1;
        let urgency = hints.get("urgency").and_then(|value| match &**value {
            zbus::Variant::U8(level) => Some(*level),
            _ => None,
        });
        let mut hint_names: Vec<String> = hints.keys().cloned().collect();
        hint_names.sort();
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Recorded {
                id: self.next_id,
                app_name,
                replaces_id,
                app_icon,
                summary,
                body,
                actions,
                urgency,
                hint_names,
                expire_timeout,
            });
        self.next_id
    }

    fn get_capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    /// (name, vendor, version, spec_version)
    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "docktray-test".to_owned(),
            "Docktray".to_owned(),
            "1".to_owned(),
            "1.2".to_owned(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}
