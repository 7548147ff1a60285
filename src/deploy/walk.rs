//! The start walk as a graph, Terraform's way: one node per host's install (uploads, unpacks,
//! files) and one per role (its restarts, its starts, then its health gate). A role starts as
//! soon as the roles it needs are healthy and its own hosts are installed; nothing waits for
//! what it does not need. A failed node marks its dependents "skipped: upstream failed", and the
//! error names only the root causes. Every role's gate runs even when nothing changed, so an
//! `up` that returns 0 means every service answered, not merely that the files matched.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::Semaphore;

use super::apply::{self, InstallStats};
use super::changes::{self, restart_marker, Archives, HostChanges, StageStep};
use super::session::{DeployError, Interrupt, Target};
use crate::components::{self, Cluster, Component, Restart, Service};
use crate::events::Events;
use crate::inventory::{Host, Inventory};
use crate::lock::Ids;
use crate::plan::{Plan, Stage};
use crate::shell::shell_quote;

/// What the walk did.
#[derive(Debug, Default)]
pub struct Walked {
    pub install: InstallStats,
    /// "role on host".
    pub started: Vec<String>,
    pub restarted: Vec<String>,
}

/// A node of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    /// A host's file batch (index into the targets).
    Files(usize),
    /// A host's upload and unpack of one component (target index, component name).
    Dist(usize, &'static str),
    /// Index into the plan's stages.
    Role(usize),
}

#[derive(Debug)]
enum Done {
    Ok,
    Failed(String),
    Skipped(String),
}

/// One role's part of the walk as data: what it waits for and what it does. Pure, so the
/// graph is tested without hosts (and `plan` can show it).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleNode {
    pub role: String,
    /// Roles whose gates must pass first.
    pub after: Vec<String>,
    /// Hosts (selected ones) that run the role: their installs come first, the gate covers them.
    pub hosts: Vec<String>,
    pub step: Option<StageStep>,
}

/// The role nodes in plan order, for the selected hosts.
pub fn role_nodes(plan: &Plan, selected: &[&str], changes: &[HostChanges]) -> Vec<RoleNode> {
    let steps: BTreeMap<String, StageStep> = changes::steps(plan, changes)
        .into_iter()
        .map(|s| (s.role.clone(), s))
        .collect();
    plan.stages
        .iter()
        .map(|s| RoleNode {
            role: s.role.clone(),
            after: s.after.clone(),
            hosts: s
                .hosts
                .iter()
                .filter(|h| selected.contains(&h.as_str()))
                .cloned()
                .collect(),
            step: steps.get(&s.role).cloned(),
        })
        .collect()
}

type NodeFuture<'a> = Pin<Box<dyn Future<Output = (Node, Result<NodeOut>)> + Send + 'a>>;

#[derive(Debug, Default)]
struct NodeOut {
    install: InstallStats,
    started: Vec<String>,
    restarted: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
pub async fn walk(
    inv: &Inventory,
    plan: &Plan,
    targets: &[Target<'_>],
    changes: &[HostChanges],
    archives: &Archives<'_>,
    forks: usize,
    gate_timeout: Duration,
    ev: &Events,
    stop: &Interrupt,
) -> Result<Walked, DeployError> {
    let ids = plan.ids();
    let selected: Vec<&str> = targets.iter().map(|t| t.host.name.as_str()).collect();
    let roles = role_nodes(plan, &selected, changes);
    let index_of = |name: &str| targets.iter().position(|t| t.host.name == name);
    // What each node waits for.
    let mut deps: BTreeMap<Node, Vec<Node>> = BTreeMap::new();
    // Per host: the files, and each distribution to upload, smallest first and one at a time
    // (they share the host's disk), so a small component's roles start while a large one is
    // still on its way.
    let mut dists: BTreeMap<usize, Vec<&'static str>> = BTreeMap::new();
    for (i, ch) in changes.iter().enumerate() {
        deps.insert(Node::Files(i), vec![]);
        let mut mine: Vec<(u64, &'static str)> = inv
            .components
            .values()
            .filter(|c| ch.upload.iter().chain(&ch.unpack).any(|u| u == c.name))
            .map(|c| {
                let size = archives
                    .get(c.name)
                    .and_then(|(p, _)| std::fs::metadata(p).ok())
                    .map_or(0, |m| m.len());
                (size, c.name)
            })
            .collect();
        mine.sort();
        let mut prev: Option<Node> = None;
        for (_, name) in &mine {
            deps.insert(Node::Dist(i, name), prev.into_iter().collect());
            prev = Some(Node::Dist(i, name));
        }
        dists.insert(i, mine.into_iter().map(|(_, n)| n).collect());
    }
    for (r, node) in roles.iter().enumerate() {
        let component = components::role(&node.role).map(|d| d.component);
        let mut d: Vec<Node> = Vec::new();
        for i in node.hosts.iter().filter_map(|h| index_of(h)) {
            d.push(Node::Files(i));
            if let Some(c) = component.filter(|c| dists[&i].contains(c)) {
                d.push(Node::Dist(i, c));
            }
        }
        d.extend(
            node.after
                .iter()
                .filter_map(|a| roles.iter().position(|x| x.role == *a))
                .map(Node::Role),
        );
        deps.insert(Node::Role(r), d);
    }
    let sem = Arc::new(Semaphore::new(forks.max(1)));
    let mut done: BTreeMap<Node, Done> = BTreeMap::new();
    let mut running: FuturesUnordered<NodeFuture> = FuturesUnordered::new();
    let mut out = Walked::default();
    let mut launched: std::collections::BTreeSet<Node> = Default::default();
    loop {
        // Launch (or skip) every node whose dependencies are all finished; skipping one can
        // settle others, so repeat until nothing changes.
        let mut progress = true;
        while progress {
            progress = false;
            for (node, d) in &deps {
                if launched.contains(node) || !d.iter().all(|x| done.contains_key(x)) {
                    continue;
                }
                launched.insert(*node);
                progress = true;
                if stop.requested() {
                    done.insert(*node, Done::Skipped("interrupted".into()));
                    continue;
                }
                if let Some(up) = d.iter().find(|x| !matches!(done[x], Done::Ok)) {
                    let why = format!("after {}", describe(*up, targets, &roles));
                    ev.emit(
                        None,
                        "skipped",
                        &format!(
                            "{}: skipped, upstream failed ({why})",
                            describe(*node, targets, &roles)
                        ),
                    );
                    done.insert(*node, Done::Skipped(why));
                    continue;
                }
                let fut: NodeFuture = match *node {
                    Node::Files(i) => {
                        let (t, ch, sem) = (&targets[i], &changes[i], sem.clone());
                        Box::pin(async move {
                            let _p = sem.acquire().await;
                            let r = apply::write_files(inv, t, ch, ev).await;
                            (
                                *node,
                                r.map(|install| NodeOut {
                                    install,
                                    ..Default::default()
                                }),
                            )
                        })
                    }
                    Node::Dist(i, c) => {
                        let (t, ch, sem) = (&targets[i], &changes[i], sem.clone());
                        Box::pin(async move {
                            let _p = sem.acquire().await;
                            let r = apply::install_dist(inv, t, archives, ch, c, ev).await;
                            (
                                *node,
                                r.map(|install| NodeOut {
                                    install,
                                    ..Default::default()
                                }),
                            )
                        })
                    }
                    Node::Role(r) => {
                        let stage = &plan.stages[r];
                        let rn = &roles[r];
                        let members: Vec<&Target> = rn
                            .hosts
                            .iter()
                            .filter_map(|h| index_of(h))
                            .map(|i| &targets[i])
                            .collect();
                        let ids = &ids;
                        Box::pin(async move {
                            let res =
                                run_role(inv, ids, stage, rn, &members, gate_timeout, ev, stop)
                                    .await;
                            (*node, res)
                        })
                    }
                };
                running.push(fut);
            }
        }
        let Some((node, res)) = running.next().await else {
            break;
        };
        match res {
            Ok(o) => {
                out.install.uploaded_bytes += o.install.uploaded_bytes;
                out.install.archives_uploaded += o.install.archives_uploaded;
                out.install.archives_unpacked += o.install.archives_unpacked;
                out.install.files_written += o.install.files_written;
                out.started.extend(o.started);
                out.restarted.extend(o.restarted);
                done.insert(node, Done::Ok);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                ev.emit(
                    None,
                    "failed",
                    &format!("{}: {}", describe(node, targets, &roles), first_line(&msg)),
                );
                done.insert(node, Done::Failed(msg));
            }
        }
    }
    let failed: Vec<String> = done
        .iter()
        .filter_map(|(n, d)| match d {
            Done::Failed(m) => Some(format!("{}: {m}", describe(*n, targets, &roles))),
            _ => None,
        })
        .collect();
    if failed.is_empty() && stop.requested() {
        let not_run: Vec<String> = done
            .iter()
            .filter(|(_, d)| matches!(d, Done::Skipped(_)))
            .map(|(n, _)| describe(*n, targets, &roles))
            .collect();
        return Err(DeployError::Interrupted(format!(
            "interrupted: stopped at a safe point (every step under way finished); not run: {}; done: started {}; restarted {}\n   = help: run `stackctl up` again to resume",
            list_or_none(&not_run),
            list_or_none(&out.started),
            list_or_none(&out.restarted)
        )));
    }
    if failed.is_empty() {
        return Ok(out);
    }
    let skipped: Vec<String> = done
        .iter()
        .filter_map(|(n, d)| match d {
            Done::Skipped(why) => Some(format!("{} ({why})", describe(*n, targets, &roles))),
            _ => None,
        })
        .collect();
    let mut msg = failed.join("\n");
    if !skipped.is_empty() {
        msg.push_str(&format!(
            "\nskipped, upstream failed: {}",
            skipped.join(", ")
        ));
    }
    if !out.started.is_empty() || !out.restarted.is_empty() {
        msg.push_str(&format!(
            "\ndone before that: started {}; restarted {}",
            list_or_none(&out.started),
            list_or_none(&out.restarted)
        ));
    }
    Err(DeployError::Failed(anyhow!(msg)))
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn describe(n: Node, targets: &[Target], roles: &[RoleNode]) -> String {
    match n {
        Node::Files(i) => format!("writing files on {}", targets[i].host.name),
        Node::Dist(i, c) => format!("installing {c} on {}", targets[i].host.name),
        Node::Role(r) => roles[r].role.clone(),
    }
}

fn component_of(role: &str) -> Option<&'static dyn Component> {
    components::role(role).and_then(|r| components::find(r.component))
}

/// One role: its restarts (rolling ones in the component's order, each behind its gate), its
/// starts, then the gate over all its hosts.
#[allow(clippy::too_many_arguments)]
async fn run_role(
    inv: &Inventory,
    ids: &Ids,
    stage: &Stage,
    node: &RoleNode,
    members: &[&Target<'_>],
    timeout: Duration,
    ev: &Events,
    stop: &Interrupt,
) -> Result<NodeOut> {
    let mut out = NodeOut::default();
    if members.is_empty() {
        return Ok(out);
    }
    let find = |name: &str| {
        members
            .iter()
            .find(|t| t.host.name == name)
            .copied()
            .ok_or_else(|| anyhow!("internal: {name} is not a member of {}", stage.role))
    };
    let role = stage.role.as_str();
    if let Some(step) = &node.step {
        let rolling = changes::restart_policy(stage) == Restart::Rolling;
        if rolling && !step.restart.is_empty() {
            // One host at a time, in the component's order (leader or controller last), each
            // back and caught up before the next goes down.
            let order = blocking(inv, ids, role, &step.restart, |c, cl, role, hosts| {
                Ok(c.restart_order(cl, role, hosts)
                    .into_iter()
                    .map(|h| h.name.clone())
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|_| step.restart.clone());
            for name in &order {
                if stop.requested() {
                    // Between two instances is a safe point: the restarted ones are back.
                    bail!("interrupted before restarting {role} on {name}");
                }
                let t = find(name)?;
                restart_one(t, role, &inv.cluster, ev).await?;
                wait(
                    inv,
                    ids,
                    stage,
                    std::slice::from_ref(name),
                    timeout,
                    ev,
                    true,
                    members,
                )
                .await?;
                out.restarted.push(format!("{role} on {name}"));
            }
        } else {
            let restarts = step
                .restart
                .iter()
                .map(|n| async move { restart_one(find(n)?, role, &inv.cluster, ev).await });
            for r in futures_util::future::join_all(restarts).await {
                r?;
            }
            out.restarted
                .extend(step.restart.iter().map(|n| format!("{role} on {n}")));
        }
        if !step.start.is_empty() {
            let waited = blocking(inv, ids, role, &step.start, |c, cl, role, hosts| {
                c.before_start(cl, role, &hosts)
            })
            .await?;
            if let Some(what) = waited {
                ev.emit(None, "waited", &what);
            }
        }
        let starts = step
            .start
            .iter()
            .map(|n| async move { start(find(n)?, role, &inv.cluster, ev).await });
        for r in futures_util::future::join_all(starts).await {
            r?;
        }
        out.started
            .extend(step.start.iter().map(|n| format!("{role} on {n}")));
    }
    wait(inv, ids, stage, &node.hosts, timeout, ev, false, members).await?;
    Ok(out)
}

async fn start(t: &Target<'_>, role: &str, cluster: &str, ev: &Events) -> Result<()> {
    let launcher = Service::launcher(t.host, role);
    let owed = shell_quote(&restart_marker(cluster, role));
    // A one-time initialisation (the NameNode's format) runs first; the launcher skips it
    // once its marker exists.
    if t.services
        .iter()
        .any(|s| s.role == role && s.init.is_some())
    {
        let out = t
            .remote
            .run_ok(
                &format!("{} init", shell_quote(&launcher)),
                &format!("initialising {role}"),
            )
            .await?;
        ev.emit(Some(&t.host.name), "init", out.trim());
    }
    let out = t
        .remote
        .run_ok(
            &format!("{} start && rm -f {owed}", shell_quote(&launcher)),
            &format!("starting {role}"),
        )
        .await?;
    ev.emit(Some(&t.host.name), "start", out.trim());
    Ok(())
}

async fn restart_one(t: &Target<'_>, role: &str, cluster: &str, ev: &Events) -> Result<()> {
    let launcher = shell_quote(&Service::launcher(t.host, role));
    let owed = shell_quote(&restart_marker(cluster, role));
    // The stop may take the role's whole stop timeout before the launcher kills the JVM.
    let stop = t
        .services
        .iter()
        .find(|s| s.role == role)
        .map_or(0, |s| s.stop_timeout);
    let out = t
        .remote
        .run_ok_within(
            &format!("{launcher} stop && {launcher} start && rm -f {owed}"),
            &format!("restarting {role}"),
            Duration::from_secs(u64::from(stop)),
        )
        .await?;
    ev.emit(Some(&t.host.name), "restart", &out.replace('\n', "; "));
    Ok(())
}

/// Runs a component's blocking probe (`f`) off the async threads, on owned copies.
async fn blocking<T: Send + 'static>(
    inv: &Inventory,
    ids: &Ids,
    role: &str,
    hosts: &[String],
    f: impl FnOnce(&dyn Component, &Cluster, &str, Vec<&Host>) -> Result<T> + Send + 'static,
) -> Result<T> {
    let (inv, ids, role, hosts) = (inv.clone(), ids.clone(), role.to_string(), hosts.to_vec());
    tokio::task::spawn_blocking(move || {
        let c = component_of(&role).ok_or_else(|| anyhow!("unknown role {role}"))?;
        let hosts: Vec<&Host> = hosts.iter().filter_map(|n| inv.host(n)).collect();
        f(c, &Cluster::new(&inv, &ids), &role, hosts)
    })
    .await
    .map_err(|e| anyhow!("{e}"))?
}

/// Waits until `hosts` pass the role's gate (`restarted`: the per-instance gate of a rolling
/// restart), or fails with the last lines of the members' logs.
#[allow(clippy::too_many_arguments)]
async fn wait(
    inv: &Inventory,
    ids: &Ids,
    stage: &Stage,
    hosts: &[String],
    timeout: Duration,
    ev: &Events,
    restarted: bool,
    members: &[&Target<'_>],
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    ev.status(
        None,
        &format!("waiting for {} on {}", stage.service, hosts.join(", ")),
    );
    let mut last = String::new();
    let mut polls = 0u32;
    while Instant::now() < deadline && polls < 10_000 {
        polls += 1;
        let r = blocking(
            inv,
            ids,
            &stage.role,
            hosts,
            move |c, cl, role, hosts| match (restarted, hosts.as_slice()) {
                (true, [h]) => c.restarted(cl, role, h),
                _ => c.health(cl, role, &hosts),
            },
        )
        .await;
        match r {
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
    let comp = component_of(&stage.role).map(|c| c.name()).unwrap_or("");
    for t in members.iter().filter(|t| hosts.contains(&t.host.name)) {
        let log = Service::log_file(t.host, comp, &stage.role);
        // The JVM's own output (a JVM that could not start says why there, not in the log):
        // the launcher's file, or the unit's journal under systemd.
        let jvm_out = Service::out_file(t.host, comp, &stage.role);
        let unit = Service::unit_file(&inv.cluster, &stage.role);
        if let Ok(out) = t
            .remote
            .run(
                &format!(
                    "tail -n 20 {l}; if [ -s {o} ]; then echo '--- '{o}; tail -n 10 {o}; fi; \
                     if [ -d /run/systemd/system ] && [ -f {u} ]; then echo '--- journal'; journalctl -u {n} -n 10 --no-pager 2>&1; fi",
                    l = shell_quote(&log),
                    o = shell_quote(&jvm_out),
                    u = shell_quote(&unit),
                    n = shell_quote(&Service::unit_name(&inv.cluster, &stage.role)),
                ),
                &format!("reading {log}"),
            )
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

/// The health checks, from this machine to the hosts: each component's own probe.
pub fn check_stage_blocking(
    inv: &Inventory,
    ids: &Ids,
    role: &str,
    hosts: &[String],
) -> Result<String> {
    let c = component_of(role).ok_or_else(|| anyhow!("unknown role {role}"))?;
    let hosts: Vec<&Host> = hosts.iter().filter_map(|n| inv.host(n)).collect();
    c.health(&Cluster::new(inv, ids), role, &hosts)
}
