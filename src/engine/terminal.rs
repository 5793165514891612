//! A terminal into a container, as the window's Terminal tab and the page's (over the HTTP API) open it: the shell
//! picked (the user's, else bash, else sh), a TTY of the asked size, `TERM=xterm-256color`, the shell's process id
//! taken out of its first output so that ending the terminal can hang it up (Docker alone would leave it
//! running), and a sentence saying how the session ended. Faces move the bytes; this holds what they share.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::Engine;
use crate::error::Result;
use crate::model::{ContainerState, ExecEnd};
use crate::sources::docker::exec::{shell_command, take_shell_pid};
use crate::sources::docker::{Exec, ExecChunk, ExecHandle, ExecOptions, ExecOutput};

pub use crate::sources::docker::{ExecInput, TermSize};

/// How many of the first output chunks are searched for the shell's process id.
const PID_CHUNKS: u8 = 4;

/// What a face asks for.
#[derive(Debug, Clone)]
pub struct TerminalRequest {
    /// A container's id, id prefix or name, on whichever host it runs.
    pub container: String,
    /// The shell the user picked (a program name or path); `None`: bash, else sh.
    pub shell: Option<String>,
    pub size: TermSize,
}

/// An open terminal, in parts: output, input and control can be served from different places.
pub struct Terminal {
    pub shell: String,
    pub output: TerminalOutput,
    pub input: ExecInput,
    pub control: TerminalControl,
}

/// The terminal's output, without the shell's process-id report.
pub struct TerminalOutput {
    output: ExecOutput,
    pid: Arc<AtomicU32>,
    looking: u8,
}

/// Resizing, ending and describing a terminal. Cheap to clone.
#[derive(Clone)]
pub struct TerminalControl {
    handle: ExecHandle,
    container: String,
    shell: String,
    pid: Arc<AtomicU32>,
}

impl Engine {
    /// Opens a terminal in a running container; refused with the reason when it is not running or has no shell.
    pub async fn open_terminal(&self, request: &TerminalRequest) -> Result<Terminal> {
        let shell = self
            .pick_shell(&request.container, request.shell.as_deref())
            .await?;
        let options = ExecOptions {
            // The shell reports its process id first, so ending the terminal can end it.
            cmd: shell_command(&shell)?,
            tty: true,
            stdin: true,
            // Colours: programs look at TERM to decide.
            env: vec!["TERM=xterm-256color".to_owned()],
            size: Some(TermSize {
                cols: request.size.cols.max(1),
                rows: request.size.rows.max(1),
            }),
            ..ExecOptions::default()
        };
        let Exec {
            handle,
            output,
            input,
        } = self.exec(&request.container, &options).await?;
        let pid = Arc::new(AtomicU32::new(0));
        Ok(Terminal {
            shell: shell.clone(),
            output: TerminalOutput {
                output,
                pid: pid.clone(),
                looking: PID_CHUNKS,
            },
            input,
            control: TerminalControl {
                handle,
                container: request.container.clone(),
                shell,
                pid,
            },
        })
    }
}

impl TerminalOutput {
    /// The next bytes the terminal shows; `None` once the shell ended or the connection closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<std::io::Result<Vec<u8>>> {
        loop {
            let mut bytes = match self.output.next().await? {
                Ok(ExecChunk::Stdout(bytes) | ExecChunk::Stderr(bytes)) => bytes.to_vec(),
                Err(err) => return Some(Err(err)),
            };
            if self.looking > 0 {
                self.looking -= 1;
                if let Some(found) = take_shell_pid(&mut bytes) {
                    self.pid.store(found, Ordering::Release);
                    self.looking = 0;
                }
            }
            if !bytes.is_empty() {
                return Some(Ok(bytes));
            }
        }
    }
}

impl TerminalControl {
    pub async fn resize(&self, size: TermSize) -> Result<()> {
        self.handle
            .resize(TermSize {
                cols: size.cols.max(1),
                rows: size.rows.max(1),
            })
            .await
    }

    /// Ends the shell (SIGHUP, as a closed terminal does) in the background; nothing to do before it reported
    /// its process id, or after it exited. Needs a tokio runtime: from elsewhere, spawn [`Self::end_shell`].
    pub fn hang_up(&self) {
        if self.pid.load(Ordering::Acquire) == 0 {
            return;
        }
        let control = self.clone();
        tokio::spawn(async move { control.end_shell().await });
    }

    /// [`Self::hang_up`], awaited.
    pub async fn end_shell(&self) {
        let pid = self.pid.load(Ordering::Acquire);
        if pid == 0 {
            return;
        }
        if let Err(err) = self.handle.hang_up(&self.container, &self.shell, pid).await {
            tracing::debug!(%err, "the closed terminal's shell was not ended");
        }
    }

    /// How the session ended: "The shell exited with status 0.", "The container stopped ...", or `failure`.
    pub async fn describe_end(&self, failure: Option<String>) -> ExecEnd {
        let state = self
            .handle
            .client()
            .inspect(&self.container)
            .await
            .ok()
            .flatten()
            .map(|info| info.state);
        let exit_code = match state {
            Some(ContainerState::Running) => self.handle.exit_code().await.ok().flatten(),
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
}
