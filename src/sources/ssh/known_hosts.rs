//! Host keys: what `ssh` would check, shown to the user before anything is trusted. Docktray never adds a key by
//! itself (`StrictHostKeyChecking=yes` on every connection); `docktray hosts trust NAME` scans the key, shows
//! its fingerprint and appends it to the user's known_hosts only after confirmation.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{ssh_destination, SshError};
use crate::config::HostConfig;
use crate::model::ErrorStep;

/// What `ssh -G` resolves a destination to (after `~/.ssh/config` or `-F`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// `UserKnownHostsFile` entries, first is where new keys go.
    pub known_hosts: Vec<PathBuf>,
}

impl Resolved {
    /// How known_hosts names this host: `host`, or `[host]:port` for another port.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.hostname.clone()
        } else {
            format!("[{}]:{}", self.hostname, self.port)
        }
    }
}

/// One host key offered by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    /// The known_hosts line (`name type base64`).
    pub line: String,
    pub key_type: String,
    /// `SHA256:...` as `ssh` prints it.
    pub fingerprint: String,
}

fn run(command: &mut Command, what: &str) -> Result<String, SshError> {
    let output = command.stdin(Stdio::null()).output().map_err(|err| {
        SshError::new(
            ErrorStep::Ssh,
            format!("cannot run {what}: {err} (install openssh-client)"),
        )
    })?;
    if !output.status.success() {
        return Err(SshError::new(
            ErrorStep::Ssh,
            format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Asks `ssh -G` where the destination really goes and which known_hosts files apply.
pub fn resolve(host: &HostConfig) -> Result<Resolved, SshError> {
    let mut command = Command::new("ssh");
    command.arg("-G");
    if let Some(config) = &host.ssh_config {
        command.arg("-F").arg(config);
    }
    command.arg(ssh_destination(&host.destination));
    let text = run(&mut command, "ssh -G")?;
    let mut resolved = Resolved {
        hostname: String::new(),
        port: 22,
        user: String::new(),
        known_hosts: Vec::new(),
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        match key {
            "hostname" => resolved.hostname = value.trim().to_owned(),
            "port" => resolved.port = value.trim().parse().unwrap_or(22),
            "user" => resolved.user = value.trim().to_owned(),
            "userknownhostsfile" => {
                resolved.known_hosts = value
                    .split_whitespace()
                    .map(|path| PathBuf::from(expand_home(path)))
                    .collect();
            }
            _ => {}
        }
    }
    Ok(resolved)
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest).to_string_lossy().into_owned(),
        _ => path.to_owned(),
    }
}

/// Fetches the server's host keys (`ssh-keyscan`) with their fingerprints.
pub fn scan(resolved: &Resolved) -> Result<Vec<HostKey>, SshError> {
    let text = run(
        Command::new("ssh-keyscan")
            .args(["-T", "5", "-p", &resolved.port.to_string()])
            .arg(&resolved.hostname)
            .stderr(Stdio::piped()),
        "ssh-keyscan",
    )?;
    let mut keys = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 {
            continue;
        }
        let line = format!(
            "{} {} {}",
            resolved.known_hosts_name(),
            fields[1],
            fields[2]
        );
        keys.push(HostKey {
            fingerprint: fingerprint(&line)?,
            key_type: fields[1].to_owned(),
            line,
        });
    }
    if keys.is_empty() {
        return Err(SshError::new(
            ErrorStep::Tcp,
            format!(
                "TCP step failed: no SSH server answered on {}:{} (is sshd running, and the port right?)",
                resolved.hostname, resolved.port
            ),
        ));
    }
    Ok(keys)
}

/// `SHA256:...` fingerprint of a known_hosts line.
pub fn fingerprint(line: &str) -> Result<String, SshError> {
    let mut child = Command::new("ssh-keygen")
        .args(["-l", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| SshError::new(ErrorStep::Ssh, format!("cannot run ssh-keygen: {err}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{line}");
    }
    let output = child
        .wait_with_output()
        .map_err(|err| SshError::new(ErrorStep::Ssh, format!("ssh-keygen failed: {err}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(1)
        .map(str::to_owned)
        .ok_or_else(|| SshError::new(ErrorStep::HostKey, format!("not a host key: {line}")))
}

/// Whether any known_hosts file already has a key for this host (`ssh-keygen -F`).
pub fn is_known(resolved: &Resolved) -> bool {
    resolved
        .known_hosts
        .iter()
        .filter(|file| file.exists())
        .any(|file| {
            Command::new("ssh-keygen")
                .arg("-F")
                .arg(resolved.known_hosts_name())
                .arg("-f")
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Appends the keys to the first known_hosts file (created with mode 0600 if missing). Returns the file.
pub fn trust(resolved: &Resolved, keys: &[HostKey]) -> Result<PathBuf, SshError> {
    let file = resolved
        .known_hosts
        .first()
        .cloned()
        .or_else(|| dirs::home_dir().map(|home| home.join(".ssh/known_hosts")))
        .ok_or_else(|| SshError::new(ErrorStep::HostKey, "no known_hosts file to write to"))?;
    let failed = |err: std::io::Error| {
        SshError::new(
            ErrorStep::HostKey,
            format!("cannot write {}: {err}", file.display()),
        )
    };
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&file).map_err(failed)?;
    for key in keys {
        writeln!(out, "{}", key.line).map_err(failed)?;
    }
    Ok(file)
}
