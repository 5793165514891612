//! Webdock's units turned into the app's, once: MiB and GiB to GB (binary, like the host figures), CPU seconds
//! per 30-minute window to a percentage of the profile's cores, and a server with its metrics into the
//! normalised [`ServerStats`] the rest of the app already shows, alerts on and stores.

use chrono::{DateTime, Utc};

use super::api::{self, HistoricMetrics, InstantMetrics, Profile, Server};
use crate::model::{
    CpuUsage, DiskUsage, LoadAverage, NetworkQuota, NetworkRates, ServerStats, Usage, VpsDetails,
    VpsHistory, VpsPoint, VpsProfile,
};

/// `source_type` of Webdock servers.
pub const SOURCE_TYPE: &str = "webdock-vps";
/// Webdock's CPU figure is CPU time over this window.
const CPU_WINDOW_S: f64 = 1800.0;
const MIB_PER_GIB: f64 = 1024.0;

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn percent(used: f64, total: f64) -> f64 {
    if total > 0.0 {
        (used / total * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

/// CPU seconds used over the last 30 minutes as a percentage of `cores` (100 = all cores busy).
pub fn cpu_percent(cpu_seconds: f64, cores: f64) -> f64 {
    if cores <= 0.0 {
        return 0.0;
    }
    (cpu_seconds / (CPU_WINDOW_S * cores) * 100.0).clamp(0.0, 100.0)
}

/// MiB to GB (binary gigabytes, as the host figures use).
pub fn mib_to_gb(mib: f64) -> f64 {
    mib / MIB_PER_GIB
}

fn usage(used_mib: Option<f64>, total_mib: Option<f64>) -> Usage {
    let used = used_mib.unwrap_or(0.0).max(0.0);
    let total = total_mib.unwrap_or(0.0).max(0.0);
    Usage {
        used_gb: round2(mib_to_gb(used)),
        total_gb: round2(mib_to_gb(total)),
        percent: round1(percent(used, total)),
    }
}

/// The profile to use for a server: its inline `profileData`, else the one from `/profiles` by slug.
pub fn profile_of<'a>(server: &'a Server, profiles: &'a [Profile]) -> Option<&'a Profile> {
    server.profile_data.as_ref().or_else(|| {
        let slug = server.profile.as_deref()?;
        profiles.iter().find(|p| p.slug == slug)
    })
}

fn profile_cores(profile: Option<&Profile>) -> f64 {
    profile
        .and_then(|p| p.cpu.as_ref())
        .and_then(|c| c.cores.or(c.threads))
        .filter(|c| *c > 0.0)
        .unwrap_or(1.0)
}

/// One VPS in the normalised server-stats form. `observed` is when Docktray read it (what alert hold
/// durations count in); Webdock's own sampling time is kept in `vps.sampled_at`.
pub fn vps_stats(
    account: &str,
    server: &Server,
    profile: Option<&Profile>,
    metrics: Option<&InstantMetrics>,
    observed: DateTime<Utc>,
) -> ServerStats {
    let empty = InstantMetrics::default();
    let metrics = metrics.unwrap_or(&empty);
    let cores = profile_cores(profile);
    let amount = |sample: &Option<api::Sample>| sample.as_ref().and_then(|s| s.amount);
    let memory = usage(amount(&metrics.memory.latest), profile.and_then(|p| p.ram));
    let disk = usage(
        amount(&metrics.disk.last),
        metrics.disk.allowed.or(profile.and_then(|p| p.disk)),
    );
    let cpu = amount(&metrics.cpu.latest)
        .map(|seconds| round1(cpu_percent(seconds, cores)))
        .unwrap_or(0.0);
    let network_quota = match (metrics.network.total, metrics.network.allowed) {
        (Some(used), Some(allowed)) => Some(NetworkQuota {
            used_gb: round2(used),
            allowed_gb: round2(allowed),
            percent: round1(percent(used, allowed)),
        }),
        (Some(used), None) => Some(NetworkQuota {
            used_gb: round2(used),
            allowed_gb: 0.0,
            percent: 0.0,
        }),
        _ => None,
    };
    let sampled_at = [
        &metrics.cpu.latest,
        &metrics.memory.latest,
        &metrics.disk.last,
        &metrics.processes.latest,
    ]
    .into_iter()
    .filter_map(|s| s.as_ref().and_then(|s| s.timestamp))
    .max();
    let status = server
        .status
        .clone()
        .unwrap_or_else(|| "unknown".to_owned())
        .to_ascii_lowercase();
    let name = server.name.clone().unwrap_or_else(|| server.slug.clone());
    ServerStats {
        server_name: server.slug.clone(),
        source_type: SOURCE_TYPE.to_owned(),
        memory,
        swap: Usage {
            used_gb: 0.0,
            total_gb: 0.0,
            percent: 0.0,
        },
        disks: vec![DiskUsage {
            mount: "/".to_owned(),
            filesystem: "webdock".to_owned(),
            used_gb: disk.used_gb,
            total_gb: disk.total_gb,
            percent: disk.percent,
        }],
        disk,
        cpu: CpuUsage {
            count: cores as u32,
            percent: cpu,
            per_core: Vec::new(),
        },
        network: NetworkRates {
            rx_bytes_per_s: 0.0,
            tx_bytes_per_s: 0.0,
        },
        load: LoadAverage {
            one: 0.0,
            five: 0.0,
            fifteen: 0.0,
        },
        uptime_s: 0,
        status: status.clone(),
        timestamp: observed,
        vps: Some(VpsDetails {
            account: account.to_owned(),
            slug: server.slug.clone(),
            name,
            status,
            location: server.location.clone(),
            image: server.image.clone(),
            ipv4: server.ipv4.clone(),
            ipv6: server.ipv6.clone(),
            secondary_ips: server.secondary_ips.clone(),
            web_server: server.web_server.clone(),
            virtualization: server.virtualization.clone(),
            profile: profile.map(vps_profile),
            processes: amount(&metrics.processes.latest).map(|n| n.max(0.0) as u64),
            network_quota,
            ingress_mib: amount(&metrics.network.ingress),
            egress_mib: amount(&metrics.network.egress),
            webdock_usage_status: api::usage_levels(metrics.resource_usage_status.as_ref()),
            sampled_at,
        }),
    }
}

fn vps_profile(profile: &Profile) -> VpsProfile {
    let cpu = profile.cpu.clone().unwrap_or_default();
    VpsProfile {
        slug: profile.slug.clone(),
        name: profile.name.clone().unwrap_or_else(|| profile.slug.clone()),
        ram_gb: round2(mib_to_gb(profile.ram.unwrap_or(0.0))),
        disk_gb: round2(mib_to_gb(profile.disk.unwrap_or(0.0))),
        cores: cpu.cores.unwrap_or(0.0).max(0.0) as u32,
        threads: cpu.threads.unwrap_or(0.0).max(0.0) as u32,
        price: profile.price.as_ref().and_then(|p| {
            p.amount.map(|amount| {
                format!("{amount:.2} {}", p.currency.as_deref().unwrap_or(""))
                    .trim()
                    .to_owned()
            })
        }),
    }
}

/// Historic metrics in the app's units, to seed the VPS charts: CPU % (12 h), memory GB and % (24 h), disk GB
/// (7 d), daily traffic MiB (7 d), processes (12 h). Samples without a time or amount are skipped.
pub fn vps_history(metrics: &HistoricMetrics, profile: Option<&Profile>) -> VpsHistory {
    let cores = profile_cores(profile);
    let ram = profile.and_then(|p| p.ram).unwrap_or(0.0);
    let points = |samples: &[api::Sample], convert: &dyn Fn(f64) -> f64| -> Vec<VpsPoint> {
        let mut points: Vec<VpsPoint> = samples
            .iter()
            .filter_map(|s| {
                Some(VpsPoint {
                    at: s.timestamp?,
                    value: round2(convert(s.amount?)),
                })
            })
            .collect();
        points.sort_by_key(|p| p.at);
        points
    };
    VpsHistory {
        cpu_percent: points(&metrics.cpu.samples, &|s| cpu_percent(s, cores)),
        memory_gb: points(&metrics.memory.samples, &mib_to_gb),
        memory_percent: points(&metrics.memory.samples, &|m| percent(m, ram)),
        disk_gb: points(&metrics.disk.samplings, &mib_to_gb),
        disk_allowed_gb: metrics.disk.allowed.map(|a| round2(mib_to_gb(a))),
        ingress_mib: points(&metrics.network.ingress, &|v| v),
        egress_mib: points(&metrics.network.egress, &|v| v),
        network_used_gb: metrics.network.total,
        network_allowed_gb: metrics.network.allowed,
        processes: points(&metrics.processes.samples, &|v| v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        serde_json::from_value(serde_json::json!({
            "slug": "wp-business-2024", "name": "Business", "ram": 4096, "disk": 81920,
            "cpu": {"cores": 2, "threads": 4}, "price": {"amount": 10, "currency": "EUR"}
        }))
        .expect("profile parses")
    }

    #[test]
    fn cpu_seconds_per_half_hour_become_a_share_of_the_cores() {
        assert_eq!(cpu_percent(1800.0, 2.0), 50.0);
        assert_eq!(cpu_percent(3600.0, 2.0), 100.0);
        assert_eq!(cpu_percent(900.0, 1.0), 50.0);
        assert_eq!(cpu_percent(10.0, 0.0), 0.0);
    }

    #[test]
    fn a_vps_in_the_normalised_form() {
        let server: Server = serde_json::from_value(serde_json::json!({
            "slug": "shop", "name": "Shop", "status": "running", "profile": "wp-business-2024",
            "ipv4": "1.2.3.4", "location": "fi"
        }))
        .expect("server parses");
        let metrics: InstantMetrics = serde_json::from_value(serde_json::json!({
            "cpu": {"latestUsageSampling": {"amount": 900, "timestamp": "2026-11-23T08:00:00Z"}},
            "memory": {"latestUsageSampling": {"amount": 3072, "timestamp": "2026-11-23T08:00:00Z"}},
            "disk": {"allowed": 81920, "lastSamplings": {"amount": 20480, "timestamp": "2026-11-23T08:00:00Z"}},
            "network": {"total": 85.0, "allowed": 100.0,
                        "latestIngressSampling": {"amount": 12.5, "timestamp": "2026-11-23T08:00:00Z"}},
            "processes": {"latestProcessesSampling": {"amount": 142, "timestamp": "2026-11-23T08:05:00Z"}}
        }))
        .expect("metrics parse");
        let profiles = vec![profile()];
        let chosen = profile_of(&server, &profiles);
        let stats = vps_stats("work", &server, chosen, Some(&metrics), Utc::now());
        assert_eq!(stats.source_type, "webdock-vps");
        assert_eq!(stats.server_name, "shop");
        assert_eq!((stats.memory.used_gb, stats.memory.total_gb), (3.0, 4.0));
        assert_eq!(stats.memory.percent, 75.0);
        assert_eq!(
            (stats.disk.used_gb, stats.disk.total_gb, stats.disk.percent),
            (20.0, 80.0, 25.0)
        );
        assert_eq!((stats.cpu.count, stats.cpu.percent), (2, 25.0));
        let vps = stats.vps.expect("vps details");
        assert_eq!(vps.name, "Shop");
        assert_eq!(vps.processes, Some(142));
        assert_eq!(vps.network_quota.map(|q| q.percent), Some(85.0));
        assert_eq!(
            vps.profile.map(|p| (p.ram_gb, p.cores, p.price)),
            Some((4.0, 2, Some("10.00 EUR".into())))
        );
        assert_eq!(
            vps.sampled_at.map(|t| t.to_rfc3339()),
            Some("2026-11-23T08:05:00+00:00".into())
        );
    }

    #[test]
    fn historic_metrics_seed_charts_in_app_units() {
        let metrics: HistoricMetrics = serde_json::from_value(serde_json::json!({
            "cpu": {"usageSamplings": [{"amount": 1800, "timestamp": "2026-11-23T08:30:00Z"},
                                       {"amount": 360, "timestamp": "2026-11-23T08:00:00Z"}]},
            "memory": {"usageSamplings": [{"amount": 2048, "timestamp": "2026-11-23T08:00:00Z"}]},
            "disk": {"allowed": 81920, "samplings": [{"amount": 10240, "timestamp": "2026-11-22"}]},
            "network": {"ingressSamplings": [{"amount": 5, "timestamp": "2026-11-22T00:00:00Z"}]}
        }))
        .expect("parses");
        let history = vps_history(&metrics, Some(&profile()));
        let cpu: Vec<f64> = history.cpu_percent.iter().map(|p| p.value).collect();
        assert_eq!(cpu, vec![10.0, 50.0], "sorted by time, percent of 2 cores");
        assert_eq!(history.memory_percent[0].value, 50.0);
        assert_eq!(history.memory_gb[0].value, 2.0);
        assert!(
            history.disk_gb.is_empty(),
            "a date without a time is skipped, not guessed"
        );
        assert_eq!(history.disk_allowed_gb, Some(80.0));
        assert_eq!(history.ingress_mib[0].value, 5.0);
    }
}
