//! Running a command inside a container (`docker exec`): created, resized and inspected with bollard, attached
//! on a connection of our own ([`super::raw`]) so a terminal gets the bytes exactly as the container wrote
//! them, in the chunks they arrived in. Also picks a shell for the window's terminal.

use std::time::Duration;

use bollard::exec::{CreateExecOptions, ResizeExecOptions};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use super::raw::{self, Connection};
use super::Client;
use crate::error::{Error, Result};
use crate::model::ContainerState;

/// The shells the window tries, in order, when the user has not picked one.
pub const SHELLS: &[&str] = &["bash", "sh"];
/// The most one output chunk carries; a busy terminal gets fewer, bigger chunks.
const CHUNK: usize = 32 * 1024;
/// How long to wait for the engine to record an exec's exit status after its stream ended.
const EXIT_WAIT: Duration = Duration::from_secs(3);

/// What a terminal's shell prints first (an OSC sequence terminals ignore): its process id, so that closing the
/// terminal can end it. Docker leaves an exec running when its client goes away.
const PID_MARKER: &[u8] = b"\x1b]7788;docktray-pid=";

/// The command that runs `shell` for a terminal: it reports its process id, then becomes the shell (same pid).
/// `shell` must be a plain program name or path.
pub fn shell_command(shell: &str) -> Result<Vec<String>> {
    check_shell_name(shell)?;
    Ok(vec![
        shell.to_owned(),
        "-c".to_owned(),
        format!("printf '\\033]7788;docktray-pid=%s\\007' \"$$\"; exec {shell}"),
    ])
}

/// Takes the process id a [`shell_command`] reported out of its first output, if it is there.
pub fn take_shell_pid(output: &mut Vec<u8>) -> Option<u32> {
    let start = output
        .windows(PID_MARKER.len())
        .position(|window| window == PID_MARKER)?;
    let digits_at = start + PID_MARKER.len();
    let end = digits_at + output[digits_at..].iter().position(|b| *b == 0x07)?;
    let pid = std::str::from_utf8(&output[digits_at..end])
        .ok()?
        .parse()
        .ok()?;
    output.drain(start..=end);
    Some(pid)
}

/// A shell name is put into a command line: only letters, digits and `_ . / -`.
fn check_shell_name(shell: &str) -> Result<()> {
    let plain = !shell.is_empty()
        && shell
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if plain {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "'{shell}' is not a shell's name: use a program name such as bash or sh, or a path such as /bin/sh"
        )))
    }
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

/// What to run, and how (the flags of `docker exec`).
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    /// Allocate a pseudo-terminal (`-t`): output comes as one raw stream.
    pub tty: bool,
    /// Pass standard input (`-i`).
    pub stdin: bool,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// `NAME=value` pairs added to the container's environment.
    pub env: Vec<String>,
    /// The terminal's first size, when `tty`.
    pub size: Option<TermSize>,
}

/// Output of an exec: raw terminal bytes (all `Stdout` with a TTY), or each stream's frames without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecChunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// The exec's identity, for resizing it and reading its exit status. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ExecHandle {
    pub id: String,
    client: Client,
}

/// The exec's output stream.
pub struct ExecOutput {
    reader: ReadHalf<Connection>,
    tty: bool,
    /// The engine sent text instead of frames (see [`ExecOutput::next`]).
    unframed: bool,
}

/// The exec's standard input (writes go nowhere unless it was started with `stdin`).
pub struct ExecInput {
    writer: WriteHalf<Connection>,
}

/// A started exec, in its three parts so output and input can be served by different tasks.
pub struct Exec {
    pub handle: ExecHandle,
    pub output: ExecOutput,
    pub input: ExecInput,
}

impl ExecOutput {
    /// The next chunk of output; `None` once the command has ended (or the connection closed).
    pub async fn next(&mut self) -> Option<std::io::Result<ExecChunk>> {
        if self.tty {
            let mut buffer = vec![0; CHUNK];
            return match self.reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some(Ok(ExecChunk::Stdout(Bytes::from(buffer))))
                }
                Err(err) => Some(Err(err)),
            };
        }
        if self.unframed {
            return self.raw_chunk(Vec::new()).await;
        }
        // Without a TTY the engine multiplexes: an 8-byte header (stream, 0, 0, 0, big-endian length), then
        // the payload.
        loop {
            let mut header = [0u8; 8];
            match self.reader.read_exact(&mut header[..1]).await {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return None,
                Err(err) => return Some(Err(err)),
            }
            if header[0] > 2 {
                // Not a frame: the engine's own text (the runtime could not start the command), unframed to
                // the end. It is an error message: standard error.
                self.unframed = true;
                return self.raw_chunk(vec![header[0]]).await;
            }
            if let Err(err) = self.reader.read_exact(&mut header[1..]).await {
                return Some(Err(err));
            }
            let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
            let mut payload = vec![0; length];
            if let Err(err) = self.reader.read_exact(&mut payload).await {
                return Some(Err(err));
            }
            if length == 0 {
                continue;
            }
            let payload = Bytes::from(payload);
            return Some(Ok(match header[0] {
                2 => ExecChunk::Stderr(payload),
                _ => ExecChunk::Stdout(payload),
            }));
        }
    }
}

impl ExecOutput {
    /// Raw bytes after `start`, as standard error (see [`ExecOutput::next`]).
    async fn raw_chunk(&mut self, mut start: Vec<u8>) -> Option<std::io::Result<ExecChunk>> {
        let mut buffer = vec![0; CHUNK];
        match self.reader.read(&mut buffer).await {
            Ok(0) if start.is_empty() => None,
            Ok(n) => {
                start.extend_from_slice(&buffer[..n]);
                Some(Ok(ExecChunk::Stderr(Bytes::from(start))))
            }
            Err(err) => Some(Err(err)),
        }
    }
}

impl ExecInput {
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(data).await?;
        self.writer.flush().await
    }

    /// Ends standard input (end of file for the command), keeping its output flowing.
    pub async fn close(&mut self) -> std::io::Result<()> {
        self.writer.shutdown().await
    }
}

impl ExecHandle {
    /// Tells the exec's terminal its new size (the command gets SIGWINCH).
    pub async fn resize(&self, size: TermSize) -> Result<()> {
        self.client
            .docker
            .resize_exec(
                &self.id,
                ResizeExecOptions {
                    width: size.cols,
                    height: size.rows,
                },
            )
            .await
            .map_err(|err| Error::Docker(format!("resizing the terminal failed: {err}")))
    }

    /// The command's exit status once it has ended (`None` if the engine has not recorded one in time).
    pub async fn exit_code(&self) -> Result<Option<i64>> {
        let deadline = tokio::time::Instant::now() + EXIT_WAIT;
        loop {
            let reply = self
                .client
                .docker
                .inspect_exec(&self.id)
                .await
                .map_err(|err| Error::Docker(format!("reading the exit status failed: {err}")))?;
            if reply.running != Some(true) {
                return Ok(reply.exit_code);
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends a terminal's shell (SIGHUP, as a closed terminal does) in `container`, by the process id it reported.
    pub async fn hang_up(&self, container: &str, shell: &str, pid: u32) -> Result<()> {
        check_shell_name(shell)?;
        let (code, printed) = self
            .client
            .exec_output(container, &[shell, "-c", &format!("kill -HUP {pid}")])
            .await?;
        match code {
            Some(0) => Ok(()),
            _ => Err(Error::Docker(format!(
                "ending the shell (pid {pid}) in '{container}' failed: {}",
                String::from_utf8_lossy(&printed).trim()
            ))),
        }
    }

    /// The client of the engine it runs on.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Client {
    /// Starts `options.cmd` in a running container (name, id or id prefix) and attaches to it. A container
    /// that is not running is refused with [`Error::NotRunning`], saying what to do.
    pub async fn exec(&self, container: &str, options: &ExecOptions) -> Result<Exec> {
        self.require_running(container).await?;
        let config = CreateExecOptions::<String> {
            attach_stdin: Some(options.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(options.tty),
            cmd: Some(options.cmd.clone()),
            user: options.user.clone(),
            working_dir: options.working_dir.clone(),
            env: (!options.env.is_empty()).then(|| options.env.clone()),
            ..CreateExecOptions::default()
        };
        let created = self
            .docker
            .create_exec(container, config)
            .await
            .map_err(|err| exec_refused(container, err))?;
        let attached = raw::attach_exec(self, &created.id, options.tty).await?;
        let connection = attached.map_err(|refusal| match refusal.status {
            404 => Error::NoSuchContainer(container.to_owned()),
            _ => Error::Docker(format!(
                "the engine refused to start the command in '{container}': {}",
                refusal.message()
            )),
        })?;
        let handle = ExecHandle {
            id: created.id,
            client: self.clone(),
        };
        if let (true, Some(size)) = (options.tty, options.size) {
            // The process may not have its terminal yet right after the start: the engine says so; try again.
            for attempt in 0..5 {
                match handle.resize(size).await {
                    Ok(()) => break,
                    Err(err) if attempt == 4 => tracing::debug!(%err, "terminal size not set"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
        let (reader, writer) = tokio::io::split(connection);
        Ok(Exec {
            handle,
            output: ExecOutput {
                reader,
                tty: options.tty,
                unframed: false,
            },
            input: ExecInput { writer },
        })
    }

    /// Runs `cmd` to its end without a terminal; its exit status and everything it printed.
    pub async fn exec_output(
        &self,
        container: &str,
        cmd: &[&str],
    ) -> Result<(Option<i64>, Vec<u8>)> {
        let options = ExecOptions {
            cmd: cmd.iter().map(|s| (*s).to_owned()).collect(),
            ..ExecOptions::default()
        };
        let mut exec = self.exec(container, &options).await?;
        let mut printed = Vec::new();
        while let Some(chunk) = exec.output.next().await {
            match chunk.map_err(|err| Error::Docker(err.to_string()))? {
                ExecChunk::Stdout(bytes) | ExecChunk::Stderr(bytes) => {
                    printed.extend_from_slice(&bytes)
                }
            }
        }
        Ok((exec.handle.exit_code().await?, printed))
    }

    /// The first shell the container has, trying `preferred` alone when given (the user's choice), else
    /// [`SHELLS`] in order. Each is tried by running `SHELL -c 'exit 0'`.
    pub async fn pick_shell(&self, container: &str, preferred: Option<&str>) -> Result<String> {
        let candidates: Vec<&str> = match preferred.map(str::trim).filter(|s| !s.is_empty()) {
            Some(shell) => {
                check_shell_name(shell)?;
                vec![shell]
            }
            None => SHELLS.to_vec(),
        };
        for shell in &candidates {
            let (code, _) = self
                .exec_output(container, &[shell, "-c", "exit 0"])
                .await?;
            if code == Some(0) {
                return Ok((*shell).to_owned());
            }
        }
        Err(Error::NoShell {
            container: container.to_owned(),
            tried: candidates.join(", "),
        })
    }

    /// Refuses a container that is not running, with what to do about it.
    async fn require_running(&self, container: &str) -> Result<()> {
        let info = self
            .inspect(container)
            .await?
            .ok_or_else(|| Error::NoSuchContainer(container.to_owned()))?;
        let hint = match info.state {
            ContainerState::Running => return Ok(()),
            ContainerState::Paused => format!("resume it first (`docktray unpause {}`)", info.name),
            ContainerState::Restarting => {
                "it is restarting: wait until it runs (`docktray status`)".to_owned()
            }
            _ => format!("start it first (`docktray start {}`)", info.name),
        };
        Err(Error::NotRunning {
            container: info.name,
            state: info.state.as_str().to_owned(),
            hint,
        })
    }
}

/// The engine's refusal to create an exec, in the user's terms.
fn exec_refused(container: &str, err: bollard::errors::Error) -> Error {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::NoSuchContainer(container.to_owned()),
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        } => Error::NotRunning {
            container: container.to_owned(),
            state: "not running".to_owned(),
            hint: message,
        },
        other => Error::Docker(format!(
            "the engine refused to run a command in '{container}': {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shells_pid_is_taken_out_of_its_first_output() {
        let mut output = b"\x1b]7788;docktray-pid=42\x07/ # ".to_vec();
        assert_eq!(take_shell_pid(&mut output), Some(42));
        assert_eq!(output, b"/ # ");
        let mut plain = b"/ # ".to_vec();
        assert_eq!(take_shell_pid(&mut plain), None);
        assert_eq!(plain, b"/ # ");
    }

    #[test]
    fn only_plain_shell_names_go_into_the_command_line() {
        assert_eq!(shell_command("bash").expect("plain")[0], "bash");
        assert!(shell_command("/usr/bin/zsh").is_ok());
        for bad in ["sh; rm -rf /", "$(id)", "", "a b"] {
            let err = shell_command(bad).expect_err(bad).to_string();
            assert!(err.contains("is not a shell's name"), "{err}");
        }
    }
}
