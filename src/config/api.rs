//! `[api]`: the HTTP API (`docktray serve` always serves it; the desktop app when `enabled`), see docs/api.md.
//! Loopback by default; any other address only with `allow_remote`, and then only over TLS or with an explicit
//! `allow_plain_http`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::duration_text;
use crate::error::ConfigError;
use crate::util::format_duration;

/// The default address: loopback, on a port outside Prometheus's exporter range (9100-9999) and clear of
/// cAdvisor (8080), Docker's metrics (9323) and Prometheus itself (9090-9094).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7583";

/// The HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Serve the API from the desktop app too (`docktray serve` always serves it). Off by default.
    pub enabled: bool,
    /// Address and port to listen on (default `127.0.0.1:7583`).
    pub listen: String,
    /// Allow an address other than loopback (then TLS, or `allow_plain_http`, is required too).
    pub allow_remote: bool,
    /// Serve a non-loopback address without TLS (the token then crosses the network in clear text).
    pub allow_plain_http: bool,
    /// PEM certificate chain for HTTPS; empty for plain HTTP on loopback.
    pub tls_cert: String,
    /// PEM private key of `tls_cert`.
    pub tls_key: String,
    /// Extra names the API answers to in the `Host` header (besides the listen address and `localhost`), such
    /// as `docktray.lan`; anything else is refused (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Web origins allowed to call the API (`https://dash.example.com`); the API's own origin always is.
    pub allowed_origins: Vec<String>,
    /// Allow start, stop, restart, pause and unpause through the API.
    pub allow_actions: bool,
    /// Connections served at once; more wait until one closes (default 64).
    pub max_connections: usize,
    /// Time allowed for one request (streams excepted), default `30s`.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub request_timeout: Duration,
    /// Messages a stream client may fall behind before it is told how many it lost (default 1024).
    pub client_queue: usize,
    /// The path prefix a reverse proxy serves Docktray under, such as `/docktray` (empty: at the root). The page
    /// and the API answer under it as well as at the root, so the proxy may pass the prefix on or strip it.
    pub base_path: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: DEFAULT_LISTEN.to_owned(),
            allow_remote: false,
            allow_plain_http: false,
            tls_cert: String::new(),
            tls_key: String::new(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            allow_actions: false,
            max_connections: 64,
            request_timeout: Duration::from_secs(30),
            client_queue: 1024,
            base_path: String::new(),
        }
    }
}

impl ApiConfig {
    /// The listen address, when it parses.
    pub fn address(&self) -> Option<SocketAddr> {
        self.listen.trim().parse().ok()
    }

    /// Whether HTTPS is configured.
    pub fn tls(&self) -> bool {
        !self.tls_cert.trim().is_empty()
    }

    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        let Some(address) = self.address() else {
            return Err(invalid(
                "api.listen",
                format!("\"{}\"", self.listen),
                "an IP address and port, such as \"127.0.0.1:7583\" or \"[::1]:7583\"",
            ));
        };
        if self.tls_cert.trim().is_empty() != self.tls_key.trim().is_empty() {
            return Err(invalid(
                if self.tls_key.trim().is_empty() {
                    "api.tls_key"
                } else {
                    "api.tls_cert"
                },
                "\"\"".to_owned(),
                "both api.tls_cert and api.tls_key (PEM files), or neither",
            ));
        }
        if !address.ip().is_loopback() {
            if !self.allow_remote {
                return Err(invalid(
                    "api.listen",
                    format!("\"{}\"", self.listen),
                    "a loopback address such as \"127.0.0.1:7583\"; to serve other machines set \
                     api.allow_remote = true and give api.tls_cert and api.tls_key (or allow_plain_http = true)",
                ));
            }
            if !self.tls() && !self.allow_plain_http {
                return Err(invalid(
                    "api.listen",
                    format!("\"{}\"", self.listen),
                    "with a non-loopback address, HTTPS: set api.tls_cert and api.tls_key (PEM files), or \
                     api.allow_plain_http = true to send the token in clear text",
                ));
            }
        }
        for (index, host) in self.allowed_hosts.iter().enumerate() {
            if host.trim().is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(invalid(
                    &format!("api.allowed_hosts[{index}]"),
                    format!("\"{host}\""),
                    "a host name such as \"docktray.lan\" (without scheme or path)",
                ));
            }
        }
        for (index, origin) in self.allowed_origins.iter().enumerate() {
            let usable = reqwest::Url::parse(origin.trim()).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some()
                    && url.path().trim_matches('/').is_empty()
            });
            if !usable {
                return Err(invalid(
                    &format!("api.allowed_origins[{index}]"),
                    format!("\"{origin}\""),
                    "a web origin such as \"https://dash.example.com\" (scheme, host and port only)",
                ));
            }
        }
        if !(1..=10_000).contains(&self.max_connections) {
            return Err(invalid(
                "api.max_connections",
                self.max_connections.to_string(),
                "a number of connections from 1 to 10000, such as 64",
            ));
        }
        if self.request_timeout < Duration::from_secs(1)
            || self.request_timeout > Duration::from_secs(600)
        {
            return Err(invalid(
                "api.request_timeout",
                format!("\"{}\"", format_duration(self.request_timeout)),
                "a duration between \"1s\" and \"10m\", such as \"30s\"",
            ));
        }
        let base = self.base_path.trim();
        if !base.is_empty()
            && (!base.starts_with('/')
                || base.ends_with('/')
                || base.contains("//")
                || !base
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c)))
        {
            return Err(invalid(
                "api.base_path",
                format!("\"{}\"", self.base_path),
                "a path prefix such as \"/docktray\" (a leading slash, no trailing slash, letters, digits, - _ . ~), \
                 or \"\" for the root",
            ));
        }
        if !(16..=65_536).contains(&self.client_queue) {
            return Err(invalid(
                "api.client_queue",
                self.client_queue.to_string(),
                "a number of messages from 16 to 65536, such as 1024",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(change: impl FnOnce(&mut ApiConfig)) -> Result<(), String> {
        let mut api = ApiConfig::default();
        change(&mut api);
        api.validate(Path::new("c.toml"))
            .map_err(|err| err.to_string())
    }

    #[test]
    fn loopback_is_the_default_and_remote_needs_consent_and_tls() {
        assert!(check(|_| {}).is_ok());
        let refused = check(|a| a.listen = "0.0.0.0:7583".into()).unwrap_err();
        assert!(refused.contains("api.allow_remote"), "{refused}");
        let plain = check(|a| {
            a.listen = "0.0.0.0:7583".into();
            a.allow_remote = true;
        })
        .unwrap_err();
        assert!(plain.contains("tls_cert"), "{plain}");
        assert!(check(|a| {
            a.listen = "0.0.0.0:7583".into();
            a.allow_remote = true;
            a.allow_plain_http = true;
        })
        .is_ok());
        assert!(check(|a| {
            a.listen = "0.0.0.0:7583".into();
            a.allow_remote = true;
            a.tls_cert = "c.pem".into();
            a.tls_key = "k.pem".into();
        })
        .is_ok());
        let half = check(|a| a.tls_cert = "c.pem".into()).unwrap_err();
        assert!(half.contains("api.tls_key"), "{half}");
        let bad = check(|a| a.listen = "localhost".into()).unwrap_err();
        assert!(bad.contains("api.listen"), "{bad}");
    }

    #[test]
    fn base_path_is_a_clean_prefix_or_empty() {
        for good in ["", "/docktray", "/ops/docktray-1"] {
            assert!(check(|a| a.base_path = good.into()).is_ok(), "{good}");
        }
        for bad in ["docktray", "/docktray/", "/a//b", "/dock tray", "/x?y"] {
            let refused = check(|a| a.base_path = bad.into()).unwrap_err();
            assert!(
                refused.contains("api.base_path") && refused.contains("/docktray"),
                "{bad}: {refused}"
            );
        }
    }

    #[test]
    fn the_default_port_is_no_common_exporters() {
        let port = ApiConfig::default().address().map(|a| a.port());
        // Prometheus's exporter range, cAdvisor, Docker's metrics, Prometheus and Alertmanager.
        assert!(port.is_some_and(|p| !(9090..=9999).contains(&p) && p != 8080 && p != 9323));
    }
}
