//! stackctl: turns an inventory of hosts into a running ZooKeeper / Kafka / Hadoop / HBase
//! cluster. The library holds all logic; `main.rs` only parses arguments and maps errors to
//! exit codes, so everything here is testable without the CLI.

// Layers, lowest first; a module imports only from layers below it (tests/layering.rs).
// leaves
pub mod cli;
pub mod diag;
pub mod events;
pub mod runlog;
pub mod secrets;
pub mod shell;
pub mod version;
// inputs and files
pub mod inventory;
pub mod render;
// hosts
pub mod dist;
pub mod remote;
// rules and ids
pub mod compat;
pub mod lock;
// product knowledge
pub mod components;
// planning
pub mod archives;
pub mod plan;
pub mod versions;
// the engine
pub mod deploy;
pub mod playground;
pub mod status;
pub mod verify;
// the user interface
pub mod commands;
pub mod output;

/// Documented exit codes: part of the CLI's contract with scripts.
pub mod exit {
    /// Success; warnings may have been printed.
    pub const OK: i32 = 0;
    /// A step failed, or `plan` found a compatibility error.
    pub const FAILED: i32 = 1;
    /// Bad inventory, lock file or arguments.
    pub const INVALID: i32 = 2;
    /// Preflight failed (hosts unreachable, wrong JDK): nothing was changed.
    pub const PREFLIGHT: i32 = 3;
    /// Another `up`/`down` holds the cluster lock: nothing was changed.
    pub const LOCKED: i32 = 4;
    /// `plan --live --detailed-exitcode`: the plan ran and `up` would change something (a host,
    /// or the lock file). Terraform's 2 is taken by INVALID here; 10 stays clear of every other
    /// code, of the room kept for new errors (5-9), of sysexits (64-78) and of the shell's
    /// (126-165), so a CI script tells "changes" from any failure.
    pub const CHANGES: i32 = 10;
    /// Interrupted (Ctrl-C, SIGTERM) and stopped at a safe point; `up` again resumes.
    pub const INTERRUPTED: i32 = 130;
}
