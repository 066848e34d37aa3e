//! Sources: where calls come from. `fetch` (the one HTTP client) → an
//! adapter per kind (`eu_portal`, `vinnova`, `feed`, `html`, `standing`;
//! pure bytes → `RawCall`). [`fetch_source`] reads one configured source
//! (`spec`) and returns what it fetched: the calls, the validators for the
//! next conditional GET, the adapter's cursor. It never touches the store:
//! `jobs::poll` runs it for every source, concurrently, and owns the rest
//! (source state, de-duplication, saving, back-off).

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

use crate::domain::RawCall;
use chrono::{DateTime, Utc};
use fetch::{FetchRequest, Fetched, Fetcher};
use guard::Scope;
use spec::{SourceKind, SourceSpec};
use std::sync::Arc;

pub use manual::ManualCall;
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

/// What the previous successful fetch of a source left: the validators for
/// a conditional GET and when it was (Vinnova asks for changes since then).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastFetch {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// What reading one source gave.
#[derive(Debug, Default)]
pub struct SourceFetch {
    /// `None`: the source answered 304, nothing to do.
    pub calls: Option<Vec<RawCall>>,
    /// Body bytes received.
    pub bytes: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The adapter's cursor (Vinnova: the day it asked for changes since).
    pub cursor: Option<String>,
    /// What was not read: links out of the source's scope, items beyond a page's cap.
    pub warnings: Vec<String>,
}

async fn get(fetcher: &Fetcher, req: FetchRequest, out: &mut SourceFetch) -> Result<Option<fetch::FetchedBody>, String> {
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
pub async fn fetch_source(fetcher: &Fetcher, spec: &SourceSpec, last: &LastFetch, now: DateTime<Utc>) -> Result<SourceFetch, String> {
    let mut out = SourceFetch::default();
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
            let from = last.at.unwrap_or(now - chrono::Duration::days(*first_lookback_days)) - chrono::Duration::days(*margin_days);
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
            let req = req(&spec.url).conditional(last.etag.clone(), last.last_modified.clone());
            if let Some(b) = get(fetcher, req, &mut out).await? {
                out.etag = b.etag;
                out.last_modified = b.last_modified;
                let (bytes, tz) = (b.bytes, spec.tz);
                out.calls = Some(offload::parse(move || feed::parse(&bytes, tz)).await.map_err(adapter)?);
            }
        }
        SourceKind::Html { selectors, max_pages, max_details } => {
            let listing = HtmlSource { fetcher, scope: &scope, spec, selectors };
            listing.fetch(last, *max_pages, *max_details, &mut out).await?;
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

    async fn fetch(&self, last: &LastFetch, max_pages: u64, max_details: usize, out: &mut SourceFetch) -> Result<(), String> {
        let req = self.page(&self.spec.url).conditional(last.etag.clone(), last.last_modified.clone());
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
    async fn read_details(&self, calls: &mut [RawCall], detail: &str, max_details: usize, out: &mut SourceFetch) {
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

fn note_unread(listing: &html::HtmlListing, url: &str, out: &mut SourceFetch) {
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
