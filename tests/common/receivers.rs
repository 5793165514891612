//! The real receivers of tests/receivers/receivers.py (aiosmtpd's SMTP server, an HTTP webhook receiver, a local
//! ntfy stand-in), run with the test venv's Python (scripts/test-venv.sh, which `make test` runs), and a private CA
//! made with openssl for the SMTP server's certificate. Each receiver prints what it got as JSON lines.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The venv's Python: `DOCKTRAY_TEST_VENV`, else `<target dir>/test-venv` (next to this test binary).
pub fn python() -> PathBuf {
    if let Some(venv) = std::env::var_os("DOCKTRAY_TEST_VENV") {
        return PathBuf::from(venv).join("bin/python");
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // <target>/debug/deps/<binary>
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/debug/deps");
    let python = target.join("test-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-venv.sh (make test does, through scripts/deps.sh)",
        python.display()
    );
    python
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers/receivers.py")
}

/// A running receiver and what it printed.
pub struct Receiver {
    child: Child,
    lines: Arc<Mutex<Vec<Value>>>,
    arrived: mpsc::Receiver<()>,
    pub ports: BTreeMap<String, u16>,
}

impl Receiver {
    /// `receivers.py ARGS`, once it listens.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(python())
            .arg(script())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start receivers.py");
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = mpsc::channel::<BTreeMap<String, u16>>();
        let (arrived_tx, arrived) = mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if value["kind"] == "ready" {
                    let ports = value["ports"]
                        .as_object()
                        .map(|ports| {
                            ports
                                .iter()
                                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0) as u16))
                                .collect()
                        })
                        .unwrap_or_default();
                    let _ = ready_tx.send(ports);
                    continue;
                }
                sink.lock().unwrap().push(value);
                let _ = arrived_tx.send(());
            }
        });
        let ports = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("receivers.py {args:?} did not start within 20 s"));
        Self {
            child,
            lines,
            arrived,
            ports,
        }
    }

    pub fn port(&self, name: &str) -> u16 {
        self.ports[name]
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until `count` records are in, or fails after `timeout`.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("expected {count} records within {timeout:?}, got {got:#?}");
            }
            let _ = self.arrived.recv_timeout(left);
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA and a certificate for 127.0.0.1 and localhost signed by it, made with openssl in `dir`. Returns
/// (CA certificate, server certificate, server key).
pub fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Docktray test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext.cnf");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
