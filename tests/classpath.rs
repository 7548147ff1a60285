//! Classpath conflicts in `plan`: two versions of one artifact on a daemon's classpath, read
//! from the archives (issue 13). The listings under tests/fixtures/classpath are the test
//! distributions' real jar lists: the old mixed assemblies and the fixed ones.

mod common;

use std::path::{Path, PathBuf};

use common::inv::Inventory;
use stackctl::compat::classpath;

fn fixture(name: &str) -> Vec<String> {
    let p = common::root().join("tests/fixtures/classpath").join(name);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn tarball(path: &Path, paths: &[String]) -> PathBuf {
    std::fs::write(path, common::empty_tarball(paths)).unwrap();
    path.to_path_buf()
}

/// The whole stack on two hosts, every component from a tarball of the given listing.
fn stack(dir: &Path, hadoop: &[String], hbase: &[String]) -> PathBuf {
    let zk = tarball(
        &dir.join("zk.tar.gz"),
        &fixture("apache-zookeeper-3.5.6-bin.jars"),
    );
    let kafka = tarball(&dir.join("kafka.tgz"), &fixture("kafka_2.12-2.4.0.jars"));
    let hadoop = tarball(&dir.join("hadoop.tar.gz"), hadoop);
    let hbase = tarball(&dir.join("hbase.tar.gz"), hbase);
    Inventory::new("cp")
        .java_home("/j")
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(&zk)
        .component("kafka", "2.4.0")
        .scala("2.12")
        .archive(&kafka)
        .component("hadoop", "3.3.6")
        .archive(&hadoop)
        .component("hbase", "2.5.10-hadoop3")
        .archive(&hbase)
        .host(
            "a",
            "10.0.0.1",
            &[
                "zookeeper",
                "kafka",
                "namenode",
                "datanode",
                "resourcemanager",
                "nodemanager",
                "hbase-master",
            ],
        )
        .host(
            "b",
            "10.0.0.2",
            &["datanode", "nodemanager", "hbase-regionserver"],
        )
        .write_to(&dir.join("inventory.yml"))
}

fn plan_json(inv: &Path) -> (Option<i32>, serde_json::Value, String) {
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap(), "--json"]);
    let doc = serde_json::from_str(&common::stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", common::stdout(&out), common::stderr(&out)));
    (out.status.code(), doc, common::stderr(&out))
}

fn conflicts(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    doc["classpath_conflicts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_old_mixed_hadoop_is_found_and_the_fixed_assemblies_pass() {
    let d = tempfile::tempdir().unwrap();
    let inv = stack(
        d.path(),
        &fixture("hadoop-3.3.6-mixed.jars"),
        &fixture("hbase-2.5.10-hadoop3.jars"),
    );
    let (code, doc, err) = plan_json(&inv);
    assert_eq!(code, Some(1), "a conflict is an error: {doc:#}{err}");
    let found = conflicts(&doc);
    let netty = found
        .iter()
        .find(|c| c["artifact"] == "netty-common")
        .unwrap_or_else(|| panic!("netty-common reported: {doc:#}"));
    assert_eq!(netty["component"], "hadoop");
    assert_eq!(
        strs(&netty["jars"]),
        [
            "hadoop-3.3.6/share/hadoop/common/lib/netty-common-4.1.63.Final.jar",
            "hadoop-3.3.6/share/hadoop/hdfs/lib/netty-common-4.1.89.Final.jar"
        ]
    );
    let roles = strs(&netty["roles"]);
    for r in ["namenode", "datanode", "resourcemanager", "nodemanager"] {
        assert!(roles.iter().any(|x| x == r), "{r} in {roles:?}");
    }
    assert_eq!(strs(&netty["hosts"]), ["a", "b"]);
    // Only Hadoop's archive is mixed; the natives of 4.1.89 (per arch) beside their classes
    // are one version.
    assert!(
        found.iter().all(|c| c["component"] == "hadoop"),
        "{found:#?}"
    );
    assert!(!found
        .iter()
        .any(|c| c["artifact"] == "netty-transport-native-epoll"
            && strs(&c["jars"]).iter().all(|j| j.contains("4.1.89"))));
    let diag = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap_or("")
                .contains("netty-common-4.1.63.Final.jar")
        })
        .unwrap_or_else(|| panic!("a diagnostic names the jars: {doc:#}"));
    assert_eq!(diag["field"], "components.hadoop.archive");
    let msg = diag["message"].as_str().unwrap();
    assert!(
        msg.contains("HDFS NameNode") && msg.contains("HDFS DataNode"),
        "{msg}"
    );
    assert!(
        msg.contains("hadoop-3.3.6/share/hadoop/hdfs/lib/netty-common-4.1.89.Final.jar"),
        "{msg}"
    );

    // The fixed assemblies (recipe 6): nothing to report.
    let d = tempfile::tempdir().unwrap();
    let inv = stack(
        d.path(),
        &fixture("hadoop-3.3.6.jars"),
        &fixture("hbase-2.5.10-hadoop3.jars"),
    );
    let (code, doc, err) = plan_json(&inv);
    assert_eq!(code, Some(0), "{doc:#}{err}");
    assert!(conflicts(&doc).is_empty(), "{doc:#}");
}

#[test]
fn the_old_mixed_hbase_is_found_in_text_too() {
    let d = tempfile::tempdir().unwrap();
    let inv = stack(
        d.path(),
        &fixture("hadoop-3.3.6.jars"),
        &fixture("hbase-2.5.10-hadoop3-mixed.jars"),
    );
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        common::flat(&text).contains("the classpath of HBase master, HBase RegionServer holds 2 versions of netty-transport-native-epoll: hbase-2.5.10-hadoop3/lib/netty-transport-native-epoll-4.1.105.Final.jar and hbase-2.5.10-hadoop3/lib/netty-transport-native-epoll-4.1.89.Final-linux-aarch_64.jar"),
        "{text}"
    );
}

/// The classic trap: the cluster's hadoop-common dropped into HBase's lib/ beside its own.
#[test]
fn hadoop_jars_dropped_into_hbase_lib_are_found() {
    let d = tempfile::tempdir().unwrap();
    let mut hbase = fixture("hbase-2.5.10-hadoop3.jars");
    assert!(hbase
        .iter()
        .any(|j| j == "hbase-2.5.10-hadoop3/lib/hadoop-common-3.2.4.jar"));
    hbase.push("hbase-2.5.10-hadoop3/lib/hadoop-common-3.3.6.jar".into());
    let inv = stack(d.path(), &fixture("hadoop-3.3.6.jars"), &hbase);
    let (code, doc, _) = plan_json(&inv);
    assert_eq!(code, Some(1));
    let found = conflicts(&doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["component"], "hbase");
    assert_eq!(found[0]["artifact"], "hadoop-common");
    assert_eq!(
        strs(&found[0]["roles"]),
        ["hbase-master", "hbase-regionserver"]
    );
    assert_eq!(
        strs(&found[0]["jars"]),
        [
            "hbase-2.5.10-hadoop3/lib/hadoop-common-3.2.4.jar",
            "hbase-2.5.10-hadoop3/lib/hadoop-common-3.3.6.jar"
        ]
    );
}

/// A small archive: two versions of one artifact in one daemon's classpath dirs (ZooKeeper
/// reads its top directory and lib/), a third version outside it (not on the classpath).
#[test]
fn a_small_archive_with_two_versions_on_one_classpath() {
    let d = tempfile::tempdir().unwrap();
    let zk: Vec<String> = [
        "zookeeper-3.4.14/zookeeper-3.4.14.jar",
        "zookeeper-3.4.14/lib/jline-0.9.94.jar",
        "zookeeper-3.4.14/lib/netty-3.10.6.Final.jar",
        "zookeeper-3.4.14/lib/netty-all-4.1.89.Final.jar",
        "zookeeper-3.4.14/slf4j-api-1.7.25.jar",
        "zookeeper-3.4.14/lib/slf4j-api-1.6.1.jar",
        "zookeeper-3.4.14/contrib/jline-2.11.jar",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let zk = tarball(&d.path().join("zk.tar.gz"), &zk);
    let inv = Inventory::new("cp")
        .java_home("/j")
        .java_version("11")
        .component("zookeeper", "3.4.14")
        .archive(&zk)
        .host("a", "10.0.0.1", &["zookeeper"])
        .write_to(&d.path().join("inventory.yml"));
    let (code, doc, _) = plan_json(&inv);
    assert_eq!(code, Some(1), "{doc:#}");
    let found = conflicts(&doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["artifact"], "slf4j-api");
    assert_eq!(
        strs(&found[0]["jars"]),
        [
            "zookeeper-3.4.14/slf4j-api-1.7.25.jar",
            "zookeeper-3.4.14/lib/slf4j-api-1.6.1.jar"
        ]
    );
}

/// The pure check over the fixtures, directory by directory as Hadoop's daemons read them.
#[test]
fn fixture_listings_through_the_pure_check() {
    let hadoop_cp = |home: &str| -> Vec<String> {
        let mut cp = Vec::new();
        for d in ["common", "hdfs", "yarn", "mapreduce"] {
            cp.push(format!("{home}/share/hadoop/{d}/*"));
            cp.push(format!("{home}/share/hadoop/{d}/lib/*"));
        }
        cp
    };
    let home = "/opt/hadoop-3.3.6".to_string();
    let mixed = classpath::on_classpath(
        &hadoop_cp(&home),
        &[(
            home.clone(),
            classpath::below_top(&fixture("hadoop-3.3.6-mixed.jars")),
        )],
    );
    let found = classpath::conflicts(&mixed);
    let names: Vec<&str> = found.iter().map(|c| c.artifact.as_str()).collect();
    for a in [
        "netty-common",
        "netty-buffer",
        "netty-transport-native-epoll",
        "guava",
    ] {
        assert!(names.contains(&a), "{a} in {names:?}");
    }
    let fixed = classpath::on_classpath(
        &hadoop_cp(&home),
        &[(
            home.clone(),
            classpath::below_top(&fixture("hadoop-3.3.6.jars")),
        )],
    );
    assert!(fixed.len() > 150, "{}", fixed.len());
    assert_eq!(classpath::conflicts(&fixed), vec![]);
    for f in [
        "hbase-2.5.10-hadoop3.jars",
        "kafka_2.12-2.4.0.jars",
        "apache-zookeeper-3.5.6-bin.jars",
    ] {
        let jars = fixture(f);
        let parsed = jars
            .iter()
            .filter(|j| classpath::parse_jar(j).is_some())
            .count();
        assert_eq!(parsed, jars.len(), "every jar of {f} names a version");
        assert_eq!(classpath::conflicts(&jars), vec![], "{f}");
    }
}
