//! Become and service users on the test bed: logging in as `ops` (passwordless sudo) with
//! `become: sudo`, ZooKeeper and Kafka run as their own accounts, which own their data; a login
//! whose sudo wants a password is a preflight error that changes nothing.
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.

mod common;

use std::path::{Path, PathBuf};

use common::bed::*;
use common::inv::Host;

/// ZooKeeper and Kafka on the three hosts, each logging in as `logins[i]` with become; Kafka's
/// server.properties holds a secret (an unused keystore password), so it is written 0600.
fn users_inventory(dir: &Path, logins: [&str; 3]) -> PathBuf {
    let roles = ["zookeeper", "kafka"];
    let mut inv = zk_kafka("users")
        .ssh_user("ops")
        .default("become", "sudo")
        .config("ssl.keystore.password", "e2e-not-a-real-secret");
    for ((h, a), login) in HOSTS.iter().zip(logins) {
        inv = inv.host_with(Host::new(h, a, &roles).set("ssh_user", login));
    }
    inv.write(dir)
}

/// The uid and user name the pid in `pid_file` runs as, read from /proc as root.
fn proc_owner(host: &str, pid_file: &str) -> (String, String) {
    let out = ssh_ok(
        host,
        &format!(
            "p=$(cat {pid_file}); u=$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' /proc/$p/status); echo \"$u $(getent passwd \"$u\" | cut -d: -f1)\""
        ),
    );
    let mut w = out.split_whitespace();
    (
        w.next().unwrap_or_default().to_string(),
        w.next().unwrap_or_default().to_string(),
    )
}

#[test]
#[ignore]
fn a_sudo_that_asks_for_a_password_is_a_preflight_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    clean_hosts();
    // The probe works (as root), so "absent" below is an answer.
    assert!(ssh_ok("host2", "id -un").trim() == "root");
    let r = ssh("host2", "su -s /bin/sh pw -c 'sudo -n true' 2>&1");
    assert!(
        r.stdout.contains("a password is required"),
        "the bed's pw user must have a sudo that asks: {r}"
    );
    let accounts = |h: &str| ssh(h, "getent passwd kafka zookeeper").stdout;
    let before: Vec<String> = HOSTS.iter().map(|(h, _)| accounts(h)).collect();
    let inv = users_inventory(dir.path(), ["ops", "pw", "ops"]);
    let out = stackctl(&["up"], &inv);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("host2: become: sudo asks for a password"),
        "the error names the host and says why: {t}"
    );
    for (i, (h, _)) in HOSTS.iter().enumerate() {
        assert!(exists(h, "/opt"), "{h}: the probe sees /opt");
        assert!(!exists(h, "/opt/stack"), "{h}: preflight wrote nothing");
        assert!(!exists(h, "/data/stack"), "{h}: preflight wrote nothing");
        assert_eq!(accounts(h), before[i], "{h}: no service user was created");
    }
}

#[test]
#[ignore]
fn with_become_zookeeper_and_kafka_run_as_their_own_users_owning_their_data() {
    let dir = tempfile::tempdir().unwrap();
    clean_hosts();
    let inv = users_inventory(dir.path(), ["ops", "ops", "ops"]);

    // plan says who runs what and that sudo is used; plan --live, that the users are created.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["plan", "--color", "never", "-i"])
        .arg(&inv)
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("host1, host2, host3: login, then sudo -n to root; zookeeper as zookeeper, kafka as kafka"),
        "{t}"
    );
    // The accounts host1 lacks (another test may have made some) are created, listed first.
    let missing: Vec<String> = ["zookeeper", "kafka"]
        .iter()
        .filter(|u| {
            let r = ssh("host1", &format!("getent passwd {u}"));
            assert!(r.code == Some(0) || r.code == Some(2), "{r}");
            r.code == Some(2)
        })
        .map(|u| format!("{u}:{u}"))
        .collect();
    if !missing.is_empty() {
        let out = stackctl_plan_live(&inv, &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{t}");
        assert!(
            t.contains(&format!("host1: create users {};", missing.join(", "))),
            "{t}"
        );
    }

    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        summary(&out)["summary"]["started"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // From /proc, as root: each daemon runs as its user, who owns its data; the secret 0600.
    for (h, _) in HOSTS {
        for (role, user, data) in [
            ("zookeeper", "zookeeper", "/data/stack/zookeeper"),
            ("kafka", "kafka", "/data/stack/kafka"),
        ] {
            let uid = ssh_ok(h, &format!("id -u {user}")).trim().to_string();
            let (puid, pname) = proc_owner(h, &format!("/data/stack/run/{role}.pid"));
            assert_eq!(
                (puid.as_str(), pname.as_str()),
                (uid.as_str(), user),
                "{h} {role}"
            );
            let owners = ssh_ok(
                h,
                &format!("find {data} /var/log/stack/{role} ! -user {user} -print | head -n 5; stat -c '%U:%G' {data}"),
            );
            assert_eq!(owners.trim(), format!("{user}:{user}"), "{h}: {data}");
        }
        let secret = ssh_ok(
            h,
            "stat -c '%a %U:%G' /opt/stack/etc/kafka/server.properties",
        );
        assert_eq!(secret.trim(), "600 kafka:kafka", "{h}");
        // The login user's session never ran a daemon: nothing of ops'.
        let r = ssh(h, "pgrep -u ops java");
        assert_eq!(r.code, Some(1), "{r}");
    }

    // A second run changes nothing and reports nothing.
    let out = stackctl(&["up", "--json"], &inv);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let s = summary(&out)["summary"].clone();
    assert_eq!(s["uploaded_bytes"], 0, "{s}");
    assert_eq!(s["files_written"], 0, "{s}");
    assert!(
        s["started"].as_array().unwrap().is_empty()
            && s["restarted"].as_array().unwrap().is_empty(),
        "{s}"
    );
    assert!(
        !t.contains("service users") && !t.contains("created "),
        "nothing given or created: {t}"
    );
    let out = stackctl_plan_live(&inv, &[]);
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    for (h, _) in HOSTS {
        assert!(t.contains(&format!("  {h}: no changes")), "{t}");
    }

    // verify checks each daemon's owner.
    let (code, report) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&report));
    for (h, _) in HOSTS {
        let uid = ssh_ok(h, "id -u kafka").trim().to_string();
        let (status, evidence) = check(&report, h, "kafka", "user");
        assert_eq!(status, "pass");
        assert_eq!(evidence, format!("runs as kafka (uid {uid})"));
        let (status, evidence) = check(&report, h, "zookeeper", "user");
        assert_eq!(status, "pass", "{evidence}");
        assert!(
            evidence.starts_with("runs as zookeeper (uid "),
            "{evidence}"
        );
    }

    // A data dir taken from its user (an operator's `chown root`) is given back on `up`, and
    // plan --live says so first.
    ssh_ok("host3", "chown root:root /data/stack/kafka/meta.properties");
    let out = stackctl_plan_live(&inv, &["--limit", "host3"]);
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        t.contains("host3: give /data/stack/kafka (kafka:kafka) to their users"),
        "{t}"
    );
    let out = stackctl(&["up", "--limit", "host3"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        ssh_ok("host3", "stat -c %U /data/stack/kafka/meta.properties").trim(),
        "kafka"
    );

    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for (h, _) in HOSTS {
        assert!(
            java_pids(h).is_empty(),
            "{h}: down stopped the daemons it runs as root"
        );
    }
}

/// Hadoop and HBase switch only when asked: one shared `hadoop` account for every Hadoop and
/// HBase role (with become), the NameNode formatted by it, HBase writing to HDFS as it.
#[test]
#[ignore]
fn hadoop_and_hbase_run_as_one_shared_account_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    clean_hosts();
    let c = cache();
    let inv = common::inv::Inventory::new("shared")
        .ssh_user("ops")
        .default("become", "sudo")
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(c.join(ZK_ARCHIVE))
        .heap("128m")
        .component("hadoop", "3.3.6")
        .archive(c.join("hadoop-3.3.6.tar.gz"))
        .heap("256m")
        .setting("user", "hadoop")
        .setting("max_open_files", BED_MAX_OPEN_FILES)
        .map(
            "yarn-site",
            "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage",
            "99.5",
        )
        .component("hbase", "2.5.10-hadoop3")
        .archive(c.join("hbase-2.5.10-hadoop3-bin.tar.gz"))
        .heap("384m")
        .setting("user", "hadoop")
        .setting("max_open_files", BED_MAX_OPEN_FILES)
        .host(
            "host1",
            "10.231.77.11",
            &[
                "zookeeper",
                "namenode",
                "datanode",
                "resourcemanager",
                "nodemanager",
                "hbase-master",
            ],
        )
        .hosts(
            &HOSTS[1..],
            &["zookeeper", "datanode", "nodemanager", "hbase-regionserver"],
        )
        .write(dir.path());
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for (h, roles) in [
        (
            "host1",
            &[
                "namenode",
                "datanode",
                "resourcemanager",
                "nodemanager",
                "hbase-master",
            ][..],
        ),
        (
            "host2",
            &["datanode", "nodemanager", "hbase-regionserver"][..],
        ),
        (
            "host3",
            &["datanode", "nodemanager", "hbase-regionserver"][..],
        ),
    ] {
        for role in roles {
            let (_, name) = proc_owner(h, &format!("/data/stack/run/{role}.pid"));
            assert_eq!(name, "hadoop", "{h} {role}");
        }
        let (_, name) = proc_owner(h, "/data/stack/run/zookeeper.pid");
        assert_eq!(name, "zookeeper", "{h}");
    }
    assert_eq!(
        ssh_ok("host1", "find /data/stack/hdfs/namenode ! -user hadoop | head -n 3; stat -c %U /data/stack/hdfs/namenode/current/VERSION").trim(),
        "hadoop",
        "the format ran as hadoop"
    );
    let (code, report) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&report));
    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
