//! IPC payloads the shell adds around the engine's types (docs/ipc.md). They derive ts-rs `TS`, so
//! `cargo test -p docktray-desktop export_bindings` writes them next to the engine's bindings in
//! ui/src/lib/bindings/.

use docktray::sources::docker::logs::LogLine;
use docktray::Config;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `get_settings`: the settings in force and the file they are saved to.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Settings {
    pub config: Config,
    pub path: String,
}

/// `validate_settings`: `ok`, or the key at fault and the config file's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Validation {
    pub ok: bool,
    pub key: Option<String>,
    pub message: Option<String>,
}

/// `subscribe_logs`: the subscription's id (for `logs` events and `unsubscribe_logs`) and the history.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LogSubscription {
    pub subscription: u64,
    pub history: Vec<LogLine>,
}

/// The `logs` event: new lines of one subscription.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LogsBatch {
    pub subscription: u64,
    pub lines: Vec<LogLine>,
}

/// Whose history `get_history` charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryTarget {
    Container { host: String, id: String },
    Host { name: String },
}

/// The ranges `get_history` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum HistoryRange {
    #[serde(rename = "15m")]
    FifteenMinutes,
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "24h")]
    OneDay,
    #[serde(rename = "7d")]
    SevenDays,
}

impl HistoryRange {
    pub fn duration(self) -> chrono::Duration {
        match self {
            Self::FifteenMinutes => chrono::Duration::minutes(15),
            Self::OneHour => chrono::Duration::hours(1),
            Self::OneDay => chrono::Duration::hours(24),
            Self::SevenDays => chrono::Duration::days(7),
        }
    }
}
