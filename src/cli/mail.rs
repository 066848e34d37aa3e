//! `psi-radar mail …`: reading replies. `mail parse [FILE|-]` prints what
//! the reply parser reads from one message, as JSON, with no side effects.

use super::BadInput;
use crate::mail::reply;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct MailArgs {
    #[command(subcommand)]
    pub command: MailCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum MailCommand {
    /// Tolka ett svarsmejl (RFC 822) och skriv vad som lästes som JSON
    Parse {
        /// Fil med meddelandet; utelämnad eller "-" läser från stdin
        file: Option<PathBuf>,
    },
}

/// Run `psi-radar mail …`.
pub fn run(args: &MailArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.command {
        MailCommand::Parse { file } => run_parse(file.as_deref(), out),
    }
}

/// `psi-radar mail parse [FILE|-]`: read one message and print its reading.
pub fn run_parse(path: Option<&Path>, out: &mut impl Write) -> anyhow::Result<()> {
    let raw = match path {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read(p).map_err(|e| BadInput(format!("kunde inte läsa {}: {e}", p.display())))?,
    };
    let reading = reply::parse(&raw);
    writeln!(out, "{}", reading.to_json())?;
    Ok(())
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    std::io::stdin().lock().read_to_end(&mut raw)?;
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_prints_json_for_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.eml");
        std::fs::write(&p, "From: a@example.org\r\nSubject: Re: [PSI-0007]\r\n\r\nNej tack\r\n").unwrap();
        let mut out = Vec::new();
        run_parse(Some(&p), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["answers"][0]["call"], "PSI-0007");
        assert_eq!(v["answers"][0]["intent"], "no");
    }

    #[test]
    fn missing_file_is_bad_input() {
        let err = run_parse(Some(Path::new("/nonexistent/x.eml")), &mut Vec::new()).unwrap_err();
        assert!(err.downcast_ref::<BadInput>().is_some());
    }
}
