//! `docktray exec CONTAINER [-i] [-t] [-u USER] [-w DIR] [-e VAR=value] -- CMD...`: runs a command in a
//! container on whichever host it runs, as `docker exec` does: standard input passed through with `-i`, a
//! terminal with `-t` (raw mode and window size when this side is a terminal too), and the command's exit status
//! as Docktray's own.

use std::io::{IsTerminal, Write};

use anyhow::anyhow;
use clap::Args;
use docktray::sources::docker::{ExecChunk, ExecHandle, ExecOptions, TermSize};
use docktray::Config;
use tokio::io::AsyncReadExt;

use crate::Failure;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Container name or id (a unique id prefix works).
    container: String,
    /// Pass standard input to the command.
    #[arg(short, long)]
    interactive: bool,
    /// Give the command a terminal (colours, line editing; its output comes as one stream).
    #[arg(short, long)]
    tty: bool,
    /// Run as this user (`name`, `uid`, `name:group` or `uid:gid`).
    #[arg(short, long, value_name = "USER")]
    user: Option<String>,
    /// Run in this directory inside the container.
    #[arg(short, long, value_name = "DIR")]
    workdir: Option<String>,
    /// Set an environment variable (`NAME=value`); may be repeated.
    #[arg(short, long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<String>,
}

impl Failure {
    /// Exits with `code` and prints nothing more (`docktray exec` passing on the command's exit status).
    pub(crate) fn silent(code: u8) -> Self {
        Self {
            code,
            error: anyhow::Error::new(Silent),
        }
    }
}

/// The marker of a [`Failure::silent`].
#[derive(Debug)]
pub struct Silent;

impl std::fmt::Display for Silent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("exit status passed on")
    }
}

impl std::error::Error for Silent {}

pub async fn run(config: Config, args: ExecArgs) -> Result<(), Failure> {
    if let Some(bad) = args.env.iter().find(|pair| !pair.contains('=')) {
        return Err(crate::usage(anyhow!(
            "-e {bad}: give a variable as NAME=value"
        )));
    }
    // Kept alive while the command runs: it holds the SSH connection of a remote container's host.
    let (client, _engine) = crate::connect_to(&config, &args.container).await?;
    let options = ExecOptions {
        cmd: args.command.clone(),
        tty: args.tty,
        stdin: args.interactive,
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
        env: args.env.clone(),
        size: args.tty.then(terminal_size).flatten(),
    };
    let exec = client
        .exec(&args.container, &options)
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?;
    let docktray::sources::docker::Exec {
        handle,
        mut output,
        mut input,
    } = exec;
    // Keystrokes go to the container as they are typed (Ctrl-C included) while its terminal is ours.
    let raw = (args.tty && args.interactive && std::io::stdin().is_terminal())
        .then(RawMode::enable)
        .flatten();
    let feeding = args.interactive.then(|| {
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buffer = vec![0; 8192];
            loop {
                match stdin.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if input.write(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
            // End of input: the command sees end of file, its output keeps coming.
            let _ = input.close().await;
        })
    });
    let resizing = args
        .tty
        .then(|| tokio::spawn(follow_window_size(handle.clone())));
    let mut tail = Vec::new();
    let mut written = Ok(());
    while let Some(chunk) = output.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                written = Err(anyhow!("the connection to the command broke: {err}"));
                break;
            }
        };
        let (bytes, result) = match &chunk {
            ExecChunk::Stdout(bytes) => (bytes, write_all(&mut std::io::stdout().lock(), bytes)),
            ExecChunk::Stderr(bytes) => (bytes, write_all(&mut std::io::stderr().lock(), bytes)),
        };
        tail.extend_from_slice(bytes);
        let keep = tail.len().saturating_sub(1024);
        tail.drain(..keep);
        if let Err(err) = result {
            written = Err(anyhow!(err).context("writing the command's output"));
            break;
        }
    }
    drop(raw);
    if let Some(task) = feeding {
        task.abort();
    }
    if let Some(task) = resizing {
        task.abort();
    }
    written.map_err(Failure::from)?;
    let code = handle
        .exit_code()
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?;
    let code = match code {
        Some(code) => code,
        None => return Err(anyhow!("the engine did not record the command's exit status").into()),
    };
    if matches!(code, 126 | 127)
        && String::from_utf8_lossy(&tail).contains("executable file not found")
    {
        eprintln!(
            "docktray: `{}` is not in container {}: its image does not have it (a distroless or scratch image \
             has no shell); run a program the image has",
            args.command[0], args.container
        );
    }
    if code == 0 {
        return Ok(());
    }
    Err(Failure::silent((code & 0xff) as u8))
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// Tells the container's terminal each new size of ours (SIGWINCH).
async fn follow_window_size(handle: ExecHandle) {
    let Ok(mut changes) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
    else {
        return;
    };
    while changes.recv().await.is_some() {
        if let Some(size) = terminal_size() {
            if let Err(err) = handle.resize(size).await {
                tracing::debug!(%err, "terminal not resized");
            }
        }
    }
}

/// This terminal's size, when standard output (or input) is one.
fn terminal_size() -> Option<TermSize> {
    [libc::STDOUT_FILENO, libc::STDIN_FILENO]
        .into_iter()
        .find_map(|fd| {
            let mut size = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ writes one winsize into the struct we own; a non-terminal makes it fail.
            let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
            (ok && size.ws_col > 0 && size.ws_row > 0).then_some(TermSize {
                cols: size.ws_col,
                rows: size.ws_row,
            })
        })
}

/// The terminal in raw mode (no echo, no line editing, no signals from keys) until dropped.
struct RawMode(libc::termios);

impl RawMode {
    fn enable() -> Option<Self> {
        // SAFETY: tcgetattr/tcsetattr read and write one termios struct we own, for standard input.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(Self(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enable`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0);
        }
    }
}
