//! Wires sources to sinks: the engine (which starts the sources and judges), the history recording and desktop
//! notifications, started and stopped together. The desktop app and `docktray watch` are both thin shells
//! around it. A new sink is started here, from the engine's updates.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::history::{AlertQuery, History};
use crate::model::Level;
use crate::sinks::caddy::CaddySync;
use crate::sinks::channels::{ChannelError, Channels};
use crate::sinks::forecast::Forecaster;
use crate::sinks::{notify, recorder};

/// What to run besides the collectors.
#[derive(Debug, Clone, Copy)]
pub struct MonitorOptions {
    pub history: bool,
    pub notifications: bool,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        Self {
            history: true,
            notifications: true,
        }
    }
}

pub struct Monitor {
    engine: Engine,
    history: Option<Arc<History>>,
    /// The history recorder and its stop signal.
    recorder: Option<(JoinHandle<()>, watch::Sender<bool>)>,
    notifier: Option<JoinHandle<()>>,
    /// Caddy's routes kept in step with the services (`None` while `[caddy] admin_url` is empty).
    caddy: Option<CaddySync>,
    /// Webhooks, ntfy and e-mail, each with its own queue.
    channels: Channels,
    /// Trends fitted to the history (`None` without a history).
    forecaster: Option<Forecaster>,
    paused: watch::Sender<bool>,
    clicks: broadcast::Sender<String>,
    /// The notifier's settings; changed by [`Monitor::reconfigure`].
    notification_settings: watch::Sender<crate::config::NotificationSettings>,
}

/// The history file: `history.path`, else `$XDG_DATA_HOME/docktray/history.sqlite`.
pub fn history_path(config: &Config) -> Result<PathBuf> {
    if !config.history.path.trim().is_empty() {
        return Ok(PathBuf::from(config.history.path.trim()));
    }
    History::default_path().ok_or_else(|| {
        Error::Other(
            "no data directory on this system: set history.path in the config file".to_owned(),
        )
    })
}

impl Monitor {
    /// Starts everything; inside a tokio runtime. A history that cannot be opened is an error (the caller may
    /// retry with `history: false`); a missing notification server is not (it is reported once, and retried).
    pub fn start(config: Config, options: MonitorOptions) -> Result<Self> {
        let history = if options.history && config.history.enabled {
            let path = history_path(&config)?;
            let history = History::open(&path, &config.history).map_err(|err| {
                Error::Other(format!("opening the history at {}: {err}", path.display()))
            })?;
            close_stale_alerts(&history);
            Some(Arc::new(history))
        } else {
            None
        };
        // sources ──observations──▶ engine: the local engine, this host, each Webdock account and SSH host
        // report to the engine's writer, which keeps the live state and judges it.
        // Each host's timeline resumes where the history has it, so what happened meanwhile is back-filled.
        let resume = history
            .as_ref()
            .map(|history| {
                history.resume_points().unwrap_or_else(|err| {
                    tracing::warn!(%err, "cannot read where the timeline stopped; no back-fill");
                    Default::default()
                })
            })
            .unwrap_or_default();
        let engine = Engine::start_resuming(config.clone(), resume);
        // ──updates──▶ sinks: history recording, desktop notifications.
        let recorder = history.as_ref().map(|history| {
            let (stop, stop_rx) = watch::channel(false);
            let task = tokio::spawn(recorder::run(
                engine.view(),
                history.clone(),
                engine.subscribe(),
                stop_rx,
            ));
            (task, stop)
        });
        let (paused, paused_rx) = watch::channel(false);
        let (clicks, _) = broadcast::channel(16);
        let (notification_settings, settings_rx) = watch::channel(config.notifications.clone());
        // Started even when `enabled = false`, so turning them on in the settings works at once; it renders
        // nothing while they are off.
        let notifier = options.notifications.then(|| {
            notify::spawn_notifier_with_clicks(
                settings_rx,
                engine.subscribe(),
                paused_rx,
                clicks.clone(),
            )
        });
        // Caddy's routes follow the services; Caddy's own reachability goes back to the engine, which judges it.
        let caddy = CaddySync::start(
            &config,
            engine.view(),
            engine.subscribe(),
            engine.reporter(),
        );
        // Notification channels beside the desktop report their delivery state back to the engine.
        let channels =
            Channels::start(&config.notifications, engine.subscribe(), engine.reporter());
        // Forecasts read the history and hand each round to the engine, which judges it.
        let forecaster = history.as_ref().map(|history| {
            Forecaster::start(
                engine.view(),
                history.clone(),
                engine.reporter(),
                config.forecasts.clone(),
            )
        });
        Ok(Self {
            caddy,
            channels,
            forecaster,
            clicks,
            engine,
            history,
            recorder,
            notifier,
            paused,
            notification_settings,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn history(&self) -> Option<&Arc<History>> {
        self.history.as_ref()
    }

    /// Routes of notifications the user clicked (`container:<host>/<id>`, `host:<name>`, `alerts`): the desktop
    /// app opens its window there.
    pub fn notification_clicks(&self) -> broadcast::Receiver<String> {
        self.clicks.subscribe()
    }

    /// Applies changed settings while running: thresholds, alert rules and remote hosts (the engine: an added
    /// host connects at once, a removed one disappears with its containers), notification options and history
    /// retentions. Active alerts are not notified again. An invalid config is refused and nothing changes. The collection interval, the Docker connection, the log ring and the history file itself are
    /// taken at start (see [`restart_needed`]).
    pub async fn reconfigure(&self, config: &Config, origin: &std::path::Path) -> Result<()> {
        self.engine.reconfigure(config, origin).await?;
        self.notification_settings
            .send_replace(config.notifications.clone());
        self.channels.reconfigure(&config.notifications);
        if let Some(forecaster) = &self.forecaster {
            forecaster.reconfigure(&config.forecasts);
        }
        if let Some(history) = &self.history {
            history
                .set_retention(&config.history)
                .map_err(|err| Error::Other(format!("changing the history retentions: {err}")))?;
        }
        Ok(())
    }

    /// Ends Caddy's backoff wait and talks to it now ("retry now"). Returns false while Caddy sync is off.
    pub fn retry_caddy(&self) -> bool {
        self.caddy.as_ref().map(CaddySync::retry_now).is_some()
    }

    /// Sends a test message through one notification channel now (`webhook:NAME`, `ntfy`, `email`); returns
    /// where it went. The outcome also shows in the channel's state.
    pub async fn test_channel(&self, name: &str) -> std::result::Result<String, ChannelError> {
        self.channels.test(name).await
    }

    /// Pauses (or resumes) desktop notifications; alerts are still evaluated and recorded.
    pub fn pause_notifications(&self, paused: bool) {
        let _ = self.paused.send(paused);
    }

    /// Stops the collectors and the notifier, then writes what the history still holds.
    pub async fn shutdown(self) -> Result<()> {
        if let Some(notifier) = self.notifier {
            notifier.abort();
        }
        if let Some(caddy) = self.caddy {
            caddy.stop().await;
        }
        if let Some(forecaster) = self.forecaster {
            forecaster.stop().await;
        }
        self.channels.stop().await;
        self.engine.shutdown().await;
        if let Some((task, stop)) = self.recorder {
            let _ = stop.send(true);
            let _ = task.await;
        }
        if let Some(history) = self.history {
            history.flush().map_err(|err| {
                Error::Other(format!("writing the last samples to the history: {err}"))
            })?;
        }
        Ok(())
    }
}

/// Which changed settings a running monitor cannot take ([`Monitor::reconfigure`] applies the rest); empty when
/// none. Names are the config file's sections and keys.
pub fn restart_needed(before: &Config, after: &Config) -> Vec<&'static str> {
    let mut names = Vec::new();
    if before.interval != after.interval {
        names.push("interval");
    }
    if before.docker != after.docker {
        names.push("[docker]");
    }
    if before.logs != after.logs {
        names.push("[logs]");
    }
    if before.services != after.services {
        names.push("[services]");
    }
    if before.caddy != after.caddy {
        names.push("[caddy]");
    }
    if before.api != after.api {
        names.push("[api]");
    }
    if before.history.enabled != after.history.enabled || before.history.path != after.history.path
    {
        names.push("history.enabled / history.path");
    }
    names
}

/// Alerts left open by a previous run that ended abruptly are closed: this run raises them again if still true.
fn close_stale_alerts(history: &History) {
    let query = AlertQuery {
        level: None,
        since: None,
        until: None,
        active_only: true,
        limit: None,
    };
    match history.alerts(&query) {
        Ok(open) => {
            let now = chrono::Utc::now();
            for mut alert in open {
                alert.level = Level::Resolved;
                alert.resolved_at = Some(now);
                alert.message = format!("{} (ended with the previous run)", alert.message);
                history.record_alert(&alert);
            }
        }
        Err(err) => tracing::warn!(%err, "cannot read the alerts left open by the previous run"),
    }
}
