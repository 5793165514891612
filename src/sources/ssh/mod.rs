//! Remote Docker hosts over SSH, with nothing installed on them but Docker and sshd. The system `ssh` runs one
//! ControlMaster per host (so `~/.ssh/config`, ssh-agent and known_hosts work as the user expects); the remote
//! Docker socket is forwarded to a local socket in a private runtime directory, and bollard talks to that.
//! Every failure names the step it happened at ([`ErrorStep`]) and how to fix it.

pub mod check;
pub mod discover;
pub mod keysetup;
pub mod known_hosts;
pub mod manage;
pub mod ssh_config;

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use openssh::{ForwardType, KnownHosts, Session, SessionBuilder, Socket};

use crate::config::HostConfig;
use crate::model::ErrorStep;

/// How long the TCP connection and SSH handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Unix socket paths are limited to 108 bytes (including the NUL); keep a margin.
const MAX_SOCKET_PATH: usize = 100;

/// A failure reaching a remote host: the step and a message that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SshError {
    pub step: ErrorStep,
    pub message: String,
}

impl SshError {
    pub fn new(step: ErrorStep, message: impl Into<String>) -> Self {
        Self {
            step,
            message: message.into(),
        }
    }
}

/// The destination in the form `ssh` takes: `user@host:port` becomes `ssh://user@host:port`.
pub fn ssh_destination(destination: &str) -> String {
    let destination = destination.trim();
    if destination.starts_with("ssh://") || !destination.contains(':') {
        destination.to_owned()
    } else {
        format!("ssh://{destination}")
    }
}

/// The private directory for forwarded sockets and ControlMaster files: `$DOCKTRAY_RUNTIME_DIR`, else
/// `$XDG_RUNTIME_DIR/docktray`, else `/tmp/docktray-<uid>`; created with mode 0700. A directory whose path
/// would make socket paths too long is skipped for the `/tmp` one.
pub fn runtime_dir() -> Result<PathBuf, SshError> {
    let uid =
        std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m));
    let candidates = [
        std::env::var_os("DOCKTRAY_RUNTIME_DIR").map(PathBuf::from),
        std::env::var_os("XDG_RUNTIME_DIR").map(|dir| PathBuf::from(dir).join("docktray")),
        Some(PathBuf::from(format!("/tmp/docktray-{uid}"))),
    ];
    let dir = candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.as_os_str().len() <= 60)
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/docktray-{uid}")));
    let failed = |err: std::io::Error| {
        SshError::new(
            ErrorStep::Ssh,
            format!(
                "cannot create the private runtime directory {}: {err}",
                dir.display()
            ),
        )
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(failed)?;
    let metadata = std::fs::symlink_metadata(&dir).map_err(failed)?;
    if !metadata.is_dir() || metadata.permissions().mode() & 0o077 != 0 {
        // Someone else could reach our forwarded Docker sockets: fix the mode rather than trust it.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    Ok(dir)
}

/// Tells the ControlMaster behind `control` to exit (best effort, waits for the short `ssh -O exit`).
fn exit_master(control: &Path) {
    let _ = std::process::Command::new("ssh")
        .arg("-S")
        .arg(control)
        .args(["-O", "exit", "docktray"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// This process's ControlMaster directory (`c<pid>`): per process, so cleaning up never touches the live
/// masters of another Docktray (the CLI beside the desktop app).
fn control_dir(dir: &Path) -> Result<PathBuf, SshError> {
    let control = dir.join(format!("c{}", std::process::id()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&control)
        .map_err(|err| {
            SshError::new(
                ErrorStep::Ssh,
                format!("cannot create {}: {err}", control.display()),
            )
        })?;
    Ok(control)
}

/// Removes what Docktray processes that no longer run left behind: forwarded sockets (named
/// `<host>-<pid>-<n>.sock`) and ControlMaster directories (`c<pid>`, whose masters are told to exit first).
fn remove_stale_sockets(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let dead = |pid: &str| {
        pid.parse::<u32>()
            .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix('c') {
            if dead(pid) {
                for master in std::fs::read_dir(entry.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    exit_master(&master.path().join("master"));
                }
                let _ = std::fs::remove_dir_all(entry.path());
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".sock") else {
            continue;
        };
        let pid = stem
            .rsplit('-')
            .nth(1)
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A short, unique local socket path for one connection of `host`.
fn socket_path(dir: &Path, host: &str) -> Result<PathBuf, SshError> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let short: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(16)
        .collect();
    let path = dir.join(format!(
        "{short}-{}-{}.sock",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(SshError::new(
            ErrorStep::Ssh,
            format!(
                "the local socket path {} is longer than unix sockets allow: set DOCKTRAY_RUNTIME_DIR to a short \
                 directory",
                path.display()
            ),
        ));
    }
    Ok(path)
}

/// Turns `ssh`'s own words into the failed step and a fix.
pub fn classify(destination: &str, text: &str) -> SshError {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let (step, advice) = if lower.contains("remote host identification has changed")
        || lower.contains("host key for") && lower.contains("has changed")
    {
        (
            ErrorStep::HostKey,
            "THE HOST KEY HAS CHANGED. This can mean someone is intercepting the connection, or the host was \
             reinstalled. Docktray refuses to connect. If the change is expected, remove the old key \
             (`ssh-keygen -R HOST`) and trust the new one with `docktray hosts trust NAME`"
                .to_owned(),
        )
    } else if lower.contains("host key is known")
        || lower.contains("host key verification failed")
        || lower.contains("no matching host key")
    {
        (
            ErrorStep::HostKey,
            "the host key is not in known_hosts: check its fingerprint and trust it with `docktray hosts trust NAME`"
                .to_owned(),
        )
    } else if lower.contains("could not resolve hostname")
        || lower.contains("name or service not known")
    {
        (
            ErrorStep::Dns,
            "the host name does not resolve: check the spelling, your DNS, or the alias in ~/.ssh/config".to_owned(),
        )
    } else if lower.contains("connection refused") {
        (
            ErrorStep::Tcp,
            "nothing accepts SSH connections on that port: is sshd running, and is the port right?"
                .to_owned(),
        )
    } else if lower.contains("timed out")
        || lower.contains("no route to host")
        || lower.contains("network is unreachable")
    {
        (
            ErrorStep::Tcp,
            "the SSH port cannot be reached: check the network, a firewall or VPN".to_owned(),
        )
    } else if lower.contains("permission denied")
        || lower.contains("too many authentication failures")
    {
        (
            ErrorStep::Auth,
            "the SSH login was refused: check the user and that your key is in the host's authorized_keys \
             (`ssh-copy-id DESTINATION` installs it), or load it into ssh-agent"
                .to_owned(),
        )
    } else if lower.contains("load key") || lower.contains("no such identity") {
        (
            ErrorStep::Auth,
            "the identity file cannot be read: check the path given with --identity".to_owned(),
        )
    } else {
        (
            ErrorStep::Ssh,
            "ssh failed: run `ssh -v DESTINATION` to see why".to_owned(),
        )
    };
    let said = if text.is_empty() {
        String::new()
    } else {
        format!(
            " (ssh said: {})",
            text.lines().last().unwrap_or(text).trim()
        )
    };
    SshError::new(
        step,
        format!(
            "{} step failed for {destination}: {advice}{said}",
            step.as_str()
        ),
    )
}

/// The text of an openssh error with its causes (ssh's stderr is in the source).
fn error_text(err: &openssh::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One live SSH connection to a host: the ControlMaster and the forwarded Docker socket.
pub struct Connection {
    session: Option<Session>,
    /// The local end of the forwarded Docker socket.
    pub socket: PathBuf,
    pub destination: String,
}

impl Connection {
    /// Opens the master, checks the remote socket, and forwards it. `keepalive` is how often the master probes
    /// the server, so a silently cut network is noticed too.
    pub async fn open(host: &HostConfig, keepalive: Duration) -> Result<Self, SshError> {
        let dir = runtime_dir()?;
        remove_stale_sockets(&dir);
        let destination = ssh_destination(&host.destination);
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(CONNECT_TIMEOUT)
            .server_alive_interval(keepalive.max(Duration::from_secs(1)))
            // The per-interval output repeats long cgroup paths: compression shrinks it several times.
            .compression(true)
            // Not openssh's clean_history_control_directory: it removes every master directory, live ones of
            // other hosts included.
            .control_directory(control_dir(&dir)?);
        if let Some(identity) = &host.identity_file {
            builder.keyfile(identity);
        }
        if let Some(config) = &host.ssh_config {
            builder.config_file(config);
        }
        let session = builder
            .connect(&destination)
            .await
            .map_err(|err| classify(&host.destination, &error_text(&err)))?;
        let mut connection = Self {
            session: Some(session),
            socket: PathBuf::new(),
            destination: host.destination.clone(),
        };
        match connection.forward(&dir, host).await {
            Ok(()) => Ok(connection),
            Err(err) => {
                connection.close().await;
                Err(err)
            }
        }
    }

    async fn forward(&mut self, dir: &Path, host: &HostConfig) -> Result<(), SshError> {
        check_remote_socket(self.session()?, &host.destination, &host.socket).await?;
        let socket = socket_path(dir, &host.name)?;
        // A stale socket file makes ssh's forward fail ("address already in use").
        let _ = std::fs::remove_file(&socket);
        self.session()?
            .request_port_forward(
                ForwardType::Local,
                Socket::UnixSocket {
                    path: socket.as_path().into(),
                },
                Socket::UnixSocket {
                    path: Path::new(&host.socket).into(),
                },
            )
            .await
            .map_err(|err| {
                SshError::new(
                    ErrorStep::Ssh,
                    format!(
                        "SSH step failed for {}: the host refused to forward {} (is `AllowStreamLocalForwarding` \
                         disabled in its sshd_config?): {}",
                        host.destination,
                        host.socket,
                        error_text(&err)
                    ),
                )
            })?;
        self.socket = socket;
        Ok(())
    }

    fn session(&self) -> Result<&Session, SshError> {
        self.session
            .as_ref()
            .ok_or_else(|| SshError::new(ErrorStep::Ssh, "the SSH connection is closed"))
    }

    /// The endpoint bollard connects to.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Whether the master connection still lives (it exits when the server goes away or stops answering).
    pub async fn check(&self) -> Result<(), SshError> {
        let session = self.session()?;
        match tokio::time::timeout(CONNECT_TIMEOUT, session.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(SshError::new(
                ErrorStep::Ssh,
                format!(
                    "the SSH connection to {} dropped: {}",
                    self.destination,
                    error_text(&err)
                ),
            )),
            Err(_) => Err(SshError::new(
                ErrorStep::Ssh,
                format!("the SSH connection to {} does not answer", self.destination),
            )),
        }
    }

    /// Runs a shell command line on the host and returns its standard output.
    pub async fn run(&self, script: &str, timeout: Duration) -> Result<String, SshError> {
        self.run_with_args(script, &[], timeout).await
    }

    /// Runs `sh -c SCRIPT docktray ARGS...` on the host (the arguments are `$1`...; each is quoted for the
    /// remote shell) and returns its standard output.
    pub async fn run_with_args(
        &self,
        script: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<String, SshError> {
        let session = self.session()?;
        let mut command = session.command("sh");
        command.arg("-c").arg(script).arg("docktray");
        for arg in args {
            command.arg(arg);
        }
        let output = tokio::time::timeout(timeout, command.output())
            .await
            .map_err(|_| {
                SshError::new(
                    ErrorStep::Ssh,
                    format!(
                        "a command on {} did not finish within {timeout:?}",
                        self.destination
                    ),
                )
            })?
            .map_err(|err| {
                SshError::new(
                    ErrorStep::Ssh,
                    format!(
                        "running a command on {} failed: {}",
                        self.destination,
                        error_text(&err)
                    ),
                )
            })?;
        if !output.status.success() {
            return Err(SshError::new(
                ErrorStep::Ssh,
                format!(
                    "a command on {} failed ({}): {}",
                    self.destination,
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Ends the master (which closes the forward) and removes the local socket.
    pub async fn close(&mut self) {
        if let Some(session) = self.session.take() {
            if let Err(err) = session.close().await {
                tracing::debug!(destination = %self.destination, err = %error_text(&err), "closing the SSH master");
            }
        }
        if !self.socket.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if !self.socket.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.socket);
        }
        if let Some(session) = self.session.take() {
            // Not closed explicitly (a task was aborted): tell the master to exit so no ssh process lingers.
            exit_master(session.control_socket());
            drop(session);
        }
    }
}

/// Checks the Docker socket on the host before forwarding it, so "missing" and "no permission" get their own
/// messages instead of a forward that silently fails.
async fn check_remote_socket(
    session: &Session,
    destination: &str,
    socket: &str,
) -> Result<(), SshError> {
    const SCRIPT: &str = "if [ ! -e \"$1\" ]; then echo missing; elif [ ! -S \"$1\" ]; then echo notsocket; \
                          elif [ ! -r \"$1\" ] || [ ! -w \"$1\" ]; then echo denied; else echo ok; fi";
    let output = tokio::time::timeout(
        CONNECT_TIMEOUT,
        session
            .command("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("docktray")
            .arg(socket)
            .output(),
    )
    .await
    .map_err(|_| {
        SshError::new(
            ErrorStep::Ssh,
            format!("SSH step failed for {destination}: checking the Docker socket timed out"),
        )
    })?
    .map_err(|err| {
        SshError::new(
            ErrorStep::Ssh,
            format!(
                "SSH step failed for {destination}: cannot run a command on the host: {}",
                error_text(&err)
            ),
        )
    })?;
    match String::from_utf8_lossy(&output.stdout).trim() {
        "ok" => Ok(()),
        "missing" => Err(SshError::new(
            ErrorStep::SocketMissing,
            match crate::sources::docker::podman::socket_start_hint(socket) {
                Some(hint) => format!(
                    "socket step failed for {destination}: {socket} does not exist on the host: {hint} (on the host)"
                ),
                None => format!(
                    "socket step failed for {destination}: {socket} does not exist on the host: is Docker installed \
                     and running there (`sudo systemctl start docker`), or is the socket elsewhere (set it with \
                     --socket; Podman's is /run/podman/podman.sock, or /run/user/UID/podman/podman.sock rootless)?"
                ),
            },
        )),
        "notsocket" => Err(SshError::new(
            ErrorStep::SocketMissing,
            format!("socket step failed for {destination}: {socket} on the host is not a socket: check --socket"),
        )),
        "denied" => Err(SshError::new(
            ErrorStep::SocketPermission,
            format!(
                "socket permission step failed for {destination}: the SSH user may not use {socket}: add it to the \
                 docker group on the host (`sudo usermod -aG docker USER`, then log in again) or connect as a user \
                 who may"
            ),
        )),
        other => Err(SshError::new(
            ErrorStep::Ssh,
            format!(
                "SSH step failed for {destination}: checking the Docker socket gave unexpected output {other:?} {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_with_a_port_become_uris() {
        assert_eq!(ssh_destination("me@nas:2222"), "ssh://me@nas:2222");
        assert_eq!(ssh_destination("nas"), "nas");
        assert_eq!(ssh_destination("ssh://me@nas"), "ssh://me@nas");
    }

    #[test]
    fn ssh_messages_name_their_step() {
        let cases = [
            ("ssh: Could not resolve hostname nope: Name or service not known", ErrorStep::Dns),
            ("ssh: connect to host 127.0.0.1 port 1: Connection refused", ErrorStep::Tcp),
            ("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.", ErrorStep::HostKey),
            ("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.", ErrorStep::HostKey),
            ("root@127.0.0.1: Permission denied (publickey).", ErrorStep::Auth),
        ];
        for (text, step) in cases {
            assert_eq!(classify("x", text).step, step, "{text}");
        }
        assert!(classify("x", cases[3].0).message.contains("HAS CHANGED"));
    }
}
