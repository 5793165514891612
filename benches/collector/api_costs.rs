//! What the engine's periodic API calls cost the Docker engine (dockerd + containerd + shims, above idle), measured
//! apart from the steady-state window: a re-list every minute, a disk-usage measurement every 5 minutes, and the
//! one-shot stats sweep used where cgroups cannot be read.

use std::time::Instant;

use anyhow::Result;
use docktray::sources::docker::DISK_USAGE_EVERY;

use crate::breakdown::Breakdown;
use crate::cpu::{cpu_delta, engine_cpu};
use crate::{bench_config, Measured};

/// One re-list a minute, as % of one core.
pub(crate) fn relist_percent(b: &Breakdown) -> f64 {
    b.reconcile_engine_ms / 60_000.0 * 100.0
}

/// One disk-usage measurement spread over its period, as % of one core: the part of docktray's engine cost the
/// steady-state window (which starts after the first measurement) does not see.
pub(crate) fn disk_usage_percent(b: &Breakdown) -> f64 {
    b.disk_usage_engine_ms / (DISK_USAGE_EVERY.as_secs_f64() * 1000.0) * 100.0
}

/// Engine CPU of the API calls the engine makes: the periodic re-list and disk-usage measurement, and the one-shot
/// stats fallback used when cgroups cannot be read (remote engines). `idle_rate` = engine CPU seconds per second
/// with nothing watching.
pub(crate) async fn measure(
    breakdown: &mut Breakdown,
    ids: &[String],
    idle_rate: f64,
) -> Result<()> {
    use futures_util::StreamExt;
    let endpoint = bench_config().docker_endpoint();
    let started = Instant::now();
    let client = docktray::sources::docker::Client::connect("local", &endpoint).await?;
    breakdown.connect_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let docker = client.docker();
    const RECONCILES: u32 = 10;
    let started = Instant::now();
    let before = engine_cpu();
    for _ in 0..RECONCILES {
        let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
            .all(true)
            .build();
        let listed = docker.list_containers(Some(options)).await?;
        let infos: Vec<_> = futures_util::stream::iter(listed.into_iter().filter_map(|c| c.id))
            .map(|id| {
                let client = &client;
                async move { client.inspect(&id).await }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for info in infos {
            info?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let used = cpu_delta(&before, &engine_cpu()) - idle_rate * elapsed;
    breakdown.reconcile_engine_ms = used * 1000.0 / f64::from(RECONCILES);
    breakdown.reconcile_wall_ms = elapsed * 1000.0 / f64::from(RECONCILES);

    // The engine walks every container's writable layer for it: the largest periodic cost it has from us.
    const DISK_USAGES: u32 = 3;
    let started = Instant::now();
    let before = engine_cpu();
    for _ in 0..DISK_USAGES {
        client.disk_usage().await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let used = cpu_delta(&before, &engine_cpu()) - idle_rate * elapsed;
    breakdown.disk_usage_engine_ms = used * 1000.0 / f64::from(DISK_USAGES);
    breakdown.disk_usage_wall_ms = elapsed * 1000.0 / f64::from(DISK_USAGES);

    // At 8 in flight one API sweep takes about 0.15 s per container: once is enough for hundreds.
    let sweeps: u32 = if ids.len() > 100 { 1 } else { 5 };
    let started = Instant::now();
    let before = engine_cpu();
    for _ in 0..sweeps {
        let results: Vec<_> = futures_util::stream::iter(ids.iter())
            .map(|id| {
                docktray::sources::docker::api_stats::sample(
                    docker,
                    docktray::model::EngineProduct::Docker,
                    id,
                )
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for result in results {
            result?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let used = cpu_delta(&before, &engine_cpu()) - idle_rate * elapsed;
    breakdown.api_sweep_engine_ms = used * 1000.0 / f64::from(sweeps);
    breakdown.api_sweep_wall_ms = elapsed * 1000.0 / f64::from(sweeps);
    Ok(())
}

/// The table of these costs, one row per N.
pub(crate) fn print_table(results: &[Measured]) {
    println!();
    println!("Engine-side cost of API calls (dockerd + containerd + shims, above idle):");
    println!();
    println!("| N | connect wall | one re-list (list + inspect all; docktray does it once a minute): engine CPU, wall | = % of one core at 1/min | one disk-usage measurement (`/system/df`; every {} s): engine CPU, wall | = % of one core at that rate | docktray's calls together (re-list + disk usage), % of one core | one API stats sweep (one-shot per container, 8 in flight) | its wall time | = % of one core every 2 s |", DISK_USAGE_EVERY.as_secs());
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let b = &r.breakdown;
        println!(
            "| {} | {:.0} ms | {:.1} ms, {:.0} ms | {:.2} | {:.1} ms, {:.0} ms | {:.2} | {:.2} | {:.1} ms | {:.0} ms | {:.1} |",
            r.n,
            b.connect_wall_ms,
            b.reconcile_engine_ms,
            b.reconcile_wall_ms,
            relist_percent(b),
            b.disk_usage_engine_ms,
            b.disk_usage_wall_ms,
            disk_usage_percent(b),
            relist_percent(b) + disk_usage_percent(b),
            b.api_sweep_engine_ms,
            b.api_sweep_wall_ms,
            b.api_sweep_engine_ms / 2_000.0 * 100.0,
        );
    }
}
