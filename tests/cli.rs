//! The CLI as an operator and a script see it: output forms, exit codes, --out, completions.

mod common;

use common::inv::{Inventory, Run};

#[test]
fn plan_text_shows_hosts_roles_compat_stages_and_files() {
    let ran = Run::new(&["plan", "--locked"])
        .inventory("inventories/seed-3node.yml")
        .ok();
    for needle in [
        "HOST   ADDRESS         ZK  KAFKA  NN  DN  RM  NM  HMASTER  HRS  IDS",
        "node1  192.168.56.101  ●   ●      ●   ●   ●   ●   ●        ·    broker.id=1 myid=1",
        "ok      kafka 2.4.0's zookeeper-client 3.5.6 with zookeeper 3.5.6: supported",
        "1. ZooKeeper server on node1, node2, node3",
        "2. Kafka broker on node1, node2, node3 after zookeeper",
        "/data/stack/zookeeper/myid",
        "/etc/systemd/system/stackctl-seed-zookeeper.service",
        "  units in /etc/systemd/system: installed, enabled and run through systemctl only on hosts",
        "Plan: 3 hosts, 8 stages, 85 files; 0 errors,",
    ] {
        ran.stdout_has(needle);
    }
    ran.stdout_lacks("\x1b[");
}

#[test]
fn show_files_prints_contents() {
    Run::new(&["plan", "--locked", "--show-files"])
        .inventory("inventories/kafka-3node.yml")
        .run()
        .stdout_has("      | server.2=10.30.0.2:2888:3888")
        .stdout_has("      | auto.create.topics.enable=false");
}

#[test]
fn json_is_one_document_with_the_same_facts() {
    let doc = Run::new(&["plan", "--locked", "--json"])
        .inventory("inventories/seed-3node.yml")
        .ok()
        .json();
    assert_eq!(doc["cluster"], "seed");
    assert_eq!(doc["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(doc["hosts"][1]["ids"]["broker_id"], 2);
    let files = doc["hosts"][0]["files"].as_array().unwrap();
    let myid = files
        .iter()
        .find(|f| f["path"] == "/data/stack/zookeeper/myid")
        .unwrap();
    assert_eq!(myid["size"], 2);
    assert_eq!(
        myid["sha256"], "4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865",
        "sha256 of \"1\\n\""
    );
    assert_eq!(myid["mode"], "0644");
    let stages = doc["stages"].as_array().unwrap();
    assert_eq!(stages[0]["role"], "zookeeper");
    assert_eq!(stages[0]["wave"], 1);
    assert!(doc["compat"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["level"] == "warning" && v["rule"] == "hadoop-2.4-2.6-java-8"));
    for v in doc["compat"].as_array().unwrap() {
        assert!(v["subject"].is_string() && v["other"].is_string() && v["message"].is_string());
    }
}

#[test]
fn out_writes_each_hosts_files_under_their_absolute_paths() {
    let dir = tempfile::tempdir().unwrap();
    Run::new(&["plan", "--locked", "--out"])
        .arg(dir.path())
        .inventory("inventories/seed-3node.yml")
        .ok();
    let myid = std::fs::read_to_string(dir.path().join("node2/data/stack/zookeeper/myid")).unwrap();
    assert_eq!(myid, "2\n");
    let env = dir.path().join("node1/opt/stack/etc/hadoop/hadoop-env.sh");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(dir
        .path()
        .join("node3/opt/stack/etc/hbase/hbase-site.xml")
        .exists());
    assert!(
        !dir.path()
            .join("node3/opt/stack/etc/hbase/backup-masters")
            .exists()
            || std::fs::read_to_string(dir.path().join("node3/opt/stack/etc/hbase/backup-masters"))
                .unwrap()
                .is_empty()
    );
}

#[test]
fn a_compatibility_error_makes_plan_exit_1() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-8, java_version: "1.8.0_231" }
components:
  zookeeper: { version: "3.4.14" }
  kafka: { version: "3.6.0", scala: "2.13", mode: zookeeper }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
"#,
    );
    Run::new(&["plan"])
        .inventory(&path)
        .code(1)
        .stdout_has(
            "error   kafka 3.6.0's zookeeper-client 3.8.2 with zookeeper 3.4.14: not supported",
        )
        // cites its source
        .stdout_has("KIP-902");
}

#[test]
fn a_jdk_outside_the_supported_list_is_an_error() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-17, java_version: "17.0.15+6" }
components:
  zookeeper: { version: "3.8.4" }
  kafka: { version: "2.4.0", scala: "2.12" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
"#,
    );
    let doc = Run::new(&["plan", "--json"])
        .inventory(&path)
        .code(1)
        .json();
    let v = doc["compat"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["subject"] == "kafka" && v["other"] == "java")
        .unwrap()
        .clone();
    assert_eq!(v["level"], "error", "{v}");
    assert_eq!(v["other_version"], "17");
}

#[test]
fn secondary_or_unconfirmed_facts_never_fail_a_plan() {
    // ZooKeeper 3.5 on JDK 11 is unconfirmed; Hadoop 2.4 on JDK 8 too: warnings only.
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }
components:
  zookeeper: { version: "3.5.6" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper] }
"#,
    );
    Run::new(&["plan"])
        .inventory(&path)
        .ok()
        .stdout_has("warning zookeeper 3.5.6 on JDK 11: unconfirmed");
}

#[test]
fn missing_java_version_says_jdk_checks_are_skipped() {
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .component("zookeeper", "3.8.4")
        .host("a", "10.0.0.1", &["zookeeper"])
        .temp();
    Run::new(&["plan"])
        .inventory(&path)
        .ok()
        .stdout_has("JDK checks skipped");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        Run::new(&["completions", shell])
            .ok()
            .stdout_has("stackctl")
            .stdout_has("show-files");
    }
}

#[test]
fn rules_on_a_product_against_the_zookeeper_server_are_applied() {
    // Kafka 4.x has no ZooKeeper mode at all (refused with the inventory, exit 2); HBase 1.0+
    // needs ZooKeeper 3.4 or later.
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .java_version("17")
        .component("zookeeper", "3.8.4")
        .component("kafka", "4.1.0")
        .scala("2.13")
        .setting("mode", "zookeeper")
        .host("a", "10.0.0.1", &["zookeeper", "kafka"])
        .temp();
    Run::new(&["plan"])
        .inventory(&path)
        .code(2)
        .stderr_has("Kafka 4.1.0 has no ZooKeeper mode: 4.0 removed it");
    // In KRaft mode (4.x's default) a ZooKeeper in the inventory (for HBase, say) is no
    // concern of Kafka's: no rule on Kafka against it.
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .java_version("17")
        .component("zookeeper", "3.8.4")
        .component("kafka", "4.0.0")
        .scala("2.13")
        .host("a", "10.0.0.1", &["zookeeper", "kafka", "kafka-controller"])
        .temp();
    Run::new(&["plan"])
        .inventory(&path)
        .code(0)
        .stdout_lacks("no ZooKeeper mode");
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .java_version("8")
        .component("zookeeper", "3.3.6")
        .component("hadoop", "2.7.7")
        .component("hbase", "1.7.2")
        .host(
            "a",
            "10.0.0.1",
            &[
                "zookeeper",
                "namenode",
                "datanode",
                "hbase-master",
                "hbase-regionserver",
            ],
        )
        .temp();
    let doc = Run::new(&["plan", "--json"])
        .inventory(&path)
        .code(1)
        .json();
    assert!(
        doc["compat"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["subject"] == "hbase" && v["other"] == "zookeeper" && v["level"] == "error"),
        "{doc}"
    );
}

#[test]
fn min_insync_replicas_follows_an_overridden_replication_factor() {
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .component("zookeeper", "3.5.6")
        .component("kafka", "2.4.0")
        .config("default.replication.factor", 1)
        .config("transaction.state.log.replication.factor", 1)
        .hosts(
            &[("a", "10.0.0.1"), ("b", "10.0.0.2"), ("c", "10.0.0.3")],
            &["zookeeper", "kafka"],
        )
        .temp();
    Run::new(&["plan", "--show-files"])
        .inventory(&path)
        .ok()
        .stdout_has("| min.insync.replicas=1")
        .stdout_has("| transaction.state.log.min.isr=1");
}

#[test]
fn overriding_listeners_alone_warns_about_the_advertised_address() {
    let (_d, path) = Inventory::new("t")
        .java_home("/j")
        .component("zookeeper", "3.5.6")
        .component("kafka", "2.4.0")
        .config("listeners", "PLAINTEXT://0.0.0.0:9093")
        .host("a", "10.0.0.1", &["zookeeper", "kafka"])
        .temp();
    Run::new(&["plan"])
        .inventory(&path)
        .ok()
        .stdout_has("`listeners` is overridden but `advertised.listeners` is not");
}

#[test]
fn hostile_values_reach_the_plan_exactly_as_the_builder_was_given_them() {
    // The strings of the e2e injection test: the builder's quoting must deliver them unchanged.
    let java = "/opt/j dk$(touch /tmp/PWNED-java)x";
    let install = r#"/opt/st ack'$(touch /tmp/PWNED-install)'"#;
    let data = r#"/data/d"$(touch /tmp/PWNED-data)";x"#;
    let log = "/var/log/l`touch /tmp/PWNED-log`";
    let note = "'; touch /tmp/PWNED-prop; echo \"$(touch /tmp/PWNED-prop2)\" `id` \\ \t#x: y";
    let (_d, path) = Inventory::new("hostile")
        .java_home(java)
        .install_dir(install)
        .data_dir(data)
        .log_dir(log)
        .component("zookeeper", "3.5.6")
        .config("stackctl.note", note)
        .host("a", "10.0.0.1", &["zookeeper"])
        .temp();
    let out = tempfile::tempdir().unwrap();
    let doc = Run::new(&["plan", "--json", "--out"])
        .arg(out.path())
        .inventory(&path)
        .ok()
        .json();
    assert_eq!(doc["hosts"][0]["java_home"], java);
    let files: Vec<&str> = doc["hosts"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&format!("{data}/zookeeper/myid").as_str()),
        "{files:#?}"
    );
    let zoo = files
        .iter()
        .find(|f| f.starts_with(&format!("{install}/etc/")) && f.ends_with("/zoo.cfg"))
        .unwrap_or_else(|| panic!("zoo.cfg under {install}: {files:#?}"));
    let zoo = std::fs::File::open(out.path().join("a").join(&zoo[1..])).unwrap();
    let props = java_properties::read(std::io::BufReader::new(zoo)).unwrap();
    assert_eq!(props["stackctl.note"], note);
    assert_eq!(props["dataDir"], format!("{data}/zookeeper"));
}

#[test]
fn detailed_exitcode_needs_live() {
    let ran = Run::new(&["plan", "--detailed-exitcode"])
        .inventory("inventories/seed-3node.yml")
        .code(2);
    let err = ran.stderr();
    assert!(
        err.contains("--detailed-exitcode") && err.contains("--live"),
        "{err}"
    );
}

#[test]
fn detailed_exitcode_keeps_the_error_codes() {
    // A compatibility error stops plan before it connects: exit 1, not "changes present".
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-8, java_version: "1.8.0_231" }
components:
  zookeeper: { version: "3.4.14" }
  kafka: { version: "3.6.0", scala: "2.13", mode: zookeeper }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
"#,
    );
    Run::new(&["plan", "--live", "--detailed-exitcode"])
        .inventory(&path)
        .code(1);
    // Bad arguments stay 2.
    Run::new(&["plan", "--live", "--detailed-exitcode", "--bogus"])
        .inventory("inventories/seed-3node.yml")
        .code(2);
}

#[test]
fn the_changes_code_collides_with_no_other_exit_code() {
    use stackctl::exit::*;
    let others = [OK, FAILED, INVALID, PREFLIGHT, LOCKED, INTERRUPTED];
    assert!(!others.contains(&CHANGES));
    assert_eq!(CHANGES, 10);
    // Clear of sysexits (64-78) and of the shell's own codes (126 and up).
    const { assert!(CHANGES < 64) };
}

#[test]
fn help_lists_the_exit_codes() {
    Run::new(&["--help"])
        .ok()
        .stdout_has("10 plan --live --detailed-exitcode: changes present")
        .stdout_has("130 interrupted");
}
