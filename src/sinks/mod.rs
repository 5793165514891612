//! Sinks consume the engine's updates and never reach into a source: desktop notifications ([`notify`]),
//! history recording ([`recorder`]) and the tray's pure model ([`tray`]). A new consumer (the HTTP API, Caddy
//! routes) is a new folder here, wired in [`crate::monitor`].

pub mod notify;
pub mod recorder;
pub mod tray;
