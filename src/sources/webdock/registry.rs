//! What every client of one account shares in this process: its reply cache, its rate-limit budget and the
//! on-disk layer shared with other processes, in one registry keyed by API URL and account.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::cache::{self, DiskCache};
use crate::model::RateBudget;

pub(super) struct CacheEntry {
    pub fetched_at: DateTime<Utc>,
    pub ttl: Duration,
    pub body: Arc<str>,
}

impl CacheEntry {
    /// Fresh for a caller allowing `ttl`: younger than both that and the TTL it was stored with.
    pub fn fresh(&self, ttl: Duration, now: DateTime<Utc>) -> bool {
        let Ok(age) = (now - self.fetched_at).to_std() else {
            // From the future: the clock went back; do not trust it.
            return false;
        };
        age < ttl.min(self.ttl)
    }
}

/// The budget with when it was last learnt (to tell whether another process knows something newer).
#[derive(Default)]
pub(super) struct BudgetState {
    pub budget: RateBudget,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What one account shares across every client of it in this process.
#[derive(Default)]
pub(super) struct AccountState {
    pub cache: Mutex<HashMap<String, CacheEntry>>,
    pub budget: Mutex<BudgetState>,
    /// The on-disk layer shared with other processes (the last client made chose it).
    pub disk: Mutex<Option<Arc<DiskCache>>>,
    /// One request at a time per account: a second caller waits and then finds the reply in the cache.
    pub fetch: tokio::sync::Mutex<()>,
    /// Hash of the token the cache was filled with (a new token starts with an empty cache).
    pub token_hash: Mutex<Option<u64>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accounts by (API URL, account name).
type Registry = Mutex<HashMap<(String, String), Arc<AccountState>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

pub(super) fn account_state(base: &str, account: &str) -> Arc<AccountState> {
    lock(registry())
        .entry((base.to_owned(), account.to_owned()))
        .or_default()
        .clone()
}

impl AccountState {
    /// Adopts the budget another process stored, when it is newer than the one known here; returns the budget.
    pub fn refresh_budget(&self) -> RateBudget {
        let disk = lock(&self.disk).clone();
        let mut known = lock(&self.budget);
        if let Some((updated_at, budget)) = disk.and_then(|d| d.read_budget()) {
            if known.updated_at.is_none_or(|at| updated_at > at) {
                known.budget = budget;
                known.updated_at = Some(updated_at);
            }
        }
        known.budget.clone()
    }
}

/// The budget last seen for an account by this or another process (none before its first reply).
pub fn budget_of(base_url: &str, account: &str) -> RateBudget {
    let base = base_url.trim().trim_end_matches('/');
    let state = account_state(base, account);
    {
        let mut disk = lock(&state.disk);
        if disk.is_none() {
            *disk = cache::default_root()
                .and_then(|root| DiskCache::new(&root, base, account))
                .map(Arc::new);
        }
    }
    state.refresh_budget()
}

/// Forgets every cached reply of `account` (at any API URL), in this process and on disk: after its token is
/// stored, replaced or removed, nothing read with another token is served.
pub fn clear_cache(account: &str) {
    let mut roots: Vec<PathBuf> = cache::default_root().into_iter().collect();
    let states: Vec<Arc<AccountState>> = lock(registry())
        .iter()
        .filter(|((_, name), _)| name == account)
        .map(|(_, state)| state.clone())
        .collect();
    for state in states {
        lock(&state.cache).clear();
        if let Some(disk) = lock(&state.disk).as_ref() {
            disk.clear_replies();
            if let Some(root) = disk.dir().parent().and_then(|p| p.parent()) {
                if !roots.iter().any(|r| r == root) {
                    roots.push(root.to_owned());
                }
            }
        }
    }
    for root in roots {
        cache::clear_account(&root, account);
    }
}

/// How much longer than configured to wait between polls, given the budget left: the less is left, the slower.
pub fn stretch(budget: &RateBudget) -> u32 {
    match (budget.remaining, budget.limit) {
        (Some(remaining), Some(limit)) if limit > 0 => {
            let left = remaining as f64 / limit as f64;
            if left >= 0.5 {
                1
            } else if left >= 0.25 {
                2
            } else if left >= 0.1 {
                4
            } else {
                8
            }
        }
        _ => 1,
    }
}
