//! The KRaft wire calls against a real combined-mode server on loopback (not the test bed):
//! ApiVersions v3, DescribeQuorum on the broker and the controller listener, Metadata v4 with
//! its v1 fallback, and the smoke requests (CreateTopics v2, Produce v3, Fetch v4,
//! DeleteTopics v1). Ignored: start a server first (tests/fixtures/kafka_wire/README.md), then
//! `STACKCTL_KRAFT_BROKER=127.0.0.1:19092 STACKCTL_KRAFT_CONTROLLER=127.0.0.1:19093
//!  cargo test --test e2e_kraft_wire -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use stackctl::remote::kafka_wire::{self as wire, Client};

const T: Duration = Duration::from_secs(5);

fn addr(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

#[test]
#[ignore]
fn kraft_wire_against_a_live_server() {
    let broker = addr("STACKCTL_KRAFT_BROKER", "127.0.0.1:19092");
    let controller = addr("STACKCTL_KRAFT_CONTROLLER", "127.0.0.1:19093");
    for (what, a) in [("broker", &broker), ("controller", &controller)] {
        let v = wire::api_versions(a, T).unwrap();
        let level = v.metadata_version();
        println!(
            "{what} {a}: ApiVersions v{}, metadata.version {level:?} = {:?}, finalized {:?}",
            v.version,
            level.and_then(wire::metadata_version_name),
            v.finalized
        );
        for (key, name) in [
            (0, "Produce"),
            (1, "Fetch"),
            (3, "Metadata"),
            (18, "ApiVersions"),
            (19, "CreateTopics"),
            (20, "DeleteTopics"),
            (55, "DescribeQuorum"),
        ] {
            println!("  {name} ({key}): {:?}", v.range(key));
        }
        let q = wire::describe_quorum(a, T).unwrap();
        println!("  quorum: {q:?}");
        assert!(q.leader >= 0 && !q.voters.is_empty());
        for r in &q.voters {
            assert_eq!(q.lag(r.id), Some(0), "{q:?}");
        }
    }
    let m = wire::metadata(&broker, T).unwrap();
    println!("metadata (auto): {m:?}");
    assert!(m.cluster_id.is_some());
    if let Ok(want) = std::env::var("STACKCTL_KRAFT_CLUSTER_ID") {
        assert_eq!(m.cluster_id.as_deref(), Some(want.as_str()));
    }
    let m1 = wire::metadata_v(&broker, T, false, 1);
    println!("metadata v1: {m1:?}");
    // Kafka 4.x (KIP-896) has no Metadata v1: it closes the connection, unanswered.
    if let Err(e) = &m1 {
        assert!(wire::closed_unanswered(e), "{e:#}");
    }
    // A controller listener closes the connection on Metadata (not one of its APIs).
    let e = wire::metadata_v(&controller, T, false, 4).unwrap_err();
    assert!(wire::closed_unanswered(&e), "{e:#}");

    // The smoke round trip at the versions verify --smoke sends.
    let topic = format!("stackctl-wire-{}", std::process::id());
    let mut c = Client::connect(&broker, T).unwrap();
    let r = wire::parse_create_topics(
        &c.call(
            wire::API_CREATE_TOPICS,
            2,
            &wire::create_topics_body(&topic, &[vec![m.brokers[0].id]], 5000),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(r[0].1, 0, "{r:?}");
    let batch = wire::record_batch(b"hello kraft", 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    let offset = loop {
        let p = wire::parse_produce(
            &c.call(
                wire::API_PRODUCE,
                3,
                &wire::produce_body(&topic, 0, -1, 3000, &batch),
            )
            .unwrap(),
        )
        .unwrap();
        match p[0].2 {
            0 => break p[0].3,
            code if wire::retriable(code) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            code => panic!("produce: {}", wire::error_text(code)),
        }
    };
    let f = wire::parse_fetch(
        &c.call(
            wire::API_FETCH,
            4,
            &wire::fetch_body(&topic, 0, offset, 500),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(f[0].records[0].value.as_deref(), Some(&b"hello kraft"[..]));
    let named = c.metadata(&[&topic]).unwrap();
    assert_eq!(named.partitions.len(), 1, "{named:?}");
    let d = wire::parse_delete_topics(
        &c.call(
            wire::API_DELETE_TOPICS,
            1,
            &wire::delete_topics_body(&[&topic], 5000),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(d[0].1, 0, "{d:?}");
    println!("smoke: created, produced at {offset}, fetched, deleted {topic}");
}

/// What every node of a quorum answers to DescribeQuorum (STACKCTL_KRAFT_NODES: a comma
/// list of host:port, controllers' and brokers' listeners): the leader answers it, another
/// controller NOT_LEADER_OR_FOLLOWER, a broker what the active controller says.
#[test]
#[ignore]
fn describe_quorum_on_every_node() {
    let nodes = std::env::var("STACKCTL_KRAFT_NODES").unwrap_or_default();
    for a in nodes.split(',').filter(|a| !a.is_empty()) {
        match wire::describe_quorum(a, T) {
            Ok(q) => {
                let lags: Vec<_> = q
                    .voters
                    .iter()
                    .chain(&q.observers)
                    .map(|r| (r.id, q.lag(r.id)))
                    .collect();
                println!("{a}: {q:?}\n  lags {lags:?}")
            }
            Err(e) => println!("{a}: {e:#}"),
        }
    }
}
