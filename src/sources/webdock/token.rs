//! Where Webdock tokens come from: `DOCKTRAY_WEBDOCK_TOKEN_<NAME>`, then `DOCKTRAY_WEBDOCK_TOKEN_<NAME>_FILE`
//! (Docker secrets), then the OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows). Variables and files are only read. A token is never logged, printed or written anywhere but the
//! keychain: [`Token`] has no `Display`, its `Debug` is redacted, and it is not `Serialize`.

use super::error::WebdockError;

/// The keychain service name entries are stored under (the account name is the user).
pub const KEYCHAIN_SERVICE: &str = "docktray-webdock";

/// An API token. Deliberately opaque.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from user input; surrounding whitespace (a pasted newline) is dropped. `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(text.to_owned()))
    }

    /// The secret itself, for the Authorization header and the keychain only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Where a token was found: a variable (named), a file named by a variable, or the keychain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env(String),
    EnvFile(String),
    Keychain,
}

impl TokenSource {
    pub fn describe(&self) -> String {
        match self {
            Self::Env(variable) | Self::EnvFile(variable) => variable.clone(),
            Self::Keychain => "the OS keychain".to_owned(),
        }
    }
}

pub use crate::config::webdock_token_env as env_name;

/// The token from the environment only (variable, then file); `Ok(None)` when neither is set.
pub fn from_env(account: &str) -> Result<Option<(Token, TokenSource)>, WebdockError> {
    from_variable(&env_name(account))
}

/// The token in `variable`, else in the file `<variable>_FILE` names (a Docker or Compose secret).
pub fn from_variable(variable: &str) -> Result<Option<(Token, TokenSource)>, WebdockError> {
    if let Some(token) = std::env::var(variable).ok().as_deref().and_then(Token::new) {
        return Ok(Some((token, TokenSource::Env(variable.to_owned()))));
    }
    let file_var = format!("{variable}_FILE");
    let Some(path) = std::env::var_os(&file_var).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|err| WebdockError::TokenFile {
        path: shown.clone(),
        detail: format!("{err} (named by {file_var})"),
    })?;
    Token::new(&text)
        .map(|token| Some((token, TokenSource::EnvFile(file_var.clone()))))
        .ok_or(WebdockError::TokenFile {
            path: shown,
            detail: format!("the file is empty (named by {file_var})"),
        })
}

/// The token of a configured account: its own `token_variable` first when it names one, then as [`resolve`].
pub async fn resolve_account(
    account: &crate::config::WebdockAccount,
) -> Result<(Token, TokenSource), WebdockError> {
    if let Some(variable) = &account.token_variable {
        if let Some(found) = from_variable(variable)? {
            return Ok(found);
        }
    }
    resolve(&account.name).await
}

/// The token of `account`: environment first, then the keychain.
pub async fn resolve(account: &str) -> Result<(Token, TokenSource), WebdockError> {
    if let Some(found) = from_env(account)? {
        return Ok(found);
    }
    match load(account).await? {
        Some(token) => Ok((token, TokenSource::Keychain)),
        None => Err(WebdockError::NoToken {
            account: account.to_owned(),
            env: env_name(account),
        }),
    }
}

/// Whether a token is available for `account`, without saying what it is ("set" / "not set").
pub async fn is_set(account: &str) -> Result<bool, WebdockError> {
    match resolve(account).await {
        Ok(_) => Ok(true),
        Err(WebdockError::NoToken { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

/// The keychain's token for `account`, if it has one.
pub async fn load(account: &str) -> Result<Option<Token>, WebdockError> {
    let user = account.to_owned();
    keychain(account, move |entry| match entry.get_password() {
        Ok(secret) => Ok(Token::new(&secret)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(err) => Err(err),
    })
    .await
    .inspect(|found| {
        tracing::debug!(account = %user, found = found.is_some(), "keychain looked up");
    })
}

/// Stores (or replaces) the token of `account` in the keychain.
pub async fn store(account: &str, token: &Token) -> Result<(), WebdockError> {
    let secret = token.expose().to_owned();
    keychain(account, move |entry| entry.set_password(&secret)).await?;
    tracing::info!(account, "token stored in the keychain");
    Ok(())
}

/// Removes the token of `account` from the keychain; `false` when there was none.
pub async fn remove(account: &str) -> Result<bool, WebdockError> {
    let removed = keychain(account, |entry| match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(err),
    })
    .await?;
    tracing::info!(account, removed, "keychain entry removed");
    Ok(removed)
}

/// Runs a keychain call on the account's entry; an unusable keychain is named with the variable to use instead.
async fn keychain<T: Send + 'static>(
    account: &str,
    call: impl FnOnce(&keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, WebdockError> {
    crate::keychain::call(KEYCHAIN_SERVICE, account, call)
        .await
        .map_err(|detail| WebdockError::Keychain {
            detail,
            env: env_name(account),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_account_name() {
        assert_eq!(env_name("work"), "DOCKTRAY_WEBDOCK_TOKEN_WORK");
        assert_eq!(env_name("my-shop_2"), "DOCKTRAY_WEBDOCK_TOKEN_MY_SHOP_2");
    }

    #[test]
    fn tokens_are_trimmed_and_never_shown() {
        let token = Token::new("  abc123\n").expect("non-empty");
        assert_eq!(token.expose(), "abc123");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(Token::new(" \n"), None);
    }
}
