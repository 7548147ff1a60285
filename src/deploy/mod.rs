//! `stackctl up` and `down`: from a plan to running services, over SSH, in dependency order.
//!
//! Plan first, then apply exactly the plan: connect to every host and gather facts (one round
//! trip each, `session`), decide every change and refuse in preflight before a single byte is
//! written (`changes`, pure), upload what differs and write what changed (`apply`), then walk
//! the start stages behind health gates (`walk`). A second run finds nothing to do.

pub mod apply;
pub mod changes;
pub mod guard;
pub mod preflight;
pub mod session;
pub mod walk;

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

pub use self::changes::{HostChanges, HostPurge};
pub use self::session::{DeployError, UpOptions};
use crate::components::{Cluster, Service};
pub use crate::events::Events;
use crate::inventory::Inventory;
use crate::plan::Plan;
use crate::shell::shell_quote;

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

/// `up`: gathers, installs and configures all hosts in parallel, then walks the stages.
pub fn up(inv: &Inventory, plan: &Plan, opts: &UpOptions) -> Result<Summary, DeployError> {
    let rt = session::runtime().map_err(DeployError::Failed)?;
    rt.block_on(up_async(inv, plan, opts))
        .map_err(|e: DeployError| e.masked(&plan.secret_values))
}

async fn up_async(inv: &Inventory, plan: &Plan, opts: &UpOptions) -> Result<Summary, DeployError> {
    let started_at = Instant::now();
    let ev = Events::new(opts.json).masking(plan.secret_values.clone());
    let ids = plan.ids();
    let cl = Cluster::new(inv, &ids);
    ev.status(None, "connecting and gathering facts");
    let me = guard::Holder::me("up");
    let phase = crate::runlog::phase("connect, lock and gather facts");
    let (targets, archives, _warnings) =
        session::gather(&cl, plan, opts, &ev, false, Some(&me)).await?;
    drop(phase);
    ev.emit(None, "preflight", "preflight passed");
    let changes: Vec<HostChanges> = targets
        .iter()
        .map(|t| changes::host_changes(inv, t, &archives))
        .collect();
    let mut summary = Summary {
        hosts: targets.len(),
        ..Default::default()
    };
    // Installs and roles as one graph: each role starts once its hosts are installed and the
    // roles it needs are healthy.
    ev.status(None, "installing, configuring and starting");
    let (stop, listener) = session::Interrupt::listen(&ev);
    let phase = crate::runlog::phase("install, configure and start");
    let walked = walk::walk(
        inv,
        plan,
        &targets,
        &changes,
        &archives,
        opts.forks,
        opts.gate_timeout,
        &ev,
        &stop,
    )
    .await;
    drop(phase);
    listener.abort();
    session::release_all(&targets, &inv.cluster, &me).await;
    session::close_all(targets).await;
    let walked = walked?;
    summary.uploaded_bytes = walked.install.uploaded_bytes;
    summary.archives_uploaded = walked.install.archives_uploaded;
    summary.archives_unpacked = walked.install.archives_unpacked;
    summary.files_written = walked.install.files_written;
    summary.started = walked.started;
    summary.restarted = walked.restarted;
    summary.seconds = started_at.elapsed().as_secs_f64();
    Ok(summary)
}

/// One host's changes as `plan --live` shows them: with the host's current file contents.
#[derive(Debug, Serialize)]
pub struct LiveHost {
    #[serde(flatten)]
    pub changes: HostChanges,
    /// For each changed file: what the host has now (None: the file does not exist).
    pub current: BTreeMap<String, Option<String>>,
}

/// `plan --live`: what `up` would change on each reachable host, and the preflight warnings
/// (its errors are the error). Reads only.
pub fn live(
    inv: &Inventory,
    plan: &Plan,
    opts: &UpOptions,
) -> Result<(Vec<LiveHost>, Vec<preflight::Finding>), DeployError> {
    let rt = session::runtime().map_err(DeployError::Failed)?;
    rt.block_on(async {
        let ids = plan.ids();
        let cl = Cluster::new(inv, &ids);
        // Read only: no lock. A bar of hosts done on a terminal (not with --json).
        let _phase = crate::runlog::phase("connect and gather facts");
        let n = session::selected(inv, plan, &opts.limit).len();
        let ev = Events::counting(n, opts.json);
        ev.status(None, "connecting and reading facts");
        let (targets, archives, warnings) =
            session::gather(&cl, plan, opts, &ev, true, None).await?;
        drop(ev);
        let out = targets
            .iter()
            .map(|t| {
                let changes = changes::host_changes(inv, t, &archives);
                let current = changes
                    .files
                    .iter()
                    .map(|p| (p.clone(), t.facts.contents.get(p).cloned()))
                    .collect();
                LiveHost { changes, current }
            })
            .collect();
        session::close_all(targets).await;
        Ok((out, warnings))
    })
    .map_err(|e: DeployError| e.masked(&plan.secret_values))
}

/// What `down --purge` will delete, host by host, and what the operator must know first.
#[derive(Debug, Default, Serialize)]
pub struct Purge {
    pub hosts: Vec<HostPurge>,
    pub warnings: Vec<String>,
}

/// The purge of the hosts `limit` selects, computed from the plan alone (nothing connects):
/// what is printed before `--yes` and exactly what `down --purge --yes` deletes.
pub fn purge_plan(inv: &Inventory, plan: &Plan, limit: &Option<Vec<String>>) -> Purge {
    let ids = plan.ids();
    let cl = Cluster::new(inv, &ids);
    let hosts: Vec<&crate::inventory::Host> = session::selected(inv, plan, limit)
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    Purge {
        hosts: hosts.iter().map(|h| changes::purge_list(&cl, h)).collect(),
        warnings: crate::components::all()
            .iter()
            .filter(|c| inv.component(c.name()).is_some())
            .flat_map(|c| c.purge_warnings(&cl, &hosts))
            .collect(),
    }
}

#[derive(Debug, Clone)]
pub struct DownOptions {
    pub up: UpOptions,
    pub purge: bool,
}

/// Stops services in reverse start order; with `purge`, deletes their data too.
pub fn down(inv: &Inventory, plan: &Plan, opts: &DownOptions) -> Result<Summary, DeployError> {
    let rt = session::runtime().map_err(DeployError::Failed)?;
    rt.block_on(async {
        let started_at = Instant::now();
        let ev = Events::new(opts.up.json).masking(plan.secret_values.clone());
        let ids = plan.ids();
        let cl = Cluster::new(inv, &ids);
        let pairs = session::selected(inv, plan, &opts.up.limit);
        let connected = session::connect_all(&pairs, &opts.up, &ev).await?;
        let me = guard::Holder::me("down");
        let remotes: Vec<(&str, &crate::remote::transport::Remote)> = connected
            .iter()
            .map(|(h, _, r)| (h.name.as_str(), r))
            .collect();
        if let Err(e) = guard::acquire(&remotes, &inv.cluster, &me, opts.up.force_unlock, &ev).await
        {
            for (_, _, r) in connected {
                r.close().await;
            }
            return Err(e.into());
        }
        let mut summary = Summary {
            hosts: connected.len(),
            ..Default::default()
        };
        let result = async {
            for stage in plan.stages.iter().rev() {
                let stops = connected
                    .iter()
                    .filter(|(h, _, _)| h.has_role(&stage.role))
                    .map(|(h, _, r)| {
                        let cl = &cl;
                        async move {
                            let l = shell_quote(&Service::launcher(h, &stage.role));
                            // A stop may take the role's whole stop timeout.
                            let stop = changes::services(cl, h)
                                .iter()
                                .find(|s| s.role == stage.role)
                                .map_or(0, |s| s.stop_timeout);
                            let out = r
                                .run_ok_within(
                                    // The unit no longer starts at boot; --purge removes it.
                                    &format!(
                                        "if [ -x {l} ]; then {l} stop && {l} disable{}; fi",
                                        if opts.purge { " purge" } else { "" }
                                    ),
                                    &format!("stopping {}", stage.role),
                                    std::time::Duration::from_secs(u64::from(stop)),
                                )
                                .await?;
                            Ok::<_, anyhow::Error>((h.name.clone(), out))
                        }
                    });
                for r in futures_util::future::join_all(stops).await {
                    let (host, out) = r?;
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
                    // Exactly the list printed before --yes (changes::purge_list).
                    let dirs = changes::purge_list(&cl, h).delete;
                    if dirs.is_empty() {
                        continue;
                    }
                    let script = format!(
                        "rm -rf -- {}",
                        dirs.iter()
                            .map(|d| shell_quote(d))
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    r.run_ok(&script, "purging data").await?;
                    ev.emit(
                        Some(&h.name),
                        "purge",
                        &format!("deleted {}", dirs.join(", ")),
                    );
                }
            }
            Ok::<_, anyhow::Error>(())
        }
        .await;
        guard::release(&remotes, &inv.cluster, &me).await;
        for (_, _, r) in connected {
            r.close().await;
        }
        result.map_err(DeployError::Failed)?;
        summary.seconds = started_at.elapsed().as_secs_f64();
        Ok(summary)
    })
    .map_err(|e: DeployError| e.masked(&plan.secret_values))
}
