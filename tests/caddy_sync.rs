//! Caddy's routes kept in step with labelled containers, against a real Caddy (Debian's package, started here
//! on loopback ports with a config that already holds a route of the user's own) and the real Docker engine:
//! containers serve pages with busybox `httpd`, and every request goes through `curl -H 'Host: …'`.
//!
//! Each test reads its own label prefix (or `snadboy.`, in one test only), so the monitors of tests running side
//! by side never route each other's containers.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::caddy::{user_route, Caddy, USER_HOST, USER_PAGE};
use common::*;
use docktray::alerts::{AlertTransition, TargetKind, TransitionKind};
use docktray::model::{RouteState, SourceState};
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::{Config, Snapshot, Update};
use serde_json::{json, Value};

const INTERVAL: Duration = Duration::from_secs(2);

fn config(caddy: &Caddy, prefix: &str, check_every: Duration) -> Config {
    let mut config = test_config();
    config.interval = INTERVAL;
    config.history.enabled = false;
    config.services.label_prefix = prefix.to_owned();
    config.caddy.admin_url = caddy.admin_url();
    config.caddy.check_every = check_every;
    config
}

async fn start(config: Config) -> Monitor {
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: false,
            notifications: false,
        },
    )
    .expect("monitor starts");
    assert!(
        monitor.engine().ready(Duration::from_secs(20)).await,
        "engine ready"
    );
    monitor
}

/// A container serving `page` at `/` and `page-app` at `/app/`, with these labels.
fn web(name: Option<&str>, labels: &[(String, &str)], page: &str) -> TestContainer {
    let script = format!(
        "mkdir -p /www/app && echo {page} > /www/index.html && echo {page}-app > /www/app/index.html && exec httpd -f -p 80 -h /www"
    );
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut options: Vec<&str> = Vec::new();
    for label in &labels {
        options.extend(["--label", label.as_str()]);
    }
    match name {
        None => TestContainer::run("web", &options, &["sh", "-c", &script]),
        Some(name) => {
            let mut args = vec!["run", "-d", "--label", "docktray.test=1", "--name", name];
            args.extend(options);
            let image = image();
            args.extend([image.as_str(), "sh", "-c", &script]);
            let id = docker(&args);
            TestContainer {
                name: name.to_owned(),
                id,
            }
        }
    }
}

fn revp(prefix: &str, domain: &str, extra: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    let domain: &'static str = Box::leak(domain.to_owned().into_boxed_str());
    let mut labels = vec![
        (format!("{prefix}revp.domain"), domain),
        (format!("{prefix}revp.port"), "80"),
    ];
    labels.extend(extra.iter().map(|(k, v)| (format!("{prefix}revp.{k}"), *v)));
    labels
}

/// Polls `check` every 100 ms until it gives a value, failing after `timeout` with `what`.
async fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn caddy_source(snapshot: &Snapshot) -> Option<&docktray::SourceStatus> {
    snapshot.sources.iter().find(|s| s.kind == "caddy")
}

fn route_id(container: &TestContainer) -> String {
    docktray::model::services::route_id(
        "local",
        &container.name,
        docktray::model::ServiceKind::Revp,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_container_is_routed_while_it_runs_and_its_labels_are_followed() {
    let caddy = Caddy::start();
    let prefix = format!("{}.", unique("p"));
    // The full comparison is a minute away: what happens below comes from the container events.
    let monitor = start(config(&caddy, &prefix, Duration::from_secs(60))).await;
    let engine = monitor.engine();
    wait_for(engine, Duration::from_secs(10), "Caddy up", |s| {
        caddy_source(s)
            .filter(|c| c.state == SourceState::Up)
            .map(|_| ())
    })
    .await;
    caddy.assert_user_route_untouched("main");

    let domain = format!("{}.test", unique("a"));
    let a = web(None, &revp(&prefix, &domain, &[]), "page-a");
    let ran = Instant::now();
    eventually(Duration::from_secs(15), "the route to answer", || {
        (caddy.get(&domain, "/") == (200, "page-a".to_owned())).then_some(())
    })
    .await;
    eprintln!(
        "routed through Caddy {:?} after `docker run` returned",
        ran.elapsed()
    );
    assert!(
        ran.elapsed() <= 2 * INTERVAL,
        "the container's page came through Caddy {:?} after it started: more than two intervals",
        ran.elapsed()
    );
    let snapshot = engine.snapshot();
    let service = snapshot
        .services
        .iter()
        .find(|s| s.container_name == a.name)
        .expect("its service");
    assert_eq!(service.url, format!("http://{domain}/"));
    assert_eq!(service.port, 80);
    wait_for(engine, Duration::from_secs(5), "the service routed", |s| {
        s.services
            .iter()
            .find(|x| x.container_name == a.name && x.caddy == RouteState::Routed)
            .map(|_| ())
    })
    .await;

    // With a path label only that path goes to the container.
    let domain_b = format!("{}.test", unique("b"));
    let b = web(
        None,
        &revp(&prefix, &domain_b, &[("path", "/app")]),
        "page-b",
    );
    eventually(
        2 * INTERVAL + Duration::from_secs(5),
        "the path route",
        || (caddy.get(&domain_b, "/app/") == (200, "page-b-app".to_owned())).then_some(()),
    )
    .await;
    let (_, outside) = caddy.get(&domain_b, "/");
    assert!(
        !outside.contains("page-b"),
        "only /app goes to the container, / gave {outside:?}"
    );
    caddy.assert_user_route_untouched("main");

    // Stopped: its route is gone.
    docker(&["stop", "-t", "1", &a.id]);
    eventually(
        2 * INTERVAL + Duration::from_secs(5),
        "the route to go",
        || {
            caddy
                .admin_get(&format!("/id/{}", route_id(&a)))
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert_ne!(caddy.get(&domain, "/").1, "page-a");
    wait_for(
        engine,
        Duration::from_secs(5),
        "the service shown stopped",
        |s| {
            s.services
                .iter()
                .find(|x| x.container_name == a.name && x.caddy == RouteState::Stopped)
                .map(|_| ())
        },
    )
    .await;

    // New labels on the same container name (compose recreates it so): the route changes where it is.
    let name = b.name.clone();
    drop(b);
    let c = web(Some(&name), &revp(&prefix, &domain_b, &[]), "page-c");
    eventually(
        2 * INTERVAL + Duration::from_secs(5),
        "the changed route",
        || (caddy.get(&domain_b, "/") == (200, "page-c".to_owned())).then_some(()),
    )
    .await;
    let route = caddy
        .admin_get(&format!("/id/{}", route_id(&c)))
        .expect("the route");
    assert_eq!(
        route["match"],
        json!([{"host": [domain_b]}]),
        "no path matcher any more"
    );
    caddy.assert_user_route_untouched("main");
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_stopped_raises_an_alert_and_a_restarted_caddy_gets_its_routes_back() {
    let mut caddy = Caddy::start();
    let prefix = format!("{}.", unique("p"));
    let monitor = start(config(&caddy, &prefix, Duration::from_secs(1))).await;
    let engine = monitor.engine();
    let changes: Arc<Mutex<Vec<AlertTransition>>> = Arc::default();
    let mut updates = engine.subscribe();
    let seen = changes.clone();
    tokio::spawn(async move {
        while let Ok(update) = updates.recv().await {
            if let Update::Alert(change) = update {
                seen.lock().expect("lock").push(*change);
            }
        }
    });
    let domain = format!("{}.test", unique("r"));
    let _first = web(None, &revp(&prefix, &domain, &[]), "page-r");
    eventually(Duration::from_secs(15), "the route", || {
        (caddy.get(&domain, "/") == (200, "page-r".to_owned())).then_some(())
    })
    .await;

    caddy.stop();
    let alert = wait_for(engine, Duration::from_secs(15), "the Caddy alert", |s| {
        s.alerts
            .iter()
            .find(|a| a.target.kind == TargetKind::Proxy && a.is_active())
            .cloned()
    })
    .await;
    assert_eq!(alert.level, docktray::alerts::Level::Warning);
    assert!(
        alert.message.starts_with("Caddy unreachable"),
        "{}",
        alert.message
    );
    let snapshot = engine.snapshot();
    assert_eq!(
        snapshot.overall,
        docktray::alerts::OverallLevel::Warning,
        "amber, not grey"
    );
    let source = caddy_source(&snapshot).expect("Caddy's status");
    assert_eq!(source.state, SourceState::Unreachable);
    assert!(source.last_error.is_some() && source.consecutive_failures >= 1);
    assert!(source.next_retry.is_some(), "retried with backoff");

    // Started while Caddy is away: nothing is lost, it is pushed when Caddy is back.
    let domain_2 = format!("{}.test", unique("w"));
    let _second = web(None, &revp(&prefix, &domain_2, &[]), "page-w");
    wait_for(
        engine,
        Duration::from_secs(10),
        "the new service waiting",
        |s| {
            s.services
                .iter()
                .find(|x| x.domain == domain_2 && x.caddy == RouteState::Unreachable)
                .map(|_| ())
        },
    )
    .await;

    assert!(
        monitor.retry_caddy(),
        "retry now is offered while sync is on"
    );
    // Back with its original config (no Docktray route in it): the routes come back on their own.
    caddy.run();
    for (host, page) in [(&domain, "page-r"), (&domain_2, "page-w")] {
        eventually(
            Duration::from_secs(30),
            "the routes back after the restart",
            || (caddy.get(host, "/") == (200, page.to_owned())).then_some(()),
        )
        .await;
    }
    wait_for(engine, Duration::from_secs(10), "the alert resolved", |s| {
        (!s.alerts.iter().any(|a| a.target.kind == TargetKind::Proxy)).then_some(())
    })
    .await;
    let kinds: Vec<TransitionKind> = changes
        .lock()
        .expect("lock")
        .iter()
        .filter(|c| c.alert.target.kind == TargetKind::Proxy)
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![TransitionKind::Raised, TransitionKind::Resolved]
    );
    assert!(engine.is_running(), "nothing panicked");
    caddy.assert_user_route_untouched("main");

    // A restart too quick to be seen as an outage: the periodic comparison finds the routes missing.
    caddy.stop();
    caddy.run();
    eventually(
        Duration::from_secs(15),
        "the routes back after a quick restart",
        || (caddy.get(&domain, "/") == (200, "page-r".to_owned())).then_some(()),
    )
    .await;
    caddy.assert_user_route_untouched("main");
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_routes_go_at_start_and_the_users_routes_stay_as_they_are() {
    let stale = json!({
        "@id": "docktray-local-gone-revp",
        "match": [{"host": ["gone.test"]}],
        "handle": [{"handler": "static_response", "body": "stale"}],
        "terminal": true
    });
    // A catch-all of the user's at the end: Docktray's routes go in front of it, or it would hide them.
    let catch_all = json!({"handle": [{"handler": "static_response", "body": "catch-all"}]});
    let servers = {
        let (stale, catch_all) = (stale.clone(), catch_all.clone());
        move |port: u16| {
            json!({"main": {
                "listen": [format!("127.0.0.1:{port}")],
                "automatic_https": {"disable": true},
                "routes": [stale, user_route(), catch_all]
            }})
        }
    };
    let caddy = Caddy::start_with(servers);
    assert_eq!(caddy.get("gone.test", "/").1, "stale");
    let prefix = format!("{}.", unique("p"));
    let domain = format!("{}.test", unique("s"));
    let _web = web(None, &revp(&prefix, &domain, &[]), "page-s");
    let monitor = start(config(&caddy, &prefix, Duration::from_secs(60))).await;
    eventually(Duration::from_secs(15), "the stale route removed", || {
        caddy
            .admin_get("/id/docktray-local-gone-revp")
            .is_none()
            .then_some(())
    })
    .await;
    eventually(
        Duration::from_secs(15),
        "the container's route in front of the catch-all",
        || (caddy.get(&domain, "/") == (200, "page-s".to_owned())).then_some(()),
    )
    .await;
    assert_eq!(caddy.get("gone.test", "/").1, "catch-all");
    let routes = caddy.routes("main");
    assert_eq!(routes.len(), 3, "{routes:#?}");
    assert_eq!(routes[1], user_route());
    assert_eq!(
        routes[2], catch_all,
        "the user's anonymous route is kept as it is"
    );
    caddy.assert_user_route_untouched("main");
    let snapshot = monitor.engine().snapshot();
    let proxy = snapshot.proxy.as_ref().expect("Caddy's routes");
    assert_eq!((proxy.user_routes, proxy.stale_removed), (2, 1));
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_servers_and_none_named_give_a_clear_message() {
    let caddy = Caddy::start_with(|port| {
        json!({
            "one": {"listen": [format!("127.0.0.1:{port}")], "automatic_https": {"disable": true}, "routes": [user_route()]},
            "two": {"listen": [format!("127.0.0.1:{}", common::caddy::free_port())], "automatic_https": {"disable": true}}
        })
    });
    let prefix = format!("{}.", unique("p"));
    let domain = format!("{}.test", unique("m"));
    let _web = web(None, &revp(&prefix, &domain, &[]), "page-m");
    let monitor = start(config(&caddy, &prefix, Duration::from_secs(60))).await;
    let engine = monitor.engine();
    let source = wait_for(engine, Duration::from_secs(10), "Caddy degraded", |s| {
        caddy_source(s)
            .filter(|c| c.state == SourceState::Degraded)
            .cloned()
    })
    .await;
    let reason = source.reason.unwrap_or_default();
    assert!(
        reason.contains("several HTTP servers (one, two)")
            && reason.contains("[caddy] server = \"one\""),
        "{reason}"
    );
    let service = wait_for(engine, Duration::from_secs(10), "the service failed", |s| {
        s.services
            .iter()
            .find(|x| x.domain == domain && x.caddy == RouteState::Failed)
            .cloned()
    })
    .await;
    assert_eq!(service.caddy_message.as_deref(), Some(reason.as_str()));
    assert_eq!(
        caddy.routes("one"),
        vec![user_route()],
        "nothing was pushed anywhere"
    );
    assert_eq!(caddy.get(USER_HOST, "/"), (200, USER_PAGE.to_owned()));
    let _: Value = caddy
        .admin_get("/config/apps/http/servers/two")
        .expect("server two as it was");
    monitor.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docktray_restarting_leaves_the_routes_in_place() {
    let caddy = Caddy::start();
    let prefix = format!("{}.", unique("p"));
    let domain = format!("{}.test", unique("k"));
    let web = web(None, &revp(&prefix, &domain, &[]), "page-k");
    let first = start(config(&caddy, &prefix, Duration::from_secs(60))).await;
    eventually(Duration::from_secs(15), "the route", || {
        (caddy.get(&domain, "/") == (200, "page-k".to_owned())).then_some(())
    })
    .await;
    first.shutdown().await.expect("shutdown");
    let route = caddy
        .admin_get(&format!("/id/{}", route_id(&web)))
        .expect("kept after Docktray stops");

    let second = start(config(&caddy, &prefix, Duration::from_secs(60))).await;
    let proxy = wait_for(
        second.engine(),
        Duration::from_secs(15),
        "the first comparison",
        |s| {
            s.proxy
                .clone()
                .filter(|p| p.last_check.is_some() && !p.routes.is_empty())
        },
    )
    .await;
    assert_eq!(
        proxy.stale_removed, 0,
        "nothing taken for stale before the engine knew its containers"
    );
    assert_eq!(
        caddy.admin_get(&format!("/id/{}", route_id(&web))),
        Some(route)
    );
    let log = caddy.log();
    assert!(
        log.contains("\"method\":\"PUT\""),
        "Caddy logs the admin requests: {log}"
    );
    assert!(
        !log.contains("\"method\":\"DELETE\""),
        "the route was never removed: {log}"
    );
    assert_eq!(caddy.get(&domain, "/"), (200, "page-k".to_owned()));
    second.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_true_gets_a_certificate_from_caddy_and_ssl_false_stays_plain_http() {
    let caddy = Caddy::start_tls();
    let prefix = format!("{}.", unique("p"));
    let mut config = config(&caddy, &prefix, Duration::from_secs(60));
    config.caddy.server = "main".to_owned();
    config.caddy.http_server = "plain".to_owned();
    let secure_domain = format!("{}.test", unique("tls"));
    let plain_domain = format!("{}.test", unique("http"));
    let secure = web(
        None,
        &revp(&prefix, &secure_domain, &[("ssl", "true")]),
        "page-tls",
    );
    let plain = web(
        None,
        &revp(&prefix, &plain_domain, &[("ssl", "false")]),
        "page-http",
    );
    let monitor = start(config).await;
    // Caddy obtains a certificate for the domain (from its local CA here) and serves it: curl verifies it.
    eventually(
        Duration::from_secs(20),
        "the HTTPS page with Caddy's certificate",
        || (caddy.get_https(&secure_domain, "/") == (200, "page-tls".to_owned())).then_some(()),
    )
    .await;
    eventually(Duration::from_secs(20), "the plain HTTP page", || {
        (caddy.get(&plain_domain, "/") == (200, "page-http".to_owned())).then_some(())
    })
    .await;
    assert_eq!(
        caddy
            .admin_get(&format!("/id/{}", route_id(&plain)))
            .and_then(|r| r["match"][0]["host"][0].as_str().map(str::to_owned)),
        Some(plain_domain.clone())
    );
    assert!(caddy
        .routes("plain")
        .iter()
        .any(|r| r["@id"] == route_id(&plain).as_str()));
    assert!(caddy
        .routes("main")
        .iter()
        .any(|r| r["@id"] == route_id(&secure).as_str()));
    let snapshot = monitor.engine().snapshot();
    for (container, url) in [
        (&secure, format!("https://{secure_domain}/")),
        (&plain, format!("http://{plain_domain}/")),
    ] {
        let service = snapshot
            .services
            .iter()
            .find(|s| s.container_name == container.name)
            .expect("its service");
        assert_eq!(service.url, url);
        assert_eq!(
            (service.caddy, service.caddy_message.as_deref()),
            (RouteState::Routed, None)
        );
    }
    assert_eq!(caddy.get_https(USER_HOST, "/"), (200, USER_PAGE.to_owned()));
    monitor.shutdown().await.expect("shutdown");
}
