//! `stackctl verify` on the test bed against real daemons, healthy and broken: ZooKeeper
//! followers, leaders and quorum loss; Kafka brokers, swapped jars, other JDKs; unreachable hosts.
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.
//! Every wait is a bounded number of short polls.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::bed::*;
use common::inv::Inventory;

/// ZooKeeper alone on all three hosts (`DIR/vzk.yml`), with `config` as its properties.
fn zk_inventory(dir: &Path, config: &[(&str, &str)]) -> PathBuf {
    let mut inv = Inventory::new("vzk")
        .ssh_user("root")
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .heap("128m");
    for (k, v) in config {
        inv = inv.config(k, *v);
    }
    inv.hosts(&HOSTS, &["zookeeper"]).write(dir)
}

/// Polls verify (at most `tries` times, half a second apart) until `done` says yes.
fn verify_until(
    inv: &Path,
    tries: usize,
    done: impl Fn(Option<i32>, &serde_json::Value) -> bool,
) -> (Option<i32>, serde_json::Value) {
    let mut last = verify(inv);
    for _ in 1..tries {
        if done(last.0, &last.1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        last = verify(inv);
    }
    last
}

/// The leader named by the quorum check ("leader host2; ...").
fn leader(report: &serde_json::Value) -> Option<String> {
    let (_, ev) = check(report, "cluster", "zookeeper", "quorum");
    ev.split("leader ")
        .nth(1)
        .map(|r| r.split(';').next().unwrap_or("").to_string())
        .filter(|l| l.starts_with("host"))
}

fn stop(host: &str, role: &str) {
    ssh_ok(host, &format!("/opt/stack/etc/launch/{role}.sh stop"));
}

fn up(inv: &Path) {
    let out = stackctl(&["up"], inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
#[ignore]
fn zookeeper_followers_leaders_and_lost_quorums_are_reported_and_up_heals_them() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = zk_inventory(dir.path(), &[]);
    up(&inv);
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    assert_eq!(r["ok"], true);
    let (st, ev) = check(&r, "cluster", "zookeeper", "quorum");
    assert!(
        st == "pass" && ev.contains("3 of 3 servers up; survives 1 more failure"),
        "{ev}"
    );
    let first_leader = leader(&r).expect("a leader");
    let follower = ["host1", "host2", "host3"]
        .into_iter()
        .find(|h| *h != first_leader)
        .unwrap();
    let (_, ev) = check(&r, follower, "zookeeper", "state");
    assert!(
        ev.starts_with("follower, zxid 0x") && ev.ends_with("version 3.5.6"),
        "{ev}"
    );

    // One follower down: the check fails, naming it; the quorum holds with no spare.
    stop(follower, "zookeeper");
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(1), "{}", failures(&r));
    let (st, ev) = check(&r, follower, "zookeeper", "state");
    assert_eq!(st, "fail", "{ev}");
    assert!(ev.contains("cannot connect"), "{ev}");
    let (st, ev) = check(&r, "cluster", "zookeeper", "quorum");
    assert!(
        st == "warn"
            && ev.contains("quorum holds")
            && ev.contains("2 of 3 servers up; survives 0 more failures"),
        "{st}: {ev}"
    );
    let (st, ev) = check(&r, "cluster", "zookeeper", "synced followers");
    assert!(
        st == "fail" && ev.contains("1 of 2 followers synced"),
        "{ev}"
    );
    let (st, _) = check(&r, follower, "zookeeper", "process");
    assert_eq!(st, "fail");

    // `up` starts it again and verify passes.
    up(&inv);
    let (code, r) = verify_until(&inv, 20, |c, _| c == Some(0));
    assert_eq!(code, Some(0), "{}", failures(&r));

    // The leader down: a new leader is elected and reported.
    stop(&first_leader, "zookeeper");
    let (_, r) = verify_until(&inv, 40, |_, r| {
        leader(r).is_some_and(|l| l != first_leader)
    });
    let new_leader = leader(&r).unwrap_or_else(|| panic!("no new leader: {}", failures(&r)));
    assert_ne!(new_leader, first_leader);
    let (_, ev) = check(&r, "cluster", "zookeeper", "quorum");
    assert!(ev.contains("survives 0 more failures"), "{ev}");
    let (st, _) = check(&r, &first_leader, "zookeeper", "state");
    assert_eq!(st, "fail");

    // Two of three down: the quorum is lost, and said so.
    stop(&new_leader, "zookeeper");
    let (code, r) = verify_until(&inv, 20, |_, r| {
        check(r, "cluster", "zookeeper", "quorum")
            .1
            .contains("quorum lost")
    });
    assert_eq!(code, Some(1));
    let (st, ev) = check(&r, "cluster", "zookeeper", "quorum");
    assert!(
        st == "fail" && ev.contains("quorum lost") && ev.contains("a majority needs 2"),
        "{ev}"
    );
    let survivor = ["host1", "host2", "host3"]
        .into_iter()
        .find(|h| *h != first_leader && *h != new_leader)
        .unwrap();
    let (st, ev) = check(&r, survivor, "zookeeper", "state");
    assert!(st == "fail" && ev.contains("not serving requests"), "{ev}");

    // `up` brings both back and verify passes again.
    up(&inv);
    let (code, r) = verify_until(&inv, 20, |c, _| c == Some(0));
    assert_eq!(code, Some(0), "{}", failures(&r));

    // A four-letter word the whitelist refuses is a failed check that says so, never a pass
    // (`srvr` is always allowed by ZooKeeper itself, so the quorum is still seen).
    let inv = zk_inventory(dir.path(), &[("4lw.commands.whitelist", "srvr,ruok,conf")]);
    up(&inv);
    let (code, r) = verify_until(&inv, 20, |_, r| {
        check(r, "cluster", "zookeeper", "quorum").0 == "pass"
    });
    assert_eq!(code, Some(1), "{}", failures(&r));
    let (st, ev) = check(&r, "cluster", "zookeeper", "synced followers");
    assert!(
        st == "fail" && ev.contains("mntr is not executed because it is not in the whitelist"),
        "{ev}"
    );
    // With the AdminServer on, `mntr` comes from its HTTP API instead.
    let inv = zk_inventory(
        dir.path(),
        &[
            ("4lw.commands.whitelist", "srvr,ruok,conf"),
            ("admin.enableServer", "true"),
            ("admin.serverPort", "8081"),
        ],
    );
    up(&inv);
    let (code, r) = verify_until(&inv, 20, |c, _| c == Some(0));
    assert_eq!(code, Some(0), "{}", failures(&r));
    let (_, ev) = check(&r, "cluster", "zookeeper", "synced followers");
    assert!(
        ev.ends_with("2 of 2 followers synced (AdminServer)"),
        "{ev}"
    );

    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
#[ignore]
fn kafka_brokers_swapped_jars_other_jdks_and_unreachable_hosts_are_reported() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let good_java = JDK11;
    let inv = inventory(dir.path(), &[], good_java);
    up(&inv);
    let started = Instant::now();
    let (code, r) = verify(&inv);
    eprintln!(
        "verify on a healthy 3-host ZooKeeper+Kafka cluster: {:.2}s (report: {}s)",
        started.elapsed().as_secs_f64(),
        r["seconds"]
    );
    assert_eq!(code, Some(0), "{}", failures(&r));
    for h in ["host1", "host2", "host3"] {
        let (st, ev) = check(&r, h, "kafka", "metadata");
        assert!(
            st == "pass" && ev.starts_with("lists brokers 1, 2, 3, controller "),
            "{ev}"
        );
        let (st, ev) = check(&r, h, "kafka", "installed");
        assert!(
            st == "pass" && ev.contains("kafka 2.4.0 with zookeeper-client 3.5.6"),
            "{ev}"
        );
        let (st, ev) = check(&r, h, "kafka", "zookeeper.connect");
        assert!(st == "pass" && ev.contains("(this ensemble)"), "{ev}");
    }
    let (st, ev) = check(&r, "host2", "kafka", "registered");
    assert!(
        st == "pass" && ev == "broker 2 at PLAINTEXT://10.231.77.12:9092",
        "{ev}"
    );
    assert_eq!(check(&r, "cluster", "kafka", "controller").0, "pass");

    // host2's Kafka gets ZooKeeper 3.4.14's client jar in place of the 3.5.6 it shipped with.
    let jar = std::process::Command::new("tar")
        .args(["xzf"])
        .arg(cache().join("zookeeper-3.4.14.tar.gz"))
        .args(["-O", "zookeeper-3.4.14/zookeeper-3.4.14.jar"])
        .output()
        .unwrap()
        .stdout;
    assert!(jar.len() > 100_000, "the 3.4.14 jar from the cache");
    std::fs::write(dir.path().join("zk.jar"), &jar).unwrap();
    let libs = "/opt/stack/kafka_2.12-2.4.0/libs";
    ssh_ok(
        "host2",
        &format!("mv {libs}/zookeeper-3.5.6.jar /tmp/zookeeper-3.5.6.jar.keep"),
    );
    let st = std::process::Command::new("scp")
        .args(["-q", "-F"])
        .arg(bed().join("ssh_config"))
        .arg(dir.path().join("zk.jar"))
        .arg(format!("host2:{libs}/zookeeper-3.4.14.jar"))
        .status()
        .unwrap();
    assert!(st.success());
    let (code, r) = verify(&inv);
    ssh_ok("host2", &format!("rm -f {libs}/zookeeper-3.4.14.jar; mv /tmp/zookeeper-3.5.6.jar.keep {libs}/zookeeper-3.5.6.jar"));
    assert_eq!(code, Some(1), "{}", failures(&r));
    let (st, ev) = check(&r, "host2", "kafka", "bundled jars");
    assert!(
        st == "fail"
            && ev.contains("zookeeper-client jar is 3.4.14")
            && ev.contains("3.5.6 on host1, host3"),
        "{ev}"
    );
    assert_eq!(verify(&inv).0, Some(0), "the jar is back");

    // The inventory now says host2 runs on JDK 17, but its services still run on 11.
    let inv17 = inventory(dir.path(), &[], "/usr/lib/jvm/java-17-openjdk-amd64");
    let (code, r) = verify(&inv17);
    assert_eq!(code, Some(1), "{}", failures(&r));
    for role in ["zookeeper", "kafka"] {
        let (st, ev) = check(&r, "host2", role, "process");
        assert!(
            st == "fail" && ev.contains("runs on Java 11.0") && ev.contains("is Java 17"),
            "{ev}"
        );
    }
    assert_eq!(check(&r, "host1", "kafka", "process").0, "pass");
    let inv = inventory(dir.path(), &[], good_java);

    // A broker down is reported by name, by the registry and by the other brokers.
    stop("host3", "kafka");
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(1), "{}", failures(&r));
    let (st, ev) = check(&r, "host3", "kafka", "registered");
    assert!(
        st == "fail" && ev.contains("broker 3 is not registered"),
        "{ev}"
    );
    let (st, ev) = check(&r, "host1", "kafka", "metadata");
    assert!(st == "fail" && ev.contains("missing 3 (host3)"), "{ev}");
    assert_eq!(check(&r, "host3", "kafka", "process").0, "fail");

    // A host that cannot be reached: exit 3, naming it.
    let gone = unreachable_inventory(dir.path());
    let (code, r) = verify(&gone);
    assert_eq!(code, Some(3), "{r:#}");
    assert_eq!(r["unreachable"][0][0], "ghost", "{r:#}");
    assert!(
        inv.with_extension("yml.lock").exists(),
        "the probe sees the lock file `up` wrote for {}",
        inv.display()
    );
    assert!(
        !gone.with_extension("yml.lock").exists(),
        "verify never writes a lock file"
    );

    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A lone ZooKeeper server runs standalone (3.5+ with `standaloneEnabled` at its default), and
/// its `conf` lists no `server.` lines: verify must not call that an ensemble mismatch.
#[test]
#[ignore]
fn a_single_zookeeper_server_runs_standalone_and_verifies() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = zk_alone("vzk1")
        .hosts(&HOSTS[..1], &["zookeeper"])
        .write(dir.path());
    up(&inv);
    let (code, report) = verify_until(&inv, 20, |c, _| c == Some(0));
    let (status, ev) = check(&report, "cluster", "zookeeper", "quorum");
    assert_eq!(code, Some(0), "{}", failures(&report));
    assert_eq!(status, "pass", "{ev}");
    assert!(ev.contains("standalone"), "{ev}");
    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
