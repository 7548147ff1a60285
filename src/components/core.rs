//! What every component shares, and what the engine knows of a component: the `Component`
//! trait (its hooks), the cluster context it renders from, services, ports, properties, and
//! the check types its live part reports to `verify`. Nothing here names a component.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::compat::detect::{Detected, Listing};
pub use crate::compat::Link;
use crate::compat::{self, ComponentVersions, Release, Verdict};
use crate::diag::{Diagnostic, Diagnostics, Pos};
pub use crate::inventory::catalog::{ComponentDef, IdDef, RoleDef, SettingDef, SettingKind};
use crate::inventory::{ComponentSpec, Host, Inventory, Prop};
pub use crate::lock::Ids;
use crate::remote::facts::HostFacts;
use crate::remote::transport::RunOutput;
pub use crate::render::FileSpec;
use crate::version::Version;

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
    /// The cluster id the lock file keeps for `component`.
    pub fn cluster_id(&self, component: &str) -> Option<&str> {
        self.ids.cluster_ids.get(component).map(|s| s.as_str())
    }
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
    /// Seconds a graceful stop (SIGTERM) may take before the launcher kills the JVM: the
    /// role's default (a RegionServer closing its regions needs longer than a NodeManager),
    /// or the component's `stop_timeout` setting.
    pub stop_timeout: u32,
    pub env: Vec<(String, String)>,
    pub work_dir: String,
    /// Files (absolute paths) whose change means this service must restart.
    pub config_files: Vec<String>,
    /// A one-time initialisation (`launcher init`), run only while its marker does not exist:
    /// the NameNode's format, a KRaft node's storage format.
    pub init: Option<Init>,
    /// The account the JVM runs as (`None`: the SSH/become user, no switch). The launcher
    /// switches to it only when it runs as root; otherwise the daemon runs as the login user.
    pub user: Option<String>,
    /// The primary group of `user`.
    pub group: Option<String>,
    /// Directories the service writes (its data and log directories): created owned by
    /// `user`, and given to it on `up` when anything inside belongs to someone else.
    pub owned_dirs: Vec<String>,
}

/// A one-time initialisation: `main_class` (the service's own when None) with `args`, run by the
/// launcher as the service's user while any of `markers` does not exist. The markers are what
/// make it "exactly once": the initialisation must create every one (an initialisation cut
/// short, which created only some, runs again and must finish the rest).
#[derive(Debug, Clone, Serialize)]
pub struct Init {
    pub markers: Vec<String>,
    pub main_class: Option<&'static str>,
    pub args: Vec<String>,
}

impl Service {
    pub fn launcher(host: &Host, role: &str) -> String {
        format!("{}/etc/launch/{role}.sh", host.install_dir)
    }
    /// Where launchers keep their pid files.
    pub fn run_dir(host: &Host) -> String {
        format!("{}/run", host.data_dir)
    }
    pub fn pid_file(host: &Host, role: &str) -> String {
        format!("{}/{role}.pid", Self::run_dir(host))
    }
    pub fn log_file(host: &Host, component: &str, role: &str) -> String {
        format!("{}/{component}/{role}.log", host.log_dir)
    }
    /// The JVM's own stdout and stderr (crash output, a JVM that cannot start) when no
    /// systemd takes them: bounded by the launcher, which rotates it at each start.
    pub fn out_file(host: &Host, component: &str, role: &str) -> String {
        format!("{}/{component}/{role}.out", host.log_dir)
    }
    /// The systemd unit of a role: named after the cluster, so two clusters (or a package's
    /// own `zookeeper.service`) on one host never clash.
    pub fn unit_name(cluster: &str, role: &str) -> String {
        format!("stackctl-{cluster}-{role}.service")
    }
    pub fn unit_file(cluster: &str, role: &str) -> String {
        format!(
            "{}/{}",
            crate::render::UNIT_DIR,
            Self::unit_name(cluster, role)
        )
    }
}

/// How systemd supervises a component's daemons, and the limits each needs: the component
/// knows (a ZooKeeper that exits 2 on a bad config must not be restarted forever), the
/// engine only renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervision {
    /// Seconds between a crash and the restart.
    pub restart_sec: u32,
    /// At most `start_limit_burst` starts within `start_limit_interval` seconds; then the unit
    /// stays failed, for `verify` to report, instead of hiding a config error in a loop.
    pub start_limit_burst: u32,
    pub start_limit_interval: u32,
    /// Exit codes that mean "wrong configuration": never restarted.
    pub no_restart_exit: &'static [u8],
    /// Default open-file (`LimitNOFILE`, `ulimit -n`) and process (`LimitNPROC`, `ulimit -u`)
    /// limits; the `max_open_files` / `max_processes` settings override them.
    pub max_open_files: u32,
    pub max_processes: u32,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            restart_sec: 10,
            start_limit_burst: 5,
            start_limit_interval: 600,
            no_restart_exit: &[],
            max_open_files: 32768,
            max_processes: 16384,
        }
    }
}

/// Which logging library a component's daemons read their configuration from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// log4j 1.2 or reload4j: `log4j.properties`, `RollingFileAppender`.
    Log4j1,
    /// log4j 2: `log4j2.properties`, `RollingFile` (HBase 2.5+).
    Log4j2,
    /// logback: `logback.xml`, `RollingFileAppender` (ZooKeeper 3.8+).
    Logback,
}

/// The log, GC-log and limit settings every component declares (after `stop_timeout`).
pub const HYGIENE_SETTINGS: [SettingDef; 7] = [
    SettingDef {
        key: "log_max_size",
        kind: SettingKind::Scalar,
        help: "size at which a daemon's log file rolls over, e.g. 100MB (KB, MB or GB)",
    },
    SettingDef {
        key: "log_max_files",
        kind: SettingKind::Scalar,
        help: "rolled-over log files kept per daemon (10)",
    },
    SettingDef {
        key: "log_level",
        kind: SettingKind::Scalar,
        help: "root log level: TRACE, DEBUG, INFO, WARN or ERROR (INFO)",
    },
    SettingDef {
        key: "gc_log_max_size",
        kind: SettingKind::Scalar,
        help: "size at which a daemon's GC log rolls over (20MB)",
    },
    SettingDef {
        key: "gc_log_max_files",
        kind: SettingKind::Scalar,
        help: "GC log files kept per daemon (5)",
    },
    SettingDef {
        key: "max_open_files",
        kind: SettingKind::Scalar,
        help: "open-file limit of each daemon (LimitNOFILE / ulimit -n; default per component)",
    },
    SettingDef {
        key: "max_processes",
        kind: SettingKind::Scalar,
        help: "process/thread limit of each daemon (LimitNPROC / ulimit -u; default per component)",
    },
];

/// A component's logging, GC-log and limit settings, resolved (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hygiene {
    /// `100MB`: the spelling log4j 1 and 2 both read.
    pub log_max_size: String,
    pub log_max_files: u32,
    pub log_level: &'static str,
    /// In KiB, for `-Xlog:...filesize=` and `-XX:GCLogFileSize=`.
    pub gc_log_max_kb: u64,
    pub gc_log_max_files: u32,
    pub max_open_files: u32,
    pub max_processes: u32,
}

const LOG_LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
/// Bounds of the size settings, in KiB: 1 KiB to 100 GiB.
const SIZE_KB: (u64, u64) = (1, 100 * 1024 * 1024);
const FILES_MAX: u32 = 1000;
/// Limits below this would not start a JVM at all; above, the kernel's `nr_open` default.
const LIMIT_BOUNDS: (u32, u32) = (1024, 1_048_576);

/// `100MB` / `64kb` / `1G` in KiB: whole numbers with a KB, MB or GB unit (the B optional).
pub fn parse_size_kb(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_uppercase();
    let v = v.strip_suffix('B').unwrap_or(&v);
    let (num, mult) = if let Some(n) = v.strip_suffix('K') {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('M') {
        (n, 1024)
    } else if let Some(n) = v.strip_suffix('G') {
        (n, 1024 * 1024)
    } else {
        return None;
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|kb| (SIZE_KB.0..=SIZE_KB.1).contains(kb))
}

fn size_text(kb: u64) -> String {
    if kb % (1024 * 1024) == 0 {
        format!("{}GB", kb / (1024 * 1024))
    } else if kb % 1024 == 0 {
        format!("{}MB", kb / 1024)
    } else {
        format!("{kb}KB")
    }
}

fn count(v: &str, lo: u32, hi: u32) -> Option<u32> {
    v.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (lo..=hi).contains(n))
}

/// The resolved hygiene settings of a component (an invalid value, which validation reports,
/// falls back to the default).
pub fn hygiene(spec: &ComponentSpec, sup: &Supervision) -> Hygiene {
    let s = |k: &str| spec.scalar(k);
    Hygiene {
        log_max_size: size_text(
            s("log_max_size")
                .and_then(parse_size_kb)
                .unwrap_or(100 * 1024),
        ),
        log_max_files: s("log_max_files")
            .and_then(|v| count(v, 1, FILES_MAX))
            .unwrap_or(10),
        log_level: s("log_level")
            .and_then(|v| {
                LOG_LEVELS
                    .iter()
                    .find(|l| l.eq_ignore_ascii_case(v.trim()))
                    .copied()
            })
            .unwrap_or("INFO"),
        gc_log_max_kb: s("gc_log_max_size")
            .and_then(parse_size_kb)
            .unwrap_or(20 * 1024),
        gc_log_max_files: s("gc_log_max_files")
            .and_then(|v| count(v, 1, FILES_MAX))
            .unwrap_or(5),
        max_open_files: s("max_open_files")
            .and_then(|v| count(v, LIMIT_BOUNDS.0, LIMIT_BOUNDS.1))
            .unwrap_or(sup.max_open_files),
        max_processes: s("max_processes")
            .and_then(|v| count(v, LIMIT_BOUNDS.0, LIMIT_BOUNDS.1))
            .unwrap_or(sup.max_processes),
    }
}

/// Checks a component's hygiene settings, every mistake at once.
pub fn validate_hygiene(inv: &Inventory, spec: &ComponentSpec, diags: &mut Diagnostics) {
    let sizes = format!(
        "a whole number with KB, MB or GB, from 1KB to {}",
        size_text(SIZE_KB.1)
    );
    let files = format!("a whole number from 1 to {FILES_MAX}");
    let limits = format!(
        "a whole number from {} to {}",
        LIMIT_BOUNDS.0, LIMIT_BOUNDS.1
    );
    let levels = LOG_LEVELS.join(", ");
    for def in &HYGIENE_SETTINGS {
        let Some(v) = spec.scalar(def.key) else {
            continue;
        };
        let (ok, want, example) = match def.key {
            "log_max_size" => (parse_size_kb(v).is_some(), sizes.as_str(), "100MB"),
            "gc_log_max_size" => (parse_size_kb(v).is_some(), sizes.as_str(), "20MB"),
            "log_max_files" => (count(v, 1, FILES_MAX).is_some(), files.as_str(), "10"),
            "gc_log_max_files" => (count(v, 1, FILES_MAX).is_some(), files.as_str(), "5"),
            "max_processes" => (
                count(v, LIMIT_BOUNDS.0, LIMIT_BOUNDS.1).is_some(),
                limits.as_str(),
                "32768",
            ),
            "log_level" => (
                LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(v.trim())),
                levels.as_str(),
                "INFO",
            ),
            _ => (
                count(v, LIMIT_BOUNDS.0, LIMIT_BOUNDS.1).is_some(),
                limits.as_str(),
                "65536",
            ),
        };
        if !ok {
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    spec.pos_of(def.key),
                    format!("components.{}.{}", spec.name, def.key),
                    format!("`{v}` is not a valid {}: {want}", def.key),
                )
                .with_help(format!("e.g. `{}: {example}`", def.key)),
            );
        }
    }
}

/// The `stop_timeout` setting every component declares.
pub const STOP_TIMEOUT: SettingDef = SettingDef {
    key: "stop_timeout",
    kind: SettingKind::Scalar,
    help: "seconds a graceful stop may take before the JVM is killed (default per role)",
};

/// The `user` and `group` settings every component declares: the account its daemons run as.
pub const USER: SettingDef = SettingDef {
    key: "user",
    kind: SettingKind::Scalar,
    help: "the account the component's daemons run as (default: the component's own, e.g. `kafka`; Hadoop: `hdfs` for HDFS roles, `yarn` for YARN roles)",
};
pub const GROUP: SettingDef = SettingDef {
    key: "group",
    kind: SettingKind::Scalar,
    help: "the primary group of that account (default: a group named like the user)",
};

/// The account (user, group) a role of this component runs as: the component's `user` (for
/// every role) and `group` settings, else `default_user` and a group of the same name.
pub fn account(spec: &ComponentSpec, default_user: &str) -> (String, String) {
    let user = spec
        .scalar("user")
        .map(|u| u.trim().to_string())
        .filter(|u| crate::inventory::account_name_ok(u))
        .unwrap_or_else(|| default_user.to_string());
    let group = spec
        .scalar("group")
        .map(|g| g.trim().to_string())
        .filter(|g| crate::inventory::account_name_ok(g))
        .unwrap_or_else(|| user.clone());
    (user, group)
}

/// Checks a component's `user` and `group` settings: names `useradd` accepts.
pub fn validate_account(inv: &Inventory, spec: &ComponentSpec, diags: &mut Diagnostics) {
    for key in ["user", "group"] {
        let Some(v) = spec.scalar(key) else {
            continue;
        };
        if !crate::inventory::account_name_ok(v.trim()) {
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    spec.pos_of(key),
                    format!("components.{}.{key}", spec.name),
                    format!("`{}` is not an account name", v.escape_debug()),
                )
                .with_help(
                    "an account name is 1 to 32 of lower-case letters, digits, `_` and `-`, starting with a letter or `_` (e.g. `kafka`)",
                ),
            );
        }
    }
}

/// The longest `stop_timeout` accepted, in seconds.
pub const STOP_TIMEOUT_MAX: u32 = 3600;

/// A role's stop timeout: the component's `stop_timeout` setting, else the role's `default`.
pub fn stop_timeout(spec: &ComponentSpec, default: u32) -> u32 {
    spec.scalar("stop_timeout")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| (1..=STOP_TIMEOUT_MAX).contains(s))
        .unwrap_or(default)
}

/// Checks a component's `stop_timeout` setting: whole seconds, 1 to [`STOP_TIMEOUT_MAX`].
pub fn validate_stop_timeout(inv: &Inventory, spec: &ComponentSpec, diags: &mut Diagnostics) {
    let Some(v) = spec.scalar("stop_timeout") else {
        return;
    };
    let ok = v
        .trim()
        .parse::<u32>()
        .is_ok_and(|s| (1..=STOP_TIMEOUT_MAX).contains(&s));
    if !ok {
        diags.push(
            Diagnostic::error(
                &inv.path,
                spec.pos_of("stop_timeout"),
                format!("components.{}.stop_timeout", spec.name),
                format!("`{v}` is not a stop timeout: whole seconds from 1 to {STOP_TIMEOUT_MAX}"),
            )
            .with_help("e.g. `stop_timeout: 120`"),
        );
    }
}

/// The heap for a role: the component's `heap` setting, else `default`.
pub fn heap_opts(spec: &ComponentSpec, default: &str) -> Vec<String> {
    heap_opts_from(spec, "heap", default)
}

/// [`heap_opts`] with the heap read from setting `key` (Kafka's `controller_heap`).
pub fn heap_opts_from(spec: &ComponentSpec, key: &str, default: &str) -> Vec<String> {
    let heap = spec
        .scalar(key)
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

/// A file on a host that carries a service's identity (ZooKeeper's `myid`, Kafka's
/// `meta.properties`): preflight refuses to start a server whose file names another identity.
#[derive(Debug, Clone)]
pub struct IdentityFile {
    pub path: String,
    /// The id the lock file assigns.
    pub want: String,
    /// Reads the id the file holds (None: the file says nothing about it).
    pub read: fn(&str) -> Option<String>,
}

/// How running instances of a role are restarted when their files or distribution change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// All at once (stateless or individually replaceable services).
    Together,
    /// One host at a time, each waiting for the role's health gate: quorums and replicated
    /// partitions stay available.
    Rolling,
}

pub trait Component: Live + Sync {
    /// Name, roles, settings and an example version: what the inventory loader checks against.
    fn def(&self) -> &'static ComponentDef;
    fn name(&self) -> &'static str {
        self.def().name
    }
    fn roles(&self) -> &'static [RoleDef] {
        self.def().roles
    }
    fn settings(&self) -> &'static [SettingDef] {
        self.def().settings
    }
    /// Component-specific rules; runs after the generic inventory checks passed.
    fn validate(&self, _inv: &Inventory, _diags: &mut Diagnostics) {}
    fn ports(&self, inv: &Inventory, host: &Host) -> Vec<PortUse>;
    fn files(&self, cl: &Cluster, host: &Host) -> Vec<FileSpec>;
    /// Recognises this component's version (and the jars it bundles) in a distribution.
    fn detect(&self, listing: &Listing) -> Option<Detected>;
    /// The directory name the distribution unpacks to (`kafka_2.12-2.4.0`).
    fn dist_dir(&self, spec: &ComponentSpec) -> String;
    /// Where the official release archive sits below an Apache-archive base
    /// (`https://archive.apache.org/dist/`), fetched when `archive:` is not set; `None`: the
    /// component has no official archive and needs `archive:`.
    fn dist_archive(&self, _spec: &ComponentSpec) -> Option<DistArchive> {
        None
    }
    /// The JVMs this component runs on `host`, one per role the host has.
    fn services(&self, _cl: &Cluster, _host: &Host) -> Vec<Service> {
        Vec::new()
    }

    // --- versions: what the engine asks of the rules file on this component's behalf.

    /// Compatibility checks against other components, evaluated from the rules file.
    fn compat_links(&self, _inv: &Inventory) -> &'static [Link] {
        &[]
    }
    /// The jars this release ships, by bundle key (`zookeeper-client`, `hadoop-jars`).
    fn release_bundles(&self, _spec: &ComponentSpec, r: &Release) -> BTreeMap<String, Version> {
        compat::release_bundles(r, "hadoop")
    }
    /// Findings about the release itself beyond its JDKs (Kafka: its Scala builds, KRaft-only).
    fn release_checks(
        &self,
        _spec: &ComponentSpec,
        _r: &Release,
        _cv: &ComponentVersions,
    ) -> Vec<Verdict> {
        Vec::new()
    }
    /// What would fix a compatibility error about this component, in inventory terms (HBase:
    /// "use the -hadoop3 build"); `None` leaves the generic advice.
    fn compat_fix(&self, _spec: &ComponentSpec, _v: &Verdict) -> Option<String> {
        None
    }
    /// Checks of a distribution read from `archive:` beyond its version (Kafka: Scala build).
    fn check_archive(
        &self,
        _inv: &Inventory,
        _spec: &ComponentSpec,
        _det: &Detected,
        _pos: Pos,
        _field: &str,
        _diags: &mut Vec<Diagnostic>,
    ) {
    }

    // --- the engine's hooks: what `up` and `down` must know about this component.

    /// Files carrying a stable identity on `host`, with the value the lock file assigns.
    /// Whether `role` on `host` needs a stable id of its own (see `Catalog::needs_id`).
    fn needs_id(&self, _inv: &Inventory, _role: &str, _host: &Host) -> bool {
        true
    }
    /// Whether this component needs a cluster id generated once and kept in the lock file.
    fn wants_cluster_id(&self, _inv: &Inventory) -> bool {
        false
    }
    fn identity_files(&self, _cl: &Cluster, _host: &Host) -> Vec<IdentityFile> {
        Vec::new()
    }
    /// Extra files whose content preflight needs (HDFS `VERSION` files).
    fn fact_reads(&self, _cl: &Cluster, _host: &Host) -> Vec<String> {
        Vec::new()
    }
    /// Problems across hosts, from their facts, that must stop `up` before anything changes
    /// (a DataNode formatted for another NameNode). One line per problem, naming the host.
    fn preflight(&self, _cl: &Cluster, _hosts: &[(&Host, &HostFacts)]) -> Vec<String> {
        Vec::new()
    }
    /// Every directory holding this component's data on `host`: what `down --purge` deletes.
    fn data_dirs(&self, _cl: &Cluster, _host: &Host) -> Vec<String> {
        Vec::new()
    }
    /// What the operator must know before `down --purge` deletes this component's data on
    /// `purged` only (a `--limit`): e.g. the ZooKeeper members left will resync the others.
    fn purge_warnings(&self, _cl: &Cluster, _purged: &[&Host]) -> Vec<String> {
        Vec::new()
    }
    /// How running instances of `role` restart.
    fn restart(&self, _role: &str) -> Restart {
        Restart::Together
    }
    /// How systemd supervises `role` and the limits it needs.
    fn supervision(&self, _role: &str) -> Supervision {
        Supervision::default()
    }
    /// The logging library this component's daemons use (which configuration file they read).
    fn logging(&self, _spec: &ComponentSpec) -> Logging {
        Logging::Log4j1
    }

    // --- production preflight (issue 12).

    /// How many open files one of this component's daemons should be allowed, by its
    /// project's own recommendation (None: the project names no number).
    fn open_files(&self) -> Option<OpenFilesNeed> {
        None
    }
    /// The clock skew between this component's hosts that it rejects (HBase's master refuses
    /// a RegionServer whose clock is too far off), read from the effective configuration.
    fn clock_limit(&self, _cl: &Cluster) -> Option<ClockLimit> {
        None
    }
}

/// A release archive's place on an Apache-archive mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistArchive {
    /// Paths below the base, in order: the first that exists is fetched (the others are the
    /// layouts older releases used, tried on a 404).
    pub paths: Vec<String>,
    /// The project's KEYS file below the base (`kafka/KEYS`), for the `.asc` signature.
    pub keys: String,
}

/// What a component's daemons need of the open-file limit, and where the number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFilesNeed {
    pub recommended: u64,
    /// The document that recommends it, for the message.
    pub source: &'static str,
}

/// A clock skew a component refuses, and the skew it already warns about, with the keys that
/// set them (for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockLimit {
    /// The roles whose hosts' clocks are compared (HBase: the master with each RegionServer).
    pub between: (&'static str, &'static str),
    pub reject_ms: u64,
    pub reject_key: String,
    pub warn_ms: u64,
    pub warn_key: String,
}

/// A component's live part: probes from this machine, for health gates and `verify`. Each
/// component implements it in its own `live.rs`, beside the pure part.
pub trait Live {
    /// Whether `role` is healthy on `hosts` (the stage's members), checked from this machine.
    /// Ok carries one line of evidence; Err says what is still missing. `port_probe` is the
    /// fallback for a service with nothing better to ask.
    fn health(&self, cl: &Cluster, role: &str, hosts: &[&Host]) -> anyhow::Result<String>;
    /// `verify`: this component's own checks of the live cluster, probed from this machine
    /// (processes, JDKs and installed versions are checked for every component alike).
    fn verify(&self, _cx: &VerifyCx) -> Vec<Check> {
        Vec::new()
    }
    /// The order a rolling restart takes through `hosts`: a leader or controller last, so it
    /// moves once, not once per restarted member. Unknown (a probe failed): as given.
    fn restart_order<'h>(&self, _cl: &Cluster, _role: &str, hosts: Vec<&'h Host>) -> Vec<&'h Host> {
        hosts
    }
    /// What must hold after one instance of a rolling restart came back, before the next goes
    /// down (Kafka: registered and no partition under-replicated). Default: its health gate.
    fn restarted(&self, cl: &Cluster, role: &str, host: &Host) -> anyhow::Result<String> {
        self.health(cl, role, &[host])
    }
    /// Before `up` starts `role` on `hosts` (none of them runs it): waits, bounded, for what
    /// must hold first, and says what it waited for (None: nothing to wait for). Kafka: the
    /// registration a killed broker's ZooKeeper session still holds must expire, or the new
    /// broker exits on `NodeExists`. Default: nothing.
    fn before_start(
        &self,
        _cl: &Cluster,
        _role: &str,
        _hosts: &[&Host],
    ) -> anyhow::Result<Option<String>> {
        Ok(None)
    }
    /// `verify --smoke`: functional round trips through this component (write, read back,
    /// compare, clean up), each bounded by `cx.timeout`, reported per service and host like
    /// `verify`'s other checks (check names start with `smoke`). Default: none.
    fn smoke(&self, _cx: &SmokeCx) -> Vec<Check> {
        Vec::new()
    }
    /// `status`: what each instance of this component is in its cluster right now (ZooKeeper's
    /// leader or follower, Kafka's controller, the active NameNode or HBase master), asked
    /// from this machine with probes bounded by `timeout`. Only instances with something to
    /// say are listed; `status` itself knows whether a process runs and its port listens.
    /// Default: nothing beyond that.
    fn states(&self, _cl: &Cluster, _timeout: std::time::Duration) -> Vec<RoleState> {
        Vec::new()
    }
}

/// One instance's role in its cluster, for `status`: `state` is a short word ("leader",
/// "follower", "controller", "active", "backup"); `healthy` false makes the instance
/// degraded, with `note` saying why (a server that does not serve, a broker missing from
/// the metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleState {
    pub host: String,
    pub role: &'static str,
    pub state: String,
    pub healthy: bool,
    pub note: String,
}

impl RoleState {
    pub fn ok(host: &str, role: &'static str, state: impl Into<String>) -> Self {
        RoleState {
            host: host.to_string(),
            role,
            state: state.into(),
            healthy: true,
            note: String::new(),
        }
    }
    pub fn degraded(host: &str, role: &'static str, note: impl Into<String>) -> Self {
        RoleState {
            host: host.to_string(),
            role,
            state: String::new(),
            healthy: false,
            note: note.into(),
        }
    }
}

/// Runs a script on a cluster host over its SSH connection (as the session's user, or root
/// with `become`), bounded by the given time; a non-zero exit is an answer, not an error.
pub type RunOn<'a> = dyn Fn(&Host, &str, std::time::Duration) -> anyhow::Result<RunOutput> + 'a;

/// What a component's `smoke` gets: the cluster, the facts of every reachable host, a way to
/// run the distribution's own tools on a host, a tag unique to this run (for the names of the
/// znodes, topics, files, applications and tables it creates and removes), and the bound of
/// each round trip.
pub struct SmokeCx<'a> {
    pub cl: &'a Cluster<'a>,
    pub facts: &'a BTreeMap<String, HostFacts>,
    pub run: &'a RunOn<'a>,
    pub tag: String,
    pub timeout: std::time::Duration,
}

impl SmokeCx<'_> {
    /// Whether `host` answered facts (smoke skips an unreachable host: `verify` already failed it).
    pub fn reachable(&self, host: &Host) -> bool {
        self.facts.contains_key(&host.name)
    }
}

/// Moves the host `last` names to the end of `hosts`, keeping the others' order.
pub fn put_last<'h>(mut hosts: Vec<&'h Host>, last: Option<&str>) -> Vec<&'h Host> {
    if let Some(i) = last.and_then(|n| hosts.iter().position(|h| h.name == n)) {
        let h = hosts.remove(i);
        hosts.push(h);
    }
    hosts
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
/// How long a port check through an SSH forward waits for the host to refuse the connection.
pub const PROBE_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The fallback probe: the role's first port accepts a TCP connection on every host.
pub fn port_probe(
    c: &(impl Component + ?Sized),
    inv: &Inventory,
    role: &str,
    hosts: &[&Host],
) -> anyhow::Result<String> {
    for h in hosts {
        if let Some(p) = c.ports(inv, h).into_iter().find(|p| p.role == role) {
            let addr = match h.address.parse::<std::net::Ipv6Addr>() {
                Ok(_) => format!("[{}]:{}", h.address, p.port),
                Err(_) => format!("{}:{}", h.address, p.port),
            };
            crate::remote::probe::accepts(&addr, PROBE_TIMEOUT, PROBE_SETTLE).map_err(|e| {
                anyhow::anyhow!("{}: {role} port {} not answering: {e:#}", h.name, p.port)
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

// --- what a component's live part reports to `verify`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One line of the report: a check of one service on one host (or of the whole cluster).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A host name, or `cluster` for checks of the ensemble as a whole.
    pub host: String,
    pub service: String,
    pub check: String,
    pub status: Status,
    pub evidence: String,
}

pub const CLUSTER: &str = "cluster";

impl Check {
    pub fn new(
        host: &str,
        service: &str,
        check: &str,
        status: Status,
        evidence: impl Into<String>,
    ) -> Check {
        Check {
            host: host.to_string(),
            service: service.to_string(),
            check: check.to_string(),
            status,
            evidence: evidence.into(),
        }
    }
    pub fn pass(host: &str, service: &str, check: &str, evidence: impl Into<String>) -> Check {
        Check::new(host, service, check, Status::Pass, evidence)
    }
    pub fn fail(host: &str, service: &str, check: &str, evidence: impl Into<String>) -> Check {
        Check::new(host, service, check, Status::Fail, evidence)
    }
    pub fn warn(host: &str, service: &str, check: &str, evidence: impl Into<String>) -> Check {
        Check::new(host, service, check, Status::Warn, evidence)
    }
    /// Pass when `ok`, else fail, with the same evidence.
    pub fn pass_if(
        ok: bool,
        host: &str,
        service: &str,
        check: &str,
        evidence: impl Into<String>,
    ) -> Check {
        let status = if ok { Status::Pass } else { Status::Fail };
        Check::new(host, service, check, status, evidence)
    }
}

/// What components' `verify` gets: the cluster, the facts of every reachable host, and the
/// versions running services report (filled in component order: ZooKeeper's `srvr` before
/// Kafka's checks, the NameNode's before HBase's).
pub struct VerifyCx<'a> {
    pub cl: &'a Cluster<'a>,
    pub facts: &'a BTreeMap<String, HostFacts>,
    pub reported: RefCell<BTreeMap<&'static str, Version>>,
}

impl VerifyCx<'_> {
    pub fn report_version(&self, component: &'static str, v: Version) {
        self.reported.borrow_mut().insert(component, v);
    }
}
