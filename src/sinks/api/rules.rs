//! `docktray prometheus rules`: Prometheus alerting rules equivalent to the configured thresholds and
//! overrides, on the series `/metrics` serves, with each threshold's hold as `for:`. A central Prometheus with
//! Alertmanager then alerts as Docktray does. Pure: the config in, the YAML text out.

use std::fmt::Write;
use std::time::Duration;

use crate::config::{Config, Threshold};

/// How each threshold reads in PromQL: the expression of the value, the selector label its overrides match.
struct Metric {
    key: &'static str,
    /// `{sel}` is replaced by the label matchers.
    expr: &'static str,
    summary: &'static str,
    container: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        key: "container_cpu_percent",
        expr: "rate(container_cpu_usage_seconds_total{sel}[{window}]) * 100",
        summary: "CPU of {{ $labels.name }} on {{ $labels.host }} at {{ $value | printf \"%.0f\" }} %",
        container: true,
    },
    Metric {
        key: "container_memory_percent",
        expr: "container_memory_working_set_bytes{sel} / container_spec_memory_limit_bytes{sel} * 100",
        summary: "Memory of {{ $labels.name }} on {{ $labels.host }} at {{ $value | printf \"%.0f\" }} % of its limit",
        container: true,
    },
    Metric {
        key: "container_net_rx_mb_per_s",
        expr: "rate(container_network_receive_bytes_total{sel}[{window}]) / 1e6",
        summary: "{{ $labels.name }} on {{ $labels.host }} receives {{ $value | printf \"%.1f\" }} MB/s",
        container: true,
    },
    Metric {
        key: "container_net_tx_mb_per_s",
        expr: "rate(container_network_transmit_bytes_total{sel}[{window}]) / 1e6",
        summary: "{{ $labels.name }} on {{ $labels.host }} sends {{ $value | printf \"%.1f\" }} MB/s",
        container: true,
    },
    Metric {
        key: "host_cpu_percent",
        expr: "docktray_host_cpu_percent{sel}",
        summary: "CPU of {{ $labels.host }} at {{ $value | printf \"%.0f\" }} %",
        container: false,
    },
    Metric {
        key: "host_memory_percent",
        expr: "docktray_host_memory_percent{sel}",
        summary: "Memory of {{ $labels.host }} at {{ $value | printf \"%.0f\" }} %",
        container: false,
    },
    Metric {
        key: "host_disk_percent",
        expr: "docktray_host_disk_percent{sel}",
        summary: "Disk of {{ $labels.host }} at {{ $value | printf \"%.0f\" }} %",
        container: false,
    },
    Metric {
        key: "vps_network_quota_percent",
        expr: "docktray_vps_network_quota_percent{sel}",
        summary: "{{ $labels.host }} used {{ $value | printf \"%.0f\" }} % of its monthly traffic",
        container: false,
    },
];

/// One override as label matchers, or `None` for a selector the series cannot express (a container label
/// other than the compose ones).
fn matchers(rule: &crate::config::Override, container: bool) -> Option<String> {
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    match (container, rule) {
        (true, r) if r.container.is_some() => {
            Some(format!("name=\"{}\"", quote(r.container.as_deref()?)))
        }
        (true, r) if r.service.is_some() => Some(format!(
            "container_label_com_docker_compose_service=\"{}\"",
            quote(r.service.as_deref()?)
        )),
        (true, r) => {
            let (key, value) = r.label.as_deref()?.split_once('=')?;
            let key = match key {
                "com.docker.compose.service" => "container_label_com_docker_compose_service",
                "com.docker.compose.project" => "container_label_com_docker_compose_project",
                _ => return None,
            };
            Some(format!("{key}=\"{}\"", quote(value)))
        }
        (false, r) => Some(format!("host=\"{}\"", quote(r.host.as_deref()?))),
    }
}

/// The inverse matcher (`name!="web"`), to keep a target out of the general rule.
fn negated(matcher: &str) -> String {
    matcher.replacen("=\"", "!=\"", 1)
}

/// The rules as a Prometheus rule file. `window` is the range of `rate()` (at least two scrape intervals).
pub fn rules(config: &Config, window: Duration) -> String {
    let window = crate::util::format_duration(window);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Prometheus alerting rules made by `docktray prometheus rules` from the thresholds and overrides of\n\
         # the Docktray config. Each alert holds for the threshold's hold, as Docktray's own alerts do.\n\
         groups:\n  - name: docktray\n    rules:"
    );
    for metric in METRICS {
        let Some(base) = config.thresholds.get(metric.key) else {
            continue;
        };
        // Overrides that apply to this metric's kind of target, in config order (later ones win, so they are
        // kept out of earlier rules).
        let specific: Vec<(String, Threshold)> = config
            .overrides
            .iter()
            .filter(|rule| rule.host.is_some() != metric.container)
            .filter_map(|rule| {
                let change = rule.thresholds.get(metric.key)?;
                Some((matchers(rule, metric.container)?, base.with(change)))
            })
            .collect();
        let general_out: Vec<String> = specific.iter().map(|(m, _)| negated(m)).collect();
        let mut targets: Vec<(Vec<String>, Threshold, String)> =
            vec![(general_out, base, String::new())];
        for (index, (matcher, threshold)) in specific.iter().enumerate() {
            let mut selector = vec![matcher.clone()];
            selector.extend(specific[index + 1..].iter().map(|(m, _)| negated(m)));
            targets.push((selector, *threshold, format!("_override{}", index + 1)));
        }
        for (selector, threshold, suffix) in targets {
            if !threshold.enabled {
                continue;
            }
            let hold = threshold.hold.unwrap_or(config.alerts.hold);
            let labels = if selector.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", selector.join(", "))
            };
            let value = metric
                .expr
                .replace("{sel}", &labels)
                .replace("{window}", &window);
            for (severity, line) in [
                ("warning", threshold.warning),
                ("critical", threshold.critical),
            ] {
                let bound = if severity == "warning" {
                    format!("({value}) > {line} and ({value}) <= {}", threshold.critical)
                } else {
                    format!("({value}) > {line}")
                };
                write_rule(
                    &mut out,
                    &format!("docktray_{}{suffix}_{severity}", metric.key),
                    &bound,
                    hold,
                    severity,
                    metric.summary,
                );
            }
        }
    }
    write_rule(
        &mut out,
        "docktray_source_unreachable",
        "docktray_source_up == 0",
        config.alerts.hold,
        "critical",
        "{{ $labels.kind }} source {{ $labels.source }} is unreachable",
    );
    out
}

fn write_rule(
    out: &mut String,
    name: &str,
    expr: &str,
    hold: Duration,
    severity: &str,
    summary: &str,
) {
    let single = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let _ = writeln!(out, "      - alert: {name}");
    let _ = writeln!(out, "        expr: {}", single(expr));
    let _ = writeln!(out, "        for: {}", prometheus_duration(hold));
    let _ = writeln!(out, "        labels:\n          severity: {severity}");
    let _ = writeln!(
        out,
        "        annotations:\n          summary: {}",
        single(summary)
    );
}

/// `1m30s`, `10s`, `500ms`: Prometheus's duration syntax.
fn prometheus_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut seconds = ms / 1000;
    let mut text = String::new();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            let _ = write!(text, "{}{unit}", seconds / size);
            seconds %= size;
        }
    }
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_overrides_become_rules() {
        let config = Config::parse(
            r#"
            [alerts]
            hold = "15s"
            [thresholds.container_cpu_percent]
            warning = 50
            critical = 80
            hold = "30s"
            [[overrides]]
            container = "batch"
            thresholds = { container_cpu_percent = { critical = 99 } }
            "#,
            std::path::Path::new("c.toml"),
        )
        .expect("config");
        let text = rules(&config, Duration::from_secs(60));
        assert!(
            text.contains("alert: docktray_container_cpu_percent_critical"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"rate(container_cpu_usage_seconds_total{name!="batch"}[1m]) * 100) > 80"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"rate(container_cpu_usage_seconds_total{name="batch"}[1m]) * 100) > 99"#
            ),
            "{text}"
        );
        assert!(text.contains("for: 30s"), "{text}");
        assert!(text.contains("for: 15s"), "{text}");
        assert_eq!(prometheus_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(prometheus_duration(Duration::from_millis(1500)), "1500ms");
    }
}
