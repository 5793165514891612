//! Engine updates -> the tray and the window's events. One task reads the engine's update stream:
//! - every alert change goes to the window at once (`alert`), and every engine event and audit entry
//!   (`timeline`, as rows);
//! - the window gets a `snapshot` after changes, at most once a second (stats arrive once per collection
//!   interval, so one comes at least that often while anything runs); nothing is built with no window open;
//! - the tray model is recomputed on alert, source and container changes, at most once per collection
//!   interval (so the icon follows the level within one interval).

use std::time::Duration;

use docktray::model::TimelineRow;
use docktray::sinks::tray::tray_state;
use docktray::Update;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use crate::state::Shell;
use crate::window::MAIN;

pub const SNAPSHOT_MIN_GAP: Duration = Duration::from_secs(1);

pub fn spawn<R: Runtime>(
    app: AppHandle<R>,
    updates: broadcast::Receiver<Update>,
    interval: Duration,
) {
    tauri::async_runtime::spawn(run(app, updates, interval));
}

async fn run<R: Runtime>(
    app: AppHandle<R>,
    mut updates: broadcast::Receiver<Update>,
    interval: Duration,
) {
    let mut snapshot = Throttle::new(SNAPSHOT_MIN_GAP);
    let mut tray = Throttle::new(interval);
    loop {
        let (snapshot_at, tray_at) = (snapshot.due, tray.due);
        tokio::select! {
            update = updates.recv() => {
                let tray_too = match update {
                    Ok(Update::Alert(change)) => {
                        if window_open(&app) {
                            if let Err(err) = app.emit_to(MAIN, "alert", &*change) {
                                tracing::warn!(%err, "cannot send an alert change to the window");
                            }
                        }
                        true
                    }
                    Ok(Update::Timeline(events)) => {
                        let rows: Vec<TimelineRow> = events.iter().map(TimelineRow::from).collect();
                        emit_timeline(&app, &rows);
                        false
                    }
                    Ok(Update::Audit(entry)) => {
                        emit_timeline(&app, &[TimelineRow::from(&*entry)]);
                        false
                    }
                    Ok(
                        Update::Source(_)
                        | Update::ContainerChanged(_)
                        | Update::ContainerRemoved { .. }
                        | Update::HostRemoved { .. },
                    ) => true,
                    Ok(_) => false,
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "the shell fell behind the engine; catching up from a snapshot");
                        true
                    }
                    Err(RecvError::Closed) => break,
                };
                if tray_too {
                    tray.request();
                }
                if window_open(&app) {
                    snapshot.request();
                }
            }
            _ = until(snapshot_at) => {
                snapshot.done();
                let shell = app.state::<Shell>();
                let Ok(monitor) = shell.monitor().await else { break };
                let current = monitor.engine().snapshot();
                drop(monitor);
                if window_open(&app) {
                    if let Err(err) = app.emit_to(MAIN, "snapshot", &current) {
                        tracing::warn!(%err, "cannot send the snapshot to the window");
                    }
                }
            }
            _ = until(tray_at) => {
                tray.done();
                let shell = app.state::<Shell>();
                let Ok(monitor) = shell.monitor().await else { break };
                let state = tray_state(&monitor.engine().snapshot());
                drop(monitor);
                crate::tray::apply(&app, state);
            }
        }
    }
    tracing::debug!("engine updates ended");
}

/// Sleeps until `deadline`; forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// New timeline rows (live events, back-filled ones, audit entries) for an open window's timelines.
fn emit_timeline<R: Runtime>(app: &AppHandle<R>, rows: &[TimelineRow]) {
    if window_open(app) {
        if let Err(err) = app.emit_to(MAIN, "timeline", rows) {
            tracing::warn!(%err, "cannot send timeline rows to the window");
        }
    }
}

fn window_open<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window(MAIN).is_some()
}

/// At most one run per `gap`: a request fires at once if the last run is older than that, else when it is.
struct Throttle {
    gap: Duration,
    last: Option<Instant>,
    due: Option<Instant>,
}

impl Throttle {
    fn new(gap: Duration) -> Self {
        Self {
            gap,
            last: None,
            due: None,
        }
    }

    fn request(&mut self) {
        if self.due.is_none() {
            let now = Instant::now();
            self.due = Some(self.last.map_or(now, |last| (last + self.gap).max(now)));
        }
    }

    fn done(&mut self) {
        self.due = None;
        self.last = Some(Instant::now());
    }
}
