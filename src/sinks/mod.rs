//! Sinks consume the engine's updates and never reach into a source: desktop notifications ([`notify`]),
//! history recording ([`recorder`]), the tray's pure model ([`tray`]) and Caddy's routes ([`caddy`]). A new consumer (the HTTP API, Caddy
//! routes) is a new folder here, wired in [`crate::monitor`].

pub mod api;
pub mod caddy;
pub mod channels;
pub mod forecast;
pub mod notify;
pub mod recorder;
pub mod tray;
