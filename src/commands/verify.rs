//! `stackctl verify`: the live cluster against the inventory.

use std::time::Duration;

use super::{color_on, plan_failed, print, ssh_options, Error};
use crate::cli::VerifyArgs;
use crate::output;
use crate::verify::{self, VerifyOptions};

pub fn run(args: VerifyArgs) -> Result<(), Error> {
    if args.inv.inventory.as_os_str() == "-" {
        return Err(Error::Usage(
            "`-i -` is for `plan` only: verify checks the ids in the lock file beside the inventory, so it needs an inventory file".into(),
        ));
    }
    let opts = VerifyOptions {
        inventory: args.inv.inventory.clone(),
        templates: args.inv.templates.clone(),
        locked: args.inv.locked,
        ssh: ssh_options(&args.ssh, Duration::from_secs(60)),
        forks: args.forks.max(1),
        smoke: args
            .smoke
            .then(|| Duration::from_secs(args.smoke_timeout.max(1))),
        limit: args.limit.clone(),
        progress: !args.json,
    };
    let report = verify::verify(&opts).map_err(|e| plan_failed(e, args.json))?;
    let out = if args.json {
        output::json::versioned(&report)
    } else {
        output::verify::text(&report, color_on(args.color))
    };
    print(out.as_bytes());
    match report.exit_code() {
        crate::exit::OK => Ok(()),
        code => Err(Error::Reported(code)),
    }
}
