//! The acks=all load generator (tests/testbed/KafkaLoad.java) on a bed host: compiled here
//! against the Kafka 2.4.0 client jar of the cached archive (a client every broker from 2.4 to
//! 4.x serves: Kafka 4.0 keeps the protocol versions of clients 2.1 and later, KIP-896), then
//! uploaded with its own copy of the client jars, so it never runs from an installation under
//! test. Every remote step returns or checks its status; every wait is bounded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::bed::*;

/// The load generator installed under `work` on `host`.
pub struct Load {
    pub host: &'static str,
    pub work: String,
    pub bootstrap: String,
}

impl Load {
    pub fn java(&self) -> String {
        let w = &self.work;
        format!("{JDK11}/bin/java -Xmx256m -Dlog4j.configuration=file:{w}/tools-log4j.properties -cp '{w}/lib/*:{w}/classes' KafkaLoad")
    }

    pub fn install(host: &'static str, work: &str, bootstrap: &str) -> Load {
        let tmp = tempfile::tempdir().unwrap();
        let st = Command::new("tar")
            .args(["xzf", cache().join(KAFKA_ARCHIVE).to_str().unwrap(), "-C"])
            .arg(tmp.path())
            .args([
                "--wildcards",
                "*/libs/*.jar",
                "*/config/tools-log4j.properties",
            ])
            .status()
            .unwrap();
        assert!(st.success(), "extract the 2.4.0 client jars");
        let top = tmp.path().join("kafka_2.12-2.4.0");
        let stage = tmp.path().join("stage");
        std::fs::create_dir_all(stage.join("lib")).unwrap();
        for e in std::fs::read_dir(top.join("libs")).unwrap() {
            let p = e.unwrap().path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if [
                "kafka-clients-",
                "slf4j-api-",
                "slf4j-log4j12-",
                "log4j-",
                "lz4-",
                "snappy-",
                "zstd-",
            ]
            .iter()
            .any(|k| n.starts_with(k))
            {
                std::fs::copy(&p, stage.join("lib").join(&n)).unwrap();
            }
        }
        std::fs::copy(
            top.join("config/tools-log4j.properties"),
            stage.join("tools-log4j.properties"),
        )
        .unwrap();
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/KafkaLoad.java");
        let o = Command::new("/usr/lib/jvm/java-17-openjdk-amd64/bin/javac")
            .args(["--release", "11", "-Xlint:all", "-Werror", "-d"])
            .arg(stage.join("classes"))
            .arg("-cp")
            .arg(top.join("libs/kafka-clients-2.4.0.jar"))
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "javac: {}", text(&o));
        let tar = Command::new("tar")
            .args(["cf", "-", "-C", stage.to_str().unwrap(), "."])
            .output()
            .unwrap();
        assert!(tar.status.success(), "tar the load generator");
        let mut child = Command::new("ssh")
            .args(["-F", bed().join("ssh_config").to_str().unwrap(), host])
            .arg(format!("rm -rf {work} && mkdir -p {work} && tar xf - -C {work} && ls {work}/classes/KafkaLoad.class"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
        let st = child.wait().unwrap();
        assert!(st.success(), "upload the load generator to {host}: {st}");
        Load {
            host,
            work: work.to_string(),
            bootstrap: bootstrap.to_string(),
        }
    }

    /// Creates `topic` (replication 3, min.insync.replicas 2), all partitions led and in sync.
    pub fn create(&self, topic: &str, partitions: usize) {
        let out = ssh_ok(
            self.host,
            &format!(
                "timeout 200 {} create {} {topic} {partitions} 2>{}/create.log",
                self.java(),
                self.bootstrap,
                self.work
            ),
        );
        assert!(out.contains(&format!("CREATED {topic}")), "{out}");
    }

    /// Starts the idempotent acks=all producer in the background; its pid.
    pub fn start_producer(&self, topic: &str, seconds: u64, rate: u64) -> Producer {
        let w = &self.work;
        let started = ssh_ok(
            self.host,
            &format!(
                "cd {w} || exit 1; rm -f {w}/acked {w}/acked.stop {w}/acked.summary; nohup {} produce {} {topic} {seconds} {w}/acked {rate} > {w}/produce.log 2>&1 < /dev/null & echo $!",
                self.java(),
                self.bootstrap
            ),
        );
        let pid = started.trim().to_string();
        assert!(pid.parse::<u32>().is_ok(), "producer pid: {started:?}");
        let cmdline = ssh_ok(self.host, &format!("tr '\\0' ' ' < /proc/{pid}/cmdline"));
        assert!(cmdline.contains("KafkaLoad produce"), "{pid}: {cmdline}");
        Producer {
            host: self.host,
            work: w.clone(),
            pid: Some(pid),
        }
    }

    pub fn acked(&self) -> u64 {
        ssh_ok(
            self.host,
            &format!("cat {}/acked 2>/dev/null | wc -l", self.work),
        )
        .trim()
        .parse()
        .unwrap()
    }

    /// Waits for at least `n` acknowledged writes.
    pub fn wait_acked(&self, n: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let have = self.acked();
            if have >= n {
                return have;
            }
            assert!(
                Instant::now() < deadline,
                "{n} acked writes: only {have} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Reads the whole topic back and compares it with every acknowledged write.
    pub fn check(&self, topic: &str) -> BTreeMap<String, String> {
        let r = ssh(
            self.host,
            &format!(
                "timeout 320 {} check {} {topic} {}/acked 2>{}/check.log",
                self.java(),
                self.bootstrap,
                self.work,
                self.work
            ),
        );
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with("CHECK "))
            .unwrap_or_else(|| panic!("no CHECK line: {r}"))
            .to_string();
        key_values(&line["CHECK ".len()..].replace(' ', "\n"))
    }
}

/// The running producer: stopped (stop file, then by pid if it must) when dropped.
pub struct Producer {
    pub host: &'static str,
    pub work: String,
    pub pid: Option<String>,
}

impl Producer {
    /// Asks the producer to stop, waits for it (bounded), returns its summary.
    pub fn stop(&mut self) -> BTreeMap<String, String> {
        let Some(pid) = self.pid.take() else {
            return BTreeMap::new();
        };
        ssh_ok(self.host, &format!("touch {}/acked.stop", self.work));
        let deadline = Instant::now() + Duration::from_secs(200);
        loop {
            let r = ssh(self.host, &format!("kill -0 {pid} 2>/dev/null"));
            assert!(matches!(r.code, Some(0) | Some(1)), "{r}");
            if r.code == Some(1) {
                break;
            }
            assert!(Instant::now() < deadline, "the producer did not exit");
            std::thread::sleep(Duration::from_millis(500));
        }
        let s = ssh_ok(
            self.host,
            &format!(
                "cat {w}/acked.summary || {{ tail -n 40 {w}/produce.log; exit 1; }}",
                w = self.work
            ),
        );
        key_values(&s)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = ssh(
                self.host,
                &format!("if tr '\\0' ' ' < /proc/{pid}/cmdline 2>/dev/null | grep -q KafkaLoad; then kill {pid}; sleep 2; kill -9 {pid} 2>/dev/null; fi; true"),
            );
        }
    }
}

/// `key=value` lines.
pub fn key_values(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
