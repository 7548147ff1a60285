//! Every `--json` document stackctl prints, held against its schema in `docs/schemas/`: the
//! plan of each shipped inventory and of every fixture, the error document of the broken ones,
//! `verify` and `plan --live` of a host that cannot be reached, `up`/`down --json` lines, and
//! the documents built directly from the library. Offline: the only "host" is a closed port on
//! 127.0.0.1. The last tests prove the schemas are strict enough to fail.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::schema::{assert_valid, assert_valid_lines, check};
use serde_json::{json, Value};

fn run(args: &[&str]) -> Output {
    common::stackctl(args)
}

fn doc(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}{}",
            common::stdout(out),
            common::stderr(out)
        )
    })
}

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// `plan --json -i PATH`: a plan (exit 0 or 1) or the error document (exit 2).
fn plan_matches_its_schema(path: &Path) -> &'static str {
    let out = run(&["plan", "--json", "-i", path.to_str().unwrap()]);
    let d = doc(&out);
    assert_eq!(d["schema_version"], "1.0", "{}", path.display());
    let schema = match out.status.code() {
        Some(0 | 1) => "plan",
        Some(2) => "error",
        c => panic!("{}: exit {c:?}: {}", path.display(), common::stderr(&out)),
    };
    if let Err(e) = check(&d, schema) {
        panic!("{}: not a valid {schema} document:\n{e}", path.display());
    }
    schema
}

#[test]
fn the_plans_of_the_shipped_inventories_match_the_schema() {
    let mut files = Vec::new();
    yml_files(&common::root().join("inventories"), &mut files);
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        assert_eq!(plan_matches_its_schema(&f), "plan", "{}", f.display());
    }
}

#[test]
fn the_plans_and_errors_of_every_fixture_match_their_schemas() {
    let mut files = Vec::new();
    yml_files(&common::root().join("tests/fixtures"), &mut files);
    let kinds: Vec<&str> = files.iter().map(|f| plan_matches_its_schema(f)).collect();
    // Both documents were seen: the fixtures are plans and broken inventories.
    assert!(
        kinds.contains(&"plan") && kinds.contains(&"error"),
        "{kinds:?}"
    );
}

#[test]
fn a_plan_with_compatibility_errors_secrets_become_and_stdin_matches_the_schema() {
    // A compatibility error (Kafka 2.4 on JDK 17): exit 1, `compat_errors` present.
    let (_d, path) = common::inventory(common::KAFKA_2_4_ON_JDK_17);
    let out = run(&["plan", "--json", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let d = doc(&out);
    assert!(d["compat_errors"].is_array());
    assert_valid(&d, "plan");

    // A secret (the file is marked `secret`) and become: sudo, from stdin (no lock file).
    let text = r#"
cluster: s
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11", become: sudo }
components:
  zookeeper: { version: "3.5.6", config: { ssl.keyStore.password: zk-ks-pw-4 } }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper] }
"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["plan", "--json", "-i", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let d = doc(&out);
    assert_eq!(d["lock"]["path"], "");
    assert_eq!(d["hosts"][0]["become"], "sudo");
    assert!(d["hosts"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["secret"] == true));
    assert_valid(&d, "plan");
}

#[test]
fn verify_and_plan_live_of_an_unreachable_host_match_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = common::unreachable_local(dir.path());
    let (inv, cfg) = (inv.to_str().unwrap(), cfg.to_str().unwrap());
    let out = run(&["verify", "--json", "-i", inv, "--ssh-config", cfg]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let report = doc(&out);
    assert_eq!(report["unreachable"][0][0], "ghost", "{report}");
    assert!(report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["status"] == "fail"));
    assert_valid(&report, "verify");

    // status: every instance of the unreachable host, unreachable, saying why.
    let out = run(&["status", "--json", "-i", inv, "--ssh-config", cfg]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let st = doc(&out);
    let all = st["instances"].as_array().unwrap();
    assert!(
        !all.is_empty()
            && all
                .iter()
                .all(|i| i["status"] == "unreachable" && i["note"].is_string()),
        "{st}"
    );
    assert_eq!(st["exit_code"], 3, "{st}");
    assert_valid(&st, "status");

    // plan --live prints the plan, then fails in preflight.
    let out = run(&["plan", "--live", "--json", "-i", inv, "--ssh-config", cfg]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    assert_valid(&doc(&out), "plan");

    // verify of an inventory that cannot be planned: the error document.
    let broken = common::root().join("tests/fixtures/broken/duplicate-host-name.yml");
    let (_d, copy) = common::copy_inventory(&broken);
    let out = run(&["verify", "--json", "-i", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let d = doc(&out);
    assert_eq!(d["kind"], "invalid");
    assert_valid(&d, "error");
}

#[test]
fn up_and_down_json_lines_match_the_events_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = common::unreachable_local(dir.path());
    let (inv, cfg) = (inv.to_str().unwrap(), cfg.to_str().unwrap());
    let out = run(&["up", "--json", "-i", inv, "--ssh-config", cfg]);
    assert_ne!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let lines = common::stdout(&out);
    assert!(lines.contains("\"event\":\"done\""), "{lines}");
    assert_valid_lines(&lines);

    // down --purge without --yes: the purge plan, then nothing happens.
    let out = run(&["down", "--purge", "--json", "-i", inv, "--ssh-config", cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let lines = common::stdout(&out);
    assert!(lines.contains("\"event\":\"purge-plan\""), "{lines}");
    assert_valid_lines(&lines);
}

/// A `Write` the test can read back.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn progress_events_and_the_done_line_built_by_the_library_match_the_schema() {
    let buf = Shared::default();
    let ev = stackctl::events::Events::json_to(Box::new(buf.clone()));
    ev.emit(Some("a"), "upload", "uploading x.tgz (12 MiB)");
    ev.emit(None, "healthy", "ZooKeeper server: quorum formed");
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert_valid_lines(&text);
    let summary = stackctl::deploy::Summary {
        hosts: 3,
        uploaded_bytes: 1 << 20,
        started: vec!["zookeeper on a".into()],
        seconds: 1.5,
        ..Default::default()
    };
    assert_valid(
        &stackctl::output::summary::done_json(Ok(&summary)),
        "events",
    );
    assert_valid(
        &stackctl::output::summary::done_json(Err("a: failed".into())),
        "events",
    );
}

// --- the schemas are strict ------------------------------------------------------------------

#[test]
fn the_schemas_reject_what_the_output_must_not_be() {
    let out = run(&["plan", "--json", "-i", "inventories/kafka-3node.yml"]);
    let good = doc(&out);
    assert_valid(&good, "plan");
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        f(&mut d);
        d
    };
    let bad = [
        (
            "no schema_version",
            broken(&|d| {
                d.as_object_mut().unwrap().remove("schema_version");
            }),
        ),
        (
            "schema_version 2.0",
            broken(&|d| d["schema_version"] = json!("2.0")),
        ),
        (
            "a required key missing",
            broken(&|d| {
                d["hosts"][0].as_object_mut().unwrap().remove("address");
            }),
        ),
        (
            "a wrong type",
            broken(&|d| d["hosts"][0]["files"][0]["size"] = json!("453")),
        ),
        (
            "an unknown key",
            broken(&|d| d["stages"][0]["colour"] = json!("red")),
        ),
        (
            "a value outside its enum",
            broken(&|d| d["lock"]["state"] = json!("maybe")),
        ),
        (
            "a malformed checksum",
            broken(&|d| d["hosts"][0]["files"][0]["sha256"] = json!("xyz")),
        ),
    ];
    for (what, d) in bad {
        assert!(check(&d, "plan").is_err(), "the plan schema accepts {what}");
    }
    // verify: a status that does not exist, and an unreachable entry that is not a pair.
    let report = json!({ "schema_version": "1.0", "ok": true, "checks": [], "unreachable": [], "seconds": 0.1 });
    assert_valid(&report, "verify");
    let mut r = report.clone();
    r["checks"] =
        json!([{ "host": "a", "service": "zk", "check": "up", "status": "maybe", "evidence": "" }]);
    assert!(check(&r, "verify").is_err());
    let mut r = report.clone();
    r["unreachable"] = json!([["a"]]);
    assert!(check(&r, "verify").is_err());
    // status: a state that does not exist, a percent over 100, a missing key.
    let inst = json!({ "host": "a", "address": "10.0.0.1", "component": "kafka", "role": "kafka",
        "id": "broker.id=1", "port": 9092, "version": "2.4.0", "status": "up", "role_state": "broker",
        "note": null, "pid": 42, "uptime_seconds": 7,
        "data_dirs": [{ "path": "/d", "kib": 8, "fs_used_percent": 29 }] });
    let st = json!({ "schema_version": "1.0", "cluster": "c", "instances": [inst], "seconds": 0.2, "exit_code": 0 });
    assert_valid(&st, "status");
    let mut s2 = st.clone();
    s2["instances"][0]["status"] = json!("sleeping");
    assert!(check(&s2, "status").is_err());
    let mut s2 = st.clone();
    s2["instances"][0]["data_dirs"][0]["fs_used_percent"] = json!(101);
    assert!(check(&s2, "status").is_err());
    let mut s2 = st.clone();
    s2["instances"][0].as_object_mut().unwrap().remove("pid");
    assert!(check(&s2, "status").is_err());
    // events: an event nobody emits, and a done line without its summary.
    let e = json!({ "schema_version": "1.0", "t": 0.5, "event": "teleported", "host": null, "detail": "" });
    assert!(check(&e, "events").is_err());
    let e = json!({ "schema_version": "1.0", "event": "done", "ok": true });
    assert!(check(&e, "events").is_err());
    // error: a kind's own key missing.
    let e =
        json!({ "schema_version": "1.0", "ok": false, "kind": "lock_outdated", "lock": "x.lock" });
    assert!(check(&e, "error").is_err());
    // ... and a diagnostic that is not one (the reference into plan.schema.json is followed).
    let e = json!({ "schema_version": "1.0", "ok": false, "kind": "invalid", "diagnostics": [{ "line": "x" }] });
    assert!(check(&e, "error").is_err());
}
