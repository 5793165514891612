use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{json, Value};

use super::plan::*;
use super::shapes;
use crate::config::{Config, HostConfig};
use crate::model::{
    ContainerInfo, ContainerSnapshot, ContainerState, OverallLevel, PortMapping, RouteState,
    Service, ServiceRegistry, Snapshot,
};

fn info(host: &str, name: &str, labels: &[(&str, &str)]) -> ContainerInfo {
    ContainerInfo {
        host: host.into(),
        id: format!("id-{name}"),
        name: name.into(),
        image: "img".into(),
        state: ContainerState::Running,
        status: String::new(),
        health: None,
        exit_code: None,
        oom_killed: false,
        restart_count: 0,
        compose_project: None,
        compose_service: None,
        ports: vec![],
        created: Utc::now(),
        started_at: None,
        finished_at: None,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ip_addresses: BTreeMap::new(),
        pod: None,
        pid: None,
    }
}

const WEB: [(&str, &str); 2] = [
    ("docktray.revp.domain", "app.test"),
    ("docktray.revp.port", "80"),
];

fn service_of(container: &ContainerInfo) -> Service {
    ServiceRegistry::build([container], "docktray.")
        .services
        .remove(0)
}

fn remote_config() -> Config {
    let mut config = Config::default();
    config.hosts.push(HostConfig {
        name: "nas".into(),
        destination: "me@nas.lan:2222".into(),
        identity_file: None,
        socket: "/var/run/docker.sock".into(),
        ssh_config: None,
    });
    config
}

fn publish(container: &mut ContainerInfo, port: u16, host_port: u16, host_ip: Option<&str>) {
    container.ports.push(PortMapping {
        container_port: port,
        protocol: "tcp".into(),
        host_ip: host_ip.map(Into::into),
        host_port: Some(host_port),
    });
}

#[test]
fn local_upstream_is_the_container_address_then_loopback() {
    let config = Config::default();
    let mut c = info("local", "web", &WEB);
    c.ip_addresses.insert("bridge".into(), "172.17.0.5".into());
    assert_eq!(
        upstream(&service_of(&c), &c, &config),
        Ok("172.17.0.5:80".into())
    );

    let mut host_net = info("local", "web", &WEB);
    host_net.ip_addresses.insert("host".into(), String::new());
    assert_eq!(
        upstream(&service_of(&host_net), &host_net, &config),
        Ok("127.0.0.1:80".into())
    );

    let mut published = info("local", "web", &WEB);
    publish(&mut published, 80, 8081, Some("127.0.0.1"));
    assert_eq!(
        upstream(&service_of(&published), &published, &config),
        Ok("127.0.0.1:8081".into())
    );

    let nowhere = info("local", "web", &WEB);
    let why = upstream(&service_of(&nowhere), &nowhere, &config).unwrap_err();
    assert!(why.contains("publish the port"), "{why}");
}

#[test]
fn remote_upstream_is_the_hosts_published_port() {
    let mut config = remote_config();
    let mut c = info("nas", "web", &WEB);
    c.ip_addresses.insert("bridge".into(), "172.17.0.5".into());
    publish(&mut c, 80, 8080, Some("0.0.0.0"));
    assert_eq!(
        upstream(&service_of(&c), &c, &config),
        Ok("nas.lan:8080".into())
    );
    config
        .caddy
        .host_addresses
        .insert("nas".into(), "192.168.1.20".into());
    assert_eq!(
        upstream(&service_of(&c), &c, &config),
        Ok("192.168.1.20:8080".into())
    );

    let mut loopback = info("nas", "web", &WEB);
    publish(&mut loopback, 80, 8080, Some("127.0.0.1"));
    let why = upstream(&service_of(&loopback), &loopback, &config).unwrap_err();
    assert!(why.contains("loopback only"), "{why}");

    let unpublished = info("nas", "web", &WEB);
    let why = upstream(&service_of(&unpublished), &unpublished, &config).unwrap_err();
    assert!(why.contains("not published on nas"), "{why}");
}

#[test]
fn host_address_from_destinations() {
    let mut config = remote_config();
    assert_eq!(host_address(&config, "nas").as_deref(), Some("nas.lan"));
    config.hosts[0].destination = "alias".into();
    assert_eq!(host_address(&config, "nas").as_deref(), Some("alias"));
    config.hosts[0].destination = "root@[fd00::5]:22".into();
    assert_eq!(host_address(&config, "nas").as_deref(), Some("fd00::5"));
    assert_eq!(host_address(&config, "other"), None);
}

fn wanted(id: &str, path: &str, ssl: bool, upstream: Result<&str, &str>) -> Wanted {
    Wanted {
        id: id.into(),
        domain: "app.test".into(),
        path: path.into(),
        ssl,
        upstream: upstream.map(Into::into).map_err(Into::into),
    }
}

#[test]
fn route_json_matches_host_and_path() {
    let root = route_json(
        &wanted("docktray-a", "/", false, Ok("1.2.3.4:80")),
        "1.2.3.4:80",
    );
    assert_eq!(
        root,
        json!({"@id": "docktray-a", "match": [{"host": ["app.test"]}],
               "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "1.2.3.4:80"}]}], "terminal": true})
    );
    let sub = route_json(&wanted("docktray-a", "/app", false, Ok("x:1")), "x:1");
    assert_eq!(sub["match"][0]["path"], json!(["/app", "/app/*"]));
}

fn app(servers: Value) -> Value {
    json!({ "http_port": 80, "servers": servers })
}

#[test]
fn servers_are_named_or_the_only_one() {
    let mut config = Config::default();
    let one = app(json!({"main": {"listen": [":80"]}}));
    assert_eq!(resolve_servers(&one, &config).unwrap().main, "main");

    let several = app(json!({"a": {"listen": [":443"]}, "b": {"listen": [":80"]}}));
    let why = resolve_servers(&several, &config).unwrap_err();
    assert!(
        why.contains("several HTTP servers (a, b)") && why.contains("[caddy] server"),
        "{why}"
    );
    config.caddy.server = "a".into();
    config.caddy.http_server = "b".into();
    let servers = resolve_servers(&several, &config).unwrap();
    assert_eq!(
        (servers.main.as_str(), servers.http.as_deref()),
        ("a", Some("b"))
    );
    assert_eq!(servers.automatic_https.get("a"), Some(&true));
    assert_eq!(servers.automatic_https.get("b"), Some(&false));

    config.caddy.server = "missing".into();
    let why = resolve_servers(&several, &config).unwrap_err();
    assert!(
        why.contains("no HTTP server named \"missing\"") && why.contains("it has a, b"),
        "{why}"
    );

    let none = resolve_servers(&Value::Null, &Config::default()).unwrap_err();
    assert!(none.contains("no HTTP server"), "{none}");
}

#[test]
fn ssl_routes_and_plain_routes_find_their_servers() {
    let mut config = Config::default();
    config.caddy.server = "tls".into();
    let caddy = app(json!({"tls": {"listen": [":443"]}, "plain": {"listen": [":80"]}}));
    let servers = resolve_servers(&caddy, &config).unwrap();
    let (server, note) = servers.place(&wanted("docktray-a", "/", false, Ok("x:1")));
    assert_eq!(server, "tls");
    assert!(
        note.unwrap().contains("http_server"),
        "ssl=false on an HTTPS server is noted"
    );
    assert_eq!(
        servers.place(&wanted("docktray-a", "/", true, Ok("x:1"))),
        ("tls".into(), None)
    );

    config.caddy.http_server = "plain".into();
    let servers = resolve_servers(&caddy, &config).unwrap();
    assert_eq!(
        servers.place(&wanted("docktray-a", "/", false, Ok("x:1"))),
        ("plain".into(), None)
    );

    let off = app(json!({"s": {"listen": [":8443"], "automatic_https": {"disable": true}}}));
    let servers = resolve_servers(&off, &Config::default()).unwrap();
    let (_, note) = servers.place(&wanted("docktray-a", "/", true, Ok("x:1")));
    assert!(note.unwrap().contains("no certificate"));
}

#[test]
fn plan_adds_changes_keeps_and_removes_only_docktray_routes() {
    let config = Config::default();
    let keep = wanted("docktray-keep", "/", false, Ok("10.0.0.1:80"));
    let change = wanted("docktray-change", "/", false, Ok("10.0.0.2:80"));
    let add = wanted("docktray-add", "/", false, Ok("10.0.0.3:80"));
    let broken = wanted("docktray-broken", "/", false, Err("no address"));
    let user = json!({"@id": "user-route", "match": [{"host": ["user.test"]}], "handle": []});
    let anonymous = json!({"handle": [{"handler": "static_response"}]});
    let caddy = app(json!({"main": {"listen": [":80"], "routes": [
        route_json(&keep, "10.0.0.1:80"),
        route_json(&change, "10.0.0.9:80"),
        route_json(&wanted("docktray-stale", "/", false, Ok("x:1")), "x:1"),
        route_json(&broken, "10.0.0.4:80"),
        user,
        anonymous,
    ]}}));
    let servers = resolve_servers(&caddy, &config).unwrap();
    let found = found_routes(&caddy);
    assert_eq!(found.user_routes.get("main"), Some(&2));
    assert_eq!(found.ours.len(), 4);
    let (changes, statuses) = plan(
        &[keep, change.clone(), add.clone(), broken],
        &found,
        &servers,
        &Default::default(),
    );
    assert_eq!(
        changes,
        vec![
            Change::Delete {
                id: "docktray-broken".into(),
                stale: false
            },
            Change::Delete {
                id: "docktray-stale".into(),
                stale: true
            },
            Change::Replace {
                id: "docktray-change".into(),
                route: route_json(&change, "10.0.0.2:80")
            },
            Change::Insert {
                id: "docktray-add".into(),
                server: "main".into(),
                route: route_json(&add, "10.0.0.3:80")
            },
        ]
    );
    let states: Vec<(String, RouteState)> =
        statuses.iter().map(|s| (s.id.clone(), s.state)).collect();
    assert_eq!(
        states,
        vec![
            ("docktray-keep".into(), RouteState::Routed),
            ("docktray-change".into(), RouteState::Routed),
            ("docktray-add".into(), RouteState::Routed),
            ("docktray-broken".into(), RouteState::Failed),
        ]
    );
    assert_eq!(statuses[3].message.as_deref(), Some("no address"));
}

#[test]
fn a_route_moving_server_leaves_before_it_is_inserted() {
    let mut config = Config::default();
    config.caddy.server = "tls".into();
    config.caddy.http_server = "plain".into();
    let plain = wanted("docktray-a", "/", false, Ok("x:1"));
    let caddy = app(
        json!({"tls": {"listen": [":443"], "routes": [route_json(&plain, "x:1")]}, "plain": {"listen": [":80"]}}),
    );
    let servers = resolve_servers(&caddy, &config).unwrap();
    let (changes, _) = plan(
        std::slice::from_ref(&plain),
        &found_routes(&caddy),
        &servers,
        &Default::default(),
    );
    assert_eq!(
        changes,
        vec![
            Change::Delete {
                id: "docktray-a".into(),
                stale: false
            },
            Change::Insert {
                id: "docktray-a".into(),
                server: "plain".into(),
                route: route_json(&plain, "x:1")
            },
        ]
    );
}

fn snapshot_with(containers: Vec<ContainerInfo>, config: &Config) -> Snapshot {
    let registry = ServiceRegistry::build(containers.iter(), &config.services.label_prefix);
    Snapshot {
        taken_at: Utc::now(),
        overall: OverallLevel::Ok,
        alerts: vec![],
        sources: vec![],
        hosts: vec![],
        containers: containers
            .into_iter()
            .map(|info| ContainerSnapshot { info, stats: None })
            .collect(),
        services: registry.services,
        service_problems: registry.problems,
        proxy: None,
        forecasts: Vec::new(),
        channels: Vec::new(),
    }
}

#[test]
fn wanted_routes_are_those_of_running_services() {
    let config = Config::default();
    let mut up = info("local", "up", &WEB);
    up.ip_addresses.insert("bridge".into(), "172.17.0.2".into());
    let mut down = info(
        "local",
        "down",
        &[
            ("docktray.revp.domain", "down.test"),
            ("docktray.revp.port", "80"),
        ],
    );
    down.state = ContainerState::Exited;
    let snapshot = snapshot_with(vec![up, down], &config);
    let wanted = wanted_routes(&snapshot, &config);
    assert_eq!(wanted.len(), 1);
    assert_eq!(wanted[0].id, "docktray-local-up-revp");
    assert_eq!(wanted[0].upstream, Ok("172.17.0.2:80".into()));
}

#[test]
fn api_shapes_follow_the_old_monitor() {
    let mut config = Config::default();
    config.services.label_prefix = "snadboy.".into();
    let mut c = info(
        "local",
        "web",
        &[
            ("snadboy.revp.domain", "app.test"),
            ("snadboy.revp.port", "80"),
            ("x", "y"),
        ],
    );
    c.ip_addresses.insert("bridge".into(), "172.17.0.2".into());
    let snapshot = snapshot_with(vec![c], &config);

    let labels = serde_json::to_value(shapes::labels(&snapshot, &config)).unwrap();
    assert_eq!(
        labels,
        json!({"web": {"snadboy.revp.domain": "app.test", "snadboy.revp.port": "80"}})
    );

    let schema = serde_json::to_value(shapes::schema(&config, Utc::now())).unwrap();
    assert_eq!(
        schema["label_format"],
        "snadboy.{service_type}.{property}={value}"
    );
    assert_eq!(
        schema["implemented_services"]["revp"]["required_properties"],
        json!(["domain", "port"])
    );
    assert_eq!(schema["service_count"], 5);

    let caddy = serde_json::to_value(shapes::caddy(&snapshot, &config)).unwrap();
    assert_eq!(caddy["count"], 1);
    assert_eq!(caddy["services"][0]["domain"], "app.test");
    assert_eq!(caddy["services"][0]["primary_docker_ip"], "172.17.0.2");
    assert_eq!(caddy["services"][0]["upstream"], "172.17.0.2:80");

    let ips = serde_json::to_value(shapes::ips(&snapshot, &config)).unwrap();
    assert_eq!(
        ips["containers"]["web"]["all_docker_ips"],
        json!(["172.17.0.2"])
    );
    assert_eq!(
        ips["containers"]["web"]["docker_networks"]["bridge"]["docker_ip"],
        "172.17.0.2"
    );

    let off = serde_json::to_value(shapes::caddy_status(&snapshot, &config)).unwrap();
    assert_eq!(off["enabled"], false);
    config.caddy.admin_url = "http://localhost:2019/".into();
    let on = serde_json::to_value(shapes::caddy_status(&snapshot, &config)).unwrap();
    assert_eq!(
        (on["enabled"].clone(), on["admin_url"].clone()),
        (json!(true), json!("http://localhost:2019"))
    );
    assert_eq!(on["state"], "connecting");

    let services = serde_json::to_value(shapes::services(&snapshot, &config)).unwrap();
    assert_eq!(services["count"], 1);
    assert_eq!(services["services"][0]["type"], "revp");
    assert_eq!(services["services"][0]["url"], "http://app.test/");
}

#[test]
fn routes_of_a_host_that_does_not_answer_are_kept() {
    let config = Config::default();
    let gone_local = wanted("docktray-local-gone-revp", "/", false, Ok("x:1"));
    let away_nas = wanted("docktray-nas-web-revp", "/", false, Ok("nas:8080"));
    let caddy = app(json!({"main": {"listen": [":80"], "routes": [
        route_json(&gone_local, "x:1"),
        route_json(&away_nas, "nas:8080"),
    ]}}));
    let servers = resolve_servers(&caddy, &config).unwrap();
    let protected = ["nas".to_owned()].into_iter().collect();
    let (changes, _) = plan(&[], &found_routes(&caddy), &servers, &protected);
    assert_eq!(
        changes,
        vec![Change::Delete {
            id: "docktray-local-gone-revp".into(),
            stale: true
        }],
        "nas's containers are unknown while it is away, not gone"
    );
    let mut snapshot = snapshot_with(vec![], &config);
    let mut down = crate::model::SourceStatus::connecting("nas", "docker", "ssh://nas");
    down.state = crate::model::SourceState::Unreachable;
    snapshot.sources.push(down);
    snapshot
        .sources
        .push(crate::model::SourceStatus::connecting(
            "acct", "webdock", "x",
        ));
    assert_eq!(protected_hosts(&snapshot), protected);
}
