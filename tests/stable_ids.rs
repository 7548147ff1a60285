//! Stable identities: myid and broker.id never change once assigned, whatever happens to the
//! order of hosts; removed ids are never reused; --locked refuses to write.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use stackctl::plan::{self, PlanError, PlanOptions};

use common::inv::{line_of, Host, Inventory};

fn ids(path: &Path) -> BTreeMap<String, (u64, u64)> {
    let plan = plan::plan(path, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    plan.hosts
        .iter()
        .map(|h| (h.name.clone(), (h.ids["zookeeper_id"], h.ids["broker_id"])))
        .collect()
}

const ZK_KAFKA: &[&str] = &["zookeeper", "kafka"];

/// ZooKeeper and Kafka on JDK 11, no hosts yet.
fn cluster() -> Inventory {
    Inventory::new("t")
        .java_home("/usr/lib/jvm/java-11")
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .component("kafka", "2.4.0")
        .scala("2.12")
}

/// `cluster()` on these hosts, each with both roles.
fn hosts(names: &[(&str, &str)]) -> String {
    cluster().hosts(names, ZK_KAFKA).yaml()
}

#[test]
fn inserting_reordering_and_removing_hosts_never_renumbers() {
    let (_d, path) = common::inventory(&hosts(&[
        ("a", "10.0.0.1"),
        ("b", "10.0.0.2"),
        ("c", "10.0.0.3"),
    ]));
    let first = ids(&path);
    assert_eq!(first["a"], (1, 1));
    assert_eq!(first["b"], (2, 2));
    assert_eq!(first["c"], (3, 3));
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(&path)).unwrap();
    assert!(
        lock.contains("zookeeper_id:") && lock.contains("broker_id:"),
        "{lock}"
    );

    // Insert a host at the front and reverse the others.
    std::fs::write(
        &path,
        hosts(&[
            ("z", "10.0.0.9"),
            ("c", "10.0.0.3"),
            ("b", "10.0.0.2"),
            ("a", "10.0.0.1"),
        ]),
    )
    .unwrap();
    let second = ids(&path);
    for h in ["a", "b", "c"] {
        assert_eq!(second[h], first[h], "{h} kept its ids");
    }
    assert_eq!(second["z"], (4, 4), "the new host gets a fresh id");

    // Remove b; its id is retired, and a later host does not get it.
    std::fs::write(
        &path,
        hosts(&[("z", "10.0.0.9"), ("c", "10.0.0.3"), ("a", "10.0.0.1")]),
    )
    .unwrap();
    let third = ids(&path);
    assert_eq!(third["a"], first["a"]);
    assert_eq!(third["c"], first["c"]);
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(&path)).unwrap();
    assert!(lock.contains("retired:\n      b: 2"), "{lock}");
    std::fs::write(
        &path,
        hosts(&[
            ("z", "10.0.0.9"),
            ("c", "10.0.0.3"),
            ("a", "10.0.0.1"),
            ("d", "10.0.0.4"),
        ]),
    )
    .unwrap();
    let fourth = ids(&path);
    assert_eq!(fourth["d"], (5, 5), "2 was b's and is never reused");

    // A second plan with nothing changed leaves the lock byte-identical.
    let before = std::fs::read(stackctl::lock::lock_path(&path)).unwrap();
    ids(&path);
    assert_eq!(
        std::fs::read(stackctl::lock::lock_path(&path)).unwrap(),
        before
    );
}

#[test]
fn pinned_ids_are_honoured_and_new_ids_avoid_them() {
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .component("zookeeper", "3.5.6")
        .component("kafka", "2.4.0")
        .host("a", "10.0.0.1", ZK_KAFKA)
        .host_with(
            Host::new("b", "10.0.0.2", ZK_KAFKA)
                .zookeeper_id(1)
                .broker_id(101),
        )
        .host("c", "10.0.0.3", ZK_KAFKA)
        .temp();
    let got = ids(&path);
    assert_eq!(got["b"], (1, 101));
    assert_ne!(got["a"].0, 1);
    assert_ne!(got["c"].0, 1);
    assert_ne!(got["a"].0, got["c"].0);
}

#[test]
fn a_pin_that_contradicts_the_lock_is_refused() {
    let (_d, path) = common::inventory(&hosts(&[
        ("a", "10.0.0.1"),
        ("b", "10.0.0.2"),
        ("c", "10.0.0.3"),
    ]));
    ids(&path);
    let text = cluster()
        .host_with(Host::new("a", "10.0.0.1", ZK_KAFKA).zookeeper_id(7))
        .hosts(&[("b", "10.0.0.2"), ("c", "10.0.0.3")], ZK_KAFKA)
        .yaml();
    std::fs::write(&path, &text).unwrap();
    let pin_line = line_of(&text, "zookeeper_id: 7");
    match plan::plan(&path, &PlanOptions::default()) {
        Err(PlanError::Invalid(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("`a` pins zookeeper_id 7, but the lock file records 1 for it"),
                "{msg}"
            );
            assert!(msg.contains(&format!("inventory.yml:{pin_line}:")), "{msg}");
        }
        other => panic!("expected an error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn locked_fails_instead_of_writing() {
    let (_d, path) = common::inventory(&hosts(&[("a", "10.0.0.1")]));
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--locked"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("out of date and --locked forbids updating it"),
        "{}",
        common::stderr(&out)
    );
    assert!(
        !stackctl::lock::lock_path(&path).exists(),
        "--locked wrote nothing"
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--locked"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
}

#[test]
fn a_damaged_lock_file_is_an_error_not_a_renumbering() {
    let (_d, path) = common::inventory(&hosts(&[("a", "10.0.0.1")]));
    std::fs::write(
        stackctl::lock::lock_path(&path),
        "version: 1\ncluster: t\nids: [oops\n",
    )
    .unwrap();
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("the lock file is damaged") && err.contains("inventory.yml.lock:"),
        "{err}"
    );
}

#[test]
fn shipped_example_lock_files_are_current() {
    for name in ["seed-3node.yml", "modern-5node.yml", "kafka-3node.yml"] {
        let out = common::stackctl(&["plan", "-i", &format!("inventories/{name}"), "--locked"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            common::stderr(&out)
        );
    }
}

#[test]
fn a_host_that_leaves_a_role_and_comes_back_gets_its_own_id_back() {
    let (_d, path) = common::inventory(&hosts(&[
        ("a", "10.0.0.1"),
        ("b", "10.0.0.2"),
        ("c", "10.0.0.3"),
    ]));
    let first = ids(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let b_without_kafka = cluster()
        .host("a", "10.0.0.1", ZK_KAFKA)
        .host("b", "10.0.0.2", &["zookeeper"])
        .host("c", "10.0.0.3", ZK_KAFKA)
        .yaml();
    std::fs::write(&path, b_without_kafka).unwrap();
    let plan = plan::plan(&path, &PlanOptions::default()).unwrap();
    assert!(
        plan.lock
            .changes
            .iter()
            .any(|c| c == "retired broker_id 2 of b (no longer has role `kafka`)"),
        "{:?}",
        plan.lock.changes
    );
    std::fs::write(&path, text).unwrap();
    let plan = plan::plan(&path, &PlanOptions::default()).unwrap();
    assert!(
        plan.lock
            .changes
            .iter()
            .any(|c| c == "restored broker_id 2 of b"),
        "{:?}",
        plan.lock.changes
    );
    assert_eq!(
        ids(&path),
        first,
        "b's data directory still says broker.id=2"
    );
}

#[test]
fn a_lock_file_with_impossible_ids_is_refused() {
    let (_d, path) = common::inventory(&hosts(&[("a", "10.0.0.1"), ("b", "10.0.0.2")]));
    let lock = stackctl::lock::lock_path(&path);
    for (body, want) in [
        (
            "zookeeper_id:\n    next: 1\n    hosts:\n      a: 18446744073709551615\n",
            "zookeeper_id 18446744073709551615 of `a` is out of range: myid must be 1..=255",
        ),
        (
            "zookeeper_id:\n    next: 3\n    hosts:\n      a: 1\n      b: 1\n",
            "zookeeper_id 1 is recorded for both `a` and `b`",
        ),
        (
            "broker_id:\n    next: 3\n    hosts:\n      a: 1\n    retired:\n      old: 1\n",
            "broker_id 1 is recorded for both `a` and `old`",
        ),
    ] {
        std::fs::write(&lock, format!("version: 1\ncluster: t\nids:\n  {body}")).unwrap();
        let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(want) && err.contains("inventory.yml.lock:"),
            "{err}"
        );
        assert!(!err.contains("panicked"));
    }
}
