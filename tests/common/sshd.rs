//! A real `sshd` on 127.0.0.1 for the SSH host tests: its own host key, authorized key, port and pid file in a
//! temporary directory, and an ssh_config (`ssh -F`) with the aliases the tests connect to, so root's real
//! ~/.ssh is never read or written.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The unprivileged user the socket-permission test logs in as (created by the test when missing).
pub const TEST_USER: &str = "docktray-t";

pub struct TestSshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program} (scripts/deps.sh installs it): {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "docktray-test",
            "-f",
            &path.to_string_lossy(),
        ],
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Every process below `root` (by parent pid), deepest last.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) in parentheses: state, ppid, ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

impl TestSshd {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The listening sshd's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The client config to pass as `ssh_config` (`ssh -F`).
    pub fn ssh_config(&self) -> PathBuf {
        self.path("ssh_config")
    }

    /// Generates keys and configs and starts sshd.
    pub fn new() -> Self {
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("dts")
            .tempdir_in("/tmp")
            .expect("tempdir");
        // The unprivileged test user must read its authorized_keys here.
        run("chmod", &["0755", &dir.path().to_string_lossy()]);
        let sshd = Self {
            port: free_port(),
            dir,
            child: None,
        };
        keygen(&sshd.path("hostkey"));
        keygen(&sshd.path("id"));
        keygen(&sshd.path("wrong"));
        std::fs::copy(sshd.path("id.pub"), sshd.path("authorized_keys")).expect("authorized_keys");
        run(
            "chmod",
            &["0644", &sshd.path("authorized_keys").to_string_lossy()],
        );
        let d = sshd.dir.path().display().to_string();
        let port = sshd.port;
        // Root's sessions get an empty home: root's real shell start-up files (a `pyenv rehash` in ~/.bashrc
        // waiting 60 s for its lock, here) must not run before each remote command and time the tests out.
        std::fs::create_dir_all(sshd.path("root-home")).expect("root's test home");
        std::fs::write(
            sshd.path("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys .ssh/authorized_keys\nAllowStreamLocalForwarding yes\nStrictModes no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\nMaxStartups 100\n\
                 Match User root\n  SetEnv HOME={d}/root-home\n  AuthorizedKeysFile {d}/authorized_keys\n"
            ),
        )
        .expect("sshd_config");
        let local = format!("  HostName 127.0.0.1\n  Port {port}\n");
        // `Host *` last: every destination (even unknown names) keeps off root's ~/.ssh and any agent.
        std::fs::write(
            sshd.ssh_config(),
            format!(
                "Host dt-remote\n  User root\n  IdentityFile {d}/id\n{local}\
                 Host dt-user\n  User {TEST_USER}\n  IdentityFile {d}/id\n{local}\
                 Host dt-nokey\n  User root\n{local}\
                 Host *\n  IdentitiesOnly yes\n  IdentityAgent none\n  IdentityFile {d}/wrong\n  \
                 UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n  \
                 ConnectionAttempts 1\n"
            ),
        )
        .expect("ssh_config");
        let mut sshd = sshd;
        // A port picked free can be taken by someone else before sshd binds it: pick another.
        for _ in 0..5 {
            if sshd.try_start() {
                return sshd;
            }
            sshd.port = free_port();
            let config = std::fs::read_to_string(sshd.path("sshd_config")).expect("sshd_config");
            let client = std::fs::read_to_string(sshd.ssh_config()).expect("ssh_config");
            let port_line = |text: &str, indent: &str, port: u16| {
                text.lines()
                    .map(|line| {
                        if line.trim_start().starts_with("Port ") {
                            format!("{indent}Port {port}")
                        } else {
                            line.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n"
            };
            std::fs::write(sshd.path("sshd_config"), port_line(&config, "", sshd.port))
                .expect("sshd_config");
            std::fs::write(sshd.ssh_config(), port_line(&client, "  ", sshd.port))
                .expect("ssh_config");
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(sshd.path("sshd.log")).unwrap_or_default()
        )
    }

    /// Starts sshd (again) on the same port with the current host key.
    pub fn start(&mut self) {
        assert!(
            self.try_start(),
            "sshd did not start on port {}: {}",
            self.port,
            std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
        );
    }

    /// Starts sshd and waits until it says it listens. Waiting for the port to answer is not enough: another
    /// test run's sshd may hold the same port (picked free by both), and then everything would talk to that one.
    /// False when this sshd exited (the port is taken).
    fn try_start(&mut self) -> bool {
        let listening = format!("Server listening on 127.0.0.1 port {}.", self.port);
        let count = || {
            std::fs::read_to_string(self.path("sshd.log"))
                .unwrap_or_default()
                .matches(&listening)
                .count()
        };
        let before = count();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.path("sshd.log"))
            .expect("log");
        let mut child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(self.path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start sshd (apt-get install openssh-server; the test needs root)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while count() == before || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
        true
    }

    /// Freezes (`-STOP`) or thaws (`-CONT`) the processes serving the open connections, not the listener: to
    /// the client that is a network cut (nothing answers, nothing closes); new connections are still served.
    /// Returns the processes signalled.
    pub fn signal_sessions(&self, signal: &str) -> Vec<u32> {
        let pids = self.pid().map(descendants).unwrap_or_default();
        for pid in &pids {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
        }
        pids
    }

    /// Kills sshd and every connection it serves, like a crashed or rebooted server.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut pids = descendants(child.id());
            pids.push(child.id());
            for pid in pids.iter().rev() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = child.wait();
        }
    }

    /// A new host key, as if the server were reinstalled (or someone were in between).
    pub fn change_host_key(&mut self) {
        keygen(&self.path("hostkey"));
    }

    /// The current host key's known_hosts line.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.path("hostkey.pub")).expect("host key");
        let mut fields = public.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}",
            self.port,
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default()
        )
    }

    /// The host key's `SHA256:` fingerprint as ssh-keygen prints it.
    pub fn fingerprint(&self) -> String {
        let output = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.path("hostkey.pub"))
            .output()
            .expect("ssh-keygen");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    }

    /// A `[[hosts]]` entry for one of the aliases.
    pub fn host(&self, name: &str, alias: &str, socket: &str) -> docktray::config::HostConfig {
        docktray::config::HostConfig {
            name: name.to_owned(),
            destination: alias.to_owned(),
            identity_file: None,
            socket: socket.to_owned(),
            ssh_config: Some(self.ssh_config()),
        }
    }

    /// Creates the unprivileged test user (no password, not in the docker group) when missing.
    pub fn ensure_test_user() {
        let exists = Command::new("id")
            .arg(TEST_USER)
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            // `*` rather than the locked `!`, so sshd accepts a key login.
            run(
                "useradd",
                &[
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/bin/sh",
                    "--password",
                    "*",
                    TEST_USER,
                ],
            );
        }
    }
}

/// A throwaway user for one test run (its own name, so parallel runs never share it), with a home directory in
/// `dir` and in the `docker` group; removed when dropped. For what must happen in a real remote home, such as
/// installing a key in ~/.ssh/authorized_keys, without touching root's.
pub struct TempUser {
    pub name: String,
    pub home: PathBuf,
}

impl TempUser {
    pub fn new(prefix: &str, dir: &Path) -> Self {
        let name = format!("{prefix}{}", std::process::id());
        let home = dir.join(&name);
        // Left over from a killed run with the same pid.
        let _ = Command::new("userdel").arg(&name).output();
        std::fs::create_dir_all(&home).expect("home directory");
        // `*` rather than the locked `!`, so sshd accepts a key login.
        run(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--home-dir",
                &home.to_string_lossy(),
                "--shell",
                "/bin/sh",
                "--password",
                "*",
                "--groups",
                "docker",
                &name,
            ],
        );
        run("chown", &[&name, &home.to_string_lossy()]);
        run("chmod", &["0700", &home.to_string_lossy()]);
        Self { name, home }
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.kill();
    }
}
