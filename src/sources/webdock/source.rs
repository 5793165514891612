//! The Webdock source: one task per `[[webdock]]` account. Each round reads the server list (cached 5 min), the
//! profiles (24 h) and each watched server's instant metrics (30 s), and reports every VPS in the normalised
//! form, so alerts, history, tray and window treat it like a
//! Docker host. A missing token, a locked keychain or Webdock being down marks only this account unreachable;
//! everything else keeps being watched. Rounds stretch as the rate-limit budget falls.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::client::{stretch, Client, StatusFilter};
use super::error::WebdockError;
use super::normalise::{profile_of, vps_stats};
use super::token;
use crate::config::WebdockAccount;
use crate::model::{Observation, ReadyPart, SourceState, SourceStatus};
use crate::sources::Reporter;

/// After a failure, the next try comes after the interval, but never later than this.
const RETRY_AT_MOST: Duration = Duration::from_secs(300);

/// What one round found beyond the figures it published.
struct Round {
    /// Slugs the config names that the account does not have.
    missing: Vec<String>,
    /// Servers whose metrics could not be read (reason per server).
    partial: Vec<String>,
}

/// Watches one account until `shutdown` turns true.
pub async fn run(reporter: Reporter, account: WebdockAccount, mut shutdown: watch::Receiver<bool>) {
    let mut status = SourceStatus::connecting(
        &account.name,
        "webdock",
        account.base_url.trim().trim_end_matches('/'),
    );
    reporter.report(Observation::Source(status.clone())).await;
    let mut client: Option<Client> = None;
    let mut first = true;
    loop {
        let outcome = round(&reporter, &account, &mut client).await;
        let budget = client.as_ref().map(Client::budget);
        let factor = budget.as_ref().map_or(1, stretch);
        let (state, reason, wait) = match outcome {
            Ok(found) => {
                let mut notes = Vec::new();
                if !found.missing.is_empty() {
                    notes.push(format!(
                        "not in this account: {} (`docktray webdock servers` lists what the token sees)",
                        found.missing.join(", ")
                    ));
                }
                notes.extend(found.partial);
                if factor > 1 {
                    notes.push(format!(
                        "rate-limit budget low: polling every {}",
                        crate::util::format_duration(account.interval * factor)
                    ));
                }
                let reason = (!notes.is_empty()).then(|| notes.join("; "));
                (SourceState::Up, reason, account.interval * factor)
            }
            Err(WebdockError::RateLimited {
                account: name,
                until,
            }) => {
                let wait = (until - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .max(account.interval);
                let message = WebdockError::RateLimited {
                    account: name,
                    until,
                }
                .to_string();
                // Rate limited is not down: the figures shown are the last ones, and the reason says until when.
                let state = if status.state == SourceState::Connecting {
                    SourceState::Unreachable
                } else {
                    status.state
                };
                (state, Some(message), wait)
            }
            Err(err) => {
                tracing::warn!(account = %account.name, %err, "Webdock account not read");
                if !err.is_transient() {
                    // The token may be replaced meanwhile (login, the window): read it again next time.
                    client = None;
                }
                (
                    SourceState::Unreachable,
                    Some(err.to_string()),
                    account.interval.min(RETRY_AT_MOST),
                )
            }
        };
        if state != status.state {
            status.since = Utc::now();
        }
        status.consecutive_failures = if state == SourceState::Unreachable {
            status.consecutive_failures.saturating_add(1)
        } else {
            0
        };
        status.state = state;
        status.reason = reason;
        status.rate_limit = budget;
        status.next_retry = chrono::TimeDelta::from_std(wait)
            .ok()
            .map(|delta| Utc::now() + delta);
        reporter.report(Observation::Source(status.clone())).await;
        if first {
            first = false;
            reporter
                .report(Observation::Ready(ReadyPart::Webdock))
                .await;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One round over the account's watched servers.
async fn round(
    reporter: &Reporter,
    account: &WebdockAccount,
    client: &mut Option<Client>,
) -> Result<Round, WebdockError> {
    let client = match client {
        Some(client) => client.clone(),
        None => {
            let (token, source) = token::resolve_account(account).await?;
            tracing::debug!(account = %account.name, from = %source.describe(), "Webdock token found");
            let made = Client::for_account(account, &token)?;
            *client = Some(made.clone());
            made
        }
    };
    let servers = client.servers(StatusFilter::All).await?;
    let watched: Vec<_> = servers
        .iter()
        .filter(|s| account.servers.includes(&s.slug))
        .collect();
    let missing = match &account.servers {
        crate::config::ServerSelection::All => Vec::new(),
        crate::config::ServerSelection::Slugs(slugs) => slugs
            .iter()
            .filter(|slug| !servers.iter().any(|s| &s.slug == *slug))
            .cloned()
            .collect(),
    };
    let profiles = if watched.iter().any(|s| s.profile_data.is_none()) {
        match client.profiles(None).await {
            Ok(profiles) => profiles,
            Err(err @ (WebdockError::RateLimited { .. } | WebdockError::BadToken { .. })) => {
                return Err(err)
            }
            Err(err) => {
                tracing::warn!(account = %account.name, %err, "Webdock profiles not read; totals unknown");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let mut partial = Vec::new();
    let mut seen = BTreeSet::new();
    for server in watched {
        let metrics = match client.metrics_now(&server.slug).await {
            Ok(metrics) => Some(metrics),
            Err(
                err @ (WebdockError::RateLimited { .. }
                | WebdockError::BadToken { .. }
                | WebdockError::Down { .. }),
            ) => return Err(err),
            Err(err) => {
                partial.push(format!("{}: {err}", server.slug));
                None
            }
        };
        let stats = vps_stats(
            &account.name,
            server,
            profile_of(server, &profiles),
            metrics.as_ref(),
            Utc::now(),
        );
        seen.insert(stats.server_name.clone());
        reporter.report(Observation::Server(Box::new(stats))).await;
    }
    // Servers no longer watched (deleted, or dropped from the config) leave the views.
    reporter
        .report(Observation::VpsRound {
            account: account.name.clone(),
            seen,
        })
        .await;
    Ok(Round { missing, partial })
}
