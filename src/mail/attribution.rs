//! Mail, inbound (issue 17, item 3): whose answer a reply is when its
//! sender is a contact of several members. The mail it answers tells
//! (In-Reply-To / References → our message → the member it was about),
//! else the token address it came back to; when neither does, the message
//! is held for AU and the sender is asked (outbox kind `ask`) to answer
//! the mail of the organisation it speaks for.

use crate::domain::Lang;
use crate::mail::MailCtx;
use crate::mail::inbound::{addressed_to, reply_address_for, token_address};
use crate::mail::message::{Outgoing, compose};
use crate::mail::notify::which_member;
use crate::mail::reply::Reading;
use crate::store::members::ContactRow;
use chrono::{DateTime, Utc};

/// Who a reply is from.
#[derive(Debug, Clone)]
pub enum Sender {
    /// No registered contact has the address.
    Unknown,
    Contact(ContactRow),
    /// A contact of several members, and nothing tells which one speaks.
    Ambiguous(Vec<ContactRow>),
}

impl Sender {
    pub fn contact(&self) -> Option<&ContactRow> {
        match self {
            Sender::Contact(c) => Some(c),
            _ => None,
        }
    }
}

/// The contact a reply is from: the only one with its address; of several,
/// the one of the member our mail it answers was about, else the one whose
/// token address it came back to.
pub async fn sender(ctx: MailCtx<'_>, reading: &Reading, raw: &[u8]) -> anyhow::Result<Sender> {
    let Some(from) = reading.from.as_deref() else { return Ok(Sender::Unknown) };
    let mut rows = ctx.store.contacts_by_email(from).await?;
    if rows.len() < 2 {
        return Ok(rows.pop().map_or(Sender::Unknown, Sender::Contact));
    }
    for id in &reading.in_reply_to {
        if let Some(member) = ctx.store.member_of_message(id).await?
            && let Some(c) = rows.iter().find(|c| c.member == member)
        {
            return Ok(Sender::Contact(c.clone()));
        }
    }
    for c in &rows {
        if let Some(token) = ctx.store.contact_token(c.id).await?.filter(|t| !t.is_empty())
            && addressed_to(raw, &token_address(&ctx.config.mail.reply_to, &token))
        {
            return Ok(Sender::Contact(c.clone()));
        }
    }
    Ok(Sender::Ambiguous(rows))
}

/// Why an ambiguous reply is held (Swedish, for AU), naming the members.
pub async fn ambiguous_reason(ctx: MailCtx<'_>, rows: &[ContactRow]) -> anyhow::Result<String> {
    let names = member_names(ctx, rows).await?;
    Ok(format!("avsändaren är kontakt för flera medlemmar ({}) och svaret går inte att knyta till en av dem", names.join(", ")))
}

async fn member_names(ctx: MailCtx<'_>, rows: &[ContactRow]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for c in rows {
        names.push(ctx.store.member(&c.member).await?.map_or_else(|| c.member.to_string(), |m| m.name));
    }
    Ok(names)
}

/// Ask the sender of an ambiguous answer which organisation it speaks for:
/// the organisations named, and how to answer so that it is tied to one.
/// Not sent when the person said STOPP under any of them.
pub async fn ask_which_member(
    ctx: MailCtx<'_>,
    rows: &[ContactRow],
    message_id: &str,
    reply_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let Some(first) = rows.first() else { return Ok(None) };
    if rows.iter().any(|c| c.contact.unsubscribed) {
        tracing::info!(reply = reply_id, "ambiguous answer held; the person said STOPP and is not asked");
        return Ok(None);
    }
    let lang = match ctx.store.member(&first.member).await? {
        Some(m) => m.mail_lang(),
        None => Lang::Sv,
    };
    let names = member_names(ctx, rows).await?;
    let r = which_member(ctx.renderer, lang, &ctx.config.partnership.name, &names)?;
    let o = Outgoing {
        kind: "ask",
        period: message_id.to_string(),
        to: first.contact.email.clone(),
        to_name: Some(first.contact.name.clone()),
        subject: r.subject,
        text: r.text,
        html: r.html,
        refs: Vec::new(),
        list_unsubscribe: false,
        in_reply_to: Some(message_id.to_string()),
        reply_to: reply_address_for(ctx, first.contact.email.as_str()).await?,
    };
    let queued = ctx.store.enqueue(&compose(&ctx.config.mail, &o, now)?, now).await?;
    tracing::info!(reply = reply_id, members = rows.len(), "answer from a contact of several members held; asked which");
    Ok(queued)
}
