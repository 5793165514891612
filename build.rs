//! Embeds the window's built files (ui/dist, made by `scripts/build-ui.sh`) into the `docktray` library, so
//! `docktray serve` can serve the page without any file beside the binary (src/sinks/api/page.rs). Without a
//! built UI the table is empty and the server's `/` says how to build it: the library still compiles.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = root.join("ui").join("dist");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut code = String::from("/// The built UI: (path under ui/dist, bytes).\npub static UI_FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let _ = writeln!(code, "    ({name:?}, include_bytes!({path:?})),");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("ui_files.rs");
    if let Err(err) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {err}", out.display());
    }
}

/// Every file under `dir`, as (`/assets/index-abc.js`, absolute path).
fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(base, &path, files);
        } else if let Ok(relative) = path.strip_prefix(base) {
            let name = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
            files.push((name, path.to_string_lossy().into_owned()));
        }
    }
}
