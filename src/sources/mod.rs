//! Sources: where calls come from. `fetch` (the one HTTP client) → an
//! adapter per kind (`eu_portal`, `vinnova`, `feed`, `html`, `standing`;
//! pure bytes → `RawCall`) → `normalize` + dedup → store. `poll_sources`
//! runs that for every configured source (`spec`), fetching concurrently and
//! recording each source's health; one failing source never stops the others.

pub mod dates;
pub mod eu_portal;
pub mod feed;
pub mod fetch;
pub mod fixture_server;
pub mod guard;
pub mod html;
pub mod manual;
pub mod offload;
pub mod spec;
pub mod standing;
pub mod vinnova;

use crate::domain::{CallRef, Lang, RawCall};
use crate::normalize::dedup::{Outcome, ingest};
use crate::store::Store;
use crate::store::sources::{SourceState, SourceSuccess};
use chrono::{DateTime, Utc};
use fetch::{FetchRequest, Fetched, Fetcher};
use guard::Scope;
use serde::Serialize;
use spec::{SourceKind, SourceSpec};
use std::fmt;
use std::sync::Arc;

pub use manual::{ImportedCall, ManualCall, add_manual, import_jsonl};
pub use spec::{RawSourceSpec, SourcesConfigError, load_demo_sources, load_sources_file};

/// Why an adapter could not read what a source sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("svaret är inte giltig UTF-8 (fel vid byte {0})")]
    Encoding(usize),
    #[error("ogiltig JSON: {0}")]
    Json(String),
    #[error("ogiltigt RSS/Atom-flöde: {0}")]
    Feed(String),
    #[error("sidans layout har ändrats: väljaren «{selector}» ({what}) matchar ingenting")]
    NoMatch { selector: String, what: &'static str },
    #[error("ogiltig CSS-väljare «{selector}»: {reason}")]
    Selector { selector: String, reason: String },
    #[error("sidan är {bytes} byte, mer än de {limit} som läses")]
    PageTooLarge { bytes: usize, limit: usize },
    #[error("sidan är nästlad djupare än {limit} nivåer och läses inte")]
    PageTooDeep { limit: usize },
    #[error("sidan har fler än {limit} element och läses inte")]
    PageTooManyElements { limit: usize },
    #[error("tolkningen tog mer än {secs} s och gavs upp")]
    TooSlow { secs: u64 },
    #[error("tolkningen avbröts: {0}")]
    Aborted(String),
    #[error("{0}")]
    Invalid(String),
}

/// Bytes → text, or an error saying where the encoding breaks.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, AdapterError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| AdapterError::Encoding(e.valid_up_to()))
}

/// What one source gave in a poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub new: u32,
    pub changed: u32,
    pub unchanged: u32,
    /// Why the source failed (or was skipped while backing off).
    pub error: Option<String>,
    /// Body bytes received (0 when every answer was 304).
    pub bytes: u64,
    /// What was not read although the source was: links out of the
    /// source's scope, items beyond a listing page's cap.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a poll found, per source and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    pub sources: Vec<SourceReport>,
    pub new: Vec<CallRef>,
    pub changed: Vec<CallRef>,
    /// Known calls a further source now lists too (their translation may have grown).
    pub merged: Vec<CallRef>,
}

impl PollReport {
    pub fn failed(&self) -> impl Iterator<Item = &SourceReport> {
        self.sources.iter().filter(|s| s.error.is_some())
    }

    pub fn bytes(&self) -> u64 {
        self.sources.iter().map(|s| s.bytes).sum()
    }
}

impl PollReport {
    /// The table `psi-radar poll` prints, in `lang`.
    pub fn table(&self, lang: Lang) -> String {
        let w = self.sources.iter().map(|s| s.name.chars().count()).max().unwrap_or(5).max(5);
        let mut t = format!(
            "{:<w$}  {:>5}  {:>7}  {:>9}  {:>9}  status\n",
            lang.pick("källa", "source"),
            lang.pick("nya", "new"),
            lang.pick("ändrade", "changed"),
            lang.pick("oförändr.", "unchanged"),
            lang.pick("byte", "bytes")
        );
        for s in &self.sources {
            let status = s.error.as_deref().map_or("ok".to_string(), |e| format!("{}: {e}", lang.pick("FEL", "FAILED")));
            t.push_str(&format!("{:<w$}  {:>5}  {:>7}  {:>9}  {:>9}  {status}\n", s.name, s.new, s.changed, s.unchanged, s.bytes));
            for warning in &s.warnings {
                t.push_str(&format!("    {}: {warning}\n", lang.pick("varning", "warning")));
            }
        }
        let (n, c, f) = (self.new.len(), self.changed.len(), self.failed().count());
        t.push_str(&match lang {
            Lang::Sv => format!("totalt: {n} nya, {c} ändrade, {f} källor med fel"),
            Lang::En => format!("total: {n} new, {c} changed, {f} sources failed"),
        });
        t
    }
}

impl fmt::Display for PollReport {
    /// The table `psi-radar poll` prints (Swedish; see [`PollReport::table`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table(Lang::Sv))
    }
}

/// What the fetch phase got for one source.
#[derive(Debug, Default)]
struct Fetchout {
    /// `None`: the source answered 304, nothing to do.
    calls: Option<Vec<RawCall>>,
    bytes: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    cursor: Option<String>,
    /// What was not read: links out of the source's scope, items beyond a page's cap.
    warnings: Vec<String>,
}

/// Poll the configured sources (or only the one named): fetch concurrently
/// (limited per host by the fetcher), read, normalise, de-duplicate against
/// the store, insert or update, and record each source's health. A source
/// backing off after failures is skipped unless named in `only`.
pub async fn poll_sources(store: &Store, fetcher: &Fetcher, specs: &[SourceSpec], only: Option<&str>, now: DateTime<Utc>) -> PollReport {
    poll_sources_with_progress(store, fetcher, specs, only, now, &|_| {}).await
}

/// Progress of a poll: a source's fetch finished (`done` of `total`).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub source: &'a str,
    pub done: usize,
    pub total: usize,
    pub ok: bool,
}

/// [`poll_sources`], telling `progress` as each source's fetch finishes
/// (the CLI draws a progress bar from it).
pub async fn poll_sources_with_progress(
    store: &Store,
    fetcher: &Fetcher,
    specs: &[SourceSpec],
    only: Option<&str>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> PollReport {
    let mut report = PollReport::default();
    let chosen: Vec<&SourceSpec> = specs.iter().filter(|s| only.map_or(s.enabled, |o| s.name == o)).collect();
    if let (Some(o), true) = (only, chosen.is_empty()) {
        report.sources.push(SourceReport { name: o.to_string(), error: Some(format!("okänd källa «{o}»")), ..Default::default() });
        return report;
    }
    // phase 1: state, then fetch everything concurrently
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots: Vec<(SourceReport, Option<SourceState>)> = Vec::with_capacity(chosen.len());
    for (i, spec) in chosen.iter().enumerate() {
        let mut rep = SourceReport { name: spec.name.clone(), ..Default::default() };
        let state = match store.ensure_source(&spec.name, spec.kind.as_str(), &spec.url).await {
            Ok(()) => store.source_state(&spec.name).await.ok().flatten(),
            Err(e) => {
                rep.error = Some(e.to_string());
                slots.push((rep, None));
                continue;
            }
        };
        let backing_off = state.as_ref().filter(|st| only.is_none() && st.next_check_at.is_some_and(|n| n > now));
        if let Some(st) = backing_off {
            let when = st.next_check_at.map(|n| n.with_timezone(&chrono_tz::Europe::Stockholm).format("%Y-%m-%d %H:%M").to_string());
            rep.error = Some(format!(
                "väntar till {} efter {} fel i rad: {}",
                when.unwrap_or_default(),
                st.consecutive_failures,
                st.last_error.as_deref().unwrap_or("okänt fel")
            ));
            slots.push((rep, None));
            continue;
        }
        let (f, sp, st) = (fetcher.clone(), (*spec).clone(), state.clone().unwrap_or_default());
        tasks.spawn(async move { (i, fetch_source(&f, &sp, &st, now).await) });
        slots.push((rep, state.or(Some(SourceState::default()))));
    }
    let (mut results, cut) = collect_fetches(tasks, &chosen, fetcher, progress).await;
    // phase 2: store, one source after the other (deterministic de-duplication)
    for (i, (spec, (mut rep, state))) in chosen.iter().zip(slots).enumerate() {
        if rep.error.is_some() || state.is_none() {
            report.sources.push(rep);
            continue;
        }
        let result = match (results.get_mut(i).and_then(Option::take), cut) {
            (Some(result), _) => result,
            // Not the source's failure: nothing is recorded on its row.
            (None, Some(CutShort::Stopping)) => {
                rep.error = Some("avbröts: psi-radar avslutas".into());
                report.sources.push(rep);
                continue;
            }
            (None, Some(CutShort::Budget(budget))) => {
                Err(format!("blev inte klar inom pollens tidsbudget på {} s ([sources] poll_budget_secs)", budget.as_secs()))
            }
            (None, None) => Err("hämtningen avbröts".to_string()),
        };
        let outcome = match result {
            Ok(mut out) => {
                rep.warnings = std::mem::take(&mut out.warnings);
                for w in &rep.warnings {
                    tracing::warn!(source = %spec.name, "{w}");
                }
                store_source(store, spec, out, state.as_ref(), now, &mut rep, &mut report).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!(source = %spec.name, "källan misslyckades: {e}");
            if let Err(se) = store.record_source_failure(&spec.name, now, &e).await {
                tracing::error!(source = %spec.name, "kunde inte spara källans fel: {se}");
            }
            rep.error = Some(e);
        }
        report.sources.push(rep);
    }
    report
}

/// Why the fetch phase ended before every source was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutShort {
    /// The poll's time budget was spent.
    Budget(std::time::Duration),
    /// The daemon is stopping.
    Stopping,
}

type Fetches = tokio::task::JoinSet<(usize, Result<Fetchout, String>)>;

/// Wait for the sources' fetches until all are done, the poll's time budget
/// is spent, or the daemon stops; what is unfinished then is abandoned (a
/// parse in progress ends on its own, see `offload`).
async fn collect_fetches(
    mut tasks: Fetches,
    chosen: &[&SourceSpec],
    fetcher: &Fetcher,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> (Vec<Option<Result<Fetchout, String>>>, Option<CutShort>) {
    let mut results: Vec<Option<Result<Fetchout, String>>> = (0..chosen.len()).map(|_| None).collect();
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

async fn store_source(
    store: &Store,
    spec: &SourceSpec,
    out: Fetchout,
    state: Option<&SourceState>,
    now: DateTime<Utc>,
    rep: &mut SourceReport,
    report: &mut PollReport,
) -> Result<(), String> {
    rep.bytes = out.bytes;
    let mut success = SourceSuccess { etag: out.etag, last_modified: out.last_modified, cursor: out.cursor, ..Default::default() };
    match out.calls {
        None => {
            let seen = state.map_or(0, |s| s.last_seen);
            rep.unchanged = seen;
            success.seen = seen;
        }
        Some(calls) => {
            for mut raw in calls {
                raw.lang = raw.lang.or(spec.language);
                raw.programme = raw.programme.or_else(|| spec.programme.clone());
                let got = ingest(store, &spec.name, &raw, &spec.funder, false, now).await.map_err(|e| e.to_string())?;
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
                success.seen += 1;
            }
            success.new = rep.new;
            success.changed = rep.changed;
        }
    }
    store.record_source_success(&spec.name, now, &success).await.map_err(|e| e.to_string())
}

async fn get(fetcher: &Fetcher, req: FetchRequest, out: &mut Fetchout) -> Result<Option<fetch::FetchedBody>, String> {
    match fetcher.fetch(&req).await.map_err(|e| e.to_string())? {
        Fetched::NotModified => Ok(None),
        Fetched::Body(b) => {
            out.bytes += b.bytes.len() as u64;
            Ok(Some(b))
        }
    }
}

fn adapter(e: AdapterError) -> String {
    e.to_string()
}

/// Fetch and read one source (no store access: runs concurrently). Every
/// request stays within the source's scope; every body is parsed off the
/// async workers and dropped once read.
async fn fetch_source(fetcher: &Fetcher, spec: &SourceSpec, state: &SourceState, now: DateTime<Utc>) -> Result<Fetchout, String> {
    let mut out = Fetchout::default();
    let scope = Arc::new(spec.scope().map_err(|e| e.to_string())?);
    let req = |url: &str| FetchRequest::get(url).within(&scope);
    match &spec.kind {
        SourceKind::Standing(o) => {
            out.calls = Some(vec![standing::call(&spec.name, &spec.url, spec.language, o)]);
        }
        SourceKind::EuPortal { query, identifier_prefixes, page_size, max_pages } => {
            let (ct, body) = eu_portal::search_body(query);
            let mut calls = Vec::new();
            for page in 1..=*max_pages {
                let req = FetchRequest::post(eu_portal::page_url(&spec.url, page, *page_size), ct.clone(), body.clone()).within(&scope);
                let Some(b) = get(fetcher, req, &mut out).await? else { break };
                let prefixes = identifier_prefixes.clone();
                let p = offload::parse(move || eu_portal::parse_search(&b.bytes, &prefixes)).await.map_err(adapter)?;
                let more = p.has_more();
                calls.extend(p.calls);
                if !more {
                    break;
                }
                if page == *max_pages {
                    tracing::warn!(source = %spec.name, "slutade efter {max_pages} sidor (max_pages)");
                }
            }
            out.calls = Some(calls);
        }
        SourceKind::Vinnova { margin_days, first_lookback_days, item_url, rounds } => {
            let from =
                state.last_success_at.unwrap_or(now - chrono::Duration::days(*first_lookback_days)) - chrono::Duration::days(*margin_days);
            let since = from.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
            let calls = get(fetcher, req(&vinnova::changes_url(&spec.url, "utlysningar", since)), &mut out).await?;
            let rounds_body = if *rounds {
                get(fetcher, req(&vinnova::changes_url(&spec.url, "ansokningsomgangar", since)), &mut out).await?
            } else {
                None
            };
            let calls_bytes = calls.map(|b| b.bytes).unwrap_or_else(|| b"[]".to_vec());
            let item_url = item_url.clone();
            let parsed = offload::parse(move || vinnova::parse(&calls_bytes, rounds_body.as_ref().map(|b| b.bytes.as_slice()), &item_url));
            out.calls = Some(parsed.await.map_err(adapter)?);
            out.cursor = Some(since.format("%Y-%m-%d").to_string());
        }
        SourceKind::Feed => {
            let req = req(&spec.url).conditional(state.etag.clone(), state.last_modified.clone());
            if let Some(b) = get(fetcher, req, &mut out).await? {
                out.etag = b.etag;
                out.last_modified = b.last_modified;
                let (bytes, tz) = (b.bytes, spec.tz);
                out.calls = Some(offload::parse(move || feed::parse(&bytes, tz)).await.map_err(adapter)?);
            }
        }
        SourceKind::Html { selectors, max_pages, max_details } => {
            let listing = HtmlSource { fetcher, scope: &scope, spec, selectors };
            listing.fetch(state, *max_pages, *max_details, &mut out).await?;
        }
    }
    Ok(out)
}

/// One HTML source being read: its listing pages, then its detail pages.
struct HtmlSource<'a> {
    fetcher: &'a Fetcher,
    scope: &'a Arc<Scope>,
    spec: &'a SourceSpec,
    selectors: &'a html::HtmlSelectors,
}

impl HtmlSource<'_> {
    fn page(&self, url: &str) -> FetchRequest {
        FetchRequest::get(url).within(self.scope).at_most(html::PAGE_BUDGET.max_bytes)
    }

    async fn fetch(&self, state: &SourceState, max_pages: u64, max_details: usize, out: &mut Fetchout) -> Result<(), String> {
        let req = self.page(&self.spec.url).conditional(state.etag.clone(), state.last_modified.clone());
        let Some(first) = get(self.fetcher, req, out).await? else { return Ok(()) };
        out.etag = first.etag.clone();
        out.last_modified = first.last_modified.clone();
        let mut seen_pages = vec![first.url.clone()];
        let listing = self.parse_listing(first).await.map_err(adapter)?;
        note_unread(&listing, &self.spec.url, out);
        let mut calls = listing.calls;
        let mut next = listing.next_page;
        for _ in 1..max_pages {
            let Some(url) = next.take().filter(|u| !seen_pages.contains(u)) else { break };
            seen_pages.push(url.clone());
            let b = match self.fetcher.fetch(&self.page(&url)).await {
                Ok(Fetched::Body(b)) => b,
                Ok(Fetched::NotModified) => break,
                Err(e) if e.is_refusal() => {
                    out.warnings.push(format!("nästa sida hämtades inte: {e}"));
                    break;
                }
                Err(e) => return Err(e.to_string()),
            };
            out.bytes += b.bytes.len() as u64;
            let mut l = self.parse_listing(b).await.map_err(|e| format!("{url}: {e}"))?;
            note_unread(&l, &url, out);
            calls.append(&mut l.calls);
            next = l.next_page;
        }
        if let Some(detail) = &self.selectors.detail {
            self.read_details(&mut calls, detail, max_details, out).await;
        }
        out.calls = Some(calls);
        Ok(())
    }

    async fn parse_listing(&self, page: fetch::FetchedBody) -> Result<html::HtmlListing, AdapterError> {
        let (selectors, tz) = (self.selectors.clone(), self.spec.tz);
        offload::parse(move || html::parse_listing(&page.bytes, &page.url, &selectors, tz)).await
    }

    /// Each call's detail page, `per_host` at a time, one try each (the
    /// next poll tries again): three slow pages cost one timeout, not
    /// twelve. A detail page out of the source's scope is not fetched and
    /// is named in the report; other failures leave the call as listed.
    async fn read_details(&self, calls: &mut [RawCall], detail: &str, max_details: usize, out: &mut Fetchout) {
        use futures_util::StreamExt as _;
        let wanted: Vec<(usize, String)> = calls.iter().take(max_details).map(|c| c.url.clone()).enumerate().collect();
        let at_once = self.fetcher.config().per_host.max(1);
        let read: Vec<(usize, DetailRead)> = futures_util::stream::iter(wanted)
            .map(|(i, url)| async move { (i, self.read_detail(&url, detail).await) })
            .buffer_unordered(at_once)
            .collect()
            .await;
        for (i, result) in read {
            match result {
                DetailRead::Text { bytes, text } => {
                    out.bytes += bytes;
                    if let Some(call) = calls.get_mut(i) {
                        call.text = text;
                    }
                }
                DetailRead::Unread { bytes } => out.bytes += bytes,
                DetailRead::Refused(warning) => out.warnings.push(warning),
            }
        }
    }

    async fn read_detail(&self, url: &str, detail: &str) -> DetailRead {
        let body = match self.fetcher.fetch(&self.page(url).retries(0)).await {
            Ok(Fetched::Body(b)) => b,
            Ok(Fetched::NotModified) => return DetailRead::Unread { bytes: 0 },
            Err(e) if e.is_refusal() => return DetailRead::Refused(format!("detaljsidan hämtades inte: {e}")),
            Err(e) => {
                tracing::debug!(url, "detaljsidan: {e}");
                return DetailRead::Unread { bytes: 0 };
            }
        };
        let bytes = body.bytes.len() as u64;
        let detail = detail.to_string();
        match offload::parse(move || html::parse_detail(&body.bytes, &detail)).await {
            Ok(text) => DetailRead::Text { bytes, text },
            Err(e) => {
                tracing::debug!(url, "detaljsidan: {e}");
                DetailRead::Unread { bytes }
            }
        }
    }
}

fn note_unread(listing: &html::HtmlListing, url: &str, out: &mut Fetchout) {
    if listing.unread > 0 {
        out.warnings.push(format!("{url} listar fler än {} utlysningar; {} lästes inte", html::MAX_ITEMS, listing.unread));
    }
}

/// What reading one detail page gave.
enum DetailRead {
    /// Its text (`None` when the selector found nothing) and size.
    Text { bytes: u64, text: Option<String> },
    /// Not read (logged); the call stays as listed.
    Unread { bytes: u64 },
    /// Out of the source's scope, not fetched: named in the report.
    Refused(String),
}
