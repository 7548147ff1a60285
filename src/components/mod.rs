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

use std::collections::HashMap;
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
            core::validate_account(inv, spec, diags);
        }
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
        let home = cl
            .inv
            .component(c.name())
            .map(|spec| home_dir(host, *c, spec))
            .unwrap_or_default();
        // Every word that names a path in the distribution goes through "$DIST", which the
        // launcher resolves once at start: a JVM keeps the generation it started with.
        let word = |v: &str| pinned_word(v, &home);
        let words = |v: &[String]| v.iter().map(|x| word(x)).collect::<Vec<_>>();
        for s in services {
            let ctx = serde_json::json!({
                "role": s.role,
                "service": s.service,
                "main_class": s.main_class,
                "home": home,
                "classpath": word(&s.classpath.join(":")),
                "args": words(&s.args),
                "jvm_opts": words(&s.jvm_opts),
                "env": s.env.iter().map(|(k, v)| (k.clone(), word(v))).collect::<Vec<_>>(),
                "work_dir": word(&s.work_dir),
                "pid_file": Service::pid_file(host, s.role),
                "log_file": Service::log_file(host, c.name(), s.role),
                "stop_timeout_tenths": s.stop_timeout * 10,
                "user": s.user.clone().unwrap_or_default(),
                "group": s.group.as_ref().or(s.user.as_ref()).cloned().unwrap_or_default(),
                "init": s.init.as_ref().map(|(marker, args)| serde_json::json!({ "marker": marker, "args": words(args) })),
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

/// The catalog the inventory loader and the lock file check against, built from the registry.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        components: ALL.iter().map(|c| c.def()).collect(),
        validate: validate_all,
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
