//! The window's commands (docs/ipc.md). Each one adapts an engine call; failures reach the window as the
//! engine's own message (a plain string). They live in a module, not at the crate root: `#[tauri::command]`
//! there collides with its generated `__cmd__` macro (E0255).

use std::path::Path;

use chrono::{DateTime, Utc};
use docktray::alerts::{merge_alerts, Alert, Level};
use docktray::config::{HostConfig, WebdockAccount};
use docktray::history::{AlertQuery, Resolution, Series, SeriesQuery, SeriesTarget};
use docktray::model::ContainerDetail;
use docktray::model::VpsHistory;
use docktray::sources::docker::logs::LogQuery;
use docktray::sources::ssh::check::StepResult;
use docktray::sources::ssh::discover;
use docktray::sources::ssh::manage::{self, HostKeys};
use docktray::sources::webdock::accounts::{self, ConnectionTest, TokenStatus};
use docktray::{Action, Config, Error, Snapshot};
use tauri::ipc::Invoke;
use tauri::{AppHandle, Runtime, State};

use crate::payloads::{HistoryRange, HistoryTarget, LogSubscription, Settings, Validation};
use crate::state::Shell;

type Answer<T> = Result<T, String>;

/// Every command, for `Builder::invoke_handler`. The same names are listed in build.rs (permissions) and
/// capabilities/main.json.
pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        get_snapshot,
        get_container_detail,
        container_action,
        get_history,
        subscribe_logs,
        unsubscribe_logs,
        list_alerts,
        acknowledge_alert,
        get_settings,
        validate_settings,
        save_settings,
        set_notifications_paused,
        take_route,
        webdock_token_status,
        webdock_test_connection,
        webdock_set_token,
        webdock_remove_token,
        get_vps_history,
        check_host,
        host_fingerprint,
        trust_host,
        save_host,
        remove_host,
        retry_host,
        discover_hosts,
        crate::services::open_url,
        crate::services::retry_caddy,
        crate::services::test_channel,
        crate::workbench::exec_start,
        crate::workbench::exec_input,
        crate::workbench::exec_resize,
        crate::workbench::exec_close,
        crate::workbench::list_images,
        crate::workbench::list_volumes,
        crate::workbench::list_networks,
        crate::workbench::get_disk_usage,
        crate::workbench::remove_image,
        crate::workbench::prune_images,
        crate::workbench::remove_volume,
        crate::workbench::prune_volumes,
        crate::workbench::remove_network,
        crate::workbench::stack_plan,
        crate::workbench::stack_action,
        crate::timeline::list_timeline,
        crate::timeline::default_export_path,
        crate::timeline::export_timeline,
        crate::timeline::export_series,
    ]
}

#[tauri::command]
pub async fn get_snapshot(shell: State<'_, Shell>) -> Answer<Snapshot> {
    Ok(shell.monitor().await?.engine().snapshot())
}

#[tauri::command]
pub async fn get_container_detail(
    shell: State<'_, Shell>,
    container: String,
) -> Answer<ContainerDetail> {
    let monitor = shell.monitor().await?;
    monitor
        .engine()
        .container_detail(&container)
        .await
        .map_err(|err| err.to_string())
}

#[tauri::command]
pub async fn container_action(
    shell: State<'_, Shell>,
    container: String,
    action: Action,
) -> Answer<()> {
    let monitor = shell.monitor().await?;
    tracing::info!(container, action = action.as_str(), "container action");
    monitor
        .engine()
        .act(&container, action, &docktray::model::Actor::window())
        .await
        .map_err(|err| err.to_string())
}

#[tauri::command]
pub async fn get_history(
    shell: State<'_, Shell>,
    target: HistoryTarget,
    metric: String,
    range: HistoryRange,
) -> Answer<Series> {
    let history = shell.monitor().await?.history().cloned().ok_or_else(|| {
        "the history is off (history.enabled = false, or its file could not be opened): no charts".to_owned()
    })?;
    let until = Utc::now();
    let query = SeriesQuery {
        target: match target {
            HistoryTarget::Container { host, id } => SeriesTarget::Container {
                host: Some(host),
                id_or_name: id,
            },
            HistoryTarget::Host { name } => SeriesTarget::Host { name },
        },
        metric,
        since: until - range.duration(),
        until,
        limit: None,
        resolution: Resolution::Auto,
    };
    // SQLite reads block: keep them off the async workers.
    tauri::async_runtime::spawn_blocking(move || history.query(&query))
        .await
        .map_err(|err| format!("reading the history failed: {err}"))?
        .map_err(|err| err.to_string())
}

#[tauri::command]
pub async fn subscribe_logs<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    container: String,
    tail: Option<usize>,
) -> Answer<LogSubscription> {
    let (hub, id) = {
        let monitor = shell.monitor().await?;
        let engine = monitor.engine();
        let id = engine
            .snapshot()
            .find_container(&container)
            .map(|c| c.info.id.clone())
            .ok_or_else(|| Error::NoSuchContainer(container.clone()).to_string())?;
        (engine.logs().clone(), id)
    };
    let query = LogQuery {
        tail,
        ..LogQuery::default()
    };
    let mut logs = hub
        .subscribe(&id, query)
        .await
        .map_err(|err| err.to_string())?;
    let history = std::mem::take(&mut logs.history);
    let subscription = shell.next_subscription_id();
    let task = tauri::async_runtime::spawn(crate::log_stream::forward(app, subscription, logs));
    shell.add_subscription(subscription, task);
    tracing::debug!(subscription, container, "log subscription");
    Ok(LogSubscription {
        subscription,
        history,
    })
}

#[tauri::command]
pub async fn unsubscribe_logs(shell: State<'_, Shell>, subscription: u64) -> Answer<()> {
    shell.remove_subscription(subscription);
    Ok(())
}

#[tauri::command]
pub async fn list_alerts(
    shell: State<'_, Shell>,
    active_only: bool,
    level: Option<Level>,
    since: Option<DateTime<Utc>>,
) -> Answer<Vec<Alert>> {
    let monitor = shell.monitor().await?;
    let live = monitor.engine().snapshot().alerts;
    let history = monitor.history().cloned();
    drop(monitor);
    let recorded = match history {
        Some(history) => {
            let query = AlertQuery {
                level,
                since,
                until: None,
                active_only,
                limit: None,
            };
            tauri::async_runtime::spawn_blocking(move || history.alerts(&query))
                .await
                .map_err(|err| format!("reading the alerts failed: {err}"))?
                .map_err(|err| err.to_string())?
        }
        None => Vec::new(),
    };
    Ok(merge_alerts(recorded, live, level))
}

#[tauri::command]
pub async fn acknowledge_alert(shell: State<'_, Shell>, id: u64) -> Answer<bool> {
    Ok(shell.monitor().await?.engine().acknowledge(id).await)
}

#[tauri::command]
pub async fn get_settings(shell: State<'_, Shell>) -> Answer<Settings> {
    Ok(Settings {
        config: shell.config(),
        path: shell.config_path().display().to_string(),
    })
}

#[tauri::command]
pub async fn validate_settings(
    shell: State<'_, Shell>,
    config: serde_json::Value,
) -> Answer<Validation> {
    Ok(match parse_settings(config, shell.config_path()) {
        Ok(_) => Validation {
            ok: true,
            key: None,
            message: None,
        },
        Err((key, message)) => Validation {
            ok: false,
            key,
            message: Some(message),
        },
    })
}

/// Saves the settings and applies what the running app can take at once (thresholds, alert rules, remote hosts,
/// notification options, retentions). Returns the settings that were saved but take effect at the next start (config keys,
/// empty when none), for the window to say so.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    config: serde_json::Value,
) -> Answer<Vec<String>> {
    let path = shell.config_path().to_path_buf();
    let config = parse_settings(config, &path).map_err(|(_, message)| message)?;
    let previous = shell.config();
    let later = save_config(&shell, config.clone()).await?;
    if previous.desktop.start_at_login != config.desktop.start_at_login {
        crate::control::apply_autostart(&app, config.desktop.start_at_login)
            .map_err(|err| format!("the settings were saved, but {err}"))?;
    }
    Ok(later)
}

/// The window's settings as a [`Config`], with the config file's rules and messages (the API's settings routes
/// read them with the same function); on failure the key at fault (when known) and the message.
fn parse_settings(
    value: serde_json::Value,
    path: &Path,
) -> Result<Config, (Option<String>, String)> {
    docktray::config::window::from_json(value, path)
        .map_err(|refusal| (refusal.key, refusal.message))
}

#[tauri::command]
pub async fn set_notifications_paused<R: Runtime>(
    app: AppHandle<R>,
    paused: bool,
    minutes: Option<u64>,
) -> Answer<()> {
    crate::control::set_paused(&app, paused, minutes).await
}

#[tauri::command]
pub async fn take_route(shell: State<'_, Shell>) -> Answer<Option<String>> {
    Ok(shell.take_route())
}

/// "set" / "not set" for a Webdock account; the token itself never crosses IPC outbound.
#[tauri::command]
pub async fn webdock_token_status(shell: State<'_, Shell>, account: String) -> Answer<TokenStatus> {
    let configured = shell
        .config()
        .webdock
        .into_iter()
        .find(|entry| entry.name == account);
    Ok(accounts::token_status(&account, configured.as_ref()).await)
}

/// Checks a token typed in settings (or the account's stored one when `token` is null) with /ping and /servers.
#[tauri::command]
pub async fn webdock_test_connection(
    account: WebdockAccount,
    token: Option<String>,
) -> Answer<ConnectionTest> {
    Ok(accounts::test_connection(&account, token.as_deref()).await)
}

/// Checks the token and, if Webdock accepts it, stores it straight in the OS keychain. The reply says whether
/// it worked and what the token sees, never the token.
#[tauri::command]
pub async fn webdock_set_token(account: WebdockAccount, token: String) -> Answer<ConnectionTest> {
    tracing::info!(account = %account.name, "storing a Webdock token from the window");
    Ok(accounts::set_token(&account, &token).await)
}

#[tauri::command]
pub async fn webdock_remove_token(account: String) -> Answer<bool> {
    accounts::remove_token(&account)
        .await
        .map_err(|err| err.to_string())
}

/// Webdock's historic metrics of one watched VPS, to seed its charts.
#[tauri::command]
pub async fn get_vps_history(
    shell: State<'_, Shell>,
    account: String,
    slug: String,
) -> Answer<VpsHistory> {
    docktray::desk::vps_history(&shell.config(), &account, &slug)
        .await
        .map_err(|err| err.to_string())
}

/// Hosts found on this machine that are not configured yet (Docker contexts, `DOCKER_HOST`, `~/.ssh/config`),
/// for the host form to offer.
#[tauri::command]
pub async fn discover_hosts(shell: State<'_, Shell>) -> Answer<Vec<discover::Discovered>> {
    docktray::desk::discover_hosts(shell.config().hosts)
        .await
        .map_err(|err| err.to_string())
}

/// The step-by-step connection check of `docktray hosts add` for a host typed in settings (saved or not).
#[tauri::command]
pub async fn check_host(host: HostConfig) -> Answer<Vec<StepResult>> {
    tracing::info!(host = %host.name, "checking an SSH host from the window");
    docktray::desk::check_host(host)
        .await
        .map_err(|err| err.to_string())
}

/// The host's key fingerprints and whether known_hosts has it, for the user to compare before trusting.
#[tauri::command]
pub async fn host_fingerprint(host: HostConfig) -> Answer<HostKeys> {
    docktray::desk::host_fingerprint(host)
        .await
        .map_err(|err| err.to_string())
}

/// Adds the host's keys to known_hosts once the user confirmed `fingerprints` (as `host_fingerprint` showed
/// them); refused when the host now offers another key or is known already. Returns the file written.
#[tauri::command]
pub async fn trust_host(host: HostConfig, fingerprints: Vec<String>) -> Answer<String> {
    tracing::info!(host = %host.name, "trusting an SSH host key confirmed in the window");
    docktray::desk::trust_host(host, fingerprints)
        .await
        .map(|file| file.display().to_string())
        .map_err(|err| err.to_string())
}

/// Adds a host, or replaces the one named `replacing`, in the config file (comments kept), and watches it at
/// once. Returns the saved settings that apply at the next start, as `save_settings` does (hosts never do).
#[tauri::command]
pub async fn save_host(
    shell: State<'_, Shell>,
    host: HostConfig,
    replacing: Option<String>,
) -> Answer<Vec<String>> {
    let config = manage::with_host(
        &shell.config(),
        host,
        replacing.as_deref(),
        shell.config_path(),
    )
    .map_err(|err| err.to_string())?;
    save_config(&shell, config).await
}

/// Removes a host from the config file (comments kept) and stops watching it at once; returns what applies at
/// the next start.
#[tauri::command]
pub async fn remove_host(shell: State<'_, Shell>, name: String) -> Answer<Vec<String>> {
    let config = manage::without_host(&shell.config(), &name).map_err(|err| err.to_string())?;
    save_config(&shell, config).await
}

/// Writes `config` to the settings file, remembers it and applies it to the running monitor; the keys that take
/// effect at the next start.
async fn save_config(shell: &Shell, config: Config) -> Answer<Vec<String>> {
    let path = shell.config_path().to_path_buf();
    docktray::desk::save_file(&path, &config)
        .await
        .map_err(|err| err.to_string())?;
    let previous = shell.config();
    shell.set_config(config.clone());
    tracing::info!(path = %path.display(), "settings saved");
    shell
        .monitor()
        .await?
        .reconfigure(&config, &path)
        .await
        .map_err(|err| err.to_string())?;
    let later: Vec<String> = docktray::monitor::restart_needed(&previous, &config)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if !later.is_empty() {
        tracing::info!(settings = ?later, "saved settings that apply from the next start");
    }
    Ok(later)
}

/// Ends a host's backoff wait and connects now ("Retry now").
#[tauri::command]
pub async fn retry_host(shell: State<'_, Shell>, name: String) -> Answer<()> {
    if shell.monitor().await?.engine().retry_now(&name) {
        Ok(())
    } else {
        Err(format!(
            "{name} is not a configured host (see the SSH hosts settings)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use docktray::alerts::{Target, TargetKind};

    use super::*;

    fn alert(id: u64, level: Level, minutes_ago: i64, resolved: bool) -> Alert {
        let started = Utc::now() - Duration::minutes(minutes_ago);
        Alert {
            id,
            target: Target {
                kind: TargetKind::Container,
                host: "local".into(),
                id: format!("c{id}"),
                name: format!("c{id}"),
            },
            metric: "container_cpu_percent".into(),
            detail: None,
            level,
            value: None,
            threshold: None,
            unit: "%".into(),
            message: String::new(),
            started_at: started,
            resolved_at: resolved.then_some(started),
            acknowledged: false,
            top: vec![],
            lines: Vec::new(),
        }
    }

    #[test]
    fn live_alerts_replace_their_recorded_copy_and_all_come_newest_first() {
        let mut recorded_copy = alert(2, Level::Warning, 5, false);
        recorded_copy.acknowledged = false;
        let mut live_copy = alert(2, Level::Critical, 5, false);
        live_copy.acknowledged = true;
        let merged = merge_alerts(
            vec![alert(1, Level::Warning, 60, true), recorded_copy],
            vec![live_copy.clone(), alert(3, Level::Warning, 1, false)],
            None,
        );
        let ids: Vec<u64> = merged.iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![3, 2, 1]);
        assert_eq!(merged[1], live_copy);
        let critical_only = merge_alerts(
            vec![],
            vec![alert(3, Level::Warning, 1, false)],
            Some(Level::Critical),
        );
        assert!(critical_only.is_empty());
    }
}
