//! Finds SSH Docker endpoints the user already has: Docker contexts with `ssh://` endpoints
//! (`~/.docker/contexts/meta/*/meta.json`) and `DOCKER_HOST=ssh://...`, offered as hosts to add; the hosts of
//! `~/.ssh/config` come from [`super::ssh_config`].

use std::path::{Path, PathBuf};

/// An SSH endpoint found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Discovered {
    /// Suggested host name (the context's name, or `docker-host`).
    pub name: String,
    /// SSH destination as `docktray hosts add` takes it (`user@host[:port]`).
    pub destination: String,
    /// Where it was found: `context`, `DOCKER_HOST` or `ssh_config`.
    pub origin: String,
    /// Where ssh really connects for an `~/.ssh/config` alias (`ssh -G`): `user@hostname[:port]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub resolved: Option<String>,
}

/// Everything this machine knows of that `configured` does not have yet (by destination or name): Docker
/// contexts and `DOCKER_HOST` with `ssh://`, then the hosts of `ssh_config` (the user's `~/.ssh/config` when
/// `None`). Runs `ssh -G` per alias: call it off the async runtime.
pub fn not_configured(
    configured: &[crate::config::HostConfig],
    ssh_config: Option<&Path>,
) -> Vec<Discovered> {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    let mut found = discover(docker_config_dir().as_deref(), docker_host.as_deref());
    match ssh_config {
        Some(file) => found.extend(super::ssh_config::discover(file, true)),
        None => found.extend(
            super::ssh_config::user_config()
                .map(|file| super::ssh_config::discover(&file, false))
                .unwrap_or_default(),
        ),
    }
    found.retain(|d| {
        !configured
            .iter()
            .any(|h| h.destination == d.destination || h.name == d.name)
    });
    found
}

/// Docker's config directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".docker")))
}

/// `ssh://user@host:port/path` -> `user@host:port`; `None` for other schemes.
pub fn ssh_endpoint(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("ssh://")?;
    let destination = rest.split('/').next().unwrap_or(rest);
    (!destination.is_empty()).then(|| destination.to_owned())
}

/// Every `ssh://` endpoint in the Docker contexts under `config_dir` and in `docker_host`, sorted by name.
pub fn discover(config_dir: Option<&Path>, docker_host: Option<&str>) -> Vec<Discovered> {
    let mut found = Vec::new();
    if let Some(dir) = config_dir {
        let meta = dir.join("contexts").join("meta");
        for entry in std::fs::read_dir(&meta).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
                continue;
            };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                tracing::debug!(path = %entry.path().display(), "unreadable Docker context");
                continue;
            };
            let name = json["Name"].as_str().unwrap_or_default();
            let host = json["Endpoints"]["docker"]["Host"]
                .as_str()
                .unwrap_or_default();
            if let Some(destination) = ssh_endpoint(host) {
                found.push(Discovered {
                    name: name.to_owned(),
                    destination,
                    origin: "context".to_owned(),
                    resolved: None,
                });
            }
        }
    }
    if let Some(destination) = docker_host.and_then(ssh_endpoint) {
        if !found.iter().any(|d| d.destination == destination) {
            found.push(Discovered {
                name: "docker-host".to_owned(),
                destination,
                origin: "DOCKER_HOST".to_owned(),
                resolved: None,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls_become_destinations() {
        assert_eq!(
            ssh_endpoint("ssh://me@nas:2222").as_deref(),
            Some("me@nas:2222")
        );
        assert_eq!(ssh_endpoint("ssh://nas/").as_deref(), Some("nas"));
        assert_eq!(ssh_endpoint("unix:///var/run/docker.sock"), None);
    }
}
