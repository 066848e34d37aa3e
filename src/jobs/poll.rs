//! Job: poll the sources, then classify what is new or changed and match it
//! against the members (the count goes to `status`; notify sends).

use super::{Ctx, Summary};
use crate::domain::CallRef;
use crate::normalize::rules::{RulesInput, read_rules as read_rules_from};
use crate::sources::{PollReport, Progress, poll_sources_with_progress};
use crate::store::calls::{CallFilter, StoredCall};
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
        let poll = poll_sources_with_progress(&ctx.store, &ctx.fetcher, &ctx.sources, only, now, progress).await;
        let mut refs: Vec<CallRef> = poll.new.iter().chain(poll.changed.iter()).chain(poll.merged.iter()).copied().collect();
        refs.sort();
        refs.dedup();
        read_rules(ctx, now).await?;
        // classified with the rules just read, so closed calls are not counted as matches
        let calls = classify_calls(ctx, &refs).await?;
        let matches = count_matches(ctx, &calls).await?;
        Ok(PollJobReport { poll, classified: calls.len(), matches })
    })
    .await
}

/// Classify these calls with the current model and store the scores.
pub async fn classify_refs(ctx: &Ctx, refs: &[CallRef]) -> anyhow::Result<usize> {
    Ok(classify_calls(ctx, refs).await?.len())
}

/// [`classify_refs`], returning the calls with their new scores.
async fn classify_calls(ctx: &Ctx, refs: &[CallRef]) -> anyhow::Result<Vec<StoredCall>> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        if let Some(mut c) = ctx.store.get_call(*r).await? {
            c.categories = crate::classify::classify(&c.call, &ctx.model);
            ctx.store.set_categories(*r, &c.categories).await?;
            out.push(c);
        }
    }
    Ok(out)
}

/// How many (call, member) pairs of these calls reach the notification threshold.
async fn count_matches(ctx: &Ctx, calls: &[StoredCall]) -> anyhow::Result<usize> {
    if calls.is_empty() {
        return Ok(0);
    }
    let members = ctx.store.list_members().await?;
    let ix = crate::matching::MemberIndex::new(&members);
    let threshold = ctx.config.matching.notify_threshold;
    let mut n = 0;
    for c in calls.iter().filter(|c| !super::closed_to_home(c)) {
        let answers = ctx.store.answers_for_call(c.reference).await?;
        n += crate::matching::match_members_indexed(&ix, &c.call, &c.categories, &answers, usize::MAX)
            .iter()
            .filter(|m| m.score >= threshold)
            .count();
    }
    Ok(n)
}

/// Read the rules of every call whose title, text or funder (or the home
/// county) changed since its rules were read, or that has none yet, and
/// store them. Returns how many were read.
pub async fn read_rules(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let stored = ctx.store.rules_read_from().await?;
    let all = ctx.store.list_calls(&CallFilter { include_dismissed: true, ..Default::default() }).await?;
    let home = ctx.config.partnership.county.as_str();
    let mut n = 0;
    for c in &all {
        let read_from = rules_fingerprint(&c.call, home);
        if stored.get(&c.reference) == Some(&read_from) {
            continue;
        }
        let input = RulesInput {
            title: &c.call.title,
            text: &c.call.text,
            funder: &c.call.funder,
            home_county: home,
            tz: ctx.config.partnership.tz,
        };
        ctx.store.set_rules(c.reference, &read_rules_from(&input), &read_from, now).await?;
        n += 1;
    }
    Ok(n)
}

/// Bump when the rules reader changes, so that every call is read again.
const RULES_READER_VERSION: u32 = 1;

/// What a call's rules were read from, as a stable 64-bit FNV-1a digest
/// (std's hasher may change between Rust releases; a changed digest would
/// only cost one needless re-read, but a stable one costs nothing).
fn rules_fingerprint(call: &crate::domain::Call, home: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let version = RULES_READER_VERSION.to_string();
    for part in [version.as_str(), call.title.as_str(), call.text.as_str(), call.funder.as_str(), home] {
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
    let refs: Vec<CallRef> = all.iter().map(|c| c.reference).collect();
    classify_refs(ctx, &refs).await
}
