//! `stackctl playground` end to end: `up` makes three hosts of its own (network namespaces
//! with their own sshd, on 10.231.78.0/24 with `stp-` names, beside the test bed) and deploys
//! ZooKeeper and Kafka onto them with the real `up`; `status` through the printed command
//! shows every instance up; `playground ssh` runs a command on a host by its inventory name;
//! `down` removes the namespaces and the directory. Needs root and the bed's dependencies
//! (`tests/testbed/testbed.sh deps`); run by tests/testbed/run-e2e.sh (the bed itself is not
//! used, so its hosts stay as they are).

mod common;

use std::process::Command;

use common::bed::*;

fn netns() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `playground down --dir DIR` when dropped: whatever a test does, its playground goes away.
struct Down(std::path::PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_stackctl"))
            .args(["playground", "down", "--dir"])
            .arg(&self.0)
            .output();
    }
}

#[test]
#[ignore]
fn playground_up_deploys_the_inventory_on_its_own_hosts_and_down_removes_them() {
    // Not under /tmp: every playground host mounts its own /tmp (the playground refuses it).
    let work = tempfile::Builder::new()
        .prefix("stackctl-e2e-pg.")
        .tempdir_in("/var/tmp")
        .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["playground", "up", "--dir", "/tmp/pg", "-i"])
        .arg(work.path().join("none.yml"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("its own /tmp"),
        "{}",
        text(&refused)
    );
    let dir = work.path().join("pg");
    // The inventory names its hosts node1..3 at addresses of a network that is not here.
    let inv = zk_kafka("pg")
        .hosts(
            &[
                ("node1", "192.0.2.1"),
                ("node2", "192.0.2.2"),
                ("node3", "192.0.2.3"),
            ],
            &["zookeeper", "kafka"],
        )
        .write(work.path());
    let exe = env!("CARGO_BIN_EXE_stackctl");
    let up = Command::new(exe)
        .args(["playground", "up", "--dir"])
        .arg(&dir)
        .arg("-i")
        .arg(&inv)
        .output()
        .unwrap();
    let up_text = text(&up);
    // Whatever happens below, the playground goes away.
    let _down = Down(dir.clone());
    assert_eq!(up.status.code(), Some(0), "{up_text}");
    assert!(netns().contains("stp-host3"), "{}", netns());
    let derived = dir.join(inv.file_name().unwrap());
    let cfg = dir.join("bed/ssh_config");
    let stdout = String::from_utf8_lossy(&up.stdout).to_string();
    assert!(
        stdout.contains("Playground up: 3 hosts on 10.231.78.0/24"),
        "{up_text}"
    );
    assert!(
        stdout.contains("10.231.78.11:2181,10.231.78.12:2181,10.231.78.13:2181"),
        "{up_text}"
    );
    assert!(
        stdout.contains(&format!(
            "stackctl status -i {} --ssh-config {}",
            derived.display(),
            cfg.display()
        )),
        "{up_text}"
    );
    // The printed status command: every instance up.
    let mut last = String::new();
    let mut ok = false;
    for _ in 0..40 {
        let st = Command::new(exe)
            .args(["status", "--json", "-i"])
            .arg(&derived)
            .arg("--ssh-config")
            .arg(&cfg)
            .output()
            .unwrap();
        last = text(&st);
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap_or_default();
        if st.status.code() == Some(0) && v["instances"].as_array().is_some_and(|a| a.len() == 6) {
            assert!(
                v["instances"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|i| i["status"] == "up"
                        && i["address"].as_str().unwrap().starts_with("10.231.78.")),
                "{v:#}"
            );
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(ok, "status never all up: {last}");
    // ssh by inventory name: the host's own hostname (its UTS namespace).
    let ssh = Command::new(exe)
        .args(["playground", "ssh", "--dir"])
        .arg(&dir)
        .args(["node2", "hostname"])
        .output()
        .unwrap();
    assert_eq!(ssh.status.code(), Some(0), "{}", text(&ssh));
    assert_eq!(
        String::from_utf8_lossy(&ssh.stdout).trim(),
        "host2",
        "{}",
        text(&ssh)
    );
    let bad = Command::new(exe)
        .args(["playground", "ssh", "--dir"])
        .arg(&dir)
        .args(["node9", "true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("node1, node2, node3"), "{}", text(&bad));
    // down: no namespace, no directory; a second down is a no-op.
    let down = Command::new(exe)
        .args(["playground", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(!netns().contains("stp-"), "{}", netns());
    assert!(!dir.exists());
    let again = Command::new(exe)
        .args(["playground", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("no playground"), "{}", text(&again));
}

/// A shipped inventory as it is, from nothing: `inventories/kraft-3node.yml` (Kafka 4.0.2 in
/// KRaft mode, three controllers and three brokers on JDK 17) in the playground, its archive
/// fetched by `up` from a mirror on loopback laid out like archive.apache.org
/// (`tests/testbed/mirror.sh`, served by the test's HTTP server) into an empty cache, checked
/// against its `.sha512`, then `verify` passes. The mirror saw exactly the archive and its
/// checksum; a second `playground up` is a no-op that fetches nothing.
#[test]
#[ignore]
fn a_shipped_inventory_deploys_from_a_loopback_mirror_and_verifies() {
    let work = tempfile::Builder::new()
        .prefix("stackctl-e2e-pgm.")
        .tempdir_in("/var/tmp")
        .unwrap();
    let tree = work.path().join("mirror");
    let st = Command::new("bash")
        .arg(common::root().join("tests/testbed/mirror.sh"))
        .arg(&tree)
        .status()
        .unwrap();
    assert!(st.success(), "mirror.sh failed");
    let mirror = common::mirror::Mirror::serve(&tree);
    let cache = work.path().join("cache");
    let dir = work.path().join("pg");
    let inv = common::root().join("inventories/kraft-3node.yml");
    let exe = env!("CARGO_BIN_EXE_stackctl");
    let _down = Down(dir.clone());
    let play = |what: &str| {
        let t0 = std::time::Instant::now();
        let out = Command::new(exe)
            .args(["playground", "up", "--dir"])
            .arg(&dir)
            .arg("-i")
            .arg(&inv)
            .env("STACKCTL_MIRROR", &mirror.url)
            .env("STACKCTL_CACHE_DIR", &cache)
            .output()
            .unwrap();
        println!(
            "BENCH playground up ({what}): {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        out
    };
    let up = play("from nothing");
    assert_eq!(up.status.code(), Some(0), "{}", text(&up));
    let archive = "kafka/4.0.2/kafka_2.13-4.0.2.tgz";
    assert_eq!(mirror.gets_of(archive).len(), 1, "{:?}", mirror.requests());
    assert_eq!(
        mirror.gets_of(&format!("{archive}.sha512")).len(),
        1,
        "{:?}",
        mirror.requests()
    );
    assert!(
        walk_has(&cache, "kafka_2.13-4.0.2.tgz"),
        "nothing in the cache {}",
        cache.display()
    );
    let derived = dir.join("kraft-3node.yml");
    let cfg = dir.join("bed/ssh_config");
    let mut last = String::new();
    let mut passed = false;
    for _ in 0..20 {
        let v = Command::new(exe)
            .args(["verify", "-i"])
            .arg(&derived)
            .arg("--ssh-config")
            .arg(&cfg)
            .output()
            .unwrap();
        last = text(&v);
        if v.status.code() == Some(0) {
            passed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(passed, "verify never passed on the playground: {last}");
    assert!(last.contains("kafka-controller"), "{last}");
    // Again: nothing to fetch (the cache has it, verified), nothing to change.
    let before = mirror.count();
    let again = play("again");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(mirror.count(), before, "{:?}", mirror.requests());
    let t = text(&again);
    assert!(
        t.contains("up: nothing to do: 3 hosts already as planned"),
        "{t}"
    );
}

/// Whether a file named `name` is anywhere under `dir`.
fn walk_has(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let p = e.path();
            p.file_name().is_some_and(|n| n == name) || (p.is_dir() && walk_has(&p, name))
        })
}
