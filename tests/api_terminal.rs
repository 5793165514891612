//! The page's terminal, alerts history and exports over a real `docktray serve` on the test engine (issue 13): a
//! WebSocket terminal that runs commands in a real container, resizes it and ends with the shell's status (with
//! the token, and as a signed-in page offering its CSRF token); refused without `[api] allow_actions`, from a
//! foreign origin, without sign-in or without the page's CSRF token; the shell hung up when the client goes; the
//! alert list with its history; the timeline and a chart's figures as downloads in the desktop's formats.

mod common;

use std::time::{Duration, Instant};

use common::serve::{Options, Sender, Serve};
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::Request;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn exec_request(
    serve: &Serve,
    container: &str,
    query: &str,
    headers: &[(&str, String)],
) -> Request<()> {
    let mut request = format!(
        "ws://127.0.0.1:{}/api/v1/containers/{container}/exec?{query}",
        serve.port
    )
    .into_client_request()
    .expect("request");
    for (name, value) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName =
            name.parse().expect("header name");
        request
            .headers_mut()
            .insert(name, value.parse().expect("header"));
    }
    request
}

fn bearer(serve: &Serve) -> (&'static str, String) {
    ("Authorization", format!("Bearer {}", serve.token))
}

/// Connects; `Err((status, body))` when the server refused the upgrade.
async fn connect(request: Request<()>) -> Result<Socket, (u16, String)> {
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("connecting failed: {other}"),
    }
}

/// The refusal of an upgrade: (status, body).
async fn refused(request: Request<()>) -> (u16, String) {
    match connect(request).await {
        Ok(_) => panic!("the terminal opened where it must be refused"),
        Err(refusal) => refusal,
    }
}

/// What a terminal sent: its output as text so far, and its JSON messages.
#[derive(Default)]
struct Seen {
    output: String,
    messages: Vec<Value>,
}

/// Reads until `done` holds, within `timeout`.
async fn read_until(
    socket: &mut Socket,
    seen: &mut Seen,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(seen) {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                seen.output.push_str(&String::from_utf8_lossy(&bytes))
            }
            Ok(Some(Ok(Message::Text(text)))) => seen
                .messages
                .push(serde_json::from_str(&text).expect("JSON")),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "no {what}: {other:?}\noutput so far: {:?}\nmessages: {:?}",
                seen.output, seen.messages
            ),
        }
    }
}

fn typed(data: &str) -> Message {
    Message::Binary(data.as_bytes().to_vec().into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_over_the_websocket_runs_commands_resizes_and_ends_with_the_shell() {
    let container = TestContainer::run("apiterm", &[], &["sleep", "600"]);
    let serve = Serve::start(Options {
        api: "allow_actions = true",
        ..Options::default()
    });
    serve.wait_listed(&container.name);

    let request = exec_request(
        &serve,
        &container.name,
        "cols=100&rows=30",
        &[bearer(&serve)],
    );
    let mut socket = connect(request).await.expect("the terminal opens");
    let mut seen = Seen::default();
    read_until(&mut socket, &mut seen, "started", |s| {
        !s.messages.is_empty()
    })
    .await;
    // The busybox test image has no bash: sh is picked.
    assert_eq!(seen.messages[0]["type"], "started", "{:?}", seen.messages);
    assert_eq!(seen.messages[0]["shell"], "sh");

    // Typed bytes run; the size asked for is the terminal's; the pid report never reaches the client.
    socket
        .send(typed("echo $((6*7)); stty size\r"))
        .await
        .expect("send");
    read_until(&mut socket, &mut seen, "42 and the size", |s| {
        s.output.contains("\n42\r") && s.output.contains("30 100")
    })
    .await;
    assert!(!seen.output.contains("docktray-pid"), "{:?}", seen.output);

    // A resize as JSON, and text input as JSON; UTF-8 both ways.
    socket
        .send(Message::Text(
            r#"{"type":"resize","cols":61,"rows":17}"#.into(),
        ))
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;
    socket
        .send(Message::Text(
            r#"{"type":"input","data":"stty size; echo grüße-✓ | wc -c\r"}"#.into(),
        ))
        .await
        .expect("send");
    read_until(
        &mut socket,
        &mut seen,
        "the new size and the byte count",
        |s| s.output.contains("17 61") && s.output.contains("\n12\r"),
    )
    .await;

    // A message that is neither is answered with what is expected, and the terminal goes on.
    socket
        .send(Message::Text(r#"{"type":"paste"}"#.into()))
        .await
        .expect("send");
    read_until(
        &mut socket,
        &mut seen,
        "the refusal of a bad message",
        |s| s.messages.iter().any(|m| m["type"] == "error"),
    )
    .await;
    let refusal = seen
        .messages
        .iter()
        .find(|m| m["type"] == "error")
        .expect("error");
    assert!(
        refusal["message"]
            .as_str()
            .is_some_and(|m| m.contains("resize")),
        "{refusal}"
    );

    // The shell's exit ends the session with its status, then the socket closes.
    socket.send(typed("exit 4\r")).await.expect("send");
    read_until(&mut socket, &mut seen, "the end", |s| {
        s.messages.iter().any(|m| m["type"] == "end")
    })
    .await;
    let end = seen
        .messages
        .iter()
        .find(|m| m["type"] == "end")
        .expect("end");
    assert_eq!(end["exit_code"], 4, "{end}");
    assert!(
        end["message"]
            .as_str()
            .is_some_and(|m| m.contains("exited with status 4")),
        "{end}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket stays open after the end");

    // A container that does not exist is a 404 before any upgrade; a stopped one says so.
    let request = exec_request(&serve, "no-such-container-xyz", "", &[bearer(&serve)]);
    let (status, body) = refused(request).await;
    assert_eq!(status, 404, "{body}");
    docker(&["stop", "-t", "0", &container.name]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while serve.json(&format!("/api/v1/containers/{}", container.name))["state"] == "running" {
        assert!(Instant::now() < deadline, "never seen stopped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let request = exec_request(&serve, &container.name, "", &[bearer(&serve)]);
    let mut socket = connect(request).await.expect("upgraded");
    let mut seen = Seen::default();
    read_until(&mut socket, &mut seen, "the refusal", |s| {
        !s.messages.is_empty()
    })
    .await;
    assert_eq!(seen.messages[0]["type"], "error", "{:?}", seen.messages);
    assert!(
        seen.messages[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not running")),
        "{:?}",
        seen.messages
    );
}

/// The shells running in a container, by `ps` inside it.
fn shells_in(container: &str) -> usize {
    docker(&["exec", container, "ps", "-o", "comm"])
        .lines()
        .filter(|l| l.trim() == "sh")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_opens_a_terminal_with_its_csrf_token_and_closing_it_ends_the_shell() {
    let container = TestContainer::run("apitermpg", &[], &["sleep", "600"]);
    let serve = Serve::start(Options {
        api: "allow_actions = true",
        ..Options::default()
    });
    serve.wait_listed(&container.name);
    let session = serve.page_session();
    let (cookie, csrf) = (session.cookie, session.csrf);
    let origin = ("Origin", serve.url());

    // Signed in but without the CSRF token: refused (the upgrade is a GET, which carries no CSRF header).
    let request = exec_request(
        &serve,
        &container.name,
        "",
        &[
            ("Cookie", cookie.clone()),
            origin.clone(),
            ("Sec-WebSocket-Protocol", "docktray".into()),
        ],
    );
    let (status, body) = refused(request).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("csrf."), "{body}");

    // From a foreign origin, even with the token: refused.
    let request = exec_request(
        &serve,
        &container.name,
        "",
        &[
            ("Cookie", cookie.clone()),
            ("Origin", "http://evil.example".into()),
            ("Sec-WebSocket-Protocol", format!("docktray, csrf.{csrf}")),
        ],
    );
    let (status, body) = refused(request).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("evil.example"), "{body}");

    // Not signed in: refused.
    let request = exec_request(
        &serve,
        &container.name,
        "",
        &[
            origin.clone(),
            ("Sec-WebSocket-Protocol", "docktray".into()),
        ],
    );
    let (status, body) = refused(request).await;
    assert_eq!(status, 401, "{body}");

    // As the page opens it: the cookie, its origin, the CSRF token as a subprotocol.
    let before = shells_in(&container.name);
    let request = exec_request(
        &serve,
        &container.name,
        "shell=sh&cols=80&rows=24",
        &[
            ("Cookie", cookie.clone()),
            origin.clone(),
            ("Sec-WebSocket-Protocol", format!("docktray, csrf.{csrf}")),
        ],
    );
    let mut socket = connect(request).await.expect("the page's terminal opens");
    let mut seen = Seen::default();
    socket
        .send(typed("echo page-$((40+2))\r"))
        .await
        .expect("send");
    read_until(&mut socket, &mut seen, "the page's command output", |s| {
        s.output.contains("page-42")
    })
    .await;
    assert_eq!(seen.messages[0]["type"], "started");
    assert_eq!(
        shells_in(&container.name),
        before + 1,
        "the terminal's shell runs"
    );

    // The client goes: the shell is hung up (Docker alone would leave it running).
    socket.close(None).await.expect("close");
    drop(socket);
    let deadline = Instant::now() + Duration::from_secs(15);
    while shells_in(&container.name) > before {
        assert!(
            Instant::now() < deadline,
            "the closed terminal's shell still runs"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_actions_no_terminal_opens() {
    let container = TestContainer::run("apitermro", &[], &["sleep", "600"]);
    let serve = Serve::start(Options::default());
    serve.wait_listed(&container.name);
    let request = exec_request(&serve, &container.name, "", &[bearer(&serve)]);
    let (status, body) = refused(request).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("allow_actions = true"), "{body}");
    // The page learns it at sign-in, and hides or disables what would be refused.
    let (cookie, _) = serve.sign_in();
    let (status, body) = serve.page("GET", "/api/v1/session", &[&cookie], None);
    assert_eq!(status, 200, "{body}");
    let info: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(info["allow_actions"], false, "{info}");
}

#[test]
fn alerts_with_history_and_exports_as_downloads() {
    let serve = Serve::start(Options::default());
    // Started after the server, so its exit is a live event in the timeline.
    let container = TestContainer::run("apiexp", &[], &["sh", "-c", "sleep 1; exit 3"]);
    // The exit raises an alert, recorded in the history and listed (active) with it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let list = serve.json("/api/v1/alerts?active_only=false");
        let found =
            list.as_array().expect("a list").iter().find(|a| {
                a["target"]["name"] == container.name.as_str() && a["metric"] == "exited"
            });
        if let Some(found) = found {
            break found.clone();
        }
        assert!(Instant::now() < deadline, "no exit alert listed: {list}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let id = alert["id"].as_u64().expect("id");
    let active = serve.json("/api/v1/alerts?active_only=true");
    assert!(
        active
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["id"] == id),
        "{active}"
    );
    let critical = serve.json("/api/v1/alerts?level=critical&since=1h");
    for a in critical.as_array().expect("list") {
        assert_eq!(a["level"], "critical", "{a}");
    }
    let (status, body) = serve.get("/api/v1/alerts?level=loud");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("info, warning or critical"), "{body}");

    // The timeline as a CSV download with its row count.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (head, csv) = loop {
        let (head, csv) = download(
            &serve,
            &format!(
                "/api/v1/timeline/export?format=csv&container={}",
                container.name
            ),
        );
        if csv.contains(",die,") {
            break (head, csv);
        }
        assert!(Instant::now() < deadline, "no die event exported: {csv}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(head.contains("content-type: text/csv"), "{head}");
    assert!(
        head.contains("attachment; filename=\"docktray-timeline-"),
        "{head}"
    );
    let rows = csv.lines().count() - 1;
    assert!(
        head.contains(&format!("x-docktray-rows: {rows}")),
        "{rows} rows: {head}"
    );
    let (_, jsonl) = download(
        &serve,
        &format!(
            "/api/v1/timeline/export?format=jsonl&container={}",
            container.name
        ),
    );
    for line in jsonl.lines() {
        let row: Value = serde_json::from_str(line).expect("JSON lines");
        assert!(row["kind"].is_string() && row["time"].is_string(), "{row}");
    }

    // A chart's figures: the host's CPU over the last minutes, as the desktop's export writes them.
    std::thread::sleep(Duration::from_secs(2));
    let until = chrono::Utc::now().to_rfc3339();
    let (head, csv) = download(
        &serve,
        &format!(
            "/api/v1/history/export?host=local&metrics=cpu_percent,memory_percent&since=10m&until={}&format=csv",
            until.replace('+', "%2B")
        ),
    );
    assert!(csv.starts_with("at,min,avg,max,metric\n"), "{csv}");
    assert!(
        csv.contains(",cpu_percent\n") && csv.contains(",memory_percent\n"),
        "{csv}"
    );
    assert!(head.contains("docktray-local-"), "{head}");
    let (status, body) =
        serve.get("/api/v1/history/export?host=local&metrics=nonsense&since=10m&until=0");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cpu_percent"), "{body}");
}

/// GET with the token, expecting 200: (head, body).
fn download(serve: &Serve, path: &str) -> (String, String) {
    let answer = serve.exchange(Sender::Token, "GET", path, &[], None);
    assert_eq!(
        answer.status, 200,
        "GET {path}: {}\n{}",
        answer.head, answer.body
    );
    (answer.head.to_ascii_lowercase(), answer.body)
}
