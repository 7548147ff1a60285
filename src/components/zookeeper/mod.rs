//! ZooKeeper: the quorum every other service coordinates through.
//!
//! Version lines differ in `zoo.cfg`: 3.5.3+ only answers `srvr` among four-letter words unless
//! `4lw.commands.whitelist` says otherwise, and 3.5.0+ starts an AdminServer on 8080 by default.
//! We whitelist the words `verify` needs and turn the AdminServer off unless asked for.

mod live;

use serde_json::json;

use super::core::{
    base_context, conf_dir, heap_opts, home_dir, int_prop, Check, Cluster, Component, ComponentDef,
    DistArchive, FileSpec, IdDef, IdentityFile, Logging, PortUse, Props, Restart, RoleDef, Service,
    SettingDef, SettingKind, Supervision, VerifyCx, CLUSTER, GROUP, HYGIENE_SETTINGS,
    PROBE_TIMEOUT, STOP_TIMEOUT, USER,
};
use crate::compat::detect::{Detected, Listing};
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::{ComponentSpec, Host, Inventory};

pub struct ZooKeeper;

pub const NAME: &str = "zookeeper";
pub const ROLE: &str = "zookeeper";
pub const DEFAULT_CLIENT_PORT: u16 = 2181;
const DEFAULT_PEER_PORT: u16 = 2888;
const DEFAULT_ELECTION_PORT: u16 = 3888;
/// The words `stackctl verify` uses: state and version (`srvr`), sync counts (`mntr`), liveness
/// (`ruok`), plus `stat`/`conf`/`isro` that operators reach for.
pub const FOUR_LETTER_WORDS: &str = "srvr,mntr,ruok,stat,conf,isro";

static ROLES: [RoleDef; 1] = [RoleDef {
    name: ROLE,
    component: NAME,
    service: "ZooKeeper server",
    short: "ZK",
    max_per_cluster: None,
    why_single: None,
    after: &[],
    gate: "quorum formed: one leader, every other server a follower",
    id: Some(IdDef {
        field: "zookeeper_id",
        what: "myid",
        min: 1,
        max: 255,
    }),
}];

static SETTINGS: [SettingDef; 15] = [
    SettingDef {
        key: "config",
        kind: SettingKind::Map,
        help: "zoo.cfg properties, merged last",
    },
    SettingDef {
        key: "peer_port",
        kind: SettingKind::Scalar,
        help: "quorum port in server.N lines (2888)",
    },
    SettingDef {
        key: "election_port",
        kind: SettingKind::Scalar,
        help: "leader election port in server.N lines (3888)",
    },
    SettingDef {
        key: "heap",
        kind: SettingKind::Scalar,
        help: "JVM heap, e.g. 512m",
    },
    SettingDef {
        key: "jvm_opts",
        kind: SettingKind::Scalar,
        help: "extra JVM options",
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

/// Keys that only exist from a given version on; rendering them for an older server is
/// harmless but misleading, so we neither render them nor accept them silently.
const KEYS_SINCE: &[(&str, &str)] = &[
    ("4lw.commands.whitelist", "3.4.10"),
    ("admin.enableServer", "3.5.0"),
    ("admin.serverPort", "3.5.0"),
    ("admin.serverAddress", "3.5.0"),
    ("reconfigEnabled", "3.5.3"),
    ("standaloneEnabled", "3.5.0"),
    ("snapshot.trust.empty", "3.5.6"),
];

impl ZooKeeper {
    /// The server's `dataDir`, without a trailing slash.
    pub fn data_dir(spec: &ComponentSpec, host: &Host) -> String {
        Self::props(spec, host)
            .get("dataDir")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string()
    }
    /// The effective zoo.cfg properties for a host (server.N lines are rendered separately).
    pub fn props(spec: &ComponentSpec, host: &Host) -> Props {
        let v = &spec.version;
        let mut p = Props::default();
        p.set("tickTime", 2000)
            .set("initLimit", 10)
            .set("syncLimit", 5)
            .set("dataDir", format!("{}/zookeeper", host.data_dir))
            .set("clientPort", DEFAULT_CLIENT_PORT)
            .set("maxClientCnxns", 60)
            .set("autopurge.snapRetainCount", 3)
            .set("autopurge.purgeInterval", 24);
        if v.at_least("3.5.3") {
            p.set("4lw.commands.whitelist", FOUR_LETTER_WORDS);
        }
        if v.at_least("3.5.0") {
            p.set("admin.enableServer", "false");
        }
        p.merge(spec.map("config"));
        p
    }

    pub fn client_port(spec: &ComponentSpec, host: &Host) -> u16 {
        Self::props(spec, host)
            .get("clientPort")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_CLIENT_PORT)
    }

    fn port_setting(spec: &ComponentSpec, key: &str, default: u16) -> u16 {
        spec.scalar(key)
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(default)
    }

    /// `addr1:2181,addr2:2181,...` for clients (Kafka, HBase).
    pub fn connect_string(inv: &Inventory) -> String {
        let Some(spec) = inv.component(NAME) else {
            return String::new();
        };
        let Some(first) = inv.first_with_role(ROLE) else {
            return String::new();
        };
        // `clientPort` comes from the component's config, the same on every server: working it
        // out once keeps this linear (it builds the whole zoo.cfg property set).
        let port = Self::client_port(spec, first);
        let mut out = String::new();
        for (i, h) in inv.hosts_with_role(ROLE).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&h.address);
            out.push(':');
            out.push_str(&port.to_string());
        }
        out
    }

    /// How many servers may fail while the ensemble keeps a majority.
    pub fn tolerated_failures(n: usize) -> usize {
        n.saturating_sub(1) / 2
    }
}

static DEF: ComponentDef = ComponentDef {
    name: NAME,
    roles: &ROLES,
    settings: &SETTINGS,
    example_version: "3.8.4",
};

impl Component for ZooKeeper {
    fn def(&self) -> &'static ComponentDef {
        &DEF
    }

    fn validate(&self, inv: &Inventory, diags: &mut Diagnostics) {
        let Some(spec) = inv.component(NAME) else {
            return;
        };
        let servers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        let n = servers.len();
        if n > 0 && n.is_multiple_of(2) {
            let f = Self::tolerated_failures(n);
            diags.push(
                Diagnostic::warning(
                    &inv.path,
                    servers[n - 1].role_pos(ROLE),
                    format!("hosts[{}].roles", servers[n - 1].index),
                    format!(
                        "{n} ZooKeeper servers tolerate {f} failure{}, the same as {}; the extra server adds load, not safety",
                        if f == 1 { "" } else { "s" },
                        n - 1
                    ),
                )
                .with_help(format!("use an odd number of servers ({} or {})", n - 1, n + 1)),
            );
        }
        if n > 255 {
            diags.push(Diagnostic::error(&inv.path, spec.pos, "components.zookeeper", format!("{n} ZooKeeper servers: a quorum this large cannot elect a leader in reasonable time")));
        }
        for key in ["peer_port", "election_port"] {
            if let Some(v) = spec.scalar(key) {
                if v.trim().parse::<u16>().map(|p| p == 0).unwrap_or(true) {
                    diags.push(Diagnostic::error(
                        &inv.path,
                        spec.pos_of(key),
                        format!("components.zookeeper.{key}"),
                        format!("`{v}` is not a TCP port (1-65535)"),
                    ));
                }
            }
        }
        for prop in spec.map("config") {
            let field = format!("components.zookeeper.config.{}", prop.key);
            // ZooKeeper trims its values: a path with white space at either end would be a
            // different directory for it than for stackctl (myid, purge).
            if (prop.key == "dataDir" || prop.key == "dataLogDir")
                && (!crate::inventory::plain_abs_path(&prop.value)
                    || prop.value.trim() != prop.value)
            {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        prop.pos,
                        field,
                        format!(
                            "`{}` must be a plain absolute path, got `{}`",
                            prop.key, prop.value
                        ),
                    )
                    .with_help("start with `/`, leave out `..`, and no white space at either end"),
                );
            } else if prop.key.starts_with("server.") {
                diags.push(
                    Diagnostic::error(&inv.path, prop.pos, field, format!("`{}` is generated from the hosts with role `zookeeper`", prop.key))
                        .with_help("add or remove ZooKeeper hosts in `hosts:`; pin an id with `zookeeper_id` on the host"),
                );
            } else if let Some((_, since)) = KEYS_SINCE.iter().find(|(k, _)| *k == prop.key) {
                if !spec.version.at_least(since) {
                    diags.push(Diagnostic::warning(
                        &inv.path,
                        prop.pos,
                        field,
                        format!(
                            "ZooKeeper {} does not know `{}` (new in {since}); it will be ignored",
                            spec.version, prop.key
                        ),
                    ));
                }
            }
        }
        if let Some(h) = servers.first() {
            let props = Self::props(spec, h);
            for key in ["clientPort", "tickTime", "initLimit", "syncLimit"] {
                if let Some(v) = int_prop(inv, &props, key, "components.zookeeper.config", diags) {
                    if v <= 0 || (key == "clientPort" && v > 65535) {
                        let e = props.entry(key).expect("present");
                        diags.push(Diagnostic::error(
                            &inv.path,
                            e.pos,
                            format!("components.zookeeper.config.{key}"),
                            format!(
                                "`{key}` must be a positive number{}, got {v}",
                                if key == "clientPort" {
                                    " below 65536"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                }
            }
        }
    }

    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        if !host.has_role(ROLE) {
            return vec![];
        }
        let props = Self::props(spec, host);
        let role_pos = host.role_pos(ROLE);
        let mut out = vec![
            PortUse {
                port: Self::client_port(spec, host),
                role: ROLE,
                what: "clientPort".into(),
                pos: props.pos_or("clientPort", role_pos),
                configured: props.is_override("clientPort"),
            },
            PortUse {
                port: Self::port_setting(spec, "peer_port", DEFAULT_PEER_PORT),
                role: ROLE,
                what: "quorum port".into(),
                pos: spec.pos_of("peer_port"),
                configured: spec.scalar("peer_port").is_some(),
            },
            PortUse {
                port: Self::port_setting(spec, "election_port", DEFAULT_ELECTION_PORT),
                role: ROLE,
                what: "election port".into(),
                pos: spec.pos_of("election_port"),
                configured: spec.scalar("election_port").is_some(),
            },
        ];
        if spec.version.at_least("3.5.0") && props.get("admin.enableServer") == Some("true") {
            let port = props
                .get("admin.serverPort")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(8080);
            out.push(PortUse {
                port,
                role: ROLE,
                what: "AdminServer".into(),
                pos: props.pos_or("admin.enableServer", role_pos),
                configured: true,
            });
        }
        out
    }

    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if !host.has_role(ROLE) {
            return vec![];
        }
        let props = Self::props(spec, host);
        let peer = Self::port_setting(spec, "peer_port", DEFAULT_PEER_PORT);
        let election = Self::port_setting(spec, "election_port", DEFAULT_ELECTION_PORT);
        let servers: Vec<_> = cl
            .inv
            .hosts_with_role(ROLE)
            .map(|h| json!({ "id": cl.id("zookeeper_id", h), "name": h.name, "address": h.address, "peer_port": peer, "election_port": election }))
            .collect();
        let id = cl.id("zookeeper_id", host);
        let data_dir = props
            .get("dataDir")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let ctx = base_context(
            cl,
            host,
            NAME,
            json!({ "props": props, "servers": servers, "id": id }),
        );
        vec![
            FileSpec {
                path: format!("{}/zoo.cfg", conf_dir(host, NAME)),
                template: "zookeeper/zoo.cfg",
                mode: 0o644,
                context: ctx.clone(),
                shared: false,
                component: NAME,
            },
            FileSpec {
                path: format!("{data_dir}/myid"),
                template: "zookeeper/myid",
                mode: 0o644,
                context: ctx,
                shared: false,
                component: NAME,
            },
        ]
    }

    fn services(&self, cl: &Cluster, host: &Host) -> Vec<Service> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if !host.has_role(ROLE) {
            return vec![];
        }
        let home = home_dir(host, self, spec);
        let conf = conf_dir(host, NAME);
        let data_dir = Self::props(spec, host)
            .get("dataDir")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let (user, group) = super::core::account(spec, "zookeeper");
        let mut owned_dirs = self.data_dirs(cl, host);
        owned_dirs.push(format!("{}/zookeeper", host.log_dir));
        let mut jvm = heap_opts(spec, "512m");
        jvm.push(format!("-Dzookeeper.log.dir={}/zookeeper", host.log_dir));
        vec![Service {
            role: ROLE,
            service: "ZooKeeper server",
            main_class: "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            // conf first (log4j.properties); 3.4 keeps its jar at the top, 3.5+ under lib/.
            classpath: vec![conf.clone(), format!("{home}/*"), format!("{home}/lib/*")],
            args: vec![format!("{conf}/zoo.cfg")],
            jvm_opts: jvm,
            // A server shuts down in seconds; its sessions move to the others.
            stop_timeout: super::core::stop_timeout(spec, 30),
            env: vec![],
            work_dir: home,
            config_files: vec![format!("{conf}/zoo.cfg"), format!("{data_dir}/myid")],
            init: None,
            user: Some(user),
            group: Some(group),
            owned_dirs,
        }]
    }

    fn logging(&self, spec: &ComponentSpec) -> Logging {
        // 3.8.0 moved from log4j 1 to logback (ZOOKEEPER-4427; lib/logback-classic-*.jar):
        // a log4j.properties is then ignored and logback's default logs DEBUG to stdout.
        if spec.version.at_least("3.8.0") {
            Logging::Logback
        } else {
            Logging::Log4j1
        }
    }

    fn detect(&self, listing: &Listing) -> Option<Detected> {
        // 3.4 (and the ant-built 3.5.0-3.5.4) keep the jar at the top; 3.5.5+ under lib/.
        listing.detect_jars(&[("", "zookeeper"), ("lib", "zookeeper")], &[])
    }

    fn identity_files(&self, cl: &Cluster, host: &Host) -> Vec<IdentityFile> {
        match (cl.inv.component(NAME), cl.id("zookeeper_id", host)) {
            (Some(spec), Some(id)) if host.has_role(ROLE) => vec![IdentityFile {
                path: format!("{}/myid", Self::data_dir(spec, host)),
                want: id.to_string(),
                read: |text| Some(text.trim().to_string()),
            }],
            _ => vec![],
        }
    }

    fn data_dirs(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let props = Self::props(spec, host);
        let mut dirs = vec![Self::data_dir(spec, host)];
        dirs.extend(props.get("dataLogDir").map(str::to_string));
        dirs
    }

    fn supervision(&self, _role: &str) -> Supervision {
        Supervision {
            restart_sec: 5,
            // QuorumPeerMain exits 2 on a ConfigException (a bad zoo.cfg or myid): restarting
            // cannot fix it, and a loop would hide it.
            no_restart_exit: &[2],
            // Snapshots, transaction logs and one socket per client session. Its process
            // limit stays the default: RLIMIT_NPROC counts every thread of the user, and a
            // user may run other daemons too.
            max_open_files: 16384,
            ..Supervision::default()
        }
    }

    fn restart(&self, _role: &str) -> Restart {
        Restart::Rolling
    }

    fn purge_warnings(&self, cl: &Cluster, purged: &[&Host]) -> Vec<String> {
        let members: Vec<&Host> = cl.inv.hosts_with_role(ROLE).collect();
        let gone: Vec<&str> = purged
            .iter()
            .filter(|h| h.has_role(ROLE))
            .map(|h| h.name.as_str())
            .collect();
        let kept: Vec<&str> = members
            .iter()
            .map(|h| h.name.as_str())
            .filter(|n| !gone.contains(n))
            .collect();
        if gone.is_empty() || kept.is_empty() {
            return vec![];
        }
        vec![format!(
            "purging ZooKeeper data on {} of the {} ensemble members ({}): when {} again, {} resync{} every znode from the survivors ({}), so the ensemble keeps its data; to delete the data, purge every member",
            gone.len(),
            members.len(),
            gone.join(", "),
            if gone.len() == 1 { "it starts" } else { "they start" },
            if gone.len() == 1 { "it" } else { "they" },
            if gone.len() == 1 { "s" } else { "" },
            kept.join(", ")
        )]
    }

    fn dist_archive(&self, spec: &ComponentSpec) -> Option<DistArchive> {
        // 3.5.5+ publishes `apache-zookeeper-X-bin.tar.gz` (and a source tarball), older
        // releases `zookeeper-X.tar.gz`: the directory they unpack to names them.
        let v = &spec.version;
        Some(DistArchive {
            paths: vec![format!(
                "zookeeper/zookeeper-{v}/{}.tar.gz",
                self.dist_dir(spec)
            )],
            keys: "zookeeper/KEYS".into(),
        })
    }

    fn dist_dir(&self, spec: &ComponentSpec) -> String {
        if spec.version.at_least("3.5.5") {
            format!("apache-zookeeper-{}-bin", spec.version)
        } else {
            format!("zookeeper-{}", spec.version)
        }
    }
}
