//! `stackctl verify`: is the live cluster what the inventory says? Reads only.
//!
//! Two sources, both read-only: one SSH round trip per host (which services run, on which JDK,
//! which distribution jars are installed, whether the files are as planned), then each
//! component's own probes from this machine (ZooKeeper four-letter words, the ZooKeeper
//! registry and a Metadata request for Kafka, NameNode/ResourceManager/HBase master over HTTP).
//! Versions are read from the hosts and the running services, never taken from the inventory,
//! and checked against it and against the compatibility rules.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::compat::detect::{Detected, Listing};
use crate::compat::{self, ComponentVersions, Level};
use crate::components::{self, Check, Cluster, Service, SmokeCx, Status, VerifyCx, CLUSTER};
use crate::deploy::session;
use crate::inventory::{Host, Inventory};
use crate::lock::LockState;
use crate::plan::{self, PlanError, PlanOptions};
use crate::remote::facts::{self, FactRequest, HostFacts};
use crate::remote::transport::SshOptions;
use crate::version::{JavaVersion, Version};
use crate::versions;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub inventory: PathBuf,
    pub templates: Option<PathBuf>,
    /// Fail when the lock file is missing or out of date (it is never written either way).
    pub locked: bool,
    pub ssh: SshOptions,
    pub forks: usize,
    /// `--smoke`: also run each component's functional round trips (they write, then clean up).
    pub smoke: Option<Duration>,
    /// `--limit`: only these hosts are read over SSH and reported on (with the checks of the
    /// cluster as a whole, which the components' probes still make of every host).
    pub limit: Option<Vec<String>>,
    /// A progress bar on stderr when it is a terminal (off with `--json`).
    pub progress: bool,
}

/// The inventory and its plan for a command that only reads the hosts (`verify`, `status`):
/// ids as `up` would assign them, without writing the lock file; the plan's secrets masked in
/// the log from here on; `--limit` checked against the hosts.
pub fn load_read_only(
    inventory: &std::path::Path,
    templates: Option<PathBuf>,
    locked: bool,
    limit: &Option<Vec<String>>,
) -> Result<(Inventory, plan::Plan), PlanError> {
    let phase = crate::runlog::phase("load and plan");
    let (inv, plan) = plan::load_and_plan(
        inventory,
        &PlanOptions {
            templates,
            locked,
            read_only: true,
        },
    )?;
    drop(phase);
    crate::runlog::mask(&plan.secret_values);
    check_limit(&inv, limit)?;
    Ok((inv, plan))
}

/// `--limit` names only hosts of the inventory: an unknown one is an error (exit 2) naming it
/// and the hosts there are.
pub fn check_limit(inv: &Inventory, limit: &Option<Vec<String>>) -> Result<(), PlanError> {
    let Some(limit) = limit else { return Ok(()) };
    let unknown: Vec<&str> = limit
        .iter()
        .filter(|n| inv.host(n).is_none())
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let d = crate::diag::Diagnostic::error(
        &inv.path,
        crate::diag::Pos::default(),
        "hosts",
        format!(
            "--limit names hosts that are not in the inventory: {}",
            unknown.join(", ")
        ),
    )
    .with_help(format!(
        "the inventory's hosts are {}",
        inv.hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Err(PlanError::Invalid(crate::diag::InvalidInput {
        diagnostics: crate::diag::Diagnostics(vec![d]),
        source: None,
    }))
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// Hosts that could not be reached over SSH, with why.
    pub unreachable: Vec<(String, String)>,
    pub seconds: f64,
}

impl Report {
    /// 0 all pass (warnings allowed), 1 a check failed, 3 some hosts could not be reached.
    pub fn exit_code(&self) -> i32 {
        if !self.unreachable.is_empty() {
            crate::exit::PREFLIGHT
        } else if self.checks.iter().any(|c| c.status == Status::Fail) {
            crate::exit::FAILED
        } else {
            crate::exit::OK
        }
    }
}

pub fn verify(opts: &VerifyOptions) -> Result<Report, PlanError> {
    let started = Instant::now();
    let (inv, plan) = load_read_only(
        &opts.inventory,
        opts.templates.clone(),
        opts.locked,
        &opts.limit,
    )?;
    let limited = |name: &str| {
        opts.limit
            .as_ref()
            .is_none_or(|l| l.iter().any(|n| n == name))
    };
    let ids = plan.ids();
    let cl = Cluster::new(&inv, &ids);
    let services: BTreeMap<String, Vec<Service>> = inv
        .hosts
        .iter()
        .map(|h| {
            let s = components::all()
                .iter()
                .filter(|c| inv.component(c.name()).is_some())
                .flat_map(|c| c.services(&cl, h))
                .collect();
            (h.name.clone(), s)
        })
        .collect();
    // One SSH round trip per host, all hosts at once.
    let requests: Vec<(Host, String)> = inv
        .hosts
        .iter()
        .zip(&plan.hosts)
        .filter(|(h, _)| limited(&h.name))
        .map(|(h, hp)| {
            let svcs = &services[&h.name];
            let mut req = FactRequest {
                java_home: h.java_home.clone(),
                jvm: true,
                launchers: svcs
                    .iter()
                    .map(|s| (s.role.to_string(), Service::launcher(h, s.role)))
                    .collect(),
                checksum: hp.files.iter().map(|f| f.path.clone()).collect(),
                units: svcs
                    .iter()
                    .map(|s| (s.role.to_string(), Service::unit_name(&inv.cluster, s.role)))
                    .collect(),
                ..Default::default()
            };
            for spec in inv.components.values().filter(|s| h.has_component(s.name)) {
                let c = components::find(spec.name).expect("known");
                req.jars.push(components::home_dir(h, c, spec));
            }
            for s in svcs {
                req.read.extend(s.config_files.iter().cloned());
            }
            // The identity files (myid, meta.properties): what a component's checks compare
            // with the lock file.
            for c in components::all()
                .iter()
                .filter(|c| inv.component(c.name()).is_some())
            {
                req.read
                    .extend(c.identity_files(&cl, h).into_iter().map(|f| f.path));
            }
            (h.clone(), facts::script(&req))
        })
        .collect();
    let rt = session::runtime().map_err(PlanError::Other)?;
    let forks = opts.forks.max(1);
    let progress = crate::events::Events::counting(requests.len(), !opts.progress);
    progress.status(None, "connecting and reading facts");
    let phase = crate::runlog::phase("connect and gather facts");
    let progress = &progress;
    // The connections stay open until the components' probes are done: behind a bastion the
    // probes go through them.
    let reqs: Vec<(&Host, String)> = requests.iter().map(|(h, s)| (h, s.clone())).collect();
    let (gathered, remotes) = rt.block_on(session::read_facts(
        &reqs,
        &opts.ssh,
        forks.max(session::CONNECT_WINDOW),
        progress,
    ));
    drop(phase);
    let mut host_facts = BTreeMap::new();
    let mut unreachable = Vec::new();
    for (name, r) in gathered {
        match r {
            Ok(f) => {
                host_facts.insert(name, f);
            }
            Err(e) => unreachable.push((name, e)),
        }
    }

    let cx = VerifyCx {
        cl: &cl,
        facts: &host_facts,
        reported: RefCell::new(BTreeMap::new()),
    };
    let mut checks = Vec::new();
    for (name, why) in &unreachable {
        checks.push(Check::fail(name, "ssh", "reachable", why.clone()));
    }
    if !matches!(plan.lock.state, LockState::Unchanged | LockState::NotNeeded) {
        checks.push(Check::warn(
            CLUSTER,
            "inventory",
            "lock file",
            format!(
                "{} is missing or out of date: checked against the ids `up` would assign ({})",
                plan.lock.path,
                plan.lock.changes.join("; ")
            ),
        ));
    }
    // The inventory's own compatibility errors are facts about this cluster too.
    for v in plan.compat.iter().filter(|v| v.level == Level::Error) {
        checks.push(Check::fail(
            CLUSTER,
            &v.subject,
            "compatibility",
            format!("{} [{}]", v.message, v.source),
        ));
    }
    // Per host: processes, JDKs, installed distributions, files.
    let mut installed: BTreeMap<String, BTreeMap<&'static str, Detected>> = BTreeMap::new();
    for (h, hp) in inv.hosts.iter().zip(&plan.hosts) {
        let Some(f) = host_facts.get(&h.name) else {
            continue;
        };
        host_checks(&inv, h, hp, &services[&h.name], f, &mut checks);
        supervision_checks(&inv, h, &services[&h.name], f, &mut checks);
        installed.insert(h.name.clone(), installed_versions(&inv, h, f, &mut checks));
        classpath_checks(&inv, h, &services[&h.name], f, &mut checks);
    }
    // How each host's probes reach it: straight, or through its SSH connection.
    for h in inv
        .hosts
        .iter()
        .filter(|h| host_facts.contains_key(&h.name))
    {
        checks.push(Check::pass(
            &h.name,
            "ssh",
            "probes",
            crate::remote::probe::how(&h.name),
        ));
    }
    // Each component's probes, from this machine (or through the hosts' SSH connections).
    for c in components::all()
        .iter()
        .filter(|c| inv.component(c.name()).is_some())
    {
        progress.status(None, &format!("probing {}", c.name()));
        let _phase = crate::runlog::phase(&format!("probe {}", c.name()));
        checks.extend(c.verify(&cx));
    }
    if let Some(timeout) = opts.smoke {
        progress.status(None, "smoke round trips");
        let _phase = crate::runlog::phase("smoke round trips");
        checks.extend(smoke(&rt, &cl, &host_facts, &remotes, timeout));
    }
    rt.block_on(futures_util::future::join_all(
        remotes.into_iter().map(|r| r.close()),
    ));
    // Versions against each other: bundled jars across hosts, and the rules with what runs.
    bundle_agreement(&inv, &installed, &mut checks);
    version_rules(&inv, &installed, &cx.reported.borrow(), &mut checks);

    let order: BTreeMap<&str, usize> = inv
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.as_str(), i))
        .collect();
    // Per host, then by service in start order (files and versions last); checks keep the
    // order they were made in.
    let rank: BTreeMap<&str, usize> = components::all()
        .iter()
        .flat_map(|c| std::iter::once(c.name()).chain(c.roles().iter().map(|r| r.name)))
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    checks.sort_by_key(|c| {
        (
            order.get(c.host.as_str()).copied().unwrap_or(usize::MAX),
            rank.get(c.service.as_str()).copied().unwrap_or(usize::MAX),
        )
    });
    // --limit: the other hosts' own checks are not this report's (the cluster's stay).
    if opts.limit.is_some() {
        checks.retain(|c| inv.host(&c.host).is_none() || limited(&c.host));
    }
    let ok = unreachable.is_empty() && checks.iter().all(|c| c.status != Status::Fail);
    // What hosts answered is shown as evidence: never a secret value it may quote.
    let mask = |s: &str| crate::secrets::redact(s, &plan.secret_values);
    let checks: Vec<Check> = checks
        .into_iter()
        .map(|mut c| {
            c.evidence = mask(&c.evidence);
            c
        })
        .collect();
    let unreachable: Vec<(String, String)> = unreachable
        .into_iter()
        .map(|(h, why)| (h, mask(&why)))
        .collect();
    Ok(Report {
        ok,
        checks,
        unreachable,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `--smoke`: each component's round trips, in start order, with the hosts' SSH connections
/// for the distribution's own tools.
fn smoke(
    rt: &tokio::runtime::Runtime,
    cl: &Cluster,
    facts: &BTreeMap<String, HostFacts>,
    remotes: &[crate::remote::transport::Remote],
    timeout: Duration,
) -> Vec<Check> {
    let by_name: BTreeMap<&str, &crate::remote::transport::Remote> =
        remotes.iter().map(|r| (r.name.as_str(), r)).collect();
    let run = |h: &Host, script: &str, t: Duration| {
        let r = by_name
            .get(h.name.as_str())
            .ok_or_else(|| anyhow::anyhow!("{} is not connected", h.name))?;
        rt.block_on(r.run_within(script, "smoke", t))
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let cx = SmokeCx {
        cl,
        facts,
        run: &run,
        tag: format!("stackctl-smoke-{stamp}-{}", std::process::id()),
        timeout,
    };
    components::all()
        .iter()
        .filter(|c| cl.inv.component(c.name()).is_some())
        .flat_map(|c| c.smoke(&cx))
        .collect()
}

fn component_of(role: &str) -> &'static str {
    components::role(role).map(|r| r.component).unwrap_or("")
}

fn java_label(exe: &str) -> String {
    exe.strip_suffix("/bin/java").unwrap_or(exe).to_string()
}

/// Does the running daemon belong to the account it should run as: its service user when the
/// session is root, else the login user (the launcher switches only as root)?
pub fn owner_check(h: &Host, s: &Service, f: &HostFacts) -> Check {
    let Some((uid, name)) = f.proc_owner.get(s.role) else {
        return Check::warn(
            &h.name,
            s.role,
            "user",
            "running, but its owner cannot be read (/proc/<pid>/status)",
        );
    };
    let root = f.uid == Some(0);
    let expected = match (&s.user, root) {
        (Some(u), true) => Some(u.clone()),
        (None, true) => Some("root".to_string()),
        (_, false) => f.login_user.clone(),
    };
    let runs = format!("runs as {name} (uid {uid})");
    match expected {
        Some(e) if e == *name => Check::pass(&h.name, s.role, "user", runs),
        Some(e) => Check::fail(
            &h.name,
            s.role,
            "user",
            format!("{runs}, expected {e}: restart it with `stackctl up` (a launcher of an older stackctl started it as the session's user)"),
        ),
        None => Check::warn(&h.name, s.role, "user", format!("{runs}; the session's user is unknown")),
    }
}

/// Is every service running, on the JDK the inventory names, with files as planned?
fn host_checks(
    inv: &Inventory,
    h: &Host,
    hp: &plan::HostPlan,
    services: &[Service],
    f: &HostFacts,
    out: &mut Vec<Check>,
) {
    let home_java = f.java.clone();
    for s in services {
        let Some(pid) = f.running.get(s.role) else {
            out.push(Check::fail(
                &h.name,
                s.role,
                "process",
                format!(
                    "not running (`{} status` says stopped)",
                    Service::launcher(h, s.role)
                ),
            ));
            continue;
        };
        let Some((exe, jv)) = f.jvm.get(s.role) else {
            out.push(Check::warn(
                &h.name,
                s.role,
                "process",
                format!("running, pid {pid}, but its JVM cannot be read (/proc/{pid}/exe): JDK not checked"),
            ));
            continue;
        };
        // No `release` file beside that JDK: when it is java_home's, `java -version` said it.
        let same = f.java_home_exe.as_deref() == Some(exe.as_str());
        let jv = match (jv.as_str(), same, &home_java) {
            ("?", true, Some(j)) => j.raw.clone(),
            _ => jv.clone(),
        };
        let running = JavaVersion::parse(&jv).ok();
        let mut evidence = format!("running, pid {pid}, Java {jv} (java_home {})", h.java_home);
        let mut status = Status::Pass;
        if !same {
            status = Status::Fail;
            let home = match (&f.java_home_exe, &home_java) {
                (Some(_), Some(j)) => format!("is Java {}", j.raw),
                _ => "has no Java".to_string(),
            };
            evidence = format!(
                "runs on Java {jv} ({}), but the inventory's java_home {} {home}: restart it with `stackctl up`",
                java_label(exe),
                h.java_home
            );
        }
        if let (Some(j), Some(spec)) = (&running, inv.component(component_of(s.role))) {
            // Only a rule that says "not supported" fails here; `plan` shows the softer verdicts.
            if let Some(v) = compat::jdk(spec.name, &spec.version, j) {
                if v.level == Level::Error {
                    status = Status::Fail;
                    evidence.push_str(&format!("; {} [{}]", v.message, v.source));
                }
            }
        }
        out.push(Check::new(&h.name, s.role, "process", status, evidence));
        out.push(owner_check(h, s, f));
    }
    // A systemd unit is planned for every service but installed only where systemd is the init.
    let planned: Vec<&crate::render::RenderedFile> = hp
        .files
        .iter()
        .filter(|pf| f.systemd || !pf.needs_systemd)
        .collect();
    let differ: Vec<&str> = planned
        .iter()
        .filter(|pf| f.sha256.get(&pf.path) != Some(&pf.sha256))
        .map(|pf| pf.path.as_str())
        .collect();
    if differ.is_empty() {
        out.push(Check::pass(
            &h.name,
            "files",
            "as planned",
            format!("{} files as planned", planned.len()),
        ));
    } else {
        out.push(Check::warn(
            &h.name,
            "files",
            "as planned",
            format!(
                "{} of {} files differ from the plan (`stackctl plan --live` shows how): {}",
                differ.len(),
                planned.len(),
                differ.join(", ")
            ),
        ));
    }
}

/// Will the services come back after a reboot or a crash? Under systemd: each unit active,
/// enabled, and how often it restarted; without systemd: a warning that nothing supervises them.
fn supervision_checks(
    inv: &Inventory,
    h: &Host,
    services: &[Service],
    f: &HostFacts,
    out: &mut Vec<Check>,
) {
    if services.is_empty() {
        return;
    }
    if !f.systemd {
        out.push(Check::warn(
            &h.name,
            "supervision",
            "survives a reboot",
            "no systemd on this host: its services run under nohup launchers, and neither a reboot nor a crash brings them back until `stackctl up`",
        ));
        return;
    }
    for s in services {
        let unit = Service::unit_name(&inv.cluster, s.role);
        let Some(u) = f.units.get(s.role).filter(|u| u.load == "loaded") else {
            let load = f.units.get(s.role).map_or("unknown", |u| u.load.as_str());
            out.push(Check::fail(
                &h.name,
                s.role,
                "unit",
                format!("{unit} is not installed ({load}): run `stackctl up`"),
            ));
            continue;
        };
        let ok = u.active == "active" && u.enabled == "enabled";
        let restarts = match u.restarts {
            0 => String::new(),
            1 => ", restarted once by systemd".to_string(),
            n => format!(", restarted {n} times by systemd"),
        };
        let result = if u.result.is_empty() || u.result == "success" {
            String::new()
        } else {
            format!(", last result {}", u.result)
        };
        let status = if !ok {
            Status::Fail
        } else if u.restarts > 0 {
            Status::Warn
        } else {
            Status::Pass
        };
        out.push(Check::new(
            &h.name,
            s.role,
            "unit",
            status,
            format!("{unit} {}, {}{restarts}{result}", u.active, u.enabled),
        ));
    }
}

/// Each service's classpath, expanded over the jars installed on the host: two versions of
/// one artifact fail, naming both jars (a jar dropped into a distribution's `lib/` by hand).
fn classpath_checks(
    inv: &Inventory,
    h: &Host,
    services: &[Service],
    f: &HostFacts,
    out: &mut Vec<Check>,
) {
    use crate::compat::classpath;
    let homes: Vec<(String, Vec<String>)> = inv
        .components
        .values()
        .filter(|s| h.has_component(s.name))
        .filter_map(|spec| {
            let c = components::find(spec.name).expect("known");
            let home = components::home_dir(h, c, spec);
            let files = f.jars.get(&home).filter(|j| !j.is_empty())?;
            Some((home, classpath::below_top(files)))
        })
        .collect();
    for s in services {
        let jars = classpath::on_classpath(&s.classpath, &homes);
        if jars.is_empty() {
            // No distribution installed: the `installed` check says so.
            continue;
        }
        let found = classpath::conflicts(&jars);
        if found.is_empty() {
            out.push(Check::pass(
                &h.name,
                s.role,
                "classpath",
                format!("{} jars, one version of each artifact", jars.len()),
            ));
            continue;
        }
        let what: Vec<String> = found
            .iter()
            .map(|k| {
                format!(
                    "{} versions of {}: {}",
                    k.jars.len(),
                    k.artifact,
                    k.jars.join(" and ")
                )
            })
            .collect();
        out.push(Check::fail(
            &h.name,
            s.role,
            "classpath",
            format!(
                "{}; the JVM loads each class from the first",
                what.join("; ")
            ),
        ));
    }
}

/// The distributions on a host, read from their jars, against the inventory's versions.
fn installed_versions(
    inv: &Inventory,
    h: &Host,
    f: &HostFacts,
    out: &mut Vec<Check>,
) -> BTreeMap<&'static str, Detected> {
    let mut found = BTreeMap::new();
    for spec in inv.components.values().filter(|s| h.has_component(s.name)) {
        let c = components::find(spec.name).expect("known");
        let home = components::home_dir(h, c, spec);
        let files = f.jars.get(&home).cloned().unwrap_or_default();
        if files.is_empty() {
            out.push(Check::fail(
                &h.name,
                spec.name,
                "installed",
                format!("no {} distribution at {home}", spec.name),
            ));
            continue;
        }
        let listing = Listing {
            source: PathBuf::from(&home),
            files,
        };
        let Some(det) = c.detect(&listing) else {
            out.push(Check::fail(
                &h.name,
                spec.name,
                "installed",
                format!("{home} holds no jar naming a {} version", spec.name),
            ));
            continue;
        };
        let bundles = det
            .bundles
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>();
        let with = if bundles.is_empty() {
            String::new()
        } else {
            format!(" with {}", bundles.join(", "))
        };
        match &det.version {
            Some(v) if *v == spec.version => out.push(Check::pass(
                &h.name,
                spec.name,
                "installed",
                format!("{} {v}{with} ({home})", spec.name),
            )),
            Some(v) => out.push(Check::fail(
                &h.name,
                spec.name,
                "installed",
                format!(
                    "{home} holds {} {v} ({}), but the inventory says {}",
                    spec.name,
                    det.evidence.first().cloned().unwrap_or_default(),
                    spec.version
                ),
            )),
            None => {}
        }
        found.insert(spec.name, det);
    }
    found
}

/// The jars a distribution bundles (Kafka's ZooKeeper client, HBase's Hadoop jars) must be what
/// its release ships, the same on every host.
fn bundle_agreement(
    inv: &Inventory,
    installed: &BTreeMap<String, BTreeMap<&'static str, Detected>>,
    out: &mut Vec<Check>,
) {
    let (expected, _) = versions::resolve_versions(inv);
    for cv in &expected {
        let mut seen: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for (host, dets) in installed {
            if let Some(d) = dets.get(cv.component.as_str()) {
                for (k, v) in &d.bundles {
                    seen.entry(k.clone())
                        .or_default()
                        .entry(v.raw.clone())
                        .or_default()
                        .push(host.clone());
                }
            }
        }
        for (bundle, versions) in seen {
            let want = cv.bundles.get(&bundle).map(|v| v.raw.clone());
            // The release's jar if we know it, else what most hosts have.
            let reference = want.clone().unwrap_or_else(|| {
                versions
                    .iter()
                    .max_by_key(|(_, hosts)| hosts.len())
                    .map(|(v, _)| v.clone())
                    .unwrap_or_default()
            });
            let why = match &want {
                Some(_) => format!(
                    "{} {} ships {bundle} {reference} ({})",
                    cv.component, cv.version, cv.bundles_from
                ),
                None => format!("most hosts have {reference}"),
            };
            for (v, hosts) in &versions {
                if *v != reference {
                    for h in hosts {
                        out.push(Check::fail(
                            h,
                            &cv.component,
                            "bundled jars",
                            format!(
                                "{}'s {bundle} jar is {v}, but {why}; other hosts: {}",
                                cv.component,
                                versions
                                    .iter()
                                    .filter(|(ov, _)| *ov != v)
                                    .map(|(ov, hs)| format!("{} on {}", ov, hs.join(", ")))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                        ));
                    }
                }
            }
        }
    }
}

/// The compatibility rules, evaluated per host with the versions found there and the versions
/// the running services report (ZooKeeper's servers, the NameNode).
fn version_rules(
    inv: &Inventory,
    installed: &BTreeMap<String, BTreeMap<&'static str, Detected>>,
    reported: &BTreeMap<&'static str, Version>,
    out: &mut Vec<Check>,
) {
    let (expected, _) = versions::resolve_versions(inv);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for h in &inv.hosts {
        let Some(dets) = installed.get(&h.name) else {
            continue;
        };
        let versions: Vec<ComponentVersions> = expected
            .iter()
            .map(|cv| {
                let mut cv = cv.clone();
                if let Some(d) = dets.get(cv.component.as_str()) {
                    if let Some(v) = &d.version {
                        cv.version = v.clone();
                    }
                    cv.bundles = d.bundles.clone();
                    cv.bundles_from = format!("installed on {}", h.name);
                } else if let Some(v) = reported.get(cv.component.as_str()) {
                    cv.version = v.clone();
                }
                cv
            })
            .collect();
        let mut ok = 0;
        for v in versions::check(inv, &versions)
            .into_iter()
            .filter(|v| v.other != "java" && v.relation != "release")
        {
            let involves_host = dets.contains_key(v.subject.as_str())
                || dets.contains_key(v.subject.split(' ').next().unwrap_or(""))
                || v.subject == "zookeeper-client"
                || v.subject == "hadoop-jars";
            match v.level {
                Level::Ok => ok += 1,
                _ if !involves_host => {}
                level => {
                    // The same verdict on every host is said once per host that has it.
                    if !seen.insert(format!("{}\0{}", h.name, v.message)) {
                        continue;
                    }
                    let status = if level == Level::Error {
                        Status::Fail
                    } else {
                        Status::Warn
                    };
                    let src = if v.source.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", v.source)
                    };
                    out.push(Check::new(
                        &h.name,
                        "versions",
                        "compatibility",
                        status,
                        format!("{}{src}", v.message),
                    ));
                }
            }
        }
        if !out
            .iter()
            .any(|c| c.host == h.name && c.service == "versions")
        {
            let list = versions
                .iter()
                .filter(|cv| dets.contains_key(cv.component.as_str()))
                .map(|cv| format!("{} {}", cv.component, cv.version))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(Check::pass(
                &h.name,
                "versions",
                "compatibility",
                format!("{list}: {ok} rule(s) checked, no conflict"),
            ));
        }
    }
}
