//! `stackctl fetch`: every release archive the inventory needs, downloaded, verified and
//! cached; and the same step at the start of `up`, before any host is touched.

use std::path::Path;

use super::{eprint, print, Error};
use crate::archives::{self, Ready};
use crate::cli::FetchArgs;
use crate::components;
use crate::deploy::DeployError;
use crate::dist;
use crate::inventory;
use crate::plan::PlanError;

pub fn run(args: FetchArgs) -> Result<(), Error> {
    let (mut inv, warnings) = inventory::load(&args.inventory, components::catalog())
        .map_err(|e| super::plan_failed(PlanError::Invalid(e), args.json))?;
    if !args.json {
        let mut text = String::new();
        for d in &warnings.0 {
            text.push_str(&d.render(Some(&inv.source)));
        }
        eprint(&text);
    }
    let ui = dist::Ui {
        json: args.json,
        quiet: false,
    };
    let json = args.json;
    let result = archives::fetch_all(&mut inv, ui, |r| {
        if !json {
            print(format!("{}\n", line(r)).as_bytes());
        }
    });
    match result {
        Ok(ready) => {
            if json {
                let doc = crate::output::json::stamp(
                    serde_json::json!({ "ok": true, "archives": ready }),
                );
                print((serde_json::to_string_pretty(&doc).expect("json") + "\n").as_bytes());
            }
            Ok(())
        }
        Err(e) => {
            if json {
                let doc = crate::output::json::stamp(
                    serde_json::json!({ "ok": false, "error": format!("{e:#}") }),
                );
                print((serde_json::to_string_pretty(&doc).expect("json") + "\n").as_bytes());
            }
            Err(Error::Failed(e))
        }
    }
}

/// One line per archive: where it is and how it was verified.
fn line(r: &Ready) -> String {
    match &r.fetched {
        Some(f) => format!("{}: {}", r.component, dist::summary_line(f)),
        None if r.local => format!(
            "{}: {} (archive: as written; not fetched or checked)",
            r.component,
            r.path.display()
        ),
        None => format!("{}: {}", r.component, r.path.display()),
    }
}

/// `up`'s first step: fetch what the cache lacks (one line each on stderr). An inventory that
/// does not load is left to the plan, which reports it properly.
pub fn before_up(path: &Path, json: bool) -> Result<(), DeployError> {
    let Ok((mut inv, _)) = inventory::load(path, components::catalog()) else {
        return Ok(());
    };
    let ui = dist::Ui { json, quiet: false };
    archives::fetch_all(&mut inv, ui, |r| {
        if r.fetched.is_some() {
            eprint(&format!("{}\n", line(r)));
        }
    })
    .map(|_| ())
    .map_err(|e| DeployError::Failed(e.context("fetching the release archives")))
}
