//! Job: poll the sources, then classify what is new or changed and match it
//! against the members (the count goes to `status`; notify sends).

use super::{Ctx, Summary};
use crate::domain::CallRef;
use crate::sources::{PollReport, Progress, poll_sources_with_progress};
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
        let classified = classify_refs(ctx, &refs).await?;
        let matches = count_matches(ctx, &refs).await?;
        Ok(PollJobReport { poll, classified, matches })
    })
    .await
}

/// Classify these calls with the current model and store the scores.
pub async fn classify_refs(ctx: &Ctx, refs: &[CallRef]) -> anyhow::Result<usize> {
    let mut n = 0;
    for r in refs {
        if let Some(c) = ctx.store.get_call(*r).await? {
            let scores = crate::classify::classify(&c.call, &ctx.model);
            ctx.store.set_categories(*r, &scores).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// How many (call, member) pairs of these calls reach the notification threshold.
async fn count_matches(ctx: &Ctx, refs: &[CallRef]) -> anyhow::Result<usize> {
    if refs.is_empty() {
        return Ok(0);
    }
    let members = ctx.store.list_members().await?;
    let ix = crate::matching::MemberIndex::new(&members);
    let mut n = 0;
    for r in refs {
        if let Some(c) = ctx.store.get_call(*r).await? {
            let answers = ctx.store.answers_for_call(*r).await?;
            let threshold = ctx.config.matching.notify_threshold;
            n += crate::matching::match_members_indexed(&ix, &c.call, &c.categories, &answers, usize::MAX)
                .iter()
                .filter(|m| m.score >= threshold)
                .count();
        }
    }
    Ok(n)
}

/// Re-classify every stored call (after the model or lexicon changed).
pub async fn classify_all(ctx: &Ctx) -> anyhow::Result<usize> {
    let all = ctx.store.list_calls(&CallFilter { include_dismissed: true, ..Default::default() }).await?;
    let refs: Vec<CallRef> = all.iter().map(|c| c.reference).collect();
    classify_refs(ctx, &refs).await
}
