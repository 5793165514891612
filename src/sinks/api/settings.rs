//! What the window's Settings view does, for the page: read, validate and save the settings (comments kept,
//! the keys that apply at the next start answered), pause notifications, the Webdock token (status, test, set,
//! remove: it goes into the OS keychain and never comes back), SSH hosts (check, fingerprint, trust, save,
//! remove, discover), Caddy's "Retry now", a channel's "Send test" and a VPS's history.
//!
//! Much of this reaches beyond the engine (the keychain, SSH, Webdock, the notification channels), which a sink
//! may not import: each handler checks its input and hands a [`DeskCommand`] to the face ([`Control::desk`]),
//! which runs it with the very functions the desktop's commands call (`docktray::desk`).
//!
//! Reading needs the token (or a signed-in page). Changing anything, or reaching out on the user's behalf (a
//! connection test, an SSH check), also needs `[api] allow_actions = true`: saving settings is at least as
//! strong as an action (it could turn actions on at the next start). Validating changes nothing and needs only
//! the token. A signed-in page's requests other than GET carry its CSRF header ([`super::session`]).
//!
//! [`Control::desk`]: super::Control::desk

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::routes::ApiState;
use super::table::{path, Doc, Table};
use super::workbench::allowed;
use crate::config::window::from_json;
use crate::config::{Config, HostConfig, WebdockAccount};

/// A settings command the face runs (see [`super::Control::desk`]). No `Debug`: some carry a token.
pub enum DeskCommand {
    /// Save these (validated) settings to the file and apply them; answers the keys that apply at next start.
    SaveSettings(Box<Config>),
    PauseNotifications {
        paused: bool,
        minutes: Option<u64>,
    },
    WebdockTokenStatus {
        account: String,
    },
    WebdockTest {
        account: WebdockAccount,
        token: Option<String>,
    },
    WebdockSetToken {
        account: WebdockAccount,
        token: String,
    },
    WebdockRemoveToken {
        account: String,
    },
    VpsHistory {
        account: String,
        slug: String,
    },
    CheckHost(HostConfig),
    HostFingerprint(HostConfig),
    TrustHost {
        host: HostConfig,
        fingerprints: Vec<String>,
    },
    SaveHost {
        host: HostConfig,
        replacing: Option<String>,
    },
    RemoveHost {
        name: String,
    },
    DiscoverHosts,
    RetryCaddy,
    TestChannel {
        channel: String,
    },
}

/// Why a settings command failed; the message is the desktop's own (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskError {
    /// A value refused, naming the field or config key at fault.
    Invalid { field: String, message: String },
    /// What was named is not there.
    Missing(String),
    /// Refused in the present state (already configured, Caddy sync off ...).
    Conflict(String),
    /// The face cannot do it (no monitor, shutting down).
    Unavailable(String),
    /// Tried, and it failed (the keychain, SSH, Webdock, a channel).
    Failed(String),
}

impl DeskError {
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid { message, .. }
            | Self::Missing(message)
            | Self::Conflict(message)
            | Self::Unavailable(message)
            | Self::Failed(message) => message,
        }
    }
}

impl std::fmt::Display for DeskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<DeskError> for ApiError {
    fn from(err: DeskError) -> Self {
        match err {
            DeskError::Invalid { field, message } => ApiError::unprocessable(&field, message),
            DeskError::Missing(message) => ApiError::not_found(message),
            DeskError::Conflict(message) => ApiError::conflict(message),
            DeskError::Unavailable(message) => ApiError::unavailable(message),
            DeskError::Failed(message) => ApiError::failed(message),
        }
    }
}

/// `{"config": {...}}`: the settings as the window sends them (`GET /api/v1/settings`'s `config`, changed).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsBody {
    #[schema(value_type = Object)]
    pub config: Value,
}

/// `POST /api/v1/notifications/pause`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    /// true pauses, false resumes.
    pub paused: bool,
    /// With `paused`, resume by itself after this many minutes (at least 1); null: until resumed.
    pub minutes: Option<u64>,
}

/// A Webdock account (as in `[[webdock]]`) and, optionally, a token to try or store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebdockBody {
    #[schema(value_type = Object)]
    pub account: WebdockAccount,
    /// The token to test or store; for a test, null tries the stored one. Never answered back.
    pub token: Option<String>,
}

/// An SSH host (as in `[[hosts]]`), with what trusting or saving it needs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostBody {
    #[schema(value_type = Object)]
    pub host: HostConfig,
    /// For trust: the fingerprints the user compared (as `fingerprint` answered them).
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// For save: the name of the host this one replaces (an edit, possibly a rename).
    #[serde(default)]
    pub replacing: Option<String>,
}

/// What `validate` answers: `ok`, or the key at fault and the config file's message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validation {
    pub ok: bool,
    pub key: Option<String>,
    pub message: Option<String>,
}

async fn run(state: &ApiState, command: DeskCommand) -> ApiResult<Json<Value>> {
    Ok(Json(state.sources.control.desk(command).await?))
}

/// `GET /api/v1/settings`: the settings in force and the file they are saved in.
pub async fn get(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let (config, path) = state.sources.control.settings();
    Json(json!({ "config": config, "path": path.display().to_string() }))
}

/// `POST /api/v1/settings/validate`: whether these settings would be accepted, as the window asks while typing.
pub async fn validate(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<SettingsBody>, JsonRejection>,
) -> ApiResult<Json<Validation>> {
    let Json(body) = body.map_err(ApiError::body)?;
    let path = state.sources.control.settings().1;
    Ok(Json(match from_json(body.config, &path) {
        Ok(_) => Validation {
            ok: true,
            key: None,
            message: None,
        },
        Err(refusal) => Validation {
            ok: false,
            key: refusal.key,
            message: Some(refusal.message),
        },
    }))
}

/// `PUT /api/v1/settings`: saves the settings into the config file (comments kept) and applies what can change
/// while running; answers `restart_needed`, the keys that apply at the next start.
pub async fn save(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<SettingsBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body.map_err(ApiError::body)?;
    allowed(&state, "changing settings")?;
    let _saving = state.saving.lock().await;
    let path = state.sources.control.settings().1;
    let config = from_json(body.config, &path).map_err(|refusal| {
        ApiError::unprocessable(refusal.key.as_deref().unwrap_or("config"), refusal.message)
    })?;
    let later = run(&state, DeskCommand::SaveSettings(Box::new(config))).await?;
    tracing::info!(path = %path.display(), "settings saved through the API");
    Ok(Json(json!({ "restart_needed": later.0 })))
}

/// `POST /api/v1/notifications/pause`.
pub async fn pause(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<PauseBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(PauseBody { paused, minutes }) = body.map_err(ApiError::body)?;
    allowed(&state, "pausing notifications")?;
    if minutes == Some(0) {
        return Err(ApiError::unprocessable(
            "minutes",
            "a timed pause lasts at least one minute",
        ));
    }
    let _ = run(&state, DeskCommand::PauseNotifications { paused, minutes }).await?;
    Ok(Json(json!({ "paused": paused, "minutes": minutes })))
}

/// `GET /api/v1/webdock/accounts/{account}/token`: whether a token is stored ("set" / "not set"), never it.
pub async fn webdock_token_status(
    State(state): State<Arc<ApiState>>,
    Path(account): Path<String>,
) -> ApiResult<Json<Value>> {
    run(&state, DeskCommand::WebdockTokenStatus { account }).await
}

/// `POST /api/v1/webdock/test`: tries a typed token (or the stored one) with Webdock's /ping and /servers.
pub async fn webdock_test(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<WebdockBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(WebdockBody { account, token }) = body.map_err(ApiError::body)?;
    allowed(&state, "testing a Webdock connection")?;
    run(&state, DeskCommand::WebdockTest { account, token }).await
}

/// `PUT /api/v1/webdock/token`: checks the token and, if Webdock accepts it, stores it in the OS keychain.
pub async fn webdock_set_token(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<WebdockBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(WebdockBody { account, token }) = body.map_err(ApiError::body)?;
    allowed(&state, "storing a Webdock token")?;
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return Err(ApiError::unprocessable(
            "token",
            "`token` is empty: paste the API token from Webdock's dashboard (Account > API & Integrations)",
        ));
    };
    tracing::info!(account = %account.name, "storing a Webdock token from the page");
    run(&state, DeskCommand::WebdockSetToken { account, token }).await
}

/// `DELETE /api/v1/webdock/accounts/{account}/token`: answers `removed` (false when none was stored).
pub async fn webdock_remove_token(
    State(state): State<Arc<ApiState>>,
    Path(account): Path<String>,
) -> ApiResult<Json<Value>> {
    allowed(&state, "removing a Webdock token")?;
    let removed = run(&state, DeskCommand::WebdockRemoveToken { account }).await?;
    Ok(Json(json!({ "removed": removed.0 })))
}

/// `GET /api/v1/webdock/accounts/{account}/servers/{slug}/history`: Webdock's recorded metrics of a VPS.
pub async fn vps_history(
    State(state): State<Arc<ApiState>>,
    Path((account, slug)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    run(&state, DeskCommand::VpsHistory { account, slug }).await
}

/// `POST /api/v1/ssh-hosts/check`: `docktray hosts add`'s step-by-step connection check.
pub async fn check_host(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<HostBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body.map_err(ApiError::body)?;
    allowed(&state, "checking an SSH host")?;
    tracing::info!(host = %body.host.name, "checking an SSH host from the page");
    run(&state, DeskCommand::CheckHost(body.host)).await
}

/// `POST /api/v1/ssh-hosts/fingerprint`: the host's key fingerprints and whether known_hosts has it.
pub async fn host_fingerprint(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<HostBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body.map_err(ApiError::body)?;
    allowed(&state, "reading an SSH host's key")?;
    run(&state, DeskCommand::HostFingerprint(body.host)).await
}

/// `POST /api/v1/ssh-hosts/trust`: adds the keys the user confirmed to known_hosts; answers the file written.
pub async fn trust_host(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<HostBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(HostBody {
        host, fingerprints, ..
    }) = body.map_err(ApiError::body)?;
    allowed(&state, "trusting an SSH host key")?;
    if fingerprints.is_empty() {
        return Err(ApiError::unprocessable(
            "fingerprints",
            "`fingerprints` is empty: send the fingerprints POST /api/v1/ssh-hosts/fingerprint answered, once \
             compared",
        ));
    }
    tracing::info!(host = %host.name, "trusting an SSH host key confirmed in the page");
    let file = run(&state, DeskCommand::TrustHost { host, fingerprints }).await?;
    Ok(Json(json!({ "file": file.0 })))
}

/// `POST /api/v1/ssh-hosts`: adds a host (or replaces the one named `replacing`) in the config file and watches
/// it at once.
pub async fn save_host(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<HostBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(HostBody {
        host, replacing, ..
    }) = body.map_err(ApiError::body)?;
    allowed(&state, "changing settings")?;
    let _saving = state.saving.lock().await;
    let later = run(&state, DeskCommand::SaveHost { host, replacing }).await?;
    Ok(Json(json!({ "restart_needed": later.0 })))
}

/// `DELETE /api/v1/ssh-hosts/{name}`: removes a host from the config file and stops watching it.
pub async fn remove_host(
    State(state): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    allowed(&state, "changing settings")?;
    let _saving = state.saving.lock().await;
    let later = run(&state, DeskCommand::RemoveHost { name }).await?;
    Ok(Json(json!({ "restart_needed": later.0 })))
}

/// `GET /api/v1/ssh-hosts/discover`: hosts found on the server's machine that are not configured yet.
pub async fn discover_hosts(State(state): State<Arc<ApiState>>) -> ApiResult<Json<Value>> {
    run(&state, DeskCommand::DiscoverHosts).await
}

/// `POST /api/v1/caddy/retry`: ends Caddy's backoff wait and talks to it now.
pub async fn retry_caddy(State(state): State<Arc<ApiState>>) -> ApiResult<Json<Value>> {
    allowed(&state, "retrying Caddy")?;
    let _ = run(&state, DeskCommand::RetryCaddy).await?;
    Ok(Json(json!({ "retrying": true })))
}

/// `POST /api/v1/channels/{channel}/test`: a test message through one channel; answers where it went.
pub async fn test_channel(
    State(state): State<Arc<ApiState>>,
    Path(channel): Path<String>,
) -> ApiResult<Json<Value>> {
    allowed(&state, "sending a test notification")?;
    let sent = run(&state, DeskCommand::TestChannel { channel }).await?;
    Ok(Json(json!({ "sent_to": sent.0 })))
}

const ACCOUNT: super::table::Param =
    path("account", "A Webdock account's name (`[[webdock]] name`)");

/// The settings routes (docs/api.md, "Settings").
pub fn routes(t: Table) -> Table {
    let doc = |tag, summary| Doc::json(tag, summary);
    t.get("/api/v1/settings", get, doc("settings", "The settings in force (as the window edits them) and the config file's path"))
        .post("/api/v1/settings/validate", validate, doc("settings", "Whether settings would be accepted: ok, or the key at fault and why").body("SettingsBody").schema("Validation"))
        .put("/api/v1/settings", save, doc("settings", "Save the settings into the config file (comments kept) and apply them; answers restart_needed, the keys that apply at the next start (needs [api] allow_actions = true)").body("SettingsBody"))
        .post("/api/v1/notifications/pause", pause, doc("settings", "Pause or resume notifications, for a number of minutes or until resumed (needs [api] allow_actions = true)").body("PauseBody"))
        .get("/api/v1/webdock/accounts/{account}/token", webdock_token_status, doc("webdock", "Whether the account's token is stored (never the token)").params(&[ACCOUNT]))
        .delete("/api/v1/webdock/accounts/{account}/token", webdock_remove_token, doc("webdock", "Remove the account's token from the OS keychain (needs [api] allow_actions = true)").params(&[ACCOUNT]))
        .post("/api/v1/webdock/test", webdock_test, doc("webdock", "Try a token (or the stored one) with Webdock's /ping and /servers (needs [api] allow_actions = true)").body("WebdockBody"))
        .put("/api/v1/webdock/token", webdock_set_token, doc("webdock", "Check a token and, if Webdock accepts it, store it in the OS keychain; never answered back (needs [api] allow_actions = true)").body("WebdockBody"))
        .get("/api/v1/webdock/accounts/{account}/servers/{slug}/history", vps_history, doc("webdock", "Webdock's recorded metrics of a watched VPS").params(&[ACCOUNT, path("slug", "The VPS's slug")]))
        .get("/api/v1/ssh-hosts/discover", discover_hosts, doc("hosts", "Hosts found on the server's machine (Docker contexts, DOCKER_HOST, ~/.ssh/config) not configured yet"))
        .post("/api/v1/ssh-hosts/check", check_host, doc("hosts", "Check an SSH host step by step, as `docktray hosts add` does (needs [api] allow_actions = true)").body("HostBody"))
        .post("/api/v1/ssh-hosts/fingerprint", host_fingerprint, doc("hosts", "The host's key fingerprints and whether known_hosts has it (needs [api] allow_actions = true)").body("HostBody"))
        .post("/api/v1/ssh-hosts/trust", trust_host, doc("hosts", "Add the confirmed host keys to known_hosts (needs [api] allow_actions = true)").body("HostBody"))
        .post("/api/v1/ssh-hosts", save_host, doc("hosts", "Add a host, or replace the one named `replacing`, in the config file, and watch it at once (needs [api] allow_actions = true)").body("HostBody"))
        .delete("/api/v1/ssh-hosts/{name}", remove_host, doc("hosts", "Remove a host from the config file and stop watching it (needs [api] allow_actions = true)").params(&[path("name", "The host's name")]))
        .post("/api/v1/caddy/retry", retry_caddy, doc("services", "End Caddy's backoff wait and talk to it now (needs [api] allow_actions = true)"))
        .post("/api/v1/channels/{channel}/test", test_channel, doc("alerts", "Send a test message through a notification channel: webhook:NAME, ntfy or email (needs [api] allow_actions = true)").params(&[path("channel", "webhook:NAME, ntfy or email")]))
}
