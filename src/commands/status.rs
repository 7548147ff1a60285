//! `stackctl status`: what runs where, at a glance.

use std::time::Duration;

use super::{color_on, plan_failed, print, ssh_options, Error};
use crate::cli::StatusArgs;
use crate::output;
use crate::status::{self, StatusOptions};

/// The document's version (minor: additions, major: changes that break readers).
pub const SCHEMA_VERSION: &str = "1.0";

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
    let report = status::status(&opts).map_err(|e| match e {
        status::StatusError::Plan(e) => plan_failed(e, args.json),
        status::StatusError::Limit(m) => Error::Usage(m),
    })?;
    let out = if args.json {
        let mut v = serde_json::to_value(&report).expect("report serialises");
        if let Some(m) = v.as_object_mut() {
            m.insert("schema_version".into(), SCHEMA_VERSION.into());
            m.insert("exit_code".into(), report.exit_code().into());
        }
        serde_json::to_string_pretty(&v).expect("json") + "\n"
    } else {
        output::status::text(&report, color_on(args.color))
    };
    print(out.as_bytes());
    match report.exit_code() {
        crate::exit::OK => Ok(()),
        code => Err(Error::Reported(code)),
    }
}
