//! Kafka brokers, in ZooKeeper mode or without ZooKeeper (KRaft, `kraft.rs`).
//!
//! `broker.id`/`node.id` comes from the lock file, never from host order. Replication settings
//! are sized to the broker count so that a small cluster can create its internal topics.
//! Brokers older than 0.9 know `host.name`/`port` instead of `listeners`.

pub mod kraft;
mod kraft_live;
mod live;

pub use kraft::{Mode, Process, CONTROLLER};

use serde_json::json;

use super::core::{
    base_context, conf_dir, heap_opts, home_dir, int_prop, port_of, Check, Cluster, Component,
    ComponentDef, DistArchive, FileSpec, IdDef, IdentityFile, Link, PortUse, PropEntry, Props,
    Restart, RoleDef, Service, SettingDef, SettingKind, Supervision, VerifyCx, CLUSTER, GROUP,
    HYGIENE_SETTINGS, PROBE_TIMEOUT, STOP_TIMEOUT, USER,
};
use super::zookeeper::{self, ZooKeeper};
use crate::compat::detect::{Detected, Listing};
use crate::compat::{self, ComponentVersions, Level, Release, Verdict};
use crate::diag::Pos;
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::{ComponentSpec, Host, Inventory};
use crate::remote::facts::properties;

pub struct Kafka;

pub const NAME: &str = "kafka";
pub const ROLE: &str = "kafka";
pub const DEFAULT_PORT: u16 = 9092;

static ROLES: [RoleDef; 2] = [
    RoleDef {
        name: CONTROLLER,
        component: NAME,
        service: "Kafka controller",
        short: "KCTL",
        max_per_cluster: None,
        why_single: None,
        after: &[],
        gate: "a metadata-quorum leader with every voter caught up (DescribeQuorum)",
        id: Some(IdDef {
            field: "controller_id",
            what: "controller node.id",
            min: kraft::CONTROLLER_ID_MIN,
            max: kraft::CONTROLLER_ID_MAX,
        }),
    },
    RoleDef {
        name: ROLE,
        component: NAME,
        service: "Kafka broker",
        short: "KAFKA",
        max_per_cluster: None,
        why_single: None,
        after: &[zookeeper::ROLE, CONTROLLER],
        gate: "every broker registered (under /brokers/ids in ZooKeeper mode; unfenced in KRaft) and answering",
        // reserved.broker.max.id (1000) separates operator ids from generated ones; in KRaft
        // the broker id is the node.id.
        id: Some(IdDef {
            field: "broker_id",
            what: "broker.id",
            min: 0,
            max: 1000,
        }),
    },
];

static SETTINGS: [SettingDef; 21] = [
    SettingDef {
        key: "mode",
        kind: SettingKind::Scalar,
        help: "kraft (no ZooKeeper; the default from 4.0) or zookeeper (the default before 3.3)",
    },
    SettingDef {
        key: "combined",
        kind: SettingKind::Scalar,
        help: "true: a host with both kafka and kafka-controller runs one process (KRaft)",
    },
    SettingDef {
        key: "controller_port",
        kind: SettingKind::Scalar,
        help: "KRaft controller listener port (9093)",
    },
    SettingDef {
        key: "controller_config",
        kind: SettingKind::Map,
        help: "controller.properties of dedicated KRaft controllers, merged last",
    },
    SettingDef {
        key: "controller_heap",
        kind: SettingKind::Scalar,
        help: "JVM heap of dedicated KRaft controllers (default: heap)",
    },
    SettingDef {
        key: "scala",
        kind: SettingKind::Scalar,
        help: "Scala build of the tarball: 2.12 in kafka_2.12-2.4.0",
    },
    SettingDef {
        key: "config",
        kind: SettingKind::Map,
        help: "server.properties, merged last",
    },
    SettingDef {
        key: "chroot",
        kind: SettingKind::Scalar,
        help: "ZooKeeper chroot path, e.g. /kafka",
    },
    SettingDef {
        key: "port",
        kind: SettingKind::Scalar,
        help: "PLAINTEXT listener port (9092)",
    },
    SettingDef {
        key: "heap",
        kind: SettingKind::Scalar,
        help: "JVM heap, e.g. 1g",
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

/// Replication settings and the most a cluster of `n` brokers can satisfy.
const REPLICATION_KEYS: &[&str] = &[
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "default.replication.factor",
    "min.insync.replicas",
    "transaction.state.log.min.isr",
];

impl Kafka {
    /// The broker's `log.dirs`, each without a trailing slash.
    pub fn log_dirs(inv: &Inventory, spec: &ComponentSpec, host: &Host) -> Vec<String> {
        Self::props_with(inv, spec, host, None, "")
            .get("log.dirs")
            .unwrap_or_default()
            .split(',')
            .map(|d| d.trim().trim_end_matches('/').to_string())
            .filter(|d| !d.is_empty())
            .collect()
    }
    pub fn scala(spec: &ComponentSpec) -> String {
        match spec.scalar("scala") {
            Some(s) => s.trim().to_string(),
            None if spec.version.at_least("4.0") => "2.13".into(),
            None => "2.12".into(),
        }
    }

    fn port(spec: &ComponentSpec) -> u16 {
        spec.scalar("port")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(DEFAULT_PORT)
    }

    fn zookeeper_connect(inv: &Inventory, spec: &ComponentSpec) -> String {
        let chroot = spec
            .scalar("chroot")
            .map(|c| c.trim().trim_end_matches('/'))
            .unwrap_or("");
        format!("{}{chroot}", ZooKeeper::connect_string(inv))
    }

    /// Replication factors that fit `brokers`: 3 where there are 3 or more brokers, else all of
    /// them; `min.insync.replicas` leaves room for one broker to be down.
    pub fn replication_defaults(brokers: usize) -> (usize, usize) {
        let rf = brokers.clamp(1, 3);
        let min_isr = if rf >= 3 { 2 } else { 1 };
        (rf, min_isr)
    }

    pub fn props(
        inv: &Inventory,
        spec: &ComponentSpec,
        host: &Host,
        broker_id: Option<u64>,
    ) -> Props {
        Self::props_with(
            inv,
            spec,
            host,
            broker_id,
            &Self::zookeeper_connect(inv, spec),
        )
    }

    /// `props` with the value of `zookeeper.connect` given. It lists every ZooKeeper server, so
    /// building it for each broker makes whatever walks the brokers quadratic: callers that do
    /// not read it (ports, log dirs, listeners) pass "", `files` the value built once per plan.
    fn props_with(
        inv: &Inventory,
        spec: &ComponentSpec,
        host: &Host,
        broker_id: Option<u64>,
        zookeeper_connect: &str,
    ) -> Props {
        Self::props_in_mode(inv, spec, host, broker_id, zookeeper_connect, None)
    }

    /// A broker's properties; `kraft`: the controller quorum's voters and whether this host
    /// is a combined node, for a KRaft broker (no `broker.id`, no `zookeeper.*`).
    fn props_in_mode(
        inv: &Inventory,
        spec: &ComponentSpec,
        host: &Host,
        broker_id: Option<u64>,
        zookeeper_connect: &str,
        kraft: Option<(&str, bool)>,
    ) -> Props {
        let v = &spec.version;
        let brokers = inv.count_role(ROLE);
        let (rf, min_isr) = Self::replication_defaults(brokers);
        let port = Self::port(spec);
        let mut p = Props::default();
        if let Some((voters, combined)) = kraft {
            Self::kraft_broker_props(&mut p, spec, host, broker_id, voters, combined);
        } else {
            p.set(
                "broker.id",
                broker_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "-1".into()),
            );
        }
        if kraft.is_some() {
        } else if v.at_least("0.9") {
            p.set("listeners", format!("PLAINTEXT://{}:{port}", host.address));
            p.set(
                "advertised.listeners",
                format!("PLAINTEXT://{}:{port}", host.address),
            );
        } else {
            p.set("host.name", &host.address)
                .set("port", port)
                .set("advertised.host.name", &host.address);
        }
        p.set("log.dirs", format!("{}/kafka", host.data_dir));
        if kraft.is_some() {
            p.set("metadata.log.dir", format!("{}/kafka", host.data_dir));
        } else {
            p.set("zookeeper.connect", zookeeper_connect)
                .set("zookeeper.connection.timeout.ms", 18000);
        }
        p.set("num.partitions", 1)
            .set("offsets.topic.replication.factor", rf)
            .set("default.replication.factor", rf)
            .set("min.insync.replicas", min_isr);
        if v.at_least("0.11") {
            p.set("transaction.state.log.replication.factor", rf)
                .set("transaction.state.log.min.isr", min_isr);
        }
        p.merge(spec.map("config"));
        // The metadata log lives in the first log directory, wherever the operator put them.
        if kraft.is_some() && p.is_override("log.dirs") && !p.is_override("metadata.log.dir") {
            let first = p
                .get("log.dirs")
                .and_then(|d| d.split(',').next())
                .map(|d| d.trim().trim_end_matches('/').to_string())
                .unwrap_or_default();
            p.set("metadata.log.dir", first);
        }
        // Minimum in-sync replicas follow the replication factor in effect, so an operator who
        // lowers a factor does not inherit a minimum it can never meet.
        for (rf_key, isr_key) in [
            ("default.replication.factor", "min.insync.replicas"),
            (
                "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr",
            ),
        ] {
            if p.get(isr_key).is_some() && !p.is_override(isr_key) {
                if let Some(rf) = p.get(rf_key).and_then(|v| v.trim().parse::<usize>().ok()) {
                    p.set(isr_key, Self::replication_defaults(rf).1);
                }
            }
        }
        p
    }
}

static DEF: ComponentDef = ComponentDef {
    name: NAME,
    roles: &ROLES,
    settings: &SETTINGS,
    example_version: "3.6.2",
};

impl Component for Kafka {
    fn def(&self) -> &'static ComponentDef {
        &DEF
    }

    fn validate(&self, inv: &Inventory, diags: &mut Diagnostics) {
        let Some(spec) = inv.component(NAME) else {
            return;
        };
        let brokers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        Self::validate_mode(inv, spec, diags);
        let kraft = Self::mode(spec) == Mode::KRaft;
        if !kraft && !brokers.is_empty() && inv.count_role(zookeeper::ROLE) == 0 {
            diags.push(
                Diagnostic::error(&inv.path, brokers[0].role_pos(ROLE), format!("hosts[{}].roles", brokers[0].index), "Kafka needs ZooKeeper, but no host has role `zookeeper`")
                    .with_help("add `zookeeper` to the roles of one or three hosts, and `zookeeper:` under `components:`"),
            );
        }
        if let Some(chroot) = spec.scalar("chroot") {
            if !chroot.starts_with('/')
                || chroot.contains(char::is_whitespace)
                || chroot.contains(',')
            {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("chroot"),
                    "components.kafka.chroot",
                    format!("chroot `{chroot}` must be a ZooKeeper path such as /kafka"),
                ));
            }
        }
        if let Some(p) = spec.scalar("port") {
            if p.trim().parse::<u16>().map(|p| p == 0).unwrap_or(true) {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("port"),
                    "components.kafka.port",
                    format!("`{p}` is not a TCP port (1-65535)"),
                ));
            }
        }
        if let Some(s) = spec.scalar("scala") {
            let rule = &crate::inventory::text::SCALA;
            if !s.trim().starts_with("2.") && !s.trim().starts_with("3.")
                || !rule.accepts_text(s.trim())
            {
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        spec.pos_of("scala"),
                        "components.kafka.scala",
                        format!(
                            "`{}` is not a Scala binary version such as 2.12 or 2.13",
                            s.escape_debug()
                        ),
                    )
                    .with_help(format!("{} accepts {}", rule.what, rule.accepts)),
                );
            }
        }
        for prop in spec.map("config") {
            let field = format!("components.kafka.config.{}", prop.key);
            match prop.key.as_str() {
                "broker.id" if kraft => diags.push(
                    Diagnostic::error(&inv.path, prop.pos, field, "`broker.id` is a ZooKeeper-mode setting; in KRaft mode each broker's `node.id` comes from the lock file")
                        .with_help("pin an id with `broker_id:` on the host"),
                ),
                "broker.id" => diags.push(
                    Diagnostic::error(&inv.path, prop.pos, field, "`broker.id` differs per broker and cannot be set cluster-wide")
                        .with_help("pin an id with `broker_id:` on the host; otherwise stackctl assigns one and records it in the lock file"),
                ),
                "zookeeper.connect" if !kraft => diags.push(
                    Diagnostic::warning(&inv.path, prop.pos, field, "`zookeeper.connect` overrides the ensemble stackctl derives from the `zookeeper` hosts")
                        .with_help("use `chroot:` under components.kafka to add a chroot"),
                ),
                _ => {}
            }
        }
        let Some(first) = brokers.first() else { return };
        let props = Self::props(inv, spec, first, None);
        let n = brokers.len() as i64;
        let mut values = std::collections::HashMap::new();
        for key in REPLICATION_KEYS {
            if let Some(v) = int_prop(inv, &props, key, "components.kafka.config", diags) {
                values.insert(*key, v);
                let e = props.entry(key).expect("present");
                // A value stackctl derived (not written) is blamed on `components.kafka`.
                let e = &PropEntry {
                    pos: props.pos_or(key, spec.pos),
                    ..e.clone()
                };
                if v < 1 {
                    diags.push(Diagnostic::error(
                        &inv.path,
                        e.pos,
                        format!("components.kafka.config.{key}"),
                        format!("`{key}` must be at least 1, got {v}"),
                    ));
                } else if v > n {
                    diags.push(
                        Diagnostic::error(
                            &inv.path,
                            e.pos,
                            format!("components.kafka.config.{key}"),
                            format!(
                                "`{key}` is {v} but the cluster has {n} broker{}",
                                if n == 1 { "" } else { "s" }
                            ),
                        )
                        .with_help(format!("use at most {n}, or add brokers")),
                    );
                }
            }
        }
        for (rf_key, isr_key) in [
            ("default.replication.factor", "min.insync.replicas"),
            (
                "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr",
            ),
        ] {
            if let (Some(min), Some(rf)) = (values.get(isr_key), values.get(rf_key)) {
                if min > rf {
                    // Blame whichever of the two the operator wrote.
                    let e = if props.is_override(isr_key) {
                        props.entry(isr_key)
                    } else {
                        props.entry(rf_key)
                    }
                    .expect("present");
                    diags.push(
                        Diagnostic::error(&inv.path, props.pos_or(&e.key, spec.pos), format!("components.kafka.config.{}", e.key), format!("{isr_key} ({min}) is above {rf_key} ({rf}): producers with acks=all could never write"))
                            .with_help(format!("keep {isr_key} at most {rf_key}")),
                    );
                }
            }
        }
        if props.is_override("listeners") && !props.is_override("advertised.listeners") {
            let e = props.entry("listeners").expect("present");
            diags.push(
                Diagnostic::warning(&inv.path, e.pos, "components.kafka.config.listeners", "`listeners` is overridden but `advertised.listeners` is not: clients will be told each broker's address on port {port}".replace("{port}", &Self::port(spec).to_string()))
                    .with_help("override `advertised.listeners` too, or use `port:` under components.kafka"),
            );
        }
        if let Some(p) = props.get("num.partitions") {
            if p.trim().parse::<u32>().map(|p| p == 0).unwrap_or(true) {
                let e = props.entry("num.partitions").expect("present");
                diags.push(Diagnostic::error(
                    &inv.path,
                    e.pos,
                    "components.kafka.config.num.partitions",
                    format!("`num.partitions` must be a positive number, got `{p}`"),
                ));
            }
        }
    }

    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let mut out = Vec::new();
        // The process that owns each port: a combined node's is the controller role's.
        for p in Self::processes(inv, host) {
            if p.is_controller() {
                out.push(PortUse {
                    port: Self::controller_port(spec),
                    role: p.role(),
                    what: "controller listener".into(),
                    pos: if spec.scalar("controller_port").is_some() {
                        spec.pos_of("controller_port")
                    } else {
                        host.role_pos(CONTROLLER)
                    },
                    configured: spec.scalar("controller_port").is_some(),
                });
            }
        }
        if !host.has_role(ROLE) {
            return out;
        }
        let broker_role = Self::process_for_role(inv, host, CONTROLLER)
            .filter(|p| *p == Process::Combined)
            .map_or(ROLE, |p| p.role());
        let props = Self::props_with(inv, spec, host, None, "");
        let role_pos = host.role_pos(ROLE);
        let (port, pos) = match props.get("listeners") {
            Some(l) => (
                l.split(',')
                    .next()
                    .and_then(port_of)
                    .unwrap_or(DEFAULT_PORT),
                props.pos_or("listeners", spec.pos_of("port")),
            ),
            None => (
                props.get("port").and_then(port_of).unwrap_or(DEFAULT_PORT),
                props.pos_or("port", role_pos),
            ),
        };
        let configured = props.is_override("listeners")
            || props.is_override("port")
            || spec.scalar("port").is_some();
        let pos = if configured && pos.is_known() {
            pos
        } else {
            role_pos
        };
        out.push(PortUse {
            port,
            role: broker_role,
            what: "listener".into(),
            pos,
            configured,
        });
        out
    }

    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if Self::mode(spec) == Mode::KRaft {
            return Self::kraft_files(cl, spec, host);
        }
        if !host.has_role(ROLE) {
            return vec![];
        }
        let connect = cl.shared("kafka/zookeeper.connect", || {
            json!(Self::zookeeper_connect(cl.inv, spec))
        });
        let props = Self::props_with(
            cl.inv,
            spec,
            host,
            cl.id("broker_id", host),
            connect.as_str().unwrap_or_default(),
        );
        let ctx = base_context(
            cl,
            host,
            NAME,
            json!({ "props": props, "scala": Self::scala(spec) }),
        );
        vec![FileSpec {
            path: format!("{}/server.properties", conf_dir(host, NAME)),
            template: "kafka/server.properties",
            mode: 0o644,
            context: ctx,
            shared: false,
            component: NAME,
        }]
    }

    fn services(&self, cl: &Cluster, host: &Host) -> Vec<Service> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if Self::mode(spec) == Mode::KRaft {
            return Self::processes(cl.inv, host)
                .into_iter()
                .map(|p| Self::kraft_service(cl, spec, host, p))
                .collect();
        }
        if !host.has_role(ROLE) {
            return vec![];
        }
        let home = home_dir(host, self, spec);
        let conf = conf_dir(host, NAME);
        let (user, group) = super::core::account(spec, "kafka");
        let mut owned_dirs = self.data_dirs(cl, host);
        owned_dirs.push(format!("{}/kafka", host.log_dir));
        let mut jvm = heap_opts(spec, "1g");
        jvm.push(format!(
            "-Dlog4j.configuration=file:{conf}/log4j.properties"
        ));
        jvm.push(format!("-Dkafka.logs.dir={}/kafka", host.log_dir));
        vec![Service {
            role: ROLE,
            service: "Kafka broker",
            main_class: "kafka.Kafka",
            classpath: vec![format!("{home}/libs/*")],
            args: vec![format!("{conf}/server.properties")],
            jvm_opts: jvm,
            // A controlled shutdown moves every partition leadership off the broker first
            // (retried up to controlled.shutdown.max.retries times); a kill skips that and
            // makes the next start recover its logs.
            stop_timeout: super::core::stop_timeout(spec, 120),
            env: vec![],
            work_dir: home,
            config_files: vec![format!("{conf}/server.properties")],
            init: None,
            user: Some(user),
            group: Some(group),
            owned_dirs,
        }]
    }

    fn detect(&self, listing: &Listing) -> Option<Detected> {
        // libs/kafka_<scala>-<version>.jar is the broker; kafka-clients etc. are not.
        let top = listing.top_dir();
        let mut det = Detected {
            top_dir: top.clone(),
            ..Default::default()
        };
        for f in &listing.files {
            let Some(name) = f
                .strip_prefix(top.as_deref().unwrap_or(""))
                .map(|r| r.trim_start_matches('/'))
                .and_then(|r| r.strip_prefix("libs/"))
            else {
                continue;
            };
            let Some(rest) = name.strip_prefix("kafka_") else {
                continue;
            };
            let Some((scala, _)) = rest.split_once('-') else {
                continue;
            };
            if let Some(v) = crate::compat::detect::jar_version(name, &format!("kafka_{scala}")) {
                det.version = Some(v);
                det.scala = Some(scala.to_string());
                det.evidence.push(f.clone());
                break;
            }
        }
        det.version.as_ref()?;
        if let Some((v, f)) = listing.jar_versions("libs", "zookeeper").into_iter().next() {
            det.bundles.insert("zookeeper-client".into(), v);
            det.evidence.push(f);
        }
        Some(det)
    }

    fn release_checks(
        &self,
        spec: &ComponentSpec,
        r: &Release,
        cv: &ComponentVersions,
    ) -> Vec<Verdict> {
        let mut out = Vec::new();
        let scala = Self::scala(spec);
        if !r.scala.is_empty() && !r.scala.contains(&scala) {
            let mut v = compat::release_verdict(
                cv,
                r,
                Level::Error,
                format!(
                    "Kafka {} has no Scala {scala} build; builds: {}",
                    cv.version,
                    r.scala.join(", ")
                ),
            );
            v.other = "scala".into();
            v.other_version = scala;
            out.push(v);
        }
        if r.zookeeper_mode == Some(false) && Self::mode(spec) == Mode::ZooKeeper {
            out.push(compat::release_verdict(
                cv,
                r,
                Level::Error,
                format!(
                    "Kafka {} has no ZooKeeper mode (KRaft only): set `mode: kraft`",
                    cv.version
                ),
            ));
        }
        out
    }

    fn check_archive(
        &self,
        inv: &Inventory,
        spec: &ComponentSpec,
        det: &Detected,
        pos: Pos,
        field: &str,
        diags: &mut Vec<Diagnostic>,
    ) {
        let declared = Self::scala(spec);
        if let Some(s) = &det.scala {
            if *s != declared {
                let at = if spec.scalar("scala").is_some() {
                    spec.pos_of("scala")
                } else {
                    pos
                };
                diags.push(
                    Diagnostic::error(&inv.path, at, field, format!("scala {declared} disagrees with the archive, which is built for Scala {s}"))
                        .with_help(format!("set `scala: \"{s}\"`")),
                );
            }
        }
    }

    fn identity_files(&self, cl: &Cluster, host: &Host) -> Vec<IdentityFile> {
        if Self::kraft(cl.inv) {
            return Self::kraft_identity_files(cl, host);
        }
        let (Some(spec), Some(id)) = (cl.inv.component(NAME), cl.id("broker_id", host)) else {
            return vec![];
        };
        if !host.has_role(ROLE) {
            return vec![];
        }
        Self::log_dirs(cl.inv, spec, host)
            .into_iter()
            .map(|d| IdentityFile {
                path: format!("{d}/meta.properties"),
                want: id.to_string(),
                read: |text| properties(text).get("broker.id").cloned(),
            })
            .collect()
    }

    fn data_dirs(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        if Self::mode(spec) == Mode::ZooKeeper {
            return Self::log_dirs(cl.inv, spec, host);
        }
        Self::processes(cl.inv, host)
            .into_iter()
            .flat_map(|p| Self::process_dirs(cl.inv, spec, host, p))
            .collect()
    }

    fn fact_reads(&self, cl: &Cluster, host: &Host) -> Vec<String> {
        if Self::kraft(cl.inv) {
            return Self::kraft_fact_reads(cl.inv, host);
        }
        vec![]
    }

    fn preflight(
        &self,
        cl: &Cluster,
        hosts: &[(&Host, &crate::remote::facts::HostFacts)],
    ) -> Vec<String> {
        if Self::kraft(cl.inv) {
            return Self::kraft_preflight(cl, hosts);
        }
        vec![]
    }

    fn needs_id(&self, inv: &Inventory, role: &str, host: &Host) -> bool {
        // A combined node is one process, named by its broker id.
        !(role == CONTROLLER
            && Self::process_for_role(inv, host, CONTROLLER) == Some(Process::Combined))
    }

    fn wants_cluster_id(&self, inv: &Inventory) -> bool {
        Self::kraft(inv)
    }

    fn logging(&self, spec: &ComponentSpec) -> super::core::Logging {
        // 4.0 moved from reload4j to log4j 2 (KIP-653; libs/log4j-core-2.*.jar): a
        // log4j.properties is then ignored.
        if spec.version.at_least("4.0") {
            super::core::Logging::Log4j2
        } else {
            super::core::Logging::Log4j1
        }
    }

    /// Kafka's documentation (Operations, "Hardware and OS", file descriptor limits): "We
    /// recommend at least 100000 allowed file descriptors for the broker processes as a
    /// starting point" (every log segment and every connection holds one).
    fn open_files(&self) -> Option<super::core::OpenFilesNeed> {
        Some(super::core::OpenFilesNeed {
            recommended: 100_000,
            source: "Kafka's operations guide recommends at least 100000 for a broker",
        })
    }

    fn supervision(&self, _role: &str) -> Supervision {
        Supervision {
            // Two files per log segment (and an index each), on every partition replica, plus
            // one socket per client: Kafka's own documentation says at least 100000.
            max_open_files: 100_000,
            max_processes: 32768,
            ..Supervision::default()
        }
    }

    fn restart(&self, _role: &str) -> Restart {
        Restart::Rolling
    }

    fn dist_archive(&self, spec: &ComponentSpec) -> Option<DistArchive> {
        Some(DistArchive {
            paths: vec![format!(
                "kafka/{}/{}.tgz",
                spec.version,
                self.dist_dir(spec)
            )],
            keys: "kafka/KEYS".into(),
        })
    }

    fn dist_dir(&self, spec: &ComponentSpec) -> String {
        format!("kafka_{}-{}", Self::scala(spec), spec.version)
    }

    fn compat_links(&self, inv: &Inventory) -> &'static [Link] {
        // A KRaft broker uses no ZooKeeper, whatever jar its libs/ ships.
        if Self::kraft(inv) {
            return &[];
        }
        // What limits Kafka against a ZooKeeper server is the client jar it ships (KIP-902).
        &[
            Link {
                from: "zookeeper-client",
                to: zookeeper::NAME,
                relation: "client_to_server",
                must_equal: None,
                report_unknown: true,
            },
            // Rules on Kafka itself against the server (4.0+ has no ZooKeeper mode at all).
            Link {
                from: "self",
                to: zookeeper::NAME,
                relation: "runs_with",
                must_equal: None,
                report_unknown: false,
            },
        ]
    }
}
