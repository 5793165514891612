//! What the tray shows, as pure data: the colour (overall level), a badge with the number of active alerts,
//! the tooltip (one line per host) and the menu entries for active alerts. The desktop shell only turns this
//! into pixels and menu items, so all of it is testable without a display.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::alerts::{Alert, Level, OverallLevel};
use crate::model::{Snapshot, SourceState};

/// Everything the tray needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TrayState {
    pub level: OverallLevel,
    /// Active, unacknowledged warning and critical alerts.
    pub active_alerts: usize,
    pub tooltip: String,
    /// One menu entry per active alert, worst first.
    pub entries: Vec<TrayEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TrayEntry {
    pub alert_id: u64,
    pub level: Level,
    pub label: String,
    /// Where the window should open: `container:<host>/<id>` or `host:<name>`.
    pub route: String,
}

/// Menu entries are capped so a storm cannot make the menu taller than the screen.
pub const MAX_ENTRIES: usize = 10;

pub fn tray_state(snapshot: &Snapshot) -> TrayState {
    let mut per_host: BTreeMap<String, HostLine> = BTreeMap::new();
    for source in &snapshot.sources {
        let line = per_host.entry(source.name.clone()).or_default();
        if source.kind != "host" && source.state == SourceState::Unreachable {
            line.unreachable = true;
        }
    }
    for container in &snapshot.containers {
        let line = per_host.entry(container.info.host.clone()).or_default();
        if container.info.state.has_processes() {
            line.running += 1;
        }
    }
    let active: Vec<&Alert> = snapshot.alerts.iter().filter(|a| a.is_active()).collect();
    for alert in &active {
        let line = per_host.entry(alert.target.host.clone()).or_default();
        match alert.level {
            Level::Critical => line.critical += 1,
            Level::Warning => line.warning += 1,
            _ => {}
        }
    }
    let tooltip_lines: Vec<String> = per_host
        .iter()
        .map(|(host, line)| line.describe(host))
        .collect();
    let tooltip = if tooltip_lines.is_empty() {
        "Docktray: starting".to_owned()
    } else {
        tooltip_lines.join("\n")
    };
    let mut sorted: Vec<&Alert> = active.iter().copied().filter(|a| !a.acknowledged).collect();
    sorted.sort_by(|a, b| b.level.cmp(&a.level).then(a.started_at.cmp(&b.started_at)));
    let entries = sorted
        .iter()
        .take(MAX_ENTRIES)
        .map(|alert| TrayEntry {
            alert_id: alert.id,
            level: alert.level,
            label: menu_label(alert),
            route: route(alert),
        })
        .collect();
    TrayState {
        level: snapshot.overall,
        active_alerts: sorted.len(),
        tooltip,
        entries,
    }
}

#[derive(Debug, Default)]
struct HostLine {
    running: usize,
    warning: usize,
    critical: usize,
    unreachable: bool,
}

impl HostLine {
    fn describe(&self, host: &str) -> String {
        if self.unreachable {
            return format!("{host}: unreachable");
        }
        let mut parts = vec![format!("{} running", self.running)];
        if self.critical > 0 {
            parts.push(format!("{} critical", self.critical));
        }
        if self.warning > 0 {
            parts.push(format!("{} warning", self.warning));
        }
        format!("{host}: {}", parts.join(", "))
    }
}

/// Short, menu-sized: "CRITICAL web on local: CPU 97.5 %".
fn menu_label(alert: &Alert) -> String {
    let what = crate::alerts::labels::metric_label(&alert.metric, alert.detail.as_deref());
    let value = match alert.value {
        Some(value) if !alert.unit.is_empty() => format!(" {value:.1} {}", alert.unit),
        _ => String::new(),
    };
    let text = format!("{}: {what}{value}", alert.target.label());
    // Menu labels are plain text, but keep them one short line whatever a container is called.
    let text: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
    format!(
        "{} {text}",
        if alert.level == Level::Critical {
            "●"
        } else {
            "○"
        }
    )
}

fn route(alert: &Alert) -> String {
    route_for(&alert.target)
}

/// The window route that shows a target: `container:<host>/<id>`, `host:<name>` or `services` (the proxy).
pub fn route_for(target: &crate::alerts::Target) -> String {
    match target.kind {
        crate::alerts::TargetKind::Container => format!("container:{}/{}", target.host, target.id),
        crate::alerts::TargetKind::Proxy => "services".to_owned(),
        crate::alerts::TargetKind::Host | crate::alerts::TargetKind::Vps => {
            format!("host:{}", target.host)
        }
    }
}

/// RGB of each level, chosen to read on light and dark panels and for the common colour blindnesses
/// (the badge count and the ring shape carry the same information as the colour).
pub fn level_colour(level: OverallLevel) -> [u8; 3] {
    match level {
        OverallLevel::Ok => [0x2e, 0xa0, 0x4f],
        OverallLevel::Warning => [0xf0, 0xb0, 0x00],
        OverallLevel::Critical => [0xe0, 0x2f, 0x2f],
        OverallLevel::Unreachable => [0x8a, 0x8f, 0x98],
    }
}

/// Draws the tray icon: a filled disc in the level's colour with a white "whale" bar, and, when alerts are
/// active, a dark badge with their count (1-9, then "+") in the top-right corner. RGBA, `size` x `size`.
pub fn icon_rgba(level: OverallLevel, active_alerts: usize, size: u32) -> Vec<u8> {
    let size = size.max(16);
    let mut pixels = vec![0u8; (size * size * 4) as usize];
    let [r, g, b] = level_colour(level);
    let centre = (size as f32 - 1.0) / 2.0;
    let radius = size as f32 * 0.46;
    let mut put = |x: u32, y: u32, colour: [u8; 4]| {
        if x < size && y < size {
            let i = ((y * size + x) * 4) as usize;
            pixels[i..i + 4].copy_from_slice(&colour);
        }
    };
    for y in 0..size {
        for x in 0..size {
            let distance = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
            if distance <= radius {
                // Antialias the edge by one pixel.
                let alpha = ((radius - distance).clamp(0.0, 1.0) * 255.0) as u8;
                put(
                    x,
                    y,
                    [
                        r,
                        g,
                        b,
                        alpha.max(if distance <= radius - 1.0 { 255 } else { 0 }),
                    ],
                );
            }
        }
    }
    // A white container "box" in the middle: readable at 16 px, says what the app watches.
    let box_left = (size as f32 * 0.30) as u32;
    let box_right = (size as f32 * 0.70) as u32;
    let box_top = (size as f32 * 0.38) as u32;
    let box_bottom = (size as f32 * 0.64) as u32;
    for y in box_top..=box_bottom {
        for x in box_left..=box_right {
            put(x, y, [255, 255, 255, 255]);
        }
    }
    if active_alerts > 0 {
        let badge = (size as f32 * 0.5) as u32;
        let left = size - badge;
        for y in 0..badge {
            for x in left..size {
                put(x, y, [0x20, 0x20, 0x24, 255]);
            }
        }
        let glyph = if active_alerts > 9 { 10 } else { active_alerts };
        draw_digit(&mut put, glyph, left, 0, badge);
    }
    pixels
}

/// 3x5 pixel digits (index 10 is "+"), scaled into a `box_size` square at (left, top).
fn draw_digit(
    put: &mut impl FnMut(u32, u32, [u8; 4]),
    digit: usize,
    left: u32,
    top: u32,
    box_size: u32,
) {
    const GLYPHS: [[u8; 5]; 11] = [
        [0b111, 0b101, 0b101, 0b101, 0b111],
        [0b010, 0b110, 0b010, 0b010, 0b111],
        [0b111, 0b001, 0b111, 0b100, 0b111],
        [0b111, 0b001, 0b111, 0b001, 0b111],
        [0b101, 0b101, 0b111, 0b001, 0b001],
        [0b111, 0b100, 0b111, 0b001, 0b111],
        [0b111, 0b100, 0b111, 0b101, 0b111],
        [0b111, 0b001, 0b010, 0b010, 0b010],
        [0b111, 0b101, 0b111, 0b101, 0b111],
        [0b111, 0b101, 0b111, 0b001, 0b111],
        [0b000, 0b010, 0b111, 0b010, 0b000],
    ];
    let scale = (box_size / 7).max(1);
    let width = 3 * scale;
    let height = 5 * scale;
    let x0 = left + (box_size.saturating_sub(width)) / 2;
    let y0 = top + (box_size.saturating_sub(height)) / 2;
    for (row, bits) in GLYPHS[digit.min(10)].iter().enumerate() {
        for column in 0..3u32 {
            if bits & (0b100 >> column) != 0 {
                for dy in 0..scale {
                    for dx in 0..scale {
                        put(
                            x0 + column * scale + dx,
                            y0 + row as u32 * scale + dy,
                            [255, 255, 255, 255],
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::alerts::{Target, TargetKind};
    use crate::model::SourceStatus;

    fn source(kind: &str, state: SourceState) -> SourceStatus {
        SourceStatus {
            state,
            ..SourceStatus::connecting("local", kind, "")
        }
    }

    fn alert(id: u64, level: Level, name: &str) -> Alert {
        Alert {
            id,
            target: Target {
                kind: TargetKind::Container,
                host: "local".into(),
                id: format!("id-{name}"),
                name: name.into(),
            },
            metric: "container_cpu_percent".into(),
            detail: None,
            level,
            value: Some(97.5),
            threshold: Some(90.0),
            unit: "%".into(),
            message: String::new(),
            started_at: Utc::now(),
            resolved_at: None,
            acknowledged: false,
            top: vec![],
            lines: Vec::new(),
        }
    }

    fn snapshot(alerts: Vec<Alert>, docker: SourceState) -> Snapshot {
        let sources = vec![source("docker", docker), source("host", SourceState::Up)];
        Snapshot {
            taken_at: Utc::now(),
            overall: crate::alerts::overall_level(&alerts, &sources),
            alerts,
            sources,
            hosts: vec![],
            containers: vec![],
            services: vec![],
            service_problems: vec![],
            proxy: None,
            forecasts: Vec::new(),
            channels: Vec::new(),
        }
    }

    #[test]
    fn colour_and_tooltip_follow_the_alerts() {
        let state = tray_state(&snapshot(vec![], SourceState::Up));
        assert_eq!(state.level, OverallLevel::Ok);
        assert_eq!(state.tooltip, "local: 0 running");
        assert!(state.entries.is_empty());

        let state = tray_state(&snapshot(
            vec![
                alert(1, Level::Warning, "a"),
                alert(2, Level::Critical, "web"),
            ],
            SourceState::Up,
        ));
        assert_eq!(state.level, OverallLevel::Critical);
        assert_eq!(state.active_alerts, 2);
        assert_eq!(state.tooltip, "local: 0 running, 1 critical, 1 warning");
        assert_eq!(state.entries[0].alert_id, 2, "worst first");
        assert!(
            state.entries[0].label.contains("web on local: CPU 97.5 %"),
            "{}",
            state.entries[0].label
        );
        assert_eq!(state.entries[0].route, "container:local/id-web");
    }

    #[test]
    fn unreachable_engine_is_grey_and_says_so() {
        let state = tray_state(&snapshot(vec![], SourceState::Unreachable));
        assert_eq!(state.level, OverallLevel::Unreachable);
        assert_eq!(state.tooltip, "local: unreachable");
    }

    #[test]
    fn acknowledged_alerts_leave_the_menu_and_the_colour() {
        let mut acknowledged = alert(1, Level::Critical, "web");
        acknowledged.acknowledged = true;
        let state = tray_state(&snapshot(vec![acknowledged], SourceState::Up));
        assert_eq!(state.level, OverallLevel::Ok);
        assert_eq!(state.active_alerts, 0);
        assert!(state.entries.is_empty());
    }

    #[test]
    fn icon_pixels_carry_the_colour_and_the_badge() {
        let size = 32;
        let pixel = |rgba: &[u8], x: u32, y: u32| {
            let i = ((y * size + x) * 4) as usize;
            [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
        };
        for level in [
            OverallLevel::Ok,
            OverallLevel::Warning,
            OverallLevel::Critical,
            OverallLevel::Unreachable,
        ] {
            let rgba = icon_rgba(level, 0, size);
            let [r, g, b] = level_colour(level);
            // Left of the centre box, inside the disc.
            assert_eq!(pixel(&rgba, 6, 16), [r, g, b, 255], "{level:?}");
            assert_eq!(pixel(&rgba, 0, 0)[3], 0, "transparent corner");
        }
        let with_badge = icon_rgba(OverallLevel::Critical, 3, size);
        assert_eq!(
            pixel(&with_badge, 31, 0),
            [0x20, 0x20, 0x24, 255],
            "badge in the top-right corner"
        );
        let many = icon_rgba(OverallLevel::Critical, 25, size);
        assert_ne!(with_badge, many, "the badge shows the count");
    }
}
