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
    // plan is a preview: it leaves the lock file alone unless asked to write it.
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stackctl::lock::lock_path(&path).exists());
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--write-lock"]);
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

// --- lock::resolve on hand-edited lock files and pins at the edges of the id range. Each case
// runs the resolver in a thread with a deadline, so a resolver that loops fails the test
// instead of hanging it.

/// Loads `inventory` (with `lock`, when given, as its lock file) and resolves its ids, failing
/// if that takes more than 5 s.
fn resolve_within_5s(inventory: &str, lock: Option<&str>) -> stackctl::lock::Resolved {
    let (dir, path) = common::inventory(inventory);
    let lock_path = stackctl::lock::lock_path(&path);
    if let Some(text) = lock {
        std::fs::write(&lock_path, text).unwrap();
    }
    let cat = stackctl::components::catalog();
    let (inv, _) = match stackctl::inventory::load(&path, cat) {
        Ok(loaded) => loaded,
        // The loader refuses pins out of range (with the inventory's other mistakes); the
        // resolver must cope with them all the same, so they are put back after loading.
        Err(e)
            if e.diagnostics
                .errors()
                .all(|d| d.message.contains("is out of range")) =>
        {
            let pin = ", zookeeper_id: ";
            let pins: Vec<Option<u64>> = inventory
                .lines()
                .filter(|l| l.starts_with("  - "))
                .map(|l| {
                    l.split_once(pin)
                        .map(|(_, r)| r.trim_end_matches(" }").parse().unwrap())
                })
                .collect();
            let stripped: String = inventory
                .lines()
                .map(|l| match l.split_once(pin) {
                    Some((head, _)) => format!("{head} }}\n"),
                    None => format!("{l}\n"),
                })
                .collect();
            std::fs::write(&path, stripped).unwrap();
            let (mut inv, w) =
                stackctl::inventory::load(&path, cat).unwrap_or_else(|e| panic!("{e}"));
            for (h, p) in inv.hosts.iter_mut().zip(pins) {
                if let Some(p) = p {
                    h.pinned_ids.insert("zookeeper_id", (p, h.name_pos));
                }
            }
            (inv, w)
        }
        Err(e) => panic!("{e}"),
    };
    let existing = stackctl::lock::read(&lock_path, cat).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = stackctl::lock::resolve(&inv, existing, stackctl::components::catalog());
        let _ = tx.send(r);
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("lock::resolve did not return within 5 s");
    drop(dir);
    r
}

fn zk_hosts(extra: &[&str]) -> String {
    let mut s = String::from(
        "cluster: t\ndefaults: { java_home: /usr/lib/jvm/java-11, java_version: \"11\" }\ncomponents:\n  zookeeper: { version: \"3.5.6\" }\nhosts:\n",
    );
    for (i, e) in extra.iter().enumerate() {
        s.push_str(&format!(
            "  - {{ name: h{i}, address: 10.0.0.{}, roles: [zookeeper]{e} }}\n",
            i + 1
        ));
    }
    s
}

fn zk_lock(body: &str) -> String {
    format!("version: 1\ncluster: t\nids:\n  zookeeper_id:\n{body}")
}

fn messages(r: &stackctl::lock::Resolved) -> Vec<String> {
    r.diagnostics
        .0
        .iter()
        .map(|d| {
            format!(
                "{}: {} [{}]{}",
                if d.is_error() { "error" } else { "warning" },
                d.message,
                d.field,
                d.help
                    .as_ref()
                    .map(|h| format!(" help: {h}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn next_at_the_top_of_u64_with_an_out_of_range_pin_terminates() {
    // Used to loop forever: the next id saturated at u64::MAX, which the out-of-range pin held.
    let r = resolve_within_5s(
        &zk_hosts(&[", zookeeper_id: 18446744073709551615", ""]),
        Some(&zk_lock("    next: 18446744073709551615\n")),
    );
    let m = messages(&r);
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(
        m[0].starts_with(
            "error: zookeeper_id 18446744073709551615 is out of range: myid must be 1..=255 [hosts[0].zookeeper_id]"
        ),
        "{m:#?}"
    );
    assert!(
        m[1].starts_with("error: no myid left for `h1`: the next free id 18446744073709551615 is above 255 [hosts[1].roles]"),
        "{m:#?}"
    );
    assert!(m[1].contains("`ids.zookeeper_id.next`"), "{m:#?}");
    assert!(!r.ids["zookeeper_id"].contains_key("h0"));
    assert!(!r.ids["zookeeper_id"].contains_key("h1"));
}

#[test]
fn next_above_the_range_is_an_exhausted_range_naming_the_lock_field() {
    for next in [
        "256",
        "1000",
        "18446744073709551614",
        "18446744073709551615",
    ] {
        let r = resolve_within_5s(
            &zk_hosts(&["", ", zookeeper_id: 256"]),
            Some(&zk_lock(&format!(
                "    next: {next}\n    hosts:\n      h0: 255\n"
            ))),
        );
        let m = messages(&r);
        assert_eq!(m.len(), 1, "{next}: {m:#?}");
        assert!(
            m[0].starts_with(
                "error: zookeeper_id 256 is out of range: myid must be 1..=255 [hosts[1].zookeeper_id]"
            ),
            "{next}: {m:#?}"
        );
        assert_eq!(r.ids["zookeeper_id"]["h0"], 255, "h0 keeps its id");

        let r = resolve_within_5s(
            &zk_hosts(&["", "", ", zookeeper_id: 256"]),
            Some(&zk_lock(&format!(
                "    next: {next}\n    hosts:\n      h0: 255\n"
            ))),
        );
        let m = messages(&r);
        assert_eq!(m.len(), 2, "{next}: {m:#?}");
        assert!(
            m[1].starts_with(&format!(
                "error: no myid left for `h1`: the next free id {next} is above 255 [hosts[1].roles] help: `ids.zookeeper_id.next` in "
            )),
            "{next}: {m:#?}"
        );
    }
}

#[test]
fn next_at_the_top_of_the_range_hands_out_the_last_id_then_reports_exhaustion() {
    let r = resolve_within_5s(
        &zk_hosts(&["", "", "", ""]),
        Some(&zk_lock("    next: 255\n    hosts:\n      h0: 1\n")),
    );
    let m = messages(&r);
    assert_eq!(r.ids["zookeeper_id"]["h0"], 1);
    assert_eq!(r.ids["zookeeper_id"]["h1"], 255);
    assert!(!r.ids["zookeeper_id"].contains_key("h2"));
    assert!(!r.ids["zookeeper_id"].contains_key("h3"));
    assert_eq!(m.len(), 2, "{m:#?}");
    // The explanation comes once, with the first host left without an id.
    assert_eq!(
        m[1],
        "error: no myid left for `h3`: the next free id 256 is above 255 [hosts[3].roles]"
    );
    assert!(
        m[0].starts_with(
            "error: no myid left for `h2`: the next free id 256 is above 255 [hosts[2].roles]"
        ),
        "{m:#?}"
    );
    assert!(
        m[0].contains("pin an unused id with `zookeeper_id:` on the host"),
        "{m:#?}"
    );
}

#[test]
fn pins_at_the_ends_of_the_range_are_accepted() {
    let r = resolve_within_5s(
        &zk_hosts(&[", zookeeper_id: 1", ", zookeeper_id: 255"]),
        None,
    );
    assert!(messages(&r).is_empty(), "{:#?}", messages(&r));
    assert_eq!(r.ids["zookeeper_id"]["h0"], 1);
    assert_eq!(r.ids["zookeeper_id"]["h1"], 255);
    assert_eq!(r.lock.ids["zookeeper_id"].next, 256);
    // A pin at the top leaves nothing above it for a new host.
    let r = resolve_within_5s(&zk_hosts(&[", zookeeper_id: 255", ""]), None);
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].starts_with(
            "error: no myid left for `h1`: the next free id 256 is above 255 [hosts[1].roles]"
        ),
        "{m:#?}"
    );
    // Just outside either end is an error, and the other hosts still get their ids.
    for pin in ["0", "256"] {
        let r = resolve_within_5s(&zk_hosts(&[&format!(", zookeeper_id: {pin}"), ""]), None);
        let m = messages(&r);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert!(
            m[0].starts_with(&format!(
                "error: zookeeper_id {pin} is out of range: myid must be 1..=255 [hosts[0].zookeeper_id]"
            )),
            "{m:#?}"
        );
        assert_eq!(r.ids["zookeeper_id"]["h1"], 1);
    }
    // Kafka's range starts at 0.
    let (_d, path) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j }\ncomponents:\n  zookeeper: { version: \"3.5.6\" }\n  kafka: { version: \"2.4.0\" }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka], broker_id: 0 }\n  - { name: b, address: 10.0.0.2, roles: [kafka], broker_id: 1000 }\n",
    );
    let got = plan::plan(&path, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<_> = got.hosts.iter().map(|h| h.ids["broker_id"]).collect();
    assert_eq!(ids, [0, 1000]);
}

#[test]
fn a_pin_on_a_retired_id_moves_it_out_of_retired_so_the_lock_stays_valid() {
    let lock = "version: 1\ncluster: t\nids:\n  zookeeper_id:\n    next: 3\n    hosts:\n      h0: 1\n    retired:\n      old: 2\n";
    let r = resolve_within_5s(&zk_hosts(&["", ", zookeeper_id: 2"]), Some(lock));
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].starts_with(
            "warning: `h1` pins zookeeper_id 2, which `old` had before it was removed"
        ),
        "{m:#?}"
    );
    assert_eq!(r.ids["zookeeper_id"]["h1"], 2);
    let t = &r.lock.ids["zookeeper_id"];
    assert!(t.retired.is_empty(), "{t:?}");
    // What gets written reads back: no id recorded twice.
    let (_d, path) = common::inventory(&zk_hosts(&["", ", zookeeper_id: 2"]));
    let lock_path = stackctl::lock::lock_path(&path);
    std::fs::write(&lock_path, lock).unwrap();
    plan::plan(&path, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let again = plan::plan(&path, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.lock.state, stackctl::lock::LockState::Unchanged);
}

#[test]
fn a_returning_host_that_pins_its_own_retired_id_gets_it_back() {
    let lock = "version: 1\ncluster: t\nids:\n  zookeeper_id:\n    next: 3\n    hosts:\n      h0: 1\n    retired:\n      h1: 2\n";
    let r = resolve_within_5s(&zk_hosts(&["", ", zookeeper_id: 2"]), Some(lock));
    assert!(messages(&r).is_empty(), "{:#?}", messages(&r));
    assert_eq!(r.ids["zookeeper_id"]["h1"], 2);
    assert!(r.lock.ids["zookeeper_id"].retired.is_empty());
    assert!(
        r.changes
            .iter()
            .any(|c| c == "restored zookeeper_id 2 of h1"),
        "{:?}",
        r.changes
    );
    // Its data directory says 2: another id would make it a different server.
    let r = resolve_within_5s(&zk_hosts(&["", ", zookeeper_id: 7"]), Some(lock));
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].starts_with(
            "error: `h1` pins zookeeper_id 7, but the lock file records 2 for it [hosts[1].zookeeper_id]"
        ),
        "{m:#?}"
    );
}

#[test]
fn a_pin_on_the_retired_id_of_a_host_that_is_back_is_refused() {
    // h1 comes back and gets 2 again; h2 cannot have it too.
    let lock = "version: 1\ncluster: t\nids:\n  zookeeper_id:\n    next: 3\n    hosts:\n      h0: 1\n    retired:\n      h1: 2\n";
    let r = resolve_within_5s(&zk_hosts(&["", "", ", zookeeper_id: 2"]), Some(lock));
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].starts_with("error: `h2` pins zookeeper_id 2, which the lock file gives to `h1`"),
        "{m:#?}"
    );
    assert_eq!(r.ids["zookeeper_id"]["h1"], 2);
}

#[test]
fn ids_at_u64_max_in_an_unchecked_lock_do_not_overflow() {
    // `read` refuses such a lock; `resolve` must still not overflow or loop when handed one.
    let (_d, path) = common::inventory(&zk_hosts(&["", ""]));
    let cat = stackctl::components::catalog();
    let (inv, _) = stackctl::inventory::load(&path, cat).unwrap();
    let mut table = stackctl::lock::IdTable {
        next: u64::MAX,
        ..Default::default()
    };
    table.hosts.insert("h0".into(), u64::MAX);
    table.retired.insert("gone".into(), u64::MAX - 1);
    let lock = stackctl::lock::LockFile {
        version: stackctl::lock::LOCK_VERSION,
        cluster: "t".into(),
        ids: [("zookeeper_id".to_string(), table)].into_iter().collect(),
        cluster_ids: Default::default(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = stackctl::lock::resolve(&inv, Some(lock), stackctl::components::catalog());
        let _ = tx.send(r);
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("lock::resolve did not return within 5 s");
    let m = messages(&r);
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(m[0].starts_with("error: no myid left for `h1`"), "{m:#?}");
    assert_eq!(r.lock.ids["zookeeper_id"].next, u64::MAX);
}
