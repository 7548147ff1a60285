//! Thin entry point: parse arguments, run one command, exit with the code its outcome carries.

use std::process::ExitCode;

use clap::Parser;
use stackctl::cli::Cli;

// Planning a large cluster is allocation-bound (template contexts); mimalloc halves that cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let code = match Cli::try_parse() {
        Ok(cli) => stackctl::commands::run(cli),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                stackctl::exit::INVALID
            } else {
                stackctl::exit::OK
            }
        }
    };
    ExitCode::from(code as u8)
}
