//! Job: the weekly AU digest. Gathers new and changed calls since the last
//! digest with their matches and proposals, deadlines, answers, held
//! replies, failed mail and the goal; composes one message per AU address
//! into the outbox (idempotent per ISO week).

use super::{Ctx, Summary};
use crate::domain::{CallStatus, Member};
use crate::mail::digest::{CallNotes, DigestCall, DigestInput, Rendered, Week, goal_view, render};
use crate::mail::message::{Outgoing, compose};
use crate::matching::{match_members, propose};
use crate::store::calls::{CallFilter, StoredCall, is_open_at};
use chrono::{DateTime, Datelike, Duration, Utc};
use std::collections::HashMap;

#[derive(Debug)]
pub struct DigestReport {
    pub week: Week,
    pub rendered: Rendered,
    /// Messages newly queued (0 when this week's digest was already composed,
    /// and in a dry run).
    pub queued: usize,
    /// One per message queued, or in a dry run one per message that would be.
    pub recipients: Vec<super::Recipient>,
    pub new_calls: usize,
    pub changed_calls: usize,
}

impl Summary for DigestReport {
    fn summary(&self) -> String {
        format!("{}: {} nya, {} ändrade, {} köade", self.week, self.new_calls, self.changed_calls, self.queued)
    }
}

/// The member lines and proposal for one call, in `lang`.
pub async fn call_notes(ctx: &Ctx, c: &StoredCall, members: &[Member], limit: usize) -> anyhow::Result<CallNotes> {
    let lang = ctx.config.partnership.lang;
    let answers = ctx.store.answers_for_call(c.reference).await?;
    // a call the home county may not apply to gets no members and no proposal
    let matches = if super::closed_to_home(c) { Vec::new() } else { match_members(&c.call, &c.categories, members, &answers) };
    let names: HashMap<&str, &str> = members.iter().map(|m| (m.id.as_str(), m.name.as_str())).collect();
    let name = |id: &crate::domain::MemberId| names.get(id.as_str()).copied().unwrap_or(id.as_str()).to_string();
    let member_lines = matches.iter().take(limit).map(|m| format!("{} ({:.0} %)", name(&m.member), m.score * 100.0)).collect();
    let proposal = propose(&c.call, &matches, members).into_iter().next().map(|p| p.rationale);
    let answer_lines = answers
        .iter()
        .map(|(id, intent, role)| match role {
            Some(r) => format!("{}: {}, {}", name(id), intent.label(lang), r.label(lang)),
            None => format!("{}: {}", name(id), intent.label(lang)),
        })
        .collect();
    Ok(CallNotes { members: member_lines, proposal, answers: answer_lines })
}

/// Gather everything for the digest of `week` (at `now`).
pub async fn gather(ctx: &Ctx, week: Week, now: DateTime<Utc>) -> anyhow::Result<DigestInput> {
    let cfg = &ctx.config;
    let lang = cfg.partnership.lang;
    let tz = cfg.partnership.tz;
    let since = ctx.store.last_digest_before(&week.to_string()).await?.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let members = ctx.store.list_members().await?;
    let all = ctx.store.list_calls(&CallFilter::default()).await?;
    let changes = ctx.store.changes_since(since).await?;

    let mut calls = Vec::new();
    let mut not_open_to_home = 0;
    for c in all.iter().filter(|c| is_open_at(&c.call, now) || c.call.status == CallStatus::Forthcoming) {
        let is_new = c.first_seen_at > since;
        let ch: Vec<_> = changes.iter().filter(|(r, _)| *r == c.reference).map(|(_, ch)| ch.clone()).collect();
        if !(is_new || !ch.is_empty() || c.watched) {
            continue;
        }
        if super::closed_to_home(c) && !c.watched {
            // counted in one line at the end, so AU sees that nothing was missed
            not_open_to_home += 1;
            continue;
        }
        let notes = call_notes(ctx, c, &members, cfg.matching.digest_members).await?;
        calls.push(DigestCall { call: c.clone(), is_new, changes: if is_new { Vec::new() } else { ch }, notes });
    }
    // Soonest deadline first within each group.
    calls.sort_by_key(|d| d.call.call.next_deadline(now).map(|x| x.at).unwrap_or(DateTime::<Utc>::MAX_UTC));

    let horizon = now + Duration::days(30);
    let mut deadlines_soon: Vec<StoredCall> =
        all.iter().filter(|c| c.call.next_deadline(now).is_some_and(|d| d.at <= horizon) && !super::closed_to_home(c)).cloned().collect();
    deadlines_soon.sort_by_key(|c| c.call.next_deadline(now).map(|d| d.at));

    let names: HashMap<String, String> = members.iter().map(|m| (m.id.to_string(), m.name.clone())).collect();
    let titles: HashMap<u32, String> = all.iter().map(|c| (c.reference.0, c.call.title.clone())).collect();
    let contacts: HashMap<i64, crate::store::members::ContactRow> =
        ctx.store.list_contacts().await?.into_iter().map(|c| (c.id, c)).collect();
    let recent = ctx.store.interests_since(since).await?;
    let conflicts = conflict_lines(ctx, &recent, since, &names, &titles, &contacts).await?;
    let answers = recent
        .into_iter()
        .map(|i| {
            let org = names.get(i.member.as_str()).cloned().unwrap_or_else(|| i.member.to_string());
            // The person who answered, so AU knows whom to ask.
            let who = match i.contact_id.and_then(|id| contacts.get(&id)) {
                Some(c) => format!("{org} ({})", c.contact.name),
                None => org,
            };
            let what = match i.role {
                Some(r) => format!("{}, {}", i.intent.label(lang), r.label(lang)),
                None => i.intent.label(lang).to_string(),
            };
            let title = titles.get(&i.call.0).cloned().unwrap_or_default();
            let comment = if i.comment.is_empty() { String::new() } else { format!(" – «{}»", i.comment) };
            format!("{who}: {what} – {} {title}{comment}", i.call)
        })
        .collect();

    let (held_rows, held_total) = ctx.store.held_replies_since(since, 20).await?;
    let mut held = Vec::with_capacity(held_rows.len());
    for h in &held_rows {
        let when = crate::i18n::instant(h.received_at, tz, false, lang);
        let from = h.from_addr.clone().unwrap_or_else(|| lang.pick("okänd avsändare", "unknown sender").into());
        let reason = h.reason.clone().unwrap_or_default();
        // The first line the person wrote, so AU sees what it is about without opening anything.
        let first = crate::mail::held::first_lines(ctx.into(), h).await?.into_iter().next();
        let said = first.map(|l| format!(" – «{l}»")).unwrap_or_default();
        held.push(format!("#{}, {when}: {from} – {reason}{said}", h.id));
    }
    let failed = ctx
        .store
        .outbox_failed_since(since)
        .await?
        .iter()
        .map(|f| format!("{} → {}: {}", f.subject, f.recipient, f.last_error.clone().unwrap_or_default()))
        .collect();

    let year = now.with_timezone(&tz).year();
    let counted = crate::tracking::apps_counting(&ctx.store, year, &cfg.goal.counting_roles).await?;
    let titles_by_ref: HashMap<u32, &StoredCall> = all.iter().map(|c| (c.reference.0, c)).collect();
    let in_progress = ctx
        .store
        .list_apps()
        .await?
        .into_iter()
        .filter(|a| a.status.in_progress())
        .map(|a| {
            let lead = a.lead.as_ref().map(|p| p.display(&names)).map(|l| format!(", {l}")).unwrap_or_default();
            let deadline = match &a.call {
                Some(crate::tracking::CallLink::Psi(r)) => titles_by_ref
                    .get(&r.0)
                    .and_then(|c| c.call.next_deadline(now))
                    .map(|d| format!(" – {} {}", lang.pick("sista dag", "deadline"), crate::i18n::instant(d.at, d.tz, d.date_only, lang)))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            format!("{} ({}{lead}){deadline}", a.title, a.status.label(lang))
        })
        .collect();
    let forming = crate::tracking::proposals::forming_proposals(&ctx.store, now)
        .await?
        .iter()
        .map(|p| crate::tracking::proposals::proposal_line(p, &names, lang))
        .collect();
    let goal = Some(goal_view(counted.len(), cfg.goal.per_year, year, in_progress, lang));

    Ok(DigestInput {
        week,
        now,
        tz,
        lang,
        partnership: cfg.partnership.name.clone(),
        short_name: cfg.partnership.short_name.clone(),
        calls,
        not_open_to_home,
        home_county: cfg.partnership.county.clone(),
        deadlines_soon,
        answers,
        forming,
        conflicts,
        held,
        held_total,
        failed,
        goal,
        reply_to: cfg.mail.reply_to.to_string(),
    })
}

/// One line per member whose contacts answered a call differently, the
/// later answer given since the last digest: "Stiftelsen Activa – PSI-0003
/// Titel: Anna Lindqvist: … (3 mars 2026); Johan Berg: … (5 mars 2026)".
async fn conflict_lines(
    ctx: &Ctx,
    recent: &[crate::store::members::InterestRow],
    since: DateTime<Utc>,
    names: &HashMap<String, String>,
    titles: &HashMap<u32, String>,
    contacts: &HashMap<i64, crate::store::members::ContactRow>,
) -> anyhow::Result<Vec<String>> {
    let (tz, lang) = (ctx.config.partnership.tz, ctx.config.partnership.lang);
    let mut calls: Vec<_> = recent.iter().map(|i| i.call).collect();
    calls.sort();
    calls.dedup();
    let mut lines = Vec::new();
    for call in calls {
        let life_end = ctx.store.get_call(call).await?.and_then(|c| c.call.last_deadline().map(|d| d.at));
        let rows = ctx.store.contact_answers_for_call(call).await?;
        for (earlier, later) in crate::mail::positions::contradictions(&rows, life_end).iter().filter(|(_, l)| l.recorded_at > since) {
            let (Some(a), Some(b)) =
                (earlier.contact_id.and_then(|id| contacts.get(&id)), later.contact_id.and_then(|id| contacts.get(&id)))
            else {
                continue;
            };
            let org = names.get(later.member.as_str()).cloned().unwrap_or_else(|| later.member.to_string());
            let title = titles.get(&call.0).cloned().unwrap_or_default();
            let said = |c, r| crate::mail::positions::said_line(c, r, tz, lang);
            lines.push(format!("{org} – {call} {title}: {}; {}", said(a, earlier), said(b, later)));
        }
    }
    Ok(lines)
}

/// Build this week's digest and queue it for every AU address. With
/// `dry_run`, render only.
pub async fn run_digest(ctx: &Ctx, week: Option<Week>, now: DateTime<Utc>, dry_run: bool) -> anyhow::Result<DigestReport> {
    let week = week.unwrap_or_else(|| Week::of(now, ctx.config.partnership.tz));
    let work = || async {
        let input = gather(ctx, week, now).await?;
        let rendered = render(&ctx.renderer, &input, &ctx.model)?;
        let mut recipients = Vec::new();
        for to in &ctx.config.mail.au {
            let o = Outgoing {
                kind: "digest",
                period: week.to_string(),
                to: to.clone(),
                to_name: None,
                subject: rendered.subject.clone(),
                text: rendered.text.clone(),
                html: rendered.html.clone(),
                refs: Vec::new(),
                list_unsubscribe: false,
                in_reply_to: None,
                reply_to: crate::mail::inbound::reply_address_for(ctx, to.as_str()).await?,
            };
            let message = compose(&ctx.config.mail, &o, now)?;
            let queued = if dry_run {
                !ctx.store.outbox_has("digest", &o.period, to.as_str()).await?
            } else {
                ctx.store.enqueue(&message, now).await?.is_some()
            };
            if queued {
                recipients.push(super::Recipient { email: to.clone(), name: None, member: None, calls: 0 });
            }
        }
        Ok(DigestReport {
            week,
            new_calls: input.calls.iter().filter(|c| c.is_new).count(),
            changed_calls: input.calls.iter().filter(|c| !c.is_new && !c.changes.is_empty()).count(),
            rendered,
            queued: if dry_run { 0 } else { recipients.len() },
            recipients,
        })
    };
    if dry_run { work().await } else { super::recorded(ctx, "digest", now, work).await }
}
