//! CPU time of processes, threads and the whole host, read from /proc, for the benchmark's windows.

use super::*;

/// CPU seconds (user + system) used by this process so far, all threads including finished ones.
pub(crate) fn self_cpu() -> f64 {
    // SAFETY: getrusage only writes into the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// CPU seconds used by the calling thread so far.
pub(crate) fn thread_cpu() -> f64 {
    // SAFETY: as in self_cpu.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

pub(crate) fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// (comm, utime + stime in seconds) of a process, from /proc/<pid>/stat.
pub(crate) fn proc_stat(pid: u32) -> Option<(String, f64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces or parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 2..].split_whitespace().collect();
    // After "pid (comm) ": state is field 3 of stat(5); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / clock_ticks()))
}

pub(crate) fn pid_cpu(pid: u32) -> Option<f64> {
    proc_stat(pid).map(|(_, cpu)| cpu)
}

pub(crate) fn is_engine_process(comm: &str) -> bool {
    comm == "dockerd" || comm == "containerd" || comm.starts_with("containerd-shim")
}

/// CPU seconds so far of every dockerd, containerd and containerd-shim* process, by pid.
pub(crate) fn engine_cpu() -> BTreeMap<u32, f64> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((comm, cpu)) = proc_stat(pid) {
            if is_engine_process(&comm) {
                out.insert(pid, cpu);
            }
        }
    }
    out
}

/// CPU seconds used between two readings; a process that appeared in between counts in full.
pub(crate) fn cpu_delta(before: &BTreeMap<u32, f64>, after: &BTreeMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
        .filter(|delta| *delta >= 0.0)
        .sum()
}

/// (busy, total) jiffies of the whole machine from the `cpu` line of /proc/stat.
pub(crate) fn host_cpu() -> (u64, u64) {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Whole-machine busy % (of all cores) between two readings: shows whether anything else ran meanwhile.
pub(crate) fn host_busy(before: (u64, u64), after: (u64, u64)) -> f64 {
    let busy = after.0.saturating_sub(before.0) as f64;
    let total = after.1.saturating_sub(before.1) as f64;
    if total > 0.0 {
        busy / total * 100.0
    } else {
        0.0
    }
}

/// Engine CPU seconds over `window` with nothing watching.
pub(crate) async fn engine_cpu_over(window: Duration) -> f64 {
    let before = engine_cpu();
    tokio::time::sleep(window).await;
    cpu_delta(&before, &engine_cpu())
}

// ---- Docker CLI and containers --------------------------------------------------------------------------------
