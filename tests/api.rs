//! The HTTP API of a real `docktray serve` on the test engine: every documented endpoint with and without the
//! token, a wrong token, a wrong `Host`, a foreign `Origin`; bad parameters and unknown containers as JSON
//! errors; the OpenAPI document valid (openapi-spec-validator) and listing exactly the routes served. The
//! predecessors' routes are in `api_compat.rs`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::serve::{compose_sample, Options, Serve};
use common::*;
use serde_json::Value;

/// Each documented (method, path) with its parameters filled in.
fn documented(document: &Value, container: &str) -> Vec<(String, String, bool, bool)> {
    let mut routes = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let open = operation["security"]
                .as_array()
                .is_some_and(|s| s.len() == 1 && s[0].as_object().is_some_and(|o| o.is_empty()));
            let streaming = operation["responses"]["200"]["content"]
                .get("text/event-stream")
                .is_some()
                || operation["responses"].get("101").is_some();
            let filled = path
                .replace("{ref}", container)
                .replace("{name}", "local")
                .replace("{metric}", "cpu_percent")
                .replace("{action}", "unpause");
            routes.push((method.to_uppercase(), filled, open, streaming));
        }
    }
    routes
}

#[test]
fn every_endpoint_checks_token_host_and_origin_and_the_document_lists_the_routes() {
    let container = compose_sample();
    let serve = Serve::start(Options::default());
    serve.wait_listed_with_figures(&container.name);
    let document = serve.json("/api/v1/openapi.json");
    assert_eq!(
        document["openapi"].as_str().map(|v| &v[..3]),
        Some("3.1"),
        "{document}"
    );
    let routes = documented(&document, &container.name);
    assert!(
        routes.len() >= 45,
        "only {} routes documented",
        routes.len()
    );
    let paths: BTreeSet<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for wanted in [
        "/healthz",
        "/readiness",
        "/health",
        "/errors",
        "/containers",
        "/containers/{ref}",
        "/containers/summary",
        "/labels",
        "/ips",
        "/services",
        "/services/schema",
        "/caddy",
        "/caddy/status",
        "/server-stats",
        "/server-stats/{name}",
        "/api/v1/monitoring/status",
        "/api/v1/monitoring/containers",
        "/api/v1/monitoring/metrics",
        "/api/v1/monitoring/metrics/query",
        "/api/v1/monitoring/alerts",
        "/api/v1/monitoring/thresholds",
        "/api/v1/monitoring/thresholds/{metric}",
        "/api/v1/monitoring/ws",
        "/ws/containers/{ref}/logs",
        "/ws/containers/{ref}/stats",
        "/api/v1/events",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/containers/{ref}/{action}",
    ] {
        assert!(
            paths.contains(wanted),
            "{wanted} is not documented: {paths:?}"
        );
    }
    let body = |method: &str| (method != "GET").then_some("{}");
    for (method, path, open, streaming) in &routes {
        // No token: 401 with a JSON message, except the probes.
        let (status, text) =
            serve.request(method, path, &["Authorization: Basic eDp5"], body(method));
        let (status_none, text_none) = {
            let mut command = Command::new("curl");
            command.args(["-s", "-m", "5", "-X", method, "-w", "\n%{http_code}"]);
            if let Some(b) = body(method) {
                command.args(["-H", "Content-Type: application/json", "--data-binary", b]);
            }
            let out = command
                .arg(format!("{}{path}", serve.url()))
                .output()
                .expect("curl");
            let all = String::from_utf8_lossy(&out.stdout).into_owned();
            let (b, c) = all.rsplit_once('\n').expect("code");
            (c.parse::<u16>().expect("code"), b.to_owned())
        };
        let (status_wrong, _) =
            serve.request(method, path, &["Authorization: Bearer wrong"], body(method));
        if *open && method == "POST" && path == "/api/v1/session" {
            // The page's sign-in needs no header (the token is its body): an empty body is a bad request.
            assert_eq!(status_none, 400, "{method} {path}: {text_none}");
        } else if *open {
            assert_eq!(
                status_none, 200,
                "{method} {path} should be open: {text_none}"
            );
        } else {
            assert_eq!(
                status_none, 401,
                "{method} {path} without a token: {text_none}"
            );
            let error: Value = serde_json::from_str(&text_none).expect("JSON error");
            assert!(
                error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("docktray api token")),
                "{error}"
            );
            assert_eq!(status, 401, "{method} {path} with Basic auth: {text}");
            assert_eq!(status_wrong, 401, "{method} {path} with a wrong token");
        }
        // A DNS-rebinding page's Host, and a foreign page's Origin: refused everywhere.
        let (status, text) =
            serve.request(method, path, &["Host: rebind.example:80"], body(method));
        assert_eq!(status, 403, "{method} {path} with a foreign Host: {text}");
        assert!(text.contains("allowed_hosts"), "{text}");
        let (status, text) =
            serve.request(method, path, &["Origin: http://evil.example"], body(method));
        assert_eq!(status, 403, "{method} {path} from a foreign Origin: {text}");
        assert!(
            !text.to_ascii_lowercase().contains("access-control"),
            "{text}"
        );
        // With the token: served (not the unknown-route answer). Streams are tested in api_streams.rs.
        if !streaming {
            let (status, text) = serve.request(method, path, &[], body(method));
            assert!(
                !text.contains("no such endpoint") && status != 401,
                "{method} {path} is documented but not served: {status} {text}"
            );
        }
    }
    // The API's own origin and localhost are fine; an unlisted route is the JSON 404.
    let (status, _) = serve.request(
        "GET",
        "/health",
        &[&format!("Origin: {}", serve.url())],
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = serve.request(
        "GET",
        "/health",
        &[&format!("Host: localhost:{}", serve.port)],
        None,
    );
    assert_eq!(status, 200);
    let (status, text) = serve.get("/api/v1/nothing-here");
    assert_eq!(status, 404);
    assert!(text.contains("no such endpoint"), "{text}");
    // Valid OpenAPI 3.1, by the reference validator.
    let file = serve.dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).expect("write");
    let validator = target_dir().join("api-venv/bin/openapi-spec-validator");
    assert!(
        validator.exists(),
        "{} is missing: scripts/deps.sh test installs it",
        validator.display()
    );
    let out = Command::new(&validator)
        .arg(&file)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The target dir this test binary was built in (`target/debug/deps/api-...` three levels up).
fn target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("target/debug/deps/...")
        .to_path_buf()
}

#[test]
fn bad_input_gets_a_json_error_naming_what_is_wrong() {
    let container = compose_sample();
    let serve = Serve::start(Options::default());
    serve.wait_listed_with_figures(&container.name);
    for (path, status, field) in [
        ("/containers?state=sleepy", 400, Some("state")),
        ("/api/v1/monitoring/metrics?hours=lots", 400, Some("hours")),
        ("/api/v1/monitoring/metrics?hours=-1", 400, Some("hours")),
        ("/api/v1/monitoring/metrics?limit=0", 400, Some("limit")),
        ("/api/v1/monitoring/alerts?level=loud", 400, Some("level")),
        ("/api/v1/events?streams=gossip", 400, Some("streams")),
        ("/api/v1/events?streams=logs", 400, Some("container")),
        (
            &format!("/api/v1/containers/{}/logs?tail=many", container.name),
            400,
            Some("tail"),
        ),
        (
            &format!(
                "/api/v1/containers/{}/logs?since=yesterdayish",
                container.name
            ),
            400,
            Some("since"),
        ),
        ("/containers/no-such-container", 404, None),
        ("/api/v1/containers/no-such-container", 404, None),
        (
            "/api/v1/monitoring/metrics?container_id=no-such-container",
            404,
            None,
        ),
        ("/ws/containers/no-such-container/stats", 404, None),
        ("/server-stats/no-such-host", 404, None),
    ] {
        let (got, text) = serve.get(path);
        assert_eq!(got, status, "{path}: {text}");
        let error: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        assert!(
            error["message"].as_str().is_some_and(|m| m.len() > 20),
            "{path}: {error}"
        );
        assert_eq!(error["field"].as_str(), field, "{path}: {error}");
    }
    // Bodies: not JSON, an unknown field, too large.
    let (status, text) = serve.request(
        "POST",
        "/api/v1/monitoring/metrics/query",
        &[],
        Some("{not json"),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = serve.request(
        "POST",
        "/api/v1/monitoring/metrics/query",
        &[],
        Some(r#"{"container": "x"}"#),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("unknown field"), "{text}");
    let huge = format!(r#"{{"container_id": "{}"}}"#, "x".repeat(100_000));
    let (status, _) = serve.request("POST", "/api/v1/monitoring/metrics/query", &[], Some(&huge));
    assert_eq!(status, 413);
    let (status, text) = serve.request(
        "PUT",
        "/api/v1/monitoring/thresholds/cpu_percnt",
        &[],
        Some("{}"),
    );
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("container_cpu_percent"), "{text}");
    // Actions are refused while [api] allow_actions is off, saying how to turn them on.
    let (status, text) = serve.request(
        "POST",
        &format!("/api/v1/containers/{}/stop", container.name),
        &[],
        None,
    );
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("allow_actions"), "{text}");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &container.id]),
        "running"
    );
    let (status, _) = serve.request(
        "POST",
        &format!("/api/v1/containers/{}/explode", container.name),
        &[],
        None,
    );
    assert_eq!(status, 404);
    assert!(!serve.stderr().contains("panicked"), "{}", serve.stderr());
}

#[test]
fn actions_work_when_allowed() {
    let container = compose_sample();
    let serve = Serve::start(Options {
        api: "allow_actions = true",
        ..Options::default()
    });
    serve.wait_listed_with_figures(&container.name);
    let state = || docker(&["inspect", "-f", "{{.State.Status}}", &container.id]);
    let (status, text) = serve.request(
        "POST",
        &format!("/api/v1/containers/{}/pause", container.name),
        &[],
        None,
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(state(), "paused");
    let (status, text) = serve.request(
        "POST",
        &format!("/api/v1/containers/local:{}/unpause", container.name),
        &[],
        None,
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(state(), "running");
    let (status, text) = serve.request(
        "POST",
        &format!("/api/v1/containers/{}/stop", &container.id[..12]),
        &[],
        None,
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(state(), "exited");
    let (status, text) = serve.request(
        "POST",
        "/api/v1/containers/no-such-container/start",
        &[],
        None,
    );
    assert_eq!(status, 404, "{text}");
    // Each action is an audit entry of the API (with the token's name), as `docktray events --audit` lists them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let audit = loop {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_docktray"))
            .arg("--config")
            .arg(&serve.config)
            .args([
                "events",
                "--audit",
                "--json",
                "--container",
                &container.name,
            ])
            .output()
            .expect("run docktray events");
        let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        if rows.len() >= 3 || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let actions: Vec<(&str, &str, &str, &str)> = audit
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or("");
            (
                field("source"),
                field("actor"),
                field("action"),
                field("result"),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("api", "default", "pause", "ok"),
            ("api", "default", "unpause", "ok"),
            ("api", "default", "stop", "ok")
        ]
    );
}
