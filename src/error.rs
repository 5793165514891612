//! Error types of the engine. Every message names what went wrong and, where the user can act, how to fix it.

use std::path::PathBuf;

/// Anything the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The Docker engine could not be reached; `reason` already says how to fix it when we know.
    #[error("cannot reach the Docker engine at {endpoint}: {reason}")]
    DockerUnreachable { endpoint: String, reason: String },

    #[error("no container named or with id '{0}' (run `docktray status` to list containers)")]
    NoSuchContainer(String),

    /// The engine answered an action with an error; its own message is kept.
    #[error("Docker could not {action} '{container}': {message}")]
    ActionFailed {
        action: String,
        container: String,
        message: String,
    },

    /// An exec (or terminal) asked of a container that is not running.
    #[error("container '{container}' is {state}, not running: {hint}")]
    NotRunning {
        container: String,
        state: String,
        hint: String,
    },

    /// A terminal asked of a container whose image has no shell.
    #[error(
        "container '{container}' has no shell (tried {tried}): its image has none (a distroless or scratch \
         image); run one of its own programs instead: `docktray exec {container} -- PROGRAM`"
    )]
    NoShell { container: String, tried: String },

    /// A removal refused because containers still use what would go; `hint` says how to go on.
    #[error(
        "{what} on {host} is used by {}: {hint}",
        containers_phrase(containers)
    )]
    InUse {
        what: String,
        host: String,
        containers: Vec<String>,
        hint: String,
    },

    #[error("Docker API error: {0}")]
    Docker(String),

    #[error("reading host metrics failed: {0}")]
    Host(String),

    #[error("{0}")]
    Other(String),
}

/// A configuration problem. Messages name the key, the bad value and the expected form.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// TOML syntax or type error; `message` comes from the parser and points at the line and key.
    #[error("invalid config file {path}:\n{message}")]
    Parse { path: PathBuf, message: String },

    /// A setting given by an environment variable or a `--set` flag is wrong; `setting` names which.
    #[error("invalid setting {setting}: {message}; change or unset it")]
    Setting { setting: String, message: String },

    #[error("invalid config file {path}: `{key}` = {value} is not valid: expected {expected}")]
    Invalid {
        path: PathBuf,
        key: String,
        value: String,
        expected: String,
    },
}

/// "container web" or "containers web, db".
fn containers_phrase(names: &[String]) -> String {
    match names {
        [one] => format!("container {one}"),
        many => format!("containers {}", many.join(", ")),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
