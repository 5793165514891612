//! The on-disk layer of the Webdock response cache and rate-limit state, so that every Docktray process of a user
//! (the desktop app's tray and window, `docktray watch`, `docktray status`, `docktray webdock servers`) shares one
//! cache and one budget per account.
//!
//! Layout, under the user's cache directory (`$XDG_CACHE_HOME` or `~/.cache` on Linux):
//!
//! ```text
//! docktray/webdock/<account>/<api base URL>/
//!     servers_status=all.json             one reply per endpoint: endpoint, fetched_at, ttl_s, body
//!     servers_shop1_metrics_now.json
//!     rate-limit.json                     limit, remaining, reset_at, blocked_until, updated_at
//! ```
//!
//! Directories are 0700 and files 0600 (Unix), each file written to a temporary name and renamed, so a reader
//! sees a whole old file or a whole new one. Nothing here holds a token or anything derived from one: entries are
//! keyed by account name and API URL. A missing, unreadable or corrupt file is a cache miss (logged at debug),
//! and a failed write only costs a later request: the cache is never a reason for a call to fail.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::RateBudget;

const VERSION: u32 = 1;
const BUDGET_FILE: &str = "rate-limit.json";
/// Longer names are not cached on disk (some file systems stop at 255 bytes).
const MAX_NAME: usize = 200;

/// `~/.cache/docktray/webdock` (or the platform's cache directory), when there is one.
pub fn default_root() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("docktray").join("webdock"))
}

/// One account at one API URL on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskCache {
    root: PathBuf,
    base: String,
    dir: PathBuf,
}

/// A reply as stored.
#[derive(Debug, Serialize, Deserialize)]
struct EntryFile {
    version: u32,
    base_url: String,
    endpoint: String,
    fetched_at: DateTime<Utc>,
    ttl_s: f64,
    body: String,
}

/// The rate-limit state as stored.
#[derive(Debug, Serialize, Deserialize)]
struct BudgetFile {
    version: u32,
    base_url: String,
    updated_at: DateTime<Utc>,
    #[serde(flatten)]
    budget: RateBudget,
}

/// A reply read back from disk.
pub struct Entry {
    pub fetched_at: DateTime<Utc>,
    pub ttl: Duration,
    pub body: String,
}

impl DiskCache {
    /// The place of `account` at `base` (a trimmed API URL) under `root`, or `None` when the names cannot be files.
    pub fn new(root: &Path, base: &str, account: &str) -> Option<Self> {
        let account_dir = file_name(account)?;
        let base_dir = file_name(base)?;
        Some(Self {
            root: root.to_owned(),
            base: base.to_owned(),
            dir: root.join(account_dir).join(base_dir),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored reply of `endpoint` (path and query), fresh or not.
    pub fn read(&self, endpoint: &str) -> Option<Entry> {
        let path = self.dir.join(format!("{}.json", file_name(endpoint)?));
        let entry: EntryFile = read_json(&path)?;
        if entry.version != VERSION || entry.base_url != self.base || entry.endpoint != endpoint {
            tracing::debug!(file = %path.display(), "Webdock cache entry is for something else; ignored");
            return None;
        }
        let ttl = Duration::try_from_secs_f64(entry.ttl_s).ok()?;
        Some(Entry {
            fetched_at: entry.fetched_at,
            ttl,
            body: entry.body,
        })
    }

    /// Stores the reply of `endpoint`.
    pub fn write(&self, endpoint: &str, fetched_at: DateTime<Utc>, ttl: Duration, body: &str) {
        let Some(name) = file_name(endpoint) else {
            return;
        };
        let entry = EntryFile {
            version: VERSION,
            base_url: self.base.clone(),
            endpoint: endpoint.to_owned(),
            fetched_at,
            ttl_s: ttl.as_secs_f64(),
            body: body.to_owned(),
        };
        self.write_json(&format!("{name}.json"), &entry);
    }

    /// The stored rate-limit state and when it was written.
    pub fn read_budget(&self) -> Option<(DateTime<Utc>, RateBudget)> {
        let path = self.dir.join(BUDGET_FILE);
        let file: BudgetFile = read_json(&path)?;
        if file.version != VERSION || file.base_url != self.base {
            tracing::debug!(file = %path.display(), "Webdock rate-limit file is for something else; ignored");
            return None;
        }
        Some((file.updated_at, file.budget))
    }

    pub fn write_budget(&self, updated_at: DateTime<Utc>, budget: &RateBudget) {
        let file = BudgetFile {
            version: VERSION,
            base_url: self.base.clone(),
            updated_at,
            budget: budget.clone(),
        };
        self.write_json(BUDGET_FILE, &file);
    }

    /// Removes every stored reply (the rate-limit state stays: it is the account's, whatever the token).
    pub fn clear_replies(&self) {
        clear_replies_in(&self.dir);
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) {
        let result = serde_json::to_vec(value)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                make_private_dirs(&self.root, &self.dir)?;
                write_atomically(&self.dir.join(name), &bytes)
            });
        if let Err(err) = result {
            tracing::debug!(dir = %self.dir.display(), file = name, %err, "Webdock cache not written");
        }
    }
}

/// Removes the stored replies of `account` at every API URL under `root`.
pub fn clear_account(root: &Path, account: &str) {
    let Some(name) = file_name(account) else {
        return;
    };
    let Ok(bases) = std::fs::read_dir(root.join(name)) else {
        return;
    };
    for base in bases.flatten() {
        if base.file_type().is_ok_and(|t| t.is_dir()) {
            clear_replies_in(&base.path());
        }
    }
}

fn clear_replies_in(dir: &Path) {
    let Ok(files) = std::fs::read_dir(dir) else {
        return;
    };
    for file in files.flatten() {
        let name = file.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") && name != BUDGET_FILE {
            if let Err(err) = std::fs::remove_file(file.path()) {
                tracing::debug!(file = %file.path().display(), %err, "Webdock cache entry not removed");
            }
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::debug!(file = %path.display(), %err, "Webdock cache file unreadable; ignored");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::debug!(file = %path.display(), %err, "Webdock cache file corrupt; ignored");
            None
        }
    }
}

/// Creates `dir` and the directories between `root`'s parent and it, private to the user.
fn make_private_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    // Directories made earlier (or by someone else's umask) are tightened too: ours are root and below.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut current = Some(dir);
        while let Some(path) = current {
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode != 0o700 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
            }
            if path == root {
                break;
            }
            current = path.parent().filter(|p| p.starts_with(root));
        }
    }
    Ok(())
}

/// Writes `bytes` to a new temporary file beside `path` (0600) and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A file name standing for `text` and nothing else: letters, digits, `-` and `.` as they are, `/` as `_`,
/// every other byte as `%XX` (so `_` and `%` are escaped too). `None` when too long or empty.
fn file_name(text: &str) -> Option<String> {
    let mut name = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'/' => name.push('_'),
            b if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' => name.push(b as char),
            b => name.push_str(&format!("%{b:02X}")),
        }
    }
    // "." and ".." (and hidden names) are not ours to use.
    if name.starts_with('.') {
        name.replace_range(0..1, "%2E");
    }
    (!name.is_empty() && name.len() <= MAX_NAME).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_distinct() {
        assert_eq!(
            file_name("/servers?status=all").as_deref(),
            Some("_servers%3Fstatus%3Dall")
        );
        assert_eq!(
            file_name("/servers/shop1/metrics/now").as_deref(),
            Some("_servers_shop1_metrics_now")
        );
        // A slug with '_' and one with an escaped '/' do not meet another endpoint's file.
        assert_ne!(
            file_name("/servers/x_metrics"),
            file_name("/servers/x/metrics")
        );
        assert_ne!(file_name("/servers/a%2Fb"), file_name("/servers/a/b"));
        assert_eq!(file_name("..").as_deref(), Some("%2E."));
        assert_eq!(
            file_name("https://api.webdock.io/v1").as_deref(),
            Some("https%3A__api.webdock.io_v1")
        );
        assert_eq!(file_name(""), None);
        assert_eq!(file_name(&"x".repeat(300)), None);
    }

    #[test]
    fn entries_round_trip_are_private_and_corrupt_files_are_misses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("webdock");
        let cache = DiskCache::new(&root, "http://127.0.0.1:1/v1", "work").expect("cache");
        assert!(cache.read("/servers?status=all").is_none());
        let at = Utc::now();
        cache.write("/servers?status=all", at, Duration::from_secs(300), "[1]");
        let entry = cache.read("/servers?status=all").expect("entry");
        assert_eq!(
            (entry.fetched_at, entry.ttl, entry.body.as_str()),
            (at, Duration::from_secs(300), "[1]")
        );
        // Another API URL of the same account is another place.
        let other = DiskCache::new(&root, "http://127.0.0.1:2/v1", "work").expect("cache");
        assert!(other.read("/servers?status=all").is_none());
        let budget = RateBudget {
            limit: Some(100),
            remaining: Some(0),
            reset_at: Some(at),
            blocked_until: Some(at),
        };
        cache.write_budget(at, &budget);
        assert_eq!(cache.read_budget(), Some((at, budget.clone())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&root), 0o700);
            assert_eq!(mode(&root.join("work")), 0o700);
            assert_eq!(mode(cache.dir()), 0o700);
            for file in std::fs::read_dir(cache.dir()).expect("dir").flatten() {
                assert_eq!(mode(&file.path()), 0o600, "{:?}", file.path());
            }
        }
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(cache.dir())
            .expect("dir")
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        // Garbage in a file is a miss, not an error.
        let file = cache.dir().join("_servers%3Fstatus%3Dall.json");
        std::fs::write(&file, "{not json").expect("corrupt");
        assert!(cache.read("/servers?status=all").is_none());
        std::fs::write(cache.dir().join(BUDGET_FILE), [0xff, 0x00]).expect("corrupt");
        assert!(cache.read_budget().is_none());
        // Clearing an account removes replies, not the budget file.
        cache.write("/profiles", at, Duration::from_secs(60), "[]");
        cache.write_budget(at, &budget);
        clear_account(&root, "work");
        assert!(cache.read("/profiles").is_none());
        assert!(cache.read_budget().is_some());
    }
}
