//! The human table of `docktray status`. Container names and labels are untrusted: control characters are
//! replaced so they cannot move the cursor or recolour the terminal.

use std::io::{self, Write};

use docktray::model::{ContainerSnapshot, ServerStats, SourceStatus};
use docktray::{Snapshot, SourceState};

pub fn status_table(out: &mut impl Write, snapshot: &Snapshot, colour: bool) -> io::Result<()> {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    };
    let overall = match snapshot.overall {
        docktray::alerts::OverallLevel::Ok => paint("32", "OK"),
        docktray::alerts::OverallLevel::Warning => paint("33", "WARNING"),
        docktray::alerts::OverallLevel::Critical => paint("31", "CRITICAL"),
        docktray::alerts::OverallLevel::Unreachable => paint("2", "UNREACHABLE"),
    };
    writeln!(out, "OVERALL {overall}")?;
    let mut active: Vec<&docktray::alerts::Alert> =
        snapshot.alerts.iter().filter(|a| a.is_active()).collect();
    if !active.is_empty() {
        // Worst first, then oldest first: what to look at comes at the top.
        active.sort_by(|a, b| b.level.cmp(&a.level).then(a.started_at.cmp(&b.started_at)));
        writeln!(out)?;
        writeln!(out, "ALERTS ({} active)", active.len())?;
        for alert in active {
            let level = alert.level.as_str().to_uppercase();
            let level = match alert.level {
                docktray::alerts::Level::Critical => paint("31", &level),
                docktray::alerts::Level::Warning => paint("33", &level),
                _ => level,
            };
            let since = alert.started_at.format("%H:%M:%S");
            let acknowledged = if alert.acknowledged {
                "  (acknowledged)"
            } else {
                ""
            };
            writeln!(
                out,
                "  {level:<8}  since {since}  {}{acknowledged}",
                clean(&alert.message)
            )?;
        }
    }
    forecasts(out, snapshot, &paint)?;
    writeln!(out)?;
    writeln!(out, "SOURCES")?;
    for source in &snapshot.sources {
        writeln!(out, "  {}", source_line(source, &paint))?;
    }
    for host in snapshot.hosts.iter().filter(|h| h.vps.is_none()) {
        writeln!(out, "  {}", host_line(host))?;
    }
    let vps: Vec<&ServerStats> = snapshot.hosts.iter().filter(|h| h.vps.is_some()).collect();
    if !vps.is_empty() {
        writeln!(out)?;
        writeln!(out, "WEBDOCK VPS ({})", vps.len())?;
        for host in vps {
            let text = vps_line(host);
            let text = if host.status == "running" {
                text
            } else {
                paint("31", &text)
            };
            writeln!(out, "  {text}")?;
        }
    }
    let running = snapshot
        .containers
        .iter()
        .filter(|c| c.info.state.has_processes())
        .count();
    writeln!(out)?;
    writeln!(
        out,
        "CONTAINERS ({running} running, {} in all)",
        snapshot.containers.len()
    )?;
    if snapshot.containers.is_empty() {
        return Ok(());
    }
    // With remote hosts, each row says where the container runs ("nas:web"); local-only output is unchanged.
    let several_hosts = snapshot
        .containers
        .iter()
        .any(|c| c.info.host != docktray::model::LOCAL_HOST);
    let rows: Vec<[String; 9]> = snapshot
        .containers
        .iter()
        .map(|container| {
            let mut row = container_row(container);
            if several_hosts {
                row[0] = format!("{}:{}", clean(&container.info.host), row[0]);
            }
            row
        })
        .collect();
    let header = [
        if several_hosts { "HOST:NAME" } else { "NAME" },
        "PROJECT",
        "STATE",
        "CPU %",
        "MEM",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "IMAGE",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "  {}", line(&header.map(str::to_owned)))?;
    for (row, container) in rows.iter().zip(&snapshot.containers) {
        let text = line(row);
        let text = match container.info.state {
            docktray::ContainerState::Running => text,
            docktray::ContainerState::Exited | docktray::ContainerState::Dead
                if container.info.exit_code.unwrap_or(0) != 0 =>
            {
                paint("31", &text)
            }
            _ => paint("2", &text),
        };
        writeln!(out, "  {text}")?;
    }
    Ok(())
}

fn source_line(source: &SourceStatus, paint: &impl Fn(&str, &str) -> String) -> String {
    let state = match source.state {
        SourceState::Up => paint("32", "up"),
        SourceState::Connecting => paint("33", "connecting"),
        SourceState::Degraded => paint("33", "degraded"),
        SourceState::Unreachable => paint("31", "UNREACHABLE"),
    };
    let mut text = format!(
        "{} {} ({}): {state}",
        source.name, source.kind, source.endpoint
    );
    if let Some(engine) = source.engine_label() {
        text.push_str(&format!(", {engine}"));
        if let Some(api) = &source.api_version {
            text.push_str(&format!(" API {api}"));
        }
    }
    if let Some(budget) = &source.rate_limit {
        text.push_str(&format!(", {}", crate::webdock::budget_text(budget)));
    }
    if let Some(method) = source.stats_method {
        text.push_str(&format!(", stats from {}", serde_plain(&method)));
    }
    if let Some(note) = &source.stats_note {
        text.push_str(&format!("\n    no container figures: {note}"));
    }
    if let Some(reason) = &source.reason {
        text.push_str(&format!("\n    {reason}"));
    }
    text
}

fn host_line(host: &ServerStats) -> String {
    format!(
        "{} host: CPU {:.1}% of {} cores, memory {:.1}/{:.1} GB ({:.0}%), disk {:.0}/{:.0} GB ({:.0}%), load {:.2} {:.2} {:.2}",
        clean(&host.server_name),
        host.cpu.percent,
        host.cpu.count,
        host.memory.used_gb,
        host.memory.total_gb,
        host.memory.percent,
        host.disk.used_gb,
        host.disk.total_gb,
        host.disk.percent,
        host.load.one,
        host.load.five,
        host.load.fifteen,
    )
}

/// `shop (Shop, work) running: CPU 25.0% of 2 cores, memory 3.0/4.0 GB (75%), disk 20/80 GB (25%), network
/// 85/100 GB this month (85%), 142 processes`.
fn vps_line(host: &ServerStats) -> String {
    let Some(vps) = &host.vps else {
        return host_line(host);
    };
    let mut text = format!(
        "{} ({}, account {}) {}: CPU {:.1}% of {} cores, memory {:.1}/{:.1} GB ({:.0}%), disk {:.0}/{:.0} GB ({:.0}%)",
        clean(&vps.slug),
        clean(&vps.name),
        clean(&vps.account),
        clean(&vps.status),
        host.cpu.percent,
        host.cpu.count,
        host.memory.used_gb,
        host.memory.total_gb,
        host.memory.percent,
        host.disk.used_gb,
        host.disk.total_gb,
        host.disk.percent,
    );
    if let Some(quota) = &vps.network_quota {
        text.push_str(&format!(
            ", network {:.0}/{:.0} GB this month ({:.0}%)",
            quota.used_gb, quota.allowed_gb, quota.percent
        ));
    }
    if let Some(processes) = vps.processes {
        text.push_str(&format!(", {processes} processes"));
    }
    if !vps.webdock_usage_status.is_empty() {
        let levels: Vec<String> = vps
            .webdock_usage_status
            .iter()
            .map(|(k, v)| format!("{} {}", clean(k), clean(v)))
            .collect();
        text.push_str(&format!(" [Webdock: {}]", levels.join(", ")));
    }
    text
}

fn container_row(container: &ContainerSnapshot) -> [String; 9] {
    let info = &container.info;
    let (cpu, memory, memory_percent, net, block) = match &container.stats {
        Some(s) => (
            format!("{:.1}", s.cpu_percent),
            format!(
                "{} / {}",
                bytes(s.memory_bytes as f64),
                bytes(s.memory_limit_bytes as f64)
            ),
            format!("{:.1}", s.memory_percent),
            format!(
                "{} / {}",
                bytes(s.net_rx_bytes as f64),
                bytes(s.net_tx_bytes as f64)
            ),
            format!(
                "{} / {}",
                bytes(s.block_read_bytes as f64),
                bytes(s.block_write_bytes as f64)
            ),
        ),
        None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
    };
    let state = match info.health {
        Some(health) => format!("{} ({})", info.state.as_str(), serde_plain(&health)),
        None => info.state.as_str().to_owned(),
    };
    let state = match (info.state, info.exit_code) {
        (docktray::ContainerState::Exited, Some(code)) => format!("{state} ({code})"),
        _ => state,
    };
    [
        clean(&info.name),
        // A compose project, else the Podman pod the container is grouped in.
        match (&info.compose_project, &info.pod) {
            (Some(project), _) => clean(project),
            (None, Some(pod)) => format!("pod:{}", clean(pod)),
            (None, None) => "-".to_owned(),
        },
        state,
        cpu,
        memory,
        memory_percent,
        net,
        block,
        clean(&info.image),
    ]
}

/// Serialises a unit enum to its JSON name without quotes.
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// Untrusted text for a terminal: control characters become U+FFFD.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Bytes in the units docker stats uses (KiB/MiB/GiB, with B for small values).
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

/// Forecasts with a projection (and those at their limit), soonest first; the others in one line.
fn forecasts(
    out: &mut impl Write,
    snapshot: &Snapshot,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    use docktray::model::{ForecastKind, ForecastState};
    if snapshot.forecasts.is_empty() {
        return Ok(());
    }
    let mut projected: Vec<&docktray::model::Forecast> = snapshot
        .forecasts
        .iter()
        .filter(|f| f.hours_left.is_some())
        .collect();
    projected.sort_by(|a, b| {
        a.hours_left
            .unwrap_or(f64::MAX)
            .total_cmp(&b.hours_left.unwrap_or(f64::MAX))
    });
    writeln!(out)?;
    writeln!(
        out,
        "FORECASTS ({} projected of {})",
        projected.len(),
        snapshot.forecasts.len()
    )?;
    for forecast in projected {
        let what = match (forecast.kind, forecast.detail.as_deref()) {
            (ForecastKind::Disk, Some(mount)) => format!("disk {mount}"),
            (ForecastKind::Disk, None) => "disk".to_owned(),
            (ForecastKind::Memory, _) => "memory".to_owned(),
            (ForecastKind::NetworkQuota, _) => "monthly traffic".to_owned(),
        };
        let text = format!(
            "{} {what}: {}",
            clean(&forecast.target.label()),
            clean(&forecast.summary)
        );
        let text = match forecast.state {
            ForecastState::AtLimit => paint("31", &text),
            _ if forecast.hours_left.is_some_and(|h| h < 24.0) => paint("33", &text),
            _ => text,
        };
        writeln!(out, "  {text}")?;
    }
    let learning = snapshot
        .forecasts
        .iter()
        .filter(|f| f.state == ForecastState::Learning)
        .count();
    if learning > 0 {
        writeln!(out, "  ({learning} still learning: too little history yet)")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units_follow_docker_stats() {
        assert_eq!(bytes(512.0), "512B");
        assert_eq!(bytes(64.0 * 1024.0 * 1024.0), "64.00MiB");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.50GiB");
    }

    fn alert(
        level: docktray::alerts::Level,
        message: &str,
        resolved: bool,
    ) -> docktray::alerts::Alert {
        docktray::alerts::Alert {
            id: 1,
            target: docktray::alerts::Target {
                kind: docktray::alerts::TargetKind::Container,
                host: "local".into(),
                id: "abc".into(),
                name: "web".into(),
            },
            metric: "container_cpu_percent".into(),
            detail: None,
            level,
            value: Some(97.0),
            threshold: Some(90.0),
            unit: "%".into(),
            message: message.into(),
            started_at: chrono::Utc::now(),
            resolved_at: resolved.then(chrono::Utc::now),
            acknowledged: false,
            top: Vec::new(),
            lines: Vec::new(),
        }
    }

    #[test]
    fn the_table_lists_active_alerts_worst_first_as_plain_text() {
        use docktray::alerts::Level;
        let snapshot = Snapshot {
            taken_at: chrono::Utc::now(),
            overall: docktray::alerts::OverallLevel::Critical,
            alerts: vec![
                alert(Level::Warning, "memory of db 85 % (warning at 80 %)", false),
                alert(
                    Level::Critical,
                    "CPU of web\u{1b}[2J 97 % (critical at 90 %)",
                    false,
                ),
                alert(Level::Critical, "an old one", true),
            ],
            sources: Vec::new(),
            hosts: Vec::new(),
            containers: Vec::new(),
            services: Vec::new(),
            service_problems: Vec::new(),
            proxy: None,
            forecasts: Vec::new(),
            channels: Vec::new(),
        };
        let mut out = Vec::new();
        status_table(&mut out, &snapshot, false).expect("render");
        let text = String::from_utf8(out).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| *l == "ALERTS (2 active)")
            .unwrap_or_else(|| panic!("an alerts section: {text}"));
        assert!(lines[at + 1].starts_with("  CRITICAL"), "{text}");
        assert!(
            lines[at + 1].contains("CPU of web\u{fffd}[2J 97 %"),
            "{text}"
        );
        assert!(lines[at + 2].starts_with("  WARNING"), "{text}");
        assert!(
            !text.contains("an old one"),
            "resolved alerts are not listed: {text}"
        );
        assert!(text.starts_with("OVERALL CRITICAL"), "{text}");
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(clean("a\u{1b}[2Jb"), "a\u{fffd}[2Jb");
    }
}
