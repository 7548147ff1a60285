//! Leaks and unsafe files (issue 11): secrets never shown and written 0600; `down --purge`
//! deletes exactly what the rendered configs use and never a directory stackctl did not create;
//! HDFS storage directories resolved the way Hadoop resolves them. All offline, from rendered
//! plans and the real binary (nothing here connects to a host).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use stackctl::components::Cluster;
use stackctl::deploy::{self, changes, HostChanges, LiveHost};
use stackctl::plan::{load_and_plan, Plan, PlanError, PlanOptions};

/// Every secret value the inventory below holds: none may appear in any output.
const SECRETS: &[&str] = &[
    "kafka-ks-pw-1",
    "kafka-key-pw-2",
    "JAAS-pw-3",
    "zk-ks-pw-4",
    "s3a-secret-5",
    "jvm-opt-pw-6",
    "my-bearer-7",
];

const SECRET_INVENTORY: &str = r#"
cluster: sec
secret_keys: ["my.api.*"]
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11", data_dir: /data/stack }
components:
  zookeeper:
    version: "3.8.4"
    config: { ssl.keyStore.password: zk-ks-pw-4 }
  kafka:
    version: "3.6.2"
    mode: zookeeper
    scala: "2.13"
    config:
      ssl.keystore.password: kafka-ks-pw-1
      ssl.key.password: kafka-key-pw-2
      listener.name.sasl_ssl.plain.sasl.jaas.config: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="JAAS-pw-3";'
      my.api.bearer: my-bearer-7
      num.partitions: 3
  hadoop:
    version: "3.3.6"
    core-site: { fs.s3a.secret.key: s3a-secret-5 }
    jvm_opts: "-Djavax.net.ssl.keyStorePassword=jvm-opt-pw-6 -Dx=1"
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka, datanode, nodemanager] }
  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka, datanode, nodemanager] }
"#;

fn opts() -> PlanOptions {
    PlanOptions {
        templates: None,
        locked: false,
        read_only: true,
    }
}

fn plan_of(
    text: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    stackctl::inventory::Inventory,
    Plan,
) {
    let (dir, path) = common::inventory(text);
    let (inv, plan) = load_and_plan(&path, &opts()).unwrap_or_else(|e| panic!("{e}"));
    (dir, path, inv, plan)
}

fn no_secret_in(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows the secret {s}:\n{text}");
    }
}

fn file<'p>(plan: &'p Plan, host: &str, suffix: &str) -> &'p stackctl::render::RenderedFile {
    plan.hosts
        .iter()
        .find(|h| h.name == host)
        .unwrap()
        .files
        .iter()
        .find(|f| f.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{host} has no {suffix}"))
}

// --- secrets ---------------------------------------------------------------------------------

#[test]
fn files_holding_a_secret_are_0600_and_keep_their_real_content() {
    let (_d, _p, _inv, plan) = plan_of(SECRET_INVENTORY);
    for (suffix, holds) in [
        ("/server.properties", "kafka-ks-pw-1"),
        ("/zoo.cfg", "zk-ks-pw-4"),
        ("/core-site.xml", "s3a-secret-5"),
        ("/hadoop-env.sh", "jvm-opt-pw-6"),
        ("/launch/namenode.sh", "jvm-opt-pw-6"),
    ] {
        let f = file(&plan, "a", suffix);
        assert!(
            f.content.contains(holds),
            "{suffix}: the real file keeps its value"
        );
        assert!(f.secret, "{suffix} holds a secret");
        assert_eq!(f.mode & 0o077, 0, "{suffix} is {:04o}", f.mode);
    }
    assert!(file(&plan, "a", "/server.properties")
        .content
        .contains("my.api.bearer=my-bearer-7"));
    // A file without a secret keeps its mode.
    let workers = file(&plan, "a", "/workers");
    assert!(!workers.secret);
    assert_eq!(workers.mode, 0o644);
    assert_eq!(file(&plan, "a", "/myid").mode, 0o644);
}

#[test]
fn plan_text_show_files_and_json_never_print_a_secret() {
    let (_d, path, _inv, _plan) = plan_of(SECRET_INVENTORY);
    let p = path.to_str().unwrap();
    let text = common::stackctl(&["plan", "-i", p, "--show-files"]);
    assert!(text.status.success(), "{}", common::stderr(&text));
    let out = common::stdout(&text);
    no_secret_in("plan --show-files", &out);
    assert!(out.contains("ssl.keystore.password=<secret>"), "{out}");
    assert!(out.contains("my.api.bearer=<secret>"), "{out}");
    assert!(out.contains("<value><secret></value>"), "{out}");
    assert!(
        out.contains("-Djavax.net.ssl.keyStorePassword=<secret>"),
        "{out}"
    );
    assert!(out.contains("num.partitions=3"), "the rest stays readable");
    let json = common::stackctl(&["plan", "-i", p, "--json"]);
    no_secret_in("plan --json", &common::stdout(&json));
    no_secret_in("plan stderr", &common::stderr(&json));
}

fn live_host(plan: &Plan, host: &str, current: &[(&str, &str)]) -> LiveHost {
    let files: Vec<String> = current
        .iter()
        .map(|(suffix, _)| file(plan, host, suffix).path.clone())
        .collect();
    LiveHost {
        changes: HostChanges {
            host: host.into(),
            upload: vec![],
            unpack: vec![],
            files: files.clone(),
            start: vec![],
            restart: vec![],
            ..Default::default()
        },
        current: files
            .into_iter()
            .zip(current)
            .map(|(p, (_, c))| (p, Some(c.to_string())))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn live_diffs_and_live_json_say_a_secret_changed_never_what_it_was_or_is() {
    let (_d, _p, _inv, plan) = plan_of(SECRET_INVENTORY);
    // What the host has now: an older password, the same key password, an old JAAS line.
    let planned = file(&plan, "a", "/server.properties").content.to_string();
    let on_host = planned
        .replace("kafka-ks-pw-1", "OLD-ks-pw-0")
        .replace("num.partitions=3", "num.partitions=1");
    let lh = live_host(&plan, "a", &[("/server.properties", &on_host)]);
    let text = stackctl::output::plan::live_text(&plan, std::slice::from_ref(&lh), false);
    no_secret_in("plan --live", &text);
    assert!(!text.contains("OLD-ks-pw-0"), "{text}");
    assert!(text.contains("-ssl.keystore.password=<secret>"), "{text}");
    assert!(
        text.contains("+ssl.keystore.password=<secret, changed>"),
        "{text}"
    );
    assert!(
        !text.contains("+ssl.key.password"),
        "an unchanged secret is no change:\n{text}"
    );
    assert!(text.contains("+num.partitions=3"), "{text}");
    let json = stackctl::output::plan::live_json(&plan, std::slice::from_ref(&lh)).to_string();
    no_secret_in("plan --live --json", &json);
    assert!(!json.contains("OLD-ks-pw-0"), "{json}");
    assert!(json.contains("ssl.keystore.password=<secret>"), "{json}");
}

#[test]
fn errors_and_events_lose_every_secret_value() {
    let (_d, _p, _inv, plan) = plan_of(SECRET_INVENTORY);
    for s in SECRETS {
        assert!(
            plan.secret_values.iter().any(|v| v.contains(s)),
            "{s} is known as a secret value"
        );
    }
    let e = deploy::DeployError::Failed(anyhow::anyhow!(
        "a: starting kafka: log tail: Invalid password kafka-ks-pw-1 for keystore"
    ))
    .masked(&plan.secret_values);
    let shown = e.to_string();
    no_secret_in("an error", &shown);
    assert!(
        shown.contains("Invalid password <secret> for keystore"),
        "{shown}"
    );
    let p = deploy::DeployError::Preflight(vec!["b: zk-ks-pw-4 rejected".into()])
        .masked(&plan.secret_values);
    no_secret_in("a preflight error", &p.to_string());
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn plan_out_writes_secret_files_0600_and_honours_the_umask() {
    let (dir, path, _inv, _plan) = plan_of(SECRET_INVENTORY);
    let run = |umask: &str, out: &Path| {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_stackctl"))
            .args([
                "plan",
                "-i",
                path.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let out = dir.path().join("out");
    run("022", &out);
    let conf = out.join("a/opt/stack/etc");
    assert_eq!(mode(&conf.join("kafka/server.properties")), 0o600);
    assert_eq!(mode(&conf.join("hadoop/core-site.xml")), 0o600);
    assert_eq!(mode(&conf.join("hadoop/workers")), 0o644);
    // A second run over the same DIR with a stricter umask: nothing looser than it allows.
    run("077", &out);
    assert_eq!(mode(&conf.join("hadoop/workers")), 0o600);
    assert_eq!(mode(&conf.join("kafka/server.properties")), 0o600);
}

#[test]
fn a_bad_secret_key_pattern_is_an_inventory_error() {
    let (_d, path) = common::inventory(&SECRET_INVENTORY.replace("\"my.api.*\"", "\"my api\""));
    match load_and_plan(&path, &opts()) {
        Err(PlanError::Invalid(e)) => {
            let m: Vec<&str> = e.diagnostics.0.iter().map(|d| d.message.as_str()).collect();
            assert_eq!(m, ["`my api` is not a key pattern"]);
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    }
}

// --- down --purge ----------------------------------------------------------------------------

const PURGE_INVENTORY: &str = r#"
cluster: pg
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11", data_dir: /data/stack, log_dir: /var/log/stack, install_dir: /opt/stack }
components:
  zookeeper:
    version: "3.8.4"
    config: { dataLogDir: /data/stack/zk-txlog }
  kafka:
    version: "3.6.2"
    mode: zookeeper
    scala: "2.13"
    config: { log.dirs: "/data/stack/kafka-1,/mnt/disk2/kafka" }
  hadoop:
    version: "3.3.6"
    core-site: { hadoop.tmp.dir: /data/stack/htmp }
    hdfs-site:
      dfs.namenode.name.dir: "file:/data/stack/nn"
      dfs.datanode.data.dir: "${hadoop.tmp.dir}/dfs/data,file:///data/stack/dn2"
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka, namenode, datanode, resourcemanager, nodemanager] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka, datanode, nodemanager] }
  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka, datanode, nodemanager] }
"#;

#[test]
fn purge_deletes_the_directories_the_rendered_configs_name_and_refuses_others() {
    let (_d, _p, inv, plan) = plan_of(PURGE_INVENTORY);
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let a = inv.host("a").unwrap();
    let p = changes::purge_list(&cl, a);
    assert_eq!(
        p.delete,
        [
            "/data/stack/dn2",
            "/data/stack/hadoop/pid",
            "/data/stack/hdfs/namesecondary",
            "/data/stack/htmp",
            "/data/stack/kafka-1",
            "/data/stack/nn",
            "/data/stack/run",
            "/data/stack/yarn/local",
            "/data/stack/zk-txlog",
            "/data/stack/zookeeper",
        ],
        "config overrides, file: URIs and ${{hadoop.tmp.dir}} included; htmp/dfs/data goes with htmp"
    );
    assert_eq!(p.refused.len(), 1, "{:?}", p.refused);
    assert_eq!(p.refused[0].0, "/mnt/disk2/kafka");
    assert!(p.refused[0]
        .1
        .contains("not inside a directory stackctl created"));
}

#[test]
fn purge_with_data_dir_var_deletes_nothing_below_var() {
    let text = PURGE_INVENTORY
        .replace("data_dir: /data/stack", "data_dir: /var")
        .replace("/data/stack/", "/var/");
    let (_d, _p, inv, plan) = plan_of(&text);
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let p = changes::purge_list(&cl, inv.host("a").unwrap());
    assert!(p.delete.is_empty(), "deletes {:?}", p.delete);
    let refused: Vec<&str> = p.refused.iter().map(|(d, _)| d.as_str()).collect();
    assert!(refused.contains(&"/var/run"), "{refused:?}");
    assert!(refused.contains(&"/var/zookeeper"), "{refused:?}");
    let why = &p.refused.iter().find(|(d, _)| d == "/var/run").unwrap().1;
    assert!(why.contains("system directory"), "{why}");
    assert!(!changes::data_dirs(&cl, inv.host("a").unwrap()).contains(&"/var/run".to_string()));
}

#[test]
fn purge_refusal_rules() {
    let (_d, _p, inv, _plan) = plan_of(PURGE_INVENTORY);
    let a = inv.host("a").unwrap();
    for (dir, ok) in [
        ("/data/stack/zookeeper", true),
        ("/opt/stack/zk-data", true),
        ("/var/log/stack/kafka", true),
        ("/data/stack", false),   // a root itself
        ("/data/stack/", false),  // the same, spelled with a slash
        ("//data//stack", false), // and with doubled slashes
        ("/data", false),         // holds a root
        ("/opt", false),          // a system directory holding a root
        ("/", false),
        ("/etc/kafka", false), // not below a root
        ("/var/log", false),
        ("/data/stack/../../etc", false), // not a plain path
        ("relative/dir", false),
    ] {
        assert_eq!(
            changes::purge_refusal(a, dir).is_none(),
            ok,
            "{dir}: {:?}",
            changes::purge_refusal(a, dir)
        );
    }
}

#[test]
fn down_purge_without_yes_prints_the_list_and_deletes_nothing() {
    let (_d, path, _inv, _plan) = plan_of(PURGE_INVENTORY);
    // The hosts do not exist: the list comes from the plan, before any connection.
    let o = common::stackctl(&["down", "-i", path.to_str().unwrap(), "--purge"]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("  a:\n"), "{err}");
    assert!(err.contains("    /data/stack/nn\n"), "{err}");
    assert!(err.contains("kept: /mnt/disk2/kafka"), "{err}");
    assert!(err.contains("add --yes"), "{err}");
    assert!(
        !err.contains("warning: purging ZooKeeper"),
        "the whole ensemble: no warning"
    );
    let o = common::stackctl(&[
        "down",
        "-i",
        path.to_str().unwrap(),
        "--purge",
        "--limit",
        "b",
    ]);
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("  a:\n"), "only the limited hosts:\n{err}");
    assert!(
        err.contains("warning: purging ZooKeeper data on 1 of the 3 ensemble members (b)")
            && err.contains("survivors (a, c)"),
        "{err}"
    );
}

#[test]
fn down_records_no_ids_even_when_it_goes_no_further() {
    let (dir, path) = common::inventory(PURGE_INVENTORY);
    let lock = dir.path().join(format!(
        "{}.lock",
        path.file_name().unwrap().to_string_lossy()
    ));
    assert!(!lock.exists());
    let o = common::stackctl(&["down", "-i", path.to_str().unwrap(), "--purge"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        !lock.exists(),
        "down --purge without --yes wrote {}",
        lock.display()
    );
}

// --- HDFS storage directories ----------------------------------------------------------------

fn launcher(plan: &Plan) -> String {
    file(plan, "a", "/launch/namenode.sh").content.to_string()
}

#[test]
fn the_namenode_format_marker_follows_file_uris_and_variables() {
    for (value, marker) in [
        ("file:/data/stack/nn", "/data/stack/nn/current/VERSION"),
        ("file:///data/stack/nn", "/data/stack/nn/current/VERSION"),
        (
            "${hadoop.tmp.dir}/dfs/name",
            "/data/stack/htmp/dfs/name/current/VERSION",
        ),
    ] {
        let text = PURGE_INVENTORY.replace("file:/data/stack/nn", value);
        let (_d, _p, inv, plan) = plan_of(&text);
        let l = launcher(&plan);
        assert!(
            l.contains(&format!("if [ -f {marker} ]")),
            "{value}: marker not {marker}:\n{l}"
        );
        // The drift check (a DataNode of another NameNode) reads the same VERSION file.
        let ids = plan.ids();
        let cl = Cluster::new(&inv, &ids);
        let hp = &plan.hosts[0];
        let services = changes::services(&cl, inv.host("a").unwrap());
        let req = changes::fact_request(&cl, inv.host("a").unwrap(), hp, &services);
        assert!(
            req.read.contains(&marker.to_string()),
            "{value}: {:?}",
            req.read
        );
        assert!(req
            .read
            .contains(&"/data/stack/htmp/dfs/data/current/VERSION".to_string()));
    }
}

#[test]
fn a_name_dir_that_cannot_be_resolved_is_an_inventory_error() {
    for (value, says) in [
        ("${user.name}/nn", "`${user.name}`"),
        ("hdfs://elsewhere/nn", "not a local directory"),
        ("nn", "not a plain absolute path"),
    ] {
        let text = PURGE_INVENTORY.replace("file:/data/stack/nn", value);
        let (_d, path) = common::inventory(&text);
        match load_and_plan(&path, &opts()) {
            Err(PlanError::Invalid(e)) => {
                let d = &e.diagnostics.0;
                assert_eq!(d.len(), 1, "{value}: {d:?}");
                assert!(
                    d[0].message.contains("dfs.namenode.name.dir"),
                    "{}",
                    d[0].message
                );
                assert!(d[0].message.contains(says), "{value}: {}", d[0].message);
            }
            Err(e) => panic!("{value}: {e}"),
            Ok(_) => panic!("{value}: accepted"),
        }
    }
}

#[test]
fn the_secondarynamenode_gate_probes_a_host_given_by_name() {
    // A listener on this machine stands in for the SecondaryNameNode's web UI.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let text = format!(
        r#"
cluster: snn
defaults: {{ java_home: /usr/lib/jvm/java-11, java_version: "11" }}
components:
  hadoop:
    version: "3.3.6"
    hdfs-site: {{ dfs.namenode.secondary.http-address: "localhost:{port}" }}
hosts:
  - {{ name: nn, address: 10.0.0.1, roles: [namenode, datanode, resourcemanager, nodemanager] }}
  - {{ name: snn, address: localhost, roles: [secondarynamenode] }}
"#
    );
    let (_d, _p, inv, plan) = plan_of(&text);
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let hadoop = stackctl::components::find("hadoop").unwrap();
    let snn = inv.host("snn").unwrap();
    let ok = hadoop.health(&cl, "secondarynamenode", &[snn]);
    assert!(ok.is_ok(), "{:#}", ok.unwrap_err());
    drop(l);
    let down = hadoop.health(&cl, "secondarynamenode", &[snn]);
    assert!(
        format!("{:#}", down.unwrap_err()).contains("not answering"),
        "a closed port is reported as such"
    );
}

#[test]
fn a_secret_file_left_0644_on_a_host_is_rewritten_0600_without_a_restart() {
    let (_d, _p, inv, plan) = plan_of(SECRET_INVENTORY);
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let host = inv.host("b").unwrap();
    let hp = plan.hosts.iter().find(|h| h.name == "b").unwrap();
    let services = changes::services(&cl, host);
    let mut facts = stackctl::remote::facts::HostFacts::default();
    for f in &hp.files {
        facts.sha256.insert(f.path.clone(), f.sha256.clone());
        facts.modes.insert(f.path.clone(), f.mode);
    }
    for s in &services {
        facts.running.insert(s.role.to_string(), 100);
    }
    let props = file(&plan, "b", "/server.properties").path.clone();
    let state = |facts: stackctl::remote::facts::HostFacts| changes::HostState {
        host,
        plan: hp,
        services: services.clone(),
        facts,
    };
    let archives = Default::default();
    let same = changes::host_changes(&inv, &state(facts.clone()), &archives);
    assert!(same.files.is_empty(), "{:?}", same.files);
    // Written 0644 by an older stackctl: same content, looser mode.
    facts.modes.insert(props.clone(), 0o644);
    let ch = changes::host_changes(&inv, &state(facts), &archives);
    assert_eq!(ch.files, [props]);
    assert!(
        ch.restart.is_empty(),
        "a mode alone restarts nothing: {:?}",
        ch.restart
    );
}

#[test]
fn the_facts_script_reports_file_modes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("server.properties");
    std::fs::write(&f, "a=1\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let req = stackctl::remote::facts::FactRequest {
        java_home: "/nonexistent".into(),
        checksum: vec![f.to_str().unwrap().to_string()],
        ..Default::default()
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(stackctl::remote::facts::script(&req))
        .output()
        .unwrap();
    let facts = stackctl::remote::facts::parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        facts.modes.get(f.to_str().unwrap()),
        Some(&0o640),
        "{facts:?}"
    );
    assert!(facts.sha256.contains_key(f.to_str().unwrap()));
}
