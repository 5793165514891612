//! `docktray config`: the effective configuration with where each value came from, the defaults, every
//! setting's variable, or the schema for editors.

use std::path::Path;

use anyhow::{anyhow, Context};
use clap::Args;
use docktray::config::layers::{Layered, Origin};
use docktray::config::schema;
use docktray::{Config, Error};
use toml_edit::{DocumentMut, Item, Table};

use crate::Failure;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Print the built-in defaults instead of the effective configuration.
    #[arg(long, conflicts_with_all = ["variables", "schema"])]
    default: bool,
    /// List every setting with its environment variable (DOCKTRAY_<SECTION>__<KEY>), kind and meaning.
    #[arg(long, conflicts_with = "schema")]
    variables: bool,
    /// Print the configuration's JSON Schema (for editors that check TOML files against one).
    #[arg(long)]
    schema: bool,
}

pub fn run(args: &ConfigArgs, path: Option<&Path>) -> Result<(), Failure> {
    if args.default {
        print!(
            "{}",
            toml::to_string_pretty(&Config::default()).context("formatting the defaults")?
        );
        return Ok(());
    }
    if args.variables {
        print!("{}", variables_table());
        return Ok(());
    }
    if args.schema {
        let text = serde_json::to_string_pretty(&schema::json_schema())
            .context("formatting the schema")?;
        println!("{text}");
        return Ok(());
    }
    let layered = Config::load_layered(path, &crate::overrides())
        .map_err(|err| Failure::from(anyhow!(Error::from(err))))?;
    let file = path.map(Path::to_path_buf).or_else(Config::default_path);
    match (&layered.path, &file) {
        (Some(read), _) => println!("# read from {}", read.display()),
        (None, Some(missing)) => println!("# {} does not exist", missing.display()),
        (None, None) => println!("# no config directory on this system"),
    }
    println!(
        "# each value: the default unless marked with where it came from (the file, a variable, a --set flag)"
    );
    print!("{}", annotated(&layered)?);
    Ok(())
}

/// The effective configuration as TOML, each value not at its default followed by a comment naming its origin.
fn annotated(layered: &Layered) -> Result<String, Failure> {
    let text = toml::to_string_pretty(&layered.config).context("formatting the configuration")?;
    let mut document: DocumentMut = text.parse().context("re-reading the configuration")?;
    mark(document.as_table_mut(), "", layered);
    Ok(document.to_string())
}

fn mark(table: &mut Table, prefix: &str, layered: &Layered) {
    for (mut key, item) in table.iter_mut() {
        let dotted = if prefix.is_empty() {
            key.get().to_owned()
        } else {
            format!("{prefix}.{}", key.get())
        };
        match item {
            Item::Table(inner) => mark(inner, &dotted, layered),
            Item::ArrayOfTables(entries) => {
                for (index, entry) in entries.iter_mut().enumerate() {
                    mark(entry, &format!("{dotted}[{index}]"), layered);
                }
            }
            Item::Value(value) => {
                if let Some(inline) = value.as_inline_table_mut() {
                    // `{ warning = .., critical = .. }`: one comment for the whole line.
                    let origins: Vec<String> = inline
                        .iter()
                        .filter_map(|(inner, _)| layered.origin(&format!("{dotted}.{inner}")))
                        .map(describe)
                        .collect();
                    if let Some(first) = origins.first() {
                        value.decor_mut().set_suffix(format!("  # {first}"));
                    }
                } else if let Some(origin) = layered.origin(&dotted) {
                    value
                        .decor_mut()
                        .set_suffix(format!("  # {}", describe(origin)));
                }
                let _ = &mut key;
            }
            Item::None => {}
        }
    }
}

fn describe(origin: &Origin) -> String {
    match origin {
        Origin::File => "file".to_owned(),
        Origin::Env(variable) => variable.clone(),
        Origin::Flag(flag) => format!("--set {flag}"),
    }
}

/// Every setting with its variable, as a Markdown table (also the list in docs/configuration.md).
pub fn variables_table() -> String {
    docktray::config::schema::markdown_table()
}
