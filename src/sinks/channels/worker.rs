//! One channel's worker: its own bounded queue of alert changes, grouped over its window into one message,
//! sent with retries and a doubling backoff. A slow or dead receiver only ever holds up its own worker: the
//! dispatcher never waits for a queue (a full one drops its oldest change, counted), so the engine, the desktop
//! notifications and the other channels go on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::message::{self, Message};
use super::senders::{SendError, Sender};
use crate::alerts::AlertTransition;
use crate::model::{ChannelState, ChannelStatus, Observation, Reporter};
use crate::util::Backoff;

/// Alert changes a channel holds while its receiver is down or slow; beyond this the oldest are dropped.
pub const QUEUE_CAPACITY: usize = 1000;
/// The first retry waits this long, each next one twice as long ...
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// ... up to this.
const LONGEST_RETRY: Duration = Duration::from_secs(60);

/// A channel's queue: pushed without waiting, drained by its worker.
#[derive(Default)]
pub struct Queue {
    items: Mutex<VecDeque<AlertTransition>>,
    arrived: Notify,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<AlertTransition>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a change; returns whether the oldest had to make room.
    pub fn push(&self, change: AlertTransition) -> bool {
        let mut items = self.lock();
        let full = items.len() >= QUEUE_CAPACITY;
        if full {
            items.pop_front();
        }
        items.push_back(change);
        drop(items);
        self.arrived.notify_one();
        full
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn drain(&self) -> Vec<AlertTransition> {
        self.lock().drain(..).collect()
    }
}

/// The channel's state, shared by its worker, the dispatcher (drops) and test sends.
pub struct Shared {
    pub sender: Sender,
    pub queue: Queue,
    status: Mutex<ChannelStatus>,
    reporter: Reporter,
    pub http: reqwest::Client,
}

impl Shared {
    pub fn new(sender: Sender, reporter: Reporter, http: reqwest::Client) -> Self {
        let status = ChannelStatus {
            name: sender.name(),
            kind: sender.kind().to_owned(),
            state: ChannelState::Ok,
            destination: sender.destination(),
            last_sent_at: None,
            last_error: None,
            last_error_at: None,
            queued: 0,
            dropped: 0,
            sent: 0,
        };
        Self {
            sender,
            queue: Queue::default(),
            status: Mutex::new(status),
            reporter,
            http,
        }
    }

    /// Changes the status and tells the engine.
    pub async fn update(&self, change: impl FnOnce(&mut ChannelStatus)) {
        let status = {
            let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
            change(&mut status);
            status.queued = u32::try_from(self.queue.len()).unwrap_or(u32::MAX);
            status.clone()
        };
        self.reporter
            .report(Observation::Channel(Box::new(status)))
            .await;
    }

    /// One attempt, with its outcome in the status.
    pub async fn attempt(&self, message: &Message, retrying: bool) -> Result<(), SendError> {
        let result = self.sender.send(&self.http, message).await;
        match &result {
            Ok(()) => {
                self.update(|status| {
                    status.state = ChannelState::Ok;
                    status.last_sent_at = Some(Utc::now());
                    status.sent += 1;
                })
                .await;
            }
            Err(err) => {
                let text = err.to_string();
                tracing::warn!(channel = %self.sender.name(), error = %text, retrying, "a notification was not delivered");
                self.update(|status| {
                    status.state = if retrying {
                        ChannelState::Retrying
                    } else {
                        ChannelState::Failing
                    };
                    status.last_error = Some(text);
                    status.last_error_at = Some(Utc::now());
                })
                .await;
            }
        }
        result
    }
}

/// Starts a channel's worker; it ends when `stop` turns true.
pub fn spawn(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(run(shared, stop))
}

async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    shared.update(|_| {}).await;
    loop {
        while shared.queue.is_empty() {
            tokio::select! {
                _ = shared.queue.arrived.notified() => {}
                _ = stop.changed() => return,
            }
        }
        let delivery = shared.sender.delivery();
        // Changes arriving within the window go together.
        tokio::select! {
            _ = tokio::time::sleep(delivery.group_window) => {}
            _ = stop.changed() => return,
        }
        let batch = shared.queue.drain();
        let Some(message) = message::for_batch(&batch, &delivery, chrono::Local::now().time())
        else {
            tracing::debug!(channel = %shared.sender.name(), changes = batch.len(), "nothing to send (this channel's settings)");
            shared.update(|_| {}).await;
            continue;
        };
        let mut backoff = Backoff::new(FIRST_RETRY, LONGEST_RETRY);
        let attempts = delivery.retries.saturating_add(1);
        for attempt in 1..=attempts {
            let more = attempt < attempts;
            if shared.attempt(&message, more).await.is_ok() {
                break;
            }
            if !more {
                shared.update(|status| status.dropped += 1).await;
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay()) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
