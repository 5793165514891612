//! What the engine pushes to its subscribers (alerts, tray, notifications, history, window, HTTP streams) after
//! each change of the live state.

use super::alert::AlertTransition;
use super::{ContainerEvent, ContainerInfo, ContainerStats, ServerStats, SourceStatus};

/// A change pushed to subscribers. Stats come once per sweep, not once per container.
#[derive(Debug, Clone)]
pub enum Update {
    Source(SourceStatus),
    ContainerChanged(Box<ContainerInfo>),
    ContainerRemoved {
        host: String,
        id: String,
    },
    Stats {
        host: String,
        /// Shared: every subscriber receives its own copy of each update, so a sweep's figures are not copied
        /// per subscriber.
        containers: std::sync::Arc<[(String, ContainerStats)]>,
    },
    Host(Box<ServerStats>),
    Event(ContainerEvent),
    /// An alert changed (raised, escalated, resolved ...): what the tray, notifier, window and CLI react to.
    Alert(Box<AlertTransition>),
    /// A remote host was taken out of the settings: its containers, figures and status are gone from the state.
    HostRemoved {
        host: String,
    },
    /// Engine events for the timeline (see [`super::Observation::Timeline`]).
    Timeline(Vec<super::EngineEvent>),
    /// An action taken through Docktray and how it ended: the history keeps it.
    Audit(Box<super::AuditEntry>),
    /// Caddy's routes changed state (see [`super::ProxyStatus`]).
    Proxy(Box<super::ProxyStatus>),
    /// The forecaster's latest round (every forecast; see [`super::Forecast`]).
    Forecasts(Vec<super::Forecast>),
    /// A notification channel's delivery state changed.
    Channel(Box<super::ChannelStatus>),
}
