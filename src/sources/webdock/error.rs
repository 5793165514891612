//! What can go wrong talking to Webdock or the keychain, in the user's terms. No message ever contains a token:
//! errors are built from status codes, Webdock's own error text and our words only.

use chrono::{DateTime, Local, Utc};

/// A Webdock or token failure. Each message says what happened and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebdockError {
    #[error(
        "Webdock rejected the token of account '{account}' (401: bad or revoked token): create an API token in \
         the Webdock dashboard (Account > API & Integrations) and run `docktray webdock login {account}`"
    )]
    BadToken { account: String },

    #[error(
        "the token of Webdock account '{account}' lacks permission for {what} (403): give the token read access \
         to servers in the Webdock dashboard, then run `docktray webdock login {account}` again"
    )]
    Forbidden { account: String, what: String },

    #[error(
        "server '{slug}' not found in Webdock account '{account}' (404): check the slugs under [[webdock]] \
         servers; `docktray webdock servers` lists the servers the token sees"
    )]
    ServerNotFound { account: String, slug: String },

    #[error("Webdock has no {what} (404 from {endpoint})")]
    NotFound { what: String, endpoint: String },

    #[error(
        "Webdock rate limit reached for account '{account}': no requests until {} (local time); figures resume then",
        local_hh_mm(*until)
    )]
    RateLimited {
        account: String,
        until: DateTime<Utc>,
    },

    #[error("Webdock is down or unreachable ({detail}); Docktray keeps trying")]
    Down { detail: String },

    #[error(
        "Webdock sent a reply Docktray cannot read from {endpoint} ({detail}); if this persists the API may have \
         changed: please report it"
    )]
    Malformed { endpoint: String, detail: String },

    #[error("Webdock answered {status} to {endpoint}: {message}")]
    Http {
        status: u16,
        endpoint: String,
        message: String,
    },

    #[error(
        "no token for Webdock account '{account}': run `docktray webdock login {account}`, or set {env} (or \
         {env}_FILE) for headless use"
    )]
    NoToken { account: String, env: String },

    #[error(
        "the OS keychain cannot be used ({detail}): unlock it (log in to your desktop session, or run \
         `gnome-keyring-daemon --unlock`), or give the token in {env} / {env}_FILE; everything else keeps being \
         watched"
    )]
    Keychain { detail: String, env: String },

    #[error("the token in {path} cannot be read: {detail}")]
    TokenFile { path: String, detail: String },
}

impl WebdockError {
    /// Worth retrying later (Webdock or the network failed), as opposed to something the user must fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Down { .. } | Self::RateLimited { .. })
    }
}

/// `14:05` in the local time zone.
pub fn local_hh_mm(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%H:%M").to_string()
}
