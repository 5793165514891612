//! Names of metrics and values for people: messages, notifications, the tray menu.

use super::metric;

/// "CPU", "Memory", "Disk /var", for messages.
pub fn metric_label(metric_name: &str, detail: Option<&str>) -> String {
    match (metric_name, detail) {
        (metric::DISK_FULL_FORECAST, Some(mount)) => return format!("Disk {mount} filling up"),
        (metric::LOG_PATTERN, Some(rule)) => return format!("Log pattern \"{rule}\""),
        _ => {}
    }
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
        metric::DISK_FULL_FORECAST => "Disk filling up",
        metric::MEMORY_LIMIT_FORECAST => "Memory growing",
        metric::NETWORK_QUOTA_FORECAST => "Monthly traffic growing",
        metric::LOG_PATTERN => "Log pattern",
        other => other,
    };
    match detail {
        Some(detail) => format!("{base} {detail}"),
        None => base.to_owned(),
    }
}

pub fn format_value(value: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{value:.1} %")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// A span of hours for people: "45 min", "9 h", "about 3 days", "about 5 weeks".
pub fn format_hours(hours: f64) -> String {
    if !hours.is_finite() {
        return "never".to_owned();
    }
    let hours = hours.max(0.0);
    if hours < 1.0 {
        format!("{} min", (hours * 60.0).round().max(1.0))
    } else if hours < 48.0 {
        format!("{} h", hours.round())
    } else if hours < 24.0 * 21.0 {
        format!("about {} days", (hours / 24.0).round())
    } else {
        format!("about {} weeks", (hours / 168.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_read_as_people_say_them() {
        assert_eq!(format_hours(0.25), "15 min");
        assert_eq!(format_hours(9.2), "9 h");
        assert_eq!(format_hours(72.0), "about 3 days");
        assert_eq!(format_hours(24.0 * 35.0), "about 5 weeks");
        assert_eq!(format_hours(f64::INFINITY), "never");
        assert_eq!(
            metric_label(metric::DISK_FULL_FORECAST, Some("/var")),
            "Disk /var filling up"
        );
    }
}
