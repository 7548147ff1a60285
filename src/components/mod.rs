//! What stackctl knows about each product, one module per component.
//!
//! A component declares its roles (with start order and health gate), the settings its
//! `components.<name>` section accepts, the files it renders per host, the ports it listens on,
//! its own validation rules and how to recognise its version in a distribution. Adding a
//! component means adding a module here, registering it in `all()`, and adding its templates.

pub mod hadoop;
pub mod hbase;
pub mod kafka;
pub mod zookeeper;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::compat::detect::{Detected, Listing};
pub use crate::compat::Link;
use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::inventory::{ComponentSpec, Host, Inventory, Prop};

/// A role a host can have (`namenode`, `kafka`, ...).
#[derive(Debug)]
pub struct RoleDef {
    pub name: &'static str,
    pub component: &'static str,
    /// What an operator calls it: "HDFS NameNode".
    pub service: &'static str,
    /// Column header in `plan`'s hosts x roles table.
    pub short: &'static str,
    pub max_per_cluster: Option<usize>,
    pub why_single: Option<&'static str>,
    /// Roles that must be healthy before this one starts. Absent roles are skipped over.
    pub after: &'static [&'static str],
    /// What "healthy" means for this stage, as shown by `plan`.
    pub gate: &'static str,
    /// The stable id this role needs (ZooKeeper myid, Kafka broker.id), if any.
    pub id: Option<IdDef>,
}

/// A stable identity: pinned on the host by `field`, else assigned once and kept in the lock file.
#[derive(Debug)]
pub struct IdDef {
    pub field: &'static str,
    /// What the service calls it, for messages: `myid`, `broker.id`.
    pub what: &'static str,
    pub min: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettingKind {
    Scalar,
    Map,
}

/// A key accepted under `components.<name>` besides `version` and `archive`.
#[derive(Debug)]
pub struct SettingDef {
    pub key: &'static str,
    pub kind: SettingKind,
    pub help: &'static str,
}

/// Stable ids by identity field, then host name: `ids["broker_id"]["node1"] == 1`.
pub type Ids = BTreeMap<String, BTreeMap<String, u64>>;

/// Everything a component needs to render a host's files.
pub struct Cluster<'a> {
    pub inv: &'a Inventory,
    pub ids: &'a Ids,
    /// Contexts of shared files, computed once per plan (a worker list on 1,000 hosts would
    /// otherwise be rebuilt 1,000 times).
    memo: std::cell::RefCell<HashMap<&'static str, std::sync::Arc<serde_json::Value>>>,
}

impl<'a> Cluster<'a> {
    pub fn new(inv: &'a Inventory, ids: &'a Ids) -> Self {
        Cluster {
            inv,
            ids,
            memo: Default::default(),
        }
    }
    /// The context of a file that is the same on every host, built on first use.
    pub fn shared(
        &self,
        key: &'static str,
        build: impl FnOnce() -> serde_json::Value,
    ) -> std::sync::Arc<serde_json::Value> {
        self.memo
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| std::sync::Arc::new(build()))
            .clone()
    }
    pub fn id(&self, field: &str, host: &Host) -> Option<u64> {
        self.ids.get(field).and_then(|m| m.get(&host.name)).copied()
    }
}

/// A file to render onto a host.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Absolute path on the host.
    pub path: String,
    /// Template name under `templates/`, e.g. `zookeeper/zoo.cfg`.
    pub template: &'static str,
    pub mode: u32,
    pub context: std::sync::Arc<serde_json::Value>,
    /// True when the content is the same on every host that gets it, so it is rendered once.
    pub shared: bool,
    /// The component that owns the file.
    pub component: &'static str,
}

/// A JVM that a launcher starts: what `up` runs and `down` stops.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub role: &'static str,
    pub service: &'static str,
    pub main_class: &'static str,
    pub classpath: Vec<String>,
    pub args: Vec<String>,
    pub jvm_opts: Vec<String>,
    pub env: Vec<(String, String)>,
    pub work_dir: String,
    /// Files (absolute paths) whose change means this service must restart.
    pub config_files: Vec<String>,
    /// A one-time initialisation (`launcher init`), run only while `marker` does not exist:
    /// the NameNode's format. The marker is what makes it "exactly once".
    pub init: Option<(String, Vec<String>)>,
}

impl Service {
    pub fn launcher(host: &Host, role: &str) -> String {
        format!("{}/etc/launch/{role}.sh", host.install_dir)
    }
    pub fn pid_file(host: &Host, role: &str) -> String {
        format!("{}/run/{role}.pid", host.data_dir)
    }
    pub fn log_file(host: &Host, component: &str, role: &str) -> String {
        format!("{}/{component}/{role}.log", host.log_dir)
    }
}

/// The heap for a role: the component's `heap` setting, else `default`.
pub fn heap_opts(spec: &ComponentSpec, default: &str) -> Vec<String> {
    let heap = spec
        .scalar("heap")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| default.to_string());
    let heap = if heap.chars().all(|c| c.is_ascii_digit()) {
        format!("{heap}m")
    } else {
        heap
    };
    let mut v = vec![format!("-Xms{heap}"), format!("-Xmx{heap}")];
    if let Some(opts) = spec.scalar("jvm_opts") {
        v.extend(opts.split_whitespace().map(str::to_string));
    }
    v
}

/// The launcher and logging files of every service on a host: generic, so a component only
/// describes its services.
pub fn service_files(cl: &Cluster, host: &Host) -> Vec<FileSpec> {
    let mut out = Vec::new();
    for c in ALL.iter().filter(|c| cl.inv.component(c.name()).is_some()) {
        let services = c.services(cl, host);
        if services.is_empty() {
            continue;
        }
        out.push(FileSpec {
            path: format!("{}/log4j.properties", conf_dir(host, c.name())),
            template: "common/log4j.properties",
            mode: 0o644,
            context: base_context(
                cl,
                host,
                c.name(),
                serde_json::json!({ "component": c.name() }),
            ),
            shared: false,
            component: c.name(),
        });
        for s in services {
            let ctx = serde_json::json!({
                "role": s.role,
                "service": s.service,
                "main_class": s.main_class,
                "classpath": s.classpath.join(":"),
                "args": s.args,
                "jvm_opts": s.jvm_opts,
                "env": s.env,
                "work_dir": s.work_dir,
                "pid_file": Service::pid_file(host, s.role),
                "log_file": Service::log_file(host, c.name(), s.role),
                "stop_timeout_tenths": 300,
                "init": s.init.as_ref().map(|(marker, args)| serde_json::json!({ "marker": marker, "args": args })),
            });
            out.push(FileSpec {
                path: Service::launcher(host, s.role),
                template: "common/launcher.sh",
                mode: 0o755,
                context: base_context(cl, host, c.name(), ctx),
                shared: false,
                component: c.name(),
            });
        }
    }
    out
}

/// A TCP port a role listens on, for conflict checks.
#[derive(Debug, Clone)]
pub struct PortUse {
    pub port: u16,
    pub role: &'static str,
    pub what: String,
    /// Where the port was configured, when an override set it; else the role's position.
    pub pos: Pos,
    /// True when the operator set this port (so an error should point there).
    pub configured: bool,
}

pub trait Component: Sync {
    fn name(&self) -> &'static str;
    fn roles(&self) -> &'static [RoleDef];
    fn settings(&self) -> &'static [SettingDef];
    /// A version to suggest in error messages.
    fn example_version(&self) -> &'static str;
    /// Component-specific rules; runs after the generic inventory checks passed.
    fn validate(&self, _inv: &Inventory, _diags: &mut Diagnostics) {}
    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse>;
    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec>;
    /// Recognises this component's version (and the jars it bundles) in a distribution.
    fn detect(&self, listing: &Listing) -> Option<Detected>;
    /// The directory name the distribution unpacks to (`kafka_2.12-2.4.0`).
    fn dist_dir(&self, spec: &ComponentSpec) -> String;
    /// The JVMs this component runs on `host`, one per role the host has.
    fn services(&self, _cl: &Cluster, _host: &Host) -> Vec<Service> {
        Vec::new()
    }
    /// Whether `role` is healthy on `hosts` (the stage's members), checked from this machine.
    /// Ok carries one line of evidence; Err says what is still missing.
    fn health(&self, cl: &Cluster, role: &str, hosts: &[&Host]) -> anyhow::Result<String> {
        port_probe(self, cl.inv, role, hosts)
    }
    /// Compatibility checks against other components, evaluated from the rules file.
    fn compat_links(&self) -> &'static [Link] {
        &[]
    }
    /// `verify`: this component's own checks of the live cluster, probed from this machine
    /// (processes, JDKs and installed versions are checked for every component alike).
    fn verify(&self, _cx: &crate::verify::VerifyCx) -> Vec<crate::verify::Check> {
        Vec::new()
    }
}

static ALL: [&dyn Component; 4] = [
    &zookeeper::ZooKeeper,
    &kafka::Kafka,
    &hadoop::Hadoop,
    &hbase::HBase,
];

pub fn all() -> &'static [&'static dyn Component] {
    &ALL
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|c| c.name()).collect()
}

pub fn find(name: &str) -> Option<&'static dyn Component> {
    ALL.iter().copied().find(|c| c.name() == name)
}

pub fn role(name: &str) -> Option<&'static RoleDef> {
    ALL.iter().flat_map(|c| c.roles()).find(|r| r.name == name)
}

pub fn role_names() -> impl Iterator<Item = &'static str> {
    ALL.iter().flat_map(|c| c.roles()).map(|r| r.name)
}

/// Runs every component's own rules, then the cross-component port check.
pub fn validate_all(inv: &Inventory, diags: &mut Diagnostics) {
    for c in ALL.iter().filter(|c| inv.component(c.name()).is_some()) {
        c.validate(inv, diags);
    }
    check_ports(inv, diags);
}

fn check_ports(inv: &Inventory, diags: &mut Diagnostics) {
    for host in &inv.hosts {
        let mut seen: HashMap<u16, PortUse> = HashMap::new();
        for c in ALL
            .iter()
            .filter(|c| inv.component(c.name()).is_some() && host.has_component(c.name()))
        {
            for p in c.ports(inv, host) {
                if p.port == 0 {
                    continue;
                }
                if let Some(first) = seen.get(&p.port) {
                    let blame = if p.configured || !first.configured {
                        p.pos
                    } else {
                        first.pos
                    };
                    diags.push(
                        Diagnostic::error(
                            &inv.path,
                            blame,
                            format!("hosts[{}]", host.index),
                            format!(
                                "port {} on host `{}` is wanted by both {} ({}) and {} ({})",
                                p.port, host.name, first.role, first.what, p.role, p.what
                            ),
                        )
                        .with_help("two services cannot listen on one port; change one of them in its component's config"),
                    );
                } else {
                    seen.insert(p.port, p);
                }
            }
        }
    }
}

/// Where a property's value came from, so errors can point at the operator's own line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Default,
    Override,
}

#[derive(Debug, Clone, Serialize)]
pub struct PropEntry {
    pub key: String,
    pub value: String,
    #[serde(skip)]
    pub origin: Origin,
    #[serde(skip)]
    pub pos: Pos,
}

/// An ordered property set: stackctl's values first, the operator's `config:` merged last
/// (an override replaces the value in place, a new key is appended).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Props(pub Vec<PropEntry>);

impl Props {
    pub fn set(&mut self, key: &str, value: impl ToString) -> &mut Self {
        let value = value.to_string();
        match self.0.iter_mut().find(|e| e.key == key) {
            Some(e) => e.value = value,
            None => self.0.push(PropEntry {
                key: key.into(),
                value,
                origin: Origin::Default,
                pos: Pos::default(),
            }),
        }
        self
    }
    pub fn merge(&mut self, overrides: &[Prop]) -> &mut Self {
        for o in overrides {
            match self.0.iter_mut().find(|e| e.key == o.key) {
                Some(e) => {
                    e.value = o.value.clone();
                    e.origin = Origin::Override;
                    e.pos = o.pos;
                }
                None => self.0.push(PropEntry {
                    key: o.key.clone(),
                    value: o.value.clone(),
                    origin: Origin::Override,
                    pos: o.pos,
                }),
            }
        }
        self
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }
    pub fn entry(&self, key: &str) -> Option<&PropEntry> {
        self.0.iter().find(|e| e.key == key)
    }
    pub fn is_override(&self, key: &str) -> bool {
        self.entry(key)
            .is_some_and(|e| e.origin == Origin::Override)
    }
    /// The position to blame for a property: the override's line, else `fallback`.
    pub fn pos_or(&self, key: &str, fallback: Pos) -> Pos {
        match self.entry(key) {
            Some(e) if e.origin == Origin::Override => e.pos,
            _ => fallback,
        }
    }
}

/// How long one probe may take.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The fallback probe: the role's first port accepts a TCP connection on every host.
pub fn port_probe(
    c: &(impl Component + ?Sized),
    inv: &Inventory,
    role: &str,
    hosts: &[&Host],
) -> anyhow::Result<String> {
    for h in hosts {
        if let Some(p) = c.ports(inv, h).into_iter().find(|p| p.role == role) {
            let addr: std::net::SocketAddr = format!("{}:{}", h.address, p.port).parse()?;
            std::net::TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).map_err(|e| {
                anyhow::anyhow!("{}: {role} port {} not answering: {e}", h.name, p.port)
            })?;
        }
    }
    Ok(format!(
        "answering on {}",
        hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// `host:port` of the port a role serves `what` on.
pub fn endpoint(
    c: &(impl Component + ?Sized),
    inv: &Inventory,
    host: &Host,
    role: &str,
    what: &str,
) -> Option<String> {
    c.ports(inv, host)
        .into_iter()
        .find(|p| p.role == role && p.what == what)
        .map(|p| format!("{}:{}", host.address, p.port))
}

/// Parses the port out of `host:port`, `PROTO://host:port` or a bare number.
pub fn port_of(value: &str) -> Option<u16> {
    value
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().trim_end_matches('/').parse().ok())
}

/// An integer property the operator may have overridden; a non-number is reported.
pub fn int_prop(
    inv: &Inventory,
    props: &Props,
    key: &str,
    field: &str,
    diags: &mut Diagnostics,
) -> Option<i64> {
    let e = props.entry(key)?;
    match e.value.trim().parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            diags.push(Diagnostic::error(
                &inv.path,
                e.pos,
                format!("{field}.{key}"),
                format!("`{key}` must be a whole number, got `{}`", e.value),
            ));
            None
        }
    }
}

/// The common per-component paths on a host.
/// Whether a name a service registered under (a DataNode's address, a NodeManager's or
/// RegionServer's host name) is this host: its inventory name, its address, or a name under it.
pub fn is_host(registered: &str, host: &Host) -> bool {
    registered == host.name
        || registered == host.address
        || registered
            .strip_prefix(host.name.as_str())
            .is_some_and(|r| r.starts_with('.'))
}

pub fn conf_dir(host: &Host, component: &str) -> String {
    format!("{}/etc/{component}", host.install_dir)
}

pub fn home_dir(host: &Host, c: &dyn Component, spec: &ComponentSpec) -> String {
    format!("{}/{}", host.install_dir, c.dist_dir(spec))
}

/// The JSON context every template gets, plus the component-specific part under `extra`.
pub fn base_context(
    cl: &Cluster,
    host: &Host,
    component: &str,
    extra: serde_json::Value,
) -> std::sync::Arc<serde_json::Value> {
    let spec = cl.inv.component(component);
    std::sync::Arc::new(serde_json::json!({
        "cluster": cl.inv.cluster,
        "host": {
            "name": host.name,
            "address": host.address,
            "java_home": host.java_home,
            "install_dir": host.install_dir,
            "data_dir": host.data_dir,
            "log_dir": host.log_dir,
            "ssh_user": host.ssh_user,
        },
        "version": spec.map(|s| s.version.raw.clone()),
        "c": extra,
    }))
}
