//! Webdock VPS monitoring: the API client ([`client`]) with its wire models ([`api`]), unit conversion into the
//! normalised server stats ([`normalise`]), where tokens come from ([`token`]), and the engine source
//! ([`source`]) that polls each configured account.

pub mod accounts;
pub mod api;
pub mod cache;
pub mod client;
pub mod error;
pub mod normalise;
mod registry;
pub mod source;
pub mod token;

pub use client::{Client, ClientOptions, SharedCache, StatusFilter, Ttls};
pub use error::WebdockError;
pub use token::{Token, TokenSource};
