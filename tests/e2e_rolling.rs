//! A rolling restart under load, on the test bed (real sshd, real JVMs): a changed Kafka property
//! while a producer writes `acks=all` the whole time. The brokers restart one at a time, the
//! controller last, each back in sync before the next goes down; no acknowledged message is lost
//! and no partition is ever without a leader, as measured by tests/testbed/KafkaLoad.java (an
//! idempotent producer that records every acknowledged write, a monitor that describes every
//! topic every 200 ms, and a checker that reads the whole topic back) and by the partitions'
//! state in ZooKeeper, read every 100 ms from this machine (leaders and ISRs as the controller
//! and the leaders write them).
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.
//! Every wait is bounded: stackctl's gate timeout, KafkaLoad's own watchdog, `timeout` on the
//! remote commands and polls with a deadline.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::bed::*;

const BOOTSTRAP: &str = "10.231.77.11:9092,10.231.77.12:9092,10.231.77.13:9092";
const TOPIC: &str = "rolling";
const PARTITIONS: usize = 6;
/// Messages per second the producer sends at most.
const RATE: u64 = 500;
/// The producer's upper bound; the test stops it (stop file) a few seconds after the roll.
const PRODUCE_SECONDS: u64 = 300;
/// On host1: KafkaLoad's classes, its copy of the client jars, its files.
const WORK: &str = "/tmp/e2e-rolling";
const KAFKA_HOME: &str = "/opt/stack/kafka_2.12-2.4.0";
/// The property the roll changes: broker-side only, it touches no topic.
const CHANGED: (&str, &str) = ("num.network.threads", "4");

fn java() -> String {
    format!("{JDK11}/bin/java -Xmx256m -Dlog4j.configuration=file:{WORK}/tools-log4j.properties -cp '{WORK}/lib/*:{WORK}/classes' KafkaLoad")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Compiles tests/testbed/KafkaLoad.java with JDK 17's javac for Java 11 against the Kafka
/// archive's client jar, and puts the classes on host1 under WORK/classes.
fn install_kafka_load() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Command::new("tar")
        .args([
            "xzf",
            cache().join(KAFKA_ARCHIVE).to_str().unwrap(),
            "-C",
            tmp.path().to_str().unwrap(),
            "--wildcards",
            "*/libs/kafka-clients-*",
        ])
        .status()
        .unwrap();
    assert!(st.success(), "extract kafka-clients");
    let jar = tmp
        .path()
        .join("kafka_2.12-2.4.0/libs/kafka-clients-2.4.0.jar");
    assert!(jar.is_file(), "{}", jar.display());
    let classes = tmp.path().join("classes");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/KafkaLoad.java");
    let o = Command::new("/usr/lib/jvm/java-17-openjdk-amd64/bin/javac")
        .args(["--release", "11", "-Xlint:all", "-Werror", "-d"])
        .arg(&classes)
        .arg("-cp")
        .arg(&jar)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "javac: {}", text(&o));
    // The classes as a tar stream into WORK/classes on host1.
    let tar = Command::new("tar")
        .args(["cf", "-", "-C", classes.to_str().unwrap(), "."])
        .output()
        .unwrap();
    assert!(tar.status.success(), "tar the classes");
    let mut child = Command::new("ssh")
        .args([
            "-F",
            bed().join("ssh_config").to_str().unwrap(),
            "host1",
            &format!("mkdir -p {WORK}/classes && tar xf - -C {WORK}/classes"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let st = child.wait().unwrap();
    assert!(st.success(), "upload the classes to host1: {st}");
    // The client's own copy of the jars it needs, so the load generator does not run from the
    // installation under test.
    ssh_ok("host1", &format!("mkdir -p {WORK}/lib && cd {KAFKA_HOME}/libs && cp kafka-clients-*.jar slf4j-api-*.jar slf4j-log4j12-*.jar log4j-*.jar lz4-*.jar snappy-*.jar zstd-*.jar {WORK}/lib/ && cp {KAFKA_HOME}/config/tools-log4j.properties {WORK}/ && ls {WORK}/classes/KafkaLoad.class"));
}

/// `key=value` lines.
fn key_values(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn num(m: &BTreeMap<String, String>, k: &str) -> u64 {
    m.get(k)
        .unwrap_or_else(|| panic!("no {k} in {m:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{k} is not a number in {m:?}"))
}

/// Polls `f` every 500 ms until it returns Some, at most `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {}s",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn pid(host: &str, role: &str) -> String {
    ssh_ok(host, &format!("cat /data/stack/run/{role}.pid"))
        .trim()
        .to_string()
}

/// When the process `pid` on `host` started, in clock ticks since boot (/proc/PID/stat field
/// 22). The bed's hosts share one kernel, so these compare across hosts.
fn start_ticks(host: &str, pid: &str) -> u64 {
    // The command name (field 2) is "(java)": no spaces, so plain fields.
    let s = ssh_ok(host, &format!("cut -d' ' -f22 /proc/{pid}/stat"));
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{host}: start time of {pid}: {s:?}"))
}

/// Lines of Kafka's server log on `host` that say a controlled shutdown succeeded.
fn controlled_shutdowns(host: &str) -> u64 {
    let r = ssh(
        host,
        "grep -c 'Controlled shutdown succeeded' /var/log/stack/kafka/kafka.log",
    );
    // grep -c: 0 with status 1 when none; anything else is a failure to look.
    assert!(matches!(r.code, Some(0) | Some(1)), "{r}");
    r.stdout.trim().parse().unwrap_or_else(|_| panic!("{r}"))
}

/// Stops what the test started if it fails half-way: the producer (by PID, after checking
/// that the PID is still KafkaLoad), then the cluster (`down`, keeping data and logs for a
/// post-mortem). A passing test clears it and purges for itself.
struct Cleanup {
    inv: PathBuf,
    producer: Option<String>,
    armed: bool,
}

fn kill_producer(pid: &str) {
    let _ = ssh(
        "host1",
        &format!("if tr '\\0' ' ' < /proc/{pid}/cmdline 2>/dev/null | grep -q KafkaLoad; then kill {pid}; sleep 2; kill -9 {pid} 2>/dev/null; fi; true"),
    );
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = &self.producer {
            kill_producer(pid);
        }
        // Diagnostics only: shown whatever their own status.
        eprintln!(
            "{}",
            ssh(
                "host1",
                &format!("tail -n 30 {WORK}/produce.log; cat {WORK}/acked.summary; tail -n 40 {WORK}/acked.monitor")
            )
        );
        let _ = stackctl(&["down"], &self.inv);
    }
}

/// What `up --json` said about the Kafka roll, from its event lines.
struct Events {
    /// (t, host) of each `restart` event of a broker.
    restarts: Vec<(f64, String, String)>,
    /// Kafka events in order: ("restart", host, detail) or ("healthy", "", detail).
    kafka: Vec<(String, String, String)>,
}

fn events(stdout: &str) -> Events {
    let mut restarts = Vec::new();
    let mut kafka = Vec::new();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let event = v["event"].as_str().unwrap_or_default().to_string();
        let detail = v["detail"].as_str().unwrap_or_default().to_string();
        let host = v["host"].as_str().unwrap_or_default().to_string();
        match event.as_str() {
            "restart" if detail.starts_with("kafka ") => {
                restarts.push((
                    v["t"].as_f64().unwrap_or(-1.0),
                    host.clone(),
                    detail.clone(),
                ));
                kafka.push((event, host, detail));
            }
            "healthy" if detail.starts_with("Kafka broker:") => {
                kafka.push((event, host, detail));
            }
            _ => {}
        }
    }
    Events { restarts, kafka }
}

/// N of "all N partitions in sync".
fn in_sync_count(detail: &str) -> Option<usize> {
    let rest = detail.split("all ").nth(1)?;
    let (n, tail) = rest.split_once(' ')?;
    tail.starts_with("partitions in sync")
        .then(|| n.parse().ok())
        .flatten()
}

/// The partitions' state in ZooKeeper (`/brokers/topics/TOPIC/partitions/P/state`, written by
/// the controller and the leaders: the ground truth of leader and ISR), read every 100 ms
/// from this machine until `stop` is set. Each sample: (epoch ms, per partition (leader, ISR
/// size)); a sample is kept only when every partition was read.
struct ZkWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<(u64, Vec<(i64, usize)>)>, u64)>,
}

fn watch_zk_states() -> ZkWatch {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut samples = Vec::new();
        let mut errors = 0u64;
        let mut session: Option<stackctl::remote::zk::Session> = None;
        let mut server = 0;
        while !flag.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            if session.is_none() {
                let addr = format!("{}:2181", HOSTS[server % 3].1);
                server += 1;
                match stackctl::remote::zk::Session::open(&addr, Duration::from_secs(2)) {
                    Ok(s) => session = Some(s),
                    Err(_) => errors += 1,
                }
            }
            if let Some(zk) = session.as_mut() {
                let mut parts = Vec::new();
                for p in 0..PARTITIONS {
                    let path = format!("/brokers/topics/{TOPIC}/partitions/{p}/state");
                    match zk.data(&path) {
                        Ok(Some(b)) => {
                            let v: serde_json::Value =
                                serde_json::from_slice(&b).unwrap_or_default();
                            let leader = v["leader"].as_i64().unwrap_or(-1);
                            let isr = v["isr"].as_array().map_or(0, |a| a.len());
                            parts.push((leader, isr));
                        }
                        _ => break,
                    }
                }
                if parts.len() == PARTITIONS {
                    samples.push((now_ms(), parts));
                } else {
                    errors += 1;
                    session = None;
                }
            }
            if let Some(left) = Duration::from_millis(100).checked_sub(t0.elapsed()) {
                std::thread::sleep(left);
            }
        }
        if let Some(s) = session {
            s.close();
        }
        (samples, errors)
    });
    ZkWatch { stop, thread }
}

/// The monitor's state changes as (epoch ms, under-replicated partitions); an error line is
/// `None` (state unknown until the next line).
fn monitor_points(log: &str) -> Vec<(u64, Option<u64>)> {
    log.lines()
        .filter_map(|l| {
            let (t, rest) = l.split_once(' ')?;
            let t = t.parse().ok()?;
            let n = rest
                .split_whitespace()
                .find_map(|f| f.strip_prefix("under_replicated="))
                .and_then(|n| n.parse().ok());
            Some((t, n))
        })
        .collect()
}

/// Whether the monitor saw every partition in sync at some moment in [from, to]: the state at
/// `from` (the last change before it), or a change inside the window.
fn all_in_sync_within(points: &[(u64, Option<u64>)], from: u64, to: u64) -> bool {
    let at_start = points.iter().rev().find(|(t, _)| *t <= from).map(|p| p.1);
    at_start == Some(Some(0))
        || points
            .iter()
            .any(|(t, n)| *t > from && *t <= to && *n == Some(0))
}

#[test]
#[ignore]
fn a_rolling_kafka_restart_under_acks_all_load_loses_nothing_and_keeps_every_partition_led() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    ssh_ok("host1", &format!("rm -rf {WORK}"));

    // ZooKeeper + Kafka on three hosts.
    let inv = inventory(dir.path(), &[], JDK11);
    let out = stackctl(&["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut cleanup = Cleanup {
        inv: inv.clone(),
        producer: None,
        armed: true,
    };
    let host_of: BTreeMap<u64, &str> = HOSTS
        .iter()
        .map(|(h, _)| {
            let meta = ssh_ok(h, "cat /data/stack/kafka/meta.properties");
            let id = meta
                .lines()
                .find_map(|l| l.strip_prefix("broker.id="))
                .unwrap_or_else(|| panic!("{h}: no broker.id in {meta}"))
                .trim()
                .parse()
                .unwrap();
            (id, *h)
        })
        .collect();
    assert_eq!(host_of.len(), 3, "{host_of:?}");

    // The topic: 6 partitions, 3 replicas, min.insync.replicas=2, all led and in sync.
    install_kafka_load();
    let created = ssh_ok(
        "host1",
        &format!(
            "timeout 200 {} create {BOOTSTRAP} {TOPIC} {PARTITIONS} 2>{WORK}/create.log",
            java()
        ),
    );
    assert!(created.contains("CREATED rolling"), "{created}");

    // The producer, in the background on host1 (nohup: reparented to the host's init).
    let started = ssh_ok(
        "host1",
        &format!(
            // Only the java command goes to the background (`cd && nohup ... &` would put a
            // subshell there, holding ssh's output open until the producer ends); nohup execs
            // java, so `$!` is the JVM's pid.
            "cd {WORK} || exit 1; nohup {} produce {BOOTSTRAP} {TOPIC} {PRODUCE_SECONDS} {WORK}/acked {RATE} > {WORK}/produce.log 2>&1 < /dev/null & echo $!",
            java()
        ),
    );
    let producer = started.trim().to_string();
    assert!(producer.parse::<u32>().is_ok(), "producer pid: {started:?}");
    cleanup.producer = Some(producer.clone());
    let cmdline = ssh_ok("host1", &format!("tr '\\0' ' ' < /proc/{producer}/cmdline"));
    assert!(
        cmdline.contains("KafkaLoad produce"),
        "{producer} is the producer: {cmdline}"
    );
    // Acked writes flowing before the roll: at least 2 s worth.
    wait_for(
        "1000 acked writes before the roll",
        Duration::from_secs(90),
        || {
            let n: u64 = ssh_ok("host1", &format!("cat {WORK}/acked 2>/dev/null | wc -l"))
                .trim()
                .parse()
                .unwrap();
            (n >= 1000).then_some(n)
        },
    );

    // The probe the roll's gate uses (a Metadata request for all topics) sees the topic's
    // partitions, all in sync, on every broker before the roll: a gate that reports fewer saw
    // something else than a broken probe.
    for (h, addr) in HOSTS {
        let m = stackctl::remote::kafka_wire::metadata_all(
            &format!("{addr}:9092"),
            Duration::from_secs(5),
        )
        .unwrap_or_else(|e| panic!("{h}: Metadata: {e:#}"));
        let mine: Vec<_> = m.partitions.iter().filter(|p| p.topic == TOPIC).collect();
        assert!(
            mine.len() == PARTITIONS
                && mine.iter().all(|p| !p.offline() && !p.under_replicated())
                && m.controller >= 0
                && m.brokers.len() == 3,
            "{h}: Metadata before the roll: {m:?}"
        );
    }

    let zk_watch = watch_zk_states();

    // Before: who is the controller, which pids run.
    let controller_before = common::bed::kafka_controller();
    let controller_host = host_of[&controller_before];
    let kafka_before: Vec<String> = HOSTS.iter().map(|(h, _)| pid(h, "kafka")).collect();
    let zk_before: Vec<String> = HOSTS.iter().map(|(h, _)| pid(h, "zookeeper")).collect();
    let shutdowns_before: Vec<u64> = HOSTS.iter().map(|(h, _)| controlled_shutdowns(h)).collect();

    // The roll, while the producer writes.
    let inv = inventory(dir.path(), &[CHANGED], JDK11);
    let roll_start = now_ms();
    let t0 = Instant::now();
    let out = stackctl(&["up", "--json"], &inv);
    let roll_secs = t0.elapsed().as_secs_f64();
    let roll_end = now_ms();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Keep writing a little past the roll, then stop the producer and wait for it (bounded:
    // its sends time out after 120 s, its watchdog halts it after SECONDS + 240 s).
    std::thread::sleep(Duration::from_secs(5));
    ssh_ok("host1", &format!("touch {WORK}/acked.stop"));
    wait_for("the producer exits", Duration::from_secs(200), || {
        let r = ssh("host1", &format!("kill -0 {producer} 2>/dev/null"));
        assert!(matches!(r.code, Some(0) | Some(1)), "{r}");
        (r.code == Some(1)).then_some(())
    });
    cleanup.producer = None;
    zk_watch
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let (zk_samples, zk_errors) = zk_watch.thread.join().expect("the ZooKeeper watcher");
    let zk_in_roll: Vec<&(u64, Vec<(i64, usize)>)> = zk_samples
        .iter()
        .filter(|(t, _)| *t >= roll_start && *t <= roll_end)
        .collect();
    let zk_offline = zk_samples
        .iter()
        .filter(|(_, ps)| ps.iter().any(|(l, _)| *l < 0))
        .count();
    let zk_min_isr = zk_samples
        .iter()
        .flat_map(|(_, ps)| ps.iter().map(|(_, i)| *i))
        .min()
        .unwrap_or(0);
    let zk_max_interval = zk_samples
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .max()
        .unwrap_or(u64::MAX);
    // For each window between two restarts: how long ZooKeeper showed every ISR full.
    let zk_full_in = |from: u64, to: u64| -> u64 {
        zk_samples
            .windows(2)
            .filter(|w| w[0].0 >= from && w[0].0 <= to)
            .filter(|w| w[0].1.iter().all(|(_, i)| *i == 3))
            .map(|w| w[1].0.min(to) - w[0].0)
            .sum()
    };
    let summary_text = ssh_ok(
        "host1",
        &format!("cat {WORK}/acked.summary || {{ tail -n 40 {WORK}/produce.log; exit 1; }}"),
    );
    let p = key_values(&summary_text);
    let produce_log = ssh_ok("host1", &format!("tail -n 20 {WORK}/produce.log"));

    // Read everything back.
    let check = ssh(
        "host1",
        &format!(
            "timeout 320 {} check {BOOTSTRAP} {TOPIC} {WORK}/acked 2>{WORK}/check.log",
            java()
        ),
    );
    let check_line = check
        .stdout
        .lines()
        .find(|l| l.starts_with("CHECK "))
        .unwrap_or_else(|| panic!("no CHECK line: {check}"))
        .to_string();
    let c = key_values(&check_line["CHECK ".len()..].replace(' ', "\n"));

    let controller_after = common::bed::kafka_controller();
    let kafka_after: Vec<String> = HOSTS.iter().map(|(h, _)| pid(h, "kafka")).collect();
    let zk_after: Vec<String> = HOSTS.iter().map(|(h, _)| pid(h, "zookeeper")).collect();
    let shutdowns_after: Vec<u64> = HOSTS.iter().map(|(h, _)| controlled_shutdowns(h)).collect();
    let started_at: Vec<(u64, &str)> = HOSTS
        .iter()
        .zip(&kafka_after)
        .map(|((h, _), pid)| (start_ticks(h, pid), *h))
        .collect();
    let mut by_start = started_at.clone();
    by_start.sort();
    let start_order: Vec<&str> = by_start.iter().map(|(_, h)| *h).collect();

    let s = summary(&out)["summary"].clone();
    let restarted: Vec<String> = s["restarted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    let ev = events(&log);

    // The acked timeline against the roll.
    let acked_times = ssh_ok(
        "host1",
        &format!("awk -v a={roll_start} -v b={roll_end} '$4 < a {{x++}} $4 >= a && $4 <= b {{y++}} $4 > b {{z++}} END {{print x+0, y+0, z+0}}' {WORK}/acked"),
    );
    let split: Vec<u64> = acked_times
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();

    // The numbers, for the record (`--nocapture` shows them).
    println!("rolling restart under load:");
    println!(
        "  roll: `up` took {roll_secs:.1} s; restarted {restarted:?}; controller before {controller_before} ({controller_host}), after {controller_after}"
    );
    println!("  new broker JVMs by start time: {start_order:?}");
    for (t, h, d) in &ev.restarts {
        println!("  t={t:.3} restart {h}: {d}");
    }
    for (e, h, d) in &ev.kafka {
        if e == "healthy" {
            println!("  healthy {h} {d}");
        }
    }
    println!(
        "  producer: sent {} acked {} failed {} unresolved {} (rate {}/s, stopped by {}); acks before/during/after the roll: {:?}; longest gap between acks {} ms",
        p["sent"], p["acked"], p["failed"], p["unresolved"], p["rate"], p["stopped_by"], split, p["max_ack_gap_ms"]
    );
    println!(
        "  check: acked {} read back {} missing {} records {} duplicates {} unacked present {} misplaced {}",
        c["acked"], c["read_back"], c["missing"], c["records"], c["duplicates"], c["unacked_present"], c["misplaced"]
    );
    println!(
        "  monitor: {} samples ({} errors, longest interval {} ms), offline {} [{}], under min ISR {} [{}], under-replicated {}, missing partitions {}",
        p["monitor_samples"],
        p["monitor_errors"],
        p["monitor_max_interval_ms"],
        p["monitor_offline_samples"],
        p["monitor_offline_partitions"],
        p["monitor_under_min_isr_samples"],
        p["monitor_under_min_isr_partitions"],
        p["monitor_under_replicated_samples"],
        p["monitor_missing_partition_samples"]
    );
    println!(
        "  ZooKeeper partition states: {} samples ({} during the roll, {zk_errors} errors, longest interval {zk_max_interval} ms), leaderless {zk_offline}, smallest ISR {zk_min_isr}",
        zk_samples.len(),
        zk_in_roll.len()
    );
    println!(
        "  controlled shutdowns (server log) before {shutdowns_before:?} after {shutdowns_after:?}"
    );
    let monitor_log = ssh_ok("host1", &format!("cat {WORK}/acked.monitor"));
    {
        let points = monitor_points(&monitor_log);
        for w in ev.restarts.windows(2) {
            let (a, b) = (
                roll_start + (w[0].0 * 1000.0) as u64,
                roll_start + (w[1].0 * 1000.0) as u64,
            );
            println!(
                "  between the restarts of {} and {}: every ISR full for {} ms in ZooKeeper; all in sync in the monitor's metadata: {}",
                w[0].1,
                w[1].1,
                zk_full_in(a, b),
                all_in_sync_within(&points, a, b)
            );
        }
    }
    println!("  monitor state changes:");
    for l in monitor_log.lines().take(200) {
        println!("    {l}");
    }

    // The load: the producer wrote before, during and after the roll; every send acked.
    assert_eq!(
        p["exit"], "0",
        "producer exit status\n{summary_text}\n{produce_log}"
    );
    assert_eq!(
        num(&p, "failed"),
        0,
        "failed sends\n{summary_text}\n{produce_log}"
    );
    assert_eq!(num(&p, "unresolved"), 0, "{summary_text}");
    assert_eq!(num(&p, "acked"), num(&p, "sent"), "{summary_text}");
    assert!(
        split.len() == 3 && split[0] >= 1000 && split[1] >= 1000 && split[2] >= 500,
        "acks before/during/after the roll: {split:?}"
    );
    // Nothing acknowledged is missing: every acked number read back at its acked offset.
    assert!(check.ok(), "{check}");
    assert_eq!(c["missing"], "0", "{check}");
    assert_eq!(c["acked"], p["acked"], "{check}\n{summary_text}");
    assert_eq!(c["read_back"], c["acked"], "{check}");
    // No partition ever without a leader, nor below min.insync.replicas, in samples that cover
    // the whole roll at least once a second.
    let samples = num(&p, "monitor_samples");
    assert!(
        num(&p, "monitor_first_ms") < roll_start && num(&p, "monitor_last_ms") > roll_end,
        "the monitor covered the roll\n{summary_text}"
    );
    assert!(
        samples as f64 >= roll_secs && num(&p, "monitor_max_interval_ms") <= 5000,
        "a sample at least every 5 s\n{summary_text}"
    );
    assert_eq!(
        num(&p, "monitor_topic_partitions"),
        PARTITIONS as u64,
        "{summary_text}"
    );
    assert_eq!(
        num(&p, "monitor_offline_samples"),
        0,
        "{summary_text}\n{monitor_log}"
    );
    assert_eq!(
        num(&p, "monitor_missing_partition_samples"),
        0,
        "{summary_text}\n{monitor_log}"
    );
    assert!(
        zk_in_roll.len() as f64 >= roll_secs * 2.0 && zk_max_interval <= 2000,
        "ZooKeeper states sampled through the roll: {} samples, longest interval {zk_max_interval} ms",
        zk_in_roll.len()
    );
    assert_eq!(zk_offline, 0, "no leaderless partition in ZooKeeper");
    assert!(
        num(&p, "monitor_under_replicated_samples") > 0,
        "the monitor saw the restarts (under-replicated partitions) at all\n{monitor_log}"
    );

    // The roll: every broker, one at a time, the controller last; nothing else restarted.
    let mut sorted = restarted.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["kafka on host1", "kafka on host2", "kafka on host3"],
        "{s}"
    );
    assert_eq!(
        restarted.last().map(String::as_str),
        Some(format!("kafka on {controller_host}").as_str()),
        "the controller (broker {controller_before}) restarts last: {s}"
    );
    assert!(s["started"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(s["files_written"], 3, "{s}");
    // Each restart is followed by its broker's in-sync gate before the next one; each gate saw
    // the test's partitions (a broker with an empty metadata cache would pass on 0).
    let restart_hosts: Vec<String> = ev.restarts.iter().map(|r| r.1.clone()).collect();
    let want: Vec<String> = restarted
        .iter()
        .map(|r| r.trim_start_matches("kafka on ").to_string())
        .collect();
    assert_eq!(
        restart_hosts, want,
        "restart events in summary order\n{log}"
    );
    for (i, e) in ev.kafka.iter().enumerate() {
        if e.0 != "restart" {
            continue;
        }
        assert!(
            !e.2.contains("killed"),
            "{}: stopped gracefully, not SIGKILLed: {}",
            e.1,
            e.2
        );
        let next = ev.kafka.get(i + 1);
        let n = next
            .filter(|n| n.0 == "healthy")
            .and_then(|n| in_sync_count(&n.2));
        assert!(
            n.is_some_and(|n| n >= PARTITIONS),
            "the restart of {} is followed by its in-sync gate over the topic's {PARTITIONS} partitions, got {next:?}\n{log}",
            e.1
        );
    }
    // Independently of stackctl's report: new JVMs everywhere, started in that order, the
    // controller's last; ZooKeeper untouched; each old broker shut down in a controlled way.
    for ((h, _), (b, a)) in HOSTS.iter().zip(kafka_before.iter().zip(&kafka_after)) {
        assert_ne!(b, a, "{h}: the broker was restarted");
    }
    assert_eq!(zk_before, zk_after, "ZooKeeper was not restarted");
    assert_eq!(
        start_order, want,
        "JVM start times follow the reported order"
    );
    for ((h, _), (b, a)) in HOSTS
        .iter()
        .zip(shutdowns_before.iter().zip(&shutdowns_after))
    {
        assert_eq!(a - b, 1, "{h}: one controlled shutdown in the server log");
    }

    // Independently of the gate's own report, from ZooKeeper's partition states: between one
    // broker's restart and the next, every partition had its full ISR again (the restart events
    // come after each `stop && start`; stackctl's `t` counts from its start, just after
    // roll_start). The metadata the monitor sees lags ZooKeeper, so its all-in-sync moments
    // between two restarts are shorter (printed above, not asserted).
    let at = |t: f64| roll_start + (t * 1000.0) as u64;
    for w in ev.restarts.windows(2) {
        let full = zk_full_in(at(w[0].0), at(w[1].0));
        assert!(
            full > 0,
            "every ISR full in ZooKeeper between the restarts of {} (t={:.3}) and {} (t={:.3})",
            w[0].1,
            w[0].0,
            w[1].1,
            w[1].0
        );
    }
    // While one broker is down the other two are in sync: min.insync.replicas always met, in
    // ZooKeeper and in the metadata clients see.
    assert!(zk_min_isr >= 2, "smallest ISR in ZooKeeper: {zk_min_isr}");
    assert_eq!(
        num(&p, "monitor_under_min_isr_samples"),
        0,
        "{summary_text}\n{monitor_log}"
    );
    // Clean up: the cluster and its data, the load generator's files.
    cleanup.armed = false;
    let out = stackctl(&["down", "--purge", "--yes"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ssh_ok("host1", &format!("rm -rf {WORK}"));
    for (h, _) in HOSTS {
        let left = java_pids(h);
        assert!(left.is_empty(), "{h}: JVMs left: {left:?}");
    }
}
