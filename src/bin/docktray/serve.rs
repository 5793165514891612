//! `docktray serve [--listen ADDR]`: everything `docktray watch` runs (collectors, alerts, history,
//! notifications; alert changes on stdout) plus the HTTP API (docs/api.md). Also `docktray api token` and
//! `docktray prometheus rules`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anyhow::anyhow;
use clap::Subcommand;
use docktray::desk::{self, Face};
use docktray::model::{Action, Actor};
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::sinks::api::{self, ApiServer, BoxFuture, Control, DeskCommand, DeskError, Sources};
use docktray::Config;
use tokio::sync::RwLock;

use crate::monitor::{print_alerts_until_stopped, WatchOptions};
use crate::Failure;

#[derive(Subcommand, Debug)]
pub enum ApiCommand {
    /// Print the API's bearer token (made and stored in the OS keychain on first use; DOCKTRAY_API_TOKEN or
    /// DOCKTRAY_API_TOKEN_FILE take precedence).
    Token {
        /// Replace the keychain's token with a new random one (a running server keeps the old one until it
        /// restarts).
        #[arg(long)]
        rotate: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrometheusCommand {
    /// Print Prometheus alerting rules equivalent to the configured thresholds and overrides.
    Rules {
        /// The range of rate() in the rules: at least two scrape intervals.
        #[arg(long, default_value = "1m", value_parser = parse_window)]
        window: Duration,
    },
}

fn parse_window(text: &str) -> Result<Duration, String> {
    docktray::util::parse_duration(text)
        .filter(|d| *d >= Duration::from_secs(1))
        .ok_or_else(|| format!("'{text}' is not a duration of a second or more, such as 1m or 30s"))
}

pub async fn api(command: ApiCommand) -> Result<(), Failure> {
    match command {
        ApiCommand::Token { rotate: false } => {
            let (token, source) = api::token::resolve()
                .await
                .map_err(|err| Failure::from(anyhow!(err)))?;
            println!("{}", token.reveal());
            eprintln!("docktray: the API token from {}", source.describe());
        }
        ApiCommand::Token { rotate: true } => {
            let token = api::token::rotate()
                .await
                .map_err(|err| Failure::from(anyhow!(err)))?;
            println!("{}", token.reveal());
            eprintln!(
                "docktray: a new API token is in the OS keychain; restart docktray serve (or the desktop app) to use it"
            );
        }
    }
    Ok(())
}

pub fn prometheus(config: &Config, command: PrometheusCommand) -> Result<(), Failure> {
    match command {
        PrometheusCommand::Rules { window } => {
            print!("{}", api::rules::rules(config, window));
        }
    }
    Ok(())
}

/// The monitor as the API sees it: actions, settings and their application.
struct Served {
    monitor: RwLock<Option<Monitor>>,
    settings: Mutex<(Config, PathBuf)>,
    /// Counts pauses and resumes: a timed pause ends only if no later one came.
    pause_generation: AtomicU64,
    /// Itself, for the timer that ends a timed pause.
    me: Weak<Served>,
}

impl Served {
    fn settings_now(&self) -> (Config, PathBuf) {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Control for Served {
    fn running(&self) -> bool {
        self.monitor
            .try_read()
            .ok()
            .and_then(|m| m.as_ref().map(|m| m.engine().is_running()))
            .unwrap_or(false)
    }

    fn act<'a>(
        &'a self,
        container: &'a str,
        action: Action,
        actor: &'a Actor,
    ) -> BoxFuture<'a, docktray::error::Result<()>> {
        Box::pin(async move {
            match self.monitor.read().await.as_ref() {
                Some(monitor) => monitor.engine().act(container, action, actor).await,
                None => Err(docktray::Error::Other(
                    "Docktray is shutting down".to_owned(),
                )),
            }
        })
    }

    fn settings(&self) -> (Config, PathBuf) {
        self.settings_now()
    }

    fn engine(&self) -> BoxFuture<'_, docktray::error::Result<api::EngineGuard<'_>>> {
        Box::pin(async move {
            tokio::sync::RwLockReadGuard::try_map(self.monitor.read().await, |m| {
                m.as_ref().map(|m| m.engine())
            })
            .map_err(|_| docktray::Error::Other("Docktray is shutting down".to_owned()))
        })
    }

    fn apply(&self, config: Config) -> BoxFuture<'_, docktray::error::Result<()>> {
        Box::pin(async move {
            let path = self.settings_now().1;
            if let Some(monitor) = self.monitor.read().await.as_ref() {
                monitor.reconfigure(&config, &path).await?;
            }
            self.settings.lock().unwrap_or_else(|p| p.into_inner()).0 = config;
            Ok(())
        })
    }

    fn desk(&self, command: DeskCommand) -> BoxFuture<'_, Result<serde_json::Value, DeskError>> {
        Box::pin(desk::run(self, command))
    }
}

impl Face for Served {
    fn monitor(&self) -> BoxFuture<'_, Result<tokio::sync::RwLockReadGuard<'_, Monitor>, String>> {
        Box::pin(async move {
            tokio::sync::RwLockReadGuard::try_map(self.monitor.read().await, Option::as_ref)
                .map_err(|_| "Docktray is shutting down".to_owned())
        })
    }

    /// As the desktop's pause: notifications (channels and desktop ones) pause, alerts are still evaluated and
    /// recorded; a timed pause ends by itself unless another pause or resume came meanwhile.
    fn pause(&self, paused: bool, minutes: Option<u64>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.monitor().await?.pause_notifications(paused);
            let generation = self.pause_generation.fetch_add(1, Ordering::SeqCst) + 1;
            if let (true, Some(minutes), Some(me)) = (paused, minutes, self.me.upgrade()) {
                let wait = Duration::from_secs(minutes.saturating_mul(60));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if me.pause_generation.load(Ordering::SeqCst) != generation {
                        return;
                    }
                    if let Ok(monitor) = me.monitor().await {
                        monitor.pause_notifications(false);
                        tracing::info!("notification pause over");
                    }
                });
            }
            tracing::info!(paused, ?minutes, "notifications paused through the API");
            Ok(())
        })
    }
}

pub async fn serve(
    mut config: Config,
    config_path: Option<PathBuf>,
    listen: Option<String>,
    options: WatchOptions,
) -> Result<(), Failure> {
    if let Some(listen) = listen {
        config.api.listen = listen;
    }
    let origin = config_path
        .clone()
        .or_else(Config::default_path)
        .unwrap_or_default();
    config
        .validate(&origin)
        .map_err(|err| Failure::from(anyhow!(docktray::Error::from(err))))?;
    let monitor = Monitor::start(
        config.clone(),
        MonitorOptions {
            history: options.history,
            notifications: options.notify,
        },
    )
    .map_err(|err| Failure::from(anyhow!(err)))?;
    let updates = monitor.engine().subscribe();
    let (view, engine_updates, logs, history) = (
        monitor.engine().view(),
        Arc::new(monitor.engine().subscribe()),
        monitor.engine().logs().clone(),
        monitor.history().cloned(),
    );
    let served = Arc::new_cyclic(|me| Served {
        monitor: RwLock::new(Some(monitor)),
        settings: Mutex::new((config.clone(), origin.clone())),
        pause_generation: AtomicU64::new(0),
        me: me.clone(),
    });
    let sources = Sources {
        view,
        updates: engine_updates,
        logs,
        history,
        control: served.clone(),
    };
    let server = match ApiServer::start(&config, sources).await {
        Ok(server) => server,
        Err(err) => {
            if let Some(monitor) = served.monitor.write().await.take() {
                let _ = monitor.shutdown().await;
            }
            return Err(Failure::from(anyhow!(err)));
        }
    };
    let listening = server.listening().clone();
    announce_host_view();
    eprintln!(
        "docktray: serving the API at {} (token from {}; `docktray api token` prints it); Ctrl-C to stop",
        listening.url(),
        listening.token_source.describe()
    );
    print_alerts_until_stopped(updates, options.json, || {
        reload(&served, config_path.as_deref())
    })
    .await?;
    server.stop().await;
    if let Some(monitor) = served.monitor.write().await.take() {
        monitor
            .shutdown()
            .await
            .map_err(|err| Failure::from(anyhow!(err)))?;
    }
    eprintln!("docktray: stopped");
    Ok(())
}

/// Inside a container, says so and where the host's figures come from, and names each missing mount.
fn announce_host_view() {
    let view = docktray::sources::host::container::HostView::detect();
    if !view.through_mounts() {
        return;
    }
    eprintln!("docktray: {}", view.describe());
    for missing in &view.missing {
        eprintln!("docktray: {missing}");
    }
}

/// SIGHUP: re-reads the config file and applies what can change while running; the API's own settings
/// apply at the next start.
async fn reload(served: &Served, path: Option<&std::path::Path>) {
    let result = match crate::load_config(path) {
        Ok(config) => served.apply(config).await,
        Err(err) => Err(err.into()),
    };
    match result {
        Ok(()) => eprintln!("docktray: reloaded the settings"),
        Err(err) => eprintln!("docktray: {err}\ndocktray: keeping the settings in force"),
    }
}
