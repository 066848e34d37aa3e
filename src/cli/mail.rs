//! `psi-radar mail …`: reading replies. `mail parse [FILE|-]` prints what
//! the reply parser reads from one message, as JSON, with no side effects;
//! `mail ingest [FILE|-]` records one message (for an MTA pipe: exit 0 also
//! when it is held); `mail fetch` reads the unseen replies over IMAP.

use super::BadInput;
use crate::jobs::Ctx;
use crate::mail::inbound::{self, IngestOutcome, Status};
use crate::mail::reply;
use chrono::{DateTime, Utc};
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
    /// Registrera ett svarsmejl (för en MTA-pipe): svar, STOPP, AU:s ej aktuell/bevaka; okända avsändare hålls för AU
    Ingest {
        /// Fil med meddelandet; utelämnad eller "-" läser från stdin
        file: Option<PathBuf>,
    },
    /// Hämta olästa svar över IMAP ([mail.imap]), registrera dem och flytta dem till den behandlade mappen
    Fetch,
}

/// Run `psi-radar mail …`; `ingest` and `fetch` open the database of the config at `config`.
pub async fn run(args: &MailArgs, config: &Path, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.command {
        MailCommand::Parse { file } => run_parse(file.as_deref(), out),
        MailCommand::Ingest { file } => {
            let raw = read_input(file.as_deref())?;
            let ctx = Ctx::open(crate::config::Config::load(config)?).await?;
            run_ingest(&ctx, &raw, now, out).await
        }
        MailCommand::Fetch => {
            let ctx = Ctx::open(crate::config::Config::load(config)?).await?;
            run_fetch(&ctx, now, out).await
        }
    }
}

/// `psi-radar mail parse [FILE|-]`: read one message and print its reading.
pub fn run_parse(path: Option<&Path>, out: &mut impl Write) -> anyhow::Result<()> {
    let raw = read_input(path)?;
    let reading = reply::parse(&raw);
    writeln!(out, "{}", reading.to_json())?;
    Ok(())
}

/// `psi-radar mail ingest [FILE|-]`: record one message and say what became of it.
pub async fn run_ingest(ctx: &Ctx, raw: &[u8], now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let o = inbound::ingest(ctx, raw, None, now).await?;
    print_outcome(&o, out)
}

/// `psi-radar mail fetch`: read the unseen replies over IMAP.
pub async fn run_fetch(ctx: &Ctx, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let Some(imap) = &ctx.config.mail.imap else {
        return Err(
            BadInput("ingen [mail.imap] i konfigurationen: svar läses då med «psi-radar mail ingest» från e-postservern".into()).into()
        );
    };
    let r = inbound::fetch(ctx, imap, now).await?;
    writeln!(
        out,
        "{} olästa meddelanden: {} registrerade, {} hållna för AU, {} oläsbara, {} autosvar, {} redan registrerade, {} fel.",
        r.unseen, r.accepted, r.held, r.unreadable, r.auto_replies, r.duplicates, r.failed
    )?;
    writeln!(out, "{} flyttade till «{}».", r.moved, imap.done_folder)?;
    if r.failed > 0 {
        writeln!(out, "Meddelanden med fel ligger kvar olästa och prövas igen vid nästa hämtning.")?;
    }
    Ok(())
}

fn print_outcome(o: &IngestOutcome, out: &mut impl Write) -> anyhow::Result<()> {
    let reason = o.reason.as_deref().unwrap_or("");
    match o.status {
        Status::Accepted => {
            writeln!(out, "Registrerat (svar {}):", o.reply_id)?;
            for l in &o.recorded {
                writeln!(out, "  {l}")?;
            }
            match o.confirmation {
                Some(id) => writeln!(out, "Bekräftelsen ligger i utkorgen (nr {id}).")?,
                None => writeln!(out, "Bekräftelsen fanns redan i utkorgen.")?,
            }
        }
        Status::Held => writeln!(out, "Hållet för AU (svar {}): {reason}. Det visas i nästa veckobrev.", o.reply_id)?,
        Status::Unreadable => writeln!(out, "Kunde inte tolkas (svar {}): {reason}. Det visas för AU i nästa veckobrev.", o.reply_id)?,
        Status::AutoReply => writeln!(out, "Autosvar eller studs (svar {}): {reason}. Inget registrerat.", o.reply_id)?,
        Status::Duplicate => {
            writeln!(out, "Redan registrerat (svar {}): samma Message-ID har tagits emot förut. Inget gjort.", o.reply_id)?
        }
    }
    Ok(())
}

fn read_input(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    Ok(match path {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read(p).map_err(|e| BadInput(format!("kunde inte läsa {}: {e}", p.display())))?,
    })
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
