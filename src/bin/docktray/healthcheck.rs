//! `docktray healthcheck`: asks a running `docktray serve` on this machine for `/healthz` and exits 0 when it
//! answers 200, 1 otherwise. The container image's `HEALTHCHECK` runs it (the slim image has no curl).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, Context};
use docktray::Config;

use crate::Failure;

/// A probe that takes longer than this counts as a failure (Docker's own timeout is usually 5 s or more).
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// Where to knock: the listen address, with an every-address listen (`0.0.0.0`, `::`) asked on loopback.
fn probe_address(config: &Config, listen: Option<&str>) -> Result<SocketAddr, Failure> {
    let text = listen.unwrap_or(&config.api.listen);
    let mut address: SocketAddr = text.trim().parse().map_err(|_| {
        crate::usage(anyhow!(
            "'{text}' is not an IP address and port (api.listen, DOCKTRAY_API__LISTEN or --listen)"
        ))
    })?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(address)
}

pub async fn run(config: &Config, listen: Option<&str>) -> Result<(), Failure> {
    let address = probe_address(config, listen)?;
    let scheme = if config.api.tls() { "https" } else { "http" };
    let url = format!("{scheme}://{address}/healthz");
    // The probe only talks to this machine's own server, whose certificate may be self-signed for a name
    // other than the loopback address: it checks liveness, not identity, and sends no token.
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .danger_accept_invalid_certs(true)
        .build()
        .context("making the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url} (is docktray serve running?)"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        println!("{url}: {} {}", status.as_u16(), body.trim());
        Ok(())
    } else {
        Err(Failure::from(anyhow!(
            "{url} answered {}: {}",
            status.as_u16(),
            body.trim()
        )))
    }
}
