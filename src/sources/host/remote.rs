//! A remote host's figures without an agent: one shell command per interval prints `/proc` and `df`, and this
//! module turns the text into the same [`ServerStats`] form as the local host. One round trip per interval,
//! not one per metric, keeps the SSH traffic and the remote CPU small.

use std::collections::HashMap;
use std::time::Instant;

use chrono::Utc;

use super::{main_disk, percent, round1, round2, NetworkCounter, GB, PSEUDO_FILESYSTEMS};
use crate::model::{CpuUsage, DiskUsage, LoadAverage, ServerStats, Usage};

/// The batched command. Sections start with `@name` lines so one missing file does not shift the others.
pub const COMMAND: &str = "echo @stat; cat /proc/stat; echo @meminfo; cat /proc/meminfo; \
echo @loadavg; cat /proc/loadavg; echo @uptime; cat /proc/uptime; echo @netdev; cat /proc/net/dev; \
echo @phys; for i in /sys/class/net/*; do [ -e \"$i/device\" ] && echo \"${i##*/}\"; done; \
echo @df; df -kPT 2>/dev/null || df -kP; echo @end";

/// CPU jiffies of the whole machine and of each core.
#[derive(Debug, Clone, Default)]
struct CpuTimes {
    total: u64,
    idle: u64,
}

/// Keeps the previous counters of one remote host, so CPU and network come out as rates.
#[derive(Debug, Default)]
pub struct RemoteSampler {
    previous_cpu: Option<(CpuTimes, Vec<CpuTimes>)>,
    network: NetworkCounter,
}

/// Splits the command's output into its sections (`@name` lines start one).
pub fn sections(text: &str) -> HashMap<&str, Vec<&str>> {
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('@') {
            current = Some(name.trim());
            map.entry(name.trim()).or_default();
        } else if let Some(name) = current {
            map.entry(name).or_default().push(line);
        }
    }
    map
}

fn cpu_times(line: &str) -> CpuTimes {
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    let total = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    CpuTimes { total, idle }
}

fn busy_percent(before: &CpuTimes, after: &CpuTimes) -> f64 {
    let total = after.total.saturating_sub(before.total) as f64;
    let idle = after.idle.saturating_sub(before.idle) as f64;
    if total > 0.0 {
        round1(((total - idle) / total * 100.0).clamp(0.0, 100.0))
    } else {
        0.0
    }
}

/// `MemTotal:  16314820 kB` -> bytes.
fn meminfo<'a>(lines: &[&'a str]) -> HashMap<&'a str, f64> {
    lines
        .iter()
        .filter_map(|line| {
            let (key, rest) = line.split_once(':')?;
            let kb: f64 = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.trim(), kb * 1024.0))
        })
        .collect()
}

/// `df -kPT` (or `-kP` without the type column) -> one entry per device, shortest mount point kept.
fn disks(lines: &[&str]) -> Vec<DiskUsage> {
    let Some(header) = lines.first() else {
        return Vec::new();
    };
    let typed = header.split_whitespace().nth(1) == Some("Type");
    let mut by_device: HashMap<String, DiskUsage> = HashMap::new();
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (device, filesystem, rest) = if typed {
            if fields.len() < 7 {
                continue;
            }
            (fields[0], fields[1], &fields[2..])
        } else {
            if fields.len() < 6 {
                continue;
            }
            (fields[0], "", &fields[1..])
        };
        if PSEUDO_FILESYSTEMS.contains(&filesystem)
            || PSEUDO_FILESYSTEMS.contains(&device)
            || device == "none"
        {
            continue;
        }
        let total_kb: f64 = rest[0].parse().unwrap_or(0.0);
        let available_kb: f64 = rest[2].parse().unwrap_or(0.0);
        if total_kb <= 0.0 {
            continue;
        }
        let total = total_kb * 1024.0;
        // Like the local host: used is what is not available to users (reserved blocks count as used).
        let used = total - available_kb * 1024.0;
        let mount = rest[4..].join(" ");
        let usage = DiskUsage {
            mount,
            filesystem: filesystem.to_owned(),
            used_gb: round2(used / GB),
            total_gb: round2(total / GB),
            percent: round1(percent(used, total)),
        };
        match by_device.get(device) {
            Some(existing) if existing.mount.len() <= usage.mount.len() => {}
            _ => {
                by_device.insert(device.to_owned(), usage);
            }
        }
    }
    let mut disks: Vec<DiskUsage> = by_device.into_values().collect();
    disks.sort_by(|a, b| a.mount.cmp(&b.mount));
    disks
}

impl RemoteSampler {
    /// Parses one run of [`COMMAND`]. Fails when the output is not what the command prints (not Linux, no /proc).
    pub fn parse(
        &mut self,
        server_name: &str,
        output: &str,
        now: Instant,
    ) -> Result<ServerStats, String> {
        let sections = sections(output);
        if !sections.contains_key("end") {
            return Err("the stats command's output was cut short".to_owned());
        }
        let empty = Vec::new();
        let section = |name: &str| sections.get(name).unwrap_or(&empty);

        let stat = section("stat");
        let whole = stat
            .iter()
            .find(|line| line.starts_with("cpu "))
            .map(|line| cpu_times(line))
            .ok_or("no CPU line in /proc/stat: is the remote host Linux?")?;
        let cores: Vec<CpuTimes> = stat
            .iter()
            .filter(|line| {
                line.starts_with("cpu") && line.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
            })
            .map(|line| cpu_times(line))
            .collect();
        let (cpu_percent, per_core) = match &self.previous_cpu {
            Some((before, before_cores)) if before_cores.len() == cores.len() => (
                busy_percent(before, &whole),
                before_cores
                    .iter()
                    .zip(&cores)
                    .map(|(b, a)| busy_percent(b, a))
                    .collect(),
            ),
            _ => (0.0, vec![0.0; cores.len()]),
        };
        self.previous_cpu = Some((whole, cores));

        let memory = meminfo(section("meminfo"));
        let mem_total = memory.get("MemTotal").copied().unwrap_or(0.0);
        if mem_total <= 0.0 {
            return Err("no MemTotal in /proc/meminfo".to_owned());
        }
        let available = memory
            .get("MemAvailable")
            .copied()
            .unwrap_or_else(|| memory.get("MemFree").copied().unwrap_or(0.0));
        let mem_used = (mem_total - available).max(0.0);
        let swap_total = memory.get("SwapTotal").copied().unwrap_or(0.0);
        let swap_used = (swap_total - memory.get("SwapFree").copied().unwrap_or(0.0)).max(0.0);

        let load: Vec<f64> = section("loadavg")
            .first()
            .map(|line| {
                line.split_whitespace()
                    .take(3)
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let uptime_s = section("uptime")
            .first()
            .and_then(|line| line.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;

        let physical: Vec<&str> = section("phys").iter().map(|l| l.trim()).collect();
        let net_text = section("netdev").join("\n");
        let (rx, tx) = crate::sources::docker::cgroup::net_dev_interfaces(&net_text)
            .filter(|(name, ..)| {
                if physical.is_empty() {
                    *name != "lo"
                } else {
                    physical.contains(name)
                }
            })
            .fold((0u64, 0u64), |(rx, tx), (_, r, t)| {
                (rx.saturating_add(r), tx.saturating_add(t))
            });
        let network = self.network.rates(now, rx, tx);

        let disks = disks(section("df"));
        let disk = main_disk(&disks);
        Ok(ServerStats {
            server_name: server_name.to_owned(),
            source_type: "docker-host".to_owned(),
            memory: Usage {
                used_gb: round2(mem_used / GB),
                total_gb: round2(mem_total / GB),
                percent: round1(percent(mem_used, mem_total)),
            },
            swap: Usage {
                used_gb: round2(swap_used / GB),
                total_gb: round2(swap_total / GB),
                percent: round1(percent(swap_used, swap_total)),
            },
            disk,
            disks,
            cpu: CpuUsage {
                count: per_core.len() as u32,
                percent: cpu_percent,
                per_core,
            },
            network,
            load: LoadAverage {
                one: load.first().copied().unwrap_or(0.0),
                five: load.get(1).copied().unwrap_or(0.0),
                fifteen: load.get(2).copied().unwrap_or(0.0),
            },
            uptime_s,
            status: "active".to_owned(),
            timestamp: Utc::now(),
            vps: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn output(user: u64, idle: u64, rx: u64) -> String {
        format!(
            "@stat\ncpu  {user} 0 0 {idle} 0 0 0 0 0 0\ncpu0 {user} 0 0 {idle} 0 0 0 0 0 0\nintr 1\n\
             @meminfo\nMemTotal: 2097152 kB\nMemFree: 100 kB\nMemAvailable: 1048576 kB\nSwapTotal: 1048576 kB\n\
             SwapFree: 524288 kB\n@loadavg\n0.50 0.25 0.10 1/100 42\n@uptime\n1234.56 99.0\n@netdev\n\
             Inter-|   Receive\n face |bytes\n  eth0: {rx} 1 0 0 0 0 0 0 500 1 0 0 0 0 0 0\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n\
             @phys\neth0\n@df\nFilesystem Type 1024-blocks Used Available Capacity Mounted on\n\
             /dev/vda1 ext4 10485760 5242880 5242880 50% /\ntmpfs tmpfs 1000 0 1000 0% /run\n\
             /dev/vda1 ext4 10485760 5242880 5242880 50% /var/lib/docker\n@end\n"
        )
    }

    #[test]
    fn batched_output_becomes_server_stats() {
        let mut sampler = RemoteSampler::default();
        let start = Instant::now();
        let first = sampler
            .parse("nas", &output(100, 900, 1000), start)
            .expect("parses");
        assert_eq!(first.cpu.percent, 0.0, "no rate before the second sample");
        let second = sampler
            .parse(
                "nas",
                &output(150, 950, 3000),
                start + Duration::from_secs(2),
            )
            .expect("parses");
        assert_eq!(second.server_name, "nas");
        assert_eq!(second.cpu.count, 1);
        assert_eq!(second.cpu.percent, 50.0);
        assert_eq!(second.memory.total_gb, 2.0);
        assert_eq!(second.memory.used_gb, 1.0);
        assert_eq!(second.swap.percent, 50.0);
        assert_eq!(second.load.one, 0.5);
        assert_eq!(second.uptime_s, 1234);
        assert_eq!(second.network.rx_bytes_per_s, 1000.0);
        assert_eq!(second.disks.len(), 1, "{:?}", second.disks);
        assert_eq!(second.disk.total_gb, 10.0);
        assert_eq!(second.disk.percent, 50.0);
    }

    #[test]
    fn cut_output_is_an_error() {
        let mut sampler = RemoteSampler::default();
        let err = sampler
            .parse("nas", "@stat\ncpu 1 2 3 4\n", Instant::now())
            .expect_err("no @end");
        assert!(err.contains("cut short"), "{err}");
    }
}
