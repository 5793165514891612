//! Where settings come from, in order: the defaults, the file, the environment (`DOCKTRAY_<SECTION>__<KEY>`,
//! `DOCKTRAY_WEBDOCK__0__NAME` for entries, and the Dockpeek variables), then command-line `--set KEY=VALUE`.
//! Each later layer replaces what it names. The result remembers which layer set each value (`docktray
//! config` shows it), and a bad value names the variable or flag it came from. Nothing starts with half a
//! configuration: any bad layer fails the whole load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::schema::{self, dotted, Kind, Step, ENV_PREFIX, ENV_SEPARATOR};
use super::Config;
use crate::error::ConfigError;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The config file (its path is in [`Layered::path`]).
    File,
    /// An environment variable, by name.
    Env(String),
    /// A `--set KEY=VALUE` flag, as given.
    Flag(String),
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Self::File => "the config file".to_owned(),
            Self::Env(variable) => format!("the environment variable {variable}"),
            Self::Flag(flag) => format!("--set {flag}"),
        }
    }
}

/// Settings given outside the file: environment variables and `--set` flags.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `(name, value)` of every variable that may hold a setting.
    pub variables: Vec<(String, String)>,
    /// `KEY=VALUE` texts, in the order given.
    pub flags: Vec<String>,
}

impl Overrides {
    /// This process's environment, and `flags`.
    pub fn from_process(flags: Vec<String>) -> Self {
        let variables = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) || name.starts_with(DOCKPEEK_PREFIX))
            .map(|(name, value)| (name, value.to_string_lossy().into_owned()))
            .collect();
        Self { variables, flags }
    }

    pub fn is_empty(&self) -> bool {
        self.variables.is_empty() && self.flags.is_empty()
    }
}

/// A loaded configuration with the origin of every value that is not a default.
#[derive(Debug, Clone)]
pub struct Layered {
    pub config: Config,
    /// The file that was read, if any.
    pub path: Option<PathBuf>,
    /// By dotted key (`history.raw_retention`, `webdock[0].name`); keys not listed are defaults.
    pub origins: BTreeMap<String, Origin>,
}

impl Layered {
    /// Where `key` (a dotted key) got its value; `None` for a default.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// Keys set by the environment or a flag: the window must not write these into the file.
    pub fn overridden(&self) -> impl Iterator<Item = (&String, &Origin)> {
        self.origins
            .iter()
            .filter(|(_, origin)| !matches!(origin, Origin::File))
    }
}

/// Dockpeek's variables: `WEBDOCK_API_TOKEN_<n>`, `WEBDOCK_API_TOKEN_<n>_FILE`, `WEBDOCK_SERVER_SLUG_<n>`.
const DOCKPEEK_PREFIX: &str = "WEBDOCK_";
const DOCKPEEK_TOKEN: &str = "WEBDOCK_API_TOKEN_";
const DOCKPEEK_SLUG: &str = "WEBDOCK_SERVER_SLUG_";

/// One value to put into the configuration.
struct Assignment {
    path: Vec<Step>,
    value: Value,
    origin: Origin,
}

/// Loads `path` (or the default file), then applies `overrides`.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Layered, ConfigError> {
    let explicit = path.is_some();
    let path = path.map(Path::to_path_buf).or_else(Config::default_path);
    let text = match &path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            // An explicitly named file must exist; the default one is optional.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    source,
                })
            }
        },
        None => None,
    };
    let shown = path
        .clone()
        .unwrap_or_else(|| PathBuf::from("(no config file)"));
    let file_path = text.as_ref().and(path.clone());
    let text = text.unwrap_or_default();
    // The file alone first: its own mistakes are reported with its line numbers, as without overrides.
    let from_file = Config::parse(&text, &shown)?;
    let mut origins = BTreeMap::new();
    let mut table: Table = toml::from_str(&text).map_err(|err| ConfigError::Parse {
        path: shown.clone(),
        message: err.to_string().trim_end().to_owned(),
    })?;
    leaf_keys(&table, &mut Vec::new(), &mut |key| {
        origins.insert(key, Origin::File);
    });
    if overrides.is_empty() {
        return Ok(Layered {
            config: from_file,
            path: file_path,
            origins,
        });
    }
    let schema = schema::json_schema();
    let defaults = Table::try_from(Config::default()).unwrap_or_default();
    for assignment in assignments(&schema, &table, overrides)? {
        let key = dotted(&assignment.path);
        put(
            &mut table,
            Some(&defaults),
            &assignment.path,
            assignment.value,
        )
        .map_err(|message| setting_error(&assignment.origin, message))?;
        origins.insert(key, assignment.origin);
    }
    let config = Config::deserialize(Value::Table(table)).map_err(|err| {
        let message = err.to_string();
        let origin = blamed(&origins, &message);
        match origin {
            Some(origin) if *origin != Origin::File => setting_error(origin, one_line(&message)),
            _ => ConfigError::Parse {
                path: shown.clone(),
                message: one_line(&message),
            },
        }
    })?;
    config.validate(&shown).map_err(|err| match err {
        ConfigError::Invalid {
            key,
            value,
            expected,
            path,
        } => match blamed_key(&origins, &key) {
            Some(origin) if *origin != Origin::File => ConfigError::Setting {
                setting: origin_name(origin),
                message: format!("`{key}` = {value} is not valid: expected {expected}"),
            },
            _ => ConfigError::Invalid {
                key,
                value,
                expected,
                path,
            },
        },
        other => other,
    })?;
    Ok(Layered {
        config,
        path: file_path,
        origins,
    })
}

/// Every variable and flag as values at paths, checked against the schema: environment (sorted by name, so the
/// order is the same every time), then the Dockpeek variables as extra Webdock accounts, then the flags.
fn assignments(
    schema: &serde_json::Value,
    file: &Table,
    overrides: &Overrides,
) -> Result<Vec<Assignment>, ConfigError> {
    let mut variables: Vec<&(String, String)> = overrides.variables.iter().collect();
    variables.sort();
    let mut out = Vec::new();
    for (name, raw) in &variables {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let origin = Origin::Env(name.clone());
        let steps: Vec<&str> = rest.split(ENV_SEPARATOR).collect();
        // Without a separator only a top-level setting is meant; other DOCKTRAY_ variables (DOCKTRAY_LOG,
        // DOCKTRAY_WEBDOCK_TOKEN_<NAME> ...) are not settings.
        if steps.len() == 1 && !is_top_level_setting(schema, &steps[0].to_ascii_lowercase()) {
            continue;
        }
        let path = parse_steps(&steps).map_err(|message| setting_error(&origin, message))?;
        out.push(assignment(schema, path, raw, origin)?);
    }
    out.extend(dockpeek(schema, file, &variables)?);
    for flag in &overrides.flags {
        let origin = Origin::Flag(flag.clone());
        let (key, raw) = flag.split_once('=').ok_or_else(|| {
            setting_error(
                &origin,
                "expected KEY=VALUE, such as --set interval=5s or --set webdock.0.name=work"
                    .to_owned(),
            )
        })?;
        let steps: Vec<&str> = key.trim().split('.').collect();
        let path = parse_steps(&steps).map_err(|message| setting_error(&origin, message))?;
        out.push(assignment(schema, path, raw, origin)?);
    }
    Ok(out)
}

fn is_top_level_setting(schema: &serde_json::Value, key: &str) -> bool {
    !matches!(
        schema::kind_at(schema, &[Step::Key(key.to_owned())]),
        Err(_) | Ok(Kind::Table)
    )
}

/// `["WEBDOCK", "0", "NAME"]` → `webdock[0].name`.
fn parse_steps(steps: &[&str]) -> Result<Vec<Step>, String> {
    steps
        .iter()
        .map(|step| {
            let step = step.trim();
            if step.is_empty() {
                Err("a part of the name is empty (two separators in a row?)".to_owned())
            } else if let Ok(index) = step.parse::<usize>() {
                Ok(Step::Index(index))
            } else {
                Ok(Step::Key(step.to_ascii_lowercase()))
            }
        })
        .collect()
}

/// The value of one variable or flag, typed as the schema says.
fn assignment(
    schema: &serde_json::Value,
    path: Vec<Step>,
    raw: &str,
    origin: Origin,
) -> Result<Assignment, ConfigError> {
    let kind = schema::kind_at(schema, &path).map_err(|unknown| {
        setting_error(
            &origin,
            format!(
                "there is no setting `{unknown}` (`docktray config --variables` lists every setting and its \
                 variable)"
            ),
        )
    })?;
    let value = typed(kind, raw).map_err(|message| setting_error(&origin, message))?;
    Ok(Assignment {
        path,
        value,
        origin,
    })
}

/// Text as a value of `kind`.
fn typed(kind: Kind, raw: &str) -> Result<Value, String> {
    let text = raw.trim();
    let literal = || -> Option<Value> {
        let parsed: Table = toml::from_str(&format!("v = {text}")).ok()?;
        parsed.get("v").cloned()
    };
    match kind {
        Kind::Text => Ok(Value::String(raw.to_owned())),
        Kind::Integer => text
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("\"{raw}\" is not a whole number")),
        Kind::Number => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Value::Float)
            .ok_or_else(|| format!("\"{raw}\" is not a number")),
        Kind::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Value::Boolean(true)),
            "false" | "no" | "off" | "0" => Ok(Value::Boolean(false)),
            _ => Err(format!("\"{raw}\" is not true or false")),
        },
        Kind::List => match literal() {
            Some(list @ Value::Array(_)) => Ok(list),
            _ => Ok(Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            )),
        },
        Kind::Either => match literal() {
            Some(value @ (Value::Array(_) | Value::Table(_))) => Ok(value),
            _ => Ok(Value::String(raw.to_owned())),
        },
        Kind::Table => Err(
            "this names a whole table: set its keys one by one (`docktray config --variables` lists them)"
                .to_owned(),
        ),
    }
}

/// Dockpeek's `WEBDOCK_SERVER_SLUG_<n>` and `WEBDOCK_API_TOKEN_<n>` (or `_FILE`) as one Webdock account per
/// `<n>`, named `webdock-<n>`, watching that server with that token: an old `.env` file works unchanged. The
/// token itself stays in the environment (the account names the variable) and is read only when used.
fn dockpeek(
    schema: &serde_json::Value,
    file: &Table,
    variables: &[&(String, String)],
) -> Result<Vec<Assignment>, ConfigError> {
    let mut numbers: BTreeMap<u32, (Option<&String>, Option<&str>)> = BTreeMap::new();
    for (name, value) in variables {
        if let Some(n) = name.strip_prefix(DOCKPEEK_SLUG) {
            if let Ok(n) = n.parse::<u32>() {
                numbers.entry(n).or_default().0 = Some(value);
            }
        } else if let Some(rest) = name.strip_prefix(DOCKPEEK_TOKEN) {
            if let Ok(n) = rest.trim_end_matches("_FILE").parse::<u32>() {
                numbers.entry(n).or_default().1 = Some(name);
            }
        }
    }
    let existing = file
        .get("webdock")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    // Entries the environment adds with DOCKTRAY_WEBDOCK__<i>__... come first; these follow.
    let indexed = variables
        .iter()
        .filter_map(|(name, _)| {
            name.strip_prefix("DOCKTRAY_WEBDOCK__")?
                .split(ENV_SEPARATOR)
                .next()?
                .parse::<usize>()
                .ok()
        })
        .map(|index| index + 1)
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for (next, (n, (slug, token))) in (existing.max(indexed)..).zip(numbers) {
        let origin_name = token
            .map(|variable| variable.trim_end_matches("_FILE").to_owned())
            .unwrap_or_else(|| format!("{DOCKPEEK_SLUG}{n}"));
        let origin = Origin::Env(origin_name);
        let entry = |key: &str| {
            vec![
                Step::Key("webdock".to_owned()),
                Step::Index(next),
                Step::Key(key.to_owned()),
            ]
        };
        out.push(assignment(
            schema,
            entry("name"),
            &format!("webdock-{n}"),
            origin.clone(),
        )?);
        out.push(assignment(
            schema,
            entry("token_variable"),
            &format!("{DOCKPEEK_TOKEN}{n}"),
            origin.clone(),
        )?);
        if let Some(slug) = slug {
            out.push(Assignment {
                path: entry("servers"),
                value: Value::Array(vec![Value::String(slug.trim().to_owned())]),
                origin: Origin::Env(format!("{DOCKPEEK_SLUG}{n}")),
            });
        }
    }
    Ok(out)
}

/// Puts `value` at `path`, making tables and entries on the way. A table the file does not have starts as its
/// default (so one variable can change one field of a threshold), an entry as an empty table. An entry may be
/// added only right after the last one, so numbers have no gaps.
fn put(
    table: &mut Table,
    defaults: Option<&Table>,
    path: &[Step],
    value: Value,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let Step::Key(key) = first else {
        return Err("a setting's name starts with a key, not a number".to_owned());
    };
    if rest.is_empty() {
        table.insert(key.clone(), value);
        return Ok(());
    }
    let default = defaults.and_then(|d| d.get(key));
    let slot = table
        .entry(key.clone())
        .or_insert_with(|| match (&rest[0], default) {
            (Step::Key(_), Some(Value::Table(default))) => Value::Table(default.clone()),
            (Step::Key(_), _) => Value::Table(Table::new()),
            (Step::Index(_), _) => Value::Array(Vec::new()),
        });
    put_in(slot, default, &path[..1], rest, value)
}

fn put_in(
    slot: &mut Value,
    default: Option<&Value>,
    done: &[Step],
    rest: &[Step],
    value: Value,
) -> Result<(), String> {
    match (&rest[0], slot) {
        (Step::Key(_), Value::Table(table)) => {
            put(table, default.and_then(Value::as_table), rest, value)
        }
        (Step::Index(index), Value::Array(entries)) => {
            if *index > entries.len() {
                return Err(format!(
                    "`{}` has {} entries, so the next one is number {}, not {index}: number entries from 0 \
                     without gaps",
                    dotted(done),
                    entries.len(),
                    entries.len()
                ));
            }
            if *index == entries.len() {
                entries.push(match rest.get(1) {
                    Some(Step::Index(_)) => Value::Array(Vec::new()),
                    _ => Value::Table(Table::new()),
                });
            }
            if rest.len() == 1 {
                entries[*index] = value;
                return Ok(());
            }
            let mut path = done.to_vec();
            path.push(rest[0].clone());
            put_in(&mut entries[*index], None, &path, &rest[1..], value)
        }
        _ => Err(format!(
            "`{}` is not a table or list of entries here",
            dotted(done)
        )),
    }
}

/// Every leaf key of the file, dotted.
fn leaf_keys(table: &Table, path: &mut Vec<Step>, found: &mut impl FnMut(String)) {
    for (key, value) in table {
        path.push(Step::Key(key.clone()));
        match value {
            Value::Table(inner) => leaf_keys(inner, path, found),
            Value::Array(entries) if entries.iter().all(Value::is_table) && !entries.is_empty() => {
                for (index, entry) in entries.iter().enumerate() {
                    path.push(Step::Index(index));
                    if let Value::Table(inner) = entry {
                        leaf_keys(inner, path, found);
                    }
                    path.pop();
                }
            }
            _ => found(dotted(path)),
        }
        path.pop();
    }
}

/// The origin of the value a serde message ("... in `history.raw_retention`") is about.
fn blamed<'a>(origins: &'a BTreeMap<String, Origin>, message: &str) -> Option<&'a Origin> {
    let key = message.rsplit_once("in `")?.1.split('`').next()?;
    blamed_key(origins, key)
}

/// The origin of `key`, or of a value inside it (a whole entry named by its list).
fn blamed_key<'a>(origins: &'a BTreeMap<String, Origin>, key: &str) -> Option<&'a Origin> {
    if let Some(origin) = origins.get(key) {
        return Some(origin);
    }
    let inside = |candidate: &str| {
        candidate.starts_with(&format!("{key}.")) || candidate.starts_with(&format!("{key}["))
    };
    // An override names what the file did not, so it is the likelier culprit.
    origins
        .iter()
        .filter(|(candidate, _)| inside(candidate))
        .map(|(_, origin)| origin)
        .max_by_key(|origin| !matches!(origin, Origin::File))
}

fn origin_name(origin: &Origin) -> String {
    match origin {
        Origin::File => "the config file".to_owned(),
        Origin::Env(variable) => variable.clone(),
        Origin::Flag(flag) => format!("--set {flag}"),
    }
}

fn setting_error(origin: &Origin, message: String) -> ConfigError {
    ConfigError::Setting {
        setting: origin_name(origin),
        message,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

mod saving;

pub use saving::without_overrides;

#[cfg(test)]
mod tests;
