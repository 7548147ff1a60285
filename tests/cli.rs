//! The CLI as an operator and a script see it: output forms, exit codes, --out, completions.

mod common;

#[test]
fn plan_text_shows_hosts_roles_compat_stages_and_files() {
    let out = common::stackctl(&["plan", "-i", "inventories/seed-3node.yml", "--locked"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    for needle in [
        "HOST   ADDRESS         ZK  KAFKA  NN  DN  RM  NM  HMASTER  HRS  IDS",
        "node1  192.168.56.101  ●   ●      ●   ●   ●   ●   ●        ·    broker.id=1 myid=1",
        "ok      kafka 2.4.0's zookeeper-client 3.5.6 with zookeeper 3.5.6: supported",
        "1. ZooKeeper server on node1, node2, node3",
        "2. Kafka broker on node1, node2, node3 after zookeeper",
        "/data/stack/zookeeper/myid",
        "Plan: 3 hosts, 8 stages, 68 files; 0 errors,",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
}

#[test]
fn show_files_prints_contents() {
    let out = common::stackctl(&[
        "plan",
        "-i",
        "inventories/kafka-3node.yml",
        "--locked",
        "--show-files",
    ]);
    let text = common::stdout(&out);
    assert!(
        text.contains("      | server.2=10.30.0.2:2888:3888"),
        "{text}"
    );
    assert!(
        text.contains("      | auto.create.topics.enable=false"),
        "{text}"
    );
}

#[test]
fn json_is_one_document_with_the_same_facts() {
    let out = common::stackctl(&[
        "plan",
        "-i",
        "inventories/seed-3node.yml",
        "--locked",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).expect("valid JSON");
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
    let out = common::stackctl(&[
        "plan",
        "-i",
        "inventories/seed-3node.yml",
        "--locked",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
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
  kafka: { version: "3.6.0", scala: "2.13" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
"#,
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        text.contains(
            "error   kafka 3.6.0's zookeeper-client 3.8.2 with zookeeper 3.4.14: not supported"
        ),
        "{text}"
    );
    assert!(text.contains("KIP-902"), "cites its source:\n{text}");
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
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
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
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stdout(&out).contains("warning zookeeper 3.5.6 on JDK 11: unconfirmed"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn missing_java_version_says_jdk_checks_are_skipped() {
    let (_d, path) = common::inventory("cluster: t\ndefaults: { java_home: /j }\ncomponents:\n  zookeeper: { version: \"3.8.4\" }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper] }\n");
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stdout(&out).contains("JDK checks skipped"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = common::stackctl(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let text = common::stdout(&out);
        assert!(
            text.contains("stackctl") && text.contains("show-files"),
            "{shell}: {text}"
        );
    }
}

#[test]
fn rules_on_a_product_against_the_zookeeper_server_are_applied() {
    // Kafka 4.x has no ZooKeeper mode at all; HBase 1.0+ needs ZooKeeper 3.4 or later.
    let (_d, path) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j, java_version: \"17\" }\ncomponents:\n  zookeeper: { version: \"3.8.4\" }\n  kafka: { version: \"4.1.0\", scala: \"2.13\" }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }\n",
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out).contains("Kafka 4.1.0 has no ZooKeeper mode"),
        "{}",
        common::stdout(&out)
    );
    let (_d, path) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j, java_version: \"8\" }\ncomponents:\n  zookeeper: { version: \"3.3.6\" }\n  hadoop: { version: \"2.7.7\" }\n  hbase: { version: \"1.7.2\" }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, namenode, datanode, hbase-master, hbase-regionserver] }\n",
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stdout(&out));
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
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
    let (_d, path) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j }\ncomponents:\n  zookeeper: { version: \"3.5.6\" }\n  kafka: { version: \"2.4.0\", config: { default.replication.factor: 1, transaction.state.log.replication.factor: 1 } }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }\n  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka] }\n  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka] }\n",
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap(), "--show-files"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("| min.insync.replicas=1")
            && text.contains("| transaction.state.log.min.isr=1"),
        "{text}"
    );
}

#[test]
fn overriding_listeners_alone_warns_about_the_advertised_address() {
    let (_d, path) = common::inventory(
        "cluster: t\ndefaults: { java_home: /j }\ncomponents:\n  zookeeper: { version: \"3.5.6\" }\n  kafka: { version: \"2.4.0\", config: { listeners: \"PLAINTEXT://0.0.0.0:9093\" } }\nhosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }\n",
    );
    let out = common::stackctl(&["plan", "-i", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stdout(&out)
            .contains("`listeners` is overridden but `advertised.listeners` is not"),
        "{}",
        common::stdout(&out)
    );
}
