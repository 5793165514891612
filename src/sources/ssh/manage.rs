//! Managing the configured hosts, shared by `docktray hosts` and the window: adding or replacing one and removing
//! one (the config's rules apply; the caller saves with `config::file::save`, which keeps comments), and showing
//! a host's key fingerprints before trusting exactly the keys the user confirmed.

use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use super::{known_hosts, SshError};
use crate::config::HostConfig;
use crate::model::ErrorStep;
use crate::{Config, ConfigError};

/// A problem with a host edit: the duplicate or missing name, or the config rule it breaks.
#[derive(Debug, thiserror::Error)]
pub enum HostEditError {
    #[error("a host named {0} is already configured: pick another name")]
    Duplicate(String),
    #[error("no host named {0} in the config file")]
    Missing(String),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// `config` with `host` added, or put in place of the host named `replacing` (an edit, possibly a rename);
/// validated with the config file's rules.
pub fn with_host(
    config: &Config,
    host: HostConfig,
    replacing: Option<&str>,
    path: &Path,
) -> Result<Config, HostEditError> {
    let mut config = config.clone();
    if config
        .hosts
        .iter()
        .any(|h| h.name == host.name && Some(h.name.as_str()) != replacing)
    {
        return Err(HostEditError::Duplicate(host.name));
    }
    match replacing {
        Some(old) => {
            let slot = config
                .hosts
                .iter_mut()
                .find(|h| h.name == old)
                .ok_or_else(|| HostEditError::Missing(old.to_owned()))?;
            *slot = host;
        }
        None => config.hosts.push(host),
    }
    config.validate(path)?;
    Ok(config)
}

/// Checks one host against the config file's rules before anything runs `ssh` with it (the window's check and
/// trust take hosts that are only typed, not saved): e.g. a destination starting with `-` would be an ssh option.
pub fn validate_host(host: &HostConfig) -> Result<(), ConfigError> {
    let config = Config {
        hosts: vec![host.clone()],
        ..Config::default()
    };
    config.validate(Path::new("the host form"))
}

/// `config` without the host named `name`.
pub fn without_host(config: &Config, name: &str) -> Result<Config, HostEditError> {
    let mut config = config.clone();
    let before = config.hosts.len();
    config.hosts.retain(|h| h.name != name);
    if config.hosts.len() == before {
        return Err(HostEditError::Missing(name.to_owned()));
    }
    Ok(config)
}

/// One key a host offers, as `ssh` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct KeyFingerprint {
    pub key_type: String,
    /// `SHA256:...`.
    pub fingerprint: String,
}

/// What a host offers, for the user to compare before trusting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct HostKeys {
    /// How known_hosts names the host (`host` or `[host]:port`).
    pub known_hosts_name: String,
    /// Whether a key for it is already in known_hosts (then nothing is trusted from here).
    pub known: bool,
    pub keys: Vec<KeyFingerprint>,
}

/// Scans the host's keys (`ssh-keyscan`) and says whether it is already known. Blocks (runs `ssh` tools).
pub fn host_keys(host: &HostConfig) -> Result<HostKeys, SshError> {
    let resolved = known_hosts::resolve(host)?;
    let keys = known_hosts::scan(&resolved)?;
    Ok(HostKeys {
        known_hosts_name: resolved.known_hosts_name(),
        known: known_hosts::is_known(&resolved),
        keys: keys
            .into_iter()
            .map(|k| KeyFingerprint {
                key_type: k.key_type,
                fingerprint: k.fingerprint,
            })
            .collect(),
    })
}

/// The message for a host that already has a key in known_hosts.
fn already_known(name: &str) -> SshError {
    SshError::new(
        ErrorStep::HostKey,
        format!(
            "{name} already has a key in known_hosts. If ssh reports that it CHANGED and you know why (reinstalled \
             server), remove the old one with `ssh-keygen -R '{name}'` and trust it again"
        ),
    )
}

/// Adds the host's keys to known_hosts, only if it is not known yet and it offers exactly keys whose fingerprints
/// the user confirmed (`confirmed`, as [`host_keys`] showed them): a key that changed in between is refused.
/// Returns the known_hosts file written. Blocks.
pub fn trust_confirmed(host: &HostConfig, confirmed: &[String]) -> Result<PathBuf, SshError> {
    let resolved = known_hosts::resolve(host)?;
    if known_hosts::is_known(&resolved) {
        return Err(already_known(&resolved.known_hosts_name()));
    }
    let keys = known_hosts::scan(&resolved)?;
    if let Some(unconfirmed) = keys.iter().find(|k| !confirmed.contains(&k.fingerprint)) {
        return Err(SshError::new(
            ErrorStep::HostKey,
            format!(
                "{} now offers {} {}, which was not the fingerprint you confirmed: nothing was trusted; \
                 look at the fingerprints again",
                resolved.known_hosts_name(),
                unconfirmed.key_type,
                unconfirmed.fingerprint
            ),
        ));
    }
    known_hosts::trust(&resolved, &keys)
}

/// For the CLI: refuses a host that is already known, else its resolved name and keys to show and confirm.
pub fn keys_to_trust(
    host: &HostConfig,
) -> Result<(known_hosts::Resolved, Vec<known_hosts::HostKey>), SshError> {
    let resolved = known_hosts::resolve(host)?;
    let keys = known_hosts::scan(&resolved)?;
    if known_hosts::is_known(&resolved) {
        return Err(already_known(&resolved.known_hosts_name()));
    }
    Ok((resolved, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> HostConfig {
        HostConfig {
            name: name.into(),
            destination: format!("me@{name}.example"),
            identity_file: None,
            socket: "/var/run/docker.sock".into(),
            ssh_config: None,
        }
    }

    #[test]
    fn a_typed_host_is_validated_before_ssh_sees_it() {
        assert!(validate_host(&host("one")).is_ok());
        let mut option = host("two");
        option.destination = "-oProxyCommand=touch${IFS}/tmp/x".into();
        let err = validate_host(&option).expect_err("an option is not a destination");
        assert!(err.to_string().contains("hosts[0].destination"), "{err}");
        let mut relative = host("three");
        relative.socket = "docker.sock".into();
        assert!(validate_host(&relative).is_err());
    }

    #[test]
    fn hosts_are_added_replaced_and_removed_by_name() {
        let path = Path::new("/tmp/config.toml");
        let config = Config::default();
        let one = with_host(&config, host("one"), None, path).expect("added");
        assert_eq!(one.hosts, vec![host("one")]);
        assert!(matches!(
            with_host(&one, host("one"), None, path),
            Err(HostEditError::Duplicate(name)) if name == "one"
        ));
        let renamed = with_host(&one, host("two"), Some("one"), path).expect("replaced");
        assert_eq!(renamed.hosts, vec![host("two")]);
        assert!(matches!(
            with_host(&one, host("three"), Some("nope"), path),
            Err(HostEditError::Missing(_))
        ));
        let mut bad = host("bad");
        bad.destination = String::new();
        assert!(matches!(
            with_host(&one, bad, None, path),
            Err(HostEditError::Invalid(_))
        ));
        assert!(without_host(&renamed, "two")
            .expect("removed")
            .hosts
            .is_empty());
        assert!(matches!(
            without_host(&renamed, "one"),
            Err(HostEditError::Missing(_))
        ));
    }
}
