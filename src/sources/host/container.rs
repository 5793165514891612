//! Running inside a container: where the host's own figures are. A container sees the host's kernel counters
//! (`/proc/meminfo`, `/proc/stat`) but its own mounts and network namespace, so the host's disks come from the
//! host's root mounted at `/host` and the host's network from PID 1's `/proc/1/net/dev` under the host's `/proc`
//! (mounted at `/host/proc`, with `pid: host`). docs/container.md lists the mounts; what is missing is named.

use std::path::{Path, PathBuf};

/// Where the compose example mounts the host's root filesystem (read-only).
pub const HOST_ROOT: &str = "/host";
/// Where the compose example mounts the host's `/proc` (read-only).
pub const HOST_PROC: &str = "/host/proc";
/// Overrides for the two mount points (another layout, or tests).
pub const HOST_ROOT_ENV: &str = "DOCKTRAY_HOST_ROOT";
pub const HOST_PROC_ENV: &str = "DOCKTRAY_HOST_PROC";

/// How this process sees the host: directly, or from inside a container through mounted paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostView {
    /// What shows this is a container (`/.dockerenv`, `/run/.containerenv`, the cgroup path); None on the host.
    pub container: Option<String>,
    /// The `/proc` whose `meminfo` and `1/net/dev` are the host's.
    pub proc_dir: PathBuf,
    /// The host's root filesystem as mounted in the container; None outside a container or when not mounted.
    pub root: Option<PathBuf>,
    /// Each mount a container lacks, with what it costs and the line that adds it.
    pub missing: Vec<String>,
}

impl HostView {
    /// Looks at this process's surroundings (and the `DOCKTRAY_HOST_ROOT` / `DOCKTRAY_HOST_PROC` overrides).
    pub fn detect() -> Self {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let container = container_evidence(
            Path::new("/.dockerenv").exists(),
            Path::new("/run/.containerenv").exists(),
            &cgroup,
        );
        let root = std::env::var_os(HOST_ROOT_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let proc_dir = std::env::var_os(HOST_PROC_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        // In its own process namespace PID 1 is this process or the container's init (`init: true`).
        let first = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        let own_pid_namespace = std::process::id() == 1
            || ["docker-init", "tini", "dumb-init", "catatonit"].contains(&first.trim());
        Self::from_parts(container, root, proc_dir, own_pid_namespace)
    }

    fn from_parts(
        container: Option<String>,
        root: Option<PathBuf>,
        proc_dir: Option<PathBuf>,
        own_pid_namespace: bool,
    ) -> Self {
        let explicit = root.is_some() || proc_dir.is_some();
        if container.is_none() && !explicit {
            return Self {
                container,
                proc_dir: PathBuf::from("/proc"),
                root: None,
                missing: Vec::new(),
            };
        }
        let mut missing = Vec::new();
        let root_dir = root.unwrap_or_else(|| PathBuf::from(HOST_ROOT));
        let root = if root_dir.is_dir() {
            Some(root_dir)
        } else {
            missing.push(format!(
                "the host's root filesystem is not mounted at {}: disk figures are the container's \
                 (add the volume `/:{}:ro`)",
                root_dir.display(),
                root_dir.display()
            ));
            None
        };
        let proc_wanted = proc_dir.unwrap_or_else(|| PathBuf::from(HOST_PROC));
        let proc_dir = if proc_wanted.join("meminfo").is_file() {
            proc_wanted
        } else {
            missing.push(format!(
                "the host's /proc is not mounted at {}: network figures are the container's \
                 (add the volume `/proc:{}:ro`)",
                proc_wanted.display(),
                proc_wanted.display()
            ));
            PathBuf::from("/proc")
        };
        if container.is_some() && own_pid_namespace {
            missing.push(
                "the container has its own process namespace: per-container figures come from the Docker API \
                 instead of the host's cgroups (add `pid: host`)"
                    .to_owned(),
            );
        }
        Self {
            container,
            proc_dir,
            root,
            missing,
        }
    }

    /// Whether host figures come through mounted paths rather than this process's own view.
    pub fn through_mounts(&self) -> bool {
        self.container.is_some() || self.root.is_some() || self.proc_dir != Path::new("/proc")
    }

    /// One line for the log: where the host's figures come from.
    pub fn describe(&self) -> String {
        let root = self
            .root
            .as_ref()
            .map_or("the container's own".to_owned(), |r| {
                r.display().to_string()
            });
        match &self.container {
            Some(evidence) => format!(
                "running in a container ({evidence}); host memory and network from {}, disks from {root}",
                self.proc_dir.display()
            ),
            None => format!(
                "host memory and network from {}, disks from {root}",
                self.proc_dir.display()
            ),
        }
    }

    /// A mount point as the host names it (`/host/data` is the host's `/data`); None for the container's own.
    pub fn host_mount(&self, mount: &str) -> Option<String> {
        let Some(root) = &self.root else {
            return Some(mount.to_owned());
        };
        let rest = Path::new(mount).strip_prefix(root).ok()?;
        Some(format!("/{}", rest.display()).replace("//", "/"))
    }
}

/// Why this looks like a container, if it does.
fn container_evidence(dockerenv: bool, containerenv: bool, self_cgroup: &str) -> Option<String> {
    if dockerenv {
        return Some("/.dockerenv".to_owned());
    }
    if containerenv {
        return Some("/run/.containerenv".to_owned());
    }
    ["docker", "kubepods", "containerd", "libpod", "lxc"]
        .iter()
        .find(|marker| {
            self_cgroup
                .lines()
                .any(|line| line.rsplit(':').next().is_some_and(|p| p.contains(*marker)))
        })
        .map(|marker| format!("the cgroup path names {marker}"))
}

/// Memory and swap totals from a `meminfo` file, in bytes: (total, used, swap total, swap used), used counted
/// as sysinfo does (total minus available).
pub fn memory_from_meminfo(text: &str) -> Option<(u64, u64, u64, u64)> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let total = field("MemTotal")?;
    let available = field("MemAvailable").or_else(|| field("MemFree"))?;
    let swap_total = field("SwapTotal").unwrap_or(0);
    let swap_free = field("SwapFree").unwrap_or(0);
    Some((
        total * 1024,
        total.saturating_sub(available) * 1024,
        swap_total * 1024,
        swap_total.saturating_sub(swap_free) * 1024,
    ))
}

/// Interfaces of the host's network namespace that carry its own traffic: not loopback, and not the container
/// plumbing (veths, Docker's bridges) that carries the same bytes again.
pub fn is_host_interface(name: &str) -> bool {
    name != "lo"
        && !["veth", "docker", "br-", "cni", "flannel", "cali", "virbr"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_of_a_container() {
        assert_eq!(
            container_evidence(true, false, ""),
            Some("/.dockerenv".into())
        );
        assert_eq!(
            container_evidence(false, true, ""),
            Some("/run/.containerenv".into())
        );
        assert!(container_evidence(false, false, "12:memory:/docker/0123abcd\n").is_some());
        assert!(container_evidence(false, false, "0::/kubepods/besteffort/pod1\n").is_some());
        assert_eq!(
            container_evidence(false, false, "0::/user.slice/user-1000.slice\n"),
            None
        );
    }

    #[test]
    fn outside_a_container_nothing_changes() {
        let view = HostView::from_parts(None, None, None, false);
        assert!(!view.through_mounts());
        assert_eq!(view.proc_dir, Path::new("/proc"));
        assert!(view.missing.is_empty());
        assert_eq!(view.host_mount("/data").as_deref(), Some("/data"));
    }

    #[test]
    fn missing_mounts_are_named_with_the_line_that_adds_them() {
        let view = HostView::from_parts(
            Some("/.dockerenv".into()),
            Some("/nonexistent-host-root".into()),
            Some("/nonexistent-host-proc".into()),
            true,
        );
        assert!(view.through_mounts());
        assert_eq!(view.root, None);
        assert_eq!(view.proc_dir, Path::new("/proc"));
        let text = view.missing.join("\n");
        assert!(text.contains("/:/nonexistent-host-root:ro"), "{text}");
        assert!(text.contains("/proc:/nonexistent-host-proc:ro"), "{text}");
        assert!(text.contains("pid: host"), "{text}");
    }

    #[test]
    fn host_mounts_lose_the_prefix_and_the_containers_own_are_dropped() {
        let dir = std::env::temp_dir();
        let view = HostView::from_parts(Some("test".into()), Some(dir.clone()), None, false);
        let under = format!("{}/data", dir.display());
        assert_eq!(view.host_mount(&under).as_deref(), Some("/data"));
        assert_eq!(
            view.host_mount(&dir.display().to_string()).as_deref(),
            Some("/")
        );
        assert_eq!(view.host_mount("/etc/hosts"), None);
    }

    #[test]
    fn meminfo_is_read_as_sysinfo_counts_it() {
        let text = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n\
                    SwapTotal:       2000000 kB\nSwapFree:        1500000 kB\n";
        assert_eq!(
            memory_from_meminfo(text),
            Some((
                16_000_000 * 1024,
                12_000_000 * 1024,
                2_000_000 * 1024,
                500_000 * 1024
            ))
        );
        assert_eq!(memory_from_meminfo("nothing here"), None);
    }

    #[test]
    fn container_plumbing_is_not_host_traffic() {
        for name in ["lo", "veth12ab", "docker0", "br-0123"] {
            assert!(!is_host_interface(name), "{name}");
        }
        for name in ["eth0", "ens3", "enp0s31f6", "wlan0"] {
            assert!(is_host_interface(name), "{name}");
        }
    }
}
