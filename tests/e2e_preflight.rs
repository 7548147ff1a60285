//! Preflight for production hosts on the test bed (real sshd): a ZooKeeper data directory
//! under /tmp is refused before anything changes, and goes through with --allow-ephemeral;
//! an open-file hard limit lowered on one host's sshd is what that host reports; the bed's
//! clocks (one kernel clock for all hosts) are never reported as skewed over real round trips.
//! A host with a really skewed clock cannot be made here: Linux time namespaces offset only
//! the monotonic and boot clocks, never CLOCK_REALTIME, so every bed host reads the machine's
//! clock; the comparison is tested offline (deploy::preflight's unit tests).
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.

mod common;

use common::bed::{
    cache, clean_hosts, exists, java_pids, ssh, ssh_ok, stackctl, stackctl_plan_live, testbed,
    text, zk_kafka, HOSTS, JDK11, ZK_ARCHIVE,
};
use common::inv::{line_of, Inventory};

/// Where the test puts ZooKeeper's data: each bed host has its own /tmp.
const ZK_TMP: &str = "/tmp/stackctl-e2e-preflight-zk";

/// Removes what the test started and wrote, whatever happened (clean_hosts stops services by
/// the pid files stackctl wrote under /data/stack/run).
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        clean_hosts();
        for (h, _) in HOSTS {
            let _ = ssh(h, &format!("rm -rf {ZK_TMP}"));
        }
    }
}

#[test]
#[ignore]
fn a_zookeeper_data_dir_under_tmp_is_refused_in_preflight_unless_allow_ephemeral() {
    let _cleanup = Cleanup;
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    // ZooKeeper only (quick to start), its dataDir under /tmp.
    let mut inv = Inventory::new("preflight")
        .ssh_user("root")
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .heap("128m")
        .config("dataDir", ZK_TMP);
    for (h, a) in HOSTS {
        inv = inv.host(h, a, &["zookeeper"]);
    }
    let path = inv.write(dir.path());
    let yaml = std::fs::read_to_string(&path).unwrap();
    let line = line_of(&yaml, ZK_TMP);
    for (h, _) in HOSTS {
        assert!(!exists(h, "/opt/stack"), "{h}: /opt/stack before the test");
        assert!(!exists(h, ZK_TMP), "{h}: {ZK_TMP} before the test");
    }

    // Refused: exit 3 like every preflight error, naming host, field, line and directory.
    let out = stackctl(&["up"], &path);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("preflight failed; nothing was changed"),
        "{all}"
    );
    for (h, _) in HOSTS {
        let want = format!(
            "{h}: zookeeper keeps its data in {ZK_TMP} (components.zookeeper.config.dataDir, {}:{line}), under /tmp",
            path.display()
        );
        assert!(all.contains(&want), "missing `{want}` in:\n{all}");
    }
    assert!(all.contains("--allow-ephemeral"), "{all}");
    // Nothing changed on any host: no install dir, no data dir, no JVM.
    for (h, _) in HOSTS {
        assert!(
            !exists(h, "/opt/stack"),
            "{h}: /opt/stack created by a refused up"
        );
        assert!(!exists(h, ZK_TMP), "{h}: {ZK_TMP} created by a refused up");
        assert!(
            java_pids(h).is_empty(),
            "{h}: a JVM runs after a refused up"
        );
    }

    // plan --live says the same, and with --allow-ephemeral shows it as a warning (JSON too).
    let live = stackctl_plan_live(&path, &[]);
    assert_eq!(live.status.code(), Some(3), "{}", text(&live));
    let live = stackctl_plan_live(&path, &["--allow-ephemeral"]);
    let lt = text(&live);
    assert_eq!(live.status.code(), Some(0), "{lt}");
    assert!(lt.contains("Preflight warnings"), "{lt}");
    assert!(
        lt.contains(&format!(
            "warning: host2: zookeeper keeps its data in {ZK_TMP}"
        )),
        "{lt}"
    );
    let json = stackctl_plan_live(&path, &["--allow-ephemeral", "--json"]);
    let doc: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json)));
    // `live` and `preflight` of a real host hold to docs/schemas/plan.schema.json.
    common::schema::assert_valid(&doc, "plan");
    let found = doc["preflight"].as_array().expect("a preflight list");
    let eph: Vec<&serde_json::Value> = found
        .iter()
        .filter(|f| f["check"] == "ephemeral-data-dir")
        .collect();
    assert_eq!(eph.len(), 3, "{found:#?}");
    assert!(eph.iter().all(|f| f["level"] == "warning"), "{found:#?}");
    // One kernel clock for all: no skew may be reported over real round trips.
    assert!(
        found.iter().all(|f| f["check"] != "clock-skew"),
        "{found:#?}"
    );

    // Allowed: up goes through, says why it is risky, and ZooKeeper's data is under /tmp.
    let out = stackctl(&["up", "--allow-ephemeral"], &path);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains(&format!(
            "warning: host1: zookeeper keeps its data in {ZK_TMP}"
        )) && all.contains("allowed by --allow-ephemeral"),
        "{all}"
    );
    for (h, _) in HOSTS {
        assert!(
            exists(h, &format!("{ZK_TMP}/myid")),
            "{h}: no myid under {ZK_TMP}"
        );
    }
}

/// host1's sshd listener with a lowered open-file limit (prlimit, inside host1: only a
/// process of the bed); sessions forked from it inherit the limit. A hard limit cannot be
/// raised again here (this machine withholds CAP_SYS_RESOURCE even from root), so on drop
/// host1's sshd is restarted by the bed (`testbed.sh cut host1 ssh`, `restore host1`) from
/// this process, whose limits it inherits.
struct LoweredNofile;

impl LoweredNofile {
    fn on_host1(hard: u64) -> LoweredNofile {
        let bed = common::bed::bed();
        let pid = ssh_ok(
            "host1",
            &format!("cat {}/hosts/host1/run/sshd.pid", bed.display()),
        )
        .trim()
        .to_string();
        assert!(pid.parse::<u32>().is_ok(), "sshd pid {pid:?}");
        ssh_ok(
            "host1",
            &format!("prlimit --pid {pid} --nofile={hard}:{hard}"),
        );
        LoweredNofile
    }
}

impl Drop for LoweredNofile {
    fn drop(&mut self) {
        testbed(&["cut", "host1", "ssh"]);
        testbed(&["restore", "host1"]);
    }
}

#[test]
#[ignore]
fn an_open_file_limit_out_of_a_hosts_reach_stops_up_in_preflight_for_that_host() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let mut inv = zk_kafka("preflight-nofile");
    for (h, a) in HOSTS {
        inv = inv.host(h, a, &["zookeeper", "kafka"]);
    }
    let path = inv.write(dir.path());
    // What a session on host2 gets: the bed's ordinary limit, for comparison.
    let hard2: u64 = ssh_ok("host2", "ulimit -Hn").trim().parse().unwrap();
    let lowered = LoweredNofile::on_host1(2048);
    let r = ssh_ok("host1", "ulimit -Hn");
    assert_eq!(
        r.trim(),
        "2048",
        "a new session on host1 inherits the lowered limit"
    );

    // The launchers set 16384 (the bed's max_open_files): out of host1's reach, so `plan
    // --live` and `up` stop in preflight, naming host1, before anything changes.
    let live = stackctl_plan_live(&path, &[]);
    let lt = text(&live);
    assert_eq!(live.status.code(), Some(3), "{lt}");
    for c in ["kafka", "zookeeper"] {
        assert!(
            lt.contains(&format!("host1: {c}'s launcher sets its open-file limit to 16384 (`max_open_files`), but this host lets it reach at most 2048 (hard limit 2048,")),
            "{lt}"
        );
    }
    assert!(!lt.contains("host2: kafka's launcher"), "{lt}");
    let out = stackctl(&["up"], &path);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    for (h, _) in HOSTS {
        assert!(!exists(h, "/opt/stack"), "{h}: up changed the host");
    }
    drop(lowered);
    assert_eq!(
        ssh_ok("host1", "ulimit -Hn").trim(),
        hard2.to_string(),
        "host1's sshd restarted with the bed's limit"
    );
}
