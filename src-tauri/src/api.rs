//! The desktop app serves the HTTP API (docs/api.md) when `[api] enabled = true`: the same sink `docktray serve`
//! runs, with the shell's monitor behind it. Off by default; it starts with the app.

use std::path::PathBuf;
use std::sync::Arc;

use docktray::desk::{self, Face};
use docktray::model::{Action, Actor};
use docktray::monitor::Monitor;
use docktray::sinks::api::{
    ApiServer, BoxFuture, Control, DeskCommand, DeskError, EngineGuard, Sources,
};
use docktray::Config;
use tauri::{AppHandle, Manager, Runtime};

use crate::state::Shell;

/// The shell as the API sees it: actions and settings go through the same monitor and file as the window's.
struct ShellControl<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> Control for ShellControl<R> {
    fn running(&self) -> bool {
        self.app.state::<Shell>().engine_running().unwrap_or(false)
    }

    fn act<'a>(
        &'a self,
        container: &'a str,
        action: Action,
        actor: &'a Actor,
    ) -> BoxFuture<'a, docktray::error::Result<()>> {
        Box::pin(async move {
            let shell = self.app.state::<Shell>();
            let monitor = shell.monitor().await.map_err(docktray::Error::Other)?;
            monitor.engine().act(container, action, actor).await
        })
    }

    fn settings(&self) -> (Config, PathBuf) {
        let shell = self.app.state::<Shell>();
        (shell.config(), shell.config_path().to_path_buf())
    }

    fn engine(&self) -> BoxFuture<'_, docktray::error::Result<EngineGuard<'_>>> {
        Box::pin(async move {
            let shell = self.app.state::<Shell>().inner();
            let monitor = shell.monitor().await.map_err(docktray::Error::Other)?;
            Ok(tokio::sync::RwLockReadGuard::map(monitor, |m| m.engine()))
        })
    }

    /// As the window's save: applied to the monitor, remembered, and start at login follows the setting.
    fn apply(&self, config: Config) -> BoxFuture<'_, docktray::error::Result<()>> {
        Box::pin(async move {
            let shell = self.app.state::<Shell>();
            let path = shell.config_path().to_path_buf();
            let previous = shell.config();
            shell
                .monitor()
                .await
                .map_err(docktray::Error::Other)?
                .reconfigure(&config, &path)
                .await?;
            shell.set_config(config.clone());
            if previous.desktop.start_at_login != config.desktop.start_at_login {
                crate::control::apply_autostart(&self.app, config.desktop.start_at_login)
                    .map_err(docktray::Error::Other)?;
            }
            Ok(())
        })
    }

    fn desk(&self, command: DeskCommand) -> BoxFuture<'_, Result<serde_json::Value, DeskError>> {
        Box::pin(desk::run(self, command))
    }
}

impl<R: Runtime> Face for ShellControl<R> {
    fn monitor(&self) -> BoxFuture<'_, Result<tokio::sync::RwLockReadGuard<'_, Monitor>, String>> {
        Box::pin(async move { self.app.state::<Shell>().inner().monitor().await })
    }

    /// The tray's and the window's pause (its menu item follows).
    fn pause(&self, paused: bool, minutes: Option<u64>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(crate::control::set_paused(&self.app, paused, minutes))
    }
}

/// What the API reads, taken from the monitor before the shell owns it.
pub fn sources<R: Runtime>(app: &AppHandle<R>, monitor: &docktray::monitor::Monitor) -> Sources {
    Sources {
        view: monitor.engine().view(),
        updates: Arc::new(monitor.engine().subscribe()),
        logs: monitor.engine().logs().clone(),
        history: monitor.history().cloned(),
        control: Arc::new(ShellControl { app: app.clone() }),
    }
}

/// Starts the API in the background when the settings ask for it; a failure is logged, the app runs on.
pub fn start(config: &Config, sources: Sources) {
    if !config.api.enabled {
        return;
    }
    let config = config.clone();
    tauri::async_runtime::spawn(async move {
        match ApiServer::start(&config, sources).await {
            Ok(server) => {
                let listening = server.listening().clone();
                tracing::info!(url = %listening.url(), token = %listening.token_source.describe(), "serving the HTTP API");
                // Held as long as the app runs: the runtime ends this task when the app exits.
                std::future::pending::<()>().await;
                server.stop().await;
            }
            Err(err) => tracing::error!(%err, "the HTTP API did not start"),
        }
    });
}
