//! Command-line definitions. Completions come from the same definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "stackctl",
    version,
    about = "Turns an inventory of hosts into a running ZooKeeper / Kafka / Hadoop / HBase cluster"
)]
#[command(
    after_help = "Exit codes: 0 success, 1 a step failed (or plan found a compatibility error), 2 bad inventory or arguments, 3 preflight failed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the inventory, check version compatibility and preview every file and the start order
    Plan(PlanArgs),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The inventory file (YAML)
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: PathBuf,
    /// Also print the content of every rendered file
    #[arg(long)]
    pub show_files: bool,
    /// Write every host's files under DIR/<host>/<absolute path>
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the plan as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Use templates from DIR in place of the built-in ones of the same name
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Fail instead of creating or updating the lock file (for CI)
    #[arg(long)]
    pub locked: bool,
    /// Colour: auto (when stdout is a terminal), always or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
