//! What the window's Settings view does, for every face: the desktop's commands (src-tauri/src/commands.rs)
//! and the API's settings routes (src/sinks/api/settings.rs, through [`Control::desk`]) both come here, so a
//! host check, a trusted key, a stored Webdock token or a saved file is the same work with the same messages
//! whichever of them asked. A face supplies what only it has ([`Face`]): its settings, applying them, its
//! monitor, and pausing notifications (the desktop also updates its tray).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::RwLockReadGuard;

use crate::config::{file, Config, HostConfig, WebdockAccount};
use crate::error::ConfigError;
use crate::model::VpsHistory;
use crate::monitor::{restart_needed, Monitor};
use crate::sinks::api::{BoxFuture, Control, DeskCommand, DeskError};
use crate::sources::ssh::check::{self, StepResult};
use crate::sources::ssh::discover::{self, Discovered};
use crate::sources::ssh::manage::{self, HostEditError, HostKeys};
use crate::sources::webdock::accounts;

/// What a face adds to its [`Control`] for the settings commands.
pub trait Face: Control {
    /// The running monitor, for one call; an error says why there is none (shutting down).
    fn monitor(&self) -> BoxFuture<'_, Result<RwLockReadGuard<'_, Monitor>, String>>;
    /// Pauses (or resumes) notifications, resuming by itself after `minutes` when given.
    fn pause(&self, paused: bool, minutes: Option<u64>) -> BoxFuture<'_, Result<(), String>>;
}

/// Runs one settings command for `face`; the answer is what the window's command resolves with, as JSON.
pub async fn run<F: Face + ?Sized>(face: &F, command: DeskCommand) -> Result<Value, DeskError> {
    match command {
        DeskCommand::SaveSettings(config) => answer(save(face, *config).await?),
        DeskCommand::PauseNotifications { paused, minutes } => {
            if minutes == Some(0) {
                return Err(DeskError::Invalid {
                    field: "minutes".to_owned(),
                    message: "a timed pause lasts at least one minute".to_owned(),
                });
            }
            face.pause(paused, minutes)
                .await
                .map_err(DeskError::Failed)?;
            Ok(Value::Null)
        }
        DeskCommand::WebdockTokenStatus { account } => {
            let configured = face
                .settings()
                .0
                .webdock
                .into_iter()
                .find(|entry| entry.name == account);
            answer(accounts::token_status(&account, configured.as_ref()).await)
        }
        DeskCommand::WebdockTest { account, token } => {
            answer(accounts::test_connection(&account, token.as_deref()).await)
        }
        DeskCommand::WebdockSetToken { account, token } => {
            answer(accounts::set_token(&account, &token).await)
        }
        DeskCommand::WebdockRemoveToken { account } => answer(
            accounts::remove_token(&account)
                .await
                .map_err(|err| DeskError::Failed(err.to_string()))?,
        ),
        DeskCommand::VpsHistory { account, slug } => {
            answer(vps_history(&face.settings().0, &account, &slug).await?)
        }
        DeskCommand::CheckHost(host) => answer(check_host(host).await?),
        DeskCommand::HostFingerprint(host) => answer(host_fingerprint(host).await?),
        DeskCommand::TrustHost { host, fingerprints } => {
            answer(trust_host(host, fingerprints).await?.display().to_string())
        }
        DeskCommand::SaveHost { host, replacing } => {
            let (config, path) = face.settings();
            let config =
                manage::with_host(&config, host, replacing.as_deref(), &path).map_err(host_edit)?;
            answer(save(face, config).await?)
        }
        DeskCommand::RemoveHost { name } => {
            let config = manage::without_host(&face.settings().0, &name).map_err(host_edit)?;
            answer(save(face, config).await?)
        }
        DeskCommand::DiscoverHosts => answer(discover_hosts(face.settings().0.hosts).await?),
        DeskCommand::RetryCaddy => {
            let monitor = face.monitor().await.map_err(DeskError::Unavailable)?;
            if monitor.retry_caddy() {
                Ok(Value::Null)
            } else {
                Err(DeskError::Conflict(
                    "Caddy sync is off: set [caddy] admin_url in the config file".to_owned(),
                ))
            }
        }
        DeskCommand::TestChannel { channel } => {
            let monitor = face.monitor().await.map_err(DeskError::Unavailable)?;
            match monitor.test_channel(&channel).await {
                Ok(sent_to) => answer(sent_to),
                Err(err @ crate::sinks::channels::ChannelError::Unknown { .. }) => {
                    Err(DeskError::Missing(err.to_string()))
                }
                Err(err) => Err(DeskError::Failed(err.to_string())),
            }
        }
    }
}

fn answer(value: impl Serialize) -> Result<Value, DeskError> {
    serde_json::to_value(value)
        .map_err(|err| DeskError::Failed(format!("the answer could not be written: {err}")))
}

/// Writes `config` (valid) to the face's settings file with its comments kept, has the face apply it, and
/// answers the keys that take effect at the next start (empty when none).
pub async fn save<F: Face + ?Sized>(face: &F, config: Config) -> Result<Vec<String>, DeskError> {
    let (previous, path) = face.settings();
    save_file(&path, &config).await?;
    tracing::info!(path = %path.display(), "settings saved");
    face.apply(config.clone())
        .await
        .map_err(|err| DeskError::Failed(format!("the settings were saved, but {err}")))?;
    let later: Vec<String> = restart_needed(&previous, &config)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !later.is_empty() {
        tracing::info!(settings = ?later, "saved settings that apply from the next start");
    }
    Ok(later)
}

/// Writes `config` to `path`, keeping the file's comments and layout.
pub async fn save_file(path: &Path, config: &Config) -> Result<(), DeskError> {
    let (path, config) = (path.to_path_buf(), config.clone());
    tokio::task::spawn_blocking(move || file::save(&path, &config))
        .await
        .map_err(|err| DeskError::Failed(format!("saving the settings failed: {err}")))?
        .map_err(|err| match err {
            file::SaveError::Invalid(inner) => invalid(inner),
            other => DeskError::Failed(other.to_string()),
        })
}

fn invalid(err: ConfigError) -> DeskError {
    match &err {
        ConfigError::Invalid { key, .. } => DeskError::Invalid {
            field: key.clone(),
            message: err.to_string(),
        },
        _ => DeskError::Invalid {
            field: "config".to_owned(),
            message: err.to_string(),
        },
    }
}

fn host_edit(err: HostEditError) -> DeskError {
    match err {
        HostEditError::Duplicate(_) => DeskError::Conflict(err.to_string()),
        HostEditError::Missing(_) => DeskError::Missing(err.to_string()),
        HostEditError::Invalid(inner) => invalid(inner),
    }
}

/// A host typed in the form, checked with the config file's rules (the key named as `hosts[0].port` ...).
fn validate_host(host: &HostConfig) -> Result<(), DeskError> {
    manage::validate_host(host).map_err(invalid)
}

/// Webdock's historic metrics of one watched VPS, to seed its charts.
pub async fn vps_history(
    config: &Config,
    account: &str,
    slug: &str,
) -> Result<VpsHistory, DeskError> {
    let account: &WebdockAccount = config
        .webdock
        .iter()
        .find(|a| a.name == account)
        .ok_or_else(|| {
            DeskError::Missing(format!("no Webdock account '{account}' in the settings"))
        })?;
    accounts::history(account, slug)
        .await
        .map_err(|err| DeskError::Failed(err.to_string()))
}

/// Hosts found on this machine that are not configured yet (Docker contexts, `DOCKER_HOST`, `~/.ssh/config`).
pub async fn discover_hosts(configured: Vec<HostConfig>) -> Result<Vec<Discovered>, DeskError> {
    tokio::task::spawn_blocking(move || discover::not_configured(&configured, None))
        .await
        .map_err(|err| DeskError::Failed(format!("looking for hosts failed: {err}")))
}

/// The step-by-step connection check of `docktray hosts add` for a host typed in settings (saved or not).
pub async fn check_host(host: HostConfig) -> Result<Vec<StepResult>, DeskError> {
    validate_host(&host)?;
    Ok(check::check_host(&host).await)
}

/// The host's key fingerprints and whether known_hosts has it, for the user to compare before trusting.
pub async fn host_fingerprint(host: HostConfig) -> Result<HostKeys, DeskError> {
    validate_host(&host)?;
    tokio::task::spawn_blocking(move || manage::host_keys(&host))
        .await
        .map_err(|err| DeskError::Failed(format!("reading the host key failed: {err}")))?
        .map_err(|err| DeskError::Failed(err.to_string()))
}

/// Adds the host's keys to known_hosts once the user confirmed `fingerprints` (as [`host_fingerprint`] showed
/// them); refused when the host now offers another key or is known already. Returns the file written.
pub async fn trust_host(host: HostConfig, fingerprints: Vec<String>) -> Result<PathBuf, DeskError> {
    validate_host(&host)?;
    tokio::task::spawn_blocking(move || manage::trust_confirmed(&host, &fingerprints))
        .await
        .map_err(|err| DeskError::Failed(format!("trusting the host key failed: {err}")))?
        .map_err(|err| DeskError::Conflict(err.to_string()))
}
