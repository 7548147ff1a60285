//! Issue 11, "mistakes that deserve better messages": `plan` is a pure preview, stdin
//! inventories, closed pipes, every independent mistake in one run, warnings for what no rule
//! knows and for templates that override nothing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use stackctl::lock::lock_path;

fn run_in(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stackctl");
    if let Some(text) = stdin {
        let mut i = child.stdin.take().unwrap();
        // A command that refuses `-i -` exits without reading it: a closed pipe is its answer,
        // checked below, not a failure of the test.
        if let Err(e) = i.write_all(text.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    child.wait_with_output().unwrap()
}

// --- 4. plan is a pure preview ---------------------------------------------------------------

#[test]
fn plan_writes_no_lock_file_unless_asked() {
    let (d, path) = common::inventory(common::THREE_NODES);
    let p = path.to_str().unwrap();
    let out = common::stackctl(&["plan", "-i", p]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(!lock_path(&path).exists(), "plan created the lock file");
    let text = common::stdout(&out);
    assert!(
        text.contains("would be created (") && common::flat(&text).contains("`up` records them"),
        "{text}"
    );
    let out = common::stackctl(&["plan", "-i", p, "--write-lock"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(lock_path(&path).exists(), "--write-lock writes it");
    assert!(common::stdout(&out).contains(".lock created ("));
    drop(d);
}

#[test]
fn previewing_a_host_removal_retires_nothing() {
    let (_d, path) = common::inventory(common::THREE_NODES);
    let p = path.to_str().unwrap();
    assert_eq!(
        common::stackctl(&["plan", "-i", p, "--write-lock"])
            .status
            .code(),
        Some(0)
    );
    let before = std::fs::read(lock_path(&path)).unwrap();
    let two = common::THREE_NODES.replace(
        "  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka] }\n",
        "",
    );
    std::fs::write(&path, two).unwrap();
    let out = common::stackctl(&["plan", "-i", p]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("would be updated") && text.contains("retired zookeeper_id 3 of c"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(lock_path(&path)).unwrap(),
        before,
        "a preview changed the lock file"
    );
}

#[test]
fn up_is_the_command_that_records_ids() {
    let (_d, path) = common::inventory(common::THREE_NODES);
    // What `up` does before it connects anywhere (after fetching the archives, which
    // `prepare` does first): plan with the lock file writable.
    let opts = stackctl::deploy::UpOptions {
        inventory: path.clone(),
        templates: None,
        locked: false,
        ssh: Default::default(),
        forks: 1,
        limit: None,
        json: false,
        gate_timeout: Duration::from_secs(1),
        force_unlock: false,
        allow_ephemeral: false,
    };
    let (_inv, plan) =
        stackctl::commands::prepare_as(&opts, false).unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.lock.written);
    let lock = std::fs::read_to_string(lock_path(&path)).unwrap();
    assert!(
        lock.contains("zookeeper_id:") && lock.contains("broker_id:"),
        "{lock}"
    );
}

#[test]
fn plan_reads_stdin_and_writes_no_lock_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["plan", "-i", "-"], Some(common::THREE_NODES));
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("Lock file: none (the inventory came from stdin): ids are computed fresh"),
        "{text}"
    );
    assert!(text.contains("<stdin>"), "{text}");
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(files.is_empty(), "plan -i - wrote {files:?}");
    // An error in a stdin inventory points at <stdin>:line.
    let out = run_in(
        dir.path(),
        &["plan", "-i", "-"],
        Some(&common::THREE_NODES.replace("address: 10.0.0.2", "address: 10.0.0.2!")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("--> <stdin>:9:"),
        "{}",
        common::stderr(&out)
    );
    // up, down and verify need the lock file beside an inventory file.
    for cmd in ["up", "down", "verify"] {
        let out = run_in(dir.path(), &[cmd, "-i", "-"], Some(common::THREE_NODES));
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            common::stderr(&out).contains("need"),
            "{cmd}: {}",
            common::stderr(&out)
        );
    }
}

// --- 6. a closed pipe never panics -----------------------------------------------------------

/// Runs stackctl with stdout a pipe whose reading end is already closed.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.wait_with_output().unwrap()
}

#[test]
fn plan_json_into_a_closed_pipe_exits_quietly_with_the_plans_code() {
    for (inv, code) in [
        ("inventories/seed-3node.yml", 0),
        ("tests/fixtures/broken/malformed.yml", 2),
    ] {
        for extra in [&["--json"][..], &[][..]] {
            let mut args = vec!["plan", "-i", inv, "--locked"];
            args.extend_from_slice(extra);
            let out = with_closed_stdout(&args);
            let err = common::stderr(&out);
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        }
    }
}

/// A writer whose reader went away, as stdout is for `stackctl up --json | head -1`.
struct ClosedPipe(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn up_events_into_a_closed_pipe_are_dropped_and_the_deploy_goes_on() {
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ev = stackctl::events::Events::json_to(Box::new(ClosedPipe(tries.clone())));
    let mut went_on = 0;
    for i in 0..100 {
        ev.emit(Some("node1"), "step", &format!("step {i}"));
        went_on += 1;
    }
    assert_eq!(went_on, 100);
    assert!(ev.output_failed(), "the failure is recorded");
    assert_eq!(
        tries.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "after the first failure no more writes are tried"
    );
}

// --- 1. every independent mistake in one run --------------------------------------------------

#[test]
fn five_independent_mistakes_are_reported_in_one_run_each_at_its_line() {
    let rel = "tests/fixtures/broken/mixed-errors.yml";
    let out = common::stackctl(&["plan", "-i", rel]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.trim_end().ends_with(&format!("5 errors in {rel}")),
        "{err}"
    );
    // defaults (once, not once per host), a misspelt host field, a string for a list, a pin
    // out of range, a bad address.
    for line in [4, 10, 14, 18, 20] {
        assert_eq!(
            err.matches(&format!("--> {rel}:{line}:")).count(),
            1,
            "line {line}:\n{err}"
        );
    }
    assert!(err.contains("= field: defaults.java_home"), "{err}");
}

// --- 5. what nothing checks is said -----------------------------------------------------------

#[test]
fn a_version_no_rule_knows_is_a_warning_at_its_line() {
    let (_d, path) = common::inventory(&common::THREE_NODES.replace("3.5.6", "99.1"));
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "a warning, not an error");
    let text = common::stdout(&out);
    assert!(
        text.contains("warning: no compatibility rule knows zookeeper 99.1")
            && text.contains("inventory.yml:5:25")
            && text.contains("the rules know zookeeper `>=3.4, <3.5`"),
        "{text}"
    );
    // A known version says nothing of the kind.
    let (_d, path) = common::inventory(common::THREE_NODES);
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert!(!common::stdout(&out).contains("no compatibility rule knows"));
}

#[test]
fn a_template_that_overrides_nothing_is_a_warning_with_the_name_meant() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("kafka")).unwrap();
    std::fs::write(dir.path().join("kafka/server.propertis"), "x\n").unwrap();
    // A real override, and a new partial it includes: both in use, no warning.
    std::fs::create_dir_all(dir.path().join("zookeeper")).unwrap();
    std::fs::write(
        dir.path().join("zookeeper/zoo.cfg"),
        "{% include \"zookeeper/extra.part\" %}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("zookeeper/extra.part"), "# extra\n").unwrap();
    let out = common::stackctl(&[
        "plan",
        "-i",
        "inventories/seed-3node.yml",
        "--locked",
        "--templates",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("warning: template `kafka/server.propertis` overrides nothing")
            && text.contains("did you mean `kafka/server.properties`?"),
        "{text}"
    );
    assert_eq!(text.matches("overrides nothing").count(), 1, "{text}");
}

// --- 3. compatibility errors point at the inventory and say what would fix them ----------------

#[test]
fn a_compatibility_error_points_at_the_version_and_gives_the_fix() {
    let text = std::fs::read_to_string(common::root().join("inventories/modern-5node.yml"))
        .unwrap()
        .replace("hadoop3: true", "hadoop3: false")
        .lines()
        .filter(|l| !l.contains("archive:"))
        .collect::<Vec<_>>()
        .join("\n");
    let line = text
        .lines()
        .position(|l| l.contains("version: \"2.5.10\""))
        .unwrap()
        + 1;
    let (_d, path) = common::inventory(&text);
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains(&format!("inventory.yml:{line}:14"))
            && err.contains("= help: use the -hadoop3 build: set `hadoop3: true`")
            && err.contains("1 compatibility error in"),
        "{err}"
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(doc["compat_errors"][0]["line"], line);
    assert_eq!(doc["compat_errors"][0]["field"], "components.hbase.version");
}

#[test]
fn a_jdk_error_points_at_the_jdk_line_and_names_the_jdks_that_work() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-17, java_version: "17" }
components:
  zookeeper: { version: "3.8.4" }
  kafka: { version: "2.4.0", scala: "2.12" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka] }
  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka] }
"#,
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains("inventory.yml:3:")
            && err.contains("= field: defaults.java_version")
            && err.contains("run kafka 2.4.0 on JDK 8 or 11")
            && err.contains("`components.kafka.version` (line 6)"),
        "{err}"
    );
}
