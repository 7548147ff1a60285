//! stackctl: turns an inventory of hosts into a running ZooKeeper / Kafka / Hadoop / HBase
//! cluster. The library holds all logic; `main.rs` only parses arguments and maps errors to
//! exit codes, so everything here is testable without the CLI.

pub mod cli;
pub mod compat;
pub mod components;
pub mod deploy;
pub mod diag;
pub mod events;
pub mod facts;
pub mod inventory;
pub mod kafka_wire;
pub mod lock;
pub mod plan;
pub mod probe;
pub mod render;
pub mod report;
pub mod transport;
pub mod verify;
pub mod zk;

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
}
