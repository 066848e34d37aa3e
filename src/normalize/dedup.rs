//! Normalize → **dedup** → store: whether two listings are one call. Pure:
//! [`same_call`] decides over two [`Listing`]s with a typed reason or a typed
//! refusal; [`choose_call`] picks, among candidate calls, the one a new
//! listing belongs to; [`match_keys`] are what the store indexes so that
//! candidates are found without reading every call. `jobs::ingest` runs it
//! against the store.
//!
//! The rule: listings with different stable identities (an EU topic
//! identifier, a funder's case number such as Vinnova's diarienummer, one
//! source's key — a feed GUID, a page's canonical URL) are never one call.
//! Across sources a call is merged only on strong evidence: a shared
//! identifier, the same canonical URL (when that URL is the page of one
//! call, not a list shared by many), or the same funder and deadline with
//! titles that agree word for word (see `titles.rs`; Swedish and English
//! titles meet through its glossary and through each listing's translations).

use super::canonical_url;
use super::titles::{TitleWords, WordDiff};
use crate::domain::RawCall;
use chrono::NaiveDate;
use chrono_tz::Europe::Stockholm;
use serde::{Deserialize, Serialize};

/// An identifier that names exactly one call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum StableId {
    /// An EU Funding & Tenders topic identifier (`HORIZON-CL2-2026-01-TRANSFO-03`).
    EuTopic { id: String },
    /// A funder's case number (Vinnova's diarienummer `2025-04101`); the
    /// funder is part of the scheme, as two funders may use the same form.
    CaseNumber { funder: String, number: String },
    /// One source's key for a call: its GUID, identifier or (for a key that
    /// is a URL) its page's canonical URL.
    InSource { source: String, key: String },
}

impl StableId {
    /// Two identifiers of one scheme that differ name two calls.
    fn same_scheme(&self, other: &StableId) -> bool {
        match (self, other) {
            (StableId::EuTopic { .. }, StableId::EuTopic { .. }) => true,
            (StableId::CaseNumber { funder: a, .. }, StableId::CaseNumber { funder: b, .. }) => a == b,
            (StableId::InSource { source: a, .. }, StableId::InSource { source: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// What de-duplication knows of one source's listing of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub source: String,
    pub source_key: String,
    /// The canonical URL of the listing's page (tracking parameters,
    /// fragment and trailing slash removed; scheme and host lower case).
    pub url: String,
    /// Another listing of the same source has the same canonical URL: the
    /// URL is a page of many calls (a funder's list), no evidence for one.
    pub url_shared: bool,
    pub ids: Vec<StableId>,
    pub funder: String,
    /// The title, then the titles of its translations.
    pub titles: Vec<TitleWords>,
    /// Deadline dates (Swedish time).
    pub deadlines: Vec<NaiveDate>,
}

impl Listing {
    /// The listing `source` gives as `raw`; `funder_default` when it names no funder.
    pub fn from_raw(source: &str, raw: &RawCall, funder_default: &str) -> Listing {
        let funder = raw.funder.as_deref().map(one_line).filter(|f| !f.is_empty()).unwrap_or_else(|| one_line(funder_default));
        let url = canonical_url(&raw.url);
        let mut titles = vec![TitleWords::new(&one_line(&raw.title))];
        titles.extend(raw.translations.iter().map(|t| TitleWords::new(&one_line(&t.title))));
        let mut deadlines: Vec<NaiveDate> = raw.deadlines.iter().map(|d| d.at.with_timezone(&Stockholm).date_naive()).collect();
        deadlines.sort();
        deadlines.dedup();
        let ids = stable_ids(source, &raw.source_key, &url, &funder);
        Listing { source: source.to_string(), source_key: raw.source_key.clone(), url, url_shared: false, ids, funder, titles, deadlines }
    }

    fn in_source(&self) -> Option<&StableId> {
        self.ids.iter().find(|i| matches!(i, StableId::InSource { .. }))
    }
}

/// Why two listings are one call, strongest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MergeReason {
    /// Both carry the same stable identifier.
    SameIdentity { id: StableId },
    /// Both point at the same page.
    SameCanonicalUrl { url: String },
    /// Same funder, a shared deadline (or none given on one side), and titles
    /// that agree word for word.
    SameFunderDeadlineTitle { funder: String, deadline: Option<NaiveDate>, title: String, matched_title: String },
}

impl MergeReason {
    fn strength(&self) -> u8 {
        match self {
            MergeReason::SameIdentity { .. } => 3,
            MergeReason::SameCanonicalUrl { .. } => 2,
            MergeReason::SameFunderDeadlineTitle { .. } => 1,
        }
    }
}

/// Why two listings are kept apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// One source lists each call once: two of its keys are two calls.
    SameSource,
    /// Two identifiers of one scheme (two EU topics, two case numbers).
    DifferentIdentity {
        ours: StableId,
        theirs: StableId,
    },
    DifferentFunder,
    /// Both give deadlines and share none.
    DifferentDeadline,
    /// A title with no word to compare (filler words only).
    NoTitle,
    /// The titles differ in this word (the one that matters most), and in
    /// `count` words in all.
    TitlesDiffer {
        diff: WordDiff,
        count: usize,
    },
}

impl Refusal {
    /// The two listings are proven distinct: a call holding one of them
    /// never takes the other, whatever its other listings say.
    pub fn proves_distinct(&self) -> bool {
        matches!(self, Refusal::SameSource | Refusal::DifferentIdentity { .. })
    }
}

/// The decision over two listings.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeDecision {
    Same(MergeReason),
    Apart(Refusal),
}

/// Whether listings `a` and `b` are one call, and why.
pub fn same_call(a: &Listing, b: &Listing) -> MergeDecision {
    use MergeDecision::{Apart, Same};
    if a.source == b.source {
        return match (a.in_source(), b.in_source()) {
            (Some(x), Some(y)) if x == y => Same(MergeReason::SameIdentity { id: x.clone() }),
            _ => Apart(Refusal::SameSource),
        };
    }
    if let Some((ours, theirs)) = conflicting_ids(a, b) {
        return Apart(Refusal::DifferentIdentity { ours: ours.clone(), theirs: theirs.clone() });
    }
    if let Some(id) = a.ids.iter().find(|i| b.ids.contains(i)) {
        return Same(MergeReason::SameIdentity { id: id.clone() });
    }
    if !a.url.is_empty() && a.url == b.url && !a.url_shared && !b.url_shared {
        return Same(MergeReason::SameCanonicalUrl { url: a.url.clone() });
    }
    if funder_key(&a.funder) != funder_key(&b.funder) || funder_key(&a.funder).is_empty() {
        return Apart(Refusal::DifferentFunder);
    }
    let shared = a.deadlines.iter().find(|d| b.deadlines.contains(d)).copied();
    if shared.is_none() && !a.deadlines.is_empty() && !b.deadlines.is_empty() {
        return Apart(Refusal::DifferentDeadline);
    }
    match agreeing_titles(a, b) {
        Ok((ta, tb)) => Same(MergeReason::SameFunderDeadlineTitle {
            funder: a.funder.clone(),
            deadline: shared,
            title: ta.title.clone(),
            matched_title: tb.title.clone(),
        }),
        Err(r) => Apart(r),
    }
}

fn conflicting_ids<'a>(a: &'a Listing, b: &'a Listing) -> Option<(&'a StableId, &'a StableId)> {
    a.ids.iter().flat_map(|x| b.ids.iter().map(move |y| (x, y))).find(|(x, y)| x.same_scheme(y) && x != y)
}

/// The first pair of titles (one of each listing, translations included)
/// that agree; else the difference of the closest pair.
fn agreeing_titles<'a>(a: &'a Listing, b: &'a Listing) -> Result<(&'a TitleWords, &'a TitleWords), Refusal> {
    let mut closest: Option<(WordDiff, usize)> = None;
    for ta in a.titles.iter().filter(|t| !t.is_empty()) {
        for tb in b.titles.iter().filter(|t| !t.is_empty()) {
            match ta.compare(tb) {
                Ok(()) => return Ok((ta, tb)),
                Err((diff, count)) if closest.as_ref().is_none_or(|(_, c)| count < *c) => closest = Some((diff, count)),
                Err(_) => {}
            }
        }
    }
    Err(closest.map_or(Refusal::NoTitle, |(diff, count)| Refusal::TitlesDiffer { diff, count }))
}

/// Whether `new` belongs to the call whose listings are `call`: the
/// strongest reason any of them gives (with the index of that listing),
/// unless one of them proves the two distinct.
pub fn same_as_call(new: &Listing, call: &[Listing]) -> Option<(MergeReason, usize)> {
    let mut best: Option<(MergeReason, usize)> = None;
    for (i, l) in call.iter().enumerate() {
        match same_call(new, l) {
            MergeDecision::Apart(r) if r.proves_distinct() => return None,
            MergeDecision::Apart(_) => {}
            MergeDecision::Same(reason) => {
                if best.as_ref().is_none_or(|(b, _)| reason.strength() > b.strength()) {
                    best = Some((reason, i));
                }
            }
        }
    }
    best
}

/// The call `new` belongs to among `candidates` (each a call's key and its
/// listings, oldest call first): the strongest reason wins, the oldest call
/// on a tie. Title evidence alone that fits more than one call is no
/// evidence: the listing then becomes a call of its own rather than join
/// the wrong one. Returns the call, the reason and the matched listing's index.
pub fn choose_call<'a, K>(new: &Listing, candidates: &'a [(K, Vec<Listing>)]) -> Option<(&'a K, MergeReason, usize)> {
    let fits: Vec<(&K, MergeReason, usize)> =
        candidates.iter().filter_map(|(k, ls)| same_as_call(new, ls).map(|(reason, i)| (k, reason, i))).collect();
    let top = fits.iter().map(|(_, r, _)| r.strength()).max()?;
    let mut strongest = fits.into_iter().filter(|(_, r, _)| r.strength() == top);
    let first = strongest.next()?;
    let ambiguous = matches!(first.1, MergeReason::SameFunderDeadlineTitle { .. }) && strongest.next().is_some();
    (!ambiguous).then_some(first)
}

/// A key the store indexes a listing by: a listing that could merge with
/// another shares one of these with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatchKey(String);

impl MatchKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Bump when [`match_keys`] changes: older rows are keyed again.
pub const MATCH_KEYS_VERSION: i64 = 1;

/// The keys under which `l` can be found: (its own source identity, keys
/// other sources' listings may share).
pub fn match_keys(l: &Listing) -> (Option<MatchKey>, Vec<MatchKey>) {
    const SEP: char = '\u{1f}';
    let mut own = None;
    let mut shared = Vec::new();
    for id in &l.ids {
        match id {
            StableId::InSource { source, key } => own = Some(MatchKey(format!("in:{source}{SEP}{key}"))),
            StableId::EuTopic { id } => shared.push(MatchKey(format!("eu:{id}"))),
            StableId::CaseNumber { funder, number } => shared.push(MatchKey(format!("case:{}{SEP}{number}", funder_key(funder)))),
        }
    }
    if !l.url.is_empty() {
        shared.push(MatchKey(format!("url:{}", l.url)));
    }
    let funder = funder_key(&l.funder);
    if !funder.is_empty() {
        shared.extend(l.titles.iter().filter_map(TitleWords::signature).map(|s| MatchKey(format!("title:{funder}{SEP}{s}"))));
    }
    shared.sort();
    shared.dedup();
    (own, shared)
}

/// The key of `l`'s canonical URL among [`match_keys`] (to ask whether
/// another listing of its source shares it).
pub fn url_key(l: &Listing) -> Option<MatchKey> {
    (!l.url.is_empty()).then(|| MatchKey(format!("url:{}", l.url)))
}

fn funder_key(f: &str) -> String {
    f.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The stable identifiers a listing carries: its key within its source, an
/// EU topic named by its key or page, a case number in its key or URL.
fn stable_ids(source: &str, source_key: &str, url: &str, funder: &str) -> Vec<StableId> {
    let key = source_key.trim();
    let in_source = match reqwest::Url::parse(key) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => canonical_url(key),
        _ => key.to_string(),
    };
    let mut ids = vec![StableId::InSource { source: source.to_string(), key: in_source }];
    let topics = eu_topic_in_url(url).into_iter().chain(looks_like_eu_topic(key).then(|| key.to_uppercase()));
    ids.extend(topics.map(|id| StableId::EuTopic { id }));
    let numbers = case_numbers(key).into_iter().chain(case_numbers(url));
    ids.extend(numbers.map(|number| StableId::CaseNumber { funder: funder_key(funder), number }));
    let mut seen = Vec::with_capacity(ids.len());
    ids.retain(|i| {
        let new = !seen.contains(i);
        seen.push(i.clone());
        new
    });
    ids
}

/// The topic identifier in a Funding & Tenders page address (`…/topic-details/ID`).
fn eu_topic_in_url(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let at = lower.find("/topic-details/")? + "/topic-details/".len();
    let id: String = url.get(at..)?.chars().take_while(|c| !matches!(c, '/' | '?' | '#')).collect();
    looks_like_eu_topic(&id.to_uppercase()).then(|| id.to_uppercase())
}

/// `PROGRAMME-…-2026-…`: upper-case parts joined by hyphens, the first a
/// word, one a year.
fn looks_like_eu_topic(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && parts[0].len() >= 2
        && parts[0].chars().all(|c| c.is_ascii_uppercase())
        && parts.iter().any(|p| p.len() == 4 && (p.starts_with("19") || p.starts_with("20")) && p.chars().all(|c| c.is_ascii_digit()))
}

/// Case numbers of the form `2025-04101` (a year, a hyphen, five digits),
/// not part of a longer number.
fn case_numbers(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(9) {
        let window = &b[i..i + 10];
        let shape = window.iter().enumerate().all(|(j, c)| if j == 4 { *c == b'-' } else { c.is_ascii_digit() });
        let bounded = (i == 0 || !b[i - 1].is_ascii_digit()) && b.get(i + 10).is_none_or(|c| !c.is_ascii_digit());
        if shape && bounded && (window.starts_with(b"19") || window.starts_with(b"20")) {
            out.push(String::from_utf8_lossy(window).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Deadline, Lang, Translation};
    use crate::normalize::titles::WordKind;

    fn dl(y: i32, m: u32, d: u32) -> Deadline {
        Deadline::end_of_day(NaiveDate::from_ymd_opt(y, m, d).unwrap(), Stockholm)
    }

    fn listing(source: &str, key: &str, title: &str, url: &str, funder: &str, deadline: Option<Deadline>) -> Listing {
        let raw = RawCall {
            source_key: key.into(),
            title: title.into(),
            url: url.into(),
            deadlines: deadline.into_iter().collect(),
            ..RawCall::default()
        };
        Listing::from_raw(source, &raw, funder)
    }

    fn apart(a: &Listing, b: &Listing) -> Refusal {
        match same_call(a, b) {
            MergeDecision::Apart(r) => r,
            MergeDecision::Same(reason) => panic!("{:?} / {:?} merged: {reason:?}", a.titles[0].title, b.titles[0].title),
        }
    }

    fn same(a: &Listing, b: &Listing) -> MergeReason {
        match same_call(a, b) {
            MergeDecision::Same(r) => r,
            MergeDecision::Apart(r) => panic!("{:?} / {:?} kept apart: {r:?}", a.titles[0].title, b.titles[0].title),
        }
    }

    /// Two sources, one funder, one deadline, titles one word apart: every family stays apart.
    #[test]
    fn near_duplicate_families_stay_apart() {
        let families = [
            ("Mötesplatser för unga i glesbygd", "Mötesplatser för äldre i glesbygd", WordKind::TargetGroup),
            ("Stöd för kvinnor som startar företag", "Stöd för män som startar företag", WordKind::TargetGroup),
            ("Lokala insatser mot utanförskap – omgång 1", "Lokala insatser mot utanförskap – omgång 2", WordKind::Round),
            ("Testbäddar för välfärdsteknik steg 1", "Testbäddar för välfärdsteknik steg 2", WordKind::Round),
            ("Innovation in public procurement round 2", "Innovation in public procurement round 3", WordKind::Round),
            ("Kultur i hela länet 2026", "Kultur i hela länet 2027", WordKind::Year),
            ("Social innovation for inclusive labour markets", "Social innovation for inclusive housing markets", WordKind::Content),
        ];
        for (a, b, kind) in families {
            let x = listing("feed-a", "guid-1", a, "https://funder.se/a", "Vinnova", Some(dl(2026, 3, 17)));
            let y = listing("feed-b", "guid-2", b, "https://funder.se/b", "Vinnova", Some(dl(2026, 3, 17)));
            match apart(&x, &y) {
                Refusal::TitlesDiffer { diff, .. } => assert_eq!(diff.kind, kind, "{a} / {b}: {diff:?}"),
                other => panic!("{a} / {b}: {other:?}"),
            }
        }
    }

    #[test]
    fn one_source_never_merges_two_of_its_keys() {
        // identical title, funder, deadline and even page: two GUIDs are two calls
        let a = listing("feed", "guid-1", "Stöd till föreningar 2026", "https://f.se/utlysningar", "Forte", Some(dl(2026, 3, 1)));
        let b = listing("feed", "guid-2", "Stöd till föreningar 2026", "https://f.se/utlysningar", "Forte", Some(dl(2026, 3, 1)));
        assert_eq!(apart(&a, &b), Refusal::SameSource);
        // a page whose key is its URL is the same page with tracking parameters
        let p = listing("html", "https://f.se/u/1", "Stöd", "https://f.se/u/1", "Forte", None);
        let q = listing("html", "https://F.se/u/1/?utm_source=nl", "Stöd (uppdaterad)", "https://f.se/u/1/?utm_source=nl", "Forte", None);
        assert!(matches!(same(&p, &q), MergeReason::SameIdentity { id: StableId::InSource { .. } }));
    }

    #[test]
    fn different_eu_topics_with_identical_titles_stay_apart() {
        let title = "Social innovation for inclusive labour markets in the green and digital transition";
        let topic = |source: &str, id: &str| {
            listing(
                source,
                id,
                title,
                &format!("https://ec.europa.eu/topic-details/{id}"),
                "Europeiska kommissionen",
                Some(dl(2026, 9, 17)),
            )
        };
        let a = topic("eu-portal", "HORIZON-CL2-2026-01-TRANSFO-03");
        let b = topic("eu-mirror", "HORIZON-CL2-2026-01-TRANSFO-04");
        assert!(matches!(apart(&a, &b), Refusal::DifferentIdentity { ours: StableId::EuTopic { .. }, .. }));
        // the same topic from a second source is one call
        let c = topic("eu-mirror", "HORIZON-CL2-2026-01-TRANSFO-03");
        assert_eq!(same(&a, &c), MergeReason::SameIdentity { id: StableId::EuTopic { id: "HORIZON-CL2-2026-01-TRANSFO-03".into() } });
    }

    #[test]
    fn different_case_numbers_of_one_funder_stay_apart() {
        let a = listing(
            "vinnova",
            "2025-04101",
            "Social innovation 2026",
            "https://vinnova.se/?q=2025-04101",
            "Vinnova",
            Some(dl(2026, 3, 17)),
        );
        let b = listing(
            "rss",
            "vinnova-call-2025-04102-en",
            "Social innovation 2026",
            "https://vinnova.se/en/x",
            "Vinnova",
            Some(dl(2026, 3, 17)),
        );
        assert!(matches!(apart(&a, &b), Refusal::DifferentIdentity { ours: StableId::CaseNumber { .. }, .. }));
        let c = listing("rss", "vinnova-call-2025-04101-en", "Social innovation 2026", "https://vinnova.se/en/x", "Vinnova", None);
        assert!(matches!(same(&a, &c), MergeReason::SameIdentity { id: StableId::CaseNumber { .. } }));
        // another funder's number of the same form is another scheme
        let d = listing("formas", "2025-04102", "Social innovation 2026", "https://formas.se/2025-04102", "Formas", Some(dl(2026, 3, 17)));
        assert_eq!(apart(&a, &d), Refusal::DifferentFunder);
    }

    #[test]
    fn the_same_page_across_sources_merges_whatever_the_titles() {
        let eu = listing(
            "eu-portal",
            "SOCPL-2026-SOC-INNOV",
            "Social innovation and social economy: transnational cooperation",
            "https://ec.europa.eu/info/topic-details/SOCPL-2026-SOC-INNOV",
            "Europeiska kommissionen",
            Some(dl(2026, 4, 15)),
        );
        let esf = listing(
            "esf",
            "https://esf.se/u/easi",
            "Social innovation och social ekonomi (EaSI)",
            "HTTPS://EC.EUROPA.EU/info/topic-details/SOCPL-2026-SOC-INNOV/?utm_source=esf.se&utm_medium=web&fbclid=x#apply",
            "Svenska ESF-rådet",
            None,
        );
        assert!(matches!(same(&eu, &esf), MergeReason::SameIdentity { .. }));
        // no identifier in the address: the canonical URL alone
        let a = listing("a", "1", "Kultur för alla", "https://region.se/kultur/?gclid=1", "Region Örebro län", None);
        let b = listing("b", "x", "Kulturstöd", "https://REGION.se/kultur", "Kulturrådet", None);
        assert_eq!(same(&a, &b), MergeReason::SameCanonicalUrl { url: "https://region.se/kultur".into() });
        // …unless the page is one its source links many calls to
        let shared = Listing { url_shared: true, ..b.clone() };
        assert_eq!(apart(&a, &shared), Refusal::DifferentFunder);
    }

    #[test]
    fn swedish_and_english_titles_of_one_funder_merge() {
        let sv =
            listing("vinnova", "A1", "Social innovation för inkludering 2026", "https://vinnova.se/a", "Vinnova", Some(dl(2026, 3, 17)));
        let en = listing(
            "vinnova-rss",
            "feed-9",
            "Social innovation for inclusion 2026",
            "https://vinnova.se/en/b",
            "Vinnova",
            Some(dl(2026, 3, 17)),
        );
        assert!(matches!(same(&sv, &en), MergeReason::SameFunderDeadlineTitle { deadline: Some(_), .. }));
        // through a listing's own translation, beyond the glossary
        let mut raw = RawCall {
            source_key: "A2".into(),
            title: "Mötesplatser för unga i glesbygd".into(),
            url: "https://vinnova.se/m".into(),
            deadlines: vec![dl(2026, 4, 2)],
            ..RawCall::default()
        };
        raw.translations = vec![Translation {
            lang: Lang::En,
            title: "Meeting places for young people in sparsely populated areas".into(),
            text: String::new(),
        }];
        let with_translation = Listing::from_raw("vinnova", &raw, "Vinnova");
        let en = listing(
            "rss",
            "x",
            "Meeting places for young people in sparsely populated areas",
            "https://vinnova.se/x",
            "Vinnova",
            Some(dl(2026, 4, 2)),
        );
        assert!(matches!(same(&with_translation, &en), MergeReason::SameFunderDeadlineTitle { .. }));
        // …but a funder, a deadline or a title word apart is not
        let other_funder =
            listing("forte", "f", "Social innovation for inclusion 2026", "https://forte.se/f", "Forte", Some(dl(2026, 3, 17)));
        assert_eq!(apart(&sv, &other_funder), Refusal::DifferentFunder);
        let other_date =
            listing("rss", "y", "Social innovation for inclusion 2026", "https://vinnova.se/y", "Vinnova", Some(dl(2026, 9, 17)));
        assert_eq!(apart(&sv, &other_date), Refusal::DifferentDeadline);
        let no_year = listing("rss", "z", "Social innovation for inclusion", "https://vinnova.se/z", "Vinnova", Some(dl(2026, 3, 17)));
        assert!(matches!(apart(&sv, &no_year), Refusal::TitlesDiffer { diff: WordDiff { kind: WordKind::Year, .. }, count: 1 }));
    }

    #[test]
    fn a_call_is_joined_on_its_strongest_evidence_and_never_against_a_proof() {
        let eu = listing("eu", "CERV-2026-CHILD", "Rights of the child", "https://ec.europa.eu/topic-details/CERV-2026-CHILD", "EU", None);
        let esf = listing("esf", "https://esf.se/child", "Barnets rättigheter", "https://esf.se/child", "Svenska ESF-rådet", None);
        let call = vec![eu.clone(), esf.clone()];
        // the ESF page's Swedish title from a third source joins through the ESF listing
        let rss = listing("esf-rss", "g1", "Barnets rättigheter", "https://esf.se/nyhet/1", "Svenska ESF-rådet", None);
        assert!(matches!(same_as_call(&rss, &call), Some((MergeReason::SameFunderDeadlineTitle { .. }, 1))));
        // a second topic never joins, though its ESF title would
        let other = listing(
            "eu-2",
            "CERV-2026-YOUTH",
            "Barnets rättigheter",
            "https://ec.europa.eu/topic-details/CERV-2026-YOUTH",
            "Svenska ESF-rådet",
            None,
        );
        assert_eq!(same_as_call(&other, &call), None);
        // nor another listing of a source the call already has
        let esf2 = listing("esf", "https://esf.se/child-2", "Barnets rättigheter", "https://esf.se/child-2", "Svenska ESF-rådet", None);
        assert_eq!(same_as_call(&esf2, &call), None);
    }

    #[test]
    fn title_evidence_that_fits_two_calls_is_none() {
        let new = listing("rss", "g", "Kultur i hela länet 2026", "https://r.se/g", "Region", None);
        let c1 = vec![listing("a", "1", "Kultur i hela länet 2026", "https://r.se/1", "Region", None)];
        let c2 = vec![listing("b", "2", "Kultur i hela länet 2026", "https://r.se/2", "Region", None)];
        assert!(choose_call(&new, &[(1, c1.clone())]).is_some());
        assert!(choose_call(&new, &[(1, c1.clone()), (2, c2)]).is_none());
        // a stronger reason still decides
        let c3 = vec![listing("c", "3", "Något annat", "https://r.se/g", "Region", None)];
        let candidates = [(1, c1), (3, c3)];
        let (k, reason, _) = choose_call(&new, &candidates).unwrap();
        assert_eq!((*k, reason.strength()), (3, 2));
    }

    #[test]
    fn keys_name_identity_url_and_titles() {
        let l = listing(
            "eu",
            "SOCPL-2026-SOC-INNOV",
            "Social innovation",
            "https://ec.europa.eu/topic-details/SOCPL-2026-SOC-INNOV",
            "EU",
            None,
        );
        let (own, shared) = match_keys(&l);
        assert_eq!(own.unwrap().as_str(), "in:eu\u{1f}SOCPL-2026-SOC-INNOV");
        let s: Vec<&str> = shared.iter().map(MatchKey::as_str).collect();
        assert_eq!(
            s,
            ["eu:SOCPL-2026-SOC-INNOV", "title:eu\u{1f}innovation social", "url:https://ec.europa.eu/topic-details/SOCPL-2026-SOC-INNOV"]
        );
        assert_eq!(case_numbers("vinnova-call-2025-04101-en ?q=2024-00001 12025-04101 2025-041012"), ["2025-04101", "2024-00001"]);
        assert!(!looks_like_eu_topic("vinnova-call-2025-04101-en") && !looks_like_eu_topic("2025-04101"));
    }
}
