//! Every file of every example inventory: snapshots, and parsed back with the real formats
//! (Java properties, XML, POSIX shell).

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use stackctl::plan::{self, Plan, PlanOptions};

fn example(name: &str) -> Plan {
    let path = common::root().join("inventories").join(name);
    // --locked: the shipped lock files must be current, and the test must not rewrite them.
    plan::plan(
        &path,
        &PlanOptions {
            templates: None,
            locked: true,
            read_only: false,
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

const EXAMPLES: &[&str] = &[
    "seed-3node.yml",
    "modern-5node.yml",
    "kafka-3node.yml",
    "kraft-3node.yml",
];

#[test]
fn snapshots_of_every_rendered_file() {
    for name in EXAMPLES {
        let plan = example(name);
        let mut all = String::new();
        for h in &plan.hosts {
            for f in &h.files {
                all.push_str(&format!(
                    "===== {} {} ({:04o})\n{}",
                    h.name, f.path, f.mode, f.content
                ));
            }
        }
        insta::assert_snapshot!(format!("render-{}", name.trim_end_matches(".yml")), all);
    }
}

/// Sources `script` in a clean shell (no inherited environment) and returns `$var`.
fn sourced_var(script: &str, var: &str) -> String {
    let script = format!("{script}\nprintf '%s' \"${var}\"");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .output()
        .expect("bash");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn properties(text: &str) -> BTreeMap<String, String> {
    java_properties::read(text.as_bytes())
        .expect("valid Java properties")
        .into_iter()
        .collect()
}

#[test]
fn properties_files_parse_and_carry_the_right_values() {
    let plan = example("seed-3node.yml");
    let mut broker_ids = Vec::new();
    for h in &plan.hosts {
        let file = |suffix: &str| {
            h.files
                .iter()
                .find(|f| f.path.ends_with(suffix))
                .unwrap_or_else(|| panic!("{} has no {suffix}", h.name))
        };
        let zoo = properties(&file("/zoo.cfg").content);
        assert_eq!(zoo["dataDir"], "/data/stack/zookeeper");
        assert_eq!(zoo["clientPort"], "2181");
        assert_eq!(zoo["server.1"], "192.168.56.101:2888:3888");
        assert_eq!(zoo["server.3"], "192.168.56.103:2888:3888");
        assert_eq!(
            zoo["4lw.commands.whitelist"], "srvr,mntr,ruok,stat,conf,isro",
            "3.5.3+ needs the whitelist for verify"
        );
        assert_eq!(zoo["admin.enableServer"], "false");
        let myid = file("/myid").content.trim().to_string();
        assert_eq!(myid, h.ids["zookeeper_id"].to_string());
        assert_eq!(
            file("/myid").path,
            "/data/stack/zookeeper/myid",
            "myid lives in dataDir"
        );
        let kafka = properties(&file("/server.properties").content);
        assert_eq!(kafka["broker.id"], h.ids["broker_id"].to_string());
        assert_eq!(
            kafka["listeners"],
            format!("PLAINTEXT://{}:9092", h.address)
        );
        assert_eq!(
            kafka["advertised.listeners"],
            format!("PLAINTEXT://{}:9092", h.address)
        );
        assert_eq!(
            kafka["zookeeper.connect"],
            "192.168.56.101:2181,192.168.56.102:2181,192.168.56.103:2181"
        );
        assert_eq!(
            kafka["num.partitions"], "3",
            "the inventory's override wins"
        );
        assert_eq!(kafka["offsets.topic.replication.factor"], "3");
        assert_eq!(kafka["min.insync.replicas"], "2");
        assert!(!kafka.contains_key("host.name"), "2.4 uses listeners");
        broker_ids.push(kafka["broker.id"].clone());
    }
    broker_ids.sort();
    broker_ids.dedup();
    assert_eq!(broker_ids.len(), 3, "broker ids are unique");
}

fn xml_props(text: &str) -> BTreeMap<String, String> {
    let doc = roxmltree::Document::parse(text).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "configuration");
    let mut out = BTreeMap::new();
    for p in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("property"))
    {
        let get = |tag: &str| {
            p.children()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .unwrap_or("")
                .to_string()
        };
        assert!(
            out.insert(get("name"), get("value")).is_none(),
            "duplicate property"
        );
    }
    out
}

#[test]
fn xml_files_are_well_formed_and_version_aware() {
    let seed = example("seed-3node.yml");
    let node1 = &seed.hosts[0];
    let get = |h: &stackctl::plan::HostPlan, suffix: &str| {
        h.files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .map(|f| f.content.to_string())
    };
    let core = xml_props(&get(node1, "core-site.xml").unwrap());
    assert_eq!(core["fs.defaultFS"], "hdfs://192.168.56.101:8020");
    let hdfs = xml_props(&get(node1, "hdfs-site.xml").unwrap());
    assert_eq!(hdfs["dfs.replication"], "2", "override merged last");
    assert_eq!(
        hdfs["dfs.namenode.http-address"], "192.168.56.101:50070",
        "Hadoop 2 ports"
    );
    let hbase = xml_props(&get(node1, "hbase-site.xml").unwrap());
    assert_eq!(hbase["hbase.cluster.distributed"], "true");
    assert_eq!(hbase["hbase.rootdir"], "hdfs://192.168.56.101:8020/hbase");
    assert_eq!(
        hbase["hbase.zookeeper.quorum"],
        "192.168.56.101,192.168.56.102,192.168.56.103"
    );
    assert!(
        get(node1, "/slaves").is_some() && get(node1, "/workers").is_none(),
        "Hadoop 2 uses slaves"
    );
    assert_eq!(
        get(node1, "/slaves").unwrap(),
        "192.168.56.101\n192.168.56.102\n192.168.56.103\n"
    );
    assert_eq!(
        get(node1, "hbase/regionservers").unwrap(),
        "192.168.56.102\n192.168.56.103\n"
    );
    assert_eq!(get(node1, "hbase/backup-masters").unwrap(), "");

    let modern = example("modern-5node.yml");
    let m1 = &modern.hosts[0];
    let hdfs = xml_props(&get(m1, "hdfs-site.xml").unwrap());
    assert_eq!(
        hdfs["dfs.namenode.http-address"], "10.20.0.11:9870",
        "Hadoop 3 ports"
    );
    assert_eq!(
        hdfs["dfs.namenode.secondary.http-address"],
        "10.20.0.12:9868"
    );
    assert!(
        get(m1, "/workers").is_some() && get(m1, "/slaves").is_none(),
        "Hadoop 3 uses workers"
    );
    assert_eq!(get(m1, "hbase/backup-masters").unwrap(), "10.20.0.12\n");
    let kafka_w1 = modern.hosts.iter().find(|h| h.name == "worker1").unwrap();
    let props = properties(&get(kafka_w1, "server.properties").unwrap());
    assert_eq!(
        props["zookeeper.connect"], "10.20.0.11:2181,10.20.0.12:2181,10.20.0.21:2181/kafka",
        "chroot appended"
    );
}

#[test]
fn shell_files_pass_bash_syntax_check_and_export_java_home() {
    for name in EXAMPLES {
        let plan = example(name);
        for h in &plan.hosts {
            for f in h.files.iter().filter(|f| f.path.ends_with(".sh")) {
                let out = Command::new("bash")
                    .arg("-n")
                    .arg("-c")
                    .arg(f.content.as_str())
                    .output()
                    .expect("bash");
                assert!(
                    out.status.success(),
                    "{} {}: {}",
                    h.name,
                    f.path,
                    String::from_utf8_lossy(&out.stderr)
                );
                if !f.path.ends_with("-env.sh") {
                    continue; // launchers are run, not sourced: tests/e2e_deploy.rs
                }
                // Source it in a clean shell and read the variables back.
                assert_eq!(
                    sourced_var(&f.content, "JAVA_HOME"),
                    h.java_home,
                    "{} {}",
                    h.name,
                    f.path
                );
                if f.path.ends_with("hbase-env.sh") {
                    assert!(f.content.contains("export HBASE_MANAGES_ZK=false"));
                }
            }
        }
    }
}

#[test]
fn krb5_options_survive_the_shell() {
    let plan = example("seed-3node.yml");
    let env = plan.hosts[0]
        .files
        .iter()
        .find(|f| f.path.ends_with("hadoop-env.sh"))
        .unwrap();
    assert_eq!(
        sourced_var(&env.content, "HADOOP_OPTS").trim(),
        "-Djava.security.krb5.realm= -Djava.security.krb5.kdc="
    );
}

#[test]
fn hostile_values_are_escaped_not_interpreted() {
    let (_d, path) = common::inventory(
        r#"
cluster: t
defaults: { java_home: "/opt/java $(touch /tmp/pwned)'x", java_version: "11" }
components:
  zookeeper: { version: "3.5.6", config: { "weird key": "a\\b <&> é" } }
  hadoop: { version: "3.3.6", core-site: { hadoop.note: "</value><evil/>&amp;" } }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, namenode, datanode] }
"#,
    );
    let plan = plan::plan(&path, &PlanOptions::default()).expect("plan");
    let h = &plan.hosts[0];
    let zoo = h
        .files
        .iter()
        .find(|f| f.path.ends_with("zoo.cfg"))
        .unwrap();
    let props = properties(&zoo.content);
    assert_eq!(props["weird key"], "a\\b <&> é");
    let core = h
        .files
        .iter()
        .find(|f| f.path.ends_with("core-site.xml"))
        .unwrap();
    assert_eq!(
        xml_props(&core.content)["hadoop.note"],
        "</value><evil/>&amp;"
    );
    let env = h
        .files
        .iter()
        .find(|f| f.path.ends_with("hadoop-env.sh"))
        .unwrap();
    assert_eq!(
        sourced_var(&env.content, "JAVA_HOME"),
        "/opt/java $(touch /tmp/pwned)'x"
    );
}

#[test]
fn templates_can_be_overridden_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zookeeper")).unwrap();
    std::fs::write(dir.path().join("zookeeper/myid"), "custom {{ c.id }}\n").unwrap();
    let (_d, path) = common::inventory(common::THREE_NODES);
    let plan = plan::plan(
        &path,
        &PlanOptions {
            templates: Some(dir.path().to_path_buf()),
            locked: false,
            read_only: false,
        },
    )
    .unwrap();
    let myid = plan.hosts[1]
        .files
        .iter()
        .find(|f| f.path.ends_with("/myid"))
        .unwrap();
    assert_eq!(myid.content.as_str(), "custom 2\n");
    assert_eq!(
        plan.templates_overridden,
        vec!["zookeeper/myid".to_string()]
    );
}

#[test]
fn version_lines_render_what_each_version_knows() {
    let (_d, path) = common::inventory(
        r#"
cluster: old
defaults: { java_home: /usr/lib/jvm/java-7, java_version: "7" }
components:
  zookeeper: { version: "3.4.6" }
  kafka: { version: "0.8.2", scala: "2.10" }
  hbase: { version: "0.98.24" }
  hadoop: { version: "2.4.1" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, hbase-master, hbase-regionserver] }
"#,
    );
    let plan = plan::plan(&path, &PlanOptions::default()).unwrap();
    let h = &plan.hosts[0];
    let zoo = properties(
        &h.files
            .iter()
            .find(|f| f.path.ends_with("zoo.cfg"))
            .unwrap()
            .content,
    );
    assert!(
        !zoo.contains_key("4lw.commands.whitelist") && !zoo.contains_key("admin.enableServer"),
        "3.4.6 knows neither"
    );
    let kafka = properties(
        &h.files
            .iter()
            .find(|f| f.path.ends_with("server.properties"))
            .unwrap()
            .content,
    );
    assert_eq!(kafka["host.name"], "10.0.0.1");
    assert_eq!(kafka["port"], "9092");
    assert!(
        !kafka.contains_key("listeners")
            && !kafka.contains_key("transaction.state.log.replication.factor")
    );
    assert_eq!(kafka["offsets.topic.replication.factor"], "1", "one broker");
}

/// Each role has its own graceful-stop timeout (a RegionServer closes its regions, a broker
/// moves its leaderships), and a component's `stop_timeout` overrides it.
#[test]
fn launchers_wait_the_roles_stop_timeout_before_killing() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.yml");
    std::fs::write(
        &inv,
        "cluster: t\ndefaults: { java_home: /usr/lib/jvm/java-11, java_version: \"11\" }\n\
         components:\n  zookeeper: { version: \"3.5.6\" }\n  kafka: { version: \"2.4.0\", scala: \"2.12\", stop_timeout: 45 }\n\
         \x20 hadoop: { version: \"3.3.6\" }\n  hbase: { version: \"2.5.10-hadoop3\" }\n\
         hosts:\n  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager, hbase-master, hbase-regionserver] }\n",
    )
    .unwrap();
    let plan = plan::plan(
        &inv,
        &PlanOptions {
            templates: None,
            locked: false,
            read_only: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let launcher = |role: &str| {
        plan.hosts[0]
            .files
            .iter()
            .find(|f| f.path.ends_with(&format!("/launch/{role}.sh")))
            .unwrap_or_else(|| panic!("no launcher for {role}"))
            .content
            .clone()
    };
    for (role, tenths) in [
        ("zookeeper", 300),
        ("kafka", 450),
        ("namenode", 600),
        ("datanode", 600),
        ("nodemanager", 600),
        ("hbase-master", 1200),
        ("hbase-regionserver", 3000),
    ] {
        let text = launcher(role);
        assert!(
            text.contains(&format!("while [ \"$i\" -lt {tenths} ] && kill -0")),
            "{role}: expected a {tenths}-tenths stop wait\n{text}"
        );
    }
}

/// The launcher, run as root, starts the JVM as the service's user (setpriv), records the
/// JVM's own pid, and its status and stop still work. A fake `java` (a shell loop whose
/// command line carries the launcher's marker) stands in for the JDK; `nobody` for the user.
#[test]
fn a_launcher_run_as_root_starts_the_jvm_as_the_service_user_and_still_stops_it() {
    use std::os::unix::fs::PermissionsExt;
    let id = |args: &[&str]| {
        let o = Command::new("id").args(args).output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    if id(&["-u"]) != "0" {
        eprintln!("skipped: needs root to switch users");
        return;
    }
    let nobody = id(&["-u", "nobody"]);
    let group = id(&["-gn", "nobody"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(d.join("jdk/bin")).unwrap();
    std::fs::create_dir_all(d.join("opt/apache-zookeeper-3.5.6-bin")).unwrap();
    let java = d.join("jdk/bin/java");
    // A JDK's `release` file (the launcher reads the Java version from it for the GC flags), and
    // a `java` that answers `-version` like one and otherwise runs until killed.
    std::fs::write(d.join("jdk/release"), "JAVA_VERSION=\"11.0.13\"\n").unwrap();
    std::fs::write(
        &java,
        "#!/bin/sh\n[ \"$1\" = -version ] && { echo 'openjdk version \"11.0.13\"' >&2; exit 0; }\nwhile :; do sleep 1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&java, std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = |s: &str| d.join(s).display().to_string();
    let inv = d.join("inv.yml");
    std::fs::write(
        &inv,
        format!(
            "cluster: t\ndefaults: {{ java_home: {}, install_dir: {}, data_dir: {}, log_dir: {} }}\n\
             components:\n  zookeeper: {{ version: \"3.5.6\", user: nobody, group: {group} }}\n\
             hosts:\n  - {{ name: a, address: 10.0.0.1, roles: [zookeeper] }}\n",
            p("jdk"),
            p("opt"),
            p("data"),
            p("log")
        ),
    )
    .unwrap();
    let plan = plan::plan(
        &inv,
        &PlanOptions {
            templates: None,
            locked: false,
            read_only: true,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let launcher = plan.hosts[0]
        .files
        .iter()
        .find(|f| f.path.ends_with("/launch/zookeeper.sh"))
        .unwrap();
    let script = d.join("zookeeper.sh");
    std::fs::write(&script, launcher.content.as_str()).unwrap();
    let run = |arg: &str| {
        let o = Command::new("sh").arg(&script).arg(arg).output().unwrap();
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (code, out) = run("start");
    assert_eq!(code, Some(0), "{out}");
    let pid = std::fs::read_to_string(d.join("data/run/zookeeper.pid"))
        .unwrap()
        .trim()
        .to_string();
    // The launcher returns once the JVM is forked; setpriv execs it a moment later.
    let mut status = String::new();
    for _ in 0..50 {
        status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status.starts_with("Name:\tjava\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let (scode, sout) = run("status");
    let (stop_code, stop_out) = run("stop");
    let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true);
    let log_owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(d.join("log/zookeeper/zookeeper.log"))
            .map(|m| m.uid().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        uid, nobody,
        "the pid file names the JVM, running as nobody: {status}"
    );
    assert_eq!(
        (scode, sout.trim()),
        (Some(0), format!("zookeeper running {pid}").as_str())
    );
    assert_eq!(stop_code, Some(0), "{stop_out}");
    assert!(gone, "stop ended the JVM");
    assert_eq!(log_owner, nobody, "the log belongs to the service's user");
}

/// ZooKeeper 3.8 logs with logback (ZOOKEEPER-4427): it gets a logback.xml that its launcher
/// names, not a log4j.properties that logback would ignore (and then log DEBUG to stdout);
/// 3.7 keeps log4j 1.
#[test]
fn zookeeper_3_8_logs_through_logback_and_3_7_through_log4j() {
    for (version, file, opt) in [
        ("3.8.4", "logback.xml", "-Dlogback.configurationFile="),
        ("3.7.2", "log4j.properties", "-Dlog4j.configuration=file:"),
    ] {
        let (_d, path) = common::inventory(&format!(
            r#"
cluster: zk
defaults: {{ java_home: /usr/lib/jvm/java-11, java_version: "11" }}
components:
  zookeeper: {{ version: "{version}" }}
hosts:
  - {{ name: a, address: 10.0.0.1, roles: [zookeeper] }}
"#
        ));
        let plan = plan::plan(&path, &PlanOptions::default()).unwrap();
        let files = &plan.hosts[0].files;
        let conf = files
            .iter()
            .find(|f| {
                f.path.ends_with("/zookeeper/log4j.properties")
                    || f.path.ends_with("/zookeeper/logback.xml")
            })
            .unwrap_or_else(|| panic!("{version}: no logging file"));
        assert!(conf.path.ends_with(file), "{version}: {}", conf.path);
        let launcher = files
            .iter()
            .find(|f| f.path.ends_with(".sh") && f.content.contains("QuorumPeerMain"))
            .unwrap_or_else(|| panic!("{version}: no launcher"));
        assert!(
            launcher.content.contains(&format!("{opt}{}", conf.path)),
            "{version}: launcher does not name {}:\n{}",
            conf.path,
            launcher.content
        );
        if file == "logback.xml" {
            assert!(conf.content.contains("<file>${stackctl.log.file}</file>"));
            assert!(
                conf.content.contains("<root level=\"INFO\">"),
                "{}",
                conf.content
            );
        }
    }
}
