//! `verify --smoke` through HDFS, YARN and HBase on the bed's whole stack: a file written and read
//! back through every DataNode's WebHDFS port, a container launched on a NodeManager, the HBase
//! canary writing to and reading from every RegionServer; nothing left behind. And a DataNode
//! whose data directory is made read-only (a read-only bind mount in its host's mount
//! namespace: root ignores permission bits, not a read-only mount) fails the smoke, naming it.
//! Run: `cargo test --test e2e_smoke_hadoop -- --ignored --test-threads=1` on a bed of 3.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::bed::*;

const DN_DATA: &str = "/data/stack/hdfs/datanode";

fn smoke(inv: &Path, timeout: &str) -> (Option<i32>, serde_json::Value, f64) {
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args([
            "verify",
            "--json",
            "--smoke",
            "--smoke-timeout",
            timeout,
            "-i",
        ])
        .arg(inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .output()
        .expect("run stackctl verify --smoke");
    let secs = t0.elapsed().as_secs_f64();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json is not JSON ({e}): {}", text(&out)));
    (out.status.code(), report, secs)
}

fn smoke_checks(report: &serde_json::Value) -> Vec<(String, String, String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"].as_str().unwrap_or("").starts_with("smoke"))
        .map(|c| {
            (
                c["host"].as_str().unwrap().to_string(),
                c["service"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["evidence"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn up_whole_stack(dir: &Path) -> PathBuf {
    let inv = whole_stack("smokehd").write(dir);
    // For measuring by hand afterwards (with STACKCTL_E2E_KEEP-style runs).
    if let Ok(keep) = std::env::var("STACKCTL_E2E_SMOKE_INVENTORY") {
        std::fs::copy(&inv, keep).expect("copy the inventory");
    }
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    inv
}

/// The run's leftovers the smoke could make: entries named after a smoke run in HDFS's root,
/// user tables in HBase (the canary's `hbase:canary` is a system table, kept on purpose), and
/// YARN applications still running.
fn leftovers() -> String {
    let mut out = String::new();
    let root = ssh_ok(
        "host1",
        "curl -sf 'http://10.231.77.11:9870/webhdfs/v1/?op=LISTSTATUS&user.name=root'",
    );
    if root.contains("stackctl-smoke") {
        out.push_str(&format!("HDFS root: {root}\n"));
    }
    let tables = ssh_ok(
        "host1",
        "curl -s 'http://10.231.77.11:9870/webhdfs/v1/hbase/data/default?op=LISTSTATUS&user.name=root'",
    );
    if tables.contains("pathSuffix") {
        out.push_str(&format!("HBase user tables: {tables}\n"));
    }
    let apps = ssh_ok(
        "host1",
        "curl -sf 'http://10.231.77.11:8088/ws/v1/cluster/apps?states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING'",
    );
    if apps.contains("application_") {
        out.push_str(&format!("YARN apps running: {apps}\n"));
    }
    out
}

#[test]
#[ignore]
fn a_healthy_whole_stack_passes_the_smoke_through_every_datanode_nodemanager_and_regionserver() {
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let inv = up_whole_stack(dir.path());
    // status: every instance of the whole stack up, the NameNode and the HBase master active.
    let (code, st) = status_until_up(&inv);
    assert_eq!(code, Some(0), "{st:#}");
    assert_eq!(
        role_states(&st, "namenode"),
        vec![("host1".to_string(), "active".to_string())],
        "{st:#}"
    );
    assert_eq!(
        role_states(&st, "hbase-master"),
        vec![("host1".to_string(), "active".to_string())],
        "{st:#}"
    );

    let (code, report, secs) = smoke(&inv, "120");
    eprintln!("verify --smoke: {secs:.1}s");
    let checks = smoke_checks(&report);
    eprintln!("{checks:#?}");
    assert_eq!(code, Some(0), "{}", failures(&report));
    for (h, _) in HOSTS {
        let dn: Vec<_> = checks
            .iter()
            .filter(|(host, svc, _, _)| host == h && svc == "datanode")
            .collect();
        assert!(
            dn.len() == 1 && dn[0].2 == "pass" && dn[0].3.contains("read back identical"),
            "no passing DataNode smoke on {h}: {checks:#?}"
        );
    }
    assert!(
        checks.iter().any(|(_, svc, st, ev)| svc == "nodemanager"
            && st == "pass"
            && ev.contains("exited 0")),
        "no passing NodeManager smoke: {checks:#?}"
    );
    for h in ["host2", "host3"] {
        assert!(
            checks
                .iter()
                .any(|(host, svc, st, _)| host == h && svc == "hbase-regionserver" && st == "pass"),
            "no passing RegionServer smoke on {h}: {checks:#?}"
        );
    }
    let left = leftovers();
    assert!(left.is_empty(), "the smoke left behind:\n{left}");
}

#[test]
#[ignore]
fn a_datanode_whose_data_directory_is_read_only_fails_the_smoke_naming_its_host() {
    // A fresh stack: this test runs first (names sort), after another target's cluster, whose
    // ZooKeeper would hold the ports of this one's.
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let inv = up_whole_stack(dir.path());
    // Root ignores permission bits, not a read-only mount: one in host2's own mount namespace,
    // over its DataNode's data directory (the running DataNode's open files keep their mount).
    ssh_ok(
        "host2",
        &format!("mount --bind {DN_DATA} {DN_DATA} && mount -o remount,bind,ro {DN_DATA} && ! touch {DN_DATA}/probe 2>/dev/null"),
    );
    let (code, report, secs) = smoke(&inv, "60");
    ssh_ok("host2", &format!("umount {DN_DATA}"));
    eprintln!("verify --smoke: {secs:.1}s");
    let checks = smoke_checks(&report);
    eprintln!("{checks:#?}");
    assert_eq!(code, Some(1), "{}", failures(&report));
    let (st, ev) = check(&report, "host2", "datanode", "smoke: write/read");
    assert_eq!(st, "fail", "{ev}");
    assert!(ev.contains("no replica on host2"), "{ev}");
    // Bounded: the replica list settles long before the bound.
    assert!(secs < 120.0, "{secs}");
    let left = leftovers();
    assert!(left.is_empty(), "the smoke left behind:\n{left}");
}
