//! Numeric alerts: a value must stay above its threshold for the hold duration to raise a level, and below the
//! warning line minus the hysteresis for as long to clear it. Container, host and VPS figures come in here.

use super::*;

/// Messages that replace the generic ones ("CPU of web at 95.0 %: above ..."), for readings that say more in
/// their own words (forecasts).
#[derive(Debug, Clone, Default)]
pub(super) struct Texts {
    /// The current state, for a raised, escalated or eased alert ("Disk / of local full in about 3 days").
    pub now: Option<String>,
    /// The message of the alert once it clears.
    pub cleared: Option<String>,
}

impl Evaluator {
    /// Evaluates one numeric reading.
    pub fn observe(&mut self, observation: Reading) -> Vec<AlertTransition> {
        self.observe_with(observation, Texts::default())
    }

    /// [`Evaluator::observe`] with messages of the reading's own.
    pub(super) fn observe_with(
        &mut self,
        observation: Reading,
        texts: Texts,
    ) -> Vec<AlertTransition> {
        let key = Key::new(
            observation.target,
            observation.metric,
            observation.detail.clone(),
        );
        self.observe_keyed(&key, observation, texts)
    }

    /// Judges a reading whose key the caller already holds (a container's keys are made once, not per sweep).
    fn observe_keyed(
        &mut self,
        key: &Key,
        observation: Reading,
        texts: Texts,
    ) -> Vec<AlertTransition> {
        let Reading {
            target,
            metric,
            detail,
            value,
            threshold,
            top,
            at,
        } = observation;
        let hysteresis = self.settings.hysteresis_percent / 100.0;
        // "Above" and "below" in the direction of worse: for a falling-is-worse figure the lines are crossed
        // from above, and it clears above the warning line plus the hysteresis.
        let lower = threshold.lower_is_worse;
        let clear_below = if lower {
            threshold.warning * (1.0 + hysteresis)
        } else {
            threshold.warning * (1.0 - hysteresis)
        };
        let worse_or_at = |line: f64| if lower { value <= line } else { value >= line };
        // Looked up before inserting: the key is cloned only for a new track, not for every reading.
        if !self.tracks.contains_key(key) {
            self.tracks.insert(key.clone(), Track::default());
        }
        let Some(track) = self.tracks.get_mut(key) else {
            return Vec::new();
        };
        let mark = |slot: &mut Option<DateTime<Utc>>, condition: bool| {
            if condition {
                slot.get_or_insert(at);
            } else {
                *slot = None;
            }
        };
        mark(&mut track.above_warning, worse_or_at(threshold.warning));
        mark(&mut track.above_critical, worse_or_at(threshold.critical));
        mark(&mut track.below_critical, !worse_or_at(threshold.critical));
        mark(
            &mut track.below_clear,
            if lower {
                value > clear_below
            } else {
                value < clear_below
            },
        );
        let hold = threshold.hold;
        let critical_held = held(track.above_critical, at, hold);
        let warning_held = held(track.above_warning, at, hold);
        let clear_held = held(track.below_clear, at, hold);
        let eased_held = held(track.below_critical, at, hold);

        // Only a message needs the label: most readings change nothing and format nothing.
        let label = || metric_label(metric, detail.as_deref());
        let side = if lower { "below" } else { "above" };
        let describe = |level: Level, line: f64| match &texts.now {
            Some(now) => format!(
                "{now} (within the {} horizon of {})",
                level.as_str(),
                if threshold.unit == "h" {
                    super::super::labels::format_hours(line)
                } else {
                    format_value(line, threshold.unit)
                }
            ),
            None => format!(
                "{} of {} at {}: {side} the {} threshold of {}",
                label(),
                target.label(),
                format_value(value, threshold.unit),
                level.as_str(),
                format_value(line, threshold.unit)
            ),
        };
        // A reading without a finite value (a forecast whose trend turned) is never stored as the alert's value.
        let shown_value = value.is_finite().then_some(value);
        let current = self.active.get(key).map(|a| a.alert.level);
        match current {
            None => {
                let (level, line) = if critical_held {
                    (Level::Critical, threshold.critical)
                } else if warning_held {
                    (Level::Warning, threshold.warning)
                } else {
                    return Vec::new();
                };
                let message = describe(level, line);
                let alert = Alert {
                    id: self.next_id(at),
                    target: target.clone(),
                    metric: metric.to_owned(),
                    detail,
                    level,
                    value: shown_value,
                    threshold: Some(line),
                    unit: threshold.unit.to_owned(),
                    message,
                    started_at: at,
                    resolved_at: None,
                    acknowledged: false,
                    top,
                    lines: Vec::new(),
                };
                vec![self.open(key.clone(), alert, at)]
            }
            Some(level) => {
                let Some(active) = self.active.get_mut(key) else {
                    return Vec::new();
                };
                if shown_value.is_some() {
                    active.alert.value = shown_value;
                }
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
                    let message = texts.cleared.clone().unwrap_or_else(|| {
                        format!(
                            "{} of {} back to {} ({} {})",
                            label(),
                            target.label(),
                            format_value(value, threshold.unit),
                            if lower { "above" } else { "below" },
                            format_value(clear_below, threshold.unit)
                        )
                    });
                    return vec![self.close(key, message, at)]
                        .into_iter()
                        .flatten()
                        .collect();
                }
                // Eased only while the value sits in the warning band; a value on its way to clearing stays
                // critical until it clears, so a falling value gives one transition, not two.
                if level == Level::Critical
                    && eased_held
                    && !critical_held
                    && worse_or_at(threshold.warning)
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

    /// Evaluates a running container's figures against its thresholds.
    pub fn container_stats(
        &mut self,
        info: &ContainerInfo,
        stats: &ContainerStats,
    ) -> Vec<AlertTransition> {
        let keys = self.keys_of(info);
        let at = stats.sampled_at;
        let values = [
            stats.cpu_percent,
            stats.memory_percent,
            stats.net_rx_bytes_per_s / 1e6,
            stats.net_tx_bytes_per_s / 1e6,
        ];
        let mut changes = Vec::new();
        for ((name, key), value) in CONTAINER_METRICS.into_iter().zip(&keys.metrics).zip(values) {
            match self.rules.for_container(info, name) {
                Some(threshold) => changes.extend(self.observe_keyed(
                    key,
                    Reading {
                        target: &keys.target,
                        metric: name,
                        detail: None,
                        value,
                        threshold,
                        top: Vec::new(),
                        at,
                    },
                    Texts::default(),
                )),
                // Disabled now: an alert raised before the change is over.
                None => changes.extend(self.drop_keyed(key, &keys.target, name, None, at)),
            }
        }
        changes
    }

    /// A container's target and the keys of its four figures, made once per container (and again when its
    /// name or host changes) instead of three strings copied and hashed per figure per sweep.
    fn keys_of(&mut self, info: &ContainerInfo) -> Arc<ContainerKeys> {
        if let Some(keys) = self.container_keys.get(info.id.as_str()) {
            if keys.target.name == info.name && keys.target.host == info.host {
                return Arc::clone(keys);
            }
        }
        let target = container_target(info);
        let keys = Arc::new(ContainerKeys {
            metrics: CONTAINER_METRICS.map(|name| Key::new(&target, name, None)),
            target,
        });
        self.container_keys
            .insert(info.id.clone(), Arc::clone(&keys));
        keys
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
                Some(threshold) => changes.extend(self.observe(Reading {
                    target: &target,
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

    pub(super) fn drop_metric(
        &mut self,
        target: &Target,
        name: &str,
        detail: Option<String>,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let key = Key::new(target, name, detail.clone());
        self.drop_keyed(&key, target, name, detail, at)
    }

    /// [`Evaluator::drop_metric`] with the key at hand; the message is written only when an alert ends.
    fn drop_keyed(
        &mut self,
        key: &Key,
        target: &Target,
        name: &str,
        detail: Option<String>,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        self.tracks.remove(key);
        if !self.active.contains_key(key) {
            return Vec::new();
        }
        let message = format!(
            "{} of {}: alert turned off",
            metric_label(name, detail.as_deref()),
            target.label()
        );
        self.close(key, message, at).into_iter().collect()
    }

    /// A container stopped being sampled (stopped, paused, removed): its figure alerts end with it.
    pub fn container_not_sampled(
        &mut self,
        info: &ContainerInfo,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let target = container_target(info);
        let mut changes = Vec::new();
        for name in CONTAINER_METRICS {
            let key = Key::new(&target, name, None);
            self.tracks.remove(&key);
            if !self.active.contains_key(&key) {
                continue;
            }
            let message = format!(
                "{} of {}: no longer running",
                metric_label(name, None),
                target.label()
            );
            changes.extend(self.close(&key, message, at));
        }
        changes
    }
}
