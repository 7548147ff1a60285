//! Real networks on the test bed: a bastion (hosts this machine cannot route to, reached only
//! through a jump host), an ssh_config that sets User and Port for an inventory that sets
//! neither, and `--accept-new-host-keys` meaning accept-new (a changed key is still refused).
//! Needs a running bed (`tests/testbed/testbed.sh up 3`); run by tests/testbed/run-e2e.sh.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::bed::*;
use common::inv::Inventory;

/// ZooKeeper on the three hosts, with no SSH setting at all: the ssh_config decides.
fn zk_only(cluster: &str) -> Inventory {
    Inventory::new(cluster)
        .java_home(JDK11)
        .java_version("11")
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .heap("128m")
        .hosts(&HOSTS, &["zookeeper"])
}

fn reachable(addr: &str) -> bool {
    let a: SocketAddr = addr.parse().unwrap();
    TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()
}

#[test]
#[ignore]
fn behind_a_bastion_the_whole_stack_comes_up_reruns_as_a_no_op_and_verifies() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = whole_stack("bastion").write(dir.path());
    let cfg = bed().join("ssh_config.bastion");
    let hidden = Hidden::new();
    // This machine reaches no host itself: not its sshd, not a service port.
    for (_, a) in HOSTS {
        assert!(!reachable(&format!("{a}:22")), "{a}:22 is reachable");
    }

    let out = stackctl_via(&cfg, &["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = summary(&out)["summary"].clone();
    assert_eq!(s["started"].as_array().unwrap().len(), 17, "{s}");
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    for gate in [
        "leader",
        "brokers 1, 2, 3 registered",
        "3 DataNodes live",
        "3 NodeManagers active",
        "2 RegionServers live, none dead",
    ] {
        assert!(log.contains(gate), "gate `{gate}` missing:\n{log}");
    }
    assert!(
        !reachable("10.231.77.11:2181"),
        "ZooKeeper reachable directly"
    );

    assert_no_op(&stackctl_via(&cfg, &["up", "--json"], &inv));

    let (code, r) = verify_via(&cfg, &inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    for (h, _) in HOSTS {
        let (st, ev) = check(&r, h, "ssh", "probes");
        assert_eq!(
            (st.as_str(), ev.as_str()),
            ("pass", "through the SSH connection (ProxyJump jump)"),
            "{h}"
        );
    }
    let (st, ev) = check(&r, "cluster", "datanode", "live");
    assert!(st == "pass" && ev.contains("3 of 3 DataNodes live"), "{ev}");

    // The smoke round trips too: WebHDFS through each DataNode's port and the YARN REST API
    // through the forwards, the HBase canary on the master's host over SSH.
    let out = Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(["verify", "--smoke", "--json", "-i"])
        .arg(&inv)
        .args(["--ssh-config", cfg.to_str().unwrap()])
        .output()
        .expect("run stackctl verify --smoke");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify --smoke --json is not JSON ({e}): {}", text(&out)));
    common::schema::assert_valid(&r, "verify");
    assert_eq!(out.status.code(), Some(0), "{}", failures(&r));
    let smoke: Vec<(String, String)> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"].as_str().is_some_and(|n| n.starts_with("smoke")))
        .map(|c| {
            (
                c["host"].as_str().unwrap_or("").to_string(),
                c["service"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (h, _) in HOSTS {
        for svc in ["zookeeper", "kafka", "datanode"] {
            assert!(
                smoke.iter().any(|(sh, ss)| sh == h && ss == svc),
                "no smoke check for {svc} on {h}: {smoke:?}"
            );
        }
    }
    for svc in ["nodemanager", "hbase-regionserver"] {
        assert!(
            smoke.iter().any(|(_, ss)| ss == svc),
            "no smoke check for {svc}: {smoke:?}"
        );
    }

    // Told to probe directly, verify cannot reach the services and says so.
    std::fs::create_dir(dir.path().join("direct")).unwrap();
    let direct = whole_stack("bastion")
        .default("probe", "direct")
        .write(&dir.path().join("direct"));
    let (code, r) = verify_via(&cfg, &direct);
    assert_ne!(code, Some(0), "direct probes passed behind the bastion");
    let (_, ev) = check(&r, "host1", "ssh", "probes");
    assert_eq!(ev, "straight from this machine");
    assert!(
        failures(&r).contains("10.231.77.11"),
        "no failure names the address: {}",
        failures(&r)
    );

    let out = stackctl_via(&cfg, &["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    drop(hidden);
    assert!(java_pids("host1").is_empty(), "JVMs left on host1");
}

/// How many logins sshd on `host` took on `port` so far (its VERBOSE log says "Connection from
/// A port P on B port Q").
fn logins_on(host: &str, addr: &str, port: u16) -> usize {
    let log = std::fs::read_to_string(bed().join("hosts").join(host).join("sshd.log")).unwrap();
    let on = format!(" on {addr} port {port} ");
    log.lines()
        .filter(|l| l.starts_with("Connection from") && l.contains(&on))
        .count()
}

#[test]
#[ignore]
fn an_inventory_without_ssh_settings_takes_user_and_port_from_the_ssh_config() {
    clean_hosts();
    let dir = tempfile::tempdir().unwrap();
    let inv = zk_only("p2222").write(dir.path());
    let yaml = std::fs::read_to_string(&inv).unwrap();
    assert!(
        !yaml.contains("ssh_user") && !yaml.contains("ssh_port"),
        "{yaml}"
    );
    let cfg = bed().join("ssh_config.port2222");
    let before: Vec<(usize, usize)> = HOSTS
        .iter()
        .map(|(h, a)| (logins_on(h, a, 2222), logins_on(h, a, 22)))
        .collect();

    let out = stackctl_via(&cfg, &["up", "--json"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, r) = verify_via(&cfg, &inv);
    assert_eq!(code, Some(0), "{}", failures(&r));
    let (_, ev) = check(&r, "host2", "ssh", "probes");
    assert_eq!(ev, "straight from this machine");

    for ((h, a), (p2222, p22)) in HOSTS.iter().zip(before) {
        assert!(logins_on(h, a, 2222) > p2222, "{h}: no login on port 2222");
        assert_eq!(logins_on(h, a, 22), p22, "{h}: a login came to port 22");
    }
    // An unknown port in the ssh_config is what ssh uses, and the error says where it went.
    let bad = dir.path().join("bad_config");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("Port 2222", "Port 2999"),
    )
    .unwrap();
    let out = plan_live_via(&bad, &inv, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("root@10.231.77.11:2999"),
        "{}",
        text(&out)
    );
    let out = stackctl_via(&cfg, &["down"], &inv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// The bed's ssh_config with its own known_hosts file `kh`.
fn config_with_known_hosts(dir: &Path, kh: &Path) -> std::path::PathBuf {
    let cfg = std::fs::read_to_string(bed().join("ssh_config")).unwrap();
    let known = bed().join("known_hosts");
    let p = dir.join("ssh_config");
    std::fs::write(
        &p,
        cfg.replace(
            &format!("UserKnownHostsFile {}", known.display()),
            &format!("UserKnownHostsFile {}", kh.display()),
        ),
    )
    .unwrap();
    p
}

/// host1's key line in the bed's known_hosts, and host2's key.
fn keys() -> (String, String) {
    let kh = std::fs::read_to_string(bed().join("known_hosts")).unwrap();
    let key_of = |h: &str| {
        kh.lines()
            .find(|l| l.starts_with(&format!("{h},")))
            .map(|l| l.split_once(' ').unwrap().1.to_string())
            .unwrap()
    };
    (key_of("host1"), key_of("host2"))
}

#[test]
#[ignore]
fn accept_new_host_keys_records_an_unknown_key_and_still_refuses_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let inv = Inventory::new("keys")
        .java_home(JDK11)
        .component("zookeeper", "3.5.6")
        .archive(cache().join(ZK_ARCHIVE))
        .host("host1", "10.231.77.11", &["zookeeper"])
        .write(dir.path());
    let (host1_key, host2_key) = keys();

    // A changed key: host1 presents its own key, known_hosts holds another one for it.
    let kh = dir.path().join("known_hosts");
    let wrong = format!("host1,10.231.77.11 {host2_key}\n");
    std::fs::write(&kh, &wrong).unwrap();
    let cfg = config_with_known_hosts(dir.path(), &kh);
    let out = plan_live_via(&cfg, &inv, &["--accept-new-host-keys"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("cannot connect to host1") && t.to_lowercase().contains("host key"),
        "{t}"
    );
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        wrong,
        "known_hosts changed"
    );

    // An unknown host: refused without the flag, recorded with it.
    std::fs::write(&kh, "").unwrap();
    let out = plan_live_via(&cfg, &inv, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");
    let out = plan_live_via(&cfg, &inv, &["--accept-new-host-keys"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert!(
        recorded.lines().any(|l| l.ends_with(&host1_key)),
        "{recorded}"
    );
}
