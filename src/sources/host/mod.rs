//! The local host source: CPU, memory, swap, network, load and uptime through `sysinfo`, disks from
//! `/proc/mounts` (`mounts.rs`), reported in the normalised server-stats form shared with remote hosts ([`remote`], the same figures from `/proc` over
//! SSH) and Webdock VPS servers.

pub mod container;
mod mounts;
pub mod remote;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
use tokio::sync::watch;

use crate::model::{
    CpuUsage, DiskUsage, LoadAverage, NetworkRates, Observation, ReadyPart, ServerStats,
    SourceState, SourceStatus, Usage, LOCAL_HOST,
};
use crate::sources::docker::cgroup::net_dev_interfaces;
use crate::sources::Reporter;
use crate::util::rate_per_second;
use container::HostView;

pub(crate) const GB: f64 = 1024.0 * 1024.0 * 1024.0;
/// sysinfo needs two CPU readings some time apart; the first figures come after this.
const WARMUP: Duration = Duration::from_millis(100);
/// Filesystems that are not storage a user fills (kernel, in-memory, container layers, snaps).
pub(crate) const PSEUDO_FILESYSTEMS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "nsfs",
    "fuse.lxcfs",
    "autofs",
    "ramfs",
    "efivarfs",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
];

/// Network byte counters between two samples, turned into rates; the first sample reads 0 B/s.
#[derive(Debug, Default)]
pub(crate) struct NetworkCounter {
    previous: Option<(Instant, u64, u64)>,
}

impl NetworkCounter {
    /// Rates since the previous call (a counter that went back, e.g. an interface reset, reads 0).
    pub(crate) fn rates(&mut self, now: Instant, rx: u64, tx: u64) -> NetworkRates {
        let rates = match self.previous {
            Some((at, prev_rx, prev_tx)) => {
                let seconds = now.saturating_duration_since(at).as_secs_f64();
                NetworkRates {
                    rx_bytes_per_s: rate_per_second(prev_rx, rx, seconds),
                    tx_bytes_per_s: rate_per_second(prev_tx, tx, seconds),
                }
            }
            None => NetworkRates {
                rx_bytes_per_s: 0.0,
                tx_bytes_per_s: 0.0,
            },
        };
        self.previous = Some((now, rx, tx));
        rates
    }
}

/// The disk a host's single "disk" figure stands for: the root filesystem, else the largest one.
pub(crate) fn main_disk(disks: &[DiskUsage]) -> Usage {
    disks
        .iter()
        .find(|d| d.mount == "/")
        .or_else(|| {
            disks
                .iter()
                .max_by(|a, b| a.total_gb.total_cmp(&b.total_gb))
        })
        .map(|d| Usage {
            used_gb: d.used_gb,
            total_gb: d.total_gb,
            percent: d.percent,
        })
        .unwrap_or(Usage {
            used_gb: 0.0,
            total_gb: 0.0,
            percent: 0.0,
        })
}

/// Reads the local machine's figures; owns the sysinfo handles between samples.
pub struct HostSampler {
    system: System,
    /// Disk usage and the list of physical interfaces change slowly: refreshed every [`SLOW_REFRESH`], not every
    /// tick (with many containers, listing their veth interfaces cost more than everything else together).
    slow_refreshed: Option<Instant>,
    disk_usage: Vec<DiskUsage>,
    physical_interfaces: Vec<String>,
    network: NetworkCounter,
    /// Where the host's figures are (inside a container: the mounted host paths).
    view: HostView,
}

/// How often disks and network interfaces are listed again.
const SLOW_REFRESH: Duration = Duration::from_secs(30);

/// Interfaces backed by a device (NICs, virtio, Wi-Fi): container veths and bridges carry the same traffic
/// again, so counting them would double the host's rates.
fn physical_interfaces() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("device").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

impl HostSampler {
    /// Opens the sysinfo handles; fails only where the platform gives no system information at all.
    pub fn new() -> Result<Self, crate::Error> {
        let host_error = |err: sysinfo::Error| crate::Error::Host(err.to_string());
        let refresh = RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_usage())
            .with_memory(MemoryRefreshKind::everything());
        Ok(Self {
            system: System::new_with_specifics(refresh).map_err(host_error)?,
            slow_refreshed: None,
            disk_usage: Vec::new(),
            physical_interfaces: Vec::new(),
            network: NetworkCounter::default(),
            view: HostView::detect(),
        })
    }

    /// Where this sampler reads the host's figures from.
    pub fn view(&self) -> &HostView {
        &self.view
    }

    /// Usage of each real filesystem, one entry per device: bind mounts of the same filesystem show up under
    /// its shortest mount point.
    fn disk_usage_now(&self) -> Vec<DiskUsage> {
        let listed = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        // One entry per device: bind mounts of the same filesystem show up under its shortest mount point.
        let mut by_device: HashMap<String, DiskUsage> = HashMap::new();
        for disk in mounts::storage_mounts(&listed) {
            // In a container, only the host's filesystems (under its mounted root), named as the host names them.
            let Some(mount) = self.view.host_mount(&disk.mount_point) else {
                continue;
            };
            let Some((total, available)) = mounts::space(&disk.mount_point) else {
                continue;
            };
            let key = if disk.device.is_empty() {
                mount.clone()
            } else {
                disk.device
            };
            let total = total as f64;
            let used = total - available as f64;
            let usage = DiskUsage {
                mount,
                filesystem: disk.filesystem,
                used_gb: round2(used / GB),
                total_gb: round2(total / GB),
                percent: round1(percent(used, total)),
            };
            match by_device.get(&key) {
                Some(existing) if existing.mount.len() <= usage.mount.len() => {}
                _ => {
                    by_device.insert(key, usage);
                }
            }
        }
        let mut disks: Vec<DiskUsage> = by_device.into_values().collect();
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));
        disks
    }

    /// Takes one sample. CPU and network figures are over the time since the previous call.
    pub fn sample(&mut self) -> ServerStats {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        let now = Instant::now();
        if self
            .slow_refreshed
            .is_none_or(|at| now.saturating_duration_since(at) >= SLOW_REFRESH)
        {
            self.disk_usage = self.disk_usage_now();
            self.physical_interfaces = physical_interfaces();
            self.slow_refreshed = Some(now);
        }
        let host_proc = self.view.proc_dir != std::path::Path::new("/proc");
        // In a container the host's network namespace is PID 1's of the host's /proc (sysfs is the container's).
        let net_dev = std::fs::read_to_string(if host_proc {
            self.view.proc_dir.join("1/net/dev")
        } else {
            "/proc/net/dev".into()
        })
        .unwrap_or_default();
        let (rx, tx) = net_dev_interfaces(&net_dev)
            .filter(|(name, ..)| {
                if host_proc {
                    container::is_host_interface(name)
                } else if self.physical_interfaces.is_empty() {
                    // Without a device list (no sysfs), everything but loopback.
                    *name != "lo"
                } else {
                    self.physical_interfaces.iter().any(|known| known == name)
                }
            })
            .fold((0u64, 0u64), |(rx, tx), (_, r, t)| {
                (rx.saturating_add(r), tx.saturating_add(t))
            });
        let network = self.network.rates(now, rx, tx);

        let disk = main_disk(&self.disk_usage);

        let (total_memory, used_memory, total_swap, used_swap) = host_proc
            .then(|| std::fs::read_to_string(self.view.proc_dir.join("meminfo")).ok())
            .flatten()
            .and_then(|text| container::memory_from_meminfo(&text))
            .unwrap_or((
                self.system.total_memory(),
                self.system.used_memory(),
                self.system.total_swap(),
                self.system.used_swap(),
            ));
        let (total_memory, used_memory, total_swap, used_swap) = (
            total_memory as f64,
            used_memory as f64,
            total_swap as f64,
            used_swap as f64,
        );
        let load = System::load_average().unwrap_or(sysinfo::LoadAvg {
            one: 0.0,
            five: 0.0,
            fifteen: 0.0,
        });
        ServerStats {
            server_name: LOCAL_HOST.to_owned(),
            source_type: "docker-host".to_owned(),
            memory: Usage {
                used_gb: round2(used_memory / GB),
                total_gb: round2(total_memory / GB),
                percent: round1(percent(used_memory, total_memory)),
            },
            swap: Usage {
                used_gb: round2(used_swap / GB),
                total_gb: round2(total_swap / GB),
                percent: round1(percent(used_swap, total_swap)),
            },
            disk,
            disks: self.disk_usage.clone(),
            cpu: CpuUsage {
                count: self.system.cpus().len() as u32,
                percent: round1(f64::from(self.system.global_cpu_usage())),
                per_core: self
                    .system
                    .cpus()
                    .iter()
                    .map(|cpu| round1(f64::from(cpu.usage())))
                    .collect(),
            },
            network,
            load: LoadAverage {
                one: load.one,
                five: load.five,
                fifteen: load.fifteen,
            },
            uptime_s: System::uptime().unwrap_or(0),
            status: "active".to_owned(),
            timestamp: Utc::now(),
            vps: None,
        }
    }
}

pub(crate) fn percent(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        (used / total * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

pub(crate) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Samples the local host every interval until shutdown.
/// Reads this machine's figures every `interval` until `shutdown` turns true.
pub async fn run(reporter: Reporter, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let status = SourceStatus {
        state: SourceState::Up,
        ..SourceStatus::connecting(LOCAL_HOST, "host", "sysinfo")
    };
    let mut sampler = match tokio::task::spawn_blocking(|| {
        let mut sampler = HostSampler::new()?;
        sampler.sample();
        Ok::<_, crate::Error>(sampler)
    })
    .await
    .map_err(|err| crate::Error::Host(err.to_string()))
    .and_then(|result| result)
    {
        Ok(sampler) => {
            if sampler.view().through_mounts() {
                tracing::info!("{}", sampler.view().describe());
                for missing in &sampler.view().missing {
                    tracing::warn!("{missing}");
                }
            }
            sampler
        }
        Err(err) => {
            tracing::error!(%err, "host sampler failed to start");
            reporter.report(Observation::Ready(ReadyPart::Host)).await;
            return;
        }
    };
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + WARMUP.min(interval), interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut announced = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let result = tokio::task::spawn_blocking(move || {
            let stats = sampler.sample();
            (sampler, stats)
        })
        .await;
        let Ok((returned, stats)) = result else {
            tracing::error!("host sampling task failed; host figures stop");
            reporter.report(Observation::Ready(ReadyPart::Host)).await;
            return;
        };
        sampler = returned;
        if !announced {
            // The host source is sourced from this machine's kernel: up as soon as it has figures.
            reporter.report(Observation::Source(status.clone())).await;
            announced = true;
        }
        reporter.report(Observation::Server(Box::new(stats))).await;
        reporter.report(Observation::Ready(ReadyPart::Host)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_counter_turns_counters_into_rates_and_survives_a_reset() {
        let mut counter = NetworkCounter::default();
        let start = Instant::now();
        let first = counter.rates(start, 1_000, 500);
        assert_eq!((first.rx_bytes_per_s, first.tx_bytes_per_s), (0.0, 0.0));
        let second = counter.rates(start + Duration::from_secs(2), 5_000, 2_500);
        assert_eq!(
            (second.rx_bytes_per_s, second.tx_bytes_per_s),
            (2_000.0, 1_000.0)
        );
        // An interface reset sends the counters back: what they count since is new, never a negative rate.
        let reset = counter.rates(start + Duration::from_secs(4), 100, 50);
        assert_eq!((reset.rx_bytes_per_s, reset.tx_bytes_per_s), (50.0, 25.0));
    }

    #[test]
    fn main_disk_is_root_else_the_largest() {
        let disk = |mount: &str, total_gb: f64| DiskUsage {
            mount: mount.into(),
            total_gb,
            used_gb: total_gb / 2.0,
            percent: 50.0,
            filesystem: "ext4".into(),
        };
        assert_eq!(
            main_disk(&[disk("/data", 900.0), disk("/", 30.0)]).total_gb,
            30.0
        );
        assert_eq!(
            main_disk(&[disk("/data", 900.0), disk("/srv", 90.0)]).total_gb,
            900.0
        );
        assert_eq!(main_disk(&[]).total_gb, 0.0);
    }

    #[test]
    fn local_host_sample_is_sensible() {
        let mut sampler = HostSampler::new().expect("sysinfo works on Linux");
        sampler.sample();
        std::thread::sleep(Duration::from_millis(250));
        let stats = sampler.sample();
        assert_eq!(stats.source_type, "docker-host");
        assert!(stats.cpu.count >= 1);
        assert_eq!(stats.cpu.per_core.len(), stats.cpu.count as usize);
        assert!((0.0..=100.0).contains(&stats.cpu.percent));
        assert!(stats.memory.total_gb > 0.0);
        assert!(stats.memory.used_gb > 0.0 && stats.memory.used_gb <= stats.memory.total_gb);
        assert!(
            stats.disk.total_gb > 0.0,
            "no disk found: {:?}",
            stats.disks
        );
        assert!(stats.uptime_s > 0);
        assert!(stats.network.rx_bytes_per_s >= 0.0);
    }

    /// The disks read from `/proc/mounts` are the ones sysinfo's disk list gave, filtered as before.
    #[test]
    fn disks_are_the_ones_sysinfo_lists() {
        let sampler = HostSampler::new().expect("sysinfo works on Linux");
        let ours: Vec<(String, String, f64)> = sampler
            .disk_usage_now()
            .into_iter()
            .map(|disk| (disk.mount, disk.filesystem, disk.total_gb))
            .collect();
        let listed = sysinfo::Disks::new_with_refreshed_list().expect("sysinfo lists disks");
        let mut by_device: HashMap<String, (String, String, f64)> = HashMap::new();
        for disk in listed.iter() {
            let filesystem = disk.file_system().to_string_lossy().into_owned();
            if disk.total_space() == 0 || PSEUDO_FILESYSTEMS.contains(&filesystem.as_str()) {
                continue;
            }
            let mount = disk.mount_point().to_string_lossy().into_owned();
            let device = disk.name().to_string_lossy().into_owned();
            let key = if device.is_empty() {
                mount.clone()
            } else {
                device
            };
            let total = round2(disk.total_space() as f64 / GB);
            match by_device.get(&key) {
                Some(existing) if existing.0.len() <= mount.len() => {}
                _ => {
                    by_device.insert(key, (mount, filesystem, total));
                }
            }
        }
        let mut theirs: Vec<(String, String, f64)> = by_device.into_values().collect();
        theirs.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(!ours.is_empty(), "no disk found");
        assert_eq!(ours, theirs);
    }
}
