//! The corpus of broken inventories: each gives its exact error (file:line:column, field, hint),
//! exit code 2, and never a panic. Snapshots pin the full text.

mod common;

use std::path::Path;

#[test]
fn every_broken_inventory_gives_its_pinned_error() {
    let dir = common::root().join("tests/fixtures/broken");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "the corpus shrank: {}", names.len());
    for name in names {
        let rel = format!("tests/fixtures/broken/{name}");
        let out = common::stackctl(&["plan", "-i", &rel]);
        let err = common::stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: exit {:?}\n{err}",
            out.status.code()
        );
        assert!(!err.contains("panicked"), "{name} panicked:\n{err}");
        assert!(
            common::stdout(&out).is_empty(),
            "{name}: nothing on stdout without --json"
        );
        // Every error names the file; all but whole-file problems give line and column.
        assert!(
            err.contains(&format!("--> {rel}")),
            "{name}: no file reference\n{err}"
        );
        if !["empty.yml", "binary.yml"].contains(&name.as_str()) {
            assert!(
                err.contains(&format!("--> {rel}:")),
                "{name}: no line:column\n{err}"
            );
        }
        insta::assert_snapshot!(
            Path::new(&name)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string(),
            err
        );
    }
}

#[test]
fn json_errors_are_machine_readable() {
    let out = common::stackctl(&[
        "plan",
        "-i",
        "tests/fixtures/broken/unknown-role.yml",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value =
        serde_json::from_str(&common::stdout(&out)).expect("JSON on stdout");
    assert_eq!(doc["ok"], false);
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap()
        .clone();
    assert_eq!(d["line"], 7);
    assert_eq!(d["column"], 54);
    assert_eq!(d["field"], "hosts[0].roles[1]");
    assert!(d["help"]
        .as_str()
        .unwrap()
        .contains("did you mean `kafka`?"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = common::stackctl(&["plan", "-i", "no/such/inventory.yml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("cannot read inventory") && err.contains("no/such/inventory.yml"),
        "{err}"
    );
}

#[test]
fn an_even_zookeeper_ensemble_is_a_warning_that_counts_failures() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }
components:
  zookeeper: { version: "3.8.4" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper] }
  - { name: c, address: 10.0.0.3, roles: [zookeeper] }
  - { name: d, address: 10.0.0.4, roles: [zookeeper] }
"#,
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail the plan"
    );
    let text = common::stdout(&out);
    assert!(
        text.contains("warning: 4 ZooKeeper servers tolerate 1 failure, the same as 3"),
        "{text}"
    );
    assert!(text.contains("inventory.yml:10:"), "{text}");
}

#[test]
fn bad_arguments_exit_2() {
    let out = common::stackctl(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    let out = common::stackctl(&["plan", "-i", "inventories/seed-3node.yml", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A data directory under /tmp is known from the inventory alone: `plan` warns at the line
/// that puts it there (exit 0: `up` decides, in preflight, where --allow-ephemeral applies).
#[test]
fn a_data_dir_under_tmp_is_a_warning_at_its_line() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }
components:
  zookeeper: { version: "3.8.4", config: { dataDir: /tmp/zk } }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper], data_dir: /var/tmp/stack }
  - { name: c, address: 10.0.0.3, roles: [zookeeper] }
"#,
    );
    let p = path.to_str().unwrap();
    let out = common::stackctl(&["plan", "-i", p]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let warnings = &text[text.find("warning:").expect("a warning")..];
    insta::assert_snapshot!(
        "data-under-tmp-warning",
        warnings.replace(p, "inventory.yml")
    );
    // The host's own data_dir under /var/tmp holds nothing here (dataDir is set): no warning.
    assert_eq!(warnings.matches("data is under").count(), 1, "{warnings}");
    let out = common::stackctl(&["plan", "-i", p, "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "components.zookeeper.config.dataDir")
        .expect("the warning in --json")
        .clone();
    assert_eq!(
        (d["severity"].as_str(), d["line"].as_u64()),
        (Some("warning"), Some(5))
    );
}
