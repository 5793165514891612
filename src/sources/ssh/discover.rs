//! Finds engines the user already has. SSH endpoints, offered as hosts to add: Docker contexts with `ssh://`
//! endpoints (`~/.docker/contexts/meta/*/meta.json`), `DOCKER_HOST=ssh://...`, Podman's `system connection`
//! entries (with the socket path and key each names) and the hosts of `~/.ssh/config` (from
//! [`super::ssh_config`]). Local engine sockets, offered as `[docker] host`: Docker's, `CONTAINER_HOST`, and
//! Podman's rootless and rootful sockets, with what to run when one is not started.

use std::path::{Path, PathBuf};

use crate::config::endpoint::{EndpointEnv, DOCKER_SOCKET, PODMAN_ROOTFUL_SOCKET};
use crate::sources::docker::podman::socket_start_hint;

/// An SSH endpoint found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Discovered {
    /// Suggested host name (the context's or connection's name, or `docker-host`).
    pub name: String,
    /// SSH destination as `docktray hosts add` takes it (`user@host[:port]`).
    pub destination: String,
    /// Where it was found: `context`, `DOCKER_HOST`, `podman connection` or `ssh_config`.
    pub origin: String,
    /// Where ssh really connects for an `~/.ssh/config` alias (`ssh -G`): `user@hostname[:port]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub resolved: Option<String>,
    /// The engine's socket on the host, when it is not Docker's default (Podman connections name theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub socket: Option<String>,
    /// The SSH key the connection uses, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub identity: Option<PathBuf>,
}

impl Discovered {
    /// The `docktray hosts add` command that adds it.
    pub fn add_command(&self) -> String {
        let mut command = format!("docktray hosts add {} {}", self.name, self.destination);
        if let Some(socket) = &self.socket {
            command.push_str(&format!(" --socket {socket}"));
        }
        if let Some(identity) = &self.identity {
            command.push_str(&format!(" --identity {}", identity.display()));
        }
        command
    }
}

/// Everything this machine knows of that `configured` does not have yet (by destination or name): Docker
/// contexts and `DOCKER_HOST` with `ssh://`, Podman's ssh connections, then the hosts of `ssh_config` (the user's `~/.ssh/config` when
/// `None`). Runs `ssh -G` per alias: call it off the async runtime.
pub fn not_configured(
    configured: &[crate::config::HostConfig],
    ssh_config: Option<&Path>,
) -> Vec<Discovered> {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    let mut found = discover(docker_config_dir().as_deref(), docker_host.as_deref());
    let connections = podman_connections(&podman_connection_files());
    for host in podman_ssh_hosts(&connections) {
        if !found
            .iter()
            .any(|h| h.destination == host.destination && h.socket == host.socket)
        {
            found.push(host);
        }
    }
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
                    socket: None,
                    identity: None,
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
                socket: None,
                identity: None,
                resolved: None,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// One `podman system connection` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodmanConnection {
    pub name: String,
    /// `ssh://user@host:port/run/user/1000/podman/podman.sock`, `unix:///…` or `tcp://…`.
    pub uri: String,
    pub identity: Option<PathBuf>,
    /// Podman's default connection.
    pub default: bool,
}

/// The files `podman system connection` may keep its entries in: the user's (`$XDG_CONFIG_HOME/containers`, else
/// `~/.config/containers`), `$CONTAINERS_CONF`, and the system's (`/etc/containers`: where Podman writes root's,
/// and whose entries every user's Podman sees).
pub fn podman_connection_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".config")))
        .map(|dir| dir.join("containers"));
    if let Some(dir) = user_dir {
        files.push(dir.join("podman-connections.json"));
        files.push(dir.join("containers.conf"));
    }
    if let Some(conf) = std::env::var_os("CONTAINERS_CONF").filter(|f| !f.is_empty()) {
        files.push(PathBuf::from(conf));
    }
    files.push(PathBuf::from("/etc/containers/podman-connections.json"));
    files.push(PathBuf::from("/etc/containers/containers.conf"));
    files.dedup();
    files
}

/// `podman system connection` entries in `files`: Podman 5 keeps them in `podman-connections.json`, Podman 4 in
/// `containers.conf` (`[engine.service_destinations.NAME]`, `engine.active_service`). The first file naming a
/// connection wins; sorted by name. Missing or unreadable files are skipped.
pub fn podman_connections(files: &[PathBuf]) -> Vec<PodmanConnection> {
    let mut found: Vec<PodmanConnection> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let entries = if file.extension().is_some_and(|ext| ext == "json") {
            connections_from_json(&text)
        } else {
            connections_from_conf(&text)
        };
        match entries {
            Ok(entries) => {
                for entry in entries {
                    if !found.iter().any(|known| known.name == entry.name) {
                        found.push(entry);
                    }
                }
            }
            Err(err) => {
                tracing::debug!(file = %file.display(), %err, "unreadable Podman connections")
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// Podman 5's `podman-connections.json`: `{"Connection": {"Default": NAME, "Connections": {NAME: {"URI",
/// "Identity"}}}}`.
fn connections_from_json(text: &str) -> Result<Vec<PodmanConnection>, String> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
    let default = json["Connection"]["Default"].as_str().unwrap_or_default();
    let map = json["Connection"]["Connections"].as_object();
    Ok(map
        .into_iter()
        .flatten()
        .filter_map(|(name, entry)| {
            Some(PodmanConnection {
                name: name.clone(),
                uri: entry["URI"].as_str()?.to_owned(),
                identity: entry["Identity"]
                    .as_str()
                    .filter(|path| !path.is_empty())
                    .map(PathBuf::from),
                default: name == default,
            })
        })
        .collect())
}

/// Podman 4's `containers.conf`: `[engine] active_service`, `[engine.service_destinations.NAME] uri, identity`.
fn connections_from_conf(text: &str) -> Result<Vec<PodmanConnection>, String> {
    let conf: toml::Value = toml::from_str(text).map_err(|err| err.to_string())?;
    let engine = conf.get("engine");
    let default = engine
        .and_then(|e| e.get("active_service"))
        .and_then(toml::Value::as_str)
        .unwrap_or_default();
    let destinations = engine
        .and_then(|e| e.get("service_destinations"))
        .and_then(toml::Value::as_table);
    Ok(destinations
        .into_iter()
        .flatten()
        .filter_map(|(name, entry)| {
            Some(PodmanConnection {
                name: name.clone(),
                uri: entry.get("uri")?.as_str()?.to_owned(),
                identity: entry
                    .get("identity")
                    .and_then(toml::Value::as_str)
                    .filter(|path| !path.is_empty())
                    .map(PathBuf::from),
                default: name == default,
            })
        })
        .collect())
}

/// The ssh ones among Podman's connections, as hosts to add: destination and socket path from the URI.
pub fn podman_ssh_hosts(connections: &[PodmanConnection]) -> Vec<Discovered> {
    connections
        .iter()
        .filter_map(|connection| {
            let destination = ssh_endpoint(&connection.uri)?;
            let rest = connection.uri.trim().strip_prefix("ssh://")?;
            let socket = rest.find('/').map(|slash| rest[slash..].to_owned());
            Some(Discovered {
                name: connection.name.clone(),
                destination,
                origin: "podman connection".to_owned(),
                socket: socket.filter(|path| path.len() > 1),
                identity: connection.identity.clone(),
                resolved: None,
            })
        })
        .collect()
}

/// A local engine endpoint to watch with `[docker] host`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalEngine {
    /// `unix:///run/user/1000/podman/podman.sock`, `tcp://…`.
    pub endpoint: String,
    /// What it is: `Docker socket`, `DOCKER_HOST`, `CONTAINER_HOST`, `rootless Podman socket`, `rootful Podman
    /// socket`, `podman connection NAME`.
    pub origin: String,
    /// Something listens there (unix sockets only; `None` for network endpoints, which are not probed).
    pub listening: Option<bool>,
    /// What to run to start it, when it is a Podman socket that is not started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Local engine endpoints: `DOCKER_HOST`, Docker's socket, `CONTAINER_HOST`, Podman's rootless and rootful
/// sockets and local Podman connections. Sockets that do not exist are left out, except Podman's when Podman is
/// installed: those come with what to run to start them.
pub fn local_engines(
    env: &EndpointEnv,
    connections: &[PodmanConnection],
    podman_installed: bool,
) -> Vec<LocalEngine> {
    let mut candidates: Vec<(String, String, bool)> = Vec::new();
    let mut push = |endpoint: String, origin: &str, podman: bool| {
        if !candidates.iter().any(|(known, ..)| *known == endpoint) {
            candidates.push((endpoint, origin.to_owned(), podman));
        }
    };
    if let Some(host) = env
        .docker_host
        .as_deref()
        .filter(|h| !h.starts_with("ssh://"))
    {
        push(host.to_owned(), "DOCKER_HOST", false);
    }
    push(format!("unix://{DOCKER_SOCKET}"), "Docker socket", false);
    if let Some(host) = env
        .container_host
        .as_deref()
        .filter(|h| !h.starts_with("ssh://"))
    {
        push(host.to_owned(), "CONTAINER_HOST", true);
    }
    if let Some(socket) = env.rootless_podman_socket() {
        push(
            format!("unix://{}", socket.display()),
            "rootless Podman socket",
            true,
        );
    }
    push(
        format!("unix://{PODMAN_ROOTFUL_SOCKET}"),
        "rootful Podman socket",
        true,
    );
    for connection in connections.iter().filter(|c| !c.uri.starts_with("ssh://")) {
        push(
            connection.uri.clone(),
            &format!("podman connection {}", connection.name),
            true,
        );
    }
    candidates
        .into_iter()
        .filter_map(|(endpoint, origin, podman)| {
            let path = endpoint
                .strip_prefix("unix://")
                .or_else(|| endpoint.starts_with('/').then_some(endpoint.as_str()));
            let Some(path) = path else {
                return Some(LocalEngine {
                    endpoint,
                    origin,
                    listening: None,
                    hint: None,
                });
            };
            let exists = Path::new(path).exists();
            let listening = exists && std::os::unix::net::UnixStream::connect(path).is_ok();
            // A missing socket is worth offering only when it is Podman's and Podman is installed.
            let offer = exists || (podman && podman_installed);
            if !offer {
                return None;
            }
            let hint = if listening {
                None
            } else {
                socket_start_hint(path).filter(|_| podman)
            };
            Some(LocalEngine {
                endpoint,
                origin,
                listening: Some(listening),
                hint,
            })
        })
        .collect()
}

/// Whether a `podman` program is on `PATH`.
pub fn podman_installed() -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let program = dir.join("podman");
            std::fs::metadata(&program).is_ok_and(|meta| {
                use std::os::unix::fs::PermissionsExt;
                meta.is_file() && meta.permissions().mode() & 0o111 != 0
            })
        })
    })
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

    #[test]
    fn podman_connections_of_both_formats_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("podman-connections.json"),
            r#"{"Connection":{"Default":"nas","Connections":{"nas":{"URI":"ssh://core@nas.example:2222/run/user/1000/podman/podman.sock","Identity":"/home/me/.ssh/nas","IsMachine":false}}},"Farm":{}}"#,
        )
        .expect("json");
        std::fs::write(
            dir.path().join("containers.conf"),
            "[engine]\nactive_service = \"lab\"\n[engine.service_destinations.lab]\nuri = \"ssh://root@lab/run/podman/podman.sock\"\n[engine.service_destinations.here]\nuri = \"unix:///run/podman/podman.sock\"\n",
        )
        .expect("conf");
        let connections = podman_connections(&[
            dir.path().join("podman-connections.json"),
            dir.path().join("containers.conf"),
        ]);
        let names: Vec<(&str, bool)> = connections
            .iter()
            .map(|c| (c.name.as_str(), c.default))
            .collect();
        assert_eq!(names, vec![("here", false), ("lab", true), ("nas", true)]);
        let hosts = podman_ssh_hosts(&connections);
        assert_eq!(hosts.len(), 2);
        assert_eq!(
            hosts[1].add_command(),
            "docktray hosts add nas core@nas.example:2222 --socket /run/user/1000/podman/podman.sock \
             --identity /home/me/.ssh/nas"
        );
        assert_eq!(hosts[0].socket.as_deref(), Some("/run/podman/podman.sock"));
    }

    #[test]
    fn podman_sockets_not_started_say_what_to_run() {
        let env = EndpointEnv {
            docker_host: None,
            container_host: None,
            xdg_runtime_dir: Some(PathBuf::from("/nonexistent/run/4242")),
        };
        let found = local_engines(&env, &[], true);
        let rootless = found
            .iter()
            .find(|e| e.origin == "rootless Podman socket")
            .expect("offered while Podman is installed");
        assert_eq!(rootless.listening, Some(false));
        assert!(
            rootless
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("podman.socket")),
            "{rootless:?}"
        );
        // Without Podman, a socket that does not exist is not offered.
        assert!(local_engines(&env, &[], false)
            .iter()
            .all(|e| e.origin != "rootless Podman socket"));
    }
}
