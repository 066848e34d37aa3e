//! The command line (DESIGN.md §5): one clap enum, one handler per area in
//! its own file. Errors that are the user's (bad config, bad CSV, unknown
//! reference) exit with 2; anything else with 1.

pub mod sources;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// An error the user can fix: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

#[derive(Parser, Debug)]
#[command(name = "psi-radar", version, about = "Bevakar utlysningar åt PSI, matchar medlemmar och skickar veckobrev")]
pub struct Cli {
    /// Konfigurationsfil (TOML)
    #[arg(long, global = true, default_value = "config/psi-radar.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Skapa databasen och kontrollera konfigurationen
    Init,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fel: kunde inte starta: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fel: {e:#}");
            if e.downcast_ref::<BadInput>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init => Ok(()),
    }
}
