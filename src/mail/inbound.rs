//! Mail, inbound: recording replies (DESIGN.md §6) from the MTA pipe (`mail ingest`) or IMAP (`mail fetch`): every message stored once per Message-ID, tied to a member contact, acted on, confirmed.
//!
//! ```text
//!  raw ─▶ reply::parse ─▶ Message-ID already stored? ── yes ─▶ Duplicate (nothing else happens)
//!                                 │ no
//!   several From ─────────────────┤
//!   auto-reply / bounce ──────────┼─▶ auto_reply   (never an answer)
//!   unknown sender, wrong token,  │
//!   dismiss/watch not from AU,    │
//!   sender not proven (AU, or     ├─▶ held         (reason in Swedish, listed to AU)
//!   members with [mail.auth]),    │
//!   contact of several members    │
//!   and nothing tells which,      │
//!   no or unknown call            │
//!   not understood ───────────────┼─▶ unreadable   (the parser's reason, listed to AU)
//!   no call named, mail answered  │
//!   was about several calls ──────┼─▶ waiting      (stored; the sender is asked back
//!                                 │                 in the same run, outbox kind `ask`)
//!                                 └─▶ accepted: interests, STOPP/START, AU's dismiss/watch,
//!                                     one confirmation through the outbox (kind `confirm`)
//! ```
//!
//! Decisions:
//! - A message is acted on whole or not at all: if one answer cannot be
//!   tied to a known call, or a member (not AU) sends dismiss/watch, the
//!   whole message is held for AU and nothing of it is recorded.
//! - Answers need a registered contact (they are the member's); AU's
//!   dismiss/watch need an AU address (`mail.au`, `mail.au_members`), proven
//!   as [`super::proof`] says (a personal address always; the list's once
//!   `[mail.auth]` or `reply_token` is set). A message with more than one
//!   From header or address is held before anything else.
//! - A person who is a contact of several members: see [`super::attribution`];
//!   each contact's answer is kept and contradictions told ([`super::positions`]).
//! - The row is written before anything is acted on, in status
//!   `receiving`; a message whose row is still `receiving` (a crash half-way)
//!   is processed again when it comes back, every step being idempotent.
//! - With `mail.reply_token`, a contact's reply must come back to
//!   `<reply_to local part>+<token>@<reply_to domain>` (To, Cc,
//!   Delivered-To, X-Original-To or Envelope-To) with one of the person's
//!   tokens.
//! - Ask back instead of holding: an answer that names no call, to one of
//!   our mails about several calls (In-Reply-To/References in the outbox,
//!   else the references in the subject), waits in `waiting_answers` for
//!   `[mail] ask_back_days`. It is settled by the contact's next message
//!   that names one of those calls: with an answer ("PSI-0042: ja,
//!   partner", which counts), or with the reference alone ("PSI-0042"),
//!   which applies the waiting answer to it. A mail about one call needs no
//!   asking.
//! - Logs name reply, contact and call ids, never addresses.

use crate::config::{ImapConfig, TlsMode};
use crate::domain::{CallRef, Email, Intent, Lang, Role};
use crate::mail::MailCtx;
use crate::mail::attribution::{self, Sender};
use crate::mail::digest::card;
use crate::mail::message::{Outgoing, compose};
use crate::mail::notify::{self, confirmation, copy_line};
use crate::mail::positions;
use crate::mail::proof::{self, Proof};
use crate::mail::reply::{self, Action, Answer, Reading};
use crate::store::members::ContactRow;
use crate::store::replies::{NewReply, NewWaiting, RECEIVING, WaitingAnswer};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Debug;
use std::time::Duration;

/// What became of one inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Acted on and confirmed.
    Accepted,
    /// Kept for AU: unknown sender, wrong token, unknown call …
    Held,
    /// Kept for AU: nothing could be read.
    Unreadable,
    /// An auto-reply or a bounce: stored, never an answer.
    AutoReply,
    /// The same Message-ID was already recorded: nothing happened.
    Duplicate,
    /// An answer that names no call, to a mail about several: kept while
    /// the member is asked which call it meant (shown to AU as waiting).
    Waiting,
}

impl Status {
    /// The `replies.status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Held => "held",
            Status::Unreadable => "unreadable",
            Status::AutoReply => "auto_reply",
            Status::Duplicate => "duplicate",
            Status::Waiting => "waiting",
        }
    }
}

/// The outcome of [`ingest`].
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    /// The `replies` row (for a duplicate: the row recorded earlier).
    pub reply_id: i64,
    pub status: Status,
    /// Why it was held, unreadable or an auto-reply (Swedish).
    pub reason: Option<String>,
    /// What was recorded, one line each ("PSI-0042 — ja, som partner").
    pub recorded: Vec<String>,
    /// The confirmation queued in the outbox (None when it was queued before).
    pub confirmation: Option<i64>,
    /// The ask-back queued in the outbox (status `waiting`), when there was one to send.
    pub ask: Option<i64>,
}

impl IngestOutcome {
    fn duplicate(reply_id: i64) -> IngestOutcome {
        IngestOutcome { reply_id, status: Status::Duplicate, reason: None, recorded: vec![], confirmation: None, ask: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("IMAP: miljövariabeln {0} med lösenordet är inte satt")]
    Password(String),
    #[error("IMAP: tls = \"none\" är bara tillåtet mot en server på den här datorn, inte «{0}»")]
    PlainRemote(String),
    #[error("IMAP: {0}")]
    Imap(String),
    #[error("IMAP: ingen kontakt med {host}:{port} inom {secs} s")]
    Timeout { host: String, port: u16, secs: u64 },
    #[error("IMAP: {0}")]
    Io(#[from] std::io::Error),
}

impl From<async_imap::error::Error> for InboundError {
    fn from(e: async_imap::error::Error) -> Self {
        InboundError::Imap(e.to_string())
    }
}

/// What the decision came to, before anything is written.
enum Verdict {
    AutoReply(String),
    Held(String),
    Unreadable(String),
    Accept(Plan),
}

impl Verdict {
    /// The status the reply gets, and why (Swedish, for AU).
    fn status(&self) -> (Status, Option<String>) {
        match self {
            Verdict::AutoReply(r) => (Status::AutoReply, Some(r.clone())),
            Verdict::Held(r) => (Status::Held, Some(r.clone())),
            Verdict::Unreadable(r) => (Status::Unreadable, Some(r.clone())),
            Verdict::Accept(plan) => match &plan.waiting {
                Some(w) => (Status::Waiting, Some(waiting_reason(&w.calls))),
                None => (Status::Accepted, None),
            },
        }
    }
}

/// What an accepted message does.
#[derive(Default)]
struct Plan {
    answers: Vec<(CallRef, Answer)>,
    unsubscribe: bool,
    resume: bool,
    dismiss: Vec<CallRef>,
    watch: Vec<CallRef>,
    /// A bare answer to a mail about several calls: it waits, the member is asked.
    waiting: Option<Waiting>,
    /// The contact's earlier waiting answer this message settles, and the calls it now applies to
    /// (empty when an explicit answer replaces it).
    settles: Option<(i64, Vec<CallRef>)>,
}

/// An answer waiting for the member to say which call it meant.
struct Waiting {
    answer: Answer,
    /// The calls of the mail it answered.
    calls: Vec<CallRef>,
}

/// The most of one message that is read, parsed and kept (2 MiB): a
/// reply's own words come first, and what follows — quoted history,
/// attachments — is not needed to read it. A larger message is handled on
/// its first part, in bounded memory.
pub const MAX_RAW_BYTES: usize = 2 * 1024 * 1024;

/// Held: the sender is no registered contact (nor AU).
pub const UNKNOWN_SENDER: &str = "okänd avsändare";

/// Held: more than one From header or address; who wrote it cannot be told.
pub const SEVERAL_FROM: &str =
    "meddelandet har mer än en avsändare (flera From-rader eller adresser); det går inte att veta vem som skrev det";

/// The most of a reply's own text kept with its reading for AU to see.
const EXCERPT_CHARS: usize = 1000;

/// Read a stored message again as if it had just come (its sender was made
/// a contact, `members add-contact`): the row goes back to `receiving` and
/// the raw message through [`ingest`]. None when the raw message is no
/// longer kept (retention).
pub async fn reread<'a>(ctx: impl Into<MailCtx<'a>>, reply_id: i64, now: DateTime<Utc>) -> anyhow::Result<Option<IngestOutcome>> {
    let ctx = ctx.into();
    let Some(raw) = ctx.store.reply_raw(reply_id).await? else { return Ok(None) };
    ctx.store.set_reply_status(reply_id, RECEIVING, None).await?;
    let outcome = ingest(ctx, &raw, None, now).await?;
    Ok(Some(outcome))
}

/// Record one raw message (RFC 822 bytes) and act on it. See the module
/// documentation for what happens when.
pub async fn ingest<'a>(
    ctx: impl Into<MailCtx<'a>>,
    raw: &[u8],
    imap_uid: Option<u32>,
    now: DateTime<Utc>,
) -> anyhow::Result<IngestOutcome> {
    let ctx = &ctx.into();
    let reading = reply::parse(raw);
    let message_id = reading.message_id.clone().unwrap_or_else(|| synthetic_message_id(raw));
    let resume = match ctx.store.reply_by_message_id(&message_id).await? {
        Some(row) if row.status != RECEIVING => {
            tracing::info!(reply = row.id, "duplicate Message-ID, already recorded");
            return Ok(IngestOutcome::duplicate(row.id));
        }
        Some(row) => Some(row.id),
        None => None,
    };

    let sender = attribution::sender(*ctx, &reading, raw).await?;
    let contact = sender.contact().cloned();
    let is_au = reading.from.as_deref().is_some_and(|f| proof::is_au(&ctx.config.mail, f));
    let verdict = match &sender {
        Sender::Ambiguous(rows) if !reading.auto_reply && !is_au => Verdict::Held(attribution::ambiguous_reason(*ctx, rows).await?),
        _ => decide(ctx, &reading, raw, contact.as_ref(), is_au, now).await?,
    };

    let (status, reason) = verdict.status();
    let reading_json = reading_json(&reading);
    let row_status = if status == Status::Accepted { RECEIVING } else { status.as_str() };
    let reply_id = match resume {
        Some(id) => {
            ctx.store.set_reply_status(id, row_status, reason.as_deref()).await?;
            ctx.store.set_reply_sender(id, contact.as_ref().map(|c| c.id), contact.as_ref().map(|c| c.member.as_str())).await?;
            id
        }
        None => {
            let new = NewReply {
                message_id: &message_id,
                imap_uid,
                from_addr: reading.from.as_deref(),
                contact_id: contact.as_ref().map(|c| c.id),
                member_id: contact.as_ref().map(|c| c.member.as_str()),
                status: row_status,
                reason: reason.as_deref(),
                reading: &reading_json,
                raw,
            };
            match ctx.store.insert_reply(&new, now).await? {
                Some(id) => id,
                None => {
                    // Recorded by a concurrent ingest between the check and the insert.
                    let id = ctx.store.reply_by_message_id(&message_id).await?.map(|r| r.id).unwrap_or_default();
                    return Ok(IngestOutcome::duplicate(id));
                }
            }
        }
    };

    let Verdict::Accept(plan) = verdict else {
        tracing::info!(reply = reply_id, contact = contact.as_ref().map(|c| c.id), status = status.as_str(), "reply recorded");
        let ask = match &sender {
            Sender::Ambiguous(rows) if status == Status::Held && reading.understood => {
                attribution::ask_which_member(*ctx, rows, &message_id, reply_id, now).await?
            }
            _ => None,
        };
        return Ok(IngestOutcome { reply_id, status, reason, recorded: vec![], confirmation: None, ask });
    };
    let done = apply(ctx, &reading, &message_id, reply_id, contact.as_ref(), plan, now).await?;
    ctx.store.set_reply_status(reply_id, status.as_str(), reason.as_deref()).await?;
    tracing::info!(
        reply = reply_id,
        contact = contact.as_ref().map(|c| c.id),
        lines = done.lines.len(),
        status = status.as_str(),
        "reply accepted"
    );
    Ok(IngestOutcome { reply_id, status, reason, recorded: done.lines, confirmation: done.confirmation, ask: done.ask })
}

/// Why a reply waits (Swedish, for AU).
fn waiting_reason(calls: &[CallRef]) -> String {
    let list = calls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
    format!("väntar: svaret anger ingen utlysning; medlemmen har fått frågan vilken av {list} det gäller")
}

async fn decide(
    ctx: &MailCtx<'_>,
    reading: &Reading,
    raw: &[u8],
    contact: Option<&ContactRow>,
    is_au: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Verdict> {
    if reading.several_from {
        return Ok(Verdict::Held(SEVERAL_FROM.into()));
    }
    if reading.auto_reply {
        return Ok(Verdict::AutoReply(reading.reason.clone().unwrap_or_else(|| "Autosvar".into())));
    }
    if contact.is_none() && !is_au {
        return Ok(Verdict::Held(UNKNOWN_SENDER.into()));
    }
    if let Some(c) = contact
        && let Some(held) = token_refused(ctx, c, raw).await?
    {
        return Ok(Verdict::Held(held.into()));
    }
    let waiting = match contact {
        Some(c) => ctx.store.waiting_for_contact(c.id, now).await?,
        None => None,
    };
    if !reading.understood {
        // "PSI-0042" alone, after we asked which call an answer meant: that answer, for that call.
        if let Some(plan) = waiting.as_ref().and_then(|w| names_waiting_calls(w, &reading.named)) {
            return Ok(Verdict::Accept(plan));
        }
        return Ok(Verdict::Unreadable(reading.reason.clone().unwrap_or_else(|| "Svaret gick inte att tolka".into())));
    }

    let mut plan = Plan::default();
    for action in &reading.actions {
        match action {
            Action::Unsubscribe => plan.unsubscribe = true,
            Action::Resume => plan.resume = true,
            Action::Dismiss(r) => plan.dismiss.push(*r),
            Action::Watch(r) => plan.watch.push(*r),
        }
    }
    if contact.is_none() && (!reading.answers.is_empty() || plan.unsubscribe || plan.resume) {
        return Ok(Verdict::Held(format!(
            "{UNKNOWN_SENDER} (AU-adressen hör inte till någon medlem och kan bara markera ej aktuell/bevaka)"
        )));
    }
    if !is_au && (!plan.dismiss.is_empty() || !plan.watch.is_empty()) {
        return Ok(Verdict::Held("bara AU kan markera en utlysning som ej aktuell eller bevaka den".into()));
    }
    if let Some(held) = unproven(ctx, reading, raw, contact, &plan).await? {
        return Ok(Verdict::Held(held.into()));
    }
    if let Some(held) = place_answers(ctx, reading, &mut plan).await? {
        return Ok(Verdict::Held(held));
    }
    if let Some(w) = &waiting {
        settle_by_explicit_answers(w, &mut plan);
    }
    if let Some(unknown) = unknown_calls(ctx, &plan).await? {
        return Ok(Verdict::Held(format!("okänd utlysning {unknown}")));
    }
    Ok(Verdict::Accept(plan))
}

/// Why a message that needs proof of its sender (AU's commands; members'
/// answers with `[mail.auth] members`) is held when it has none.
async fn unproven(
    ctx: &MailCtx<'_>,
    reading: &Reading,
    raw: &[u8],
    contact: Option<&ContactRow>,
    plan: &Plan,
) -> anyhow::Result<Option<&'static str>> {
    let Some(from) = reading.from.as_deref() else { return Ok(None) };
    let au_command = !plan.dismiss.is_empty() || !plan.watch.is_empty();
    let members = ctx.config.mail.auth.as_ref().is_some_and(|a| a.members);
    let member_answer = contact.is_some() && members && (!plan.answers.is_empty() || !reading.answers.is_empty());
    let needs = (au_command && proof::au_needs_proof(&ctx.config.mail, from)) || member_answer;
    if !needs || proof::proof(*ctx, reading, raw).await? != Proof::Unproven {
        return Ok(None);
    }
    tracing::info!(au_command, member_answer, "reply held: its sender is not proven");
    Ok(Some(if au_command {
        "AU-kommandot kunde inte styrkas: e-postservern intygar inte avsändaren (DMARC/DKIM) och svaret kom inte till avsändarens svarsadress"
    } else {
        "svaret kunde inte styrkas: e-postservern intygar inte avsändaren (DMARC/DKIM) och svaret kom inte till kontaktens svarsadress"
    }))
}

/// With `mail.reply_token`, why a contact's reply is refused (None: it came to the contact's token address).
async fn token_refused(ctx: &MailCtx<'_>, c: &ContactRow, raw: &[u8]) -> anyhow::Result<Option<&'static str>> {
    if !ctx.config.mail.reply_token {
        return Ok(None);
    }
    // The token proves the address, not the membership: any of the person's contact rows' tokens will do.
    let mut tokens = Vec::new();
    for row in ctx.store.contacts_by_email(c.contact.email.as_str()).await? {
        tokens.extend(ctx.store.contact_token(row.id).await?.filter(|t| !t.is_empty()));
    }
    if tokens.is_empty() {
        ctx.store.ensure_contact_tokens(new_token).await?;
        return Ok(Some("kontakten hade ingen svarsnyckel än (svaret kan inte styrkas)"));
    }
    if !tokens.iter().any(|t| addressed_to(raw, &token_address(&ctx.config.mail.reply_to, t))) {
        return Ok(Some("svaret kom inte till kontaktens svarsadress med svarsnyckel (kan vara förfalskad avsändare)"));
    }
    Ok(None)
}

/// The calls `plan` names that the store does not know, joined ("PSI-0099, PSI-0100").
async fn unknown_calls(ctx: &MailCtx<'_>, plan: &Plan) -> anyhow::Result<Option<String>> {
    let mut refs: Vec<CallRef> = plan
        .answers
        .iter()
        .map(|(c, _)| *c)
        .chain(plan.dismiss.iter().copied())
        .chain(plan.watch.iter().copied())
        .chain(plan.waiting.iter().flat_map(|w| w.calls.iter().copied()))
        .collect();
    refs.sort();
    refs.dedup();
    let mut unknown = Vec::new();
    for r in refs {
        if ctx.store.get_call(r).await?.is_none() {
            unknown.push(r.to_string());
        }
    }
    Ok((!unknown.is_empty()).then(|| unknown.join(", ")))
}

/// Tie each answer to its call: the one it names; else the one call of the
/// mail it answers; else, when that mail was about several calls, the
/// answer waits and the member is asked. Some(reason) when it must be held.
async fn place_answers(ctx: &MailCtx<'_>, reading: &Reading, plan: &mut Plan) -> anyhow::Result<Option<String>> {
    for a in &reading.answers {
        if let Some(c) = a.call {
            plan.answers.push((c, a.clone()));
            continue;
        }
        match thread_calls(ctx, reading).await?.as_slice() {
            [] => return Ok(Some("svaret anger ingen utlysning (skriv t.ex. «PSI-0042: ja, partner»)".into())),
            [one] => plan.answers.push((*one, a.clone())),
            many => plan.waiting = Some(Waiting { answer: a.clone(), calls: many.to_vec() }),
        }
    }
    Ok(None)
}

/// The calls of the message of ours this one replies to (In-Reply-To,
/// then References, looked up in the outbox), else those in its subject.
async fn thread_calls(ctx: &MailCtx<'_>, reading: &Reading) -> anyhow::Result<Vec<CallRef>> {
    for id in &reading.in_reply_to {
        if let Some(refs) = ctx.store.refs_of_message(id).await? {
            let refs: Vec<CallRef> = refs.split_whitespace().filter_map(CallRef::parse).collect();
            if !refs.is_empty() {
                return Ok(refs);
            }
        }
    }
    Ok(reply::call_refs(&reading.subject))
}

/// A message that only names calls, all among those a waiting answer was
/// asked about: the waiting answer applies to them.
fn names_waiting_calls(w: &WaitingAnswer, named: &[CallRef]) -> Option<Plan> {
    if named.is_empty() || !named.iter().all(|c| w.calls.contains(c)) {
        return None;
    }
    let answer = Answer { call: None, intent: w.intent, role: w.role, comment: w.comment.clone() };
    Some(Plan {
        answers: named.iter().map(|c| (*c, Answer { call: Some(*c), ..answer.clone() })).collect(),
        settles: Some((w.id, named.to_vec())),
        ..Plan::default()
    })
}

/// An explicit answer to a call the member was asked about settles the
/// waiting answer (the explicit one counts). A copied line carries no
/// comment: the comment of the waiting answer goes with it when the
/// intent is the same.
fn settle_by_explicit_answers(w: &WaitingAnswer, plan: &mut Plan) {
    if plan.waiting.is_some() {
        return; // a new bare answer: it replaces the old one when stored
    }
    let mut applied = Vec::new();
    for (call, a) in plan.answers.iter_mut().filter(|(c, _)| w.calls.contains(c)) {
        if a.comment.is_empty() && a.intent == w.intent {
            a.comment = w.comment.clone();
        }
        applied.push(*call);
    }
    if !applied.is_empty() {
        plan.settles = Some((w.id, applied));
    }
}

/// What [`apply`] did.
struct Applied {
    lines: Vec<String>,
    confirmation: Option<i64>,
    ask: Option<i64>,
}

/// Record what `plan` says, then queue one confirmation, or the ask-back
/// when an answer waits for its call.
async fn apply(
    ctx: &MailCtx<'_>,
    reading: &Reading,
    message_id: &str,
    reply_id: i64,
    contact: Option<&ContactRow>,
    plan: Plan,
    now: DateTime<Utc>,
) -> anyhow::Result<Applied> {
    let member = match contact {
        Some(c) => ctx.store.member(&c.member).await?,
        None => None,
    };
    let lang = member.as_ref().map(|m| m.mail_lang()).unwrap_or(ctx.config.partnership.lang);
    let (lines, refs) = record(ctx, reply_id, contact, &plan, lang, now).await?;
    if let Some((id, applied)) = &plan.settles {
        ctx.store.resolve_waiting(*id, applied, now).await?;
    }
    let ask = match (&plan.waiting, contact) {
        (Some(w), Some(c)) => ask_back(ctx, reading, message_id, reply_id, c, w, lang, now).await?,
        _ => None,
    };
    if let Some(c) = contact {
        let answered: Vec<CallRef> = plan.answers.iter().map(|(call, _)| *call).collect();
        positions::tell(*ctx, c, &answered, message_id, now).await?;
    }
    let confirmation = confirm(ctx, reading, message_id, contact, &lines, refs, lang, now).await?;
    Ok(Applied { lines, confirmation, ask })
}

/// Store the answers and commands of `plan`; one line each for the confirmation, and the calls named.
async fn record(
    ctx: &MailCtx<'_>,
    reply_id: i64,
    contact: Option<&ContactRow>,
    plan: &Plan,
    lang: Lang,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<String>, Vec<CallRef>)> {
    let mut lines = Vec::new();
    let mut refs = Vec::new();
    if let Some(c) = contact {
        for (call, a) in &plan.answers {
            ctx.store.record_interest(*call, &c.member, Some(c.id), a.intent, a.role, &a.comment, Some(reply_id), now).await?;
            lines.push(answer_line(*call, a.intent, a.role, &a.comment, lang));
            refs.push(*call);
        }
        if plan.unsubscribe {
            ctx.store.set_unsubscribed(c.id, now).await?;
            lines.push(
                lang.pick(
                    "STOPP — du får inga fler mejl om nya utlysningar till den här adressen.",
                    "STOP — you will receive no more e-mails about new calls at this address.",
                )
                .to_string(),
            );
        }
        if plan.resume && ctx.store.set_resubscribed(c.id).await? {
            lines.push(
                lang.pick(
                    "START — du får åter mejl om nya utlysningar till den här adressen.",
                    "START — you will again receive e-mails about new calls at this address.",
                )
                .to_string(),
            );
        }
    }
    for r in &plan.dismiss {
        ctx.store.dismiss_call(*r, now).await?;
        tracing::info!(reply = reply_id, call = %r, "call dismissed by AU reply");
        lines.push(format!(
            "{r} — {}",
            lang.pick(
                "ej aktuell: visas inte i kommande veckobrev och utskick",
                "not relevant: hidden from later digests and notifications"
            )
        ));
        refs.push(*r);
    }
    for r in &plan.watch {
        ctx.store.watch_call(*r, now).await?;
        tracing::info!(reply = reply_id, call = %r, "call watched by AU reply");
        lines.push(format!(
            "{r} — {}",
            lang.pick("bevakas: överst i veckobrevet till sista ansökningsdagen", "watched: at the top of the digest until its deadline")
        ));
        refs.push(*r);
    }
    refs.sort();
    refs.dedup();
    Ok((lines, refs))
}

/// Queue the confirmation of what was recorded (nothing when nothing was).
#[allow(clippy::too_many_arguments)]
async fn confirm(
    ctx: &MailCtx<'_>,
    reading: &Reading,
    message_id: &str,
    contact: Option<&ContactRow>,
    lines: &[String],
    refs: Vec<CallRef>,
    lang: Lang,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let to = match (contact, reading.from.as_deref()) {
        (Some(c), _) => Some(c.contact.email.clone()),
        (None, Some(from)) => Email::parse(from).ok(),
        (None, None) => None,
    };
    let Some(to) = to.filter(|_| !lines.is_empty()) else { return Ok(None) };
    let subject = original_subject(&reading.subject, &refs);
    let token_for = to.to_string();
    let r = confirmation(ctx.renderer, lang, &ctx.config.partnership.name, &subject, lines)?;
    let o = Outgoing {
        kind: "confirm",
        period: message_id.to_string(),
        to,
        to_name: contact.map(|c| c.contact.name.clone()),
        subject: r.subject,
        text: r.text,
        html: r.html,
        refs,
        list_unsubscribe: false,
        in_reply_to: Some(message_id.to_string()),
        reply_to: reply_address_for(*ctx, &token_for).await?,
    };
    let message = compose(&ctx.config.mail, &o, now)?;
    let queued = ctx.store.enqueue(&message, now).await?;
    if let Some(c) = contact {
        ctx.store.set_message_member(&message.message_id, &c.member).await?;
    }
    Ok(queued)
}

/// Keep a bare answer waiting and ask its sender, in the same run, which of
/// the calls it meant (outbox kind `ask`): the calls with a line to copy
/// each. A contact who said STOPP is not asked; the answer still waits
/// and AU sees it.
#[allow(clippy::too_many_arguments)]
async fn ask_back(
    ctx: &MailCtx<'_>,
    reading: &Reading,
    message_id: &str,
    reply_id: i64,
    contact: &ContactRow,
    w: &Waiting,
    lang: Lang,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let days = ctx.config.mail.ask_back_days;
    let new = NewWaiting {
        reply_id,
        contact_id: contact.id,
        member: &contact.member,
        calls: &w.calls,
        intent: w.answer.intent,
        role: w.answer.role,
        comment: &w.answer.comment,
        expires_at: now + chrono::Duration::days(i64::from(days)),
    };
    ctx.store.insert_waiting(&new, now).await?;
    if contact.contact.unsubscribed {
        tracing::info!(reply = reply_id, contact = contact.id, "answer waits; the contact said STOPP and is not asked");
        return Ok(None);
    }
    let mut cards = Vec::new();
    for call in &w.calls {
        if let Some(c) = ctx.store.get_call(*call).await? {
            cards.push(card(&c, now, ctx.config.partnership.tz, lang, ctx.model));
        }
    }
    let lines: Vec<String> = w.calls.iter().map(|c| copy_line(*c, w.answer.intent, w.answer.role, lang)).collect();
    let said = answer_words(w.answer.intent, w.answer.role, "", lang);
    let r = notify::ask_back(ctx.renderer, lang, &ctx.config.partnership.name, &said, &cards, &lines, days)?;
    let o = Outgoing {
        kind: "ask",
        period: message_id.to_string(),
        to: contact.contact.email.clone(),
        to_name: Some(contact.contact.name.clone()),
        subject: r.subject,
        text: r.text,
        html: r.html,
        refs: w.calls.clone(),
        list_unsubscribe: false,
        in_reply_to: reading.message_id.clone().or_else(|| Some(message_id.to_string())),
        reply_to: reply_address_for(*ctx, contact.contact.email.as_str()).await?,
    };
    let message = compose(&ctx.config.mail, &o, now)?;
    let queued = ctx.store.enqueue(&message, now).await?;
    ctx.store.set_message_member(&message.message_id, &contact.member).await?;
    tracing::info!(reply = reply_id, contact = contact.id, calls = w.calls.len(), "answer waits; asked back which call");
    Ok(queued)
}

/// "PSI-0042 — ja, som partner («vi har en projektledare ledig från mars»)".
pub fn answer_line(call: CallRef, intent: Intent, role: Option<Role>, comment: &str, lang: Lang) -> String {
    format!("{call} — {}", answer_words(intent, role, comment, lang))
}

/// What was answered, without the call: "ja, som partner («…»)".
fn answer_words(intent: Intent, role: Option<Role>, comment: &str, lang: Lang) -> String {
    let mut s = intent.label(lang).to_string();
    if let Some(role) = role.filter(|_| intent != Intent::No) {
        let phrase = match role {
            Role::Lead => lang.pick("som projektägare", "as lead applicant"),
            Role::Partner => lang.pick("som partner", "as a partner"),
            Role::Reference => lang.pick("i referensgruppen", "in the reference group"),
        };
        s.push_str(", ");
        s.push_str(phrase);
    }
    let comment = comment.trim();
    if !comment.is_empty() {
        let short: String = comment.chars().take(200).collect();
        let more = if comment.chars().count() > 200 { "…" } else { "" };
        s.push_str(&match lang {
            Lang::Sv => format!(" («{short}{more}»)"),
            Lang::En => format!(" (“{short}{more}”)"),
        });
    }
    s
}

/// The subject replied to, without `SV:`/`Re:`/`AW:`/`VS:`/`Fwd:` prefixes;
/// the calls when there is none.
pub(super) fn original_subject(subject: &str, refs: &[CallRef]) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let Some(p) = ["sv:", "re:", "aw:", "vs:", "vb:", "fw:", "fwd:", "antw:"].iter().find(|p| lower.starts_with(*p)) else { break };
        s = s.get(p.len()..).unwrap_or("").trim_start();
    }
    if s.is_empty() { refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ") } else { s.to_string() }
}

/// The reading as stored: the documented JSON plus the commands and the subject.
fn reading_json(r: &Reading) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(obj) = v.as_object_mut() {
        let actions: Vec<String> = r
            .actions
            .iter()
            .map(|a| match a {
                Action::Unsubscribe => "unsubscribe".to_string(),
                Action::Resume => "resume".to_string(),
                Action::Dismiss(c) => format!("dismiss {c}"),
                Action::Watch(c) => format!("watch {c}"),
            })
            .collect();
        obj.insert("actions".into(), serde_json::json!(actions));
        obj.insert("subject".into(), serde_json::json!(r.subject));
        obj.insert("in_reply_to".into(), serde_json::json!(r.in_reply_to));
        // What the person wrote, for AU's list of held messages (`mail held`, the digest).
        let text: String = r.new_text.chars().take(EXCERPT_CHARS).collect();
        obj.insert("text".into(), serde_json::json!(text));
    }
    v.to_string()
}

/// A stable stand-in for a message without a Message-ID, from its bytes
/// (the same bytes twice are recorded once).
fn synthetic_message_id(raw: &[u8]) -> String {
    // FNV-1a, 64 bit: stable across builds, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("<no-message-id.{h:016x}.{}@psi-radar.invalid>", raw.len())
}

/// The reply address carrying a contact's token: `svar+<token>@psi.example.org`.
pub fn token_address(reply_to: &Email, token: &str) -> String {
    let bare = reply_to.without_tag();
    match bare.split_once('@') {
        Some((local, domain)) => format!("{local}+{token}@{domain}"),
        None => bare,
    }
}

/// A new random reply token: 20 characters a–z, 2–7 (100 bits).
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 13];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    Ok((0..20).map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize])).collect())
}

/// Whether a recipient header of `raw` names `address` (case-insensitive, as a whole address).
pub(super) fn addressed_to(raw: &[u8], address: &str) -> bool {
    let Some(msg) = mail_parser::MessageParser::default().parse_headers(raw) else { return false };
    let wanted = address.to_lowercase();
    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '_')));
    msg.headers_raw()
        .filter(|(n, _)| ["to", "cc", "delivered-to", "x-original-to", "envelope-to"].iter().any(|h| n.eq_ignore_ascii_case(h)))
        .any(|(_, v)| {
            let v = v.to_lowercase();
            v.match_indices(&wanted).any(|(i, m)| boundary(v[..i].chars().next_back()) && boundary(v[i + m.len()..].chars().next()))
        })
}

/// What one IMAP fetch did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FetchReport {
    /// Unseen messages in the folder.
    pub unseen: usize,
    pub accepted: usize,
    pub held: usize,
    pub unreadable: usize,
    pub auto_replies: usize,
    /// Already recorded (same Message-ID).
    pub duplicates: usize,
    /// Answers waiting for the member to name the call (asked back).
    pub waiting: usize,
    /// Could not be read or recorded: left unseen in the folder for the next run.
    pub failed: usize,
    /// Moved to the done folder.
    pub moved: usize,
}

impl FetchReport {
    fn count(&mut self, s: Status) {
        match s {
            Status::Accepted => self.accepted += 1,
            Status::Held => self.held += 1,
            Status::Unreadable => self.unreadable += 1,
            Status::AutoReply => self.auto_replies += 1,
            Status::Duplicate => self.duplicates += 1,
            Status::Waiting => self.waiting += 1,
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const SESSION_TIMEOUT: Duration = Duration::from_secs(600);

/// Read the unseen messages of the configured folder over IMAP, ingest each
/// (fetched with `BODY.PEEK[]`, so a failure leaves it unseen for the next
/// run) and move the handled ones to the done folder (created if missing).
pub async fn fetch<'a>(ctx: impl Into<MailCtx<'a>>, imap: &ImapConfig, now: DateTime<Utc>) -> anyhow::Result<FetchReport> {
    let ctx = &ctx.into();
    let password = std::env::var(&imap.password_env).map_err(|_| InboundError::Password(imap.password_env.clone()))?;
    if imap.tls == TlsMode::None && !is_loopback(&imap.host) {
        return Err(InboundError::PlainRemote(imap.host.clone()).into());
    }
    let timeout = |secs: Duration| InboundError::Timeout { host: imap.host.clone(), port: imap.port, secs: secs.as_secs() };
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((imap.host.as_str(), imap.port)))
        .await
        .map_err(|_| timeout(CONNECT_TIMEOUT))?
        .map_err(InboundError::Io)?;
    let run = async {
        match imap.tls {
            TlsMode::None => session(ctx, imap, async_imap::Client::new(tcp), true, &password, now).await,
            TlsMode::Tls => {
                let tls = tls_connect(&imap.host, tcp).await?;
                session(ctx, imap, async_imap::Client::new(tls), true, &password, now).await
            }
            TlsMode::Starttls => {
                let mut client = async_imap::Client::new(tcp);
                greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await.map_err(InboundError::from)?;
                let tls = tls_connect(&imap.host, client.into_inner()).await?;
                session(ctx, imap, async_imap::Client::new(tls), false, &password, now).await
            }
        }
    };
    tokio::time::timeout(SESSION_TIMEOUT, run).await.map_err(|_| timeout(SESSION_TIMEOUT))?
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn tls_connect(
    host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, InboundError> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InboundError::Imap(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| InboundError::Imap(format!("värdnamnet «{host}»: {e}")))?;
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg)).connect(name, tcp).await?)
}

async fn greeting<T>(client: &mut async_imap::Client<T>) -> Result<(), InboundError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Debug + Send,
{
    match client.read_response().await? {
        Some(_) => Ok(()),
        None => Err(InboundError::Imap("servern stängde förbindelsen före hälsningen".into())),
    }
}

/// Drain a response stream, failing on the first error.
async fn drain<S, X>(s: S) -> Result<(), InboundError>
where
    S: futures_util::Stream<Item = async_imap::error::Result<X>>,
{
    use futures_util::StreamExt;
    let mut s = std::pin::pin!(s);
    while let Some(item) = s.next().await {
        item?;
    }
    Ok(())
}

async fn session<T>(
    ctx: &MailCtx<'_>,
    imap: &ImapConfig,
    mut client: async_imap::Client<T>,
    greet: bool,
    password: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<FetchReport>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Debug + Send,
{
    use futures_util::StreamExt;
    if greet {
        greeting(&mut client).await?;
    }
    let mut s =
        client.login(&imap.username, password).await.map_err(|(e, _)| InboundError::Imap(format!("inloggningen misslyckades: {e}")))?;
    s.select(&imap.folder).await.map_err(|e| InboundError::Imap(format!("mappen «{}»: {e}", imap.folder)))?;
    let mut uids: Vec<u32> = s.uid_search("UNSEEN").await.map_err(InboundError::from)?.into_iter().collect();
    uids.sort_unstable();
    let mut report = FetchReport { unseen: uids.len(), ..Default::default() };
    let mut handled = Vec::new();
    for uid in uids {
        let mut raw = None;
        {
            // At most MAX_RAW_BYTES of it: a partial fetch, so a 20 MB attachment never arrives.
            let query = format!("(UID RFC822.SIZE BODY.PEEK[]<0.{MAX_RAW_BYTES}>)");
            let mut fetches = s.uid_fetch(uid.to_string(), &query).await.map_err(InboundError::from)?;
            while let Some(f) = fetches.next().await {
                let f = f.map_err(InboundError::from)?;
                if (f.uid == Some(uid) || f.uid.is_none())
                    && let Some(body) = f.body()
                {
                    if let Some(size) = f.size.filter(|n| usize::try_from(*n).is_ok_and(|n| n > body.len())) {
                        tracing::info!(uid, size, kept = body.len(), "IMAP: a large message; its first part is read");
                    }
                    raw = Some(body.to_vec());
                }
            }
        }
        let Some(raw) = raw else {
            tracing::warn!(uid, "IMAP: the message had no body; left in the folder");
            report.failed += 1;
            continue;
        };
        match ingest(*ctx, &raw, Some(uid), now).await {
            Ok(o) => {
                report.count(o.status);
                handled.push(uid);
            }
            Err(e) => {
                tracing::warn!(uid, "IMAP: could not record the message; left unseen for the next run: {e:#}");
                report.failed += 1;
            }
        }
    }
    if !handled.is_empty() {
        ensure_folder(&mut s, &imap.done_folder).await?;
        let set = handled.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        drain(s.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await.map_err(InboundError::from)?).await?;
        let caps = s.capabilities().await.map_err(InboundError::from)?;
        if caps.has_str("MOVE") {
            s.uid_mv(&set, &imap.done_folder).await.map_err(InboundError::from)?;
        } else {
            s.uid_copy(&set, &imap.done_folder).await.map_err(InboundError::from)?;
            drain(s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await.map_err(InboundError::from)?).await?;
            if caps.has_str("UIDPLUS") {
                drain(s.uid_expunge(&set).await.map_err(InboundError::from)?).await?;
            } else {
                drain(s.expunge().await.map_err(InboundError::from)?).await?;
            }
        }
        report.moved = handled.len();
    }
    if let Err(e) = s.logout().await {
        tracing::debug!("IMAP logout: {e}");
    }
    tracing::info!(
        unseen = report.unseen,
        accepted = report.accepted,
        held = report.held,
        duplicates = report.duplicates,
        failed = report.failed,
        moved = report.moved,
        "IMAP fetch done"
    );
    Ok(report)
}

async fn ensure_folder<T>(s: &mut async_imap::Session<T>, name: &str) -> Result<(), InboundError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Debug + Send,
{
    use futures_util::StreamExt;
    let mut exists = false;
    {
        let mut names = s.list(None, Some(name)).await?;
        while let Some(n) = names.next().await {
            exists |= n?.name() == name;
        }
    }
    if !exists {
        s.create(name).await.map_err(|e| InboundError::Imap(format!("kunde inte skapa mappen «{name}»: {e}")))?;
        tracing::info!("IMAP: done folder created");
    }
    Ok(())
}

/// The Reply-To for mail to this contact: their own `svar+<token>@…` when
/// the config asks for reply tokens (creating the token on first use), else
/// None (the partnership's address).
pub async fn reply_address_for<'a>(ctx: impl Into<MailCtx<'a>>, contact_email: &str) -> anyhow::Result<Option<Email>> {
    let ctx = &ctx.into();
    if !ctx.config.mail.reply_token {
        return Ok(None);
    }
    let Some(contact) = ctx.store.contact_by_email(contact_email).await? else { return proof::au_reply_address(*ctx, contact_email).await };
    let token = match ctx.store.contact_token(contact.id).await? {
        Some(t) if !t.is_empty() => t,
        _ => {
            ctx.store.ensure_contact_tokens(new_token).await?;
            match ctx.store.contact_token(contact.id).await? {
                Some(t) => t,
                None => return Ok(None),
            }
        }
    };
    Ok(Email::parse(&token_address(&ctx.config.mail.reply_to, &token)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_lines_read_naturally() {
        assert_eq!(answer_line(CallRef(42), Intent::Yes, Some(Role::Partner), "", Lang::Sv), "PSI-0042 — ja, som partner");
        assert_eq!(answer_line(CallRef(42), Intent::No, Some(Role::Partner), "inte nu", Lang::Sv), "PSI-0042 — nej («inte nu»)");
        assert_eq!(answer_line(CallRef(7), Intent::Maybe, Some(Role::Reference), "", Lang::En), "PSI-0007 — maybe, in the reference group");
    }

    #[test]
    fn reply_prefixes_are_stripped() {
        assert_eq!(original_subject("SV: Re: [PSI-0042] Ny utlysning", &[]), "[PSI-0042] Ny utlysning");
        assert_eq!(original_subject("  ", &[CallRef(1), CallRef(2)]), "PSI-0001, PSI-0002");
    }

    #[test]
    fn tokens_are_random_and_address_safe() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let reply_to = Email::parse("svar@psi.example.org").unwrap();
        assert_eq!(token_address(&reply_to, "abc"), "svar+abc@psi.example.org");
    }

    #[test]
    fn token_must_be_a_whole_recipient_address() {
        let raw = b"From: a@x.se\r\nTo: \"PSI\" <Svar+abc@psi.example.org>\r\n\r\nja\r\n";
        assert!(addressed_to(raw, "svar+abc@psi.example.org"));
        assert!(!addressed_to(raw, "svar+ab@psi.example.org"));
        let raw = b"From: a@x.se\r\nTo: svar@psi.example.org\r\nDelivered-To: svar+abc@psi.example.org\r\n\r\nja\r\n";
        assert!(addressed_to(raw, "svar+abc@psi.example.org"));
        let raw = b"From: a@x.se\r\nTo: xsvar+abc@psi.example.org\r\n\r\nja\r\n";
        assert!(!addressed_to(raw, "svar+abc@psi.example.org"));
    }

    #[test]
    fn synthetic_ids_are_stable() {
        assert_eq!(synthetic_message_id(b"abc"), synthetic_message_id(b"abc"));
        assert_ne!(synthetic_message_id(b"abc"), synthetic_message_id(b"abd"));
    }

    #[test]
    fn loopback_only_for_plain_imap() {
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost"));
        assert!(!is_loopback("imap.example.org"));
    }
}
