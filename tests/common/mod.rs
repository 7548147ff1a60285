//! Helpers shared by the integration tests: run the real binary, make throwaway inventories
//! (`inv` builds them), and drive the test bed (`bed`).
#![allow(dead_code)]

pub mod bed;
pub mod inv;
pub mod load;
pub mod mirror;
pub mod schema;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `stackctl ARGS` from the repository root.
pub fn stackctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackctl"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        // No download cache and the default mirror: plan's output does not depend on what
        // this machine fetched before.
        .env("STACKCTL_CACHE_DIR", root().join("target/no-such-cache"))
        .env_remove("STACKCTL_MIRROR")
        .output()
        .expect("run stackctl")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// One host with ZooKeeper 3.8 and Kafka 2.4 on JDK 17: a plan with a compatibility error
/// (JDK 17 is outside Kafka 2.4's supported list, 8 and 11), exit 1.
pub const KAFKA_2_4_ON_JDK_17: &str = r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-17, java_version: "17" }
components:
  zookeeper: { version: "3.8.4" }
  kafka: { version: "2.4.0", scala: "2.12" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
"#;

/// A gzipped tarball holding empty files at `paths`: `plan` and `fetch` read names, not
/// contents.
pub fn empty_tarball<S: AsRef<str>>(paths: &[S]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for p in paths {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, p.as_ref(), std::io::empty()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// Writes `text` as `inventory.yml` in a fresh temporary directory.
pub fn inventory(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.yml");
    std::fs::write(&path, text).expect("write inventory");
    (dir, path)
}

pub fn copy_inventory(from: &Path) -> (tempfile::TempDir, PathBuf) {
    inventory(&std::fs::read_to_string(from).expect("read inventory"))
}

pub const THREE_NODES: &str = r#"
cluster: t
defaults: { java_home: /usr/lib/jvm/java-11, java_version: "11" }
components:
  zookeeper: { version: "3.5.6" }
  kafka: { version: "2.4.0", scala: "2.12" }
hosts:
  - { name: a, address: 10.0.0.1, roles: [zookeeper, kafka] }
  - { name: b, address: 10.0.0.2, roles: [zookeeper, kafka] }
  - { name: c, address: 10.0.0.3, roles: [zookeeper, kafka] }
"#;

/// A port on 127.0.0.1 where nothing listens (bound, then released): SSH to it is refused at
/// once, so commands that connect fail fast and offline.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("its address").port()
}

/// `DIR/inventory.yml`: one ZooKeeper host at 127.0.0.1 on a closed SSH port, whose config
/// holds the secret `zk-ks-pw-4`, and an empty `DIR/ssh_config` (the operator's own must not
/// matter). Returns (inventory, ssh_config).
pub fn unreachable_local(dir: &Path) -> (PathBuf, PathBuf) {
    let inv = dir.join("inventory.yml");
    std::fs::write(
        &inv,
        format!(
            r#"
cluster: gone
defaults: {{ java_home: /usr/lib/jvm/java-11, java_version: "11" }}
components:
  zookeeper:
    version: "3.5.6"
    config: {{ ssl.keyStore.password: zk-ks-pw-4 }}
hosts:
  - {{ name: ghost, address: 127.0.0.1, ssh_port: {}, roles: [zookeeper] }}
"#,
            closed_port()
        ),
    )
    .expect("write inventory");
    let cfg = dir.join("ssh_config");
    std::fs::write(&cfg, "").expect("write ssh_config");
    (inv, cfg)
}

/// `text` with every run of whitespace (line breaks of a wrapped report included) as one
/// space: what a report says, wherever it wrapped at 100 columns.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
