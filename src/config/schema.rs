//! The configuration's schema, made from the same types that read the file (schemars), so it cannot drift. It
//! says what kind of value each setting takes (how a `DOCKTRAY_*` variable's text becomes a value), lists every
//! setting with its variable for the documentation, and is published for editors (docs/config.schema.json).

use serde_json::Value;

use super::Config;

/// The prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "DOCKTRAY_";
/// Separates the levels of a setting's path in a variable's name (`DOCKTRAY_HISTORY__RAW_RETENTION`).
pub const ENV_SEPARATOR: &str = "__";

/// The JSON Schema of the configuration file.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null)
}

/// What a setting takes, which decides how text becomes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    /// A list (of text): `["a", "b"]` or `a,b`.
    List,
    /// A table of settings: not set by one variable.
    Table,
    /// One of several forms (such as `"all"` or a list): TOML syntax decides, plain text otherwise.
    Either,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "true or false",
            Self::List => "list",
            Self::Table => "table",
            Self::Either => "text or list",
        }
    }
}

/// One step of a setting's path: a key, or a position in a list of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// The dotted key users read in the file's terms: `webdock[0].name`, `thresholds.host_cpu_percent.warning`.
pub fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The schema node a `$ref` points at, or the node itself.
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
            .unwrap_or(node),
        None => node,
    }
}

/// The alternatives of a node (`anyOf`/`oneOf`, such as an optional value), without `null`.
fn alternatives<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(root, node);
    let listed = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array);
    match listed {
        Some(list) => list
            .iter()
            .map(|alternative| resolve(root, alternative))
            .filter(|alternative| type_names(alternative) != ["null"])
            .collect(),
        None => vec![node],
    }
}

/// The JSON types a node allows, without `null`.
fn type_names(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| *name != "null")
            .collect(),
        _ => Vec::new(),
    }
}

/// The child node one step below `node`, if the schema has one there.
fn child<'a>(root: &'a Value, node: &'a Value, step: &Step) -> Option<&'a Value> {
    alternatives(root, node)
        .into_iter()
        .find_map(|node| match step {
            Step::Key(key) => node
                .get("properties")
                .and_then(|properties| properties.get(key))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
            Step::Index(_) => node.get("items"),
        })
}

fn kind_of(root: &Value, node: &Value) -> Kind {
    let forms = alternatives(root, node);
    if forms.len() > 1 {
        return Kind::Either;
    }
    let Some(node) = forms.first() else {
        return Kind::Text;
    };
    match type_names(node).first().copied() {
        Some("string") => Kind::Text,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("array") => match node
            .get("items")
            .map(|items| type_names(resolve(root, items)))
        {
            Some(items) if items == ["object"] => Kind::Table,
            _ => Kind::List,
        },
        Some("object") => Kind::Table,
        _ => Kind::Text,
    }
}

/// What the setting at `path` takes; `Err` names the first step the schema does not have.
pub fn kind_at(schema: &Value, path: &[Step]) -> Result<Kind, String> {
    let mut node = schema;
    for (depth, step) in path.iter().enumerate() {
        node = child(schema, node, step).ok_or_else(|| dotted(&path[..=depth]))?;
    }
    Ok(kind_of(schema, node))
}

/// One setting as the documentation lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// `history.raw_retention`, `webdock[N].name`, `overrides[N].thresholds.METRIC.warning`.
    pub key: String,
    /// `DOCKTRAY_HISTORY__RAW_RETENTION`, `DOCKTRAY_WEBDOCK__N__NAME`.
    pub variable: String,
    pub kind: Kind,
    pub description: String,
}

/// Every setting that one variable can set, in the file's order, with `N` for an entry's number and `METRIC`
/// (or `KEY`) for a table's own keys.
pub fn settings() -> Vec<Setting> {
    let schema = json_schema();
    let mut out = Vec::new();
    walk(
        &schema,
        &schema,
        &mut Vec::new(),
        &mut Vec::new(),
        "",
        &mut out,
    );
    out
}

fn walk(
    root: &Value,
    node: &Value,
    key: &mut Vec<String>,
    variable: &mut Vec<String>,
    description: &str,
    out: &mut Vec<Setting>,
) {
    let forms = alternatives(root, node);
    let own = resolve(root, node)
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or(description);
    for form in &forms {
        if let Some(properties) = form.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let text = property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                key.push(name.clone());
                variable.push(name.to_ascii_uppercase());
                walk(root, property, key, variable, text, out);
                key.pop();
                variable.pop();
            }
            return;
        }
        if let Some(values) = form.get("additionalProperties").filter(|a| a.is_object()) {
            let placeholder = if key.last().is_some_and(|k| k == "thresholds") {
                "METRIC"
            } else {
                "KEY"
            };
            key.push(placeholder.to_owned());
            variable.push(placeholder.to_owned());
            walk(root, values, key, variable, own, out);
            key.pop();
            variable.pop();
            return;
        }
        if kind_of(root, node) == Kind::Table {
            if let Some(items) = form.get("items") {
                if let Some(last) = key.last_mut() {
                    last.push_str("[N]");
                }
                variable.push("N".to_owned());
                walk(root, items, key, variable, own, out);
                variable.pop();
                if let Some(last) = key.last_mut() {
                    last.truncate(last.len() - "[N]".len());
                }
                return;
            }
        }
    }
    if key.is_empty() {
        return;
    }
    out.push(Setting {
        key: key.join("."),
        variable: format!("{ENV_PREFIX}{}", variable.join(ENV_SEPARATOR)),
        kind: kind_of(root, node),
        description: own.split_whitespace().collect::<Vec<_>>().join(" "),
    });
}

/// Every setting with its variable, kind and meaning as a Markdown table: `docktray config --variables` prints
/// it and docs/configuration.md holds it (a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| setting | variable | takes | meaning |\n| --- | --- | --- | --- |\n");
    for setting in settings() {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            setting.key,
            setting.variable,
            setting.kind.describe(),
            setting.description.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Step {
        Step::Key(name.to_owned())
    }

    #[test]
    fn kinds_come_from_the_types() {
        let schema = json_schema();
        assert_eq!(kind_at(&schema, &[key("interval")]), Ok(Kind::Text));
        assert_eq!(
            kind_at(&schema, &[key("logs"), key("ring_lines")]),
            Ok(Kind::Integer)
        );
        let warning = [key("thresholds"), key("host_cpu_percent"), key("warning")];
        assert_eq!(kind_at(&schema, &warning), Ok(Kind::Number));
        let hold = [key("thresholds"), key("host_cpu_percent"), key("hold")];
        assert_eq!(kind_at(&schema, &hold), Ok(Kind::Text));
        assert_eq!(
            kind_at(&schema, &[key("notifications"), key("enabled")]),
            Ok(Kind::Boolean)
        );
        let name = [key("webdock"), Step::Index(0), key("name")];
        assert_eq!(kind_at(&schema, &name), Ok(Kind::Text));
        let servers = [key("webdock"), Step::Index(3), key("servers")];
        assert_eq!(kind_at(&schema, &servers), Ok(Kind::Either));
        let overridden = [
            key("overrides"),
            Step::Index(0),
            key("thresholds"),
            key("container_cpu_percent"),
            key("critical"),
        ];
        assert_eq!(kind_at(&schema, &overridden), Ok(Kind::Number));
        assert_eq!(kind_at(&schema, &[key("webdock")]), Ok(Kind::Table));
    }

    #[test]
    fn unknown_steps_are_named() {
        let schema = json_schema();
        assert_eq!(
            kind_at(&schema, &[key("history"), key("retention")]),
            Err("history.retention".to_owned())
        );
        assert_eq!(
            kind_at(&schema, &[key("hosts"), Step::Index(1), key("port")]),
            Err("hosts[1].port".to_owned())
        );
    }

    #[test]
    fn every_setting_is_listed_with_its_variable() {
        let listed = settings();
        let find = |key: &str| listed.iter().find(|s| s.key == key);
        let interval = find("interval").expect("interval listed");
        assert_eq!(interval.variable, "DOCKTRAY_INTERVAL");
        assert!(interval.description.contains("sampled"), "{interval:?}");
        let retention = find("history.raw_retention").expect("listed");
        assert_eq!(retention.variable, "DOCKTRAY_HISTORY__RAW_RETENTION");
        let name = find("webdock[N].name").expect("entries listed");
        assert_eq!(name.variable, "DOCKTRAY_WEBDOCK__N__NAME");
        let metric = find("overrides[N].thresholds.METRIC.warning").expect("maps listed");
        assert_eq!(
            metric.variable,
            "DOCKTRAY_OVERRIDES__N__THRESHOLDS__METRIC__WARNING"
        );
        assert!(listed.iter().all(|s| s.kind != Kind::Table), "{listed:#?}");
    }
}
