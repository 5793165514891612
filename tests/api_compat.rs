//! The predecessors' routes on a real `docktray serve` (Enhanced Docker Monitor's health probes, the stats and
//! container endpoints, the monitoring API's summaries): each answers in the shape its seed documented, so the
//! scripts and probes written against them keep working.

mod common;

use std::collections::BTreeSet;

use common::serve::{compose_sample, Options, Serve};
use common::*;
use serde_json::Value;

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn has(value: &Value, wanted: &[&str]) {
    let found = keys(value);
    for key in wanted {
        assert!(found.contains(*key), "missing `{key}` in {value}");
    }
}

#[test]
fn compatibility_routes_answer_in_the_seeds_shapes() {
    let container = compose_sample();
    let serve = Serve::start(Options::default());
    serve.wait_listed_with_figures(&container.name);
    // Enhanced Docker Monitor.
    assert_eq!(serve.json("/healthz")["status"], "ok");
    assert_eq!(serve.json("/readiness")["ready"], true);
    let health = serve.json("/health");
    has(&health, &["status", "overall", "sources"]);
    let local = health["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["kind"] == "docker")
        .cloned();
    has(
        &local.expect("the local engine"),
        &[
            "state",
            "last_error",
            "error_step",
            "consecutive_failures",
            "next_retry",
        ],
    );
    has(&serve.json("/errors"), &["sources", "total_errors"]);
    let project = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"com.docker.compose.project\"}}",
        &container.id,
    ]);
    let listed = serve.json(&format!(
        "/containers?project={project}&state=running&host=local"
    ));
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["containers"][0]["name"], container.name.as_str());
    assert_eq!(serve.json("/containers?project=other")["count"], 0);
    let by_id = serve.json(&format!("/containers/{}", &container.id[..12]));
    assert_eq!(by_id["name"], container.name.as_str());
    let by_host = serve.json(&format!("/containers/local:{}", container.name));
    assert_eq!(by_host["id"], container.id.as_str());
    has(
        &by_host["stats"],
        &["cpu_percent", "memory_bytes", "net_rx_bytes"],
    );
    let summary = serve.json("/containers/summary");
    has(&summary, &["total_containers", "by_state", "hosts"]);
    assert!(
        summary["hosts"]["local"]["states"]["running"].as_u64() >= Some(1),
        "{summary}"
    );
    let labels = serve.json("/labels");
    assert_eq!(
        labels[&container.name]["docktray.revp.domain"], "shop.example",
        "{labels}"
    );
    assert!(
        serve.json("/labels?prefix=com.docker.compose.")[&container.name]
            ["com.docker.compose.service"]
            == "web"
    );
    let ips = serve.json("/ips");
    assert!(ips.to_string().contains(&container.name), "{ips}");
    has(
        &serve.json("/services"),
        &["services", "count", "label_prefix"],
    );
    has(
        &serve.json("/services/schema"),
        &["implemented_services", "label_format"],
    );
    serve.json("/caddy");
    serve.json("/caddy/status");
    // Dockpeek.
    let stats = serve.json("/server-stats");
    has(&stats, &["stats", "timestamp", "count"]);
    let host = &stats["stats"][0];
    has(
        host,
        &[
            "server_name",
            "source_type",
            "memory",
            "disk",
            "cpu",
            "status",
        ],
    );
    has(&host["memory"], &["used_gb", "total_gb", "percent"]);
    has(&host["disk"], &["used_gb", "total_gb", "percent"]);
    has(&host["cpu"], &["count"]);
    assert_eq!(
        serve.json("/server-stats/local")["source_type"],
        "docker-host"
    );
    // WakeDock.
    let status = serve.json("/api/v1/monitoring/status");
    has(
        &status["monitoring"],
        &[
            "is_running",
            "monitored_containers",
            "collection_interval",
            "retention_days",
        ],
    );
    has(
        &status["websocket"],
        &["active_connections", "total_connections", "messages_sent"],
    );
    let monitored = serve.json("/api/v1/monitoring/containers");
    let row = monitored["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["container_name"] == container.name.as_str())
        .cloned()
        .expect("the container is monitored");
    has(
        &row,
        &[
            "container_id",
            "container_name",
            "service_name",
            "last_update",
            "cpu_percent",
            "memory_percent",
            "network_rx_mb",
            "network_tx_mb",
        ],
    );
    assert_eq!(row["service_name"], "web");
    // The history has rows once the recorder committed (every 2 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let rows = loop {
        let rows = serve.json(&format!(
            "/api/v1/monitoring/metrics?container_id={}&hours=1&limit=5",
            container.name
        ));
        if rows.as_array().is_some_and(|r| !r.is_empty()) {
            break rows;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no metrics recorded: {rows}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(rows.as_array().expect("rows").len() <= 5);
    has(
        &rows[0],
        &[
            "container_id",
            "container_name",
            "service_name",
            "timestamp",
            "cpu_percent",
            "memory_usage",
            "memory_limit",
            "memory_percent",
            "network_rx_bytes",
            "network_tx_bytes",
            "pids",
        ],
    );
    let (status, text) = serve.request(
        "POST",
        "/api/v1/monitoring/metrics/query",
        &[],
        Some(&format!(
            r#"{{"container_id": "{}", "service_name": "web", "hours": 1, "limit": 3}}"#,
            container.id
        )),
    );
    assert_eq!(status, 200, "{text}");
    let queried: Value = serde_json::from_str(&text).expect("JSON");
    assert!(
        !queried.as_array().expect("rows").is_empty()
            && queried.as_array().expect("rows").len() <= 3
    );
    let alerts = serve.json("/api/v1/monitoring/alerts?level=warning&hours=24");
    assert!(alerts.is_array(), "{alerts}");
    let thresholds = serve.json("/api/v1/monitoring/thresholds");
    let cpu = thresholds
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["wakedock_name"] == "cpu_percent")
        .cloned();
    has(
        &cpu.expect("cpu threshold"),
        &[
            "metric_type",
            "warning_threshold",
            "critical_threshold",
            "enabled",
        ],
    );
    // The API's own snapshot is the desktop window's Snapshot.
    has(
        &serve.json("/api/v1/snapshot"),
        &[
            "taken_at",
            "overall",
            "alerts",
            "sources",
            "hosts",
            "containers",
            "services",
        ],
    );
}
