//! The secrets of notification channels: a webhook's signing key, an ntfy token, an SMTP password. They live in the
//! OS keychain (service `docktray-notify`, the channel's name as the user), or for a headless server without one in
//! `DOCKTRAY_NOTIFY_SECRET_<CHANNEL>` or the file `..._FILE` names. Never in the config file, a log, an error or
//! an IPC answer: [`Secret`] has no `Display`, a redacted `Debug` and no `Serialize`.

/// The keychain service name channel secrets are stored under.
pub const KEYCHAIN_SERVICE: &str = "docktray-notify";

/// A channel secret. Deliberately opaque.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from user input; surrounding whitespace (a pasted newline) is dropped. `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(text.to_owned()))
    }

    /// The secret itself, for the request or the SMTP login only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no secret is stored for {channel}: store it with `docktray notify secret {channel}` (or in the \
         window's settings), or set {env}"
    )]
    Missing { channel: String, env: String },
    #[error("the OS keychain cannot be used for {channel}'s secret: {detail}; or set {env}")]
    Keychain {
        channel: String,
        detail: String,
        env: String,
    },
    #[error("cannot read {path} (named by {env}_FILE): {detail}")]
    File {
        path: String,
        env: String,
        detail: String,
    },
}

/// `DOCKTRAY_NOTIFY_SECRET_<CHANNEL>`: the channel's name upper-cased, anything but letters and digits as `_`.
pub fn env_name(channel: &str) -> String {
    crate::util::env_var_name("DOCKTRAY_NOTIFY_SECRET_", channel)
}

/// The channel's secret: the variable, then the file it names, then the keychain.
pub async fn resolve(channel: &str) -> Result<Secret, SecretError> {
    let env = env_name(channel);
    if let Some(secret) = std::env::var(&env).ok().as_deref().and_then(Secret::new) {
        return Ok(secret);
    }
    if let Some(path) = std::env::var_os(format!("{env}_FILE")).filter(|p| !p.is_empty()) {
        let shown = std::path::Path::new(&path).display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|err| SecretError::File {
            path: shown.clone(),
            env: env.clone(),
            detail: err.to_string(),
        })?;
        return Secret::new(&text).ok_or(SecretError::File {
            path: shown,
            env,
            detail: "the file is empty".to_owned(),
        });
    }
    match load(channel).await? {
        Some(secret) => Ok(secret),
        None => Err(SecretError::Missing {
            channel: channel.to_owned(),
            env,
        }),
    }
}

/// Whether the keychain (or the environment) has a secret for `channel`, without saying what it is.
pub async fn is_set(channel: &str) -> Result<bool, SecretError> {
    match resolve(channel).await {
        Ok(_) => Ok(true),
        Err(SecretError::Missing { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

/// The keychain's secret for `channel`, if it has one.
pub async fn load(channel: &str) -> Result<Option<Secret>, SecretError> {
    keychain(channel, |entry| match entry.get_password() {
        Ok(secret) => Ok(Secret::new(&secret)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(err) => Err(err),
    })
    .await
}

/// Stores (or replaces) the secret of `channel` in the keychain.
pub async fn store(channel: &str, secret: &Secret) -> Result<(), SecretError> {
    let text = secret.expose().to_owned();
    keychain(channel, move |entry| entry.set_password(&text)).await?;
    tracing::info!(channel, "channel secret stored in the keychain");
    Ok(())
}

/// Removes the secret of `channel` from the keychain; `false` when there was none.
pub async fn remove(channel: &str) -> Result<bool, SecretError> {
    keychain(channel, |entry| match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(err),
    })
    .await
}

/// Runs a keychain call on the channel's entry; an unusable keychain is named with the variable to use instead.
async fn keychain<T: Send + 'static>(
    channel: &str,
    call: impl FnOnce(&keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, SecretError> {
    crate::keychain::call(KEYCHAIN_SERVICE, channel, call)
        .await
        .map_err(|detail| SecretError::Keychain {
            channel: channel.to_owned(),
            detail,
            env: env_name(channel),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_redaction() {
        assert_eq!(
            env_name("webhook:ops-1"),
            "DOCKTRAY_NOTIFY_SECRET_WEBHOOK_OPS_1"
        );
        let secret = Secret::new(" s3cret\n").expect("non-empty");
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
