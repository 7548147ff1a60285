//! Thin entry point: parse arguments, run one library operation, map its outcome to an exit code.

use std::io::{IsTerminal, Write};

// Planning a large cluster is allocation-bound (template contexts); mimalloc halves that cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use stackctl::cli::{
    Cli, ColorChoice, Command, InventoryArgs, PlanArgs, RemoteArgs, Shell, SshArgs, VerifyArgs,
};
use stackctl::deploy::{self, DeployError, DownOptions, Summary, UpOptions};
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
        Command::Up(args) => finish(
            deploy::up(&up_options(&args.remote)),
            args.remote.json,
            "up",
        ),
        Command::Down(args) => {
            if args.purge && !args.yes {
                eprintln!("error: --purge deletes every ZooKeeper, Kafka, HDFS and HBase data directory; add --yes to confirm");
                return ExitCode::from(exit::INVALID as u8);
            }
            let opts = DownOptions {
                up: up_options(&args.remote),
                purge: args.purge,
            };
            finish(deploy::down(&opts), args.remote.json, "down")
        }
        Command::Verify(args) => run_verify(args),
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
    stackctl::transport::cleanup();
    ExitCode::from(code as u8)
}

fn run_plan(args: PlanArgs) -> i32 {
    let opts = PlanOptions {
        templates: args.inv.templates.clone(),
        locked: args.inv.locked,
        read_only: false,
    };
    let plan = match plan::plan(&args.inv.inventory, &opts) {
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
        let color = color_on(args.color);
        report::text(
            &plan,
            &report::TextOptions {
                show_files: args.show_files,
                color,
            },
        )
    };
    if !args.live || plan.has_errors() {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`stackctl plan | head`) is not an error worth a panic.
        let _ = stdout.write_all(out.as_bytes());
        return if plan.has_errors() {
            exit::FAILED
        } else {
            exit::OK
        };
    }
    // --live: the same plan, then what it would change on the hosts (read only).
    let opts = remote_options(&args.inv, &args.ssh, 8, args.limit.clone(), false, 120);
    let live = match deploy::live(&opts) {
        Ok(l) => l,
        Err(e) => {
            let _ = std::io::stdout().write_all(out.as_bytes());
            eprintln!("{e}");
            return match e {
                DeployError::Invalid(_) => exit::INVALID,
                DeployError::Preflight(_) => exit::PREFLIGHT,
                DeployError::Failed(_) => exit::FAILED,
            };
        }
    };
    let out = if args.json {
        let mut doc = serde_json::to_value(&plan).expect("plan serialises");
        doc["live"] = serde_json::to_value(&live).expect("live serialises");
        serde_json::to_string_pretty(&doc).expect("json") + "\n"
    } else {
        out + &report::live_text(&plan, &live, color_on(args.color))
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    exit::OK
}

fn run_verify(args: VerifyArgs) -> i32 {
    let opts = stackctl::verify::VerifyOptions {
        inventory: args.inv.inventory.clone(),
        templates: args.inv.templates.clone(),
        locked: args.inv.locked,
        ssh: stackctl::transport::SshOptions {
            config: args.ssh.ssh_config.clone(),
            accept_new_host_keys: args.ssh.accept_new_host_keys,
            master_idle: std::time::Duration::from_secs(60),
            ..Default::default()
        },
        forks: args.forks.max(1),
    };
    match stackctl::verify::verify(&opts) {
        Ok(r) => {
            let out = if args.json {
                serde_json::to_string_pretty(&r).expect("report serialises") + "\n"
            } else {
                stackctl::verify::text(&r, color_on(args.color))
            };
            let _ = std::io::stdout().lock().write_all(out.as_bytes());
            r.exit_code()
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&error_json(&e)).unwrap_or_default()
                );
            }
            eprintln!("{e}");
            match e {
                PlanError::Invalid(_) | PlanError::LockOutdated { .. } => exit::INVALID,
                PlanError::Other(_) => exit::FAILED,
            }
        }
    }
}

fn color_on(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

fn up_options(a: &RemoteArgs) -> UpOptions {
    remote_options(
        &a.inv,
        &a.ssh,
        a.forks,
        a.limit.clone(),
        a.json,
        a.gate_timeout,
    )
}

fn remote_options(
    inv: &InventoryArgs,
    ssh: &SshArgs,
    forks: usize,
    limit: Option<Vec<String>>,
    json: bool,
    gate_timeout: u64,
) -> UpOptions {
    UpOptions {
        inventory: inv.inventory.clone(),
        templates: inv.templates.clone(),
        locked: inv.locked,
        ssh: stackctl::transport::SshOptions {
            config: ssh.ssh_config.clone(),
            accept_new_host_keys: ssh.accept_new_host_keys,
            master_idle: std::time::Duration::from_secs(gate_timeout.max(1) + 180),
            ..Default::default()
        },
        forks: forks.max(1),
        limit,
        json,
        gate_timeout: std::time::Duration::from_secs(gate_timeout.max(1)),
    }
}

fn finish(result: Result<Summary, DeployError>, json: bool, what: &str) -> i32 {
    match result {
        Ok(s) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "done", "ok": true, "summary": s })
                );
            } else if what == "up" && !s.changed() {
                eprintln!(
                    "up: nothing to do: {} host{} already as planned ({:.2}s)",
                    s.hosts,
                    if s.hosts == 1 { "" } else { "s" },
                    s.seconds
                );
            } else if what == "up" {
                eprintln!(
                    "up: {} host{}: uploaded {} archive{} ({} MiB), unpacked {}, wrote {} file{}, started {}, restarted {} ({:.1}s)",
                    s.hosts, if s.hosts == 1 { "" } else { "s" }, s.archives_uploaded, if s.archives_uploaded == 1 { "" } else { "s" },
                    s.uploaded_bytes / (1 << 20), s.archives_unpacked, s.files_written, if s.files_written == 1 { "" } else { "s" },
                    s.started.len(), s.restarted.len(), s.seconds
                );
            } else {
                eprintln!(
                    "down: stopped {} service{} on {} host{} ({:.1}s)",
                    s.stopped.len(),
                    if s.stopped.len() == 1 { "" } else { "s" },
                    s.hosts,
                    if s.hosts == 1 { "" } else { "s" },
                    s.seconds
                );
            }
            exit::OK
        }
        Err(e) => {
            let code = match &e {
                DeployError::Invalid(_) => exit::INVALID,
                DeployError::Preflight(_) => exit::PREFLIGHT,
                DeployError::Failed(_) => exit::FAILED,
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "done", "ok": false, "error": e.to_string() })
                );
            }
            eprintln!("{e}");
            code
        }
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
