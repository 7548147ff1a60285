//! Thin entry point: parse arguments, run one library operation, map its outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use stackctl::cli::{Cli, ColorChoice, Command, PlanArgs, Shell};
use stackctl::exit;
use stackctl::plan::{self, PlanError, PlanOptions};
use stackctl::report;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let code = match cli.command {
        Command::Plan(args) => run_plan(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let sh = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            // Generated into memory first: clap_complete panics on a closed pipe.
            let mut buf = Vec::new();
            clap_complete::generate(sh, &mut cmd, "stackctl", &mut buf);
            let _ = std::io::stdout().write_all(&buf);
            exit::OK
        }
    };
    ExitCode::from(code as u8)
}

fn run_plan(args: PlanArgs) -> i32 {
    let opts = PlanOptions {
        templates: args.templates.clone(),
        locked: args.locked,
    };
    let plan = match plan::plan(&args.inventory, &opts) {
        Ok(p) => p,
        Err(e) => {
            let code = match &e {
                PlanError::Invalid(_) | PlanError::LockOutdated { .. } => exit::INVALID,
                PlanError::Other(_) => exit::FAILED,
            };
            if args.json {
                let doc = error_json(&e);
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            eprintln!("{e}");
            return code;
        }
    };
    if let Some(dir) = &args.out {
        match plan::write_out(&plan, dir) {
            Ok(n) => {
                if !args.json {
                    eprintln!("wrote {n} files under {}", dir.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return exit::FAILED;
            }
        }
    }
    let out = if args.json {
        serde_json::to_string_pretty(&plan).expect("plan serialises") + "\n"
    } else {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        report::text(
            &plan,
            &report::TextOptions {
                show_files: args.show_files,
                color,
            },
        )
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`stackctl plan | head`) is not an error worth a panic.
    let _ = stdout.write_all(out.as_bytes());
    if plan.has_errors() {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn error_json(e: &PlanError) -> serde_json::Value {
    match e {
        PlanError::Invalid(inv) => {
            serde_json::json!({ "ok": false, "kind": "invalid", "diagnostics": inv.diagnostics })
        }
        PlanError::LockOutdated { path, changes } => {
            serde_json::json!({ "ok": false, "kind": "lock_outdated", "lock": path, "changes": changes })
        }
        PlanError::Other(err) => {
            serde_json::json!({ "ok": false, "kind": "error", "message": format!("{err:#}") })
        }
    }
}
