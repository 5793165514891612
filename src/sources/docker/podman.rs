//! Podman behind the Docker API. It answers the same endpoints but is not Docker where a monitor looks closely:
//! it names itself only in the version's components, says whether it runs rootless and on which cgroup version
//! only in its own API (libpod), keeps pods there too, and counts memory its own way (see
//! [`super::formula::MemoryFormula`]). This module tells it apart and asks libpod for what the Docker API lacks.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::SystemVersion;

use crate::model::EngineProduct;

/// How long a libpod request may take before it is given up (it is never on the critical path).
const LIBPOD_TIMEOUT: Duration = Duration::from_secs(5);
/// libpod's path version: Podman 4 and 5 both serve it (the unversioned path is not routed by Podman 4).
const LIBPOD_PREFIX: &str = "/v4.0.0/libpod";

/// Which product answers, from `GET /version`: Podman lists a "Podman Engine" component.
pub fn product_of(version: &SystemVersion) -> EngineProduct {
    let podman_component = version
        .components
        .iter()
        .flatten()
        .any(|component| component.name.to_ascii_lowercase().contains("podman"));
    let podman_platform = version
        .platform
        .as_ref()
        .is_some_and(|platform| platform.name.to_ascii_lowercase().contains("podman"));
    if podman_component || podman_platform {
        EngineProduct::Podman
    } else {
        EngineProduct::Docker
    }
}

/// What libpod's `/info` says about the host that matters for figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodmanHost {
    pub rootless: bool,
    /// The host runs the legacy cgroup v1 hierarchy.
    pub cgroup_v1: bool,
}

impl PodmanHost {
    /// Reads libpod's `/info` reply (`host.security.rootless`, `host.cgroupVersion`).
    pub fn from_info(info: &serde_json::Value) -> Self {
        let host = &info["host"];
        Self {
            rootless: host["security"]["rootless"].as_bool().unwrap_or(false),
            cgroup_v1: host["cgroupVersion"].as_str() == Some("v1"),
        }
    }

    /// Why there are no container figures on this engine, when there are none: rootless Podman on cgroup v1
    /// gives containers no cgroup of their own, and its stats API then answers zeros rather than an error.
    pub fn stats_unavailable(&self) -> Option<String> {
        (self.rootless && self.cgroup_v1).then(|| {
            "rootless Podman on cgroup v1 gives containers no cgroup of their own, so there are no CPU or memory \
             figures for them (`podman stats` has none either: \"only available for cgroup v2\"); boot the host \
             with cgroup v2 (`systemd.unified_cgroup_hierarchy=1` on the kernel command line) to get them"
                .to_owned()
        })
    }
}

/// Podman's own API (libpod) at the same endpoint as its Docker-compatible one.
#[derive(Debug, Clone)]
pub struct Libpod {
    http: reqwest::Client,
    base: String,
}

impl Libpod {
    /// A libpod client for a Docker-API endpoint (`unix://…`, a socket path, `tcp://…`, `http://…`).
    pub fn for_endpoint(endpoint: &str) -> Option<Self> {
        let builder = reqwest::Client::builder()
            .timeout(LIBPOD_TIMEOUT)
            .no_proxy();
        let unix_path = endpoint
            .strip_prefix("unix://")
            .or_else(|| endpoint.starts_with('/').then_some(endpoint));
        let (builder, base) = if let Some(path) = unix_path {
            (builder.unix_socket(path), "http://podman".to_owned())
        } else if let Some(address) = endpoint.strip_prefix("tcp://") {
            (builder, format!("http://{}", address.trim_end_matches('/')))
        } else if endpoint.starts_with("http://") {
            (builder, endpoint.trim_end_matches('/').to_owned())
        } else {
            return None;
        };
        let http = builder.build().ok()?;
        Some(Self { http, base })
    }

    async fn get(&self, path_and_query: &str) -> Result<serde_json::Value, String> {
        let url = format!("{}{LIBPOD_PREFIX}{path_and_query}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|err| format!("Podman's API did not answer {path_and_query}: {err}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "Podman's API answered {status} to {path_and_query}"
            ));
        }
        response
            .json()
            .await
            .map_err(|err| format!("Podman's API sent unreadable JSON for {path_and_query}: {err}"))
    }

    /// Rootless or not, and the cgroup version, from `/info`.
    pub async fn host(&self) -> Result<PodmanHost, String> {
        self.get("/info")
            .await
            .map(|info| PodmanHost::from_info(&info))
    }

    /// The pod of every container in a pod (container id -> pod name); only `id` when given.
    pub async fn pods(&self, id: Option<&str>) -> Result<HashMap<String, String>, String> {
        let mut query = String::from("/containers/json?all=true");
        if let Some(id) = id {
            let filters = serde_json::json!({ "id": [id] }).to_string();
            query.push_str("&filters=");
            query.push_str(&percent_encode(&filters));
        }
        self.get(&query).await.map(|list| pods_of(&list))
    }
}

/// Container id -> pod name from libpod's container list (`Id`, `PodName`).
pub fn pods_of(list: &serde_json::Value) -> HashMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| {
            let id = container["Id"].as_str()?;
            let pod = container["PodName"]
                .as_str()
                .filter(|pod| !pod.is_empty())?;
            Some((id.to_owned(), pod.to_owned()))
        })
        .collect()
}

/// Percent-encodes everything but unreserved characters, for a query value.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// What to run when a Podman socket is missing or nobody listens on it: Podman serves its API only while its
/// systemd socket unit is enabled (or `podman system service` runs). `None` for sockets that are not Podman's.
pub fn socket_start_hint(path: &str) -> Option<String> {
    if !path.contains("podman") {
        return None;
    }
    let user = "`systemctl --user enable --now podman.socket`";
    let system = "`sudo systemctl enable --now podman.socket`";
    let without_systemd =
        format!("or serve it without systemd: `podman system service --time=0 unix://{path}`");
    Some(
        if path.starts_with("/run/podman/") || path.starts_with("/var/run/podman/") {
            format!("the rootful Podman socket is not started: run {system} ({without_systemd} as root)")
        } else if path.starts_with("/run/user/") {
            format!("your rootless Podman socket is not started: run {user} ({without_systemd})")
        } else {
            format!("the Podman socket is not started: run {user} for your rootless Podman or {system} for the rootful one ({without_systemd})")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_is_told_apart_by_its_version_components() {
        let podman: SystemVersion = serde_json::from_value(serde_json::json!({
            "Platform": {"Name": "linux/amd64/debian-12"},
            "Components": [{"Name": "Podman Engine", "Version": "4.3.1", "Details": {"APIVersion": "4.3.1"}}],
            "Version": "4.3.1", "ApiVersion": "1.41"
        }))
        .expect("podman version");
        assert_eq!(product_of(&podman), EngineProduct::Podman);
        let docker: SystemVersion = serde_json::from_value(serde_json::json!({
            "Platform": {"Name": "Docker Engine - Community"},
            "Components": [{"Name": "Engine", "Version": "27.3.1"}, {"Name": "containerd", "Version": "1.7"}],
            "Version": "27.3.1", "ApiVersion": "1.47"
        }))
        .expect("docker version");
        assert_eq!(product_of(&docker), EngineProduct::Docker);
    }

    #[test]
    fn rootless_on_cgroup_v1_has_no_figures_and_says_why() {
        let info =
            serde_json::json!({"host": {"cgroupVersion": "v1", "security": {"rootless": true}}});
        let host = PodmanHost::from_info(&info);
        assert_eq!(
            host,
            PodmanHost {
                rootless: true,
                cgroup_v1: true
            }
        );
        let reason = host.stats_unavailable().expect("no figures");
        assert!(reason.contains("cgroup v2"), "{reason}");
        let v2 =
            serde_json::json!({"host": {"cgroupVersion": "v2", "security": {"rootless": true}}});
        assert_eq!(PodmanHost::from_info(&v2).stats_unavailable(), None);
        let rootful =
            serde_json::json!({"host": {"cgroupVersion": "v1", "security": {"rootless": false}}});
        assert_eq!(PodmanHost::from_info(&rootful).stats_unavailable(), None);
    }

    #[test]
    fn pods_come_from_libpods_list() {
        let list = serde_json::json!([
            {"Id": "a1", "PodName": "shop", "Pod": "p1"},
            {"Id": "b2", "PodName": "", "Pod": ""},
            {"Id": "c3"}
        ]);
        assert_eq!(
            pods_of(&list),
            HashMap::from([("a1".to_owned(), "shop".to_owned())])
        );
        assert_eq!(
            percent_encode(r#"{"id":["a1"]}"#),
            "%7B%22id%22%3A%5B%22a1%22%5D%7D"
        );
    }

    #[test]
    fn a_missing_podman_socket_says_what_to_run() {
        let rootless = socket_start_hint("/run/user/1000/podman/podman.sock").expect("podman");
        assert!(
            rootless.contains("systemctl --user enable --now podman.socket"),
            "{rootless}"
        );
        let rootful = socket_start_hint("/run/podman/podman.sock").expect("podman");
        assert!(
            rootful.contains("sudo systemctl enable --now podman.socket"),
            "{rootful}"
        );
        assert_eq!(socket_start_hint("/var/run/docker.sock"), None);
    }
}
