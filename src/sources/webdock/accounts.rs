//! What the window (and any other front end) does with Webdock accounts, as plain calls that never hand a token
//! back: whether one is set, a connection test, storing a new token after checking it, removing it, the
//! servers a token sees, and historic metrics for a VPS's charts. The desktop shell only adapts these to IPC.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::client::{Client, StatusFilter};
use super::error::WebdockError;
use super::normalise::{profile_of, vps_history};
use super::token::{self, Token};
use crate::config::WebdockAccount;
use crate::model::{RateBudget, VpsHistory};

/// Whether an account has a token: the window only ever sees this, never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TokenStatus {
    pub account: String,
    /// "set" or "not set".
    pub state: String,
    /// Where it comes from when set: "keychain", or the variable that supplies it.
    pub source: Option<String>,
    /// Why it cannot be told (keychain locked or absent), with how to fix it.
    pub problem: Option<String>,
}

/// One server as a connection test lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServerSummary {
    pub slug: String,
    pub name: String,
    pub status: String,
    pub location: Option<String>,
    pub profile: Option<String>,
    pub ipv4: Option<String>,
}

/// The result of checking a token against Webdock (`/ping`, then `/servers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConnectionTest {
    pub ok: bool,
    /// What went wrong, in the user's terms.
    pub message: Option<String>,
    pub servers: Vec<ServerSummary>,
    pub rate_limit: RateBudget,
}

/// "set" / "not set" for `account`, with where the token would come from; `configured` is the account's entry in
/// the settings when it has one (its own `token_variable` is looked at first).
pub async fn token_status(account: &str, configured: Option<&WebdockAccount>) -> TokenStatus {
    let found = match configured {
        Some(entry) => token::resolve_account(entry).await,
        None => token::resolve(account).await,
    };
    let (state, source, problem) = match found {
        Ok((_, source)) => (
            "set",
            Some(match source {
                token::TokenSource::Keychain => "keychain".to_owned(),
                other => other.describe(),
            }),
            None,
        ),
        Err(WebdockError::NoToken { .. }) => ("not set", None, None),
        Err(err) => ("not set", None, Some(err.to_string())),
    };
    TokenStatus {
        account: account.to_owned(),
        state: state.to_owned(),
        source,
        problem,
    }
}

/// Checks `token` (or the account's own token when `None`) with `/ping` and `/servers`.
pub async fn test_connection(account: &WebdockAccount, token: Option<&str>) -> ConnectionTest {
    let result = async {
        let token = match token {
            Some(text) => Token::new(text).ok_or(WebdockError::NoToken {
                account: account.name.clone(),
                env: token::env_name(&account.name),
            })?,
            None => token::resolve_account(account).await?.0,
        };
        // Webdock's answers for this token now, not the shared cache's (filled with whatever token was set).
        let client = Client::for_account(account, &token)?.uncached();
        client.ping().await?;
        let servers = client.servers(StatusFilter::All).await?;
        Ok::<_, WebdockError>((client, servers))
    }
    .await;
    let rate_limit = super::client::budget_of(&account.base_url, &account.name);
    match result {
        Ok((client, servers)) => ConnectionTest {
            ok: true,
            message: None,
            servers: servers
                .into_iter()
                .map(|s| ServerSummary {
                    name: s.name.clone().unwrap_or_else(|| s.slug.clone()),
                    status: s.status.unwrap_or_else(|| "unknown".to_owned()),
                    slug: s.slug,
                    location: s.location,
                    profile: s.profile,
                    ipv4: s.ipv4,
                })
                .collect(),
            rate_limit: client.budget(),
        },
        Err(err) => ConnectionTest {
            ok: false,
            message: Some(err.to_string()),
            servers: Vec::new(),
            rate_limit,
        },
    }
}

/// Checks a new token and, only if Webdock accepts it, stores it in the keychain (replacing any old one).
pub async fn set_token(account: &WebdockAccount, token_text: &str) -> ConnectionTest {
    let mut test = test_connection(account, Some(token_text)).await;
    if test.ok {
        let stored = match Token::new(token_text) {
            Some(token) => token::store(&account.name, &token).await,
            None => Err(WebdockError::NoToken {
                account: account.name.clone(),
                env: token::env_name(&account.name),
            }),
        };
        match stored {
            // Replies cached with the old token are not this one's.
            Ok(()) => super::client::clear_cache(&account.name),
            Err(err) => {
                test.ok = false;
                test.message = Some(err.to_string());
            }
        }
    }
    test
}

/// Removes the account's token from the keychain (and the replies cached with it); `false` when there was none.
pub async fn remove_token(account: &str) -> Result<bool, WebdockError> {
    let removed = token::remove(account).await?;
    super::client::clear_cache(account);
    Ok(removed)
}

/// Webdock's historic metrics of one server in the app's units (CPU 12 h, memory 24 h, disk and traffic 7 d).
pub async fn history(account: &WebdockAccount, slug: &str) -> Result<VpsHistory, WebdockError> {
    let (token, _) = token::resolve_account(account).await?;
    let client = Client::for_account(account, &token)?;
    let server = client.server(slug).await?;
    let profiles = if server.profile_data.is_none() {
        client.profiles(None).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let metrics = client.metrics(slug).await?;
    Ok(vps_history(&metrics, profile_of(&server, &profiles)))
}
