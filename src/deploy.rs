//! `stackctl up` and `down`: from a plan to running services, over SSH, in dependency order.
//!
//! Plan first, then apply exactly the plan: connect to every host, gather facts (one round
//! trip each), refuse in preflight when anything is wrong (before a single byte is written),
//! then upload what differs, write what changed, and walk the start stages with health gates.
//! A second run finds nothing to do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::components::{self, hadoop, kafka, zookeeper, Cluster, Service};
use crate::facts::{self, FactRequest, HostFacts};
use crate::inventory::{self, Host, Inventory};
use crate::plan::{self, HostPlan, Plan, PlanError, PlanOptions, Stage};
use crate::render::shell_quote;
use crate::transport::{Remote, SshOptions};

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub inventory: PathBuf,
    pub templates: Option<PathBuf>,
    pub locked: bool,
    pub ssh: SshOptions,
    /// Hosts worked on at once.
    pub forks: usize,
    /// Only these hosts (by name).
    pub limit: Option<Vec<String>>,
    pub json: bool,
    /// How long a health gate may wait.
    pub gate_timeout: Duration,
}

#[derive(Debug)]
pub enum DeployError {
    /// The inventory or lock file is wrong (exit 2).
    Invalid(PlanError),
    /// Something is wrong on the hosts; nothing was changed (exit 3).
    Preflight(Vec<String>),
    /// A step failed (exit 1).
    Failed(anyhow::Error),
}

impl std::fmt::Display for DeployError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeployError::Invalid(e) => write!(f, "{e}"),
            DeployError::Preflight(lines) => {
                writeln!(f, "error: preflight failed; nothing was changed:")?;
                for l in lines {
                    writeln!(f, "  - {l}")?;
                }
                Ok(())
            }
            DeployError::Failed(e) => write!(f, "error: {e:#}"),
        }
    }
}

/// What a run did, for the summary line and scripts.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub hosts: usize,
    pub uploaded_bytes: u64,
    pub archives_uploaded: usize,
    pub archives_unpacked: usize,
    pub files_written: usize,
    pub started: Vec<String>,
    pub restarted: Vec<String>,
    pub stopped: Vec<String>,
    pub seconds: f64,
}

impl Summary {
    pub fn changed(&self) -> bool {
        self.uploaded_bytes > 0
            || self.archives_unpacked > 0
            || self.files_written > 0
            || !self.started.is_empty()
            || !self.restarted.is_empty()
    }
}

pub use crate::events::Events;

struct Target<'a> {
    host: &'a Host,
    plan: &'a HostPlan,
    services: Vec<Service>,
    remote: Remote,
    facts: HostFacts,
}

fn manifest_path(inv: &Inventory) -> String {
    format!("/var/lib/stackctl/{}.manifest", inv.cluster)
}

fn archive_dest(host: &Host, local: &Path) -> String {
    format!(
        "{}/.stackctl/dist/{}",
        host.install_dir,
        local
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    )
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Loads, validates and plans; compatibility errors stop `up` before it connects.
fn prepare(opts: &UpOptions) -> Result<(Inventory, Plan), DeployError> {
    let (inv, plan) = plan::load_and_plan(
        &opts.inventory,
        &PlanOptions {
            templates: opts.templates.clone(),
            locked: opts.locked,
            read_only: false,
        },
    )
    .map_err(DeployError::Invalid)?;
    if plan.has_errors() {
        let mut lines: Vec<String> = plan
            .compat
            .iter()
            .filter(|v| v.level == crate::compat::Level::Error)
            .map(|v| v.message.clone())
            .collect();
        lines.extend(
            plan.diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone()),
        );
        lines.push("`stackctl plan` shows the details".into());
        return Err(DeployError::Preflight(lines));
    }
    if let Some(limit) = &opts.limit {
        let unknown: Vec<&String> = limit.iter().filter(|n| inv.host(n).is_none()).collect();
        if !unknown.is_empty() {
            return Err(DeployError::Invalid(PlanError::Other(anyhow!(
                "--limit names hosts that are not in the inventory: {}",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))));
        }
    }
    Ok((inv, plan))
}

fn selected<'a>(
    inv: &'a Inventory,
    plan: &'a Plan,
    limit: &Option<Vec<String>>,
) -> Vec<(&'a Host, &'a HostPlan)> {
    inv.hosts
        .iter()
        .zip(&plan.hosts)
        .filter(|(h, _)| limit.as_ref().is_none_or(|l| l.contains(&h.name)))
        .collect()
}

async fn connect_all<'a>(
    pairs: &[(&'a Host, &'a HostPlan)],
    opts: &UpOptions,
    ev: &Events,
) -> Result<Vec<(&'a Host, &'a HostPlan, Remote)>, DeployError> {
    let sem = Arc::new(Semaphore::new(opts.forks.max(1)));
    let mut tasks = Vec::new();
    for (h, p) in pairs {
        let sem = sem.clone();
        let ssh = opts.ssh.clone();
        let host = (*h).clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            Remote::connect(&host, &ssh).await
        }));
        let _ = p;
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for ((h, p), t) in pairs.iter().zip(tasks) {
        match t.await.map_err(|e| anyhow!("{e}")).and_then(|r| r) {
            Ok(r) => out.push((*h, *p, r)),
            Err(e) => problems.push(format!("{}: {e:#}", h.name)),
        }
    }
    if !problems.is_empty() {
        for (_, _, r) in out {
            r.close().await;
        }
        return Err(DeployError::Preflight(problems));
    }
    ev.emit(
        None,
        "connected",
        &format!(
            "connected to {} host{}",
            out.len(),
            if out.len() == 1 { "" } else { "s" }
        ),
    );
    Ok(out)
}

fn fact_request(
    inv: &Inventory,
    ids: &components::Ids,
    host: &Host,
    hp: &HostPlan,
    services: &[Service],
) -> FactRequest {
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
    req.dirs = vec![
        host.install_dir.clone(),
        host.data_dir.clone(),
        host.log_dir.clone(),
    ];
    req.read
        .extend(hdfs_version_files(inv, host).into_iter().map(|(_, f)| f));
    for (path, _) in identity_files(inv, host, ids) {
        req.read.push(path);
    }
    req
}

/// The HDFS `VERSION` files of a host's NameNode and DataNode directories: they carry the
/// clusterID that ties a DataNode to its NameNode.
fn hdfs_version_files(inv: &Inventory, host: &Host) -> Vec<(&'static str, String)> {
    let Some(spec) = inv.component(hadoop::NAME) else {
        return vec![];
    };
    let site = hadoop::Hadoop::site_props(inv, spec, host);
    let mut out = Vec::new();
    for (role, key) in [
        (hadoop::NAMENODE, "dfs.namenode.name.dir"),
        (hadoop::DATANODE, "dfs.datanode.data.dir"),
    ] {
        if host.has_role(role) {
            for d in site.hdfs.get(key).unwrap_or_default().split(',') {
                let d = d.trim().trim_start_matches("file://").trim_end_matches('/');
                if !d.is_empty() {
                    out.push((role, format!("{d}/current/VERSION")));
                }
            }
        }
    }
    out
}

/// A DataNode that belongs to another NameNode's cluster would be rejected at best, and an
/// operator pointing a NameNode at another cluster's DataNodes is a mistake: refuse both.
fn hdfs_drift(inv: &Inventory, targets: &[Target]) -> Vec<String> {
    let cluster_id = |t: &Target, path: &str| {
        t.facts
            .contents
            .get(path)
            .and_then(|v| facts::properties(v).get("clusterID").cloned())
    };
    let Some(nn) = targets.iter().find(|t| t.host.has_role(hadoop::NAMENODE)) else {
        return vec![];
    };
    let nn_files = hdfs_version_files(inv, nn.host);
    let Some((nn_file, nn_id)) = nn_files
        .iter()
        .filter(|(role, _)| *role == hadoop::NAMENODE)
        .find_map(|(_, f)| cluster_id(nn, f).map(|id| (f.clone(), id)))
    else {
        return vec![]; // not formatted yet: DataNodes adopt whatever it becomes
    };
    let mut problems = Vec::new();
    for t in targets.iter().filter(|t| t.host.has_role(hadoop::DATANODE)) {
        for (_, f) in hdfs_version_files(inv, t.host)
            .iter()
            .filter(|(role, _)| *role == hadoop::DATANODE)
        {
            if let Some(id) = cluster_id(t, f) {
                if id != nn_id {
                    problems.push(format!(
                        "{}: {f} belongs to HDFS cluster {id}, but the NameNode on {} ({nn_file}) is {nn_id}: refusing to start a DataNode against another NameNode",
                        t.host.name, nn.host.name
                    ));
                }
            }
        }
    }
    problems
}

/// Files on a host that carry an identity, with the value the inventory expects.
fn identity_files(inv: &Inventory, host: &Host, ids: &components::Ids) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let id = |field: &str| ids.get(field).and_then(|m| m.get(&host.name)).copied();
    if let (Some(spec), true) = (
        inv.component(zookeeper::NAME),
        host.has_role(zookeeper::ROLE),
    ) {
        let dir = zookeeper::ZooKeeper::props(spec, host)
            .get("dataDir")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        if let Some(i) = id("zookeeper_id") {
            out.push((format!("{dir}/myid"), i.to_string()));
        }
    }
    if let (Some(spec), true) = (inv.component(kafka::NAME), host.has_role(kafka::ROLE)) {
        let dirs = kafka::Kafka::props(inv, spec, host, None)
            .get("log.dirs")
            .unwrap_or_default()
            .to_string();
        if let Some(i) = id("broker_id") {
            for d in dirs.split(',').filter(|d| !d.trim().is_empty()) {
                out.push((
                    format!("{}/meta.properties", d.trim().trim_end_matches('/')),
                    i.to_string(),
                ));
            }
        }
    }
    out
}

/// Preflight: every problem on every host, one line each. Nothing is changed.
fn preflight(
    inv: &Inventory,
    ids: &components::Ids,
    targets: &[Target],
    archives: &BTreeMap<&str, (PathBuf, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for t in targets {
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
                    if let Some(v) = crate::compat::jdk(c.name, &c.version, j)
                        .filter(|v| v.level == crate::compat::Level::Error)
                    {
                        problems.push(format!("{}: {}", h.name, v.message));
                    }
                }
            }
        }
        for (dir, kb) in &t.facts.free_kb {
            if *kb < 512 * 1024 {
                problems.push(format!("{}: only {} MiB free for {dir}", h.name, kb / 1024));
            }
        }
        for c in components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
        {
            for p in c.ports(inv, h) {
                if t.facts.listening.contains(&p.port) && !t.facts.running.contains_key(p.role) {
                    problems.push(format!(
                        "{}: port {} ({} {}) is already taken by another process",
                        h.name, p.port, p.role, p.what
                    ));
                }
            }
        }
        for (path, want) in identity_files(inv, h, ids) {
            let Some(text) = t.facts.contents.get(&path) else {
                continue;
            };
            let have = if path.ends_with("myid") {
                Some(text.trim().to_string())
            } else {
                facts::properties(text).get("broker.id").cloned()
            };
            if let Some(have) = have {
                if have != want {
                    problems.push(format!("{}: {path} says {have} but the lock file assigns {want}: refusing to start a server under another identity", h.name));
                }
            }
        }
        for spec in inv.components.values() {
            let c = components::find(spec.name).expect("known");
            if !t
                .services
                .iter()
                .any(|s| components::role(s.role).map(|r| r.component) == Some(spec.name))
            {
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
    problems
}

pub fn up(opts: &UpOptions) -> Result<Summary, DeployError> {
    let (inv, plan) = prepare(opts)?;
    let rt = runtime().map_err(DeployError::Failed)?;
    rt.block_on(up_async(&inv, &plan, opts))
}

type Archives<'a> = BTreeMap<&'a str, (PathBuf, String)>;

/// What `up` would do on one host, decided from its facts before anything changes: shown by
/// `plan --live`, carried out by `up`.
#[derive(Debug, Default, Clone, Serialize)]
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
}

impl HostChanges {
    pub fn is_empty(&self) -> bool {
        self.upload.is_empty()
            && self.unpack.is_empty()
            && self.files.is_empty()
            && self.start.is_empty()
            && self.restart.is_empty()
    }
}

/// Whether a host runs any role of a component.
fn runs_component(t: &Target, component: &str) -> bool {
    t.services
        .iter()
        .any(|s| components::role(s.role).map(|r| r.component) == Some(component))
}

fn host_changes(inv: &Inventory, t: &Target, archives: &Archives) -> HostChanges {
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
    c.files = t
        .plan
        .files
        .iter()
        .filter(|f| t.facts.sha256.get(&f.path) != Some(&f.sha256))
        .map(|f| f.path.clone())
        .collect();
    for svc in &t.services {
        let comp = components::role(svc.role)
            .map(|r| r.component)
            .unwrap_or("");
        let touched = c.unpack.iter().any(|u| u == comp)
            || c.files.contains(&Service::launcher(h, svc.role))
            || svc.config_files.iter().any(|f| c.files.contains(f));
        match (t.facts.running.contains_key(svc.role), touched) {
            (false, _) => c.start.push(svc.role.to_string()),
            (true, true) => c.restart.push(svc.role.to_string()),
            (true, false) => {}
        }
    }
    c
}

/// Connects to the selected hosts, gathers their facts (one round trip each, with the content
/// of `read_planned` files too) and runs preflight. Nothing on the hosts changes.
async fn gather<'a>(
    inv: &'a Inventory,
    plan: &'a Plan,
    ids: &components::Ids,
    opts: &UpOptions,
    ev: &Events,
    read_planned: bool,
) -> Result<(Vec<Target<'a>>, Archives<'a>), DeployError> {
    let pairs = selected(inv, plan, &opts.limit);
    let connected = connect_all(&pairs, opts, ev).await?;
    let cl = Cluster::new(inv, ids);
    // Facts, all hosts at once: one round trip each.
    let mut fact_tasks = Vec::new();
    let mut remotes = Vec::new();
    for (h, hp, r) in connected {
        let services: Vec<Service> = components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
            .flat_map(|c| c.services(&cl, h))
            .collect();
        let mut req = fact_request(inv, ids, h, hp, &services);
        if read_planned {
            req.read.extend(hp.files.iter().map(|f| f.path.clone()));
        }
        let script = facts::script(&req);
        let r = Arc::new(r);
        let r2 = r.clone();
        fact_tasks.push(tokio::spawn(async move { r2.run(&script).await }));
        remotes.push((h, hp, services, r));
    }
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for ((h, hp, services, r), t) in remotes.into_iter().zip(fact_tasks) {
        let out = t.await.map_err(|e| DeployError::Failed(anyhow!("{e}")))?;
        let remote = Arc::try_unwrap(r)
            .map_err(|_| DeployError::Failed(anyhow!("internal: remote still shared")))?;
        match out.map(|o| facts::parse(&o.stdout)) {
            Ok(f) if !f.complete => {
                problems.push(format!(
                    "{}: gathering facts: the answer was cut short",
                    h.name
                ));
                remote.close().await;
            }
            Ok(f) => targets.push(Target {
                host: h,
                plan: hp,
                services,
                remote,
                facts: f,
            }),
            Err(e) => problems.push(format!("{}: gathering facts: {e:#}", h.name)),
        }
    }
    // Local archives and their checksums, computed once (and cached by path, size and mtime).
    let mut archives: Archives = BTreeMap::new();
    for spec in inv.components.values() {
        if let Some((path, _)) = &spec.archive {
            if path.is_file() {
                let sum = crate::compat::detect::file_sha256(path).map_err(DeployError::Failed)?;
                archives.insert(spec.name, (path.clone(), sum));
            } else {
                archives.insert(spec.name, (path.clone(), String::new()));
            }
        }
    }
    problems.extend(preflight(inv, ids, &targets, &archives));
    problems.extend(hdfs_drift(inv, &targets));
    if !problems.is_empty() {
        for t in targets {
            t.remote.close().await;
        }
        return Err(DeployError::Preflight(problems));
    }
    Ok((targets, archives))
}

/// One host's changes as `plan --live` shows them: with the host's current file contents.
#[derive(Debug, Serialize)]
pub struct LiveHost {
    #[serde(flatten)]
    pub changes: HostChanges,
    /// For each changed file: what the host has now (None: the file does not exist).
    pub current: BTreeMap<String, Option<String>>,
}

/// `plan --live`: what `up` would change on each reachable host. Reads only.
pub fn live(opts: &UpOptions) -> Result<Vec<LiveHost>, DeployError> {
    let (inv, plan) = prepare(opts)?;
    let rt = runtime().map_err(DeployError::Failed)?;
    rt.block_on(async {
        let ids = plan.ids();
        let (targets, archives) = gather(&inv, &plan, &ids, opts, &Events::quiet(), true).await?;
        let mut out = Vec::new();
        for t in &targets {
            let changes = host_changes(&inv, t, &archives);
            let current = changes
                .files
                .iter()
                .map(|p| (p.clone(), t.facts.contents.get(p).cloned()))
                .collect();
            out.push(LiveHost { changes, current });
        }
        for t in targets {
            t.remote.close().await;
        }
        Ok(out)
    })
}

async fn up_async(inv: &Inventory, plan: &Plan, opts: &UpOptions) -> Result<Summary, DeployError> {
    let started_at = Instant::now();
    let ev = Events::new(opts.json);
    let ids = plan.ids();
    ev.status(None, "connecting and gathering facts");
    let (targets, archives) = gather(inv, plan, &ids, opts, &ev, false).await?;
    ev.emit(None, "preflight", "preflight passed");
    let changes: Vec<HostChanges> = targets
        .iter()
        .map(|t| host_changes(inv, t, &archives))
        .collect();

    let mut summary = Summary {
        hosts: targets.len(),
        ..Default::default()
    };
    // Install and configure, hosts in parallel.
    ev.status(None, "installing and configuring");
    let sem = Arc::new(Semaphore::new(opts.forks.max(1)));
    {
        let mut futs = Vec::new();
        for (t, ch) in targets.iter().zip(&changes) {
            let sem = sem.clone();
            let ev = ev.clone();
            let archives = &archives;
            futs.push(async move {
                let _p = sem.acquire().await;
                install_host(inv, t, archives, ch, &ev).await
            });
        }
        let results = futures_util::future::join_all(futs).await;
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(stats) => {
                    summary.uploaded_bytes += stats.0;
                    summary.archives_uploaded += stats.1;
                    summary.archives_unpacked += stats.2;
                    summary.files_written += stats.3;
                }
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        if !errors.is_empty() {
            return Err(DeployError::Failed(anyhow!(errors.join("\n"))));
        }
    }

    // Start stages in order.
    for stage in &plan.stages {
        let members: Vec<(&Target, &HostChanges)> = targets
            .iter()
            .zip(&changes)
            .filter(|(t, _)| t.host.has_role(&stage.role))
            .collect();
        if members.is_empty() {
            continue;
        }
        let to_start: Vec<&Target> = members
            .iter()
            .filter(|(_, c)| c.start.contains(&stage.role))
            .map(|(t, _)| *t)
            .collect();
        let to_restart: Vec<&Target> = members
            .iter()
            .filter(|(_, c)| c.restart.contains(&stage.role))
            .map(|(t, _)| *t)
            .collect();
        if to_start.is_empty() && to_restart.is_empty() {
            continue;
        }
        let rolling = stage.role == zookeeper::ROLE || stage.role == kafka::ROLE;
        if rolling && !to_restart.is_empty() {
            // One host at a time, so the quorum and the partitions stay available.
            for t in &to_restart {
                restart(t, &stage.role, &ev)
                    .await
                    .map_err(DeployError::Failed)?;
                gate(inv, &ids, stage, &[*t], opts.gate_timeout, &ev)
                    .await
                    .map_err(DeployError::Failed)?;
                summary
                    .restarted
                    .push(format!("{} on {}", stage.role, t.host.name));
            }
        } else {
            for t in &to_restart {
                restart(t, &stage.role, &ev)
                    .await
                    .map_err(DeployError::Failed)?;
                summary
                    .restarted
                    .push(format!("{} on {}", stage.role, t.host.name));
            }
        }
        let starts = to_start.iter().map(|t| start(t, &stage.role, &ev));
        for r in futures_util::future::join_all(starts).await {
            r.map_err(DeployError::Failed)?;
        }
        summary.started.extend(
            to_start
                .iter()
                .map(|t| format!("{} on {}", stage.role, t.host.name)),
        );
        let all: Vec<&Target> = members.iter().map(|(t, _)| *t).collect();
        gate(inv, &ids, stage, &all, opts.gate_timeout, &ev)
            .await
            .map_err(DeployError::Failed)?;
    }
    for t in targets {
        t.remote.close().await;
    }
    summary.seconds = started_at.elapsed().as_secs_f64();
    Ok(summary)
}

type InstallStats = (u64, usize, usize, usize);

/// Uploads the archives `ch` names, unpacks them atomically, and writes every changed file in
/// one round trip.
async fn install_host(
    inv: &Inventory,
    t: &Target<'_>,
    archives: &Archives<'_>,
    ch: &HostChanges,
    ev: &Events,
) -> Result<InstallStats> {
    let h = t.host;
    let mut stats: InstallStats = (0, 0, 0, 0);
    for spec in inv.components.values() {
        let c = components::find(spec.name).expect("known");
        let Some((local, sum)) = archives.get(spec.name) else {
            continue;
        };
        let dest = archive_dest(h, local);
        if ch.upload.iter().any(|u| u == spec.name) {
            let size = std::fs::metadata(local).map(|m| m.len()).unwrap_or(0);
            ev.emit(
                Some(&h.name),
                "upload",
                &format!("uploading {} ({} MiB)", local.display(), size / (1 << 20)),
            );
            t.remote.put_file(&dest, 0o644, local).await?;
            // Record the checksum with the size and mtime it belongs to (read back by facts).
            let rec = shell_quote(&format!("{dest}.sha256"));
            let q = shell_quote(&dest);
            t.remote
                .run_ok(
                    &format!("printf '%s %s\\n' {sum} \"$(stat -c '%s %Y' {q})\" > {rec}"),
                    "recording the archive checksum",
                )
                .await?;
            stats.0 += size;
            stats.1 += 1;
        }
        if ch.unpack.iter().any(|u| u == spec.name) {
            let home = components::home_dir(h, c, spec);
            let top = crate::compat::detect::Listing::read(local)
                .ok()
                .and_then(|l| l.top_dir())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: cannot find the top directory of {}",
                        h.name,
                        local.display()
                    )
                })?;
            ev.emit(
                Some(&h.name),
                "unpack",
                &format!("unpacking {} into {home}", local.display()),
            );
            t.remote
                .run_ok(
                    &unpack_script(&dest, &home, &top, sum, &h.install_dir),
                    &format!("unpacking {}", local.display()),
                )
                .await?;
            stats.2 += 1;
        }
    }
    // Every changed file, plus the manifest, in one tar stream.
    if !ch.files.is_empty() {
        let mut manifest = String::new();
        for f in &t.plan.files {
            manifest.push_str(&format!("{}  {}\n", f.sha256, f.path));
        }
        let mut entries: Vec<(String, u32, Vec<u8>)> = t
            .plan
            .files
            .iter()
            .filter(|f| ch.files.contains(&f.path))
            .map(|f| (f.path.clone(), f.mode, f.content.as_bytes().to_vec()))
            .collect();
        entries.push((manifest_path(inv), 0o644, manifest.into_bytes()));
        let (tar, script) = file_batch(&entries)?;
        t.remote
            .run_with_input(&script, &tar, "writing configuration files")
            .await?;
        stats.3 += ch.files.len();
        ev.emit(
            Some(&h.name),
            "files",
            &format!(
                "wrote {} file{}",
                ch.files.len(),
                if ch.files.len() == 1 { "" } else { "s" }
            ),
        );
    }
    Ok(stats)
}

/// A tar of the files (named by index) and a script that puts each in place atomically:
/// copied next to its target under a temporary name, then renamed.
fn file_batch(entries: &[(String, u32, Vec<u8>)]) -> Result<(Vec<u8>, String)> {
    let mut b = tar::Builder::new(Vec::new());
    let mut script = String::from(
        "set -e; umask 022; s=$(mktemp -d /var/tmp/.stackctl-batch.XXXXXX); trap 'rm -rf \"$s\"' EXIT; tar -xf - -C \"$s\"\n",
    );
    for (i, (path, mode, data)) in entries.iter().enumerate() {
        if !inventory::plain_abs_path(path) {
            bail!("refusing to write {path}: not a plain absolute path");
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, format!("{i}"), data.as_slice())?;
        let q = shell_quote(path);
        script.push_str(&format!(
            "mkdir -p \"$(dirname {q})\"; cp \"$s/{i}\" {q}.stackctl-tmp; chmod {mode:o} {q}.stackctl-tmp; mv -f {q}.stackctl-tmp {q}\n"
        ));
    }
    Ok((b.into_inner()?, script))
}

fn unpack_script(archive: &str, home: &str, top: &str, sum: &str, install_dir: &str) -> String {
    let (a, d, t, s, i) = (
        shell_quote(archive),
        shell_quote(home),
        shell_quote(top),
        shell_quote(sum),
        shell_quote(install_dir),
    );
    format!(
        "set -e; mkdir -p {i}; tmp=$(mktemp -d {i}/.stackctl-unpack.XXXXXX); trap 'rm -rf \"$tmp\"' EXIT; \
         tar -xf {a} -C \"$tmp\"; [ -d \"$tmp\"/{t} ] || {{ echo \"the archive has no {top}/ directory\" >&2; exit 1; }}; \
         echo {s} > \"$tmp\"/{t}/.stackctl-unpacked; if [ -e {d} ]; then mv {d} \"$tmp/previous\"; fi; mv \"$tmp\"/{t} {d}"
    )
}

async fn start(t: &Target<'_>, role: &str, ev: &Events) -> Result<()> {
    let launcher = Service::launcher(t.host, role);
    if role == hadoop::NAMENODE {
        let out = t
            .remote
            .run_ok(
                &format!("{} init", shell_quote(&launcher)),
                "preparing the NameNode",
            )
            .await?;
        ev.emit(Some(&t.host.name), "init", out.trim());
    }
    let out = t
        .remote
        .run_ok(
            &format!("{} start", shell_quote(&launcher)),
            &format!("starting {role}"),
        )
        .await?;
    ev.emit(Some(&t.host.name), "start", out.trim());
    Ok(())
}

async fn restart(t: &Target<'_>, role: &str, ev: &Events) -> Result<()> {
    let launcher = shell_quote(&Service::launcher(t.host, role));
    let out = t
        .remote
        .run_ok(
            &format!("{launcher} stop && {launcher} start"),
            &format!("restarting {role}"),
        )
        .await?;
    ev.emit(Some(&t.host.name), "restart", &out.replace('\n', "; "));
    Ok(())
}

/// Waits until the stage's hosts are healthy, or fails with the last lines of their logs.
async fn gate(
    inv: &Inventory,
    ids: &components::Ids,
    stage: &Stage,
    members: &[&Target<'_>],
    timeout: Duration,
    ev: &Events,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let names: Vec<&str> = members.iter().map(|t| t.host.name.as_str()).collect();
    ev.status(
        None,
        &format!("waiting for {} on {}", stage.service, names.join(", ")),
    );
    let mut last = String::new();
    let mut polls = 0u32;
    while Instant::now() < deadline && polls < 10_000 {
        polls += 1;
        match check_stage(inv, ids, &stage.role, members).await {
            Ok(msg) => {
                ev.emit(None, "healthy", &format!("{}: {msg}", stage.service));
                return Ok(());
            }
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut msg = format!(
        "{} did not become healthy within {}s: {last}",
        stage.service,
        timeout.as_secs()
    );
    for t in members {
        let comp = components::role(&stage.role)
            .map(|r| r.component)
            .unwrap_or("");
        let log = Service::log_file(t.host, comp, &stage.role);
        if let Ok(out) = t
            .remote
            .run(&format!("tail -n 20 {}", shell_quote(&log)))
            .await
        {
            msg.push_str(&format!(
                "\n--- {} {log} (last lines)\n{}",
                t.host.name,
                out.stdout.trim_end()
            ));
        }
    }
    bail!(msg)
}

async fn check_stage(
    inv: &Inventory,
    ids: &components::Ids,
    role: &str,
    members: &[&Target<'_>],
) -> Result<String> {
    let (inv, ids, role) = (inv.clone(), ids.clone(), role.to_string());
    let names: Vec<String> = members.iter().map(|t| t.host.name.clone()).collect();
    tokio::task::spawn_blocking(move || check_stage_blocking(&inv, &ids, &role, &names))
        .await
        .map_err(|e| anyhow!("{e}"))?
}

/// The health checks, from this machine to the hosts: each component's own probe.
pub fn check_stage_blocking(
    inv: &Inventory,
    ids: &components::Ids,
    role: &str,
    hosts: &[String],
) -> Result<String> {
    let def = components::role(role).ok_or_else(|| anyhow!("unknown role {role}"))?;
    let c = components::find(def.component).expect("roles belong to components");
    let hosts: Vec<&Host> = hosts.iter().filter_map(|n| inv.host(n)).collect();
    c.health(&Cluster::new(inv, ids), role, &hosts)
}

#[derive(Debug, Clone)]
pub struct DownOptions {
    pub up: UpOptions,
    pub purge: bool,
}

/// Stops services in reverse start order; with `purge`, deletes their data too.
pub fn down(opts: &DownOptions) -> Result<Summary, DeployError> {
    let (inv, plan) = prepare(&opts.up)?;
    let rt = runtime().map_err(DeployError::Failed)?;
    rt.block_on(async {
        let started_at = Instant::now();
        let ev = Events::new(opts.up.json);
        let pairs = selected(&inv, &plan, &opts.up.limit);
        let connected = connect_all(&pairs, &opts.up, &ev).await?;
        let mut summary = Summary {
            hosts: connected.len(),
            ..Default::default()
        };
        for stage in plan.stages.iter().rev() {
            let members: Vec<&(&Host, &HostPlan, Remote)> = connected
                .iter()
                .filter(|(h, _, _)| h.has_role(&stage.role))
                .collect();
            let stops = members.iter().map(|(h, _, r)| async move {
                let l = shell_quote(&Service::launcher(h, &stage.role));
                let out = r
                    .run_ok(
                        &format!("if [ -x {l} ]; then {l} stop; fi"),
                        &format!("stopping {}", stage.role),
                    )
                    .await?;
                Ok::<_, anyhow::Error>((h.name.clone(), out))
            });
            for r in futures_util::future::join_all(stops).await {
                let (host, out) = r.map_err(DeployError::Failed)?;
                if !out.trim().is_empty() {
                    ev.emit(Some(&host), "stop", out.trim());
                }
                if out.contains("killed") || out.lines().any(|l| l.ends_with(" stopped")) {
                    summary.stopped.push(format!("{} on {host}", stage.role));
                }
            }
        }
        if opts.purge {
            for (h, _, r) in &connected {
                let dirs = data_dirs(&inv, h);
                let script = format!(
                    "rm -rf {}",
                    dirs.iter()
                        .map(|d| shell_quote(d))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                r.run_ok(&script, "purging data")
                    .await
                    .map_err(DeployError::Failed)?;
                ev.emit(
                    Some(&h.name),
                    "purge",
                    &format!("deleted {}", dirs.join(", ")),
                );
            }
        }
        for (_, _, r) in connected {
            r.close().await;
        }
        summary.seconds = started_at.elapsed().as_secs_f64();
        Ok(summary)
    })
}

/// Every directory holding a host's service data, as configured.
fn data_dirs(inv: &Inventory, h: &Host) -> Vec<String> {
    let mut dirs: BTreeSet<String> = ["hdfs", "yarn", "hadoop", "hbase", "run"]
        .iter()
        .map(|d| format!("{}/{d}", h.data_dir))
        .collect();
    if let Some(spec) = inv.component(zookeeper::NAME) {
        if let Some(d) = zookeeper::ZooKeeper::props(spec, h).get("dataDir") {
            dirs.insert(d.to_string());
        }
    }
    if let Some(spec) = inv.component(kafka::NAME) {
        if let Some(d) = kafka::Kafka::props(inv, spec, h, None).get("log.dirs") {
            dirs.extend(
                d.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    dirs.into_iter()
        .filter(|d| inventory::plain_abs_path(d) && d.matches('/').count() >= 2)
        .collect()
}
