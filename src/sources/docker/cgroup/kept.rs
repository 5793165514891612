//! The local sweep's files, kept open between sweeps: opening a cgroup or `/proc` file costs several times
//! reading it (docs/benchmarks.md), so each running container's files are opened once per run and re-read from
//! offset 0 with `pread`. They are opened when a container is first read with a new main process (a start or a
//! restart) or when its cgroup moved, and closed when it stops, is removed, or was not read by a sweep. How many
//! stay open is bounded by the process's [`Budget`]; beyond it a container's files are opened per read.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::{
    clock_ticks, counters, parse_mem_total, parse_proc_stat, read_whole, CgroupPaths, CounterFile,
    CounterFiles, HostCpu, Mounts, Quiet,
};
use crate::model::RawCounters;
use crate::sources::docker::descriptors::{Budget, Reservation};
use crate::sources::docker::formula::MemoryFormula;

/// What a sweep got for one container.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Counters(RawCounters),
    /// Its process or cgroup went away during the sweep (it just stopped): nothing to report, nothing wrong.
    Gone,
    /// Its files cannot be read here (no cgroup of its own, no permission): ask the API instead.
    Unreadable,
}

/// One file of a container, as it is held.
#[derive(Debug)]
enum Slot {
    Open(File),
    /// Not there in this kernel or cgroup version (v1 `blkio.io_service_bytes_recursive` without CFQ or BFQ).
    Missing,
    /// Opened for each read: over the budget, or not worth keeping (read only when something is missing).
    PerRead,
}

/// The counter files of one run of a container.
#[derive(Debug)]
pub struct ContainerFiles {
    pid: u32,
    paths: CgroupPaths,
    slots: [Slot; CounterFile::COUNT],
    /// The open slots' share of the budget; `None` when the budget was used up and every file is read per open.
    reservation: Option<Reservation>,
    /// The last full reading: what the next may leave out.
    quiet: Quiet,
    /// Files the last reading read.
    files_read: u8,
}

impl ContainerFiles {
    /// Opens the container's files if the budget has room for them, else prepares to open them per read.
    pub fn open(paths: CgroupPaths, pid: u32, budget: &Arc<Budget>) -> Self {
        let mut files = Self {
            pid,
            paths,
            slots: std::array::from_fn(|_| Slot::PerRead),
            reservation: None,
            quiet: Quiet::starting_at(pid),
            files_read: 0,
        };
        files.keep_open(budget);
        files
    }

    /// Opens every file it reads each sweep, when the budget allows.
    fn keep_open(&mut self, budget: &Arc<Budget>) {
        let wanted = self.paths.kept_files();
        let Some(mut reservation) = budget.reserve(wanted.len()) else {
            return;
        };
        let mut opened = 0;
        for &file in wanted {
            let Some(path) = self.paths.path(file, self.pid) else {
                continue;
            };
            self.slots[file as usize] = match File::open(path) {
                Ok(handle) => {
                    opened += 1;
                    Slot::Open(handle)
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound && !is_process_file(file) => {
                    Slot::Missing
                }
                // The process went (the first read says so), or no permission (the API is asked instead).
                Err(_) => Slot::PerRead,
            };
        }
        reservation.shrink_to(opened);
        self.reservation = Some(reservation);
    }

    /// Descriptors held.
    pub fn open_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| matches!(slot, Slot::Open(_)))
            .count()
    }

    /// Whether its files are opened per read (the budget was used up when it was opened).
    pub fn reads_per_open(&self) -> bool {
        self.reservation.is_none()
    }

    pub fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    /// The container's counters now, read through its kept descriptors (or per open), parsed in `buffer`,
    /// memory as `formula` counts it; the files that cannot have changed since the last full reading are left
    /// out (`Quiet`).
    pub fn read(
        &mut self,
        host: &HostCpu,
        at: Instant,
        formula: MemoryFormula,
        buffer: &mut Vec<u8>,
    ) -> io::Result<RawCounters> {
        let mut quiet = std::mem::take(&mut self.quiet);
        let mut reader = Reader {
            files: self,
            buffer,
            reads: 0,
        };
        let read = counters(&self.paths, &mut reader, host, at, formula, &mut quiet);
        let reads = reader.reads;
        self.files_read = reads;
        self.quiet = quiet;
        read
    }

    /// Files the last reading read, and those it left out.
    pub fn last_reads(&self) -> (u8, u8) {
        (self.files_read, self.quiet.skipped())
    }
}

fn is_process_file(file: CounterFile) -> bool {
    file == CounterFile::NetDev
}

/// A container's files together with the sweep's read buffer.
struct Reader<'a> {
    files: &'a ContainerFiles,
    buffer: &'a mut Vec<u8>,
    /// Files read (missing ones not counted).
    reads: u8,
}

impl CounterFiles for Reader<'_> {
    fn read<T>(&mut self, file: CounterFile, parse: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
        let slot = &self.files.slots[file as usize];
        if !matches!(slot, Slot::Missing) {
            self.reads = self.reads.saturating_add(1);
        }
        let text = match slot {
            Slot::Open(handle) => read_whole(handle, self.buffer)?,
            Slot::Missing => return Err(io::ErrorKind::NotFound.into()),
            Slot::PerRead => {
                let path = self
                    .files
                    .paths
                    .path(file, self.files.pid)
                    .ok_or(io::ErrorKind::NotFound)?;
                read_whole(&File::open(path)?, self.buffer)?
            }
        };
        Ok(parse(text))
    }
}

/// A container as the sweep knows it: its main process, and its files or why it has none.
#[derive(Debug)]
struct Entry {
    pid: u32,
    /// The sweep that last read it; entries a sweep did not read are closed after it.
    sweep: u64,
    /// `None`: its cgroup is not one of its own here (the API samples it).
    files: Option<ContainerFiles>,
}

/// The local sweep: every running container's counter files, kept open between sweeps, and the host's
/// `/proc/stat` and `/proc/meminfo`. One for each local engine, Docker or Podman: only the memory formula differs.
#[derive(Debug)]
pub struct KeptFiles {
    mounts: Mounts,
    /// How the engine's own stats command counts memory (Docker's, or the Podman version's).
    formula: MemoryFormula,
    budget: Arc<Budget>,
    /// By container id, looked up for each container each sweep (foldhash: a fraction of SipHash's cost).
    containers: foldhash::HashMap<String, Entry>,
    proc_stat: Option<File>,
    meminfo: Option<File>,
    buffer: Vec<u8>,
    sweep: u64,
    /// Locate every container's cgroup again at the next sweep (it may have moved).
    recheck: bool,
}

impl KeptFiles {
    /// Within the process's budget ([`crate::sources::docker::descriptors::budget`]).
    pub fn new(mounts: Mounts, formula: MemoryFormula) -> Self {
        Self::with_budget(
            mounts,
            formula,
            crate::sources::docker::descriptors::budget(),
        )
    }

    pub fn with_budget(mounts: Mounts, formula: MemoryFormula, budget: Arc<Budget>) -> Self {
        Self {
            mounts,
            formula,
            budget,
            containers: foldhash::HashMap::default(),
            proc_stat: None,
            meminfo: None,
            buffer: Vec::new(),
            sweep: 0,
            recheck: false,
        }
    }

    /// Reads every target (container id and main pid) and returns each one's outcome, in order. Containers not
    /// among the targets have their files closed.
    pub fn sweep(&mut self, targets: Vec<(String, u32)>, at: Instant) -> Vec<(String, Outcome)> {
        self.sweep += 1;
        let host = self.read_host();
        let mut read_per_open = 0;
        let (mut files_read, mut reads_skipped) = (0, 0);
        let outcomes = targets
            .into_iter()
            .map(|(id, pid)| {
                let outcome = match &host {
                    Some(host) => self.read_container(&id, pid, host, at),
                    None => Outcome::Unreadable,
                };
                if let Some(files) = self.container(&id) {
                    read_per_open += usize::from(files.reads_per_open());
                    if matches!(outcome, Outcome::Counters(_)) {
                        let (read, skipped) = files.last_reads();
                        files_read += usize::from(read);
                        reads_skipped += usize::from(skipped);
                    }
                }
                (id, outcome)
            })
            .collect();
        let sweep = self.sweep;
        self.containers.retain(|_, entry| entry.sweep == sweep);
        self.recheck = false;
        self.budget.set_read_per_open(read_per_open);
        self.budget.set_sweep_reads(files_read, reads_skipped);
        outcomes
    }

    /// Locates and opens the targets' files without reading them, so that the sweep which follows reads every
    /// container within a short moment: the time it is given is then true of all its readings (opening a
    /// container's files takes several times as long as reading them).
    pub fn open(&mut self, targets: &[(String, u32)]) {
        for (id, pid) in targets {
            let current = self
                .containers
                .get(id)
                .is_some_and(|entry| entry.pid == *pid);
            if !current || self.recheck {
                self.reopen(id, *pid);
            }
        }
    }

    /// Locates a container's cgroup and opens its files (keeping those already open at the right place).
    /// False when its process is gone.
    fn reopen(&mut self, id: &str, pid: u32) -> bool {
        let kept = self
            .containers
            .get_mut(id)
            .filter(|entry| entry.pid == pid)
            .and_then(|entry| entry.files.take());
        match self.locate(pid, id, kept) {
            Some(files) => {
                let entry = Entry {
                    pid,
                    sweep: self.sweep,
                    files,
                };
                self.containers.insert(id.to_owned(), entry);
                true
            }
            None => {
                self.containers.remove(id);
                false
            }
        }
    }

    fn read_container(&mut self, id: &str, pid: u32, host: &HostCpu, at: Instant) -> Outcome {
        let current = self.containers.get_mut(id).filter(|entry| entry.pid == pid);
        let entry = match current {
            Some(entry) if !self.recheck => entry,
            _ => {
                if !self.reopen(id, pid) {
                    return Outcome::Gone;
                }
                // Just inserted.
                let Some(entry) = self.containers.get_mut(id) else {
                    return Outcome::Gone;
                };
                entry
            }
        };
        entry.sweep = self.sweep;
        let Some(files) = &mut entry.files else {
            return Outcome::Unreadable;
        };
        if files.reservation.is_none() {
            // Opened per read so far: keep them open now if others have closed theirs.
            files.keep_open(&self.budget);
        }
        match files.read(host, at, self.formula, &mut self.buffer) {
            Ok(counters) => Outcome::Counters(counters),
            Err(err) if is_gone(&err) => {
                tracing::trace!(container = %id, %err, "counter files went away: the container stopped");
                self.containers.remove(id);
                Outcome::Gone
            }
            Err(err) => {
                tracing::debug!(container = %id, %err, "counter files unreadable; sampling through the API");
                Outcome::Unreadable
            }
        }
    }

    /// Finds the cgroup of `pid` and opens its files; keeps `kept` when it is still the right place.
    /// `None`: the process is gone. `Some(None)`: it has no cgroup of its own here.
    fn locate(
        &self,
        pid: u32,
        id: &str,
        kept: Option<ContainerFiles>,
    ) -> Option<Option<ContainerFiles>> {
        let paths = match self.mounts.try_locate(pid, id) {
            Ok(paths) => paths,
            Err(err) if is_gone(&err) => return None,
            Err(_) => return Some(None),
        };
        Some(paths.map(|paths| match kept {
            Some(files) if files.pid == pid && files.paths == paths => files,
            _ => ContainerFiles::open(paths, pid, &self.budget),
        }))
    }

    /// Closes a container's files at once (it stopped or was removed).
    pub fn forget(&mut self, id: &str) {
        self.containers.remove(id);
    }

    /// Keeps only the containers `keep` accepts (those that still have processes).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.containers.retain(|id, _| keep(id));
    }

    /// Has the next sweep locate every container's cgroup again (the periodic re-list), so one that moved is
    /// reopened at its new place.
    pub fn recheck_locations(&mut self) {
        self.recheck = true;
    }

    /// Descriptors held: the containers' files plus `/proc/stat` and `/proc/meminfo`.
    pub fn open_count(&self) -> usize {
        let host = usize::from(self.proc_stat.is_some()) + usize::from(self.meminfo.is_some());
        host + self
            .containers
            .values()
            .filter_map(|entry| entry.files.as_ref())
            .map(ContainerFiles::open_count)
            .sum::<usize>()
    }

    /// The files of one container, while it is kept.
    pub fn container(&self, id: &str) -> Option<&ContainerFiles> {
        self.containers.get(id)?.files.as_ref()
    }

    /// The host's CPU time and memory, through kept descriptors.
    fn read_host(&mut self) -> Option<HostCpu> {
        let (system_ns, online_cpus) = {
            let text = read_kept(&mut self.proc_stat, "/proc/stat", &mut self.buffer)?;
            parse_proc_stat(std::str::from_utf8(text).ok()?, clock_ticks())?
        };
        let text = read_kept(&mut self.meminfo, "/proc/meminfo", &mut self.buffer)?;
        let memory_total_bytes = parse_mem_total(std::str::from_utf8(text).ok()?)?;
        Some(HostCpu {
            system_ns,
            online_cpus,
            memory_total_bytes,
        })
    }
}

/// Reads a host file through a descriptor opened on first use (and again after a failed read).
fn read_kept<'b>(slot: &mut Option<File>, path: &str, buffer: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    if slot.is_none() {
        *slot = File::open(path).ok();
    }
    let file = slot.as_ref()?;
    match read_whole(file, buffer) {
        Ok(text) => Some(text),
        Err(err) => {
            tracing::debug!(path, %err, "cannot read");
            *slot = None;
            None
        }
    }
}

/// Errors that mean the container's process or cgroup is gone: a file or process not found, a cgroup removed
/// under an open descriptor (`ENODEV`), no such process.
fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
        || matches!(err.raw_os_error(), Some(libc::ENODEV | libc::ESRCH))
}

#[cfg(test)]
mod tests;
