//! The process's file descriptors: the local sweep keeps each container's counter files open (about 7 per
//! running container), so their number is watched and bounded. At start the soft `RLIMIT_NOFILE` is raised to
//! the hard one; files are kept open only within a budget of half the limit above a reserve for everything else
//! (sockets, the history database, log streams), and a container beyond the budget is read by opening its files
//! for each read instead. `docktray status --json` reports the figures (docs/status-json.md, `engine`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::model::{DescriptorFigures, SweepFigures};

/// Descriptors left for everything that is not a kept counter file.
const RESERVED: u64 = 256;
/// Never more kept files than this, however high the limit (about 2,000 containers).
const MOST_KEPT: u64 = 16_384;

/// How many counter files may stay open, and how many do.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    kept: AtomicUsize,
    /// Containers whose files were opened per read in the last sweep (beyond the budget).
    read_per_open: AtomicUsize,
    /// Counter files the last sweep read, and those it left out (`cgroup::Quiet`).
    files_read: AtomicUsize,
    reads_skipped: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` kept files.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            kept: AtomicUsize::new(0),
            read_per_open: AtomicUsize::new(0),
            files_read: AtomicUsize::new(0),
            reads_skipped: AtomicUsize::new(0),
        }
    }

    /// Takes `count` files out of the budget, all or nothing.
    pub fn reserve(self: &Arc<Self>, count: usize) -> Option<Reservation> {
        self.kept
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
                kept.checked_add(count).filter(|total| *total <= self.limit)
            })
            .ok()?;
        Some(Reservation {
            budget: self.clone(),
            count,
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Files kept open now.
    pub fn kept(&self) -> usize {
        self.kept.load(Ordering::Acquire)
    }

    pub fn read_per_open(&self) -> usize {
        self.read_per_open.load(Ordering::Acquire)
    }

    pub(crate) fn set_read_per_open(&self, containers: usize) {
        self.read_per_open.store(containers, Ordering::Release);
    }

    /// (files read, reads left out) by the last sweep.
    pub fn sweep_reads(&self) -> (usize, usize) {
        (
            self.files_read.load(Ordering::Acquire),
            self.reads_skipped.load(Ordering::Acquire),
        )
    }

    pub(crate) fn set_sweep_reads(&self, read: usize, skipped: usize) {
        self.files_read.store(read, Ordering::Release);
        self.reads_skipped.store(skipped, Ordering::Release);
    }
}

/// Files taken out of a [`Budget`]; given back when dropped (when the files are closed).
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    count: usize,
}

impl Reservation {
    /// Gives back `count` of the reserved files (those that turned out not to exist).
    pub fn shrink_to(&mut self, count: usize) {
        if count < self.count {
            self.budget
                .kept
                .fetch_sub(self.count - count, Ordering::AcqRel);
            self.count = count;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.kept.fetch_sub(self.count, Ordering::AcqRel);
    }
}

/// The process's budget: computed once, after raising the soft limit.
pub fn budget() -> Arc<Budget> {
    static BUDGET: OnceLock<Arc<Budget>> = OnceLock::new();
    BUDGET
        .get_or_init(|| {
            let (soft, hard) = raise_open_file_limit();
            let limit = budget_for(soft);
            tracing::debug!(soft, hard, kept_files = limit, "open file limit");
            Arc::new(Budget::new(limit))
        })
        .clone()
}

/// Kept files allowed under a soft limit of `soft` descriptors.
pub fn budget_for(soft: Option<u64>) -> usize {
    let soft = soft.unwrap_or(1024);
    let limit = (soft.saturating_sub(RESERVED) / 2).min(MOST_KEPT);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (once per process) and returns (soft, hard) as they are
/// then; `None` where they cannot be read.
pub fn raise_open_file_limit() -> (Option<u64>, Option<u64>) {
    static RAISED: OnceLock<()> = OnceLock::new();
    RAISED.get_or_init(|| {
        if let Err(err) = imp::raise() {
            tracing::warn!(%err, "cannot raise the open file limit; fewer counter files stay open");
        }
    });
    imp::limits()
}

/// How many descriptors the process has open now (`/proc/self/fd`), when that can be read.
pub fn open_descriptors() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    // The directory's own descriptor is listed too while it is read.
    Some((entries.count() as u64).saturating_sub(1))
}

/// Everything `status --json` shows about descriptors.
pub fn figures() -> DescriptorFigures {
    let budget = budget();
    let (soft_limit, hard_limit) = imp::limits();
    DescriptorFigures {
        open: open_descriptors(),
        soft_limit,
        hard_limit,
        kept_open: budget.kept() as u64,
        kept_open_budget: budget.limit() as u64,
        containers_read_per_open: budget.read_per_open() as u64,
    }
}

/// The last local sweep's reads, for `status --json`.
pub fn sweep_figures() -> SweepFigures {
    let (files_read, reads_skipped) = budget().sweep_reads();
    SweepFigures {
        files_read: files_read as u64,
        reads_skipped: reads_skipped as u64,
    }
}

#[cfg(unix)]
mod imp {
    use std::io;

    fn current() -> io::Result<libc::rlimit> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(limit)
    }

    pub fn raise() -> io::Result<()> {
        let mut limit = current()?;
        if limit.rlim_cur >= limit.rlim_max {
            return Ok(());
        }
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    // rlim_t is not u64 on every target.
    #[allow(clippy::useless_conversion)]
    pub fn limits() -> (Option<u64>, Option<u64>) {
        match current() {
            Ok(limit) => (
                Some(u64::from(limit.rlim_cur)),
                Some(u64::from(limit.rlim_max)),
            ),
            Err(_) => (None, None),
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn raise() -> std::io::Result<()> {
        Ok(())
    }

    pub fn limits() -> (Option<u64>, Option<u64>) {
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_half_the_limit_above_the_reserve_and_capped() {
        assert_eq!(budget_for(Some(1024)), 384);
        assert_eq!(budget_for(Some(20_000)), 9872);
        assert_eq!(budget_for(Some(1 << 20)), 16_384);
        assert_eq!(budget_for(Some(100)), 0);
        assert_eq!(budget_for(None), 384);
    }

    #[test]
    fn reservations_are_all_or_nothing_and_given_back() {
        let budget = Arc::new(Budget::new(10));
        let mut first = budget.reserve(7).expect("fits");
        assert!(budget.reserve(4).is_none(), "7 + 4 is over 10");
        assert_eq!(budget.kept(), 7);
        first.shrink_to(5);
        assert_eq!(budget.kept(), 5);
        let second = budget.reserve(5).expect("5 + 5 fits");
        drop(first);
        assert_eq!(budget.kept(), 5);
        drop(second);
        assert_eq!(budget.kept(), 0);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (_, hard) = imp::limits();
        let hard = hard.expect("RLIMIT_NOFILE readable");
        // Lower the soft limit (always allowed), then raise it as the engine does at start.
        let lowered = libc::rlimit {
            rlim_cur: libc::rlim_t::try_from((hard / 2).max(64)).expect("fits"),
            rlim_max: libc::rlim_t::try_from(hard).expect("fits"),
        };
        // SAFETY: a struct we own; only this test process's limit changes.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        assert_eq!(imp::limits().0, Some((hard / 2).max(64)));
        imp::raise().expect("raise");
        assert_eq!(imp::limits(), (Some(hard), Some(hard)));
        let open = open_descriptors().expect("/proc/self/fd");
        // stdin, stdout, stderr at least.
        assert!(open >= 3, "{open}");
    }
}
