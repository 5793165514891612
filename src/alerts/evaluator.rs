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
use crate::model::{ContainerEvent, ContainerInfo, ContainerStats, Health, ServerStats, SourceState, SourceStatus};

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
    since.is_some_and(|since| at.signed_duration_since(since) >= TimeDelta::from_std(hold).unwrap_or(TimeDelta::MAX))
}

fn elapsed(since: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    at.signed_duration_since(since).to_std().unwrap_or(Duration::ZERO)
}

/// "CPU", "Memory", "Disk /var", for messages.
pub fn metric_label(metric_name: &str, detail: Option<&str>) -> String {
    let base = match metric_name {
        metric::CONTAINER_CPU | metric::HOST_CPU => "CPU",
        metric::CONTAINER_MEMORY | metric::HOST_MEMORY => "Memory",
        metric::CONTAINER_NET_RX => "Network receive",
        metric::CONTAINER_NET_TX => "Network send",
        metric::HOST_DISK => "Disk",
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
        let key = Key {
            kind: target.kind,
            host: target.host.clone(),
            id: target.id.clone(),
            metric: metric.to_owned(),
            detail: detail.clone(),
        };
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
                let Some(active) = self.active.get_mut(&key) else { return Vec::new() };
                active.alert.value = Some(value);
                if level == Level::Warning && critical_held {
                    active.alert.level = Level::Critical;
                    active.alert.threshold = Some(threshold.critical);
                    active.alert.message = describe(Level::Critical, threshold.critical);
                    active.alert.acknowledged = false;
                    active.alert.top = top;
                    active.last_notified = at;
                    return vec![transition(TransitionKind::Escalated, &active.alert, Some(level), at)];
                }
                if clear_held {
                    let message = format!(
                        "{label} of {} back to {} (below {})",
                        target.label(),
                        format_value(value, threshold.unit),
                        format_value(clear_below, threshold.unit)
                    );
                    return vec![self.close(&key, message, at)].into_iter().flatten().collect();
                }
                if level == Level::Critical && eased_held && !critical_held {
                    active.alert.level = Level::Warning;
                    active.alert.threshold = Some(threshold.warning);
                    active.alert.message = describe(Level::Warning, threshold.warning);
                    return vec![transition(TransitionKind::Eased, &active.alert, Some(level), at)];
                }
                Vec::new()
            }
        }
    }

    fn open(&mut self, key: Key, alert: Alert, at: DateTime<Utc>) -> AlertTransition {
        let change = transition(TransitionKind::Raised, &alert, None, at);
        self.active.insert(key, Active { alert, last_notified: at });
        change
    }

    fn close(&mut self, key: &Key, message: String, at: DateTime<Utc>) -> Option<AlertTransition> {
        let mut active = self.active.remove(key)?;
        let previous = active.alert.level;
        active.alert.level = Level::Resolved;
        active.alert.resolved_at = Some(at);
        active.alert.message = message;
        Some(transition(TransitionKind::Resolved, &active.alert, Some(previous), at))
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
        let key = Key {
            kind: target.kind,
            host: target.host.clone(),
            id: target.id.clone(),
            metric: metric_name.to_owned(),
            detail: None,
        };
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

    fn resolve_event(&mut self, target: &Target, metric_name: &str, message: String, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let key = Key {
            kind: target.kind,
            host: target.host.clone(),
            id: target.id.clone(),
            metric: metric_name.to_owned(),
            detail: None,
        };
        self.close(&key, message, at).into_iter().collect()
    }

    /// Evaluates a running container's figures against its thresholds.
    pub fn container_stats(&mut self, info: &ContainerInfo, stats: &ContainerStats) -> Vec<AlertTransition> {
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
            kind: if stats.source_type == "webdock-vps" { TargetKind::Vps } else { TargetKind::Host },
            host: stats.server_name.clone(),
            id: stats.server_name.clone(),
            name: stats.server_name.clone(),
        };
        let at = stats.timestamp;
        let mut figures = vec![
            (metric::HOST_CPU, None, stats.cpu.percent, top_cpu),
            (metric::HOST_MEMORY, None, stats.memory.percent, top_memory),
        ];
        for disk in &stats.disks {
            figures.push((metric::HOST_DISK, Some(disk.mount.clone()), disk.percent, Vec::new()));
        }
        let mut changes = Vec::new();
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

    fn drop_metric(&mut self, target: &Target, name: &str, detail: Option<String>, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let key = Key {
            kind: target.kind,
            host: target.host.clone(),
            id: target.id.clone(),
            metric: name.to_owned(),
            detail: detail.clone(),
        };
        self.tracks.remove(&key);
        let message = format!("{} of {}: alert turned off", metric_label(name, detail.as_deref()), target.label());
        self.close(&key, message, at).into_iter().collect()
    }

    /// A container stopped being sampled (stopped, paused, removed): its figure alerts end with it.
    pub fn container_not_sampled(&mut self, info: &ContainerInfo, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let target = container_target(info);
        let mut changes = Vec::new();
        for name in [metric::CONTAINER_CPU, metric::CONTAINER_MEMORY, metric::CONTAINER_NET_RX, metric::CONTAINER_NET_TX] {
            let key = Key {
                kind: target.kind,
                host: target.host.clone(),
                id: target.id.clone(),
                metric: name.to_owned(),
                detail: None,
            };
            self.tracks.remove(&key);
            let message = format!("{} of {}: no longer running", metric_label(name, None), target.label());
            changes.extend(self.close(&key, message, at));
        }
        changes
    }

    /// Event alerts from the Docker event stream. `info` is the container as inspected after the event.
    pub fn container_event(&mut self, event: &ContainerEvent, info: Option<&ContainerInfo>) -> Vec<AlertTransition> {
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
                let intentional = lifecycle.last_intent.is_some_and(|when| elapsed(when, at) <= INTENTIONAL_WINDOW);
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
                if event.action == "start" && (lifecycle.died_before || info.is_some_and(|i| i.restart_count > 0)) {
                    lifecycle.restarts.push_back(at);
                }
                lifecycle.died_before = false;
                lifecycle.running = true;
                lifecycle.last_start = Some(at);
                while lifecycle.restarts.front().is_some_and(|first| elapsed(*first, at) > window) {
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
    pub fn container_removed(&mut self, host: &str, id: &str, name: &str, at: DateTime<Utc>) -> Vec<AlertTransition> {
        self.lifecycles.remove(id);
        let keys: Vec<Key> = self
            .active
            .keys()
            .filter(|key| key.kind == TargetKind::Container && key.host == host && key.id == id)
            .cloned()
            .collect();
        self.tracks.retain(|key, _| !(key.kind == TargetKind::Container && key.id == id));
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

    /// A source changed state: unreachable raises a critical alert, up again resolves it.
    pub fn source(&mut self, status: &SourceStatus, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let target = Target {
            kind: if status.kind == "webdock" { TargetKind::Vps } else { TargetKind::Host },
            host: status.name.clone(),
            id: format!("{}/{}", status.name, status.kind),
            name: status.name.clone(),
        };
        let what = match status.kind.as_str() {
            "docker" => "Docker engine",
            "webdock" => "Webdock account",
            _ => "host",
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
                        "{what} of {} unreachable: {}",
                        status.name,
                        status.reason.as_deref().unwrap_or("no reason given")
                    ),
                    at,
                )
            }
            SourceState::Up => self.resolve_event(&target, metric::UNREACHABLE, format!("{what} of {} is back", status.name), at),
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
                while lifecycle.restarts.front().is_some_and(|first| elapsed(*first, now) > window) {
                    lifecycle.restarts.pop_front();
                }
                let up_long = lifecycle.running && lifecycle.last_start.is_some_and(|start| elapsed(start, now) >= STABLE_AFTER);
                up_long.then(|| lifecycle.target.clone().map(|t| (id.clone(), t))).flatten()
            })
            .collect();
        for (id, target) in stable {
            let restarts = self.lifecycles.get(&id).map_or(0, |l| l.restarts.len());
            for name in [metric::EXITED, metric::OOM_KILLED] {
                changes.extend(self.resolve_event(&target, name, format!("{} is running again", target.label()), now));
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
                changes.push(transition(TransitionKind::Reminder, &active.alert, Some(active.alert.level), now));
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
        Some(transition(TransitionKind::Acknowledged, &active.alert, Some(active.alert.level), at))
    }
}

fn transition(kind: TransitionKind, alert: &Alert, previous_level: Option<Level>, at: DateTime<Utc>) -> AlertTransition {
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
