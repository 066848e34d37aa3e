//! Jobs → poll → sources: every configured source fetched concurrently
//! (`sources::fetch_source`, within the poll's time budget), then each
//! source's listings stored in ONE transaction (`jobs::ingest::ingest_all`),
//! one source after the other so that de-duplication is deterministic; each
//! source's health recorded, with this layer's back-off. One failing source
//! never stops the others.

use super::report::{PollReport, SourceReport};
use crate::jobs::ingest::{IngestBatch, Outcome, WrittenCall, ingest_all};
use crate::sources::fetch::Fetcher;
use crate::sources::spec::SourceSpec;
use crate::sources::{LastFetch, SourceFetch, fetch_source};
use crate::store::Store;
use crate::store::sources::{SourceState, SourceSuccess};
use chrono::{DateTime, Utc};

/// Progress of a poll: a source's fetch finished (`done` of `total`).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub source: &'a str,
    pub done: usize,
    pub total: usize,
    pub ok: bool,
}

/// What polling the sources did: the report, and every call it wrote (new,
/// changed, or joined by a further source), as written.
#[derive(Debug, Default)]
pub struct Polled {
    pub report: PollReport,
    pub written: Vec<WrittenCall>,
}

/// The wait before a failing source is tried again after `failures`
/// consecutive failures: 15 min · 2^(failures−1), at most 24 h.
pub fn source_backoff(failures: u32) -> chrono::Duration {
    let minutes = 15i64.saturating_mul(1i64 << failures.saturating_sub(1).min(10));
    chrono::Duration::minutes(minutes.min(24 * 60))
}

/// Poll the configured sources (or only the one named): fetch concurrently
/// (limited per host by the fetcher), read, normalise, de-duplicate against
/// the store, insert or update, and record each source's health. A source
/// backing off after failures is skipped unless named in `only`.
pub async fn poll_sources(store: &Store, fetcher: &Fetcher, specs: &[SourceSpec], only: Option<&str>, now: DateTime<Utc>) -> PollReport {
    poll_and_store(store, fetcher, specs, only, now, &|_| {}).await.report
}

/// A source chosen for this poll, before its fetch.
struct Slot {
    rep: SourceReport,
    /// `None`: not fetched (its row could not be made, or it is backing off).
    state: Option<SourceState>,
}

/// [`poll_sources`], telling `progress` as each source's fetch finishes,
/// and returning what it wrote.
pub async fn poll_and_store(
    store: &Store,
    fetcher: &Fetcher,
    specs: &[SourceSpec],
    only: Option<&str>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Polled {
    let mut polled = Polled::default();
    let chosen: Vec<&SourceSpec> = specs.iter().filter(|s| only.map_or(s.enabled, |o| s.name == o)).collect();
    if let (Some(o), true) = (only, chosen.is_empty()) {
        polled
            .report
            .sources
            .push(SourceReport { name: o.to_string(), error: Some(format!("okänd källa «{o}»")), ..Default::default() });
        return polled;
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots = Vec::with_capacity(chosen.len());
    for (i, spec) in chosen.iter().enumerate() {
        let slot = prepare(store, spec, only, now).await;
        if let Some(state) = &slot.state {
            let last = LastFetch { etag: state.etag.clone(), last_modified: state.last_modified.clone(), at: state.last_success_at };
            let (f, sp) = (fetcher.clone(), (*spec).clone());
            tasks.spawn(async move { (i, fetch_source(&f, &sp, &last, now).await) });
        }
        slots.push(slot);
    }
    let (mut results, cut) = collect_fetches(tasks, &chosen, fetcher, progress).await;
    // One source after the other: de-duplication is deterministic.
    for (i, (spec, slot)) in chosen.iter().zip(slots).enumerate() {
        let rep = match slot.state {
            None => slot.rep,
            Some(state) => {
                store_fetched(store, spec, slot.rep, &state, results.get_mut(i).and_then(Option::take), cut, now, &mut polled).await
            }
        };
        polled.report.sources.push(rep);
    }
    polled
}

/// Make sure the source has its row, and read its state; a source backing
/// off (unless named) is not fetched, and says until when.
async fn prepare(store: &Store, spec: &SourceSpec, only: Option<&str>, now: DateTime<Utc>) -> Slot {
    let mut rep = SourceReport { name: spec.name.clone(), ..Default::default() };
    if let Err(e) = store.ensure_source(&spec.name, spec.kind.as_str(), &spec.url).await {
        rep.error = Some(e.to_string());
        return Slot { rep, state: None };
    }
    let state = store.source_state(&spec.name).await.ok().flatten();
    if let Some(st) = state.as_ref().filter(|st| only.is_none() && st.next_check_at.is_some_and(|n| n > now)) {
        let when = st.next_check_at.map(|n| n.with_timezone(&chrono_tz::Europe::Stockholm).format("%Y-%m-%d %H:%M").to_string());
        rep.error = Some(format!(
            "väntar till {} efter {} fel i rad: {}",
            when.unwrap_or_default(),
            st.consecutive_failures,
            st.last_error.as_deref().unwrap_or("okänt fel")
        ));
        return Slot { rep, state: None };
    }
    Slot { rep, state: Some(state.unwrap_or_default()) }
}

/// Store what one source's fetch gave, or record why it failed.
#[allow(clippy::too_many_arguments)]
async fn store_fetched(
    store: &Store,
    spec: &SourceSpec,
    mut rep: SourceReport,
    state: &SourceState,
    result: Option<Result<SourceFetch, String>>,
    cut: Option<CutShort>,
    now: DateTime<Utc>,
    polled: &mut Polled,
) -> SourceReport {
    let result = match (result, cut) {
        (Some(result), _) => result,
        // Not the source's failure: nothing is recorded on its row.
        (None, Some(CutShort::Stopping)) => {
            rep.error = Some("avbröts: psi-radar avslutas".into());
            return rep;
        }
        (None, Some(CutShort::Budget(budget))) => {
            Err(format!("blev inte klar inom pollens tidsbudget på {} s ([sources] poll_budget_secs)", budget.as_secs()))
        }
        (None, None) => Err("hämtningen avbröts".to_string()),
    };
    let outcome = match result {
        Ok(mut fetched) => {
            rep.warnings = std::mem::take(&mut fetched.warnings);
            for w in &rep.warnings {
                tracing::warn!(source = %spec.name, "{w}");
            }
            store_source(store, spec, fetched, state, now, &mut rep, polled).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        tracing::warn!(source = %spec.name, "källan misslyckades: {e}");
        if let Err(se) = store.record_source_failure(&spec.name, now, &e, source_backoff).await {
            tracing::error!(source = %spec.name, "kunde inte spara källans fel: {se}");
        }
        rep.error = Some(e);
    }
    rep
}

/// Why the fetch phase ended before every source was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutShort {
    /// The poll's time budget was spent.
    Budget(std::time::Duration),
    /// The daemon is stopping.
    Stopping,
}

type Fetches = tokio::task::JoinSet<(usize, Result<SourceFetch, String>)>;

/// Wait for the sources' fetches until all are done, the poll's time budget
/// is spent, or the daemon stops; what is unfinished then is abandoned (a
/// parse in progress ends on its own, see `sources::offload`).
async fn collect_fetches(
    mut tasks: Fetches,
    chosen: &[&SourceSpec],
    fetcher: &Fetcher,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> (Vec<Option<Result<SourceFetch, String>>>, Option<CutShort>) {
    let mut results: Vec<Option<Result<SourceFetch, String>>> = (0..chosen.len()).map(|_| None).collect();
    let budget = fetcher.config().poll_budget;
    let deadline = tokio::time::Instant::now() + budget;
    let (total, mut done) = (tasks.len(), 0);
    let cut = loop {
        let joined = tokio::select! {
            joined = tasks.join_next() => joined,
            _ = tokio::time::sleep_until(deadline) => break Some(CutShort::Budget(budget)),
            _ = until_cancelled(fetcher) => break Some(CutShort::Stopping),
        };
        match joined {
            None => break None,
            Some(Ok((i, r))) => {
                done += 1;
                progress(Progress { source: chosen.get(i).map_or("", |s| s.name.as_str()), done, total, ok: r.is_ok() });
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            Some(Err(e)) => tracing::error!("hämtningen avbröts: {e}"),
        }
    };
    if cut.is_some() {
        tracing::warn!(unfinished = tasks.len(), ?cut, "pollen avbröt hämtningar som inte blivit klara");
        tasks.abort_all();
    }
    (results, cut)
}

/// Resolves once the fetcher is cancelled (checked every 100 ms: the flag
/// is the daemon's plain "stopping" boolean).
async fn until_cancelled(fetcher: &Fetcher) {
    while !fetcher.is_cancelled() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// One source's listings into the store in one transaction, then its success.
async fn store_source(
    store: &Store,
    spec: &SourceSpec,
    fetched: SourceFetch,
    state: &SourceState,
    now: DateTime<Utc>,
    rep: &mut SourceReport,
    polled: &mut Polled,
) -> Result<(), String> {
    rep.bytes = fetched.bytes;
    let mut success =
        SourceSuccess { etag: fetched.etag, last_modified: fetched.last_modified, cursor: fetched.cursor, ..Default::default() };
    match fetched.calls {
        None => {
            rep.unchanged = state.last_seen;
            success.seen = state.last_seen;
        }
        Some(mut calls) => {
            for raw in &mut calls {
                raw.lang = raw.lang.or(spec.language);
                raw.programme = raw.programme.take().or_else(|| spec.programme.clone());
            }
            let batch = ingest_all(store, &spec.name, &calls, &spec.funder, false, now).await.map_err(|e| e.to_string())?;
            count(batch, rep, polled);
            success.seen = u32::try_from(calls.len()).unwrap_or(u32::MAX);
            success.new = rep.new;
            success.changed = rep.changed;
        }
    }
    store.record_source_success(&spec.name, now, &success).await.map_err(|e| e.to_string())
}

/// Count one source's outcomes into its report and the poll's, and keep what it wrote.
fn count(batch: IngestBatch, rep: &mut SourceReport, polled: &mut Polled) {
    let report = &mut polled.report;
    for got in batch.outcomes {
        match got.outcome {
            Outcome::New => {
                rep.new += 1;
                report.new.push(got.reference);
            }
            Outcome::Changed(_) => {
                rep.changed += 1;
                if !report.changed.contains(&got.reference) && !report.new.contains(&got.reference) {
                    report.changed.push(got.reference);
                }
            }
            Outcome::Merged => {
                rep.unchanged += 1;
                if !report.merged.contains(&got.reference) {
                    report.merged.push(got.reference);
                }
            }
            Outcome::Unchanged => rep.unchanged += 1,
        }
    }
    for w in batch.written {
        match polled.written.iter_mut().find(|x| x.reference == w.reference) {
            Some(x) => *x = w,
            None => polled.written.push(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn failures_back_off_and_success_resets() {
        let store = Store::memory().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
        store.ensure_source("a", "feed", "https://a.se/rss").await.unwrap();
        assert_eq!(store.record_source_failure("a", now, "svarade 500", source_backoff).await.unwrap(), 1);
        assert_eq!(store.record_source_failure("a", now, "svarade 500", source_backoff).await.unwrap(), 2);
        let s = store.source_state("a").await.unwrap().unwrap();
        assert_eq!(s.next_check_at, Some(now + chrono::Duration::minutes(30)));
        assert_eq!(s.last_error.as_deref(), Some("svarade 500"));
        store.record_source_success("a", now, &SourceSuccess { etag: Some("\"x\"".into()), seen: 3, ..Default::default() }).await.unwrap();
        let s = store.source_state("a").await.unwrap().unwrap();
        assert_eq!((s.consecutive_failures, s.last_error, s.next_check_at, s.etag.as_deref()), (0, None, None, Some("\"x\"")));
        assert_eq!(source_backoff(20), chrono::Duration::hours(24));
    }
}
