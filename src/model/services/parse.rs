//! Reading services out of labels: group `<prefix><type>.<key>` labels per container and type, check each value,
//! then settle who serves a domain and path that several containers claim.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    route_id, RouteState, Service, ServiceKind, ServiceProblem, ServiceRegistry, REQUIRED_KEYS,
    SERVICE_KEYS,
};
use crate::model::{ContainerInfo, ContainerState};

/// The labels of one service of one container, by key (`domain`, `port` ...), with the label each came from.
type Fields<'a> = BTreeMap<&'static str, (&'a str, &'a str)>;

impl ServiceRegistry {
    /// Reads the services of `containers` from their labels starting with `prefix` (compared without regard to
    /// case, like the keys after it). A service with a bad label is left out with a problem naming the label;
    /// when several containers claim the same domain and path, a running one keeps it over a stopped one, then
    /// the oldest, and the others are left out.
    pub fn build<'a>(
        containers: impl IntoIterator<Item = &'a ContainerInfo>,
        prefix: &str,
    ) -> Self {
        let mut registry = Self::default();
        let mut created = BTreeMap::new();
        for container in containers {
            created.insert(container.id.as_str(), container.created);
            registry.read_container(container, prefix);
        }
        registry.settle_claims(prefix, &created);
        registry.services.sort_by(|a, b| {
            (&a.domain, &a.path, &a.host, &a.container_name, a.kind).cmp(&(
                &b.domain,
                &b.path,
                &b.host,
                &b.container_name,
                b.kind,
            ))
        });
        registry.problems.sort_by(|a, b| {
            (&a.host, &a.container_name, &a.label).cmp(&(&b.host, &b.container_name, &b.label))
        });
        registry
    }

    /// The services of one container (by host and id).
    pub fn of_container<'s>(
        &'s self,
        host: &'s str,
        id: &'s str,
    ) -> impl Iterator<Item = &'s Service> + 's {
        self.services
            .iter()
            .filter(move |s| s.host == host && s.container_id == id)
    }

    /// The problems of one container's labels (by host and id).
    pub fn problems_of<'s>(
        &'s self,
        host: &'s str,
        id: &'s str,
    ) -> impl Iterator<Item = &'s ServiceProblem> + 's {
        self.problems
            .iter()
            .filter(move |p| p.host == host && p.container_id == id)
    }

    fn read_container(&mut self, container: &ContainerInfo, prefix: &str) {
        let mut groups: BTreeMap<ServiceKind, Fields<'_>> = BTreeMap::new();
        let mut bad: BTreeMap<ServiceKind, bool> = BTreeMap::new();
        for (label, value) in &container.labels {
            let Some(rest) = strip_prefix_ignoring_case(label, prefix) else {
                continue;
            };
            // `docktray.test=1` and other labels without a `<type>.<key>` shape are not about services.
            let Some((kind_text, key_text)) = rest.split_once('.') else {
                continue;
            };
            let key = SERVICE_KEYS
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(key_text));
            let Some(kind) = ServiceKind::parse(kind_text) else {
                // A schema key under an unknown type is most likely a typo of a type; anything else under the
                // prefix may belong to another tool and is left alone.
                if key.is_some() {
                    self.problem(container, None, label, format!(
                        "label {label}: \"{kind_text}\" is not a service type; use one of {} ({prefix}revp.{key_text})",
                        kind_names()
                    ));
                }
                continue;
            };
            let Some(key) = key else {
                bad.insert(kind, true);
                self.problem(
                    container,
                    Some(kind),
                    label,
                    format!(
                    "label {label}: unknown key \"{key_text}\" for a {} service; the keys are {}",
                    kind.as_str(),
                    SERVICE_KEYS.join(", ")
                ),
                );
                continue;
            };
            let fields = groups.entry(kind).or_default();
            if let Some((first, _)) = fields.get(key) {
                bad.insert(kind, true);
                self.problem(
                    container,
                    Some(kind),
                    label,
                    format!(
                        "label {label}: {first} is given too, with another case; keep one of them"
                    ),
                );
                continue;
            }
            fields.insert(key, (label.as_str(), value.as_str()));
        }
        for (kind, fields) in groups {
            let checked = self.check(container, kind, &fields, prefix);
            if let (Some(service), false) = (checked, bad.get(&kind).copied().unwrap_or(false)) {
                self.services.push(service);
            }
        }
        // A type whose only labels were bad still shows up as a problem, never as a service.
    }

    /// Checks one service's fields; `None` (with problems recorded) when any is bad or missing.
    fn check(
        &mut self,
        container: &ContainerInfo,
        kind: ServiceKind,
        fields: &Fields<'_>,
        prefix: &str,
    ) -> Option<Service> {
        let mut ok = true;
        for key in REQUIRED_KEYS {
            if !fields.contains_key(key) {
                ok = false;
                let label = format!("{prefix}{}.{key}", kind.as_str());
                let example = if key == "port" {
                    "80"
                } else {
                    "app.example.com"
                };
                self.problem(container, Some(kind), &label, format!(
                    "label {label} is missing: a {} service needs both {prefix}{kind}.domain and {prefix}{kind}.port, such as {label}={example}",
                    kind.as_str(),
                    kind = kind.as_str()
                ));
            }
        }
        let mut read = |key: &str, check: fn(&str) -> Result<String, String>| {
            let (label, value) = fields.get(key)?;
            match check(value) {
                Ok(clean) => Some(clean),
                Err(expected) => {
                    ok = false;
                    self.problem(
                        container,
                        Some(kind),
                        label,
                        format!("label {label}: \"{value}\" is not valid: expected {expected}"),
                    );
                    None
                }
            }
        };
        let domain = read("domain", check_domain);
        let port = read("port", check_port);
        let path = read("path", check_path);
        let ssl = read("ssl", check_bool);
        if !ok {
            return None;
        }
        let domain = domain?;
        let port: u16 = port?.parse().ok()?;
        let path = path.unwrap_or_else(|| "/".to_owned());
        let ssl = ssl.is_some_and(|text| text == "true");
        let scheme = if ssl { "https" } else { "http" };
        Some(Service {
            name: container
                .compose_service
                .clone()
                .unwrap_or_else(|| container.name.clone()),
            kind,
            url: format!("{scheme}://{domain}{path}"),
            domain,
            port,
            path,
            ssl,
            host: container.host.clone(),
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            state: container.state,
            health: container.health,
            route_id: route_id(&container.host, &container.name, kind),
            caddy: RouteState::Off,
            caddy_message: None,
            labels: fields
                .values()
                .map(|(label, value)| ((*label).to_owned(), (*value).to_owned()))
                .collect(),
        })
    }

    /// One domain and path, one service: the keeper is running rather than stopped, then the oldest container.
    fn settle_claims(&mut self, prefix: &str, created: &BTreeMap<&str, DateTime<Utc>>) {
        let mut order: Vec<usize> = (0..self.services.len()).collect();
        order.sort_by_key(|&i| {
            let s = &self.services[i];
            (
                s.state != ContainerState::Running,
                created.get(s.container_id.as_str()).copied(),
                s.host.clone(),
                s.container_id.clone(),
                s.kind,
            )
        });
        let mut keepers: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut dropped = Vec::new();
        for i in order {
            let claim = (
                self.services[i].domain.clone(),
                self.services[i].path.clone(),
            );
            match keepers.get(&claim) {
                Some(&keeper) => dropped.push((i, keeper)),
                None => {
                    keepers.insert(claim, i);
                }
            }
        }
        let mut problems = Vec::new();
        for &(i, keeper) in &dropped {
            let (s, k) = (&self.services[i], &self.services[keeper]);
            let label = format!("{prefix}{}.domain", s.kind.as_str());
            problems.push(ServiceProblem {
                host: s.host.clone(),
                container_id: s.container_id.clone(),
                container_name: s.container_name.clone(),
                kind: Some(s.kind),
                label: label.clone(),
                message: format!(
                    "label {label}: {}{} is already claimed by {} on {} ({} service); give one of them another domain or {prefix}{}.path",
                    s.domain, s.path, k.container_name, k.host, k.kind.as_str(), s.kind.as_str()
                ),
            });
        }
        let mut gone: Vec<usize> = dropped.into_iter().map(|(i, _)| i).collect();
        gone.sort_unstable_by(|a, b| b.cmp(a));
        for i in gone {
            self.services.remove(i);
        }
        self.problems.extend(problems);
    }

    fn problem(
        &mut self,
        container: &ContainerInfo,
        kind: Option<ServiceKind>,
        label: &str,
        message: String,
    ) {
        self.problems.push(ServiceProblem {
            host: container.host.clone(),
            container_id: container.id.clone(),
            container_name: container.name.clone(),
            kind,
            label: label.to_owned(),
            message,
        });
    }
}

fn kind_names() -> String {
    ServiceKind::ALL.map(ServiceKind::as_str).join(", ")
}

fn strip_prefix_ignoring_case<'a>(label: &'a str, prefix: &str) -> Option<&'a str> {
    let head = label.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &label[prefix.len()..])
}

/// A host name (letters, digits, `-`, dots; an optional leading `*.`) or an IP address; no scheme, port or path.
fn check_domain(value: &str) -> Result<String, String> {
    let expected =
        "a domain name such as \"app.example.com\" (no http://, port or path)".to_owned();
    let domain = value.trim().to_ascii_lowercase();
    if domain.parse::<std::net::IpAddr>().is_ok() {
        return Ok(domain);
    }
    let name = domain.strip_prefix("*.").unwrap_or(&domain);
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 63
                && !part.starts_with('-')
                && !part.ends_with('-')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if labels_ok {
        Ok(domain)
    } else {
        Err(expected)
    }
}

fn check_port(value: &str) -> Result<String, String> {
    match value.trim().parse::<u32>() {
        Ok(port) if (1..=65535).contains(&port) => Ok(port.to_string()),
        _ => Err("a port number from 1 to 65535, such as \"80\"".to_owned()),
    }
}

/// A path starting with `/`, without spaces, `?`, `#` or `*`; a trailing `/` is dropped (`/app/` is `/app`).
fn check_path(value: &str) -> Result<String, String> {
    let path = value.trim();
    let fine = path.starts_with('/')
        && !path.contains(|c: char| c.is_whitespace() || c.is_control() || "?#*".contains(c));
    if !fine {
        return Err("a path starting with /, such as \"/\" or \"/app\"".to_owned());
    }
    let trimmed = path.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    })
}

fn check_bool(value: &str) -> Result<String, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok("true".to_owned()),
        "false" => Ok("false".to_owned()),
        _ => Err("\"true\" or \"false\"".to_owned()),
    }
}
