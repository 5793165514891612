//! A real `docktray serve` process for the API tests: its own config file and history in a temp dir, a loopback
//! port, the token from `DOCKTRAY_API_TOKEN` (unless a test gives the keychain's), stderr kept for reading.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::caddy::free_port;
use super::{unique, TestContainer};

/// Who sends a request: a client with the bearer token, or a page (only the headers it is given).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sender {
    Token,
    Page,
}

/// One answer: its status, its head (the status line and one header a line, as sent) and its body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// Reads `curl -i` output; the interim `100 Continue` head of a large body is skipped.
    fn parse(text: &str) -> Self {
        let text = text.replace("\r\n", "\n");
        let mut rest = text.as_str();
        let (head, body) = loop {
            let (head, body) = rest.split_once("\n\n").unwrap_or((rest, ""));
            if head.starts_with("HTTP/") && head.split_whitespace().nth(1) == Some("100") {
                rest = body;
                continue;
            }
            break (head, body);
        };
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Self {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    /// The first value of a header, its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }
}

/// The first value of a header in `head`, its name in any case.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A page signed in with the token: its session cookie (`name=value`) and its CSRF token.
pub struct PageSession {
    pub cookie: String,
    pub csrf: String,
}

impl PageSession {
    pub fn cookie_header(&self) -> String {
        format!("Cookie: {}", self.cookie)
    }

    pub fn csrf_header(&self) -> String {
        format!("x-docktray-csrf: {}", self.csrf)
    }
}

/// The 200 answer's JSON, failing the test with `what` otherwise.
pub fn parsed(status: u16, body: &str, what: &str) -> serde_json::Value {
    assert_eq!(status, 200, "{what}: {body}");
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{what}: {err}: {body}"))
}

pub struct Serve {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
    pub token: String,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
    pub stdout: Arc<Mutex<String>>,
    /// The CA certificate of an HTTPS server (requests then go to https:// with curl --cacert).
    pub ca: Option<PathBuf>,
}

/// How to start one.
pub struct Options<'a> {
    /// More TOML after the generated `interval`, `[history]` and `[api]` lines (`[api]` keys go in `api`).
    pub extra: &'a str,
    /// More `[api]` keys.
    pub api: &'a str,
    /// `DOCKER_HOST` for this process (default: the test engine's).
    pub docker_host: Option<String>,
    /// Environment to add (the keychain's session, a log level ...).
    pub env: Vec<(String, String)>,
    /// `Some(token)`: `DOCKTRAY_API_TOKEN`; `None`: the keychain's.
    pub token: Option<String>,
    pub args: Vec<String>,
    /// Changes the command before it starts (a keychain's session environment).
    pub prepare: Option<&'a dyn Fn(&mut Command)>,
    /// Serve HTTPS, trusting this CA certificate.
    pub ca: Option<PathBuf>,
    /// The listen address's IP (default 127.0.0.1); requests still go to 127.0.0.1.
    pub listen_ip: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            extra: "",
            api: "",
            docker_host: None,
            env: Vec::new(),
            token: Some(format!("test-token-{}", std::process::id())),
            args: Vec::new(),
            prepare: None,
            ca: None,
            listen_ip: "127.0.0.1",
        }
    }
}

impl Serve {
    pub fn start(options: Options) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dtt-serve")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "# Docktray settings for the API test\ninterval = \"500ms\"\n{}\n[history]\npath = \"{}\"\n\n[api]\nlisten = \"{}:{port}\"\n{}\n",
                options.extra,
                dir.path().join("history.sqlite").display(),
                options.listen_ip,
                options.api
            ),
        )
        .expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
        command
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .arg("--no-notify")
            .args(&options.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("DOCKTRAY_API_TOKEN")
            .env_remove("DOCKTRAY_API_TOKEN_FILE");
        if let Some(host) = &options.docker_host {
            command.env("DOCKER_HOST", host);
        }
        if let Some(token) = &options.token {
            command.env("DOCKTRAY_API_TOKEN", token);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        if let Some(prepare) = options.prepare {
            prepare(&mut command);
        }
        // The server dies with the test process, even when that is killed: a leftover server would keep the
        // ports, the engine's containers and any lock the test run holds.
        // SAFETY: prctl is async-signal-safe and touches only the child being started.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn().expect("start docktray serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        for (pipe, sink) in [
            (
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                stderr.clone(),
            ),
            (
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
                stdout.clone(),
            ),
        ] {
            let Some(pipe) = pipe else { continue };
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut all = sink.lock().expect("lock");
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let mut serve = Self {
            dir,
            config,
            port,
            token: options.token.unwrap_or_default(),
            child: Some(child),
            stderr,
            stdout,
            ca: options.ca.clone(),
        };
        serve.wait_ready();
        serve
    }

    /// Waits until `/readiness` says 200 (it needs no token).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    std::thread::sleep(Duration::from_millis(200));
                    panic!("docktray serve exited ({status}): {}", self.stderr());
                }
            }
            let out = self
                .curl()
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                .arg(format!("{}/readiness", self.url()))
                .output()
                .expect("curl");
            if String::from_utf8_lossy(&out.stdout) == "200" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "docktray serve not ready within 60 s: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// curl, trusting the server's CA when it serves HTTPS.
    pub fn curl(&self) -> Command {
        let mut command = Command::new("curl");
        if let Some(ca) = &self.ca {
            command.arg("--cacert").arg(ca);
        }
        command
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// Resident memory of the server process, bytes.
    pub fn rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS")
            * 1024
    }

    /// Stops it with SIGTERM (the history is written) and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A request with the token: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], None)
    }

    /// A request with curl: `headers` as `Name: value`; the token added unless a header sets Authorization.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: Option<&str>,
    ) -> (u16, String) {
        let sender = if headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("authorization:"))
        {
            Sender::Page
        } else {
            Sender::Token
        };
        let answer = self.exchange(sender, method, path, headers, body);
        (answer.status, answer.body)
    }

    /// A request as a page makes it: no bearer token, only `headers` (its cookie, its CSRF header) and a JSON
    /// body: (status, body).
    pub fn page(
        &self,
        method: &str,
        path: &str,
        headers: &[&str],
        body: Option<&str>,
    ) -> (u16, String) {
        let answer = self.exchange(Sender::Page, method, path, headers, body);
        (answer.status, answer.body)
    }

    /// The one way the tests send a request: curl with `headers` as `Name: value`, a JSON `body`, and the bearer
    /// token when `sender` is [`Sender::Token`]. The answer keeps its head, for tests of headers.
    pub fn exchange(
        &self,
        sender: Sender,
        method: &str,
        path: &str,
        headers: &[&str],
        body: Option<&str>,
    ) -> Answer {
        let mut command = self.curl();
        command.args(["-s", "-i", "-m", "30", "-X", method]);
        if sender == Sender::Token {
            command
                .arg("-H")
                .arg(format!("Authorization: Bearer {}", self.token));
        }
        for header in headers {
            command.arg("-H").arg(header);
        }
        if let Some(body) = body {
            command
                .args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(body);
        }
        let out = command
            .arg(format!("{}{path}", self.url()))
            .output()
            .expect("curl");
        Answer::parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// Signs a page in with the token: its session cookie and CSRF token.
    pub fn page_session(&self) -> PageSession {
        let token = serde_json::json!({ "token": self.token }).to_string();
        let answer = self.exchange(Sender::Page, "POST", "/api/v1/session", &[], Some(&token));
        let cookie = answer
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie: {}", answer.head))
            .to_owned();
        let reply: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
        let csrf = reply["csrf"].as_str().expect("csrf").to_owned();
        PageSession { cookie, csrf }
    }

    /// Signs a page in with the token: (the `Cookie:` header, the `x-docktray-csrf:` header).
    pub fn sign_in(&self) -> (String, String) {
        let session = self.page_session();
        (session.cookie_header(), session.csrf_header())
    }

    /// Waits until the server lists the container (its first sweep).
    pub fn wait_listed(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.get(&format!("/api/v1/containers/{name}")).0 != 200 {
            assert!(Instant::now() < deadline, "{name} never listed");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the predecessors' `/containers/{name}` route answers with the container's figures (its
    /// first sweep with stats), and returns that answer.
    pub fn wait_listed_with_figures(&self, name: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.get(&format!("/containers/{name}"));
            if status == 200 {
                let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
                if !value["stats"].is_null() {
                    return value;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{name} never listed with figures: {body}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// GET with the token, expecting 200 and JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("GET {path}: {err}: {body}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A container the API's endpoints can name, in a compose project of its own (`shop-<unique>`) with Caddy labels.
pub fn compose_sample() -> TestContainer {
    let project = format!("com.docker.compose.project=shop-{}", unique("p"));
    TestContainer::run(
        "api",
        &[
            "--label",
            &project,
            "--label",
            "com.docker.compose.service=web",
            "--label",
            "docktray.revp.domain=shop.example",
            "--label",
            "docktray.revp.port=80",
        ],
        &["sleep", "600"],
    )
}
