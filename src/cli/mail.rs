//! `psi-radar mail …`: reading replies. `mail parse [FILE|-]` prints what
//! the reply parser reads from one message, as JSON, with no side effects;
//! `mail ingest [FILE|-]` records one message (for an MTA pipe: exit 0 also
//! when it is held); `mail fetch` reads the unseen replies over IMAP;
//! `mail held|assign|discard` show and resolve what waits for AU.
//! `ingest` and `fetch` speak the partnership's language; `parse`, which
//! needs no config, speaks Swedish.

use super::BadInput;
use crate::domain::{CallRef, Lang, MemberId};
use crate::jobs::Ctx;
use crate::mail::held;
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
    /// Visa meddelanden som väntar på AU: avsändare, ämne, de första raderna och varför
    Held,
    /// Ge ett hållet meddelande till en medlem (och en utlysning, med svaret AU läser i det)
    Assign {
        /// Meddelandets nummer (från «mail held»)
        id: i64,
        /// Medlemmens id
        #[arg(long)]
        member: String,
        /// Utlysningen svaret gäller, t.ex. PSI-0042
        #[arg(long)]
        call: Option<String>,
        /// Svaret, t.ex. "ja, partner" (kräver --call)
        #[arg(long, requires = "call")]
        answer: Option<String>,
    },
    /// Kasta ett hållet meddelande (inget mer behöver göras)
    Discard {
        /// Meddelandets nummer (från «mail held»)
        id: i64,
    },
}

/// Run `psi-radar mail …`; `ingest` and `fetch` open the database of the config at `config`.
pub async fn run(args: &MailArgs, config: &Path, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.command {
        MailCommand::Parse { file } => run_parse(file.as_deref(), out),
        MailCommand::Ingest { file } => {
            let cfg = crate::config::Config::load(config)?;
            let raw = read_input(file.as_deref(), cfg.partnership.lang)?;
            let ctx = super::open_ctx(cfg, config).await?;
            run_ingest(&ctx, &raw, now, out).await
        }
        MailCommand::Fetch => {
            let ctx = super::open_ctx(crate::config::Config::load(config)?, config).await?;
            run_fetch(&ctx, now, out).await
        }
        MailCommand::Held => {
            let ctx = super::open_ctx(crate::config::Config::load(config)?, config).await?;
            run_held(&ctx, out).await
        }
        MailCommand::Assign { id, member, call, answer } => {
            let ctx = super::open_ctx(crate::config::Config::load(config)?, config).await?;
            run_assign(&ctx, *id, member, call.as_deref(), answer.as_deref(), now, out).await
        }
        MailCommand::Discard { id } => {
            let ctx = super::open_ctx(crate::config::Config::load(config)?, config).await?;
            run_discard(&ctx, *id, now, out).await
        }
    }
}

/// `psi-radar mail held`: what waits for AU, newest first.
pub async fn run_held(ctx: &Ctx, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let list = held::list(ctx.into()).await?;
    if list.is_empty() {
        writeln!(out, "{}", lang.pick("Inga meddelanden väntar på AU.", "No messages are waiting for AU."))?;
        return Ok(());
    }
    for h in &list {
        let when = crate::i18n::instant(h.received_at, ctx.config.partnership.tz, false, lang);
        let from = h.from.clone().unwrap_or_else(|| lang.pick("okänd avsändare", "unknown sender").into());
        let subject = if h.subject.is_empty() { lang.pick("(inget ämne)", "(no subject)").to_string() } else { h.subject.clone() };
        writeln!(out, "#{} {when} {from}: {subject}", h.id)?;
        writeln!(out, "    {} {}", lang.pick("Varför:", "Why:"), h.why)?;
        for l in &h.first_lines {
            writeln!(out, "    | {l}")?;
        }
    }
    writeln!(
        out,
        "{}",
        lang.pick(
            "Lös med «mail assign ID --member M [--call PSI-NNNN --answer \"ja, partner\"]», «mail discard ID» eller «members add-contact MEDLEM ADRESS».",
            "Resolve with «mail assign ID --member M [--call PSI-NNNN --answer \"yes, partner\"]», «mail discard ID» or «members add-contact MEMBER ADDRESS».",
        )
    )?;
    Ok(())
}

/// `psi-radar mail assign ID --member M [--call REF --answer TEXT]`.
pub async fn run_assign(
    ctx: &Ctx,
    id: i64,
    member: &str,
    call: Option<&str>,
    answer: Option<&str>,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let member = MemberId::parse(member).map_err(BadInput)?;
    let call = call
        .map(|c| {
            CallRef::parse(c)
                .ok_or_else(|| BadInput(format!("{} «{c}»", lang.pick("ogiltig utlysningsreferens", "invalid call reference"))))
        })
        .transpose()?;
    let done = held::assign(ctx.into(), id, &member, call, answer, now).await.map_err(|e| bad_held(e, lang))?;
    writeln!(out, "{} {member}:", lang.pick("Registrerat för", "Recorded for"))?;
    for l in &done.lines {
        writeln!(out, "  {l}")?;
    }
    if let Some(n) = done.confirmation {
        match lang {
            Lang::Sv => writeln!(out, "Bekräftelsen till avsändaren ligger i utkorgen (nr {n}).")?,
            Lang::En => writeln!(out, "The confirmation to the sender is in the outbox (no. {n}).")?,
        }
    }
    Ok(())
}

/// `psi-radar mail discard ID`.
pub async fn run_discard(ctx: &Ctx, id: i64, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    held::discard(ctx.into(), id, now).await.map_err(|e| bad_held(e, lang))?;
    match lang {
        Lang::Sv => writeln!(out, "Meddelande nr {id} är kastat.")?,
        Lang::En => writeln!(out, "Message no. {id} is discarded.")?,
    }
    Ok(())
}

/// A held message that cannot be resolved as asked is bad input (exit 2), said in the partnership's language.
fn bad_held(e: anyhow::Error, lang: Lang) -> anyhow::Error {
    match e.downcast_ref::<held::HeldError>() {
        Some(h) => BadInput(h.text(lang)).into(),
        None => e,
    }
}

/// `psi-radar mail parse [FILE|-]`: read one message and print its reading.
pub fn run_parse(path: Option<&Path>, out: &mut impl Write) -> anyhow::Result<()> {
    let raw = read_input(path, Lang::Sv)?;
    let reading = reply::parse(&raw);
    writeln!(out, "{}", reading.to_json())?;
    Ok(())
}

/// `psi-radar mail ingest [FILE|-]`: record one message and say what became of it.
pub async fn run_ingest(ctx: &Ctx, raw: &[u8], now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let o = inbound::ingest(ctx, raw, None, now).await?;
    print_outcome(&o, ctx.config.partnership.lang, out)
}

/// `psi-radar mail fetch`: read the unseen replies over IMAP.
pub async fn run_fetch(ctx: &Ctx, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let Some(imap) = &ctx.config.mail.imap else {
        return Err(BadInput(
            lang.pick(
                "ingen [mail.imap] i konfigurationen: svar läses då med «psi-radar mail ingest» från e-postservern",
                "no [mail.imap] in the config: replies are then read with «psi-radar mail ingest» from the mail server",
            )
            .into(),
        )
        .into());
    };
    let r = inbound::fetch(ctx, imap, now).await?;
    match lang {
        Lang::Sv => {
            writeln!(
                out,
                "{} olästa meddelanden: {} registrerade, {} hållna för AU, {} oläsbara, {} autosvar, {} redan registrerade, {} fel. {} väntar på att medlemmen anger utlysning.",
                r.unseen, r.accepted, r.held, r.unreadable, r.auto_replies, r.duplicates, r.failed, r.waiting
            )?;
            writeln!(out, "{} flyttade till «{}».", r.moved, imap.done_folder)?;
        }
        Lang::En => {
            writeln!(
                out,
                "{} unseen messages: {} recorded, {} held for AU, {} unreadable, {} auto-replies, {} already recorded, {} failed. {} waiting for the member to name the call.",
                r.unseen, r.accepted, r.held, r.unreadable, r.auto_replies, r.duplicates, r.failed, r.waiting
            )?;
            writeln!(out, "{} moved to «{}».", r.moved, imap.done_folder)?;
        }
    }
    if r.failed > 0 {
        writeln!(
            out,
            "{}",
            lang.pick(
                "Meddelanden med fel ligger kvar olästa och prövas igen vid nästa hämtning.",
                "Messages that failed stay unseen and are tried again on the next fetch."
            )
        )?;
    }
    Ok(())
}

pub(super) fn print_outcome(o: &IngestOutcome, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    let reason = o.reason.as_deref().unwrap_or("");
    let id = o.reply_id;
    match (o.status, lang) {
        (Status::Accepted, _) => {
            writeln!(out, "{} ({} {id}):", lang.pick("Registrerat", "Recorded"), lang.pick("svar", "reply"))?;
            for l in &o.recorded {
                writeln!(out, "  {l}")?;
            }
            match (o.confirmation, lang) {
                (Some(n), Lang::Sv) => writeln!(out, "Bekräftelsen ligger i utkorgen (nr {n}).")?,
                (Some(n), Lang::En) => writeln!(out, "The confirmation is in the outbox (no. {n}).")?,
                (None, _) => {
                    writeln!(out, "{}", lang.pick("Bekräftelsen fanns redan i utkorgen.", "The confirmation was already in the outbox."))?
                }
            }
        }
        (Status::Waiting, Lang::Sv) => {
            writeln!(out, "Väntar (svar {id}): {reason}.")?;
            if let Some(n) = o.ask {
                writeln!(out, "Frågan till avsändaren ligger i utkorgen (nr {n}).")?;
            }
        }
        (Status::Waiting, Lang::En) => {
            writeln!(out, "Waiting (reply {id}): the answer names no call; the sender is asked which one.")?;
            if let Some(n) = o.ask {
                writeln!(out, "The question to the sender is in the outbox (no. {n}).")?;
            }
        }
        (Status::Held, Lang::Sv) => writeln!(out, "Hållet för AU (svar {id}): {reason}. Det visas i nästa veckobrev.")?,
        (Status::Held, Lang::En) => writeln!(out, "Held for AU (reply {id}): {reason}. It is listed in the next digest.")?,
        (Status::Unreadable, Lang::Sv) => writeln!(out, "Kunde inte tolkas (svar {id}): {reason}. Det visas för AU i nästa veckobrev.")?,
        (Status::Unreadable, Lang::En) => {
            writeln!(out, "Could not be read (reply {id}): {reason}. It is listed for AU in the next digest.")?
        }
        (Status::AutoReply, Lang::Sv) => writeln!(out, "Autosvar eller studs (svar {id}): {reason}. Inget registrerat.")?,
        (Status::AutoReply, Lang::En) => writeln!(out, "Auto-reply or bounce (reply {id}): {reason}. Nothing recorded.")?,
        (Status::Duplicate, Lang::Sv) => {
            writeln!(out, "Redan registrerat (svar {id}): samma Message-ID har tagits emot förut. Inget gjort.")?
        }
        (Status::Duplicate, Lang::En) => {
            writeln!(out, "Already recorded (reply {id}): the same Message-ID was received before. Nothing done.")?
        }
    }
    Ok(())
}

/// One message from a file or stdin, at most [`inbound::MAX_RAW_BYTES`] of
/// it (the rest is read and dropped, so that an MTA pipe sees it all taken).
fn read_input(path: Option<&Path>, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let (raw, size) = match path {
        Some(p) if p.as_os_str() != "-" => {
            let f = std::fs::File::open(p)
                .map_err(|e| BadInput(format!("{} {}: {e}", lang.pick("kunde inte läsa", "could not read"), p.display())))?;
            read_capped(f, inbound::MAX_RAW_BYTES)?
        }
        _ => read_capped(std::io::stdin().lock(), inbound::MAX_RAW_BYTES)?,
    };
    if size > raw.len() as u64 {
        let mb = |n: u64| n as f64 / 1_048_576.0;
        let (whole, kept) = (mb(size), mb(raw.len() as u64));
        eprintln!(
            "{}",
            match lang {
                Lang::Sv =>
                    format!("Meddelandet är {whole:.1} MB: de första {kept:.1} MB läses och sparas, resten (bilagor) tas inte med."),
                Lang::En =>
                    format!("The message is {whole:.1} MB: the first {kept:.1} MB are read and kept, the rest (attachments) is left out."),
            }
        );
    }
    Ok(raw)
}

/// The first `cap` bytes of `r`, and how many bytes it had in all.
fn read_capped(r: impl Read, cap: usize) -> std::io::Result<(Vec<u8>, u64)> {
    let mut r = std::io::BufReader::new(r);
    let mut raw = Vec::new();
    (&mut r).take(cap as u64).read_to_end(&mut raw)?;
    let rest = std::io::copy(&mut r, &mut std::io::sink())?;
    let size = raw.len() as u64 + rest;
    Ok((raw, size))
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
    fn a_large_message_is_read_up_to_the_cap_and_counted_whole() {
        let big = vec![b'x'; 5000];
        let (raw, size) = read_capped(big.as_slice(), 1024).unwrap();
        assert_eq!((raw.len(), size), (1024, 5000));
        let (raw, size) = read_capped(&b"kort"[..], 1024).unwrap();
        assert_eq!((raw.as_slice(), size), (&b"kort"[..], 4));
    }

    #[test]
    fn missing_file_is_bad_input() {
        let err = run_parse(Some(Path::new("/nonexistent/x.eml")), &mut Vec::new()).unwrap_err();
        assert!(err.downcast_ref::<BadInput>().is_some());
    }
}
