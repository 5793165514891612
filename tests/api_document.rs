//! The OpenAPI document a real `docktray serve` serves is the one the /docs Vitest test renders
//! (ui/tests/recorded/openapi.json): a route added, removed or changed without re-recording fails here, naming
//! what differs and how to re-record.

mod common;

use std::collections::BTreeSet;

use common::serve::{Options, Serve};
use serde_json::Value;

const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/ui/tests/recorded/openapi.json"
);

/// "METHOD path" of every operation in a document.
fn operations(document: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            found.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    found
}

#[test]
fn the_served_openapi_document_is_the_recorded_one() {
    let serve = Serve::start(Options::default());
    let served = serve.json("/api/v1/openapi.json");
    let text = std::fs::read_to_string(RECORDING).expect("the recorded OpenAPI document");
    let recorded: Value = serde_json::from_str(&text).expect("the recording is JSON");
    if served == recorded {
        return;
    }
    let (now, then) = (operations(&served), operations(&recorded));
    panic!(
        "the served OpenAPI document differs from {RECORDING}\n  served, not recorded: {:?}\n  recorded, not \
         served: {:?}\n  (or an operation's parameters, answers or descriptions changed)\nre-record it from a \
         `docktray serve` of this build: python3 ui/tests/recorded/record_openapi.py URL TOKEN > \
         ui/tests/recorded/openapi.json",
        now.difference(&then).collect::<Vec<_>>(),
        then.difference(&now).collect::<Vec<_>>(),
    );
}
