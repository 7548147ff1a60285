//! Validation stays near-linear in the number of hosts. 5,000 hosts with roles [zookeeper, kafka]
//! used to take 15 s in a release build (20,000: 270 s) in the per-host port check, where each
//! broker rebuilt the ZooKeeper connect string and with it every server's zoo.cfg properties;
//! the lock resolver scanned every host for each new id, and each diagnostic of the report
//! walked the inventory's lines up to its own. `benches/validate-20000.sh` measures it; the
//! bounds here are generous, for a loaded debug build (about 3 s each today): what they catch
//! is a return to quadratic work, which takes minutes.

mod common;

use std::time::{Duration, Instant};

fn hosts(n: usize, roles: impl Fn(usize) -> &'static str) -> String {
    let mut s = String::from(
        "cluster: big\ndefaults: { java_home: /usr/lib/jvm/java-11, java_version: \"11\" }\ncomponents:\n  zookeeper: { version: \"3.8.4\" }\n  kafka: { version: \"3.6.2\", scala: \"2.13\", mode: zookeeper }\nhosts:\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  - {{ name: host{i:05}, address: 10.{}.{}.{}, roles: [{}] }}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256,
            roles(i)
        ));
    }
    s
}

#[test]
fn validating_5000_zookeeper_and_kafka_hosts_is_not_quadratic() {
    let (_d, path) = common::inventory(&hosts(5_000, |_| "zookeeper, kafka"));
    let t0 = Instant::now();
    let err = stackctl::inventory::load(&path, stackctl::components::catalog())
        .err()
        .expect("more than 255 ZooKeeper servers is refused");
    let took = t0.elapsed();
    let text = err.to_string();
    assert!(
        text.contains("5000 ZooKeeper servers: a quorum this large cannot elect a leader"),
        "{text}"
    );
    assert!(took < Duration::from_secs(30), "validation took {took:?}");
}

#[test]
fn assigning_ids_to_5000_brokers_is_not_quadratic() {
    let (_d, path) = common::inventory(&hosts(5_000, |i| {
        if i < 3 {
            "zookeeper, kafka"
        } else {
            "kafka"
        }
    }));
    let t0 = Instant::now();
    let err = match stackctl::plan::plan(&path, &stackctl::plan::PlanOptions::default()) {
        Err(stackctl::plan::PlanError::Invalid(e)) => e,
        other => panic!(
            "expected broker.ids to run out, got {:?}",
            other.map(|_| ())
        ),
    };
    let text = err.to_string();
    let took = t0.elapsed();
    let tail = &text[text.len().saturating_sub(200)..];
    assert!(
        text.ends_with(&format!("4000 errors in {}", path.display())),
        "{tail}"
    );
    assert!(
        text.contains("no broker.id left for `host01000`: the next free id 1001 is above 1000"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(
        took < Duration::from_secs(30),
        "validation and ids took {took:?}"
    );
}
