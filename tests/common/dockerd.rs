//! A second, private Docker engine for tests that stop an engine or need one reachable only another way
//! (over SSH). Never `--bridge=none`: that makes dockerd delete the shared docker0 of the main test engine.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{docker, docker_output, image};

/// A private `dockerd` beside the shared test engine: its own socket, data-root, exec-root, pidfile, bridge
/// and containerd namespace, so stopping it or its containers disturbs nothing else.
pub struct PrivateDockerd {
    pub root: tempfile::TempDir,
    child: Option<Child>,
    bridge: String,
    namespace: String,
}

impl PrivateDockerd {
    /// The dockerd process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn socket(&self) -> PathBuf {
        self.root.path().join("d.sock")
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Starts one. `tag` (2-3 letters) names its directory, bridge and containerd namespace; `bridge_ip` is its
    /// bridge's address (`a.b.c.1/24`), from a TEST-NET range so it never clashes with a real network, and
    /// different for each test binary that runs one.
    pub fn new(tag: &str, bridge_ip: &str) -> Self {
        // Short path: unix socket paths are limited to 108 bytes.
        let root = tempfile::Builder::new()
            .prefix(tag)
            .tempdir_in("/tmp")
            .expect("tempdir");
        // Its own bridge: `--bridge=none` would make dockerd delete the shared docker0 of the main test engine.
        // The address is from TEST-NET-1 (documentation range, never routed); containers here use no network.
        let bridge = format!("{tag}{}", std::process::id() % 100_000);
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let _ = ip(&["link", "del", &bridge]);
        assert!(
            ip(&["link", "add", &bridge, "type", "bridge"]),
            "cannot create bridge {bridge} (needs root and iproute2)"
        );
        assert!(ip(&["addr", "add", bridge_ip, "dev", &bridge]));
        assert!(ip(&["link", "set", &bridge, "up"]));
        let mut dockerd = Self {
            root,
            child: None,
            bridge,
            namespace: tag.to_owned(),
        };
        dockerd.start();
        dockerd
    }

    pub fn start(&mut self) {
        let root = self.root.path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(root.join("dockerd.log"))
            .expect("log file");
        let binary = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect("dockerd is installed (make test installs Debian's docker.io)");
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new(binary)
            .args(["--data-root", &root.join("data").to_string_lossy()])
            .args(["--exec-root", &root.join("x").to_string_lossy()])
            .args(["--pidfile", &root.join("pid").to_string_lossy()])
            .args(["--host", &self.host()])
            .args([
                "--bridge",
                &self.bridge,
                "--iptables=false",
                "--ip6tables=false",
            ])
            .args([
                "--containerd-namespace",
                &self.namespace,
                "--containerd-plugins-namespace",
                &format!("{}p", self.namespace),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dockerd (the test needs root)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "private dockerd did not start: {}",
                std::fs::read_to_string(root.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn answers(&self) -> bool {
        Command::new("docker")
            .args([
                "-H",
                &self.host(),
                "version",
                "--format",
                "{{.Server.Version}}",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    pub fn docker(&self, args: &[&str]) -> String {
        let host = self.host();
        let mut all = vec!["-H", host.as_str()];
        all.extend_from_slice(args);
        docker(&all)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            let host = self.host();
            let ids = docker_output(&["-H", &host, "ps", "-aq"]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                let _ = docker_output(&["-H", &host, "rm", "-f", id]);
            }
        }
        self.stop();
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
}

impl PrivateDockerd {
    /// Copies the shared engine's test image into this engine (nothing can be pulled here).
    pub fn load_test_image(&self) {
        let load = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {} | docker -H {} load",
                image(),
                self.host()
            ))
            .output()
            .expect("copy the test image");
        assert!(
            load.status.success(),
            "{}",
            String::from_utf8_lossy(&load.stderr)
        );
    }
}
