//! The everyday conventions (issue 15): `--log FILE` and `-v`/`-vv`/`-q`, `verify --limit`,
//! next-step hints after text output, and text that fits 100 columns. Offline: the hosts are
//! closed ports on 127.0.0.x.

mod common;

use std::path::{Path, PathBuf};

fn run(args: &[&str]) -> std::process::Output {
    common::stackctl(args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three ZooKeeper hosts on 127.0.0.1-3, a closed SSH port each, and an empty ssh_config.
fn three_unreachable(dir: &Path) -> (PathBuf, PathBuf) {
    let port = common::closed_port();
    let inv = dir.join("inventory.yml");
    std::fs::write(
        &inv,
        format!(
            r#"
cluster: gone
defaults: {{ java_home: /usr/lib/jvm/java-11, java_version: "11", ssh_port: {port} }}
components:
  zookeeper: {{ version: "3.5.6" }}
hosts:
  - {{ name: n1, address: 127.0.0.1, roles: [zookeeper] }}
  - {{ name: n2, address: 127.0.0.2, roles: [zookeeper] }}
  - {{ name: n3, address: 127.0.0.3, roles: [zookeeper] }}
"#
        ),
    )
    .unwrap();
    let cfg = dir.join("ssh_config");
    std::fs::write(&cfg, "").unwrap();
    (inv, cfg)
}

// --- --log and verbosity ---------------------------------------------------------------------

#[test]
fn the_log_file_has_each_attempt_and_phase_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = common::unreachable_local(dir.path());
    let log = dir.path().join("run.log");
    for cmd in [&["verify"][..], &["plan", "--live"][..]] {
        let mut args = cmd.to_vec();
        args.extend(["--log", s(&log), "-i", s(&inv), "--ssh-config", s(&cfg)]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    // Appended: one header per run.
    assert_eq!(text.matches("# stackctl ").count(), 2, "{text}");
    for want in [
        "verify --log",
        "plan --live --log",
        "phase   load and plan: done (",
        "phase   connect and gather facts: done (",
        "connect ghost 127.0.0.1:",
        " failed: cannot connect to ghost",
    ] {
        assert!(text.contains(want), "no {want:?} in the log:\n{text}");
    }
    assert_eq!(text.matches("connect ghost").count(), 2, "{text}");
    assert!(
        !text.contains("zk-ks-pw-4"),
        "the log shows a secret:\n{text}"
    );
}

#[test]
fn v_prints_phase_timings_and_vv_every_connection_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = common::unreachable_local(dir.path());
    let base = ["verify", "-i", s(&inv), "--ssh-config", s(&cfg)];
    let err = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        common::stderr(&run(&args))
    };
    let quiet = err(&[]);
    assert!(!quiet.contains("stackctl: load and plan"), "{quiet}");
    let v = err(&["-v"]);
    assert!(
        v.contains("stackctl: load and plan: ")
            && v.contains("stackctl: connect and gather facts: "),
        "{v}"
    );
    assert!(!v.contains("[ghost] connect"), "{v}");
    let vv = err(&["-vv"]);
    assert!(vv.contains("[ghost] connect 127.0.0.1:"), "{vv}");
    // -q and -v say opposite things.
    let out = run(&["plan", "-q", "-v", "-i", "inventories/seed-3node.yml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_log_file_that_cannot_be_opened_is_an_argument_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "plan",
        "--log",
        s(dir.path()),
        "-i",
        "inventories/seed-3node.yml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains(&format!("--log {}", dir.path().display())),
        "{err}"
    );
    assert!(common::stdout(&out).is_empty());
}

// --- verify --limit ----------------------------------------------------------------------------

#[test]
fn verify_limit_reads_and_reports_only_those_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = three_unreachable(dir.path());
    let out = run(&[
        "verify",
        "--json",
        "--limit",
        "n1,n3",
        "-i",
        s(&inv),
        "--ssh-config",
        s(&cfg),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::schema::assert_valid(&report, "verify");
    let unreachable: Vec<&str> = report["unreachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(unreachable, ["n1", "n3"]);
    let hosts: std::collections::BTreeSet<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["host"].as_str().unwrap())
        .collect();
    assert!(!hosts.contains("n2"), "{hosts:?}");
    assert!(hosts.contains("n1") && hosts.contains("n3") && hosts.contains("cluster"));
}

#[test]
fn verify_limit_with_an_unknown_host_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = three_unreachable(dir.path());
    let out = run(&[
        "verify",
        "--limit",
        "n1,node9",
        "-i",
        s(&inv),
        "--ssh-config",
        s(&cfg),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("--limit names hosts that are not in the inventory: node9")
            && err.contains("n1, n2, n3"),
        "{err}"
    );
    // Nothing was connected to: the error comes before any host is read.
    assert!(common::stdout(&out).is_empty());
}

// --- next-step hints ---------------------------------------------------------------------------

#[test]
fn plan_and_up_end_with_a_one_line_hint_in_text_only() {
    let out = run(&["plan", "-i", "inventories/kafka-3node.yml"]);
    assert_eq!(out.status.code(), Some(0));
    let err = common::stderr(&out);
    let last = err.lines().last().unwrap_or("");
    assert_eq!(
        last,
        "next: stackctl up -i inventories/kafka-3node.yml (plan --live previews its changes)"
    );
    assert!(
        !common::stdout(&out).contains("next:"),
        "the hint is not part of the report"
    );
    // Never with --json, never with -q.
    for extra in ["--json", "-q"] {
        let out = run(&["plan", extra, "-i", "inventories/kafka-3node.yml"]);
        assert!(!common::stderr(&out).contains("next:"), "{extra}");
        assert!(!common::stdout(&out).contains("next:"), "{extra}");
    }
    // A plan with errors says what to do about them.
    let (_d, path) = common::inventory(common::KAFKA_2_4_ON_JDK_17);
    let out = run(&["plan", "-i", s(&path)]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert_eq!(
        err.lines().last().unwrap(),
        format!(
            "next: fix the errors above, then stackctl plan -i {}",
            path.display()
        )
    );
    // up's hint comes after a success only: a failed up ends with its error.
    let dir = tempfile::tempdir().unwrap();
    let (inv, cfg) = common::unreachable_local(dir.path());
    let out = run(&["up", "-i", s(&inv), "--ssh-config", s(&cfg)]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!common::stderr(&out).contains("next:"));
}

// --- 100 columns -------------------------------------------------------------------------------

fn assert_fits(what: &str, text: &str) {
    for l in text.lines() {
        let w = l.chars().count();
        assert!(w <= 100, "{what}: a line of {w} columns:\n{l}");
    }
}

#[test]
fn plan_text_fits_100_columns() {
    for inv in ["seed-3node", "kafka-3node", "kraft-3node", "modern-5node"] {
        let path = format!("inventories/{inv}.yml");
        let out = run(&["plan", "--color", "never", "-i", &path]);
        assert_fits(&path, &common::stdout(&out));
    }
}

#[test]
fn verify_text_wraps_long_evidence_under_its_column() {
    use stackctl::components::Check;
    let long = "the broker answered with a metadata response listing brokers 1, 2 and 3 but \
                the controller it names (broker 7) is not one of them; /opt/stack/kafka/logs/\
                server.log says: ERROR [KafkaServer id=1] Fatal error during KafkaServer \
                startup. Prepare to shutdown (kafka.server.KafkaServer)";
    let unbroken = format!("/{}", "x".repeat(180));
    let report = stackctl::verify::Report {
        ok: false,
        checks: vec![
            Check::fail("broker-1", "kafka", "controller", long),
            Check::warn("broker-2", "kafka", "log dir", unbroken.clone()),
            Check::pass("cluster", "zookeeper", "quorum", "leader zk1, 2 followers"),
        ],
        unreachable: vec![],
        seconds: 1.25,
    };
    let text = stackctl::output::verify::text(&report, false);
    assert_fits("verify", &text);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines[0].find("EVIDENCE").unwrap();
    // The continuation lines hang under the evidence column.
    let cont: Vec<&&str> = lines
        .iter()
        .skip(2)
        .take_while(|l| !l.starts_with("broker-2"))
        .collect();
    assert!(!cont.is_empty(), "{text}");
    for l in cont {
        assert!(
            l[..at].trim().is_empty() && !l[at..].starts_with(' '),
            "not under EVIDENCE:\n{text}"
        );
    }
    // Nothing is lost: the words read back in order.
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    assert!(
        joined.contains("Fatal error during KafkaServer startup."),
        "{text}"
    );
    assert!(
        text.lines()
            .map(str::trim)
            .collect::<String>()
            .contains(&unbroken),
        "{text}"
    );
}
