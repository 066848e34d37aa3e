//! Jobs → ingest: listings into the store, one transaction per batch (a
//! source's poll, an import): for each listing the call it already is (the
//! same source and key), the call it joins (decided by
//! `normalize::dedup::choose_call` over candidates the store finds by key),
//! or a new call; readings combine by `normalize::merge`. Each merge is
//! recorded with its reason. The batch returns what it wrote, so that the
//! poll classifies it without reading it back. And [`split_listing`]: a
//! person's correction of a merge; [`add_manual`] and [`import_jsonl`]: AU's
//! calls that no source covers.

use crate::domain::{Call, CallRef, RawCall};
use crate::normalize::dedup::{Listing, MATCH_KEYS_VERSION, MatchKey, MergeReason, choose_call, match_keys, url_key};
use crate::normalize::merge::{absorb, keep_missing, rebuild};
use crate::normalize::{canonical_url, normalize, title_key};
use crate::sources::manual::{MANUAL_SOURCE, ManualCall, ManualError, UNKNOWN_FUNDER, parse_jsonl};
use crate::store::calls::{CallTx, Change};
use crate::store::listings::{ListingId, StoredListing};
use crate::store::{Result, Store, StoreError};
use chrono::{DateTime, Utc};

/// Candidate calls read per key: enough for any real duplicate, and a bound
/// on the work when thousands of listings share a title.
const CANDIDATES_PER_KEY: u32 = 8;

/// What happened to one listing.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A call not seen before.
    New,
    /// A known call whose title, deadline or status changed.
    Changed(Vec<Change>),
    /// A known call, nothing material changed.
    Unchanged,
    /// Another source's call, now also listed by this one.
    Merged,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub reference: CallRef,
    pub outcome: Outcome,
}

/// A call's content as a batch wrote it (what the store now holds).
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenCall {
    pub reference: CallRef,
    pub call: Call,
}

/// What one batch did: each listing's outcome, in order, and each call it
/// wrote (new, changed or merged into), once, as last written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestBatch {
    pub outcomes: Vec<Ingested>,
    pub written: Vec<WrittenCall>,
}

impl IngestBatch {
    fn push(&mut self, got: Ingested, written: Option<Call>) {
        if let Some(call) = written {
            let reference = got.reference;
            match self.written.iter_mut().find(|w| w.reference == reference) {
                Some(w) => w.call = call,
                None => self.written.push(WrittenCall { reference, call }),
            }
        }
        self.outcomes.push(got);
    }
}

/// Normalise one listing and store it: update the call it already is, or
/// attach it to the same call from another source, or insert it.
pub async fn ingest(
    store: &Store,
    source: &str,
    raw: &RawCall,
    funder_default: &str,
    manual: bool,
    now: DateTime<Utc>,
) -> Result<Ingested> {
    let batch = ingest_all(store, source, std::slice::from_ref(raw), funder_default, manual, now).await?;
    batch.outcomes.into_iter().next().ok_or_else(|| StoreError::Invalid("inläsningen gav inget resultat".into()))
}

/// [`ingest`] every listing of `raws`, in order, in ONE transaction (begun
/// with `BEGIN IMMEDIATE`: a writer beside it waits, and nothing slips in
/// between a de-duplication decision and its insert). An error rolls the
/// whole batch back.
pub async fn ingest_all(
    store: &Store,
    source: &str,
    raws: &[RawCall],
    funder_default: &str,
    manual: bool,
    now: DateTime<Utc>,
) -> Result<IngestBatch> {
    let mut tx = store.begin_calls().await?;
    key_older_listings(&mut tx).await?;
    let mut batch = IngestBatch::default();
    for raw in raws {
        let (got, written) = ingest_in(&mut tx, source, raw, funder_default, manual, now).await?;
        batch.push(got, written);
    }
    tx.commit().await?;
    Ok(batch)
}

/// One listing inside the batch's transaction; with the call's content when it was written.
async fn ingest_in(
    tx: &mut CallTx,
    source: &str,
    raw: &RawCall,
    funder_default: &str,
    manual: bool,
    now: DateTime<Utc>,
) -> Result<(Ingested, Option<Call>)> {
    let call = normalize(raw, funder_default, now);
    let mut listing = Listing::from_raw(source, raw, funder_default);
    if let Some(known) = tx.listing(source, &raw.source_key).await? {
        return relist(tx, known, &listing, raw, call, now).await;
    }
    let (own, shared) = match_keys(&listing);
    if let Some((r, reason, matched)) = find_call(tx, &mut listing, own.as_ref(), &shared).await? {
        let (_, merged) = absorb_into(tx, r, &call, now).await?;
        let id = tx.upsert_listing(r, source, raw, &listing.funder, MATCH_KEYS_VERSION, now).await?;
        tx.add_listing_keys(id, source, &all_keys(own, shared)).await?;
        tx.record_merge(id, r, &reason, Some(matched), now).await?;
        return Ok((Ingested { reference: r, outcome: Outcome::Merged }, merged));
    }
    let r = tx.insert_call(&call, &canonical_url(&call.url), &title_key(&call.title), manual, now).await?;
    let id = tx.upsert_listing(r, source, raw, &listing.funder, MATCH_KEYS_VERSION, now).await?;
    tx.add_listing_keys(id, source, &all_keys(own, shared)).await?;
    Ok((Ingested { reference: r, outcome: Outcome::New }, Some(written_as(call, r))))
}

/// A call as the store holds it once written under reference `r`.
fn written_as(mut call: Call, r: CallRef) -> Call {
    call.reference = Some(r);
    call
}

/// A listing seen before: it updates its call when its source is the
/// call's primary, else it only adds its language.
async fn relist(
    tx: &mut CallTx,
    known: StoredListing,
    listing: &Listing,
    raw: &RawCall,
    call: Call,
    now: DateTime<Utc>,
) -> Result<(Ingested, Option<Call>)> {
    let r = known.call;
    let same_raw = known.raw == *raw;
    let (outcome, written) = if known.primary_source != listing.source {
        // Another source's call: this listing adds its language, never rewrites the call.
        let (outcome, written) = absorb_into(tx, r, &call, now).await?;
        let changed = matches!(outcome, Outcome::Changed(_));
        (outcome, written.filter(|_| changed))
    } else if same_raw && tx.call_status(r).await? == Some(call.status) {
        (Outcome::Unchanged, None)
    } else {
        reread(tx, r, raw, call, now).await?
    };
    if same_raw && known.funder == listing.funder {
        tx.touch_listing(known.id, now).await?;
    } else {
        let id = tx.upsert_listing(r, &listing.source, raw, &listing.funder, MATCH_KEYS_VERSION, now).await?;
        let (own, shared) = match_keys(listing);
        tx.replace_listing_keys(id, &listing.source, &all_keys(own, shared), MATCH_KEYS_VERSION).await?;
    }
    Ok((Ingested { reference: r, outcome }, written))
}

/// The primary source's newer reading of call `r`: it replaces the call's
/// content, keeping what it lacks. With the content when anything changed.
async fn reread(tx: &mut CallTx, r: CallRef, raw: &RawCall, call: Call, now: DateTime<Utc>) -> Result<(Outcome, Option<Call>)> {
    let Some(old) = tx.call_content(r).await? else { return Ok((Outcome::Unchanged, None)) };
    // a listing that names no funder keeps the one the call has
    let call = if raw.funder.is_none() { normalize(raw, &old.funder, now) } else { call };
    let call = written_as(keep_missing(call, &old), r);
    let changes = tx.update_call(r, &old, &call, &canonical_url(&call.url), &title_key(&call.title), now).await?;
    // The content may have changed (text, translations) without a material
    // change: it is written all the same, and classified again.
    let outcome = if changes.is_empty() { Outcome::Unchanged } else { Outcome::Changed(changes) };
    let written = (call != old).then_some(call);
    Ok((outcome, written))
}

/// The call `listing` belongs to, if any: candidates by key, each with all
/// its listings, decided by `dedup::choose_call`. Returns the call, the
/// reason and the listing it matched.
async fn find_call(
    tx: &mut CallTx,
    listing: &mut Listing,
    own: Option<&MatchKey>,
    shared: &[MatchKey],
) -> Result<Option<(CallRef, MergeReason, ListingId)>> {
    let refs = tx.calls_by_keys(&listing.source, own, shared, CANDIDATES_PER_KEY).await?;
    let mut candidates: Vec<(Candidate, Vec<Listing>)> = Vec::with_capacity(refs.len());
    // Whether a page is shared within its source is asked only of listings
    // on the new listing's page: the only ones it could decide for.
    let page = url_key(listing);
    let mut asked_own_page = false;
    for s in tx.listings_of(&refs).await? {
        let mut l = Listing::from_raw(&s.source, &s.raw, &s.funder);
        if let Some(key) = page.as_ref().filter(|_| l.url == listing.url) {
            l.url_shared = tx.key_shared_in_source(key, &s.source, Some(s.id)).await?;
            if !asked_own_page {
                listing.url_shared = tx.key_shared_in_source(key, &listing.source, None).await?;
                asked_own_page = true;
            }
        }
        match candidates.last_mut() {
            Some(((r, ids), ls)) if *r == s.call => {
                ids.push(s.id);
                ls.push(l);
            }
            _ => candidates.push(((s.call, vec![s.id]), vec![l])),
        }
    }
    Ok(choose_call(listing, &candidates).and_then(|((r, ids), reason, i)| ids.get(i).map(|id| (*r, reason, *id))))
}

/// A candidate call and the store ids of its listings (in the order `choose_call` sees them).
type Candidate = (CallRef, Vec<ListingId>);

fn all_keys(own: Option<MatchKey>, shared: Vec<MatchKey>) -> Vec<MatchKey> {
    own.into_iter().chain(shared).collect()
}

/// Listings stored before the current key derivation get their keys.
async fn key_older_listings(tx: &mut CallTx) -> Result<()> {
    loop {
        let batch = tx.listings_keyed_before(MATCH_KEYS_VERSION, 500).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for s in &batch {
            let (own, shared) = match_keys(&Listing::from_raw(&s.source, &s.raw, &s.funder));
            tx.replace_listing_keys(s.id, &s.source, &all_keys(own, shared), MATCH_KEYS_VERSION).await?;
        }
    }
}

/// [`absorb`] another source's reading into stored call `r`. `Changed` when
/// it changed the call; with the call's content either way (the poll
/// classifies a call again when a further source lists it).
async fn absorb_into(tx: &mut CallTx, r: CallRef, other: &Call, now: DateTime<Utc>) -> Result<(Outcome, Option<Call>)> {
    let Some(old) = tx.call_content(r).await? else { return Ok((Outcome::Unchanged, None)) };
    let mut call = old.clone();
    if !absorb(&mut call, other) {
        return Ok((Outcome::Unchanged, Some(old)));
    }
    let changes = tx.update_call(r, &old, &call, &canonical_url(&call.url), &title_key(&call.title), now).await?;
    Ok((Outcome::Changed(changes), Some(call)))
}

/// Why a listing could not be split out.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} finns inte")]
    UnknownCall(CallRef),
    /// `listing` as `SOURCE:KEY`.
    #[error("{call} har ingen källpost {listing}")]
    NotListed { call: CallRef, listing: String },
    #[error("{0} har bara den källposten; det finns inget att dela")]
    OnlyListing(CallRef),
}

/// Move listing `source`:`key` out of call `r` into a call of its own (a
/// new reference), and rebuild `r` from the listings it keeps. The listing
/// stays in its new call on later polls: it is found by its key there.
/// Returns the new call's reference.
pub async fn split_listing(store: &Store, r: CallRef, source: &str, key: &str, now: DateTime<Utc>) -> Result<CallRef, SplitError> {
    let mut tx = store.begin_calls().await?;
    let old = tx.get_call(r).await?.ok_or(SplitError::UnknownCall(r))?;
    let mut listings = tx.listings_of(&[r]).await?;
    let not_listed = || SplitError::NotListed { call: r, listing: format!("{source}:{key}") };
    let pos = listings.iter().position(|l| l.source == source && l.source_key == key).ok_or_else(not_listed)?;
    if listings.len() == 1 {
        return Err(SplitError::OnlyListing(r));
    }
    let moved = listings.remove(pos);
    let own = normalize(&moved.raw, &moved.funder, now);
    let new_ref = tx.insert_call(&own, &canonical_url(&own.url), &title_key(&own.title), old.manual, now).await?;
    tx.move_listing(moved.id, r, new_ref, now).await?;
    let readings = listings.iter().map(|l| normalize(&l.raw, &l.funder, now));
    let rebuilt = rebuild(readings, &old.call, pos == 0);
    tx.update_call(r, &old.call, &rebuilt, &canonical_url(&rebuilt.url), &title_key(&rebuilt.title), now).await?;
    tx.commit().await?;
    Ok(new_ref)
}

/// The reference an imported call got, and whether it was new.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedCall {
    pub reference: CallRef,
    pub new: bool,
}

/// Why AU's call could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Manual(#[from] ManualError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `calls add`: one call, through the same de-duplication as fetched
/// calls, marked manual.
pub async fn add_manual(store: &Store, call: &ManualCall, now: DateTime<Utc>) -> Result<ImportedCall, AddError> {
    let raw = call.to_raw().map_err(ManualError::Invalid)?;
    Ok(store_manual(store, &[raw], now).await?.pop().ok_or_else(|| StoreError::Invalid("inläsningen gav inget resultat".into()))?)
}

/// `calls import FILE.jsonl`: every line is checked first (a file with an
/// error imports nothing, and the error names the line), then all are
/// stored in one transaction.
pub async fn import_jsonl<R: std::io::BufRead>(store: &Store, reader: R, now: DateTime<Utc>) -> Result<Vec<ImportedCall>, AddError> {
    let raws = parse_jsonl(reader)?;
    Ok(store_manual(store, &raws, now).await?)
}

async fn store_manual(store: &Store, raws: &[RawCall], now: DateTime<Utc>) -> Result<Vec<ImportedCall>> {
    let batch = ingest_all(store, MANUAL_SOURCE, raws, UNKNOWN_FUNDER, true, now).await?;
    Ok(batch.outcomes.into_iter().map(|g| ImportedCall { reference: g.reference, new: g.outcome == Outcome::New }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Deadline, Lang, Translation};
    use crate::normalize::dedup::MergeReason;
    use crate::store::listings::Joined;
    use chrono::{NaiveDate, TimeZone};
    use chrono_tz::Europe::Stockholm;

    fn dl(y: i32, m: u32, d: u32) -> Deadline {
        Deadline::end_of_day(NaiveDate::from_ymd_opt(y, m, d).unwrap(), Stockholm)
    }

    fn raw(key: &str, title: &str, url: &str, deadline: Deadline) -> RawCall {
        RawCall { source_key: key.into(), title: title.into(), url: url.into(), deadlines: vec![deadline], ..RawCall::default() }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn swedish_and_english_titles_merge() {
        let store = Store::memory().await.unwrap();
        let sv = raw("A1", "Social innovation för inkludering 2026", "https://vinnova.se/a", dl(2026, 3, 17));
        let en = raw("feed-9", "Social innovation for inclusion 2026", "https://vinnova.se/en/b", dl(2026, 3, 17));
        let a = ingest(&store, "vinnova", &sv, "Vinnova", false, now()).await.unwrap();
        let b = ingest(&store, "vinnova-rss", &en, "Vinnova", false, now()).await.unwrap();
        assert_eq!(a.outcome, Outcome::New);
        assert_eq!(b, Ingested { reference: a.reference, outcome: Outcome::Merged });
        let stored = store.get_call(a.reference).await.unwrap().unwrap();
        assert_eq!(stored.sources, vec!["vinnova".to_string(), "vinnova-rss".to_string()]);
    }

    #[tokio::test]
    async fn a_second_source_adds_its_language_but_never_rewrites_the_call() {
        let store = Store::memory().await.unwrap();
        let mut sv = raw("A1", "Social innovation för inkludering 2026", "https://vinnova.se/a", dl(2026, 3, 17));
        sv.lang = Some(Lang::Sv);
        sv.text = Some("Utlysningen stödjer idéburna organisationer som arbetar med inkludering.".into());
        let mut en = raw("feed-9", "Social innovation for inclusion 2026", "https://vinnova.se/en/b", dl(2026, 3, 17));
        en.lang = Some(Lang::En);
        en.text = Some("The call supports civil society organisations working for inclusion.".into());
        let a = ingest(&store, "vinnova", &sv, "Vinnova", false, now()).await.unwrap();
        ingest(&store, "vinnova-rss", &en, "Vinnova", false, now()).await.unwrap();
        let stored = store.get_call(a.reference).await.unwrap().unwrap().call;
        assert_eq!(stored.title, "Social innovation för inkludering 2026");
        assert_eq!(stored.translations.len(), 1);
        assert_eq!(stored.translations[0].lang, Lang::En);
        assert_eq!(stored.translations[0].title, "Social innovation for inclusion 2026");
        // The feed changes its wording: the translation follows, the call's own title stays.
        en.title = "Social innovation for inclusion (2026)".into();
        let b = ingest(&store, "vinnova-rss", &en, "Vinnova", false, now()).await.unwrap();
        assert!(matches!(b.outcome, Outcome::Changed(ref c) if c.is_empty()), "{b:?}");
        let stored = store.get_call(a.reference).await.unwrap().unwrap().call;
        assert_eq!(stored.title, "Social innovation för inkludering 2026");
        assert_eq!(stored.translations[0].title, "Social innovation for inclusion (2026)");
    }

    #[tokio::test]
    async fn translation_title_matches() {
        let store = Store::memory().await.unwrap();
        let mut sv = raw("A1", "Mötesplatser för unga i glesbygd", "https://vinnova.se/a", dl(2026, 4, 2));
        sv.translations = vec![Translation {
            lang: Lang::En,
            title: "Meeting places for young people in sparsely populated areas".into(),
            text: String::new(),
        }];
        let en = raw("x", "Meeting places for young people in sparsely populated areas", "https://vinnova.se/x", dl(2026, 4, 2));
        let a = ingest(&store, "vinnova", &sv, "Vinnova", false, now()).await.unwrap();
        let b = ingest(&store, "rss", &en, "Vinnova", false, now()).await.unwrap();
        assert_eq!(b.reference, a.reference);
    }

    #[tokio::test]
    async fn different_deadline_or_funder_or_title_stays_apart() {
        let store = Store::memory().await.unwrap();
        let a = ingest(
            &store,
            "s1",
            &raw("1", "Social innovation för inkludering 2026", "https://a.se/1", dl(2026, 3, 17)),
            "Vinnova",
            false,
            now(),
        )
        .await
        .unwrap();
        let other_date = raw("2", "Social innovation för inkludering 2026", "https://a.se/2", dl(2026, 9, 17));
        let other_funder = raw("3", "Social innovation för inkludering 2026", "https://a.se/3", dl(2026, 3, 17));
        let other_title = raw("4", "Digitala verktyg för äldreomsorgen 2026", "https://a.se/4", dl(2026, 3, 17));
        for (r, funder) in [(other_date, "Vinnova"), (other_funder, "Formas"), (other_title, "Vinnova")] {
            let got = ingest(&store, "s2", &r, funder, false, now()).await.unwrap();
            assert_ne!(got.reference, a.reference, "{}", r.title);
            assert_eq!(got.outcome, Outcome::New);
        }
    }

    #[tokio::test]
    async fn same_url_merges_and_relisting_is_unchanged_then_changed() {
        let store = Store::memory().await.unwrap();
        let eu = raw("SOCPL-2026-X", "Social innovation", "https://ec.europa.eu/t/SOCPL-2026-X", dl(2026, 5, 5));
        let esf = raw("esf-1", "Social innovation (ESF+)", "https://ec.europa.eu/t/SOCPL-2026-X/?utm_source=esf#apply", dl(2026, 5, 5));
        let a = ingest(&store, "eu", &eu, "Europeiska kommissionen", false, now()).await.unwrap();
        let b = ingest(&store, "esf", &esf, "Svenska ESF-rådet", false, now()).await.unwrap();
        assert_eq!(b, Ingested { reference: a.reference, outcome: Outcome::Merged });
        let again = ingest(&store, "eu", &eu, "Europeiska kommissionen", false, now()).await.unwrap();
        assert_eq!(again.outcome, Outcome::Unchanged);
        let moved = RawCall { deadlines: vec![dl(2026, 6, 5)], ..eu.clone() };
        let ch = ingest(&store, "eu", &moved, "Europeiska kommissionen", false, now()).await.unwrap();
        assert!(matches!(&ch.outcome, Outcome::Changed(c) if c[0].field == "deadline"), "{ch:?}");
    }

    #[tokio::test]
    async fn a_reading_without_text_keeps_the_stored_text() {
        let store = Store::memory().await.unwrap();
        let full = RawCall {
            text: Some("<p>Hela beskrivningen.</p>".into()),
            ..raw("2025-1", "Civilsamhälle", "https://v.se/1", dl(2026, 2, 5))
        };
        let a = ingest(&store, "vinnova", &full, "Vinnova", false, now()).await.unwrap();
        let round_only = raw("2025-1", "Civilsamhälle", "https://v.se/1", dl(2026, 3, 5));
        let b = ingest(&store, "vinnova", &round_only, "Vinnova", false, now()).await.unwrap();
        assert!(matches!(&b.outcome, Outcome::Changed(c) if c.len() == 1 && c[0].field == "deadline"), "{b:?}");
        assert_eq!(store.get_call(a.reference).await.unwrap().unwrap().call.text, "Hela beskrivningen.");
    }

    #[tokio::test]
    async fn near_duplicates_from_two_sources_stay_apart_and_a_merge_says_why() {
        let store = Store::memory().await.unwrap();
        let young = raw("g1", "Mötesplatser för unga i glesbygd", "https://a.se/1", dl(2026, 4, 2));
        let old = raw("x7", "Mötesplatser för äldre i glesbygd", "https://b.se/7", dl(2026, 4, 2));
        let a = ingest(&store, "feed-a", &young, "Vinnova", false, now()).await.unwrap();
        let b = ingest(&store, "feed-b", &old, "Vinnova", false, now()).await.unwrap();
        assert_eq!((a.outcome, b.outcome.clone()), (Outcome::New, Outcome::New));
        assert_ne!(a.reference, b.reference);
        // the English reading of the first merges, and its record says why and with what
        let en = raw("e1", "Mötesplatser för ungdomar i glesbygd", "https://c.se/e1", dl(2026, 4, 2));
        let c = ingest(&store, "feed-c", &en, "Vinnova", false, now()).await.unwrap();
        assert_eq!(c, Ingested { reference: a.reference, outcome: Outcome::Merged });
        let records = store.listing_records(a.reference).await.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].joined, Joined::Founded);
        match &records[1].joined {
            Joined::Merged { reason: MergeReason::SameFunderDeadlineTitle { funder, deadline, .. }, with, .. } => {
                assert_eq!((funder.as_str(), *deadline), ("Vinnova", NaiveDate::from_ymd_opt(2026, 4, 2)));
                assert_eq!(with.as_ref(), Some(&("feed-a".to_string(), "g1".to_string())));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_split_listing_gets_a_call_of_its_own_and_never_comes_back() {
        let store = Store::memory().await.unwrap();
        let mut sv = raw("A1", "Social innovation för inkludering 2026", "https://vinnova.se/a", dl(2026, 3, 17));
        sv.lang = Some(Lang::Sv);
        let mut en = raw("feed-9", "Social innovation for inclusion 2026", "https://vinnova.se/en/b", dl(2026, 3, 17));
        en.lang = Some(Lang::En);
        let a = ingest(&store, "vinnova", &sv, "Vinnova", false, now()).await.unwrap().reference;
        ingest(&store, "vinnova-rss", &en, "Vinnova", false, now()).await.unwrap();
        assert_eq!(store.get_call(a).await.unwrap().unwrap().call.translations.len(), 1);

        let b = split_listing(&store, a, "vinnova-rss", "feed-9", now()).await.unwrap();
        assert_ne!(a, b);
        let (old, new) = (store.get_call(a).await.unwrap().unwrap(), store.get_call(b).await.unwrap().unwrap());
        assert_eq!(
            (old.sources.as_slice(), new.sources.as_slice()),
            (["vinnova".to_string()].as_slice(), ["vinnova-rss".to_string()].as_slice())
        );
        assert!(old.call.translations.is_empty(), "the English reading left with its listing");
        assert_eq!(new.call.title, "Social innovation for inclusion 2026");
        assert!(matches!(store.listing_records(b).await.unwrap()[0].joined, Joined::SplitFrom { call, .. } if call == a));
        assert_eq!(store.split_out_of(a).await.unwrap()[0].to, b);

        // later polls find each listing in its own call
        let later = now() + chrono::Duration::hours(6);
        let again_en = ingest(&store, "vinnova-rss", &en, "Vinnova", false, later).await.unwrap();
        let again_sv = ingest(&store, "vinnova", &sv, "Vinnova", false, later).await.unwrap();
        assert_eq!((again_en.reference, again_sv.reference), (b, a));
        assert_eq!((again_en.outcome, again_sv.outcome), (Outcome::Unchanged, Outcome::Unchanged));
        // a third reading that fits both is evidence for neither
        let third = raw("t", "Social innovation för inkludering 2026", "https://x.se/t", dl(2026, 3, 17));
        let t = ingest(&store, "tredje", &third, "Vinnova", false, later).await.unwrap();
        assert_eq!(t.outcome, Outcome::New);

        assert!(matches!(split_listing(&store, a, "vinnova", "A1", now()).await, Err(SplitError::OnlyListing(r)) if r == a));
        assert!(matches!(split_listing(&store, a, "vinnova", "nej", now()).await, Err(SplitError::NotListed { .. })));
        assert!(matches!(split_listing(&store, CallRef(999), "vinnova", "A1", now()).await, Err(SplitError::UnknownCall(_))));
    }

    #[tokio::test]
    async fn splitting_the_primary_listing_rebuilds_the_call_from_the_next() {
        let store = Store::memory().await.unwrap();
        let eu = raw("SOCPL-2026-X", "Social innovation", "https://ec.europa.eu/topic-details/SOCPL-2026-X", dl(2026, 5, 5));
        let esf = RawCall {
            text: Some("ESF-rådets text.".into()),
            ..raw("esf-1", "Social innovation (ESF+)", "https://ec.europa.eu/topic-details/SOCPL-2026-X/?utm_source=esf", dl(2026, 5, 5))
        };
        let a = ingest(&store, "eu", &eu, "Europeiska kommissionen", false, now()).await.unwrap().reference;
        ingest(&store, "esf", &esf, "Svenska ESF-rådet", false, now()).await.unwrap();
        let b = split_listing(&store, a, "eu", "SOCPL-2026-X", now()).await.unwrap();
        let old = store.get_call(a).await.unwrap().unwrap().call;
        assert_eq!(
            (old.title.as_str(), old.funder.as_str(), old.text.as_str()),
            ("Social innovation (ESF+)", "Svenska ESF-rådet", "ESF-rådets text.")
        );
        assert_eq!(store.get_call(b).await.unwrap().unwrap().call.funder, "Europeiska kommissionen");
    }

    #[tokio::test]
    async fn listings_stored_before_match_keys_are_found() {
        let store = Store::memory().await.unwrap();
        let first = raw("1", "Kultur i hela länet", "https://region.se/kultur", dl(2026, 6, 1));
        let a = ingest(&store, "region", &first, "Region Örebro län", false, now()).await.unwrap().reference;
        // as if stored before migration 0051: no keys, no funder of its own
        sqlx::query("DELETE FROM listing_keys").execute(&store.pool).await.unwrap();
        sqlx::query("UPDATE call_listings SET keys_version = 0, funder = NULL").execute(&store.pool).await.unwrap();
        let same_page = raw("k", "Kulturstöd 2026", "https://region.se/kultur?utm_campaign=x", dl(2026, 6, 1));
        let got = ingest(&store, "kulturradet", &same_page, "Kulturrådet", false, now()).await.unwrap();
        assert_eq!(got, Ingested { reference: a, outcome: Outcome::Merged });
    }

    #[tokio::test]
    async fn a_page_many_listings_link_to_is_no_evidence() {
        let store = Store::memory().await.unwrap();
        let list = "https://funder.se/utlysningar";
        let young = raw("g1", "Mötesplatser för unga", list, dl(2026, 4, 2));
        let old = raw("g2", "Mötesplatser för äldre", list, dl(2026, 4, 2));
        ingest(&store, "feed", &young, "Stiftelsen", false, now()).await.unwrap();
        ingest(&store, "feed", &old, "Stiftelsen", false, now()).await.unwrap();
        // another source links its own call to the same list page
        let other = raw("n1", "Kultur för barn", &format!("{list}/?utm_source=nyhetsbrev"), dl(2026, 4, 2));
        let got = ingest(&store, "nyhetsbrev", &other, "Kulturrådet", false, now()).await.unwrap();
        assert_eq!(got.outcome, Outcome::New);
        // while a page one listing has is evidence
        let page = raw("g3", "Kultur i skolan", "https://funder.se/u/kultur-i-skolan", dl(2026, 5, 2));
        let a = ingest(&store, "feed", &page, "Stiftelsen", false, now()).await.unwrap();
        let same = raw("n2", "Skolkultur", "https://funder.se/u/kultur-i-skolan/", dl(2026, 5, 2));
        let b = ingest(&store, "nyhetsbrev", &same, "Kulturrådet", false, now()).await.unwrap();
        assert_eq!(b, Ingested { reference: a.reference, outcome: Outcome::Merged });
    }

    #[tokio::test]
    async fn import_names_bad_line_and_imports_nothing() {
        let store = Store::memory().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        let bad = "{\"title\":\"A\",\"url\":\"https://a.se/1\"}\n\n{\"title\":\"B\",\"url\":\"https://a.se/2\",\"deadline\":\"snart\"}\n";
        let e = import_jsonl(&store, bad.as_bytes(), now).await.unwrap_err();
        assert!(e.to_string().starts_with("rad 3: deadline"), "{e}");
        assert!(store.list_calls(&Default::default()).await.unwrap().is_empty());
        let good = "{\"title\":\"Lokala initiativ för trygghet\",\"url\":\"https://stiftelse.se/u?utm_source=x\",\"funder\":\"Sparbanksstiftelsen\",\"deadline\":\"2026-03-15\"}\n\
                    {\"title\":\"Lokala initiativ för trygghet\",\"url\":\"https://stiftelse.se/u\",\"deadline\":\"2026-03-15T14:00\",\"lang\":\"sv\"}\n";
        let got = import_jsonl(&store, good.as_bytes(), now).await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].new && !got[1].new);
        assert_eq!(got[0].reference, got[1].reference);
        let c = store.get_call(got[0].reference).await.unwrap().unwrap();
        assert!(c.manual);
        assert_eq!(c.call.funder, "Sparbanksstiftelsen");
    }
}
