//! Docktray desktop shell. The tray icon and window arrive with the desktop issue; until then this binary runs
//! the monitor (collectors, alerts, history, desktop notifications) and reports each source and container
//! change on stderr, so `make run` starts what the tray will use.

use std::time::Duration;

use anyhow::Context;
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::{Config, Engine, SourceState, Update};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCKTRAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::load(None).context("loading the configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let monitor = match Monitor::start(config.clone(), MonitorOptions::default()) {
            Ok(monitor) => monitor,
            Err(err) => {
                tracing::warn!("{err}; running without the history");
                Monitor::start(
                    config,
                    MonitorOptions {
                        history: false,
                        notifications: true,
                    },
                )?
            }
        };
        let engine = monitor.engine();
        engine.ready(Duration::from_secs(10)).await;
        summarise(engine);
        let mut updates = engine.subscribe();
        loop {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(Update::Source(_) | Update::ContainerChanged(_) | Update::ContainerRemoved { .. }) => summarise(engine),
                    Ok(Update::Alert(change)) => tracing::info!("alert {:?}: {}", change.kind, change.alert.message),
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => summarise(engine),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        monitor.shutdown().await?;
        Ok(())
    })
}

/// One line per source: what a tray tooltip will say.
fn summarise(engine: &Engine) {
    let snapshot = engine.snapshot();
    let running = snapshot
        .containers
        .iter()
        .filter(|c| c.info.state.has_processes())
        .count();
    for source in snapshot.sources.iter().filter(|s| s.kind == "docker") {
        match source.state {
            SourceState::Up => tracing::info!(
                "{}: {running} running, {} containers",
                source.name,
                snapshot.containers.len()
            ),
            _ => tracing::warn!(
                "{}: {:?} ({})",
                source.name,
                source.state,
                source.reason.as_deref().unwrap_or("connecting")
            ),
        }
    }
}
