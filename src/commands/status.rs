//! `stackctl status`: what runs where, at a glance.

use std::time::Duration;

use super::{color_on, plan_failed, print, ssh_options, Error};
use crate::cli::StatusArgs;
use crate::output;
use crate::status::{self, StatusOptions};

pub fn run(args: StatusArgs) -> Result<(), Error> {
    if args.inv.inventory.as_os_str() == "-" {
        return Err(Error::Usage(
            "`-i -` is for `plan` only: status reads the ids in the lock file beside the inventory, so it needs an inventory file".into(),
        ));
    }
    let opts = StatusOptions {
        inventory: args.inv.inventory.clone(),
        templates: args.inv.templates.clone(),
        locked: args.inv.locked,
        ssh: ssh_options(&args.ssh, Duration::from_secs(20)),
        limit: args.limit.clone(),
        probe_timeout: Duration::from_millis(args.probe_timeout_ms.max(50)),
    };
    let report = status::status(&opts).map_err(|e| plan_failed(e, args.json))?;
    let out = if args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            #[serde(flatten)]
            report: &'a status::StatusReport,
            exit_code: i32,
        }
        output::json::versioned(&Doc {
            report: &report,
            exit_code: report.exit_code(),
        })
    } else {
        output::status::text(&report, color_on(args.color))
    };
    print(out.as_bytes());
    match report.exit_code() {
        crate::exit::OK => Ok(()),
        code => Err(Error::Reported(code)),
    }
}
