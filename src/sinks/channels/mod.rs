//! Notification channels beside the desktop: webhooks, ntfy and e-mail. A sink of the engine's updates: the
//! dispatcher hands every notifiable alert change to each channel's own bounded queue without waiting, and each
//! channel's worker ([`worker`]) groups, filters (its minimum level and quiet hours), sends ([`senders`]) and
//! retries on its own, so a slow or dead receiver never holds up the others, the desktop notifications or the
//! engine. Each worker reports its state to the engine (shown in the window and `docktray status`). Secrets come
//! from the keychain ([`secrets`]).

pub mod message;
pub mod secrets;
pub mod senders;
pub mod worker;

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::NotificationSettings;
use crate::model::{Reporter, Update};
pub use senders::{SendError, Sender};

/// The channels a configuration turns on, in a fixed order: webhooks, ntfy, e-mail.
pub fn configured(settings: &NotificationSettings) -> Vec<Sender> {
    let mut senders: Vec<Sender> = settings
        .webhooks
        .iter()
        .filter(|hook| hook.enabled)
        .cloned()
        .map(Sender::Webhook)
        .collect();
    if settings.ntfy.active() {
        senders.push(Sender::Ntfy(settings.ntfy.clone()));
    }
    if settings.email.active() {
        senders.push(Sender::Email(settings.email.clone()));
    }
    senders
}

/// The HTTP client of webhooks and ntfy: rustls, no proxy lookup, each request with its channel's timeout.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// Why a test send did not go out.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("no channel named {name}: the configured ones are {known} (`docktray notify list`)")]
    Unknown { name: String, known: String },
    #[error("{name}: {source}")]
    Send { name: String, source: SendError },
}

/// Sends a test message through the channel named `name` (`webhook:NAME`, or a webhook's bare name, `ntfy`,
/// `email`), once, with no engine running: what `docktray notify test` does. Returns where it went.
pub async fn send_test(
    settings: &NotificationSettings,
    name: &str,
) -> Result<String, ChannelError> {
    let sender = find(&configured(settings), name)?;
    let message = message::test(&sender.name());
    sender
        .send(&http_client(), &message)
        .await
        .map_err(|source| ChannelError::Send {
            name: sender.name(),
            source,
        })?;
    Ok(sender.destination())
}

fn find(senders: &[Sender], name: &str) -> Result<Sender, ChannelError> {
    let wanted = name.trim();
    senders
        .iter()
        .find(|sender| sender.name() == wanted || sender.name() == format!("webhook:{wanted}"))
        .cloned()
        .ok_or_else(|| ChannelError::Unknown {
            name: wanted.to_owned(),
            known: if senders.is_empty() {
                "none".to_owned()
            } else {
                senders
                    .iter()
                    .map(Sender::name)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// One running channel.
struct Running {
    shared: Arc<worker::Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The running channels and their dispatcher.
pub struct Channels {
    running: Arc<Mutex<Vec<Running>>>,
    reporter: Reporter,
    http: reqwest::Client,
    dispatcher: JoinHandle<()>,
}

impl Channels {
    /// Starts a worker per configured channel and the dispatcher reading `updates`.
    pub fn start(
        settings: &NotificationSettings,
        updates: broadcast::Receiver<Update>,
        reporter: Reporter,
    ) -> Self {
        let http = http_client();
        let running = Arc::new(Mutex::new(Vec::new()));
        let channels = Self {
            dispatcher: tokio::spawn(dispatch(updates, running.clone())),
            running,
            reporter,
            http,
        };
        channels.reconfigure(settings);
        channels
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the running channels the configured ones: unchanged channels keep their queue and state, changed or
    /// removed ones stop, new ones start.
    pub fn reconfigure(&self, settings: &NotificationSettings) {
        let wanted = configured(settings);
        let mut running = self.lock();
        let mut kept = Vec::new();
        for channel in running.drain(..) {
            if wanted.contains(&channel.shared.sender) {
                kept.push(channel);
            } else {
                let _ = channel.stop.send(true);
            }
        }
        for sender in wanted {
            if kept.iter().any(|channel| channel.shared.sender == sender) {
                continue;
            }
            let shared = Arc::new(worker::Shared::new(
                sender,
                self.reporter.clone(),
                self.http.clone(),
            ));
            let (stop, stop_rx) = watch::channel(false);
            let task = worker::spawn(shared.clone(), stop_rx);
            kept.push(Running { shared, stop, task });
        }
        *running = kept;
    }

    /// Sends a test message through one running channel now, once (the settings' "Send test" button); the
    /// outcome also shows in the channel's state.
    pub async fn test(&self, name: &str) -> Result<String, ChannelError> {
        let shared = {
            let running = self.lock();
            let senders: Vec<Sender> = running.iter().map(|r| r.shared.sender.clone()).collect();
            let wanted = find(&senders, name)?;
            running
                .iter()
                .find(|r| r.shared.sender == wanted)
                .map(|r| r.shared.clone())
        };
        let Some(shared) = shared else {
            return Err(ChannelError::Unknown {
                name: name.to_owned(),
                known: String::new(),
            });
        };
        let message = message::test(&shared.sender.name());
        shared
            .attempt(&message, false)
            .await
            .map_err(|source| ChannelError::Send {
                name: shared.sender.name(),
                source,
            })?;
        Ok(shared.sender.destination())
    }

    /// Stops every worker (what is still queued is not sent) and the dispatcher.
    pub async fn stop(self) {
        self.dispatcher.abort();
        let running: Vec<Running> = self.lock().drain(..).collect();
        for channel in running {
            let _ = channel.stop.send(true);
            let _ = channel.task.await;
        }
    }
}

/// Hands each notifiable alert change to every channel's queue, never waiting for one.
async fn dispatch(mut updates: broadcast::Receiver<Update>, running: Arc<Mutex<Vec<Running>>>) {
    loop {
        match updates.recv().await {
            Ok(Update::Alert(change)) if change.is_notifiable() => {
                let full: Vec<Arc<worker::Shared>> = {
                    let running = running.lock().unwrap_or_else(|p| p.into_inner());
                    running
                        .iter()
                        .filter(|channel| channel.shared.queue.push((*change).clone()))
                        .map(|channel| channel.shared.clone())
                        .collect()
                };
                for shared in full {
                    tracing::warn!(channel = %shared.sender.name(), "its queue is full: the oldest alert change was dropped");
                    shared.update(|status| status.dropped += 1).await;
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(skipped, "the notification channels fell behind the engine; some alert changes were not sent");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
