//! The layering of src/, checked from the code itself: sources ──observations──▶ engine ──updates──▶ sinks.
//! Reads every `crate::` path outside comments and unit tests, per top-level module, and fails on a circle of
//! imports, on a source that imports the engine or a sink, on an engine that imports a sink, on a sink that
//! reaches into a source, and on a vocabulary module (`model`) that imports anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Re-exports at the crate root, by the module that defines them.
const ROOT_EXPORTS: &[(&str, &str)] = &[
    ("Config", "config"),
    ("Engine", "engine"),
    ("Error", "error"),
    ("ConfigError", "error"),
    ("Update", "model"),
    ("Snapshot", "model"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("src/ is readable");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests (`#[cfg(test)]` and what follows it, or a
/// whole `tests.rs`): tests may build fixtures from any layer.
fn production_code(path: &Path) -> String {
    if path.file_name().is_some_and(|name| name == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("a readable source file");
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules each top-level module of src/ uses, from its `crate::` paths.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
        let first = parts.next().unwrap_or_default();
        let module = first.trim_end_matches(".rs").to_owned();
        // The binary is a face, not a layer; lib.rs only declares the modules.
        if module == "bin" || module == "lib" {
            continue;
        }
        let code = production_code(&file);
        let uses = graph.entry(module.clone()).or_default();
        for (index, _) in code.match_indices("crate::") {
            let rest = &code[index + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let target = ROOT_EXPORTS
                .iter()
                .find(|(export, _)| *export == name)
                .map_or(name.clone(), |(_, module)| (*module).to_owned());
            if !target.is_empty() && target != module {
                uses.insert(target);
            }
        }
        // `use crate::{a, b}` groups.
        for (index, _) in code.match_indices("crate::{") {
            let group = &code[index + "crate::{".len()..];
            let group = group.split('}').next().unwrap_or_default();
            for name in group.split(',') {
                let name = name.trim().split("::").next().unwrap_or_default().trim();
                if !name.is_empty() && name != module {
                    uses.insert(name.to_owned());
                }
            }
        }
    }
    graph
}

/// Every circle of imports (strongly connected components with more than one module, or a self-loop).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability by repeated expansion: small graphs, clear code.
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(next) = todo.pop() {
            for target in graph.get(&next).into_iter().flatten() {
                if seen.insert(target.clone()) {
                    todo.push(target.clone());
                }
            }
        }
        seen
    };
    let mut found: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        let reachable = reach(module);
        if !reachable.contains(module) {
            continue;
        }
        let mut circle: Vec<String> = reachable
            .iter()
            .filter(|other| reach(other).contains(module))
            .cloned()
            .collect();
        circle.sort();
        if !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

fn uses<'a>(graph: &'a BTreeMap<String, BTreeSet<String>>, module: &str) -> &'a BTreeSet<String> {
    graph
        .get(module)
        .unwrap_or_else(|| panic!("src/{module} should exist: {graph:?}"))
}

#[test]
fn no_circle_among_the_top_level_modules() {
    let graph = import_graph();
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "circles of imports: {found:?}\nthe graph: {graph:#?}"
    );
}

#[test]
fn sources_import_neither_the_engine_nor_a_sink() {
    let graph = import_graph();
    let wrong: Vec<&String> = uses(&graph, "sources")
        .iter()
        .filter(|m| ["engine", "sinks", "monitor", "alerts", "history"].contains(&m.as_str()))
        .collect();
    assert!(
        wrong.is_empty(),
        "sources import {wrong:?}: a source only reports observations"
    );
}

#[test]
fn the_engine_imports_no_sink() {
    let graph = import_graph();
    let wrong: Vec<&String> = uses(&graph, "engine")
        .iter()
        .filter(|m| ["sinks", "monitor", "history"].contains(&m.as_str()))
        .collect();
    assert!(
        wrong.is_empty(),
        "the engine imports {wrong:?}: sinks hang off its updates"
    );
}

#[test]
fn sinks_never_reach_into_a_source() {
    let graph = import_graph();
    assert!(
        !uses(&graph, "sinks").contains("sources"),
        "a sink imports a source: {:?}",
        uses(&graph, "sinks")
    );
}

#[test]
fn the_vocabulary_depends_on_nothing() {
    let graph = import_graph();
    assert!(
        uses(&graph, "model").is_empty(),
        "model imports {:?}: it is the shared vocabulary every layer uses",
        uses(&graph, "model")
    );
}

/// The checks above would pass on an empty graph: make sure the reader sees the real imports.
#[test]
fn the_import_reader_sees_the_known_edges() {
    let graph = import_graph();
    assert!(uses(&graph, "engine").contains("sources"), "{graph:#?}");
    assert!(uses(&graph, "sinks").contains("model"), "{graph:#?}");
    assert!(uses(&graph, "monitor").contains("sinks"), "{graph:#?}");
    let mut with_circle = graph.clone();
    with_circle
        .entry("model".to_owned())
        .or_default()
        .insert("engine".to_owned());
    assert!(!circles(&with_circle).is_empty());
}
