//! The end-to-end check `docktray hosts add` (and the window's "test" button) runs: each step in order, stopping
//! at the first that fails, so the user sees exactly where the connection breaks and how to fix it.

use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

use super::{known_hosts, Connection};
use crate::config::HostConfig;
use crate::model::ErrorStep;

/// One step of the check and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct StepResult {
    /// `DNS`, `TCP`, `host key`, `SSH login and socket`, `Docker`.
    pub step: String,
    pub ok: bool,
    /// What was found, or what failed and how to fix it.
    pub detail: String,
    /// The failed step's kind, for callers that react to it (e.g. offer `hosts trust`).
    #[serde(skip)]
    #[ts(skip)]
    pub failed_step: Option<ErrorStep>,
}

impl StepResult {
    fn ok(step: &str, detail: String) -> Self {
        Self {
            step: step.to_owned(),
            ok: true,
            detail,
            failed_step: None,
        }
    }

    fn failed(step: &str, kind: ErrorStep, detail: String) -> Self {
        Self {
            step: step.to_owned(),
            ok: false,
            detail,
            failed_step: Some(kind),
        }
    }
}

/// Runs every step; the last entry is the failed one when the check failed.
pub async fn check_host(host: &HostConfig) -> Vec<StepResult> {
    let mut steps = Vec::new();
    let resolved = match known_hosts::resolve(host) {
        Ok(resolved) => resolved,
        Err(err) => {
            steps.push(StepResult::failed("SSH config", err.step, err.message));
            return steps;
        }
    };
    let addresses = match tokio::net::lookup_host((resolved.hostname.as_str(), resolved.port)).await
    {
        Ok(addresses) => addresses.collect::<Vec<_>>(),
        Err(err) => {
            steps.push(StepResult::failed(
                "DNS",
                ErrorStep::Dns,
                format!(
                    "{} does not resolve ({err}): check the spelling, your DNS, or the alias in ~/.ssh/config",
                    resolved.hostname
                ),
            ));
            return steps;
        }
    };
    steps.push(StepResult::ok(
        "DNS",
        format!("{} resolves to {:?}", resolved.hostname, addresses.first()),
    ));
    let mut reached = None;
    let mut last_error = String::from("no address");
    for address in &addresses {
        match tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            Ok(Ok(_)) => {
                reached = Some(*address);
                break;
            }
            Ok(Err(err)) => last_error = err.to_string(),
            Err(_) => last_error = "timed out after 5 s".to_owned(),
        }
    }
    match reached {
        Some(address) => steps.push(StepResult::ok(
            "TCP",
            format!("{address} accepts connections"),
        )),
        None => {
            steps.push(StepResult::failed(
                "TCP",
                ErrorStep::Tcp,
                format!(
                    "cannot connect to {}:{} ({last_error}): is sshd running, the port right, a firewall open?",
                    resolved.hostname, resolved.port
                ),
            ));
            return steps;
        }
    }
    if !known_hosts::is_known(&resolved) {
        let fingerprints = known_hosts::scan(&resolved)
            .map(|keys| {
                keys.iter()
                    .map(|k| format!("{} {}", k.key_type, k.fingerprint))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|err| err.message);
        steps.push(StepResult::failed(
            "host key",
            ErrorStep::HostKey,
            format!(
                "{} is not in known_hosts (it offers {fingerprints}): compare the fingerprint with the host's \
                 (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there) and trust it with \
                 `docktray hosts trust {}`",
                resolved.known_hosts_name(),
                host.name
            ),
        ));
        return steps;
    }
    steps.push(StepResult::ok("host key", "known".to_owned()));
    let mut connection = match Connection::open(host, Duration::from_secs(5)).await {
        Ok(connection) => connection,
        Err(err) => {
            steps.push(StepResult::failed(
                "SSH login and socket",
                err.step,
                err.message,
            ));
            return steps;
        }
    };
    steps.push(StepResult::ok(
        "SSH login and socket",
        format!("logged in; {} forwarded", host.socket),
    ));
    match crate::sources::docker::collector::remote_client(host, &connection).await {
        Ok(client) => steps.push(StepResult::ok(
            "Docker",
            format!("{} (API {})", client.label(), client.api_version),
        )),
        Err((kind, message)) => steps.push(StepResult::failed("Docker", kind, message)),
    }
    connection.close().await;
    steps
}
