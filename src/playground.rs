//! `stackctl playground`: an inventory's cluster on hosts made on this machine (network, mount,
//! PID and UTS namespaces, each with its own sshd: the test bed's `testbed.sh`, shipped inside
//! the binary). This module is the pure part: the playground's copy of an inventory, with each
//! host moved to a playground address, reached as root with the playground's key, and the
//! settings a shared machine needs. The I/O (the script, `up`) is in `commands::playground`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The playground's network: `<net>.11`, `<net>.12`, ... (the test bed uses 10.231.77).
pub const DEFAULT_NET: &str = "10.231.78";
/// Where its hosts, keys and inventory live.
pub const DEFAULT_DIR: &str = "/var/tmp/stackctl-playground";
/// The prefix of its bridge, namespaces and veths (the test bed's is `stb`).
pub const PREFIX: &str = "stp";
/// The open-file limit the playground gives daemons that did not set one: the hosts share
/// this machine's hard limit, which root cannot raise inside them.
pub const MAX_OPEN_FILES: u64 = 16384;

/// What the playground changes besides the addresses.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub java_home: Option<String>,
    pub java_version: Option<String>,
    /// This machine's hard open-file limit, when known: `max_open_files` is set below it for
    /// components that did not set one.
    pub nofile_hard: Option<u64>,
}

/// The address of playground host `i` (1-based).
pub fn address(net: &str, i: usize) -> String {
    format!("{net}.{}", 10 + i)
}

/// The playground copy of `text` (the inventory at `origin`): host `i` at `addrs[i]`, reached
/// as root on port 22 (per-host SSH settings dropped), relative archive paths made absolute,
/// the Java overrides and the open-file limit applied. Errors name what does not fit.
pub fn derive(text: &str, origin: &Path, addrs: &[String], o: &Overrides) -> Result<String> {
    let mut v: Value =
        serde_saphyr::from_str(text).with_context(|| format!("{}: not YAML", origin.display()))?;
    let Some(root) = v.as_object_mut() else {
        bail!("{}: not a mapping", origin.display());
    };
    let base = origin.parent().unwrap_or(Path::new("."));
    // defaults: root over port 22, the playground's JDK if given.
    let defaults = root
        .entry("defaults")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(d) = defaults.as_object_mut() else {
        bail!("{}: defaults is not a mapping", origin.display());
    };
    d.insert("ssh_user".into(), "root".into());
    d.insert("ssh_port".into(), 22.into());
    d.remove("become");
    if let Some(j) = &o.java_home {
        d.insert("java_home".into(), j.clone().into());
        match &o.java_version {
            Some(jv) => d.insert("java_version".into(), jv.clone().into()),
            None => d.remove("java_version"),
        };
    }
    // components: archives absolute, open files within the machine's limit.
    if let Some(Value::Object(cs)) = root.get_mut("components") {
        for (name, c) in cs.iter_mut() {
            let Some(c) = c.as_object_mut() else { continue };
            if let Some(Value::String(a)) = c.get("archive") {
                let is_url = a.contains("://");
                if !is_url && !Path::new(a).is_absolute() {
                    let abs = base.join(a);
                    c.insert("archive".into(), abs.display().to_string().into());
                }
            }
            let needs_limit = matches!(name.as_str(), "kafka" | "hadoop" | "hbase");
            if needs_limit && !c.contains_key("max_open_files") {
                let limit = o
                    .nofile_hard
                    .map_or(MAX_OPEN_FILES, |h| MAX_OPEN_FILES.min(h));
                c.insert("max_open_files".into(), limit.into());
            }
        }
    }
    // hosts: one playground address each.
    let Some(Value::Array(hosts)) = root.get_mut("hosts") else {
        bail!("{}: no hosts list", origin.display());
    };
    if hosts.len() > addrs.len() {
        bail!(
            "{} has {} hosts but the playground has {}: use --hosts {}",
            origin.display(),
            hosts.len(),
            addrs.len(),
            hosts.len()
        );
    }
    for (h, a) in hosts.iter_mut().zip(addrs) {
        let Some(h) = h.as_object_mut() else {
            bail!("{}: a host is not a mapping", origin.display());
        };
        h.insert("address".into(), a.clone().into());
        for k in ["ssh_user", "ssh_port", "become"] {
            h.remove(k);
        }
        if o.java_home.is_some() {
            h.remove("java_home");
            h.remove("java_version");
        }
    }
    let body = serde_saphyr::to_string(&v).context("writing the playground inventory")?;
    Ok(format!(
        "# The playground's copy of {} (written by `stackctl playground up`): every host at a\n# playground address, reached as root with the playground's key.\n{body}",
        origin.display()
    ))
}

/// The java_home values of `text` (defaults' and every host's) with no such directory on this
/// machine: the playground's hosts see this machine's /usr.
pub fn missing_java_homes(text: &str) -> Vec<String> {
    let Ok(v) = serde_saphyr::from_str::<Value>(text) else {
        return vec![];
    };
    let mut homes: Vec<String> = Vec::new();
    if let Some(j) = v["defaults"]["java_home"].as_str() {
        homes.push(j.to_string());
    }
    for h in v["hosts"].as_array().into_iter().flatten() {
        if let Some(j) = h["java_home"].as_str() {
            homes.push(j.to_string());
        }
    }
    homes.sort();
    homes.dedup();
    homes
        .into_iter()
        .filter(|j| !Path::new(j).join("bin/java").exists())
        .collect()
}

/// This machine's hard open-file limit, from `/proc/self/limits` ("Max open files  S  H  files").
pub fn parse_nofile_hard(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let w: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    w.get(1).and_then(|h| h.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: &str = "cluster: demo\ndefaults:\n  ssh_user: ops\n  java_home: /no/jdk\n  java_version: \"8\"\ncomponents:\n  zookeeper: { version: \"3.5.6\", archive: dist/zk.tgz }\n  kafka: { version: \"2.4.0\", scala: \"2.12\" }\nhosts:\n  - { name: n1, address: 192.168.56.101, ssh_port: 2200, roles: [zookeeper, kafka] }\n  - { name: n2, address: 192.168.56.102, roles: [zookeeper, kafka], java_home: /other }\n";

    #[test]
    fn the_copy_moves_hosts_keeps_names_and_versions_and_fixes_paths() {
        let addrs: Vec<String> = (1..=3).map(|i| address(DEFAULT_NET, i)).collect();
        let o = Overrides {
            java_home: Some("/usr/lib/jvm/openjdk-8-sid".into()),
            java_version: Some("8".into()),
            nofile_hard: Some(8192),
        };
        let out = derive(INV, Path::new("/src/inv/demo.yml"), &addrs, &o).unwrap();
        let v: Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(v["cluster"], "demo");
        assert_eq!(v["hosts"][0]["name"], "n1");
        assert_eq!(v["hosts"][0]["address"], "10.231.78.11");
        assert_eq!(v["hosts"][1]["address"], "10.231.78.12");
        assert!(v["hosts"][0].get("ssh_port").is_none(), "{out}");
        assert!(v["hosts"][1].get("java_home").is_none(), "{out}");
        assert_eq!(v["defaults"]["ssh_user"], "root");
        assert_eq!(v["defaults"]["java_home"], "/usr/lib/jvm/openjdk-8-sid");
        // Versions stay strings ("8", "3.5.6"), not numbers.
        assert_eq!(v["defaults"]["java_version"], "8", "{out}");
        assert_eq!(v["components"]["zookeeper"]["version"], "3.5.6", "{out}");
        assert_eq!(v["components"]["kafka"]["scala"], "2.12", "{out}");
        assert_eq!(
            v["components"]["zookeeper"]["archive"],
            "/src/inv/dist/zk.tgz"
        );
        assert_eq!(v["components"]["kafka"]["max_open_files"], 8192);
        assert!(v["components"]["zookeeper"].get("max_open_files").is_none());
        // The copy is an inventory stackctl loads.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("demo.yml");
        std::fs::write(&p, &out).unwrap();
        crate::inventory::load(&p, crate::components::catalog())
            .unwrap_or_else(|e| panic!("{e:?}\n{out}"));
    }

    #[test]
    fn more_hosts_than_the_playground_has_is_an_error_saying_how_many() {
        let addrs = vec![address(DEFAULT_NET, 1)];
        let e = derive(INV, Path::new("demo.yml"), &addrs, &Overrides::default()).unwrap_err();
        assert!(format!("{e:#}").contains("--hosts 2"), "{e:#}");
    }

    #[test]
    fn missing_jdks_and_the_open_file_limit_are_read() {
        assert_eq!(missing_java_homes(INV), vec!["/no/jdk", "/other"]);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            1024                 20000                files\n";
        assert_eq!(parse_nofile_hard(limits), Some(20000));
        assert_eq!(parse_nofile_hard("nothing"), None);
    }
}
