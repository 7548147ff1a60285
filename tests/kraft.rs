//! Kafka without ZooKeeper (KRaft), offline: every rendered file of each supported version line
//! parsed back as Java properties, node ids and the cluster id from the lock file, the start
//! order, and the mode rules. The refusals themselves are pinned by tests/fixtures/broken.

mod common;

use std::collections::BTreeMap;

use stackctl::plan::{self, Plan, PlanOptions};

fn props(text: &str) -> BTreeMap<String, String> {
    java_properties::read(text.as_bytes())
        .expect("valid Java properties")
        .into_iter()
        .collect()
}

fn inventory(version: &str, combined: bool, hosts: usize) -> String {
    let mut s = format!(
        "cluster: kr\ndefaults: {{ java_home: /usr/lib/jvm/java-17, java_version: \"17\" }}\ncomponents:\n  kafka:\n    version: \"{version}\"\n    mode: kraft\n    combined: {combined}\nhosts:\n"
    );
    for i in 1..=hosts {
        s.push_str(&format!(
            "  - {{ name: n{i}, address: 10.0.0.{i}, roles: [kafka-controller, kafka] }}\n"
        ));
    }
    s
}

/// Plans with the lock file written beside the inventory (like `up`).
fn plan_written(path: &std::path::Path) -> Plan {
    plan::plan(
        path,
        &PlanOptions {
            templates: None,
            locked: false,
            read_only: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(plan: &'a Plan, host: &str, suffix: &str) -> Option<&'a str> {
    plan.hosts
        .iter()
        .find(|h| h.name == host)?
        .files
        .iter()
        .find(|f| f.path.ends_with(suffix))
        .map(|f| f.content.as_str())
}

const LINES: &[&str] = &["3.3.2", "3.6.2", "3.9.0", "4.0.2"];

#[test]
fn dedicated_controllers_and_brokers_render_for_every_line() {
    for v in LINES {
        let (_d, path) = common::inventory(&inventory(v, false, 3));
        let plan = plan_written(&path);
        assert!(!plan.has_errors(), "{v}: {:?}", plan.diagnostics);
        let cid = plan.cluster_ids.get("kafka").expect("a cluster id").clone();
        assert_eq!(cid.len(), 22, "{v}: {cid}");
        assert!(stackctl::lock::valid_cluster_id(&cid));
        let voters = "9001@10.0.0.1:9093,9002@10.0.0.2:9093,9003@10.0.0.3:9093";
        for i in 1..=3 {
            let host = format!("n{i}");
            let c = props(file(&plan, &host, "/controller.properties").expect("controller file"));
            assert_eq!(c["process.roles"], "controller", "{v}");
            assert_eq!(c["node.id"], format!("900{i}"), "{v}");
            assert_eq!(c["controller.quorum.voters"], voters, "{v}");
            assert_eq!(c["controller.listener.names"], "CONTROLLER");
            assert_eq!(c["listeners"], format!("CONTROLLER://10.0.0.{i}:9093"));
            assert_eq!(c["listener.security.protocol.map"], "CONTROLLER:PLAINTEXT");
            assert_eq!(c["metadata.log.dir"], c["log.dirs"]);
            let b = props(file(&plan, &host, "/server.properties").expect("broker file"));
            assert_eq!(b["process.roles"], "broker", "{v}");
            assert_eq!(b["node.id"], i.to_string(), "{v}");
            assert_eq!(b["controller.quorum.voters"], voters);
            assert_eq!(b["listeners"], format!("PLAINTEXT://10.0.0.{i}:9092"));
            assert_eq!(b["advertised.listeners"], b["listeners"]);
            assert_eq!(b["inter.broker.listener.name"], "PLAINTEXT");
            assert_eq!(
                b["listener.security.protocol.map"],
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
            );
            assert_ne!(c["log.dirs"], b["log.dirs"], "one directory per process");
            assert_eq!(b["metadata.log.dir"], b["log.dirs"]);
            for p in [&b, &c] {
                assert!(
                    !p.keys()
                        .any(|k| k.starts_with("zookeeper.") || k == "broker.id"),
                    "{v}: no ZooKeeper-mode key: {p:?}"
                );
            }
            // Each process formats its own directories once, with the lock file's cluster id.
            for (role, conf) in [
                ("kafka-controller", "controller.properties"),
                ("kafka", "server.properties"),
            ] {
                let l = file(&plan, &host, &format!("/launch/{role}.sh")).expect("launcher");
                assert!(
                    l.contains(&format!(
                        "kafka.tools.StorageTool format --cluster-id {cid} --config"
                    )) && l.contains(conf),
                    "{v} {role}: {l}"
                );
            }
            // 4.0 logs through log4j 2, earlier lines through reload4j/log4j.
            let log4j2 = file(&plan, &host, "/log4j2.properties").is_some();
            assert_eq!(log4j2, v.starts_with('4'), "{v}");
        }
        // Controllers first, then brokers.
        let order: Vec<&str> = plan.stages.iter().map(|s| s.role.as_str()).collect();
        assert_eq!(order, ["kafka-controller", "kafka"], "{v}");
        assert!(plan.stages[0].wave < plan.stages[1].wave);
    }
}

#[test]
fn a_combined_node_is_one_process_named_by_its_broker_id() {
    let (_d, path) = common::inventory(&inventory("4.0.2", true, 3));
    let plan = plan_written(&path);
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert!(
        plan.diagnostics
            .iter()
            .any(|d| !d.is_error() && d.message.contains("combined nodes")),
        "a combined node is warned about: {:?}",
        plan.diagnostics
    );
    for (i, h) in plan.hosts.iter().enumerate() {
        let n = i + 1;
        assert!(file(&plan, &h.name, "/controller.properties").is_none());
        assert!(file(&plan, &h.name, "/launch/kafka.sh").is_none());
        assert!(file(&plan, &h.name, "/launch/kafka-controller.sh").is_some());
        let p = props(file(&plan, &h.name, "/server.properties").unwrap());
        assert_eq!(p["process.roles"], "broker,controller");
        assert_eq!(p["node.id"], n.to_string());
        assert_eq!(
            p["controller.quorum.voters"],
            "1@10.0.0.1:9093,2@10.0.0.2:9093,3@10.0.0.3:9093"
        );
        assert_eq!(
            p["listeners"],
            format!("PLAINTEXT://10.0.0.{n}:9092,CONTROLLER://10.0.0.{n}:9093")
        );
        assert_eq!(
            p["advertised.listeners"],
            format!("PLAINTEXT://10.0.0.{n}:9092")
        );
        assert!(!h.ids.contains_key("controller_id"), "{:?}", h.ids);
    }
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(&path)).unwrap();
    assert!(!lock.contains("controller_id"), "{lock}");
}

#[test]
fn the_cluster_id_is_generated_once_and_node_ids_are_never_renumbered() {
    let (_d, path) = common::inventory(&inventory("3.9.0", false, 3));
    let first = plan_written(&path);
    let cid = first.cluster_ids["kafka"].clone();
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(&path)).unwrap();
    assert!(
        lock.contains(&format!("cluster_ids:\n  kafka: {cid}")),
        "{lock}"
    );
    // Again: the same id. Then without n2: its ids are retired, the others keep theirs.
    assert_eq!(plan_written(&path).cluster_ids["kafka"], cid);
    let text = std::fs::read_to_string(&path).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.contains("name: n2"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    let second = plan_written(&path);
    assert_eq!(second.cluster_ids["kafka"], cid);
    let n3 = second.hosts.iter().find(|h| h.name == "n3").unwrap();
    assert_eq!(n3.ids["broker_id"], 3);
    assert_eq!(n3.ids["controller_id"], 9003);
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(&path)).unwrap();
    assert!(lock.contains("retired:\n      n2: 9002"), "{lock}");
    // n2 back under another name gets new ids, above every id used.
    std::fs::write(
        &path,
        format!(
            "{}  - {{ name: n4, address: 10.0.0.4, roles: [kafka-controller, kafka] }}\n",
            std::fs::read_to_string(&path).unwrap()
        ),
    )
    .unwrap();
    let third = plan_written(&path);
    let n4 = third.hosts.iter().find(|h| h.name == "n4").unwrap();
    assert_eq!((n4.ids["broker_id"], n4.ids["controller_id"]), (4, 9004));
}

#[test]
fn a_damaged_cluster_id_in_the_lock_file_is_refused_with_its_line() {
    let (_d, path) = common::inventory(&inventory("3.9.0", false, 1));
    plan_written(&path);
    let lp = stackctl::lock::lock_path(&path);
    let lock = std::fs::read_to_string(&lp).unwrap();
    let cid = plan_written(&path).cluster_ids["kafka"].clone();
    std::fs::write(&lp, lock.replace(&cid, "not-an-id")).unwrap();
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cluster_ids.kafka") && err.contains("`not-an-id` is not a cluster id"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn a_kafka_only_kraft_inventory_needs_no_zookeeper_and_even_controllers_are_warned() {
    let (_d, path) = common::inventory(&inventory("3.9.0", false, 4));
    let plan = plan_written(&path);
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    assert!(
        plan.diagnostics.iter().any(|d| d
            .message
            .contains("4 KRaft controllers tolerate 1 failure, the same as 3")),
        "{:?}",
        plan.diagnostics
    );
    assert!(plan.versions.iter().all(|v| v.component != "zookeeper"));
}

#[test]
fn brokers_and_controllers_on_their_own_hosts() {
    let text = "cluster: kr\ndefaults: { java_home: /usr/lib/jvm/java-17, java_version: \"17\" }\ncomponents:\n  kafka: { version: \"4.0.2\", controller_port: 19093 }\nhosts:\n  - { name: c1, address: 10.0.0.1, roles: [kafka-controller] }\n  - { name: b1, address: 10.0.0.2, roles: [kafka] }\n  - { name: b2, address: 10.0.0.3, roles: [kafka] }\n";
    let (_d, path) = common::inventory(text);
    let plan = plan_written(&path);
    assert!(!plan.has_errors(), "{:?}", plan.diagnostics);
    let c = props(file(&plan, "c1", "/controller.properties").unwrap());
    assert_eq!(c["controller.quorum.voters"], "9001@10.0.0.1:19093");
    assert!(file(&plan, "c1", "/server.properties").is_none());
    let b = props(file(&plan, "b2", "/server.properties").unwrap());
    assert_eq!(b["node.id"], "2");
    assert_eq!(b["controller.quorum.voters"], "9001@10.0.0.1:19093");
    assert_eq!(b["offsets.topic.replication.factor"], "2", "two brokers");
}

/// The properties files of one node of each line, dedicated and combined, pinned as snapshots.
#[test]
fn snapshots_of_the_kraft_properties_of_every_line() {
    for v in LINES {
        for combined in [false, true] {
            let (_d, path) = common::inventory(&inventory(v, combined, 3));
            let plan = plan_written(&path);
            let mut all = String::new();
            for suffix in ["/controller.properties", "/server.properties"] {
                if let Some(t) = file(&plan, "n1", suffix) {
                    all.push_str(&format!("===== n1 {suffix}\n{t}"));
                }
            }
            insta::assert_snapshot!(
                format!(
                    "kraft-{v}-{}",
                    if combined { "combined" } else { "dedicated" }
                ),
                all
            );
        }
    }
}

/// Preflight: a formatted node whose running file names other voters than the inventory now
/// gives (a controller added, removed or moved) is refused; an unformatted one, or the same
/// voters, is not.
#[test]
fn preflight_refuses_changing_the_voters_of_a_formatted_static_quorum() {
    use stackctl::components;
    let (_d, path) = common::inventory(&inventory("3.9.0", false, 3));
    plan_written(&path);
    let load = |p: &std::path::Path| plan::load_and_plan(p, &PlanOptions::default()).unwrap();
    let (inv, before) = load(&path);
    let old_file = file(&before, "n1", "/controller.properties")
        .unwrap()
        .to_string();
    // The inventory now has a fourth controller.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}  - {{ name: n4, address: 10.0.0.4, roles: [kafka-controller, kafka] }}\n"),
    )
    .unwrap();
    plan_written(&path);
    let (inv4, after) = load(&path);
    let kafka = components::find("kafka").unwrap();
    let facts = |formatted: bool, file: &str| {
        let mut f = stackctl::remote::facts::HostFacts::default();
        f.contents.insert(
            "/opt/stack/etc/kafka/controller.properties".into(),
            file.into(),
        );
        if formatted {
            f.contents.insert(
                "/data/stack/kafka-controller/meta.properties".into(),
                "node.id=9001\ncluster.id=x\n".into(),
            );
        }
        f
    };
    let ids4 = after.ids();
    let cl4 = stackctl::components::Cluster::new(&inv4, &ids4);
    let n1 = inv4.hosts.iter().find(|h| h.name == "n1").unwrap();
    let formatted = facts(true, &old_file);
    let problems = kafka.preflight(&cl4, &[(n1, &formatted)]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("n1: /opt/stack/etc/kafka/controller.properties has controller.quorum.voters=9001@10.0.0.1:9093,9002@10.0.0.2:9093,9003@10.0.0.3:9093")
            && problems[0].contains("9004@10.0.0.4:9093")
            && problems[0].contains("cannot change its voters"),
        "{problems:?}"
    );
    let fresh = facts(false, &old_file);
    assert!(
        kafka.preflight(&cl4, &[(n1, &fresh)]).is_empty(),
        "not formatted: nothing to protect"
    );
    let ids = before.ids();
    let cl = stackctl::components::Cluster::new(&inv, &ids);
    let n1 = inv.hosts.iter().find(|h| h.name == "n1").unwrap();
    assert!(
        kafka.preflight(&cl, &[(n1, &formatted)]).is_empty(),
        "the same voters"
    );
}
