//! Which thresholds apply to a target: the defaults, changed by the overrides that match it. Later overrides
//! win over earlier ones, so a config can go from general (a label) to particular (one container).

use std::time::Duration;

use crate::config::{Config, Override, Threshold};
use crate::model::ContainerInfo;

/// A threshold ready to evaluate: enabled, with its hold duration and unit resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective {
    pub warning: f64,
    pub critical: f64,
    pub hold: Duration,
    pub unit: &'static str,
    /// Lower values are worse (a projected time until a disk is full): a level is raised at or below its line
    /// and clears above `warning x (1 + hysteresis)`.
    pub lower_is_worse: bool,
}

/// The thresholds part of a validated config.
#[derive(Debug, Clone)]
pub struct Rules {
    config: Config,
}

impl Rules {
    pub fn new(config: &Config) -> Self {
        Self {
            config: config.clone(),
        }
    }

    /// The threshold of `metric` for a container, or `None` when the metric is disabled for it.
    pub fn for_container(&self, container: &ContainerInfo, metric: &str) -> Option<Effective> {
        let base = self.config.thresholds.get(metric)?;
        let merged = self
            .config
            .overrides
            .iter()
            .filter(|rule| matches_container(rule, container))
            .filter_map(|rule| rule.thresholds.get(metric))
            .fold(base, |threshold, change| threshold.with(change));
        self.effective(metric, merged)
    }

    /// The threshold of `metric` for a host's own figures, or `None` when disabled.
    pub fn for_host(&self, host: &str, metric: &str) -> Option<Effective> {
        let base = self.config.thresholds.get(metric)?;
        let merged = self
            .config
            .overrides
            .iter()
            .filter(|rule| rule.host.as_deref() == Some(host))
            .filter_map(|rule| rule.thresholds.get(metric))
            .fold(base, |threshold, change| threshold.with(change));
        self.effective(metric, merged)
    }

    /// The `[forecasts]` settings (horizons, holds).
    pub fn forecasts(&self) -> &crate::config::ForecastSettings {
        &self.config.forecasts
    }

    fn effective(&self, metric: &str, threshold: Threshold) -> Option<Effective> {
        threshold.enabled.then(|| Effective {
            warning: threshold.warning,
            critical: threshold.critical,
            hold: threshold.hold.unwrap_or(self.config.alerts.hold),
            unit: self.config.thresholds.unit(metric).unwrap_or(""),
            lower_is_worse: false,
        })
    }
}

fn matches_container(rule: &Override, container: &ContainerInfo) -> bool {
    if let Some(name) = &rule.container {
        return container.name == *name;
    }
    if let Some(service) = &rule.service {
        return container.compose_service.as_deref() == Some(service.as_str());
    }
    if let Some(label) = &rule.label {
        return match label.split_once('=') {
            Some((key, value)) => container.labels.get(key).is_some_and(|v| v == value),
            None => container.labels.contains_key(label.as_str()),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::ContainerState;

    fn container(name: &str, service: Option<&str>, labels: &[(&str, &str)]) -> ContainerInfo {
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
            compose_service: service.map(Into::into),
            pod: None,
            ports: vec![],
            created: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            ip_addresses: Default::default(),
            pid: None,
        }
    }

    fn rules(text: &str) -> Rules {
        Rules::new(&Config::parse(text, Path::new("test.toml")).expect("valid config"))
    }

    #[test]
    fn defaults_apply_without_overrides() {
        let rules = rules("");
        let cpu = rules
            .for_container(&container("web", None, &[]), "container_cpu_percent")
            .expect("enabled");
        assert_eq!(
            (cpu.warning, cpu.critical, cpu.hold),
            (70.0, 90.0, Duration::from_secs(10))
        );
        assert_eq!(cpu.unit, "%");
        assert_eq!(
            rules
                .for_host("local", "host_disk_percent")
                .map(|t| t.critical),
            Some(95.0)
        );
    }

    #[test]
    fn overrides_by_name_service_label_and_host() {
        let rules = rules(
            r#"
            [thresholds.container_cpu_percent]
            warning = 50
            critical = 60
            hold = "3s"
            [[overrides]]
            label = "tier=batch"
            thresholds.container_cpu_percent = { warning = 90, critical = 99 }
            [[overrides]]
            service = "db"
            thresholds.container_memory_percent = { enabled = false }
            [[overrides]]
            container = "special"
            thresholds.container_cpu_percent = { critical = 100 }
            [[overrides]]
            host = "local"
            thresholds.host_disk_percent = { warning = 90, critical = 97 }
            "#,
        );
        let plain = container("web", None, &[]);
        assert_eq!(
            rules
                .for_container(&plain, "container_cpu_percent")
                .map(|t| t.hold),
            Some(Duration::from_secs(3))
        );
        let batch = container("job", None, &[("tier", "batch")]);
        assert_eq!(
            rules
                .for_container(&batch, "container_cpu_percent")
                .map(|t| t.critical),
            Some(99.0)
        );
        let db = container("db-1", Some("db"), &[]);
        assert_eq!(rules.for_container(&db, "container_memory_percent"), None);
        assert!(rules.for_container(&db, "container_cpu_percent").is_some());
        let special = container("special", None, &[("tier", "batch")]);
        let cpu = rules
            .for_container(&special, "container_cpu_percent")
            .expect("enabled");
        assert_eq!(
            (cpu.warning, cpu.critical),
            (90.0, 100.0),
            "later overrides refine earlier ones"
        );
        assert_eq!(
            rules
                .for_host("local", "host_disk_percent")
                .map(|t| t.warning),
            Some(90.0)
        );
        assert_eq!(
            rules
                .for_host("nas", "host_disk_percent")
                .map(|t| t.warning),
            Some(80.0)
        );
    }

    #[test]
    fn disabled_metric_has_no_threshold() {
        let rules =
            rules("[thresholds.host_cpu_percent]\nwarning = 80\ncritical = 95\nenabled = false\n");
        assert_eq!(rules.for_host("local", "host_cpu_percent"), None);
    }
}
