//! Reads a sweep can leave out: a container that ran no CPU since its last full reading cannot have forked or
//! charged memory, and on cgroup v1 cannot have issued block I/O (v1 counts a bio when it is submitted, in the
//! submitting task's context); if its memory usage did not move either, its `memory.stat` (the largest counter
//! file the kernel formats, half the reading time of an idle container) is not read again. The CPU counter, the
//! memory usage and `net/dev` (packets arrive without the container running) are read every sweep, and so is
//! v2's `io.stat` (v2 charges writeback done by the flusher threads to the cgroup). Every few sweeps a container
//! is read in full whatever its counters say, so what moves without its CPU (reclaim moving pages between the
//! LRU lists, a changed limit) shows within about 10 s. Measured in docs/benchmarks.md (issue 22, fourth round).

/// A quiet container is read in full every this many sweeps (10 s at the default 2-s interval).
pub const FULL_READ_EVERY: u8 = 5;

/// What the last full reading of one run of a container found, and when the next full one is due.
#[derive(Debug, Clone, Default)]
pub struct Quiet {
    last: Option<LastReading>,
    /// Sweeps until a full reading is due; 0: the next one is.
    until_full: u8,
    /// Files the last reading left out.
    skipped: u8,
}

/// The figures of a full reading that a quiet sweep reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastReading {
    pub cpu_total_ns: u64,
    /// The cgroup's memory usage file as read (before the engine's formula).
    pub memory_usage: u64,
    /// Memory as the engine's formula counts it, and the limit that came with it.
    pub memory_bytes: u64,
    pub memory_limit: u64,
    pub block: (u64, u64),
    pub pids: u64,
}

/// Which of the files that may be left out this reading reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// `memory.stat` (and v2's `memory.max`).
    pub memory_stat: bool,
    /// v1's blkio file.
    pub v1_block: bool,
    pub pids: bool,
}

impl Needs {
    pub const ALL: Self = Self {
        memory_stat: true,
        v1_block: true,
        pids: true,
    };

    pub fn is_all(self) -> bool {
        self == Self::ALL
    }
}

impl Quiet {
    /// For a new run of a container; `phase` spreads the full readings of containers opened together over the
    /// sweeps (the main pid will do).
    pub fn starting_at(phase: u32) -> Self {
        Self {
            last: None,
            until_full: u8::try_from(phase % u32::from(FULL_READ_EVERY)).unwrap_or(0),
            skipped: 0,
        }
    }

    /// What to read, given the CPU counter and memory usage just read. Advances the full-reading countdown.
    pub fn needs(&mut self, cpu_total_ns: u64, memory_usage: u64) -> (Needs, Option<LastReading>) {
        let due = self.until_full == 0;
        self.until_full = if due {
            FULL_READ_EVERY - 1
        } else {
            self.until_full - 1
        };
        let Some(last) = self.last.filter(|_| !due) else {
            return (Needs::ALL, None);
        };
        let cpu_still = last.cpu_total_ns == cpu_total_ns;
        let memory_still = cpu_still && last.memory_usage == memory_usage;
        let needs = Needs {
            memory_stat: !memory_still,
            v1_block: !cpu_still,
            pids: !cpu_still,
        };
        (needs, Some(last))
    }

    /// Keeps what this reading found (the reused figures included) and how many files it left out.
    pub fn remember(&mut self, reading: LastReading, skipped: u8) {
        self.last = Some(reading);
        self.skipped = skipped;
    }

    /// Files the last reading left out.
    pub fn skipped(&self) -> u8 {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(cpu: u64, usage: u64) -> LastReading {
        LastReading {
            cpu_total_ns: cpu,
            memory_usage: usage,
            memory_bytes: usage / 2,
            memory_limit: 1 << 30,
            block: (10, 20),
            pids: 3,
        }
    }

    /// A container read once in full, with its full readings due every FULL_READ_EVERY sweeps from now.
    fn read_once(cpu: u64, usage: u64) -> Quiet {
        let mut quiet = Quiet::starting_at(0);
        assert_eq!(quiet.needs(cpu, usage), (Needs::ALL, None));
        quiet.remember(reading(cpu, usage), 0);
        quiet
    }

    #[test]
    fn the_first_reading_reads_everything() {
        for phase in 0..7 {
            let mut quiet = Quiet::starting_at(phase);
            assert_eq!(quiet.needs(1, 2).0, Needs::ALL, "phase {phase}");
        }
    }

    #[test]
    fn a_container_that_ran_no_cpu_and_kept_its_memory_skips_all_three() {
        let mut quiet = read_once(100, 4096);
        let (needs, last) = quiet.needs(100, 4096);
        assert_eq!(
            needs,
            Needs {
                memory_stat: false,
                v1_block: false,
                pids: false
            }
        );
        assert_eq!(last, Some(reading(100, 4096)));
    }

    #[test]
    fn cpu_time_means_a_full_reading() {
        let mut quiet = read_once(100, 4096);
        assert_eq!(quiet.needs(101, 4096).0, Needs::ALL);
    }

    #[test]
    fn memory_that_moved_without_cpu_reads_memory_stat_only() {
        // Reclaim takes pages from a container that does not run.
        let mut quiet = read_once(100, 8192);
        assert_eq!(
            quiet.needs(100, 4096).0,
            Needs {
                memory_stat: true,
                v1_block: false,
                pids: false
            }
        );
    }

    #[test]
    fn a_quiet_container_is_read_in_full_every_few_sweeps() {
        let mut quiet = read_once(100, 4096);
        let mut full = Vec::new();
        for sweep in 1..=3 * u32::from(FULL_READ_EVERY) {
            if quiet.needs(100, 4096).0.is_all() {
                full.push(sweep);
            }
            quiet.remember(reading(100, 4096), 0);
        }
        let every = u32::from(FULL_READ_EVERY);
        assert_eq!(full, vec![every, 2 * every, 3 * every]);
    }

    #[test]
    fn containers_opened_together_are_read_in_full_on_different_sweeps() {
        let every = FULL_READ_EVERY;
        let first_full_after_the_first_reading = |phase: u32| {
            let mut quiet = Quiet::starting_at(phase);
            quiet.needs(1, 1);
            quiet.remember(reading(1, 1), 0);
            (1..=every).find(|_| {
                let full = quiet.needs(1, 1).0.is_all();
                quiet.remember(reading(1, 1), 0);
                full
            })
        };
        let mut sweeps: Vec<Option<u8>> = (0..u32::from(every))
            .map(first_full_after_the_first_reading)
            .collect();
        assert!(sweeps.iter().all(Option::is_some), "{sweeps:?}");
        sweeps.sort_unstable();
        sweeps.dedup();
        assert_eq!(sweeps.len(), usize::from(every), "{sweeps:?}");
    }
}
