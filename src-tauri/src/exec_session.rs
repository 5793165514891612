//! The window's terminals: one engine terminal (docktray::engine::terminal) per Terminal tab. Output goes to the
//! window as raw byte chunks on the tab's own IPC channel (never through the UI state, never line by line), then
//! one JSON message saying how the session ended. Keystrokes come back through `exec_input`, sizes through
//! `exec_resize`. Closing the tab (or the window) drops the connection and hangs up the shell.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use docktray::engine::terminal::{ExecInput, TermSize, Terminal, TerminalControl, TerminalOutput};
use tauri::async_runtime::JoinHandle;
use tauri::ipc::{Channel, InvokeResponseBody};
use tokio::sync::mpsc;

/// Keystrokes waiting for the container; typing faster than the engine takes them makes the window wait.
const INPUT_QUEUE: usize = 256;

struct Session {
    input: mpsc::Sender<Vec<u8>>,
    control: TerminalControl,
    task: JoinHandle<()>,
}

impl Session {
    /// Ends the session: the connection goes, and the shell gets SIGHUP (Docker would leave it running).
    fn end(self) {
        self.task.abort();
        // Called from the window's event handlers too, outside the runtime: spawn onto it.
        tauri::async_runtime::spawn(async move { self.control.end_shell().await });
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
    /// Serves an open terminal: its output to `output`, input from `exec_input`. Returns the session id.
    pub fn open(&self, terminal: Terminal, output: Channel<InvokeResponseBody>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = mpsc::channel(INPUT_QUEUE);
        let Terminal {
            output: terminal_output,
            input,
            control,
            ..
        } = terminal;
        let task = tauri::async_runtime::spawn(serve(
            terminal_output,
            input,
            control.clone(),
            output,
            receiver,
        ));
        lock(&self.sessions).insert(
            id,
            Session {
                input: sender,
                control,
                task,
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
        let control = lock(&self.sessions)
            .get(&id)
            .map(|s| s.control.clone())
            .ok_or_else(|| ended(id))?;
        control
            .resize(TermSize { cols, rows })
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
    mut output: TerminalOutput,
    mut input: ExecInput,
    control: TerminalControl,
    output_channel: Channel<InvokeResponseBody>,
    mut typed: mpsc::Receiver<Vec<u8>>,
) {
    let mut failure = None;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
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
    let end = control.describe_end(failure).await;
    match serde_json::to_string(&end) {
        Ok(text) => {
            let _ = output_channel.send(InvokeResponseBody::Json(text));
        }
        Err(err) => tracing::warn!(%err, "cannot send the end of a terminal session"),
    }
}
