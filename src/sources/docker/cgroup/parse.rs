//! Parsers of the counter files' bytes that allocate nothing: each sweep parses about seven files per
//! container, and the kernel's text is ASCII, so lines and fields are byte slices of the read buffer.

/// The lines of `text`, without their newline (as `split` on `\n` gives them). The newlines are found with
/// `memchr`, several bytes at a time: a byte-by-byte split made parsing v1's 42-line `memory.stat` cost
/// about 12 000 instructions per container per sweep.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(end) => {
                rest = current.get(end + 1..);
                current.get(..end)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The whitespace-separated fields of `line`.
fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|field| !field.is_empty())
}

/// A decimal number, surrounding whitespace allowed (`memory.current`, `cpuacct.usage`); `None` for anything
/// else, such as `max`.
pub fn number(text: &[u8]) -> Option<u64> {
    let digits = text.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d <= 9)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The value of `key` in a flat-keyed file (`key value` lines: `cpu.stat`, `memory.stat`).
pub fn keyed(text: &[u8], key: &[u8]) -> Option<u64> {
    lines(text).find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(b" ")?;
        number(value)
    })
}

/// The `memory.stat` values the figures need, whichever engine's formula counts them
/// ([`crate::sources::docker::formula::MemoryFormula`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStat {
    /// cgroup v1: inactive file cache of the cgroup and its children.
    pub total_inactive_file: Option<u64>,
    /// cgroup v2 (and v1's own-cgroup-only value).
    pub inactive_file: Option<u64>,
    /// cgroup v1: the lowest memory limit of the cgroup and its ancestors.
    pub hierarchical_memory_limit: Option<u64>,
    /// cgroup v2: anonymous memory (Podman 4.0 to 5.5).
    pub anon: Option<u64>,
    /// cgroup v1: anonymous memory of the cgroup and its children (Podman 5.3 to 5.5).
    pub total_active_anon: Option<u64>,
    pub total_inactive_anon: Option<u64>,
}

pub fn memory_stat(text: &[u8]) -> MemoryStat {
    let mut stat = MemoryStat::default();
    for line in lines(text) {
        let Some(space) = memchr::memchr(b' ', line) else {
            continue;
        };
        let (key, value) = (&line[..space], &line[space + 1..]);
        let slot = match key {
            b"total_inactive_file" => &mut stat.total_inactive_file,
            b"inactive_file" => &mut stat.inactive_file,
            b"hierarchical_memory_limit" => &mut stat.hierarchical_memory_limit,
            b"anon" => &mut stat.anon,
            b"total_active_anon" => &mut stat.total_active_anon,
            b"total_inactive_anon" => &mut stat.total_inactive_anon,
            _ => continue,
        };
        if slot.is_none() {
            *slot = number(value);
        }
    }
    stat
}

/// Each interface of a `/proc/<pid>/net/dev` table with its received and sent bytes.
pub fn net_dev_interfaces(text: &[u8]) -> impl Iterator<Item = (&[u8], u64, u64)> {
    lines(text).skip(2).filter_map(|line| {
        let colon = line.iter().position(|byte| *byte == b':')?;
        let mut values = fields(&line[colon + 1..]).map(|field| number(field).unwrap_or(0));
        let rx = values.next()?;
        let tx = values.nth(7)?;
        Some((line[..colon].trim_ascii(), rx, tx))
    })
}

/// Bytes received and sent over every interface but loopback.
pub fn net_dev_totals(text: &[u8]) -> (u64, u64) {
    net_dev_interfaces(text)
        .filter(|(name, ..)| *name != b"lo")
        .fold((0u64, 0u64), |(rx, tx), (_, r, t)| {
            (rx.saturating_add(r), tx.saturating_add(t))
        })
}

/// cgroup v1 `MAJ:MIN Op bytes` lines, Read and Write summed over devices; `None` when there are no device lines.
pub fn blkio_v1(text: &[u8]) -> Option<(u64, u64)> {
    let mut read = 0u64;
    let mut write = 0u64;
    let mut any = false;
    for line in lines(text) {
        let mut parts = fields(line);
        let (Some(device), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !device.contains(&b':') {
            continue;
        }
        any = true;
        let value = number(value).unwrap_or(0);
        if op.eq_ignore_ascii_case(b"read") {
            read = read.saturating_add(value);
        } else if op.eq_ignore_ascii_case(b"write") {
            write = write.saturating_add(value);
        }
    }
    any.then_some((read, write))
}

/// cgroup v2 `io.stat`: `MAJ:MIN rbytes=N wbytes=N ...` lines, summed over devices.
pub fn io_stat(text: &[u8]) -> (u64, u64) {
    let mut read = 0u64;
    let mut write = 0u64;
    for field in fields(text) {
        if let Some(value) = field.strip_prefix(b"rbytes=") {
            read = read.saturating_add(number(value).unwrap_or(0));
        } else if let Some(value) = field.strip_prefix(b"wbytes=") {
            write = write.saturating_add(number(value).unwrap_or(0));
        }
    }
    (read, write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_what_splitting_on_newlines_gives() {
        for text in [
            &b""[..],
            b"\n",
            b"one",
            b"one\n",
            b"one\ntwo",
            b"one\n\ntwo\n\n",
            b"cache 1\nrss 2\ntotal_inactive_file 3\n",
        ] {
            let ours: Vec<&[u8]> = lines(text).collect();
            let split: Vec<&[u8]> = text.split(|byte| *byte == b'\n').collect();
            assert_eq!(ours, split, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn numbers_and_keyed_values() {
        assert_eq!(number(b"  123\n"), Some(123));
        assert_eq!(number(b"max\n"), None);
        assert_eq!(number(b""), None);
        assert_eq!(number(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(number(b"18446744073709551616"), None, "overflow");
        let cpu_stat = b"usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n";
        assert_eq!(keyed(cpu_stat, b"usage_usec"), Some(1500));
        assert_eq!(keyed(cpu_stat, b"usage"), None, "a whole key only");
    }

    #[test]
    fn memory_stat_takes_the_first_of_each_key() {
        let v1 = b"cache 716800\ninactive_file 303104\nhierarchical_memory_limit 268435456\n\
                   total_cache 716800\ntotal_inactive_file 403104\n";
        assert_eq!(
            memory_stat(v1),
            MemoryStat {
                total_inactive_file: Some(403_104),
                inactive_file: Some(303_104),
                hierarchical_memory_limit: Some(268_435_456),
                ..MemoryStat::default()
            }
        );
        let v2 = b"anon 100\nfile 50000\ninactive_file 10000\nactive_file 40000\n";
        assert_eq!(memory_stat(v2).inactive_file, Some(10_000));
        assert_eq!(memory_stat(v2).total_inactive_file, None);
        assert_eq!(memory_stat(v2).anon, Some(100));
        let v1_anon = b"active_anon 4096\ntotal_active_anon 40960\ntotal_inactive_anon 12288\n";
        assert_eq!(memory_stat(v1_anon).anon, None, "active_anon is not anon");
        assert_eq!(memory_stat(v1_anon).total_active_anon, Some(40_960));
        assert_eq!(memory_stat(v1_anon).total_inactive_anon, Some(12_288));
    }
}
