//! The documentation's list of settings and the published schema are generated from the code: these fail when
//! either is out of date (run `docktray config --variables` / `--schema` and paste the output).

use std::path::Path;

fn doc(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_documented_settings_are_the_schemas() {
    let text = doc("configuration.md");
    let start = text
        .find("<!-- settings:start -->\n")
        .expect("start marker")
        + 24;
    let end = text.find("<!-- settings:end -->").expect("end marker");
    let documented = &text[start..end];
    let generated = docktray::config::schema::markdown_table();
    assert_eq!(
        documented, generated,
        "docs/configuration.md lists other settings than the code has: paste `docktray config --variables`"
    );
    assert!(generated.contains("`DOCKTRAY_HISTORY__RAW_RETENTION`"));
}

#[test]
fn the_published_schema_is_the_codes() {
    let published: serde_json::Value =
        serde_json::from_str(&doc("config.schema.json")).expect("valid JSON");
    assert_eq!(
        published,
        docktray::config::schema::json_schema(),
        "docs/config.schema.json is out of date: paste `docktray config --schema`"
    );
}
