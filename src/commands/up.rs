//! `stackctl up` and `stackctl down`.

use super::{eprint, prepare, prepare_as, print, remote_options, Error};
use crate::cli::{DownArgs, RemoteArgs, UpArgs};
use crate::deploy::{self, DeployError, DownOptions, Summary, UpOptions};
use crate::output::summary;

fn options(a: &RemoteArgs) -> UpOptions {
    UpOptions {
        force_unlock: a.force_unlock,
        ..remote_options(
            &a.inv,
            &a.ssh,
            a.forks,
            a.limit.clone(),
            a.json,
            a.gate_timeout,
        )
    }
}

/// `up` and `down` record ids in the lock file beside the inventory: stdin has none.
fn needs_file(a: &RemoteArgs) -> Result<(), Error> {
    if a.inv.inventory.as_os_str() == "-" {
        return Err(Error::Usage(
            "`-i -` is for `plan` only: up and down record ids in the lock file beside the inventory, so they need an inventory file".into(),
        ));
    }
    Ok(())
}

pub fn up(args: UpArgs) -> Result<(), Error> {
    needs_file(&args.remote)?;
    let opts = UpOptions {
        allow_ephemeral: args.allow_ephemeral,
        ..options(&args.remote)
    };
    let result = prepare(&opts).and_then(|(inv, plan)| deploy::up(&inv, &plan, &opts));
    finish(result, opts.json, "up")?;
    let i = super::inventory_arg(&opts.inventory);
    super::hint(
        opts.json,
        &format!("stackctl verify {i} checks it; stackctl status shows what runs where"),
    );
    Ok(())
}

pub fn down(args: DownArgs) -> Result<(), Error> {
    needs_file(&args.remote)?;
    let opts = DownOptions {
        up: options(&args.remote),
        purge: args.purge,
    };
    let (inv, plan) = match prepare_as(&opts.up, true) {
        Ok(p) => p,
        Err(e) => return finish(Err(e), opts.up.json, "down"),
    };
    if opts.purge {
        // The exact list first, from the plan alone; without --yes nothing else happens.
        let purge = deploy::purge_plan(&inv, &plan, &opts.up.limit);
        eprint(&summary::purge_text(&purge));
        if opts.up.json {
            print(
                format!(
                    "{}\n",
                    crate::output::json::stamp(
                        serde_json::json!({ "event": "purge-plan", "purge": purge })
                    )
                )
                .as_bytes(),
            );
        }
        if !args.yes {
            return Err(Error::Usage(
                "--purge deletes the directories listed above; nothing was stopped or deleted: add --yes to confirm".into(),
            ));
        }
    }
    let result = deploy::down(&inv, &plan, &opts);
    finish(result, opts.up.json, "down")
}

fn finish(result: Result<Summary, DeployError>, json: bool, what: &str) -> Result<(), Error> {
    if json {
        let doc = summary::done_json(result.as_ref().map_err(|e| e.to_string()));
        print(format!("{doc}\n").as_bytes());
    }
    let s = result?;
    if !json {
        eprint(&format!("{}\n", summary::text(&s, what)));
    }
    Ok(())
}
