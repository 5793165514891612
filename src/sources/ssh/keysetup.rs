//! Automatic key set-up (`docktray hosts add NAME DEST --setup-key`): a dedicated ed25519 key for one host,
//! generated locally (never over an existing file) and installed in the host's `~/.ssh/authorized_keys` over a
//! login that already works. The caller asks the user first: nothing here runs without their consent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Connection, SshError};
use crate::config::HostConfig;
use crate::model::ErrorStep;

/// How long installing the key on the host may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The dedicated key's default path for host `name`: `~/.ssh/docktray_NAME_ed25519` (characters other than
/// letters, digits, `-` and `_` become `_`). `None` when the home directory is unknown.
pub fn default_key_path(name: &str) -> Option<PathBuf> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dirs::home_dir().map(|home| home.join(".ssh").join(format!("docktray_{safe}_ed25519")))
}

/// The public key file next to a private one (`KEY.pub`).
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn keygen_error(message: String) -> SshError {
    SshError::new(ErrorStep::Auth, message)
}

/// A key pair to use: generated at `private` (no passphrase, so the monitor logs in unattended) unless a pair
/// is already there, which is used as it is. Never overwrites a file: a private key without its `.pub` (or the
/// other way round) is refused. Returns the public key line and whether it was generated. Blocks.
pub fn ensure_key(private: &Path, comment: &str) -> Result<(String, bool), SshError> {
    let public = public_path(private);
    let generated = match (private.exists(), public.exists()) {
        (true, true) => false,
        (false, false) => {
            if let Some(dir) = private.parent().filter(|d| !d.as_os_str().is_empty()) {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|err| {
                        keygen_error(format!("cannot create {}: {err}", dir.display()))
                    })?;
            }
            let output = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(private)
                // ssh-keygen asks before overwriting; answer no if a file appeared in between.
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|err| keygen_error(format!("cannot run ssh-keygen: {err}")))?;
            if !output.status.success() {
                return Err(keygen_error(format!(
                    "ssh-keygen could not create {}: {}",
                    private.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            true
        }
        (true, false) | (false, true) => {
            return Err(keygen_error(format!(
                "{} or {} exists without the other: Docktray does not overwrite keys; move it away or choose \
                 another name",
                private.display(),
                public.display()
            )))
        }
    };
    let line = std::fs::read_to_string(&public)
        .map_err(|err| keygen_error(format!("cannot read {}: {err}", public.display())))?;
    let line = line.trim().to_owned();
    if !line.starts_with("ssh-ed25519 ") || line.contains('\n') {
        return Err(keygen_error(format!(
            "{} is not one ed25519 public key",
            public.display()
        )));
    }
    Ok((line, generated))
}

/// Whether the key was added to authorized_keys or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    Added,
    AlreadyThere,
}

/// Appends `public_line` to `~/.ssh/authorized_keys` on the host, unless that key is already there, over a
/// login that works now (the host's current identity, agent or ssh_config). Creates `~/.ssh` (mode 0700) and
/// the file (mode 0600) when missing, and keeps the file ending in a newline.
pub async fn install_key(host: &HostConfig, public_line: &str) -> Result<Installed, SshError> {
    let mut fields = public_line.split_whitespace();
    let (Some(kind), Some(blob)) = (fields.next(), fields.next()) else {
        return Err(keygen_error(format!(
            "not a public key line: {public_line:?}"
        )));
    };
    // $1: the line to add; $2: the key itself (type and base64), which decides whether it is there already.
    const SCRIPT: &str = "umask 077; d=\"$HOME/.ssh\"; f=\"$d/authorized_keys\"; \
        mkdir -p \"$d\" && chmod 700 \"$d\" && touch \"$f\" && chmod 600 \"$f\" || exit 3; \
        if grep -qF -- \"$2\" \"$f\"; then echo present; exit 0; fi; \
        if [ -s \"$f\" ] && [ -n \"$(tail -c 1 \"$f\")\" ]; then echo >> \"$f\"; fi; \
        printf '%s\\n' \"$1\" >> \"$f\" && echo added";
    let mut connection = Connection::open(host, Duration::from_secs(5)).await?;
    let result = connection
        .run_with_args(
            SCRIPT,
            &[public_line.to_owned(), format!("{kind} {blob}")],
            INSTALL_TIMEOUT,
        )
        .await;
    connection.close().await;
    let output = result.map_err(|err| {
        SshError::new(
            err.step,
            format!(
                "installing the key in ~/.ssh/authorized_keys on {} failed: {}",
                host.destination, err.message
            ),
        )
    })?;
    match output.trim() {
        "added" => Ok(Installed::Added),
        "present" => Ok(Installed::AlreadyThere),
        other => Err(SshError::new(
            ErrorStep::Ssh,
            format!(
                "installing the key on {} gave unexpected output {other:?}",
                host.destination
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_are_per_host_and_safe() {
        let path = default_key_path("my nas/1").expect("a home directory");
        assert!(path.ends_with(".ssh/docktray_my_nas_1_ed25519"), "{path:?}");
        assert_eq!(public_path(Path::new("/k/id")), PathBuf::from("/k/id.pub"));
    }

    #[test]
    fn keys_are_generated_once_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("sub").join("k");
        let (line, generated) = ensure_key(&key, "docktray@t").expect("generated");
        assert!(generated);
        assert!(
            line.starts_with("ssh-ed25519 ") && line.ends_with("docktray@t"),
            "{line}"
        );
        let private = std::fs::read(&key).expect("private key");
        let (again, generated) = ensure_key(&key, "docktray@t").expect("reused");
        assert!(!generated);
        assert_eq!(again, line);
        assert_eq!(std::fs::read(&key).expect("private key"), private);

        // Half a pair is not completed over the existing file.
        let lone = dir.path().join("lone");
        std::fs::write(&lone, "mine").expect("write");
        assert!(ensure_key(&lone, "x").is_err());
        assert_eq!(std::fs::read_to_string(&lone).expect("read"), "mine");
        assert!(!public_path(&lone).exists());
    }
}
