//! psi-radar command line: parses arguments, runs one command, prints errors
//! with their context. Exit codes: 0 ok, 1 runtime failure, 2 bad input.

use std::process::ExitCode;

fn main() -> ExitCode {
    psi_radar::cli::main()
}
