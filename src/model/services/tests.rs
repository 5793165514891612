use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::{ContainerInfo, ContainerState, ProxyStatus, RouteStatus};

fn container(
    name: &str,
    state: ContainerState,
    minute: u32,
    labels: &[(&str, &str)],
) -> ContainerInfo {
    ContainerInfo {
        host: "local".into(),
        id: format!("id-{name}"),
        name: name.into(),
        image: "img".into(),
        state,
        status: String::new(),
        health: None,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        compose_project: None,
        compose_service: None,
        ports: vec![],
        created: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
        started_at: None,
        finished_at: None,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        ip_addresses: BTreeMap::new(),
        pod: None,
        pid: None,
    }
}

fn running(name: &str, labels: &[(&str, &str)]) -> ContainerInfo {
    container(name, ContainerState::Running, 0, labels)
}

#[test]
fn reads_a_revp_service_with_defaults() {
    let web = running(
        "web",
        &[
            ("docktray.revp.domain", "App.Example.com"),
            ("docktray.revp.port", "8080"),
            ("docktray.test", "1"),
            ("other.label", "x"),
        ],
    );
    let registry = ServiceRegistry::build([&web], "docktray.");
    assert!(registry.problems.is_empty(), "{:?}", registry.problems);
    assert_eq!(registry.services.len(), 1);
    let service = &registry.services[0];
    assert_eq!(service.kind, ServiceKind::Revp);
    assert_eq!(service.domain, "app.example.com");
    assert_eq!(service.port, 8080);
    assert_eq!(service.path, "/");
    assert!(!service.ssl);
    assert_eq!(service.url, "http://app.example.com/");
    assert_eq!(service.route_id, "docktray-local-web-revp");
    assert_eq!(service.caddy, RouteState::Off);
    assert_eq!(service.labels.len(), 2);
}

#[test]
fn every_type_and_any_prefix_case() {
    let app = running(
        "app",
        &[
            ("snadboy.api.domain", "api.example.com"),
            ("snadboy.api.port", "9000"),
            ("snadboy.api.path", "/v1/"),
            ("SNADBOY.Web.Domain", "www.example.com"),
            ("snadboy.web.port", "80"),
            ("snadboy.web.ssl", "TRUE"),
            ("snadboy.db.domain", "db.example.com"),
            ("snadboy.db.port", "5432"),
            ("snadboy.metrics.domain", "metrics.example.com"),
            ("snadboy.metrics.port", "9090"),
            ("snadboy.metrics.path", "/metrics"),
        ],
    );
    let registry = ServiceRegistry::build([&app], "snadboy.");
    assert!(registry.problems.is_empty(), "{:?}", registry.problems);
    let kinds: Vec<ServiceKind> = registry.services.iter().map(|s| s.kind).collect();
    assert_eq!(kinds.len(), 4);
    for kind in [
        ServiceKind::Api,
        ServiceKind::Web,
        ServiceKind::Db,
        ServiceKind::Metrics,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    let api = registry
        .services
        .iter()
        .find(|s| s.kind == ServiceKind::Api)
        .unwrap();
    assert_eq!(api.path, "/v1", "a trailing slash is dropped");
    assert_eq!(api.url, "http://api.example.com/v1");
    let web = registry
        .services
        .iter()
        .find(|s| s.kind == ServiceKind::Web)
        .unwrap();
    assert!(web.ssl);
    assert_eq!(web.url, "https://www.example.com/");
    // The default prefix does not read these labels.
    assert!(ServiceRegistry::build([&app], "docktray.")
        .services
        .is_empty());
}

#[test]
fn a_port_that_is_not_a_number_leaves_the_service_out_and_names_the_label() {
    let bad = running(
        "bad",
        &[
            ("docktray.revp.domain", "bad.example.com"),
            ("docktray.revp.port", "eighty"),
        ],
    );
    let good = running(
        "good",
        &[
            ("docktray.revp.domain", "good.example.com"),
            ("docktray.revp.port", "80"),
        ],
    );
    let registry = ServiceRegistry::build([&bad, &good], "docktray.");
    assert_eq!(registry.services.len(), 1, "the others go on");
    assert_eq!(registry.services[0].container_name, "good");
    assert_eq!(registry.problems.len(), 1);
    let problem = &registry.problems[0];
    assert_eq!(problem.label, "docktray.revp.port");
    assert_eq!(problem.container_name, "bad");
    assert!(
        problem.message.contains("docktray.revp.port"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("\"eighty\""),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("1 to 65535"),
        "{}",
        problem.message
    );
    assert_eq!(registry.problems_of("local", "id-bad").count(), 1);
    assert_eq!(registry.problems_of("local", "id-good").count(), 0);
}

#[test]
fn out_of_range_port_bad_path_bad_ssl_and_bad_domain() {
    for (key, value, expected) in [
        ("port", "70000", "1 to 65535"),
        ("port", "0", "1 to 65535"),
        ("path", "app", "starting with /"),
        ("ssl", "yes", "\"true\" or \"false\""),
        ("domain", "http://x.example.com", "domain name"),
        ("domain", "a b", "domain name"),
    ] {
        let mut labels = vec![
            ("docktray.revp.domain", "x.example.com"),
            ("docktray.revp.port", "80"),
        ];
        let label = format!("docktray.revp.{key}");
        labels.retain(|(k, _)| *k != label);
        labels.push((&label, value));
        let c = running("c", &labels);
        let registry = ServiceRegistry::build([&c], "docktray.");
        assert!(registry.services.is_empty(), "{key}={value} was accepted");
        assert_eq!(
            registry.problems.len(),
            1,
            "{key}={value}: {:?}",
            registry.problems
        );
        assert_eq!(registry.problems[0].label, label);
        assert!(
            registry.problems[0].message.contains(expected),
            "{}",
            registry.problems[0].message
        );
    }
}

#[test]
fn an_unknown_key_leaves_the_service_out() {
    let c = running(
        "c",
        &[
            ("docktray.revp.domain", "x.example.com"),
            ("docktray.revp.port", "80"),
            ("docktray.revp.domian", "typo.example.com"),
        ],
    );
    let registry = ServiceRegistry::build([&c], "docktray.");
    assert!(registry.services.is_empty());
    assert_eq!(registry.problems.len(), 1);
    assert_eq!(registry.problems[0].label, "docktray.revp.domian");
    assert!(
        registry.problems[0]
            .message
            .contains("unknown key \"domian\""),
        "{}",
        registry.problems[0].message
    );
    assert!(registry.problems[0]
        .message
        .contains("domain, port, path, ssl"));
}

#[test]
fn a_missing_required_key_is_named() {
    let c = running("c", &[("docktray.web.domain", "x.example.com")]);
    let registry = ServiceRegistry::build([&c], "docktray.");
    assert!(registry.services.is_empty());
    assert_eq!(registry.problems.len(), 1);
    assert_eq!(registry.problems[0].label, "docktray.web.port");
    assert!(registry.problems[0].message.contains("missing"));
}

#[test]
fn a_schema_key_under_an_unknown_type_is_reported_other_labels_are_left_alone() {
    let c = running(
        "c",
        &[
            ("docktray.rvp.domain", "x.example.com"),
            ("docktray.alerts.cpu", "90"),
        ],
    );
    let registry = ServiceRegistry::build([&c], "docktray.");
    assert!(registry.services.is_empty());
    assert_eq!(registry.problems.len(), 1, "{:?}", registry.problems);
    assert_eq!(registry.problems[0].label, "docktray.rvp.domain");
    assert!(registry.problems[0].message.contains("not a service type"));
}

#[test]
fn two_containers_claiming_one_domain_and_path_the_running_then_oldest_keeps_it() {
    let labels = [
        ("docktray.revp.domain", "app.example.com"),
        ("docktray.revp.port", "80"),
    ];
    let older = container("older", ContainerState::Running, 1, &labels);
    let newer = container("newer", ContainerState::Running, 2, &labels);
    let registry = ServiceRegistry::build([&newer, &older], "docktray.");
    assert_eq!(registry.services.len(), 1);
    assert_eq!(registry.services[0].container_name, "older");
    assert_eq!(registry.problems.len(), 1);
    let problem = &registry.problems[0];
    assert_eq!(problem.container_name, "newer");
    assert_eq!(problem.label, "docktray.revp.domain");
    assert!(
        problem.message.contains("already claimed by older"),
        "{}",
        problem.message
    );

    // A stopped container does not keep a domain from a running one, however old.
    let stopped = container("stopped", ContainerState::Exited, 0, &labels);
    let registry = ServiceRegistry::build([&stopped, &newer], "docktray.");
    assert_eq!(registry.services[0].container_name, "newer");
    assert_eq!(registry.problems[0].container_name, "stopped");

    // Another path on the same domain is no conflict.
    let other_path = running(
        "other",
        &[
            ("docktray.revp.domain", "app.example.com"),
            ("docktray.revp.port", "80"),
            ("docktray.revp.path", "/api"),
        ],
    );
    let registry = ServiceRegistry::build([&older, &other_path], "docktray.");
    assert_eq!(registry.services.len(), 2);
    assert!(registry.problems.is_empty());
}

#[test]
fn caddy_states_come_from_the_proxy_report() {
    let labels = [
        ("docktray.revp.domain", "app.example.com"),
        ("docktray.revp.port", "80"),
    ];
    let up = running("up", &labels);
    let down = container(
        "down",
        ContainerState::Exited,
        0,
        &[
            ("docktray.revp.domain", "down.example.com"),
            ("docktray.revp.port", "80"),
        ],
    );
    let fresh = running(
        "fresh",
        &[
            ("docktray.revp.domain", "fresh.example.com"),
            ("docktray.revp.port", "80"),
        ],
    );
    let proxy = ProxyStatus {
        admin_url: "http://localhost:2019".into(),
        server: Some("srv0".into()),
        http_server: None,
        routes: vec![RouteStatus {
            id: route_id("local", "up", ServiceKind::Revp),
            domain: "app.example.com".into(),
            path: "/".into(),
            server: Some("srv0".into()),
            upstream: Some("172.17.0.2:80".into()),
            state: RouteState::Routed,
            message: None,
        }],
        user_routes: 1,
        stale_removed: 0,
        last_check: None,
    };
    let registry =
        ServiceRegistry::build([&up, &down, &fresh], "docktray.").with_routes(Some(&proxy));
    let state = |name: &str| {
        registry
            .services
            .iter()
            .find(|s| s.container_name == name)
            .unwrap()
            .caddy
    };
    assert_eq!(state("up"), RouteState::Routed);
    assert_eq!(state("down"), RouteState::Stopped);
    assert_eq!(state("fresh"), RouteState::Pending);
    let off = ServiceRegistry::build([&up], "docktray.").with_routes(None);
    assert_eq!(off.services[0].caddy, RouteState::Off);
}

#[test]
fn route_ids_keep_to_safe_characters() {
    assert_eq!(
        route_id("nas box", "My-App.1", ServiceKind::Api),
        "docktray-nas_box-my_app.1-api"
    );
}
