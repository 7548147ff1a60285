//! Versions read from distributions (tarballs and unpacked directories), not from the inventory.

mod common;

use std::path::Path;

use common::inv::{line_of, Inventory};

/// A gzipped tarball holding empty files at `paths`: detection reads names, not contents.
fn tarball(path: &Path, paths: &[&str]) {
    std::fs::write(path, common::empty_tarball(paths)).unwrap();
}

fn zk_kafka(
    dir: &Path,
    zk_archive: &str,
    kafka_archive: &str,
    kafka_version: &str,
    scala: &str,
) -> std::path::PathBuf {
    Inventory::new("t")
        .java_home("/j")
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(zk_archive)
        .component("kafka", kafka_version)
        .scala(scala)
        .archive(kafka_archive)
        .host("a", "10.0.0.1", &["zookeeper", "kafka"])
        .write_to(&dir.join("inventory.yml"))
}

const ZK356: &[&str] = &[
    "apache-zookeeper-3.5.6-bin/lib/zookeeper-3.5.6.jar",
    "apache-zookeeper-3.5.6-bin/lib/zookeeper-jute-3.5.6.jar",
    "apache-zookeeper-3.5.6-bin/bin/zkServer.sh",
];
const KAFKA240: &[&str] = &[
    "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar",
    "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0-sources.jar",
    "kafka_2.12-2.4.0/libs/kafka-clients-2.4.0.jar",
    "kafka_2.12-2.4.0/libs/zookeeper-3.5.6.jar",
    "kafka_2.12-2.4.0/libs/zookeeper-jute-3.5.6.jar",
];

#[test]
fn versions_and_bundled_jars_come_from_the_archive() {
    let d = tempfile::tempdir().unwrap();
    tarball(&d.path().join("zk.tar.gz"), ZK356);
    tarball(&d.path().join("kafka.tgz"), KAFKA240);
    let inv = zk_kafka(d.path(), "zk.tar.gz", "kafka.tgz", "2.4.0", "2.12");
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let kafka = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["component"] == "kafka")
        .unwrap()
        .clone();
    assert_eq!(kafka["bundles_from"], "archive");
    assert_eq!(kafka["bundles"]["zookeeper-client"], "3.5.6");
    assert_eq!(kafka["detected"]["scala"], "2.12");
    assert_eq!(kafka["detected"]["top_dir"], "kafka_2.12-2.4.0");
}

#[test]
fn a_declared_version_that_disagrees_with_the_archive_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    tarball(&d.path().join("zk.tar.gz"), ZK356);
    tarball(
        &d.path().join("kafka.tgz"),
        &[
            "kafka_2.12-2.3.1/libs/kafka_2.12-2.3.1.jar",
            "kafka_2.12-2.3.1/libs/zookeeper-3.4.14.jar",
        ],
    );
    let inv = zk_kafka(d.path(), "zk.tar.gz", "kafka.tgz", "2.4.0", "2.12");
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(common::flat(&text).contains("error: version 2.4.0 disagrees with the archive, which holds kafka 2.3.1 (kafka_2.12-2.3.1/libs/kafka_2.12-2.3.1.jar)"), "{text}");
    let version_line = line_of(
        &std::fs::read_to_string(&inv).unwrap(),
        "version: \"2.4.0\"",
    );
    assert!(
        text.contains(&format!("inventory.yml:{version_line}:")),
        "points at the version line:\n{text}"
    );
}

#[test]
fn a_scala_mismatch_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    tarball(&d.path().join("zk.tar.gz"), ZK356);
    tarball(&d.path().join("kafka.tgz"), KAFKA240);
    let inv = zk_kafka(d.path(), "zk.tar.gz", "kafka.tgz", "2.4.0", "2.13");
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stdout(&out)
            .contains("scala 2.13 disagrees with the archive, which is built for Scala 2.12"),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn a_swapped_zookeeper_jar_is_judged_by_what_is_in_libs() {
    // Kafka 2.4.0 officially ships 3.5.6; this one carries a 3.8 client: against a 3.4 server
    // that is not supported, whatever the release notes say.
    let d = tempfile::tempdir().unwrap();
    tarball(
        &d.path().join("kafka.tgz"),
        &[
            "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar",
            "kafka_2.12-2.4.0/libs/zookeeper-3.8.4.jar",
        ],
    );
    let zkdir = d.path().join("zookeeper-3.4.14");
    std::fs::create_dir_all(zkdir.join("lib")).unwrap();
    std::fs::write(zkdir.join("zookeeper-3.4.14.jar"), "").unwrap();
    std::fs::write(zkdir.join("lib/slf4j-api-1.7.25.jar"), "").unwrap();
    let inv = Inventory::new("t")
        .java_home("/j")
        .java_version("8")
        .component("zookeeper", "3.4.14")
        .archive("zookeeper-3.4.14")
        .component("kafka", "2.4.0")
        .archive("kafka.tgz")
        .host("a", "10.0.0.1", &["zookeeper", "kafka"])
        .write_to(&d.path().join("inventory.yml"));
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap()]);
    let text = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("kafka 2.4.0's zookeeper-client 3.8.4 with zookeeper 3.4.14: not supported"),
        "{text}"
    );
}

#[test]
fn old_and_vendor_layouts_are_recognised() {
    use stackctl::compat::detect::Listing;
    use stackctl::components;
    let zk = components::find("zookeeper").unwrap();
    let l = Listing::from_files(&[
        "zookeeper-3.4.5-cdh5.3.6/zookeeper-3.4.5-cdh5.3.6.jar",
        "zookeeper-3.4.5-cdh5.3.6/lib/log4j-1.2.16.jar",
    ]);
    let det = zk.detect(&l).unwrap();
    assert_eq!(det.version.unwrap().raw, "3.4.5-cdh5.3.6");
    let l = Listing::from_files(&["zookeeper-3.5.4-beta/zookeeper-3.5.4-beta.jar"]);
    assert_eq!(zk.detect(&l).unwrap().version.unwrap().raw, "3.5.4-beta");
    let hadoop = components::find("hadoop").unwrap();
    let l = Listing::from_files(&[
        "hadoop-2.4.1/share/hadoop/common/hadoop-common-2.4.1.jar",
        "hadoop-2.4.1/share/hadoop/common/hadoop-common-2.4.1-tests.jar",
        "hadoop-2.4.1/share/hadoop/common/lib/zookeeper-3.4.5.jar",
    ]);
    let det = hadoop.detect(&l).unwrap();
    assert_eq!(det.version.unwrap().raw, "2.4.1");
    assert_eq!(det.bundles["zookeeper-client"].raw, "3.4.5");
    let hbase = components::find("hbase").unwrap();
    let l = Listing::from_files(&[
        "hbase-1.2.12/lib/hbase-server-1.2.12.jar",
        "hbase-1.2.12/lib/hadoop-common-2.5.1.jar",
        "hbase-1.2.12/lib/zookeeper-3.4.6.jar",
    ]);
    let det = hbase.detect(&l).unwrap();
    assert_eq!(det.version.unwrap().raw, "1.2.12");
    assert_eq!(det.bundles["hadoop-jars"].raw, "2.5.1");
    assert_eq!(det.bundles["zookeeper-client"].raw, "3.4.6");
    assert!(zk
        .detect(&Listing::from_files(&[
            "kafka_2.12-2.4.0/libs/kafka_2.12-2.4.0.jar"
        ]))
        .is_none());
}

#[test]
fn something_that_is_not_a_distribution_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("zk.tar.gz"), "this is not gzip").unwrap();
    tarball(&d.path().join("kafka.tgz"), &["something-else/README"]);
    let inv = zk_kafka(d.path(), "zk.tar.gz", "kafka.tgz", "2.4.0", "2.12");
    let out = common::stackctl(&["plan", "-i", inv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        text.contains("is not a tar archive")
            || text.contains("not a readable tar archive")
            || text.contains("is empty or not a tar archive"),
        "{text}"
    );
    assert!(
        text.contains("does not look like a kafka distribution"),
        "{text}"
    );
}
