//! The forecaster: every `[forecasts] every` it reads the recorded history of each disk, running container and
//! Webdock quota, fits a robust line ([`fit`]) to it ([`compute`]) and hands the round to the engine as an
//! observation. The engine keeps the forecasts (snapshots, the window, `docktray status`) and its alert evaluator
//! judges each projected time like any other figure. It reads the history and the engine's view, and writes
//! nothing but observations.

mod compute;
pub mod fit;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ForecastSettings;
use crate::engine::View;
use crate::history::History;
use crate::model::{Observation, Reporter};
pub use compute::compute;

/// The first round waits this long at most: long enough for the sources' first samples.
const FIRST_ROUND: Duration = Duration::from_secs(10);

/// The running forecaster.
pub struct Forecaster {
    task: JoinHandle<()>,
    settings: watch::Sender<ForecastSettings>,
    stop: watch::Sender<bool>,
}

impl Forecaster {
    /// Starts fitting on the current tokio runtime.
    pub fn start(
        view: View,
        history: Arc<History>,
        reporter: Reporter,
        settings: ForecastSettings,
    ) -> Self {
        let (settings, settings_rx) = watch::channel(settings);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(view, history, reporter, settings_rx, stop_rx));
        Self {
            task,
            settings,
            stop,
        }
    }

    /// New settings: the next round uses them, and comes at once.
    pub fn reconfigure(&self, settings: &ForecastSettings) {
        self.settings.send_if_modified(|current| {
            let changed = current != settings;
            *current = settings.clone();
            changed
        });
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(
    view: View,
    history: Arc<History>,
    reporter: Reporter,
    mut settings: watch::Receiver<ForecastSettings>,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = settings.borrow().every.min(FIRST_ROUND);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = settings.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
        let current = settings.borrow_and_update().clone();
        wait = current.every;
        if !view.is_ready() {
            // Before every source's first round the state misses containers: their forecasts would vanish.
            wait = wait.min(Duration::from_secs(1));
            continue;
        }
        let snapshot = view.snapshot();
        let reader = history.clone();
        let round = tokio::task::spawn_blocking(move || {
            compute(&reader, &snapshot, &current, chrono::Utc::now())
        })
        .await;
        match round {
            Ok(forecasts) => {
                tracing::debug!(count = forecasts.len(), "forecasts fitted");
                reporter.report(Observation::Forecasts(forecasts)).await;
            }
            Err(err) => tracing::warn!(%err, "fitting the forecasts failed"),
        }
    }
}
