//! Which container engine answers at a Docker-API endpoint, so every view names it for what it is ("Podman
//! 4.3.1", not "Docker 4.3.1"): Podman serves the same API but differs in versions, stats and events.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The product behind a Docker-API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum EngineProduct {
    Docker,
    Podman,
}

impl EngineProduct {
    /// The product's name as its makers write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "Docker",
            Self::Podman => "Podman",
        }
    }
}

/// How an engine is named wherever it is shown: `Podman 4.3.1 (rootless)`, `Docker 27.3.1`. An engine whose
/// product is not known yet is a Docker engine (what every endpoint was before Podman was told apart).
pub fn engine_label(product: Option<EngineProduct>, version: &str, rootless: bool) -> String {
    let name = product.unwrap_or(EngineProduct::Docker).name();
    if rootless {
        format!("{name} {version} (rootless)")
    } else {
        format!("{name} {version}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_named_for_what_they_are() {
        assert_eq!(
            engine_label(Some(EngineProduct::Podman), "4.3.1", false),
            "Podman 4.3.1"
        );
        assert_eq!(
            engine_label(Some(EngineProduct::Podman), "5.2.0", true),
            "Podman 5.2.0 (rootless)"
        );
        assert_eq!(engine_label(None, "27.3.1", false), "Docker 27.3.1");
    }
}
