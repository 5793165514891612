//! A followed log over the API's WebSocket loses no line and repeats none, from the kept history into the live
//! follow, while other streams (snapshots, stats) share the socket. The page once showed "tick 22" then
//! "tick 24": the batch being gathered was held by a future that the socket's `select!` dropped whenever a
//! snapshot went out first (src/sinks/api/logs.rs, `Following::next_batch`).

mod common;

use std::time::{Duration, Instant};

use common::serve::{Options, Serve};
use common::*;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_keeps_every_line_in_order_beside_other_streams() {
    // A line every 20 ms: a batch is nearly always being gathered when a snapshot (every 500 ms) goes out.
    let ticker = TestContainer::run(
        "follow",
        &[],
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.02; done",
        ],
    );
    let serve = Serve::start(Options::default());
    let deadline = Instant::now() + Duration::from_secs(20);
    while serve.get(&format!("/api/v1/containers/{}", ticker.name)).0 != 200 {
        assert!(Instant::now() < deadline, "{} never listed", ticker.name);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut request = format!(
        "ws://127.0.0.1:{}/api/v1/ws?streams=logs,snapshot,stats&container={}&tail=5",
        serve.port, ticker.name
    )
    .into_client_request()
    .expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", serve.token).parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");

    let mut ticks: Vec<u64> = Vec::new();
    let (mut snapshots, mut lagged) = (0, Vec::new());
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while ticks.len() < 250 || snapshots < 4 {
        let message = match tokio::time::timeout_at(until, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                serde_json::from_str::<Value>(&text).expect("JSON")
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!(
                "the stream ended early ({other:?}) after {} lines, {snapshots} snapshots",
                ticks.len()
            ),
        };
        match message["type"].as_str() {
            Some("logs") => {
                for line in message["lines"].as_array().expect("lines") {
                    let text = line["plain"]
                        .as_str()
                        .or(line["text"].as_str())
                        .unwrap_or_default();
                    if let Some(n) = text
                        .trim()
                        .strip_prefix("tick ")
                        .and_then(|n| n.parse().ok())
                    {
                        ticks.push(n);
                    }
                }
            }
            Some("snapshot") => snapshots += 1,
            Some("lagged") => lagged.push(message),
            _ => {}
        }
    }
    assert!(
        lagged.is_empty(),
        "the client kept up, nothing may be reported lost: {lagged:?}"
    );
    let first = ticks[0];
    let expected: Vec<u64> = (first..first + ticks.len() as u64).collect();
    let missing: Vec<u64> = expected
        .iter()
        .copied()
        .filter(|n| !ticks.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "lines lost between {first} and {}: {missing:?}",
        ticks[ticks.len() - 1]
    );
    assert_eq!(ticks, expected, "lines repeated or out of order");
}
