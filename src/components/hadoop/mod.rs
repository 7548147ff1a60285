//! Hadoop: HDFS (NameNode, SecondaryNameNode, DataNodes) and YARN (ResourceManager, NodeManagers).
//!
//! 2.x and 3.x differ in default ports (HDFS-9427), in the worker list file (`slaves` became
//! `workers`, HADOOP-13209), in heap variables, and 3.x refuses to start daemons as root unless
//! `HDFS_*_USER` is set. Services find each other by address, so no DNS is needed: hosts also
//! advertise their address as their hostname.

mod live;

use serde_json::json;

use super::core::{
    base_context, conf_dir, endpoint, heap_opts, home_dir, int_prop, is_host, port_of, port_probe,
    Check, Cluster, Component, ComponentDef, DistArchive, FileSpec, PortUse, Props, Restart,
    RoleDef, Service, SettingDef, SettingKind, Supervision, VerifyCx, CLUSTER, GROUP,
    HYGIENE_SETTINGS, PROBE_TIMEOUT, STOP_TIMEOUT, USER,
};
use crate::compat::detect::{Detected, Listing};
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::{ComponentSpec, Host, Inventory};
use crate::remote::facts::{properties, HostFacts};
use crate::version::Version;

pub struct Hadoop;

pub const NAME: &str = "hadoop";
pub const NAMENODE: &str = "namenode";
pub const SECONDARY: &str = "secondarynamenode";
pub const DATANODE: &str = "datanode";
pub const RESOURCEMANAGER: &str = "resourcemanager";
pub const NODEMANAGER: &str = "nodemanager";

const HA: &str =
    "NameNode/ResourceManager high availability is not supported yet; keep the role on one host";

static ROLES: [RoleDef; 5] = [
    RoleDef {
        name: NAMENODE,
        component: NAME,
        service: "HDFS NameNode",
        short: "NN",
        max_per_cluster: Some(1),
        why_single: Some(HA),
        // Without HA the NameNode needs nobody; HBase and YARN wait for HDFS, not the reverse.
        after: &[],
        gate: "NameNode RPC answering (formatted once, never again)",
        id: None,
    },
    RoleDef {
        name: DATANODE,
        component: NAME,
        service: "HDFS DataNode",
        short: "DN",
        max_per_cluster: None,
        why_single: None,
        after: &[NAMENODE],
        gate: "every DataNode reported live by the NameNode",
        id: None,
    },
    RoleDef {
        name: SECONDARY,
        component: NAME,
        service: "HDFS SecondaryNameNode",
        short: "SNN",
        max_per_cluster: Some(1),
        why_single: Some("one checkpointing SecondaryNameNode serves the one NameNode"),
        after: &[NAMENODE],
        gate: "SecondaryNameNode HTTP answering",
        id: None,
    },
    RoleDef {
        name: RESOURCEMANAGER,
        component: NAME,
        service: "YARN ResourceManager",
        short: "RM",
        max_per_cluster: Some(1),
        why_single: Some(HA),
        // YARN does not need HDFS to start: it runs beside it.
        after: &[],
        gate: "ResourceManager RPC answering",
        id: None,
    },
    RoleDef {
        name: NODEMANAGER,
        component: NAME,
        service: "YARN NodeManager",
        short: "NM",
        max_per_cluster: None,
        why_single: None,
        after: &[RESOURCEMANAGER],
        gate: "every NodeManager active in the ResourceManager",
        id: None,
    },
];

static SETTINGS: [SettingDef; 18] = [
    SettingDef {
        key: "core-site",
        kind: SettingKind::Map,
        help: "core-site.xml properties, merged last",
    },
    SettingDef {
        key: "hdfs-site",
        kind: SettingKind::Map,
        help: "hdfs-site.xml properties, merged last",
    },
    SettingDef {
        key: "yarn-site",
        kind: SettingKind::Map,
        help: "yarn-site.xml properties, merged last",
    },
    SettingDef {
        key: "mapred-site",
        kind: SettingKind::Map,
        help: "mapred-site.xml properties, merged last",
    },
    SettingDef {
        key: "krb5_realm",
        kind: SettingKind::Scalar,
        help: "-Djava.security.krb5.realm in HADOOP_OPTS (empty string allowed)",
    },
    SettingDef {
        key: "krb5_kdc",
        kind: SettingKind::Scalar,
        help: "-Djava.security.krb5.kdc in HADOOP_OPTS (empty string allowed)",
    },
    SettingDef {
        key: "heap",
        kind: SettingKind::Scalar,
        help: "daemon heap in MB or with a unit, e.g. 1024 or 1g",
    },
    SettingDef {
        key: "jvm_opts",
        kind: SettingKind::Scalar,
        help: "extra options added to HADOOP_OPTS",
    },
    STOP_TIMEOUT,
    HYGIENE_SETTINGS[0],
    HYGIENE_SETTINGS[1],
    HYGIENE_SETTINGS[2],
    HYGIENE_SETTINGS[3],
    HYGIENE_SETTINGS[4],
    HYGIENE_SETTINGS[5],
    HYGIENE_SETTINGS[6],
    USER,
    GROUP,
];

/// Default ports by line: (2.x, 3.x). NameNode RPC is 8020 except in 3.0.0 (9820, HDFS-12990).
struct Ports {
    nn_http: u16,
    snn_http: u16,
    dn_data: u16,
    dn_http: u16,
    dn_ipc: u16,
}

fn ports_for(v: &Version) -> Ports {
    if v.major() >= 3 {
        Ports {
            nn_http: 9870,
            snn_http: 9868,
            dn_data: 9866,
            dn_http: 9864,
            dn_ipc: 9867,
        }
    } else {
        Ports {
            nn_http: 50070,
            snn_http: 50090,
            dn_data: 50010,
            dn_http: 50075,
            dn_ipc: 50020,
        }
    }
}

pub fn namenode_rpc_port(v: &Version) -> u16 {
    if v.parts.get(..3) == Some(&[3, 0, 0]) {
        9820
    } else {
        8020
    }
}

/// The role-independent part of the per-file property sets.
pub struct SiteProps {
    pub core: Props,
    pub hdfs: Props,
    pub yarn: Props,
    pub mapred: Props,
}

impl Hadoop {
    /// The HDFS `VERSION` files of a host's NameNode and DataNode directories: they carry the
    /// clusterID that ties a DataNode to its NameNode.
    pub fn version_files(inv: &Inventory, host: &Host) -> Vec<(&'static str, String)> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let site = Self::site_props(inv, spec, host);
        let mut out = Vec::new();
        for (role, key) in [
            (NAMENODE, "dfs.namenode.name.dir"),
            (DATANODE, "dfs.datanode.data.dir"),
        ] {
            if host.has_role(role) {
                for d in site.hdfs_dirs(key).unwrap_or_default() {
                    out.push((role, format!("{d}/current/VERSION")));
                }
            }
        }
        out
    }
    pub fn default_fs(inv: &Inventory, spec: &ComponentSpec) -> Option<String> {
        let nn = inv.first_with_role(NAMENODE)?;
        Some(format!(
            "hdfs://{}:{}",
            nn.address,
            namenode_rpc_port(&spec.version)
        ))
    }

    pub fn site_props(inv: &Inventory, spec: &ComponentSpec, host: &Host) -> SiteProps {
        let ports = ports_for(&spec.version);
        let data = &host.data_dir;

        let mut core = Props::default();
        if let Some(fs) = Self::default_fs(inv, spec) {
            core.set("fs.defaultFS", fs);
        }
        core.set("hadoop.tmp.dir", format!("{data}/hadoop/tmp"));
        core.merge(spec.map("core-site"));

        let datanodes = inv.count_role(DATANODE);
        let mut hdfs = Props::default();
        hdfs.set("dfs.replication", datanodes.clamp(1, 3))
            .set(
                "dfs.namenode.name.dir",
                format!("file://{data}/hdfs/namenode"),
            )
            .set(
                "dfs.datanode.data.dir",
                format!("file://{data}/hdfs/datanode"),
            )
            .set(
                "dfs.namenode.checkpoint.dir",
                format!("file://{data}/hdfs/namesecondary"),
            );
        if let Some(nn) = inv.first_with_role(NAMENODE) {
            hdfs.set(
                "dfs.namenode.http-address",
                format!("{}:{}", nn.address, ports.nn_http),
            );
        }
        if let Some(snn) = inv.first_with_role(SECONDARY) {
            hdfs.set(
                "dfs.namenode.secondary.http-address",
                format!("{}:{}", snn.address, ports.snn_http),
            );
        }
        // Without DNS the NameNode would refuse DataNodes whose address has no reverse name.
        hdfs.set(
            "dfs.namenode.datanode.registration.ip-hostname-check",
            "false",
        );
        if host.has_role(DATANODE) {
            hdfs.set("dfs.datanode.hostname", &host.address);
        }
        hdfs.merge(spec.map("hdfs-site"));

        let mut yarn = Props::default();
        if let Some(rm) = inv.first_with_role(RESOURCEMANAGER) {
            yarn.set("yarn.resourcemanager.hostname", &rm.address);
        }
        if host.has_role(NODEMANAGER) {
            yarn.set("yarn.nodemanager.hostname", &host.address);
        }
        yarn.set("yarn.nodemanager.aux-services", "mapreduce_shuffle")
            .set(
                "yarn.nodemanager.aux-services.mapreduce_shuffle.class",
                "org.apache.hadoop.mapred.ShuffleHandler",
            )
            .set("yarn.nodemanager.local-dirs", format!("{data}/yarn/local"))
            .set(
                "yarn.nodemanager.log-dirs",
                format!("{}/hadoop/userlogs", host.log_dir),
            );
        yarn.merge(spec.map("yarn-site"));

        let mut mapred = Props::default();
        mapred.set("mapreduce.framework.name", "yarn");
        if spec.version.major() >= 3 {
            // Hadoop 3 no longer puts MapReduce on the containers' classpath by itself: without
            // these, jobs fail with "Could not find or load main class ...MRAppMaster".
            let home = format!("HADOOP_MAPRED_HOME={}", home_dir(host, &Hadoop, spec));
            mapred
                .set("yarn.app.mapreduce.am.env", &home)
                .set("mapreduce.map.env", &home)
                .set("mapreduce.reduce.env", &home);
        }
        mapred.merge(spec.map("mapred-site"));
        SiteProps {
            core,
            hdfs,
            yarn,
            mapred,
        }
    }

    /// The configuration directory: on a Hadoop host all of it, elsewhere (an HBase host
    /// without Hadoop roles) the client part, core-site, hdfs-site and hadoop-env.
    pub fn conf_files(cl: &Cluster, host: &Host) -> Vec<FileSpec> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let v = &spec.version;
        let site = Self::site_props(cl.inv, spec, host);
        let dir = conf_dir(host, NAME);
        let workers = || {
            let hosts: Vec<&str> = cl
                .inv
                .hosts
                .iter()
                .filter(|h| h.has_role(DATANODE) || h.has_role(NODEMANAGER))
                .map(|h| h.address.as_str())
                .collect();
            json!({ "cluster": cl.inv.cluster, "c": { "hosts": hosts } })
        };
        let heap = spec.scalar("heap").map(|h| Self::heap_var(v, h));
        let krb5 = match (spec.scalar("krb5_realm"), spec.scalar("krb5_kdc")) {
            (None, None) => None,
            (realm, kdc) => Some(json!({ "realm": realm.unwrap_or(""), "kdc": kdc.unwrap_or("") })),
        };
        // Hadoop 3 refuses to run daemons as root without these (hadoop_uservar_su).
        // Whether the session is root is known only on the host; a root login (or none named:
        // the operator's ssh_config decides) or become may make it so, and the variables are
        // harmless when it is not.
        let run_as_root = v.major() >= 3
            && (host.ssh_user.as_deref().is_none_or(|u| u == "root") || host.become_sudo)
            && spec.scalar("user").is_none();
        let env = json!({
            "conf_dir": dir,
            "log_dir": format!("{}/hadoop", host.log_dir),
            "pid_dir": Self::pid_dir(host),
            "heap": heap.map(|(var, value)| json!({ "var": var, "value": value })),
            "krb5": krb5,
            "jvm_opts": spec.scalar("jvm_opts"),
            "line": v.major(),
            "root_user": if run_as_root { Some("root") } else { None },
        });
        let ctx = |props: &Props| base_context(cl, host, NAME, json!({ "props": props }));
        let mut files = vec![
            FileSpec {
                path: format!("{dir}/core-site.xml"),
                template: "hadoop/core-site.xml",
                mode: 0o644,
                context: ctx(&site.core),
                shared: false,
                component: NAME,
            },
            FileSpec {
                path: format!("{dir}/hdfs-site.xml"),
                template: "hadoop/hdfs-site.xml",
                mode: 0o644,
                context: ctx(&site.hdfs),
                shared: false,
                component: NAME,
            },
            FileSpec {
                path: format!("{dir}/hadoop-env.sh"),
                template: "hadoop/hadoop-env.sh",
                mode: 0o755,
                context: base_context(cl, host, NAME, env),
                shared: false,
                component: NAME,
            },
        ];
        if host.has_component(NAME) {
            files.push(FileSpec {
                path: format!("{dir}/yarn-site.xml"),
                template: "hadoop/yarn-site.xml",
                mode: 0o644,
                context: ctx(&site.yarn),
                shared: false,
                component: NAME,
            });
            files.push(FileSpec {
                path: format!("{dir}/mapred-site.xml"),
                template: "hadoop/mapred-site.xml",
                mode: 0o644,
                context: ctx(&site.mapred),
                shared: false,
                component: NAME,
            });
            files.push(FileSpec {
                path: format!("{dir}/{}", Self::workers_file(v)),
                template: "hadoop/workers",
                mode: 0o644,
                context: cl.shared("hadoop/workers", workers),
                shared: true,
                component: NAME,
            });
        }
        files
    }

    /// Where hadoop-env.sh keeps the daemons' pid files.
    pub fn pid_dir(host: &Host) -> String {
        format!("{}/hadoop/pid", host.data_dir)
    }

    pub fn workers_file(v: &Version) -> &'static str {
        if v.major() >= 3 {
            "workers"
        } else {
            "slaves"
        }
    }

    /// Heap for hadoop-env.sh: 2.x wants plain MB in HADOOP_HEAPSIZE; 3.x takes units.
    fn heap_var(v: &Version, heap: &str) -> (&'static str, String) {
        if v.major() >= 3 {
            ("HADOOP_HEAPSIZE_MAX", heap.to_string())
        } else {
            let mb = heap_mb(heap)
                .map(|m| m.to_string())
                .unwrap_or_else(|| heap.to_string());
            ("HADOOP_HEAPSIZE", mb)
        }
    }
}

/// A Hadoop configuration value with `${var}` expanded the way `Configuration.get` does: from
/// the same rendered configuration (core-site, then hdfs-site), a bounded number of rounds.
/// Variables it cannot resolve here (system properties such as `${user.name}`) are an error:
/// the directory they name is not known before the daemon runs.
pub fn expand_vars(value: &str, sets: &[&Props]) -> Result<String, String> {
    let mut out = value.to_string();
    // Hadoop stops after 20 substitutions (MAX_SUBST); so do we, so a cycle ends.
    for _ in 0..20 {
        let Some(start) = out.find("${") else {
            return Ok(out);
        };
        let Some(len) = out[start + 2..].find('}') else {
            return Err(format!("`{value}` has an unclosed `${{`"));
        };
        let name = &out[start + 2..start + 2 + len];
        let Some(v) = sets.iter().rev().find_map(|p| p.get(name)) else {
            return Err(format!(
                "`{value}` uses `${{{name}}}`, which the rendered configuration does not set"
            ));
        };
        out = format!("{}{v}{}", &out[..start], &out[start + 3 + len..]);
    }
    if out.contains("${") {
        return Err(format!(
            "`{value}` expands `${{…}}` more than 20 times (a cycle?)"
        ));
    }
    Ok(out)
}

/// One entry of a storage directory list as HDFS reads it (`Util.stringAsURI`): a `file:` URI
/// (`file:///data/nn`, `file:/data/nn`, `file://localhost/data/nn`, percent-encoded) or a
/// plain absolute path. Anything else (another scheme, a remote authority, a relative path,
/// `..`) is refused: stackctl could neither check nor purge it.
pub fn storage_path(entry: &str) -> Result<String, String> {
    let e = entry.trim();
    // A DataNode directory may carry its storage type first: `[SSD]file:///data/dn`.
    let e = match e.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((kind, rest))
            if !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            rest.trim()
        }
        _ => e,
    };
    let path = if let Some(rest) = e.strip_prefix("file:") {
        let rest = match rest.strip_prefix("//") {
            Some(auth_path) => {
                let (auth, p) = auth_path.split_at(auth_path.find('/').unwrap_or(auth_path.len()));
                if !auth.is_empty() && auth != "localhost" {
                    return Err(format!(
                        "`{e}` names the host `{auth}`: only local directories can be used"
                    ));
                }
                p
            }
            None => rest,
        };
        percent_decode(rest).ok_or_else(|| format!("`{e}` has a bad %-escape"))?
    } else if e.contains("://")
        || e.split_once(':')
            .is_some_and(|(s, _)| !s.contains('/') && !s.is_empty())
    {
        return Err(format!(
            "`{e}` is not a local directory (only `file:` URIs and absolute paths)"
        ));
    } else {
        e.to_string()
    };
    let path = path.trim_end_matches('/').to_string();
    if path.is_empty() || !crate::inventory::plain_abs_path(&path) {
        return Err(format!("`{e}` is not a plain absolute path"));
    }
    Ok(path)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl SiteProps {
    /// The directories an HDFS directory-list property names, resolved as Hadoop resolves them.
    pub fn hdfs_dirs(&self, key: &str) -> Result<Vec<String>, String> {
        let Some(raw) = self.hdfs.get(key) else {
            return Ok(vec![]);
        };
        let value = expand_vars(raw, &[&self.core, &self.hdfs])?;
        value
            .split(',')
            .filter(|d| !d.trim().is_empty())
            .map(storage_path)
            .collect()
    }
}

/// The HDFS directory lists stackctl reads and purges.
pub const STORAGE_KEYS: [&str; 3] = [
    "dfs.namenode.name.dir",
    "dfs.datanode.data.dir",
    "dfs.namenode.checkpoint.dir",
];

/// `1024`, `1024m`, `1g` -> MB.
pub fn heap_mb(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    if let Some(n) = s.strip_suffix('g') {
        n.parse::<u64>().ok().map(|n| n * 1024)
    } else if let Some(n) = s.strip_suffix('m') {
        n.parse().ok()
    } else {
        s.parse().ok()
    }
}

static DEF: ComponentDef = ComponentDef {
    name: NAME,
    roles: &ROLES,
    settings: &SETTINGS,
    example_version: "3.3.6",
};

impl Component for Hadoop {
    fn def(&self) -> &'static ComponentDef {
        &DEF
    }

    fn validate(&self, inv: &Inventory, diags: &mut Diagnostics) {
        let Some(spec) = inv.component(NAME) else {
            return;
        };
        let needs = |role: &str, needed: &str, what: &str, diags: &mut Diagnostics| {
            if let Some(h) = inv.first_with_role(role) {
                if inv.count_role(needed) == 0 {
                    diags.push(
                        Diagnostic::error(
                            &inv.path,
                            h.role_pos(role),
                            format!("hosts[{}].roles", h.index),
                            format!("role `{role}` needs a `{needed}`, but no host has one"),
                        )
                        .with_help(format!("add `{needed}` to one host's roles ({what})")),
                    );
                }
            }
        };
        needs(
            DATANODE,
            NAMENODE,
            "DataNodes register with the NameNode",
            diags,
        );
        needs(SECONDARY, NAMENODE, "it checkpoints the NameNode", diags);
        needs(
            NODEMANAGER,
            RESOURCEMANAGER,
            "NodeManagers register with the ResourceManager",
            diags,
        );
        needs(
            RESOURCEMANAGER,
            NODEMANAGER,
            "a ResourceManager without NodeManagers cannot run anything",
            diags,
        );
        needs(
            NAMENODE,
            DATANODE,
            "a NameNode without DataNodes cannot store a block",
            diags,
        );
        if let Some(heap) = spec.scalar("heap") {
            if heap_mb(heap).is_none() {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("heap"),
                    "components.hadoop.heap",
                    format!("`{heap}` is not a heap size such as 1024, 1024m or 1g"),
                ));
            }
        }
        let Some(first) = inv.hosts.iter().find(|h| h.has_component(NAME)) else {
            return;
        };
        let site = Self::site_props(inv, spec, first);
        let datanodes = inv.count_role(DATANODE) as i64;
        if let Some(r) = int_prop(
            inv,
            &site.hdfs,
            "dfs.replication",
            "components.hadoop.hdfs-site",
            diags,
        ) {
            let e = site.hdfs.entry("dfs.replication").expect("present");
            if r < 1 {
                diags.push(Diagnostic::error(
                    &inv.path,
                    e.pos,
                    "components.hadoop.hdfs-site.dfs.replication",
                    format!("`dfs.replication` must be at least 1, got {r}"),
                ));
            } else if r > datanodes && datanodes > 0 {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        e.pos,
                        "components.hadoop.hdfs-site.dfs.replication",
                        format!(
                            "`dfs.replication` is {r} but the cluster has {datanodes} DataNode{}",
                            if datanodes == 1 { "" } else { "s" }
                        ),
                    )
                    .with_help(format!(
                        "use at most {datanodes}: every block would stay under-replicated"
                    )),
                );
            }
        }
        // The directories the NameNode's format guard, preflight and `down --purge` read.
        for key in STORAGE_KEYS {
            let problem = match site.hdfs_dirs(key) {
                Err(e) => Some(e),
                Ok(d) if d.is_empty() => Some(format!("`{key}` names no directory")),
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        site.hdfs.pos_or(key, spec.pos_of("hdfs-site")),
                        format!("components.hadoop.hdfs-site.{key}"),
                        format!("`{key}`: {problem}"),
                    )
                    .with_help(
                        "use absolute paths or `file:` URIs, with `${…}` only for properties \
                         core-site or hdfs-site set (such as `${hadoop.tmp.dir}`)",
                    ),
                );
            }
        }
        for (map, keys) in [
            ("core-site", &site.core),
            ("hdfs-site", &site.hdfs),
            ("yarn-site", &site.yarn),
            ("mapred-site", &site.mapred),
        ] {
            for e in &keys.0 {
                if e.key.trim().is_empty() || e.key.contains(char::is_whitespace) {
                    diags.push(Diagnostic::error(
                        &inv.path,
                        e.pos,
                        format!("components.hadoop.{map}"),
                        format!("`{}` is not a Hadoop property name", e.key),
                    ));
                }
            }
        }
    }

    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let site = Self::site_props(inv, spec, host);
        let p = ports_for(&spec.version);
        let mut out = Vec::new();
        let mut add =
            |role: &'static str, props: &Props, key: Option<&str>, default: u16, what: &str| {
                if !host.has_role(role) {
                    return;
                }
                let port = key
                    .and_then(|k| props.get(k))
                    .and_then(port_of)
                    .unwrap_or(default);
                let pos = key
                    .map(|k| props.pos_or(k, host.role_pos(role)))
                    .unwrap_or(host.role_pos(role));
                let configured = key.is_some_and(|k| props.is_override(k));
                out.push(PortUse {
                    port,
                    role,
                    what: what.to_string(),
                    pos,
                    configured,
                });
            };
        let nn_rpc = site
            .core
            .get("fs.defaultFS")
            .and_then(port_of)
            .unwrap_or(namenode_rpc_port(&spec.version));
        let _ = nn_rpc;
        add(
            NAMENODE,
            &site.core,
            Some("fs.defaultFS"),
            namenode_rpc_port(&spec.version),
            "RPC (fs.defaultFS)",
        );
        add(
            NAMENODE,
            &site.hdfs,
            Some("dfs.namenode.http-address"),
            p.nn_http,
            "web UI",
        );
        add(
            SECONDARY,
            &site.hdfs,
            Some("dfs.namenode.secondary.http-address"),
            p.snn_http,
            "web UI",
        );
        add(
            DATANODE,
            &site.hdfs,
            Some("dfs.datanode.address"),
            p.dn_data,
            "data transfer",
        );
        add(
            DATANODE,
            &site.hdfs,
            Some("dfs.datanode.http.address"),
            p.dn_http,
            "web UI",
        );
        add(
            DATANODE,
            &site.hdfs,
            Some("dfs.datanode.ipc.address"),
            p.dn_ipc,
            "IPC",
        );
        add(
            RESOURCEMANAGER,
            &site.yarn,
            Some("yarn.resourcemanager.scheduler.address"),
            8030,
            "scheduler",
        );
        add(
            RESOURCEMANAGER,
            &site.yarn,
            Some("yarn.resourcemanager.resource-tracker.address"),
            8031,
            "resource tracker",
        );
        add(
            RESOURCEMANAGER,
            &site.yarn,
            Some("yarn.resourcemanager.address"),
            8032,
            "RPC",
        );
        add(
            RESOURCEMANAGER,
            &site.yarn,
            Some("yarn.resourcemanager.admin.address"),
            8033,
            "admin",
        );
        add(
            RESOURCEMANAGER,
            &site.yarn,
            Some("yarn.resourcemanager.webapp.address"),
            8088,
            "web UI",
        );
        add(
            NODEMANAGER,
            &site.yarn,
            Some("yarn.nodemanager.localizer.address"),
            8040,
            "localizer",
        );
        add(
            NODEMANAGER,
            &site.yarn,
            Some("yarn.nodemanager.webapp.address"),
            8042,
            "web UI",
        );
        out
    }

    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec> {
        if !host.has_component(NAME) {
            return vec![];
        }
        Self::conf_files(cl, host)
    }

    fn services(&self, cl: &Cluster, host: &Host) -> Vec<Service> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let home = home_dir(host, self, spec);
        let conf = conf_dir(host, NAME);
        let share = |d: &str| {
            [
                format!("{home}/share/hadoop/{d}"),
                format!("{home}/share/hadoop/{d}/*"),
                format!("{home}/share/hadoop/{d}/lib/*"),
            ]
        };
        // stackctl's conf first; the distribution's own etc/hadoop after it supplies the files
        // stackctl does not render (capacity-scheduler.xml, log4j defaults).
        let mut classpath = vec![conf.clone(), format!("{home}/etc/hadoop")];
        for d in ["common", "hdfs", "yarn", "mapreduce"] {
            classpath.extend(share(d));
        }
        // Formatting is guarded by the name directory's VERSION file: never a second time.
        let site = Self::site_props(cl.inv, spec, host);
        let name_dir = site
            .hdfs_dirs("dfs.namenode.name.dir")
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default();
        let files: Vec<String> = [
            "core-site.xml",
            "hdfs-site.xml",
            "yarn-site.xml",
            "mapred-site.xml",
        ]
        .iter()
        .map(|f| format!("{conf}/{f}"))
        .collect();
        // Opt-in: only an explicit `user` switches, one account for every Hadoop role (see
        // README: separate hdfs/yarn accounts need HDFS-side directories made for them).
        let account = spec
            .scalar("user")
            .map(|_| super::core::account(spec, "hdfs"));
        let mut owned_dirs = self.data_dirs(cl, host);
        owned_dirs.push(format!("{}/hadoop", host.log_dir));
        // (role, service, main class, default heap, default stop timeout in seconds)
        let roles: [(&'static str, &'static str, &'static str, &str, u32); 5] = [
            (
                NAMENODE,
                "HDFS NameNode",
                "org.apache.hadoop.hdfs.server.namenode.NameNode",
                "1g",
                60,
            ),
            (
                DATANODE,
                "HDFS DataNode",
                "org.apache.hadoop.hdfs.server.datanode.DataNode",
                "512m",
                60,
            ),
            (
                SECONDARY,
                "HDFS SecondaryNameNode",
                "org.apache.hadoop.hdfs.server.namenode.SecondaryNameNode",
                "512m",
                30,
            ),
            (
                RESOURCEMANAGER,
                "YARN ResourceManager",
                "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager",
                "1g",
                60,
            ),
            (
                NODEMANAGER,
                "YARN NodeManager",
                "org.apache.hadoop.yarn.server.nodemanager.NodeManager",
                "512m",
                60,
            ),
        ];
        roles
            .into_iter()
            .filter(|(role, ..)| host.has_role(role))
            .map(|(role, service, main_class, heap, stop)| {
                let mut jvm = heap_opts(spec, heap);
                jvm.push(format!("-Dhadoop.log.dir={}/hadoop", host.log_dir));
                jvm.push(format!("-Dyarn.log.dir={}/hadoop", host.log_dir));
                Service {
                    role,
                    service,
                    main_class,
                    classpath: classpath.clone(),
                    args: vec![],
                    jvm_opts: jvm,
                    stop_timeout: super::core::stop_timeout(spec, stop),
                    env: vec![("HADOOP_CONF_DIR".into(), conf.clone())],
                    work_dir: home.clone(),
                    config_files: files.clone(),
                    user: account.as_ref().map(|a| a.0.clone()),
                    group: account.as_ref().map(|a| a.1.clone()),
                    owned_dirs: owned_dirs.clone(),
                    init: (role == NAMENODE).then(|| super::core::Init {
                        markers: vec![format!("{name_dir}/current/VERSION")],
                        main_class: None,
                        args: vec![
                            "-format".to_string(),
                            "-nonInteractive".to_string(),
                            "-clusterId".to_string(),
                            format!("CID-stackctl-{}", cl.inv.cluster),
                        ],
                    }),
                }
            })
            .collect()
    }

    fn detect(&self, listing: &Listing) -> Option<Detected> {
        listing.detect_jars(
            &[("share/hadoop/common", "hadoop-common")],
            &[("zookeeper-client", "share/hadoop/common/lib", "zookeeper")],
        )
    }

    fn fact_reads(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        Self::version_files(cl.inv, host)
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    }

    /// A DataNode that belongs to another NameNode's cluster would be rejected at best, and an
    /// operator pointing a NameNode at another cluster's DataNodes is a mistake: refuse both.
    fn preflight(&self, cl: &Cluster, hosts: &[(&Host, &HostFacts)]) -> Vec<String> {
        let cluster_id = |f: &HostFacts, path: &str| {
            f.contents
                .get(path)
                .and_then(|v| properties(v).get("clusterID").cloned())
        };
        let Some((nn, nn_facts)) = hosts.iter().find(|(h, _)| h.has_role(NAMENODE)) else {
            return vec![];
        };
        let Some((nn_file, nn_id)) = Self::version_files(cl.inv, nn)
            .into_iter()
            .filter(|(role, _)| *role == NAMENODE)
            .find_map(|(_, f)| cluster_id(nn_facts, &f).map(|id| (f, id)))
        else {
            return vec![]; // not formatted yet: DataNodes adopt whatever it becomes
        };
        let mut problems = Vec::new();
        for (h, f) in hosts.iter().filter(|(h, _)| h.has_role(DATANODE)) {
            for (_, file) in Self::version_files(cl.inv, h)
                .iter()
                .filter(|(role, _)| *role == DATANODE)
            {
                if let Some(id) = cluster_id(f, file) {
                    if id != nn_id {
                        problems.push(format!(
                            "{}: {file} belongs to HDFS cluster {id}, but the NameNode on {} ({nn_file}) is {nn_id}: refusing to start a DataNode against another NameNode",
                            h.name, nn.name
                        ));
                    }
                }
            }
        }
        problems
    }

    fn data_dirs(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        // What the rendered files name, resolved as Hadoop resolves them (validation reported
        // what cannot be), and the pid directory hadoop-env.sh sets.
        let site = Self::site_props(cl.inv, spec, host);
        let mut dirs = vec![Self::pid_dir(host)];
        for key in STORAGE_KEYS {
            dirs.extend(site.hdfs_dirs(key).unwrap_or_default());
        }
        if let Some(tmp) = site.core.get("hadoop.tmp.dir") {
            dirs.extend(
                expand_vars(tmp, &[&site.core])
                    .and_then(|t| storage_path(&t))
                    .ok(),
            );
        }
        if let Some(local) = site.yarn.get("yarn.nodemanager.local-dirs") {
            if let Ok(v) = expand_vars(local, &[&site.core, &site.yarn]) {
                dirs.extend(v.split(',').filter_map(|d| storage_path(d).ok()));
            }
        }
        dirs
    }

    /// Hadoop's own documentation names no number; the HBase Reference Guide's limits.conf
    /// example ("ulimit") gives the user running Hadoop 32768, which is what HDFS under HBase
    /// needs (a DataNode holds a socket and a file per block transfer).
    fn open_files(&self) -> Option<super::core::OpenFilesNeed> {
        Some(super::core::OpenFilesNeed {
            recommended: 32_768,
            source: "the HBase Reference Guide's ulimit example sets 32768 for the Hadoop user",
        })
    }

    fn supervision(&self, role: &str) -> Supervision {
        Supervision {
            // A NameNode replays its edits at each start: give a crashed one time, and stop
            // after three quick failures (an unformatted or corrupt name directory).
            restart_sec: if role == NAMENODE { 30 } else { 10 },
            start_limit_burst: if role == NAMENODE { 3 } else { 5 },
            // A DataNode's block files and xceiver threads; a NodeManager's containers.
            max_open_files: 65536,
            max_processes: 32768,
            ..Supervision::default()
        }
    }

    fn restart(&self, role: &str) -> Restart {
        // DataNodes one at a time: blocks stay readable from the other replicas.
        if role == DATANODE {
            Restart::Rolling
        } else {
            Restart::Together
        }
    }

    fn dist_archive(&self, spec: &ComponentSpec) -> Option<DistArchive> {
        let v = &spec.version;
        Some(DistArchive {
            paths: vec![format!("hadoop/common/hadoop-{v}/hadoop-{v}.tar.gz")],
            keys: "hadoop/common/KEYS".into(),
        })
    }

    fn dist_dir(&self, spec: &ComponentSpec) -> String {
        format!("hadoop-{}", spec.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        let mut p = Props::default();
        for (k, v) in pairs {
            p.set(k, v);
        }
        p
    }

    #[test]
    fn storage_dirs_resolve_as_hadoop_reads_them() {
        for (entry, want) in [
            ("/data/nn", "/data/nn"),
            ("/data/nn/", "/data/nn"),
            ("file:///data/nn", "/data/nn"),
            ("file:/data/nn", "/data/nn"),
            ("file://localhost/data/nn", "/data/nn"),
            ("  file:///data/my%20nn ", "/data/my nn"),
            ("[SSD]file:///data/dn", "/data/dn"),
            ("[ARCHIVE]/data/cold", "/data/cold"),
        ] {
            assert_eq!(storage_path(entry).as_deref(), Ok(want), "{entry}");
        }
        for bad in [
            "data/nn",
            "hdfs://nn:8020/x",
            "file://otherhost/data",
            "file:data",
            "s3a:/bucket",
            "/data/../etc",
            "file:///data/%zz",
            "",
        ] {
            assert!(storage_path(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn variables_expand_from_the_rendered_configuration() {
        let core = props(&[("hadoop.tmp.dir", "/data/t/${x}"), ("x", "tmp")]);
        let hdfs = props(&[
            (
                "dfs.namenode.name.dir",
                "${hadoop.tmp.dir}/dfs/name,file:${hadoop.tmp.dir}/n2",
            ),
            ("dfs.datanode.data.dir", "file:///d1, /d2"),
            ("dfs.namenode.checkpoint.dir", "${user.name}/snn"),
        ]);
        let site = SiteProps {
            core,
            hdfs,
            yarn: Props::default(),
            mapred: Props::default(),
        };
        assert_eq!(
            site.hdfs_dirs("dfs.namenode.name.dir").unwrap(),
            vec!["/data/t/tmp/dfs/name", "/data/t/tmp/n2"]
        );
        assert_eq!(
            site.hdfs_dirs("dfs.datanode.data.dir").unwrap(),
            vec!["/d1", "/d2"]
        );
        let e = site.hdfs_dirs("dfs.namenode.checkpoint.dir").unwrap_err();
        assert!(e.contains("${user.name}"), "{e}");
        let cyc = props(&[("a", "${b}"), ("b", "${a}")]);
        assert!(expand_vars("${a}", &[&cyc]).is_err());
        assert!(expand_vars("${a", &[&cyc]).is_err());
    }
}
