//! A local Webdock API for tests (a fixture, not product code), following ../shared/webdock-api-v1.md: Bearer
//! auth, `{"id", "message"}` error bodies, `X-RateLimit-*` headers, and the monitoring endpoints under `/v1`.
//! It records every request, so tests prove caching and rate limiting by what it received, and it can be told
//! to answer the next request to a path with anything: an error status, a 429 with a reset in epoch or delta
//! form, malformed JSON, or no answer at all (a hung response).
//!
//! Plain HTTP/1.1 over std threads (one per connection, `Connection: close`): nothing here needs more.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// Path without the `/v1` prefix, e.g. `/servers`.
    pub path: String,
    pub query: String,
    /// Whether it carried `Authorization: Bearer <the fixture's token>`.
    pub authorized: bool,
}

/// A canned answer for the next request to a path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status with a JSON error body `{"id": status, "message": ...}` and extra headers.
    Error {
        status: u16,
        message: String,
        headers: Vec<(String, String)>,
    },
    /// 200 with this body as it is (for malformed JSON).
    Raw(String),
    /// Never answers (the connection stays open until the fixture stops).
    Hang,
}

impl Reply {
    pub fn status(status: u16, message: &str) -> Self {
        Self::Error {
            status,
            message: message.to_owned(),
            headers: Vec::new(),
        }
    }

    /// 429 with `X-RateLimit-Reset` given as seconds from now.
    pub fn too_many_delta(seconds: u64) -> Self {
        Self::Error {
            status: 429,
            message: "Too many requests".to_owned(),
            headers: vec![
                ("X-RateLimit-Remaining".to_owned(), "0".to_owned()),
                ("X-RateLimit-Reset".to_owned(), seconds.to_string()),
            ],
        }
    }

    /// 429 with `X-RateLimit-Reset` given as a Unix time.
    pub fn too_many_epoch(at: i64) -> Self {
        Self::Error {
            status: 429,
            message: "Too many requests".to_owned(),
            headers: vec![
                ("X-RateLimit-Remaining".to_owned(), "0".to_owned()),
                ("X-RateLimit-Reset".to_owned(), at.to_string()),
            ],
        }
    }
}

/// What the fixture serves; tests change it through [`WebdockFixture::with`].
pub struct State {
    pub token: String,
    pub servers: Vec<Value>,
    pub profiles: Vec<Value>,
    pub metrics_now: HashMap<String, Value>,
    pub metrics: HashMap<String, Value>,
    /// (path, reply), used once each, first match first.
    pub scripted: VecDeque<(String, Reply)>,
    pub requests: Vec<Request>,
    pub limit: u64,
    pub remaining: u64,
}

pub struct WebdockFixture {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The fixture's two servers use both spellings of the fields the API notes call unconfirmed.
pub fn default_state(token: &str) -> State {
    let sample = |amount: f64| json!({"amount": amount, "timestamp": "2026-11-23 08:00:00"});
    let now = |memory: f64, cpu: f64, disk: f64, network: f64| {
        json!({
            "cpu": {"latestUsageSampling": sample(cpu)},
            "memory": {"latestUsageSampling": sample(memory)},
            "disk": {"allowed": 40960, "lastSamplings": sample(disk)},
            "network": {"total": network, "allowed": 1000, "latestIngressSampling": sample(120.0),
                        "latestEgressSampling": sample(80.0)},
            "processes": {"latestProcessesSampling": sample(97.0)},
            "someFutureBlock": {"x": 1}
        })
    };
    let series = |amounts: &[f64], step_s: i64| {
        Value::Array(
            amounts
                .iter()
                .enumerate()
                .map(|(i, a)| json!({"amount": a, "timestamp": 1_795_000_000 + i as i64 * step_s}))
                .collect(),
        )
    };
    let historic = json!({
        "cpu": {"usageSamplings": series(&[360.0, 720.0, 1800.0], 1800)},
        "memory": {"usageSamplings": series(&[512.0, 1024.0], 3600)},
        "disk": {"allowed": 40960, "samplings": series(&[10240.0, 10752.0], 86400)},
        "network": {"total": 250, "allowed": 1000, "ingressSamplings": series(&[100.0, 200.0], 86400),
                    "egressSamplings": series(&[50.0], 86400)},
        "processes": {"processesSamplings": series(&[90.0, 97.0], 1800)}
    });
    State {
        token: token.to_owned(),
        servers: vec![
            json!({"slug": "shop1", "name": "Shop", "date": "2024-01-01 10:00:00", "location": "fi",
                   "image": "ubuntu-2404", "profile": "bit-2024", "ipv4": "203.0.113.10", "ipv6": "2001:db8::10",
                   "status": "running", "webServer": "Nginx", "aliases": ["shop.example"], "snapshotRunTime": 0,
                   "description": "", "WordPressLockDown": false, "SSHPasswordAuthEnabled": false, "notes": "",
                   "nextActionDate": null, "virtualization": "kvm", "secondaryIps": ["203.0.113.11"],
                   "lastChecked": "2026-11-23 08:00:00"}),
            json!({"slug": "blog1", "name": "Blog", "location": "dk", "image": "debian-12", "profile": "bit-2024",
                   "ipv4": "203.0.113.20", "status": "running", "webServer": "Apache",
                   "secondary_ips": [{"ip": "203.0.113.21"}], "lastchecked": 1795000000,
                   "aBrandNewField": [1, 2, 3]}),
        ],
        profiles: vec![
            json!({"slug": "bit-2024", "name": "Bit", "ram": 2048, "disk": 40960,
                              "cpu": {"cores": 2, "threads": 2}, "price": {"amount": 4.3, "currency": "EUR"},
                              "platform": "kvm"}),
        ],
        metrics_now: HashMap::from([
            ("shop1".to_owned(), now(512.0, 900.0, 10240.0, 120.0)),
            ("blog1".to_owned(), now(1024.0, 180.0, 20480.0, 40.0)),
        ]),
        metrics: HashMap::from([
            ("shop1".to_owned(), historic.clone()),
            ("blog1".to_owned(), historic),
        ]),
        scripted: VecDeque::new(),
        requests: Vec::new(),
        limit: 5000,
        remaining: 5000,
    }
}

impl WebdockFixture {
    /// Listens on 127.0.0.1 (a free port) with the default servers, accepting `token`.
    pub fn start(token: &str) -> Self {
        Self::start_with(default_state(token))
    }

    pub fn start_with(state: State) -> Self {
        Self::start_on("127.0.0.1:0", state)
    }

    /// Listens on `bind` (such as the Docker bridge's gateway, for a client inside a container).
    pub fn start_on(bind: &str, state: State) -> Self {
        let listener = TcpListener::bind(bind).expect("bind the Webdock fixture");
        let address = listener.local_addr().expect("fixture address");
        let state = Arc::new(Mutex::new(state));
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = state.clone();
            let stopping = stopping.clone();
            std::thread::Builder::new()
                .name("webdock-fixture".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let state = state.clone();
                        let stopping = stopping.clone();
                        std::thread::spawn(move || serve(stream, &state, &stopping));
                    }
                })
                .expect("spawn the Webdock fixture")
        };
        Self {
            address,
            state,
            stopping,
            thread: Some(thread),
        }
    }

    /// The base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Reads or changes what the fixture serves.
    pub fn with<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        change(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Answers the next request to `path` (without `/v1`) with `reply`.
    pub fn script(&self, path: &str, reply: Reply) {
        self.with(|s| s.scripted.push_back((path.to_owned(), reply)));
    }

    pub fn requests(&self) -> Vec<Request> {
        self.with(|s| s.requests.clone())
    }

    /// How many requests reached `path` (without `/v1`, without the query).
    pub fn count(&self, path: &str) -> usize {
        self.with(|s| s.requests.iter().filter(|r| r.path == path).count())
    }

    pub fn total(&self) -> usize {
        self.with(|s| s.requests.len())
    }

    /// Sets the memory a server's `/metrics/now` reports, in MiB.
    pub fn set_memory(&self, slug: &str, mib: f64) {
        self.with(|s| {
            if let Some(metrics) = s.metrics_now.get_mut(slug) {
                metrics["memory"]["latestUsageSampling"]["amount"] = json!(mib);
            }
        });
    }
}

impl Drop for WebdockFixture {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, stopping: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.trim().is_empty() {
        return;
    }
    let mut authorization = None;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {
                if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("authorization") {
                        authorization = Some(value.trim().to_owned());
                    }
                }
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default();
    let (full_path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = full_path
        .strip_prefix("/v1")
        .unwrap_or(full_path)
        .to_owned();

    let (status, body, headers) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let authorized = authorization.as_deref() == Some(format!("Bearer {}", s.token).as_str());
        s.requests.push(Request {
            method: method.clone(),
            path: path.clone(),
            query: query.to_owned(),
            authorized,
        });
        s.remaining = s.remaining.saturating_sub(1);
        let mut headers = vec![
            ("X-RateLimit-Limit".to_owned(), s.limit.to_string()),
            ("X-RateLimit-Remaining".to_owned(), s.remaining.to_string()),
            ("X-RateLimit-Reset".to_owned(), "3600".to_owned()),
        ];
        let scripted = s
            .scripted
            .iter()
            .position(|(p, _)| *p == path)
            .and_then(|i| s.scripted.remove(i))
            .map(|(_, reply)| reply);
        match scripted {
            Some(Reply::Hang) => {
                drop(s);
                while !stopping.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Some(Reply::Raw(body)) => (200, body, headers),
            Some(Reply::Error {
                status,
                message,
                headers: extra,
            }) => {
                for (name, value) in extra {
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                    headers.push((name, value));
                }
                (
                    status,
                    json!({"id": status, "message": message}).to_string(),
                    headers,
                )
            }
            None if !authorized => (
                401,
                json!({"id": 401, "message": "Unauthorized"}).to_string(),
                headers,
            ),
            None => {
                let (status, body) = route(&s, &method, &path, query);
                (status, body.to_string(), headers)
            }
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn route(s: &State, method: &str, path: &str, query: &str) -> (u16, Value) {
    let not_found = || (404, json!({"id": 404, "message": "Server not found"}));
    if method != "GET" {
        return (405, json!({"id": 405, "message": "Method not allowed"}));
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["ping"] => (200, json!({"webdock": "rocks"})),
        ["servers"] => {
            let wanted = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("status="))
                .unwrap_or("all");
            let list: Vec<Value> = s
                .servers
                .iter()
                .filter(|server| {
                    let suspended = server["status"] == "suspended";
                    match wanted {
                        "suspended" => suspended,
                        "active" => !suspended,
                        _ => true,
                    }
                })
                .cloned()
                .collect();
            (200, Value::Array(list))
        }
        ["profiles"] => (200, Value::Array(s.profiles.clone())),
        ["servers", slug] => s
            .servers
            .iter()
            .find(|server| server["slug"] == *slug)
            .map(|server| (200, server.clone()))
            .unwrap_or_else(not_found),
        ["servers", slug, "metrics", "now"] => s
            .metrics_now
            .get(*slug)
            .map(|m| (200, m.clone()))
            .unwrap_or_else(not_found),
        ["servers", slug, "metrics"] => s
            .metrics
            .get(*slug)
            .map(|m| (200, m.clone()))
            .unwrap_or_else(not_found),
        _ => (404, json!({"id": 404, "message": "Not found"})),
    }
}
