//! Bounded remote work on the test bed (real sshd): a host whose remote command hangs makes
//! `up` (and `verify`) fail within `--command-timeout`, naming the host and the step, and
//! leaves nothing of that command running on the host.
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.
//! Every wait is bounded: stackctl's own timeouts, and polls with a fixed number of rounds.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::bed::{bed, inventory, stackctl, text};

/// Seconds given to `--command-timeout`.
const TIMEOUT: u64 = 5;
/// What a run may take beyond its command timeout: connecting (well under a second on the
/// bed) and a loaded machine.
const MARGIN: Duration = Duration::from_secs(20);

/// `ssh -F <bed>/ssh_config HOST CMD`, the whole output (the bed helper keeps only stdout).
fn ssh(host: &str, cmd: &str) -> Output {
    Command::new("ssh")
        .args(["-F", bed().join("ssh_config").to_str().unwrap(), host, cmd])
        .output()
        .expect("run ssh")
}

/// A JDK on host2 whose `bin/java` sleeps for 600 s: the facts script's `java -version` hangs.
/// Removed on drop, with anything of it still running (by PID).
struct HangingJava {
    home: String,
}

impl HangingJava {
    fn install() -> HangingJava {
        let home = format!("/tmp/stackctl-e2e-hang-{}", std::process::id());
        let o = ssh(
            "host2",
            &format!(
                "set -e; mkdir -p {home}/bin; printf '#!/bin/sh\\nsleep 600\\n' > {home}/bin/java; chmod 755 {home}/bin/java"
            ),
        );
        assert!(o.status.success(), "creating {home} on host2: {o:?}");
        HangingJava { home }
    }

    /// PIDs on host2 of the fake java and of any `sleep 600` (the bracket keeps the pgrep
    /// from matching the shell that runs it). The ssh call itself must succeed.
    fn leftovers(&self) -> Vec<u32> {
        // The home's last path component, bracketed: `[s]tackctl-e2e-hang-123`.
        let pat = format!("[s]tackctl-e2e-hang-{}", std::process::id());
        let o = ssh(
            "host2",
            &format!("pgrep -f '{pat}'; pgrep -f '[s]leep 600'; echo pgrep-done"),
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success() && out.contains("pgrep-done"),
            "ssh host2 pgrep failed: {o:?}"
        );
        let mut pids: Vec<u32> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
        pids.sort();
        pids.dedup();
        pids
    }

    /// Polls (bounded) until nothing is left; returns what is still there at the end.
    fn wait_clean(&self, within: Duration) -> Vec<u32> {
        let t0 = Instant::now();
        loop {
            let left = self.leftovers();
            if left.is_empty() || t0.elapsed() >= within {
                return left;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for HangingJava {
    fn drop(&mut self) {
        let pids: Vec<String> = self.leftovers().iter().map(|p| p.to_string()).collect();
        if !pids.is_empty() {
            let _ = ssh("host2", &format!("kill -9 {}", pids.join(" ")));
        }
        let _ = ssh("host2", &format!("rm -rf {}", self.home));
    }
}

#[test]
#[ignore]
fn a_host_whose_remote_command_hangs_fails_up_within_its_timeout_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let java = HangingJava::install();
    assert!(
        java.wait_clean(Duration::ZERO).is_empty(),
        "host2 already runs a sleep 600"
    );
    let inv = inventory(dir.path(), &[], &java.home);

    let t0 = Instant::now();
    let out = stackctl(&["up", "--command-timeout", &TIMEOUT.to_string()], &inv);
    let took = t0.elapsed();
    let all = text(&out);
    eprintln!("up failed after {took:?}:\n{all}");
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert_eq!(out.status.code(), Some(3), "a preflight failure: {all}");
    // It waited for the command timeout, and not much longer.
    assert!(took >= Duration::from_secs(TIMEOUT), "{took:?}: {all}");
    assert!(
        took < Duration::from_secs(TIMEOUT) + MARGIN,
        "{took:?}: {all}"
    );
    assert!(
        all.contains(&format!(
            "host2: gathering facts: no answer within {TIMEOUT} s"
        )),
        "{all}"
    );
    for other in ["host1", "host3"] {
        assert!(
            !all.contains(&format!("{other}: gathering facts")),
            "{other} is not to blame: {all}"
        );
    }
    // The probe works (it sees a directory every host has) before it says "nothing written".
    assert!(common::bed::exists("host1", "/opt"), "the probe sees /opt");
    assert!(
        !common::bed::exists("host1", "/opt/stack/etc"),
        "preflight wrote nothing"
    );
    // The host's own guard ends the hung script and its background java within a few
    // seconds of our deadline (`timeout` TERM at +2 s, KILL 5 s later).
    let left = java.wait_clean(Duration::from_secs(20));
    assert!(
        left.is_empty(),
        "still running on host2 {:?} after up returned: {left:?}",
        t0.elapsed()
    );
    eprintln!("host2 clean {:?} after up started", t0.elapsed());
}

#[test]
#[ignore]
fn verify_reports_a_hung_host_within_its_timeout_and_checks_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let java = HangingJava::install();
    let inv = inventory(dir.path(), &[], &java.home);
    let cfg = bed().join("ssh_config");
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args([
            "verify",
            "--json",
            "--command-timeout",
            &TIMEOUT.to_string(),
        ])
        .arg("-i")
        .arg(&inv)
        .args(["--ssh-config", cfg.to_str().unwrap()])
        .output()
        .expect("run stackctl verify");
    let took = t0.elapsed();
    eprintln!("verify returned {:?} after {took:?}", out.status.code());
    assert!(
        took >= Duration::from_secs(TIMEOUT),
        "{took:?}: {}",
        text(&out)
    );
    assert!(
        took < Duration::from_secs(TIMEOUT) + MARGIN,
        "{took:?}: {}",
        text(&out)
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json is not JSON ({e}): {}", text(&out)));
    common::schema::assert_valid(&report, "verify");
    let (status, evidence) = common::bed::check(&report, "host2", "ssh", "reachable");
    assert_eq!(status, "fail", "{evidence}");
    assert!(
        evidence.contains(&format!("gathering facts: no answer within {TIMEOUT} s")),
        "{evidence}"
    );
    for other in ["host1", "host3"] {
        assert!(
            !report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["host"] == other && c["service"] == "ssh" && c["status"] == "fail"),
            "{other} is reachable: {report:#}"
        );
    }
    let left = java.wait_clean(Duration::from_secs(20));
    assert!(left.is_empty(), "still running on host2: {left:?}");
}
