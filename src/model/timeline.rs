//! What happened, and who did it: the engines' events (containers, images, volumes, networks) and the actions
//! taken through Docktray (audit entries). Sources report events, faces report actions through the engine; the
//! history keeps both, and the window, the CLI and exports show them as one timeline of [`TimelineRow`]s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What kind of engine object an event is about (Docker's event `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum EventScope {
    Container,
    Image,
    Volume,
    Network,
}

impl EventScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Image => "image",
            Self::Volume => "volume",
            Self::Network => "network",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "container" => Some(Self::Container),
            "image" => Some(Self::Image),
            "volume" => Some(Self::Volume),
            "network" => Some(Self::Network),
            _ => None,
        }
    }
}

/// One event of a host's engine, as kept in the timeline. Docker gives no event id: the host, the time in
/// nanoseconds, the scope, the action and the object's id identify it (a back-filled copy of an event already
/// stored is recognised by them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EngineEvent {
    /// The engine's time of the event, to the nanosecond.
    pub at: DateTime<Utc>,
    pub host: String,
    pub scope: EventScope,
    /// Docker's action without its detail: `health_status: healthy` is `health_status` (see `health`).
    pub action: String,
    /// The object's id: a container or network id, an image id or reference, a volume name.
    pub id: String,
    /// What people call it: the container's name, the image reference, the volume's or network's name.
    pub name: String,
    /// The exit code of a `die`.
    pub exit_code: Option<i64>,
    /// The signal of a `kill` (as Docker gives it: `9`, `15`...).
    pub signal: Option<String>,
    /// For a `die`: whether the kernel's OOM killer ended it (an `oom` event before it, or `State.OOMKilled`).
    /// A kill by signal with exit code 137 and no OOM is `false`.
    pub oom: Option<bool>,
    /// For `health_status`: healthy, unhealthy or starting.
    pub health: Option<String>,
}

impl EngineEvent {
    /// The timeline's kind: the action for containers (`die`, `oom`, `restart`...), `scope_action` for the
    /// rest (`image_pull`, `volume_create`, `network_destroy`...).
    pub fn kind(&self) -> String {
        match self.scope {
            EventScope::Container => self.action.clone(),
            scope => format!("{}_{}", scope.as_str(), self.action),
        }
    }

    /// A one-line account for people: "died with exit code 137 (out of memory)".
    pub fn summary(&self) -> String {
        match (self.scope, self.action.as_str()) {
            (EventScope::Container, "die") => {
                let code = self
                    .exit_code
                    .map_or_else(String::new, |code| format!(" with exit code {code}"));
                if self.oom == Some(true) {
                    format!("died{code} (out of memory)")
                } else {
                    format!("died{code}")
                }
            }
            (EventScope::Container, "oom") => "killed by the OOM killer (out of memory)".to_owned(),
            (EventScope::Container, "kill") => match &self.signal {
                Some(signal) => format!("sent signal {signal}"),
                None => "killed".to_owned(),
            },
            (EventScope::Container, "health_status") => {
                format!("health: {}", self.health.as_deref().unwrap_or("unknown"))
            }
            (_, action) => action.replace('_', " "),
        }
    }
}

/// Where an action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum AuditSource {
    /// The desktop window.
    Window,
    /// The `docktray` command line.
    Cli,
    /// The HTTP API (the token's name is the actor).
    Api,
}

impl AuditSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Window => "window",
            Self::Cli => "cli",
            Self::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "window" => Some(Self::Window),
            "cli" => Some(Self::Cli),
            "api" => Some(Self::Api),
            _ => None,
        }
    }
}

/// Who asks the engine for an action: every face passes one, so every action is audited the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub source: AuditSource,
    /// The API token's name; none for the window and the CLI.
    pub name: Option<String>,
}

impl Actor {
    pub fn window() -> Self {
        Self {
            source: AuditSource::Window,
            name: None,
        }
    }

    pub fn cli() -> Self {
        Self {
            source: AuditSource::Cli,
            name: None,
        }
    }

    /// An HTTP API client, named by its token.
    pub fn api(token_name: &str) -> Self {
        Self {
            source: AuditSource::Api,
            name: Some(token_name.to_owned()),
        }
    }

    /// The audit entry of an action this actor asked for, with how it ended (`Err` holds the engine's error).
    pub fn entry(
        &self,
        host: &str,
        target: AuditTarget,
        action: &str,
        outcome: Result<(), String>,
    ) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            source: self.source,
            actor: self.name.clone(),
            host: host.to_owned(),
            container: target.container,
            target: target.name,
            action: action.to_owned(),
            ok: outcome.is_ok(),
            error: outcome.err(),
        }
    }
}

/// What an action was about: a container (named), or another object (an image, a volume, a stack...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTarget {
    pub container: Option<String>,
    pub name: String,
}

impl AuditTarget {
    pub fn container(name: &str) -> Self {
        Self {
            container: Some(name.to_owned()),
            name: name.to_owned(),
        }
    }

    pub fn object(name: &str) -> Self {
        Self {
            container: None,
            name: name.to_owned(),
        }
    }
}

/// One action taken through Docktray, kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub source: AuditSource,
    /// The API token's name, when the API was used.
    pub actor: Option<String>,
    pub host: String,
    /// The container acted on, by name (none for images, volumes, networks, stacks).
    pub container: Option<String>,
    /// What was acted on: the container's name, an image reference, a volume, a network, a compose project.
    pub target: String,
    /// `start`, `stop`, `restart`, `pause`, `unpause`, `remove_image`, `prune_volumes`, `stack_restart`...
    pub action: String,
    pub ok: bool,
    /// The engine's error, when it refused or failed.
    pub error: Option<String>,
}

impl AuditEntry {
    /// `ok`, or `error`.
    pub fn result(&self) -> &'static str {
        if self.ok {
            "ok"
        } else {
            "error"
        }
    }
}

/// One line of the timeline, flat, as the CLI prints it (`--json`), the window lists it and exports write it
/// (JSON lines and CSV have these columns, in this order). Engine events have `kind` = [`EngineEvent::kind`];
/// audit entries have `kind` = `audit` and `source`, `action`, `result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TimelineRow {
    pub time: DateTime<Utc>,
    pub host: String,
    /// The container's name, when the row is about one.
    pub container: Option<String>,
    pub kind: String,
    /// The object an event or action is about when it is not a container (image, volume, network, project).
    pub object: Option<String>,
    /// The engine's id of the object.
    pub id: Option<String>,
    pub exit_code: Option<i64>,
    /// For dies: whether the OOM killer ended the container.
    pub oom: Option<bool>,
    pub signal: Option<String>,
    pub health: Option<String>,
    /// Audit entries: `window`, `cli` or `api`.
    pub source: Option<String>,
    /// Audit entries: the API token's name.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Audit entries: `ok` or `error`.
    pub result: Option<String>,
    /// Audit entries: the engine's error.
    pub error: Option<String>,
}

/// The CSV header of [`TimelineRow`]s (the field names, in order).
pub const TIMELINE_COLUMNS: [&str; 15] = [
    "time",
    "host",
    "container",
    "kind",
    "object",
    "id",
    "exit_code",
    "oom",
    "signal",
    "health",
    "source",
    "actor",
    "action",
    "result",
    "error",
];

impl From<&EngineEvent> for TimelineRow {
    fn from(event: &EngineEvent) -> Self {
        let container = event.scope == EventScope::Container;
        Self {
            time: event.at,
            host: event.host.clone(),
            container: container.then(|| event.name.clone()),
            kind: event.kind(),
            object: (!container).then(|| event.name.clone()),
            id: Some(event.id.clone()),
            exit_code: event.exit_code,
            oom: event.oom,
            signal: event.signal.clone(),
            health: event.health.clone(),
            source: None,
            actor: None,
            action: None,
            result: None,
            error: None,
        }
    }
}

impl From<&AuditEntry> for TimelineRow {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            time: entry.at,
            host: entry.host.clone(),
            container: entry.container.clone(),
            kind: "audit".to_owned(),
            object: entry.container.is_none().then(|| entry.target.clone()),
            id: None,
            exit_code: None,
            oom: None,
            signal: None,
            health: None,
            source: Some(entry.source.as_str().to_owned()),
            actor: entry.actor.clone(),
            action: Some(entry.action.clone()),
            result: Some(entry.result().to_owned()),
            error: entry.error.clone(),
        }
    }
}

impl TimelineRow {
    /// Whether this row is an audit entry.
    pub fn is_audit(&self) -> bool {
        self.kind == "audit"
    }

    /// The row's values as CSV fields, in [`TIMELINE_COLUMNS`] order (empty where there is none).
    pub fn csv_fields(&self) -> [String; 15] {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        [
            self.time
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            self.host.clone(),
            text(&self.container),
            self.kind.clone(),
            text(&self.object),
            text(&self.id),
            self.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            self.oom.map(|o| o.to_string()).unwrap_or_default(),
            text(&self.signal),
            text(&self.health),
            text(&self.source),
            text(&self.actor),
            text(&self.action),
            text(&self.result),
            text(&self.error),
        ]
    }
}
