//! `[services]`: the service registry read from container labels (`<prefix><type>.<key>`, see
//! docs/services.md). Users coming from the Enhanced Docker Monitor set `label_prefix = "snadboy."` and keep
//! their labels as they are.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ConfigError;

/// The label prefix when none is set.
pub const DEFAULT_LABEL_PREFIX: &str = "docktray.";

/// The service registry's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct ServicesConfig {
    /// What service labels start with (default `docktray.`), e.g. `docktray.revp.domain`.
    pub label_prefix: String,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            label_prefix: DEFAULT_LABEL_PREFIX.to_owned(),
        }
    }
}

impl ServicesConfig {
    /// A prefix is needed (an empty one would read every label as a service) and it must be usable as the start
    /// of a Docker label key.
    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let prefix = &self.label_prefix;
        let usable = !prefix.trim().is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
        if usable {
            return Ok(());
        }
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "services.label_prefix".to_owned(),
            value: format!("\"{prefix}\""),
            expected: "a label prefix of letters, digits, '.', '-', '_' or '/', such as \"docktray.\" or \"snadboy.\""
                .to_owned(),
        })
    }
}
