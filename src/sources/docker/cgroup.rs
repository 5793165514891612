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

mod kept;
pub mod parse;
mod quiet;
pub mod scan;

pub use kept::{ContainerFiles, KeptFiles, Outcome};
pub use quiet::{LastReading, Needs, Quiet, FULL_READ_EVERY};

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
        self.try_locate(pid, container_id).ok().flatten()
    }

    /// Like [`Mounts::locate`], telling a process that is gone (an error) from one outside the container.
    pub fn try_locate(&self, pid: u32, container_id: &str) -> io::Result<Option<CgroupPaths>> {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
        Ok(self.locate_in(&text, container_id))
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
    let (system_ns, online_cpus) = parse_proc_stat(stat, ticks_per_second)?;
    Some(HostCpu {
        system_ns,
        online_cpus,
        memory_total_bytes: parse_mem_total(meminfo)?,
    })
}

/// The host's CPU time in nanoseconds and its online CPUs, from `/proc/stat`.
pub fn parse_proc_stat(stat: &str, ticks_per_second: u64) -> Option<(u64, u32)> {
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
    let ticks_per_second = ticks_per_second.max(1);
    Some((
        system_ticks? * (1_000_000_000 / ticks_per_second),
        online_cpus.max(1),
    ))
}

/// The machine's memory in bytes, from `/proc/meminfo`.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())?
        .checked_mul(1024)
}

/// USER_HZ; 100 on every Linux architecture Docker runs on.
pub(crate) fn clock_ticks() -> u64 {
    100
}

/// One of the files a container's counters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterFile {
    /// `/proc/<pid>/net/dev`: the container's network namespace.
    NetDev,
    /// cgroup v1.
    CpuacctUsage,
    MemoryUsage,
    MemoryLimit,
    BlkioService,
    BlkioThrottle,
    /// cgroup v2.
    CpuStat,
    MemoryCurrent,
    MemoryMax,
    IoStat,
    /// Both: `memory.stat` and `pids.current`.
    MemoryStat,
    Pids,
}

impl CounterFile {
    /// How many kinds there are (an index for per-file tables).
    pub const COUNT: usize = 12;

    /// The file's name in its cgroup directory.
    pub fn name(self) -> &'static str {
        match self {
            Self::NetDev => "net/dev",
            Self::CpuacctUsage => "cpuacct.usage",
            Self::MemoryUsage => "memory.usage_in_bytes",
            Self::MemoryLimit => "memory.limit_in_bytes",
            Self::BlkioService => BLKIO_V1_FILES[0],
            Self::BlkioThrottle => BLKIO_V1_FILES[1],
            Self::CpuStat => "cpu.stat",
            Self::MemoryCurrent => "memory.current",
            Self::MemoryMax => "memory.max",
            Self::IoStat => "io.stat",
            Self::MemoryStat => "memory.stat",
            Self::Pids => "pids.current",
        }
    }
}

/// v1 block I/O: `io_service_bytes_recursive` (CFQ, BFQ) when it has device lines, else the throttle file, as
/// runc does. Kernels without those schedulers have no first file at all.
const BLKIO_V1_FILES: [&str; 2] = [
    "blkio.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes_recursive",
];

impl CgroupPaths {
    /// The files kept open for a container: all it reads every sweep. `memory.limit_in_bytes` is not among
    /// them: v1's `memory.stat` carries the effective limit (`hierarchical_memory_limit`).
    pub fn kept_files(&self) -> &'static [CounterFile] {
        use CounterFile::*;
        match self {
            Self::V1 { pids: Some(_), .. } => &[
                NetDev,
                CpuacctUsage,
                MemoryUsage,
                MemoryStat,
                BlkioService,
                BlkioThrottle,
                Pids,
            ],
            Self::V1 { pids: None, .. } => &[
                NetDev,
                CpuacctUsage,
                MemoryUsage,
                MemoryStat,
                BlkioService,
                BlkioThrottle,
            ],
            Self::V2 { .. } => &[
                NetDev,
                CpuStat,
                MemoryCurrent,
                MemoryStat,
                MemoryMax,
                IoStat,
                Pids,
            ],
        }
    }

    /// Where `file` is for this container (`None` for a file of the other cgroup version, or v1 without pids).
    pub fn path(&self, file: CounterFile, pid: u32) -> Option<PathBuf> {
        use CounterFile::*;
        if file == NetDev {
            return Some(PathBuf::from(format!("/proc/{pid}/net/dev")));
        }
        let dir = match (self, file) {
            (Self::V1 { cpuacct, .. }, CpuacctUsage) => cpuacct,
            (Self::V1 { memory, .. }, MemoryUsage | MemoryLimit | MemoryStat) => memory,
            (Self::V1 { blkio, .. }, BlkioService | BlkioThrottle) => blkio,
            (Self::V1 { pids, .. }, Pids) => pids.as_ref()?,
            (
                Self::V2 { dir },
                CpuStat | MemoryCurrent | MemoryMax | IoStat | MemoryStat | Pids,
            ) => dir,
            _ => return None,
        };
        Some(dir.join(file.name()))
    }
}

/// Where a container's counter files are read from: kept descriptors, a fresh open per read, or the output of
/// one batched command on a remote host.
pub trait CounterFiles {
    /// Reads `file` whole and hands its bytes to `parse`.
    fn read<T>(&mut self, file: CounterFile, parse: impl FnOnce(&[u8]) -> T) -> io::Result<T>;
}

/// A required number: a file that does not hold one is an error naming it.
fn read_number(files: &mut impl CounterFiles, file: CounterFile) -> io::Result<u64> {
    files.read(file, parse::number)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a number", file.name()),
        )
    })
}

/// One container's counters from its files, as the engine's own stats command computes them (`formula`: Docker's,
/// or the Podman version's memory). The one reading for every way of getting at the files: kept open, opened per
/// read, or read by one batched command on a remote host. `quiet` holds the container's last full reading: the
/// files that cannot have changed since are left out ([`Quiet`]); a fresh `Quiet` reads everything.
pub fn counters(
    paths: &CgroupPaths,
    files: &mut impl CounterFiles,
    host: &HostCpu,
    at: Instant,
    formula: MemoryFormula,
    quiet: &mut Quiet,
) -> io::Result<RawCounters> {
    use CounterFile::*;
    let (net_rx_bytes, net_tx_bytes) = files.read(NetDev, parse::net_dev_totals)?;
    let mut skipped = 0u8;
    let reading = match paths {
        CgroupPaths::V1 { pids, .. } => {
            let cpu = read_number(files, CpuacctUsage)?;
            let usage = read_number(files, MemoryUsage)?;
            let (needs, last) = quiet.needs(cpu, usage);
            let mut reuse = |needed: bool| last.filter(|_| !needed).inspect(|_| skipped += 1);
            let (memory_bytes, memory_limit) = match reuse(needs.memory_stat) {
                Some(last) => (last.memory_bytes, last.memory_limit),
                None => {
                    let stat = files.read(MemoryStat, parse::memory_stat)?;
                    // The lowest limit of the cgroup and its ancestors, so never above memory.limit_in_bytes.
                    let limit = match stat.hierarchical_memory_limit {
                        Some(limit) => limit,
                        None => read_number(files, MemoryLimit).unwrap_or(u64::MAX),
                    };
                    (formula.v1(usage, &stat), limit)
                }
            };
            let block = match reuse(needs.v1_block) {
                Some(last) => last.block,
                None => [BlkioService, BlkioThrottle]
                    .into_iter()
                    .find_map(|file| files.read(file, parse::blkio_v1).ok().flatten())
                    .unwrap_or((0, 0)),
            };
            let pids = match (pids, reuse(needs.pids)) {
                (None, _) => 0,
                (Some(_), Some(last)) => last.pids,
                (Some(_), None) => read_number(files, Pids).unwrap_or(0),
            };
            LastReading {
                cpu_total_ns: cpu,
                memory_usage: usage,
                memory_bytes,
                memory_limit,
                block,
                pids,
            }
        }
        CgroupPaths::V2 { .. } => {
            let cpu = files
                .read(CpuStat, |text| parse::keyed(text, b"usage_usec"))?
                .unwrap_or(0)
                .saturating_mul(1000);
            let usage = read_number(files, MemoryCurrent)?;
            let (needs, last) = quiet.needs(cpu, usage);
            let mut reuse = |needed: bool, files_left_out: u8| {
                last.filter(|_| !needed)
                    .inspect(|_| skipped += files_left_out)
            };
            let (memory_bytes, memory_limit) = match reuse(needs.memory_stat, 2) {
                Some(last) => (last.memory_bytes, last.memory_limit),
                None => {
                    let stat = files
                        .read(MemoryStat, parse::memory_stat)
                        .unwrap_or_default();
                    // "max" (no limit) is no number and falls back to the host's memory below.
                    let limit = read_number(files, MemoryMax).unwrap_or(u64::MAX);
                    (formula.v2(usage, &stat), limit)
                }
            };
            // Read every sweep: v2 charges writeback by the flusher threads to the cgroup.
            let block = files.read(IoStat, parse::io_stat).unwrap_or((0, 0));
            let pids = match reuse(needs.pids, 1) {
                Some(last) => last.pids,
                None => read_number(files, Pids).unwrap_or(0),
            };
            LastReading {
                cpu_total_ns: cpu,
                memory_usage: usage,
                memory_bytes,
                memory_limit,
                block,
                pids,
            }
        }
    };
    quiet.remember(reading, skipped);
    Ok(RawCounters {
        at,
        cpu_total_ns: reading.cpu_total_ns,
        system_ns: host.system_ns,
        online_cpus: host.online_cpus,
        memory_bytes: reading.memory_bytes,
        // No limit, or one above the machine's memory, is shown as the machine's memory, like docker stats.
        memory_limit_bytes: reading.memory_limit.min(host.memory_total_bytes),
        net_rx_bytes,
        net_tx_bytes,
        block_read_bytes: reading.block.0,
        block_write_bytes: reading.block.1,
        pids: reading.pids,
    })
}

/// Reads one container's counters, opening each file for the read, memory as `docker stats` counts it. `pid` is
/// its main process (for the network namespace).
pub fn read_counters(
    paths: &CgroupPaths,
    pid: u32,
    host: &HostCpu,
    at: Instant,
) -> io::Result<RawCounters> {
    let mut files = OpenPerRead {
        paths,
        pid,
        buffer: Vec::new(),
    };
    counters(
        paths,
        &mut files,
        host,
        at,
        MemoryFormula::DOCKER,
        &mut Quiet::default(),
    )
}

/// Files opened, read whole and closed at each read.
pub struct OpenPerRead<'a> {
    pub paths: &'a CgroupPaths,
    pub pid: u32,
    pub buffer: Vec<u8>,
}

impl CounterFiles for OpenPerRead<'_> {
    fn read<T>(&mut self, file: CounterFile, parse: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
        let path = self
            .paths
            .path(file, self.pid)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let text = read_whole(&fs::File::open(path)?, &mut self.buffer)?;
        Ok(parse(text))
    }
}

/// A read of at least this many bytes may not be the last: procfs tables (`/proc/<pid>/net/dev`) hand out at
/// most a page per read, cut at a line, while cgroup files and regular files come whole in one read.
const READ_MAY_CONTINUE: usize = 2048;
const FIRST_BUFFER: usize = 8 * 1024;

/// Reads a file from offset 0 (`pread`, so a kept descriptor needs no seek) into `buffer`; the kernel
/// generates these files anew for each read from the start.
pub fn read_whole<'b>(file: &fs::File, buffer: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    use std::os::unix::fs::FileExt;
    if buffer.len() < FIRST_BUFFER {
        buffer.resize(FIRST_BUFFER, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let asked = buffer.len() - filled;
        let read = match file.read_at(&mut buffer[filled..], filled as u64) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        filled += read;
        if read == 0 || (read < asked && read < READ_MAY_CONTINUE) {
            return Ok(&buffer[..filled]);
        }
    }
}

/// Every file [`counters`] may read for one container, so a remote host can read them all at once.
pub fn files_of(paths: &CgroupPaths, pid: u32) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = paths
        .kept_files()
        .iter()
        .filter_map(|file| paths.path(*file, pid))
        .collect();
    if let Some(limit) = paths.path(CounterFile::MemoryLimit, pid) {
        files.push(limit);
    }
    files
}

/// [`counters`] with the file contents given by `read`: the output of one batched command on a remote host.
pub fn counters_with(
    paths: &CgroupPaths,
    pid: u32,
    host: &HostCpu,
    at: Instant,
    formula: MemoryFormula,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> io::Result<RawCounters> {
    struct Given<'a> {
        paths: &'a CgroupPaths,
        pid: u32,
        read: &'a dyn Fn(&Path) -> io::Result<String>,
    }
    impl CounterFiles for Given<'_> {
        fn read<T>(&mut self, file: CounterFile, parse: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
            let path = self
                .paths
                .path(file, self.pid)
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
            Ok(parse((self.read)(&path)?.as_bytes()))
        }
    }
    // A remote host's files are read in one batch: nothing to leave out.
    let mut quiet = Quiet::default();
    counters(
        paths,
        &mut Given { paths, pid, read },
        host,
        at,
        formula,
        &mut quiet,
    )
}

/// Sums bytes received and sent over every interface of a network namespace except loopback.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    parse::net_dev_totals(text.as_bytes())
}

/// Each interface of a `/proc/<pid>/net/dev` (or `/proc/net/dev`) table with its received and sent bytes.
pub fn net_dev_interfaces(text: &str) -> impl Iterator<Item = (&str, u64, u64)> {
    parse::net_dev_interfaces(text.as_bytes())
        .filter_map(|(name, rx, tx)| Some((std::str::from_utf8(name).ok()?, rx, tx)))
}

#[cfg(test)]
mod tests;
