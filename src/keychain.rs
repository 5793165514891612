//! The OS keychain as every secret of Docktray reaches it (Webdock tokens, the API's token, channel secrets):
//! the platform stores block, so each call runs off the async threads with a time limit, and a keychain that
//! stopped answering (locked, waiting for an unlock prompt a headless session never shows) is reported unusable at
//! once instead of piling up blocked threads. Failures come back in words that never hold the secret.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A keychain that does not answer within this is reported as unusable.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Keychain calls that timed out and are still waiting: while one is, no new call is started.
static STUCK: AtomicUsize = AtomicUsize::new(0);

/// Runs `call` on the entry `service`/`user`; the error is why the keychain cannot be used, in words.
pub async fn call<T: Send + 'static>(
    service: &'static str,
    user: &str,
    call: impl FnOnce(&keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, String> {
    if STUCK.load(Ordering::SeqCst) > 0 {
        return Err(
            "an earlier request to it is still waiting (locked and waiting for an unlock prompt?)"
                .to_owned(),
        );
    }
    let user = user.to_owned();
    // 0 running, 1 answered, 2 given up on: whoever changes it from 0 decides who counts the stuck call.
    let phase = Arc::new(AtomicU8::new(0));
    let task_phase = phase.clone();
    let task = tokio::task::spawn_blocking(move || {
        let result = keyring::Entry::new(service, &user).and_then(|entry| call(&entry));
        if task_phase
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            STUCK.fetch_sub(1, Ordering::SeqCst);
        }
        result
    });
    match tokio::time::timeout(TIMEOUT, task).await {
        Err(_) => {
            if phase
                .compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                STUCK.fetch_add(1, Ordering::SeqCst);
            }
            Err(format!(
                "it did not answer within {} s (locked and waiting for an unlock prompt?)",
                TIMEOUT.as_secs()
            ))
        }
        Ok(Err(join)) => Err(format!("the keychain call failed: {join}")),
        Ok(Ok(result)) => result.map_err(|err| describe(&err)),
    }
}

/// keyring's error in words; its text never includes the secret.
fn describe(err: &keyring::Error) -> String {
    match err {
        keyring::Error::NoStorageAccess(inner) => format!("it is locked or not running: {inner}"),
        keyring::Error::PlatformFailure(inner) if inner.to_string().contains("ocked") => {
            format!("it is locked: {inner}")
        }
        keyring::Error::PlatformFailure(inner) => {
            format!("no Secret Service keychain is reachable: {inner}")
        }
        other => other.to_string(),
    }
}
