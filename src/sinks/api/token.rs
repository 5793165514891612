//! The API's bearer token: `DOCKTRAY_API_TOKEN`, else the file `DOCKTRAY_API_TOKEN_FILE` names (headless
//! machines, Docker secrets), else the OS keychain, where it is made on first use (32 random bytes, as 64 hex
//! digits). `docktray api token` prints it, `--rotate` replaces it. [`ApiToken`] has no `Display`, a redacted
//! `Debug`, is not `Serialize`, and is compared in constant time: it never reaches a log, a file or an answer.

use rand::RngCore;
use subtle::ConstantTimeEq;

/// The name the API's one token goes by in audit entries (`source = api`, `actor = default`).
pub const TOKEN_NAME: &str = "default";
/// The variable holding the token.
pub const TOKEN_ENV: &str = "DOCKTRAY_API_TOKEN";
/// The variable naming a file holding the token.
pub const TOKEN_FILE_ENV: &str = "DOCKTRAY_API_TOKEN_FILE";
/// The keychain service and user the token is stored under.
pub const KEYCHAIN_SERVICE: &str = "docktray-api";
const KEYCHAIN_USER: &str = "token";

/// The bearer token. Deliberately opaque.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token from text; surrounding whitespace is dropped. `None` when empty.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty()).then(|| Self(text.to_owned()))
    }

    /// A new random token: 32 random bytes, as 64 hex digits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The thread generator is a CSPRNG seeded from the OS.
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether `offered` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        let (mine, theirs) = (self.0.as_bytes(), offered.as_bytes());
        mine.len() == theirs.len() && bool::from(mine.ct_eq(theirs))
    }

    /// The secret, for `docktray api token` to print on request and for the keychain.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Env,
    File(String),
    Keychain,
}

impl TokenSource {
    pub fn describe(&self) -> String {
        match self {
            Self::Env => TOKEN_ENV.to_owned(),
            Self::File(path) => format!("the file {path} ({TOKEN_FILE_ENV})"),
            Self::Keychain => "the OS keychain".to_owned(),
        }
    }
}

/// Why there is no token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the API token file {path} named by {TOKEN_FILE_ENV}: {detail}")]
    File { path: String, detail: String },
    #[error(
        "the OS keychain cannot keep the API token: {0}; on a machine without one, put a token in \
         {TOKEN_ENV} or in a file named by {TOKEN_FILE_ENV} (such as one made with `openssl rand -hex 32`)"
    )]
    Keychain(String),
    #[error("the API token comes from {0}: change it there, not with --rotate")]
    NotInKeychain(String),
}

/// The token from the environment only: the variable, then the file; `Ok(None)` when neither is set.
pub fn from_env() -> Result<Option<(ApiToken, TokenSource)>, TokenError> {
    if let Some(token) = std::env::var(TOKEN_ENV)
        .ok()
        .as_deref()
        .and_then(ApiToken::new)
    {
        return Ok(Some((token, TokenSource::Env)));
    }
    let Some(path) = std::env::var_os(TOKEN_FILE_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|err| TokenError::File {
        path: shown.clone(),
        detail: err.to_string(),
    })?;
    match ApiToken::new(&text) {
        Some(token) => Ok(Some((token, TokenSource::File(shown)))),
        None => Err(TokenError::File {
            path: shown,
            detail: "the file is empty".to_owned(),
        }),
    }
}

/// The token to serve with: the environment's, else the keychain's, made there on first use.
pub async fn resolve() -> Result<(ApiToken, TokenSource), TokenError> {
    if let Some(found) = from_env()? {
        return Ok(found);
    }
    let stored = keychain(|entry| match entry.get_password() {
        Ok(secret) => Ok(ApiToken::new(&secret)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(err) => Err(err),
    })
    .await?;
    if let Some(token) = stored {
        return Ok((token, TokenSource::Keychain));
    }
    let token = store(ApiToken::generate()).await?;
    tracing::info!("made a new API token and stored it in the OS keychain");
    Ok((token, TokenSource::Keychain))
}

/// Replaces the keychain's token with a new random one (a running server keeps the old one until restarted).
pub async fn rotate() -> Result<ApiToken, TokenError> {
    if let Some((_, source)) = from_env()? {
        return Err(TokenError::NotInKeychain(source.describe()));
    }
    let token = store(ApiToken::generate()).await?;
    tracing::info!("replaced the API token in the OS keychain");
    Ok(token)
}

async fn store(token: ApiToken) -> Result<ApiToken, TokenError> {
    let secret = token.reveal().to_owned();
    keychain(move |entry| entry.set_password(&secret)).await?;
    Ok(token)
}

/// Runs a keychain call on the API token's entry.
async fn keychain<T: Send + 'static>(
    call: impl FnOnce(&keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, TokenError> {
    crate::keychain::call(KEYCHAIN_SERVICE, KEYCHAIN_USER, call)
        .await
        .map_err(TokenError::Keychain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_compared_whole_and_never_shown() {
        let token = ApiToken::generate();
        assert_eq!(token.reveal().len(), 64);
        assert!(token.reveal().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token.reveal(), ApiToken::generate().reveal());
        assert!(token.matches(token.reveal()));
        assert!(!token.matches(&token.reveal()[..63]));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "ApiToken(<redacted>)");
    }
}
