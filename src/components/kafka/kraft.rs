//! Kafka without ZooKeeper (KRaft): the mode rules, the controller role, node ids, the
//! controller quorum and the properties of brokers, controllers and combined nodes. Pure: the
//! probes and gates are in `live.rs`.
//!
//! Sources: Kafka 3.9 documentation, Operations › KRaft (Configuration, Provisioning Nodes:
//! "If a majority of the controllers were able to start with an empty log directory, a leader
//! might be able to be elected with missing committed data", hence the explicit, once-only
//! format with the lock file's cluster id); KIP-833 (KRaft production-ready in 3.3, ZooKeeper
//! mode removed in 4.0); Kafka 4.0 upgrade notes ("only supports KRaft mode").

use super::*;

pub const CONTROLLER: &str = "kafka-controller";
pub const DEFAULT_CONTROLLER_PORT: u16 = 9093;
/// The first release where KRaft is production-ready (KIP-833, Kafka 3.3.1 release notes).
pub const KRAFT_FROM: &str = "3.3";
/// The first release without ZooKeeper mode.
pub const KRAFT_ONLY_FROM: &str = "4.0";
/// Controller node ids live apart from broker ids (cp-ansible numbers controllers 9991 up):
/// a ZooKeeper-to-KRaft migration requires controller ids that no broker.id uses.
pub const CONTROLLER_ID_MIN: u64 = 9001;
pub const CONTROLLER_ID_MAX: u64 = 9999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ZooKeeper,
    KRaft,
}

/// What one Kafka process on a host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// A ZooKeeper-mode broker, or a KRaft broker on its own.
    Broker,
    /// A dedicated KRaft controller.
    Controller,
    /// One process that is both (`process.roles=broker,controller`).
    Combined,
}

impl Process {
    /// The role whose launcher starts it: a combined node starts with the controllers.
    pub fn role(self) -> &'static str {
        match self {
            Process::Broker => ROLE,
            Process::Controller | Process::Combined => CONTROLLER,
        }
    }
    pub fn conf_file(self) -> &'static str {
        match self {
            Process::Controller => "controller.properties",
            _ => "server.properties",
        }
    }
    pub fn is_broker(self) -> bool {
        self != Process::Controller
    }
    pub fn is_controller(self) -> bool {
        self != Process::Broker
    }
}

impl Kafka {
    /// `mode:` as written: `Err` for a word that is neither.
    pub fn mode_written(spec: &ComponentSpec) -> Option<Result<Mode, String>> {
        spec.scalar("mode").map(|m| match m.trim() {
            "kraft" => Ok(Mode::KRaft),
            "zookeeper" => Ok(Mode::ZooKeeper),
            other => Err(other.to_string()),
        })
    }

    /// The mode in effect: as written, else KRaft from 4.0 and ZooKeeper before (validation
    /// requires an explicit choice between 3.3 and 4.0).
    pub fn mode(spec: &ComponentSpec) -> Mode {
        match Self::mode_written(spec) {
            Some(Ok(m)) => m,
            _ if spec.version.at_least(KRAFT_ONLY_FROM) => Mode::KRaft,
            _ => Mode::ZooKeeper,
        }
    }

    pub fn kraft(inv: &Inventory) -> bool {
        inv.component(NAME)
            .is_some_and(|s| Self::mode(s) == Mode::KRaft)
    }

    /// `combined: true`: a host with both `kafka` and `kafka-controller` runs one process.
    pub fn combined(spec: &ComponentSpec) -> bool {
        spec.scalar("combined").map(str::trim) == Some("true")
    }

    /// The Kafka processes `host` runs, in start order.
    pub fn processes(inv: &Inventory, host: &Host) -> Vec<Process> {
        let Some(spec) = inv.component(NAME) else {
            return vec![];
        };
        let broker = host.has_role(ROLE);
        if Self::mode(spec) == Mode::ZooKeeper {
            return if broker {
                vec![Process::Broker]
            } else {
                vec![]
            };
        }
        let controller = host.has_role(CONTROLLER);
        match (controller, broker) {
            (true, true) if Self::combined(spec) => vec![Process::Combined],
            (true, true) => vec![Process::Controller, Process::Broker],
            (true, false) => vec![Process::Controller],
            (false, true) => vec![Process::Broker],
            (false, false) => vec![],
        }
    }

    pub fn process_for_role(inv: &Inventory, host: &Host, role: &str) -> Option<Process> {
        Self::processes(inv, host)
            .into_iter()
            .find(|p| p.role() == role)
    }

    pub fn controller_port(spec: &ComponentSpec) -> u16 {
        spec.scalar("controller_port")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(DEFAULT_CONTROLLER_PORT)
    }

    /// The node.id of `process` on `host`: a broker's (and a combined node's) is its broker id,
    /// a dedicated controller's its controller id.
    pub fn node_id(cl: &Cluster, host: &Host, process: Process) -> Option<u64> {
        match process {
            Process::Controller => cl.id("controller_id", host),
            _ => cl.id("broker_id", host),
        }
    }

    /// The node.id `host` votes with: its controller id, or a combined node's broker id.
    pub fn controller_node_id(cl: &Cluster, host: &Host) -> Option<u64> {
        let p = Self::process_for_role(cl.inv, host, CONTROLLER).unwrap_or(Process::Controller);
        Self::node_id(cl, host, p)
    }

    /// The hosts that vote in the metadata quorum, in inventory order.
    pub fn controller_hosts(inv: &Inventory) -> Vec<&Host> {
        inv.hosts_with_role(CONTROLLER).collect()
    }

    /// `controller.quorum.voters`: `id@address:port` of every controller.
    pub fn voters(cl: &Cluster, spec: &ComponentSpec) -> String {
        let port = Self::controller_port(spec);
        Self::controller_hosts(cl.inv)
            .into_iter()
            .map(|h| {
                let id = Self::controller_node_id(cl, h)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "-1".into());
                format!("{id}@{}:{port}", h.address)
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A dedicated controller's log directory (its metadata log).
    pub fn controller_dir(host: &Host) -> String {
        format!("{}/kafka-controller", host.data_dir)
    }

    /// The directories `process` formats: the metadata log directory first.
    pub fn process_dirs(
        inv: &Inventory,
        spec: &ComponentSpec,
        host: &Host,
        p: Process,
    ) -> Vec<String> {
        match p {
            Process::Controller => vec![Self::controller_dir(host)],
            _ => Self::log_dirs(inv, spec, host),
        }
    }

    /// The KRaft part of a broker's or combined node's properties, set before the operator's
    /// `config:` (whose stackctl-owned keys validation refuses).
    pub fn kraft_broker_props(
        p: &mut Props,
        spec: &ComponentSpec,
        host: &Host,
        node_id: Option<u64>,
        voters: &str,
        combined: bool,
    ) {
        let port = Self::port(spec);
        let cport = Self::controller_port(spec);
        let id = node_id
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-1".into());
        p.set(
            "process.roles",
            if combined {
                "broker,controller"
            } else {
                "broker"
            },
        )
        .set("node.id", id)
        .set("controller.quorum.voters", voters)
        .set("controller.listener.names", "CONTROLLER");
        if combined {
            p.set(
                "listeners",
                format!(
                    "PLAINTEXT://{}:{port},CONTROLLER://{}:{cport}",
                    host.address, host.address
                ),
            );
        } else {
            p.set("listeners", format!("PLAINTEXT://{}:{port}", host.address));
        }
        p.set(
            "advertised.listeners",
            format!("PLAINTEXT://{}:{port}", host.address),
        )
        .set(
            "listener.security.protocol.map",
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        )
        .set("inter.broker.listener.name", "PLAINTEXT");
    }

    /// A dedicated controller's properties: `controller_config:` merged last.
    pub fn controller_props(
        spec: &ComponentSpec,
        host: &Host,
        node_id: Option<u64>,
        voters: &str,
    ) -> Props {
        let cport = Self::controller_port(spec);
        let dir = Self::controller_dir(host);
        let mut p = Props::default();
        p.set("process.roles", "controller")
            .set(
                "node.id",
                node_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "-1".into()),
            )
            .set("controller.quorum.voters", voters)
            .set("controller.listener.names", "CONTROLLER")
            .set(
                "listeners",
                format!("CONTROLLER://{}:{cport}", host.address),
            )
            .set("listener.security.protocol.map", "CONTROLLER:PLAINTEXT")
            .set("log.dirs", &dir)
            .set("metadata.log.dir", &dir);
        p.merge(spec.map("controller_config"));
        p
    }

    /// Keys stackctl owns in KRaft mode: an operator's value would break the quorum or the
    /// identity kept in the lock file.
    pub const KRAFT_OWNED: &'static [&'static str] = &[
        "node.id",
        "process.roles",
        "controller.quorum.voters",
        "controller.quorum.bootstrap.servers",
        "controller.listener.names",
    ];

    /// The mode, role and controller rules of KRaft (and of `mode:` itself).
    pub fn validate_mode(inv: &Inventory, spec: &ComponentSpec, diags: &mut Diagnostics) {
        let v = &spec.version;
        let at = spec.pos_of("mode");
        match Self::mode_written(spec) {
            Some(Err(w)) => diags.push(
                Diagnostic::error(&inv.path, at, "components.kafka.mode", format!("`{}` is not a Kafka mode", w.escape_debug()))
                    .with_help("use `kraft` (no ZooKeeper) or `zookeeper`"),
            ),
            Some(Ok(Mode::ZooKeeper)) if v.at_least(KRAFT_ONLY_FROM) => diags.push(
                Diagnostic::error(&inv.path, at, "components.kafka.mode", format!("Kafka {v} has no ZooKeeper mode: 4.0 removed it (KIP-833)"))
                    .with_help("use `mode: kraft` with `kafka-controller` hosts, or Kafka 3.9 for ZooKeeper mode"),
            ),
            Some(Ok(Mode::KRaft)) if !v.at_least(KRAFT_FROM) => diags.push(
                Diagnostic::error(&inv.path, at, "components.kafka.mode", format!("Kafka {v} has KRaft only as early access: it is production-ready from 3.3 (KIP-833)"))
                    .with_help("use `mode: zookeeper`, or Kafka 3.3 or later for KRaft"),
            ),
            None if v.at_least(KRAFT_FROM) && !v.at_least(KRAFT_ONLY_FROM) => diags.push(
                Diagnostic::error(&inv.path, spec.pos, "components.kafka.mode", format!("Kafka {v} runs with ZooKeeper or without it (KRaft): choose one with `mode:`"))
                    .with_help("`mode: kraft` for a new cluster (Kafka 4.0 has no ZooKeeper mode; moving an existing cluster later is a migration), `mode: zookeeper` for an existing ZooKeeper-mode cluster"),
            ),
            _ => {}
        }
        if let Some(c) = spec.scalar("combined") {
            if !matches!(c.trim(), "true" | "false") {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("combined"),
                    "components.kafka.combined",
                    format!("`{}` is not true or false", c.escape_debug()),
                ));
            }
        }
        if let Some(p) = spec.scalar("controller_port") {
            if p.trim().parse::<u16>().map(|p| p == 0).unwrap_or(true) {
                diags.push(Diagnostic::error(
                    &inv.path,
                    spec.pos_of("controller_port"),
                    "components.kafka.controller_port",
                    format!("`{p}` is not a TCP port (1-65535)"),
                ));
            }
        }
        let controllers = Self::controller_hosts(inv);
        let brokers: Vec<&Host> = inv.hosts_with_role(ROLE).collect();
        if Self::mode(spec) == Mode::ZooKeeper {
            for h in &controllers {
                diags.push(
                    Diagnostic::error(&inv.path, h.role_pos(CONTROLLER), format!("hosts[{}].roles", h.index), "role `kafka-controller` is for Kafka without ZooKeeper, but components.kafka runs in ZooKeeper mode")
                        .with_help("set `mode: kraft` under components.kafka (Kafka 3.3 or later), or remove the role"),
                );
            }
            for key in [
                "combined",
                "controller_port",
                "controller_config",
                "controller_heap",
            ] {
                if spec.settings.contains_key(key) {
                    diags.push(Diagnostic::warning(
                        &inv.path,
                        spec.pos_of(key),
                        format!("components.kafka.{key}"),
                        format!(
                            "`{key}` applies to KRaft mode only and is ignored in ZooKeeper mode"
                        ),
                    ));
                }
            }
            return;
        }
        if controllers.is_empty() {
            let at = brokers.first().map_or(spec.pos, |h| h.role_pos(ROLE));
            let field = brokers.first().map_or("components.kafka".to_string(), |h| {
                format!("hosts[{}].roles", h.index)
            });
            diags.push(
                Diagnostic::error(&inv.path, at, field, "Kafka in KRaft mode needs controllers, but no host has role `kafka-controller`")
                    .with_help("add `kafka-controller` to the roles of one or three hosts (with `combined: true`, a host with both roles runs one process)"),
            );
        } else if brokers.is_empty() {
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    controllers[0].role_pos(CONTROLLER),
                    format!("hosts[{}].roles", controllers[0].index),
                    "the KRaft controllers have no brokers: no host has role `kafka`",
                )
                .with_help("add `kafka` to the roles of the hosts that should store data"),
            );
        }
        let n = controllers.len();
        if n > 0 && n.is_multiple_of(2) {
            let f = ZooKeeper::tolerated_failures(n);
            let last = controllers[n - 1];
            diags.push(
                Diagnostic::warning(&inv.path, last.role_pos(CONTROLLER), format!("hosts[{}].roles", last.index), format!("{n} KRaft controllers tolerate {f} failure{}, the same as {}; the extra controller adds load, not safety", if f == 1 { "" } else { "s" }, n - 1))
                    .with_help(format!("use an odd number of controllers ({} or {})", n - 1, n + 1)),
            );
        }
        if Self::combined(spec) {
            if let Some(h) = controllers.iter().find(|h| h.has_role(ROLE)) {
                diags.push(
                    Diagnostic::warning(&inv.path, spec.pos_of("combined"), "components.kafka.combined", format!("combined nodes ({} and others with both roles) run broker and controller in one JVM: Kafka's documentation does not recommend this for critical deployments, as a busy broker can delay the quorum", h.name))
                        .with_help("fine for small or test clusters; use dedicated controllers for production"),
                );
            }
        }
        let sections = ["config", "controller_config"];
        for (section, prop) in sections
            .iter()
            .flat_map(|sec| spec.map(sec).iter().map(move |p| (*sec, p)))
        {
            let owned = Self::KRAFT_OWNED.contains(&prop.key.as_str());
            let zk = prop.key.starts_with("zookeeper.");
            if owned || zk {
                let (msg, help) = if zk {
                    (format!("`{}` is a ZooKeeper-mode setting; in KRaft mode Kafka uses no ZooKeeper", prop.key), "remove it".to_string())
                } else {
                    (format!("`{}` is set by stackctl in KRaft mode", prop.key), "node ids come from the lock file (pin one with `broker_id:`/`controller_id:` on the host); the quorum from the `kafka-controller` hosts".to_string())
                };
                diags.push(
                    Diagnostic::error(
                        &inv.path,
                        prop.pos,
                        format!("components.kafka.{section}.{}", prop.key),
                        msg,
                    )
                    .with_help(help),
                );
            }
        }
    }
}

impl Kafka {
    /// The configuration file of each KRaft process on `host`.
    pub fn kraft_files(cl: &Cluster, spec: &ComponentSpec, host: &Host) -> Vec<FileSpec> {
        let voters = cl.shared("kafka/controller.quorum.voters", || {
            json!(Self::voters(cl, spec))
        });
        let voters = voters.as_str().unwrap_or_default();
        Self::processes(cl.inv, host)
            .into_iter()
            .map(|p| {
                let props = Self::kraft_props(cl, spec, host, p, voters);
                let ctx = base_context(
                    cl,
                    host,
                    NAME,
                    json!({ "props": props, "scala": Self::scala(spec), "file": p.conf_file() }),
                );
                FileSpec {
                    path: format!("{}/{}", conf_dir(host, NAME), p.conf_file()),
                    template: "kafka/server.properties",
                    mode: 0o644,
                    context: ctx,
                    shared: false,
                    component: NAME,
                }
            })
            .collect()
    }

    /// The properties of one KRaft process.
    pub fn kraft_props(
        cl: &Cluster,
        spec: &ComponentSpec,
        host: &Host,
        p: Process,
        voters: &str,
    ) -> Props {
        let id = Self::node_id(cl, host, p);
        match p {
            Process::Controller => Self::controller_props(spec, host, id, voters),
            _ => Self::props_in_mode(
                cl.inv,
                spec,
                host,
                id,
                "",
                Some((voters, p == Process::Combined)),
            ),
        }
    }

    /// The service of one KRaft process: formatted once (the storage tool, with the lock
    /// file's cluster id) before its first start.
    pub fn kraft_service(cl: &Cluster, spec: &ComponentSpec, host: &Host, p: Process) -> Service {
        let home = home_dir(host, &Kafka, spec);
        let conf = conf_dir(host, NAME);
        let (user, group) = super::super::core::account(spec, "kafka");
        let dirs = Self::process_dirs(cl.inv, spec, host, p);
        let mut owned_dirs = dirs.clone();
        owned_dirs.push(format!("{}/kafka", host.log_dir));
        let heap_key = if p == Process::Controller && spec.scalar("controller_heap").is_some() {
            "controller_heap"
        } else {
            "heap"
        };
        let mut jvm = super::super::core::heap_opts_from(spec, heap_key, "1g");
        jvm.push(format!("-Dkafka.logs.dir={}/kafka", host.log_dir));
        let file = format!("{conf}/{}", p.conf_file());
        let cluster_id = cl.cluster_id(NAME).unwrap_or("-").to_string();
        Service {
            role: p.role(),
            service: match p {
                Process::Broker => "Kafka broker",
                Process::Controller => "Kafka controller",
                Process::Combined => "Kafka broker and controller",
            },
            main_class: "kafka.Kafka",
            classpath: vec![format!("{home}/libs/*")],
            args: vec![file.clone()],
            jvm_opts: jvm,
            stop_timeout: super::super::core::stop_timeout(spec, 120),
            env: vec![],
            work_dir: home,
            config_files: vec![file.clone()],
            // `kafka-storage.sh format` is this class. It writes meta.properties into every
            // directory of the file (log.dirs and metadata.log.dir); --ignore-formatted makes a
            // format cut short (kill -9) finish the rest on the next run, while preflight has
            // refused any directory formatted with another cluster id or node id.
            init: Some(super::super::core::Init {
                markers: dirs
                    .iter()
                    .map(|d| format!("{d}/meta.properties"))
                    .collect(),
                main_class: Some("kafka.tools.StorageTool"),
                args: vec![
                    "format".into(),
                    "--cluster-id".into(),
                    cluster_id,
                    "--config".into(),
                    file,
                    "--ignore-formatted".into(),
                ],
            }),
            user: Some(user),
            group: Some(group),
            owned_dirs,
        }
    }

    /// Each formatted directory's `meta.properties` must carry this node's id and the lock
    /// file's cluster id: preflight refuses a directory formatted for another node or cluster.
    pub fn kraft_identity_files(cl: &Cluster, host: &Host) -> Vec<IdentityFile> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let cluster = cl.cluster_id(NAME).unwrap_or("-");
        let mut out = Vec::new();
        for p in Self::processes(cl.inv, host) {
            let Some(id) = Self::node_id(cl, host, p) else {
                continue;
            };
            for d in Self::process_dirs(cl.inv, spec, host, p) {
                out.push(IdentityFile {
                    path: format!("{d}/meta.properties"),
                    want: Self::identity_text(&id.to_string(), cluster),
                    read: |text| {
                        let m = properties(text);
                        Some(Self::identity_text(
                            m.get("node.id").map_or("none", |s| s.as_str()),
                            m.get("cluster.id").map_or("none", |s| s.as_str()),
                        ))
                    },
                });
            }
        }
        out
    }

    pub fn identity_text(node_id: &str, cluster_id: &str) -> String {
        format!("node.id {node_id} of cluster {cluster_id}")
    }
}

impl Kafka {
    /// The files preflight reads on a KRaft host: each process's configuration as it is now.
    pub fn kraft_fact_reads(inv: &Inventory, host: &Host) -> Vec<String> {
        Self::processes(inv, host)
            .into_iter()
            .map(|p| format!("{}/{}", conf_dir(host, NAME), p.conf_file()))
            .collect()
    }

    /// A static quorum (`controller.quorum.voters`) cannot change its voters by configuration:
    /// a formatted node whose running file names other voters than the plan would join another
    /// quorum, and a new empty voter could help elect a leader without the committed metadata.
    /// Refused until membership changes are built (dynamic quorum, KIP-853).
    pub fn kraft_preflight(
        cl: &Cluster,
        hosts: &[(&Host, &crate::remote::facts::HostFacts)],
    ) -> Vec<String> {
        let Some(spec) = cl.inv.component(NAME) else {
            return vec![];
        };
        let want = Self::voters(cl, spec);
        let mut out = Vec::new();
        for (h, facts) in hosts {
            for p in Self::processes(cl.inv, h) {
                let path = format!("{}/{}", conf_dir(h, NAME), p.conf_file());
                let dirs = Self::process_dirs(cl.inv, spec, h, p);
                let formatted = dirs
                    .iter()
                    .any(|d| facts.contents.contains_key(&format!("{d}/meta.properties")));
                let Some(have) = facts
                    .contents
                    .get(&path)
                    .and_then(|t| properties(t).get("controller.quorum.voters").cloned())
                else {
                    continue;
                };
                if formatted && have.trim() != want {
                    out.push(format!(
                        "{}: {path} has controller.quorum.voters={have}, the inventory now gives {want}: a static KRaft quorum cannot change its voters (adding, removing or moving controllers, or switching `combined`) by configuration; restore the controllers in the inventory",
                        h.name
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_roles_follow_the_words() {
        assert_eq!(Process::Combined.role(), CONTROLLER);
        assert_eq!(Process::Broker.role(), ROLE);
        assert!(Process::Combined.is_broker() && Process::Combined.is_controller());
        assert!(!Process::Controller.is_broker());
        assert_eq!(Process::Controller.conf_file(), "controller.properties");
    }
}
