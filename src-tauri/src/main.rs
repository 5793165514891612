//! `docktray-desktop`: Docktray in the tray. `docktray-desktop [--config PATH]`; `DOCKTRAY_LOG=debug` for
//! more on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use docktray::Config;

fn main() -> ExitCode {
    // First, while the process has a single thread and before GTK starts.
    docktray_desktop::footprint::prefer_software_rendering();
    docktray_desktop::footprint::cap_malloc_arenas();
    docktray_desktop::footprint::lean_web_processes();
    // The `[log] file` of the settings too, when they load (a bad file is reported by `start`).
    let settings = config_argument()
        .ok()
        .and_then(|path| Config::load(path.as_deref()).ok())
        .map(|config| config.log)
        .unwrap_or_default();
    if let Err(problem) = docktray::logfile::init("info", &settings) {
        eprintln!("docktray-desktop: {problem}");
    }
    match start() {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(Failure::Usage(message)) => {
            eprintln!("docktray-desktop: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(err)) => {
            eprintln!("docktray-desktop: {err:#}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    /// Bad arguments or configuration: exit code 2, like the `docktray` CLI.
    Usage(String),
    Runtime(anyhow::Error),
}

fn start() -> Result<i32, Failure> {
    let explicit = config_argument().map_err(Failure::Usage)?;
    let config =
        Config::load(explicit.as_deref()).map_err(|err| Failure::Usage(err.to_string()))?;
    let path = explicit
        .or_else(Config::default_path)
        .context("no configuration directory on this system (is HOME set?): pass --config PATH")
        .map_err(Failure::Runtime)?;
    docktray_desktop::run(config, path).map_err(Failure::Runtime)
}

/// `--config PATH` (or `--config=PATH`); other arguments are refused. A second launch's arguments are not
/// read here: the first instance just opens its window.
fn config_argument() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip(1);
    let mut config = None;
    while let Some(arg) = args.next() {
        if arg == "--config" {
            config = Some(PathBuf::from(args.next().ok_or("--config needs a PATH")?));
        } else if let Some(path) = arg.strip_prefix("--config=") {
            config = Some(PathBuf::from(path));
        } else if arg == "--help" || arg == "-h" {
            return Err("usage: docktray-desktop [--config PATH]".to_owned());
        } else {
            return Err(format!(
                "unexpected argument '{arg}'; usage: docktray-desktop [--config PATH]"
            ));
        }
    }
    Ok(config)
}
