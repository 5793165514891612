//! The machine's storage filesystems, read from `/proc/mounts` (the list sysinfo's disks are made from) and
//! filtered *before* any filesystem is asked for its size. With many containers `/proc/mounts` holds an overlay,
//! a shm and a network-namespace mount per container; sysinfo's disk list compared every mount point with every
//! listed disk on each refresh (90 million instructions at 200 containers, about a third of the engine's own
//! per-tick work) and asked each overlay for its size, to have them all dropped afterwards.

use std::ffi::CString;
use std::mem::MaybeUninit;

use super::PSEUDO_FILESYSTEMS;

/// One mounted filesystem that can hold data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// The device (or source) mounted, as `/proc/mounts` names it (`/dev/sda1`).
    pub device: String,
    pub mount_point: String,
    pub filesystem: String,
}

/// Filesystems sysinfo never lists besides [`PSEUDO_FILESYSTEMS`] (network filesystems may hang a size
/// query when mounted `hard`).
const NOT_LISTED: &[&str] = &[
    "rootfs",
    "rpc_pipefs",
    "iso9660",
    "hugetlbfs",
    "cifs",
    "nfs",
    "nfs4",
];

/// The mounts of `/proc/mounts`-format text that may be storage, in file order: the filesystems and mount
/// points sysinfo's disk list leaves out (kernel and in-memory filesystems, `/sys`, `/proc`, `/run` except
/// `/run/media`) and container layers are skipped.
pub(crate) fn storage_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount_point = fields.next()?;
            let filesystem = fields.next()?;
            if PSEUDO_FILESYSTEMS.contains(&filesystem)
                || NOT_LISTED.contains(&filesystem)
                || device.starts_with("sunrpc")
            {
                return None;
            }
            let mount_point = unescape(mount_point);
            let hidden = mount_point.starts_with("/sys")
                || mount_point.starts_with("/proc")
                || (mount_point.starts_with("/run") && !mount_point.starts_with("/run/media"));
            (!hidden).then(|| Mount {
                device: device.to_owned(),
                mount_point,
                filesystem: filesystem.to_owned(),
            })
        })
        .collect()
}

/// `/proc/mounts` writes a space, tab, newline and backslash in a path as an octal escape.
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_owned();
    }
    field
        .replace("\\134", "\\")
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
}

/// Total and available bytes of the filesystem mounted at `path` (`statvfs`, as sysinfo and `df` count them);
/// `None` when it cannot be asked or holds nothing.
pub(crate) fn space(path: &str) -> Option<(u64, u64)> {
    let path = CString::new(path).ok()?;
    let mut stat = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string that outlives the call, and `stat` is written by statvfs before
    // it is read (only when it returned 0).
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    // The fields are 64-bit on 64-bit Linux, narrower on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let (block, blocks, available) = (
        u64::from(stat.f_frsize),
        u64::from(stat.f_blocks),
        u64::from(stat.f_bavail),
    );
    let total = block.saturating_mul(blocks);
    if total == 0 {
        return None;
    }
    Some((total, block.saturating_mul(available)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_storage_is_kept_and_escaped_paths_are_read() {
        let text = "\
/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,lowerdir=/x 0 0
shm /var/lib/docker/containers/abc/mounts/shm tmpfs rw 0 0
nsfs /run/docker/netns/1a2b nsfs rw 0 0
/dev/vdb /run/docker/data ext4 rw 0 0
/dev/sdc1 /run/media/usb vfat rw 0 0
/dev/vdc /srv/my\\040data xfs rw 0 0
server:/export /mnt/nfs nfs4 rw 0 0
sunrpc /var/lib/nfs/rpc_pipefs rpc_pipefs rw 0 0
";
        let mounts = storage_mounts(text);
        let points: Vec<(&str, &str, &str)> = mounts
            .iter()
            .map(|m| {
                (
                    m.device.as_str(),
                    m.mount_point.as_str(),
                    m.filesystem.as_str(),
                )
            })
            .collect();
        assert_eq!(
            points,
            [
                ("/dev/vda1", "/", "ext4"),
                ("/dev/sdc1", "/run/media/usb", "vfat"),
                ("/dev/vdc", "/srv/my data", "xfs"),
            ]
        );
    }

    #[test]
    fn the_root_filesystem_has_a_size() {
        let (total, available) = space("/").expect("statvfs of /");
        assert!(total > 0 && available <= total, "{total} {available}");
        assert_eq!(space("/no/such/path"), None);
        assert_eq!(space("nul\0inside"), None);
    }
}
