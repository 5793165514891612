//! `docktray watch`: the collectors, the alert engine, the history store and desktop notifications, headless.
//! Prints each alert transition as a line; Ctrl-C (or SIGTERM) flushes the history and exits cleanly.

use anyhow::{anyhow, Context};
use chrono::SecondsFormat;
use docktray::alerts::{AlertTransition, TransitionKind};
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::{Config, Engine, Update};
use std::io::Write;
use std::path::PathBuf;
use tokio::signal::unix::{signal, SignalKind};

use crate::Failure;

pub struct WatchOptions {
    pub json: bool,
    pub notify: bool,
    pub history: bool,
}

pub async fn watch(
    config: Config,
    config_path: Option<PathBuf>,
    options: WatchOptions,
) -> Result<(), Failure> {
    let monitor = Monitor::start(
        config.clone(),
        MonitorOptions {
            history: options.history,
            notifications: options.notify,
        },
    )
    .map_err(|err| Failure::from(anyhow!(err)))?;
    let updates = monitor.engine().subscribe();
    eprintln!(
        "docktray: watching (interval {}); Ctrl-C to stop{}",
        docktray::util::format_duration(config.interval),
        config_path
            .as_ref()
            .map(|p| format!("; SIGHUP reloads {}", p.display()))
            .unwrap_or_default()
    );
    print_alerts_until_stopped(updates, options.json, || {
        reload(monitor.engine(), config_path.as_deref())
    })
    .await?;
    monitor
        .shutdown()
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?;
    eprintln!("docktray: stopped");
    Ok(())
}

/// Prints each alert transition until Ctrl-C or SIGTERM; SIGHUP runs `on_hangup` (re-reading the config file).
/// The one loop `docktray watch` and `docktray serve` share.
pub async fn print_alerts_until_stopped<F, R>(
    mut updates: tokio::sync::broadcast::Receiver<Update>,
    json: bool,
    mut on_hangup: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> R,
    R: std::future::Future<Output = ()>,
{
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    loop {
        tokio::select! {
            update = updates.recv() => match update {
                Ok(Update::Alert(change)) => print_transition(&change, json).context("writing to stdout")?,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    eprintln!("docktray: the output fell behind; {skipped} updates skipped");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => on_hangup().await,
        }
    }
    Ok(())
}

/// Re-reads the config file and applies it (thresholds, alert rules, remote hosts); a bad file is reported and
/// the settings in force stay.
async fn reload(engine: &Engine, path: Option<&std::path::Path>) {
    let loaded = crate::load_config(path);
    let origin = path
        .map(PathBuf::from)
        .or_else(Config::default_path)
        .unwrap_or_default();
    let result = match loaded {
        Ok(config) => engine.reconfigure(&config, &origin).await,
        Err(err) => Err(err.into()),
    };
    match result {
        Ok(()) => eprintln!("docktray: reloaded the settings from {}", origin.display()),
        Err(err) => eprintln!("docktray: {err}\ndocktray: keeping the settings in force"),
    }
}

pub(crate) fn print_transition(change: &AlertTransition, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::to_string(change).map_err(std::io::Error::other)?;
        return writeln!(out, "{line}");
    }
    let kind = match change.kind {
        TransitionKind::Raised => "raised",
        TransitionKind::Escalated => "escalated",
        TransitionKind::Eased => "eased",
        TransitionKind::Reminder => "still",
        TransitionKind::Resolved => "resolved",
        TransitionKind::Notice => "notice",
        TransitionKind::Acknowledged => "acknowledged",
    };
    let level = match change.kind {
        TransitionKind::Resolved => change.previous_level.unwrap_or(change.alert.level),
        _ => change.alert.level,
    };
    writeln!(
        out,
        "{} {:<8} {:<9} {}",
        change.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        level.as_str().to_uppercase(),
        kind,
        crate::render::clean(&change.alert.message)
    )
}
