//! Keeps a Caddy reverse proxy's routes in step with the services (docs/services.md). A sink: it reads the
//! engine's updates and snapshots, works out the routes the running services want ([`plan`]) and makes Caddy
//! hold exactly those of Docktray's through the admin API ([`admin`]), by their `@id`, never touching the
//! user's own routes. Caddy's reachability goes back to the engine as a source of kind `caddy` (state, errors,
//! backoff; the engine raises "Caddy unreachable"), the routes' states as [`Observation::Proxy`].
//!
//! Changes are pushed when containers change; every `[caddy] check_every` Caddy's routes are compared in full,
//! which removes stale routes and puts back those a restarted Caddy lost. While Caddy is away nothing is lost:
//! the next pass after it is back pushes everything again.

pub mod admin;
mod inspect;
pub mod plan;
pub mod shapes;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::Config;
use crate::engine::View;
use crate::model::{
    ErrorStep, Observation, ProxyStatus, Reporter, RouteState, SourceState, SourceStatus, Update,
};
use crate::util::Backoff;
use admin::{Admin, AdminError};
pub use inspect::inspect;
use plan::{found_routes, plan, protected_hosts, resolve_servers, wanted_routes, Change, Wanted};

/// The name and kind of Caddy's source status.
pub const SOURCE: &str = "caddy";
/// Container changes arriving this close together are pushed in one pass.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// Even when nothing changed, the routes' status is reported this often (its `last_check` moves on).
const REPORT_AT_LEAST: Duration = Duration::from_secs(60);
/// The longest wait for the engine's first full round before the first comparison (a slow Webdock account
/// must not keep routes waiting for long).
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The running sync; `None` from [`CaddySync::start`] while `[caddy] admin_url` is empty.
pub struct CaddySync {
    task: JoinHandle<()>,
    retry: Arc<Notify>,
    stop: watch::Sender<bool>,
}

impl CaddySync {
    /// Starts keeping Caddy's routes, inside a tokio runtime; `None` when Caddy sync is off.
    pub fn start(
        config: &Config,
        view: View,
        updates: broadcast::Receiver<Update>,
        reporter: Reporter,
    ) -> Option<Self> {
        if !config.caddy.enabled() {
            return None;
        }
        let base = config.caddy.admin_base();
        let admin = match Admin::new(&base) {
            Ok(admin) => admin,
            Err(err) => {
                tracing::error!(%err, "Caddy sync not started");
                return None;
            }
        };
        let retry = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let syncer = Syncer {
            config: config.clone(),
            view,
            reporter,
            status: SourceStatus::connecting(SOURCE, SOURCE, &base),
            proxy: ProxyStatus {
                admin_url: base.clone(),
                server: None,
                http_server: None,
                routes: Vec::new(),
                user_routes: 0,
                stale_removed: 0,
                last_check: None,
            },
            admin,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)),
            reported: None,
            last_wanted: None,
        };
        let task = tokio::spawn(run(syncer, updates, retry.clone(), stop_rx));
        Some(Self { task, retry, stop })
    }

    /// Ends the backoff wait and talks to Caddy now ("retry now").
    pub fn retry_now(&self) {
        self.retry.notify_one();
    }

    /// Stops the sync; the routes stay in Caddy (the containers still run and keep being served).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Syncer {
    config: Config,
    view: View,
    reporter: Reporter,
    admin: Admin,
    status: SourceStatus,
    proxy: ProxyStatus,
    backoff: Backoff,
    /// The routes' status as last reported, and when.
    reported: Option<(ProxyStatus, Instant)>,
    /// The routes wanted at the last pass that reached Caddy.
    last_wanted: Option<Vec<Wanted>>,
}

async fn run(
    mut syncer: Syncer,
    mut updates: broadcast::Receiver<Update>,
    retry: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    syncer.report_source().await;
    // Before the engine's first round, its state holds no containers: comparing then would take every route
    // in Caddy for stale and remove it, then add it back a moment later.
    let give_up = Instant::now() + STARTUP_WAIT;
    while !syncer.view.is_ready() && Instant::now() < give_up {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => return,
        }
    }
    let mut next_full = Instant::now();
    let mut quick: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_full) => {
                quick = None;
                next_full = Instant::now() + syncer.pass().await;
            }
            _ = until(quick) => {
                quick = None;
                if syncer.status.state == SourceState::Unreachable {
                    syncer.waiting_routes().await;
                } else if syncer.wanted_changed() {
                    next_full = Instant::now() + syncer.pass().await;
                }
            }
            update = updates.recv() => match update {
                Ok(Update::ContainerChanged(_) | Update::ContainerRemoved { .. } | Update::HostRemoved { .. })
                | Err(broadcast::error::RecvError::Lagged(_)) => {
                    quick.get_or_insert_with(|| Instant::now() + DEBOUNCE);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = retry.notified() => {
                tracing::info!("Caddy: retrying now, as asked");
                next_full = Instant::now();
            }
            _ = stop.changed() => return,
        }
    }
}

async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Syncer {
    fn wanted(&self) -> Vec<Wanted> {
        wanted_routes(&self.view.snapshot(), &self.config)
    }

    fn wanted_changed(&self) -> bool {
        self.last_wanted.as_ref() != Some(&self.wanted())
    }

    /// The wanted routes and the hosts whose stale-looking routes are kept.
    fn look(&self) -> (Vec<Wanted>, BTreeSet<String>) {
        let snapshot = self.view.snapshot();
        (
            wanted_routes(&snapshot, &self.config),
            protected_hosts(&snapshot),
        )
    }

    /// Compares Caddy's routes with the wanted ones and makes them agree. Returns when to compare again.
    async fn pass(&mut self) -> Duration {
        let (wanted, protected) = self.look();
        let app = match self.admin.http_app().await {
            Ok(app) => app,
            Err(err) => return self.unreachable(err, &wanted).await,
        };
        let servers = match resolve_servers(&app, &self.config) {
            Ok(servers) => servers,
            Err(why) => {
                // Caddy answers, but Docktray cannot tell where its routes go: say so on every route.
                self.proxy.server = None;
                self.proxy.http_server = None;
                self.proxy.routes = plan(
                    &wanted,
                    &Default::default(),
                    &placeholder(),
                    &BTreeSet::new(),
                )
                .1
                .into_iter()
                .map(|mut route| {
                    route.state = RouteState::Failed;
                    route.server = None;
                    route.message = Some(why.clone());
                    route
                })
                .collect();
                self.reachable(Some(why)).await;
                self.last_wanted = Some(wanted);
                return self.config.caddy.check_every;
            }
        };
        let found = found_routes(&app);
        let (changes, mut statuses) = plan(&wanted, &found, &servers, &protected);
        let mut with_routes: BTreeSet<String> = found.with_routes.iter().cloned().collect();
        let mut refused: BTreeMap<String, String> = BTreeMap::new();
        for change in changes {
            let (id, result) = match &change {
                Change::Delete { id, stale } => {
                    let result = self.admin.delete_route(id).await;
                    if result.is_ok() {
                        if *stale {
                            self.proxy.stale_removed += 1;
                        }
                        tracing::info!(route = %id, stale, "Caddy: route removed");
                    }
                    (id, result)
                }
                Change::Insert { id, server, route } => {
                    let has_routes = with_routes.contains(server);
                    let result = self.admin.insert_route(server, has_routes, route).await;
                    if result.is_ok() {
                        with_routes.insert(server.clone());
                        tracing::info!(route = %id, %server, "Caddy: route added");
                    }
                    (id, result)
                }
                Change::Replace { id, route } => {
                    let result = self.admin.replace_route(id, route).await;
                    if result.is_ok() {
                        tracing::info!(route = %id, "Caddy: route changed");
                    }
                    (id, result)
                }
            };
            match result {
                Ok(()) => {}
                Err(err @ AdminError::Unreachable { .. }) => {
                    return self.unreachable(err, &wanted).await
                }
                Err(err @ AdminError::Refused { .. }) => {
                    tracing::warn!(route = %id, %err, "Caddy refused a change");
                    refused.insert(id.clone(), err.to_string());
                }
            }
        }
        for status in &mut statuses {
            if let Some(why) = refused.get(&status.id) {
                status.state = RouteState::Failed;
                status.message = Some(why.clone());
            }
        }
        let used: BTreeSet<&String> = statuses.iter().filter_map(|s| s.server.as_ref()).collect();
        self.proxy.user_routes = found
            .user_routes
            .iter()
            .filter(|(server, _)| used.contains(server) || **server == servers.main)
            .map(|(_, count)| count)
            .sum();
        self.proxy.server = Some(servers.main.clone());
        self.proxy.http_server = servers.http.clone();
        self.proxy.routes = statuses;
        let problem = (!refused.is_empty()).then(|| {
            let first = refused.values().next().cloned().unwrap_or_default();
            format!(
                "Caddy refused {} of Docktray's routes: {first}",
                refused.len()
            )
        });
        self.reachable(problem).await;
        self.last_wanted = Some(wanted);
        self.config.caddy.check_every
    }

    /// Caddy answered: up, or degraded with `problem` (it refused routes, or its servers are ambiguous).
    async fn reachable(&mut self, problem: Option<String>) {
        self.backoff.reset();
        let state = if problem.is_some() {
            SourceState::Degraded
        } else {
            SourceState::Up
        };
        let changed = self.status.state != state || self.status.reason != problem;
        if changed {
            let now = Utc::now();
            if self.status.state == SourceState::Unreachable {
                tracing::info!(admin = %self.admin.base(), "Caddy is back: pushing its routes again");
            }
            if let Some(problem) = &problem {
                self.status
                    .record_error(ErrorStep::Caddy, problem.clone(), now);
            }
            self.status.state = state;
            self.status.reason = problem;
            self.status.consecutive_failures = 0;
            self.status.next_retry = None;
            self.status.since = now;
            self.report_source().await;
        }
        self.proxy.last_check = Some(Utc::now());
        self.report_proxy().await;
    }

    /// Caddy did not answer: unreachable with the reason, retried with backoff; the routes wait.
    async fn unreachable(&mut self, err: AdminError, wanted: &[Wanted]) -> Duration {
        let delay = self.backoff.next_delay();
        let now = Utc::now();
        let reason = err.to_string();
        if self.status.state != SourceState::Unreachable {
            tracing::warn!(%reason, retry_in = ?delay, "Caddy unreachable");
            self.status.since = now;
        }
        self.status.state = SourceState::Unreachable;
        self.status.reason = Some(reason.clone());
        self.status.record_error(ErrorStep::Caddy, reason, now);
        self.status.consecutive_failures = self.status.consecutive_failures.saturating_add(1);
        self.status.next_retry = chrono::TimeDelta::from_std(delay).ok().map(|d| now + d);
        self.report_source().await;
        // Whatever was pushed before may be gone (a restarted Caddy): everything is compared again when back.
        self.last_wanted = None;
        self.set_waiting(wanted);
        self.report_proxy().await;
        delay
    }

    /// While Caddy is away, the routes of services that changed meanwhile wait too.
    async fn waiting_routes(&mut self) {
        let wanted = self.wanted();
        self.set_waiting(&wanted);
        self.report_proxy().await;
    }

    fn set_waiting(&mut self, wanted: &[Wanted]) {
        self.proxy.routes = plan(
            wanted,
            &Default::default(),
            &placeholder(),
            &BTreeSet::new(),
        )
        .1
        .into_iter()
        .map(|mut route| {
            route.server = self.proxy.server.clone();
            if route.state != RouteState::Failed {
                route.state = RouteState::Unreachable;
                route.message = Some("waiting for Caddy: pushed when it is back".to_owned());
            }
            route
        })
        .collect();
    }

    async fn report_source(&self) {
        self.reporter
            .report(Observation::Source(self.status.clone()))
            .await;
    }

    /// Reports the routes' status when it changed (`last_check` aside), and at least every minute.
    async fn report_proxy(&mut self) {
        let mut comparable = self.proxy.clone();
        let due = match &self.reported {
            None => true,
            Some((before, at)) => {
                comparable.last_check = before.last_check;
                *before != comparable || at.elapsed() >= REPORT_AT_LEAST
            }
        };
        if due {
            self.reported = Some((self.proxy.clone(), Instant::now()));
            self.reporter
                .report(Observation::Proxy(Box::new(self.proxy.clone())))
                .await;
        }
    }
}

/// Servers for planning routes' statuses alone (nothing is sent with them).
fn placeholder() -> plan::Servers {
    plan::Servers {
        main: String::new(),
        http: None,
        automatic_https: BTreeMap::new(),
    }
}
