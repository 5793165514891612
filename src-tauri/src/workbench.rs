//! The window's workbench commands (docs/ipc.md): terminals into containers, images, volumes, networks, disk
//! usage and compose stack actions, each on the host named (local or SSH). Like `commands`, each adapts an engine
//! call and answers with the engine's own message on failure.

use std::time::Duration;

use docktray::engine::terminal::{TermSize, TerminalRequest};
use docktray::model::{
    DockerDiskUsage, ImageSummary, NetworkSummary, Reclaimed, StackAction, StackReport,
    VolumeSummary,
};
use serde::{Deserialize, Serialize};
use tauri::ipc::{Channel, InvokeBody, InvokeResponseBody, Request};
use tauri::State;
use ts_rs::TS;

use crate::exec_session::ExecSessions;
use crate::state::Shell;

type Answer<T> = Result<T, String>;

/// The header that names the session of an `exec_input` call whose body is the raw keystrokes.
pub const SESSION_HEADER: &str = "docktray-exec-session";
/// Disk usage younger than this is answered from the engine's last measurement (it measures every 5 minutes).
const DISK_USAGE_MAX_AGE: Duration = Duration::from_secs(6 * 60);

/// `exec_start`: the session's id (for input, resize and close) and the shell it runs.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExecStarted {
    pub session: u64,
    pub shell: String,
}

/// `exec_input` with a JSON body (the raw body is the usual way): text typed into the session.
#[derive(Debug, Deserialize)]
struct TypedText {
    session: u64,
    data: String,
}

fn text<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

/// Opens a terminal in a running container: `shell` when given (the user's choice), else bash, else sh, with a
/// TTY of `cols` x `rows`. Output comes on `output` as raw chunks, then one JSON [`docktray::model::ExecEnd`].
#[tauri::command]
pub async fn exec_start(
    shell: State<'_, Shell>,
    sessions: State<'_, ExecSessions>,
    container: String,
    program: Option<String>,
    cols: u16,
    rows: u16,
    output: Channel<InvokeResponseBody>,
) -> Answer<ExecStarted> {
    let terminal = {
        // The monitor is not held while the session runs (Quit must be able to take it).
        let monitor = shell.monitor().await?;
        let request = TerminalRequest {
            container: container.clone(),
            shell: program,
            size: TermSize { cols, rows },
        };
        monitor
            .engine()
            .open_terminal(&request)
            .await
            .map_err(text)?
    };
    let picked = terminal.shell.clone();
    tracing::info!(container, shell = picked, "terminal opened");
    let session = sessions.open(terminal, output);
    Ok(ExecStarted {
        session,
        shell: picked,
    })
}

/// Keystrokes for a session: the raw body with the session in the `docktray-exec-session` header, or JSON
/// `{session, data}` with text.
#[tauri::command]
pub async fn exec_input(sessions: State<'_, ExecSessions>, request: Request<'_>) -> Answer<()> {
    let (session, data) = match request.body() {
        InvokeBody::Raw(bytes) => {
            let session = request
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| format!("exec_input needs the {SESSION_HEADER} header"))?;
            (session, bytes.clone())
        }
        InvokeBody::Json(value) => {
            let typed: TypedText = serde_json::from_value(value.clone())
                .map_err(|err| format!("exec_input: {err}"))?;
            (typed.session, typed.data.into_bytes())
        }
    };
    sessions.input(session, data).await
}

#[tauri::command]
pub async fn exec_resize(
    sessions: State<'_, ExecSessions>,
    session: u64,
    cols: u16,
    rows: u16,
) -> Answer<()> {
    sessions.resize(session, cols.max(1), rows.max(1)).await
}

/// Ends a session (the tab closed); a session that already ended is no error.
#[tauri::command]
pub async fn exec_close(sessions: State<'_, ExecSessions>, session: u64) -> Answer<()> {
    sessions.close(session);
    Ok(())
}

#[tauri::command]
pub async fn list_images(shell: State<'_, Shell>, host: String) -> Answer<Vec<ImageSummary>> {
    shell
        .monitor()
        .await?
        .engine()
        .images(&host)
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn list_volumes(shell: State<'_, Shell>, host: String) -> Answer<Vec<VolumeSummary>> {
    shell
        .monitor()
        .await?
        .engine()
        .volumes(&host)
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn list_networks(shell: State<'_, Shell>, host: String) -> Answer<Vec<NetworkSummary>> {
    shell
        .monitor()
        .await?
        .engine()
        .networks(&host)
        .await
        .map_err(text)
}

/// Docker's disk usage on a host: the last measurement when recent (or `fresh` asks for a new one).
#[tauri::command]
pub async fn get_disk_usage(
    shell: State<'_, Shell>,
    host: String,
    fresh: bool,
) -> Answer<DockerDiskUsage> {
    let max_age = if fresh {
        Duration::ZERO
    } else {
        DISK_USAGE_MAX_AGE
    };
    shell
        .monitor()
        .await?
        .engine()
        .disk_usage(&host, max_age)
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn remove_image(
    shell: State<'_, Shell>,
    host: String,
    image: String,
    force: bool,
) -> Answer<Reclaimed> {
    tracing::info!(host, image, force, "removing an image");
    shell
        .monitor()
        .await?
        .engine()
        .remove_image(&host, &image, force, &docktray::model::Actor::window())
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn prune_images(shell: State<'_, Shell>, host: String) -> Answer<Reclaimed> {
    tracing::info!(host, "pruning dangling images");
    shell
        .monitor()
        .await?
        .engine()
        .prune_images(&host, &docktray::model::Actor::window())
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn remove_volume(
    shell: State<'_, Shell>,
    host: String,
    volume: String,
) -> Answer<Reclaimed> {
    tracing::info!(host, volume, "removing a volume");
    shell
        .monitor()
        .await?
        .engine()
        .remove_volume(&host, &volume, &docktray::model::Actor::window())
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn prune_volumes(shell: State<'_, Shell>, host: String) -> Answer<Reclaimed> {
    tracing::info!(host, "pruning unused volumes");
    shell
        .monitor()
        .await?
        .engine()
        .prune_volumes(&host, &docktray::model::Actor::window())
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn remove_network(
    shell: State<'_, Shell>,
    host: String,
    network: String,
) -> Answer<Reclaimed> {
    tracing::info!(host, network, "removing a network");
    shell
        .monitor()
        .await?
        .engine()
        .remove_network(&host, &network, &docktray::model::Actor::window())
        .await
        .map_err(text)
}

/// What a stack action would do, in order (for the one confirmation).
#[tauri::command]
pub async fn stack_plan(
    shell: State<'_, Shell>,
    host: String,
    project: String,
    action: StackAction,
) -> Answer<StackReport> {
    shell
        .monitor()
        .await?
        .engine()
        .stack_plan(Some(&host), &project, action)
        .await
        .map_err(text)
}

#[tauri::command]
pub async fn stack_action(
    shell: State<'_, Shell>,
    host: String,
    project: String,
    action: StackAction,
) -> Answer<StackReport> {
    tracing::info!(host, project, action = action.as_str(), "stack action");
    shell
        .monitor()
        .await?
        .engine()
        .stack(
            Some(&host),
            &project,
            action,
            &docktray::model::Actor::window(),
        )
        .await
        .map_err(text)
}
