//! Which local engine to watch when `[docker] host` is empty: Docker's usual places first (`DOCKER_HOST`, its
//! socket), then Podman's (`CONTAINER_HOST`, the user's rootless socket, the rootful one). A Podman socket is
//! used as it is: Podman serves the Docker API on it.

use std::path::{Path, PathBuf};

/// Docker's default socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// Rootful Podman's socket (systemd's `podman.socket`).
pub const PODMAN_ROOTFUL_SOCKET: &str = "/run/podman/podman.sock";

/// The environment the choice depends on, read once (tests give their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointEnv {
    pub docker_host: Option<String>,
    pub container_host: Option<String>,
    pub xdg_runtime_dir: Option<PathBuf>,
}

impl EndpointEnv {
    /// `DOCKER_HOST`, `CONTAINER_HOST` and `XDG_RUNTIME_DIR` of this process; empty values count as unset.
    pub fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        Self {
            docker_host: var("DOCKER_HOST"),
            container_host: var("CONTAINER_HOST"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
        }
    }

    /// The user's rootless Podman socket: `$XDG_RUNTIME_DIR/podman/podman.sock`.
    pub fn rootless_podman_socket(&self) -> Option<PathBuf> {
        self.xdg_runtime_dir
            .as_ref()
            .map(|dir| dir.join("podman").join("podman.sock"))
    }
}

/// The endpoint to watch with no `[docker] host`: `DOCKER_HOST`; Docker's socket if it exists; `CONTAINER_HOST`;
/// the rootless Podman socket if it exists; the rootful one if it exists; else Docker's socket (whose absence
/// the connection then explains).
pub fn default_endpoint(env: &EndpointEnv, exists: &dyn Fn(&Path) -> bool) -> String {
    if let Some(host) = &env.docker_host {
        return host.clone();
    }
    let unix = |path: &Path| format!("unix://{}", path.display());
    if exists(Path::new(DOCKER_SOCKET)) {
        return unix(Path::new(DOCKER_SOCKET));
    }
    if let Some(host) = &env.container_host {
        return host.clone();
    }
    if let Some(socket) = env.rootless_podman_socket().filter(|path| exists(path)) {
        return unix(&socket);
    }
    if exists(Path::new(PODMAN_ROOTFUL_SOCKET)) {
        return unix(Path::new(PODMAN_ROOTFUL_SOCKET));
    }
    unix(Path::new(DOCKER_SOCKET))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(docker: Option<&str>, container: Option<&str>) -> EndpointEnv {
        EndpointEnv {
            docker_host: docker.map(str::to_owned),
            container_host: container.map(str::to_owned),
            xdg_runtime_dir: Some(PathBuf::from("/run/user/1000")),
        }
    }

    #[test]
    fn docker_first_then_podman() {
        let only = |paths: &'static [&'static str]| {
            move |path: &Path| paths.iter().any(|p| Path::new(p) == path)
        };
        let all = only(&[
            DOCKER_SOCKET,
            "/run/user/1000/podman/podman.sock",
            PODMAN_ROOTFUL_SOCKET,
        ]);
        assert_eq!(
            default_endpoint(&env(Some("tcp://h:2375"), Some("unix:///c.sock")), &all),
            "tcp://h:2375"
        );
        assert_eq!(
            default_endpoint(&env(None, Some("unix:///c.sock")), &all),
            "unix:///var/run/docker.sock"
        );
        let podman = only(&["/run/user/1000/podman/podman.sock", PODMAN_ROOTFUL_SOCKET]);
        assert_eq!(
            default_endpoint(&env(None, Some("unix:///c.sock")), &podman),
            "unix:///c.sock"
        );
        assert_eq!(
            default_endpoint(&env(None, None), &podman),
            "unix:///run/user/1000/podman/podman.sock"
        );
        assert_eq!(
            default_endpoint(&env(None, None), &only(&[PODMAN_ROOTFUL_SOCKET])),
            "unix:///run/podman/podman.sock"
        );
        assert_eq!(
            default_endpoint(&env(None, None), &only(&[])),
            "unix:///var/run/docker.sock"
        );
    }
}
