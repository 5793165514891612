//! Where docktray's own CPU goes per tick: each part of the work timed alone on one thread, outside the engine.

use std::fs;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use crate::cpu::thread_cpu;

/// Where docktray's own CPU goes per tick: each part timed alone on one thread (RUSAGE_THREAD), outside the
/// engine, over BREAKDOWN_ROUNDS rounds.
pub(crate) struct Breakdown {
    /// /proc/stat + every container's cgroup files and /proc/<pid>/net/dev, as the engine reads them: kept open
    /// and re-read with pread (`KeptFiles::sweep`), parsed without allocating.
    pub(crate) container_sweep_ms: f64,
    /// The same sweep opening, reading and closing every file (`cgroup::read_counters`): the fallback beyond the
    /// descriptor budget, and what docktray did before.
    pub(crate) container_sweep_per_open_ms: f64,
    /// Of the kept sweep: /proc/<pid>/net/dev, and memory.stat, read through kept descriptors and parsed.
    pub(crate) net_dev_ms: f64,
    pub(crate) memory_stat_ms: f64,
    /// The files kept open, bytes only (no parsing): opened, read and closed each time ...
    pub(crate) raw_open_read_ms: f64,
    /// ... and kept open and re-read from offset 0 with pread.
    pub(crate) raw_pread_ms: f64,
    pub(crate) files_per_container: usize,
    /// The whole host sampler (docktray::sources::host::HostSampler::sample).
    pub(crate) host_sample_ms: f64,
    /// Its parts through sysinfo: Networks::refresh, Disks::refresh, CPU + memory.
    pub(crate) host_networks_ms: f64,
    pub(crate) host_disks_ms: f64,
    pub(crate) host_cpu_memory_ms: f64,
    pub(crate) interfaces: usize,
    pub(crate) mounts: usize,
    /// Engine CPU (above idle) of one re-list as the engine does it every minute: list + inspect each container.
    pub(crate) reconcile_engine_ms: f64,
    /// Engine CPU (above idle) and wall time of one sweep through the API fallback (one-shot stats per container).
    pub(crate) api_sweep_engine_ms: f64,
    pub(crate) api_sweep_wall_ms: f64,
    /// Wall time of connecting (version negotiation) and of one re-list, the first steps of a first snapshot.
    pub(crate) connect_wall_ms: f64,
    pub(crate) reconcile_wall_ms: f64,
    /// Engine CPU (above idle) and wall time of one disk-usage measurement (`/system/df`), which the engine
    /// makes 10 s after start and then every 5 minutes.
    pub(crate) disk_usage_engine_ms: f64,
    pub(crate) disk_usage_wall_ms: f64,
}

pub(crate) const BREAKDOWN_ROUNDS: u32 = 20;

/// CPU milliseconds per call of `f`, on this thread.
fn per_round(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm caches and sysinfo's lists
    let before = thread_cpu();
    for _ in 0..BREAKDOWN_ROUNDS {
        f()?;
    }
    Ok((thread_cpu() - before) * 1000.0 / f64::from(BREAKDOWN_ROUNDS))
}

/// `inspect` lines "ID PID" -> the cost of each part of one tick.
pub(crate) fn breakdown(id_pids: &str) -> Result<Breakdown> {
    use docktray::sources::docker::cgroup::{self, parse, read_whole, KeptFiles, Mounts, Outcome};
    use docktray::sources::docker::formula::MemoryFormula;
    let mounts = Mounts::discover()?;
    let mut targets = Vec::new();
    for line in id_pids.lines() {
        let (id, pid) = line.split_once(' ').context("inspect output")?;
        let pid: u32 = pid.trim().parse()?;
        let paths = mounts
            .locate(pid, id)
            .with_context(|| format!("no cgroup found for {id}"))?;
        targets.push((id.to_owned(), pid, paths));
    }
    let sweep_targets: Vec<(String, u32)> = targets
        .iter()
        .map(|(id, pid, _)| (id.clone(), *pid))
        .collect();
    let mut kept = KeptFiles::new(mounts.clone(), MemoryFormula::DOCKER);
    let container_sweep_ms = per_round(|| {
        let read = kept.sweep(sweep_targets.clone(), Instant::now());
        ensure!(
            read.iter()
                .all(|(_, outcome)| matches!(outcome, Outcome::Counters(_))),
            "the kept sweep did not read every container"
        );
        std::hint::black_box(read);
        Ok(())
    })?;
    // Over the budget, files would be read per open: then the benchmark would not measure what it says.
    for (id, ..) in &targets {
        let files = kept.container(id).context("a swept container is kept")?;
        ensure!(
            !files.reads_per_open(),
            "descriptor budget exhausted: raise `ulimit -n`"
        );
    }
    let container_sweep_per_open_ms = per_round(|| {
        let host = cgroup::read_host_cpu()?;
        let now = Instant::now();
        for (_, pid, paths) in &targets {
            std::hint::black_box(cgroup::read_counters(paths, *pid, &host, now)?);
        }
        Ok(())
    })?;
    drop(kept);
    // The files the kept sweep holds for each container (CgroupPaths::kept_files), and its parsers.
    let mut files = Vec::new();
    for (_, pid, paths) in &targets {
        for &file in paths.kept_files() {
            if let Some(path) = paths.path(file, *pid).filter(|path| path.exists()) {
                files.push((file, path));
            }
        }
    }
    let open_of = |kind: cgroup::CounterFile| -> Result<Vec<fs::File>> {
        files
            .iter()
            .filter(|(file, _)| *file == kind)
            .map(|(_, path)| Ok(fs::File::open(path)?))
            .collect()
    };
    let mut buffer = Vec::new();
    let net_dev = open_of(cgroup::CounterFile::NetDev)?;
    let net_dev_ms = per_round(|| {
        for file in &net_dev {
            std::hint::black_box(parse::net_dev_totals(read_whole(file, &mut buffer)?));
        }
        Ok(())
    })?;
    let memory_stat = open_of(cgroup::CounterFile::MemoryStat)?;
    let memory_stat_ms = per_round(|| {
        for file in &memory_stat {
            std::hint::black_box(parse::memory_stat(read_whole(file, &mut buffer)?));
        }
        Ok(())
    })?;
    drop((net_dev, memory_stat));
    let files: Vec<std::path::PathBuf> = files.into_iter().map(|(_, path)| path).collect();
    let files_per_container = files.len() / targets.len().max(1);
    let mut buffer = vec![0u8; 64 * 1024];
    let raw_open_read_ms = per_round(|| {
        for file in &files {
            std::hint::black_box(fs::read(file)?);
        }
        Ok(())
    })?;
    let open: Vec<fs::File> = files
        .iter()
        .map(fs::File::open)
        .collect::<std::io::Result<_>>()?;
    let raw_pread_ms = per_round(|| {
        use std::os::unix::fs::FileExt;
        for file in &open {
            // One read covers these files (all well under 64 KiB); read until EOF to be safe.
            let mut at = 0;
            loop {
                let n = file.read_at(&mut buffer, at)?;
                if n == 0 {
                    break;
                }
                at += n as u64;
            }
            std::hint::black_box(at);
        }
        Ok(())
    })?;
    drop(open);
    let mut sampler = docktray::sources::host::HostSampler::new()?;
    let host_sample_ms = per_round(|| {
        std::hint::black_box(sampler.sample());
        Ok(())
    })?;
    let mut networks = sysinfo::Networks::new_with_refreshed_list()?;
    let host_networks_ms = per_round(|| {
        networks.refresh(true);
        Ok(())
    })?;
    let mut disks = sysinfo::Disks::new_with_refreshed_list()?;
    let host_disks_ms = per_round(|| {
        disks.refresh(true);
        Ok(())
    })?;
    let mut system = sysinfo::System::new()?;
    let host_cpu_memory_ms = per_round(|| {
        system.refresh_cpu_usage();
        system.refresh_memory();
        Ok(())
    })?;
    Ok(Breakdown {
        container_sweep_ms,
        container_sweep_per_open_ms,
        net_dev_ms,
        memory_stat_ms,
        raw_open_read_ms,
        raw_pread_ms,
        files_per_container,
        host_sample_ms,
        host_networks_ms,
        host_disks_ms,
        host_cpu_memory_ms,
        interfaces: networks.iter().count(),
        mounts: fs::read_to_string("/proc/self/mounts")
            .map(|m| m.lines().count())
            .unwrap_or(0),
        reconcile_engine_ms: 0.0,
        api_sweep_engine_ms: 0.0,
        api_sweep_wall_ms: 0.0,
        connect_wall_ms: 0.0,
        reconcile_wall_ms: 0.0,
        disk_usage_engine_ms: 0.0,
        disk_usage_wall_ms: 0.0,
    })
}
