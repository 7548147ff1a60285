//! The versions in effect for a cluster, and their compatibility verdicts: the rules
//! (`compat`) evaluated with what each component (`components`) says of its distribution,
//! its bundled jars and its links to the others. Shared by `plan` and `verify`.

use crate::compat::detect::{Detected, Listing};
use crate::compat::Level;
use crate::compat::{self, ComponentVersions, Hooks, Verdict};
use crate::components::{self, Component};
use crate::diag::{Diagnostic, Pos};
use crate::inventory::{ComponentSpec, Inventory};

/// Every compatibility verdict for the cluster with `versions` in effect.
pub fn check(inv: &Inventory, versions: &[ComponentVersions]) -> Vec<Verdict> {
    let links = |name: &str| components::find(name).map_or(&[][..], |c| c.compat_links(inv));
    let release_checks = |cv: &ComponentVersions, r: &compat::Release| match (
        components::find(&cv.component),
        inv.component(&cv.component),
    ) {
        (Some(c), Some(spec)) => c.release_checks(spec, r, cv),
        _ => Vec::new(),
    };
    compat::check(
        inv,
        versions,
        &Hooks {
            links: &links,
            release_checks: &release_checks,
        },
    )
}

/// Reads archives, compares them with the inventory, and returns the versions in effect plus
/// diagnostics (a declared version that disagrees with its archive is an error).
pub fn resolve_versions(inv: &Inventory) -> (Vec<ComponentVersions>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for spec in inv.components.values() {
        let c = components::find(spec.name).expect("validated");
        let release = compat::rules().release(spec.name, &spec.version);
        let mut cv = ComponentVersions {
            component: spec.name.to_string(),
            version: spec.version.clone(),
            archive: spec.archive.as_ref().map(|(p, _)| p.display().to_string()),
            detected: None,
            bundles: release
                .map(|r| c.release_bundles(spec, r))
                .unwrap_or_default(),
            bundles_from: if release.is_some() {
                "rules".into()
            } else {
                "unknown".into()
            },
        };
        if release.is_none() {
            diags.push(unknown_release(inv, spec));
        }
        if let Some((path, pos)) = &spec.archive {
            let field = format!("components.{}.archive", spec.name);
            if !path.exists() {
                diags.push(
                    Diagnostic::warning(&inv.path, *pos, &field, format!("archive {} does not exist; versions come from the inventory and the rules file", path.display()))
                        .with_help("`stackctl up` needs it; put the distribution there or fix the path"),
                );
            } else {
                match Listing::read(path).map(|l| (c.detect(&l), l)) {
                    Err(e) => diags.push(Diagnostic::error(&inv.path, *pos, &field, format!("{e:#}"))),
                    Ok((None, _)) => diags.push(
                        Diagnostic::error(&inv.path, *pos, &field, format!("{} does not look like a {} distribution: none of its jars names a {} version", path.display(), spec.name, spec.name))
                            .with_help("point `archive:` at the official tarball or its unpacked directory"),
                    ),
                    Ok((Some(det), _)) => {
                        check_detected(inv, c, spec, &det, *pos, &field, &mut diags);
                        cv.bundles = det.bundles.clone();
                        cv.bundles_from = "archive".into();
                        cv.detected = Some(det);
                    }
                }
            }
        }
        out.push(cv);
    }
    (out, diags)
}

fn check_detected(
    inv: &Inventory,
    c: &dyn Component,
    spec: &ComponentSpec,
    det: &Detected,
    pos: Pos,
    field: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(v) = &det.version {
        if *v != spec.version {
            diags.push(
                Diagnostic::error(
                    &inv.path,
                    spec.version_pos,
                    format!("components.{}.version", spec.name),
                    format!(
                        "version {} disagrees with the archive, which holds {} {} ({})",
                        spec.version,
                        spec.name,
                        v,
                        det.evidence.first().map(String::as_str).unwrap_or("")
                    ),
                )
                .with_help(format!(
                    "set `version: \"{v}\"` or point `archive:` at the {} {} distribution",
                    spec.name, spec.version
                )),
            );
        }
    }
    c.check_archive(inv, spec, det, pos, field, diags);
}

/// A version no `releases:` entry of the rules covers: nothing can be checked about it, which
/// the operator should know rather than read an empty verdict as "fine".
fn unknown_release(inv: &Inventory, spec: &ComponentSpec) -> Diagnostic {
    let known: Vec<String> = compat::rules()
        .releases
        .iter()
        .filter(|r| r.component == spec.name)
        .map(|r| format!("`{}`", r.versions))
        .collect();
    let help = if known.is_empty() {
        "add a `releases:` entry with its source to src/compat/rules.yaml".to_string()
    } else {
        format!(
            "check the version: the rules know {} {}; if it is right, add a `releases:` entry with its source to src/compat/rules.yaml",
            spec.name,
            known.join(", ")
        )
    };
    Diagnostic::warning(
        &inv.path,
        spec.version_pos,
        format!("components.{}.version", spec.name),
        format!(
            "no compatibility rule knows {} {}: its bundled jars, JDK and links to the other components cannot be checked",
            spec.name, spec.version
        ),
    )
    .with_help(help)
}

/// Each compatibility error as a diagnostic: at the inventory line of the version that causes
/// it (the host's `java_version` for a JDK, else the component's `version`), with what would
/// fix it. `plan` prints them on stderr with the source line; `up` refuses with them.
pub fn compat_diagnostics(inv: &Inventory, verdicts: &[Verdict]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for v in verdicts.iter().filter(|v| v.level == Level::Error) {
        let spec = inv
            .component(&v.subject)
            .or_else(|| inv.component(&v.other));
        let version_line = spec.map(|s| {
            format!(
                "`components.{}.version` (line {})",
                s.name, s.version_pos.line
            )
        });
        let d = if v.other == "java" {
            // The JDK of the first host named, where it is written (its own line or defaults).
            let host = v
                .hosts
                .first()
                .and_then(|n| inv.host(n))
                .or_else(|| inv.hosts.first());
            let (pos, field) = match host {
                Some(h) => match &h.java_version {
                    // Written once under `defaults:` when another host shares its position.
                    Some((_, p))
                        if inv.hosts.iter().any(|o| {
                            o.index != h.index && o.java_version.as_ref().map(|j| j.1) == Some(*p)
                        }) =>
                    {
                        (*p, "defaults.java_version".to_string())
                    }
                    Some((_, p)) => (*p, format!("hosts[{}].java_version", h.index)),
                    None => (h.name_pos, format!("hosts[{}]", h.index)),
                },
                None => (
                    spec.map_or(Pos::default(), |s| s.version_pos),
                    String::new(),
                ),
            };
            let supported = spec
                .and_then(|s| compat::rules().release(s.name, &s.version))
                .map(|r| r.java.iter().map(|j| j.to_string()).collect::<Vec<_>>())
                .filter(|j| !j.is_empty());
            let mut help = match supported {
                Some(j) => format!(
                    "run {} {} on JDK {} (`java_home` and `java_version`)",
                    v.subject,
                    v.subject_version,
                    j.join(" or ")
                ),
                None => format!("run {} on a JDK the rules support", v.subject),
            };
            if let Some(l) = &version_line {
                help.push_str(&format!(
                    ", or change {l} to a release that supports JDK {}",
                    v.other_version
                ));
            }
            Diagnostic::error(&inv.path, pos, field, v.message.clone()).with_help(help)
        } else {
            let fix = spec.and_then(|s| components::find(s.name).and_then(|c| c.compat_fix(s, v)));
            let help = fix.unwrap_or_else(|| match &version_line {
                Some(l) => format!(
                    "change {l}, or {} {}, to versions the rules support together",
                    v.other, v.other_version
                ),
                None => "change one of the two versions to a pair the rules support".into(),
            });
            let (pos, field) = spec.map_or((Pos::default(), String::new()), |s| {
                (s.version_pos, format!("components.{}.version", s.name))
            });
            Diagnostic::error(&inv.path, pos, field, v.message.clone()).with_help(help)
        };
        out.push(d);
    }
    out
}

/// Two versions of one artifact on the classpath of a component's daemons, found in the
/// archives `plan` reads: the roles whose classpath holds both, the jars as the archive
/// lists them (the first is the one the JVM loads), and the hosts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClasspathConflict {
    pub component: String,
    pub roles: Vec<String>,
    pub services: Vec<String>,
    pub artifact: String,
    pub jars: Vec<String>,
    pub hosts: Vec<String>,
}

/// The classpath conflicts of every daemon, from the archives (`archive:`) the inventory
/// names: each service's own `classpath` expanded over the distributions' file lists. An
/// error at the archive's line: the JVM picks one version per class, and code built
/// against the other fails only when it runs.
pub fn classpath_conflicts(
    inv: &Inventory,
    cl: &components::Cluster,
) -> (Vec<ClasspathConflict>, Vec<Diagnostic>) {
    use crate::compat::classpath;
    // Each readable archive's files below its top directory, and that top directory.
    let mut listed: Vec<(&ComponentSpec, &'static dyn Component, Vec<String>, String)> = Vec::new();
    for spec in inv.components.values() {
        let c = components::find(spec.name).expect("validated");
        let Some((path, _)) = &spec.archive else {
            continue;
        };
        let Ok(l) = Listing::read(path) else {
            continue;
        };
        let top = l.top_dir().unwrap_or_else(|| c.dist_dir(spec));
        listed.push((spec, c, classpath::below_top(&l.files), top));
    }
    let mut found: Vec<ClasspathConflict> = Vec::new();
    // Hosts sharing an install_dir share their classpaths: expanded once (1,000 workers).
    let mut memo: std::collections::HashMap<(Vec<String>, Vec<String>), Vec<classpath::Conflict>> =
        Default::default();
    for host in &inv.hosts {
        let home_dirs: Vec<String> = listed
            .iter()
            .map(|(spec, c, _, _)| components::home_dir(host, *c, spec))
            .collect();
        let homes: Vec<(String, &[String])> = home_dirs
            .iter()
            .zip(&listed)
            .map(|(h, (_, _, files, _))| (h.clone(), files.as_slice()))
            .collect();
        // Jars named as the archive lists them: the home replaced by the archive's top dir.
        let shown = |jar: &str| {
            for ((home, _), (_, _, _, top)) in homes.iter().zip(&listed) {
                if let Some(rel) = jar.strip_prefix(home.as_str()) {
                    return format!("{top}{rel}");
                }
            }
            jar.to_string()
        };
        for c in components::all() {
            if inv.component(c.name()).is_none() {
                continue;
            }
            for s in c.services(cl, host) {
                let key = (s.classpath.clone(), home_dirs.clone());
                let ks = memo.entry(key).or_insert_with(|| {
                    classpath::conflicts(&classpath::on_classpath(&s.classpath, &homes))
                });
                for k in ks.iter() {
                    let jars: Vec<String> = k.jars.iter().map(|j| shown(j)).collect();
                    let i = match found.iter().position(|f| {
                        f.component == c.name() && f.artifact == k.artifact && f.jars == jars
                    }) {
                        Some(i) => i,
                        None => {
                            found.push(ClasspathConflict {
                                component: c.name().to_string(),
                                roles: vec![],
                                services: vec![],
                                artifact: k.artifact.clone(),
                                jars,
                                hosts: vec![],
                            });
                            found.len() - 1
                        }
                    };
                    let f = &mut found[i];
                    if !f.roles.iter().any(|r| r == s.role) {
                        f.roles.push(s.role.to_string());
                        f.services.push(s.service.to_string());
                    }
                    if !f.hosts.contains(&host.name) {
                        f.hosts.push(host.name.clone());
                    }
                }
            }
        }
    }
    let diags = found
        .iter()
        .map(|f| {
            let spec = inv.component(&f.component).expect("planned");
            let pos = spec.archive.as_ref().map(|(_, p)| *p).unwrap_or(spec.version_pos);
            let (last, rest) = f.jars.split_last().expect("two jars at least");
            Diagnostic::error(
                &inv.path,
                pos,
                format!("components.{}.archive", f.component),
                format!(
                    "the classpath of {} holds {} versions of {}: {} and {}; the JVM loads each class from the first, so code built against the other fails when it runs (NoSuchMethodError)",
                    f.services.join(", "),
                    f.jars.len(),
                    f.artifact,
                    rest.join(", "),
                    last
                ),
            )
            .with_help(format!(
                "keep one version of {} in the distribution: assemble it with the release's own dependency management, or remove the jar that was added to it",
                f.artifact
            ))
        })
        .collect();
    (found, diags)
}
