//! Memory as `docker stats` counts it, shared by the cgroup and the API readings.

use std::collections::HashMap;

/// Memory in use as `docker stats` reports it: usage minus `total_inactive_file` (cgroup v1) or minus
/// `inactive_file` (cgroup v2). Subtracting `cache` is the old, wrong formula.
pub fn memory_in_use(usage: u64, stats: &HashMap<String, u64>) -> u64 {
    if let Some(&inactive) = stats.get("total_inactive_file") {
        if inactive < usage {
            return usage - inactive;
        }
        // cgroup v1 with an inactive count above usage: fall through like the docker CLI does.
    }
    match stats.get("inactive_file") {
        Some(&inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn memory_never_underflows() {
        let stats = HashMap::from([("total_inactive_file".to_owned(), 200)]);
        assert_eq!(memory_in_use(100, &stats), 100);
        assert_eq!(memory_in_use(100, &HashMap::new()), 100);
    }
}
