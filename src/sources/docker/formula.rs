//! Memory as the engine's own stats command counts it (`docker stats`, `podman stats`), shared by the cgroup and
//! the API readings.

use std::collections::HashMap;

use super::cgroup::parse::MemoryStat;
use crate::model::EngineProduct;

/// One way of turning a cgroup's memory counters into "memory in use".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryMeasure {
    /// Usage minus the inactive file cache: `docker stats`, and `podman stats` from Podman 5.6.
    UsageMinusInactiveFile,
    /// Usage as the cgroup counts it, page cache included: `podman stats` before Podman 4.0, and on cgroup v1
    /// until Podman 5.3.
    Usage,
    /// Anonymous memory only: `podman stats` from Podman 4.0 on cgroup v2 (`anon`) and from 5.3 on cgroup v1
    /// (`total_active_anon + total_inactive_anon`), until 5.6.
    Anon,
}

/// How an engine counts memory on each cgroup version, so figures agree with its own stats command. Podman
/// changed its formula twice (containers/common #870, #1643, #2455); a container full of page cache shows tens
/// of MB apart between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryFormula {
    pub v1: MemoryMeasure,
    pub v2: MemoryMeasure,
}

impl MemoryFormula {
    /// `docker stats`' formula (also Podman's from 5.6).
    pub const DOCKER: Self = Self {
        v1: MemoryMeasure::UsageMinusInactiveFile,
        v2: MemoryMeasure::UsageMinusInactiveFile,
    };

    /// The formula of `product` at `version` (`4.3.1`); an unreadable Podman version gets the newest one.
    pub fn of(product: EngineProduct, version: &str) -> Self {
        use MemoryMeasure::{Anon, Usage};
        if product == EngineProduct::Docker {
            return Self::DOCKER;
        }
        let mut parts = version
            .trim_start_matches('v')
            .split(['.', '-', '+'])
            .map(|part| part.parse::<u32>().ok());
        let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
            return Self::DOCKER;
        };
        match (major, minor) {
            (0..=3, _) => Self {
                v1: Usage,
                v2: Usage,
            },
            (4, _) | (5, 0..=2) => Self {
                v1: Usage,
                v2: Anon,
            },
            (5, 3..=5) => Self { v1: Anon, v2: Anon },
            _ => Self::DOCKER,
        }
    }

    /// Memory in use from a cgroup v1 `memory.usage_in_bytes` and `memory.stat`.
    pub fn v1(&self, usage: u64, stat: &MemoryStat) -> u64 {
        match self.v1 {
            MemoryMeasure::UsageMinusInactiveFile => stat.in_use(usage),
            MemoryMeasure::Usage => usage,
            MemoryMeasure::Anon => match (stat.total_active_anon, stat.total_inactive_anon) {
                (None, None) => stat.in_use(usage),
                (active, inactive) => active.unwrap_or(0).saturating_add(inactive.unwrap_or(0)),
            },
        }
    }

    /// Memory in use from a cgroup v2 `memory.current` and `memory.stat`.
    pub fn v2(&self, usage: u64, stat: &MemoryStat) -> u64 {
        match self.v2 {
            MemoryMeasure::UsageMinusInactiveFile => stat.in_use(usage),
            MemoryMeasure::Usage => usage,
            MemoryMeasure::Anon => stat.anon.unwrap_or_else(|| stat.in_use(usage)),
        }
    }
}

impl MemoryStat {
    /// [`memory_in_use`] from the parsed values.
    fn in_use(&self, usage: u64) -> u64 {
        memory_in_use_of(usage, self.total_inactive_file, self.inactive_file)
    }
}

/// Memory in use as `docker stats` reports it: usage minus `total_inactive_file` (cgroup v1) or minus
/// `inactive_file` (cgroup v2). Subtracting `cache` is the old, wrong formula.
pub fn memory_in_use(usage: u64, stats: &HashMap<String, u64>) -> u64 {
    memory_in_use_of(
        usage,
        stats.get("total_inactive_file").copied(),
        stats.get("inactive_file").copied(),
    )
}

/// [`memory_in_use`] from the two `memory.stat` values it needs.
pub fn memory_in_use_of(
    usage: u64,
    total_inactive_file: Option<u64>,
    inactive_file: Option<u64>,
) -> u64 {
    if let Some(inactive) = total_inactive_file {
        if inactive < usage {
            return usage - inactive;
        }
        // cgroup v1 with an inactive count above usage: fall through like the docker CLI does.
    }
    match inactive_file {
        Some(inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::docker::cgroup::parse::memory_stat;

    #[test]
    fn memory_v1_subtracts_total_inactive_file() {
        // A cgroup v1 memory.stat: docker subtracts total_inactive_file, not cache.
        let stats = HashMap::from([
            ("cache".to_owned(), 40_000_000),
            ("total_inactive_file".to_owned(), 30_000_000),
            ("inactive_file".to_owned(), 1_000),
        ]);
        assert_eq!(memory_in_use(100_000_000, &stats), 70_000_000);
    }

    #[test]
    fn memory_v2_subtracts_inactive_file() {
        let stats = HashMap::from([
            ("inactive_file".to_owned(), 10_000_000),
            ("file".to_owned(), 50_000_000),
        ]);
        assert_eq!(memory_in_use(80_000_000, &stats), 70_000_000);
    }

    #[test]
    fn podman_counts_memory_as_its_version_did() {
        // A v1 cgroup holding 30 MB of written, inactive page cache and 50 kB of process memory.
        let v1 = memory_stat(
            b"cache 31457280\nactive_anon 4096\ninactive_file 1000\ntotal_active_anon 40960\n\
              total_inactive_anon 12288\ntotal_inactive_file 31457280\n",
        );
        let usage = 32_690_176;
        let podman_4 = MemoryFormula::of(EngineProduct::Podman, "4.3.1");
        assert_eq!(podman_4.v1(usage, &v1), usage, "Podman 4 on v1: raw usage");
        assert_eq!(
            MemoryFormula::of(EngineProduct::Podman, "5.4.2").v1(usage, &v1),
            53_248
        );
        assert_eq!(
            MemoryFormula::of(EngineProduct::Podman, "5.6.0").v1(usage, &v1),
            usage - 31_457_280
        );
        assert_eq!(
            MemoryFormula::of(EngineProduct::Docker, "4.3.1"),
            MemoryFormula::DOCKER
        );
        let v2 = memory_stat(b"anon 700000\nanon_thp 0\nfile 12000000\ninactive_file 10000000\n");
        assert_eq!(
            podman_4.v2(20_000_000, &v2),
            700_000,
            "Podman 4 on v2: anon"
        );
        assert_eq!(
            MemoryFormula::of(EngineProduct::Podman, "3.4.4").v2(20_000_000, &v2),
            20_000_000
        );
        assert_eq!(MemoryFormula::DOCKER.v2(20_000_000, &v2), 10_000_000);
        assert_eq!(
            MemoryFormula::of(EngineProduct::Podman, "dev"),
            MemoryFormula::DOCKER
        );
        // Anon asked for but not in the file (an old kernel): usage minus inactive file, as Podman falls back.
        let no_anon = memory_stat(b"inactive_file 10000000\n");
        assert_eq!(podman_4.v2(20_000_000, &no_anon), 10_000_000);
    }

    #[test]
    fn memory_never_underflows() {
        let stats = HashMap::from([("total_inactive_file".to_owned(), 200)]);
        assert_eq!(memory_in_use(100, &stats), 100);
        assert_eq!(memory_in_use(100, &HashMap::new()), 100);
    }
}
