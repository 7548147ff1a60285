//! The pure core of `up`: from a host's facts to what must change there, what is wrong with
//! it, and which services start or restart in which order. No SSH here: every function takes
//! recorded facts, so all of it is tested from fixture files (tests/engine.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compat::{self, Level};
use crate::components::{self, Cluster, Restart, Service};
use crate::inventory::{self, Host, Inventory};
use crate::plan::{HostPlan, Plan, Stage};
use crate::remote::facts::{FactRequest, HostFacts};
use crate::shell::shell_quote;

/// One host as the engine sees it after gathering: what is planned for it, the services it
/// runs, and what it reported.
#[derive(Debug, Clone)]
pub struct HostState<'a> {
    pub host: &'a Host,
    pub plan: &'a HostPlan,
    pub services: Vec<Service>,
    pub facts: HostFacts,
}

impl HostState<'_> {
    /// The planned files this host gets: systemd units only where systemd is the init.
    pub fn planned_files(&self) -> impl Iterator<Item = &crate::render::RenderedFile> + '_ {
        let systemd = self.facts.systemd;
        self.plan
            .files
            .iter()
            .filter(move |f| systemd || !f.needs_systemd)
    }
}

/// Local archives by component: path and sha256 (empty when the file is missing).
pub type Archives<'a> = BTreeMap<&'a str, (PathBuf, String)>;

/// Where an archive is kept on a host (the checksum record sits beside it).
pub fn archive_dest(host: &Host, local: &Path) -> String {
    format!(
        "{}/.stackctl/dist/{}",
        host.install_dir,
        local
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    )
}

/// The list of every file stackctl wrote on a host, with their checksums.
pub fn manifest_path(inv: &Inventory) -> String {
    format!("/var/lib/stackctl/{}.manifest", inv.cluster)
}

/// Where a host keeps the commit journal of a file batch while it is being committed.
pub fn journal_path(cluster: &str) -> String {
    format!("/var/lib/stackctl/{cluster}.batch")
}

/// Finishes a batch whose commit was interrupted (its journal is complete once it exists): the
/// renames are replayed, so the host holds the whole new generation. Prints RECOVERED if so.
pub fn recover_script(journal: &str) -> String {
    let j = shell_quote(journal);
    format!("J={j}; if [ -f \"$J\" ]; then sh \"$J\" && rm -f \"$J\" && echo RECOVERED; fi")
}

/// A restart owed to a running service: written in the same batch as the files that change
/// it, removed by the restart itself. A run that wrote the files but never got to the restart
/// (a failure elsewhere, an interruption, a kill) leaves it, and the next run restarts the
/// service although its files already match.
pub fn restart_marker(cluster: &str, role: &str) -> String {
    format!("/var/lib/stackctl/{cluster}.pending-restart.{role}")
}

/// The services `host` runs, from every declared component.
pub fn services(cl: &Cluster, host: &Host) -> Vec<Service> {
    components::all()
        .iter()
        .filter(|c| cl.inv.component(c.name()).is_some())
        .flat_map(|c| c.services(cl, host))
        .collect()
}

fn declared(inv: &Inventory) -> impl Iterator<Item = &'static dyn components::Component> + '_ {
    components::all()
        .iter()
        .copied()
        .filter(|c| inv.component(c.name()).is_some())
}

/// What `up` asks a host in its one facts round trip.
pub fn fact_request(cl: &Cluster, host: &Host, hp: &HostPlan, services: &[Service]) -> FactRequest {
    let inv = cl.inv;
    let mut req = FactRequest {
        java_home: host.java_home.clone(),
        ..Default::default()
    };
    req.checksum = hp.files.iter().map(|f| f.path.clone()).collect();
    for spec in inv.components.values() {
        if let Some((local, _)) = &spec.archive {
            req.archives.push(archive_dest(host, local));
        }
        let c = components::find(spec.name).expect("known");
        let home = components::home_dir(host, c, spec);
        req.read.push(format!("{home}/.stackctl-unpacked"));
        req.exists.push(home);
    }
    req.launchers = services
        .iter()
        .map(|s| (s.role.to_string(), Service::launcher(host, s.role)))
        .collect();
    req.units = services
        .iter()
        .map(|s| (s.role.to_string(), Service::unit_name(&inv.cluster, s.role)))
        .collect();
    req.dirs = free_space_dirs(host);
    // Production preflight (issue 12): the filesystem under every state directory.
    req.fs_dirs = components::state_dirs(cl, host)
        .into_iter()
        .map(|d| d.dir)
        .collect();
    req.fs_dirs.dedup();
    for c in declared(inv) {
        req.read.extend(c.fact_reads(cl, host));
        req.read
            .extend(c.identity_files(cl, host).into_iter().map(|f| f.path));
    }
    req.read.extend(
        services
            .iter()
            .map(|s| restart_marker(&inv.cluster, s.role)),
    );
    req.accounts = accounts(services);
    req.owned_dirs = owned_dirs(services);
    req
}

// --- users (issue 12: service users) ---

/// The service accounts (user, group) the services of a host run as, each once.
pub fn accounts(services: &[Service]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in services {
        if let Some(u) = &s.user {
            let g = s.group.clone().unwrap_or_else(|| u.clone());
            if !out.iter().any(|(x, _)| x == u) {
                out.push((u.clone(), g));
            }
        }
    }
    out
}

/// Every directory a service account owns on the host: (dir, user, group). A directory two
/// services name goes to the first (services are in start order), so the answer is stable.
pub fn owned_dirs(services: &[Service]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for s in services {
        let Some(u) = &s.user else { continue };
        let g = s.group.clone().unwrap_or_else(|| u.clone());
        for d in &s.owned_dirs {
            let d = d.trim_end_matches('/').to_string();
            if !d.is_empty() && !out.iter().any(|(x, ..)| *x == d) {
                out.push((d, u.clone(), g.clone()));
            }
        }
    }
    out
}

/// Whether the session on this host is root (by login or become), from its facts.
pub fn session_is_root(f: &HostFacts) -> bool {
    f.uid == Some(0)
}

/// Whether missing accounts are created on this host: `create_users`, else yes when root.
pub fn creates_users(h: &Host, f: &HostFacts) -> bool {
    h.create_users.unwrap_or(session_is_root(f))
}

/// The owner (`user:group`) a rendered file must have: a secret's file belongs to the account
/// of its component's services on the host (the only one that reads it), when they share one.
pub fn file_owner(t: &HostState, f: &crate::render::RenderedFile) -> Option<String> {
    if !f.secret {
        return None;
    }
    let mut owners = t
        .services
        .iter()
        .filter(|s| components::role(s.role).map(|r| r.component) == Some(f.component.as_str()))
        .map(|s| {
            s.user
                .as_ref()
                .map(|u| format!("{u}:{}", s.group.as_deref().unwrap_or(u)))
        });
    let first = owners.next()??;
    owners
        .all(|o| o.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// Users problems found before anything changes: a missing account that may not be created.
fn users_preflight(t: &HostState) -> Vec<String> {
    let h = t.host;
    let f = &t.facts;
    let mut problems = Vec::new();
    let wanted = accounts(&t.services);
    if wanted.is_empty() || f.uid.is_none() {
        return problems;
    }
    if !session_is_root(f) {
        if h.create_users == Some(true) {
            problems.push(format!(
                "{}: create_users is true but the session is not root (uid {}): add `become: sudo` or log in as root",
                h.name,
                f.uid.unwrap_or_default()
            ));
        }
        return problems;
    }
    if creates_users(h, f) {
        return problems;
    }
    for (u, g) in &wanted {
        if !f.users.contains(u) {
            problems.push(format!(
                "{}: service user `{u}` does not exist and create_users is false: create it (useradd --system {u}) or set create_users: true",
                h.name
            ));
        }
        if !f.groups.contains(g) {
            problems.push(format!(
                "{}: group `{g}` does not exist and create_users is false: create it (groupadd --system {g}) or set create_users: true",
                h.name
            ));
        }
    }
    problems
}

/// The directories whose free space preflight checks.
fn free_space_dirs(host: &Host) -> Vec<String> {
    vec![
        host.install_dir.clone(),
        host.data_dir.clone(),
        host.log_dir.clone(),
    ]
}

/// Whether a host runs any role of a component.
fn runs_component(t: &HostState, component: &str) -> bool {
    t.services
        .iter()
        .any(|s| components::role(s.role).map(|r| r.component) == Some(component))
}

/// Preflight: every problem on every host, one line each, before anything changes.
pub fn preflight(cl: &Cluster, states: &[HostState], archives: &Archives) -> Vec<String> {
    let inv = cl.inv;
    let mut problems = Vec::new();
    for t in states {
        let h = t.host;
        match &t.facts.java {
            None => problems.push(format!(
                "{}: no Java at {} (`{}/bin/java -version` said: {})",
                h.name,
                h.java_home,
                h.java_home,
                t.facts
                    .java_output
                    .lines()
                    .next()
                    .unwrap_or("nothing")
                    .trim()
            )),
            Some(j) => {
                if let Some((declared, _)) = &h.java_version {
                    if declared.major != j.major {
                        problems.push(format!(
                            "{}: {} is Java {} but the inventory says java_version {}",
                            h.name, h.java_home, j.raw, declared.raw
                        ));
                    }
                }
                // The compatibility rules again, with the JDK the host really has.
                for c in inv.components.values().filter(|c| h.has_component(c.name)) {
                    if let Some(v) =
                        compat::jdk(c.name, &c.version, j).filter(|v| v.level == Level::Error)
                    {
                        problems.push(format!("{}: {}", h.name, v.message));
                    }
                }
            }
        }
        // Every directory the facts asked about is measured, or said why not: a df line that
        // cannot be read is a problem, not a skipped check.
        for dir in free_space_dirs(h) {
            match t.facts.free_kb.get(&dir) {
                Some(kb) if *kb < 512 * 1024 => {
                    problems.push(format!("{}: only {} MiB free for {dir}", h.name, kb / 1024))
                }
                Some(_) => {}
                None => problems.push(match t.facts.free_kb_unread.get(&dir) {
                    Some(said) => format!(
                        "{}: cannot read the free space for {dir}: df said `{}`",
                        h.name,
                        said.escape_debug()
                    ),
                    None => format!(
                        "{}: cannot read the free space for {dir}: no df answer",
                        h.name
                    ),
                }),
            }
        }
        for c in declared(inv) {
            for p in c.ports(inv, h) {
                if t.facts.listening.contains(&p.port) && !t.facts.running.contains_key(p.role) {
                    problems.push(format!(
                        "{}: port {} ({} {}) is already taken by another process",
                        h.name, p.port, p.role, p.what
                    ));
                }
            }
        }
        for c in declared(inv) {
            for f in c.identity_files(cl, h) {
                let Some(have) = t.facts.contents.get(&f.path).and_then(|t| (f.read)(t)) else {
                    continue;
                };
                if have != f.want {
                    problems.push(format!("{}: {} says {have} but the lock file assigns {}: refusing to start a server under another identity", h.name, f.path, f.want));
                }
            }
        }
        for spec in inv.components.values() {
            let c = components::find(spec.name).expect("known");
            if !runs_component(t, spec.name) {
                continue;
            }
            let home = components::home_dir(h, c, spec);
            if spec.archive.is_none() && !t.facts.existing_dirs.contains(&home) {
                problems.push(format!(
                    "{}: {home} does not exist and components.{}.archive is not set",
                    h.name, spec.name
                ));
            }
            if let Some((path, _)) = archives.get(spec.name) {
                if !path.exists() {
                    problems.push(format!(
                        "{}: archive {} does not exist",
                        h.name,
                        path.display()
                    ));
                }
            }
        }
    }
    for t in states {
        problems.extend(users_preflight(t));
    }
    // Problems only a look across hosts finds (a DataNode of another HDFS cluster).
    let pairs: Vec<(&Host, &HostFacts)> = states.iter().map(|t| (t.host, &t.facts)).collect();
    for c in declared(inv) {
        problems.extend(c.preflight(cl, &pairs));
    }
    problems
}

/// What `up` would do on one host, decided from its facts before anything changes: shown by
/// `plan --live`, carried out by `up`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct HostChanges {
    pub host: String,
    /// Components whose archive is uploaded (missing on the host, or another checksum).
    pub upload: Vec<String>,
    /// Components unpacked into their home directory.
    pub unpack: Vec<String>,
    /// Rendered files that are new or differ on the host.
    pub files: Vec<String>,
    /// Roles started (not running) and restarted (running, but their files or distribution change).
    pub start: Vec<String>,
    pub restart: Vec<String>,
    /// Service accounts created (missing on the host): `user:group`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create_users: Vec<String>,
    /// Directories and files given to their service account: (path, `user:group`). A
    /// directory is given with everything inside.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chown: Vec<(String, String)>,
    /// Not a change: the login user every service runs as, when the session is not root (no
    /// become), so the launchers switch to no service user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_as_login: Option<String>,
}

impl HostChanges {
    pub fn is_empty(&self) -> bool {
        self.create_users.is_empty()
            && self.chown.is_empty()
            && self.upload.is_empty()
            && self.unpack.is_empty()
            && self.files.is_empty()
            && self.start.is_empty()
            && self.restart.is_empty()
    }
}

/// Compares a host's facts with its plan.
pub fn host_changes(inv: &Inventory, t: &HostState, archives: &Archives) -> HostChanges {
    let h = t.host;
    let mut c = HostChanges {
        host: h.name.clone(),
        ..Default::default()
    };
    for spec in inv.components.values() {
        let Some((local, sum)) = archives.get(spec.name) else {
            continue;
        };
        if !runs_component(t, spec.name) {
            continue;
        }
        if t.facts.sha256.get(&archive_dest(h, local)) != Some(sum) {
            c.upload.push(spec.name.to_string());
        }
        let home = components::home_dir(h, components::find(spec.name).expect("known"), spec);
        let marker = t
            .facts
            .contents
            .get(&format!("{home}/.stackctl-unpacked"))
            .map(|s| s.trim());
        if marker != Some(sum.as_str()) {
            c.unpack.push(spec.name.to_string());
        }
    }
    if !session_is_root(&t.facts) && t.facts.uid.is_some() && !accounts(&t.services).is_empty() {
        c.runs_as_login = Some(
            t.facts
                .login_user
                .clone()
                .unwrap_or_else(|| format!("uid {}", t.facts.uid.unwrap_or_default())),
        );
    }
    if session_is_root(&t.facts) {
        if creates_users(h, &t.facts) {
            for (u, g) in accounts(&t.services) {
                if !t.facts.users.contains(&u) || !t.facts.groups.contains(&g) {
                    c.create_users.push(format!("{u}:{g}"));
                }
            }
        }
        for (d, u, g) in owned_dirs(&t.services) {
            if t.facts.dirs_owned.get(&d) != Some(&true) {
                c.chown.push((d, format!("{u}:{g}")));
            }
        }
        for f in &t.plan.files {
            if let Some(o) = file_owner(t, f) {
                if t.facts.owners.get(&f.path) != Some(&o) {
                    c.chown.push((f.path.clone(), o));
                }
            }
        }
    }
    let content_changed: Vec<String> = t
        .planned_files()
        .filter(|f| t.facts.sha256.get(&f.path) != Some(&f.sha256))
        .map(|f| f.path.clone())
        .collect();
    // A file whose content matches but whose mode does not (a secret's file left 0644 by an
    // older stackctl) is written again, with its mode; that alone restarts nothing.
    c.files = t
        .planned_files()
        .filter(|f| {
            content_changed.contains(&f.path)
                || t.facts.modes.get(&f.path).is_some_and(|m| *m != f.mode)
        })
        .map(|f| f.path.clone())
        .collect();
    for svc in &t.services {
        let comp = components::role(svc.role)
            .map(|r| r.component)
            .unwrap_or("");
        let owed = t
            .facts
            .contents
            .contains_key(&restart_marker(&inv.cluster, svc.role));
        let touched = owed
            || c.unpack.iter().any(|u| u == comp)
            || content_changed.contains(&Service::launcher(h, svc.role))
            || content_changed.contains(&Service::unit_file(&inv.cluster, svc.role))
            || svc.config_files.iter().any(|f| content_changed.contains(f));
        match (t.facts.running.contains_key(svc.role), touched) {
            (false, _) => c.start.push(svc.role.to_string()),
            (true, true) => c.restart.push(svc.role.to_string()),
            (true, false) => {}
        }
    }
    c
}

/// One stage of the start walk as it will run: which hosts restart (and how), which start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStep {
    pub role: String,
    pub restart_policy: &'static str,
    /// Restarted in this order (one at a time, each behind the gate, when rolling).
    pub restart: Vec<String>,
    /// Started together.
    pub start: Vec<String>,
    /// Every host of the stage: the gate waits for all of them.
    pub gate: Vec<String>,
}

/// The walk `up` takes, stage by stage in start order: stages with nothing to start or
/// restart are left out. Host names follow the inventory order.
pub fn steps(plan: &Plan, changes: &[HostChanges]) -> Vec<StageStep> {
    let by_host: BTreeMap<&str, &HostChanges> =
        changes.iter().map(|c| (c.host.as_str(), c)).collect();
    let mut out = Vec::new();
    for stage in &plan.stages {
        let members: Vec<(&str, &HostChanges)> = stage
            .hosts
            .iter()
            .filter_map(|h| by_host.get(h.as_str()).map(|c| (h.as_str(), *c)))
            .collect();
        let pick = |f: fn(&HostChanges) -> &Vec<String>| -> Vec<String> {
            members
                .iter()
                .filter(|(_, c)| f(c).contains(&stage.role))
                .map(|(h, _)| h.to_string())
                .collect()
        };
        let (start, restart) = (pick(|c| &c.start), pick(|c| &c.restart));
        if start.is_empty() && restart.is_empty() {
            continue;
        }
        out.push(StageStep {
            role: stage.role.clone(),
            restart_policy: match restart_policy(stage) {
                Restart::Rolling => "rolling",
                Restart::Together => "together",
            },
            restart,
            start,
            gate: members.iter().map(|(h, _)| h.to_string()).collect(),
        });
    }
    out
}

/// How a stage's running instances restart: the owning component decides.
pub fn restart_policy(stage: &Stage) -> Restart {
    components::role(&stage.role)
        .and_then(|r| components::find(r.component))
        .map_or(Restart::Together, |c| c.restart(&stage.role))
}

/// Directories that are never deleted and never count as one stackctl created, whatever an
/// inventory says: the file system's own (FHS) and the usual mount points.
pub const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

fn is_system_dir(p: &str) -> bool {
    SYSTEM_DIRS.contains(&squash(p).as_str())
}

/// A path with runs of `/` collapsed and no trailing `/` (`//data/` is `/data`), so that
/// comparisons see the directory the kernel sees.
fn squash(p: &str) -> String {
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

/// What `down --purge` deletes on `h` (see `purge_list`).
pub fn data_dirs(cl: &Cluster, h: &Host) -> Vec<String> {
    purge_list(cl, h).delete
}

/// `inner` is strictly below `outer`.
fn strictly_inside(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner.len() > outer.len() && inner.starts_with(outer) && inner[outer.len()..].starts_with('/')
}

/// What `down --purge` does on one host: the directories it deletes, and those it refuses to
/// delete with the reason (each is printed before anything happens).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostPurge {
    pub host: String,
    pub delete: Vec<String>,
    pub refused: Vec<(String, String)>,
}

/// The directories stackctl created for this cluster on `h`, below which `down --purge` may
/// delete: the host's `data_dir`, `log_dir` and `install_dir`, unless one is a system
/// directory (`data_dir: /var` makes `/var` no directory of stackctl's: nothing below it is
/// purged).
pub fn purge_roots(h: &Host) -> Vec<String> {
    let mut roots: Vec<String> = [&h.data_dir, &h.log_dir, &h.install_dir]
        .iter()
        .map(|d| squash(d))
        .filter(|d| inventory::plain_abs_path(d) && !is_system_dir(d))
        .collect();
    roots.dedup();
    roots
}

/// Whether `down --purge` may delete `dir` on `h`, and why not.
pub fn purge_refusal(h: &Host, dir: &str) -> Option<String> {
    let all_roots = [&h.data_dir, &h.log_dir, &h.install_dir].map(|r| squash(r));
    let dir = &squash(dir);
    if !inventory::plain_abs_path(dir) {
        return Some("not a plain absolute path".into());
    }
    if is_system_dir(dir) {
        return Some("a system directory".into());
    }
    if let Some(r) = all_roots
        .iter()
        .find(|r| *r == dir || strictly_inside(r, dir))
    {
        return Some(format!(
            "it is or holds {r}, a directory of the host itself"
        ));
    }
    let roots = purge_roots(h);
    if !roots.iter().any(|r| strictly_inside(dir, r)) {
        let system: Vec<&str> = all_roots
            .iter()
            .map(|r| r.as_str())
            .filter(|r| is_system_dir(r) && strictly_inside(dir, r))
            .collect();
        return Some(match system.first() {
            Some(r) => format!("{r} is a system directory, not one stackctl created"),
            None => format!(
                "not inside a directory stackctl created ({})",
                roots.join(", ")
            ),
        });
    }
    None
}

/// Every directory the rendered configuration gives a service's data on `h` (each component
/// says its own through `data_dirs`, read from its effective properties), plus the launchers'
/// pid directory; split into what `down --purge` deletes and what it refuses to.
pub fn purge_list(cl: &Cluster, h: &Host) -> HostPurge {
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    dirs.insert(Service::run_dir(h));
    for c in declared(cl.inv) {
        dirs.extend(c.data_dirs(cl, h));
    }
    let dirs: BTreeSet<String> = dirs.into_iter().map(|d| squash(&d)).collect();
    let mut out = HostPurge {
        host: h.name.clone(),
        ..Default::default()
    };
    for d in &dirs {
        match purge_refusal(h, d) {
            Some(why) => out.refused.push((d.clone(), why)),
            None => out.delete.push(d.clone()),
        }
    }
    // A directory inside another one on the list goes with it.
    let all = out.delete.clone();
    out.delete
        .retain(|d| !all.iter().any(|o| strictly_inside(d, o)));
    out
}
