//! The window: created on demand and destroyed on close, so the idle app holds no webview. A route says
//! where it opens (`container:<host>/<id>`, `host:<name>`, `alerts`): a new window asks for it with
//! `take_route` once loaded; an open one is told with a `navigate` event.

use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use crate::state::Shell;

/// The only window's label (capabilities/main.json grants the IPC to it alone).
pub const MAIN: &str = "main";

/// How long after the window closed its leftovers are released, and when that is done once more.
const RELEASE_AFTER_CLOSE: std::time::Duration = std::time::Duration::from_secs(2);
const SETTLED_AFTER_CLOSE: std::time::Duration = std::time::Duration::from_secs(28);
/// How long after the window opened the code that only ran to open it is let go of (the page has loaded and
/// settled by then): the tray process keeps what it runs while the window is open, nothing more.
const RELEASE_AFTER_OPEN: std::time::Duration = std::time::Duration::from_secs(15);

/// Opens the window, or brings the open one forward; `route` is where it should show.
pub fn open<R: Runtime>(app: &AppHandle<R>, route: Option<String>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        if let Some(route) = route {
            if let Err(err) = app.emit_to(MAIN, "navigate", route) {
                tracing::warn!(%err, "cannot tell the window where to go");
            }
        }
        for result in [window.unminimize(), window.show(), window.set_focus()] {
            if let Err(err) = result {
                tracing::debug!(%err, "cannot bring the window forward");
            }
        }
        return;
    }
    let shell = app.state::<Shell>();
    shell.set_route(route);
    let mut builder = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::default());
    if let Some(script) = shell
        .snapshot_now()
        .as_ref()
        .and_then(first_snapshot_script)
    {
        builder = builder.initialization_script(script);
    }
    let built = builder
        .title("Docktray")
        .inner_size(1100.0, 720.0)
        .min_inner_size(760.0, 480.0)
        .background_color(LIGHT_BACKGROUND)
        .build();
    match built {
        Ok(window) => {
            // The window is on screen at once; WebKit paints the page a few hundred ms later. Until then it
            // shows the page's own background colour for the system's theme, not a white flash.
            if matches!(window.theme(), Ok(tauri::Theme::Dark)) {
                if let Err(err) = window.set_background_color(Some(DARK_BACKGROUND)) {
                    tracing::debug!(%err, "cannot set the window's dark background");
                }
            }
            tracing::debug!("window opened");
            cache_as_document_viewer(&window);
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(RELEASE_AFTER_OPEN).await;
                if app.get_webview_window(MAIN).is_some() {
                    crate::footprint::drop_cold_pages();
                }
            });
        }
        Err(err) => tracing::error!(%err, "cannot open the Docktray window"),
    }
}

/// The window shows one local page and never goes back and forth between sites: WebKit's caches for
/// browsing (decoded resources of pages left, a back/forward cache) would only hold memory.
fn cache_as_document_viewer<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(err) = window.with_webview(|webview| {
        use webkit2gtk::{WebContextExt, WebViewExt};
        if let Some(context) = webview.inner().context() {
            context.set_cache_model(webkit2gtk::CacheModel::DocumentViewer);
        }
    }) {
        tracing::debug!(%err, "cannot set WebKit's cache model");
    }
}

/// The page's background (`--bg` in ui/src/app.css) in its light and dark themes.
const LIGHT_BACKGROUND: tauri::window::Color = tauri::window::Color(0xf5, 0xf6, 0xf8, 0xff);
const DARK_BACKGROUND: tauri::window::Color = tauri::window::Color(0x0e, 0x10, 0x14, 0xff);

/// The page's first data, handed over with the page rather than asked for over IPC once its scripts run: the
/// window then shows the overview in its first frame. The JSON goes in as one string literal given to
/// `JSON.parse` (a JSON string is a valid JavaScript string literal): parsing data is cheaper than compiling a
/// large object literal as code, and the (untrusted) names and labels in it can only ever be string values.
fn first_snapshot_script(snapshot: &docktray::Snapshot) -> Option<String> {
    let literal = serde_json::to_string(snapshot).and_then(|json| serde_json::to_string(&json));
    match literal {
        Ok(literal) => Some(format!("window.{FIRST_SNAPSHOT} = JSON.parse({literal});")),
        Err(err) => {
            tracing::warn!(%err, "cannot hand the first snapshot to the window");
            None
        }
    }
}

/// The global the page reads its first snapshot from (ui/src/lib/state/live.svelte.ts).
const FIRST_SNAPSHOT: &str = "__DOCKTRAY_FIRST_SNAPSHOT__";

/// Closing destroys the window (Tauri's default); its log subscriptions end with it.
pub fn on_window_event<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    if window.label() == MAIN && matches!(event, WindowEvent::Destroyed) {
        let shell = window.state::<Shell>();
        shell.clear_subscriptions();
        window
            .state::<crate::exec_session::ExecSessions>()
            .close_all();
        shell.set_route(None);
        tracing::debug!("window closed");
        let app = window.app_handle().clone();
        tauri::async_runtime::spawn(async move {
            // Once WebKit has finished tearing the webview down, then again once its clean-up timers have run
            // (they touch much of its code again some seconds later).
            tokio::time::sleep(RELEASE_AFTER_CLOSE).await;
            crate::footprint::release_after_window(|| app.get_webview_window(MAIN).is_none());
            tokio::time::sleep(SETTLED_AFTER_CLOSE).await;
            if app.get_webview_window(MAIN).is_none() {
                crate::footprint::drop_cold_pages();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_snapshot_is_a_plain_assignment_with_hostile_text_kept_as_string_data() {
        let hostile = "</script><script>alert(1)</script>\u{2028}\"; alert(2); //";
        let mut source = docktray::SourceStatus::connecting("local", "docker", "unix:///x");
        source.reason = Some(hostile.to_owned());
        let snapshot = docktray::Snapshot {
            taken_at: chrono::Utc::now(),
            overall: docktray::alerts::OverallLevel::Ok,
            alerts: Vec::new(),
            sources: vec![source],
            hosts: Vec::new(),
            containers: Vec::new(),
            services: Vec::new(),
            service_problems: Vec::new(),
            proxy: None,
            forecasts: Vec::new(),
            channels: Vec::new(),
        };
        let script = first_snapshot_script(&snapshot).expect("script");
        let literal = script
            .strip_prefix("window.__DOCKTRAY_FIRST_SNAPSHOT__ = JSON.parse(")
            .and_then(|rest| rest.strip_suffix(");"))
            .expect("one assignment");
        // The argument is exactly one string literal (a quote that ended it early would leave code after it and
        // fail to parse as one), and the JSON in it carries the text unchanged.
        let json: String = serde_json::from_str(literal).expect("one string literal");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON value");
        assert_eq!(value["sources"][0]["reason"], hostile);
    }
}
