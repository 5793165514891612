//! What the tray menu and the window both ask for: pausing notifications, quitting, start at login.

use std::time::Duration;

use tauri::{AppHandle, Manager, Runtime};

use crate::state::Shell;

/// Pauses (or resumes) desktop notifications. With `minutes`, the pause ends by itself after that long.
pub async fn set_paused<R: Runtime>(
    app: &AppHandle<R>,
    paused: bool,
    minutes: Option<u64>,
) -> Result<(), String> {
    if minutes == Some(0) {
        return Err("a timed pause lasts at least one minute".to_owned());
    }
    let shell = app.state::<Shell>();
    shell.monitor().await?.pause_notifications(paused);
    shell.set_paused_flag(paused);
    let generation = shell.next_pause_generation();
    let timer = match (paused, minutes) {
        (true, Some(minutes)) => {
            let app = app.clone();
            let wait = Duration::from_secs(minutes.saturating_mul(60));
            Some(tauri::async_runtime::spawn(async move {
                tokio::time::sleep(wait).await;
                let shell = app.state::<Shell>();
                // A later pause or resume owns the state now.
                if shell.pause_generation() != generation {
                    return;
                }
                if let Ok(monitor) = shell.monitor().await {
                    monitor.pause_notifications(false);
                }
                shell.set_paused_flag(false);
                crate::tray::show_paused(&app, false);
                tracing::info!("notification pause over");
            }))
        }
        _ => None,
    };
    shell.set_pause_timer(timer);
    crate::tray::show_paused(app, paused);
    tracing::info!(paused, ?minutes, "desktop notifications");
    Ok(())
}

/// Stops the engine, writes what the history still holds, and exits with code 0.
pub async fn quit<R: Runtime>(app: AppHandle<R>) {
    shut_down(&app).await;
    app.exit(0);
}

/// Shuts the monitor down once; later calls find nothing to do.
pub async fn shut_down<R: Runtime>(app: &AppHandle<R>) {
    let shell = app.state::<Shell>();
    if let Some(sessions) = app.try_state::<crate::exec_session::ExecSessions>() {
        sessions.close_all();
    }
    if let Some(monitor) = shell.take_monitor().await {
        match monitor.shutdown().await {
            Ok(()) => tracing::info!("stopped; history written"),
            Err(err) => tracing::error!(%err, "stopping"),
        }
    }
}

/// Makes the XDG autostart entry match the `desktop.start_at_login` setting.
pub fn apply_autostart<R: Runtime>(app: &AppHandle<R>, wanted: bool) -> Result<(), String> {
    let Some(autostart) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() else {
        return Ok(());
    };
    let enabled = autostart.is_enabled().map_err(|err| err.to_string())?;
    if enabled == wanted {
        return Ok(());
    }
    if wanted {
        autostart.enable()
    } else {
        autostart.disable()
    }
    .map_err(|err| format!("cannot change start at login: {err}"))?;
    tracing::info!(start_at_login = wanted, "autostart entry updated");
    Ok(())
}

/// SIGTERM (logout, `kill`) and Ctrl-C quit like the tray's Quit, so the history is written either way.
pub fn quit_on_signals<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut interrupt) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(interrupt)) => (term, interrupt),
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(%err, "cannot watch for SIGTERM/SIGINT");
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: quitting"),
            _ = interrupt.recv() => tracing::info!("SIGINT: quitting"),
        }
        quit(app).await;
    });
}
