//! What the reverse-proxy sink (Caddy) reports about the routes it keeps: where they went, and Caddy's state for
//! each. Caddy's reachability itself is a [`super::SourceStatus`] of kind `caddy` (state, errors, backoff), judged
//! like any source's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Caddy's state for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum RouteState {
    /// Caddy sync is off (no `[caddy] admin_url`).
    Off,
    /// The container is not running: it has no route.
    Stopped,
    /// Not pushed yet (the container has just started, or the first comparison is under way).
    Pending,
    /// The route is in Caddy as Docktray wants it.
    Routed,
    /// Caddy refused the route, or there is no address to send it to; the message says why.
    Failed,
    /// Caddy cannot be reached: the route is pushed again when it is back.
    Unreachable,
}

impl RouteState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Stopped => "stopped",
            Self::Pending => "pending",
            Self::Routed => "routed",
            Self::Failed => "failed",
            Self::Unreachable => "unreachable",
        }
    }
}

/// One route Docktray keeps in Caddy (or tried to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RouteStatus {
    /// The route's `@id` in Caddy's config (always starts with `docktray-`).
    pub id: String,
    pub domain: String,
    pub path: String,
    /// The Caddy server it belongs in.
    pub server: Option<String>,
    /// Where Caddy sends requests (`address:port`), when known.
    pub upstream: Option<String>,
    pub state: RouteState,
    /// Why it failed, or a note on how Caddy serves it.
    pub message: Option<String>,
}

/// The Caddy sink's view of its routes after its last pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProxyStatus {
    pub admin_url: String,
    /// The server routes go into, once found in Caddy's config.
    pub server: Option<String>,
    /// The server plain-HTTP routes go into, when it is another one.
    pub http_server: Option<String>,
    /// The routes of running services, by id.
    pub routes: Vec<RouteStatus>,
    /// Routes of the user's own in the servers Docktray uses (left as they are).
    pub user_routes: usize,
    /// Docktray routes found in Caddy that no service wants any more, removed since the start.
    pub stale_removed: u64,
    /// The last time Caddy's routes were compared in full with the services.
    pub last_check: Option<DateTime<Utc>>,
}
