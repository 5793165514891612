//! The one level the tray shows: the worst active, unacknowledged alert; grey when nothing can be reached.

use crate::model::{Alert, Level, OverallLevel};
use crate::model::{SourceState, SourceStatus};

/// Folds alerts and sources into the tray level. The local machine's own figures (the `host` source read
/// from this kernel) are always there, so only watched sources (Docker engines, remote hosts, VPS accounts)
/// count for reachability. Caddy does not either: it is not watched but served, and while it is away its
/// "Caddy unreachable" warning colours the tray like any warning.
pub fn overall_level(alerts: &[Alert], sources: &[SourceStatus]) -> OverallLevel {
    let watched: Vec<&SourceStatus> = sources
        .iter()
        .filter(|s| !matches!(s.kind.as_str(), "host" | "caddy"))
        .collect();
    if !watched.is_empty()
        && watched
            .iter()
            .all(|s| !matches!(s.state, SourceState::Up | SourceState::Degraded))
    {
        return OverallLevel::Unreachable;
    }
    let worst = alerts
        .iter()
        .filter(|alert| alert.is_active() && !alert.acknowledged)
        .map(|alert| alert.level)
        .max();
    match worst {
        Some(Level::Critical) => OverallLevel::Critical,
        Some(Level::Warning) => OverallLevel::Warning,
        _ => OverallLevel::Ok,
    }
}
