//! `BENCH_MODE=first-snapshot`: only the first-snapshot phase, against the benchmark containers already running
//! on the engine (label docktray.bench=1; this mode neither starts nor removes any), so two builds can be run
//! in turn against the same containers (an interleaved A/B). Prints one line per run and the median.
//! BENCH_RUNS (default 5) runs; RUST_LOG (e.g. `docktray=debug`) prints the engine's own timestamps.

use super::*;

pub(crate) fn first_snapshot_only(cli: &Cli) -> Result<()> {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runs = env_parse("BENCH_RUNS", SNAPSHOT_RUNS as u64)? as usize;
    let ids = cli.running_bench_ids()?;
    let running = cli.output(&["ps", "-q"])?.lines().count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (ms, sampled) = runtime.block_on(async {
            let (ms, snapshot) = time_first_snapshot().await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, anyhow::Error>((ms, count_sampled(&snapshot, &ids)))
        })?;
        ensure!(
            sampled == ids.len(),
            "only {sampled} of {} benchmark containers had figures in the first snapshot",
            ids.len()
        );
        println!(
            "first snapshot N={} ({running} running): {ms:.1} ms",
            ids.len()
        );
        times.push(ms);
    }
    println!(
        "first snapshot N={}: median {:.1} ms of {}",
        ids.len(),
        median(&times),
        list(&times)
    );
    Ok(())
}
