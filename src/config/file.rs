//! Saving settings into the user's TOML file. The file stays theirs: comments, key order, spacing and the way
//! values are written (`60` rather than `60.0`, `"90s"` rather than `"1m30s"`) survive wherever the value did
//! not change, only changed keys are touched, and a key that is not in the file is added only when it differs
//! from the default, so a short hand-written file stays short.
//!
//! The result is read back before it is written: if it would not load as exactly the saved settings, nothing
//! is written. The file is replaced atomically (temporary file, then rename; a symlinked file is followed).

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

use crate::config::Config;
use crate::error::ConfigError;
use crate::util::parse_duration;

/// Why the settings were not saved. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The settings themselves are invalid; the message is the config file's.
    #[error(transparent)]
    Invalid(#[from] ConfigError),

    /// The file on disk does not parse as TOML any more (edited by hand meanwhile): it is not overwritten.
    #[error(
        "not saving: the config file {path} is not valid TOML any more ({message}); fix or remove it, then save again"
    )]
    Unparsable { path: PathBuf, message: String },

    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write the config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A bug here, caught by reading the result back before writing it.
    #[error("not saving: the updated config file {path} would not read back as the saved settings ({detail})")]
    Mismatch { path: PathBuf, detail: String },
}

/// Fields that must be written together (a threshold table needs both levels to load).
const WRITTEN_TOGETHER: &[&[&str]] = &[&["warning", "critical"]];

/// Validates `config` and writes it into the file at `path` (created with its folder when missing).
pub fn save(path: &Path, config: &Config) -> Result<(), SaveError> {
    config.validate(path)?;
    // Write through a symlink (dotfile managers link the config) instead of replacing the link.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let existing = match std::fs::read_to_string(&target) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(SaveError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    // Values from DOCKTRAY_* variables (or Dockpeek's) stay in the environment, not in the user's file.
    let environment = super::layers::Overrides::from_process(Vec::new());
    let config = super::layers::without_overrides(config, &existing, &environment)?;
    let text = update_text(&existing, &config, path)?;
    if text == existing && target.exists() {
        return Ok(());
    }
    write_atomically(&target, &text).map_err(|source| SaveError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The file's new text: `existing` with `config` merged in. Pure; `path` is only used in messages.
pub fn update_text(existing: &str, config: &Config, path: &Path) -> Result<String, SaveError> {
    config.validate(path)?;
    let mut document: DocumentMut =
        existing
            .parse()
            .map_err(|err: toml_edit::TomlError| SaveError::Unparsable {
                path: path.to_path_buf(),
                message: err.to_string().trim().replace('\n', " "),
            })?;
    // A file holding only comments keeps them on top: toml_edit would keep them as trailing text after
    // whatever is added.
    let mut leading = String::new();
    if document.as_table().is_empty() {
        leading = document.trailing().as_str().unwrap_or_default().to_owned();
        document.set_trailing("");
    }
    let fresh = to_document(config, path)?;
    let defaults = to_document(&Config::default(), path)?;
    merge_table(
        document.as_table_mut(),
        fresh.as_table(),
        Some(defaults.as_table()),
    );
    let mut text = document.to_string();
    if !leading.trim().is_empty() {
        let separator = if text.is_empty() { "" } else { "\n" };
        text = format!("{}\n{separator}{text}", leading.trim_end());
    }
    match Config::parse(&text, path) {
        Ok(read_back) if read_back == *config => Ok(text),
        Ok(_) => Err(SaveError::Mismatch {
            path: path.to_path_buf(),
            detail: "different values".to_owned(),
        }),
        Err(err) => Err(SaveError::Mismatch {
            path: path.to_path_buf(),
            detail: err.to_string(),
        }),
    }
}

fn to_document(config: &Config, path: &Path) -> Result<DocumentMut, SaveError> {
    let mismatch = |detail: String| SaveError::Mismatch {
        path: path.to_path_buf(),
        detail,
    };
    toml::to_string(config)
        .map_err(|err| mismatch(err.to_string()))?
        .parse::<DocumentMut>()
        .map_err(|err| mismatch(err.to_string()))
}

/// Makes `existing` hold what `fresh` holds, touching only what differs.
fn merge_table(
    existing: &mut dyn TableLike,
    fresh: &dyn TableLike,
    defaults: Option<&dyn TableLike>,
) {
    // Keys the settings no longer have (an optional value cleared): every key in a valid file is known, so a
    // key missing from `fresh` means "unset".
    let stale: Vec<String> = existing
        .iter()
        .map(|(key, _)| key.to_owned())
        .filter(|key| !fresh.contains_key(key))
        .collect();
    for key in stale {
        existing.remove(&key);
    }
    for (key, new) in fresh.iter() {
        let default = defaults.and_then(|d| d.get(key));
        match existing.get_mut(key) {
            Some(old) => merge_item(old, new, default),
            None => {
                if let Some(mut item) = addition(new, default) {
                    // Under a dotted key (`thresholds.cpu = { .. }`) a new table is written the same way.
                    if existing.is_dotted() && item.is_table() {
                        item.make_value();
                    }
                    existing.insert(key, item);
                }
            }
        }
    }
    // Keep levels that load only together.
    for group in WRITTEN_TOGETHER {
        let present = group.iter().any(|key| existing.contains_key(key));
        if present {
            for key in *group {
                if !existing.contains_key(key) {
                    if let Some(item) = fresh.get(key) {
                        existing.insert(key, item.clone());
                    }
                }
            }
        }
    }
}

fn merge_item(old: &mut Item, new: &Item, default: Option<&Item>) {
    if let (Some(old_table), Some(new_table)) = (old.as_table_like_mut(), new.as_table_like()) {
        merge_table(old_table, new_table, default.and_then(Item::as_table_like));
        return;
    }
    if let (Some(old_array), Some(new_array)) =
        (old.as_array_of_tables_mut(), new.as_array_of_tables())
    {
        merge_array_of_tables(old_array, new_array);
        return;
    }
    if same_item(old, new) {
        return;
    }
    match (old.as_value(), new.as_value()) {
        // Keep the comment and spacing around the value.
        (Some(old_value), Some(new_value)) => {
            let decor = old_value.decor().clone();
            let mut value = new_value.clone();
            *value.decor_mut() = decor;
            *old = Item::Value(value);
        }
        _ => *old = detached(new),
    }
}

/// `[[hosts]]` and `[[overrides]]`: each entry is matched to the file's entry with the same identity (its
/// first text field: the override's selector, the host's name), so an entry keeps its comments when others
/// are removed before it; unmatched entries are removed or appended.
fn merge_array_of_tables(old: &mut ArrayOfTables, new: &ArrayOfTables) {
    let mut unused: Vec<Option<Table>> = old.iter().cloned().map(Some).collect();
    let mut merged: Vec<(Option<usize>, Table)> = Vec::new();
    for new_table in new.iter() {
        let found = identity(new_table).and_then(|wanted| {
            unused.iter().position(|candidate| {
                candidate
                    .as_ref()
                    .is_some_and(|table| identity_of(table, wanted.0) == Some(wanted))
            })
        });
        match found.and_then(|index| unused[index].take().map(|table| (index, table))) {
            Some((index, mut table)) => {
                merge_table(&mut table, new_table, None);
                merged.push((Some(index), table));
            }
            None => {
                let mut table = new_table.clone();
                forget_positions(&mut table);
                merged.push((None, table));
            }
        }
    }
    // Tables are written in document position order: if the entries changed order, let them all take the
    // new order instead.
    let indices: Vec<usize> = merged.iter().filter_map(|(index, _)| *index).collect();
    let reordered = indices.windows(2).any(|pair| pair[0] > pair[1]);
    old.clear();
    for (_, mut table) in merged {
        if reordered {
            forget_positions(&mut table);
        }
        old.push(table);
    }
}

/// An array entry's identity: its first text field, as (key, value).
fn identity(table: &Table) -> Option<(&str, &str)> {
    table
        .iter()
        .find_map(|(key, item)| item.as_str().map(|value| (key, value)))
}

fn identity_of<'t>(table: &'t Table, key: &str) -> Option<(&'t str, &'t str)> {
    table
        .get_key_value(key)
        .and_then(|(k, item)| item.as_str().map(|value| (k.get(), value)))
}

/// What to add for a key the file does not have: nothing when it is the default, else only the parts of a
/// table that differ from the default.
fn addition(new: &Item, default: Option<&Item>) -> Option<Item> {
    let Some(default) = default else {
        return Some(detached(new));
    };
    if same_item(new, default) {
        return None;
    }
    match (new.as_table(), default.as_table_like()) {
        (Some(new_table), Some(default_table)) => {
            let mut wanted: Vec<&str> = new_table
                .iter()
                .filter(|(key, item)| {
                    default_table
                        .get(key)
                        .is_none_or(|default| !same_item(item, default))
                })
                .map(|(key, _)| key)
                .collect();
            for group in WRITTEN_TOGETHER {
                if group.iter().any(|key| wanted.contains(key)) {
                    wanted.extend(group.iter().copied());
                }
            }
            let mut table = Table::new();
            table.set_implicit(true);
            for (key, item) in new_table.iter() {
                if wanted.contains(&key) {
                    // A group member equal to its default is still written (the group loads only whole).
                    let added =
                        addition(item, default_table.get(key)).unwrap_or_else(|| detached(item));
                    table.insert(key, added);
                }
            }
            (!table.is_empty()).then_some(Item::Table(table))
        }
        _ => Some(detached(new)),
    }
}

/// A copy of `item` without its place in the document it came from, so it lands after the existing tables.
fn detached(item: &Item) -> Item {
    let mut item = item.clone();
    if let Some(table) = item.as_table_mut() {
        forget_positions(table);
    }
    if let Some(array) = item.as_array_of_tables_mut() {
        for table in array.iter_mut() {
            forget_positions(table);
        }
    }
    item
}

fn forget_positions(table: &mut Table) {
    table.set_position(None);
    for (_, item) in table.iter_mut() {
        if let Some(inner) = item.as_table_mut() {
            forget_positions(inner);
        }
        if let Some(array) = item.as_array_of_tables_mut() {
            for inner in array.iter_mut() {
                forget_positions(inner);
            }
        }
    }
}

/// Same meaning, whatever the spelling: `60` and `60.0`, `"90s"` and `"1m30s"`, inline or standard tables.
fn same_item(a: &Item, b: &Item) -> bool {
    match (a.as_table_like(), b.as_table_like()) {
        (Some(a), Some(b)) => return same_table(a, b),
        (None, None) => {}
        _ => return false,
    }
    match (a.as_array_of_tables(), b.as_array_of_tables()) {
        (Some(a), Some(b)) => {
            return a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| same_table(a, b))
        }
        (None, None) => {}
        _ => return false,
    }
    match (a.as_value(), b.as_value()) {
        (Some(a), Some(b)) => same_value(a, b),
        _ => false,
    }
}

fn same_table(a: &dyn TableLike, b: &dyn TableLike) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(key, item)| b.get(key).is_some_and(|other| same_item(item, other)))
}

fn same_value(a: &Value, b: &Value) -> bool {
    let number = |value: &Value| match value {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    };
    match (a, b) {
        (Value::String(a), Value::String(b)) => {
            a.value() == b.value()
                || matches!(
                    (parse_duration(a.value()), parse_duration(b.value())),
                    (Some(x), Some(y)) if x == y
                )
        }
        (Value::Boolean(a), Value::Boolean(b)) => a.value() == b.value(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| same_value(a, b))
        }
        (Value::InlineTable(a), Value::InlineTable(b)) => same_table(a, b),
        (Value::Datetime(a), Value::Datetime(b)) => a.value() == b.value(),
        _ => match (number(a), number(b)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".to_owned());
    let temporary = dir.join(format!(".{name}.saving-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        if let Ok(metadata) = std::fs::metadata(path) {
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests;
