//! `stackctl man`: manual pages generated from the clap definitions (src/cli.rs) with
//! clap_mangen, git-style: `stackctl(1)` lists the subcommands, each of which has its own
//! `stackctl-SUBCOMMAND(1)`. The pages shipped under `man/` are these bytes (tests/man.rs).

use std::io::Write;

use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use super::{print, Error};
use crate::cli::{Cli, ManArgs};

/// The documented exit codes, for the main page's EXIT STATUS.
const EXIT_STATUS: &[(i32, &str)] = &[
    (crate::exit::OK, "Success; warnings may have been printed."),
    (
        crate::exit::FAILED,
        "A step failed; plan: a compatibility error; verify: a check failed.",
    ),
    (crate::exit::INVALID, "Bad inventory, lock file or arguments."),
    (
        crate::exit::PREFLIGHT,
        "Preflight failed (hosts unreachable, wrong JDK): nothing was changed; verify: a host could not be reached.",
    ),
    (
        crate::exit::LOCKED,
        "Another up or down holds the cluster lock: nothing was changed.",
    ),
    (
        crate::exit::CHANGES,
        "plan --live --detailed-exitcode: the plan ran and up would change something (a host, or the lock file).",
    ),
    (
        crate::exit::INTERRUPTED,
        "Interrupted (Ctrl-C, SIGTERM) and stopped at a safe point; up again resumes.",
    ),
];

/// The whole CLI as clap_mangen sees it: built, without clap's `help` subcommand.
fn root() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every page: (file name, roff), the main page first.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let cmd = root();
    let mut out = vec![render(&cmd, None)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push(render(sub, Some(&cmd)));
    }
    out
}

/// The names of the subcommands that have a page.
pub fn subcommands() -> Vec<String> {
    root()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

/// One page: clap_mangen's sections, then EXIT STATUS (main page) and SEE ALSO.
fn render(cmd: &clap::Command, parent: Option<&clap::Command>) -> (String, Vec<u8>) {
    let man = Man::new(cmd.clone())
        .source(format!("stackctl {}", env!("CARGO_PKG_VERSION")))
        .manual("stackctl manual");
    let mut buf = Vec::new();
    // Writing into memory cannot fail.
    let _ = man.render_title(&mut buf);
    let _ = man.render_name_section(&mut buf);
    let _ = man.render_synopsis_section(&mut buf);
    let _ = man.render_description_section(&mut buf);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut buf);
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        let _ = man.render_subcommands_section(&mut buf);
    }
    let mut roff = Roff::default();
    match parent {
        None => {
            roff.control("SH", ["EXIT STATUS"]);
            for (code, what) in EXIT_STATUS {
                roff.control("TP", []);
                roff.text([bold(code.to_string())]);
                roff.text([roman(*what)]);
            }
            roff.control("SH", ["SEE ALSO"]);
            let names: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("stackctl-{}(1)", s.get_name()))
                .collect();
            roff.text([roman(names.join(", "))]);
        }
        Some(_) => {
            roff.control("SH", ["EXIT STATUS"]);
            roff.text([roman("See stackctl(1).")]);
            roff.control("SH", ["SEE ALSO"]);
            roff.text([roman("stackctl(1)")]);
        }
    }
    let _ = roff.to_writer(&mut buf);
    if cmd.get_version().is_some() {
        let _ = man.render_version_section(&mut buf);
    }
    (man.get_filename(), once_preamble(&buf))
}

/// Each section clap_mangen renders on its own starts with the same two-line preamble (the
/// apostrophe string); a page needs it once.
fn once_preamble(roff: &[u8]) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8_lossy(roff);
    match text.split_once(PREAMBLE) {
        Some((before, after)) => {
            format!("{before}{PREAMBLE}{}", after.replace(PREAMBLE, "")).into_bytes()
        }
        None => roff.to_vec(),
    }
}

pub fn run(args: ManArgs) -> Result<(), Error> {
    let pages = pages();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Failed(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
        for (name, roff) in &pages {
            let path = dir.join(name);
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(roff))
                .map_err(|e| {
                    Error::Failed(anyhow::anyhow!("cannot write {}: {e}", path.display()))
                })?;
        }
        super::eprint(&format!(
            "wrote {} pages under {}\n",
            pages.len(),
            dir.display()
        ));
        return Ok(());
    }
    let want = match &args.command {
        None => "stackctl.1".to_string(),
        Some(sub) => format!("stackctl-{sub}.1"),
    };
    match pages.iter().find(|(name, _)| *name == want) {
        Some((_, roff)) => {
            print(roff);
            Ok(())
        }
        None => Err(Error::Usage(format!(
            "no manual page for `{}`; subcommands: {}",
            args.command.unwrap_or_default(),
            subcommands().join(", ")
        ))),
    }
}
