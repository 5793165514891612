//! The vocabulary every layer shares: what sources observe ([`observation`]), what the engine keeps and hands out
//! ([`container`], [`server`], [`source`], [`snapshot`]), what it pushes ([`update`]) and the alerts it raises
//! ([`alert`]). These types are the public contract of snapshots, the CLI's JSON (docs/status-json.md), the
//! window's IPC and the HTTP API. This module depends on nothing else in the crate.

pub mod alert;
pub mod channel;
pub mod container;
pub mod engine;
pub mod forecast;
pub mod logmatch;
pub mod observation;
pub mod proxy;
pub mod self_figures;
pub mod server;
pub mod services;
pub mod snapshot;
pub mod source;
pub mod timeline;
pub mod update;
pub mod workbench;

pub use alert::{Alert, AlertTransition, Level, OverallLevel, Target, TargetKind, TransitionKind};
pub use channel::{ChannelState, ChannelStatus};
pub use container::*;
pub use engine::{engine_label, EngineProduct};
pub use forecast::{Forecast, ForecastKind, ForecastState};
pub use logmatch::LogMatch;
pub use observation::{CounterSample, Observation, RawCounters, ReadyPart, Reporter};
pub use proxy::{ProxyStatus, RouteState, RouteStatus};
pub use self_figures::{DescriptorFigures, SelfFigures, SweepFigures};
pub use server::*;
pub use services::{Service, ServiceKind, ServiceProblem, ServiceRegistry};
pub use snapshot::Snapshot;
pub use source::*;
pub use timeline::{
    Actor, AuditEntry, AuditSource, AuditTarget, EngineEvent, EventScope, TimelineRow,
    TIMELINE_COLUMNS,
};
pub use update::Update;
pub use workbench::*;

/// The name the local machine and its engine go by in every view.
pub const LOCAL_HOST: &str = "local";
