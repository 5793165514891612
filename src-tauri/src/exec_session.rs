//! The window's terminals: one Docker exec with a TTY per Terminal tab. Output goes to the window as raw byte
//! chunks on the tab's own IPC channel (never through the UI state, never line by line), then one JSON message
//! saying how the session ended. Keystrokes come back through `exec_input`, sizes through `exec_resize`.
//! Closing the tab (or the window) drops the connection, which ends the shell (it gets SIGHUP).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use docktray::model::{ContainerState, ExecEnd};
use docktray::sources::docker::exec::take_shell_pid;
use docktray::sources::docker::{Exec, ExecChunk, ExecHandle};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::{Channel, InvokeResponseBody};
use tokio::sync::mpsc;

/// Keystrokes waiting for the container; typing faster than the engine takes them makes the window wait.
const INPUT_QUEUE: usize = 256;

struct Session {
    input: mpsc::Sender<Vec<u8>>,
    handle: ExecHandle,
    task: JoinHandle<()>,
    container: String,
    shell: String,
    /// The shell's process id in the container, once it reported it (0 before).
    pid: Arc<AtomicU32>,
}

impl Session {
    /// Ends the session: the connection goes, and the shell gets SIGHUP (Docker would leave it running).
    fn end(self) {
        self.task.abort();
        let pid = self.pid.load(Ordering::Acquire);
        if pid == 0 {
            return;
        }
        tauri::async_runtime::spawn(async move {
            if let Err(err) = self.handle.hang_up(&self.container, &self.shell, pid).await {
                tracing::debug!(%err, "the closed terminal's shell was not ended");
            }
        });
    }
}

/// The open terminals, by session id.
#[derive(Default)]
pub struct ExecSessions {
    sessions: Mutex<HashMap<u64, Session>>,
    next: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ExecSessions {
    /// Serves a started exec: its output to `output`, input from `exec_input`. Returns the session id.
    pub fn open(
        &self,
        exec: Exec,
        container: String,
        shell: String,
        output: Channel<InvokeResponseBody>,
    ) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = mpsc::channel(INPUT_QUEUE);
        let handle = exec.handle.clone();
        let pid = Arc::new(AtomicU32::new(0));
        let task = tauri::async_runtime::spawn(serve(
            exec,
            container.clone(),
            output,
            receiver,
            pid.clone(),
        ));
        lock(&self.sessions).insert(
            id,
            Session {
                input: sender,
                handle,
                task,
                container,
                shell,
                pid,
            },
        );
        id
    }

    /// Typed bytes for the session's shell.
    pub async fn input(&self, id: u64, data: Vec<u8>) -> Result<(), String> {
        let sender = lock(&self.sessions)
            .get(&id)
            .map(|s| s.input.clone())
            .ok_or_else(|| ended(id))?;
        sender.send(data).await.map_err(|_| ended(id))
    }

    pub async fn resize(&self, id: u64, cols: u16, rows: u16) -> Result<(), String> {
        let handle = lock(&self.sessions)
            .get(&id)
            .map(|s| s.handle.clone())
            .ok_or_else(|| ended(id))?;
        handle
            .resize(docktray::sources::docker::TermSize { cols, rows })
            .await
            .map_err(|err| err.to_string())
    }

    /// Ends a session (its tab closed): the connection goes, and the shell with it.
    pub fn close(&self, id: u64) -> bool {
        let session = lock(&self.sessions).remove(&id);
        match session {
            Some(session) => {
                session.end();
                true
            }
            None => false,
        }
    }

    /// Ends every session (the window was destroyed, or the app quits).
    pub fn close_all(&self) {
        let sessions: Vec<Session> = lock(&self.sessions).drain().map(|(_, s)| s).collect();
        if !sessions.is_empty() {
            tracing::debug!(
                count = sessions.len(),
                "ending the window's terminal sessions"
            );
        }
        for session in sessions {
            session.end();
        }
    }

    pub fn count(&self) -> usize {
        lock(&self.sessions)
            .values()
            .filter(|s| !s.task.inner().is_finished())
            .count()
    }
}

fn ended(id: u64) -> String {
    format!("terminal session {id} has ended: open the Terminal tab again")
}

/// Copies output to the window as it comes (each read of the terminal is one message) and input to the
/// container, until the shell ends, the container stops, or the tab closes.
async fn serve(
    exec: Exec,
    container: String,
    output_channel: Channel<InvokeResponseBody>,
    mut typed: mpsc::Receiver<Vec<u8>>,
    pid: Arc<AtomicU32>,
) {
    let Exec {
        handle,
        mut output,
        mut input,
    } = exec;
    let mut failure = None;
    let mut looking = 4u8;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(ExecChunk::Stdout(bytes) | ExecChunk::Stderr(bytes))) => {
                    let mut bytes = bytes.to_vec();
                    // The shell reports its pid in its first output.
                    if looking > 0 {
                        looking -= 1;
                        if let Some(found) = take_shell_pid(&mut bytes) {
                            pid.store(found, Ordering::Release);
                            looking = 0;
                        }
                    }
                    if bytes.is_empty() {
                        continue;
                    }
                    if output_channel.send(InvokeResponseBody::Raw(bytes)).is_err() {
                        // The window is gone.
                        return;
                    }
                }
                Some(Err(err)) => {
                    failure = Some(format!("the connection to the container broke: {err}"));
                    break;
                }
                None => break,
            },
            keys = typed.recv() => match keys {
                Some(keys) => {
                    if let Err(err) = input.write(&keys).await {
                        failure = Some(format!("the container stopped taking input: {err}"));
                        break;
                    }
                }
                // The tab closed.
                None => return,
            },
        }
    }
    let end = describe_end(&handle, &container, failure).await;
    match serde_json::to_string(&end) {
        Ok(text) => {
            let _ = output_channel.send(InvokeResponseBody::Json(text));
        }
        Err(err) => tracing::warn!(%err, "cannot send the end of a terminal session"),
    }
}

/// "exited with status 0", "the container stopped", or what broke.
async fn describe_end(handle: &ExecHandle, container: &str, failure: Option<String>) -> ExecEnd {
    let state = handle
        .client()
        .inspect(container)
        .await
        .ok()
        .flatten()
        .map(|info| info.state);
    let exit_code = match state {
        Some(ContainerState::Running) => handle.exit_code().await.ok().flatten(),
        _ => None,
    };
    let message = match (state, exit_code, failure) {
        (Some(ContainerState::Running) | None, _, Some(failure)) => failure,
        (Some(ContainerState::Running), Some(code), None) => {
            format!("The shell exited with status {code}.")
        }
        (Some(ContainerState::Running), None, None) => "The session ended.".to_owned(),
        (Some(state), _, _) => format!(
            "The container stopped (it is {}): the session ended.",
            state.as_str()
        ),
        (None, _, None) => "The container is gone: the session ended.".to_owned(),
    };
    ExecEnd { exit_code, message }
}
