//! The answers of the HTTP API's service endpoints, in the Enhanced Docker Monitor's shapes (docs/services.md):
//! `/services`, `/services/schema`, `/labels`, `/caddy`, `/caddy/status` and `/ips`. Plain functions over a
//! [`Snapshot`] and the settings, so each endpoint serves one call.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::plan::{host_address, upstream};
use crate::config::Config;
use crate::model::services::{REQUIRED_KEYS, SERVICE_KEYS};
use crate::model::{
    ContainerInfo, ContainerState, ErrorStep, RouteStatus, Service, ServiceKind, ServiceProblem,
    Snapshot, SourceState, LOCAL_HOST,
};

/// `/services`: every service with Caddy's state for it, and the labels that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct ServicesAnswer {
    pub services: Vec<Service>,
    pub problems: Vec<ServiceProblem>,
    pub count: usize,
    pub label_prefix: String,
    pub timestamp: DateTime<Utc>,
}

pub fn services(snapshot: &Snapshot, config: &Config) -> ServicesAnswer {
    ServicesAnswer {
        services: snapshot.services.clone(),
        problems: snapshot.service_problems.clone(),
        count: snapshot.services.len(),
        label_prefix: config.services.label_prefix.clone(),
        timestamp: snapshot.taken_at,
    }
}

/// `/services/schema`: the service types and their keys, with examples in the configured prefix.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaAnswer {
    pub implemented_services: BTreeMap<String, TypeSchema>,
    /// Every type is routed; nothing is left planned.
    pub planned_services: BTreeMap<String, TypeSchema>,
    pub service_count: usize,
    pub usage_notes: Vec<String>,
    pub label_format: String,
    pub validation_rules: BTreeMap<String, String>,
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeSchema {
    pub description: String,
    pub required_properties: Vec<String>,
    pub optional_properties: Vec<String>,
    pub example: String,
    pub status: String,
    pub examples: BTreeMap<String, BTreeMap<String, String>>,
}

pub fn schema(config: &Config, now: DateTime<Utc>) -> SchemaAnswer {
    let prefix = &config.services.label_prefix;
    let implemented = ServiceKind::ALL
        .into_iter()
        .map(|kind| {
            let t = kind.as_str();
            let label = |key: &str| format!("{prefix}{t}.{key}");
            let basic = BTreeMap::from([
                (label("domain"), format!("{t}.example.com")),
                (label("port"), "80".to_owned()),
            ]);
            let mut advanced = basic.clone();
            advanced.insert(label("path"), "/app".to_owned());
            advanced.insert(label("ssl"), "true".to_owned());
            let schema = TypeSchema {
                description: kind.description().to_owned(),
                required_properties: REQUIRED_KEYS.map(str::to_owned).to_vec(),
                optional_properties: SERVICE_KEYS
                    .iter()
                    .filter(|key| !REQUIRED_KEYS.contains(key))
                    .map(|key| (*key).to_owned())
                    .collect(),
                example: format!("{}={t}.example.com", label("domain")),
                status: "implemented".to_owned(),
                examples: BTreeMap::from([
                    ("basic".to_owned(), basic),
                    ("advanced".to_owned(), advanced),
                ]),
            };
            (t.to_owned(), schema)
        })
        .collect::<BTreeMap<_, _>>();
    SchemaAnswer {
        service_count: implemented.len(),
        implemented_services: implemented,
        planned_services: BTreeMap::new(),
        usage_notes: vec![
            format!("Labels are {prefix}{{type}}.{{key}}={{value}}; the prefix is [services] label_prefix"),
            "Types and keys are read without regard to case (REVP = revp)".to_owned(),
            "Every service needs domain and port; path defaults to /, ssl to false".to_owned(),
            "A bad label leaves its service out with a message naming the label; the others go on".to_owned(),
            "Two containers claiming one domain and path: a running one keeps it, then the oldest".to_owned(),
        ],
        label_format: format!("{prefix}{{service_type}}.{{property}}={{value}}"),
        validation_rules: BTreeMap::from([
            ("port".to_owned(), "Must be a number between 1 and 65535".to_owned()),
            (
                "domain".to_owned(),
                "Must be a valid hostname or IP address, without scheme, port or path".to_owned(),
            ),
            ("path".to_owned(), "Must start with / if specified".to_owned()),
            ("ssl".to_owned(), "Must be true or false".to_owned()),
        ]),
        timestamp: now,
    }
}

/// `/labels`: each container's service labels (those starting with the prefix), by container (`NAME`, or
/// `HOST:NAME` off the local host).
pub fn labels(snapshot: &Snapshot, config: &Config) -> BTreeMap<String, BTreeMap<String, String>> {
    let prefix = config.services.label_prefix.to_ascii_lowercase();
    snapshot
        .containers
        .iter()
        .map(|c| {
            let labels = c
                .info
                .labels
                .iter()
                .filter(|(key, _)| key.to_ascii_lowercase().starts_with(&prefix))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            (container_key(&c.info), labels)
        })
        .collect()
}

/// `/caddy`: the running services with what a reverse proxy needs to route them.
#[derive(Debug, Clone, Serialize)]
pub struct CaddyAnswer {
    pub services: Vec<CaddyService>,
    pub count: usize,
    pub timestamp: DateTime<Utc>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaddyService {
    pub container_name: String,
    pub container_id: String,
    pub host_ip: Option<String>,
    pub docker_host_name: String,
    pub docker_networks: BTreeMap<String, NetworkAddress>,
    pub primary_docker_ip: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<ExposedPort>,
    #[serde(rename = "type")]
    pub kind: ServiceKind,
    pub domain: String,
    pub port: u16,
    pub path: String,
    pub ssl: bool,
    /// Where Caddy sends the requests, or why there is nowhere.
    pub upstream: Option<String>,
    pub upstream_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkAddress {
    pub docker_ip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExposedPort {
    pub container_port: String,
    pub host_port: u16,
    pub protocol: String,
}

pub fn caddy(snapshot: &Snapshot, config: &Config) -> CaddyAnswer {
    let services: Vec<CaddyService> = snapshot
        .services
        .iter()
        .filter(|s| s.state == ContainerState::Running)
        .filter_map(|s| {
            let info = &snapshot
                .containers
                .iter()
                .find(|c| c.info.host == s.host && c.info.id == s.container_id)?
                .info;
            let target = upstream(s, info, config);
            Some(CaddyService {
                container_name: info.name.clone(),
                container_id: short_id(&info.id),
                host_ip: host_ip(config, &info.host),
                docker_host_name: info.host.clone(),
                docker_networks: networks(info),
                primary_docker_ip: primary_ip(info),
                labels: s.labels.clone(),
                ports: exposed_ports(info),
                kind: s.kind,
                domain: s.domain.clone(),
                port: s.port,
                path: s.path.clone(),
                ssl: s.ssl,
                upstream_error: target.as_ref().err().cloned(),
                upstream: target.ok(),
            })
        })
        .collect();
    CaddyAnswer {
        count: services.len(),
        services,
        timestamp: snapshot.taken_at,
        note: "host_ip is the machine a container runs on (127.0.0.1 for this one), primary_docker_ip its address on a Docker network; upstream is where Caddy sends its requests".to_owned(),
    }
}

/// `/caddy/status`: whether Caddy sync is on, Caddy's reachability (state, last error, backoff) and the
/// routes Docktray keeps there.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CaddyStatusAnswer {
    Off { enabled: bool, message: String },
    On(Box<CaddyStatusOn>),
}

#[derive(Debug, Clone, Serialize)]
pub struct CaddyStatusOn {
    pub enabled: bool,
    pub available: bool,
    pub admin_url: String,
    pub state: SourceState,
    pub reason: Option<String>,
    pub last_error: Option<LastError>,
    pub consecutive_failures: u32,
    pub next_retry: Option<DateTime<Utc>>,
    pub server: Option<String>,
    pub http_server: Option<String>,
    pub managed_routes_count: usize,
    pub managed_routes: BTreeMap<String, RouteStatus>,
    pub user_routes: usize,
    pub stale_removed: u64,
    pub last_health_check: Option<DateTime<Utc>>,
    pub retry_config: RetryConfig,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub step: ErrorStep,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetryConfig {
    /// Retries never stop while Docktray runs.
    pub attempts: Option<u32>,
    /// The first wait after a failure, seconds (it doubles up to `max_delay`).
    pub delay: u64,
    pub max_delay: u64,
    pub check_every: u64,
}

pub fn caddy_status(snapshot: &Snapshot, config: &Config) -> CaddyStatusAnswer {
    if !config.caddy.enabled() {
        return CaddyStatusAnswer::Off {
            enabled: false,
            message: "Caddy sync is off: set [caddy] admin_url, such as \"http://localhost:2019\""
                .to_owned(),
        };
    }
    let source = snapshot.sources.iter().find(|s| s.kind == super::SOURCE);
    let state = source.map_or(SourceState::Connecting, |s| s.state);
    let routes: BTreeMap<String, RouteStatus> = snapshot
        .proxy
        .iter()
        .flat_map(|p| p.routes.iter())
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    CaddyStatusAnswer::On(Box::new(CaddyStatusOn {
        enabled: true,
        available: matches!(state, SourceState::Up | SourceState::Degraded),
        admin_url: config.caddy.admin_base(),
        state,
        reason: source.and_then(|s| s.reason.clone()),
        last_error: source
            .and_then(|s| s.last_error.as_ref())
            .map(|e| LastError {
                at: e.at,
                step: e.step,
                message: e.message.clone(),
            }),
        consecutive_failures: source.map_or(0, |s| s.consecutive_failures),
        next_retry: source.and_then(|s| s.next_retry),
        server: snapshot.proxy.as_ref().and_then(|p| p.server.clone()),
        http_server: snapshot.proxy.as_ref().and_then(|p| p.http_server.clone()),
        managed_routes_count: routes.len(),
        managed_routes: routes,
        user_routes: snapshot.proxy.as_ref().map_or(0, |p| p.user_routes),
        stale_removed: snapshot.proxy.as_ref().map_or(0, |p| p.stale_removed),
        last_health_check: snapshot.proxy.as_ref().and_then(|p| p.last_check),
        retry_config: RetryConfig {
            attempts: None,
            delay: 1,
            max_delay: 60,
            check_every: config.caddy.check_every.as_secs(),
        },
    }))
}

/// `/ips`: each container's addresses.
#[derive(Debug, Clone, Serialize)]
pub struct IpsAnswer {
    pub containers: BTreeMap<String, ContainerIps>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerIps {
    pub host_ip: Option<String>,
    pub docker_host_name: String,
    pub primary_docker_ip: Option<String>,
    pub all_docker_ips: Vec<String>,
    pub docker_networks: BTreeMap<String, NetworkAddress>,
    pub status: ContainerState,
}

pub fn ips(snapshot: &Snapshot, config: &Config) -> IpsAnswer {
    IpsAnswer {
        containers: snapshot
            .containers
            .iter()
            .map(|c| {
                let info = &c.info;
                let ips = ContainerIps {
                    host_ip: host_ip(config, &info.host),
                    docker_host_name: info.host.clone(),
                    primary_docker_ip: primary_ip(info),
                    all_docker_ips: info
                        .ip_addresses
                        .values()
                        .filter(|ip| !ip.is_empty())
                        .cloned()
                        .collect(),
                    docker_networks: networks(info),
                    status: info.state,
                };
                (container_key(info), ips)
            })
            .collect(),
        note: "host_ip = the machine a container runs on (127.0.0.1 for this one), docker_ips = its addresses on Docker networks".to_owned(),
    }
}

fn container_key(info: &ContainerInfo) -> String {
    if info.host == LOCAL_HOST {
        info.name.clone()
    } else {
        format!("{}:{}", info.host, info.name)
    }
}

fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

fn host_ip(config: &Config, host: &str) -> Option<String> {
    if host == LOCAL_HOST {
        Some("127.0.0.1".to_owned())
    } else {
        host_address(config, host)
    }
}

fn networks(info: &ContainerInfo) -> BTreeMap<String, NetworkAddress> {
    info.ip_addresses
        .iter()
        .filter(|(_, ip)| !ip.is_empty())
        .map(|(name, ip)| {
            (
                name.clone(),
                NetworkAddress {
                    docker_ip: ip.clone(),
                },
            )
        })
        .collect()
}

fn primary_ip(info: &ContainerInfo) -> Option<String> {
    info.ip_addresses
        .values()
        .find(|ip| !ip.is_empty())
        .cloned()
}

fn exposed_ports(info: &ContainerInfo) -> Vec<ExposedPort> {
    info.ports
        .iter()
        .filter_map(|p| {
            Some(ExposedPort {
                container_port: format!("{}/{}", p.container_port, p.protocol),
                host_port: p.host_port?,
                protocol: p.protocol.clone(),
            })
        })
        .collect()
}
