//! Docktray's desktop shell: the engine (`docktray`) adapted to a tray icon, a window and IPC. It holds no
//! business logic: what the tray shows comes from `docktray::sinks::tray`, the rules from the engine, the settings
//! file handling from `docktray::config::file`.
//!
//! Life cycle: the monitor (collectors, alerts, history, notifications) starts with the app, with no window.
//! The window is created on demand and destroyed on close; the app keeps running in the tray until Quit,
//! which writes the history and exits 0. A second launch opens the first one's window.

mod api;
pub mod commands;
pub mod control;
#[cfg(target_os = "linux")]
pub mod egl_warm_up;
pub mod exec_session;
pub mod footprint;
mod log_stream;
pub mod payloads;
mod pump;
pub mod services;
pub mod state;
pub mod timeline;
mod tray;
pub mod window;
pub mod workbench;

use std::path::PathBuf;
use std::time::Duration;

use docktray::monitor::{Monitor, MonitorOptions};
use docktray::sinks::tray::tray_state;
use docktray::Config;
use tauri::{Builder, Manager, RunEvent, Runtime};

pub use state::Shell;

/// The app's Tauri context (tauri.conf.json, capabilities, icons, the UI's files).
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// The IPC and window handling shared by the app and the tests: commands and the window's clean-up.
pub fn with_ipc<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .manage(exec_session::ExecSessions::default())
        .invoke_handler(commands::handler())
        .on_window_event(window::on_window_event)
}

/// Starts the monitor inside Tauri's tokio runtime; without the history if it cannot be opened.
pub fn start_monitor(config: &Config) -> Result<Monitor, docktray::Error> {
    tauri::async_runtime::block_on(async {
        match Monitor::start(config.clone(), MonitorOptions::default()) {
            Ok(monitor) => Ok(monitor),
            Err(err) => {
                tracing::warn!("{err}; running without the history");
                Monitor::start(
                    config.clone(),
                    MonitorOptions {
                        history: false,
                        notifications: true,
                    },
                )
            }
        }
    })
}

/// A click on one of our notifications opens the window on what it is about.
fn open_on_notification_clicks<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    mut clicks: tokio::sync::broadcast::Receiver<String>,
) {
    tauri::async_runtime::spawn(async move {
        loop {
            match clicks.recv().await {
                Ok(route) => window::open(&app, Some(route)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Once started and settled, the start-up code's pages are handed back (see `footprint`), unless the window is
/// open by then.
fn drop_start_up_pages<R: Runtime>(app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(IDLE_AFTER_START).await;
        if app.get_webview_window(window::MAIN).is_none() {
            footprint::drop_cold_pages();
        }
    });
}

/// Sets up WebKit's EGL display once the app has settled, so the first window opens as fast as the later
/// ones (see `egl_warm_up`). `DOCKTRAY_EGL_WARM_UP=0` leaves it to WebKit (for comparing).
#[cfg(target_os = "linux")]
fn warm_up_egl<R: Runtime>(app: tauri::AppHandle<R>) {
    if std::env::var_os("DOCKTRAY_EGL_WARM_UP").is_some_and(|v| v == "0") {
        return;
    }
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(egl_warm_up::AFTER_START).await;
        if app.get_webview_window(window::MAIN).is_none() {
            if let Err(err) = app.run_on_main_thread(egl_warm_up::warm_up) {
                tracing::debug!(%err, "cannot reach the main thread");
            }
        }
    });
}

/// When the app counts as settled after start: the collectors have made their first rounds.
const IDLE_AFTER_START: Duration = Duration::from_secs(20);

/// A config file other than the default one is passed on to the session's autostart entry.
fn autostart_args(config_path: &std::path::Path) -> Vec<String> {
    if Config::default_path().as_deref() == Some(config_path) {
        Vec::new()
    } else {
        vec!["--config".to_owned(), config_path.display().to_string()]
    }
}

/// Runs the app until Quit; returns the exit code.
pub fn run(config: Config, config_path: PathBuf) -> anyhow::Result<i32> {
    let app = with_ipc(Builder::default())
        // First, so a second instance hands over before doing anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tracing::info!("launched again: opening the window");
            window::open(app, None);
        }))
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Docktray")
                .args(autostart_args(&config_path))
                .build(),
        )
        .setup(move |app| {
            let handle = app.handle();
            let monitor = start_monitor(&config)?;
            let updates = monitor.engine().subscribe();
            let clicks = monitor.notification_clicks();
            let first = tray_state(&monitor.engine().snapshot());
            let api_sources = api::sources(handle, &monitor);
            let interval = config.interval;
            if let Err(err) = control::apply_autostart(handle, config.desktop.start_at_login) {
                tracing::warn!(%err, "start at login");
            }
            app.manage(Shell::new(monitor, config.clone(), config_path.clone()));
            api::start(&config, api_sources);
            tray::create(handle, first)?;
            pump::spawn(
                handle.clone(),
                updates,
                interval.max(Duration::from_millis(250)),
            );
            open_on_notification_clicks(handle.clone(), clicks);
            #[cfg(target_os = "linux")]
            warm_up_egl(handle.clone());
            drop_start_up_pages(handle.clone());
            control::quit_on_signals(handle);
            tracing::info!(config = %config_path.display(), "Docktray is running in the tray");
            Ok(())
        })
        .build(context())?;
    let code = app.run_return(|app, event| match event {
        // The last window closed: keep running in the tray. Quit asks with a code and is let through.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // However the loop ends, the history is written (a no-op after Quit did it).
        RunEvent::Exit => tauri::async_runtime::block_on(control::shut_down(app)),
        _ => {}
    });
    Ok(code)
}
