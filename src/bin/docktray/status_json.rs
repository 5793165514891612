//! `docktray status --json`: the snapshot, with the engine's own figures beside it under `engine`
//! (docs/status-json.md).

use anyhow::Context;
use docktray::model::SelfFigures;
use docktray::Snapshot;
use serde::Serialize;

#[derive(Serialize)]
struct StatusJson<'a> {
    #[serde(flatten)]
    snapshot: &'a Snapshot,
    engine: &'a SelfFigures,
}

pub fn render(snapshot: &Snapshot, engine: &SelfFigures) -> anyhow::Result<String> {
    serde_json::to_string_pretty(&StatusJson { snapshot, engine }).context("formatting JSON")
}
