//! The window's service commands (docs/ipc.md): open a service's address in the user's browser, and "retry
//! now" for Caddy. Apart from `commands.rs` so the service work stays in one place.

use tauri::State;

use crate::state::Shell;

/// Opens a service's address in the user's default browser (`xdg-open`; `open` on macOS). Only http and
/// https addresses, and only one the engine lists as a service's: labels are untrusted, and the window must not
/// become a way to launch anything else.
#[tauri::command]
pub async fn open_url(shell: State<'_, Shell>, url: String) -> Result<(), String> {
    let listed = shell
        .monitor()
        .await?
        .engine()
        .snapshot()
        .services
        .iter()
        .any(|service| service.url == url);
    check_web_url(&url, listed)?;
    launch(&url)
}

/// Ends Caddy's backoff wait and talks to it now ("Retry now").
#[tauri::command]
pub async fn retry_caddy(shell: State<'_, Shell>) -> Result<(), String> {
    if shell.monitor().await?.retry_caddy() {
        Ok(())
    } else {
        Err("Caddy sync is off: set [caddy] admin_url in the config file".to_owned())
    }
}

/// Sends a test message through one notification channel ("Send test"): `webhook:NAME`, `ntfy` or `email`.
/// Resolves with where it went; a failure names the channel and why (never a secret).
#[tauri::command]
pub async fn test_channel(shell: State<'_, Shell>, channel: String) -> Result<String, String> {
    shell
        .monitor()
        .await?
        .test_channel(&channel)
        .await
        .map_err(|err| err.to_string())
}

/// Whether `url` may be handed to the browser: http or https with a host, and `listed` as a service's.
pub fn check_web_url(url: &str, listed: bool) -> Result<(), String> {
    let parsed =
        tauri::Url::parse(url).map_err(|_| format!("not opening \"{url}\": not a web address"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "not opening \"{url}\": only http and https addresses are opened"
        ));
    }
    if !listed {
        return Err(format!(
            "not opening \"{url}\": it is not the address of a service Docktray lists"
        ));
    }
    Ok(())
}

fn launch(url: &str) -> Result<(), String> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    let mut child = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot start {program} to open {url}: {err}"))?;
    // Reaped in the background: the browser may run for long, and the window must not wait for it.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    tracing::info!(%url, "opened in the browser");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_web_url;

    #[test]
    fn only_listed_web_addresses_are_opened() {
        assert!(check_web_url("https://app.example.com/", true).is_ok());
        assert!(check_web_url("http://app.example.com/api", true).is_ok());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "ftp://x.example.com/",
            "not a url",
        ] {
            assert!(check_web_url(bad, true).is_err(), "{bad} accepted");
        }
        let err = check_web_url("https://elsewhere.example.com/", false).unwrap_err();
        assert!(err.contains("not the address of a service"), "{err}");
    }
}
