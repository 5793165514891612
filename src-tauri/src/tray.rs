//! The tray icon: pixels, tooltip and menu from the engine's pure tray model (`docktray::sinks::tray`). Linux
//! delivers no clicks on tray icons, so everything is reachable from the menu. Only what changed is updated,
//! and the menu is rebuilt only when its alert entries change.

use std::sync::{Mutex, MutexGuard};

use docktray::sinks::tray::{icon_rgba, TrayEntry, TrayState};
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::Shell;

pub const TRAY_ID: &str = "docktray";
const ICON_SIZE: u32 = 32;

const OPEN: &str = "open";
const PAUSE_HOUR: &str = "pause-1h";
const PAUSE: &str = "pause";
const RESUME: &str = "resume";
const QUIT: &str = "quit";
const ALERT_PREFIX: &str = "alert:";

/// What the tray shows now, so updates touch only what differs.
struct Shown<R: Runtime> {
    state: TrayState,
    resume: MenuItem<R>,
}

/// Managed state of the tray.
pub struct TrayModel<R: Runtime>(Mutex<Shown<R>>);

impl<R: Runtime> TrayModel<R> {
    fn lock(&self) -> MutexGuard<'_, Shown<R>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Creates the tray icon for `state`.
pub fn create<R: Runtime>(app: &AppHandle<R>, state: TrayState) -> tauri::Result<()> {
    let paused = app.state::<Shell>().paused();
    let (menu, resume) = build_menu(app, &state.entries, paused)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(&state))
        .tooltip(&state.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    app.manage(TrayModel(Mutex::new(Shown { state, resume })));
    Ok(())
}

/// Shows `state`: a new icon when the level or the count changed, a new tooltip, a new menu when the
/// entries changed. No lock is held while the tray is changed (that runs on the main thread).
pub fn apply<R: Runtime>(app: &AppHandle<R>, state: TrayState) {
    let (Some(tray), Some(model)) = (app.tray_by_id(TRAY_ID), app.try_state::<TrayModel<R>>())
    else {
        return;
    };
    let previous = model.lock().state.clone();
    if previous == state {
        return;
    }
    if (previous.level, previous.active_alerts) != (state.level, state.active_alerts) {
        if let Err(err) = tray.set_icon(Some(icon(&state))) {
            tracing::warn!(%err, "cannot change the tray icon");
        }
        tracing::debug!(level = ?state.level, active = state.active_alerts, "tray icon");
    }
    if previous.tooltip != state.tooltip {
        if let Err(err) = tray.set_tooltip(Some(&state.tooltip)) {
            tracing::debug!(%err, "cannot change the tray tooltip");
        }
    }
    let mut resume = None;
    if previous.entries != state.entries {
        let paused = app.state::<Shell>().paused();
        match build_menu(app, &state.entries, paused) {
            Ok((menu, item)) => match tray.set_menu(Some(menu)) {
                Ok(()) => resume = Some(item),
                Err(err) => tracing::warn!(%err, "cannot change the tray menu"),
            },
            Err(err) => tracing::warn!(%err, "cannot build the tray menu"),
        }
    }
    let mut shown = model.lock();
    shown.state = state;
    if let Some(item) = resume {
        shown.resume = item;
    }
}

/// Enables "Resume" only while notifications are paused.
pub fn show_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) {
    let Some(model) = app.try_state::<TrayModel<R>>() else {
        return;
    };
    let resume = model.lock().resume.clone();
    if let Err(err) = resume.set_enabled(paused) {
        tracing::debug!(%err, "cannot update the pause menu");
    }
}

fn icon(state: &TrayState) -> Image<'static> {
    Image::new_owned(
        icon_rgba(state.level, state.active_alerts, ICON_SIZE),
        ICON_SIZE,
        ICON_SIZE,
    )
}

fn build_menu<R: Runtime>(
    app: &AppHandle<R>,
    entries: &[TrayEntry],
    paused: bool,
) -> tauri::Result<(Menu<R>, MenuItem<R>)> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        OPEN,
        "Open Docktray",
        true,
        None::<&str>,
    )?)?;
    if !entries.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        for entry in entries {
            menu.append(&MenuItem::with_id(
                app,
                format!("{ALERT_PREFIX}{}", entry.alert_id),
                // `&` marks a mnemonic in menu labels; `&&` is a literal one.
                entry.label.replace('&', "&&"),
                true,
                None::<&str>,
            )?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let resume = MenuItem::with_id(app, RESUME, "Resume", paused, None::<&str>)?;
    let pause = Submenu::with_items(
        app,
        "Pause notifications",
        true,
        &[
            &MenuItem::with_id(app, PAUSE_HOUR, "For 1 hour", true, None::<&str>)?,
            &MenuItem::with_id(app, PAUSE, "Until resumed", true, None::<&str>)?,
            &resume,
        ],
    )?;
    menu.append(&pause)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?)?;
    Ok((menu, resume))
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().as_ref();
    tracing::debug!(id, "tray menu");
    match id {
        OPEN => crate::window::open(app, None),
        PAUSE_HOUR | PAUSE | RESUME => {
            let app = app.clone();
            let (paused, minutes) = match id {
                PAUSE_HOUR => (true, Some(60)),
                PAUSE => (true, None),
                _ => (false, None),
            };
            tauri::async_runtime::spawn(async move {
                if let Err(err) = crate::control::set_paused(&app, paused, minutes).await {
                    tracing::warn!(%err, "cannot pause notifications");
                }
            });
        }
        QUIT => {
            tauri::async_runtime::spawn(crate::control::quit(app.clone()));
        }
        other => {
            let route = other
                .strip_prefix(ALERT_PREFIX)
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|alert_id| {
                    let model = app.try_state::<TrayModel<R>>()?;
                    let shown = model.lock();
                    shown
                        .state
                        .entries
                        .iter()
                        .find(|entry| entry.alert_id == alert_id)
                        .map(|entry| entry.route.clone())
                });
            crate::window::open(app, route);
        }
    }
}
