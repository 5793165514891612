//! The Webdock API client: typed calls, timeouts, retries with backoff on 5xx and network errors (never on
//! 4xx), a response cache per endpoint, and the rate-limit budget per account.
//!
//! Cache and budget live in one registry per process, keyed by API URL and account, backed by files under the
//! user's cache directory ([`super::cache`]), so the engine's source, the window's requests, the desktop app
//! and every CLI process share them: a second caller within a TTL (in this process or another) costs no
//! request, and once Webdock answers 429 no process sends anything to that account until its reset time.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde::de::DeserializeOwned;

use super::api::{ErrorBody, HistoricMetrics, InstantMetrics, Profile, Server};
use super::cache::{self, DiskCache};
use super::error::WebdockError;
use super::registry::{account_state, lock, AccountState, CacheEntry};
pub use super::registry::{budget_of, clear_cache, stretch};
use super::token::Token;
use crate::config::WebdockAccount;
use crate::model::RateBudget;

/// How long each kind of reply is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    pub instant_metrics: Duration,
    pub historic_metrics: Duration,
    pub servers: Duration,
    pub profiles: Duration,
}

impl Default for Ttls {
    fn default() -> Self {
        Self {
            // Webdock samples every few minutes; the issue sets 30 s / 5 min / 24 h.
            instant_metrics: Duration::from_secs(30),
            historic_metrics: Duration::from_secs(5 * 60),
            servers: Duration::from_secs(5 * 60),
            profiles: Duration::from_secs(24 * 3600),
        }
    }
}

/// Transport settings of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Per request, connection to last byte.
    pub timeout: Duration,
    /// Tries per call on 5xx and network errors (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    pub ttl: Ttls,
    /// Where replies and the rate-limit state are shared with other processes.
    pub shared: SharedCache,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            attempts: 3,
            backoff: Duration::from_millis(500),
            ttl: Ttls::default(),
            shared: SharedCache::UserCacheDir,
        }
    }
}

/// Where the cache shared by every Docktray process lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedCache {
    /// `docktray/webdock` in the user's cache directory (`$XDG_CACHE_HOME`, `~/.cache` on Linux).
    UserCacheDir,
    /// Another directory (tests).
    Dir(PathBuf),
    /// Only this process's memory.
    ProcessOnly,
}

impl SharedCache {
    fn root(&self) -> Option<PathBuf> {
        match self {
            Self::UserCacheDir => cache::default_root(),
            Self::Dir(dir) => Some(dir.clone()),
            Self::ProcessOnly => None,
        }
    }
}

/// `status` filter of `GET /servers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Active,
    Suspended,
}

impl StatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// A client for one account. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    account: String,
    auth: HeaderValue,
    state: Arc<AccountState>,
    disk: Option<Arc<DiskCache>>,
    /// Whether replies are read from and written to the cache (a connection test does neither).
    use_cache: bool,
    options: ClientOptions,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `account` at `base_url` (such as `https://api.webdock.io/v1`).
    pub fn new(
        account: &str,
        base_url: &str,
        token: &Token,
        options: ClientOptions,
    ) -> Result<Self, WebdockError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                WebdockError::TokenFile {
                path: format!("the token of account '{account}'"),
                detail:
                    "it contains characters a token cannot have (control characters or non-ASCII)"
                        .to_owned(),
            }
            })?;
        // Sensitive: never printed by the HTTP stack's debug output.
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("docktray/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| WebdockError::Down {
                detail: format!("cannot set up HTTPS: {err}"),
            })?;
        let state = account_state(&base, account);
        let disk = options
            .shared
            .root()
            .and_then(|root| DiskCache::new(&root, &base, account))
            .map(Arc::new);
        *lock(&state.disk) = disk.clone();
        // Only in memory, never on disk: a hash of the token the cache was filled with.
        let hash = {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            token.expose().hash(&mut hasher);
            hasher.finish()
        };
        {
            let mut known = lock(&state.token_hash);
            if known.is_some_and(|h| h != hash) {
                lock(&state.cache).clear();
                if let Some(disk) = &disk {
                    disk.clear_replies();
                }
            }
            *known = Some(hash);
        }
        Ok(Self {
            http,
            base,
            account: account.to_owned(),
            auth,
            state,
            disk,
            use_cache: true,
            options: ClientOptions {
                attempts: options.attempts.max(1),
                ..options
            },
        })
    }

    /// A client for a configured account.
    pub fn for_account(account: &WebdockAccount, token: &Token) -> Result<Self, WebdockError> {
        Self::new(
            &account.name,
            &account.base_url,
            token,
            ClientOptions {
                timeout: account.timeout,
                ..ClientOptions::default()
            },
        )
    }

    /// The same client reading nothing from the cache and storing nothing in it: for checking a token, whose
    /// answers must be Webdock's own now. The rate-limit budget is still obeyed and shared.
    pub fn uncached(mut self) -> Self {
        self.use_cache = false;
        self
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The request budget from the last reply (of this process or another).
    pub fn budget(&self) -> RateBudget {
        self.state.refresh_budget()
    }

    /// `GET /ping`: the token works (never cached).
    pub async fn ping(&self) -> Result<(), WebdockError> {
        let _: serde_json::Value = self.get("/ping", "", None).await?;
        Ok(())
    }

    /// `GET /servers?status=...`.
    pub async fn servers(&self, filter: StatusFilter) -> Result<Vec<Server>, WebdockError> {
        let query = format!("status={}", filter.as_str());
        self.get("/servers", &query, Some(self.options.ttl.servers))
            .await
    }

    /// `GET /servers/{slug}`.
    pub async fn server(&self, slug: &str) -> Result<Server, WebdockError> {
        self.get(
            &format!("/servers/{}", path_segment(slug)),
            "",
            Some(self.options.ttl.servers),
        )
        .await
        .map_err(|err| self.not_found_is_server(err, slug))
    }

    /// `GET /profiles[?locationId=...]`.
    pub async fn profiles(&self, location: Option<&str>) -> Result<Vec<Profile>, WebdockError> {
        let query = location
            .map(|l| format!("locationId={}", path_segment(l)))
            .unwrap_or_default();
        self.get("/profiles", &query, Some(self.options.ttl.profiles))
            .await
    }

    /// `GET /servers/{slug}/metrics/now`.
    pub async fn metrics_now(&self, slug: &str) -> Result<InstantMetrics, WebdockError> {
        self.get(
            &format!("/servers/{}/metrics/now", path_segment(slug)),
            "",
            Some(self.options.ttl.instant_metrics),
        )
        .await
        .map_err(|err| self.not_found_is_server(err, slug))
    }

    /// `GET /servers/{slug}/metrics`.
    pub async fn metrics(&self, slug: &str) -> Result<HistoricMetrics, WebdockError> {
        self.get(
            &format!("/servers/{}/metrics", path_segment(slug)),
            "",
            Some(self.options.ttl.historic_metrics),
        )
        .await
        .map_err(|err| self.not_found_is_server(err, slug))
    }

    fn not_found_is_server(&self, err: WebdockError, slug: &str) -> WebdockError {
        match err {
            WebdockError::NotFound { .. } => WebdockError::ServerNotFound {
                account: self.account.clone(),
                slug: slug.to_owned(),
            },
            other => other,
        }
    }

    /// A GET through the cache and the rate limiter, with retries on 5xx and network errors.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
        ttl: Option<Duration>,
    ) -> Result<T, WebdockError> {
        let key = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let ttl = ttl.filter(|_| self.use_cache);
        if let Some(body) = self.cached(&key, ttl) {
            return self.parse(path, &body);
        }
        let _turn = self.state.fetch.lock().await;
        // Another caller may have fetched it while this one waited.
        if let Some(body) = self.cached(&key, ttl) {
            return self.parse(path, &body);
        }
        self.check_budget()?;
        let url = format!("{}{key}", self.base);
        let mut delay = self.options.backoff;
        let mut last = None;
        for attempt in 1..=self.options.attempts {
            if attempt > 1 {
                tracing::debug!(account = %self.account, endpoint = path, attempt, "retrying Webdock");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            match self.send(&url, path).await {
                Ok(body) => {
                    let parsed = self.parse(path, &body)?;
                    if let Some(ttl) = ttl {
                        let fetched_at = Utc::now();
                        if let Some(disk) = &self.disk {
                            disk.write(&key, fetched_at, ttl, &body);
                        }
                        lock(&self.state.cache).insert(
                            key,
                            CacheEntry {
                                fetched_at,
                                ttl,
                                body: Arc::from(body),
                            },
                        );
                    }
                    return Ok(parsed);
                }
                Err(err @ WebdockError::Down { .. }) => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| WebdockError::Down {
            detail: "no attempt was made".to_owned(),
        }))
    }

    /// A fresh reply from memory, else from disk (stored by this or another process).
    fn cached(&self, key: &str, ttl: Option<Duration>) -> Option<Arc<str>> {
        let ttl = ttl?;
        let now = Utc::now();
        if let Some(entry) = lock(&self.state.cache).get(key) {
            if entry.fresh(ttl, now) {
                return Some(entry.body.clone());
            }
        }
        let stored = self.disk.as_ref()?.read(key)?;
        let entry = CacheEntry {
            fetched_at: stored.fetched_at,
            ttl: stored.ttl,
            body: Arc::from(stored.body),
        };
        if !entry.fresh(ttl, now) {
            return None;
        }
        tracing::trace!(account = %self.account, endpoint = key, "Webdock reply from the shared cache");
        let body = entry.body.clone();
        lock(&self.state.cache).insert(key.to_owned(), entry);
        Some(body)
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, body: &str) -> Result<T, WebdockError> {
        serde_json::from_str(body).map_err(|err| WebdockError::Malformed {
            endpoint: path.to_owned(),
            detail: err.to_string(),
        })
    }

    /// Refuses to send while the account is rate limited (after a 429, or with nothing left before the reset).
    fn check_budget(&self) -> Result<(), WebdockError> {
        let now = Utc::now();
        let budget = self.state.refresh_budget();
        let until = budget
            .blocked_until
            .filter(|until| *until > now)
            .or_else(|| {
                (budget.remaining == Some(0))
                    .then_some(budget.reset_at)
                    .flatten()
                    .filter(|reset| *reset > now)
            });
        match until {
            Some(until) => Err(WebdockError::RateLimited {
                account: self.account.clone(),
                until,
            }),
            None => Ok(()),
        }
    }

    /// One request. Network errors and 5xx are `Down` (retried by the caller); 4xx map to what they mean.
    async fn send(&self, url: &str, path: &str) -> Result<String, WebdockError> {
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| WebdockError::Down {
                detail: describe_transport(&err, self.options.timeout),
            })?;
        let status = response.status();
        let budget = self.note_budget(response.headers(), status.as_u16() == 429);
        tracing::debug!(
            account = %self.account,
            endpoint = path,
            status = status.as_u16(),
            remaining = ?budget.remaining,
            "Webdock replied"
        );
        let body = response.text().await.map_err(|err| WebdockError::Down {
            detail: describe_transport(&err, self.options.timeout),
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_str::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        let message: String = message
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        Err(match status.as_u16() {
            401 => WebdockError::BadToken {
                account: self.account.clone(),
            },
            403 => WebdockError::Forbidden {
                account: self.account.clone(),
                what: path.to_owned(),
            },
            404 => WebdockError::NotFound {
                what: message,
                endpoint: path.to_owned(),
            },
            429 => WebdockError::RateLimited {
                account: self.account.clone(),
                until: budget
                    .blocked_until
                    .unwrap_or_else(|| Utc::now() + TimeDelta::seconds(60)),
            },
            code if code >= 500 => WebdockError::Down {
                detail: format!("HTTP {code} from {path}: {message}"),
            },
            code => WebdockError::Http {
                status: code,
                endpoint: path.to_owned(),
                message,
            },
        })
    }

    /// Reads the `X-RateLimit-*` headers into the account's budget; on 429 blocks until the reset.
    fn note_budget(&self, headers: &HeaderMap, too_many: bool) -> RateBudget {
        // Start from the newest state any process knows.
        self.state.refresh_budget();
        let now = Utc::now();
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let mut known = lock(&self.state.budget);
        let budget = &mut known.budget;
        if let Some(limit) = number("x-ratelimit-limit") {
            budget.limit = Some(limit as u64);
        }
        if let Some(remaining) = number("x-ratelimit-remaining") {
            budget.remaining = Some(remaining as u64);
        }
        if let Some(reset) = number("x-ratelimit-reset") {
            budget.reset_at = reset_time(reset, now);
        }
        if too_many {
            let retry_after = number("retry-after").and_then(|s| reset_time(s, now));
            let until = budget
                .reset_at
                .filter(|at| *at > now)
                .or(retry_after)
                .unwrap_or_else(|| now + TimeDelta::seconds(60));
            budget.blocked_until = Some(until);
            budget.remaining = Some(0);
            tracing::warn!(
                account = %self.account,
                until = %until,
                "Webdock rate limit reached; nothing is sent to this account until the reset"
            );
        } else if budget.blocked_until.is_some_and(|until| until <= now) {
            budget.blocked_until = None;
        }
        let budget = budget.clone();
        known.updated_at = Some(now);
        drop(known);
        if let Some(disk) = &self.disk {
            disk.write_budget(now, &budget);
        }
        budget
    }
}

/// `X-RateLimit-Reset`: epoch seconds above 10^9, otherwise seconds from now.
fn reset_time(value: f64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if value > 1e9 {
        DateTime::from_timestamp(value as i64, 0)
    } else {
        Some(now + TimeDelta::milliseconds((value * 1000.0) as i64))
    }
}

/// A slug or query value made safe for a URL path (slugs are plain, but config text is not trusted).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn describe_transport(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        format!("no answer within {}", crate::util::format_duration(timeout))
    } else if err.is_connect() {
        "cannot connect: check the network or the base_url".to_owned()
    } else {
        // reqwest's text names the URL (never the token, which travels in a header).
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_header_in_epoch_and_delta_forms() {
        let now = Utc::now();
        let epoch = reset_time(1_900_000_000.0, now).expect("epoch");
        assert_eq!(epoch.timestamp(), 1_900_000_000);
        let delta = reset_time(90.0, now).expect("delta");
        assert_eq!((delta - now).num_seconds(), 90);
    }

    #[test]
    fn polling_stretches_as_the_budget_falls() {
        let budget = |remaining| RateBudget {
            limit: Some(5000),
            remaining: Some(remaining),
            ..RateBudget::default()
        };
        assert_eq!(stretch(&RateBudget::default()), 1);
        assert_eq!(stretch(&budget(4000)), 1);
        assert_eq!(stretch(&budget(2000)), 2);
        assert_eq!(stretch(&budget(600)), 4);
        assert_eq!(stretch(&budget(10)), 8);
    }

    #[test]
    fn slugs_are_escaped_in_paths() {
        assert_eq!(path_segment("web-1"), "web-1");
        assert_eq!(path_segment("../x y"), "..%2Fx%20y");
    }
}
