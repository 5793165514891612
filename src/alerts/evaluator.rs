//! The alert state machine. Pure: it is fed samples, events and ticks with their timestamps and returns the
//! transitions, so every rule (hold durations, hysteresis, cooldown, restart loops) is testable without clocks.
//!
//! A level is raised only once the value has stayed at or above its threshold for the hold duration, and
//! cleared only once it has stayed below `warning x (1 - hysteresis)` for the same duration: a one-sample spike
//! or a signal that wobbles around the threshold raises nothing and clears nothing.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

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

/// One numeric observation.
pub struct Observation {
    pub target: Target,
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
    tracks: HashMap<Key, Track>,
    active: HashMap<Key, Active>,
    lifecycles: HashMap<String, Lifecycle>,
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

/// "CPU", "Memory", "Disk /var", for messages.
pub fn metric_label(metric_name: &str, detail: Option<&str>) -> String {
    let base = match metric_name {
        metric::CONTAINER_CPU | metric::HOST_CPU => "CPU",
        metric::CONTAINER_MEMORY | metric::HOST_MEMORY => "Memory",
        metric::CONTAINER_NET_RX => "Network receive",
        metric::CONTAINER_NET_TX => "Network send",
        metric::HOST_DISK => "Disk",
        metric::VPS_NETWORK_QUOTA => "Monthly network quota",
        metric::VPS_STATUS => "Server status",
        metric::EXITED => "Exited",
        metric::OOM_KILLED => "Out of memory",
        metric::UNHEALTHY => "Health check",
        metric::RESTART_LOOP => "Restart loop",
        metric::DISAPPEARED => "Removed",
        metric::UNREACHABLE => "Unreachable",
        other => other,
    };
    match detail {
        Some(detail) => format!("{base} {detail}"),
        None => base.to_owned(),
    }
}

fn format_value(value: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{value:.1} %")
    } else {
        format!("{value:.1} {unit}")
    }
}

impl Evaluator {
    pub fn new(config: &Config) -> Self {
        Self {
            rules: Rules::new(config),
            settings: config.alerts.clone(),
            tracks: HashMap::new(),
            active: HashMap::new(),
            lifecycles: HashMap::new(),
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

    fn next_id(&mut self, at: DateTime<Utc>) -> u64 {
        self.sequence = self.sequence.wrapping_add(1);
        (at.timestamp_millis().max(0) as u64) * 1024 + (self.sequence % 1024)
    }

    /// Evaluates one numeric observation.
    pub fn observe(&mut self, observation: Observation) -> Vec<AlertTransition> {
        let Observation {
            target,
            metric,
            detail,
            value,
            threshold,
            top,
            at,
        } = observation;
        let key = Key::new(&target, metric, detail.clone());
        let clear_below = threshold.warning * (1.0 - self.settings.hysteresis_percent / 100.0);
        let track = self.tracks.entry(key.clone()).or_default();
        let mark = |slot: &mut Option<DateTime<Utc>>, condition: bool| {
            if condition {
                slot.get_or_insert(at);
            } else {
                *slot = None;
            }
        };
        mark(&mut track.above_warning, value >= threshold.warning);
        mark(&mut track.above_critical, value >= threshold.critical);
        mark(&mut track.below_critical, value < threshold.critical);
        mark(&mut track.below_clear, value < clear_below);
        let hold = threshold.hold;
        let critical_held = held(track.above_critical, at, hold);
        let warning_held = held(track.above_warning, at, hold);
        let clear_held = held(track.below_clear, at, hold);
        let eased_held = held(track.below_critical, at, hold);

        let label = metric_label(metric, detail.as_deref());
        let describe = |level: Level, line: f64| {
            format!(
                "{label} of {} at {}: above the {} threshold of {}",
                target.label(),
                format_value(value, threshold.unit),
                level.as_str(),
                format_value(line, threshold.unit)
            )
        };
        let current = self.active.get(&key).map(|a| a.alert.level);
        match current {
            None => {
                let (level, line) = if critical_held {
                    (Level::Critical, threshold.critical)
                } else if warning_held {
                    (Level::Warning, threshold.warning)
                } else {
                    return Vec::new();
                };
                let alert = Alert {
                    id: self.next_id(at),
                    target: target.clone(),
                    metric: metric.to_owned(),
                    detail,
                    level,
                    value: Some(value),
                    threshold: Some(line),
                    unit: threshold.unit.to_owned(),
                    message: describe(level, line),
                    started_at: at,
                    resolved_at: None,
                    acknowledged: false,
                    top,
                };
                vec![self.open(key, alert, at)]
            }
            Some(level) => {
                let Some(active) = self.active.get_mut(&key) else {
                    return Vec::new();
                };
                active.alert.value = Some(value);
                if level == Level::Warning && critical_held {
                    active.alert.level = Level::Critical;
                    active.alert.threshold = Some(threshold.critical);
                    active.alert.message = describe(Level::Critical, threshold.critical);
                    active.alert.acknowledged = false;
                    active.alert.top = top;
                    active.last_notified = at;
                    return vec![transition(
                        TransitionKind::Escalated,
                        &active.alert,
                        Some(level),
                        at,
                    )];
                }
                if clear_held {
                    let message = format!(
                        "{label} of {} back to {} (below {})",
                        target.label(),
                        format_value(value, threshold.unit),
                        format_value(clear_below, threshold.unit)
                    );
                    return vec![self.close(&key, message, at)]
                        .into_iter()
                        .flatten()
                        .collect();
                }
                // Eased only while the value sits in the warning band; a value on its way to clearing stays
                // critical until it clears, so a falling value gives one transition, not two.
                if level == Level::Critical
                    && eased_held
                    && !critical_held
                    && value >= threshold.warning
                {
                    active.alert.level = Level::Warning;
                    active.alert.threshold = Some(threshold.warning);
                    active.alert.message = describe(Level::Warning, threshold.warning);
                    return vec![transition(
                        TransitionKind::Eased,
                        &active.alert,
                        Some(level),
                        at,
                    )];
                }
                Vec::new()
            }
        }
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

    /// Raises an event alert unless one for the same key is active (then only its value is updated).
    fn raise_event(
        &mut self,
        target: &Target,
        metric_name: &'static str,
        level: Level,
        value: Option<f64>,
        message: String,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let key = Key::new(target, metric_name, None);
        if let Some(active) = self.active.get_mut(&key) {
            active.alert.value = value;
            return Vec::new();
        }
        let alert = Alert {
            id: self.next_id(at),
            target: target.clone(),
            metric: metric_name.to_owned(),
            detail: None,
            level,
            value,
            threshold: None,
            unit: String::new(),
            message,
            started_at: at,
            resolved_at: None,
            acknowledged: false,
            top: Vec::new(),
        };
        vec![self.open(key, alert, at)]
    }

    fn resolve_event(
        &mut self,
        target: &Target,
        metric_name: &str,
        message: String,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let key = Key::new(target, metric_name, None);
        self.close(&key, message, at).into_iter().collect()
    }

    /// Evaluates a running container's figures against its thresholds.
    pub fn container_stats(
        &mut self,
        info: &ContainerInfo,
        stats: &ContainerStats,
    ) -> Vec<AlertTransition> {
        let target = container_target(info);
        let at = stats.sampled_at;
        let figures = [
            (metric::CONTAINER_CPU, stats.cpu_percent),
            (metric::CONTAINER_MEMORY, stats.memory_percent),
            (metric::CONTAINER_NET_RX, stats.net_rx_bytes_per_s / 1e6),
            (metric::CONTAINER_NET_TX, stats.net_tx_bytes_per_s / 1e6),
        ];
        let mut changes = Vec::new();
        for (name, value) in figures {
            match self.rules.for_container(info, name) {
                Some(threshold) => changes.extend(self.observe(Observation {
                    target: target.clone(),
                    metric: name,
                    detail: None,
                    value,
                    threshold,
                    top: Vec::new(),
                    at,
                })),
                // Disabled now: an alert raised before the change is over.
                None => changes.extend(self.drop_metric(&target, name, None, at)),
            }
        }
        changes
    }

    /// Evaluates a host's figures; `top_cpu` / `top_memory` name the containers using most (highest first).
    pub fn host_stats(
        &mut self,
        stats: &ServerStats,
        top_cpu: Vec<(String, f64)>,
        top_memory: Vec<(String, f64)>,
    ) -> Vec<AlertTransition> {
        let target = Target {
            kind: if stats.source_type == "webdock-vps" {
                TargetKind::Vps
            } else {
                TargetKind::Host
            },
            host: stats.server_name.clone(),
            id: stats.server_name.clone(),
            // A VPS is called by its Webdock name (its slug is the id).
            name: stats
                .vps
                .as_ref()
                .map(|vps| vps.name.clone())
                .unwrap_or_else(|| stats.server_name.clone()),
        };
        let at = stats.timestamp;
        let mut changes = Vec::new();
        if let Some(vps) = &stats.vps {
            changes.extend(self.vps_status(&target, &vps.status, at));
            if vps.status != "running" {
                // A server that is not running has no meaningful figures: only its status speaks.
                return changes;
            }
        }
        let mut figures = vec![
            (metric::HOST_CPU, None, stats.cpu.percent, top_cpu),
            (metric::HOST_MEMORY, None, stats.memory.percent, top_memory),
        ];
        if let Some(quota) = stats.vps.as_ref().and_then(|v| v.network_quota.as_ref()) {
            if quota.allowed_gb > 0.0 {
                figures.push((metric::VPS_NETWORK_QUOTA, None, quota.percent, Vec::new()));
            }
        }
        for disk in &stats.disks {
            figures.push((
                metric::HOST_DISK,
                Some(disk.mount.clone()),
                disk.percent,
                Vec::new(),
            ));
        }
        for (name, detail, value, top) in figures {
            match self.rules.for_host(&stats.server_name, name) {
                Some(threshold) => changes.extend(self.observe(Observation {
                    target: target.clone(),
                    metric: name,
                    detail,
                    value,
                    threshold,
                    top,
                    at,
                })),
                None => changes.extend(self.drop_metric(&target, name, detail, at)),
            }
        }
        changes
    }

    /// A VPS whose Webdock status is not `running` raises an alert (critical when stopped, in error or
    /// suspended; a warning while it is changing state) until it runs again.
    fn vps_status(
        &mut self,
        target: &Target,
        status: &str,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        if status == "running" {
            return self.resolve_event(
                target,
                metric::VPS_STATUS,
                format!("{} is running again", target.label()),
                at,
            );
        }
        let level = match status {
            "stopped" | "error" | "suspended" | "unknown" => Level::Critical,
            _ => Level::Warning,
        };
        let message = format!(
            "{} is not running: Webdock says it is {status}",
            target.label()
        );
        let key = Key::new(target, metric::VPS_STATUS, None);
        if let Some(active) = self.active.get_mut(&key) {
            // Still not running (stopping -> stopped): one alert, its message says what is now; a worse level
            // escalates it.
            let previous = active.alert.level;
            active.alert.message = message;
            if level > previous {
                active.alert.level = level;
                active.alert.acknowledged = false;
                active.last_notified = at;
                return vec![transition(
                    TransitionKind::Escalated,
                    &active.alert,
                    Some(previous),
                    at,
                )];
            }
            return Vec::new();
        }
        self.raise_event(target, metric::VPS_STATUS, level, None, message, at)
    }

    fn drop_metric(
        &mut self,
        target: &Target,
        name: &str,
        detail: Option<String>,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let key = Key::new(target, name, detail.clone());
        self.tracks.remove(&key);
        let message = format!(
            "{} of {}: alert turned off",
            metric_label(name, detail.as_deref()),
            target.label()
        );
        self.close(&key, message, at).into_iter().collect()
    }

    /// A container stopped being sampled (stopped, paused, removed): its figure alerts end with it.
    pub fn container_not_sampled(
        &mut self,
        info: &ContainerInfo,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let target = container_target(info);
        let mut changes = Vec::new();
        for name in [
            metric::CONTAINER_CPU,
            metric::CONTAINER_MEMORY,
            metric::CONTAINER_NET_RX,
            metric::CONTAINER_NET_TX,
        ] {
            let key = Key::new(&target, name, None);
            self.tracks.remove(&key);
            let message = format!(
                "{} of {}: no longer running",
                metric_label(name, None),
                target.label()
            );
            changes.extend(self.close(&key, message, at));
        }
        changes
    }

    /// Event alerts from the Docker event stream. `info` is the container as inspected after the event.
    pub fn container_event(
        &mut self,
        event: &ContainerEvent,
        info: Option<&ContainerInfo>,
    ) -> Vec<AlertTransition> {
        let target = info.map(container_target).unwrap_or_else(|| Target {
            kind: TargetKind::Container,
            host: event.host.clone(),
            id: event.id.clone(),
            name: event.name.clone(),
        });
        let at = event.at;
        let window = self.settings.restart_loop_window;
        let loop_count = self.settings.restart_loop_count as usize;
        let lifecycle = self.lifecycles.entry(event.id.clone()).or_default();
        lifecycle.target = Some(target.clone());
        let mut changes = Vec::new();
        match event.action.as_str() {
            "kill" | "stop" => lifecycle.last_intent = Some(at),
            "oom" => {
                changes.extend(self.raise_event(
                    &target,
                    metric::OOM_KILLED,
                    Level::Critical,
                    None,
                    format!("{} was killed for running out of memory", target.label()),
                    at,
                ));
            }
            "die" => {
                lifecycle.died_before = true;
                lifecycle.running = false;
                let intentional = lifecycle
                    .last_intent
                    .is_some_and(|when| elapsed(when, at) <= INTENTIONAL_WINDOW);
                let oom = info.is_some_and(|i| i.oom_killed);
                let code = event.exit_code.unwrap_or(0);
                if code != 0 && !intentional && !oom {
                    changes.extend(self.raise_event(
                        &target,
                        metric::EXITED,
                        Level::Warning,
                        Some(code as f64),
                        format!("{} exited with code {code}", target.label()),
                        at,
                    ));
                }
            }
            "start" | "restart" => {
                if event.action == "start"
                    && (lifecycle.died_before || info.is_some_and(|i| i.restart_count > 0))
                {
                    lifecycle.restarts.push_back(at);
                }
                lifecycle.died_before = false;
                lifecycle.running = true;
                lifecycle.last_start = Some(at);
                while lifecycle
                    .restarts
                    .front()
                    .is_some_and(|first| elapsed(*first, at) > window)
                {
                    lifecycle.restarts.pop_front();
                }
                let restarts = lifecycle.restarts.len();
                if restarts >= loop_count {
                    changes.extend(self.raise_event(
                        &target,
                        metric::RESTART_LOOP,
                        Level::Critical,
                        Some(restarts as f64),
                        format!(
                            "{} restarted {restarts} times in {}",
                            target.label(),
                            crate::util::format_duration(window)
                        ),
                        at,
                    ));
                }
            }
            "health_status" => match event.health {
                Some(Health::Unhealthy) => changes.extend(self.raise_event(
                    &target,
                    metric::UNHEALTHY,
                    Level::Critical,
                    None,
                    format!("{} is unhealthy: its health check fails", target.label()),
                    at,
                )),
                Some(Health::Healthy) => changes.extend(self.resolve_event(
                    &target,
                    metric::UNHEALTHY,
                    format!("{} is healthy again", target.label()),
                    at,
                )),
                _ => {}
            },
            _ => {}
        }
        changes
    }

    /// A container is gone (removed, or found missing by a re-list): its alerts end and a notice says so.
    pub fn container_removed(
        &mut self,
        host: &str,
        id: &str,
        name: &str,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        self.lifecycles.remove(id);
        let keys: Vec<Key> = self
            .active
            .keys()
            .filter(|key| key.kind == TargetKind::Container && key.host == host && key.id == id)
            .cloned()
            .collect();
        self.tracks
            .retain(|key, _| !(key.kind == TargetKind::Container && key.id == id));
        let mut changes: Vec<AlertTransition> = keys
            .iter()
            .filter_map(|key| self.close(key, format!("{name} on {host} was removed"), at))
            .collect();
        let target = Target {
            kind: TargetKind::Container,
            host: host.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
        };
        let notice = Alert {
            id: self.next_id(at),
            message: format!("{} disappeared", target.label()),
            target,
            metric: metric::DISAPPEARED.to_owned(),
            detail: None,
            level: Level::Info,
            value: None,
            threshold: None,
            unit: String::new(),
            started_at: at,
            resolved_at: Some(at),
            acknowledged: false,
            top: Vec::new(),
        };
        changes.push(transition(TransitionKind::Notice, &notice, None, at));
        changes
    }

    /// A remote host was taken out of the settings: whatever it had active (its own alerts and its containers')
    /// is resolved as removed, and nothing pending about it or `containers` (its container ids) carries on. No
    /// "unreachable" is raised: the host did not fail, it is no longer watched.
    pub fn host_removed(
        &mut self,
        host: &str,
        containers: &[String],
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        for id in containers {
            self.lifecycles.remove(id);
        }
        self.tracks.retain(|key, _| key.host != host);
        let mut keys: Vec<Key> = self
            .active
            .keys()
            .filter(|key| key.host == host)
            .cloned()
            .collect();
        keys.sort_by_key(|key| {
            self.active
                .get(key)
                .map(|a| (a.alert.started_at, a.alert.id))
        });
        keys.iter()
            .filter_map(|key| {
                let label = self.active.get(key)?.alert.target.label();
                self.close(
                    key,
                    format!("{label}: host {host} was removed from the settings"),
                    at,
                )
            })
            .collect()
    }

    /// A source changed state: unreachable raises a critical alert, up again resolves it.
    pub fn source(&mut self, status: &SourceStatus, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let target = Target {
            kind: if status.kind == "webdock" {
                TargetKind::Vps
            } else {
                TargetKind::Host
            },
            host: status.name.clone(),
            id: format!("{}/{}", status.name, status.kind),
            name: status.name.clone(),
        };
        let subject = match status.kind.as_str() {
            // A remote host is reached over SSH first: when that fails, the whole host is gone.
            "docker" if status.endpoint.starts_with("ssh://") => {
                format!("SSH host {}", status.name)
            }
            "docker" => format!("Docker engine of {}", status.name),
            "webdock" => format!("Webdock account of {}", status.name),
            _ => format!("host of {}", status.name),
        };
        match status.state {
            SourceState::Unreachable => {
                // Nothing is sampled from an unreachable source: its figures' pending levels start over.
                self.tracks.retain(|key, _| key.host != status.name);
                self.raise_event(
                    &target,
                    metric::UNREACHABLE,
                    Level::Critical,
                    None,
                    format!(
                        "{subject} unreachable: {}",
                        status.reason.as_deref().unwrap_or("no reason given")
                    ),
                    at,
                )
            }
            // Degraded is reachable: only part of what it gives is failing.
            SourceState::Up | SourceState::Degraded => self.resolve_event(
                &target,
                metric::UNREACHABLE,
                format!("{subject} is back"),
                at,
            ),
            SourceState::Connecting => Vec::new(),
        }
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
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::{ContainerState, CpuUsage, LoadAverage, NetworkRates, SampleMethod, Usage};

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("test.toml")).expect("valid config")
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn info(name: &str) -> ContainerInfo {
        ContainerInfo {
            host: "local".into(),
            id: format!("id-{name}"),
            name: name.into(),
            image: "img".into(),
            state: ContainerState::Running,
            status: String::new(),
            health: None,
            exit_code: None,
            oom_killed: false,
            restart_count: 0,
            compose_project: None,
            compose_service: None,
            ports: vec![],
            created: at(0),
            started_at: None,
            finished_at: None,
            labels: Default::default(),
            pid: None,
        }
    }

    fn cpu(value: f64, seconds: i64) -> ContainerStats {
        ContainerStats {
            sampled_at: at(seconds),
            method: SampleMethod::Cgroup,
            cpu_percent: value,
            cpu_host_percent: value / 2.0,
            online_cpus: 2,
            memory_bytes: 1,
            memory_limit_bytes: 100,
            memory_percent: 1.0,
            net_rx_bytes: 0,
            net_tx_bytes: 0,
            net_rx_bytes_per_s: 0.0,
            net_tx_bytes_per_s: 0.0,
            block_read_bytes: 0,
            block_write_bytes: 0,
            block_read_bytes_per_s: 0.0,
            block_write_bytes_per_s: 0.0,
            pids: 1,
        }
    }

    /// Feeds CPU values every 2 s from t=0 and returns the kinds of transitions with their times.
    fn run(
        evaluator: &mut Evaluator,
        container: &ContainerInfo,
        values: &[f64],
    ) -> Vec<(i64, TransitionKind, Level)> {
        values
            .iter()
            .enumerate()
            .flat_map(|(i, value)| {
                let seconds = i as i64 * 2;
                evaluator
                    .container_stats(container, &cpu(*value, seconds))
                    .into_iter()
                    .map(move |t| (seconds, t.kind, t.alert.level))
            })
            .collect()
    }

    #[test]
    fn a_one_sample_spike_raises_nothing() {
        let mut evaluator = Evaluator::new(&config(""));
        let changes = run(
            &mut evaluator,
            &info("web"),
            &[10.0, 99.0, 10.0, 10.0, 99.0, 10.0, 10.0, 10.0],
        );
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn sustained_load_raises_once_then_resolves_once() {
        let mut evaluator = Evaluator::new(&config(""));
        let mut values = vec![95.0; 10];
        values.extend([5.0; 10]);
        let changes = run(&mut evaluator, &info("web"), &values);
        assert_eq!(
            changes,
            vec![
                (10, TransitionKind::Raised, Level::Critical),
                (30, TransitionKind::Resolved, Level::Resolved)
            ],
            "raised after the 10 s hold, resolved after 10 s back below"
        );
    }

    #[test]
    fn warning_escalates_to_critical_and_eases_back() {
        let mut evaluator = Evaluator::new(&config(""));
        let values = [
            75.0, 75.0, 75.0, 75.0, 75.0, 75.0, 95.0, 95.0, 95.0, 95.0, 95.0, 95.0, 80.0, 80.0,
            80.0, 80.0, 80.0, 80.0,
        ];
        let changes = run(&mut evaluator, &info("web"), &values);
        let kinds: Vec<TransitionKind> = changes.iter().map(|c| c.1).collect();
        assert_eq!(
            kinds,
            [
                TransitionKind::Raised,
                TransitionKind::Escalated,
                TransitionKind::Eased
            ]
        );
        assert_eq!(changes[0].2, Level::Warning);
        assert_eq!(changes[1].2, Level::Critical);
        assert_eq!(evaluator.active()[0].level, Level::Warning);
    }

    #[test]
    fn a_noisy_signal_around_the_warning_line_does_not_flap() {
        // Raised once; values wobbling just under the warning line (inside the hysteresis band) never clear it.
        let mut evaluator = Evaluator::new(&config(""));
        let mut values = vec![75.0; 6];
        for i in 0..40 {
            values.push(if i % 2 == 0 { 71.0 } else { 66.0 });
        }
        let changes = run(&mut evaluator, &info("web"), &values);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].1, TransitionKind::Raised);
    }

    #[test]
    fn per_metric_hold_and_hysteresis_come_from_config() {
        let mut evaluator = Evaluator::new(&config(
            "[alerts]\nhysteresis_percent = 0\n[thresholds.container_cpu_percent]\nwarning = 50\ncritical = 80\nhold = \"0s\"\n",
        ));
        let changes = run(&mut evaluator, &info("web"), &[60.0, 49.0]);
        assert_eq!(
            changes,
            vec![
                (0, TransitionKind::Raised, Level::Warning),
                (2, TransitionKind::Resolved, Level::Resolved)
            ]
        );
    }

    #[test]
    fn overrides_and_disabled_metrics_are_honoured() {
        let mut evaluator = Evaluator::new(&config(
            "[[overrides]]\ncontainer = \"batch\"\nthresholds.container_cpu_percent = { enabled = false }\n",
        ));
        assert!(run(&mut evaluator, &info("batch"), &[99.0; 10]).is_empty());
        assert_eq!(run(&mut evaluator, &info("web"), &[99.0; 10]).len(), 1);
    }

    #[test]
    fn reminder_only_after_the_cooldown() {
        let mut evaluator = Evaluator::new(&config("[alerts]\ncooldown = \"1m\""));
        run(&mut evaluator, &info("web"), &[95.0; 6]);
        assert!(evaluator.tick(at(30)).is_empty());
        let reminders = evaluator.tick(at(80));
        assert_eq!(reminders.len(), 1);
        assert_eq!(reminders[0].kind, TransitionKind::Reminder);
        assert!(evaluator.tick(at(100)).is_empty());
    }

    #[test]
    fn acknowledged_alerts_stop_driving_the_level_until_they_escalate() {
        let mut evaluator = Evaluator::new(&config(""));
        run(&mut evaluator, &info("web"), &[75.0; 6]);
        let id = evaluator.active()[0].id;
        assert!(evaluator.acknowledge(id, at(20)).is_some());
        assert_eq!(
            super::super::overall_level(&evaluator.active(), &[]),
            super::super::OverallLevel::Ok
        );
        let container = info("web");
        let mut escalated = Vec::new();
        for i in 0..8 {
            escalated.extend(evaluator.container_stats(&container, &cpu(95.0, 20 + i * 2)));
        }
        assert_eq!(
            escalated
                .iter()
                .filter(|t| t.kind == TransitionKind::Escalated)
                .count(),
            1
        );
        assert!(!evaluator.active()[0].acknowledged);
        assert_eq!(
            super::super::overall_level(&evaluator.active(), &[]),
            super::super::OverallLevel::Critical
        );
    }

    fn event(
        action: &str,
        seconds: i64,
        exit_code: Option<i64>,
        health: Option<Health>,
    ) -> ContainerEvent {
        ContainerEvent {
            host: "local".into(),
            id: "id-job".into(),
            name: "job".into(),
            action: action.into(),
            exit_code,
            health,
            at: at(seconds),
        }
    }

    #[test]
    fn event_alerts_for_exit_oom_unhealthy_and_restart_loop() {
        let mut evaluator = Evaluator::new(&config(""));
        let job = info("job");
        let exited = evaluator.container_event(&event("die", 0, Some(3), None), Some(&job));
        assert_eq!(exited.len(), 1);
        assert_eq!(exited[0].alert.metric, metric::EXITED);
        assert!(
            exited[0].alert.message.contains("code 3"),
            "{}",
            exited[0].alert.message
        );

        // A stop asked for by the user is not an alert.
        let mut other = Evaluator::new(&config(""));
        assert!(other
            .container_event(&event("kill", 0, None, None), Some(&job))
            .is_empty());
        assert!(other
            .container_event(&event("die", 1, Some(137), None), Some(&job))
            .is_empty());

        let oom = evaluator.container_event(&event("oom", 5, None, None), Some(&job));
        assert_eq!(oom[0].alert.metric, metric::OOM_KILLED);
        assert_eq!(oom[0].alert.level, Level::Critical);

        let unhealthy = evaluator.container_event(
            &event("health_status", 6, None, Some(Health::Unhealthy)),
            Some(&job),
        );
        assert_eq!(unhealthy[0].alert.metric, metric::UNHEALTHY);
        let healthy = evaluator.container_event(
            &event("health_status", 7, None, Some(Health::Healthy)),
            Some(&job),
        );
        assert_eq!(healthy[0].kind, TransitionKind::Resolved);

        // Three restarts (start after die) within five minutes make a loop; the exit alert is not repeated.
        let mut loops = Vec::new();
        for i in 0..3 {
            loops.extend(
                evaluator.container_event(&event("start", 10 + i * 20, None, None), Some(&job)),
            );
            loops.extend(
                evaluator.container_event(&event("die", 15 + i * 20, Some(1), None), Some(&job)),
            );
        }
        let kinds: Vec<(&str, TransitionKind)> = loops
            .iter()
            .map(|t| (t.alert.metric.as_str(), t.kind))
            .collect();
        assert_eq!(kinds, [(metric::RESTART_LOOP, TransitionKind::Raised)]);
        // Running steadily again resolves the exit, OOM and (once the window passes) the loop.
        evaluator.container_event(&event("start", 100, None, None), Some(&job));
        let resolved = evaluator.tick(at(100 + 400));
        let metrics: Vec<&str> = resolved.iter().map(|t| t.alert.metric.as_str()).collect();
        assert!(
            metrics.contains(&metric::EXITED)
                && metrics.contains(&metric::OOM_KILLED)
                && metrics.contains(&metric::RESTART_LOOP),
            "{metrics:?}"
        );
    }

    fn source(state: SourceState) -> SourceStatus {
        SourceStatus {
            name: "local".into(),
            kind: "docker".into(),
            endpoint: "unix:///x".into(),
            state,
            reason: Some("gone".into()),
            consecutive_failures: 1,
            next_retry: None,
            engine_version: None,
            api_version: None,
            stats_method: None,
            since: at(0),
            rate_limit: None,
            last_error: None,
            errors: Vec::new(),
        }
    }

    #[test]
    fn unreachable_source_alert_and_grey_level() {
        let mut evaluator = Evaluator::new(&config(""));
        let down = evaluator.source(&source(SourceState::Unreachable), at(0));
        assert_eq!(down[0].alert.metric, metric::UNREACHABLE);
        assert!(down[0].alert.message.contains("gone"));
        assert!(
            evaluator
                .source(&source(SourceState::Unreachable), at(5))
                .is_empty(),
            "said once"
        );
        assert_eq!(
            super::super::overall_level(&evaluator.active(), &[source(SourceState::Unreachable)]),
            super::super::OverallLevel::Unreachable
        );
        let up = evaluator.source(&source(SourceState::Up), at(9));
        assert_eq!(up[0].kind, TransitionKind::Resolved);
        assert_eq!(
            super::super::overall_level(&evaluator.active(), &[source(SourceState::Up)]),
            super::super::OverallLevel::Ok
        );
    }

    #[test]
    fn host_alerts_carry_the_top_containers_and_disks_alert_per_mount() {
        let mut evaluator = Evaluator::new(&config("[alerts]\nhold = \"0s\""));
        let usage = |percent| Usage {
            used_gb: 1.0,
            total_gb: 2.0,
            percent,
        };
        let stats = ServerStats {
            server_name: "local".into(),
            source_type: "docker-host".into(),
            memory: usage(10.0),
            swap: usage(0.0),
            disk: usage(97.0),
            disks: vec![
                crate::model::DiskUsage {
                    mount: "/".into(),
                    filesystem: "ext4".into(),
                    used_gb: 1.0,
                    total_gb: 2.0,
                    percent: 50.0,
                },
                crate::model::DiskUsage {
                    mount: "/data".into(),
                    filesystem: "ext4".into(),
                    used_gb: 1.0,
                    total_gb: 2.0,
                    percent: 97.0,
                },
            ],
            cpu: CpuUsage {
                count: 2,
                percent: 99.0,
                per_core: vec![99.0, 99.0],
            },
            network: NetworkRates {
                rx_bytes_per_s: 0.0,
                tx_bytes_per_s: 0.0,
            },
            load: LoadAverage {
                one: 2.0,
                five: 2.0,
                fifteen: 2.0,
            },
            uptime_s: 1,
            status: "active".into(),
            timestamp: at(0),
            vps: None,
        };
        let changes = evaluator.host_stats(
            &stats,
            vec![("db".into(), 150.0), ("web".into(), 40.0)],
            vec![],
        );
        let cpu_alert = changes
            .iter()
            .find(|t| t.alert.metric == metric::HOST_CPU)
            .expect("cpu alert");
        assert_eq!(cpu_alert.alert.top[0].0, "db");
        let disk = changes
            .iter()
            .find(|t| t.alert.metric == metric::HOST_DISK)
            .expect("disk alert");
        assert_eq!(disk.alert.detail.as_deref(), Some("/data"));
        assert!(
            disk.alert.message.contains("Disk /data"),
            "{}",
            disk.alert.message
        );
    }

    #[test]
    fn removed_containers_end_their_alerts_with_a_notice() {
        let mut evaluator = Evaluator::new(&config(""));
        run(&mut evaluator, &info("web"), &[95.0; 6]);
        let changes = evaluator.container_removed("local", "id-web", "web", at(20));
        let kinds: Vec<TransitionKind> = changes.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TransitionKind::Resolved, TransitionKind::Notice]);
        assert!(evaluator.active().is_empty());
    }

    #[test]
    fn a_removed_host_resolves_only_its_own_alerts_and_raises_nothing() {
        let mut evaluator = Evaluator::new(&config(""));
        let mut web = info("web");
        web.host = "nas".into();
        run(&mut evaluator, &web, &[95.0; 6]);
        run(&mut evaluator, &info("api"), &[95.0; 6]);
        let mut down = source(SourceState::Unreachable);
        down.name = "nas".into();
        down.endpoint = "ssh://admin@nas/var/run/docker.sock".into();
        assert_eq!(evaluator.source(&down, at(12)).len(), 1);
        assert_eq!(evaluator.active().len(), 3);

        let changes = evaluator.host_removed("nas", &["id-web".to_owned()], at(20));
        let kinds: Vec<TransitionKind> = changes.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TransitionKind::Resolved, TransitionKind::Resolved]);
        assert!(
            changes.iter().all(|t| t.alert.target.host == "nas"
                && t.alert
                    .message
                    .contains("nas was removed from the settings")),
            "{changes:?}"
        );
        let left = evaluator.active();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].target.host, "local");
        assert!(
            evaluator.host_removed("nas", &[], at(21)).is_empty(),
            "said once"
        );
    }

    fn vps(status: &str, memory_mib: f64, network_gb: f64, seconds: i64) -> ServerStats {
        let server: crate::webdock::api::Server = serde_json::from_value(serde_json::json!({
            "slug": "shop1", "name": "Shop", "status": status,
            "profileData": {"slug": "p", "ram": 1000, "disk": 1000, "cpu": {"cores": 1}}
        }))
        .expect("server");
        let metrics: crate::webdock::api::InstantMetrics =
            serde_json::from_value(serde_json::json!({
                "memory": {"latestUsageSampling": {"amount": memory_mib}},
                "disk": {"allowed": 1000, "lastSamplings": {"amount": 100}},
                "network": {"total": network_gb, "allowed": 100}
            }))
            .expect("metrics");
        crate::webdock::normalise::vps_stats(
            "work",
            &server,
            server.profile_data.as_ref(),
            Some(&metrics),
            at(seconds),
        )
    }

    #[test]
    fn vps_memory_quota_and_status_alerts_name_the_server() {
        let mut evaluator = Evaluator::new(&config("[alerts]\nhold = \"0s\"\n"));
        let changes = evaluator.host_stats(&vps("running", 500.0, 10.0, 0), vec![], vec![]);
        assert!(changes.is_empty(), "{changes:?}");
        let changes = evaluator.host_stats(&vps("running", 970.0, 85.0, 1), vec![], vec![]);
        let raised: Vec<(&str, Level)> = changes
            .iter()
            .map(|c| (c.alert.metric.as_str(), c.alert.level))
            .collect();
        assert_eq!(
            raised,
            vec![
                (metric::HOST_MEMORY, Level::Critical),
                (metric::VPS_NETWORK_QUOTA, Level::Warning)
            ]
        );
        assert!(changes
            .iter()
            .all(|c| c.alert.target.kind == TargetKind::Vps
                && c.alert.target.name == "Shop"
                && c.alert.target.id == "shop1"));
        assert!(
            changes[0].alert.message.contains("Memory of Shop"),
            "{:?}",
            changes[0].alert.message
        );
        let changes = evaluator.host_stats(&vps("running", 970.0, 96.0, 2), vec![], vec![]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, TransitionKind::Escalated);
        assert_eq!(changes[0].alert.metric, metric::VPS_NETWORK_QUOTA);

        let changes = evaluator.host_stats(&vps("stopping", 0.0, 96.0, 3), vec![], vec![]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            (changes[0].alert.metric.as_str(), changes[0].alert.level),
            (metric::VPS_STATUS, Level::Warning)
        );
        assert!(
            changes[0].alert.message.contains("Shop is not running"),
            "{}",
            changes[0].alert.message
        );
        assert!(evaluator
            .host_stats(&vps("stopping", 0.0, 96.0, 4), vec![], vec![])
            .is_empty());
        let changes = evaluator.host_stats(&vps("stopped", 0.0, 96.0, 5), vec![], vec![]);
        assert_eq!(
            (changes.len(), changes[0].kind, changes[0].alert.level),
            (1, TransitionKind::Escalated, Level::Critical)
        );
        let changes = evaluator.host_stats(&vps("running", 970.0, 96.0, 6), vec![], vec![]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            (changes[0].alert.metric.as_str(), changes[0].kind),
            (metric::VPS_STATUS, TransitionKind::Resolved)
        );
    }
}
