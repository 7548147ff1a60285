//! Supervision, offline: the systemd units every service gets (checked by `systemd-analyze
//! verify` where it is installed), each role's restart policy, stop timeout and limits, the
//! log and GC-log rotation settings as the files carry them, and the launcher run for real
//! against a stand-in JVM (limits raised, GC flags per JDK, a hard limit too low refused).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use stackctl::plan::{self, Plan, PlanOptions};

const WHOLE_STACK: &str = "cluster: t\ndefaults: { java_home: /usr/lib/jvm/java-11, java_version: \"11\" }\n\
components:\n  zookeeper: { version: \"3.5.6\" }\n  kafka: { version: \"2.4.0\", scala: \"2.12\", stop_timeout: 45 }\n\
\x20 hadoop: { version: \"3.3.6\" }\n  hbase: { version: \"2.5.10-hadoop3\", hadoop3: true }\n\
hosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master, hbase-regionserver] }\n";

fn plan_of(text: &str) -> (tempfile::TempDir, Plan) {
    let (dir, inv) = common::inventory(text);
    let plan = plan::plan(
        &inv,
        &PlanOptions {
            templates: None,
            locked: false,
            read_only: true,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (dir, plan)
}

fn example(name: &str) -> Plan {
    plan::plan(
        &common::root().join("inventories").join(name),
        &PlanOptions {
            templates: None,
            locked: true,
            read_only: true,
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn file<'p>(plan: &'p Plan, suffix: &str) -> &'p str {
    plan.hosts[0]
        .files
        .iter()
        .find(|f| f.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix}"))
        .content
        .as_str()
}

/// A unit's `Key=Value` settings (comments and section headers left out).
fn unit(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_service_gets_a_unit_with_its_roles_policy_stop_timeout_and_limits() {
    let (_d, plan) = plan_of(WHOLE_STACK);
    let units: Vec<_> = plan.hosts[0]
        .files
        .iter()
        .filter(|f| f.needs_systemd)
        .collect();
    assert_eq!(units.len(), 8, "one unit per service");
    assert!(units
        .iter()
        .all(|f| f.path.starts_with("/etc/systemd/system/stackctl-t-") && f.mode == 0o644));
    // role: RestartSec, StartLimitBurst, TimeoutStopSec, LimitNOFILE, RestartPreventExitStatus
    for (role, restart_sec, burst, stop, nofile, prevent) in [
        ("zookeeper", "5", "5", "30", "16384", Some("2")),
        ("kafka", "10", "5", "45", "100000", None),
        ("namenode", "30", "3", "60", "65536", None),
        ("datanode", "10", "5", "60", "65536", None),
        ("hbase-regionserver", "10", "5", "300", "100000", None),
    ] {
        let u = unit(file(&plan, &format!("/stackctl-t-{role}.service")));
        let want = [
            ("Type", "simple"),
            ("Restart", "on-failure"),
            ("RestartSec", restart_sec),
            ("StartLimitBurst", burst),
            ("StartLimitIntervalSec", "600"),
            ("TimeoutStopSec", stop),
            ("SuccessExitStatus", "143"),
            ("KillMode", "mixed"),
            ("LimitNOFILE", nofile),
            ("WantedBy", "multi-user.target"),
        ];
        for (k, v) in want {
            assert_eq!(u.get(k).map(String::as_str), Some(v), "{role}: {k}");
        }
        assert_eq!(
            u["ExecStart"],
            format!("/opt/stack/etc/launch/{role}.sh run"),
            "{role}"
        );
        assert_eq!(
            u.get("RestartPreventExitStatus").map(String::as_str),
            prevent,
            "{role}"
        );
        // No service user yet: the JVM runs as the login user.
        assert!(!u.contains_key("User"), "{role}");
    }
}

#[test]
fn log_gc_and_limit_settings_reach_the_files_they_configure() {
    let text = WHOLE_STACK.replace(
        "kafka: { version: \"2.4.0\", scala: \"2.12\", stop_timeout: 45 }",
        "kafka: { version: \"2.4.0\", scala: \"2.12\", log_max_size: 64kb, log_max_files: 2, log_level: warn, gc_log_max_size: 1MB, gc_log_max_files: 3, max_open_files: 200000, max_processes: 50000 }",
    );
    let (_d, plan) = plan_of(&text);
    let log4j: BTreeMap<String, String> =
        java_properties::read(file(&plan, "/etc/kafka/log4j.properties").as_bytes())
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(log4j["log4j.rootLogger"], "WARN, RFA");
    assert_eq!(
        log4j["log4j.appender.RFA"],
        "org.apache.log4j.RollingFileAppender"
    );
    assert_eq!(log4j["log4j.appender.RFA.File"], "${stackctl.log.file}");
    assert_eq!(log4j["log4j.appender.RFA.MaxFileSize"], "64KB");
    assert_eq!(log4j["log4j.appender.RFA.MaxBackupIndex"], "2");
    let launcher = file(&plan, "/launch/kafka.sh");
    for needle in [
        "raise -n 200000 open-file",
        "raise \"$pflag\" 50000 process",
        "filecount=3,filesize=1024K",
        "-XX:NumberOfGCLogFiles=3 -XX:GCLogFileSize=1024K",
        "-Dstackctl.log.file=/var/log/stack/kafka/kafka.log",
    ] {
        assert!(launcher.contains(needle), "kafka launcher lacks {needle}");
    }
    let u = unit(file(&plan, "/stackctl-t-kafka.service"));
    assert_eq!(u["LimitNOFILE"], "200000");
    assert_eq!(u["LimitNPROC"], "50000");
    // The defaults elsewhere: 100MB x 10, INFO.
    let zk: BTreeMap<String, String> =
        java_properties::read(file(&plan, "/etc/zookeeper/log4j.properties").as_bytes())
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(zk["log4j.appender.RFA.MaxFileSize"], "100MB");
    assert_eq!(zk["log4j.appender.RFA.MaxBackupIndex"], "10");
    assert_eq!(zk["log4j.rootLogger"], "INFO, RFA");
}

#[test]
fn hbase_2_5_logs_through_log4j2_and_earlier_lines_through_log4j_1() {
    let (_d, plan) = plan_of(WHOLE_STACK);
    let names: Vec<&str> = plan.hosts[0]
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert!(names.contains(&"/opt/stack/etc/hbase/log4j2.properties"));
    assert!(!names.contains(&"/opt/stack/etc/hbase/log4j.properties"));
    let l2: BTreeMap<String, String> =
        java_properties::read(file(&plan, "/etc/hbase/log4j2.properties").as_bytes())
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(l2["appender.rfa.type"], "RollingFile");
    assert_eq!(l2["appender.rfa.fileName"], "${sys:stackctl.log.file}");
    assert_eq!(l2["appender.rfa.policies.size.size"], "100MB");
    assert_eq!(l2["appender.rfa.strategy.max"], "10");
    assert_eq!(l2["rootLogger"], "INFO,RFA");
    assert!(file(&plan, "/launch/hbase-master.sh")
        .contains("-Dlog4j2.configurationFile=file:/opt/stack/etc/hbase/log4j2.properties"));
    // Everything else reads log4j 1 (or reload4j), named explicitly.
    assert!(file(&plan, "/launch/namenode.sh")
        .contains("-Dlog4j.configuration=file:/opt/stack/etc/hadoop/log4j.properties"));
    // seed-3node's HBase 1.2 ships log4j 1.2.
    let seed = example("seed-3node.yml");
    assert!(seed
        .hosts
        .iter()
        .flat_map(|h| &h.files)
        .any(|f| f.path == "/opt/stack/etc/hbase/log4j.properties"));
}

/// Writes every host's files under a root that also holds this machine's systemd units, and
/// runs `systemd-analyze verify --root` on each unit: syntax, known keys, an executable
/// ExecStart, dependencies that exist.
#[test]
fn every_rendered_unit_passes_systemd_analyze_verify() {
    let Ok(o) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    assert!(o.status.success());
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("multi-user.target").exists());
    let Some(system_units) = system_units else {
        eprintln!("skipped: no systemd unit directory with multi-user.target");
        return;
    };
    let (_d, whole) = plan_of(WHOLE_STACK);
    let plans = [
        whole,
        example("seed-3node.yml"),
        example("modern-5node.yml"),
        example("kafka-3node.yml"),
    ];
    let mut checked = 0;
    for plan in &plans {
        let out = tempfile::tempdir().unwrap();
        plan::write_out(plan, out.path()).unwrap();
        for h in &plan.hosts {
            let root = out.path().join(&h.name);
            copy_dir(system_units, &root.join("usr/lib/systemd/system"));
            for f in h.files.iter().filter(|f| f.needs_systemd) {
                let o = Command::new("systemd-analyze")
                    .args(["verify", "--man=no"])
                    .arg(format!("--root={}", root.display()))
                    .arg(&f.path)
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(
                    o.status.success() && err.trim().is_empty(),
                    "{} {}: {err}\n{}",
                    h.name,
                    f.path,
                    f.content
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 8 + 17, "{checked} units checked");
    // The check itself can fail: an unknown key is reported.
    let (_d, plan) = plan_of(WHOLE_STACK);
    let out = tempfile::tempdir().unwrap();
    plan::write_out(&plan, out.path()).unwrap();
    let root = out.path().join("a");
    copy_dir(system_units, &root.join("usr/lib/systemd/system"));
    let unit = root.join("etc/systemd/system/stackctl-t-zookeeper.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    std::fs::write(&unit, text.replace("KillMode=mixed", "KillMode=mixd")).unwrap();
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg("/etc/systemd/system/stackctl-t-zookeeper.service")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("kill mode"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let s = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(s.success(), "cp -a {} {}", from.display(), to.display());
}

// --- the launcher, run for real against a stand-in JVM ------------------------------------------

/// A host whose directories are all under `base`, ZooKeeper alone, and a stand-in JDK whose
/// `java` records its arguments and waits (its command line carries the launcher's marker).
fn sandbox(base: &Path, java_version: &str, extra: &str) -> (Plan, PathBuf) {
    let jdk = base.join("jdk");
    std::fs::create_dir_all(jdk.join("bin")).unwrap();
    std::fs::write(
        jdk.join("bin/java"),
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/../args\"\ni=0; while [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done\n",
    )
    .unwrap();
    std::fs::write(
        jdk.join("release"),
        format!("JAVA_VERSION=\"{java_version}\"\n"),
    )
    .unwrap();
    Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(base)
        .status()
        .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(jdk.join("bin/java"))
        .status()
        .unwrap();
    let b = base.display();
    let text = format!(
        "cluster: t\ndefaults: {{ java_home: {b}/jdk, install_dir: {b}/opt, data_dir: {b}/data, log_dir: {b}/log }}\n\
components:\n  zookeeper: {{ version: \"3.5.6\", user: root, group: root{extra} }}\n\
hosts:\n  - {{ name: a, address: 10.0.0.1, roles: [zookeeper] }}\n"
    );
    let (_d, plan) = plan_of(&text);
    let out = base.join("out");
    plan::write_out(&plan, &out).unwrap();
    // The files where the plan puts them (the host is this machine, under `base`).
    let launcher = out
        .join("a")
        .join(format!("{b}/opt/etc/launch/zookeeper.sh").trim_start_matches('/'));
    std::fs::create_dir_all(base.join("opt/apache-zookeeper-3.5.6-bin")).unwrap();
    Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(base)
        .status()
        .unwrap();
    (plan, launcher)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs the launcher in a clean environment, with `prefix` (e.g. prlimit) before it.
fn launch(prefix: &[&str], launcher: &Path, verb: &str) -> (i32, String) {
    let mut cmd = Command::new(if prefix.is_empty() {
        "/bin/sh"
    } else {
        prefix[0]
    });
    if !prefix.is_empty() {
        cmd.args(&prefix[1..]).arg("/bin/sh");
    }
    let o = cmd
        .arg(launcher)
        .arg(verb)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn the_launcher_raises_limits_picks_gc_flags_per_jdk_and_stops_its_jvm() {
    if !is_root() {
        eprintln!("skipped: raising a hard limit needs root");
        return;
    }
    for (jv, gc) in [
        ("17.0.15", "-Xlog:gc*:file="),
        ("1.8.0_392", "-XX:+UseGCLogFileRotation"),
    ] {
        let base = tempfile::tempdir().unwrap();
        let (_plan, launcher) = sandbox(base.path(), jv, ", max_open_files: 12000");
        // A soft limit below the need, a hard limit above it: both are set to the need (a JVM
        // would raise its soft limit to the hard one). Raising a hard limit needs
        // CAP_SYS_RESOURCE, which root on this VM does not have.
        let (code, out) = launch(&["prlimit", "--nofile=1024:16384"], &launcher, "start");
        assert_eq!(code, 0, "{out}");
        let pid = out.split_whitespace().last().unwrap().to_string();
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let nofile = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        assert_eq!(
            nofile.split_whitespace().collect::<Vec<_>>()[3..5],
            ["12000", "12000"],
            "{nofile}"
        );
        // The stand-in writes its arguments once started (at most 5 s).
        let args_file = base.path().join("jdk/args");
        for _ in 0..50 {
            if std::fs::metadata(&args_file).is_ok_and(|m| m.len() > 0) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let args = std::fs::read_to_string(&args_file).unwrap();
        assert!(args.contains(gc), "Java {jv}: {args}");
        assert!(args.contains(&format!(
            "{}/log/zookeeper/zookeeper-gc.log",
            base.path().display()
        )));
        assert!(args.contains("-Dstackctl.service=t.zookeeper"));
        let (code, out) = launch(&[], &launcher, "status");
        assert_eq!(code, 0, "{out}");
        // A second start: the JVM's output file is rotated, never appended to forever.
        let (code, out) = launch(&[], &launcher, "stop");
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("stopped"), "{out}");
        let (code, _) = launch(&[], &launcher, "status");
        assert_eq!(code, 3);
        let (code, out) = launch(&[], &launcher, "start");
        assert_eq!(code, 0, "{out}");
        assert!(base.path().join("log/zookeeper/zookeeper.out.1").exists());
        let (code, out) = launch(&[], &launcher, "stop");
        assert_eq!(code, 0, "{out}");
        // No systemd here: `disable` has nothing to do and says nothing.
        let (code, out) = launch(&[], &launcher, "disable");
        assert_eq!((code, out.trim()), (0, ""));
    }
}

#[test]
fn a_hard_limit_below_the_need_stops_a_non_root_start_with_a_clear_message() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to start as another user");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let (_plan, launcher) = sandbox(base.path(), "17.0.15", "");
    let (code, out) = launch(
        &[
            "prlimit",
            "--nofile=1024:2048",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
        &launcher,
        "start",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the open-file limit must be 16384 but its hard limit is 2048"),
        "{out}"
    );
    assert!(!base.path().join("jdk/args").exists(), "no JVM was started");
}

#[test]
fn launchers_are_posix_sh() {
    let (_d, plan) = plan_of(WHOLE_STACK);
    for f in plan.hosts[0]
        .files
        .iter()
        .filter(|f| f.path.contains("/launch/"))
    {
        for sh in ["sh", "dash", "bash"] {
            let Ok(o) = Command::new(sh)
                .arg("-n")
                .arg("-c")
                .arg(f.content.as_str())
                .output()
            else {
                continue;
            };
            assert!(
                o.status.success(),
                "{sh} -n {}: {}",
                f.path,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

// --- the rendered logging configurations, read by the logging libraries the distributions ship --

/// Extracts `members` of a cached distribution into `dir`; None when the cache lacks it.
fn jars_from(archive: &str, members: &[&str], dir: &Path) -> Option<Vec<PathBuf>> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache =
        std::env::var("STACKCTL_E2E_CACHE").unwrap_or(format!("{home}/.cache/stackctl-e2e"));
    let tgz = Path::new(&cache).join(archive);
    if !tgz.exists() {
        return None;
    }
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(dir)
        .args(members)
        .status()
        .ok()?
        .success();
    ok.then(|| members.iter().map(|m| dir.join(m)).collect())
}

/// Compiles and runs `source` (class `L`) against `jars` with the rendered configuration
/// `conf` (as `prop`), logging 400 lines of 100 bytes to `dir/d.log`: the files it leaves.
fn log_through(
    dir: &Path,
    jars: &[PathBuf],
    source: &str,
    prop: &str,
    conf: &str,
) -> Vec<(String, u64)> {
    std::fs::write(dir.join("L.java"), source).unwrap();
    let conf_path = dir.join("logging.properties");
    std::fs::write(&conf_path, conf).unwrap();
    let cp = jars
        .iter()
        .map(|j| j.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let javac = Command::new("javac")
        .arg("-cp")
        .arg(&cp)
        .arg("-d")
        .arg(dir)
        .arg(dir.join("L.java"))
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let run = Command::new("java")
        .arg(format!("{prop}=file:{}", conf_path.display()))
        .arg(format!(
            "-Dstackctl.log.file={}",
            dir.join("d.log").display()
        ))
        .arg("-cp")
        .arg(format!("{cp}:{}", dir.display()))
        .arg("L")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("d.log"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_rendered_log_configurations_roll_over_with_the_shipped_log4j_1_and_log4j_2() {
    if Command::new("javac").arg("-version").output().is_err() {
        eprintln!("skipped: no javac");
        return;
    }
    let text = WHOLE_STACK
        .replace(
            "zookeeper: { version: \"3.5.6\" }",
            "zookeeper: { version: \"3.5.6\", log_max_size: 4KB, log_max_files: 2 }",
        )
        .replace(
            "hadoop3: true }",
            "hadoop3: true, log_max_size: 4KB, log_max_files: 2 }",
        );
    let (_d, plan) = plan_of(&text);
    let cases = [
        (
            "apache-zookeeper-3.5.6-bin.tar.gz",
            vec!["apache-zookeeper-3.5.6-bin/lib/log4j-1.2.17.jar"],
            "public class L { public static void main(String[] a) { org.apache.log4j.Logger l = org.apache.log4j.Logger.getLogger(L.class); for (int i = 0; i < 400; i++) l.info(String.format(\"%070d\", i)); } }",
            "-Dlog4j.configuration",
            "/etc/zookeeper/log4j.properties",
        ),
        (
            "hbase-2.5.10-hadoop3-bin.tar.gz",
            vec![
                "hbase-2.5.10-hadoop3/lib/client-facing-thirdparty/log4j-api-2.17.2.jar",
                "hbase-2.5.10-hadoop3/lib/client-facing-thirdparty/log4j-core-2.17.2.jar",
            ],
            "public class L { public static void main(String[] a) { org.apache.logging.log4j.Logger l = org.apache.logging.log4j.LogManager.getLogger(L.class); for (int i = 0; i < 400; i++) l.info(String.format(\"%070d\", i)); } }",
            "-Dlog4j2.configurationFile",
            "/etc/hbase/log4j2.properties",
        ),
    ];
    for (archive, members, source, prop, conf) in cases {
        let dir = tempfile::tempdir().unwrap();
        let Some(jars) = jars_from(archive, &members, dir.path()) else {
            eprintln!("skipped {archive}: not in the dist cache (tests/testbed/dists.sh)");
            continue;
        };
        let files = log_through(dir.path(), &jars, source, prop, file(&plan, conf));
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        // 400 lines of ~100 bytes at 4KB a file: rolled over many times, two old files kept.
        assert_eq!(names, ["d.log", "d.log.1", "d.log.2"], "{conf}: {files:?}");
        assert!(
            files.iter().all(|(_, len)| *len <= 4096 + 200),
            "{conf}: {files:?}"
        );
    }
}
