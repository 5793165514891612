//! Names of metrics and values for people: messages, notifications, the tray menu.

use super::metric;

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

pub fn format_value(value: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{value:.1} %")
    } else {
        format!("{value:.1} {unit}")
    }
}
