//! The HTTP API (docs/api.md): a sink that serves what the engine knows. REST answers under `/api/v1/` and the
//! predecessors' own paths ([`routes`]), live streams over WebSocket and Server-Sent Events fed by one shared
//! [`hub`], `/metrics` for Prometheus ([`metrics`]) and the OpenAPI document, built from the same route table
//! ([`table`]). Every request but the health probes needs the bearer token ([`token`]), and passes the `Host` and
//! `Origin` checks ([`guard`]). The listener ([`server`]) bounds connections, request time and bodies.
//!
//! A face (`docktray serve`, the desktop app) starts it after its monitor, with a [`Control`] for what only the
//! face can do: run actions, apply settings saved through the API, and the Settings view's commands.

mod containers;
mod error;
mod exports;
mod guard;
mod health;
mod hub;
mod logs;
pub mod metrics;
mod monitoring;
mod page;
mod prefix;
mod routes;
pub mod rules;
mod server;
mod session;
mod settings;
mod streams;
mod table;
mod terminal;
pub mod token;
mod workbench;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::config::Config;
use crate::engine::{Engine, LogHub, View};
use crate::history::History;
use crate::model::{Action, Actor, Update};

pub use server::{ApiServer, StartError};
pub use settings::{DeskCommand, DeskError};
pub use token::{ApiToken, TokenError, TokenSource, TOKEN_NAME};

/// A future the [`Control`] hands back.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the API needs from the face that runs the monitor.
pub trait Control: Send + Sync + 'static {
    /// Whether the engine's writer task is alive (`/healthz`).
    fn running(&self) -> bool;
    /// Starts, stops ... a container (by id, name or id prefix) on whichever host it runs; the engine audits it
    /// as asked by `actor`.
    fn act<'a>(
        &'a self,
        container: &'a str,
        action: Action,
        actor: &'a Actor,
    ) -> BoxFuture<'a, crate::error::Result<()>>;
    /// The settings in force, and the file they are saved in.
    fn settings(&self) -> (Config, PathBuf);
    /// Applies settings the API has just saved into that file (thresholds), as the window's settings do.
    fn apply(&self, config: Config) -> BoxFuture<'_, crate::error::Result<()>>;
    /// The running engine, held for one request, so the API calls the very functions the window's commands
    /// call (images, detail, acknowledge ...). A face that does not lend it answers why (the default).
    fn engine(&self) -> BoxFuture<'_, crate::error::Result<EngineGuard<'_>>> {
        Box::pin(async {
            Err(crate::Error::Other(
                "this server cannot reach its engine for that".to_owned(),
            ))
        })
    }

    /// Runs one of the Settings view's commands (src/sinks/api/settings.rs) as the window's command does:
    /// faces run them with `docktray::desk::run`. A face that cannot answers why (the default).
    fn desk(&self, command: DeskCommand) -> BoxFuture<'_, Result<serde_json::Value, DeskError>> {
        let _ = command;
        Box::pin(async {
            Err(DeskError::Unavailable(
                "this server cannot change settings".to_owned(),
            ))
        })
    }
}

/// The engine lent for one request (see [`Control::engine`]); Quit waits for it.
pub type EngineGuard<'a> = tokio::sync::RwLockReadGuard<'a, Engine>;

/// Everything the API reads: the live state, its updates, the shared log streams and the history.
#[derive(Clone)]
pub struct Sources {
    pub view: View,
    /// Any receiver of the engine's updates; the API takes its own from it.
    pub updates: Arc<broadcast::Receiver<Update>>,
    pub logs: LogHub,
    pub history: Option<Arc<History>>,
    pub control: Arc<dyn Control>,
}

/// What a started server tells its face.
#[derive(Debug, Clone)]
pub struct Listening {
    pub address: SocketAddr,
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Where the token came from (never the token itself).
    pub token_source: TokenSource,
}

impl Listening {
    /// `http://127.0.0.1:7583`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }
}
