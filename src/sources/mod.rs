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
pub mod html;
pub mod manual;
pub mod spec;
pub mod standing;
pub mod vinnova;

use crate::domain::{CallRef, Lang, RawCall};
use crate::normalize::dedup::{Outcome, ingest};
use crate::store::Store;
use crate::store::sources::{SourceState, SourceSuccess};
use chrono::{DateTime, Utc};
use fetch::{FetchRequest, Fetched, Fetcher};
use serde::Serialize;
use spec::{SourceKind, SourceSpec};
use std::fmt;

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
    let mut results: Vec<Option<Result<Fetchout, String>>> = (0..chosen.len()).map(|_| None).collect();
    let total = tasks.len();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, r)) => {
                done += 1;
                progress(Progress { source: chosen.get(i).map_or("", |s| s.name.as_str()), done, total, ok: r.is_ok() });
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            Err(e) => tracing::error!("hämtningen avbröts: {e}"),
        }
    }
    // phase 2: store, one source after the other (deterministic de-duplication)
    for (i, (spec, (mut rep, state))) in chosen.iter().zip(slots).enumerate() {
        if rep.error.is_some() || state.is_none() {
            report.sources.push(rep);
            continue;
        }
        let result = results.get_mut(i).and_then(Option::take).unwrap_or_else(|| Err("hämtningen avbröts".to_string()));
        let outcome = match result {
            Ok(out) => store_source(store, spec, out, state.as_ref(), now, &mut rep, &mut report).await,
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

/// Fetch and read one source (no store access: runs concurrently).
async fn fetch_source(fetcher: &Fetcher, spec: &SourceSpec, state: &SourceState, now: DateTime<Utc>) -> Result<Fetchout, String> {
    let mut out = Fetchout::default();
    let adapter = |e: AdapterError| e.to_string();
    match &spec.kind {
        SourceKind::Standing(o) => {
            out.calls = Some(vec![standing::call(&spec.name, &spec.url, spec.language, o)]);
        }
        SourceKind::EuPortal { query, identifier_prefixes, page_size, max_pages } => {
            let (ct, body) = eu_portal::search_body(query);
            let mut calls = Vec::new();
            for page in 1..=*max_pages {
                let req = FetchRequest::post(eu_portal::page_url(&spec.url, page, *page_size), ct.clone(), body.clone());
                let Some(b) = get(fetcher, req, &mut out).await? else { break };
                let p = eu_portal::parse_search(&b.bytes, identifier_prefixes).map_err(adapter)?;
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
            let calls = get(fetcher, FetchRequest::get(vinnova::changes_url(&spec.url, "utlysningar", since)), &mut out).await?;
            let rounds_body = if *rounds {
                get(fetcher, FetchRequest::get(vinnova::changes_url(&spec.url, "ansokningsomgangar", since)), &mut out).await?
            } else {
                None
            };
            let calls_bytes = calls.map(|b| b.bytes).unwrap_or_else(|| b"[]".to_vec());
            out.calls = Some(vinnova::parse(&calls_bytes, rounds_body.as_ref().map(|b| b.bytes.as_slice()), item_url).map_err(adapter)?);
            out.cursor = Some(since.format("%Y-%m-%d").to_string());
        }
        SourceKind::Feed => {
            let req = FetchRequest::get(&spec.url).conditional(state.etag.clone(), state.last_modified.clone());
            if let Some(b) = get(fetcher, req, &mut out).await? {
                out.etag = b.etag;
                out.last_modified = b.last_modified;
                out.calls = Some(feed::parse(&b.bytes, spec.tz).map_err(adapter)?);
            }
        }
        SourceKind::Html { selectors, max_pages, max_details } => {
            let req = FetchRequest::get(&spec.url).conditional(state.etag.clone(), state.last_modified.clone());
            let Some(first) = get(fetcher, req, &mut out).await? else { return Ok(out) };
            out.etag = first.etag.clone();
            out.last_modified = first.last_modified.clone();
            let mut listing = html::parse_listing(&first.bytes, &first.url, selectors, spec.tz).map_err(adapter)?;
            let mut calls = std::mem::take(&mut listing.calls);
            let mut next = listing.next_page.take();
            let mut seen_pages = vec![first.url.clone()];
            for _ in 1..*max_pages {
                let Some(url) = next.take().filter(|u| !seen_pages.contains(u)) else { break };
                seen_pages.push(url.clone());
                let Some(b) = get(fetcher, FetchRequest::get(&url), &mut out).await? else { break };
                let mut l = html::parse_listing(&b.bytes, &b.url, selectors, spec.tz).map_err(|e| format!("{url}: {e}"))?;
                calls.append(&mut l.calls);
                next = l.next_page;
            }
            if let Some(detail) = &selectors.detail {
                for raw in calls.iter_mut().take(*max_details) {
                    match get(fetcher, FetchRequest::get(&raw.url), &mut out).await {
                        Ok(Some(b)) => match html::parse_detail(&b.bytes, detail) {
                            Ok(text) => raw.text = text,
                            Err(e) => tracing::debug!(url = %raw.url, "detaljsidan: {e}"),
                        },
                        Ok(None) => {}
                        Err(e) => tracing::debug!(url = %raw.url, "detaljsidan: {e}"),
                    }
                }
            }
            out.calls = Some(calls);
        }
    }
    Ok(out)
}
