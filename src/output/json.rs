//! Every `--json` document carries `schema_version` (Terraform's `format_version` rule: a
//! minor bump adds, a major bump breaks; readers ignore keys they do not know). The schemas
//! are `docs/schemas/*.schema.json`, and tests/schemas.rs holds the output to them.

use serde::Serialize;

pub use crate::events::SCHEMA_VERSION;

/// `doc` with `schema_version` as its first key, pretty-printed with a final newline.
pub fn versioned<T: Serialize>(doc: &T) -> String {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        schema_version: &'static str,
        #[serde(flatten)]
        doc: &'a T,
    }
    serde_json::to_string_pretty(&Versioned {
        schema_version: SCHEMA_VERSION,
        doc,
    })
    .expect("documents serialise")
        + "\n"
}

/// An object built as a value, with `schema_version` added (it stays an object).
pub fn stamp(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(map) = doc.as_object_mut() {
        map.insert("schema_version".into(), SCHEMA_VERSION.into());
    }
    doc
}
