//! Container logs: one shared Docker log stream per container however many viewers follow it, with a bounded
//! ring buffer so a new viewer gets history at once. Lines keep their ANSI colours for display and carry a
//! stripped copy for search; invalid UTF-8 is replaced, never fatal.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch, Notify};
use ts_rs::TS;

use super::Client;
use crate::error::{Error, Result};
use crate::util::{strip_ansi, Backoff};

/// How long a stream nobody follows any more is kept open, so switching views does not reconnect.
const IDLE_LINGER: Duration = Duration::from_secs(15);
/// How long a new subscriber waits for the history to load before getting what there is.
const HISTORY_WAIT: Duration = Duration::from_secs(10);

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LogLine {
    /// Position in this hub's stream for the container, increasing by one per line.
    pub seq: u64,
    pub timestamp: Option<DateTime<Utc>>,
    pub stream: LogStream,
    /// The line as written, ANSI colour codes included (render them, never as HTML).
    pub text: String,
    /// The line without ANSI codes, for search.
    pub plain: String,
}

/// What part of the logs a viewer wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Only the last N lines of history (`None`: all that is kept).
    pub tail: Option<usize>,
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for LogQuery {
    fn default() -> Self {
        Self {
            tail: None,
            since: None,
            stdout: true,
            stderr: true,
        }
    }
}

impl LogQuery {
    pub fn matches(&self, line: &LogLine) -> bool {
        let stream_ok = match line.stream {
            LogStream::Stdout => self.stdout,
            LogStream::Stderr => self.stderr,
        };
        let time_ok = match (self.since, line.timestamp) {
            (Some(since), Some(at)) => at >= since,
            _ => true,
        };
        stream_ok && time_ok
    }
}

/// Hands out shared log streams. Cheap to clone.
#[derive(Clone)]
pub struct LogHub {
    inner: Arc<HubInner>,
}

/// Where a container's engine connection comes from: the engine routes each container to its host's client.
pub trait ClientLookup: Send + Sync + 'static {
    /// The connection (followed as it comes and goes) of the engine `container` runs on.
    fn client_for(&self, container: &str) -> watch::Receiver<Option<Client>>;
}

/// One engine for every container (the CLI's single-engine log view).
impl ClientLookup for watch::Receiver<Option<Client>> {
    fn client_for(&self, _container: &str) -> watch::Receiver<Option<Client>> {
        self.clone()
    }
}

struct HubInner {
    clients: Arc<dyn ClientLookup>,
    ring_lines: usize,
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    follow_streams_opened: AtomicU64,
    closed: AtomicBool,
}

/// One container's shared stream.
struct Channel {
    container: String,
    ring: Mutex<VecDeque<LogLine>>,
    sender: broadcast::Sender<LogLine>,
    subscribers: AtomicUsize,
    loaded: watch::Sender<bool>,
    wake: Notify,
}

impl Channel {
    fn ring(&self) -> MutexGuard<'_, VecDeque<LogLine>> {
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A viewer's handle: the history at subscription time, then live lines. Dropping it unsubscribes.
pub struct LogSubscription {
    pub history: Vec<LogLine>,
    receiver: broadcast::Receiver<LogLine>,
    query: LogQuery,
    channel: Arc<Channel>,
    /// Lines this viewer missed because it read too slowly.
    pub skipped: u64,
}

impl LogSubscription {
    /// The next live line matching the query; `None` when the hub shuts down.
    pub async fn next(&mut self) -> Option<LogLine> {
        loop {
            match self.receiver.recv().await {
                Ok(line) if self.query.matches(&line) => return Some(line),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(count)) => self.skipped += count,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Changes the filter without touching the upstream stream.
    pub fn set_query(&mut self, query: LogQuery) {
        self.query = query;
    }
}

impl Drop for LogSubscription {
    fn drop(&mut self) {
        if self.channel.subscribers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.channel.wake.notify_one();
        }
    }
}

impl LogHub {
    /// `clients` gives each container's engine connection (`None` while unreachable); `ring_lines` bounds
    /// each buffer.
    pub fn new(clients: impl ClientLookup, ring_lines: usize) -> Self {
        Self {
            inner: Arc::new(HubInner {
                clients: Arc::new(clients),
                ring_lines: ring_lines.max(1),
                channels: Mutex::new(HashMap::new()),
                follow_streams_opened: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// Follows a container's logs. The first viewer opens the Docker stream; later ones share it.
    /// `container` must be the full container id so every viewer lands on the same stream.
    pub async fn subscribe(&self, container: &str, query: LogQuery) -> Result<LogSubscription> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Other("the log hub is shut down".to_owned()));
        }
        let channel = {
            let mut channels = self
                .inner
                .channels
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut created = false;
            let channel = channels
                .entry(container.to_owned())
                .or_insert_with(|| {
                    created = true;
                    let (sender, _) = broadcast::channel(4096);
                    let (loaded, _) = watch::channel(false);
                    Arc::new(Channel {
                        container: container.to_owned(),
                        ring: Mutex::new(VecDeque::new()),
                        sender,
                        subscribers: AtomicUsize::new(0),
                        loaded,
                        wake: Notify::new(),
                    })
                })
                .clone();
            // Counted before the stream task starts: a task that saw no subscriber would wind down at once.
            channel.subscribers.fetch_add(1, Ordering::AcqRel);
            if created {
                tokio::spawn(follow(self.inner.clone(), channel.clone()));
            }
            channel
        };
        let mut loaded = channel.loaded.subscribe();
        let _ = tokio::time::timeout(HISTORY_WAIT, loaded.wait_for(|done| *done)).await;
        // History and live receiver are taken under the ring lock, so no line is missed or seen twice.
        let (history, receiver) = {
            let ring = channel.ring();
            let matching: Vec<&LogLine> = ring.iter().filter(|line| query.matches(line)).collect();
            let skip = query
                .tail
                .map_or(0, |tail| matching.len().saturating_sub(tail));
            let history = matching.into_iter().skip(skip).cloned().collect();
            (history, channel.sender.subscribe())
        };
        Ok(LogSubscription {
            history,
            receiver,
            query,
            channel,
            skipped: 0,
        })
    }

    /// Reads logs once without following (exactly the last `tail` lines when given), straight from Docker.
    pub async fn fetch(client: &Client, container: &str, query: &LogQuery) -> Result<Vec<LogLine>> {
        let tail = query
            .tail
            .map_or_else(|| "all".to_owned(), |n| n.to_string());
        let mut builder = LogsOptionsBuilder::new()
            .follow(false)
            .stdout(query.stdout)
            .stderr(query.stderr)
            .timestamps(true)
            .tail(&tail);
        if let Some(since) = query.since {
            builder = builder.since(since.timestamp().clamp(0, i64::from(i32::MAX)) as i32);
        }
        let mut stream = client.docker.logs(container, Some(builder.build()));
        let mut assembler = LineAssembler::default();
        let mut lines = Vec::new();
        while let Some(item) = stream.next().await {
            let output = item.map_err(|err| log_error(container, err))?;
            assembler.push(output, &mut |line| lines.push(line));
        }
        assembler.flush(&mut |line| lines.push(line));
        lines.retain(|line| query.matches(line));
        Ok(lines)
    }

    /// Number of follow streams opened against Docker since the hub started (for diagnostics and tests).
    pub fn follow_streams_opened(&self) -> u64 {
        self.inner.follow_streams_opened.load(Ordering::Acquire)
    }

    /// Containers whose logs are being followed right now.
    pub fn followed(&self) -> Vec<String> {
        let channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        channels.keys().cloned().collect()
    }

    /// A container (re)started: its stream resumes now instead of at the next backoff step.
    pub fn container_started(&self, container: &str) {
        let channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(container) {
            channel.wake.notify_one();
        }
    }

    /// The engine connection came back: every stream resumes.
    pub fn engine_reconnected(&self) {
        let channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for channel in channels.values() {
            channel.wake.notify_one();
        }
    }

    /// Ends every stream.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let channels = std::mem::take(
            &mut *self
                .inner
                .channels
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for channel in channels.values() {
            channel.wake.notify_one();
        }
    }
}

fn log_error(container: &str, err: bollard::errors::Error) -> Error {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::NoSuchContainer(container.to_owned()),
        other => Error::Docker(format!("reading logs of {container}: {other}")),
    }
}

/// The task behind one channel: loads history, then follows; resumes after the container restarts or the
/// engine comes back, and ends once nobody has followed it for [`IDLE_LINGER`].
async fn follow(hub: Arc<HubInner>, channel: Arc<Channel>) {
    let mut client_rx = hub.clients.client_for(&channel.container);
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    let mut last_seen: Option<DateTime<Utc>> = None;
    let mut seq = 0u64;
    let mut history_loaded = false;
    loop {
        if hub.closed.load(Ordering::Acquire) {
            break;
        }
        if channel.subscribers.load(Ordering::Acquire) == 0 {
            // Nobody left: wait a little in case a viewer comes back, then stop.
            let _ = tokio::time::timeout(IDLE_LINGER, channel.wake.notified()).await;
            if channel.subscribers.load(Ordering::Acquire) == 0 {
                break;
            }
        }
        let client = client_rx.borrow_and_update().clone();
        let Some(client) = client else {
            let _ = channel.loaded.send(true);
            tokio::select! {
                changed = client_rx.changed() => if changed.is_err() { break },
                _ = channel.wake.notified() => {}
            }
            continue;
        };
        if !history_loaded {
            let query = LogQuery {
                tail: Some(hub.ring_lines),
                ..LogQuery::default()
            };
            match LogHub::fetch(&client, &channel.container, &query).await {
                Ok(lines) => {
                    let mut ring = channel.ring();
                    for mut line in lines {
                        line.seq = seq;
                        seq += 1;
                        last_seen = line.timestamp.or(last_seen);
                        push_ring(&mut ring, line, hub.ring_lines);
                    }
                    history_loaded = true;
                    drop(ring);
                    let _ = channel.loaded.send(true);
                }
                Err(Error::NoSuchContainer(_)) => {
                    let _ = channel.loaded.send(true);
                    break;
                }
                Err(err) => {
                    // Not marked loaded: waiting viewers keep waiting (up to HISTORY_WAIT) for the retry rather
                    // than getting an empty history at once.
                    tracing::warn!(container = %channel.container, %err, "reading log history failed; retrying");
                    wait(&channel, backoff.next_delay()).await;
                    continue;
                }
            }
        }

        let mut builder = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(if last_seen.is_some() { "all" } else { "0" });
        if let Some(last) = last_seen {
            builder = builder.since(last.timestamp().clamp(0, i64::from(i32::MAX)) as i32);
        }
        hub.follow_streams_opened.fetch_add(1, Ordering::AcqRel);
        let mut stream = client
            .docker
            .logs(&channel.container, Some(builder.build()));
        let mut assembler = LineAssembler::default();
        let mut failed = false;
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                _ = channel.wake.notified() => {
                    if hub.closed.load(Ordering::Acquire) || channel.subscribers.load(Ordering::Acquire) == 0 {
                        None
                    } else {
                        continue;
                    }
                }
            };
            let Some(item) = item else { break };
            match item {
                Ok(output) => {
                    backoff.reset();
                    let mut emit = |mut line: LogLine| {
                        // A resumed stream repeats the last second: skip what we already have.
                        if let (Some(last), Some(at)) = (last_seen, line.timestamp) {
                            if at <= last {
                                return;
                            }
                        }
                        last_seen = line.timestamp.or(last_seen);
                        line.seq = seq;
                        seq += 1;
                        let mut ring = channel.ring();
                        push_ring(&mut ring, line.clone(), hub.ring_lines);
                        let _ = channel.sender.send(line);
                    };
                    assembler.push(output, &mut emit);
                }
                Err(err) => {
                    tracing::debug!(container = %channel.container, %err, "log stream broke");
                    failed = true;
                    break;
                }
            }
        }
        drop(stream);
        if hub.closed.load(Ordering::Acquire) {
            break;
        }
        // The stream ends when the container stops: wait for it to start again (or retry after a backoff).
        let delay = if failed {
            backoff.next_delay()
        } else {
            backoff.next_delay().max(Duration::from_secs(2))
        };
        wait(&channel, delay).await;
    }
    let mut channels = hub.channels.lock().unwrap_or_else(|p| p.into_inner());
    if channels
        .get(&channel.container)
        .is_some_and(|current| Arc::ptr_eq(current, &channel))
    {
        channels.remove(&channel.container);
    }
}

async fn wait(channel: &Channel, delay: Duration) {
    let _ = tokio::time::timeout(delay, channel.wake.notified()).await;
}

fn push_ring(ring: &mut VecDeque<LogLine>, line: LogLine, capacity: usize) {
    while ring.len() >= capacity {
        ring.pop_front();
    }
    ring.push_back(line);
}

/// Turns Docker's log frames into lines: frames may hold several lines or part of one (long lines are split
/// at 16 KiB, TTY output comes in arbitrary chunks), each complete line starting with its timestamp.
#[derive(Default)]
pub struct LineAssembler {
    pending: [Vec<u8>; 2],
}

impl LineAssembler {
    pub fn push(&mut self, output: LogOutput, emit: &mut impl FnMut(LogLine)) {
        let (stream, bytes) = match output {
            LogOutput::StdErr { message } => (LogStream::Stderr, message),
            LogOutput::StdOut { message }
            | LogOutput::Console { message }
            | LogOutput::StdIn { message } => (LogStream::Stdout, message),
        };
        let slot = stream as usize;
        let mut data: &[u8] = &bytes;
        if !self.pending[slot].is_empty() {
            // A continuation frame repeats a timestamp prefix: drop it before joining.
            if let Some((_, rest)) = split_timestamp(data) {
                data = rest;
            }
        }
        self.pending[slot].extend_from_slice(data);
        while let Some(newline) = self.pending[slot].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending[slot].drain(..=newline).collect();
            emit(parse_line(&line[..line.len() - 1], stream));
        }
    }

    /// Emits a last line that had no newline.
    pub fn flush(&mut self, emit: &mut impl FnMut(LogLine)) {
        for (slot, stream) in [(0, LogStream::Stdout), (1, LogStream::Stderr)] {
            if !self.pending[slot].is_empty() {
                let line = std::mem::take(&mut self.pending[slot]);
                emit(parse_line(&line, stream));
            }
        }
    }
}

fn split_timestamp(data: &[u8]) -> Option<(DateTime<Utc>, &[u8])> {
    let space = data.iter().take(40).position(|&b| b == b' ')?;
    let text = std::str::from_utf8(&data[..space]).ok()?;
    let at = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    Some((at, &data[space + 1..]))
}

/// Parses `TIMESTAMP text` into a line; invalid UTF-8 is replaced with U+FFFD.
pub fn parse_line(raw: &[u8], stream: LogStream) -> LogLine {
    let (timestamp, body) = match split_timestamp(raw) {
        Some((at, rest)) => (Some(at), rest),
        None => (None, raw),
    };
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let text = String::from_utf8_lossy(body).into_owned();
    let plain = strip_ansi(&text);
    LogLine {
        seq: 0,
        timestamp,
        stream,
        text,
        plain,
    }
}

#[cfg(test)]
mod tests;
