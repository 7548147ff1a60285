//! `plan --live --detailed-exitcode` on the test bed, as a CI pipeline uses it: exit 10 while
//! `up` has something to do (a fresh cluster, then one zoo.cfg setting changed), 0 right after
//! `up`. A ZooKeeper-only cluster on the bed's three hosts. Needs a running bed
//! (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.

mod common;

use std::path::Path;

use common::bed::*;

/// `plan --live --detailed-exitcode`: its exit code, with the whole output for a failure.
fn detailed(inv: &Path) -> (Option<i32>, String) {
    let out = stackctl_plan_live(inv, &["--detailed-exitcode"]);
    (out.status.code(), text(&out))
}

#[test]
#[ignore]
fn detailed_exitcode_is_10_while_up_has_work_and_0_after_it() {
    clean_hosts();
    let _clean = CleanHosts;
    let dir = tempfile::tempdir().unwrap();
    let zk = || zk_alone("dexit").hosts(&HOSTS, &["zookeeper"]);
    let inv = zk().write(dir.path());

    // Nothing installed and no lock file yet: changes on every host.
    let (code, out) = detailed(&inv);
    assert_eq!(code, Some(stackctl::exit::CHANGES), "before up:\n{out}");
    assert!(out.contains("3 of 3 hosts would change."), "{out}");

    let up = stackctl(&["up"], &inv);
    assert_eq!(up.status.code(), Some(0), "up:\n{}", text(&up));

    // What `up` left is what the plan wants: no changes, exit 0.
    let (code, out) = detailed(&inv);
    assert_eq!(code, Some(0), "after up:\n{out}");
    assert!(out.contains("0 of 3 hosts would change."), "{out}");

    // One zoo.cfg setting changed: every server's zoo.cfg differs (and would restart).
    let inv = zk().config("tickTime", "3000").write(dir.path());
    let (code, out) = detailed(&inv);
    assert_eq!(
        code,
        Some(stackctl::exit::CHANGES),
        "after a change:\n{out}"
    );
    assert!(out.contains("zoo.cfg"), "{out}");
    assert!(out.contains("3 of 3 hosts would change."), "{out}");

    // The error codes stay what they are: an unreachable host is a preflight error (3).
    let unreachable = unreachable_inventory(dir.path());
    let (code, out) = detailed(&unreachable);
    assert_eq!(code, Some(stackctl::exit::PREFLIGHT), "unreachable:\n{out}");
}
