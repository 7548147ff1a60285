//! Helpers shared by the integration tests: run the real binary, make throwaway inventories
//! (`inv` builds them), and drive the test bed (`bed`).
#![allow(dead_code)]

pub mod bed;
pub mod inv;
pub mod load;
pub mod mirror;

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
