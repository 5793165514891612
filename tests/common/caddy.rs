//! A real Caddy (Debian's `caddy`, installed by scripts/deps.sh) for the tests: HTTP server and admin API on
//! free loopback ports, its data and autosave in a temporary directory, and a JSON config that already holds
//! one route of the user's own. Requests go through the real `curl`, as a user would send them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The user's own route in every test config: `Host: user.test` answers "user page".
pub const USER_HOST: &str = "user.test";
pub const USER_PAGE: &str = "user page";

pub struct Caddy {
    pub admin_port: u16,
    pub http_port: u16,
    /// The HTTPS port of [`Caddy::start_tls`] (0 otherwise).
    pub https_port: u16,
    dir: tempfile::TempDir,
    config: PathBuf,
    child: Option<Child>,
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// The user's route, as it is in Caddy's config before Docktray starts (and must stay).
pub fn user_route() -> Value {
    json!({
        "@id": "user-route",
        "match": [{"host": [USER_HOST]}],
        "handle": [{"handler": "static_response", "body": USER_PAGE}]
    })
}

impl Caddy {
    /// One HTTP server called `main` on a loopback port (plain HTTP: automatic HTTPS off) holding the user's
    /// route.
    pub fn start() -> Self {
        Self::start_with(|http_port| {
            json!({
                "main": {
                    "listen": [format!("127.0.0.1:{http_port}")],
                    "automatic_https": {"disable": true},
                    "routes": [user_route()]
                }
            })
        })
    }

    /// Caddy with the HTTP servers `servers(http_port)` gives.
    pub fn start_with(servers: impl FnOnce(u16) -> Value) -> Self {
        Self::launch(
            |http_port, _| json!({"http": {"http_port": http_port, "servers": servers(http_port)}}),
        )
    }

    /// Caddy as it serves HTTPS: a server `main` on its HTTPS port where automatic HTTPS applies (certificates
    /// from Caddy's own local CA, which needs no network; no redirects), holding the user's route, and a server
    /// `plain` on its HTTP port.
    pub fn start_tls() -> Self {
        Self::launch(|http_port, https_port| {
            json!({
                "http": {"http_port": http_port, "https_port": https_port, "servers": {
                    "main": {
                        "listen": [format!("127.0.0.1:{https_port}")],
                        "automatic_https": {"disable_redirects": true},
                        "routes": [user_route()]
                    },
                    "plain": {"listen": [format!("127.0.0.1:{http_port}")]}
                }},
                "tls": {"automation": {"policies": [{"issuers": [{"module": "internal"}]}]}},
                "pki": {"certificate_authorities": {"local": {"install_trust": false}}}
            })
        })
    }

    /// The root certificate of Caddy's local CA (after it issued one), to verify its certificates with.
    pub fn local_root(&self) -> PathBuf {
        self.dir
            .path()
            .join("data/caddy/pki/authorities/local/root.crt")
    }

    /// `curl --cacert <local root> https://HOST:<https port>PATH` resolved to loopback, fully verified.
    pub fn get_https(&self, host: &str, path: &str) -> (u16, String) {
        let output = Command::new("curl")
            .args(["-s", "--max-time", "5", "--cacert"])
            .arg(self.local_root())
            .arg("--resolve")
            .arg(format!("{host}:{}:127.0.0.1", self.https_port))
            .args(["-w", "\n%{http_code}"])
            .arg(format!("https://{host}:{}{path}", self.https_port))
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.trim().to_owned())
    }

    fn launch(apps: impl FnOnce(u16, u16) -> Value) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let admin_port = free_port();
        let http_port = free_port();
        let https_port = free_port();
        let config = json!({
            "admin": {"listen": format!("127.0.0.1:{admin_port}")},
            "apps": apps(http_port, https_port)
        });
        let path = dir.path().join("caddy.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("JSON"))
            .expect("write config");
        let mut caddy = Self {
            admin_port,
            http_port,
            https_port,
            dir,
            config: path,
            child: None,
        };
        caddy.run();
        caddy
    }

    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    /// Starts Caddy with its original config file (what it was given at first, not what was pushed since).
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "Caddy already runs");
        let home = self.dir.path();
        let log = std::fs::File::create(home.join("caddy.log")).expect("log file");
        let child = Command::new("caddy")
            .args(["run", "--config"])
            .arg(&self.config)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot run caddy: {err} (scripts/deps.sh test installs Debian's caddy)")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.admin_get("/config/").is_none() {
            assert!(
                Instant::now() < deadline,
                "Caddy did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops Caddy (SIGKILL: the abrupt end a crash would be).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    /// A GET on the admin API, as JSON; `None` when Caddy does not answer or answers an error.
    pub fn admin_get(&self, path: &str) -> Option<Value> {
        let output = Command::new("curl")
            .args(["-sf", "--max-time", "5"])
            .arg(format!("{}{path}", self.admin_url()))
            .output()
            .expect("run curl");
        if !output.status.success() {
            return None;
        }
        serde_json::from_slice(&output.stdout).ok()
    }

    /// The server's routes as Caddy holds them now.
    pub fn routes(&self, server: &str) -> Vec<Value> {
        self.admin_get(&format!("/config/apps/http/servers/{server}/routes"))
            .and_then(|routes| routes.as_array().cloned())
            .unwrap_or_default()
    }

    /// `curl -H 'Host: HOST' http://127.0.0.1:PORT/PATH`: the status code and the body.
    pub fn get(&self, host: &str, path: &str) -> (u16, String) {
        let output = Command::new("curl")
            .args(["-s", "--max-time", "5", "-H"])
            .arg(format!("Host: {host}"))
            .args(["-w", "\n%{http_code}"])
            .arg(format!("http://127.0.0.1:{}{path}", self.http_port))
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.trim().to_owned())
    }

    /// The user's route still answers as it did, and is in Caddy exactly as it was written.
    pub fn assert_user_route_untouched(&self, server: &str) {
        assert_eq!(
            self.get(USER_HOST, "/"),
            (200, USER_PAGE.to_owned()),
            "the user's route answers"
        );
        let routes = self.routes(server);
        let theirs: Vec<&Value> = routes
            .iter()
            .filter(|r| r.get("@id").and_then(Value::as_str) == Some("user-route"))
            .collect();
        assert_eq!(
            theirs,
            vec![&user_route()],
            "the user's route is never changed"
        );
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        self.stop();
    }
}
