//! The hosts a user already keeps in `~/.ssh/config` (and the files it `Include`s): each concrete `Host` alias,
//! resolved with `ssh -G` to the user, host name and port ssh would really use, offered as a host to add.
//! Patterns (`*`, `?`, `!`) are not hosts and are skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::discover::Discovered;

/// ssh itself stops following `Include` this deep.
const INCLUDE_DEPTH: usize = 16;

/// The `Host` aliases of `config` and its includes, in file order, without patterns or repeats.
pub fn aliases(config: &Path) -> Vec<String> {
    let ssh_dir = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    let mut visited = BTreeSet::new();
    collect(config, &ssh_dir, 0, &mut visited, &mut seen, &mut found);
    found
}

fn collect(
    file: &Path,
    ssh_dir: &Path,
    depth: usize,
    visited: &mut BTreeSet<PathBuf>,
    seen: &mut BTreeSet<String>,
    found: &mut Vec<String>,
) {
    if depth > INCLUDE_DEPTH || !visited.insert(file.to_path_buf()) {
        return;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        // `Keyword value` or `Keyword=value`; keywords are case-insensitive.
        let (keyword, rest) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((keyword, rest)) => (keyword, rest.trim_start_matches(['=', ' ', '\t'])),
            None => continue,
        };
        if keyword.eq_ignore_ascii_case("include") {
            for pattern in words(rest) {
                for included in expand(&pattern, ssh_dir) {
                    collect(&included, ssh_dir, depth + 1, visited, seen, found);
                }
            }
        } else if keyword.eq_ignore_ascii_case("host") {
            for alias in words(rest) {
                let pattern = alias.contains(['*', '?', '!']);
                if !pattern && seen.insert(alias.clone()) {
                    found.push(alias);
                }
            }
        }
    }
}

/// Space-separated words, where a quoted word may hold spaces.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// An `Include` argument as files: `~` is the home directory, a relative path is under `~/.ssh`, and `*` / `?`
/// in the file name match as in the shell (sorted, like ssh's glob).
fn expand(pattern: &str, ssh_dir: &Path) -> Vec<PathBuf> {
    let path = match pattern.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None if Path::new(pattern).is_absolute() => PathBuf::from(pattern),
        None => ssh_dir.join(pattern),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![path];
    }
    let Some(dir) = path.parent() else {
        return Vec::new();
    };
    let mut matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| glob_match(&name, &entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    matches.sort();
    matches
}

/// Shell-style matching of one name against `*` and `?`.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(at) = star {
            pi = at + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What `ssh -G alias` says ssh would connect to: `user@hostname[:port]` (the port only when it is not 22).
pub fn resolve(alias: &str, config: Option<&Path>) -> Option<String> {
    let mut command = Command::new("ssh");
    if let Some(config) = config {
        command.arg("-F").arg(config);
    }
    let output = command.arg("-G").arg("--").arg(alias).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let host = field("hostname")?;
    let mut destination = match field("user") {
        Some(user) => format!("{user}@{host}"),
        None => host.to_owned(),
    };
    if let Some(port) = field("port").filter(|port| *port != "22") {
        destination.push(':');
        destination.push_str(port);
    }
    Some(destination)
}

/// The user's ssh config file: `~/.ssh/config`.
pub fn user_config() -> Option<PathBuf> {
    dirs::home_dir().map(|home| home.join(".ssh").join("config"))
}

/// Every concrete host of `config` as a host to add: the alias is the destination (so ssh keeps applying the
/// user's settings for it: keys, jump hosts, ports), and `ssh -G` says where it really goes. `named`: the user
/// named this file (ssh reads it with `-F`), rather than ssh's own `~/.ssh/config`.
pub fn discover(config: &Path, named: bool) -> Vec<Discovered> {
    let explicit = named.then_some(config);
    aliases(config)
        .into_iter()
        .filter(|alias| !alias.starts_with('-'))
        .map(|alias| Discovered {
            name: host_name(&alias),
            resolved: resolve(&alias, explicit),
            destination: alias,
            origin: "ssh_config".to_owned(),
            socket: None,
            identity: None,
        })
        .collect()
}

/// A host name Docktray accepts made from an alias (`nas.lan` → `nas.lan`, `My Box` → `my-box`).
fn host_name(alias: &str) -> String {
    let name: String = alias
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name == crate::model::LOCAL_HOST {
        format!("{name}-ssh")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_includes_are_read_and_patterns_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ssh = dir.path();
        std::fs::create_dir(ssh.join("config.d")).expect("dir");
        std::fs::write(
            ssh.join("config"),
            "# mine\nHost nas backup\n  HostName 10.0.0.2\nInclude config.d/*.conf\nHost *.internal !bad\n\
             Host=pi\nhost \"media box\"\nInclude missing.conf\nInclude config\n",
        )
        .expect("config");
        std::fs::write(ssh.join("config.d/work.conf"), "Host build-01\nHost nas\n")
            .expect("include");
        std::fs::write(ssh.join("config.d/notes.txt"), "Host ignored\n").expect("other file");
        assert_eq!(
            aliases(&ssh.join("config")),
            ["nas", "backup", "build-01", "pi", "media box"]
        );
    }

    #[test]
    fn globs_match_like_the_shell() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(glob_match("host-??", "host-01"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn aliases_become_host_names() {
        assert_eq!(host_name("nas.lan"), "nas.lan");
        assert_eq!(host_name("Media Box"), "media-box");
        assert_eq!(host_name("local"), "local-ssh");
    }
}
