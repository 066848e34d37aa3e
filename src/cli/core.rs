//! CLI handlers for the foundation commands: init, status, calls, digest, outbox.

use super::BadInput;
use crate::domain::{CallRef, Lang};
use crate::jobs::{Ctx, Recipient};
use crate::mail::digest::Week;
use crate::normalize::rules::{Currency, Eligibility, OrgKind};
use crate::store::calls::{CallFilter, StoredCall};
use crate::store::outbox::OutboxStatus;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// The JSON shape of a call in `calls --json`.
pub fn call_json(c: &StoredCall) -> serde_json::Value {
    json!({
        "ref": c.reference.to_string(),
        "title": c.call.title,
        "funder": c.call.funder,
        "programme": c.call.programme,
        "url": c.call.url,
        "deadlines": c.call.deadlines.iter().map(|d| d.at.with_timezone(&d.tz).to_rfc3339()).collect::<Vec<_>>(),
        "opens": opens_json(c),
        "eligibility": c.rules.as_ref().map(|r| eligibility_json(&r.eligibility)),
        "status": c.call.status.as_str(),
        "lang": c.call.lang.code(),
        "categories": c.categories.iter().map(|s| json!({"id": s.category.as_str(), "score": (s.score * 1000.0).round() / 1000.0})).collect::<Vec<_>>(),
        "sources": c.sources,
        "first_seen_at": c.first_seen_at.to_rfc3339(),
        "dismissed": c.dismissed,
        "watched": c.watched,
    })
}

/// The opening as `calls --json` gives it: RFC 3339 in the call's zone, or a
/// plain date when the page printed no time.
fn opens_json(c: &StoredCall) -> Option<String> {
    let read = c.rules.as_ref().and_then(|r| r.opens);
    match (c.call.opens, read) {
        (Some(at), Some(o)) if o.instant() == at => Some(o.display_json()),
        (Some(at), _) => {
            let tz = c.call.deadlines.first().map(|d| d.tz).unwrap_or(chrono_tz::Europe::Stockholm);
            Some(at.with_timezone(&tz).to_rfc3339())
        }
        (None, _) => None,
    }
}

/// Who may apply and lead, where, and on what terms, under the names issue 15 gives them.
fn eligibility_json(e: &Eligibility) -> serde_json::Value {
    let kinds = |ks: &[OrgKind]| ks.iter().map(|k| k.as_str()).collect::<Vec<_>>();
    let amount = e.amount.map(|a| match a.currency {
        Currency::Sek => json!({"min_sek": a.min, "max_sek": a.max, "currency": "SEK"}),
        Currency::Eur => json!({"min_eur": a.min, "max_eur": a.max, "currency": "EUR"}),
    });
    json!({
        "applicants": kinds(&e.applicants),
        "lead": kinds(&e.lead),
        "areas": e.areas,
        "open_to_home": e.open_to_home,
        "cofinancing_pct": e.cofinancing_pct,
        "amount": amount,
        "min_partners": e.min_partners,
        "required_types": kinds(&e.required_types),
    })
}

pub async fn calls_list(
    ctx: &Ctx,
    open: bool,
    category: Option<String>,
    as_json: bool,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if let Some(c) = &category {
        crate::domain::CategoryId::parse(c).map_err(|e| BadInput(format!("--category: {e}")))?;
    }
    let filter = CallFilter { open_at: open.then_some(now), category, include_dismissed: false };
    let calls = ctx.store.list_calls(&filter).await?;
    if as_json {
        let v: Vec<_> = calls.iter().map(call_json).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let lang = ctx.config.partnership.lang;
    let tz = ctx.config.partnership.tz;
    if calls.is_empty() {
        writeln!(out, "{}", lang.pick("Inga utlysningar.", "No calls."))?;
    }
    for c in &calls {
        let dl = c
            .call
            .next_deadline(now)
            .or_else(|| c.call.last_deadline())
            .map(|d| crate::i18n::date(d.at.with_timezone(&tz).date_naive(), lang))
            .unwrap_or_else(|| lang.pick("ingen deadline", "no deadline").into());
        let cats = c.categories.iter().take(3).map(|s| format!("{} {:.2}", s.category, s.score)).collect::<Vec<_>>().join(", ");
        writeln!(
            out,
            "{}  {:<10} {}  [{}]\n           {} · {}",
            c.reference,
            c.call.status.as_str(),
            c.call.title,
            cats,
            c.call.funder,
            dl
        )?;
    }
    Ok(())
}

pub fn parse_ref(s: &str, lang: crate::domain::Lang) -> Result<CallRef, BadInput> {
    CallRef::parse(s).ok_or_else(|| {
        BadInput(match lang {
            crate::domain::Lang::Sv => format!("«{s}» är ingen utlysningsreferens (t.ex. PSI-0042)"),
            crate::domain::Lang::En => format!("“{s}” is not a call reference (e.g. PSI-0042)"),
        })
    })
}

pub async fn calls_mark(ctx: &Ctx, reference: &str, watch: bool, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let r = parse_ref(reference, lang)?;
    let ok = if watch { ctx.store.watch_call(r, now).await? } else { ctx.store.dismiss_call(r, now).await? };
    if !ok {
        return Err(BadInput(format!("{r} {}", lang.pick("finns inte", "does not exist"))).into());
    }
    let what = if watch {
        lang.pick("bevakas och visas överst till sista dagen", "is watched and kept on top until its deadline")
    } else {
        lang.pick("är markerad ej aktuell och visas inte längre", "is marked not relevant and no longer shown")
    };
    writeln!(out, "{r} {what}")?;
    Ok(())
}

/// `status`: what a coordinator checks when something seems off. Each job
/// with its last run, result and next run; sources, failing first; the
/// outbox; replies waiting for AU.
pub async fn status(ctx: &Ctx, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::jobs::schedule::{JobKind, next_runs};
    let lang = ctx.config.partnership.lang;
    let tz = ctx.config.partnership.tz;
    let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    writeln!(out, "{}", lang.pick("Jobb (senaste körning, nästa körning):", "Jobs (last run, next run):"))?;
    let runs = ctx.store.last_job_runs().await?;
    let next = next_runs(ctx, now);
    for kind in JobKind::ALL {
        let next = next.iter().find(|(k, _)| *k == kind).and_then(|(_, t)| *t).map(when).unwrap_or_else(|| "–".into());
        let (last, result, summary) = match runs.iter().find(|r| r.job == kind.name()) {
            None => (lang.pick("aldrig", "never").to_string(), String::new(), String::new()),
            Some(r) => {
                let result = match r.ok {
                    Some(true) => "ok",
                    Some(false) => lang.pick("FEL", "FAILED"),
                    None => lang.pick("pågår", "running"),
                };
                (when(r.started_at), result.to_string(), r.summary.clone())
            }
        };
        writeln!(
            out,
            "  {:<10} {} {last:<16} {result:<6} {} {next}  ({})",
            kind.name(),
            lang.pick("senast", "last"),
            lang.pick("nästa", "next"),
            kind.label(lang)
        )?;
        if !summary.is_empty() {
            writeln!(out, "             {summary}")?;
        }
    }

    match ctx.store.lease_holder(crate::jobs::lease::SERVE_LEASE).await? {
        Some((h, until)) if until > now => writeln!(
            out,
            "{} {} (PID {}), {} {}",
            lang.pick("Tjänsten (serve) körs på", "The daemon (serve) runs on"),
            h.host,
            h.pid,
            lang.pick("låset gäller till", "lease valid until"),
            until.with_timezone(&tz).format("%H:%M:%S")
        )?,
        Some((h, _)) => writeln!(
            out,
            "{} {} (PID {})",
            lang.pick("Tjänsten (serve) har slutat förnya sitt lås:", "The daemon (serve) stopped renewing its lease:"),
            h.host,
            h.pid
        )?,
        None => writeln!(out, "{}", lang.pick("Tjänsten (serve) körs inte.", "The daemon (serve) is not running."))?,
    }

    let mut sources = ctx.store.source_states().await?;
    if !sources.is_empty() {
        // Failing sources first, the longest-failing on top.
        sources.sort_by(|a, b| b.consecutive_failures.cmp(&a.consecutive_failures).then_with(|| a.name.cmp(&b.name)));
        let failing = sources.iter().filter(|s| s.consecutive_failures > 0).count();
        writeln!(
            out,
            "{} {} {}, {failing} {}:",
            lang.pick("Källor:", "Sources:"),
            sources.len(),
            lang.pick("st", "in all"),
            lang.pick("med fel", "failing")
        )?;
        for s in &sources {
            let last = s.last_success_at.map(when).unwrap_or_else(|| lang.pick("aldrig", "never").into());
            let err = match (&s.last_error, s.consecutive_failures, lang) {
                (Some(e), n, crate::domain::Lang::Sv) if n > 0 => format!("  FEL ({n} i rad): {e}"),
                (Some(e), n, crate::domain::Lang::En) if n > 0 => format!("  FAILED ({n} in a row): {e}"),
                _ => String::new(),
            };
            writeln!(out, "  {:<28} {} {last}{err}", s.name, lang.pick("senast ok", "last ok"))?;
        }
    }

    let all = ctx.store.outbox_list(false).await?;
    let count = |st: OutboxStatus| all.iter().filter(|r| r.status == st).count();
    write!(out, "{} {} {}", lang.pick("Utkorgen:", "Outbox:"), count(OutboxStatus::Pending), lang.pick("väntar", "pending"))?;
    if count(OutboxStatus::Sending) > 0 {
        write!(out, ", {} {}", count(OutboxStatus::Sending), lang.pick("skickas just nu", "being sent"))?;
    }
    writeln!(
        out,
        ", {} {}, {} {}",
        count(OutboxStatus::Sent),
        lang.pick("skickade", "sent"),
        count(OutboxStatus::Failed),
        lang.pick("misslyckade", "failed")
    )?;
    let worth_showing =
        |r: &&crate::store::outbox::OutboxRow| r.status == OutboxStatus::Failed || (r.status == OutboxStatus::Pending && r.attempts > 0);
    for r in all.iter().filter(worth_showing).rev().take(5) {
        let err = r.last_error.as_deref().unwrap_or("");
        writeln!(out, "  #{} {} → {} ({} {}): {err}", r.id, r.kind, r.recipient, r.status, r.attempts)?;
    }
    let (held, total) = ctx.store.held_replies_since(DateTime::<Utc>::MIN_UTC, 5).await?;
    writeln!(out, "{} {total}", lang.pick("Svar som väntar på AU:", "Replies held for AU:"))?;
    for h in held {
        writeln!(out, "  {} {} {} {}", when(h.received_at), h.from_addr.unwrap_or_default(), h.status, h.reason.unwrap_or_default())?;
    }
    let calls = ctx.store.list_calls(&CallFilter { open_at: Some(now), ..Default::default() }).await?;
    writeln!(out, "{} {}", lang.pick("Öppna utlysningar:", "Open calls:"), calls.len())?;
    Ok(())
}

pub async fn digest(
    ctx: &Ctx,
    week: Option<String>,
    dry_run: bool,
    out_dir: Option<&Path>,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let week = match week {
        Some(w) => Some(Week::parse(&w).ok_or_else(|| {
            BadInput(format!("--week «{w}»: {}", ctx.config.partnership.lang.pick("ange vecka som 2026-W48", "give the week as 2026-W48")))
        })?),
        None => None,
    };
    let report = crate::jobs::digest::run_digest(ctx, week, now, dry_run).await?;
    let lang = ctx.config.partnership.lang;
    print_recipients(&report.recipients, dry_run, lang, out)?;
    if dry_run {
        match out_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let base = dir.join(format!("digest-{}", report.week));
                std::fs::write(base.with_extension("html"), &report.rendered.html)?;
                std::fs::write(base.with_extension("txt"), &report.rendered.text)?;
                writeln!(out, "{} {}.html/.txt", lang.pick("Skrev", "Wrote"), base.display())?;
            }
            None => {
                writeln!(out, "{}: {}\n", lang.pick("Ämne", "Subject"), report.rendered.subject)?;
                write!(out, "{}", report.rendered.text)?;
            }
        }
        return Ok(());
    }
    writeln!(out, "{}: {}", lang.pick("Veckobrev", "Digest"), report.rendered.subject)?;
    if report.queued == 0 {
        writeln!(
            out,
            "{}",
            lang.pick("Veckans brev är redan lagt i utkorgen; inget nytt köades.", "This week's digest was already queued; nothing new.")
        )?;
    }
    let sent = crate::jobs::send::run_send(ctx, now).await?;
    print_sent(&sent, lang, out)
}

/// `notify [--dry-run]`: queue the member notifications and send what is
/// due, saying how many messages go to whom; a dry run says the same and
/// queues nothing.
pub async fn notify(ctx: &Ctx, dry_run: bool, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let r = crate::jobs::notify::run_notify(ctx, now, dry_run).await?;
    let lang = ctx.config.partnership.lang;
    let n = r.recipients.len();
    match lang {
        Lang::Sv => writeln!(out, "{n} utskick till {} medlemmar om {} utlysningar.", r.members, r.calls)?,
        Lang::En => writeln!(out, "{n} notifications to {} members about {} calls.", r.members, r.calls)?,
    }
    print_recipients(&r.recipients, dry_run, lang, out)?;
    if dry_run {
        return Ok(());
    }
    let sent = crate::jobs::send::run_send(ctx, now).await?;
    print_sent(&sent, lang, out)
}

/// How many messages to whom, one line per recipient (no prompt: this runs
/// from cron too); a dry run starts by saying nothing was queued.
fn print_recipients(recipients: &[Recipient], dry_run: bool, lang: Lang, out: &mut impl Write) -> anyhow::Result<()> {
    if dry_run {
        let (sv, en) = ("Provkörning: inget läggs i utkorgen och inget skickas.", "Dry run: nothing is queued and nothing is sent.");
        writeln!(out, "{}", lang.pick(sv, en))?;
    }
    let verb = match (dry_run, recipients.len()) {
        (true, 1) => lang.pick("Skulle köa 1 meddelande", "Would queue 1 message"),
        (true, _) => lang.pick("Skulle köa {n} meddelanden", "Would queue {n} messages"),
        (false, 1) => lang.pick("Köade 1 meddelande", "Queued 1 message"),
        (false, _) => lang.pick("Köade {n} meddelanden", "Queued {n} messages"),
    };
    let head = verb.replace("{n}", &recipients.len().to_string());
    writeln!(out, "{head}{}", if recipients.is_empty() { "." } else { ":" })?;
    for r in recipients {
        let who = match (&r.name, &r.member) {
            (Some(name), Some(member)) => format!("{name} <{}>, {member}", r.email),
            (Some(name), None) => format!("{name} <{}>", r.email),
            (None, _) => format!("AU <{}>", r.email),
        };
        match (r.calls, lang) {
            (0, _) => writeln!(out, "  {who}")?,
            (1, Lang::Sv) => writeln!(out, "  {who}: 1 utlysning")?,
            (n, Lang::Sv) => writeln!(out, "  {who}: {n} utlysningar")?,
            (1, Lang::En) => writeln!(out, "  {who}: 1 call")?,
            (n, Lang::En) => writeln!(out, "  {who}: {n} calls")?,
        }
    }
    Ok(())
}

/// `outbox send`: send what is due now, through the same claims as the
/// daemon's sender (safe beside a running `serve`).
pub async fn outbox_send(ctx: &Ctx, now: DateTime<Utc>, out: &mut impl Write) -> anyhow::Result<()> {
    let sent = crate::jobs::send::run_send(ctx, now).await?;
    print_sent(&sent, ctx.config.partnership.lang, out)
}

fn print_sent(sent: &crate::mail::outbox::SendReport, lang: crate::domain::Lang, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}: {} {}, {} {}",
        lang.pick("Utskick", "Sending"),
        sent.sent,
        lang.pick("skickade", "sent"),
        sent.retrying + sent.failed,
        lang.pick("ej skickade", "not sent")
    )?;
    for e in &sent.errors {
        writeln!(out, "  {e}")?;
    }
    Ok(())
}

/// One message as `outbox --json` gives it (issue 17): `id`, `kind`, `to`,
/// `subject`, `message_id` (`<…>`), `refs`, `status`, `attempts`. Scripts
/// see three states: a message being handed to the server now is still
/// `pending` (its claim may lapse and it is tried again), and one
/// cancelled (its recipient forgotten) will never go out, so it is `failed`.
pub fn outbox_json(r: &crate::store::outbox::OutboxRow) -> serde_json::Value {
    let status = match r.status {
        OutboxStatus::Pending | OutboxStatus::Sending => "pending",
        OutboxStatus::Sent => "sent",
        OutboxStatus::Failed | OutboxStatus::Cancelled => "failed",
    };
    json!({
        "id": r.id,
        "kind": r.kind,
        "to": r.recipient,
        "subject": r.subject,
        "message_id": r.message_id,
        "refs": r.refs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "status": status,
        "attempts": r.attempts,
    })
}

pub async fn outbox(ctx: &Ctx, pending: bool, as_json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let lang = ctx.config.partnership.lang;
    let rows = ctx.store.outbox_list(pending).await?;
    if as_json {
        let v: Vec<_> = rows.iter().map(outbox_json).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "{}", lang.pick("Utkorgen är tom.", "The outbox is empty."))?;
    }
    for r in rows {
        let err = r.last_error.map(|e| format!(" ({e})")).unwrap_or_default();
        writeln!(out, "#{:<4} {:<8} {:<9} {:<12} {} → {}{}", r.id, r.status, r.kind, r.period, r.subject, r.recipient, err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallRef;
    use crate::store::outbox::OutboxRow;

    fn row(status: OutboxStatus) -> OutboxRow {
        OutboxRow {
            id: 7,
            kind: "notify".into(),
            period: "2026-12-06".into(),
            recipient: "anna@activa.example.org".into(),
            subject: "[PSI-0042] Ny utlysning".into(),
            message_id: "<psi-radar.notify.PSI-0042.1@psi.example.org>".into(),
            body: Vec::new(),
            html: String::new(),
            created_at: Utc::now(),
            status,
            attempts: 2,
            next_attempt_at: None,
            last_error: Some("550".into()),
            sent_at: None,
            refs: vec![CallRef(42), CallRef(43)],
        }
    }

    #[test]
    fn outbox_json_speaks_three_states_and_names_the_calls() {
        let v = outbox_json(&row(OutboxStatus::Failed));
        assert_eq!(
            v,
            json!({"id": 7, "kind": "notify", "to": "anna@activa.example.org", "subject": "[PSI-0042] Ny utlysning",
                   "message_id": "<psi-radar.notify.PSI-0042.1@psi.example.org>", "refs": ["PSI-0042", "PSI-0043"],
                   "status": "failed", "attempts": 2})
        );
        assert_eq!(outbox_json(&row(OutboxStatus::Sending))["status"], "pending");
        assert_eq!(outbox_json(&row(OutboxStatus::Cancelled))["status"], "failed");
        assert_eq!(outbox_json(&row(OutboxStatus::Sent))["status"], "sent");
    }
}
