//! The container workbench's vocabulary: images, volumes, networks, Docker's disk usage (as `docker system df`
//! counts it), what a removal or prune freed, compose stack actions and how a terminal session ended. Every item
//! names the host it lives on, so one view can show all hosts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One image, as `docker image ls` lists it (one entry per image id; `tags` holds every `repository:tag`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ImageSummary {
    pub host: String,
    /// `sha256:...`
    pub id: String,
    /// `repository:tag` references; empty for a dangling image.
    pub tags: Vec<String>,
    /// `repository@sha256:...` references, when the image came from (or went to) a registry.
    pub digests: Vec<String>,
    /// Bytes, as `docker image ls` counts them (all layers).
    pub size: u64,
    pub created: DateTime<Utc>,
    /// Names of the containers (running or not) made from this image.
    pub containers: Vec<String>,
    /// No tag: left behind when a newer image took its name; `prune` removes these.
    pub dangling: bool,
}

/// One volume: what `docker volume ls` lists, its size (as `docker system df -v`) and who mounts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct VolumeSummary {
    pub host: String,
    pub name: String,
    pub driver: String,
    pub mountpoint: String,
    pub created: Option<DateTime<Utc>>,
    /// Bytes; unknown for drivers that do not report it.
    pub size: Option<u64>,
    /// Names of the containers (running or not) that mount it.
    pub containers: Vec<String>,
}

/// A container attached to a network, with its addresses there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NetworkEndpoint {
    pub container: String,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub mac: Option<String>,
}

/// One network, as `docker network ls` lists it, with its subnets and attached containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NetworkSummary {
    pub host: String,
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
    pub internal: bool,
    /// `bridge`, `host` and `none`: Docker's own, never removable.
    pub builtin: bool,
    pub subnets: Vec<String>,
    pub gateways: Vec<String>,
    pub containers: Vec<NetworkEndpoint>,
}

/// One line of `docker system df`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UsageLine {
    pub total: u64,
    /// In use: images with a container, running containers, volumes mounted by a container, build cache in use.
    pub active: u64,
    /// Bytes on disk.
    pub size: u64,
    /// Bytes a prune could free.
    pub reclaimable: u64,
}

/// Docker's disk usage on one host, as `docker system df` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DockerDiskUsage {
    pub host: String,
    pub images: UsageLine,
    pub containers: UsageLine,
    pub volumes: UsageLine,
    pub build_cache: UsageLine,
    /// The engine's data directory (`docker info`'s DockerRootDir), to tell which disk it fills.
    pub root_dir: Option<String>,
    pub measured_at: DateTime<Utc>,
}

impl DockerDiskUsage {
    /// Everything a prune of each kind could free.
    pub fn reclaimable(&self) -> u64 {
        self.images.reclaimable
            + self.containers.reclaimable
            + self.volumes.reclaimable
            + self.build_cache.reclaimable
    }

    /// "Docker could free 1.2GB here (images 1GB, stopped containers 200MB)": for a host disk alert; `None`
    /// when nothing could be freed.
    pub fn reclaim_note(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("images", self.images.reclaimable),
            ("stopped containers", self.containers.reclaimable),
            ("unused volumes", self.volumes.reclaimable),
            ("build cache", self.build_cache.reclaimable),
        ]
        .iter()
        .filter(|(_, bytes)| *bytes > 0)
        .map(|(what, bytes)| format!("{what} {}", human_size(*bytes)))
        .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "Docker could free {} on {} ({}): see `docktray df`",
                human_size(self.reclaimable()),
                self.host,
                parts.join(", ")
            )
        })
    }
}

/// What a removal or prune took away and the space it gave back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Reclaimed {
    pub host: String,
    /// What went: image ids and untagged references, volume or network names.
    pub removed: Vec<String>,
    /// Bytes freed, as the engine reports it.
    pub space: u64,
}

/// A compose stack action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum StackAction {
    Start,
    Stop,
    Restart,
}

impl StackAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

/// One step of a stack action: these containers, acted on together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StackStep {
    /// `start` or `stop` (a restart is the stops, then the starts).
    pub action: String,
    pub containers: Vec<String>,
}

/// What a stack action did, in order, and what failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct StackReport {
    pub host: String,
    pub project: String,
    pub action: StackAction,
    pub steps: Vec<StackStep>,
    /// `(container, message)` for each container Docker refused.
    pub failed: Vec<(String, String)>,
    /// Services whose dependencies form a cycle: acted on last, in name order.
    pub cycle: Vec<String>,
}

/// How a terminal session ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExecEnd {
    /// The shell's exit status, when it exited.
    pub exit_code: Option<i64>,
    /// What happened, for the user: "exited with status 0", "the container stopped", "closed".
    pub message: String,
}

/// A byte count as the docker CLI prints it (go-units `HumanSize`: powers of 1000, four significant digits),
/// so the figures read the same as `docker system df`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", significant(value, 4), UNITS[unit])
}

/// `value` with `digits` significant digits and no trailing zeros (Go's `%.4g` for values below 10^digits).
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_docker_cli() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1_984_256), "1.984MB");
        assert_eq!(human_size(12_345_678), "12.35MB");
        assert_eq!(human_size(123_456_789), "123.5MB");
        assert_eq!(human_size(2_000_000_000), "2GB");
        assert_eq!(human_size(4096), "4.096kB");
    }

    #[test]
    fn the_reclaim_note_names_each_kind_that_frees_space() {
        let line = |reclaimable| UsageLine {
            reclaimable,
            ..UsageLine::default()
        };
        let usage = DockerDiskUsage {
            host: "nas".into(),
            images: line(1_500_000_000),
            containers: line(0),
            volumes: line(20_000_000),
            build_cache: line(0),
            root_dir: None,
            measured_at: Utc::now(),
        };
        assert_eq!(
            usage.reclaim_note().as_deref(),
            Some("Docker could free 1.52GB on nas (images 1.5GB, unused volumes 20MB): see `docktray df`")
        );
        let nothing = DockerDiskUsage {
            images: line(0),
            volumes: line(0),
            ..usage
        };
        assert_eq!(nothing.reclaim_note(), None);
    }
}
