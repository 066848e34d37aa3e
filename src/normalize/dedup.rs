//! Normalize → dedup → store: decide whether a listing is a call we already
//! have. By (source, source key) first, then by canonical URL, then by funder,
//! title similarity (strsim over `title_key`, the call's translations
//! included) and a shared deadline date. A match adds a listing to the known
//! call; otherwise the call is inserted.

use super::{canonical_url, normalize, title_key};
use crate::domain::{Call, CallRef, RawCall, Translation};
use crate::store::calls::{Change, DedupCandidate};
use crate::store::{Result, Store};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Stockholm;

/// Title similarity needed when both calls share a deadline date.
pub const SIMILAR: f64 = 0.8;
/// … and when one of them has no deadline at all.
pub const VERY_SIMILAR: f64 = 0.92;

/// How similar two title keys are (0–1): the better of normalised
/// Levenshtein and Sørensen–Dice over bigrams.
pub fn title_similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    strsim::normalized_levenshtein(a, b).max(strsim::sorensen_dice(a, b))
}

fn funder_key(f: &str) -> String {
    f.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
}

fn dates(ds: &[crate::domain::Deadline]) -> Vec<NaiveDate> {
    ds.iter().map(|d| d.at.with_timezone(&Stockholm).date_naive()).collect()
}

/// Whether `call` (with its title keys) is the same call as `cand`; the
/// similarity when it is.
pub fn same_call(call: &Call, cand: &DedupCandidate) -> Option<f64> {
    if funder_key(&call.funder) != funder_key(&cand.funder) {
        return None;
    }
    let mut ours: Vec<String> = vec![title_key(&call.title)];
    ours.extend(call.translations.iter().map(|t| title_key(&t.title)));
    let mut theirs: Vec<String> = vec![cand.title_key.clone()];
    theirs.extend(cand.translations.iter().map(|t| title_key(&t.title)));
    let best = ours.iter().flat_map(|a| theirs.iter().map(move |b| title_similarity(a, b))).fold(0.0, f64::max);
    let (da, db) = (dates(&call.deadlines), dates(&cand.deadlines));
    let needed = if da.is_empty() || db.is_empty() {
        VERY_SIMILAR
    } else if da.iter().any(|d| db.contains(d)) {
        SIMILAR
    } else {
        return None;
    };
    (best >= needed).then_some(best)
}

/// A newer reading that lacks a field (a Vinnova round listed without its
/// call, a feed item without text) keeps what the stored call has.
fn keep_missing(mut new: Call, old: &Call) -> Call {
    if new.text.is_empty() {
        new.text = old.text.clone();
    }
    if new.summary.is_empty() {
        new.summary = old.summary.clone();
    }
    if new.translations.is_empty() {
        new.translations = old.translations.clone();
    }
    new.programme = new.programme.or_else(|| old.programme.clone());
    new.budget = new.budget.or_else(|| old.budget.clone());
    new.eligibility = new.eligibility.or_else(|| old.eligibility.clone());
    new.opens = new.opens.or(old.opens);
    new
}

/// A second source's reading of a known call in another language becomes
/// that call's translation (so classification and AU see both); a call with
/// no deadline takes the second source's. Returns `Changed` when it did
/// either (the poll then classifies the call again), else `Unchanged`.
async fn add_translation(store: &Store, r: CallRef, other: &Call, now: DateTime<Utc>) -> Result<Outcome> {
    let Some(stored) = store.get_call(r).await? else { return Ok(Outcome::Unchanged) };
    let mut call = stored.call.clone();
    let mut touched = false;
    if other.lang != call.lang && !other.title.trim().is_empty() {
        let text = if other.text.is_empty() { other.summary.clone() } else { other.text.clone() };
        match call.translations.iter_mut().find(|t| t.lang == other.lang) {
            Some(t) if t.title == other.title && (t.text == text || text.is_empty()) => {}
            Some(t) => {
                t.title = other.title.clone();
                if !text.is_empty() {
                    t.text = text;
                }
                touched = true;
            }
            None => {
                call.translations.push(Translation { lang: other.lang, title: other.title.clone(), text });
                touched = true;
            }
        }
    }
    if call.deadlines.is_empty() && !other.deadlines.is_empty() {
        call.deadlines = other.deadlines.clone();
        touched = true;
    }
    if !touched {
        return Ok(Outcome::Unchanged);
    }
    let changes = store.update_call(r, &call, &canonical_url(&call.url), &title_key(&call.title), now).await?;
    Ok(Outcome::Changed(changes))
}

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
    let call = normalize(raw, funder_default, now);
    let canon = canonical_url(&call.url);
    let key = title_key(&call.title);
    if let Some(r) = store.call_by_listing(source, &raw.source_key).await? {
        if store.primary_source(r).await?.is_some_and(|p| p != source) {
            // Another source's call: this listing adds its language, never rewrites the call.
            let outcome = add_translation(store, r, &call, now).await?;
            store.upsert_listing(r, source, raw, now).await?;
            return Ok(Ingested { reference: r, outcome });
        }
        let same_raw = store.listing_raw(source, &raw.source_key).await?.as_ref() == Some(raw);
        let stored = store.get_call(r).await?;
        let outcome = match stored {
            Some(s) if same_raw && s.call.status == call.status => Outcome::Unchanged,
            Some(s) => {
                // a listing that names no funder keeps the one the call has
                let call = keep_missing(if raw.funder.is_none() { normalize(raw, &s.call.funder, now) } else { call }, &s.call);
                let changes = store.update_call(r, &call, &canon, &key, now).await?;
                if changes.is_empty() { Outcome::Unchanged } else { Outcome::Changed(changes) }
            }
            None => Outcome::Unchanged,
        };
        store.upsert_listing(r, source, raw, now).await?;
        return Ok(Ingested { reference: r, outcome });
    }
    if let Some(r) = store.calls_by_canonical_url(&canon).await?.into_iter().next() {
        add_translation(store, r, &call, now).await?;
        store.upsert_listing(r, source, raw, now).await?;
        return Ok(Ingested { reference: r, outcome: Outcome::Merged });
    }
    let best = store
        .dedup_candidates()
        .await?
        .into_iter()
        .filter_map(|c| same_call(&call, &c).map(|s| (s, c.reference)))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    if let Some((_, r)) = best {
        add_translation(store, r, &call, now).await?;
        store.upsert_listing(r, source, raw, now).await?;
        return Ok(Ingested { reference: r, outcome: Outcome::Merged });
    }
    let r = store.insert_call(&call, &canon, &key, manual, now).await?;
    store.upsert_listing(r, source, raw, now).await?;
    Ok(Ingested { reference: r, outcome: Outcome::New })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Deadline, Lang, Translation};
    use chrono::TimeZone;

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
}
