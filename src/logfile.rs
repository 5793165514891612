//! Diagnostics for the faces (CLI, desktop app): standard error, and optionally a file rotated by size
//! (`[log] file`), for a service without a journal. The file gets plain text at info level (or what
//! `DOCKTRAY_LOG` asks for) whatever `-v` says for the terminal.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogSettings;

/// A log file that is renamed to `FILE.1` (older ones shifted up to `FILE.<keep>`, the oldest dropped) before a
/// write would take it past its size limit.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    state: Mutex<Open>,
}

#[derive(Debug)]
struct Open {
    file: File,
    size: u64,
}

impl RotatingFile {
    /// Opens (appends to) `path`, making its directory when missing.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            state: Mutex::new(Open { file, size }),
        })
    }

    /// `FILE.<n>`.
    pub fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&self, open: &mut Open) -> std::io::Result<()> {
        let _ = std::fs::remove_file(self.rotated(self.keep));
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        open.file.flush()?;
        std::fs::rename(&self.path, self.rotated(1))?;
        open.file = append(&self.path)?;
        open.size = 0;
        Ok(())
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for &RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut open = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.size > 0 && open.size + buf.len() as u64 > self.max_bytes {
            // A rotation that fails (the directory became read-only) must not lose the line: keep appending.
            let _ = self.rotate(&mut open);
        }
        open.file.write_all(buf)?;
        open.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .file
            .flush()
    }
}

/// Sets up diagnostics for this process: standard error filtered by `DOCKTRAY_LOG` or else `terminal` (such as
/// `"warn"`), and the file of `settings` when it names one. Returns why the file could not be opened; the
/// terminal's output is set up either way.
pub fn init(terminal: &str, settings: &LogSettings) -> Result<(), String> {
    let filter = |fallback: &str| {
        EnvFilter::try_from_env("DOCKTRAY_LOG").unwrap_or_else(|_| EnvFilter::new(fallback))
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter(terminal));
    let file = settings.file.trim();
    let (file_layer, problem) = if file.is_empty() {
        (None, None)
    } else {
        match RotatingFile::open(
            Path::new(file),
            settings.max_size_mb.saturating_mul(1024 * 1024),
            settings.keep,
        ) {
            Ok(rotating) => (
                Some(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(Arc::new(rotating))
                        .with_filter(filter("info")),
                ),
                None,
            ),
            Err(err) => (
                None,
                Some(format!(
                    "cannot open the log file {file}: {err} (check [log] file and its directory's permissions)"
                )),
            ),
        }
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    problem.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_at_the_limit_and_only_the_newest_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs").join("docktray.log");
        let file = RotatingFile::open(&path, 100, 2).expect("opens");
        let line = format!("{}\n", "x".repeat(39));
        for n in 0..10 {
            (&file)
                .write_all(format!("{n}{line}").as_bytes())
                .expect("writes");
        }
        (&file).flush().expect("flushes");
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        // 41 bytes a line: two lines a file; lines 8-9 current, 6-7 in .1, 4-5 in .2, nothing older.
        assert_eq!(read(&path).lines().count(), 2);
        assert!(read(&path).starts_with('8'), "{}", read(&path));
        assert!(read(&file.rotated(1)).starts_with('6'));
        assert!(read(&file.rotated(2)).starts_with('4'));
        assert!(!file.rotated(3).exists());
        for p in [path.clone(), file.rotated(1), file.rotated(2)] {
            assert!(std::fs::metadata(&p).expect("exists").len() <= 100);
        }
    }

    #[test]
    fn appends_to_what_is_there() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        std::fs::write(&path, "before\n").expect("seed");
        let file = RotatingFile::open(&path, 1000, 1).expect("opens");
        (&file).write_all(b"after\n").expect("writes");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nafter\n");
    }
}
