//! Unit tests of `cgroup`.

use super::*;

const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211";

fn v1_mounts() -> Mounts {
    Mounts::parse(
        "25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
         30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
         31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
         32 25 0:28 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n\
         33 25 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n\
         34 25 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
    )
}

#[test]
fn v1_paths_come_from_proc_cgroup() {
    let proc_cgroup = format!(
        "12:pids:/docker/{ID}\n8:memory:/docker/{ID}\n5:cpu,cpuacct:/docker/{ID}\n4:blkio:/docker/{ID}\n0::/docker/{ID}\n"
    );
    let paths = v1_mounts().locate_in(&proc_cgroup, ID).expect("v1 cgroup");
    assert_eq!(
        paths,
        CgroupPaths::V1 {
            cpuacct: PathBuf::from(format!("/sys/fs/cgroup/cpu,cpuacct/docker/{ID}")),
            memory: PathBuf::from(format!("/sys/fs/cgroup/memory/docker/{ID}")),
            blkio: PathBuf::from(format!("/sys/fs/cgroup/blkio/docker/{ID}")),
            pids: Some(PathBuf::from(format!("/sys/fs/cgroup/pids/docker/{ID}"))),
        }
    );
}

#[test]
fn v2_systemd_driver_path() {
    let mounts =
        Mounts::parse("35 24 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    let proc_cgroup = format!("0::/system.slice/docker-{ID}.scope\n");
    assert_eq!(
        mounts.locate_in(&proc_cgroup, ID),
        Some(CgroupPaths::V2 {
            dir: PathBuf::from(format!("/sys/fs/cgroup/system.slice/docker-{ID}.scope"))
        })
    );
}

/// Podman's cgroups: rootful with its cgroupfs manager on v1 (`libpod_parent/libpod-<id>`, as the tests here
/// run it), with systemd on v2 (`machine.slice/libpod-<id>.scope`, crun's `container` leaf), and rootless on v2
/// under the user's own slice.
#[test]
fn podman_paths_rootful_and_rootless() {
    let v1 = format!(
        "9:name=systemd:/libpod_parent/libpod-{ID}\n8:pids:/libpod_parent/libpod-{ID}\n\
         7:blkio:/libpod_parent/libpod-{ID}\n4:memory:/libpod_parent/libpod-{ID}\n\
         5:cpu,cpuacct:/libpod_parent/libpod-{ID}\n0::/libpod_parent/libpod-{ID}\n"
    );
    match v1_mounts().locate_in(&v1, ID) {
        Some(CgroupPaths::V1 { memory, .. }) => assert_eq!(
            memory,
            PathBuf::from(format!("/sys/fs/cgroup/memory/libpod_parent/libpod-{ID}"))
        ),
        other => panic!("{other:?}"),
    }
    let mounts =
        Mounts::parse("35 24 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    for path in [
        format!("/machine.slice/libpod-{ID}.scope/container"),
        format!(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container"
        ),
        format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
    ] {
        assert_eq!(
            mounts.locate_in(&format!("0::{path}\n"), ID),
            Some(CgroupPaths::V2 {
                dir: PathBuf::from(format!("/sys/fs/cgroup{path}"))
            }),
            "{path}"
        );
    }
    // Rootless on v1: the container's processes stay in the user's session, with no cgroup of their own.
    assert_eq!(
        v1_mounts().locate_in(
            "5:cpu,cpuacct:/user.slice/user-1000.slice/session-2.scope\n4:memory:/user.slice/user-1000.slice/session-2.scope\n0::/user.slice/user-1000.slice/session-2.scope\n",
            ID
        ),
        None
    );
}

#[test]
fn a_process_outside_the_container_is_not_matched() {
    let mounts = Mounts::parse("35 24 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    assert_eq!(
        mounts.locate_in("0::/user.slice/session-1.scope\n", ID),
        None
    );
    assert_eq!(
        v1_mounts().locate_in("5:cpu,cpuacct:/\n8:memory:/\n", ID),
        None
    );
}

#[test]
fn host_cpu_from_proc_stat() {
    let stat = "cpu  100 0 50 800 10 0 5 7 0 0\ncpu0 50 0 25 400 5 0 2 3 0 0\ncpu1 50 0 25 400 5 0 3 4 0 0\nintr 1\n";
    let meminfo = "MemTotal:        2048000 kB\nMemFree: 1 kB\n";
    let host = parse_host_cpu(stat, meminfo, 100).expect("parses");
    // 965 ticks (steal excluded) at 100 Hz = 9.65 s.
    assert_eq!(host.system_ns, 965 * 10_000_000);
    assert_eq!(host.online_cpus, 2);
    assert_eq!(host.memory_total_bytes, 2048000 * 1024);
}

#[test]
fn net_dev_skips_loopback() {
    let text = "Inter-|   Receive                            |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
 lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0\n  \
 eth0:    1200      10    0    0    0     0          0         0      3400      20    0    0    0     0       0          0\n  \
 eth1:      10       1    0    0    0     0          0         0         6       1    0    0    0     0       0          0\n";
    assert_eq!(parse_net_dev(text), (1210, 3406));
}

#[test]
fn blkio_v1_and_io_stat_v2() {
    let v1 =
        b"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:16 Read 100\n8:16 Write 0\nTotal 12388\n";
    assert_eq!(parse::blkio_v1(v1), Some((4196, 8192)));
    assert_eq!(parse::blkio_v1(b"Total 0\n"), None);
    let v2 = b"8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n259:0 rbytes=5 wbytes=7 rios=1 wios=1\n";
    assert_eq!(parse::io_stat(v2), (1005, 2007));
}

#[test]
fn mountinfo_escapes() {
    assert_eq!(unescape_mount("/a\\040b"), "/a b");
    assert_eq!(unescape_mount("/plain"), "/plain");
}
