//! Connecting to hosts and gathering their facts: one SSH master and one facts round trip per
//! host, all hosts at once within `--forks`. Shared by `up`, `down`, `plan --live` and `verify`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tokio::sync::Semaphore;

use super::changes::{self, Archives, HostState};
use super::guard::{self, Holder};
use crate::components::Cluster;
use crate::events::Events;
use crate::inventory::{Host, Inventory};
use crate::plan::{HostPlan, Plan, PlanError};
use crate::remote::facts::{self, HostFacts};
use crate::remote::transport::{Remote, SshOptions};

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
    /// Remove a cluster lock left by a run that is gone (on another machine).
    pub force_unlock: bool,
}

/// Why `up`, `down` or `plan --live` stopped; each kind has its documented exit code.
#[derive(Debug)]
pub enum DeployError {
    /// The inventory or lock file is wrong (exit 2).
    Invalid(PlanError),
    /// Something is wrong on the hosts; nothing was changed (exit 3).
    Preflight(Vec<String>),
    /// Another run holds the cluster lock; nothing was changed (exit 4).
    Locked(String),
    /// Ctrl-C or SIGTERM: stopped at a safe point (exit 130).
    Interrupted(String),
    /// A step failed (exit 1).
    Failed(anyhow::Error),
}

impl From<guard::Refused> for DeployError {
    fn from(r: guard::Refused) -> Self {
        match r {
            guard::Refused::Locked(m) => DeployError::Locked(m),
            guard::Refused::Failed(e) => DeployError::Failed(e),
        }
    }
}

impl DeployError {
    pub fn exit_code(&self) -> i32 {
        match self {
            DeployError::Invalid(e) => e.exit_code(),
            DeployError::Preflight(_) => crate::exit::PREFLIGHT,
            DeployError::Locked(_) => crate::exit::LOCKED,
            DeployError::Interrupted(_) => crate::exit::INTERRUPTED,
            DeployError::Failed(_) => crate::exit::FAILED,
        }
    }
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
            DeployError::Locked(m) => write!(f, "error: {m}"),
            DeployError::Interrupted(m) => write!(f, "{m}"),
            DeployError::Failed(e) => write!(f, "error: {e:#}"),
        }
    }
}

/// Ctrl-C and SIGTERM during a run that changes hosts: the first asks it to stop at the next
/// safe point (no service left half-restarted, no batch half-written: every remote step is one
/// command that runs to its end), the second ends the process at once.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    pub fn requested(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Starts listening on the current runtime; stop by aborting the returned task.
    pub fn listen(ev: &Events) -> (Interrupt, tokio::task::JoinHandle<()>) {
        let me = Interrupt::default();
        let (flag, ev) = (me.clone(), ev.clone());
        let task = tokio::spawn(async move {
            #[cfg(unix)]
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => Some(s),
                    Err(_) => None,
                };
            for n in 0..2 {
                #[cfg(unix)]
                let got = async {
                    match term.as_mut() {
                        Some(t) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {},
                                _ = t.recv() => {},
                            }
                        }
                        None => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                };
                #[cfg(not(unix))]
                let got = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                got.await;
                if n == 0 {
                    flag.0.store(true, std::sync::atomic::Ordering::SeqCst);
                    ev.emit(
                        None,
                        "interrupted",
                        "interrupted: stopping at the next safe point (again to abort at once)",
                    );
                } else {
                    crate::remote::transport::cleanup();
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        b"aborted: steps under way were cut off; `stackctl up` again converges\n",
                    );
                    std::process::exit(crate::exit::INTERRUPTED);
                }
            }
        });
        (me, task)
    }
}

/// A connected host with its gathered state.
pub struct Target<'a> {
    pub state: HostState<'a>,
    pub remote: Remote,
}

impl<'a> std::ops::Deref for Target<'a> {
    type Target = HostState<'a>;
    fn deref(&self) -> &HostState<'a> {
        &self.state
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The hosts `--limit` selects (all without it), with their plans.
pub fn selected<'a>(
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

/// How many SSH connections are set up at once, whatever `--forks` says: a handshake costs the
/// hosts almost nothing, and a window smaller than the cluster makes every command's first
/// step grow with the number of hosts.
pub const CONNECT_WINDOW: usize = 64;

/// Connects to every host, at most `window` at once; one result per host, in order.
pub async fn connect_each(hosts: &[&Host], ssh: &SshOptions, window: usize) -> Vec<Result<Remote>> {
    let sem = Arc::new(Semaphore::new(window.max(1)));
    let tasks: Vec<_> = hosts
        .iter()
        .map(|h| {
            let (sem, ssh, host) = (sem.clone(), ssh.clone(), (*h).clone());
            tokio::spawn(async move {
                let _permit = sem.acquire().await;
                Remote::connect(&host, &ssh).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.map_err(|e| anyhow!("{e}")).and_then(|r| r));
    }
    out
}

/// The step name of the facts round trip, in errors ("host2: gathering facts: ...").
pub const GATHERING_FACTS: &str = "gathering facts";

/// Runs a facts script and parses the answer; a cut-off answer is an error, not facts. Every
/// error names the host and the step.
pub async fn facts_of(remote: &Remote, script: &str) -> Result<HostFacts> {
    let out = remote.run(script, GATHERING_FACTS).await?;
    let f = facts::parse(&out.stdout);
    if !f.complete {
        return Err(anyhow!(
            "{}: {GATHERING_FACTS}: the answer was cut short",
            remote.name
        ));
    }
    Ok(f)
}

/// Connects to every selected host or none: an unreachable host is a preflight problem.
pub async fn connect_all<'a>(
    pairs: &[(&'a Host, &'a HostPlan)],
    opts: &UpOptions,
    ev: &Events,
) -> Result<Vec<(&'a Host, &'a HostPlan, Remote)>, DeployError> {
    let hosts: Vec<&Host> = pairs.iter().map(|(h, _)| *h).collect();
    let results = connect_each(&hosts, &opts.ssh, opts.forks.max(CONNECT_WINDOW)).await;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for ((h, p), r) in pairs.iter().zip(results) {
        match r {
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

/// Local archives and their checksums, computed once (and cached by path, size and mtime).
pub fn local_archives(inv: &Inventory) -> Result<Archives<'_>> {
    let mut archives: Archives = BTreeMap::new();
    for spec in inv.components.values() {
        if let Some((path, _)) = &spec.archive {
            let sum = if path.is_file() {
                crate::compat::detect::file_sha256(path)?
            } else {
                String::new()
            };
            archives.insert(spec.name, (path.clone(), sum));
        }
    }
    Ok(archives)
}

/// Connects to the selected hosts, gathers their facts (one round trip each, with the content
/// of the planned files too when `read_planned`) and runs preflight. Nothing on the hosts changes.
pub async fn gather<'a>(
    cl: &Cluster<'a>,
    plan: &'a Plan,
    opts: &UpOptions,
    ev: &Events,
    read_planned: bool,
    lock: Option<&Holder>,
) -> Result<(Vec<Target<'a>>, Archives<'a>), DeployError> {
    let inv = cl.inv;
    let pairs = selected(inv, plan, &opts.limit);
    let connected = connect_all(&pairs, opts, ev).await?;
    // The lock comes before the facts: what we read must not be changing under us.
    if let Some(me) = lock {
        let remotes: Vec<(&str, &Remote)> = connected
            .iter()
            .map(|(h, _, r)| (h.name.as_str(), r))
            .collect();
        if let Err(e) = guard::acquire(&remotes, &inv.cluster, me, opts.force_unlock, ev).await {
            for (_, _, r) in connected {
                r.close().await;
            }
            return Err(e.into());
        }
        // A batch whose commit was cut short is finished before anything is read: the facts
        // then describe one generation, never a mix.
        let script = changes::recover_script(&changes::journal_path(&inv.cluster));
        let runs = remotes.iter().map(|(name, r)| async {
            (
                *name,
                r.run_ok(&script, "finishing an interrupted batch").await,
            )
        });
        for (name, out) in futures_util::future::join_all(runs).await {
            match out {
                Ok(o) if o.contains("RECOVERED") => ev.emit(
                    Some(name),
                    "recovered",
                    "finished the file batch an interrupted run had committed",
                ),
                Ok(_) => {}
                Err(e) => {
                    guard::release(&remotes, &inv.cluster, me).await;
                    for (_, _, r) in connected {
                        r.close().await;
                    }
                    return Err(DeployError::Failed(e));
                }
            }
        }
    }
    let mut tasks = Vec::new();
    for (h, hp, r) in connected {
        let services = changes::services(cl, h);
        let mut req = changes::fact_request(cl, h, hp, &services);
        if read_planned {
            req.read.extend(hp.files.iter().map(|f| f.path.clone()));
        }
        let script = facts::script(&req);
        tasks.push(async move {
            let f = facts_of(&r, &script).await;
            (h, hp, services, r, f)
        });
    }
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for (h, hp, services, remote, f) in futures_util::future::join_all(tasks).await {
        match f {
            Ok(facts) => targets.push(Target {
                state: HostState {
                    host: h,
                    plan: hp,
                    services,
                    facts,
                },
                remote,
            }),
            Err(e) => {
                // The error names the host and the step already.
                problems.push(format!("{e:#}"));
                remote.close().await;
            }
        }
    }
    let archives = local_archives(inv).map_err(DeployError::Failed)?;
    let states: Vec<HostState> = targets.iter().map(|t| t.state.clone()).collect();
    problems.extend(changes::preflight(cl, &states, &archives));
    if !problems.is_empty() {
        if let Some(me) = lock {
            // Hosts whose facts failed were closed already: they keep a lock naming a dead
            // process, which the next run here takes over.
            release_all(&targets, &inv.cluster, me).await;
        }
        close_all(targets).await;
        return Err(DeployError::Preflight(problems));
    }
    Ok((targets, archives))
}

/// Releases our cluster lock on every target.
pub async fn release_all(targets: &[Target<'_>], cluster: &str, me: &Holder) {
    let remotes: Vec<(&str, &Remote)> = targets
        .iter()
        .map(|t| (t.host.name.as_str(), &t.remote))
        .collect();
    guard::release(&remotes, cluster, me).await;
}

pub async fn close_all(targets: Vec<Target<'_>>) {
    for t in targets {
        t.remote.close().await;
    }
}
