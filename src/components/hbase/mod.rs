//! HBase: a master (plus backup masters) and RegionServers, on HDFS and an external ZooKeeper.
//!
//! Ports moved from 600x0 to 160x0 in 1.0. HBase must never manage its own ZooKeeper here
//! (`HBASE_MANAGES_ZK=false`): the inventory's ensemble is shared with Kafka.

mod live;

use serde_json::json;

use super::core::{
    base_context, conf_dir, endpoint, heap_opts, home_dir, is_host, port_of, Check, Cluster,
    Component, ComponentDef, DistArchive, FileSpec, Link, Logging, PortUse, Props, Restart,
    RoleDef, Service, SettingDef, SettingKind, Supervision, VerifyCx, CLUSTER, GROUP,
    HYGIENE_SETTINGS, PROBE_TIMEOUT, STOP_TIMEOUT, USER,
};
use super::hadoop::{self, Hadoop};
use super::zookeeper::{self, ZooKeeper};
use crate::compat::detect::{Detected, Listing};
use std::collections::BTreeMap;

use crate::compat::{self, Release};
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::{ComponentSpec, Host, Inventory};
use crate::version::Version;

pub struct HBase;

pub const NAME: &str = "hbase";
pub const MASTER: &str = "hbase-master";
pub const REGIONSERVER: &str = "hbase-regionserver";

static ROLES: [RoleDef; 2] = [
    RoleDef {
        name: MASTER,
        component: NAME,
        service: "HBase master",
        short: "HMASTER",
        max_per_cluster: None,
        why_single: None,
        // HBase stores in HDFS and coordinates through ZooKeeper; it does not need YARN.
        after: &[hadoop::DATANODE, zookeeper::ROLE],
        gate: "an active master registered in ZooKeeper",
        id: None,
    },
    RoleDef {
        name: REGIONSERVER,
        component: NAME,
        service: "HBase RegionServer",
        short: "HRS",
        max_per_cluster: None,
        why_single: None,
        after: &[MASTER],
        gate: "every RegionServer live in the master's report, none dead",
        id: None,
    },
];

static SETTINGS: [SettingDef; 14] = [
    SettingDef {
        key: "config",
        kind: SettingKind::Map,
        help: "hbase-site.xml properties, merged last",
    },
    SettingDef {
        key: "hadoop3",
        kind: SettingKind::Scalar,
        help: "true when the -hadoop3-bin tarball is used (HBase 2.5.2+)",
    },
    SettingDef {
        key: "heap",
        kind: SettingKind::Scalar,
        help: "HBASE_HEAPSIZE, e.g. 1g",
    },
    SettingDef {
        key: "jvm_opts",
        kind: SettingKind::Scalar,
        help: "extra options added to HBASE_OPTS",
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

impl HBase {
    fn ports(v: &crate::version::Version) -> (u16, u16, u16, u16) {
        if v.at_least("1.0") {
            (16000, 16010, 16020, 16030)
        } else {
            (60000, 60010, 60020, 60030)
        }
    }

    pub fn hadoop3(spec: &ComponentSpec) -> bool {
        matches!(
            spec.scalar("hadoop3")
                .map(|s| s.trim().to_ascii_lowercase())
                .as_deref(),
            Some("true" | "yes")
        )
    }

    pub fn props(inv: &Inventory, spec: &ComponentSpec, host: &Host) -> Props {
        Self::props_with(inv, spec, host, &Self::zookeeper_quorum(inv))
    }

    /// `hbase.zookeeper.quorum`: every ZooKeeper server's address.
    fn zookeeper_quorum(inv: &Inventory) -> String {
        let zk_hosts: Vec<&str> = inv
            .hosts_with_role(zookeeper::ROLE)
            .map(|h| h.address.as_str())
            .collect();
        zk_hosts.join(",")
    }

    /// Where hbase-env.sh keeps the daemons' pid files.
    pub fn pid_dir(host: &Host) -> String {
        format!("{}/hbase/pid", host.data_dir)
    }

    /// `props` with `hbase.zookeeper.quorum` given: it lists every ZooKeeper server, so `ports`
    /// (which does not read it) passes "" and `files` the value built once per plan.
    fn props_with(inv: &Inventory, spec: &ComponentSpec, host: &Host, quorum: &str) -> Props {
        let mut p = Props::default();
        p.set("hbase.cluster.distributed", "true");
        if let Some(fs) = inv
            .component(hadoop::NAME)
            .and_then(|h| Hadoop::default_fs(inv, h))
        {
            p.set("hbase.rootdir", format!("{fs}/hbase"));
        }
        p.set("hbase.zookeeper.quorum", quorum);
        if let (Some(zk), Some(first)) = (
            inv.component(zookeeper::NAME),
            inv.first_with_role(zookeeper::ROLE),
        ) {
            p.set(
                "hbase.zookeeper.property.clientPort",
                ZooKeeper::client_port(zk, first),
            );
        }
        p.set("zookeeper.znode.parent", "/hbase")
            .set("hbase.tmp.dir", format!("{}/hbase/tmp", host.data_dir));
        p.merge(spec.map("config"));
        p
    }
}

static DEF: ComponentDef = ComponentDef {
    name: NAME,
    roles: &ROLES,
    settings: &SETTINGS,
    example_version: "2.5.10",
};

impl Component for HBase {
    fn compat_fix(&self, spec: &ComponentSpec, v: &compat::Verdict) -> Option<String> {
        if v.other != "hadoop-jars" || Self::hadoop3(spec) {
            return None;
        }
        Some(if spec.version.at_least("2.5.2") {
            format!(
                "use the -hadoop3 build: set `hadoop3: true` under `components.hbase` (and point `archive:` at hbase-{}-hadoop3-bin.tar.gz)",
                spec.version
            )
        } else {
            format!(
                "HBase {} has no -hadoop3 build: use HBase 2.5.2 or later with `hadoop3: true`, or a JDK the Hadoop 2 jars support (8)",
                spec.version
            )
        })
    }

    fn def(&self) -> &'static ComponentDef {
        &DEF
    }

    fn validate(&self, inv: &Inventory, diags: &mut Diagnostics) {
        let Some(spec) = inv.component(NAME) else {
            return;
        };
        let Some(first) = inv.hosts.iter().find(|h| h.has_component(NAME)) else {
            return;
        };
        let role = if first.has_role(MASTER) {
            MASTER
        } else {
            REGIONSERVER
        };
        let at = |d: Diagnostic| d;
        let field = format!("hosts[{}].roles", first.index);
        if inv.count_role(zookeeper::ROLE) == 0 {
            diags.push(at(Diagnostic::error(&inv.path, first.role_pos(role), &field, "HBase needs ZooKeeper, but no host has role `zookeeper`")
                .with_help("add `zookeeper` to the roles of one or three hosts; stackctl never lets HBase manage its own ZooKeeper")));
        }
        let rootdir = spec.map("config").iter().find(|p| p.key == "hbase.rootdir");
        if inv.count_role(hadoop::NAMENODE) == 0 && rootdir.is_none() {
            diags.push(at(Diagnostic::error(&inv.path, first.role_pos(role), &field, "HBase needs HDFS, but no host has role `namenode`")
                .with_help("add a `namenode` and `datanode`s with `hadoop:` under components; a distributed HBase on a local filesystem loses data")));
        }
        if let Some(r) = rootdir {
            if !r.value.starts_with("hdfs://") {
                diags.push(Diagnostic::warning(&inv.path, r.pos, "components.hbase.config.hbase.rootdir", format!("hbase.rootdir `{}` is not on HDFS: a distributed HBase there loses data when a host dies", r.value)));
            }
        }
        if inv.count_role(MASTER) == 0 {
            let h = inv
                .first_with_role(REGIONSERVER)
                .expect("a host has an hbase role");
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    h.role_pos(REGIONSERVER),
                    format!("hosts[{}].roles", h.index),
                    "RegionServers need an `hbase-master`, but no host has one",
                )
                .with_help("add `hbase-master` to one host's roles"),
            );
        }
        if inv.count_role(REGIONSERVER) == 0 {
            let h = inv
                .first_with_role(MASTER)
                .expect("a host has an hbase role");
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    h.role_pos(MASTER),
                    format!("hosts[{}].roles", h.index),
                    "an HBase master without `hbase-regionserver` hosts cannot serve a table",
                )
                .with_help("add `hbase-regionserver` to the roles of the hosts that run DataNodes"),
            );
        }
        if let Some(v) = spec.scalar("hadoop3") {
            if !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no"
            ) {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("hadoop3"),
                    "components.hbase.hadoop3",
                    format!("`{v}` is not true or false"),
                ));
            } else if Self::hadoop3(spec) && !spec.version.at_least("2.5.2") {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("hadoop3"),
                    "components.hbase.hadoop3",
                    format!(
                        "HBase {} has no -hadoop3 build (the first is 2.5.2)",
                        spec.version
                    ),
                ));
            }
        }
        if let Some(h) = spec.scalar("heap") {
            if hadoop::heap_mb(h).is_none() {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("heap"),
                    "components.hbase.heap",
                    format!("`{h}` is not a heap size such as 1024m or 1g"),
                ));
            }
        }
        for prop in spec.map("config") {
            if prop.key == "hbase.cluster.distributed" && prop.value != "true" {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        prop.pos,
                        "components.hbase.config.hbase.cluster.distributed",
                        "hbase.cluster.distributed must stay true on a multi-host cluster",
                    )
                    .with_help("false starts a standalone HBase with its own ZooKeeper in one JVM"),
                );
            }
        }
    }

    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let props = Self::props_with(inv, spec, host, "");
        let (m, mi, rs, rsi) = Self::ports(&spec.version);
        let mut out = Vec::new();
        for (role, key, default, what) in [
            (MASTER, "hbase.master.port", m, "RPC"),
            (MASTER, "hbase.master.info.port", mi, "web UI"),
            (REGIONSERVER, "hbase.regionserver.port", rs, "RPC"),
            (REGIONSERVER, "hbase.regionserver.info.port", rsi, "web UI"),
        ] {
            if host.has_role(role) {
                let port = props.get(key).and_then(port_of).unwrap_or(default);
                out.push(PortUse {
                    port,
                    role,
                    what: what.into(),
                    pos: props.pos_or(key, host.role_pos(role)),
                    configured: props.is_override(key),
                });
            }
        }
        out
    }

    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if !host.has_component(NAME) {
            return vec![];
        }
        // HBase reads HDFS through Hadoop's client configuration.
        let mut files = if host.has_component(hadoop::NAME) {
            vec![]
        } else {
            Hadoop::conf_files(cl, host)
        };
        let dir = conf_dir(host, NAME);
        let quorum = cl.shared("hbase/hbase.zookeeper.quorum", || {
            json!(Self::zookeeper_quorum(cl.inv))
        });
        let props = Self::props_with(cl.inv, spec, host, quorum.as_str().unwrap_or_default());
        let env = json!({
            "conf_dir": dir,
            "hadoop_conf_dir": conf_dir(host, hadoop::NAME),
            "log_dir": format!("{}/hbase", host.log_dir),
            "pid_dir": Self::pid_dir(host),
            // Before 1.0, bin/hbase appends "m" to HBASE_HEAPSIZE: give it plain megabytes.
            "heap": spec.scalar("heap").map(|h| if spec.version.at_least("1.0") { h.to_string() } else { hadoop::heap_mb(h).map(|m| m.to_string()).unwrap_or_else(|| h.to_string()) }),
            "jvm_opts": spec.scalar("jvm_opts"),
        });
        let list = |role: &'static str, skip: usize| {
            cl.shared(role, || {
                let hosts: Vec<&str> = cl
                    .inv
                    .hosts_with_role(role)
                    .skip(skip)
                    .map(|h| h.address.as_str())
                    .collect();
                json!({ "cluster": cl.inv.cluster, "c": { "hosts": hosts } })
            })
        };
        files.extend([
            FileSpec {
                path: format!("{dir}/hbase-site.xml"),
                template: "hbase/hbase-site.xml",
                mode: 0o644,
                context: base_context(cl, host, NAME, json!({ "props": props })),
                shared: false,
                component: NAME,
            },
            FileSpec {
                path: format!("{dir}/hbase-env.sh"),
                template: "hbase/hbase-env.sh",
                mode: 0o755,
                context: base_context(cl, host, NAME, env),
                shared: false,
                component: NAME,
            },
            FileSpec {
                path: format!("{dir}/regionservers"),
                template: "hbase/regionservers",
                mode: 0o644,
                context: list(REGIONSERVER, 0),
                shared: true,
                component: NAME,
            },
            FileSpec {
                path: format!("{dir}/backup-masters"),
                template: "hbase/backup-masters",
                mode: 0o644,
                context: list(MASTER, 1),
                shared: true,
                component: NAME,
            },
        ]);
        files
    }

    fn services(&self, cl: &Cluster, host: &Host) -> Vec<Service> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let home = home_dir(host, self, spec);
        let conf = conf_dir(host, NAME);
        let hadoop_conf = conf_dir(host, hadoop::NAME);
        // Opt-in: only an explicit `user` switches (see README: HBase writes to HDFS as it).
        let account = spec
            .scalar("user")
            .map(|_| super::core::account(spec, "hbase"));
        let mut owned_dirs = self.data_dirs(cl, host);
        owned_dirs.push(format!("{}/hbase", host.log_dir));
        // (role, service, main class, default stop timeout in seconds): a RegionServer
        // flushes and closes every region it serves before it exits.
        [
            (
                MASTER,
                "HBase master",
                "org.apache.hadoop.hbase.master.HMaster",
                120,
            ),
            (
                REGIONSERVER,
                "HBase RegionServer",
                "org.apache.hadoop.hbase.regionserver.HRegionServer",
                300,
            ),
        ]
        .into_iter()
        .filter(|(role, ..)| host.has_role(role))
        .map(|(role, service, main_class, stop)| {
            let mut jvm = heap_opts(spec, "1g");
            jvm.push(format!("-Dhbase.log.dir={}/hbase", host.log_dir));
            Service {
                role,
                service,
                main_class,
                classpath: vec![
                    conf.clone(),
                    hadoop_conf.clone(),
                    format!("{home}/lib/*"),
                    format!("{home}/lib/client-facing-thirdparty/*"),
                ],
                args: vec!["start".into()],
                jvm_opts: jvm,
                stop_timeout: super::core::stop_timeout(spec, stop),
                env: vec![("HBASE_CONF_DIR".into(), conf.clone())],
                work_dir: home.clone(),
                config_files: vec![
                    format!("{conf}/hbase-site.xml"),
                    format!("{hadoop_conf}/core-site.xml"),
                    format!("{hadoop_conf}/hdfs-site.xml"),
                ],
                init: None,
                user: account.as_ref().map(|a| a.0.clone()),
                group: account.as_ref().map(|a| a.1.clone()),
                owned_dirs: owned_dirs.clone(),
            }
        })
        .collect()
    }

    fn detect(&self, listing: &Listing) -> Option<Detected> {
        listing.detect_jars(
            &[("lib", "hbase-server")],
            &[
                ("hadoop-jars", "lib", "hadoop-common"),
                ("zookeeper-client", "lib", "zookeeper"),
            ],
        )
    }

    fn compat_links(&self, _inv: &Inventory) -> &'static [Link] {
        &[
            Link { from: "self", to: hadoop::NAME, relation: "runs_with", must_equal: None, report_unknown: true },
            Link { from: "zookeeper-client", to: zookeeper::NAME, relation: "client_to_server", must_equal: None, report_unknown: true },
            // "the minimum ZooKeeper version is 3.4.x" (HBase Reference Guide).
            Link { from: "self", to: zookeeper::NAME, relation: "runs_with", must_equal: None, report_unknown: false },
            Link {
                from: "hadoop-jars",
                to: hadoop::NAME,
                relation: "runs_with",
                report_unknown: true,
                must_equal: Some("HBase Reference Guide #hadoop: \"In distributed mode, it is critical that the version of Hadoop that is out on your cluster match what is under HBase\""),
            },
        ]
    }

    fn release_bundles(&self, spec: &ComponentSpec, r: &Release) -> BTreeMap<String, Version> {
        // A -hadoop3 build ships Hadoop 3 jars, recorded under its own key.
        compat::release_bundles(
            r,
            if Self::hadoop3(spec) {
                "hadoop3"
            } else {
                "hadoop"
            },
        )
    }

    /// The HBase Reference Guide ("ulimit"): "raise the ulimit to at least 10,000, but more
    /// likely 10,240", and its limits.conf example gives the user running Hadoop and HBase
    /// 32768: the example is what stackctl asks for (a RegionServer holds a file per StoreFile
    /// of every region it serves, and its DFS client a socket per block read).
    fn open_files(&self) -> Option<super::core::OpenFilesNeed> {
        Some(super::core::OpenFilesNeed {
            recommended: 32_768,
            source: "the HBase Reference Guide's ulimit example sets 32768 (at least 10240)",
        })
    }

    /// HBase's ServerManager (checkClockSkew) rejects a RegionServer whose clock differs from
    /// the master's by more than `hbase.master.maxclockskew` (default 30000 ms) with a
    /// ClockOutOfSyncException, and logs a warning above `hbase.master.warningclockskew`
    /// (default 10000 ms). The operator's `config:` may set either.
    fn clock_limit(&self, cl: &Cluster) -> Option<super::core::ClockLimit> {
        let spec = cl.inv.component(NAME)?;
        let ms = |key: &str, default: u64| {
            spec.map("config")
                .iter()
                .find(|p| p.key == key)
                .and_then(|p| p.value.trim().parse::<u64>().ok())
                .unwrap_or(default)
        };
        Some(super::core::ClockLimit {
            between: (MASTER, REGIONSERVER),
            reject_ms: ms("hbase.master.maxclockskew", 30_000),
            reject_key: "hbase.master.maxclockskew".into(),
            warn_ms: ms("hbase.master.warningclockskew", 10_000),
            warn_key: "hbase.master.warningclockskew".into(),
        })
    }

    fn supervision(&self, _role: &str) -> Supervision {
        Supervision {
            // Every store file of every region is open in a RegionServer.
            max_open_files: 100_000,
            max_processes: 32768,
            ..Supervision::default()
        }
    }

    fn logging(&self, spec: &ComponentSpec) -> Logging {
        // HBase 2.5 ships log4j 2 (lib/client-facing-thirdparty/log4j-core-2.*.jar) and reads
        // log4j2.properties (its log4j-1.2-api bridge ignores a log4j.properties); up to 2.4
        // it ships log4j 1.2.
        if spec.version.at_least("2.5.0") {
            Logging::Log4j2
        } else {
            Logging::Log4j1
        }
    }

    fn restart(&self, role: &str) -> Restart {
        // RegionServers one at a time: their regions move to the others meanwhile.
        if role == REGIONSERVER {
            Restart::Rolling
        } else {
            Restart::Together
        }
    }

    fn data_dirs(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        // What the rendered hbase-site.xml and hbase-env.sh name: its local temporary
        // directory, a local `file:` root directory (standalone), and the pid directory.
        let p = Self::props_with(cl.inv, spec, host, "");
        let mut dirs = vec![Self::pid_dir(host)];
        dirs.extend(
            p.get("hbase.tmp.dir")
                .filter(|d| !d.contains("${"))
                .map(|d| d.trim().to_string()),
        );
        if let Some(root) = p
            .get("hbase.rootdir")
            .and_then(|r| r.trim().strip_prefix("file:"))
        {
            let root = root.trim_start_matches("//");
            if !root.contains("${") {
                dirs.push(root.to_string());
            }
        }
        dirs
    }

    fn dist_archive(&self, spec: &ComponentSpec) -> Option<DistArchive> {
        // `hbase/X/` since 1.1; some 1.2.x and every 1.0 and older release sit under
        // `hbase/hbase-X/` (the 2018 downloads page linked hbase-1.2.9 there).
        let v = &spec.version;
        let file = format!("{}-bin.tar.gz", self.dist_dir(spec));
        Some(DistArchive {
            paths: vec![
                format!("hbase/{v}/{file}"),
                format!("hbase/hbase-{v}/{file}"),
            ],
            keys: "hbase/KEYS".into(),
        })
    }

    fn dist_dir(&self, spec: &ComponentSpec) -> String {
        if Self::hadoop3(spec) {
            format!("hbase-{}-hadoop3", spec.version)
        } else {
            format!("hbase-{}", spec.version)
        }
    }
}
