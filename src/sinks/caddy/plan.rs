//! What Caddy should hold, worked out without talking to it: the route each running service wants (where its
//! requests go), which server it belongs in, and the changes that bring Caddy's routes there. Pure, so every
//! rule is tested without a Caddy.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::Config;
use crate::model::services::{route_id_host, route_id_part, ROUTE_ID_PREFIX};
use crate::model::SourceState;
use crate::model::{
    ContainerInfo, ContainerState, RouteState, RouteStatus, Service, Snapshot, LOCAL_HOST,
};

/// The route one running service wants.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub id: String,
    pub domain: String,
    pub path: String,
    pub ssl: bool,
    /// `address:port` Caddy sends requests to, or why there is none.
    pub upstream: Result<String, String>,
}

/// The routes the running services of `snapshot` want, in the order of its services.
pub fn wanted_routes(snapshot: &Snapshot, config: &Config) -> Vec<Wanted> {
    snapshot
        .services
        .iter()
        .filter(|service| service.state == ContainerState::Running)
        .map(|service| {
            let container = snapshot
                .containers
                .iter()
                .find(|c| c.info.host == service.host && c.info.id == service.container_id);
            Wanted {
                id: service.route_id.clone(),
                domain: service.domain.clone(),
                path: service.path.clone(),
                ssl: service.ssl,
                upstream: match container {
                    Some(container) => upstream(service, &container.info, config),
                    None => Err(format!("container {} is gone", service.container_name)),
                },
            }
        })
        .collect()
}

/// Where Caddy on this machine reaches a service: a local container at its address on a Docker network (or
/// this machine's loopback with host networking or only a published port); a remote host's container through
/// the port it publishes on that host.
pub fn upstream(
    service: &Service,
    container: &ContainerInfo,
    config: &Config,
) -> Result<String, String> {
    let port = service.port;
    let name = &container.name;
    let host_networking = container.ip_addresses.contains_key("host");
    if container.host == LOCAL_HOST {
        if let Some(address) = container.ip_addresses.values().find(|ip| !ip.is_empty()) {
            return Ok(dial(address, port));
        }
        if host_networking {
            return Ok(dial("127.0.0.1", port));
        }
        if let Some(published) = published_port(container, port, true) {
            return Ok(dial("127.0.0.1", published));
        }
        return Err(format!(
            "{name} has no address on a Docker network and does not publish port {port}: attach it to a network or publish the port"
        ));
    }
    let Some(address) = host_address(config, &container.host) else {
        return Err(format!(
            "no address known for host {}: set [caddy] host_addresses.{} = \"ADDRESS\"",
            container.host, container.host
        ));
    };
    if host_networking {
        return Ok(dial(&address, port));
    }
    if let Some(published) = published_port(container, port, false) {
        return Ok(dial(&address, published));
    }
    if published_port(container, port, true).is_some() {
        return Err(format!(
            "port {port} of {name} is published on {}'s loopback only, which Caddy on this machine cannot reach: publish it on all addresses (-p HOSTPORT:{port})",
            container.host
        ));
    }
    Err(format!(
        "port {port} of {name} is not published on {}: publish it (-p HOSTPORT:{port}) so Caddy can reach it there",
        container.host
    ))
}

/// The address Caddy reaches a remote host at: `[caddy] host_addresses`, else the host part of its SSH
/// destination (`user@nas.lan:2222` gives `nas.lan`).
pub fn host_address(config: &Config, host: &str) -> Option<String> {
    if let Some(address) = config.caddy.host_addresses.get(host) {
        return Some(address.trim().to_owned());
    }
    let destination = &config.hosts.iter().find(|h| h.name == host)?.destination;
    let without_user = destination
        .rsplit_once('@')
        .map_or(destination.as_str(), |(_, rest)| rest);
    let address = if let Some(rest) = without_user.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(inside, _)| inside)
    } else {
        without_user.split(':').next().unwrap_or(without_user)
    };
    (!address.is_empty()).then(|| address.to_owned())
}

/// The host port `port` is published on (TCP), on all addresses; with `loopback_too`, also one bound to
/// loopback only.
fn published_port(container: &ContainerInfo, port: u16, loopback_too: bool) -> Option<u16> {
    let loopback = |ip: &str| ip.starts_with("127.") || ip == "::1";
    container
        .ports
        .iter()
        .filter(|p| p.container_port == port && p.protocol == "tcp")
        .filter(|p| loopback_too || !p.host_ip.as_deref().is_some_and(loopback))
        .find_map(|p| p.host_port)
}

fn dial(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// Hosts whose engine is not answering (or not yet): Docktray's routes of their containers stay in Caddy even
/// when no container wants them, because their containers are not known (Docktray started while the host was
/// away) rather than gone. As route ids write host names.
pub fn protected_hosts(snapshot: &Snapshot) -> std::collections::BTreeSet<String> {
    snapshot
        .sources
        .iter()
        .filter(|s| {
            s.kind == "docker" && !matches!(s.state, SourceState::Up | SourceState::Degraded)
        })
        .map(|s| route_id_part(&s.name))
        .collect()
}

/// The route as Caddy's JSON config has it: host (and path) matchers, a reverse proxy to the upstream, and
/// `terminal` so no later route of the user's adds handlers to the same request.
pub fn route_json(wanted: &Wanted, upstream: &str) -> Value {
    let mut matcher = json!({ "host": [wanted.domain] });
    if wanted.path != "/" {
        matcher["path"] = json!([wanted.path, format!("{}/*", wanted.path)]);
    }
    json!({
        "@id": wanted.id,
        "match": [matcher],
        "handle": [{ "handler": "reverse_proxy", "upstreams": [{ "dial": upstream }] }],
        "terminal": true,
    })
}

/// The servers Docktray's routes go into, as found in Caddy's HTTP app.
#[derive(Debug, Clone, PartialEq)]
pub struct Servers {
    pub main: String,
    /// Where `ssl = false` routes go, when another server than `main`.
    pub http: Option<String>,
    /// Whether Caddy does automatic HTTPS (certificates) for hosts in each server, by name.
    pub automatic_https: BTreeMap<String, bool>,
}

/// Finds the servers from `[caddy] server` / `http_server`, or the only server Caddy has.
pub fn resolve_servers(app: &Value, config: &Config) -> Result<Servers, String> {
    let servers = app
        .get("servers")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = servers.keys().map(String::as_str).collect();
    let listing = if names.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has {}", names.join(", "))
    };
    let pick = |wanted: &str, key: &str| -> Result<String, String> {
        if servers.contains_key(wanted) {
            Ok(wanted.to_owned())
        } else {
            Err(format!(
                "Caddy has no HTTP server named \"{wanted}\" ([caddy] {key}); {listing}"
            ))
        }
    };
    let caddy = &config.caddy;
    let main = if !caddy.server.is_empty() {
        pick(&caddy.server, "server")?
    } else {
        match names.as_slice() {
            [only] => (*only).to_owned(),
            [] => {
                return Err(
                    "Caddy has no HTTP server (apps.http.servers is empty): add one to Caddy's config, then Docktray adds its routes to it"
                        .to_owned(),
                )
            }
            several => {
                return Err(format!(
                    "Caddy has several HTTP servers ({}): name the one Docktray's routes go into with [caddy] server = \"{}\"",
                    several.join(", "),
                    several[0]
                ))
            }
        }
    };
    let http = if caddy.http_server.is_empty() || caddy.http_server == main {
        None
    } else {
        Some(pick(&caddy.http_server, "http_server")?)
    };
    let http_port = app.get("http_port").and_then(Value::as_u64).unwrap_or(80);
    let automatic_https = servers
        .iter()
        .map(|(name, server)| (name.clone(), does_automatic_https(server, http_port)))
        .collect();
    Ok(Servers {
        main,
        http,
        automatic_https,
    })
}

/// Caddy gets certificates for a server's hosts unless automatic HTTPS is off or it listens on the HTTP port
/// only.
fn does_automatic_https(server: &Value, http_port: u64) -> bool {
    let disabled = server
        .pointer("/automatic_https/disable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let listens_elsewhere =
        server
            .get("listen")
            .and_then(Value::as_array)
            .is_some_and(|addresses| {
                addresses.iter().filter_map(Value::as_str).any(|address| {
                    let port = address.rsplit(':').next().unwrap_or_default();
                    let first = port.split('-').next().unwrap_or_default();
                    first.parse::<u64>().ok() != Some(http_port)
                })
            });
    !disabled && listens_elsewhere
}

impl Servers {
    /// The server a route belongs in, and a note when Caddy will serve it otherwise than `ssl` asks.
    pub fn place(&self, wanted: &Wanted) -> (String, Option<String>) {
        let server = match (&self.http, wanted.ssl) {
            (Some(http), false) => http.clone(),
            _ => self.main.clone(),
        };
        let automatic = self.automatic_https.get(&server).copied().unwrap_or(false);
        let note = match (wanted.ssl, automatic) {
            (true, false) => Some(format!(
                "Caddy manages no certificate for {}: server {server} has automatic HTTPS off or listens on the HTTP port only",
                wanted.domain
            )),
            (false, true) => Some(format!(
                "served over HTTPS all the same: server {server} does automatic HTTPS; name a server on Caddy's HTTP port in [caddy] http_server for plain HTTP"
            )),
            _ => None,
        };
        (server, note)
    }
}

/// Docktray's routes found in Caddy, by id: the server holding each and the route as it is there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub ours: BTreeMap<String, (String, Value)>,
    /// Routes of the user's own in each server (those without a Docktray `@id`).
    pub user_routes: BTreeMap<String, usize>,
    /// Servers that have a routes list.
    pub with_routes: Vec<String>,
}

/// Reads the routes of every server: Docktray's (by `@id`) and how many are the user's.
pub fn found_routes(app: &Value) -> Found {
    let mut found = Found::default();
    let Some(servers) = app.get("servers").and_then(Value::as_object) else {
        return found;
    };
    for (name, server) in servers {
        let Some(routes) = server.get("routes").and_then(Value::as_array) else {
            continue;
        };
        found.with_routes.push(name.clone());
        for route in routes {
            match route.get("@id").and_then(Value::as_str) {
                Some(id) if id.starts_with(ROUTE_ID_PREFIX) => {
                    found
                        .ours
                        .insert(id.to_owned(), (name.clone(), route.clone()));
                }
                _ => *found.user_routes.entry(name.clone()).or_default() += 1,
            }
        }
    }
    found
}

/// One change to Caddy's config.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A Docktray route no service wants (stale), or one in the wrong server, or one without an upstream now.
    Delete {
        id: String,
        stale: bool,
    },
    Insert {
        id: String,
        server: String,
        route: Value,
    },
    Replace {
        id: String,
        route: Value,
    },
}

/// The changes that make Caddy hold exactly the wanted routes (of Docktray's; the user's are never in it),
/// and each wanted route's status as it will be once they succeed. Routes no service wants are removed, except
/// those of `protected` hosts (see [`protected_hosts`]).
pub fn plan(
    wanted: &[Wanted],
    found: &Found,
    servers: &Servers,
    protected: &std::collections::BTreeSet<String>,
) -> (Vec<Change>, Vec<RouteStatus>) {
    let mut changes = Vec::new();
    let mut statuses = Vec::new();
    let mut keep: BTreeMap<&str, ()> = BTreeMap::new();
    for route in wanted {
        let (server, note) = servers.place(route);
        let mut status = RouteStatus {
            id: route.id.clone(),
            domain: route.domain.clone(),
            path: route.path.clone(),
            server: Some(server.clone()),
            upstream: route.upstream.as_ref().ok().cloned(),
            state: RouteState::Routed,
            message: note,
        };
        let upstream = match &route.upstream {
            Ok(upstream) => upstream,
            Err(why) => {
                status.state = RouteState::Failed;
                status.message = Some(why.clone());
                statuses.push(status);
                continue;
            }
        };
        let json = route_json(route, upstream);
        match found.ours.get(&route.id) {
            Some((there, existing)) if *there == server => {
                keep.insert(&route.id, ());
                if *existing != json {
                    changes.push(Change::Replace {
                        id: route.id.clone(),
                        route: json,
                    });
                }
            }
            _ => {
                changes.push(Change::Insert {
                    id: route.id.clone(),
                    server,
                    route: json,
                });
            }
        }
        statuses.push(status);
    }
    // Deletions first: a route moving to another server leaves before it is inserted there (ids are unique).
    let wanted_ids: Vec<&str> = wanted.iter().map(|w| w.id.as_str()).collect();
    let deletions = found
        .ours
        .keys()
        .filter(|id| !keep.contains_key(id.as_str()))
        .map(|id| (id, !wanted_ids.contains(&id.as_str())))
        .filter(|(id, stale)| {
            !(*stale && route_id_host(id).is_some_and(|host| protected.contains(host)))
        })
        .map(|(id, stale)| Change::Delete {
            id: id.clone(),
            stale,
        });
    let mut ordered: Vec<Change> = deletions.collect();
    ordered.extend(changes);
    (ordered, statuses)
}
