//! One file per command: each turns its parsed arguments into options, loads and plans the
//! inventory once, calls one library operation and prints its result. Exit codes come from the
//! error types and are mapped in one place (`Error::exit_code`).

pub mod fetch;
pub mod man;
pub mod plan;
pub mod playground;
pub mod status;
pub mod up;
pub mod verify;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::CommandFactory;

use crate::cli::{Cli, ColorChoice, Command, GlobalArgs, InventoryArgs, Shell, SshArgs};
use crate::compat::Level;
use crate::deploy::{DeployError, UpOptions};
use crate::inventory::Inventory;
use crate::plan::{self as planning, Plan, PlanError, PlanOptions};
use crate::remote::transport::SshOptions;

/// Why a command failed, as the one type `main` maps to an exit code.
#[derive(Debug)]
pub enum Error {
    Plan(PlanError),
    Deploy(DeployError),
    /// Arguments that parse but make no sense together (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Failed(anyhow::Error),
    /// The command printed its own report and ends with this code (verify's failed checks).
    Reported(i32),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Plan(e) => e.exit_code(),
            Error::Deploy(e) => e.exit_code(),
            Error::Usage(_) => crate::exit::INVALID,
            Error::Failed(_) => crate::exit::FAILED,
            Error::Reported(code) => *code,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Plan(e) => write!(f, "{e}"),
            Error::Deploy(e) => write!(f, "{e}"),
            Error::Usage(m) => write!(f, "error: {m}"),
            Error::Failed(e) => write!(f, "error: {e:#}"),
            Error::Reported(_) => Ok(()),
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        Error::Plan(e)
    }
}

impl From<DeployError> for Error {
    fn from(e: DeployError) -> Self {
        Error::Deploy(e)
    }
}

/// Runs one command and returns its exit code.
pub fn run(cli: Cli) -> i32 {
    if let Err(e) = start_log(&cli.global) {
        eprint(&format!("{e}\n"));
        return e.exit_code();
    }
    let result = match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Up(args) => up::up(args),
        Command::Down(args) => up::down(args),
        Command::Verify(args) => verify::run(args),
        Command::Status(args) => status::run(args),
        Command::Playground(cmd) => playground::run(cmd),
        Command::Fetch(args) => fetch::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Man(args) => man::run(args),
    };
    crate::remote::transport::cleanup();
    match result {
        Ok(()) => crate::exit::OK,
        Err(e) => {
            // Errors carry host replies (stderr, log tails, java -version): shown, never obeyed.
            let text = e.to_string();
            if !text.is_empty() {
                eprint(&format!("{}\n", crate::diag::terminal_safe(&text)));
            }
            e.exit_code()
        }
    }
}

/// `-q`/`-v`/`-vv` and `--log FILE`, before anything connects.
fn start_log(g: &GlobalArgs) -> Result<(), Error> {
    use crate::runlog::Verbosity;
    let verbosity = match (g.quiet, g.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, 1) => Verbosity::Phases,
        (false, _) => Verbosity::Commands,
    };
    let line: Vec<String> = std::env::args()
        .map(|a| crate::shell::shell_quote(&a))
        .collect();
    crate::runlog::init(verbosity, g.log.as_deref(), &line.join(" ")).map_err(|e| {
        Error::Usage(format!(
            "--log {}: cannot open it for appending: {e}",
            g.log
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        ))
    })
}

fn completions(shell: Shell) -> Result<(), Error> {
    let mut cmd = Cli::command();
    let sh = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Generated into memory first: clap_complete panics on a closed pipe.
    let mut buf = Vec::new();
    clap_complete::generate(sh, &mut cmd, "stackctl", &mut buf);
    print(&buf);
    Ok(())
}

/// Writes to stdout; a closed pipe (`stackctl plan | head`) is not an error worth a panic: the
/// rest of the output is dropped and the command ends with the exit code of what it did.
pub fn print(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// `print` for stderr: a closed stderr never panics either.
pub fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A next-step hint: one line on stderr after a command's text output (never with `--json`,
/// never with `-q`).
pub fn hint(json: bool, text: &str) {
    if !json && crate::runlog::verbosity() != crate::runlog::Verbosity::Quiet {
        eprint(&format!("next: {text}\n"));
    }
}

/// `-i INVENTORY` as the operator would type it again.
pub fn inventory_arg(path: &std::path::Path) -> String {
    format!("-i {}", crate::shell::shell_quote(&path.to_string_lossy()))
}

/// A plan that could not be made: with `--json` its JSON form goes to stdout first.
pub fn plan_failed(e: PlanError, json: bool) -> Error {
    if json {
        let doc = crate::output::json::stamp(e.to_json());
        print((serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n").as_bytes());
    }
    Error::Plan(e)
}

pub fn color_on(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

pub fn plan_options(inv: &InventoryArgs, read_only: bool) -> PlanOptions {
    PlanOptions {
        templates: inv.templates.clone(),
        locked: inv.locked,
        read_only,
    }
}

pub fn ssh_options(ssh: &SshArgs, master_idle: Duration) -> SshOptions {
    SshOptions {
        config: ssh.ssh_config.clone(),
        accept_new_host_keys: ssh.accept_new_host_keys,
        master_idle,
        command_timeout: Duration::from_secs(ssh.command_timeout.max(1)),
        persist: ssh_persist(ssh.ssh_persist, std::env::var("STACKCTL_SSH_PERSIST").ok()),
        ..Default::default()
    }
}

/// `--ssh-persist`, else `STACKCTL_SSH_PERSIST` (whole seconds; 0 is off; anything else is off
/// with a warning).
fn ssh_persist(flag: Option<u64>, env: Option<String>) -> Option<Duration> {
    let secs = match (flag, env) {
        (Some(s), _) => s,
        (None, Some(v)) => match v.trim().parse() {
            Ok(s) => s,
            Err(_) => {
                eprintln!(
                    "warning: STACKCTL_SSH_PERSIST={v:?} is not a number of seconds: connections are not kept"
                );
                0
            }
        },
        (None, None) => 0,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_persist_takes_the_flag_first_then_the_environment() {
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(ssh_persist(None, None), None);
        assert_eq!(ssh_persist(Some(30), None), s(30));
        assert_eq!(ssh_persist(Some(30), Some("60".into())), s(30));
        assert_eq!(ssh_persist(None, Some(" 60 ".into())), s(60));
        assert_eq!(ssh_persist(Some(0), Some("60".into())), None);
        assert_eq!(ssh_persist(None, Some("1m".into())), None);
        assert_eq!(ssh_persist(None, Some("0".into())), None);
    }
}

pub fn remote_options(
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
        ssh: ssh_options(ssh, Duration::from_secs(gate_timeout.max(1) + 180)),
        forks: forks.max(1),
        limit,
        json,
        gate_timeout: Duration::from_secs(gate_timeout.max(1)),
        force_unlock: false,
        allow_ephemeral: false,
    }
}

/// Loads and plans for a command that changes hosts: compatibility errors stop it before it
/// connects, and `--limit` must name inventory hosts.
pub fn prepare(opts: &UpOptions) -> Result<(Inventory, Plan), DeployError> {
    // Every archive fetched and verified into the cache before any host is touched.
    fetch::before_up(&opts.inventory, opts.json)?;
    prepare_as(opts, false)
}

/// [`prepare`]; `read_only` plans without recording ids in the lock file (`down` records
/// nothing: ids are `up`'s to record).
pub fn prepare_as(opts: &UpOptions, read_only: bool) -> Result<(Inventory, Plan), DeployError> {
    let phase = crate::runlog::phase("load and plan");
    let (inv, plan) = planning::load_and_plan_cached(
        &opts.inventory,
        &PlanOptions {
            templates: opts.templates.clone(),
            locked: opts.locked,
            read_only,
        },
    )
    .map_err(DeployError::Invalid)?;
    drop(phase);
    crate::runlog::mask(&plan.secret_values);
    ready(&inv, &plan, &opts.limit)?;
    Ok((inv, plan))
}

/// A plan `up` may carry out: no compatibility error, and `--limit` names known hosts.
pub fn ready(inv: &Inventory, plan: &Plan, limit: &Option<Vec<String>>) -> Result<(), DeployError> {
    if plan.has_errors() {
        // Compatibility errors with where they come from and what would fix them.
        let mut lines: Vec<String> = plan
            .compat_errors
            .iter()
            .map(|d| {
                let at = if d.pos.is_known() {
                    format!("{}:{}: ", d.file.display(), d.pos.line)
                } else {
                    String::new()
                };
                match &d.help {
                    Some(h) => format!("{at}{} ({h})", d.message),
                    None => format!("{at}{}", d.message),
                }
            })
            .collect();
        if lines.is_empty() {
            lines.extend(
                plan.compat
                    .iter()
                    .filter(|v| v.level == Level::Error)
                    .map(|v| v.message.clone()),
            );
        }
        lines.extend(
            plan.diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.message.clone()),
        );
        lines.push("`stackctl plan` shows the details".into());
        return Err(DeployError::Preflight(lines));
    }
    if let Some(limit) = limit {
        let unknown: Vec<&str> = limit
            .iter()
            .filter(|n| inv.host(n).is_none())
            .map(|s| s.as_str())
            .collect();
        if !unknown.is_empty() {
            return Err(DeployError::Invalid(PlanError::Other(anyhow::anyhow!(
                "--limit names hosts that are not in the inventory: {}",
                unknown.join(", ")
            ))));
        }
    }
    Ok(())
}
