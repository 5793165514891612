//! A connected Docker engine ([`Client`]) with container actions and inspection, and the conversion of Docker's
//! replies into [`ContainerInfo`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use chrono::{DateTime, Utc};

use super::formula::MemoryFormula;
use super::podman::{self, Libpod, PodmanHost};
use crate::error::{Error, Result};
use crate::model::{
    Action, ContainerDetail, ContainerInfo, ContainerState, EngineProduct, Health, HealthCheck,
    MountInfo, NetworkInfo, PortMapping,
};

/// How long to wait for the engine to answer a version or ping before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Seconds Docker waits for a container to stop before killing it (Docker's own default).
const STOP_GRACE_SECONDS: i32 = 10;

/// A connected, version-negotiated engine that speaks the Docker API (Docker, or Podman).
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) docker: Docker,
    /// Name of the host this engine runs on (`local` for the local engine).
    pub host: String,
    pub endpoint: String,
    pub engine_version: String,
    pub api_version: String,
    /// Which product answers: views name it, and Podman's stats and events differ from Docker's.
    pub product: EngineProduct,
    /// Podman: what its own API said about the host (rootless, cgroup v1); default for Docker.
    pub podman_host: PodmanHost,
    /// Podman's own API at the same endpoint, for pods.
    pub(crate) libpod: Option<Libpod>,
}

impl Client {
    /// Connects to `endpoint` (`unix://…`, `tcp://…`, `http://…`), negotiates the API version (Engine API 1.41,
    /// Docker 20.10, and newer) and checks the engine answers. Errors say how to fix the usual causes.
    pub async fn connect(host: &str, endpoint: &str) -> Result<Self> {
        let unreachable = |reason: String| Error::DockerUnreachable {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let unix_path = endpoint
            .strip_prefix("unix://")
            .or_else(|| endpoint.starts_with('/').then_some(endpoint));
        let docker = if let Some(path) = unix_path {
            check_socket(path).map_err(unreachable)?;
            Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
        } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
            Docker::connect_with_http(endpoint, 120, bollard::API_DEFAULT_VERSION)
        } else if endpoint.starts_with("ssh://") {
            return Err(unreachable(
                "ssh:// endpoints are watched as SSH hosts: add it under [[hosts]] in the config file".to_owned(),
            ));
        } else {
            return Err(unreachable(
                "unsupported endpoint: use unix:///path/to/docker.sock or tcp://host:port".to_owned(),
            ));
        }
        .map_err(|err| unreachable(err.to_string()))?;
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| unreachable("the engine did not answer within 5 s".to_owned()))?
            .map_err(|err| unreachable(describe_connect_error(&err)))?;
        let version = tokio::time::timeout(CONNECT_TIMEOUT, docker.version())
            .await
            .map_err(|_| unreachable("the engine did not answer within 5 s".to_owned()))?
            .map_err(|err| unreachable(describe_connect_error(&err)))?;
        let product = podman::product_of(&version);
        let (libpod, podman_host) = match product {
            EngineProduct::Docker => (None, PodmanHost::default()),
            EngineProduct::Podman => {
                let libpod = Libpod::for_endpoint(endpoint);
                let host = match &libpod {
                    Some(libpod) => libpod.host().await.unwrap_or_else(|err| {
                        tracing::warn!(%endpoint, %err, "cannot tell whether Podman runs rootless");
                        PodmanHost::default()
                    }),
                    None => PodmanHost::default(),
                };
                (libpod, host)
            }
        };
        Ok(Self {
            api_version: docker.client_version().to_string(),
            docker,
            host: host.to_owned(),
            endpoint: endpoint.to_owned(),
            engine_version: version.version.unwrap_or_else(|| "unknown".to_owned()),
            product,
            podman_host,
            libpod,
        })
    }

    /// How this engine's own stats command counts memory (Podman's formula changed with its versions).
    pub fn memory_formula(&self) -> MemoryFormula {
        MemoryFormula::of(self.product, &self.engine_version)
    }

    /// The engine as it is shown: `Podman 4.3.1 (rootless)`, `Docker 27.3.1`.
    pub fn label(&self) -> String {
        crate::model::engine_label(
            Some(self.product),
            &self.engine_version,
            self.podman_host.rootless,
        )
    }

    /// Podman: the pods of the containers (container id -> pod name), all or only `id`'s. Empty for Docker and
    /// when libpod does not answer (the containers are then shown without their pod).
    pub async fn pods(&self, id: Option<&str>) -> HashMap<String, String> {
        let Some(libpod) = &self.libpod else {
            return HashMap::new();
        };
        libpod.pods(id).await.unwrap_or_else(|err| {
            tracing::debug!(endpoint = %self.endpoint, %err, "cannot list Podman's pods");
            HashMap::new()
        })
    }

    /// Runs a lifecycle action. Docker accepts names, ids and unique id prefixes.
    pub async fn act(&self, container: &str, action: Action) -> Result<()> {
        let result = match action {
            Action::Start => self.docker.start_container(container, None).await,
            Action::Stop => {
                let options = StopContainerOptionsBuilder::new()
                    .t(STOP_GRACE_SECONDS)
                    .build();
                self.docker.stop_container(container, Some(options)).await
            }
            Action::Restart => {
                let options = RestartContainerOptionsBuilder::new()
                    .t(STOP_GRACE_SECONDS)
                    .build();
                self.docker
                    .restart_container(container, Some(options))
                    .await
            }
            Action::Pause => self.docker.pause_container(container).await,
            Action::Unpause => self.docker.unpause_container(container).await,
        };
        result.map_err(|err| match err {
            err if is_gone(&err) => Error::NoSuchContainer(container.to_owned()),
            // 304: already in the wanted state; Docker says so and that is not a failure.
            bollard::errors::Error::DockerResponseServerError { message, .. } => {
                Error::ActionFailed {
                    action: action.as_str().to_owned(),
                    container: container.to_owned(),
                    message,
                }
            }
            other => Error::ActionFailed {
                action: action.as_str().to_owned(),
                container: container.to_owned(),
                message: other.to_string(),
            },
        })
    }

    /// Inspects one container; `Ok(None)` when it no longer exists. Podman reports a transitional state
    /// (`"stopped"`, between `running` and `exited`) that Docker's API schema does not have, so bollard cannot
    /// read that reply: the inspect is asked again a moment later instead of failing the whole session.
    pub async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>> {
        let mut attempt = 0;
        loop {
            match self.docker.inspect_container(id, None).await {
                Ok(reply) => return Ok(Some(info_from_inspect(&self.host, &reply, Utc::now()))),
                Err(err) if is_gone(&err) => return Ok(None),
                Err(err) if is_unreadable_reply(&err) && attempt < INSPECT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(
                        container = id,
                        attempt,
                        "inspect reply not readable yet ({err}); asking again"
                    );
                    tokio::time::sleep(INSPECT_RETRY_PAUSE).await;
                }
                Err(err) => return Err(Error::Docker(err.to_string())),
            }
        }
    }

    /// Every container's id, and whether the list calls it running, paused or restarting (it has processes).
    /// Podman may list a container in its transitional `stopped` state, outside Docker's schema, which bollard
    /// cannot read: the list is asked again a moment later, as [`Client::inspect`] does, rather than failing
    /// the session.
    pub async fn list_all(&self) -> Result<Vec<(String, bool)>> {
        use bollard::models::ContainerSummaryStateEnum as S;
        let options = ListContainersOptionsBuilder::new().all(true).build();
        let mut attempt = 0;
        loop {
            match self.docker.list_containers(Some(options.clone())).await {
                Ok(listed) => {
                    return Ok(listed
                        .into_iter()
                        .filter_map(|c| {
                            let running =
                                matches!(c.state, Some(S::RUNNING | S::PAUSED | S::RESTARTING));
                            c.id.map(|id| (id, running))
                        })
                        .collect())
                }
                Err(err) if is_unreadable_reply(&err) && attempt < INSPECT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(
                        attempt,
                        "container list not readable yet ({err}); asking again"
                    );
                    tokio::time::sleep(INSPECT_RETRY_PAUSE).await;
                }
                Err(err) => return Err(Error::Docker(err.to_string())),
            }
        }
    }

    /// Everything the detail view shows: command, environment, mounts, networks, health log, pod.
    pub async fn detail(&self, id: &str) -> Result<ContainerDetail> {
        match self.docker.inspect_container(id, None).await {
            Ok(reply) => {
                let mut detail = detail_from_inspect(&self.host, &reply, Utc::now());
                if self.libpod.is_some() {
                    let full_id = detail.info.id.clone();
                    detail.info.pod = self.pods(Some(&full_id)).await.remove(&full_id);
                }
                Ok(detail)
            }
            Err(err) if is_gone(&err) => Err(Error::NoSuchContainer(id.to_owned())),
            Err(err) => Err(Error::Docker(err.to_string())),
        }
    }

    /// The raw bollard client, for callers that need an endpoint this wrapper does not cover.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// How often, and how far apart, an inspect whose reply cannot be read is asked again (Podman's `stopped` lasts
/// until Podman's clean-up of the stopped container has run: milliseconds, a second or more under load).
const INSPECT_RETRIES: u32 = 10;
const INSPECT_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Whether bollard got a reply it could not decode (a state or field outside Docker's schema), which a later
/// inspect of the same container usually reads fine.
fn is_unreadable_reply(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::JsonDataError { .. }
            | bollard::errors::Error::JsonSerdeError { .. }
    )
}

/// Whether an engine error means the container does not exist (any more): Docker answers 404; Podman answers 500
/// "no such container" for one removed while its last events were still on their way.
fn is_gone(err: &bollard::errors::Error) -> bool {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => *status_code == 404 || message.to_ascii_lowercase().contains("no such container"),
        _ => false,
    }
}

/// Checks a unix socket before bollard tries it, to turn the common failures into instructions.
fn check_socket(path: &str) -> std::result::Result<(), String> {
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Ok(()),
        Err(err) => Err(match (err.kind(), podman::socket_start_hint(path)) {
            (std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused, Some(hint)) => {
                format!("nothing answers on {path}: {hint}")
            }
            (kind, _) => match kind {
            std::io::ErrorKind::NotFound => format!(
                "the socket {path} does not exist: is the Docker engine running? Start it (`sudo systemctl start \
                 docker`) or set DOCKER_HOST to the engine's socket (a Podman socket works too: `docktray hosts \
                 discover` lists the ones on this machine)"
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "permission denied on {path}: add your user to the docker group (`sudo usermod -aG docker $USER`, \
                 then log out and back in) or set DOCKER_HOST to a socket you can use"
            ),
            std::io::ErrorKind::ConnectionRefused => format!(
                "nothing is listening on {path}: the Docker engine is not running (`sudo systemctl start docker`)"
            ),
            _ => format!("cannot connect to {path}: {err}"),
            },
        }),
    }
}

fn describe_connect_error(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => {
            format!("the engine answered {status_code}: {message}")
        }
        other => format!("the engine did not answer: {other}"),
    }
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = text?;
    let parsed = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    // Docker uses 0001-01-01T00:00:00Z for "never".
    (parsed.timestamp() > 0).then_some(parsed)
}

/// Builds our view of a container from `docker inspect`.
pub fn info_from_inspect(
    host: &str,
    reply: &ContainerInspectResponse,
    now: DateTime<Utc>,
) -> ContainerInfo {
    let state = reply.state.as_ref();
    let config = reply.config.as_ref();
    let labels: BTreeMap<String, String> = config
        .and_then(|c| c.labels.clone())
        .map(|labels| labels.into_iter().collect())
        .unwrap_or_default();
    let container_state = state
        .and_then(|s| s.status)
        .map(|status| ContainerState::parse(status.as_ref()))
        .unwrap_or(ContainerState::Unknown);
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| match h.status {
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            _ => None,
        });
    let started_at = parse_time(state.and_then(|s| s.started_at.as_deref()));
    let finished_at = parse_time(state.and_then(|s| s.finished_at.as_deref()));
    let exit_code = state.and_then(|s| s.exit_code);
    let mut ports: Vec<PortMapping> = reply
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(|map| {
            map.iter()
                .flat_map(|(key, bindings)| {
                    let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
                    let container_port = port.parse().unwrap_or(0);
                    match bindings.as_deref() {
                        Some(list) if !list.is_empty() => list
                            .iter()
                            .map(|b| PortMapping {
                                container_port,
                                protocol: protocol.to_owned(),
                                host_ip: b.host_ip.clone().filter(|ip| !ip.is_empty()),
                                host_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                            })
                            .collect(),
                        _ => vec![PortMapping {
                            container_port,
                            protocol: protocol.to_owned(),
                            host_ip: None,
                            host_port: None,
                        }],
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ports.sort_by(|a, b| {
        (a.container_port, &a.protocol, a.host_port).cmp(&(
            b.container_port,
            &b.protocol,
            b.host_port,
        ))
    });
    let ip_addresses: BTreeMap<String, String> = reply
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|networks| {
            networks
                .iter()
                .map(|(name, endpoint)| {
                    (
                        name.clone(),
                        endpoint.ip_address.clone().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut info = ContainerInfo {
        host: host.to_owned(),
        id: reply.id.clone().unwrap_or_default(),
        name: reply
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        state: container_state,
        status: String::new(),
        health,
        exit_code: (!matches!(
            container_state,
            ContainerState::Running | ContainerState::Created
        ))
        .then_some(exit_code)
        .flatten(),
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
        restart_count: reply.restart_count.unwrap_or(0).max(0) as u64,
        compose_project: labels.get("com.docker.compose.project").cloned(),
        compose_service: labels.get("com.docker.compose.service").cloned(),
        // Podman knows pods; the session fills this in from Podman's own API.
        pod: None,
        ports,
        created: parse_time(reply.created.as_deref()).unwrap_or(now),
        started_at,
        finished_at,
        labels,
        ip_addresses,
        pid: state
            .and_then(|s| s.pid)
            .filter(|&pid| pid > 0)
            .map(|pid| pid as u32),
    };
    info.status = crate::model::status_text(&info, now);
    info
}

/// The detail view's data from `docker inspect`.
pub fn detail_from_inspect(
    host: &str,
    reply: &ContainerInspectResponse,
    now: DateTime<Utc>,
) -> ContainerDetail {
    let config = reply.config.as_ref();
    let mut command: Vec<String> = config
        .and_then(|c| c.entrypoint.clone())
        .unwrap_or_default();
    command.extend(config.and_then(|c| c.cmd.clone()).unwrap_or_default());
    let env = config
        .and_then(|c| c.env.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (pair, String::new()),
        })
        .collect();
    let mounts = reply
        .mounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| MountInfo {
            kind: m.typ.clone().unwrap_or_default(),
            source: m
                .source
                .clone()
                .or_else(|| m.name.clone())
                .unwrap_or_default(),
            destination: m.destination.clone().unwrap_or_default(),
            read_only: !m.rw.unwrap_or(true),
        })
        .collect();
    let mut networks: Vec<NetworkInfo> = reply
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|map| {
            map.iter()
                .map(|(name, endpoint)| NetworkInfo {
                    name: name.clone(),
                    ip_address: endpoint.ip_address.clone().filter(|ip| !ip.is_empty()),
                    gateway: endpoint.gateway.clone().filter(|ip| !ip.is_empty()),
                    mac_address: endpoint.mac_address.clone().filter(|mac| !mac.is_empty()),
                })
                .collect()
        })
        .unwrap_or_default();
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    let health_log = reply
        .state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.log.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|check| HealthCheck {
            start: check.start.map(|t| t.to_string()),
            end: check.end.map(|t| t.to_string()),
            exit_code: check.exit_code,
            output: check.output.unwrap_or_default(),
        })
        .collect();
    let restart_policy = reply
        .host_config
        .as_ref()
        .and_then(|h| h.restart_policy.as_ref())
        .and_then(|p| p.name)
        .map(|name| name.to_string())
        .filter(|name| !name.is_empty());
    ContainerDetail {
        info: info_from_inspect(host, reply, now),
        command,
        working_dir: config
            .and_then(|c| c.working_dir.clone())
            .filter(|d| !d.is_empty()),
        hostname: config.and_then(|c| c.hostname.clone()),
        env,
        mounts,
        networks,
        restart_policy,
        health_log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podmans_transitional_stopped_state_is_an_unreadable_reply_that_is_asked_again() {
        // Podman answers an inspect with "stopped" for a moment while a container's processes are reaped;
        // Docker's schema has no such state, so the reply does not decode.
        let reply =
            serde_json::json!({"Id": "abc123", "Name": "/web", "State": {"Status": "stopped"}});
        let decoded = serde_json::from_value::<ContainerInspectResponse>(reply);
        let err = match decoded {
            Ok(_) => panic!("bollard now reads \"stopped\": the retry in inspect may be dropped"),
            Err(err) => bollard::errors::Error::from(err),
        };
        assert!(is_unreadable_reply(&err));
        let not_found = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "no such container".into(),
        };
        assert!(!is_unreadable_reply(&not_found));
    }

    #[test]
    fn a_list_with_podmans_stopped_state_is_an_unreadable_reply_too() {
        // The same state in a list reply makes the whole list undecodable, which list_all asks again.
        let reply = serde_json::json!([{"Id": "abc", "State": "running"}, {"Id": "def", "State": "stopped"}]);
        let decoded = serde_json::from_value::<Vec<bollard::models::ContainerSummary>>(reply);
        let err = match decoded {
            Ok(_) => panic!(
                "bollard now reads \"stopped\" in a list: the retry in list_all may be dropped"
            ),
            Err(err) => bollard::errors::Error::from(err),
        };
        assert!(is_unreadable_reply(&err));
    }

    #[test]
    fn inspect_reply_becomes_info() {
        let reply: ContainerInspectResponse = serde_json::from_value(serde_json::json!({
            "Id": "abc123",
            "Name": "/web",
            "Created": "2026-11-01T10:00:00.123456789Z",
            "RestartCount": 2,
            "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": true, "Pid": 0,
                      "StartedAt": "2026-11-01T10:00:01Z", "FinishedAt": "2026-11-01T10:05:00Z"},
            "Config": {"Image": "nginx:1", "Labels": {"com.docker.compose.project": "shop",
                                                       "com.docker.compose.service": "web"}},
            "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null}}
        }))
        .expect("valid inspect");
        let now = DateTime::parse_from_rfc3339("2026-11-01T10:07:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let info = info_from_inspect("local", &reply, now);
        assert_eq!(info.name, "web");
        assert_eq!(info.state, ContainerState::Exited);
        assert_eq!(info.exit_code, Some(137));
        assert!(info.oom_killed);
        assert_eq!(info.restart_count, 2);
        assert_eq!(info.compose_project.as_deref(), Some("shop"));
        assert_eq!(info.compose_service.as_deref(), Some("web"));
        assert_eq!(info.ports.len(), 2);
        assert_eq!(info.ports[0].host_port, Some(8080));
        assert_eq!(info.ports[1].host_port, None);
        assert_eq!(info.status, "Exited (137) 2 minutes ago");
        assert_eq!(info.pid, None);
    }

    #[test]
    fn podmans_500_for_a_removed_container_means_gone() {
        let podman = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "container 4536 does not exist in database: no such container".to_owned(),
        };
        assert!(is_gone(&podman));
        let other = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "runc failed".to_owned(),
        };
        assert!(!is_gone(&other));
    }

    #[test]
    fn missing_socket_says_how_to_fix() {
        let message = check_socket("/nonexistent/docker.sock").unwrap_err();
        assert!(message.contains("does not exist"), "{message}");
        assert!(message.contains("DOCKER_HOST"), "{message}");
        let message = check_socket("/run/user/4242/podman/podman.sock").unwrap_err();
        assert!(
            message.contains("systemctl --user enable --now podman.socket"),
            "{message}"
        );
    }
}
