//! The service registry: services read from container labels (`<prefix><type>.<key>`, the Enhanced Docker
//! Monitor's schema), with the problems found in them. Building it is pure ([`ServiceRegistry::build`]), so the
//! engine's snapshots, the Caddy sink, the CLI and the HTTP API all read the same services.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ContainerState, Health, RouteState};

mod parse;
#[cfg(test)]
mod tests;

/// The kinds of service a label can describe (`<prefix><type>.domain` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// A reverse-proxied web service (the old monitor's one implemented type).
    Revp,
    Api,
    Web,
    Db,
    Metrics,
}

impl ServiceKind {
    pub const ALL: [Self; 5] = [Self::Revp, Self::Api, Self::Web, Self::Db, Self::Metrics];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revp => "revp",
            Self::Api => "api",
            Self::Web => "web",
            Self::Db => "db",
            Self::Metrics => "metrics",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }

    /// What the type is for, in the words of the schema.
    pub fn description(self) -> &'static str {
        match self {
            Self::Revp => {
                "Reverse proxy: Caddy routes the domain (and path) to the container's port"
            }
            Self::Api => "API service, routed like revp",
            Self::Web => "Web application, routed like revp",
            Self::Db => "Database service, routed like revp (HTTP only: Caddy proxies HTTP)",
            Self::Metrics => "Metrics endpoint, routed like revp",
        }
    }
}

/// The keys a service's labels may carry, after `<prefix><type>.`.
pub const SERVICE_KEYS: [&str; 4] = ["domain", "port", "path", "ssl"];
/// The keys every service needs.
pub const REQUIRED_KEYS: [&str; 2] = ["domain", "port"];

/// One service of one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Service {
    /// What people call it: the compose service, else the container's name.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ServiceKind,
    /// Where users reach it: `https://` when `ssl` is true, else `http://`, the domain and the path.
    pub url: String,
    pub domain: String,
    /// The container's port the requests go to.
    pub port: u16,
    /// The path it serves under (`/` for everything).
    pub path: String,
    /// Whether Caddy manages a certificate for the domain (`revp.ssl = "true"`).
    pub ssl: bool,
    pub host: String,
    pub container_id: String,
    pub container_name: String,
    pub state: ContainerState,
    pub health: Option<Health>,
    /// The `@id` of its Caddy route.
    pub route_id: String,
    /// Caddy's state for it.
    pub caddy: RouteState,
    /// Why Caddy has no route for it, or a note on how Caddy serves it.
    pub caddy_message: Option<String>,
    /// The labels it was read from.
    pub labels: BTreeMap<String, String>,
}

/// A bad service label: the service it belongs to is left out, the others go on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServiceProblem {
    pub host: String,
    pub container_id: String,
    pub container_name: String,
    /// The service type the label belongs to, when it names a known one.
    #[serde(rename = "type")]
    pub kind: Option<ServiceKind>,
    /// The label at fault, e.g. `docktray.revp.port`.
    pub label: String,
    /// What is wrong and how to fix it; it names the label.
    pub message: String,
}

/// Every service of the watched containers, and the labels that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServiceRegistry {
    /// By domain, path, host and container.
    pub services: Vec<Service>,
    /// By host, container and label.
    pub problems: Vec<ServiceProblem>,
}

/// The `@id` of a service's route in Caddy: `docktray-<host>-<container>-<type>`, in the characters an admin
/// API path takes as they are. Stable across Docktray restarts, so a reconciliation recognises its own routes.
pub fn route_id(host: &str, container_name: &str, kind: ServiceKind) -> String {
    format!(
        "{ROUTE_ID_PREFIX}{}-{}-{}",
        route_id_part(host),
        route_id_part(container_name),
        kind.as_str()
    )
}

/// A host or container name as a route id writes it: lower case, anything but letters, digits, `_` and `.`
/// as `_` (so `-` only separates the parts).
pub fn route_id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The host part of a route id made by [`route_id`] (as [`route_id_part`] writes it).
pub fn route_id_host(id: &str) -> Option<&str> {
    id.strip_prefix(ROUTE_ID_PREFIX)?
        .split_once('-')
        .map(|(host, _)| host)
}

/// What every route Docktray puts in Caddy has its `@id` start with; routes without it are the user's.
pub const ROUTE_ID_PREFIX: &str = "docktray-";

impl ServiceRegistry {
    /// Fills in Caddy's state for each service from the Caddy sink's last report: `off` without one,
    /// `stopped` for a container that is not running, `pending` for a running one Caddy has no word on yet.
    pub fn with_routes(mut self, proxy: Option<&super::ProxyStatus>) -> Self {
        for service in &mut self.services {
            let (state, message) = match proxy {
                None => (RouteState::Off, None),
                Some(_) if service.state != ContainerState::Running => (RouteState::Stopped, None),
                Some(proxy) => proxy
                    .routes
                    .iter()
                    .find(|route| route.id == service.route_id)
                    .map_or((RouteState::Pending, None), |route| {
                        (route.state, route.message.clone())
                    }),
            };
            service.caddy = state;
            service.caddy_message = message;
        }
        self
    }
}
