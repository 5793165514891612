//! Saving from the window: what the environment or a flag set must not end up in the user's file.

use std::path::Path;

use serde::Deserialize;
use toml::{Table, Value};

use super::{assignments, one_line, put, Overrides};
use crate::config::schema::{self, Step};
use crate::config::Config;
use crate::error::ConfigError;

/// `config` as the user's file should get it: values the environment or a flag set are put back to what the
/// file (or the default) has, and entries they added are left out, so the window saves the user's changes and
/// never the variables' values (a token's variable name included). `existing` is the file's text.
pub fn without_overrides(
    config: &Config,
    existing: &str,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    if overrides.is_empty() {
        return Ok(config.clone());
    }
    let path = Path::new("(the config file)");
    let Ok(file) = toml::from_str::<Table>(existing) else {
        // The save itself reports a file that does not parse.
        return Ok(config.clone());
    };
    let from_file = Table::try_from(Config::parse(existing, path)?).unwrap_or_default();
    let mut edited = Table::try_from(config.clone()).unwrap_or_default();
    let schema = schema::json_schema();
    let mut added: Vec<(String, usize)> = Vec::new();
    for assignment in assignments(&schema, &file, overrides)? {
        match entry_added(&file, &assignment.path) {
            Some(entry) => added.push(entry),
            None => match value_at(&from_file, &assignment.path) {
                Some(value) => {
                    let _ = put(&mut edited, None, &assignment.path, value.clone());
                }
                None => remove_at(&mut edited, &assignment.path),
            },
        }
    }
    added.sort();
    added.dedup();
    for (list, index) in added.into_iter().rev() {
        if let Some(Value::Array(entries)) = edited.get_mut(&list) {
            if index < entries.len() {
                entries.remove(index);
            }
        }
    }
    Config::deserialize(Value::Table(edited)).map_err(|err| ConfigError::Parse {
        path: path.to_path_buf(),
        message: one_line(&err.to_string()),
    })
}

/// The list and number of an entry the file does not have, when `path` is inside one.
fn entry_added(file: &Table, path: &[Step]) -> Option<(String, usize)> {
    let (Some(Step::Key(list)), Some(Step::Index(index))) = (path.first(), path.get(1)) else {
        return None;
    };
    let have = file.get(list).and_then(Value::as_array).map_or(0, Vec::len);
    (*index >= have).then(|| (list.clone(), *index))
}

fn value_at<'a>(table: &'a Table, path: &[Step]) -> Option<&'a Value> {
    let (Step::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut value = table.get(first)?;
    for step in rest {
        value = match step {
            Step::Key(key) => value.as_table()?.get(key)?,
            Step::Index(index) => value.as_array()?.get(*index)?,
        };
    }
    Some(value)
}

fn remove_at(table: &mut Table, path: &[Step]) {
    let Some((Step::Key(last), parent)) = path.split_last() else {
        return;
    };
    if parent.is_empty() {
        table.remove(last);
        return;
    }
    let (Step::Key(first), rest) = (&parent[0], &parent[1..]) else {
        return;
    };
    let mut value = table.get_mut(first);
    for step in rest {
        value = match (step, value) {
            (Step::Key(key), Some(Value::Table(inner))) => inner.get_mut(key),
            (Step::Index(index), Some(Value::Array(entries))) => entries.get_mut(*index),
            _ => None,
        };
    }
    if let Some(Value::Table(inner)) = value {
        inner.remove(last);
    }
}
