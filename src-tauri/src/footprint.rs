//! Keeping the idle tray app small. The tray process lives all day; the window is opened now and then. What
//! the GUI stack costs when nothing is on screen is handled here:
//!
//! - GTK probes OpenGL (GLX) when it opens the display, for drawing the tray's own widgets, which never use
//!   it; on machines without a GPU that sets up Mesa's software renderer and LLVM, so GTK's GL is off
//!   (`GDK_GL=disable`) unless the user set `GDK_GL` (or `DOCKTRAY_GPU=1` keeps GTK's default). WebKit still
//!   sets up EGL in this process (ahead of the first window, `egl_warm_up`); its web process draws the page
//!   without GL compositing (`WEBKIT_DISABLE_COMPOSITING_MODE=1` unless set), yet still maps Mesa and LLVM:
//!   the window's memory in docs/benchmarks.md. (With compositing, on such a machine, following a busy log
//!   cost six times the CPU and the window 1.4 times the memory, measured in interleaved rounds.)
//! - WebKit's web and network processes inherit a smaller JavaScript heap floor and two malloc arenas
//!   (`lean_web_processes`), which made the busy log view cheaper.
//! - WebKit keeps its network process (about 35 MB) after the last webview is gone, and Tauri keeps the web
//!   context alive on Linux so the next window reuses it. After the window closes we end that process; the
//!   context starts a new one when the window opens again. Freed heap is handed back to the system too.
//! - Start-up and the window leave the tray process holding code it will not run again: GTK's and WebKit's
//!   initialisation, and after a window WebKit's and JavaScriptCore's code (about 90 MB of library pages, three
//!   quarters of what it then holds). Once the app is idle we let go of them (`MADV_DONTNEED` on the read-only
//!   file mappings that hold no written page): they leave the process, but stay in the kernel's page cache,
//!   which gives them up first when memory is short. What the tray keeps running, and the next window, map them
//!   again from memory. (Asking the kernel to reclaim them instead, `MADV_PAGEOUT`, also evicted them from the
//!   cache, so the next window read about 30 MB of WebKit back from disk.) Written memory (heap, stacks,
//!   relocated data) is never dropped.

/// Variables set for GTK and WebKit when the user has not set them. Must run before GTK starts and before
/// any thread is spawned (the environment is process-wide).
pub fn prefer_software_rendering() {
    if std::env::var_os("DOCKTRAY_GPU").is_some_and(|v| v == "1") {
        return;
    }
    if std::env::var_os("GDK_GL").is_none() {
        std::env::set_var("GDK_GL", "disable");
    }
    // The web process draws the page itself (no GL compositing). Measured in interleaved rounds
    // (docs/benchmarks.md, issue 16) against WebKit's default on a GPU-less machine: following 1,000 log lines/s
    // cost 16-18 % of one core instead of 103-105 %, and the window on Logs 247 MB instead of 352-372 MB.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Settings for WebKit's web and network processes, which inherit this process's environment; what the user set
/// wins (`lean_web_process_settings`). Must run before any thread is spawned (the environment is process-wide).
pub fn lean_web_processes() {
    for (name, value) in lean_web_process_settings(|name| std::env::var_os(name)) {
        std::env::set_var(name, value);
    }
}

/// JavaScriptCore's heap (`JSC_largeHeapSize`): on a machine with over 1 GB of RAM JSC lets the heap grow to
/// 32 MB before its first full collection; 8 MB here. malloc's arenas (`MALLOC_ARENA_MAX`): as for this process
/// (`cap_malloc_arenas`), two for WebKit's helper processes instead of one per busy thread. Measured together in
/// interleaved rounds (docs/benchmarks.md, issue 16): following 1,000 lines/s cost 15.8-18.2 % of one core for
/// all processes with them against 19.3-22.3 % with WebKit's and glibc's defaults, in each round; the window's
/// memory did not change (247 MB either way).
pub fn lean_web_process_settings(
    current: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<(&'static str, &'static str)> {
    [("JSC_largeHeapSize", "8388608"), ("MALLOC_ARENA_MAX", "2")]
        .into_iter()
        .filter(|(name, _)| current(name).is_none())
        .collect()
}

/// Caps malloc's per-thread arenas (glibc's default: eight per core), each of which keeps freed memory of its
/// own; the tray's few busy threads do not need more than two. `MALLOC_ARENA_MAX` set by the user wins.
pub fn cap_malloc_arenas() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes malloc's tuning; called before other threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Releases what the closed window left behind: WebKit's idle network process, freed heap and cold library
/// pages. `still_closed` is asked first, so a window opened again in the meantime keeps its network process.
pub fn release_after_window(still_closed: impl Fn() -> bool) {
    if !still_closed() {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let ended = end_children_named("WebKitNetworkPr");
        tracing::debug!(?ended, "ended WebKit's idle network process");
    }
    drop_cold_pages();
}

/// Returns freed heap to the system and lets go of the pages of code that ran once (start-up, a closed window);
/// what the tray keeps running is mapped again on its next use.
pub fn drop_cold_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: malloc_trim only returns free heap pages to the system.
        unsafe {
            libc::malloc_trim(0);
        }
        match std::fs::read_to_string("/proc/self/smaps") {
            Ok(smaps) => {
                let released = let_go_of_file_pages(&smaps);
                tracing::debug!(?released, "let go of cold library pages");
            }
            Err(err) => tracing::debug!(%err, "cannot read /proc/self/smaps"),
        }
    }
}

/// What `let_go_of_file_pages` did: ranges and resident kB unmapped (kept in the page cache), ranges paged out.
#[cfg(target_os = "linux")]
#[derive(Debug, Default)]
struct Released {
    unmapped_ranges: usize,
    unmapped_kb: u64,
    paged_out_ranges: usize,
}

/// Lets go of the resident pages of the read-only file mappings in `smaps` (the text of `/proc/self/smaps`):
/// code and constant data of the binary and its libraries, never heap, stacks or anything writable.
///
/// A mapping holding no page of its own (smaps `Anonymous: 0 kB`: nothing was ever written into it) only
/// shows the file's pages, so `MADV_DONTNEED` just removes them from this process: they stay in the page cache
/// (for other processes that map them, such as the X server's Mesa, and for our own next use). A private
/// mapping with pages of its own (relocated data, written once and made read-only) must keep them: it is only
/// asked to reclaim its file pages (`MADV_PAGEOUT`; kernels before 5.4 refuse, which changes nothing).
#[cfg(target_os = "linux")]
fn let_go_of_file_pages(smaps: &str) -> Released {
    let mut released = Released::default();
    for entry in read_only_file_entries(smaps) {
        if entry.rss_kb == 0 {
            continue;
        }
        let ReadOnlyFileMapping {
            start,
            len,
            private,
        } = entry.mapping;
        let only_file_pages = !private || entry.anonymous_kb == Some(0);
        let advice = if only_file_pages {
            libc::MADV_DONTNEED
        } else {
            libc::MADV_PAGEOUT
        };
        // SAFETY: a read-only file mapping of this process. With no page of its own, dropping its pages loses
        // nothing (they are mapped again from the file on the next access); otherwise MADV_PAGEOUT keeps the
        // written pages (there is no swap to write them to, or they come back from it).
        if unsafe { libc::madvise(start as *mut libc::c_void, len, advice) } != 0 {
            continue;
        }
        if only_file_pages {
            released.unmapped_ranges += 1;
            released.unmapped_kb += entry.rss_kb;
        } else {
            released.paged_out_ranges += 1;
        }
    }
    released
}

/// A read-only file mapping of `/proc/self/smaps` with the figures `let_go_of_file_pages` needs.
#[cfg(target_os = "linux")]
struct SmapsEntry {
    mapping: ReadOnlyFileMapping,
    rss_kb: u64,
    /// Pages of its own (written copies); `None` if smaps did not say.
    anonymous_kb: Option<u64>,
}

/// The read-only file mappings in `smaps`, private ("r-xp", "r--p") and shared ("r--s").
#[cfg(target_os = "linux")]
fn read_only_file_entries(smaps: &str) -> Vec<SmapsEntry> {
    let mut entries = Vec::new();
    let mut current: Option<SmapsEntry> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if !first.ends_with(':') {
            // A mapping's header line.
            entries.extend(current.take());
            current = read_only_file_mapping(line).map(|mapping| SmapsEntry {
                mapping,
                rss_kb: 0,
                anonymous_kb: None,
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        let kb = fields
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        match first {
            "Rss:" => entry.rss_kb = kb,
            "Anonymous:" => entry.anonymous_kb = Some(kb),
            _ => {}
        }
    }
    entries.extend(current);
    entries
}

/// A mapping of a file that this process cannot write to, from a mapping's header line in `/proc/self/smaps`
/// (as in `/proc/self/maps`): `start-end perms offset dev inode path`.
#[cfg(target_os = "linux")]
struct ReadOnlyFileMapping {
    start: usize,
    len: usize,
    /// Copy-on-write ("p"), as libraries are mapped, rather than shared ("s").
    private: bool,
}

#[cfg(target_os = "linux")]
fn read_only_file_mapping(line: &str) -> Option<ReadOnlyFileMapping> {
    let mut fields = line.split_whitespace();
    let (range, perms, _offset, _dev, inode, path) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if !path.starts_with('/') || inode == "0" || perms.as_bytes().get(1) != Some(&b'-') {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let len = usize::from_str_radix(end, 16)
        .ok()?
        .checked_sub(start)
        .filter(|len| *len > 0)?;
    Some(ReadOnlyFileMapping {
        start,
        len,
        private: perms.ends_with('p'),
    })
}

/// Sends SIGTERM to this process's children named `comm`; returns the ids it was sent to.
#[cfg(target_os = "linux")]
fn end_children_named(comm: &str) -> Vec<i32> {
    children_named(comm)
        .into_iter()
        // SAFETY: plain kill(2) on a child process of ours that we just found by its parent id.
        .filter(|pid| unsafe { libc::kill(*pid, libc::SIGTERM) } == 0)
        .collect()
}

/// Direct children of this process whose command name (`/proc/<pid>/comm`, 15 characters at most) is `comm`.
#[cfg(target_os = "linux")]
fn children_named(comm: &str) -> Vec<i32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // `pid (comm) state ppid ...`: the name may hold spaces and parentheses, so split at the last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let name = head.split_once('(').map_or("", |(_, name)| name);
            let parent = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok());
            name == comm && parent == Some(me)
        })
        .collect()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    #[test]
    fn web_processes_get_a_smaller_javascript_heap_and_fewer_arenas_unless_the_user_chose() {
        let none = lean_web_process_settings(|_| None);
        assert_eq!(
            none,
            vec![("JSC_largeHeapSize", "8388608"), ("MALLOC_ARENA_MAX", "2")]
        );
        let chosen = lean_web_process_settings(|name| {
            (name == "JSC_largeHeapSize").then(|| std::ffi::OsString::from("33554432"))
        });
        assert_eq!(chosen, vec![("MALLOC_ARENA_MAX", "2")]);
    }

    #[test]
    fn finds_a_child_by_its_command_name_and_only_ours() {
        // `cat` waiting on its stdin (the other test uses other programs: tests run in parallel).
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("spawn cat");
        let pid = i32::try_from(child.id()).expect("pid fits");
        let found = children_named("cat");
        let other = children_named("no-such-name");
        child.kill().expect("kill cat");
        child.wait().expect("reap cat");
        assert!(found.contains(&pid), "{found:?} lacks {pid}");
        assert!(other.is_empty(), "{other:?}");
    }

    /// Resident kB of the mapping of `path` in this process (`/proc/self/smaps`).
    fn resident_kb(path: &std::path::Path) -> u64 {
        own_smaps(&[path])
            .lines()
            .filter_map(|line| line.strip_prefix("Rss:"))
            .filter_map(|kb| kb.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .sum()
    }

    /// The sections of `/proc/self/smaps` for mappings of `paths` only: tests run in parallel in one process, so
    /// each lets go of its own mappings and never of another test's.
    fn own_smaps(paths: &[&std::path::Path]) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut out = String::new();
        let mut inside = false;
        for line in smaps.lines() {
            if !line.split_whitespace().next().unwrap_or("").ends_with(':') {
                inside = paths.iter().any(|p| line.ends_with(&*p.to_string_lossy()));
            }
            if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Pages of the `len` bytes at `base` (a file mapping) that are in the page cache, whether or not this
    /// process maps them (mincore(2) answers for the file's pages; we own the file).
    fn cached_pages(base: *mut libc::c_void, len: usize) -> usize {
        // SAFETY: sysconf has no preconditions.
        let page =
            usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).expect("page size");
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: `base` maps `len` bytes; `vec` has one byte per page.
        assert_eq!(unsafe { libc::mincore(base, len, vec.as_mut_ptr()) }, 0);
        vec.iter().filter(|v| *v & 1 == 1).count()
    }

    #[test]
    fn pages_let_go_of_leave_the_process_and_stay_in_the_page_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("library.bin");
        let len = 8 << 20;
        let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        // Clean pages, as a library's are: the kernel could evict them at once if asked to reclaim them.
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .expect("sync");
        let file = std::fs::File::open(&path).expect("open");
        let base = map_read_only(&file, len);
        // SAFETY: `base` maps `len` readable bytes.
        let mapped = unsafe { std::slice::from_raw_parts(base as *const u8, len) };
        let sum = |bytes: &[u8]| bytes.iter().map(|b| u64::from(*b)).sum::<u64>();
        let expected = sum(&content);
        assert_eq!(sum(mapped), expected);
        let before = resident_kb(&path);
        let pages = cached_pages(base, len);

        let released = let_go_of_file_pages(&own_smaps(&[&path]));
        let after = resident_kb(&path);
        let still_cached = cached_pages(base, len);
        let read_back = sum(mapped);
        // SAFETY: unmapping what we mapped; `mapped` is not used after this.
        unsafe { libc::munmap(base, len) };

        assert_eq!(released.unmapped_ranges, 1, "{released:?}");
        assert!(released.unmapped_kb >= before, "{released:?}");
        assert!(
            before >= 8 * 1024 - 64,
            "the mapping was resident: {before} kB"
        );
        assert!(
            after < before / 4,
            "{before} kB resident before, {after} kB after"
        );
        assert!(
            still_cached >= pages * 9 / 10,
            "{pages} pages cached before, {still_cached} after: evicted from the page cache"
        );
        assert_eq!(
            read_back, expected,
            "the pages read back hold the file's bytes"
        );
    }

    /// Maps `len` bytes of `file` read-only and private; the caller unmaps.
    fn map_read_only(file: &std::fs::File, len: usize) -> *mut libc::c_void {
        use std::os::fd::AsRawFd;
        // SAFETY: a private read-only mapping of an open file; the caller unmaps it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        base
    }

    #[test]
    fn pages_shared_with_another_mapping_are_let_go_and_written_pages_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let len = 4 << 20;
        let content: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let shared_path = dir.path().join("shared.bin");
        let written_path = dir.path().join("relocated.bin");
        std::fs::write(&shared_path, &content).expect("write");
        std::fs::write(&written_path, &content).expect("write");
        let shared_file = std::fs::File::open(&shared_path).expect("open");
        // Two mappings of one file: each page is mapped twice, as a library is by two processes.
        let ours = map_read_only(&shared_file, len);
        let other = map_read_only(&shared_file, len);
        // A private mapping written once and made read-only again, as a library's relocated data is.
        let written_file = std::fs::OpenOptions::new()
            .read(true)
            .open(&written_path)
            .expect("open");
        use std::os::fd::AsRawFd;
        // SAFETY: a private writable mapping of a file opened read-only (writes stay in this process).
        let written = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                written_file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(written, libc::MAP_FAILED);
        // SAFETY: `written` maps `len` writable bytes; it is made read-only right after.
        unsafe {
            let bytes = std::slice::from_raw_parts_mut(written as *mut u8, len);
            bytes.iter_mut().for_each(|b| *b = b.wrapping_add(1));
            assert_eq!(libc::mprotect(written, len, libc::PROT_READ), 0);
        }
        let sum = |base: *mut libc::c_void| {
            // SAFETY: every `base` here maps `len` readable bytes.
            let bytes = unsafe { std::slice::from_raw_parts(base as *const u8, len) };
            bytes.iter().map(|b| u64::from(*b)).sum::<u64>()
        };
        let expected = sum(ours);
        assert_eq!(sum(other), expected);
        let written_sum = sum(written);
        assert_ne!(written_sum, expected);
        let before = resident_kb(&shared_path);

        let released = let_go_of_file_pages(&own_smaps(&[&shared_path, &written_path]));
        let after = resident_kb(&shared_path);

        let (read_back, written_after) = (sum(ours), sum(written));
        // SAFETY: unmapping what this test mapped; nothing uses the mappings afterwards.
        unsafe {
            libc::munmap(ours, len);
            libc::munmap(other, len);
            libc::munmap(written, len);
        }
        assert_eq!(released.unmapped_ranges, 2, "{released:?}");
        assert_eq!(released.paged_out_ranges, 1, "{released:?}");
        assert!(released.unmapped_kb >= 2 * 4 * 1024 - 128, "{released:?}");
        assert!(
            before >= 2 * 4 * 1024 - 128,
            "both mappings were resident: {before} kB"
        );
        assert!(
            after < before / 8,
            "{before} kB resident before, {after} kB after"
        );
        assert_eq!(
            read_back, expected,
            "the pages read back hold the file's bytes"
        );
        assert_eq!(written_after, written_sum, "the written pages were kept");
    }

    #[test]
    fn ends_only_the_children_with_that_name() {
        let mut target = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let mut bystander = std::process::Command::new("tail")
            .args(["-f", "/dev/null"])
            .spawn()
            .expect("spawn tail");
        let ended = end_children_named("sleep");
        let target_status = target.wait().expect("reap sleep");
        let bystander_running = bystander.try_wait().expect("poll tail").is_none();
        bystander.kill().expect("kill tail");
        bystander.wait().expect("reap tail");
        assert_eq!(ended, [i32::try_from(target.id()).expect("pid fits")]);
        assert_eq!(target_status.signal(), Some(libc::SIGTERM));
        assert!(bystander_running);
    }
}
