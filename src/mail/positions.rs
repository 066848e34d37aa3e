//! Mail, answers (issue 17, item 3): a member may have several contacts and
//! each contact's answer to a call is kept; the member's position is the
//! latest of them. When two contacts of one member contradict each other
//! (one says no, the other yes or maybe) while the call is still open, AU
//! sees it in the digest and both contacts are told (outbox kind
//! `conflict`), so the organisation settles it itself.
//!
//! [`contradictions`] is pure; [`tell`] queues the notices after the
//! recorder has stored an answer.

use crate::domain::{CallRef, Email, Intent, Lang, MemberId};
use crate::mail::MailCtx;
use crate::mail::inbound::{answer_line, reply_address_for};
use crate::mail::message::{Outgoing, compose};
use crate::mail::notify::conflict_notice;
use crate::store::members::{ContactRow, InterestRow};
use chrono::{DateTime, Utc};

/// Whether two answers to one call contradict: one declines, the other
/// does not. Yes and maybe, or two roles, are shades of one position.
pub fn contradicts(a: Intent, b: Intent) -> bool {
    (a == Intent::No) != (b == Intent::No)
}

/// The pairs (earlier, later) of current answers by different contacts of
/// one member to one call that contradict each other, both given within
/// the call's life (at or before `life_end`, its last deadline, when
/// known). Answers entered for the member as a whole (no contact) take
/// no part.
pub fn contradictions(rows: &[InterestRow], life_end: Option<DateTime<Utc>>) -> Vec<(InterestRow, InterestRow)> {
    let alive = |r: &&InterestRow| r.contact_id.is_some() && life_end.is_none_or(|end| r.recorded_at <= end);
    let mut rows: Vec<&InterestRow> = rows.iter().filter(alive).collect();
    rows.sort_by_key(|r| (r.recorded_at, r.id));
    let mut out = Vec::new();
    for (i, later) in rows.iter().enumerate() {
        for earlier in &rows[..i] {
            if earlier.call == later.call
                && earlier.member == later.member
                && earlier.contact_id != later.contact_id
                && contradicts(earlier.intent, later.intent)
            {
                out.push(((*earlier).clone(), (*later).clone()));
            }
        }
    }
    out
}

/// After `contact` answered `calls`: for each that now contradicts another
/// contact of the same member, queue a notice to both (the other not when
/// it said STOPP; the sender always, as it is about its own answer).
/// Returns the outbox ids queued.
pub async fn tell(
    ctx: MailCtx<'_>,
    contact: &ContactRow,
    calls: &[CallRef],
    message_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let mut queued = Vec::new();
    for call in calls {
        let Some(stored) = ctx.store.get_call(*call).await? else { continue };
        let life_end = stored.call.last_deadline().map(|d| d.at);
        if life_end.is_some_and(|end| now > end) {
            continue;
        }
        let rows: Vec<InterestRow> =
            ctx.store.contact_answers_for_call(*call).await?.into_iter().filter(|r| r.member == contact.member).collect();
        let pairs = contradictions(&rows, life_end);
        let Some((earlier, later)) = pairs.iter().rev().find(|(_, l)| l.contact_id == Some(contact.id)) else { continue };
        let Some(other) = ctx.store.contact(earlier.contact_id.unwrap_or_default()).await? else { continue };
        let member = ctx.store.member(&contact.member).await?;
        let (org, lang) =
            member.as_ref().map_or((contact.member.to_string(), ctx.config.partnership.lang), |m| (m.name.clone(), m.mail_lang()));
        let tz = ctx.config.partnership.tz;
        let lines = vec![said_line(&other, earlier, tz, lang), said_line(contact, later, tz, lang)];
        for (to, unsubscribed) in [(contact, false), (&other, other.contact.unsubscribed)] {
            if unsubscribed {
                tracing::info!(contact = to.id, call = %call, "contradiction not told: the contact said STOPP");
                continue;
            }
            if let Some(id) = notice(ctx, to, &contact.member, *call, &org, &lines, message_id, lang, now).await? {
                queued.push(id);
            }
        }
        tracing::info!(call = %call, member = %contact.member, "contacts of one member answered differently; both told");
    }
    Ok(queued)
}

/// "Anna Lindqvist: PSI-0003 — ja, som projektägare (3 mar 2026)".
pub fn said_line(c: &ContactRow, r: &InterestRow, tz: chrono_tz::Tz, lang: Lang) -> String {
    let when = crate::i18n::instant(r.recorded_at, tz, true, lang);
    format!("{}: {} ({when})", c.contact.name, answer_line(r.call, r.intent, r.role, &r.comment, lang))
}

#[allow(clippy::too_many_arguments)]
async fn notice(
    ctx: MailCtx<'_>,
    to: &ContactRow,
    member: &MemberId,
    call: CallRef,
    org: &str,
    lines: &[String],
    message_id: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let r = conflict_notice(ctx.renderer, lang, &ctx.config.partnership.name, org, call, lines)?;
    let email: Email = to.contact.email.clone();
    let o = Outgoing {
        kind: "conflict",
        period: message_id.to_string(),
        to: email.clone(),
        to_name: Some(to.contact.name.clone()),
        subject: r.subject,
        text: r.text,
        html: r.html,
        refs: vec![call],
        list_unsubscribe: false,
        in_reply_to: Some(message_id.to_string()),
        reply_to: reply_address_for(ctx, email.as_str()).await?,
    };
    let message = compose(&ctx.config.mail, &o, now)?;
    let queued = ctx.store.enqueue(&message, now).await?;
    ctx.store.set_message_member(&message.message_id, member).await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(id: i64, contact: Option<i64>, intent: Intent, day: u32) -> InterestRow {
        InterestRow {
            id,
            call: CallRef(3),
            member: MemberId::parse("activa").unwrap(),
            contact_id: contact,
            intent,
            role: None,
            comment: String::new(),
            reply_id: None,
            recorded_at: Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_no_against_a_yes_or_maybe_contradicts_shades_do_not() {
        assert!(contradicts(Intent::Yes, Intent::No) && contradicts(Intent::No, Intent::Maybe));
        assert!(!contradicts(Intent::Yes, Intent::Maybe) && !contradicts(Intent::No, Intent::No));
    }

    #[test]
    fn contradictions_are_between_contacts_within_the_calls_life() {
        let rows = [row(1, Some(7), Intent::Yes, 3), row(2, Some(8), Intent::No, 5), row(3, Some(9), Intent::Maybe, 6)];
        let pairs = contradictions(&rows, None);
        assert_eq!(pairs.iter().map(|(a, b)| (a.id, b.id)).collect::<Vec<_>>(), vec![(1, 2), (2, 3)]);
        // An answer after the last deadline is outside the call's life.
        let end = Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap();
        assert!(contradictions(&rows, Some(end)).is_empty());
        // The same contact changing its mind, or an answer for the member as a whole, is no contradiction.
        assert!(contradictions(&[row(1, Some(7), Intent::Yes, 3), row(2, Some(7), Intent::No, 5)], None).is_empty());
        assert!(contradictions(&[row(1, None, Intent::Yes, 3), row(2, Some(7), Intent::No, 5)], None).is_empty());
    }
}
