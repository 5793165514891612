//! The local sweep leaves out the counter files of a quiet container that cannot have changed (cgroup::Quiet),
//! against the real engine: an idle container is read in part between full readings, with the figures a full
//! reading gives; as soon as it runs again (a `docker exec` that writes memory and disk and starts a process) the
//! very next sweep reads it in full and reports the new memory, block I/O and pids.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::*;
use docktray::model::RawCounters;
use docktray::sources::docker::cgroup::{self, KeptFiles, Mounts, Outcome, FULL_READ_EVERY};
use docktray::sources::docker::descriptors::Budget;
use docktray::sources::docker::formula::MemoryFormula;

/// One sweep of one container: its counters and (files read, reads left out) as the budget reports them.
fn sweep(
    kept: &mut KeptFiles,
    budget: &Budget,
    id: &str,
    pid: u32,
) -> (RawCounters, (usize, usize)) {
    let mut read = kept.sweep(vec![(id.to_owned(), pid)], Instant::now());
    let outcome = read.remove(0).1;
    let Outcome::Counters(counters) = outcome else {
        panic!("expected counters, got {outcome:?}");
    };
    (counters, budget.sweep_reads())
}

/// The container's counters read in full, every file opened for the read.
fn full_reading(mounts: &Mounts, id: &str, pid: u32) -> RawCounters {
    let paths = mounts.locate(pid, id).expect("the container's cgroup");
    let host = cgroup::read_host_cpu().expect("host");
    cgroup::read_counters(&paths, pid, &host, Instant::now()).expect("a full reading")
}

/// The figures a skipped file would have given (time and CPU move on their own and are always read).
fn reused_figures(c: &RawCounters) -> (u64, u64, u64, u64, u64) {
    (
        c.memory_bytes,
        c.memory_limit_bytes,
        c.block_read_bytes,
        c.block_write_bytes,
        c.pids,
    )
}

#[test]
fn a_quiet_container_is_read_in_part_and_in_full_again_as_soon_as_it_runs() {
    let ctr = TestContainer::run("quiet", &[], &["sleep", "300"]);
    let pid: u32 = docker(&["inspect", "-f", "{{.State.Pid}}", &ctr.name])
        .parse()
        .expect("a pid");
    let mounts = Mounts::discover().expect("mountinfo");
    let budget = Arc::new(Budget::new(1000));
    let mut kept = KeptFiles::with_budget(mounts.clone(), MemoryFormula::DOCKER, budget.clone());

    // Idle (`sleep` never wakes): between full readings the sweep leaves files out, and what it reports is
    // what a full reading gives.
    let (first, (read_first, skipped_first)) = sweep(&mut kept, &budget, &ctr.id, pid);
    assert_eq!(skipped_first, 0, "the first reading is full");
    assert!(read_first >= 5, "read {read_first} files");
    let mut partial = 0;
    for _ in 0..2 * FULL_READ_EVERY {
        let (now, (read, skipped)) = sweep(&mut kept, &budget, &ctr.id, pid);
        assert_eq!(now.cpu_total_ns, first.cpu_total_ns, "sleep ran no CPU");
        assert_eq!(
            reused_figures(&now),
            reused_figures(&full_reading(&mounts, &ctr.id, pid)),
            "a partial reading reports a full reading's figures"
        );
        if skipped > 0 {
            partial += 1;
            assert!(read < read_first, "{read} read, {skipped} left out");
            assert_eq!(
                read + skipped,
                read_first,
                "every file is either read or left out"
            );
        }
    }
    let expected = 2 * (usize::from(FULL_READ_EVERY) - 1);
    assert_eq!(
        partial, expected,
        "all but the due full readings leave files out"
    );

    // It runs: 24 MB written to memory (/dev/shm is charged to its cgroup), 4 MB to disk past the page cache,
    // and a process left running. The very next sweep has all of it.
    let before = sweep(&mut kept, &budget, &ctr.id, pid).0;
    docker(&[
        "exec",
        &ctr.name,
        "sh",
        "-c",
        "head -c 25165824 /dev/zero > /dev/shm/fill && \
         dd if=/dev/zero of=/disk bs=1M count=4 oflag=direct",
    ]);
    docker(&["exec", "-d", &ctr.name, "sleep", "200"]);
    // `exec -d` returns once the process is started.
    let (after, (read_after, skipped_after)) = sweep(&mut kept, &budget, &ctr.id, pid);
    let full = full_reading(&mounts, &ctr.id, pid);
    assert_eq!(skipped_after, 0, "a container that ran is read in full");
    assert_eq!(read_after, read_first);
    assert!(
        after.memory_bytes >= before.memory_bytes + (20 << 20),
        "memory: {} -> {}",
        before.memory_bytes,
        after.memory_bytes
    );
    assert!(
        after.block_write_bytes >= before.block_write_bytes + (4 << 20),
        "block writes: {} -> {}",
        before.block_write_bytes,
        after.block_write_bytes
    );
    assert_eq!(after.pids, 2, "sleep 300 and sleep 200");
    assert_eq!(reused_figures(&after), reused_figures(&full));

    // Quiet again (the second sleep does not wake either): the new figures are the ones reused.
    let mut partial = 0;
    for _ in 0..FULL_READ_EVERY {
        let (later, (_, skipped)) = sweep(&mut kept, &budget, &ctr.id, pid);
        partial += usize::from(skipped > 0);
        assert_eq!(reused_figures(&later), reused_figures(&full));
    }
    assert_eq!(partial, usize::from(FULL_READ_EVERY) - 1);
}
