//! The collector loop of one Docker engine: connect, run a [`Session`] while connected, and when the engine goes
//! away report it unreachable with the reason and retry with backoff. It observes and reports; the engine keeps
//! the state.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify};

use super::logs::LogHub;
use super::session::{Session, SessionSettings};
use super::Client;
use crate::config::HostConfig;
use crate::model::{ErrorStep, Observation, ReadyPart, SourceState, SourceStatus, LOCAL_HOST};
use crate::sources::ssh;
use crate::sources::Reporter;
use crate::util::Backoff;

/// Which engine a source watches.
pub enum Target {
    /// The local engine at this endpoint (`unix://…`, `tcp://…`).
    Local { endpoint: String },
    /// A remote host's engine, reached through its Docker socket forwarded over SSH.
    Ssh(HostConfig),
}

impl Target {
    /// The longest wait between attempts: the local engine usually comes back in seconds (a restart, a
    /// package upgrade), a remote host may be away for long (a laptop, a reboot) and each attempt costs an SSH
    /// handshake.
    fn max_backoff(&self) -> Duration {
        match self {
            Self::Local { .. } => Duration::from_secs(60),
            Self::Ssh(_) => Duration::from_secs(300),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Local { .. } => LOCAL_HOST,
            Self::Ssh(host) => &host.name,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Self::Local { endpoint } => endpoint.clone(),
            Self::Ssh(host) => format!("ssh://{}{}", host.destination, host.socket),
        }
    }
}

/// What a Docker source is given when the engine starts it.
pub struct DockerSource {
    pub target: Target,
    pub settings: SessionSettings,
    pub reporter: Reporter,
    pub logs: LogHub,
    /// Where the source puts its engine connection while it has one, for actions and log streams.
    pub connection: watch::Sender<Option<Client>>,
    /// Ends the backoff wait at once ("retry now").
    pub retry: Arc<Notify>,
    /// From when to back-fill the timeline at the first connection (the last event the history has of this
    /// host, in the engine's time); `None`: nothing to catch up on.
    pub resume: Option<chrono::DateTime<Utc>>,
}

/// Why a connected period ended: the failed step and a message saying how to fix it.
pub(crate) type Failure = (ErrorStep, String);

/// Runs until `shutdown` turns true; never returns early, never panics on engine or SSH failures. Each failed
/// attempt is reported (step, message, history) and retried with jittered exponential backoff from 1 s to 60 s
/// (local) or 5 min (SSH), or at once on "retry now".
pub async fn run(source: DockerSource, mut shutdown: watch::Receiver<bool>) {
    let DockerSource {
        target,
        settings,
        reporter,
        logs,
        connection: slot,
        retry,
        mut resume,
    } = source;
    let name = target.name().to_owned();
    let endpoint = target.endpoint();
    let mut backoff = Backoff::new(Duration::from_secs(1), target.max_backoff());
    let mut failures = 0u32;
    let mut status = SourceStatus::connecting(&name, "docker", &endpoint);
    reporter.report(Observation::Source(status.clone())).await;
    loop {
        let outcome = match &target {
            Target::Local { endpoint } => match Client::connect(LOCAL_HOST, endpoint).await {
                Ok(client) => {
                    backoff.reset();
                    failures = 0;
                    let session = Session::new(&settings, &reporter, &logs, &slot, client, None);
                    session.run(&mut status, &mut shutdown, &mut resume).await
                }
                Err(crate::Error::DockerUnreachable { reason, .. }) => {
                    Err((ErrorStep::Docker, reason))
                }
                Err(err) => Err((ErrorStep::Docker, err.to_string())),
            },
            Target::Ssh(host) => match ssh::Connection::open(host, settings.interval).await {
                Ok(connection) => {
                    let mut connection = Arc::new(connection);
                    let outcome = match remote_client(host, &connection).await {
                        Ok(client) => {
                            backoff.reset();
                            failures = 0;
                            let session = Session::new(
                                &settings,
                                &reporter,
                                &logs,
                                &slot,
                                client,
                                Some(connection.clone()),
                            );
                            session.run(&mut status, &mut shutdown, &mut resume).await
                        }
                        Err(failure) => Err(failure),
                    };
                    // The session is gone, so this is the last handle: close the master and the socket.
                    if let Some(connection) = Arc::get_mut(&mut connection) {
                        connection.close().await;
                    }
                    outcome
                }
                Err(err) => Err((err.step, err.message)),
            },
        };
        if *shutdown.borrow() {
            return;
        }
        let Err((step, reason)) = outcome else { return };
        failures = failures.saturating_add(1);
        let delay = backoff.next_delay();
        let was_up = status.state != SourceState::Unreachable;
        if was_up {
            tracing::warn!(host = %name, %endpoint, step = step.as_str(), %reason, retry_in = ?delay, "source unreachable");
        } else {
            tracing::debug!(host = %name, %endpoint, %reason, retry_in = ?delay, "source still unreachable");
        }
        let now = Utc::now();
        status.state = SourceState::Unreachable;
        status.reason = Some(reason.clone());
        status.record_error(step, reason, now);
        status.consecutive_failures = failures;
        status.next_retry = Some(now + delay);
        if was_up {
            status.since = now;
        }
        reporter.report(Observation::Source(status.clone())).await;
        if name == LOCAL_HOST {
            reporter.report(Observation::Ready(ReadyPart::Docker)).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = retry.notified() => tracing::info!(host = %name, "retrying now, as asked"),
            _ = shutdown.changed() => return,
        }
    }
}

/// Connects bollard to the forwarded socket; a failure here is the remote engine's, not SSH's.
pub(crate) async fn remote_client(
    host: &HostConfig,
    connection: &ssh::Connection,
) -> Result<Client, Failure> {
    let client = Client::connect(&host.name, &connection.endpoint())
        .await
        .map_err(|err| {
            let reason = match err {
                crate::Error::DockerUnreachable { reason, .. } => reason,
                other => other.to_string(),
            };
            (
                ErrorStep::Docker,
                format!(
                    "Docker step failed for {}: the engine behind {} did not answer through the SSH tunnel: {reason}",
                    host.destination, host.socket
                ),
            )
        })?;
    if !api_at_least(&client.api_version, 1, 41) {
        return Err((
            ErrorStep::DockerVersion,
            format!(
                "Docker version step failed for {}: the engine speaks API {} (Docker {}); Docktray needs API 1.41 (Docker 20.10) or newer: upgrade Docker on that host",
                host.destination, client.api_version, client.engine_version
            ),
        ));
    }
    Ok(client)
}

/// Whether an API version such as `1.43` is at least `major.minor`.
pub(crate) fn api_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}
