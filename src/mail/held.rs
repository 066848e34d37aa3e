//! Mail, held replies (issue 17, item 5), between the recorder (`inbound`)
//! and AU at the command line: what waits for a person (`mail held`: sender,
//! subject, first lines, why) and how AU resolves it — assign it to a member
//! (and a call, with the answer AU reads in it), discard it, or read it again
//! once its sender has been made a contact (`members add-contact`).
//!
//! Decisions:
//! - Only a message that waits for AU can be resolved (held, unreadable,
//!   stuck half-way, an answer waiting for its call); an accepted one is
//!   changed by a new answer, never here.
//! - An assigned answer is the member's like any other: recorded for the
//!   member (and the sender's contact row of that member, when there is
//!   one) and confirmed to the sender, so the person hears it landed.
//! - The row keeps what happened: status `assigned` or `discarded`, and
//!   the member it was assigned to.

use crate::domain::{CallRef, Email, Intent, Lang, MemberId, Role};
use crate::mail::MailCtx;
use crate::mail::inbound::{self, IngestOutcome, answer_line};
use crate::mail::message::{Outgoing, compose};
use crate::mail::notify::confirmation;
use crate::mail::reply::{self, Answer};
use crate::store::replies::{HeldReply, RECEIVING, ReplyRow};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A message waiting for AU, as `mail held` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldMessage {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub from: Option<String>,
    pub subject: String,
    /// The first lines the person wrote (quoted history and signature cut).
    pub first_lines: Vec<String>,
    /// Why it waits, in words.
    pub why: String,
}

/// How AU resolved a held message (the `replies.status` it gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Assigned,
    Discarded,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Assigned => "assigned",
            Resolution::Discarded => "discarded",
        }
    }
}

/// Why a held message could not be resolved as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeldError {
    #[error("det finns inget meddelande nr {0}")]
    NotFound(i64),
    #[error("meddelande nr {id} väntar inte på AU (status {status})")]
    NotHeld { id: i64, status: String },
    #[error("det finns ingen medlem «{0}»")]
    UnknownMember(MemberId),
    #[error("okänd utlysning {0}")]
    UnknownCall(CallRef),
    #[error("«{1}» går inte att läsa som ett svar på {0}")]
    NoAnswer(CallRef, String),
    #[error("meddelandet anger ingen utlysning")]
    NeedCall,
    #[error("meddelandet innehåller inget svar på {0}")]
    NeedAnswer(CallRef),
}

impl HeldError {
    /// The error in the partnership's language, with what to do.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::Sv) => match self {
                HeldError::NeedCall => format!("{self}: ange --call PSI-NNNN (och --answer \"ja, partner\")"),
                HeldError::NeedAnswer(_) => format!("{self}: ange --answer, t.ex. --answer \"ja, partner\""),
                _ => self.to_string(),
            },
            (HeldError::NotFound(id), Lang::En) => format!("there is no message no. {id}"),
            (HeldError::NotHeld { id, status }, Lang::En) => format!("message no. {id} is not waiting for AU (status {status})"),
            (HeldError::UnknownMember(m), Lang::En) => format!("there is no member «{m}»"),
            (HeldError::UnknownCall(c), Lang::En) => format!("unknown call {c}"),
            (HeldError::NoAnswer(c, t), Lang::En) => format!("«{t}» cannot be read as an answer to {c}"),
            (HeldError::NeedCall, Lang::En) => "the message names no call: give --call PSI-NNNN (and --answer \"yes, partner\")".into(),
            (HeldError::NeedAnswer(c), Lang::En) => {
                format!("the message holds no answer to {c}: give --answer, e.g. --answer \"yes, partner\"")
            }
        }
    }
}

/// How many of a held message's lines are shown.
const FIRST_LINES: usize = 3;
/// The most of one line shown.
const LINE_CHARS: usize = 160;

/// Every message waiting for AU, newest first.
pub async fn list(ctx: MailCtx<'_>) -> anyhow::Result<Vec<HeldMessage>> {
    let (rows, _) = ctx.store.held_replies_since(DateTime::<Utc>::MIN_UTC, i64::MAX).await?;
    let mut out = Vec::with_capacity(rows.len());
    for h in rows {
        let lines = first_lines(ctx, &h).await?;
        let subject = stored_field(&h.reading, "subject").unwrap_or_default();
        let why = why(&h, ctx.config.partnership.lang);
        out.push(HeldMessage { id: h.id, received_at: h.received_at, from: h.from_addr, subject, first_lines: lines, why });
    }
    Ok(out)
}

/// The first lines the person wrote: from the stored reading, or (rows
/// recorded before it kept the text) the raw message read again.
pub async fn first_lines(ctx: MailCtx<'_>, h: &HeldReply) -> anyhow::Result<Vec<String>> {
    let text = match stored_field(&h.reading, "text") {
        Some(t) => t,
        None => ctx.store.reply_raw(h.id).await?.map(|raw| reply::parse(&raw).new_text).unwrap_or_default(),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(FIRST_LINES)
        .map(|l| {
            let short: String = l.chars().take(LINE_CHARS).collect();
            if l.chars().count() > LINE_CHARS { format!("{short}…") } else { short }
        })
        .collect())
}

fn stored_field(reading: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(reading).ok()?;
    v.get(key)?.as_str().map(str::to_string)
}

/// Why a message waits: the recorder's reason, or what its status means.
fn why(h: &HeldReply, lang: Lang) -> String {
    match (h.reason.as_deref(), h.status.as_str()) {
        (Some(r), _) if !r.is_empty() => r.to_string(),
        (_, RECEIVING) => lang.pick("avbröts medan det registrerades", "interrupted while it was recorded").into(),
        _ => lang.pick("kunde inte tolkas", "could not be read").into(),
    }
}

/// A held message that may be resolved, or why not.
async fn held_row(ctx: MailCtx<'_>, id: i64) -> anyhow::Result<ReplyRow> {
    let row = ctx.store.reply(id).await?.ok_or(HeldError::NotFound(id))?;
    if !matches!(row.status.as_str(), "held" | "unreadable" | "waiting" | RECEIVING) {
        return Err(HeldError::NotHeld { id, status: row.status }.into());
    }
    Ok(row)
}

/// What [`assign`] recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Assigned {
    /// One line per answer ("PSI-0042 — ja, som partner").
    pub lines: Vec<String>,
    /// The confirmation queued to the sender.
    pub confirmation: Option<i64>,
}

/// `mail assign ID --member M [--call REF --answer TEXT]`: the message is
/// the member's. Its answers are recorded for the member: `answer` read for
/// `call`; else the message's own answer, for `call` when given; else the
/// answers that name their calls.
pub async fn assign(
    ctx: MailCtx<'_>,
    id: i64,
    member: &MemberId,
    call: Option<CallRef>,
    answer: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Assigned> {
    let row = held_row(ctx, id).await?;
    let m = ctx.store.member(member).await?.ok_or_else(|| HeldError::UnknownMember(member.clone()))?;
    let answers = chosen_answers(&stored_answers(&row.reading), call, answer)?;
    for (c, _) in &answers {
        if ctx.store.get_call(*c).await?.is_none() {
            return Err(HeldError::UnknownCall(*c).into());
        }
    }
    let contact = match row.from_addr.as_deref() {
        Some(from) => ctx.store.contact_of_member(member, from).await?,
        None => None,
    };
    let lang = m.mail_lang();
    let mut lines = Vec::new();
    for (c, a) in &answers {
        ctx.store.record_interest(*c, member, contact.as_ref().map(|k| k.id), a.intent, a.role, &a.comment, Some(id), now).await?;
        lines.push(answer_line(*c, a.intent, a.role, &a.comment, lang));
    }
    if let Some(w) = ctx.store.waiting_of_reply(id).await? {
        ctx.store.resolve_waiting(w, &answers.iter().map(|(c, _)| *c).collect::<Vec<_>>(), now).await?;
    }
    ctx.store.set_reply_sender(id, contact.as_ref().map(|k| k.id), Some(member.as_str())).await?;
    let note = format!("{} {member}", lang.pick("AU tilldelade meddelandet till", "AU assigned the message to"));
    ctx.store.set_reply_status(id, Resolution::Assigned.as_str(), Some(&note)).await?;
    tracing::info!(reply = id, member = %member, answers = answers.len(), "held reply assigned by AU");
    let refs = answers.iter().map(|(c, _)| *c).collect();
    let confirmation = confirm_to_sender(ctx, &row, contact.map(|k| k.contact.name), &lines, refs, lang, now).await?;
    Ok(Assigned { lines, confirmation })
}

/// The answers AU chose: see [`assign`].
fn chosen_answers(read: &[Answer], call: Option<CallRef>, answer: Option<&str>) -> Result<Vec<(CallRef, Answer)>, HeldError> {
    match (call, answer) {
        (Some(c), Some(text)) => reply::read_answer(c, text).map(|a| vec![(c, a)]).ok_or_else(|| HeldError::NoAnswer(c, text.to_string())),
        (Some(c), None) => {
            read.iter().find(|a| a.call.is_none_or(|x| x == c)).map(|a| vec![(c, a.clone())]).ok_or(HeldError::NeedAnswer(c))
        }
        (None, _) => {
            let named: Vec<(CallRef, Answer)> = read.iter().filter_map(|a| a.call.map(|c| (c, a.clone()))).collect();
            if named.is_empty() { Err(HeldError::NeedCall) } else { Ok(named) }
        }
    }
}

/// The answers of a stored reading (its `answers` array).
fn stored_answers(reading: &str) -> Vec<Answer> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(reading) else { return Vec::new() };
    let Some(list) = v.get("answers").and_then(|a| a.as_array()) else { return Vec::new() };
    list.iter()
        .filter_map(|a| {
            Some(Answer {
                call: a.get("call").and_then(|c| c.as_str()).and_then(CallRef::parse),
                intent: Intent::parse(a.get("intent")?.as_str()?)?,
                role: a.get("role").and_then(|r| r.as_str()).and_then(Role::parse),
                comment: a.get("comment").and_then(|c| c.as_str()).unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// Tell the sender what was recorded from its message (an answer it sent
/// itself: also after a STOPP).
async fn confirm_to_sender(
    ctx: MailCtx<'_>,
    row: &ReplyRow,
    name: Option<String>,
    lines: &[String],
    refs: Vec<CallRef>,
    lang: Lang,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let Some(to) = row.from_addr.as_deref().and_then(|f| Email::parse(f).ok()) else { return Ok(None) };
    if lines.is_empty() {
        return Ok(None);
    }
    let subject = inbound::original_subject(&stored_field(&row.reading, "subject").unwrap_or_default(), &refs);
    let r = confirmation(ctx.renderer, lang, &ctx.config.partnership.name, &subject, lines)?;
    let o = Outgoing {
        kind: "confirm",
        period: row.message_id.clone(),
        to: to.clone(),
        to_name: name,
        subject: r.subject,
        text: r.text,
        html: r.html,
        refs,
        list_unsubscribe: false,
        in_reply_to: Some(row.message_id.clone()),
        reply_to: inbound::reply_address_for(ctx, to.as_str()).await?,
    };
    Ok(ctx.store.enqueue(&compose(&ctx.config.mail, &o, now)?, now).await?)
}

/// `mail discard ID`: the message needs nothing more (spam, thanks, …).
pub async fn discard(ctx: MailCtx<'_>, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    held_row(ctx, id).await?;
    if let Some(w) = ctx.store.waiting_of_reply(id).await? {
        ctx.store.resolve_waiting(w, &[], now).await?;
    }
    let note = ctx.config.partnership.lang.pick("AU kastade meddelandet", "AU discarded the message");
    ctx.store.set_reply_status(id, Resolution::Discarded.as_str(), Some(note)).await?;
    tracing::info!(reply = id, "held reply discarded by AU");
    Ok(())
}

/// After `members add-contact`: the messages held from that address are
/// read again, now from a contact. Those whose raw message is no longer
/// kept stay held.
pub async fn reread_from(ctx: MailCtx<'_>, address: &Email, now: DateTime<Utc>) -> anyhow::Result<Vec<IngestOutcome>> {
    let mut out = Vec::new();
    for id in ctx.store.held_reply_ids_from(&address.without_tag()).await? {
        if let Some(o) = inbound::reread(ctx, id, now).await? {
            out.push(o);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(call: Option<u32>) -> Answer {
        Answer { call: call.map(CallRef), intent: Intent::Yes, role: Some(Role::Partner), comment: "gärna".into() }
    }

    #[test]
    fn au_chooses_which_answer_counts() {
        let bare = [yes(None)];
        assert_eq!(chosen_answers(&bare, None, None), Err(HeldError::NeedCall));
        assert_eq!(chosen_answers(&bare, Some(CallRef(3)), None).unwrap()[0].0, CallRef(3));
        let given = chosen_answers(&bare, Some(CallRef(3)), Some("nej tack")).unwrap();
        assert_eq!((given[0].0, given[0].1.intent, given[0].1.role), (CallRef(3), Intent::No, None));
        assert!(matches!(chosen_answers(&bare, Some(CallRef(3)), Some("hej")), Err(HeldError::NoAnswer(..))));
        assert_eq!(chosen_answers(&[], Some(CallRef(3)), None), Err(HeldError::NeedAnswer(CallRef(3))));
        let named = [yes(Some(4)), yes(Some(5))];
        assert_eq!(chosen_answers(&named, None, None).unwrap().iter().map(|x| x.0).collect::<Vec<_>>(), vec![CallRef(4), CallRef(5)]);
        assert_eq!(chosen_answers(&named, Some(CallRef(6)), None), Err(HeldError::NeedAnswer(CallRef(6))));
    }

    #[test]
    fn stored_answers_are_read_back() {
        let json = r#"{"answers": [{"call": "PSI-0042", "intent": "maybe", "role": null, "comment": "kanske"}, {"call": null, "intent": "no", "role": null, "comment": ""}]}"#;
        let a = stored_answers(json);
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].call, a[0].intent, a[0].comment.as_str()), (Some(CallRef(42)), Intent::Maybe, "kanske"));
        assert_eq!((a[1].call, a[1].intent), (None, Intent::No));
        assert!(stored_answers("not json").is_empty());
    }

    #[test]
    fn errors_speak_the_partnerships_language() {
        assert!(HeldError::NeedCall.text(Lang::Sv).contains("ange --call"));
        assert!(HeldError::NeedCall.text(Lang::En).contains("give --call"));
        assert_eq!(HeldError::NotFound(9).text(Lang::En), "there is no message no. 9");
    }
}
