//! Job: poll the sources, then classify what is new or changed and match it
//! against the members (the count goes to `status`; notify sends).

use super::{Ctx, Summary};
use crate::domain::CallRef;
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
    for c in calls {
        let answers = ctx.store.answers_for_call(c.reference).await?;
        n += crate::matching::match_members_indexed(&ix, &c.call, &c.categories, &answers, usize::MAX)
            .iter()
            .filter(|m| m.score >= threshold)
            .count();
    }
    Ok(n)
}

/// Re-classify every stored call (after the model or lexicon changed).
pub async fn classify_all(ctx: &Ctx) -> anyhow::Result<usize> {
    let all = ctx.store.list_calls(&CallFilter { include_dismissed: true, ..Default::default() }).await?;
    let refs: Vec<CallRef> = all.iter().map(|c| c.reference).collect();
    classify_refs(ctx, &refs).await
}
