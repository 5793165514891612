//! Event alerts: non-zero exits, OOM kills, failing health checks, restart loops, removed containers, removed
//! hosts and unreachable sources. They are raised at once (no hold) and resolved when the container runs again.

use super::*;

impl Evaluator {
    /// Raises an event alert unless one for the same key is active (then only its value is updated).
    pub(super) fn raise_event(
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
            lines: Vec::new(),
        };
        vec![self.open(key, alert, at)]
    }

    pub(super) fn resolve_event(
        &mut self,
        target: &Target,
        metric_name: &str,
        message: String,
        at: DateTime<Utc>,
    ) -> Vec<AlertTransition> {
        let key = Key::new(target, metric_name, None);
        self.close(&key, message, at).into_iter().collect()
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
                if oom {
                    // Docker sets State.OOMKilled even where it sends no `oom` event (some cgroup v2 set-ups).
                    changes.extend(self.raise_event(
                        &target,
                        metric::OOM_KILLED,
                        Level::Critical,
                        None,
                        format!("{} was killed for running out of memory", target.label()),
                        at,
                    ));
                }
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
        self.container_keys.remove(id);
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
            lines: Vec::new(),
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
        self.container_keys
            .retain(|_, keys| keys.target.host != host);
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
        if status.kind == "caddy" {
            return self.proxy_source(status, at);
        }
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
            "docker" => {
                // Named for what it is: the product it answered as, or a Podman socket never reached yet.
                let product = match status.engine_product {
                    Some(product) => product.name(),
                    None if status.endpoint.contains("podman") => "Podman",
                    None => "Docker",
                };
                format!("{product} engine of {}", status.name)
            }
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

    /// Caddy went away or came back. A warning, not critical: the containers still run and are watched; only
    /// their routes wait (they are pushed again when Caddy is back).
    fn proxy_source(&mut self, status: &SourceStatus, at: DateTime<Utc>) -> Vec<AlertTransition> {
        let target = Target {
            kind: TargetKind::Proxy,
            host: crate::model::LOCAL_HOST.to_owned(),
            id: "caddy".to_owned(),
            name: "Caddy".to_owned(),
        };
        match status.state {
            SourceState::Unreachable => self.raise_event(
                &target,
                metric::UNREACHABLE,
                Level::Warning,
                None,
                format!(
                    "Caddy unreachable: {}",
                    status.reason.as_deref().unwrap_or("no reason given")
                ),
                at,
            ),
            SourceState::Up | SourceState::Degraded => self.resolve_event(
                &target,
                metric::UNREACHABLE,
                "Caddy is back: its routes are pushed again".to_owned(),
                at,
            ),
            SourceState::Connecting => Vec::new(),
        }
    }
}
