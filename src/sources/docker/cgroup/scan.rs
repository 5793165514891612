//! Finds running containers' processes in `/proc` without asking the engine, so the first sweep can read their
//! files while the engine still answers the inspects (which say each container's main pid). Only a process in a
//! cgroup named after the container counts (`<id>`, `docker-<id>.scope`, `libpod-<id>`...), never a helper
//! such as Podman's `libpod-conmon-<id>.scope`; the caller keeps a figure only when the inspect names the same
//! pid.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;

/// The lowest pid in each of `ids`' cgroups, from every `/proc/<pid>/cgroup` (the container's first process,
/// which is its main one). Processes that vanish while they are read are skipped.
pub fn main_pids(ids: &HashSet<&str>) -> HashMap<String, u32> {
    main_pids_where(|text| container_of(text, ids).map(str::to_owned))
}

/// The lowest pid in every cgroup named after a container (any engine's, any id): what [`main_pids`] finds
/// when the engine has not said yet which containers run.
pub fn every_main_pid() -> HashMap<String, u32> {
    main_pids_where(|text| own_ids(text).next().map(str::to_owned))
}

fn main_pids_where(container: impl Fn(&[u8]) -> Option<String>) -> HashMap<String, u32> {
    let mut found: HashMap<String, u32> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    let mut buffer = Vec::with_capacity(1024);
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        buffer.clear();
        let read = File::open(format!("/proc/{pid}/cgroup"))
            .and_then(|mut file| file.read_to_end(&mut buffer));
        if read.is_err() {
            continue;
        }
        if let Some(id) = container(&buffer) {
            found
                .entry(id)
                .and_modify(|lowest| *lowest = (*lowest).min(pid))
                .or_insert(pid);
        }
    }
    found
}

/// The container among `ids` whose own cgroup holds the process of this `/proc/<pid>/cgroup` text: the last
/// component of a cgroup path is the id itself or the id with a runtime's prefix and suffix
/// (`docker-<id>.scope`, `libpod-<id>`); paths naming a helper of the container (`conmon`) do not count.
pub fn container_of<'a>(text: &[u8], ids: &HashSet<&'a str>) -> Option<&'a str> {
    own_ids(text).find_map(|id| ids.get(id).copied())
}

/// The container ids named by the own cgroups (not a helper's) in a `/proc/<pid>/cgroup` text, line by line.
fn own_ids(text: &[u8]) -> impl Iterator<Item = &str> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        // hierarchy-id:controllers:path
        let path = line.splitn(3, |&b| b == b':').nth(2)?;
        let last = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        let start = id_start(last)?;
        let (prefix, rest) = last.split_at(start);
        let (id, suffix) = rest.split_at(64);
        let own = matches!(
            prefix,
            b"" | b"docker-" | b"libpod-" | b"crio-" | b"cri-containerd-"
        ) && matches!(suffix, b"" | b".scope");
        own.then(|| std::str::from_utf8(id).ok()).flatten()
    })
}

/// Where a run of exactly 64 hex digits starts in a path component, if it has one.
fn id_start(component: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < component.len() {
        let len = component[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if len == 64 {
            return Some(i);
        }
        i += len.max(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c1bd2a7e0d3b6c9a8f7e6d5c4b3a29180716253443526170819a0b1c2d3e4";

    fn ids() -> HashSet<&'static str> {
        [ID].into_iter().collect()
    }

    #[test]
    fn finds_the_container_under_each_driver() {
        let v1 = format!(
            "12:pids:/docker/{ID}\n4:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"
        );
        assert_eq!(container_of(v1.as_bytes(), &ids()), Some(ID));
        let systemd = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_of(systemd.as_bytes(), &ids()), Some(ID));
        let podman = format!("0::/machine.slice/libpod-{ID}.scope\n");
        assert_eq!(container_of(podman.as_bytes(), &ids()), Some(ID));
        let podman_cgroupfs = format!("0::/libpod_parent/libpod-{ID}\n");
        assert_eq!(container_of(podman_cgroupfs.as_bytes(), &ids()), Some(ID));
    }

    #[test]
    fn helpers_other_containers_and_the_host_do_not_count() {
        let conmon = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(container_of(conmon.as_bytes(), &ids()), None);
        let other = "0::/system.slice/docker-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n";
        assert_eq!(container_of(other.as_bytes(), &ids()), None);
        assert_eq!(container_of(b"0::/init.scope\n", &ids()), None);
        let inside = format!("0::/system.slice/docker-{ID}.scope/init.scope\n");
        assert_eq!(container_of(inside.as_bytes(), &ids()), None);
        let shim = format!("0::/system.slice/containerd.service\n1:name=systemd:/{ID}-shim\n");
        assert_eq!(container_of(shim.as_bytes(), &ids()), None);
    }

    #[test]
    fn any_container_id_is_found_when_no_list_is_given() {
        let systemd = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(own_ids(systemd.as_bytes()).collect::<Vec<_>>(), vec![ID]);
        let conmon = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(own_ids(conmon.as_bytes()).next(), None);
        assert_eq!(own_ids(b"0::/init.scope\n").next(), None);
    }

    #[test]
    fn this_process_is_in_no_container() {
        let found = main_pids(&ids());
        assert!(found.is_empty(), "{found:?}");
        let mine = std::process::id();
        assert!(every_main_pid().values().all(|&pid| pid != mine));
    }
}
