//! Classpath conflicts on real hosts (issue 13): after `up`, a jar of another version dropped
//! into a daemon's lib dir on one host makes `verify` fail for that host and service, naming
//! both jars; removed, `verify` passes again. Needs a running bed (`testbed.sh up 3`); run by
//! tests/testbed/run-e2e.sh (about 3 min).

mod common;

use common::bed::*;

const HADOOP: &str = "/opt/stack/hadoop-3.3.6";
const HBASE: &str = "/opt/stack/hbase-2.5.10-hadoop3";

fn status(r: &serde_json::Value, host: &str, service: &str) -> (String, String) {
    check(r, host, service, "classpath")
}

#[test]
#[ignore]
fn a_second_version_of_a_jar_on_one_host_fails_verify_there_naming_both_jars() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = whole_stack("cp").write(dir.path());
    let out = stackctl(&["up"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    for (host, svc) in [
        ("host1", "namenode"),
        ("host2", "hbase-regionserver"),
        ("host3", "kafka"),
    ] {
        let (st, ev) = status(&r, host, svc);
        assert!(
            st == "pass" && ev.contains("one version of each artifact"),
            "{host} {svc}: {ev}"
        );
    }

    // host1: HBase's older hadoop-common beside Hadoop's own, in Hadoop's common/lib; host2:
    // the cluster's hadoop-common dropped into HBase's lib/ (the classic trap).
    let old = format!("{HADOOP}/share/hadoop/common/lib/hadoop-common-3.2.4.jar");
    let trap = format!("{HBASE}/lib/hadoop-common-3.3.6.jar");
    ssh_ok(
        "host1",
        &format!("cp {HBASE}/lib/hadoop-common-3.2.4.jar {old}"),
    );
    ssh_ok(
        "host2",
        &format!("cp {HADOOP}/share/hadoop/common/hadoop-common-3.3.6.jar {trap}"),
    );
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(1), "{r:#}");
    for svc in ["namenode", "datanode", "resourcemanager", "nodemanager"] {
        let (st, ev) = status(&r, "host1", svc);
        assert_eq!(st, "fail", "host1 {svc}: {ev}");
        assert!(
            ev.contains(&format!("2 versions of hadoop-common: {HADOOP}/share/hadoop/common/hadoop-common-3.3.6.jar and {old}")),
            "host1 {svc}: {ev}"
        );
    }
    let (st, ev) = status(&r, "host2", "hbase-regionserver");
    assert_eq!(st, "fail", "{ev}");
    assert!(
        ev.contains(&format!(
            "2 versions of hadoop-common: {HBASE}/lib/hadoop-common-3.2.4.jar and {trap}"
        )),
        "{ev}"
    );
    // Only there: host2's Hadoop and host3 are untouched.
    assert_eq!(status(&r, "host2", "datanode").0, "pass");
    assert_eq!(status(&r, "host1", "hbase-master").0, "pass");
    for svc in [
        "datanode",
        "nodemanager",
        "hbase-regionserver",
        "kafka",
        "zookeeper",
    ] {
        assert_eq!(status(&r, "host3", svc).0, "pass", "host3 {svc}");
    }

    ssh_ok("host1", &format!("rm {old}"));
    ssh_ok("host2", &format!("rm {trap}"));
    let (code, r) = verify(&inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    assert_eq!(status(&r, "host1", "namenode").0, "pass");
    assert_eq!(status(&r, "host2", "hbase-regionserver").0, "pass");
    let out = stackctl(&["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
