//! The shell's managed state: the running monitor and the little the shell itself remembers (the settings
//! file, the route the window should open on, the window's log subscriptions, the notification pause timer).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use docktray::monitor::Monitor;
use docktray::Config;
use tauri::async_runtime::JoinHandle;
use tokio::sync::{RwLock, RwLockReadGuard};

/// What every command reads. The monitor sits behind an async lock so that Quit can take it out and shut it
/// down (flushing the history) once commands in flight are done with it.
pub struct Shell {
    monitor: RwLock<Option<Monitor>>,
    config_path: PathBuf,
    config: Mutex<Config>,
    route: Mutex<Option<String>>,
    subscriptions: Mutex<HashMap<u64, JoinHandle<()>>>,
    next_subscription: AtomicU64,
    pause_timer: Mutex<Option<JoinHandle<()>>>,
    pause_generation: AtomicU64,
    paused: Mutex<bool>,
}

/// Message for commands that arrive while Quit shuts the engine down.
pub const SHUTTING_DOWN: &str = "Docktray is shutting down";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shell {
    pub fn new(monitor: Monitor, config: Config, config_path: PathBuf) -> Self {
        Self {
            monitor: RwLock::new(Some(monitor)),
            config_path,
            config: Mutex::new(config),
            route: Mutex::new(None),
            subscriptions: Mutex::new(HashMap::new()),
            next_subscription: AtomicU64::new(1),
            pause_timer: Mutex::new(None),
            pause_generation: AtomicU64::new(0),
            paused: Mutex::new(false),
        }
    }

    /// The running monitor, or [`SHUTTING_DOWN`] once Quit took it.
    pub async fn monitor(&self) -> Result<RwLockReadGuard<'_, Monitor>, String> {
        RwLockReadGuard::try_map(self.monitor.read().await, Option::as_ref)
            .map_err(|_| SHUTTING_DOWN.to_owned())
    }

    /// The engine's snapshot right now, without waiting: `None` while Quit holds the monitor. For the window's
    /// first frame (see `window::open`).
    pub fn snapshot_now(&self) -> Option<docktray::Snapshot> {
        let monitor = self.monitor.try_read().ok()?;
        Some(monitor.as_ref()?.engine().snapshot())
    }

    /// Whether the engine's task runs, without waiting: `None` while Quit holds the monitor.
    pub fn engine_running(&self) -> Option<bool> {
        let monitor = self.monitor.try_read().ok()?;
        Some(monitor.as_ref()?.engine().is_running())
    }

    /// Takes the monitor out for shutdown; waits for commands that still use it.
    pub async fn take_monitor(&self) -> Option<Monitor> {
        self.clear_subscriptions();
        if let Some(timer) = lock(&self.pause_timer).take() {
            timer.abort();
        }
        self.monitor.write().await.take()
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    pub fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    pub fn set_config(&self, config: Config) {
        *lock(&self.config) = config;
    }

    /// Where the next window should open (`None`: where it was).
    pub fn set_route(&self, route: Option<String>) {
        *lock(&self.route) = route;
    }

    pub fn take_route(&self) -> Option<String> {
        lock(&self.route).take()
    }

    pub fn next_subscription_id(&self) -> u64 {
        self.next_subscription.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps the task that forwards a log subscription to the window; aborting it drops the subscription.
    pub fn add_subscription(&self, id: u64, task: JoinHandle<()>) {
        lock(&self.subscriptions).insert(id, task);
    }

    /// Ends one subscription; `false` if it did not exist (already ended: not an error for the window).
    pub fn remove_subscription(&self, id: u64) -> bool {
        match lock(&self.subscriptions).remove(&id) {
            Some(task) => {
                task.abort();
                true
            }
            None => false,
        }
    }

    /// Ends every subscription (the window was destroyed, or the app quits).
    pub fn clear_subscriptions(&self) {
        let tasks: Vec<JoinHandle<()>> =
            lock(&self.subscriptions).drain().map(|(_, t)| t).collect();
        if !tasks.is_empty() {
            tracing::debug!(count = tasks.len(), "ending the window's log subscriptions");
        }
        for task in tasks {
            task.abort();
        }
    }

    pub fn subscription_count(&self) -> usize {
        lock(&self.subscriptions).len()
    }

    /// Replaces the timer that ends a timed pause (none for "until resumed" or "resume").
    pub fn set_pause_timer(&self, timer: Option<JoinHandle<()>>) {
        if let Some(previous) = std::mem::replace(&mut *lock(&self.pause_timer), timer) {
            previous.abort();
        }
    }

    /// Counts pause changes, so a timer only ends the pause it belongs to.
    pub fn next_pause_generation(&self) -> u64 {
        self.pause_generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub fn pause_generation(&self) -> u64 {
        self.pause_generation.load(Ordering::Acquire)
    }

    pub fn set_paused_flag(&self, paused: bool) {
        *lock(&self.paused) = paused;
    }

    pub fn paused(&self) -> bool {
        *lock(&self.paused)
    }
}
