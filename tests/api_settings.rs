//! The API's settings side, on real components: a threshold changed with `PUT` changes a live alert and is
//! saved into the config file with its comments kept, while a bad value is refused (422 naming the field) and
//! leaves the file as it was; the token made in a real keychain (gnome-keyring), printed and rotated by
//! `docktray api token`; no token in the log at trace level; `/healthz` and `/readiness` answering 503.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::keyring::Keychain;
use common::serve::{Options, Serve};
use common::*;
use serde_json::Value;

fn alert_about(serve: &Serve, name: &str) -> Option<Value> {
    let snapshot = serve.json("/api/v1/snapshot");
    snapshot["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["target"]["name"] == name && a["metric"] == "container_cpu_percent")
        .cloned()
}

#[test]
fn put_threshold_changes_a_live_alert_and_keeps_the_files_comments() {
    let burner = TestContainer::run(
        "burn",
        &["--cpus", "0.5"],
        &["sh", "-c", "while :; do :; done"],
    );
    let serve = Serve::start(Options {
        extra: "# Alerts come quickly in this test.\n[alerts]\nhold = \"1s\"\n",
        ..Options::default()
    });
    // At about 50 % the default thresholds (70 / 90) stay quiet.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        alert_about(&serve, &burner.name).is_none(),
        "alert before the change"
    );
    let before = std::fs::read_to_string(&serve.config).expect("config");
    let (status, text) = serve.request(
        "PUT",
        "/api/v1/monitoring/thresholds/cpu_percent",
        &[],
        Some(r#"{"metric_type": "cpu_percent", "warning_threshold": 10, "critical_threshold": 20, "enabled": true}"#),
    );
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(answer["metric_type"], "container_cpu_percent");
    assert_eq!(answer["critical_threshold"], 20.0);
    // Applied at once: the burner's alert is raised as critical.
    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        if let Some(alert) = alert_about(&serve, &burner.name).filter(|a| a["level"] == "critical")
        {
            break alert;
        }
        assert!(
            Instant::now() < deadline,
            "no critical alert for {} after the PUT",
            burner.name
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(alert["threshold"], 20.0, "{alert}");
    // Saved into the file, comments and all.
    let after = std::fs::read_to_string(&serve.config).expect("config");
    for line in before.lines().filter(|l| l.starts_with('#')) {
        assert!(after.contains(line), "comment {line:?} lost:\n{after}");
    }
    let saved = docktray::Config::parse(&after, &serve.config).expect("the file still loads");
    assert_eq!(saved.thresholds.container_cpu_percent.warning, 10.0);
    assert_eq!(saved.thresholds.container_cpu_percent.critical, 20.0);
    assert_eq!(
        serve.json("/api/v1/monitoring/thresholds")[0]["warning_threshold"],
        10.0
    );
    // A bad value: 422 naming the field, the file untouched, the live threshold unchanged.
    for (body, field) in [
        (r#"{"warning_threshold": 30}"#, "warning_threshold"),
        (r#"{"critical_threshold": 250}"#, "critical_threshold"),
        (r#"{"warning_threshold": -1}"#, "warning_threshold"),
    ] {
        let (status, text) = serve.request(
            "PUT",
            "/api/v1/monitoring/thresholds/container_cpu_percent",
            &[],
            Some(body),
        );
        assert_eq!(status, 422, "{body}: {text}");
        let error: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(error["field"], field, "{error}");
        assert_eq!(
            std::fs::read_to_string(&serve.config).expect("config"),
            after,
            "{body} changed the file"
        );
    }
    let (status, text) = serve.request(
        "PUT",
        "/api/v1/monitoring/thresholds/cpu_percent",
        &[],
        Some(r#"{"warning_threshold": "lots"}"#),
    );
    assert_eq!(status, 400, "{text}");
    assert_eq!(
        std::fs::read_to_string(&serve.config).expect("config"),
        after
    );
    assert_eq!(
        serve.json("/api/v1/monitoring/thresholds")[0]["critical_threshold"],
        20.0
    );
}

#[test]
fn the_token_lives_in_the_keychain_and_rotates() {
    let keychain = Keychain::start();
    let token = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
        command
            .arg("api")
            .arg("token")
            .args(args)
            .env_remove("DOCKTRAY_API_TOKEN")
            .env_remove("DOCKTRAY_API_TOKEN_FILE");
        keychain.apply(&mut command);
        let out = command.output().expect("docktray api token");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let first = token(&[]);
    assert_eq!(first.len(), 64, "{first}");
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(token(&[]), first, "a second call gives the same token");
    // Another client of the same Secret Service sees it.
    let stored = keychain.secret_tool(&["lookup", "service", "docktray-api", "username", "token"]);
    assert_eq!(String::from_utf8_lossy(&stored.stdout).trim(), first);
    // A server started afterwards takes the keychain's token.
    let prepare = |command: &mut Command| keychain.apply(command);
    let mut serve = Serve::start(Options {
        token: None,
        prepare: Some(&prepare),
        ..Options::default()
    });
    serve.token = first.clone();
    assert_eq!(serve.get("/health").0, 200);
    let rotated = token(&["--rotate"]);
    assert_ne!(rotated, first);
    assert_eq!(token(&[]), rotated);
    // The running server keeps its token until restarted.
    assert_eq!(serve.get("/health").0, 200);
    serve.stop();
    let mut serve = Serve::start(Options {
        token: None,
        prepare: Some(&prepare),
        ..Options::default()
    });
    serve.token = first;
    assert_eq!(serve.get("/health").0, 401);
    serve.token = rotated;
    assert_eq!(serve.get("/health").0, 200);
    // The variable wins over the keychain, and --rotate says where to change it.
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .args(["api", "token", "--rotate"])
        .env("DOCKTRAY_API_TOKEN", "from-the-environment");
    keychain.apply(&mut command);
    let out = command.output().expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DOCKTRAY_API_TOKEN"),
        "{out:?}"
    );
    // A token file for headless machines.
    let file = keychain.home().join("api-token");
    std::fs::write(&file, "from-a-file\n").expect("write");
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .args(["api", "token"])
        .env_remove("DOCKTRAY_API_TOKEN")
        .env("DOCKTRAY_API_TOKEN_FILE", &file);
    keychain.apply(&mut command);
    let out = command.output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "from-a-file");
}

#[test]
fn the_token_appears_in_no_log_at_trace_level() {
    let container = TestContainer::run("trace", &[], &["sh", "-c", "echo hello; sleep 600"]);
    let token = format!("secret-{}-{}", std::process::id(), "x".repeat(20));
    let serve = Serve::start(Options {
        token: Some(token.clone()),
        args: vec!["-vvv".to_owned()],
        env: vec![("DOCKTRAY_LOG".to_owned(), "trace".to_owned())],
        ..Options::default()
    });
    for path in [
        "/health",
        "/metrics",
        "/api/v1/snapshot",
        "/containers/summary",
    ] {
        assert_eq!(serve.get(path).0, 200, "{path}");
    }
    let (status, _) = serve.request(
        "GET",
        "/health",
        &["Authorization: Bearer wrong-token"],
        None,
    );
    assert_eq!(status, 401);
    // A WebSocket with the token in its subprotocol, and an SSE stream with it in the header.
    let url = format!(
        "ws://127.0.0.1:{}/ws/containers/{}/logs?tail=5",
        serve.port, container.name
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("docktray, bearer.{token}").parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        use futures_util::StreamExt;
        let first = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
    });
    let out = Command::new("curl")
        .args([
            "-s",
            "-m",
            "2",
            "-H",
            &format!("Authorization: Bearer {token}"),
        ])
        .arg(format!("{}/api/v1/events", serve.url()))
        .output()
        .expect("curl");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("event:"),
        "{out:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let log = serve.stderr();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "not a trace-level log: {log}"
    );
    assert!(!log.contains(&token), "the token is in the log");
    assert!(
        !log.contains(&token[..20]),
        "part of the token is in the log"
    );
}

/// What `docktray serve` tells the API about its engine, here in-process: running until it is shut down.
struct EngineControl {
    engine: tokio::sync::RwLock<Option<docktray::Engine>>,
}

impl docktray::sinks::api::Control for EngineControl {
    fn running(&self) -> bool {
        self.engine
            .try_read()
            .ok()
            .is_some_and(|e| e.as_ref().is_some_and(|e| e.is_running()))
    }
    fn act<'a>(
        &'a self,
        _: &'a str,
        _: docktray::Action,
    ) -> docktray::sinks::api::BoxFuture<'a, docktray::error::Result<()>> {
        Box::pin(async { Err(docktray::Error::Other("not in this test".into())) })
    }
    fn settings(&self) -> (docktray::Config, std::path::PathBuf) {
        (
            docktray::Config::default(),
            std::path::PathBuf::from("/nonexistent"),
        )
    }
    fn apply(
        &self,
        _: docktray::Config,
    ) -> docktray::sinks::api::BoxFuture<'_, docktray::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

async fn serve_engine(config: &docktray::Config, engine: docktray::Engine) -> (Arc<EngineControl>, docktray::sinks::api::ApiServer) {
    let control = Arc::new(EngineControl { engine: tokio::sync::RwLock::new(None) });
    let sources = docktray::sinks::api::Sources {
        view: engine.view(),
        updates: Arc::new(engine.subscribe()),
        logs: engine.logs().clone(),
        history: None,
        control: control.clone(),
    };
    *control.engine.write().await = Some(engine);
    let server = docktray::sinks::api::ApiServer::start(config, sources).await.expect("the API starts");
    (control, server)
}

fn curl(url: &str) -> String {
    let out = Command::new("curl").args(["-s", "-m", "10", "-w", "\n%{http_code}"]).arg(url).output().expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_says_503_until_every_source_delivered() {
    // An engine socket that takes connections and never answers: the Docker source stays "connecting".
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let mut config = test_config();
    config.docker.host = format!("unix://{}", socket.display());
    config.api.listen = format!("127.0.0.1:{}", common::caddy::free_port());
    std::env::set_var("DOCKTRAY_API_TOKEN", "in-process-token");
    let (control, server) = serve_engine(&config, docktray::Engine::start(config.clone())).await;
    let url = server.listening().url();
    let readiness = curl(&format!("{url}/readiness"));
    assert!(readiness.ends_with("503"), "{readiness}");
    assert!(readiness.contains("\"ready\":false"), "{readiness}");
    assert!(curl(&format!("{url}/healthz")).ends_with("200"));
    server.stop().await;
    // Dropped, not shut down: its source is still waiting on the silent socket.
    drop(control.engine.write().await.take());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_says_503_once_the_engine_task_ended() {
    let mut config = test_config();
    config.api.listen = format!("127.0.0.1:{}", common::caddy::free_port());
    std::env::set_var("DOCKTRAY_API_TOKEN", "in-process-token");
    let engine = start_engine(config.clone()).await;
    let (control, server) = serve_engine(&config, engine).await;
    let url = server.listening().url();
    assert!(curl(&format!("{url}/readiness")).ends_with("200"));
    assert!(curl(&format!("{url}/healthz")).ends_with("200"));
    // The engine's task ends: /healthz says so.
    let engine = control.engine.write().await.take().expect("engine");
    engine.shutdown().await;
    let healthz = curl(&format!("{url}/healthz"));
    assert!(healthz.ends_with("503"), "{healthz}");
    assert!(healthz.contains("restart"), "{healthz}");
    server.stop().await;
}
