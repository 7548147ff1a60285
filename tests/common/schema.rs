//! The JSON schemas under `docs/schemas/` held against real output: `assert_valid(&doc,
//! "verify")` fails the test with every violation, naming the document and the schema.

use std::path::PathBuf;

/// `docs/schemas/<name>.schema.json`.
pub fn path(name: &str) -> PathBuf {
    super::root()
        .join("docs/schemas")
        .join(format!("{name}.schema.json"))
}

/// Whether `doc` is valid against the schema `name` (`plan`, `verify`, `error`, `events`):
/// the violations as text when it is not.
pub fn check(doc: &serde_json::Value, name: &str) -> Result<(), String> {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let at = path(name);
    let index = compiler
        .compile(at.to_str().expect("utf-8 path"), &mut schemas)
        .unwrap_or_else(|e| panic!("the schema {} does not compile: {e:#}", at.display()));
    schemas.validate(doc, index).map_err(|e| format!("{e:#}"))
}

/// Panics unless `doc` is valid against the schema `name`.
pub fn assert_valid(doc: &serde_json::Value, name: &str) {
    if let Err(e) = check(doc, name) {
        panic!(
            "this document does not match docs/schemas/{name}.schema.json:\n{e}\n--- document ---\n{}",
            serde_json::to_string_pretty(doc).unwrap_or_default()
        );
    }
}

/// Every line of `up --json` / `down --json` output, each valid against `events`.
pub fn assert_valid_lines(stdout: &str) {
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let doc: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a --json line is not JSON ({e}): {line}"));
        assert_valid(&doc, "events");
    }
}
