//! `[caddy]`: keeping a Caddy reverse proxy's routes in step with the services (docs/services.md). Off while
//! `admin_url` is empty.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::duration_text;
use super::HostConfig;
use crate::error::ConfigError;
use crate::util::format_duration;

/// Caddy route synchronisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct CaddyConfig {
    /// Caddy's admin API, such as `http://localhost:2019`; empty (the default) leaves Caddy alone.
    pub admin_url: String,
    /// The HTTP server (a name under `apps.http.servers`) the routes go into; empty: the only one Caddy has.
    pub server: String,
    /// Where services with `revp.ssl = "false"` go when `server` does automatic HTTPS: a server listening on
    /// Caddy's HTTP port. Empty: `server`.
    pub http_server: String,
    /// How often Caddy's routes are compared with the services in full (default `10s`), which is how a
    /// restarted Caddy gets its routes back.
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub check_every: Duration,
    /// The address Caddy reaches each remote host's published ports at, by host name; a host not listed is
    /// reached at the host part of its SSH destination.
    pub host_addresses: BTreeMap<String, String>,
}

impl Default for CaddyConfig {
    fn default() -> Self {
        Self {
            admin_url: String::new(),
            server: String::new(),
            http_server: String::new(),
            check_every: Duration::from_secs(10),
            host_addresses: BTreeMap::new(),
        }
    }
}

impl CaddyConfig {
    /// Whether Docktray keeps Caddy's routes (an admin URL is set).
    pub fn enabled(&self) -> bool {
        !self.admin_url.trim().is_empty()
    }

    /// The admin URL without a trailing slash.
    pub fn admin_base(&self) -> String {
        self.admin_url.trim().trim_end_matches('/').to_owned()
    }

    pub(super) fn validate(&self, path: &Path, hosts: &[HostConfig]) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        if self.enabled() {
            let url = reqwest::Url::parse(self.admin_url.trim());
            let usable = url.as_ref().is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host_str().is_some()
                    && url.path().trim_matches('/').is_empty()
            });
            if !usable {
                return Err(invalid(
                    "caddy.admin_url",
                    format!("\"{}\"", self.admin_url),
                    "Caddy's admin API address, such as \"http://localhost:2019\", or \"\" to leave Caddy alone",
                ));
            }
        }
        for (key, name) in [
            ("caddy.server", &self.server),
            ("caddy.http_server", &self.http_server),
        ] {
            if name.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(invalid(
                    key,
                    format!("\"{name}\""),
                    "the name of a server under apps.http.servers in Caddy's config, such as \"srv0\", or \"\"",
                ));
            }
        }
        if self.check_every < Duration::from_millis(500)
            || self.check_every > Duration::from_secs(3600)
        {
            return Err(invalid(
                "caddy.check_every",
                format!("\"{}\"", format_duration(self.check_every)),
                "a duration between \"500ms\" and \"1h\", such as \"10s\"",
            ));
        }
        for (host, address) in &self.host_addresses {
            let key = format!("caddy.host_addresses.{host}");
            if !hosts.iter().any(|h| &h.name == host) {
                return Err(invalid(
                    &key,
                    format!("\"{address}\""),
                    "a key naming a host in [[hosts]]",
                ));
            }
            if address.trim().is_empty()
                || address.contains(|c: char| c.is_whitespace() || c == '/')
            {
                return Err(invalid(
                    &key,
                    format!("\"{address}\""),
                    "the host name or IP address Caddy reaches that host at, such as \"192.168.1.20\"",
                ));
            }
        }
        Ok(())
    }
}
