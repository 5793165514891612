//! Reads a container's counters straight from its cgroup files and network namespace, which costs the Docker
//! engine nothing (the API costs it about 3 ms of CPU per container per sample). Works with cgroup v1 and v2,
//! any cgroup driver: each container's cgroup is found from `/proc/<pid>/cgroup`, never guessed.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::formula::MemoryFormula;
use crate::model::RawCounters;

/// Where a container's cgroup files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupPaths {
    V1 {
        cpuacct: PathBuf,
        memory: PathBuf,
        blkio: PathBuf,
        pids: Option<PathBuf>,
    },
    V2 {
        dir: PathBuf,
    },
}

/// Host-wide numbers read once per sweep and shared by every container's sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCpu {
    pub system_ns: u64,
    pub online_cpus: u32,
    pub memory_total_bytes: u64,
}

/// The cgroup mount points of this machine, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// v1 controller name -> mount point.
    v1: HashMap<String, PathBuf>,
    v2: Option<PathBuf>,
}

impl Mounts {
    pub fn discover() -> io::Result<Self> {
        Ok(Self::parse(&fs::read_to_string("/proc/self/mountinfo")?))
    }

    /// Parses mountinfo lines: `id parent major:minor root mountpoint opts ... - fstype source superopts`.
    pub fn parse(mountinfo: &str) -> Self {
        let mut mounts = Self::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mut fields = left.split_whitespace();
            let Some(mount_point) = fields.nth(4) else {
                continue;
            };
            let mut right = right.split_whitespace();
            let (Some(fstype), _source, Some(super_opts)) =
                (right.next(), right.next(), right.next())
            else {
                continue;
            };
            let mount_point = PathBuf::from(unescape_mount(mount_point));
            match fstype {
                "cgroup2" => {
                    mounts.v2.get_or_insert(mount_point);
                }
                "cgroup" => {
                    for option in super_opts.split(',') {
                        if matches!(option, "cpuacct" | "memory" | "blkio" | "pids") {
                            mounts
                                .v1
                                .entry(option.to_owned())
                                .or_insert_with(|| mount_point.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        mounts
    }

    /// Whether any cgroup hierarchy we can read is mounted here.
    pub fn usable(&self) -> bool {
        self.v2.is_some() || (self.v1.contains_key("cpuacct") && self.v1.contains_key("memory"))
    }

    /// Finds the cgroup of the process `pid`; `container_id` must appear in the path so a reused pid or a
    /// process outside the container is never mistaken for it.
    pub fn locate(&self, pid: u32, container_id: &str) -> Option<CgroupPaths> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        self.locate_in(&text, container_id)
    }

    /// Like [`Mounts::locate`] but from the text of a `/proc/<pid>/cgroup` file.
    pub fn locate_in(&self, proc_cgroup: &str, container_id: &str) -> Option<CgroupPaths> {
        let mut v1: HashMap<&str, &str> = HashMap::new();
        let mut unified = None;
        for line in proc_cgroup.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if controllers.is_empty() {
                unified = Some(path);
            }
            for controller in controllers.split(',') {
                v1.insert(controller, path);
            }
        }
        let join = |base: &Path, path: &str| base.join(path.trim_start_matches('/'));
        if let (Some(cpuacct), Some(memory)) = (v1.get("cpuacct"), v1.get("memory")) {
            if cpuacct.contains(container_id) {
                let base = |name: &str| self.v1.get(name);
                let blkio = v1.get("blkio").copied().unwrap_or(cpuacct);
                return Some(CgroupPaths::V1 {
                    cpuacct: join(base("cpuacct")?, cpuacct),
                    memory: join(base("memory")?, memory),
                    blkio: join(base("blkio")?, blkio),
                    pids: v1.get("pids").and_then(|p| Some(join(base("pids")?, p))),
                });
            }
        }
        let path = unified?;
        if !path.contains(container_id) {
            return None;
        }
        Some(CgroupPaths::V2 {
            dir: join(self.v2.as_ref()?, path),
        })
    }
}

/// Mountinfo escapes spaces and a few other bytes as octal (`\040`).
fn unescape_mount(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Some(code) = std::str::from_utf8(&bytes[i + 1..i + 4])
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 8).ok())
            {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the host's total CPU time and online CPUs from `/proc/stat` and memory from `/proc/meminfo`.
pub fn read_host_cpu() -> io::Result<HostCpu> {
    let stat = fs::read_to_string("/proc/stat")?;
    let meminfo = fs::read_to_string("/proc/meminfo")?;
    parse_host_cpu(&stat, &meminfo, clock_ticks()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected /proc/stat or /proc/meminfo format",
        )
    })
}

/// Same as [`read_host_cpu`] from file contents. Docker sums the first seven fields of the `cpu` line
/// (user, nice, system, idle, iowait, irq, softirq) and converts ticks to nanoseconds.
pub fn parse_host_cpu(stat: &str, meminfo: &str, ticks_per_second: u64) -> Option<HostCpu> {
    let mut system_ticks = None;
    let mut online_cpus = 0u32;
    for line in stat.lines() {
        if let Some(rest) = line.strip_prefix("cpu ") {
            let ticks: u64 = rest
                .split_whitespace()
                .take(7)
                .filter_map(|field| field.parse::<u64>().ok())
                .sum();
            system_ticks = Some(ticks);
        } else if line.starts_with("cpu") && line.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
        {
            online_cpus += 1;
        }
    }
    let memory_total_bytes = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())?
        * 1024;
    let ticks_per_second = ticks_per_second.max(1);
    Some(HostCpu {
        system_ns: system_ticks? * (1_000_000_000 / ticks_per_second),
        online_cpus: online_cpus.max(1),
        memory_total_bytes,
    })
}

/// USER_HZ; 100 on every Linux architecture Docker runs on.
fn clock_ticks() -> u64 {
    100
}

/// Reads one container's counters, memory as `docker stats` counts it. `pid` is its main process (for the
/// network namespace).
pub fn read_counters(
    paths: &CgroupPaths,
    pid: u32,
    host: &HostCpu,
    at: Instant,
) -> io::Result<RawCounters> {
    let read = |path: &Path| fs::read_to_string(path);
    counters_with(paths, pid, host, at, MemoryFormula::DOCKER, &read)
}

/// [`read_counters`] through files kept open between sweeps (see [`OpenFiles`]), memory as the engine counts it.
pub fn read_counters_kept_open(
    paths: &CgroupPaths,
    pid: u32,
    host: &HostCpu,
    at: Instant,
    memory: MemoryFormula,
    files: &mut OpenFiles,
) -> io::Result<RawCounters> {
    let files = std::cell::RefCell::new(files);
    counters_with(paths, pid, host, at, memory, &|path: &Path| {
        files.borrow_mut().read(path)
    })
}

/// Most open files kept: 7 per container, so about 70 containers; beyond that files are opened per read.
const MAX_OPEN_FILES: usize = 512;

/// Cgroup and `/proc` files kept open between sweeps and re-read from the start (`pread`): opening and closing
/// them was most of a sweep's cost (docs/benchmarks.md, "What dominates now"). The kernel regenerates these
/// files on every read from offset 0. Files a sweep did not read are closed after it (those of removed or
/// restarted containers); a kept file that fails to read (its cgroup was removed) is opened again once.
#[derive(Debug, Default)]
pub struct OpenFiles {
    files: HashMap<PathBuf, fs::File>,
    read_this_sweep: std::collections::HashSet<PathBuf>,
}

impl OpenFiles {
    /// The whole file, as it is now.
    pub fn read(&mut self, path: &Path) -> io::Result<String> {
        self.read_this_sweep.insert(path.to_owned());
        if let Some(file) = self.files.get(path) {
            match read_from_start(file) {
                Ok(text) => return Ok(text),
                Err(_) => {
                    self.files.remove(path);
                }
            }
        }
        let file = fs::File::open(path)?;
        let text = read_from_start(&file)?;
        if self.files.len() < MAX_OPEN_FILES {
            self.files.insert(path.to_owned(), file);
        }
        Ok(text)
    }

    /// Closes the files the sweep that just ended did not read.
    pub fn end_sweep(&mut self) {
        let read = std::mem::take(&mut self.read_this_sweep);
        self.files.retain(|path, _| read.contains(path));
    }

    /// How many files are open.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn read_from_start(file: &fs::File) -> io::Result<String> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let read = file.read_at(&mut chunk, text.len() as u64)?;
        if read == 0 {
            break;
        }
        text.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8(text).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Every file [`counters_with`] may read for one container, so a remote host can `cat` them all at once.
pub fn files_of(paths: &CgroupPaths, pid: u32) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from(format!("/proc/{pid}/net/dev"))];
    match paths {
        CgroupPaths::V1 {
            cpuacct,
            memory,
            blkio,
            pids,
        } => {
            files.push(cpuacct.join("cpuacct.usage"));
            files.push(memory.join("memory.usage_in_bytes"));
            files.push(memory.join("memory.stat"));
            files.push(memory.join("memory.limit_in_bytes"));
            files.extend(BLKIO_V1_FILES.iter().map(|f| blkio.join(f)));
            if let Some(dir) = pids {
                files.push(dir.join("pids.current"));
            }
        }
        CgroupPaths::V2 { dir } => {
            for name in [
                "cpu.stat",
                "memory.current",
                "memory.stat",
                "memory.max",
                "io.stat",
                "pids.current",
            ] {
                files.push(dir.join(name));
            }
        }
    }
    files
}

/// [`read_counters`] with the file reads given (the local filesystem, or the output of one batched command on a
/// remote host) and memory counted as the engine's own stats command does.
pub fn counters_with(
    paths: &CgroupPaths,
    pid: u32,
    host: &HostCpu,
    at: Instant,
    formula: MemoryFormula,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> io::Result<RawCounters> {
    let read_u64 = |path: &Path| -> io::Result<u64> {
        read(path)?.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a number", path.display()),
            )
        })
    };
    let (net_rx_bytes, net_tx_bytes) =
        parse_net_dev(&read(Path::new(&format!("/proc/{pid}/net/dev")))?);
    let (cpu_total_ns, memory_bytes, limit, block, pids) = match paths {
        CgroupPaths::V1 {
            cpuacct,
            memory,
            blkio,
            pids,
        } => {
            let cpu = read_u64(&cpuacct.join("cpuacct.usage"))?;
            let usage = read_u64(&memory.join("memory.usage_in_bytes"))?;
            let stat = parse_flat_keyed(&read(&memory.join("memory.stat"))?);
            let mut limit = read_u64(&memory.join("memory.limit_in_bytes")).unwrap_or(u64::MAX);
            if let Some(&hierarchical) = stat.get("hierarchical_memory_limit") {
                limit = limit.min(hierarchical);
            }
            let block = BLKIO_V1_FILES
                .iter()
                .filter_map(|file| read(&blkio.join(file)).ok())
                .find_map(|text| parse_blkio_v1(&text))
                .unwrap_or((0, 0));
            let pids = pids
                .as_ref()
                .and_then(|dir| read_u64(&dir.join("pids.current")).ok());
            (
                cpu,
                formula.v1(usage, &stat),
                limit,
                block,
                pids.unwrap_or(0),
            )
        }
        CgroupPaths::V2 { dir } => {
            let cpu_stat = parse_flat_keyed(&read(&dir.join("cpu.stat"))?);
            let cpu = cpu_stat
                .get("usage_usec")
                .copied()
                .unwrap_or(0)
                .saturating_mul(1000);
            let usage = read_u64(&dir.join("memory.current"))?;
            let stat = parse_flat_keyed(&read(&dir.join("memory.stat")).unwrap_or_default());
            // "max" (no limit) does not parse and falls back to the host's memory below.
            let limit = read_u64(&dir.join("memory.max")).unwrap_or(u64::MAX);
            let block = parse_io_stat(&read(&dir.join("io.stat")).unwrap_or_default());
            let pids = read_u64(&dir.join("pids.current")).unwrap_or(0);
            (cpu, formula.v2(usage, &stat), limit, block, pids)
        }
    };
    Ok(RawCounters {
        at,
        cpu_total_ns,
        system_ns: host.system_ns,
        online_cpus: host.online_cpus,
        memory_bytes,
        // No limit, or one above the machine's memory, is shown as the machine's memory, like docker stats.
        memory_limit_bytes: limit.min(host.memory_total_bytes),
        net_rx_bytes,
        net_tx_bytes,
        block_read_bytes: block.0,
        block_write_bytes: block.1,
        pids,
    })
}

/// `key value` lines (memory.stat, cpu.stat).
pub fn parse_flat_keyed(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(' ')?;
            Some((key.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Sums bytes received and sent over every interface of a network namespace except loopback.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    net_dev_interfaces(text)
        .filter(|(name, ..)| *name != "lo")
        .fold((0u64, 0u64), |(rx, tx), (_, r, t)| {
            (rx.saturating_add(r), tx.saturating_add(t))
        })
}

/// Each interface of a `/proc/<pid>/net/dev` (or `/proc/net/dev`) table with its received and sent bytes.
pub fn net_dev_interfaces(text: &str) -> impl Iterator<Item = (&str, u64, u64)> {
    text.lines().skip(2).filter_map(|line| {
        let (name, values) = line.split_once(':')?;
        let mut fields = values
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        let rx = fields.next()?;
        let tx = fields.nth(7)?;
        Some((name.trim(), rx, tx))
    })
}

/// v1 block I/O: `io_service_bytes_recursive` (CFQ) when it has device lines, else the throttle file, as runc does.
const BLKIO_V1_FILES: [&str; 2] = [
    "blkio.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes_recursive",
];

/// Parses `MAJ:MIN Op bytes` lines, summing Read and Write over devices; `None` when there are no device lines.
pub fn parse_blkio_v1(text: &str) -> Option<(u64, u64)> {
    let mut read = 0u64;
    let mut write = 0u64;
    let mut any = false;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(device), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !device.contains(':') {
            continue;
        }
        any = true;
        let value: u64 = value.parse().unwrap_or(0);
        match op.to_ascii_lowercase().as_str() {
            "read" => read = read.saturating_add(value),
            "write" => write = write.saturating_add(value),
            _ => {}
        }
    }
    any.then_some((read, write))
}

/// v2 block I/O: `MAJ:MIN rbytes=N wbytes=N ...` lines, summed over devices.
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let mut read = 0u64;
    let mut write = 0u64;
    for field in text.split_whitespace() {
        if let Some(value) = field.strip_prefix("rbytes=") {
            read = read.saturating_add(value.parse().unwrap_or(0));
        } else if let Some(value) = field.strip_prefix("wbytes=") {
            write = write.saturating_add(value.parse().unwrap_or(0));
        }
    }
    (read, write)
}

#[cfg(test)]
mod tests;
