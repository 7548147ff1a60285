//! What stackctl knows about each product, one module per component, and the registry.
//!
//! A component declares its roles (with start order and health gate), the settings its
//! `components.<name>` section accepts, the files it renders per host, the ports it listens on,
//! its own validation rules, how to recognise its version in a distribution, and the hooks the
//! engine calls (identity files, data directories, restart policy, preflight). Adding a
//! component means adding a module here, one line in `ALL`, its templates and its rules.

pub mod core;
pub mod hadoop;
pub mod hbase;
pub mod kafka;
pub mod zookeeper;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

pub use self::core::*;
use crate::diag::{Diagnostic, Diagnostics};
use crate::inventory::catalog::Catalog;
use crate::inventory::{Host, Inventory};

/// The registry, in start-and-report order: adding a component is one line here.
static ALL: &[&dyn Component] = &[
    &zookeeper::ZooKeeper,
    &kafka::Kafka,
    &hadoop::Hadoop,
    &hbase::HBase,
];

pub fn all() -> &'static [&'static dyn Component] {
    ALL
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
        if let Some(spec) = inv.component(c.name()) {
            core::validate_stop_timeout(inv, spec, diags);
            core::validate_hygiene(inv, spec, diags);
            core::validate_account(inv, spec, diags);
        }
    }
    check_ports(inv, diags);
    // Where each component keeps its data does not depend on ids: none are needed yet.
    let ids = crate::lock::Ids::default();
    diags.0.extend(ephemeral_dirs(&Cluster::new(inv, &ids)));
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

/// The launcher, systemd unit and logging files of every service on a host: generic, so a
/// component only describes its services, their supervision and its logging library.
pub fn service_files(cl: &Cluster, host: &Host) -> Vec<FileSpec> {
    let mut out = Vec::new();
    for c in ALL.iter().filter(|c| cl.inv.component(c.name()).is_some()) {
        let services = c.services(cl, host);
        let Some(spec) = cl.inv.component(c.name()) else {
            continue;
        };
        if services.is_empty() {
            continue;
        }
        let conf = conf_dir(host, c.name());
        // Each role's log file is named by a system property, so the roles of one component
        // on a host share one configuration file.
        let (log_template, log_conf, log_opt) = match c.logging(spec) {
            Logging::Log4j1 => (
                "common/log4j.properties",
                format!("{conf}/log4j.properties"),
                "-Dlog4j.configuration=file:",
            ),
            Logging::Log4j2 => (
                "common/log4j2.properties",
                format!("{conf}/log4j2.properties"),
                "-Dlog4j2.configurationFile=file:",
            ),
            Logging::Logback => (
                "common/logback.xml",
                format!("{conf}/logback.xml"),
                "-Dlogback.configurationFile=",
            ),
        };
        // Every role of a component shares its logging settings; limits are per role.
        let first = c.supervision(services[0].role);
        let logs = hygiene(spec, &first);
        out.push(FileSpec {
            path: log_conf.clone(),
            template: log_template,
            mode: 0o644,
            context: base_context(
                cl,
                host,
                c.name(),
                serde_json::json!({
                    "component": c.name(),
                    "log_max_size": logs.log_max_size,
                    "log_max_files": logs.log_max_files,
                    "log_level": logs.log_level,
                }),
            ),
            shared: false,
            component: c.name(),
        });
        let home = home_dir(host, *c, spec);
        // Every word that names a path in the distribution goes through "$DIST", which the
        // launcher resolves once at start: a JVM keeps the generation it started with.
        let word = |v: &str| pinned_word(v, &home);
        let words = |v: &[String]| v.iter().map(|x| word(x)).collect::<Vec<_>>();
        for s in services {
            let sup = c.supervision(s.role);
            let h = hygiene(spec, &sup);
            let log_file = Service::log_file(host, c.name(), s.role);
            let gc_file = format!("{}/{}/{}-gc.log", host.log_dir, c.name(), s.role);
            let mut jvm_opts = vec![
                format!("{log_opt}{log_conf}"),
                format!("-Dstackctl.log.file={log_file}"),
            ];
            jvm_opts.extend(s.jvm_opts.iter().cloned());
            let launcher = Service::launcher(host, s.role);
            let ctx = serde_json::json!({
                "role": s.role,
                "service": s.service,
                "main_class": s.main_class,
                "home": home,
                "classpath": word(&s.classpath.join(":")),
                "args": words(&s.args),
                "jvm_opts": words(&jvm_opts),
                "env": s.env.iter().map(|(k, v)| (k.clone(), word(v))).collect::<Vec<_>>(),
                "work_dir": word(&s.work_dir),
                "pid_file": Service::pid_file(host, s.role),
                "log_file": log_file,
                "out_file": Service::out_file(host, c.name(), s.role),
                "gc_file": gc_file,
                "gc_max_kb": h.gc_log_max_kb,
                "gc_max_files": h.gc_log_max_files,
                "max_open_files": h.max_open_files,
                "max_processes": h.max_processes,
                "unit": Service::unit_name(&cl.inv.cluster, s.role),
                "unit_file": Service::unit_file(&cl.inv.cluster, s.role),
                "stop_timeout_tenths": s.stop_timeout * 10,
                "user": s.user.clone().unwrap_or_default(),
                "group": s.group.as_ref().or(s.user.as_ref()).cloned().unwrap_or_default(),
                "init": s.init.as_ref().map(|i| serde_json::json!({ "markers": i.markers, "main_class": i.main_class.unwrap_or(s.main_class), "args": words(&i.args) })),
            });
            out.push(FileSpec {
                path: launcher.clone(),
                template: "common/launcher.sh",
                mode: 0o755,
                context: base_context(cl, host, c.name(), ctx),
                shared: false,
                component: c.name(),
            });
            // The roles this one starts after, where they run on this host too: a boot starts
            // them first (a role on another host is waited for by its restarts instead).
            let after: Vec<String> = role(s.role)
                .map(|r| r.after)
                .unwrap_or_default()
                .iter()
                .filter(|a| host.has_role(a))
                .map(|a| Service::unit_name(&cl.inv.cluster, a))
                .collect();
            let unit = serde_json::json!({
                "role": s.role,
                "after": after,
                "service": s.service,
                "launcher": launcher,
                "user": s.user,
                "stop_timeout": s.stop_timeout,
                "restart_sec": sup.restart_sec,
                "start_limit_burst": sup.start_limit_burst,
                "start_limit_interval": sup.start_limit_interval,
                "no_restart_exit": sup.no_restart_exit,
                "max_open_files": h.max_open_files,
                "max_processes": h.max_processes,
            });
            out.push(FileSpec {
                path: Service::unit_file(&cl.inv.cluster, s.role),
                template: "common/systemd.service",
                mode: 0o644,
                context: base_context(cl, host, c.name(), unit),
                shared: false,
                component: c.name(),
            });
        }
    }
    out
}

/// `value` as one shell word, with every occurrence of `home` written as `"$DIST"`.
pub fn pinned_word(value: &str, home: &str) -> String {
    if home.is_empty() || !value.contains(home) {
        return crate::shell::shell_quote(value);
    }
    value
        .split(home)
        .map(|piece| {
            if piece.is_empty() {
                String::new()
            } else {
                crate::shell::shell_quote(piece)
            }
        })
        .collect::<Vec<_>>()
        .join("\"$DIST\"")
}

// --- production preflight (issue 12): where each component keeps its state.

/// A directory a component keeps state in on one host, with the inventory line that put it
/// there: the component's own `config`-like setting naming it, else the host's `data_dir`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDir {
    pub component: &'static str,
    pub dir: String,
    /// Field path (`components.zookeeper.config.dataDir`, `hosts[0].data_dir`,
    /// `defaults.data_dir`); empty when the directory comes from the built-in defaults.
    pub field: String,
    pub pos: crate::diag::Pos,
}

/// Every state directory of every component `host` runs: what each declares through
/// `data_dirs` (the list `down --purge` deletes), with where the inventory set it.
pub fn state_dirs(cl: &Cluster, host: &Host) -> Vec<StateDir> {
    let mut out: Vec<StateDir> = Vec::new();
    for c in ALL
        .iter()
        .filter(|c| cl.inv.component(c.name()).is_some() && host.has_component(c.name()))
    {
        let spec = cl.inv.component(c.name()).expect("declared");
        for dir in c.data_dirs(cl, host) {
            let dir = squash_path(dir.trim());
            if out.iter().any(|d| d.component == c.name() && d.dir == dir) {
                continue;
            }
            let (field, pos) = state_dir_origin(spec, host, &dir);
            out.push(StateDir {
                component: c.name(),
                dir,
                field,
                pos,
            });
        }
    }
    out
}

/// Which inventory line set `dir`: a property of the component's maps whose value names it
/// (or a directory it is inside: `hadoop.tmp.dir` for `${hadoop.tmp.dir}/dfs/name`), the
/// exact one first; else the host's `data_dir` when it is inside it; else the component.
fn state_dir_origin(
    spec: &crate::inventory::ComponentSpec,
    host: &Host,
    dir: &str,
) -> (String, crate::diag::Pos) {
    use crate::inventory::Setting;
    let mut inside: Option<(String, crate::diag::Pos)> = None;
    for (name, setting) in &spec.settings {
        let Setting::Map(props, _) = setting else {
            continue;
        };
        for p in props {
            for v in p.value.split(',') {
                let v = v.trim();
                let v = v
                    .strip_prefix("file://")
                    .or_else(|| v.strip_prefix("file:"))
                    .unwrap_or(v);
                if !v.starts_with('/') {
                    continue;
                }
                let v = squash_path(v);
                let field = format!("components.{}.{name}.{}", spec.name, p.key);
                if v == dir {
                    return (field, p.pos);
                }
                if path_inside(dir, &v) && inside.is_none() {
                    inside = Some((field, p.pos));
                }
            }
        }
    }
    if let Some(found) = inside {
        return found;
    }
    if dir == host.data_dir || path_inside(dir, &host.data_dir) {
        return host.data_dir_at.clone();
    }
    (format!("components.{}", spec.name), spec.pos)
}

/// `inner` is strictly below `outer` (both squashed).
fn path_inside(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner.len() > outer.len() && inner.starts_with(outer) && inner[outer.len()..].starts_with('/')
}

/// A path with runs of `/` collapsed and no trailing `/`.
fn squash_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// Directories whose content does not outlive a reboot or a cleaning, by path alone: `/tmp`
/// (tmpfs on many distributions, else emptied at boot, and systemd-tmpfiles deletes what is
/// unused for 10 days), `/var/tmp` (kept across reboots, but systemd-tmpfiles' default
/// tmp.conf deletes what is unused for 30 days: a Kafka segment or a ZooKeeper snapshot
/// nobody read in a month) and `/dev/shm` (always tmpfs).
pub const EPHEMERAL_ROOTS: &[(&str, &str)] = &[
    ("/tmp", "emptied at reboot on most distributions, and cleaned of files unused for 10 days by systemd-tmpfiles"),
    ("/var/tmp", "cleaned of files unused for 30 days by systemd-tmpfiles"),
    ("/dev/shm", "in memory (tmpfs): gone at reboot"),
];

/// The ephemeral root `dir` is in (or is), with why its content does not last.
pub fn ephemeral_root(dir: &str) -> Option<(&'static str, &'static str)> {
    let dir = squash_path(dir);
    EPHEMERAL_ROOTS
        .iter()
        .copied()
        .find(|(root, _)| dir == *root || path_inside(&dir, root))
}

/// Data directories under `/tmp`, `/var/tmp` or `/dev/shm`, known from the inventory alone:
/// one warning per inventory line that puts them there, naming the hosts and directories.
/// A warning, not an error: `up` decides in preflight, where `--allow-ephemeral` applies and
/// the filesystem (tmpfs anywhere) is known too; `plan` says beforehand that it will refuse.
pub fn ephemeral_dirs(cl: &Cluster) -> Vec<Diagnostic> {
    // (field, line, column, root) -> (components, hosts, dirs, why the root is ephemeral)
    type Key = (String, u64, u64, &'static str);
    type Found = (Vec<&'static str>, Vec<String>, Vec<String>, &'static str);
    let mut found: BTreeMap<Key, Found> = BTreeMap::new();
    for h in &cl.inv.hosts {
        for d in state_dirs(cl, h) {
            let Some((root, why)) = ephemeral_root(&d.dir) else {
                continue;
            };
            let e = found
                .entry((d.field.clone(), d.pos.line, d.pos.column, root))
                .or_insert_with(|| (Vec::new(), Vec::new(), Vec::new(), why));
            if !e.0.contains(&d.component) {
                e.0.push(d.component);
            }
            if !e.1.contains(&h.name) {
                e.1.push(h.name.clone());
            }
            if !e.2.contains(&d.dir) {
                e.2.push(d.dir.clone());
            }
        }
    }
    let list = |v: &[String]| {
        if v.len() > 3 {
            format!("{} and {} more", v[..3].join(", "), v.len() - 3)
        } else {
            v.join(", ")
        }
    };
    found
        .into_iter()
        .map(|((field, line, column, root), (comps, hosts, dirs, why))| {
            Diagnostic::warning(
                &cl.inv.path,
                crate::diag::Pos::new(line, column),
                field,
                format!(
                    "{} data is under {root} on {}: {} ({root} is {why})",
                    comps
                        .iter()
                        .map(|c| format!("{c}'s"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    list(&hosts),
                    list(&dirs)
                ),
            )
            .with_help(
                "`up` refuses data directories under /tmp, /var/tmp, /dev/shm or on tmpfs in preflight: move them to a persistent disk, or pass --allow-ephemeral for a throwaway cluster",
            )
        })
        .collect()
}

/// The catalog the inventory loader and the lock file check against, built from the registry.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        components: ALL.iter().map(|c| c.def()).collect(),
        validate: validate_all,
        needs_id: |inv, role, host| {
            ALL.iter()
                .filter(|c| c.roles().iter().any(|r| r.name == role))
                .all(|c| c.needs_id(inv, role, host))
        },
        cluster_ids: |inv| {
            ALL.iter()
                .filter(|c| inv.component(c.name()).is_some() && c.wants_cluster_id(inv))
                .map(|c| c.name())
                .collect()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_words_go_through_dist_and_stay_one_word() {
        let home = "/opt/it's/kafka_2.12-2.4.0";
        assert_eq!(
            pinned_word(&format!("{home}/libs/*:{home}/config"), home),
            "\"$DIST\"'/libs/*:'\"$DIST\"/config"
        );
        assert_eq!(pinned_word("-Xmx1g", home), "-Xmx1g");
        assert_eq!(pinned_word(home, home), "\"$DIST\"");
        // What sh makes of it: the same string with $DIST's value in place of home.
        let w = pinned_word(&format!("a b {home}/x"), home);
        let o = std::process::Command::new("sh")
            .args(["-c", &format!("DIST='/real gen'; printf '%s|' {w}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "a b /real gen/x|");
    }

    #[test]
    fn every_component_is_declared_in_the_rules_file() {
        let rules = crate::compat::rules();
        for c in all() {
            assert!(
                rules.components.contains(c.name()),
                "add `{}` under `components:` in src/compat/rules.yaml",
                c.name()
            );
        }
    }

    #[test]
    fn roles_are_unique_and_belong_to_their_component() {
        let mut seen = std::collections::BTreeSet::new();
        for c in all() {
            for r in c.roles() {
                assert_eq!(r.component, c.name(), "{}", r.name);
                assert!(seen.insert(r.name), "role {} defined twice", r.name);
            }
        }
        assert_eq!(catalog().role_names().count(), seen.len());
    }
}
