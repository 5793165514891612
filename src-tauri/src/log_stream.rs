//! Forwards one log subscription to the window as `logs` events: batched every 100 ms, at most 1000 lines a
//! batch, so a chatty container cannot flood the webview. While a batch is full the subscription is not read;
//! lines the engine's buffer cannot keep meanwhile are skipped (and counted), never queued without bound.

use std::time::Duration;

use docktray::sources::docker::logs::LogSubscription as EngineSubscription;
use tauri::{AppHandle, Emitter, Runtime};
use tokio::time::MissedTickBehavior;

use crate::payloads::LogsBatch;
use crate::window::MAIN;

pub const BATCH_EVERY: Duration = Duration::from_millis(100);
pub const BATCH_MAX: usize = 1000;

/// Runs until the subscription ends (engine shut down) or the task is aborted (unsubscribe, window closed).
pub async fn forward<R: Runtime>(
    app: AppHandle<R>,
    subscription: u64,
    mut logs: EngineSubscription,
) {
    let mut batch = Vec::new();
    let mut tick = tokio::time::interval(BATCH_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            line = logs.next(), if batch.len() < BATCH_MAX => match line {
                Some(line) => batch.push(line),
                None => break,
            },
            _ = tick.tick() => {
                if !batch.is_empty() {
                    send(&app, subscription, std::mem::take(&mut batch));
                }
            }
        }
    }
    if !batch.is_empty() {
        send(&app, subscription, batch);
    }
    if logs.skipped > 0 {
        tracing::debug!(
            subscription,
            skipped = logs.skipped,
            "log lines skipped: the window read too slowly"
        );
    }
}

fn send<R: Runtime>(
    app: &AppHandle<R>,
    subscription: u64,
    lines: Vec<docktray::sources::docker::logs::LogLine>,
) {
    if let Err(err) = app.emit_to(
        MAIN,
        "logs",
        LogsBatch {
            subscription,
            lines,
        },
    ) {
        tracing::warn!(%err, subscription, "cannot send log lines to the window");
    }
}
