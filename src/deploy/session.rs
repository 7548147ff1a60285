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
use super::preflight::{self, Finding};
use crate::components::Cluster;
use crate::events::Events;
use crate::inventory::{Host, Inventory};
use crate::plan::{HostPlan, Plan, PlanError};
use crate::remote::facts::{self, HostFacts};
use crate::remote::transport::{Remote, RunOutput, SshOptions};

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
    /// Data directories on tmpfs or under /tmp are warnings, not preflight errors (a
    /// throwaway cluster).
    pub allow_ephemeral: bool,
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
    /// The same error with every secret value masked in its text (a failed command's output,
    /// a log tail): what reaches the terminal and `--json`.
    pub fn masked(self, values: &[String]) -> DeployError {
        if values.is_empty() {
            return self;
        }
        let m = |s: &str| crate::secrets::redact(s, values);
        match self {
            DeployError::Preflight(lines) => {
                DeployError::Preflight(lines.iter().map(|l| m(l)).collect())
            }
            DeployError::Locked(s) => DeployError::Locked(m(&s)),
            DeployError::Interrupted(s) => DeployError::Interrupted(m(&s)),
            DeployError::Failed(e) => DeployError::Failed(anyhow::anyhow!(m(&format!("{e:#}")))),
            e @ DeployError::Invalid(_) => e,
        }
    }

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

/// What a read-only command (`verify`, `status`) learns from the hosts: each host's facts or
/// why they could not be read, in the given order, and the connections that opened (kept open
/// for the probes, which go through them behind a bastion; close them when done).
pub type Read = (Vec<(String, Result<HostFacts, String>)>, Vec<Remote>);

/// Connects to every host (at most `window` at once) and runs its facts script, all hosts at
/// once; `progress` hears of each host when it is done.
pub async fn read_facts(
    requests: &[(&Host, String)],
    ssh: &SshOptions,
    window: usize,
    progress: &Events,
) -> Read {
    let hosts: Vec<&Host> = requests.iter().map(|(h, _)| *h).collect();
    let remotes = connect_each(&hosts, ssh, window).await;
    let tasks = requests
        .iter()
        .zip(remotes)
        .map(|((h, script), r)| async move {
            match r {
                Err(e) => {
                    progress.host_done(&h.name);
                    ((h.name.clone(), Err(format!("{e:#}"))), None)
                }
                Ok(remote) => {
                    let f = facts_of(&remote, script).await;
                    progress.host_done(&h.name);
                    let f = f.map_err(|e| {
                        let text = format!("{e:#}");
                        if text.ends_with("the answer was cut short") {
                            "its answer to the facts script was cut short".to_string()
                        } else {
                            text
                        }
                    });
                    ((h.name.clone(), f), Some(remote))
                }
            }
        });
    let done: Vec<_> = futures_util::future::join_all(tasks).await;
    let (gathered, remotes): (Vec<_>, Vec<_>) = done.into_iter().unzip();
    (gathered, remotes.into_iter().flatten().collect())
}

/// The step name of finishing an interrupted batch, in errors.
pub const FINISHING_BATCH: &str = "finishing an interrupted batch";

/// The work that shares the lock's round trip: finish an interrupted batch, then the facts. A
/// failed recovery says so on its own line and stops there (no facts of a half-done batch).
fn recovered_then(recover: &str, facts: &str) -> String {
    format!(
        "{recover} || {{ echo '{} recovery-failed'; exit 1; }}\n{facts}",
        facts::mark()
    )
}

/// Reads what [`recovered_then`] answered: whether a batch was finished, and the facts.
fn recovered_answer(name: &str, out: RunOutput) -> Result<(bool, Result<HostFacts>)> {
    let failed = format!("{} recovery-failed", facts::mark());
    if out.stdout.lines().any(|l| l == failed) {
        return Err(out.error(&format!("{name}: {FINISHING_BATCH}")));
    }
    let before_facts = out.stdout.split(facts::mark()).next().unwrap_or("");
    let recovered = before_facts.lines().any(|l| l == "RECOVERED");
    let f = facts::parse(&out.stdout);
    if !f.complete {
        return Ok((
            recovered,
            Err(anyhow!(
                "{name}: {GATHERING_FACTS}: the answer was cut short"
            )),
        ));
    }
    Ok((recovered, Ok(f)))
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

/// What [`gather`] found: the connected hosts with their facts, the local archives, and the
/// preflight warnings (the errors stopped it).
pub type Gathered<'a> = (Vec<Target<'a>>, Archives<'a>, Vec<Finding>);

/// Connects to the selected hosts, gathers their facts (one round trip each, with the content
/// of the planned files too when `read_planned`) and runs preflight. Nothing on the hosts changes.
pub async fn gather<'a>(
    cl: &Cluster<'a>,
    plan: &'a Plan,
    opts: &UpOptions,
    ev: &Events,
    read_planned: bool,
    lock: Option<&Holder>,
) -> Result<Gathered<'a>, DeployError> {
    let inv = cl.inv;
    let pairs = selected(inv, plan, &opts.limit);
    let connected = connect_all(&pairs, opts, ev).await?;
    let mut asked = Vec::new();
    for (h, hp, r) in connected {
        let services = changes::services(cl, h);
        let mut req = changes::fact_request(cl, h, hp, &services);
        if read_planned {
            req.read.extend(hp.files.iter().map(|f| f.path.clone()));
        }
        asked.push((h, hp, services, r, facts::script(&req)));
    }
    let answers: Vec<Result<HostFacts>> = match lock {
        // The lock comes before the facts: what we read must not be changing under us. A
        // batch whose commit was cut short is finished before anything is read, so the facts
        // describe one generation, never a mix. All three share one round trip per host.
        Some(me) => {
            let recover = changes::recover_script(&changes::journal_path(&inv.cluster));
            let thens: Vec<String> = asked
                .iter()
                .map(|(.., script)| recovered_then(&recover, script))
                .collect();
            let remotes: Vec<(&str, &Remote)> = asked
                .iter()
                .map(|(h, _, _, r, _)| (h.name.as_str(), r))
                .collect();
            // The controller's clock around the round trip that reads the hosts' clocks: each
            // host read its clock somewhere within it (production preflight, issue 12).
            let sent = facts::controller_clock_ns();
            let taken = guard::acquire_then(
                &remotes,
                &thens,
                GATHERING_FACTS,
                &inv.cluster,
                me,
                opts.force_unlock,
                ev,
            )
            .await;
            let received = facts::controller_clock_ns();
            let outs = match taken {
                Ok(outs) => outs,
                Err(e) => {
                    for (.., r, _) in asked {
                        r.close().await;
                    }
                    return Err(match e {
                        // A host that does not answer its first round trip (a hung disk, a
                        // dead shell) is a preflight problem, as an unreachable one is; the
                        // error names the host and the step.
                        guard::Refused::Failed(e) => DeployError::Preflight(vec![format!("{e:#}")]),
                        locked => locked.into(),
                    });
                }
            };
            let mut answers = Vec::new();
            let mut failed = None;
            for ((h, ..), out) in asked.iter().zip(outs) {
                match recovered_answer(&h.name, out) {
                    Ok((recovered, f)) => {
                        let f = f.map(|mut f| {
                            f.round_trip_ns = Some((sent, received));
                            f
                        });
                        if recovered {
                            ev.emit(
                                Some(&h.name),
                                "recovered",
                                "finished the file batch an interrupted run had committed",
                            );
                        }
                        answers.push(f);
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
                        answers.push(Err(anyhow!("")));
                    }
                }
            }
            if let Some(e) = failed {
                guard::release(&remotes, &inv.cluster, me).await;
                for (.., r, _) in asked {
                    r.close().await;
                }
                return Err(DeployError::Failed(e));
            }
            answers
        }
        None => {
            let runs = asked.iter().map(|(_, _, _, r, script)| async move {
                let sent = facts::controller_clock_ns();
                let f = facts_of(r, script).await;
                ev.host_done(&r.name);
                let mut f = f?;
                f.round_trip_ns = Some((sent, facts::controller_clock_ns()));
                Ok(f)
            });
            futures_util::future::join_all(runs).await
        }
    };
    let tasks: Vec<_> = asked
        .into_iter()
        .zip(answers)
        .map(|((h, hp, services, r, _), f)| (h, hp, services, r, f))
        .collect();
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    for (h, hp, services, remote, f) in tasks {
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
    let archives = match local_archives(inv) {
        Ok(a) => a,
        Err(e) => {
            // The lock is ours by now: give it back before failing.
            if let Some(me) = lock {
                release_all(&targets, &inv.cluster, me).await;
            }
            close_all(targets).await;
            return Err(DeployError::Failed(e));
        }
    };
    let states: Vec<HostState> = targets.iter().map(|t| t.state.clone()).collect();
    problems.extend(changes::preflight(cl, &states, &archives));
    let pairs: Vec<(&Host, &HostFacts)> = states.iter().map(|t| (t.host, &t.facts)).collect();
    let (errors, warnings): (Vec<Finding>, Vec<Finding>) =
        preflight::check(cl, &pairs, opts.allow_ephemeral)
            .into_iter()
            .partition(|f| f.level == preflight::Level::Error);
    problems.extend(errors.into_iter().map(|f| f.message));
    for w in &warnings {
        ev.emit(
            None,
            "preflight-warning",
            &format!("warning: {}", w.message),
        );
    }
    if !problems.is_empty() {
        if let Some(me) = lock {
            // Hosts whose facts failed were closed already: they keep a lock naming a dead
            // process, which the next run here takes over.
            release_all(&targets, &inv.cluster, me).await;
        }
        close_all(targets).await;
        return Err(DeployError::Preflight(problems));
    }
    Ok((targets, archives, warnings))
}

/// Releases our cluster lock on every target.
pub async fn release_all(targets: &[Target<'_>], cluster: &str, me: &Holder) {
    let remotes: Vec<(&str, &Remote)> = targets
        .iter()
        .map(|t| (t.host.name.as_str(), &t.remote))
        .collect();
    guard::release(&remotes, cluster, me).await;
}

/// Closes every target's connection, all at once.
pub async fn close_all(targets: Vec<Target<'_>>) {
    futures_util::future::join_all(targets.into_iter().map(|t| t.remote.close())).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> RunOutput {
        let o = std::process::Command::new("sh")
            .args(["-c", script])
            .output()
            .unwrap();
        RunOutput {
            status: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[test]
    fn recovery_and_facts_share_one_script() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("c.journal").display().to_string();
        let recover = changes::recover_script(&journal);
        let m = facts::mark();
        let facts = format!("echo '{m} running'\necho RECOVERED\necho '{m} end'");
        // No journal: facts only, nothing recovered (a RECOVERED inside the facts is a fact).
        let (rec, f) = recovered_answer("h1", sh(&recovered_then(&recover, &facts))).unwrap();
        assert!(!rec);
        assert!(f.unwrap().complete);
        // A journal that finishes: recovered, then the facts, and the journal is gone.
        std::fs::write(&journal, "true\n").unwrap();
        let (rec, f) = recovered_answer("h1", sh(&recovered_then(&recover, &facts))).unwrap();
        assert!(rec && f.unwrap().complete);
        assert!(!std::path::Path::new(&journal).exists());
        // A journal that fails: an error naming host and step, and no facts are read.
        let ran = dir.path().join("facts-ran").display().to_string();
        std::fs::write(&journal, "echo disk full >&2; exit 1\n").unwrap();
        let facts = format!("touch '{ran}'\n{facts}");
        let e = recovered_answer("h1", sh(&recovered_then(&recover, &facts))).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with("h1: finishing an interrupted batch failed (exit 1)"),
            "{text}"
        );
        assert!(text.contains("disk full"), "{text}");
        assert!(!std::path::Path::new(&ran).exists());
        // A cut-off answer is not facts.
        let (_, f) = recovered_answer("h1", sh(&format!("echo '{m} running'"))).unwrap();
        assert!(format!("{:#}", f.unwrap_err()).contains("cut short"));
    }
}
