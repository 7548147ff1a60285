//! `stackctl plan`: the plan offline; with `--live`, the same plan compared with the hosts.

use super::{color_on, plan_failed, plan_options, print, ready, remote_options, Error};
use crate::cli::PlanArgs;
use crate::deploy;
use crate::output;
use crate::plan;

pub fn run(args: PlanArgs) -> Result<(), Error> {
    if args.inv.inventory.as_os_str() == "-" && (args.inv.locked || args.write_lock) {
        return Err(Error::Usage(
            "an inventory read from stdin has no lock file: --locked and --write-lock need an inventory file".into(),
        ));
    }
    // A preview: the lock file is written only with --write-lock (`up` records ids).
    let phase = crate::runlog::phase("load and plan");
    let (inv, plan) = plan::load_and_plan_cached(
        &args.inv.inventory,
        &plan_options(&args.inv, !args.write_lock),
    )
    .map_err(|e| plan_failed(e, args.json))?;
    drop(phase);
    crate::runlog::mask(&plan.secret_values);
    if let Some(dir) = &args.out {
        let n = plan::write_out(&plan, dir).map_err(Error::Failed)?;
        if !args.json {
            super::eprint(&format!("wrote {n} files under {}\n", dir.display()));
        }
    }
    let color = color_on(args.color);
    let out = if args.json {
        output::json::versioned(&plan)
    } else {
        output::plan::text(
            &plan,
            &output::plan::TextOptions {
                show_files: args.show_files,
                color,
            },
        )
    };
    if !args.live || plan.has_errors() {
        print(out.as_bytes());
        if !args.json {
            // The report names each compatibility error; stderr says where each comes from in
            // the inventory and what would fix it.
            let mut text = String::new();
            for d in &plan.compat_errors {
                text.push_str(&d.render(Some(&inv.source)));
            }
            if !plan.compat_errors.is_empty() {
                let n = plan.compat_errors.len();
                text.push_str(&format!(
                    "{n} compatibility error{} in {}\n",
                    if n == 1 { "" } else { "s" },
                    inv.path.display()
                ));
            }
            super::eprint(&text);
        }
        plan_hint(&args, &plan, None);
        return if plan.has_errors() {
            Err(Error::Reported(crate::exit::FAILED))
        } else {
            Ok(())
        };
    }
    // --live: the same plan, then what it would change on the hosts (read only).
    let opts = crate::deploy::UpOptions {
        allow_ephemeral: args.allow_ephemeral,
        ..remote_options(&args.inv, &args.ssh, 8, args.limit.clone(), args.json, 120)
    };
    let (live, warnings) =
        match ready(&inv, &plan, &opts.limit).and_then(|()| deploy::live(&inv, &plan, &opts)) {
            Ok(l) => l,
            Err(e) => {
                print(out.as_bytes());
                return Err(e.into());
            }
        };
    let out = if args.json {
        let mut doc = output::json::stamp(output::plan::live_json(&plan, &live));
        doc["preflight"] = serde_json::to_value(&warnings).expect("findings serialise");
        serde_json::to_string_pretty(&doc).expect("json") + "\n"
    } else {
        out + &output::plan::live_text(&plan, &live, color)
            + &output::plan::findings_text(&warnings, color)
    };
    print(out.as_bytes());
    plan_hint(&args, &plan, Some(changes_present(&plan, &live)));
    if args.detailed_exitcode && changes_present(&plan, &live) {
        return Err(Error::Reported(crate::exit::CHANGES));
    }
    Ok(())
}

/// The one line after the text report: what to run next, or what to fix. `changes` is what
/// `--live` found (None: offline).
fn plan_hint(args: &PlanArgs, plan: &crate::plan::Plan, changes: Option<bool>) {
    let inv = &args.inv.inventory;
    if inv.as_os_str() == "-" {
        let what = if plan.has_errors() {
            "fix the errors above, then save the inventory to a file for stackctl up -i FILE"
        } else {
            "save the inventory to a file, then stackctl up -i FILE"
        };
        return super::hint(args.json, what);
    }
    let i = super::inventory_arg(inv);
    let text = if plan.has_errors() {
        format!("fix the errors above, then stackctl plan {i}")
    } else {
        match changes {
            None => format!("stackctl up {i} (plan --live previews its changes)"),
            Some(true) => format!("stackctl up {i}"),
            Some(false) => format!("nothing to change; stackctl verify {i} checks the cluster"),
        }
    };
    super::hint(args.json, &text);
}

/// `--detailed-exitcode`: whether `up` would change anything. A host changes exactly when
/// `plan --live` lists something for it (`HostChanges::is_empty`, the same test as its "no
/// changes" line); the lock file changes when ids are to be recorded or retired (an inventory
/// from stdin has none). With `--write-lock` the lock file this run wrote counts as a change.
pub fn changes_present(plan: &crate::plan::Plan, live: &[deploy::LiveHost]) -> bool {
    let lock = !plan.lock.path.is_empty()
        && matches!(
            plan.lock.state,
            crate::lock::LockState::Created | crate::lock::LockState::Updated
        );
    lock || live.iter().any(|h| !h.changes.is_empty())
}
