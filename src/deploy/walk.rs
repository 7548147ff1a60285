//! The start walk: stage by stage in dependency order, each stage's restarts (rolling where
//! the component asks for it) and starts, then its health gate. What runs is exactly
//! `changes::steps`, the pure order `plan --live` and the tests see.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use super::changes::{self, HostChanges, StageStep};
use super::session::{DeployError, Target};
use crate::components::{self, Cluster, Restart, Service};
use crate::events::Events;
use crate::inventory::{Host, Inventory};
use crate::lock::Ids;
use crate::plan::{Plan, Stage};
use crate::shell::shell_quote;

/// What the walk did, by "role on host".
#[derive(Debug, Default)]
pub struct Walked {
    pub started: Vec<String>,
    pub restarted: Vec<String>,
}

pub async fn walk(
    inv: &Inventory,
    plan: &Plan,
    targets: &[Target<'_>],
    changes: &[HostChanges],
    gate_timeout: Duration,
    ev: &Events,
) -> Result<Walked, DeployError> {
    let ids = plan.ids();
    let mut done = Walked::default();
    let find = |name: &String| {
        targets
            .iter()
            .find(|t| t.host.name == *name)
            .expect("steps name targets")
    };
    for step in changes::steps(plan, changes) {
        let stage = plan
            .stages
            .iter()
            .find(|s| s.role == step.role)
            .expect("steps come from stages");
        let StageStep {
            role,
            restart,
            start: to_start,
            gate: members,
            ..
        } = &step;
        let rolling = changes::restart_policy(stage) == Restart::Rolling;
        for name in restart {
            let t = find(name);
            restart_one(t, role, ev)
                .await
                .map_err(DeployError::Failed)?;
            if rolling {
                // One host at a time, so the quorum and the partitions stay available.
                gate(inv, &ids, stage, &[t], gate_timeout, ev)
                    .await
                    .map_err(DeployError::Failed)?;
            }
            done.restarted.push(format!("{role} on {name}"));
        }
        let starts = to_start.iter().map(|n| start(find(n), role, ev));
        for r in futures_util::future::join_all(starts).await {
            r.map_err(DeployError::Failed)?;
        }
        done.started
            .extend(to_start.iter().map(|n| format!("{role} on {n}")));
        let all: Vec<&Target> = members.iter().map(find).collect();
        gate(inv, &ids, stage, &all, gate_timeout, ev)
            .await
            .map_err(DeployError::Failed)?;
    }
    Ok(done)
}

async fn start(t: &Target<'_>, role: &str, ev: &Events) -> Result<()> {
    let launcher = Service::launcher(t.host, role);
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
            &format!("{} start", shell_quote(&launcher)),
            &format!("starting {role}"),
        )
        .await?;
    ev.emit(Some(&t.host.name), "start", out.trim());
    Ok(())
}

async fn restart_one(t: &Target<'_>, role: &str, ev: &Events) -> Result<()> {
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
    ids: &Ids,
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
            .run(
                &format!("tail -n 20 {}", shell_quote(&log)),
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

async fn check_stage(
    inv: &Inventory,
    ids: &Ids,
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
    ids: &Ids,
    role: &str,
    hosts: &[String],
) -> Result<String> {
    let def = components::role(role).ok_or_else(|| anyhow!("unknown role {role}"))?;
    let c = components::find(def.component).expect("roles belong to components");
    let hosts: Vec<&Host> = hosts.iter().filter_map(|n| inv.host(n)).collect();
    c.health(&Cluster::new(inv, ids), role, &hosts)
}
