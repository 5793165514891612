//! The alert state machine. Pure: it is fed samples, events and ticks with their timestamps and returns the
//! transitions, so every rule (hold durations, hysteresis, cooldown, restart loops) is testable without clocks.
//!
//! A level is raised only once the value has stayed at or above its threshold for the hold duration, and
//! cleared only once it has stayed below `warning x (1 - hysteresis)` for the same duration: a one-sample spike
//! or a signal that wobbles around the threshold raises nothing and clears nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use foldhash::HashMap as FastMap;

use super::labels::{format_value, metric_label};
use super::rules::{Effective, Rules};
use super::{metric, Alert, AlertTransition, Level, Target, TargetKind, TransitionKind};
use crate::config::{AlertSettings, Config};
use crate::model::{
    ContainerEvent, ContainerInfo, ContainerStats, Health, ServerStats, SourceState, SourceStatus,
};

/// A container that has run this long since its last start is considered up again.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// A `die` this soon after a `kill` or `stop` was asked for is intentional: no "exited" alert.
const INTENTIONAL_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: TargetKind,
    host: String,
    id: String,
    metric: String,
    detail: Option<String>,
}

impl Key {
    fn new(target: &Target, metric: &str, detail: Option<String>) -> Self {
        Self {
            kind: target.kind,
            host: target.host.clone(),
            id: target.id.clone(),
            metric: metric.to_owned(),
            detail,
        }
    }
}

/// The figures judged for every sampled container, in the order of [`ContainerKeys::metrics`].
const CONTAINER_METRICS: [&str; 4] = [
    metric::CONTAINER_CPU,
    metric::CONTAINER_MEMORY,
    metric::CONTAINER_NET_RX,
    metric::CONTAINER_NET_TX,
];

/// A container's target and the keys of its [`CONTAINER_METRICS`], kept between sweeps.
#[derive(Debug)]
struct ContainerKeys {
    target: Target,
    metrics: [Key; 4],
}

/// Since when the value has been on each side of each line.
#[derive(Debug, Default, Clone)]
struct Track {
    above_warning: Option<DateTime<Utc>>,
    above_critical: Option<DateTime<Utc>>,
    below_critical: Option<DateTime<Utc>>,
    below_clear: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Active {
    alert: Alert,
    last_notified: DateTime<Utc>,
}

/// What we remember of a container's lifecycle for event alerts.
#[derive(Debug, Default, Clone)]
struct Lifecycle {
    /// Times of restarts (starts after a die) within the restart-loop window.
    restarts: VecDeque<DateTime<Utc>>,
    died_before: bool,
    last_intent: Option<DateTime<Utc>>,
    last_start: Option<DateTime<Utc>>,
    running: bool,
    target: Option<Target>,
}

/// One numeric reading of a metric against its threshold.
pub struct Reading<'a> {
    /// Borrowed: a container's four figures are judged each sweep, and the target is cloned only into an alert.
    pub target: &'a Target,
    pub metric: &'static str,
    pub detail: Option<String>,
    pub value: f64,
    pub threshold: Effective,
    pub top: Vec<(String, f64)>,
    pub at: DateTime<Utc>,
}

pub struct Evaluator {
    rules: Rules,
    settings: AlertSettings,
    /// Tracks and active alerts are looked up for each of a container's four figures every sweep: their keys
    /// (host, container id, metric) are hashed with foldhash, a tenth of the default SipHash's cost.
    tracks: FastMap<Key, Track>,
    active: FastMap<Key, Active>,
    lifecycles: HashMap<String, Lifecycle>,
    /// Each sampled container's keys, by container id (dropped with the container or its host).
    container_keys: FastMap<String, Arc<ContainerKeys>>,
    sequence: u64,
}

fn held(since: Option<DateTime<Utc>>, at: DateTime<Utc>, hold: Duration) -> bool {
    since.is_some_and(|since| {
        at.signed_duration_since(since) >= TimeDelta::from_std(hold).unwrap_or(TimeDelta::MAX)
    })
}

fn elapsed(since: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    at.signed_duration_since(since)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

mod events;
mod forecasts;
mod logs;
mod thresholds;

impl Evaluator {
    pub fn new(config: &Config) -> Self {
        Self {
            rules: Rules::new(config),
            settings: config.alerts.clone(),
            tracks: FastMap::default(),
            active: FastMap::default(),
            lifecycles: HashMap::new(),
            container_keys: FastMap::default(),
            sequence: 0,
        }
    }

    /// Applies new (already validated) settings; active alerts stay and are judged by the new rules.
    pub fn reconfigure(&mut self, config: &Config) {
        self.rules = Rules::new(config);
        self.settings = config.alerts.clone();
    }

    /// Alerts currently active (warning or critical), oldest first.
    pub fn active(&self) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = self.active.values().map(|a| a.alert.clone()).collect();
        alerts.sort_by_key(|a| (a.started_at, a.id));
        alerts
    }

    /// Appends a note (what the user could do about it) to an active alert's message, once; returns the new
    /// message, or `None` when no active alert has this id.
    pub fn annotate(&mut self, id: u64, note: &str) -> Option<String> {
        let active = self.active.values_mut().find(|a| a.alert.id == id)?;
        if !active.alert.message.contains(note) {
            active.alert.message = format!("{}. {note}", active.alert.message);
        }
        Some(active.alert.message.clone())
    }

    fn next_id(&mut self, at: DateTime<Utc>) -> u64 {
        self.sequence = self.sequence.wrapping_add(1);
        (at.timestamp_millis().max(0) as u64) * 1024 + (self.sequence % 1024)
    }

    fn open(&mut self, key: Key, alert: Alert, at: DateTime<Utc>) -> AlertTransition {
        let change = transition(TransitionKind::Raised, &alert, None, at);
        self.active.insert(
            key,
            Active {
                alert,
                last_notified: at,
            },
        );
        change
    }

    fn close(&mut self, key: &Key, message: String, at: DateTime<Utc>) -> Option<AlertTransition> {
        let mut active = self.active.remove(key)?;
        let previous = active.alert.level;
        active.alert.level = Level::Resolved;
        active.alert.resolved_at = Some(at);
        active.alert.message = message;
        Some(transition(
            TransitionKind::Resolved,
            &active.alert,
            Some(previous),
            at,
        ))
    }

    /// Time passing: reminders after the cooldown, restart loops and exits that are over.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<AlertTransition> {
        let mut changes = Vec::new();
        let window = self.settings.restart_loop_window;
        let stable: Vec<(String, Target)> = self
            .lifecycles
            .iter_mut()
            .filter_map(|(id, lifecycle)| {
                while lifecycle
                    .restarts
                    .front()
                    .is_some_and(|first| elapsed(*first, now) > window)
                {
                    lifecycle.restarts.pop_front();
                }
                let up_long = lifecycle.running
                    && lifecycle
                        .last_start
                        .is_some_and(|start| elapsed(start, now) >= STABLE_AFTER);
                up_long
                    .then(|| lifecycle.target.clone().map(|t| (id.clone(), t)))
                    .flatten()
            })
            .collect();
        for (id, target) in stable {
            let restarts = self.lifecycles.get(&id).map_or(0, |l| l.restarts.len());
            for name in [metric::EXITED, metric::OOM_KILLED] {
                changes.extend(self.resolve_event(
                    &target,
                    name,
                    format!("{} is running again", target.label()),
                    now,
                ));
            }
            if restarts < self.settings.restart_loop_count as usize {
                changes.extend(self.resolve_event(
                    &target,
                    metric::RESTART_LOOP,
                    format!("{} has stopped restarting", target.label()),
                    now,
                ));
            }
        }
        let cooldown = TimeDelta::from_std(self.settings.cooldown).unwrap_or(TimeDelta::MAX);
        for active in self.active.values_mut() {
            if now.signed_duration_since(active.last_notified) >= cooldown {
                active.last_notified = now;
                changes.push(transition(
                    TransitionKind::Reminder,
                    &active.alert,
                    Some(active.alert.level),
                    now,
                ));
            }
        }
        changes
    }

    /// Marks an alert acknowledged: it stays listed but stops driving the tray colour until it escalates.
    pub fn acknowledge(&mut self, id: u64, at: DateTime<Utc>) -> Option<AlertTransition> {
        let active = self.active.values_mut().find(|a| a.alert.id == id)?;
        if active.alert.acknowledged {
            return None;
        }
        active.alert.acknowledged = true;
        Some(transition(
            TransitionKind::Acknowledged,
            &active.alert,
            Some(active.alert.level),
            at,
        ))
    }
}

fn transition(
    kind: TransitionKind,
    alert: &Alert,
    previous_level: Option<Level>,
    at: DateTime<Utc>,
) -> AlertTransition {
    AlertTransition {
        kind,
        alert: alert.clone(),
        previous_level,
        at,
    }
}

fn container_target(info: &ContainerInfo) -> Target {
    Target {
        kind: TargetKind::Container,
        host: info.host.clone(),
        id: info.id.clone(),
        name: info.name.clone(),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_foresight;
#[cfg(test)]
mod tests_keys;
