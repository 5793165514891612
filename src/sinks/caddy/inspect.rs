//! A read-only look at Caddy for one-shot commands (`docktray services`, `docktray caddy status`): is it
//! reachable, and does it hold the routes the services want? Nothing is changed; the running sync (in
//! `docktray watch` or the desktop app) does the changing.

use chrono::Utc;

use super::admin::Admin;
use super::plan::{found_routes, plan, protected_hosts, resolve_servers, wanted_routes, Change};
use super::SOURCE;
use crate::config::Config;
use crate::model::{ErrorStep, ProxyStatus, RouteState, Snapshot, SourceState, SourceStatus};

/// Caddy's reachability and its routes' states as they are now, for the services of `snapshot`.
pub async fn inspect(snapshot: &Snapshot, config: &Config) -> (SourceStatus, ProxyStatus) {
    let base = config.caddy.admin_base();
    let mut status = SourceStatus::connecting(SOURCE, SOURCE, &base);
    let mut proxy = ProxyStatus {
        admin_url: base.clone(),
        server: None,
        http_server: None,
        routes: Vec::new(),
        user_routes: 0,
        stale_removed: 0,
        last_check: Some(Utc::now()),
    };
    let wanted = wanted_routes(snapshot, config);
    let app = match Admin::new(&base) {
        Ok(admin) => admin.http_app().await,
        Err(err) => Err(err),
    };
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            let reason = err.to_string();
            status.state = SourceState::Unreachable;
            status.record_error(ErrorStep::Caddy, reason.clone(), Utc::now());
            status.reason = Some(reason);
            status.consecutive_failures = 1;
            proxy.routes = plan(
                &wanted,
                &Default::default(),
                &super::placeholder(),
                &Default::default(),
            )
            .1;
            for route in &mut proxy.routes {
                route.server = None;
                if route.state != RouteState::Failed {
                    route.state = RouteState::Unreachable;
                    route.message = None;
                }
            }
            return (status, proxy);
        }
    };
    let servers = match resolve_servers(&app, config) {
        Ok(servers) => servers,
        Err(why) => {
            status.state = SourceState::Degraded;
            status.record_error(ErrorStep::Caddy, why.clone(), Utc::now());
            status.reason = Some(why.clone());
            proxy.routes = plan(
                &wanted,
                &Default::default(),
                &super::placeholder(),
                &Default::default(),
            )
            .1;
            for route in &mut proxy.routes {
                route.server = None;
                route.state = RouteState::Failed;
                route.message = Some(why.clone());
            }
            return (status, proxy);
        }
    };
    let found = found_routes(&app);
    let (changes, mut routes) = plan(&wanted, &found, &servers, &protected_hosts(snapshot));
    for change in &changes {
        let (id, why) = match change {
            Change::Insert { id, .. } => (
                id,
                "not in Caddy (yet): is `docktray watch` or the desktop app running?",
            ),
            Change::Replace { id, .. } => (
                id,
                "in Caddy with other settings: the running sync changes it",
            ),
            Change::Delete { .. } => continue,
        };
        if let Some(route) = routes.iter_mut().find(|r| &r.id == id) {
            route.state = RouteState::Pending;
            route.message = Some(why.to_owned());
        }
    }
    proxy.stale_removed = 0;
    proxy.user_routes = found.user_routes.get(&servers.main).copied().unwrap_or(0);
    proxy.server = Some(servers.main);
    proxy.http_server = servers.http;
    proxy.routes = routes;
    status.state = SourceState::Up;
    (status, proxy)
}
