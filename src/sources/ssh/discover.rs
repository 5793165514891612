//! Finds SSH Docker endpoints the user already has: Docker contexts with `ssh://` endpoints
//! (`~/.docker/contexts/meta/*/meta.json`) and `DOCKER_HOST=ssh://...`, offered as hosts to add.

use std::path::{Path, PathBuf};

/// An SSH endpoint found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Discovered {
    /// Suggested host name (the context's name, or `docker-host`).
    pub name: String,
    /// SSH destination as `docktray hosts add` takes it (`user@host[:port]`).
    pub destination: String,
    /// Where it was found: `context` or `DOCKER_HOST`.
    pub origin: String,
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
