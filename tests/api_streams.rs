//! Live streams of a real `docktray serve` with real clients: over WebSocket the figures each interval, an
//! alert when a container crosses a threshold, live log lines with `tail`; the same over Server-Sent Events;
//! log followers share the engine's one Docker stream; and 50 clients that never read leave the server's
//! memory bounded (they are told what they lost, or disconnected).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::serve::{Options, Serve};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(serve: &Serve, path: &str) -> Socket {
    let mut request = format!("ws://127.0.0.1:{}{path}", serve.port)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", serve.token).parse().expect("header"),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect")
        .0
}

/// The next JSON message, within `timeout`.
async fn next(socket: &mut Socket, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Messages until one matches, within `timeout`.
async fn until(
    socket: &mut Socket,
    timeout: Duration,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Some(message) if wanted(&message) => return message,
            Some(_) => {}
            None => panic!("no {what} within {timeout:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_streams_stats_alerts_and_logs() {
    let burner = TestContainer::run(
        "wsburn",
        &["--cpus", "0.5"],
        &["sh", "-c", "while :; do :; done"],
    );
    let talker = TestContainer::run(
        "wslog",
        &[],
        &[
            "sh",
            "-c",
            "for i in $(seq 1 30); do echo line$i; done; while :; do echo tick; sleep 0.2; done",
        ],
    );
    let serve = Serve::start(Options {
        extra: "[alerts]\nhold = \"1s\"\n[thresholds.container_cpu_percent]\nwarning = 20\ncritical = 30\n",
        ..Options::default()
    });
    // Stats once per sweep, through WakeDock's subscription with a container filter.
    let mut socket = connect(&serve, "/api/v1/monitoring/ws").await;
    let subscribe = format!(
        r#"{{"action": "subscribe", "stream_type": "metrics", "filters": {{"container_ids": ["{}"]}}}}"#,
        burner.name
    );
    socket
        .send(Message::Text(subscribe.into()))
        .await
        .expect("send");
    until(&mut socket, Duration::from_secs(5), "subscribed", |m| {
        m["type"] == "subscribed"
    })
    .await;
    let mut times = Vec::new();
    while times.len() < 4 {
        let message = until(
            &mut socket,
            Duration::from_secs(10),
            "metrics_update",
            |m| m["type"] == "metrics_update",
        )
        .await;
        assert_eq!(
            message["data"]["container_id"],
            burner.id.as_str(),
            "the filter let another through: {message}"
        );
        assert!(
            message["stats"]["cpu_percent"].as_f64().is_some(),
            "{message}"
        );
        times.push(Instant::now());
    }
    // Four sweeps at 500 ms arrive in well under ten intervals (not all at once either).
    let span = times[3] - times[0];
    assert!(
        span > Duration::from_millis(900) && span < Duration::from_secs(5),
        "{span:?}"
    );
    // An alert when the burner crosses the threshold (about 50 % against a critical 30 %).
    socket
        .send(Message::Text(r#"{"action": "subscribe", "stream_type": "alerts", "filters": {"alert_levels": ["critical"]}}"#.into()))
        .await
        .expect("send");
    let alert = until(&mut socket, Duration::from_secs(20), "alert", |m| {
        m["type"] == "alert" && m["data"]["container_name"] == burner.name.as_str()
    })
    .await;
    assert_eq!(alert["data"]["level"], "critical", "{alert}");
    assert_eq!(alert["data"]["metric_type"], "container_cpu_percent");
    assert_eq!(alert["transition"]["kind"], "raised", "{alert}");
    socket
        .send(Message::Text(r#"{"action": "ping"}"#.into()))
        .await
        .expect("send");
    until(&mut socket, Duration::from_secs(5), "pong", |m| {
        m["type"] == "pong"
    })
    .await;
    socket
        .send(Message::Text(
            r#"{"action": "subscribe", "stream_type": "gossip"}"#.into(),
        ))
        .await
        .expect("send");
    let error = until(&mut socket, Duration::from_secs(5), "error", |m| {
        m["type"] == "error"
    })
    .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("metrics")),
        "{error}"
    );
    // Logs with tail, on the Control Platform's path: the last 5 lines kept, then live lines.
    let mut logs = connect(
        &serve,
        &format!("/ws/containers/{}/logs?tail=5&timestamps=true", talker.name),
    )
    .await;
    let first = until(&mut logs, Duration::from_secs(10), "logs", |m| {
        m["type"] == "logs"
    })
    .await;
    let lines = first["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 5, "{first}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string()), "{first}");
    let live = until(&mut logs, Duration::from_secs(10), "live logs", |m| {
        m["type"] == "logs"
            && m["lines"]
                .as_array()
                .is_some_and(|l| l.iter().any(|l| l["text"] == "tick"))
    })
    .await;
    assert!(
        live["lines"][0]["seq"].as_u64() > lines[4]["seq"].as_u64(),
        "{live}"
    );
    // The WebSocket logs subscription by message, and the stats WebSocket.
    socket
        .send(Message::Text(format!(r#"{{"action": "subscribe", "stream_type": "logs", "container_id": "{}", "tail": 3}}"#, talker.id).into()))
        .await
        .expect("send");
    let history = until(&mut socket, Duration::from_secs(10), "logs history", |m| {
        m["type"] == "logs"
    })
    .await;
    assert_eq!(
        history["lines"].as_array().map(Vec::len),
        Some(3),
        "{history}"
    );
    assert!(
        history["lines"][0]["timestamp"].is_null(),
        "timestamps only when asked: {history}"
    );
    let mut stats = connect(&serve, &format!("/ws/containers/{}/stats", burner.name)).await;
    let message = until(&mut stats, Duration::from_secs(10), "stats", |m| {
        m["type"] == "metrics_update"
    })
    .await;
    assert_eq!(message["data"]["container_name"], burner.name.as_str());
    let status = serve.json("/api/v1/monitoring/status");
    assert!(
        status["websocket"]["active_connections"].as_u64() >= Some(3),
        "{status}"
    );
    assert!(
        status["websocket"]["messages_sent"].as_u64() > Some(5),
        "{status}"
    );
}

#[test]
fn server_sent_events_for_curl_users() {
    let talker = TestContainer::run(
        "sselog",
        &[],
        &[
            "sh",
            "-c",
            "for i in $(seq 1 20); do echo early$i; done; while :; do echo later; sleep 0.2; done",
        ],
    );
    let serve = Serve::start(Options::default());
    let curl = |path: &str, seconds: &str| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-N",
                "-m",
                seconds,
                "-H",
                &format!("Authorization: Bearer {}", serve.token),
            ])
            .arg(format!("{}{path}", serve.url()))
            .stderr(Stdio::null())
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let events = curl("/api/v1/events", "3");
    let stats = events.matches("event: stats").count();
    assert!(
        stats >= 3,
        "{stats} stats events in 3 s at 500 ms:\n{events}"
    );
    let data: Vec<Value> = events
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    assert!(
        data.iter()
            .any(|d| d["type"] == "stats" && d["containers"].is_array()),
        "{events}"
    );
    let logs = curl(
        &format!("/api/v1/containers/{}/logs?tail=4", talker.name),
        "3",
    );
    let batches: Vec<Value> = logs
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    assert_eq!(
        batches[0]["lines"].as_array().map(Vec::len),
        Some(4),
        "{logs}"
    );
    assert!(
        batches
            .iter()
            .skip(1)
            .any(|b| b.to_string().contains("later")),
        "no live line: {logs}"
    );
    let since = curl(
        &format!(
            "/api/v1/events?streams=logs&container={}&since=1h&timestamps=true",
            talker.id
        ),
        "2",
    );
    assert!(
        since.contains("early1\"") && since.contains("\"timestamp\":\"20"),
        "{since}"
    );
}

/// Two clients following one container's logs share one Docker log stream (in-process: the engine counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_followers_share_one_docker_stream() {
    let talker = TestContainer::run(
        "share",
        &[],
        &["sh", "-c", "while :; do echo hi; sleep 0.2; done"],
    );
    let mut config = test_config();
    config.api.listen = format!("127.0.0.1:{}", common::caddy::free_port());
    std::env::set_var("DOCKTRAY_API_TOKEN", "share-token");
    let monitor = docktray::monitor::Monitor::start(
        config.clone(),
        docktray::monitor::MonitorOptions {
            history: false,
            notifications: false,
        },
    )
    .expect("monitor");
    monitor.engine().ready(Duration::from_secs(20)).await;
    let sources = docktray::sinks::api::Sources {
        view: monitor.engine().view(),
        updates: Arc::new(monitor.engine().subscribe()),
        logs: monitor.engine().logs().clone(),
        history: None,
        control: Arc::new(NoControl),
    };
    let server = docktray::sinks::api::ApiServer::start(&config, sources)
        .await
        .expect("start");
    let port = server.listening().address.port();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut request = format!(
            "ws://127.0.0.1:{port}/ws/containers/{}/logs?tail=1",
            talker.name
        )
        .into_client_request()
        .expect("request");
        request.headers_mut().insert(
            "Authorization",
            "Bearer share-token".parse().expect("header"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        until(&mut socket, Duration::from_secs(10), "logs", |m| {
            m["type"] == "logs"
        })
        .await;
        clients.push(socket);
    }
    assert_eq!(
        monitor.engine().logs().follow_streams_opened(),
        1,
        "one Docker stream for three followers"
    );
    drop(clients);
    server.stop().await;
    monitor.shutdown().await.expect("shutdown");
}

struct NoControl;

impl docktray::sinks::api::Control for NoControl {
    fn running(&self) -> bool {
        true
    }
    fn act<'a>(
        &'a self,
        _: &'a str,
        _: docktray::Action,
        _: &'a docktray::model::Actor,
    ) -> docktray::sinks::api::BoxFuture<'a, docktray::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn settings(&self) -> (docktray::Config, std::path::PathBuf) {
        (docktray::Config::default(), std::path::PathBuf::new())
    }
    fn apply(
        &self,
        _: docktray::Config,
    ) -> docktray::sinks::api::BoxFuture<'_, docktray::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// A WebSocket client whose socket takes almost nothing and is never read.
async fn stalled_client(port: u16, token: &str) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let stream = socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .expect("connect");
    let mut request =
        format!("ws://127.0.0.1:{port}/api/v1/ws?streams=stats,metrics,snapshot,hosts,containers")
            .into_client_request()
            .expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
        .await
        .expect("handshake")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_that_never_read_leave_memory_bounded() {
    let containers: Vec<TestContainer> = (0..10)
        .map(|i| TestContainer::run(&format!("still{i}"), &[], &["sleep", "600"]))
        .collect();
    let serve = Serve::start(Options {
        api: "client_queue = 64",
        ..Options::default()
    });
    // A reading client, to see the server stays responsive.
    let mut reader = connect(&serve, "/api/v1/ws?streams=stats").await;
    until(&mut reader, Duration::from_secs(10), "stats", |m| {
        m["type"] == "stats"
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..50 {
        stalled.push(stalled_client(serve.port, &serve.token).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = serve.rss();
    // Long enough for every stalled socket to fill and the server to give up on it (15 s without progress).
    let mut samples = Vec::new();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        samples.push(serve.rss());
        // The reading client keeps getting its stats meanwhile.
        until(
            &mut reader,
            Duration::from_secs(5),
            "stats while others stall",
            |m| m["type"] == "stats",
        )
        .await;
    }
    let after = *samples.iter().max().expect("samples");
    eprintln!(
        "server RSS: {:.1} MiB before, at most {:.1} MiB with 50 stalled clients over 24 s ({containers} containers)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        containers = containers.len()
    );
    assert!(
        after < before + 24 * 1024 * 1024,
        "memory grew from {before} to {after} bytes"
    );
    // Each stalled client was told what it lost, or disconnected, or (if its buffers held everything) reads live
    // messages again: none is left hanging with nothing.
    let resumed = chrono::Utc::now();
    let (mut told, mut caught_up) = (0, 0);
    for mut socket in stalled {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) if text.contains("\"lagged\"") => {
                    told += 1;
                    break;
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    let live = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|m| m["timestamp"].as_str().map(str::to_owned))
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                        .is_some_and(|t| t > resumed);
                    if live {
                        caught_up += 1;
                        break;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    told += 1;
                    break;
                }
                Ok(Some(Ok(_))) => continue,
                Err(_) => break,
            }
        }
    }
    assert_eq!(
        told + caught_up,
        50,
        "{told} stalled clients were told of their losses or disconnected and {caught_up} caught up: the rest \
         were left hanging"
    );
    let status = serve.json("/api/v1/monitoring/status");
    assert!(
        status["websocket"]["active_connections"].as_u64() < Some(50),
        "{status}"
    );
}
