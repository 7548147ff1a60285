//! `stackctl status` on the test bed: ZooKeeper and Kafka on three hosts. Healthy: every
//! instance up with its id, version, uptime and data size, one ZooKeeper leader and one Kafka
//! controller; a stopped broker is down (exit 1); two ZooKeeper servers stopped leave the third
//! running but not serving: degraded, saying why; `up` heals and status is all up again. It
//! also prints status's median time over 5 runs. Needs a running bed
//! (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::bed::*;

const ROLES: [&str; 2] = ["zookeeper", "kafka"];

fn status(inv: &Path) -> (Option<i32>, serde_json::Value, f64) {
    common::bed::status_json_timed(inv)
}

/// `--ssh-persist 30`: the first run makes a master per host and leaves it running, the next
/// runs reuse them (the log says `reused` for each host), and their median is printed. The
/// masters live in this test's own XDG_RUNTIME_DIR and are stopped through their sockets.
fn kept_connections_are_reused(inv: &Path) {
    let run = tempfile::tempdir().unwrap();
    let kept = |log: &Path| {
        let t0 = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
            .args(["status", "--json", "--ssh-persist", "30", "--log"])
            .arg(log)
            .arg("-i")
            .arg(inv)
            .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
            .env("XDG_RUNTIME_DIR", run.path())
            .output()
            .expect("run stackctl status");
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let connects: Vec<String> = std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter(|l| l.contains("] connect "))
            .map(String::from)
            .collect();
        (connects, secs)
    };
    let (first, _) = kept(&run.path().join("first.log"));
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first.iter().all(|l| l.contains(" ok (")), "{first:?}");
    let mut secs = Vec::new();
    for i in 0..5 {
        let (again, s) = kept(&run.path().join(format!("again{i}.log")));
        assert_eq!(again.len(), 3, "{again:?}");
        assert!(
            again.iter().all(|l| l.contains(" reused (")),
            "run {i} made new connections: {again:?}"
        );
        secs.push(s);
    }
    secs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "BENCH status with --ssh-persist (connections reused): median {:.3} s, min {:.3} s, max {:.3} s",
        secs[2], secs[0], secs[4]
    );
    // Stop the three masters through their sockets (the processes this test made).
    let dir = run.path().join("stackctl-ssh");
    let mut stopped = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "ctl") {
            let sock = std::fs::read_to_string(e.path()).unwrap();
            let st = Command::new("ssh")
                .args(["-S", sock.trim(), "-O", "exit", "kept"])
                .output()
                .unwrap();
            assert!(st.status.success(), "{}", text(&st));
            stopped += 1;
        }
    }
    assert_eq!(stopped, 3, "one kept master per host");
}

/// `status` as text (with `extra` arguments): the raw output.
fn status_text(inv: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .arg("status")
        .args(extra)
        .arg("-i")
        .arg(inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .output()
        .expect("run stackctl status")
}

fn instance<'a>(v: &'a serde_json::Value, host: &str, role: &str) -> &'a serde_json::Value {
    v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["host"] == host && i["role"] == role)
        .unwrap_or_else(|| panic!("no {host} {role} in {v:#}"))
}

fn stop(host: &str, role: &str) {
    ssh_ok(host, &format!("/opt/stack/etc/launch/{role}.sh stop"));
}

/// Polls `status` (at most 40 times, half a second apart) until `done` holds.
fn status_until(
    inv: &Path,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = status(inv).1;
    for _ in 0..40 {
        if done(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(500));
        last = status(inv).1;
    }
    panic!("status never showed {what}: {last:#}");
}

#[test]
#[ignore]
fn status_shows_every_instance_healthy_then_down_and_degraded_and_up_heals() {
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let inv = zk_kafka("status").hosts(&HOSTS, &ROLES).write(dir.path());
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all_up = |v: &serde_json::Value| {
        v["instances"]
            .as_array()
            .is_some_and(|a| a.len() == 6 && a.iter().all(|i| i["status"] == "up"))
            && v["instances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["role_state"] == "controller")
    };
    let v = status_until(&inv, "all six instances up with a controller", all_up);
    let leaders = v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] == "zookeeper" && i["role_state"] == "leader")
        .count();
    assert_eq!(leaders, 1, "{v:#}");
    for (h, _) in HOSTS {
        let id = &h[4..];
        let zk = instance(&v, h, "zookeeper");
        assert_eq!(zk["id"], format!("myid={id}"), "{zk}");
        assert_eq!(zk["version"], "3.5.6", "{zk}");
        assert_eq!(zk["port"], 2181, "{zk}");
        assert!(zk["uptime_seconds"].as_u64().is_some(), "{zk}");
        assert!(zk["pid"].as_u64().is_some(), "{zk}");
        let b = instance(&v, h, "kafka");
        assert_eq!(b["id"], format!("broker.id={id}"), "{b}");
        assert_eq!(b["version"], "2.4.0", "{b}");
        let d = &b["data_dirs"][0];
        assert_eq!(d["path"], "/data/stack/kafka", "{b}");
        assert!(d["kib"].as_u64().is_some_and(|k| k > 0), "{b}");
        assert!(d["fs_used_percent"].as_u64().is_some(), "{b}");
    }
    assert_eq!(status(&inv).0, Some(0));
    // The text table: one line per instance, within 100 columns.
    let out = status_text(&inv, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("up|leader") && table.contains("up|controller"),
        "{table}"
    );
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    // Speed: the median of five runs.
    let mut secs: Vec<f64> = (0..5).map(|_| status(&inv).2).collect();
    secs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "BENCH status (3 hosts, 6 instances): median {:.3} s, min {:.3} s, max {:.3} s",
        secs[2], secs[0], secs[4]
    );

    kept_connections_are_reused(&inv);

    // A stopped broker: down, exit 1, the others up.
    stop("host3", "kafka");
    let (code, v, _) = status(&inv);
    assert_eq!(code, Some(1), "{v:#}");
    let b3 = instance(&v, "host3", "kafka");
    assert_eq!(b3["status"], "down", "{b3}");
    assert!(b3["note"].as_str().unwrap().contains("not running"), "{b3}");
    assert_eq!(instance(&v, "host1", "kafka")["status"], "up", "{v:#}");

    // Two ZooKeeper servers stopped: the third runs, listens, but serves nothing.
    stop("host1", "zookeeper");
    stop("host2", "zookeeper");
    let v = status_until(&inv, "host3's ZooKeeper degraded", |v| {
        instance(v, "host3", "zookeeper")["status"] == "degraded"
    });
    let z3 = instance(&v, "host3", "zookeeper");
    assert!(
        z3["note"].as_str().unwrap_or("").contains("not serving"),
        "{z3}"
    );
    assert_eq!(
        instance(&v, "host1", "zookeeper")["status"],
        "down",
        "{v:#}"
    );
    let out = status_text(&inv, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(table.contains("host3 zookeeper: degraded:"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");

    // `up` starts what is stopped; status is all up again.
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    status_until(&inv, "all six instances up again", all_up);
    // --limit: one host's instances only; an unknown host is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["status", "--json", "--limit", "host2", "-i"])
        .arg(&inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["host"] == "host2"),
        "{v:#}"
    );
    let out = status_text(&inv, &["--limit", "host9"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("host9"), "{}", text(&out));
}
