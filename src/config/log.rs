//! `[log]`: an optional log file for a service without a journal (`docktray serve` in a container, on a
//! server), rotated by size so it never fills the disk.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ConfigError;

/// Where diagnostics go besides standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A file that also gets the log (plain text, info level unless `DOCKTRAY_LOG` says otherwise); empty for
    /// none.
    pub file: String,
    /// The file is rotated when it would grow past this many megabytes (default 10).
    pub max_size_mb: u64,
    /// How many rotated files are kept beside it (`FILE.1` the newest; default 3).
    pub keep: u32,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            file: String::new(),
            max_size_mb: 10,
            keep: 3,
        }
    }
}

impl LogSettings {
    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        if !(1..=10_240).contains(&self.max_size_mb) {
            return Err(invalid(
                "log.max_size_mb",
                self.max_size_mb.to_string(),
                "a size between 1 and 10240 (megabytes)",
            ));
        }
        if !(1..=100).contains(&self.keep) {
            return Err(invalid(
                "log.keep",
                self.keep.to_string(),
                "between 1 and 100 rotated files",
            ));
        }
        let file = self.file.trim();
        if !file.is_empty() && (file.ends_with('/') || Path::new(file).file_name().is_none()) {
            return Err(invalid(
                "log.file",
                format!("\"{file}\""),
                "a file path such as \"/var/log/docktray/docktray.log\"",
            ));
        }
        Ok(())
    }
}
