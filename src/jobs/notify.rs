//! Jobs: member notifications (new calls that match a member above the
//! threshold, bundled into at most one mail per contact per day) and deadline
//! reminders (14 and 3 days before, to AU and to members who said yes).
//! Neither goes to a contact who said STOPP.

use super::{Ctx, Recipient, Summary};
use crate::domain::{CallRef, Intent, Member};
use crate::i18n::rules::rules_line;
use crate::mail::digest::card;
use crate::mail::inbound::reply_address_for;
use crate::mail::message::{Outgoing, compose};
use crate::mail::notify::{member_notification, reminder};
use crate::matching::match_members;
use crate::store::calls::{CallFilter, StoredCall};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// A call that fits a member: the call, the score, what ties them (beyond category scores).
type Fit<'a> = (&'a StoredCall, f32, Vec<String>);

/// At most this many calls in one notification (the best matches); the
/// rest follow on later days, so a mail stays readable on a phone.
const MAX_CALLS_PER_MAIL: usize = 5;

/// How far back a call counts as new for notifications.
const NEW_FOR_DAYS: i64 = 14;

#[derive(Debug, Default)]
pub struct NotifyReport {
    /// Messages put in the outbox (none in a dry run).
    pub queued: usize,
    pub members: usize,
    pub calls: usize,
    /// Calls held back because the contact already got a notification today.
    pub deferred: usize,
    /// One per message queued, or in a dry run one per message that would be.
    pub recipients: Vec<Recipient>,
}

impl Summary for NotifyReport {
    fn summary(&self) -> String {
        format!("{} meddelanden till {} medlemmar om {} utlysningar", self.queued, self.members, self.calls)
    }
}

/// Queue member notifications for new, open, not dismissed calls. A dry
/// run composes the same messages and reports them, but queues nothing and
/// leaves no job record.
pub async fn run_notify(ctx: &Ctx, now: DateTime<Utc>, dry_run: bool) -> anyhow::Result<NotifyReport> {
    let work = || async {
        let cfg = &ctx.config;
        let tz = cfg.partnership.tz;
        let day = now.with_timezone(&tz).date_naive().to_string();
        let members = ctx.store.list_members().await?;
        let calls = ctx.store.list_calls(&CallFilter { open_at: Some(now), ..Default::default() }).await?;
        let fresh: Vec<&StoredCall> =
            calls.iter().filter(|c| c.first_seen_at >= now - Duration::days(NEW_FOR_DAYS) && !super::closed_to_home(c)).collect();

        // member id -> calls that fit it, best first
        let mut per_member: BTreeMap<String, Vec<Fit>> = BTreeMap::new();
        for c in &fresh {
            let answers = ctx.store.answers_for_call(c.reference).await?;
            for m in match_members(&c.call, &c.categories, &members, &answers) {
                if m.score >= cfg.matching.notify_threshold && m.answered.is_none() {
                    let ties = m.reasons.iter().enumerate().filter(|(i, _)| !m.score_reasons.contains(i)).map(|(_, r)| r.clone()).collect();
                    per_member.entry(m.member.to_string()).or_default().push((c, m.score, ties));
                }
            }
        }
        let mut report = NotifyReport::default();
        let mut called: std::collections::HashSet<CallRef> = Default::default();
        for (id, mut fits) in per_member {
            let Some(member) = members.iter().find(|m| m.id.as_str() == id) else { continue };
            fits.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut member_queued = false;
            for contact in member.contacts.iter().filter(|c| !c.unsubscribed) {
                if ctx.store.outbox_has("notify", &day, contact.email.as_str()).await? {
                    report.deferred += fits.len();
                    continue;
                }
                let already = ctx.store.refs_sent_to("notify", contact.email.as_str()).await?;
                let todo: Vec<_> =
                    fits.iter().filter(|(c, _, _)| !already.contains(&c.reference.to_string())).take(MAX_CALLS_PER_MAIL).collect();
                if todo.is_empty() {
                    continue;
                }
                let lang = member.mail_lang();
                let cards: Vec<_> = todo
                    .iter()
                    .map(|(c, _, reasons)| {
                        let mut k = card(c, now, tz, lang, &ctx.model);
                        k.rules = c.rules.as_ref().map(|r| rules_line(&r.eligibility, &cfg.partnership.county, lang));
                        // The call's categories with their evidence (already in `k.why`), then
                        // what ties it to this member: keywords, experience, eligibility. The
                        // matcher words those in Swedish, so English readers get the evidence only.
                        if lang == crate::domain::Lang::Sv && !reasons.is_empty() {
                            k.why = Some(match k.why.take() {
                                Some(w) => format!("{w}; {}", reasons.join("; ")),
                                None => reasons.join("; "),
                            });
                        }
                        k
                    })
                    .collect();
                let r = member_notification(&ctx.renderer, lang, &cfg.partnership.name, &member.name, &cards)?;
                let o = Outgoing {
                    kind: "notify",
                    period: day.clone(),
                    to: contact.email.clone(),
                    to_name: Some(contact.name.clone()),
                    subject: r.subject,
                    text: r.text,
                    html: r.html,
                    refs: todo.iter().map(|(c, _, _)| c.reference).collect(),
                    list_unsubscribe: true,
                    in_reply_to: None,
                    reply_to: reply_address_for(ctx, contact.email.as_str()).await?,
                };
                let message = compose(&cfg.mail, &o, now)?;
                if dry_run || ctx.store.enqueue(&message, now).await?.is_some() {
                    if !dry_run {
                        // A reply from a contact of several members is tied to this member through it.
                        ctx.store.set_message_member(&message.message_id, &member.id).await?;
                    }
                    report.queued += usize::from(!dry_run);
                    report.recipients.push(Recipient {
                        email: contact.email.clone(),
                        name: Some(contact.name.clone()),
                        member: Some(member.name.clone()),
                        calls: todo.len(),
                    });
                    member_queued = true;
                    called.extend(todo.iter().map(|(c, _, _)| c.reference));
                }
            }
            if member_queued {
                report.members += 1;
            }
        }
        report.calls = called.len();
        Ok(report)
    };
    if dry_run { work().await } else { super::recorded(ctx, "notify", now, work).await }
}

#[derive(Debug, Default)]
pub struct ReminderReport {
    pub queued: usize,
}

impl Summary for ReminderReport {
    fn summary(&self) -> String {
        format!("{} påminnelser", self.queued)
    }
}

/// Reminder stages: (days before, label). A call first seen inside a window
/// still gets that stage's reminder once.
const STAGES: [(i64, i64, &str); 2] = [(14, 4, "14d"), (3, 0, "3d")];

/// Queue deadline reminders for calls AU watches or members said yes to.
pub async fn run_reminders(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<ReminderReport> {
    super::recorded(ctx, "reminders", now, || async {
        let cfg = &ctx.config;
        let tz = cfg.partnership.tz;
        let today = now.with_timezone(&tz).date_naive();
        let members = ctx.store.list_members().await?;
        let calls = ctx.store.list_calls(&CallFilter { open_at: Some(now), ..Default::default() }).await?;
        let mut report = ReminderReport::default();
        for c in &calls {
            let Some(d) = c.call.next_deadline(now) else { continue };
            let days = (d.at.with_timezone(&tz).date_naive() - today).num_days();
            let Some((_, _, label)) = STAGES.iter().find(|(hi, lo, _)| days <= *hi && days >= *lo) else { continue };
            let answers = ctx.store.answers_for_call(c.reference).await?;
            // a call the home county may not apply to reaches AU (if watched), never members
            let members_may_hear = !super::closed_to_home(c);
            let yes: Vec<&Member> = answers
                .iter()
                .filter(|_| members_may_hear)
                .filter(|(_, i, _)| *i == Intent::Yes)
                .filter_map(|(id, _, _)| members.iter().find(|m| &m.id == id))
                .collect();
            if !c.watched && yes.is_empty() {
                continue;
            }
            let period = format!("{}-{label}-{}", c.reference, d.local_date());
            let mut targets: Vec<(crate::domain::Email, Option<String>, crate::domain::Lang, bool)> =
                cfg.mail.au.iter().map(|a| (a.clone(), None, cfg.partnership.lang, false)).collect();
            for m in &yes {
                // A contact who said STOPP gets no reminders either.
                for ct in m.contacts.iter().filter(|ct| !ct.unsubscribed) {
                    targets.push((ct.email.clone(), Some(ct.name.clone()), m.mail_lang(), true));
                }
            }
            for (to, name, lang, to_member) in targets {
                let k = card(c, now, tz, lang, &ctx.model);
                let r = reminder(&ctx.renderer, lang, &cfg.partnership.name, &k, days, to_member)?;
                let reply_to = if to_member { reply_address_for(ctx, to.as_str()).await? } else { None };
                let o = Outgoing {
                    kind: "reminder",
                    period: period.clone(),
                    to,
                    to_name: name,
                    subject: r.subject,
                    text: r.text,
                    html: r.html,
                    refs: vec![c.reference],
                    list_unsubscribe: false,
                    in_reply_to: None,
                    reply_to,
                };
                if ctx.store.enqueue(&compose(&cfg.mail, &o, now)?, now).await?.is_some() {
                    report.queued += 1;
                }
            }
        }
        Ok(report)
    })
    .await
}
