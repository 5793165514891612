//! Unit tests of kept counter files, on cgroup-shaped directories of regular files (v1 and v2). The real
//! kernel files, a restart and a removal are covered against the Docker engine in tests/descriptors.rs.

use std::fs;
use std::path::Path;

use super::*;
use crate::model::EngineProduct;
use crate::sources::docker::cgroup::{counters_with, read_counters};

const HOST: HostCpu = HostCpu {
    system_ns: 5_000_000_000,
    online_cpus: 2,
    memory_total_bytes: 1 << 30,
};

fn write(dir: &Path, name: &str, text: &str) {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(dir.join(name), text).expect("write");
}

/// A v1 layout as on kernels without CFQ or BFQ: no `blkio.io_service_bytes_recursive`.
fn v1(root: &Path) -> CgroupPaths {
    let paths = CgroupPaths::V1 {
        cpuacct: root.join("cpuacct"),
        memory: root.join("memory"),
        blkio: root.join("blkio"),
        pids: Some(root.join("pids")),
    };
    write(&root.join("cpuacct"), "cpuacct.usage", "123456789\n");
    write(&root.join("memory"), "memory.usage_in_bytes", "10000000\n");
    write(
        &root.join("memory"),
        "memory.stat",
        "cache 5000\ninactive_file 1000\nhierarchical_memory_limit 67108864\ntotal_inactive_file 2000000\n",
    );
    write(&root.join("memory"), "memory.limit_in_bytes", "999999999\n");
    write(
        &root.join("blkio"),
        "blkio.throttle.io_service_bytes_recursive",
        "254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\nTotal 12288\n",
    );
    write(&root.join("pids"), "pids.current", "3\n");
    paths
}

fn v2(root: &Path) -> CgroupPaths {
    write(
        root,
        "cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
    );
    write(root, "memory.current", "8000000\n");
    write(root, "memory.stat", "anon 100\ninactive_file 3000000\n");
    write(root, "memory.max", "max\n");
    write(root, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n");
    write(root, "pids.current", "7\n");
    CgroupPaths::V2 {
        dir: root.to_owned(),
    }
}

/// Our own process stands in for the container's (its `/proc/<pid>/net/dev` is real).
fn pid() -> u32 {
    std::process::id()
}

fn read(files: &mut ContainerFiles) -> RawCounters {
    files
        .read(
            &HOST,
            Instant::now(),
            MemoryFormula::DOCKER,
            &mut Vec::new(),
        )
        .expect("counters")
}

#[test]
fn v1_files_are_kept_open_and_read_fresh_in_place() {
    let root = tempfile::tempdir().expect("tempdir");
    let paths = v1(root.path());
    let budget = Arc::new(Budget::new(100));
    let mut files = ContainerFiles::open(paths.clone(), pid(), &budget);
    // net/dev, cpuacct.usage, memory.usage_in_bytes, memory.stat, the throttle file, pids.current; the CFQ
    // file is missing and memory.limit_in_bytes is not needed (memory.stat has the effective limit).
    assert_eq!(files.open_count(), 6);
    assert_eq!(budget.kept(), 6);
    assert!(!files.reads_per_open());
    let first = read(&mut files);
    assert_eq!(first.cpu_total_ns, 123_456_789);
    assert_eq!(first.memory_bytes, 10_000_000 - 2_000_000);
    assert_eq!(first.memory_limit_bytes, 64 << 20);
    assert_eq!(
        (first.block_read_bytes, first.block_write_bytes),
        (4096, 8192)
    );
    assert_eq!(first.pids, 3);

    // The kernel regenerates its files on each read; a rewritten regular file shows the same through a kept
    // descriptor read from offset 0.
    write(&root.path().join("cpuacct"), "cpuacct.usage", "223456789\n");
    write(&root.path().join("pids"), "pids.current", "12\n");
    let second = read(&mut files);
    assert_eq!(second.cpu_total_ns, 223_456_789);
    assert_eq!(second.pids, 12);
    assert_eq!(files.open_count(), 6, "no file opened again");

    // The same numbers as opening every file per read, and as the remote path's given contents.
    let per_read = read_counters(&paths, pid(), &HOST, second.at).expect("per read");
    let given = counters_with(
        &paths,
        pid(),
        &HOST,
        second.at,
        MemoryFormula::DOCKER,
        &|path: &Path| fs::read_to_string(path),
    )
    .expect("given");
    for other in [&per_read, &given] {
        assert_eq!(
            (
                other.cpu_total_ns,
                other.memory_bytes,
                other.memory_limit_bytes,
                other.block_write_bytes,
                other.pids
            ),
            (
                second.cpu_total_ns,
                second.memory_bytes,
                second.memory_limit_bytes,
                second.block_write_bytes,
                second.pids
            )
        );
    }
    drop(files);
    assert_eq!(budget.kept(), 0, "closing gives the budget back");
}

/// Podman's containers are read through the same kept files; only the memory figure follows the formula of
/// the Podman version (main's `podman stats` rules), on both cgroup versions, kept or given as on a remote host.
#[test]
fn podman_memory_formula_through_kept_files() {
    let podman_4 = MemoryFormula::of(EngineProduct::Podman, "4.3.1");
    let podman_5_4 = MemoryFormula::of(EngineProduct::Podman, "5.4.2");
    let v1_root = tempfile::tempdir().expect("tempdir");
    let v1_paths = v1(v1_root.path());
    write(
        &v1_root.path().join("memory"),
        "memory.stat",
        "cache 5000\ninactive_file 1000\nhierarchical_memory_limit 67108864\ntotal_active_anon 40960\n\
         total_inactive_anon 12288\ntotal_inactive_file 2000000\n",
    );
    let v2_root = tempfile::tempdir().expect("tempdir");
    let v2_paths = v2(v2_root.path());
    let budget = Arc::new(Budget::new(100));
    let cases = [
        (&v1_paths, podman_4, 10_000_000, "Podman 4, v1: usage"),
        (
            &v1_paths,
            podman_5_4,
            40_960 + 12_288,
            "Podman 5.4, v1: anon",
        ),
        (&v1_paths, MemoryFormula::DOCKER, 8_000_000, "Docker, v1"),
        (&v2_paths, podman_4, 100, "Podman 4, v2: anon"),
        (&v2_paths, MemoryFormula::DOCKER, 5_000_000, "Docker, v2"),
    ];
    for (paths, formula, memory, case) in cases {
        let mut files = ContainerFiles::open(paths.clone(), pid(), &budget);
        assert!(files.open_count() >= 6, "{case}: kept open");
        let kept = files
            .read(&HOST, Instant::now(), formula, &mut Vec::new())
            .expect("kept");
        assert_eq!(kept.memory_bytes, memory, "{case}");
        let given = counters_with(paths, pid(), &HOST, kept.at, formula, &|path: &Path| {
            fs::read_to_string(path)
        })
        .expect("given");
        assert_eq!(given.memory_bytes, memory, "{case}: remote reading");
    }
}

#[test]
fn v1_without_a_hierarchical_limit_reads_the_limit_file() {
    let root = tempfile::tempdir().expect("tempdir");
    let paths = v1(root.path());
    write(
        &root.path().join("memory"),
        "memory.stat",
        "total_inactive_file 0\n",
    );
    write(
        &root.path().join("memory"),
        "memory.limit_in_bytes",
        "33554432\n",
    );
    let mut files = ContainerFiles::open(paths, pid(), &Arc::new(Budget::new(100)));
    assert_eq!(read(&mut files).memory_limit_bytes, 32 << 20);
}

#[test]
fn v2_files_with_no_memory_limit_show_the_host_memory() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut files = ContainerFiles::open(v2(root.path()), pid(), &Arc::new(Budget::new(100)));
    assert_eq!(files.open_count(), 7);
    let counters = read(&mut files);
    assert_eq!(counters.cpu_total_ns, 1_500_000);
    assert_eq!(counters.memory_bytes, 5_000_000);
    assert_eq!(counters.memory_limit_bytes, HOST.memory_total_bytes);
    assert_eq!(
        (counters.block_read_bytes, counters.block_write_bytes),
        (100, 200)
    );
    assert_eq!(counters.pids, 7);
    assert_eq!(counters.system_ns, HOST.system_ns);
}

#[test]
fn beyond_the_budget_files_are_opened_per_read_with_the_same_figures() {
    let first_root = tempfile::tempdir().expect("tempdir");
    let second_root = tempfile::tempdir().expect("tempdir");
    let budget = Arc::new(Budget::new(10));
    let mut first = ContainerFiles::open(v2(first_root.path()), pid(), &budget);
    let mut second = ContainerFiles::open(v2(second_root.path()), pid(), &budget);
    assert_eq!(first.open_count(), 7);
    assert_eq!(second.open_count(), 0, "7 more would pass the budget of 10");
    assert!(second.reads_per_open());
    assert_eq!(budget.kept(), 7);
    let (a, b) = (read(&mut first), read(&mut second));
    assert_eq!(
        (a.cpu_total_ns, a.memory_bytes, a.pids),
        (b.cpu_total_ns, b.memory_bytes, b.pids)
    );
    // A container whose cgroup went away is an error that says so (the sweep treats it as gone).
    fs::remove_file(second_root.path().join("memory.current")).expect("rm");
    let err = second
        .read(
            &HOST,
            Instant::now(),
            MemoryFormula::DOCKER,
            &mut Vec::new(),
        )
        .expect_err("memory.current is gone");
    assert!(is_gone(&err), "{err}");
}

#[test]
fn a_missing_required_file_is_gone_and_a_bad_number_is_unreadable() {
    let root = tempfile::tempdir().expect("tempdir");
    let paths = v2(root.path());
    write(root.path(), "memory.current", "lots\n");
    let mut files = ContainerFiles::open(paths, pid(), &Arc::new(Budget::new(100)));
    let err = files
        .read(
            &HOST,
            Instant::now(),
            MemoryFormula::DOCKER,
            &mut Vec::new(),
        )
        .expect_err("not a number");
    assert!(!is_gone(&err));
    assert!(err.to_string().contains("memory.current"), "{err}");
}

#[test]
fn whole_files_are_read_past_a_page_and_past_the_buffer() {
    // /proc/self/smaps hands out about a page per read, cut at a record.
    let smaps = fs::read("/proc/self/smaps").expect("smaps");
    let file = File::open("/proc/self/smaps").expect("open");
    let mut buffer = Vec::new();
    let text = read_whole(&file, &mut buffer).expect("read");
    // The mappings can change between the two reads (threads, allocations): compare the first lines.
    assert!(text.len() > 4096, "{}", text.len());
    assert_eq!(
        text.split(|b| *b == b'\n').next(),
        smaps.split(|b| *b == b'\n').next()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..50_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    fs::write(dir.path().join("big"), &big).expect("write");
    let file = File::open(dir.path().join("big")).expect("open");
    assert_eq!(read_whole(&file, &mut buffer).expect("read"), &big[..]);
}
