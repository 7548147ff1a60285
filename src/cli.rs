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
    after_help = "Exit codes: 0 success, 1 a step failed (plan: a compatibility error; verify: a check failed), 2 bad inventory or arguments, 3 preflight failed (verify: a host could not be reached), 4 another up/down holds the cluster lock, 10 plan --live --detailed-exitcode: changes present, 130 interrupted. fetch (and up's fetch) exits 1 when an archive cannot be fetched or verified."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// What every command takes: how much to say, and where to log.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More on stderr: -v each phase and its timing, -vv also every remote command
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less on stderr: no progress and no next-step hints (errors and results still print)
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Append a log of the run to FILE: every connection and remote command (host, command,
    /// exit status, duration in ms, bytes out/err), uploads with sizes and rates, each phase
    /// and progress event, secrets masked
    #[arg(long, value_name = "FILE", global = true)]
    pub log: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the inventory, check version compatibility and preview every file and the start order
    Plan(PlanArgs),
    /// Install, configure and start the cluster over SSH, in dependency order
    Up(UpArgs),
    /// Stop the cluster's services in reverse order (data stays unless --purge --yes)
    Down(DownArgs),
    /// Check the live cluster: quorum, membership, liveness and versions (reads only)
    Verify(VerifyArgs),
    /// One line per service instance: host, role, id, version, up/down/degraded and its role
    /// in the cluster (leader, controller, active), uptime, data size (reads only, quick)
    Status(StatusArgs),
    /// Try stackctl on this machine: N local hosts (namespaces with their own sshd; root,
    /// Linux) and the inventory deployed onto them with the real `up`
    #[command(subcommand)]
    Playground(PlaygroundCommand),
    /// Download, verify (SHA-512, and the signature when gpgv is there) and cache every
    /// release archive the inventory needs; prints where each is
    Fetch(FetchArgs),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff) generated from these definitions; `--dir` writes them all
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of one subcommand (stackctl-SUBCOMMAND(1)); without it, the main page
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    pub command: Option<String>,
    /// Write every page (stackctl.1 and one stackctl-SUBCOMMAND.1 each) into DIR instead
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// What every command that reads an inventory takes.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The inventory file (YAML); `-` reads it from stdin (for `plan`: no lock file then)
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: PathBuf,
    /// Use templates from DIR in place of the built-in ones of the same name
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Fail instead of creating or updating the lock file (for CI)
    #[arg(long)]
    pub locked: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub inv: InventoryArgs,
    /// Also print the content of every rendered file
    #[arg(long)]
    pub show_files: bool,
    /// Write every host's files under DIR/<host>/<absolute path>
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the plan as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Record new and retired ids in the lock file (plan is otherwise a pure preview; `up`
    /// records them)
    #[arg(long, conflicts_with = "locked")]
    pub write_lock: bool,
    /// Colour: auto (when stdout is a terminal), always or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Also connect to the hosts (read only) and show what `up` would change: a unified diff
    /// per changed file, archives to upload, services to start or restart
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// With --live: only these hosts (comma-separated names)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "HOST[,HOST]",
        requires = "live"
    )]
    pub limit: Option<Vec<String>>,
    /// With --live: data directories on tmpfs or under /tmp, /var/tmp, /dev/shm are warnings,
    /// not preflight errors (a throwaway cluster)
    #[arg(long, requires = "live")]
    pub allow_ephemeral: bool,
    /// With --live, for CI: exit 0 when no host would change and the lock file stays as it is,
    /// 10 when changes are present, the usual codes (1, 2, 3, ...) on errors
    #[arg(long, requires = "live")]
    pub detailed_exitcode: bool,
}

/// How to reach the hosts.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// ssh_config to use instead of ~/.ssh/config
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Trust host keys that are not in known_hosts yet (never keys that changed)
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Seconds one remote command may take before it is stopped and its step fails naming the
    /// host; an upload gets this plus one second per MiB it sends
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub command_timeout: u64,
    /// Keep each host's SSH connection this long after the run, for the next run to reuse
    /// (ssh's ControlPersist; also STACKCTL_SSH_PERSIST). A reused connection skips the
    /// handshake and login, and with them the host-key check; 0 or unset: off
    #[arg(long, value_name = "SECONDS")]
    pub ssh_persist: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RemoteArgs {
    #[command(flatten)]
    pub inv: InventoryArgs,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Hosts installed on at once (connections and facts use a window of 64)
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub forks: usize,
    /// Only these hosts (comma-separated names)
    #[arg(long, value_delimiter = ',', value_name = "HOST[,HOST]")]
    pub limit: Option<Vec<String>>,
    /// Progress and result as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// Seconds a health gate may wait
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub gate_timeout: u64,
    /// Remove the cluster lock of a run that is gone (one on another machine; a dead run on
    /// this machine is taken over without it)
    #[arg(long)]
    pub force_unlock: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Allow data directories on tmpfs or under /tmp, /var/tmp, /dev/shm (a throwaway cluster:
    /// its data is lost at reboot); preflight refuses them otherwise
    #[arg(long)]
    pub allow_ephemeral: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Also delete the services' data directories (requires --yes)
    #[arg(long)]
    pub purge: bool,
    /// Confirm --purge
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub inv: InventoryArgs,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Hosts read at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub forks: usize,
    /// Also run functional round trips through every service (write, read back, compare,
    /// clean up): a znode, a topic, an HDFS file, a YARN application, an HBase table
    #[arg(long)]
    pub smoke: bool,
    /// The bound of each smoke round trip, in seconds
    #[arg(long, default_value_t = 120, value_name = "S")]
    pub smoke_timeout: u64,
    /// The report as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Colour: auto (when stdout is a terminal), always or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Only these hosts (comma-separated names): only they are read over SSH and reported on,
    /// with the checks of the cluster as a whole
    #[arg(long, value_delimiter = ',', value_name = "HOST[,HOST]")]
    pub limit: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub inv: InventoryArgs,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Only these hosts' instances (comma-separated names)
    #[arg(long, value_delimiter = ',', value_name = "HOST[,HOST]")]
    pub limit: Option<Vec<String>>,
    /// The bound of each probe that asks a service its role (a leader, a JMX bean)
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub probe_timeout_ms: u64,
    /// The table as one JSON document (with `schema_version`)
    #[arg(long)]
    pub json: bool,
    /// Colour: auto (when stdout is a terminal), always or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum PlaygroundCommand {
    /// Bring up the hosts and deploy the inventory onto them (`stackctl up`); prints how to
    /// reach each service
    Up(PlaygroundUpArgs),
    /// Stop everything the playground started and delete its hosts, keys and data
    Down(PlaygroundDirArgs),
    /// Open a shell (or run COMMAND) on one playground host, by its inventory name
    Ssh {
        /// The host's name in the inventory
        host: String,
        /// A command to run instead of a shell
        #[arg(trailing_var_arg = true)]
        command: Vec<String>,
        #[command(flatten)]
        dir: PlaygroundDirArgs,
    },
}

#[derive(Debug, Args)]
pub struct PlaygroundDirArgs {
    /// The playground's state directory (hosts, keys, its copy of the inventory)
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/tmp/stackctl-playground"
    )]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlaygroundUpArgs {
    /// The inventory to deploy (its hosts are mapped, in order, onto the playground's)
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: PathBuf,
    /// How many hosts (default: as many as the inventory has)
    #[arg(long, value_name = "N")]
    pub hosts: Option<usize>,
    /// The first three octets of the playground's network (host i is NET.(10+i))
    #[arg(long, value_name = "NET", default_value = "10.231.78")]
    pub net: String,
    /// The JDK the services run on, in place of the inventory's java_home (the hosts see this
    /// machine's /usr)
    #[arg(long, value_name = "DIR")]
    pub java_home: Option<String>,
    /// The Java version of --java-home, for the compatibility checks
    #[arg(long, value_name = "N", requires = "java_home")]
    pub java_version: Option<String>,
    /// Bring up the hosts and write the inventory, but do not run `up`
    #[arg(long)]
    pub no_deploy: bool,
    #[command(flatten)]
    pub dir: PlaygroundDirArgs,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The inventory file (YAML); `-` reads it from stdin
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: PathBuf,
    /// Print the result as one JSON document (no progress bar)
    #[arg(long)]
    pub json: bool,
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
