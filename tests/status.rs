//! `status` from fixtures, without SSH: what the facts of each host and the components' role
//! probes make of every service instance (up, degraded, down, unreachable), its id, version,
//! uptime and data size, and the exit code.

use std::collections::BTreeMap;
use std::path::Path;

use stackctl::components::{Cluster, RoleState};
use stackctl::plan::{load_and_plan, PlanOptions};
use stackctl::remote::facts::HostFacts;
use stackctl::status::{instances, State, StatusReport};

fn facts_running(roles: &[(&str, u32, u64)], ports: &[u16], jars: &[(&str, &[&str])]) -> HostFacts {
    let mut f = HostFacts {
        complete: true,
        ..Default::default()
    };
    for (role, pid, since) in roles {
        f.running.insert(role.to_string(), *pid);
        f.since.insert(role.to_string(), *since);
    }
    f.listening.extend(ports.iter().copied());
    for (dir, files) in jars {
        f.jars.insert(
            dir.to_string(),
            files.iter().map(|s| s.to_string()).collect(),
        );
    }
    f
}

#[test]
fn every_instance_is_up_degraded_down_or_unreachable_with_its_id_version_and_data() {
    let inv_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories/kafka-3node.yml");
    let (inv, plan) = load_and_plan(
        &inv_path,
        &PlanOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let zk_home = "/opt/stack/apache-zookeeper-3.8.4-bin";
    let kafka_home = "/opt/stack/kafka_2.13-3.6.2";
    let jars: &[(&str, &[&str])] = &[
        (
            zk_home,
            &["apache-zookeeper-3.8.4-bin/lib/zookeeper-3.8.4.jar"],
        ),
        (
            kafka_home,
            &[
                "kafka_2.13-3.6.2/libs/kafka_2.13-3.6.2.jar",
                "kafka_2.13-3.6.2/libs/zookeeper-3.8.3.jar",
            ],
        ),
    ];
    let mut k1 = facts_running(
        &[("zookeeper", 101, 3725), ("kafka", 102, 3600)],
        &[2181, 9092],
        jars,
    );
    k1.du_kb.insert("/data/stack/kafka".into(), 2048);
    k1.disk_kb.insert("/data/stack/kafka".into(), (1000, 431));
    // kafka2: ZooKeeper runs; the broker runs but does not listen yet.
    let k2 = facts_running(&[("zookeeper", 201, 50), ("kafka", 202, 3)], &[2181], jars);
    let mut facts = BTreeMap::new();
    facts.insert("kafka1".to_string(), Ok(k1));
    facts.insert("kafka2".to_string(), Ok(k2));
    facts.insert(
        "kafka3".to_string(),
        Err("ssh: connect to host 10.30.0.3 port 22: Connection timed out".to_string()),
    );
    let states = vec![
        RoleState::ok("kafka1", "zookeeper", "leader"),
        RoleState::ok("kafka2", "zookeeper", "follower"),
        RoleState::ok("kafka1", "kafka", "controller"),
        RoleState::degraded("kafka2", "kafka", "broker 2 is not registered"),
    ];
    let hosts: Vec<_> = inv.hosts.iter().collect();
    let got = instances(&inv, &cl, &hosts, &facts, &states);
    let find = |h: &str, r: &str| {
        got.iter()
            .find(|i| i.host == h && i.role == r)
            .unwrap_or_else(|| panic!("{h} {r} in {got:#?}"))
    };
    assert_eq!(got.len(), 6, "{got:#?}");
    let zk1 = find("kafka1", "zookeeper");
    assert_eq!(zk1.status, State::Up);
    assert_eq!(zk1.role_state.as_deref(), Some("leader"));
    assert_eq!(zk1.id.as_deref(), Some("myid=1"));
    assert_eq!(zk1.port, Some(2181));
    assert_eq!(zk1.version.as_deref(), Some("3.8.4"));
    assert_eq!(zk1.uptime_seconds, Some(3725));
    let b1 = find("kafka1", "kafka");
    assert_eq!(b1.status, State::Up);
    assert_eq!(b1.role_state.as_deref(), Some("controller"));
    assert_eq!(b1.id.as_deref(), Some("broker.id=1"));
    assert_eq!(b1.version.as_deref(), Some("3.6.2"));
    let d = b1
        .data_dirs
        .iter()
        .find(|d| d.path == "/data/stack/kafka")
        .unwrap_or_else(|| panic!("{b1:#?}"));
    assert_eq!((d.kib, d.fs_used_percent), (Some(2048), Some(44)));
    // Not listening on its port: degraded, saying so (the port is checked before the probe).
    let b2 = find("kafka2", "kafka");
    assert_eq!(b2.status, State::Degraded);
    assert!(
        b2.note
            .as_deref()
            .unwrap()
            .contains("port 9092 is not listening"),
        "{b2:#?}"
    );
    let u = find("kafka3", "kafka");
    assert_eq!(u.status, State::Unreachable);
    assert!(u.note.as_deref().unwrap().contains("Connection timed out"));
    let report = StatusReport {
        cluster: inv.cluster.clone(),
        instances: got.clone(),
        seconds: 0.1,
    };
    assert_eq!(report.exit_code(), 3, "a host unreachable");
    // The broker listening, but the probe says it is not registered: degraded by the probe.
    facts
        .get_mut("kafka2")
        .unwrap()
        .as_mut()
        .unwrap()
        .listening
        .insert(9092);
    facts.remove("kafka3");
    let two: Vec<_> = inv.hosts.iter().take(2).collect();
    let got = instances(&inv, &cl, &two, &facts, &states);
    let b2 = got
        .iter()
        .find(|i| i.host == "kafka2" && i.role == "kafka")
        .unwrap();
    assert_eq!(b2.status, State::Degraded);
    assert_eq!(b2.note.as_deref(), Some("broker 2 is not registered"));
    let report = StatusReport {
        cluster: inv.cluster.clone(),
        instances: got,
        seconds: 0.1,
    };
    assert_eq!(report.exit_code(), 1, "one degraded");
    // A stopped service is down.
    let mut k2 = facts_running(&[("zookeeper", 201, 50)], &[2181], jars);
    k2.running.remove("kafka");
    facts.insert("kafka2".into(), Ok(k2));
    let got = instances(&inv, &cl, &two, &facts, &states);
    let b2 = got
        .iter()
        .find(|i| i.host == "kafka2" && i.role == "kafka")
        .unwrap();
    assert_eq!(b2.status, State::Down);
    assert!(
        b2.note.as_deref().unwrap().contains("not running"),
        "{b2:#?}"
    );
    assert_eq!(b2.pid, None);
}
