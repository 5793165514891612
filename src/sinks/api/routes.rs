//! Every route, once: the API under `/api/v1/` and the predecessors' own paths as compatibility routes (same
//! handlers, their shapes). The table also makes the OpenAPI document served at `/api/v1/openapi.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::registry::Registry;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

use super::error::{ApiError, ErrorBody};
use super::guard::Rules;
use super::hub::Hub;
use super::monitoring::{MetricsQuery, ThresholdUpdate, ThresholdView};
use super::table::{path, query, Answer, Doc, Param, Table};
use super::token::ApiToken;
use super::{
    containers, exports, health, metrics, monitoring, session, settings, streams, terminal,
    workbench, Sources,
};
use crate::config::{ApiConfig, Config};

/// What every handler reads.
pub struct ApiState {
    pub sources: Sources,
    pub token: ApiToken,
    pub rules: Rules,
    pub api: ApiConfig,
    pub hub: Arc<Hub>,
    pub registry: Registry,
    /// The OpenAPI document, made once.
    pub openapi: String,
    /// One settings change at a time.
    pub saving: tokio::sync::Mutex<()>,
    /// Pages signed in with a session cookie.
    pub sessions: super::session::Sessions,
}

impl ApiState {
    /// The settings in force.
    pub fn config(&self) -> Config {
        self.sources.control.settings().0
    }
}

const REF: Param = path(
    "ref",
    "A container: id, unique id prefix (4+ characters), name, or HOST:NAME",
);
const CONTAINER_FILTERS: &[Param] = &[
    query(
        "host",
        "string",
        "Only containers on this host (`local` is this machine)",
    ),
    query(
        "state",
        "string",
        "Only containers in this state: running, exited, paused ...",
    ),
    query(
        "project",
        "string",
        "Only containers of this compose project",
    ),
];
const LOG_PARAMS: &[Param] = &[
    query("tail", "integer", "Start with the last N lines kept"),
    query(
        "since",
        "string",
        "Only lines since: RFC 3339, Unix seconds, or a duration ago (10m)",
    ),
    query("timestamps", "boolean", "Include each line's timestamp"),
];
const STREAM_PARAMS: &[Param] = &[
    query("streams", "string", "Comma-separated: stats, metrics, alerts, containers, sources, hosts, snapshot, system_status, logs"),
    query("container", "string", "The container whose logs to follow (with `logs`)"),
    query("tail", "integer", "Start the logs with the last N lines kept"),
    query("since", "string", "Only log lines since: RFC 3339, Unix seconds, or a duration ago"),
    query("timestamps", "boolean", "Include each log line's timestamp"),
];

/// The route table: both the router and the document come from it.
fn table() -> Table {
    let t = Table::new();
    // Health probes (the Enhanced Docker Monitor's), open ones first.
    let t = t
        .get(
            "/healthz",
            health::healthz,
            Doc::json(
                "health",
                "200 while the engine runs, 503 once its task died",
            )
            .open(),
        )
        .get(
            "/readiness",
            health::readiness,
            Doc::json(
                "health",
                "200 once every source delivered its first round, 503 before",
            )
            .open(),
        )
        .get(
            "/health",
            health::health,
            Doc::json(
                "health",
                "Each source's state, last error and step, failures, next retry; the overall level",
            ),
        )
        .get(
            "/errors",
            health::errors,
            Doc::json("health", "The connection error history of each source"),
        )
        .get(
            "/api/v1/health",
            health::health,
            Doc::json(
                "health",
                "Each source's state, last error and step, failures, next retry; the overall level",
            ),
        )
        .get(
            "/api/v1/errors",
            health::errors,
            Doc::json("health", "The connection error history of each source"),
        );
    // Containers, compatibility paths and the API's.
    let t = [
        ("/containers", "/containers/summary", "/containers/{ref}"),
        (
            "/api/v1/containers",
            "/api/v1/containers/summary",
            "/api/v1/containers/{ref}",
        ),
    ]
    .into_iter()
    .fold(t, |t, (all, summary, one)| {
        t.get(
            all,
            containers::list,
            Doc::json(
                "containers",
                "Containers with their live figures, filtered by host, state, compose project",
            )
            .params(CONTAINER_FILTERS),
        )
        .get(
            summary,
            containers::summary,
            Doc::json("containers", "Container counts by host and state"),
        )
        .get(
            one,
            containers::one,
            Doc::json("containers", "One container with its live figures").params(&[REF]),
        )
    });
    let t = t
        .post(
            "/api/v1/containers/{ref}/{action}",
            containers::act,
            Doc::json("actions", "start, stop, restart, pause or unpause a container (needs [api] allow_actions = true)")
                .params(&[REF, path("action", "start, stop, restart, pause or unpause")]),
        )
        .get("/api/v1/containers/{ref}/logs", streams::events_for_container, Doc::json("logs", "A container's logs as Server-Sent Events (`logs` events)").params(&[REF, LOG_PARAMS[0], LOG_PARAMS[1], LOG_PARAMS[2]]).answer(Answer::EventStream))
        .get("/api/v1/snapshot", containers::snapshot, Doc::json("state", "Everything known right now, as the desktop window gets it (Snapshot)"));
    let t = workbench_routes(t);
    let t = settings::routes(t);
    // Servers (Dockpeek) and services (Enhanced Docker Monitor), both places.
    let t = ["", "/api/v1"].into_iter().fold(t, |t, base| {
        let at = |p: &str| format!("{base}{p}");
        t.get(
            &at("/server-stats"),
            containers::server_stats,
            Doc::json(
                "servers",
                "Every Docker host and Webdock VPS in the normalised server-stats form",
            ),
        )
        .get(
            &at("/server-stats/{name}"),
            containers::server_stats_one,
            Doc::json("servers", "One host or VPS by name (or VPS slug)")
                .params(&[path("name", "The server's name, or a VPS's slug")]),
        )
        .get(
            &at("/services"),
            containers::services,
            Doc::json(
                "services",
                "Services read from container labels, with Caddy's state",
            ),
        )
        .get(
            &at("/services/schema"),
            containers::services_schema,
            Doc::json("services", "The service types and their label keys"),
        )
        .get(
            &at("/labels"),
            containers::labels,
            Doc::json("services", "Each container's service labels").params(&[query(
                "prefix",
                "string",
                "Labels starting with this prefix (default: [services] label_prefix)",
            )]),
        )
        .get(
            &at("/caddy"),
            containers::caddy,
            Doc::json(
                "services",
                "Running services with what a reverse proxy needs to route them",
            ),
        )
        .get(
            &at("/caddy/status"),
            containers::caddy_status,
            Doc::json(
                "services",
                "Caddy's reachability and the routes Docktray keeps there",
            ),
        )
        .get(
            &at("/ips"),
            containers::ips,
            Doc::json("services", "Each container's addresses per network"),
        )
    });
    // WakeDock's monitoring API.
    let t = t
        .get("/api/v1/monitoring/status", monitoring::status, Doc::json("monitoring", "Whether monitoring runs, what it watches, stream counters"))
        .get("/api/v1/monitoring/containers", monitoring::containers, Doc::json("monitoring", "The running containers with their latest figures"))
        .get(
            "/api/v1/monitoring/metrics",
            monitoring::metrics,
            Doc::json("monitoring", "Recorded figures from the history").params(&[
                query("container_id", "string", "A container id, prefix, name or HOST:NAME (default: all)"),
                query("service_name", "string", "Only containers of this compose service"),
                query("hours", "number", "Hours back from now (default 1)"),
                query("limit", "integer", "At most this many rows, newest kept (default 1000)"),
            ]),
        )
        .post("/api/v1/monitoring/metrics/query", monitoring::metrics_query, Doc::json("monitoring", "Recorded figures from the history, the query as JSON").body("MetricsQuery"))
        .get(
            "/api/v1/monitoring/alerts",
            monitoring::alerts,
            Doc::json("monitoring", "Recorded alerts, newest first").params(&[
                query("level", "string", "Alerts that reached at least this level: info, warning, critical"),
                query("hours", "number", "Alerts active within the last N hours (default 24)"),
            ]),
        )
        .get("/api/v1/monitoring/thresholds", monitoring::thresholds, Doc::json("monitoring", "The alert thresholds").schema("ThresholdList"))
        .put(
            "/api/v1/monitoring/thresholds/{metric}",
            monitoring::put_threshold,
            Doc::json("monitoring", "Change a threshold: saved into the config file (comments kept) and applied at once")
                .params(&[path("metric", "A [thresholds] key (container_cpu_percent ...) or WakeDock's cpu_percent, memory_percent, network_rx, network_tx")])
                .body("ThresholdUpdate")
                .schema("ThresholdView"),
        );
    // Streams.
    t.get(
        "/api/v1/events",
        streams::events,
        Doc::json(
            "streams",
            "Server-Sent Events: stats, alerts, container and source changes, logs",
        )
        .params(STREAM_PARAMS)
        .answer(Answer::EventStream),
    )
    .get(
        "/api/v1/ws",
        streams::websocket,
        Doc::json("streams", "WebSocket: subscribe to streams (docs/api.md)")
            .params(STREAM_PARAMS)
            .answer(Answer::WebSocket),
    )
    .get(
        "/api/v1/monitoring/ws",
        streams::websocket,
        Doc::json("streams", "WakeDock's WebSocket: the same protocol")
            .params(STREAM_PARAMS)
            .answer(Answer::WebSocket),
    )
    .get(
        "/ws/containers/{ref}/logs",
        streams::container_logs,
        Doc::json("streams", "The Control Platform's log WebSocket")
            .params(&[REF, LOG_PARAMS[0], LOG_PARAMS[1], LOG_PARAMS[2]])
            .answer(Answer::WebSocket),
    )
    .get(
        "/ws/containers/{ref}/stats",
        streams::container_stats,
        Doc::json(
            "streams",
            "The Control Platform's stats WebSocket: the container's figures each sweep",
        )
        .params(&[REF])
        .answer(Answer::WebSocket),
    )
    .get(
        "/metrics",
        scrape,
        Doc::json(
            "metrics",
            "Prometheus metrics (cAdvisor names for containers)",
        )
        .answer(Answer::Metrics),
    )
    .get(
        "/api/v1/metrics",
        scrape,
        Doc::json(
            "metrics",
            "Prometheus metrics (cAdvisor names for containers)",
        )
        .answer(Answer::Metrics),
    )
    .get(
        "/api/v1/openapi.json",
        openapi,
        Doc::json("meta", "This document (OpenAPI 3.1)"),
    )
    // The page's sign-in (src/sinks/api/session.rs).
    .post(
        session::SESSION_PATH,
        session::sign_in,
        Doc::json(
            "session",
            "Sign a browser page in with the token: a session cookie and a CSRF token",
        )
        .body("SignIn")
        .schema("SessionInfo")
        .open(),
    )
    .get(
        session::SESSION_PATH,
        session::current,
        Doc::json(
            "session",
            "The signed-in page's CSRF token and what it may do",
        )
        .schema("SessionInfo"),
    )
    .delete(
        session::SESSION_PATH,
        session::sign_out,
        Doc::json(
            "session",
            "Sign out: the session cookie is refused from now on",
        ),
    )
}

const HOST: Param = path(
    "host",
    "A watched Docker host: `local` or an SSH host's name",
);

/// What the window's detail, workbench and timeline views do (src/sinks/api/workbench.rs).
fn workbench_routes(t: Table) -> Table {
    let doc = |tag, summary| Doc::json(tag, summary);
    t.get(
        "/api/v1/containers/{ref}/detail",
        workbench::detail,
        doc("containers", "A container's inspect data: command, environment names, mounts, ports, networks, labels").params(&[REF]),
    )
    .post(
        "/api/v1/alerts/{id}/acknowledge",
        workbench::acknowledge,
        doc("alerts", "Acknowledge an active alert: it stays listed but no longer drives the overall level (needs [api] allow_actions = true)")
            .params(&[path("id", "The alert's number")]),
    )
    .get("/api/v1/hosts/{host}/images", workbench::images, doc("workbench", "The host's images with size and the containers using them").params(&[HOST]))
    .get("/api/v1/hosts/{host}/volumes", workbench::volumes, doc("workbench", "The host's volumes with the containers using them").params(&[HOST]))
    .get("/api/v1/hosts/{host}/networks", workbench::networks, doc("workbench", "The host's networks with the containers on them").params(&[HOST]))
    .get(
        "/api/v1/hosts/{host}/disk-usage",
        workbench::disk_usage,
        doc("workbench", "Docker's disk usage on the host, as `docker system df`").params(&[
            HOST,
            query("fresh", "boolean", "Measure now instead of answering the last measurement (up to 6 minutes old)"),
        ]),
    )
    .delete(
        "/api/v1/hosts/{host}/images/{image}",
        workbench::remove_image,
        doc("workbench", "Remove an image; refused while a container uses it unless force (needs [api] allow_actions = true)").params(&[
            HOST,
            path("image", "The image's id or name:tag (URL-encoded)"),
            query("force", "boolean", "Remove it even though containers use it"),
        ]),
    )
    .post("/api/v1/hosts/{host}/images/prune", workbench::prune_images, doc("workbench", "Remove dangling images (needs [api] allow_actions = true)").params(&[HOST]))
    .delete(
        "/api/v1/hosts/{host}/volumes/{volume}",
        workbench::remove_volume,
        doc("workbench", "Remove a volume; refused while a container uses it (needs [api] allow_actions = true)")
            .params(&[HOST, path("volume", "The volume's name")]),
    )
    .post("/api/v1/hosts/{host}/volumes/prune", workbench::prune_volumes, doc("workbench", "Remove unused volumes (needs [api] allow_actions = true)").params(&[HOST]))
    .delete(
        "/api/v1/hosts/{host}/networks/{network}",
        workbench::remove_network,
        doc("workbench", "Remove a network; refused while containers are on it (needs [api] allow_actions = true)")
            .params(&[HOST, path("network", "The network's name or id")]),
    )
    .get(
        "/api/v1/hosts/{host}/stacks/{project}/plan",
        workbench::stack_plan,
        doc("workbench", "What a compose stack action would do, step by step").params(&[
            HOST,
            path("project", "The compose project"),
            query("action", "string", "start, stop or restart"),
        ]),
    )
    .post(
        "/api/v1/hosts/{host}/stacks/{project}/{action}",
        workbench::stack,
        doc("workbench", "Start, stop or restart a compose project in dependency order (needs [api] allow_actions = true)").params(&[
            HOST,
            path("project", "The compose project"),
            path("action", "start, stop or restart"),
        ]),
    )
    .post(
        "/api/v1/hosts/{host}/retry",
        workbench::retry_host,
        doc("hosts", "End a host's backoff wait and connect now (needs [api] allow_actions = true)")
            .params(&[path("host", "A configured host's name")]),
    )
    .get(
        "/api/v1/containers/{ref}/exec",
        terminal::exec,
        doc("workbench", "A terminal in a running container: output as binary messages, typed bytes back, resizes as JSON (needs [api] allow_actions = true; docs/api.md)").params(&[
            REF,
            query("shell", "string", "The shell to run (default: bash, else sh)"),
            query("cols", "integer", "The terminal's width in columns (default 80)"),
            query("rows", "integer", "The terminal's height in rows (default 24)"),
        ])
        .answer(Answer::WebSocket),
    )
    .get(
        "/api/v1/alerts",
        exports::alerts,
        doc("alerts", "Alerts with their history, newest first: the active ones live, the rest from the history (the window's Alerts view)").params(&[
            query("active_only", "boolean", "Only alerts still active"),
            query("level", "string", "Alerts that reached at least this level: info, warning, critical"),
            query("since", "string", "Only alerts since: RFC 3339, Unix seconds, or a duration ago (24h)"),
        ]),
    )
    .get(
        "/api/v1/timeline/export",
        exports::timeline,
        doc("timeline", "Every timeline row the filter selects, as a file to download (CSV or JSON lines, as `docktray events`)").params(&[
            query("format", "string", "csv (default) or jsonl"),
            query("since", "string", "Only rows since: RFC 3339, Unix seconds, or a duration ago (10m)"),
            query("until", "string", "Only rows until"),
            query("host", "string", "Only this host's rows"),
            query("container", "string", "Only this container's rows (name or id)"),
            query("kind", "string", "An event kind, a scope or audit"),
            query("text", "string", "Words every row must contain"),
            query("audit_only", "boolean", "Audit entries only"),
            query("limit", "integer", "The newest N rows"),
        ])
        .answer(Answer::Download),
    )
    .get(
        "/api/v1/history/export",
        exports::series,
        doc("history", "Recorded figures of a container or host over a time range, as a file to download (the columns of `docktray history --csv`)").params(&[
            query("container", "string", "A container's id, id prefix or name (with `host`); leave out for a host's own figures"),
            query("host", "string", "The container's host, or the host whose figures to export"),
            query("metrics", "string", "Comma-separated metric names (cpu_percent, memory_bytes ...)"),
            query("since", "string", "From: RFC 3339, Unix seconds, or a duration ago"),
            query("until", "string", "To: RFC 3339, Unix seconds, or a duration ago"),
            query("format", "string", "csv (default) or jsonl"),
        ])
        .answer(Answer::Download),
    )
    .get(
        "/api/v1/timeline",
        workbench::timeline,
        doc("timeline", "Engine events and audit entries from the history, oldest first (the newest `limit`, at most 2000)").params(&[
            query("since", "string", "Only rows since: RFC 3339, Unix seconds, or a duration ago (10m)"),
            query("until", "string", "Only rows until: RFC 3339, Unix seconds, or a duration ago"),
            query("host", "string", "Only this host's rows"),
            query("container", "string", "Only this container's rows (name or id)"),
            query("kind", "string", "An event kind (die, oom ...), a scope (container, image, volume, network) or audit"),
            query("text", "string", "Words every row must contain"),
            query("audit_only", "boolean", "Audit entries only"),
            query("limit", "integer", "The newest N rows (at most 2000)"),
        ]),
    )
}

/// The REST routes, the stream routes (no time limit: they last) and the OpenAPI document.
pub fn build() -> (Router<Arc<ApiState>>, OpenApi) {
    let table = table();
    let document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Docktray API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "What Docktray knows, over HTTP: containers, hosts, alerts, live streams and Prometheus \
                     metrics (docs/api.md). Every endpoint but /healthz and /readiness needs \
                     `Authorization: Bearer <token>` (`docktray api token`).",
                ))
                .build(),
        )
        .paths(table.paths)
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<ErrorBody>()
                .schema_from::<MetricsQuery>()
                .schema_from::<ThresholdUpdate>()
                .schema_from::<ThresholdView>()
                .schema_from::<session::SignIn>()
                .schema_from::<session::SessionInfo>()
                .schema_from::<settings::SettingsBody>()
                .schema_from::<settings::Validation>()
                .schema_from::<settings::PauseBody>()
                .schema_from::<settings::WebdockBody>()
                .schema_from::<settings::HostBody>()
                .schema(
                    "ThresholdList",
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(utoipa::openapi::Ref::from_schema_name("ThresholdView")),
                )
                .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
                .build(),
        ))
        .security(Some([SecurityRequirement::new("bearer", Vec::<String>::new())]))
        .build();
    (table.router, document)
}

/// Whether the scraper asked for OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"))
}

async fn scrape(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    match metrics::scrape(&state.registry, wants_openmetrics(&headers)) {
        Ok((body, content_type)) => {
            let mut response = body.into_response();
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        Err(_) => ApiError::internal("the metrics could not be written").into_response(),
    }
}

async fn openapi(State(state): State<Arc<ApiState>>) -> Response {
    let mut response = (StatusCode::OK, state.openapi.clone()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Unknown paths: the page's files (`/`, `/assets/...`), else a JSON 404 listing where to look.
pub use super::page::fallback;
