//! Job: the poll owns the flow from the sources to stored scores:
//!
//! ```text
//!  rules catch-up ─▶ fetch every source ─▶ per source ONE transaction: ingest ─▶ the calls it wrote
//!  (calls stored      (concurrent, pure      (dedup, merge, insert/update)        │ in memory, never read back
//!   before)            adapters)                                                  ▼
//!                                               rules + classify ─▶ store rules and scores ─▶ refresh_matches
//! ```
//!
//! `sources` (fetching and reading) and `normalize` (deciding) stay pure;
//! the store only persists; this job decides the order, the transactions
//! and the back-off of a failing source.

mod report;
mod sources;

pub use report::{PollReport, SourceReport};
pub use sources::{Polled, Progress, poll_and_store, poll_sources, source_backoff};

use super::{Ctx, Summary};
use crate::domain::{Call, CallRef, CategoryScore};
use crate::jobs::ingest::WrittenCall;
use crate::normalize::rules::{CallRules, RulesInput, read_rules as read_rules_from};
use crate::store::calls::CallFilter;
use chrono::{DateTime, Utc};

#[derive(Debug)]
pub struct PollJobReport {
    pub poll: PollReport,
    pub classified: usize,
    /// (call, member) pairs among the new and changed calls that reach the
    /// notification threshold.
    pub matches: usize,
}

impl Summary for PollJobReport {
    fn summary(&self) -> String {
        let failed = self.poll.failed().count();
        format!(
            "{} nya, {} ändrade, {} källor med fel; {} medlemsträffar",
            self.poll.new.len(),
            self.poll.changed.len(),
            failed,
            self.matches
        )
    }
}

/// A call this poll wrote, with what the poll read from it: its rules and
/// its scores (both stored too).
#[derive(Debug, Clone)]
pub struct PolledCall {
    pub reference: CallRef,
    pub call: Call,
    pub rules: CallRules,
    pub categories: Vec<CategoryScore>,
}

/// Fetch every source (or only `only`), store what is new or changed, and classify it.
pub async fn run_poll(ctx: &Ctx, only: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<PollJobReport> {
    run_poll_with_progress(ctx, only, now, &|_| {}).await
}

/// [`run_poll`], reporting each source as its fetch finishes.
pub async fn run_poll_with_progress(
    ctx: &Ctx,
    only: Option<&str>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> anyhow::Result<PollJobReport> {
    super::recorded(ctx, "poll", now, || async {
        // Calls stored before (by an older rules reader, or before the home
        // county changed) first, so that nothing this poll writes is read back.
        read_rules(ctx, now).await?;
        let polled = poll_and_store(&ctx.store, &ctx.fetcher, &ctx.sources, only, now, progress).await;
        let calls = read_and_classify(ctx, polled.written, now).await?;
        let matches = refresh_matches(ctx, &calls).await?;
        Ok(PollJobReport { poll: polled.report, classified: calls.len(), matches })
    })
    .await
}

/// Read the rules of, and classify, the calls the poll wrote, in memory,
/// and store both: the rules first, so that a call closed to the home
/// county is known as such when it is matched.
async fn read_and_classify(ctx: &Ctx, written: Vec<WrittenCall>, now: DateTime<Utc>) -> anyhow::Result<Vec<PolledCall>> {
    let home = ctx.config.partnership.county.as_str();
    let mut calls = Vec::with_capacity(written.len());
    let mut read_from = Vec::with_capacity(written.len());
    for WrittenCall { reference, call } in written {
        let rules = read_rules_from(&rules_input(&call, ctx));
        read_from.push(rules_fingerprint(&call, home));
        let categories = crate::classify::classify(&call, &ctx.model);
        calls.push(PolledCall { reference, call, rules, categories });
    }
    let rules: Vec<(CallRef, &CallRules, &str)> = calls.iter().zip(&read_from).map(|(c, f)| (c.reference, &c.rules, f.as_str())).collect();
    ctx.store.set_rules_of(&rules, now).await?;
    let scores: Vec<(CallRef, &[CategoryScore])> = calls.iter().map(|c| (c.reference, c.categories.as_slice())).collect();
    ctx.store.set_categories_of(&scores).await?;
    Ok(calls)
}

fn rules_input<'a>(call: &'a Call, ctx: &'a Ctx) -> RulesInput<'a> {
    RulesInput {
        title: &call.title,
        text: &call.text,
        funder: &call.funder,
        home_county: ctx.config.partnership.county.as_str(),
        tz: ctx.config.partnership.tz,
    }
}

/// Match the calls the poll wrote against the members; today only the
/// count of (call, member) pairs that reach the notification threshold is
/// kept (notify matches again when it sends).
async fn refresh_matches(ctx: &Ctx, calls: &[PolledCall]) -> anyhow::Result<usize> {
    if calls.is_empty() {
        return Ok(0);
    }
    let members = ctx.store.list_members().await?;
    let ix = crate::matching::MemberIndex::new(&members);
    let threshold = ctx.config.matching.notify_threshold;
    let mut n = 0;
    for c in calls.iter().filter(|c| !super::closed_to_home_by(Some(&c.rules))) {
        let answers = ctx.store.answers_for_call(c.reference).await?;
        n += crate::matching::match_members_indexed(&ix, &c.call, &c.categories, &answers, usize::MAX)
            .iter()
            .filter(|m| m.score >= threshold)
            .count();
    }
    Ok(n)
}

/// Classify these calls with the current model and store the scores
/// (calls added or imported by hand; the poll classifies in memory).
pub async fn classify_refs(ctx: &Ctx, refs: &[CallRef]) -> anyhow::Result<usize> {
    let mut scored = Vec::with_capacity(refs.len());
    for r in refs {
        if let Some(c) = ctx.store.get_call(*r).await? {
            scored.push((*r, crate::classify::classify(&c.call, &ctx.model)));
        }
    }
    let scores: Vec<(CallRef, &[CategoryScore])> = scored.iter().map(|(r, s)| (*r, s.as_slice())).collect();
    ctx.store.set_categories_of(&scores).await?;
    Ok(scored.len())
}

/// Read the rules of every call whose title, text or funder (or the home
/// county) changed since its rules were read, or that has none yet, and
/// store them. Returns how many were read.
pub async fn read_rules(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let home = ctx.config.partnership.county.as_str();
    let mut n = 0;
    for c in ctx.store.rules_sources().await? {
        let read_from = fingerprint(&c.title, &c.text, &c.funder, home);
        if c.read_from.as_deref() == Some(read_from.as_str()) {
            continue;
        }
        let input = RulesInput { title: &c.title, text: &c.text, funder: &c.funder, home_county: home, tz: ctx.config.partnership.tz };
        ctx.store.set_rules(c.reference, &read_rules_from(&input), &read_from, now).await?;
        n += 1;
    }
    Ok(n)
}

/// Bump when the rules reader changes, so that every call is read again.
const RULES_READER_VERSION: u32 = 1;

/// What a call's rules were read from (see [`fingerprint`]).
fn rules_fingerprint(call: &Call, home: &str) -> String {
    fingerprint(&call.title, &call.text, &call.funder, home)
}

/// What rules were read from, as a stable 64-bit FNV-1a digest (std's
/// hasher may change between Rust releases; a changed digest would only
/// cost one needless re-read, but a stable one costs nothing).
fn fingerprint(title: &str, text: &str, funder: &str, home: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let version = RULES_READER_VERSION.to_string();
    for part in [version.as_str(), title, text, funder, home] {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("v{RULES_READER_VERSION}:{h:016x}")
}

/// Re-classify every stored call (after the model or lexicon changed).
pub async fn classify_all(ctx: &Ctx) -> anyhow::Result<usize> {
    let all = ctx.store.list_calls(&CallFilter { include_dismissed: true, ..Default::default() }).await?;
    let scored: Vec<(CallRef, Vec<CategoryScore>)> =
        all.iter().map(|c| (c.reference, crate::classify::classify(&c.call, &ctx.model))).collect();
    let scores: Vec<(CallRef, &[CategoryScore])> = scored.iter().map(|(r, s)| (*r, s.as_slice())).collect();
    ctx.store.set_categories_of(&scores).await?;
    Ok(scored.len())
}
