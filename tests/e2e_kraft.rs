//! Kafka without ZooKeeper (KRaft) on the test bed, from empty hosts, with real JVMs:
//! - Kafka 3.9.2 with three dedicated controllers and three brokers on three hosts (six JVMs);
//! - Kafka 4.0.2 with three combined nodes (broker and controller in one JVM).
//!
//! Each: `up` (controllers first, each log directory formatted once with the lock file's
//! cluster id), `verify` and `verify --smoke`, a no-op `up`, a changed broker property rolled one
//! node at a time while an idempotent acks=all producer writes (tests/testbed/KafkaLoad.java
//! records every acknowledged write; all are read back: none lost), then `down`/`up` keeps every
//! byte and every directory's format (same `directory.id`, never reformatted). The 3.9.2 test
//! then refuses, in preflight, a log directory formatted with another cluster id.
//! Needs a running bed (`tests/testbed/testbed.sh up 3`) and the tarballs from dists.sh
//! (`--kafka 2.13-3.9.2`, `--kafka 2.13-4.0.2`); run by tests/testbed/run-e2e.sh.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::bed::*;
use common::inv::Inventory;
use common::load::Load;

const JDK17: &str = "/usr/lib/jvm/java-17-openjdk-amd64";
const BOOTSTRAP: &str = "10.231.77.11:9092,10.231.77.12:9092,10.231.77.13:9092";
const TOPIC: &str = "kraft-rolling";
const WORK: &str = "/tmp/e2e-kraft";

fn kraft(cluster: &str, version: &str, combined: bool) -> Inventory {
    kraft_on(cluster, version, combined, 3)
}

/// [`kraft`] with controllers on the first `controllers` hosts only (a broker on every host).
fn kraft_on(cluster: &str, version: &str, combined: bool, controllers: usize) -> Inventory {
    let both: &[&str] = &["kafka-controller", "kafka"];
    let broker: &[&str] = &["kafka"];
    let mut inv = Inventory::new(cluster)
        .ssh_user("root")
        .java_home(JDK17)
        .java_version("17")
        .component("kafka", version)
        .scala("2.13")
        .archive(cache().join(format!("kafka_2.13-{version}.tgz")))
        .heap("256m")
        .setting("mode", "kraft")
        .setting("combined", if combined { "true" } else { "false" })
        .setting("controller_heap", "160m")
        .setting("max_open_files", BED_MAX_OPEN_FILES);
    for (i, (h, a)) in HOSTS.iter().enumerate() {
        inv = inv.host(h, a, if i < controllers { both } else { broker });
    }
    inv
}

fn lock_cluster_id(inv: &Path) -> String {
    let lock = std::fs::read_to_string(stackctl::lock::lock_path(inv)).unwrap();
    lock.lines()
        .find_map(|l| l.trim().strip_prefix("kafka: "))
        .unwrap_or_else(|| panic!("no kafka cluster id in {lock}"))
        .trim()
        .to_string()
}

/// `meta.properties` of `dir` on `host`, as key=value.
fn meta(host: &str, dir: &str) -> BTreeMap<String, String> {
    common::load::key_values(&ssh_ok(host, &format!("cat {dir}/meta.properties")))
}

/// The directories each host's processes formatted: (host, dir, node.id).
fn formatted(combined: bool) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (i, (h, _)) in HOSTS.iter().enumerate() {
        out.push((*h, "/data/stack/kafka".to_string(), (i + 1).to_string()));
        if !combined {
            out.push((
                *h,
                "/data/stack/kafka-controller".to_string(),
                format!("900{}", i + 1),
            ));
        }
    }
    out
}

fn restarted(out: &std::process::Output) -> Vec<String> {
    summary(out)["summary"]["restarted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The `restart` events of `up --json` in order: (host, detail).
fn restart_events(out: &std::process::Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "restart")
        .map(|v| {
            (
                v["host"].as_str().unwrap_or_default().to_string(),
                v["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The whole life of one KRaft cluster on the bed; `roll_role` is the role whose processes a
/// broker property restarts (a combined node starts with the controllers).
fn life(version: &str, combined: bool) {
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let cluster = if combined { "kraft-combined" } else { "kraft" };
    let inv = kraft(cluster, version, combined).write(dir.path());

    // Up from empty: controllers first, then brokers.
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    let first_controller = log
        .find("\"Kafka controller")
        .or_else(|| log.find("kafka-controller on"));
    let first_broker = log
        .find("\"Kafka broker:")
        .or_else(|| log.find("\"kafka on"));
    if !combined {
        assert!(
            first_controller.is_some() && first_broker.is_some() && first_controller < first_broker,
            "controllers healthy before brokers start:\n{log}"
        );
    }
    let cid = lock_cluster_id(&inv);
    let dirs = formatted(combined);
    let mut directory_ids = BTreeMap::new();
    for (h, d, id) in &dirs {
        let m = meta(h, d);
        assert_eq!(m.get("cluster.id"), Some(&cid), "{h} {d}: {m:?}");
        assert_eq!(m.get("node.id"), Some(id), "{h} {d}: {m:?}");
        directory_ids.insert(format!("{h}:{d}"), m.get("directory.id").cloned());
    }

    // verify: the quorum, the brokers, the cluster id, the format, metadata.version.
    let (code, report) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&report));
    // status: every process up; one quorum leader, the other controllers voters; every
    // broker unfenced (a combined node is both: "leader+broker", "voter+broker").
    let (code, st) = status_until_up(&inv);
    assert_eq!(code, Some(0), "{st:#}");
    let ctl = role_states(&st, "kafka-controller");
    assert_eq!(ctl.len(), 3, "{st:#}");
    let suffix = if combined { "+broker" } else { "" };
    assert_eq!(
        ctl.iter()
            .filter(|(_, s)| *s == format!("leader{suffix}"))
            .count(),
        1,
        "{st:#}"
    );
    assert_eq!(
        ctl.iter()
            .filter(|(_, s)| *s == format!("voter{suffix}"))
            .count(),
        2,
        "{st:#}"
    );
    if !combined {
        let b = role_states(&st, "kafka");
        assert!(
            b.len() == 3 && b.iter().all(|(_, s)| s == "broker"),
            "{st:#}"
        );
    }
    let (st, ev) = check(&report, "cluster", "kafka-controller", "quorum");
    assert!(
        st == "pass" && ev.contains("3 voters (tolerates 1 failure)"),
        "{ev}"
    );
    for (h, _) in HOSTS {
        let (st, ev) = check(&report, h, "kafka-controller", "voter");
        assert_eq!(st, "pass", "{h}: {ev}");
        let (st, ev) = check(&report, h, "kafka", "registered");
        assert!(
            st == "pass" && ev.contains("lists unfenced brokers 1, 2, 3"),
            "{h}: {ev}"
        );
        let (st, ev) = check(&report, h, "kafka", "cluster id");
        assert!(st == "pass" && ev.contains(&cid), "{h}: {ev}");
    }
    for (h, _) in HOSTS {
        let mut roles = vec![if combined {
            "kafka-controller"
        } else {
            "kafka"
        }];
        if !combined {
            roles.push("kafka-controller");
        }
        for role in roles {
            let (st, ev) = check(&report, h, role, "version");
            let line = &version[..3];
            assert!(
                st == "pass" && ev.contains(&format!("runs a Kafka {line} release")),
                "{h} {role}: {ev}"
            );
        }
    }
    let (st, ev) = check(&report, "cluster", "kafka", "metadata.version");
    assert_eq!(st, "pass", "{ev}");
    println!(
        "verify: quorum {}",
        check(&report, "cluster", "kafka-controller", "quorum").1
    );
    println!("verify: metadata.version {ev}");

    let smoke = std::process::Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["verify", "--smoke", "--json", "-i"])
        .arg(&inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(smoke.status.code(), Some(0), "{}", text(&smoke));

    // A second up changes nothing.
    assert_no_op(&stackctl(&["up", "--json"], &inv));

    // A daemon killed hard: verify fails on its host and role, `up` starts it again.
    if !combined {
        for role in ["kafka", "kafka-controller"] {
            let pid = ssh_ok("host2", &format!("cat /data/stack/run/{role}.pid"));
            ssh_ok("host2", &format!("kill -9 {}", pid.trim()));
            let (code, report) = verify(&inv);
            assert_eq!(code, Some(1), "{}", failures(&report));
            let failed = failures(&report);
            assert!(
                failed.contains(&format!("\"host2\" \"{role}\"")),
                "killed {role} on host2: {failed}"
            );
            println!("killed {role} on host2: verify fails with\n{failed}");
            let out = stackctl(&["up", "--json"], &inv);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            let started = summary(&out)["summary"]["started"].clone();
            assert_eq!(
                started,
                serde_json::json!([format!("{role} on host2")]),
                "{started}"
            );
            // A restarted voter can cost one election under a loaded machine (the leader's
            // fetch timeout is 2 s): verify passes within a bounded number of tries.
            let (code, report) = verify_settled(&inv);
            assert_eq!(code, Some(0), "{}", failures(&report));
        }
    }

    // A broker property rolled under acks=all load: nothing acknowledged is lost.
    let load = Load::install("host1", WORK, BOOTSTRAP);
    load.create(TOPIC, 6);
    let mut producer = load.start_producer(TOPIC, 300, 300);
    load.wait_acked(1000, Duration::from_secs(120));
    let changed = kraft(cluster, version, combined)
        .config("num.network.threads", "4")
        .write(dir.path());
    let t0 = std::time::Instant::now();
    let out = stackctl(&["up", "--json"], &changed);
    let roll_secs = t0.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let role = if combined {
        "kafka-controller"
    } else {
        "kafka"
    };
    let r = restarted(&out);
    assert_eq!(r.len(), 3, "three processes restarted: {r:?}");
    assert!(
        r.iter().all(|x| x.starts_with(&format!("{role} on "))),
        "{r:?}"
    );
    let events = restart_events(&out);
    println!(
        "roll of {version} ({}): {roll_secs:.1} s, order {events:?}",
        if combined { "combined" } else { "dedicated" }
    );
    // Dedicated controllers: a controller property rolled one at a time, the quorum leader
    // last, the brokers untouched, the producer still writing.
    let changed = if combined {
        changed
    } else {
        let leader = quorum_leader();
        let inv = kraft(cluster, version, combined)
            .config("num.network.threads", "4")
            .map("controller_config", "metadata.max.idle.interval.ms", "400")
            .write(dir.path());
        let out = stackctl(&["up", "--json"], &inv);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let r = restarted(&out);
        let leader_host = HOSTS[(leader - 9001) as usize].0;
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(
            r.iter().all(|x| x.starts_with("kafka-controller on ")),
            "{r:?}"
        );
        // The leader stackctl saw when it ordered the roll goes last. Under the bed's CPU load
        // a quorum may elect another leader between this test's look and stackctl's (a
        // fetch timeout of 2 s): then the order is that leader's, which the test cannot see.
        let last = r.last().unwrap();
        if last != &format!("kafka-controller on {leader_host}") {
            println!("NOTE: the leader moved before the roll: {leader} ({leader_host}) was not last in {r:?}");
        }
        println!("controller roll: leader before {leader} ({leader_host}), order {r:?}");
        inv
    };
    std::thread::sleep(Duration::from_secs(5));
    let p = producer.stop();
    let c = load.check(TOPIC);
    println!("producer {p:?}");
    println!("check {c:?}");
    assert_eq!(p.get("failed").map(String::as_str), Some("0"), "{p:?}");
    assert_eq!(c.get("missing").map(String::as_str), Some("0"), "{c:?}");
    assert_eq!(c.get("acked"), p.get("acked"), "{c:?} {p:?}");
    assert!(c["acked"].parse::<u64>().unwrap() >= 1000);

    // down, up: the data stays, no directory is formatted again.
    let out = stackctl(&["down"], &changed);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = stackctl(&["up", "--json"], &changed);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Every init event says the directories were formatted before: none is formatted again.
    let inits: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "init")
        .map(|v| v["detail"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !inits.is_empty() && inits.iter().all(|d| d.ends_with("already initialised")),
        "no format after a restart: {inits:?}"
    );
    for (h, d, _) in &dirs {
        let m = meta(h, d);
        assert_eq!(m.get("cluster.id"), Some(&cid), "{h} {d}");
        assert_eq!(
            Some(m.get("directory.id").cloned()),
            directory_ids.get(&format!("{h}:{d}")).cloned(),
            "{h} {d}: the same directory.id, never reformatted"
        );
    }
    let c = load.check(TOPIC);
    assert_eq!(
        c.get("missing").map(String::as_str),
        Some("0"),
        "after down/up: {c:?}"
    );
    let (code, report) = verify(&changed);
    assert_eq!(code, Some(0), "{}", failures(&report));

    if !combined {
        refuses_a_directory_of_another_cluster(&changed, &cid);
        // A controller removed from the inventory: a static quorum cannot change its voters.
        let fewer = kraft_on(cluster, version, combined, 2)
            .config("num.network.threads", "4")
            .map("controller_config", "metadata.max.idle.interval.ms", "400")
            .write(dir.path());
        let out = stackctl(&["up", "--json"], &fewer);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(3), "{t}");
        assert!(
            t.contains("a static KRaft quorum cannot change its voters"),
            "{t}"
        );
        // Back to the three controllers (the same file: the lock file gives host3 its retired
        // id back): nothing changes.
        let back = kraft(cluster, version, combined)
            .config("num.network.threads", "4")
            .map("controller_config", "metadata.max.idle.interval.ms", "400")
            .write(dir.path());
        assert_eq!(back, changed);
        assert_no_op(&stackctl(&["up", "--json"], &back));
    }
    let out = stackctl(&["down", "--purge", "--yes"], &changed);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// The metadata quorum's leader, asked of each controller in turn.
fn quorum_leader() -> u64 {
    for (_, addr) in HOSTS {
        if let Ok(q) = stackctl::remote::kafka_wire::describe_quorum(
            &format!("{addr}:9093"),
            Duration::from_secs(5),
        ) {
            assert!(q.leader >= 0, "{q:?}");
            return q.leader as u64;
        }
    }
    panic!("no controller answered DescribeQuorum");
}

/// A broker's log directory formatted with another cluster id: `up` refuses it in preflight,
/// naming the host, the file and both identities, and starts nothing.
fn refuses_a_directory_of_another_cluster(inv: &PathBuf, cid: &str) {
    let out = stackctl(&["down"], inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let other = "AAAAAAAAAAAAAAAAAAAAAA";
    ssh_ok(
        "host2",
        &format!(
            "sed -i.orig 's/^cluster.id=.*/cluster.id={other}/' /data/stack/kafka/meta.properties"
        ),
    );
    let out = stackctl(&["up", "--json"], inv);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("host2")
            && t.contains("/data/stack/kafka/meta.properties")
            && t.contains(&format!("of cluster {other}"))
            && t.contains(&format!("of cluster {cid}"))
            && t.contains("refusing to start a server under another identity"),
        "{t}"
    );
    for (h, _) in HOSTS {
        assert!(
            java_pids(h).is_empty(),
            "{h}: nothing started after a refused preflight"
        );
    }
    ssh_ok(
        "host2",
        "mv /data/stack/kafka/meta.properties.orig /data/stack/kafka/meta.properties",
    );
    let out = stackctl(&["up", "--json"], inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
#[ignore]
fn kafka_3_9_with_dedicated_controllers_lives_without_zookeeper() {
    life("3.9.2", false);
}

#[test]
#[ignore]
fn kafka_4_0_combined_nodes_live_without_zookeeper() {
    life("4.0.2", true);
}

/// `up` killed (SIGKILL, as a crash would) when the first directory is formatted: the lock
/// file already holds the cluster id (written before any host is touched), and `up` again
/// converges: every directory formatted once, with that id, and a healthy quorum.
#[test]
#[ignore]
fn killed_while_formatting_up_again_converges_with_one_cluster_id() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let inv = kraft("kraft-kill", "3.9.2", false).write(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["up", "--json", "-i"])
        .arg(&inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    let mut seen = Vec::new();
    loop {
        let left = deadline
            .checked_duration_since(std::time::Instant::now())
            .unwrap_or_else(|| panic!("no init event within 240 s:\n{}", seen.join("\n")));
        let l = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("up ended before any init:\n{}", seen.join("\n")));
        let hit = l.contains("\"event\":\"init\"");
        seen.push(l);
        if hit {
            break;
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let cid = lock_cluster_id(&inv);
    let formatted_at_kill: Vec<String> = HOSTS
        .iter()
        .filter(|(h, _)| exists(h, "/data/stack/kafka-controller/meta.properties"))
        .map(|(h, _)| h.to_string())
        .collect();
    println!(
        "killed at the first init; controller directories formatted then: {formatted_at_kill:?}"
    );
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(lock_cluster_id(&inv), cid, "the cluster id never changes");
    for (h, d, id) in formatted(false) {
        let m = meta(h, &d);
        assert_eq!(m.get("cluster.id"), Some(&cid), "{h} {d}: {m:?}");
        assert_eq!(m.get("node.id"), Some(&id), "{h} {d}: {m:?}");
    }
    let (code, report) = verify_settled(&inv);
    assert_eq!(code, Some(0), "{}", failures(&report));
}
