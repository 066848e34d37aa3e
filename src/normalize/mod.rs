//! Adapters → normalize → store: a source's `RawCall` becomes a `Call`
//! (plain trimmed text, language, funder, sorted deadlines, status by the
//! dates), with the canonical URL and title key that de-duplication
//! (`dedup.rs`) matches on, and how readings merge (`merge.rs`). Pure: the
//! ingest that applies them to the store is `jobs::ingest`.

use crate::domain::{Call, CallStatus, Deadline, Lang, RawCall, Translation};
use crate::sources::html::strip_tags;
use chrono::{DateTime, Utc};

pub mod dedup;
pub mod merge;
pub mod rules;
pub mod titles;

/// RawCall → Call. `spec_funder_default` is used when the listing names no funder.
pub fn normalize(raw: &RawCall, spec_funder_default: &str, now: DateTime<Utc>) -> Call {
    // Titles are plain text from every adapter (the feed adapter strips an
    // HTML-typed title itself): kept verbatim but for whitespace, so that
    // "<script>" in a title stays text, escaped wherever it is shown.
    let title = one_line(&raw.title);
    let text = raw.text.as_deref().map(strip_tags).unwrap_or_default();
    let summary = match raw.summary.as_deref().map(strip_tags).filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => excerpt(&text, 300),
    };
    let lang = raw.lang.or_else(|| guess_lang(&format!("{title}\n{summary}\n{text}"))).unwrap_or_default();
    let funder = raw.funder.as_deref().map(one_line).filter(|f| !f.is_empty()).unwrap_or_else(|| one_line(spec_funder_default));
    let mut deadlines = raw.deadlines.clone();
    deadlines.sort();
    deadlines.dedup_by_key(|d| d.at);
    let translations = raw
        .translations
        .iter()
        .map(|t| Translation { lang: t.lang, title: one_line(&t.title), text: strip_tags(&t.text) })
        .filter(|t| !t.title.is_empty() && t.lang != lang)
        .collect();
    let (deadlines, opens) = dates_from_text(&title, &text, &funder, raw, deadlines);
    let status = status_at(raw.status, &deadlines, opens, now);
    let mut decision_dates = raw.decision_dates.clone();
    decision_dates.sort();
    decision_dates.dedup();
    Call {
        reference: None,
        title,
        url: raw.url.trim().to_string(),
        funder,
        programme: raw.programme.as_deref().map(one_line).filter(|p| !p.is_empty()),
        summary,
        text,
        lang,
        translations,
        deadlines,
        opens,
        status,
        budget: raw.budget.clone().filter(|b| b.amount.is_finite() && b.amount > 0.0),
        decision_dates,
        eligibility: raw.eligibility.as_deref().map(strip_tags).filter(|e| !e.is_empty()),
    }
}

/// The deadlines and opening, filled from the call's own text when the
/// adapter gave none (a page saying "Stänger 22 juni 2023" is then closed,
/// not open with no deadline). Filled here rather than after storing so
/// that every reading of the same listing gives the same call: a relisting
/// never flaps between the adapter's dates and the text's.
fn dates_from_text(
    title: &str,
    text: &str,
    funder: &str,
    raw: &RawCall,
    deadlines: Vec<Deadline>,
) -> (Vec<Deadline>, Option<DateTime<Utc>>) {
    let rolling = raw.status == Some(CallStatus::Rolling);
    let wants_deadlines = deadlines.is_empty() && !rolling;
    if text.is_empty() || (!wants_deadlines && raw.opens.is_some()) {
        return (deadlines, raw.opens);
    }
    // dates do not depend on the home county; the stored rules are read with it
    let input = rules::RulesInput { title, text, funder, home_county: "", tz: chrono_tz::Europe::Stockholm };
    let read = rules::read_rules(&input);
    let deadlines = if wants_deadlines { read.deadlines } else { deadlines };
    (deadlines, raw.opens.or_else(|| read.opens.map(|o| o.instant())))
}

/// The status by the dates: a call whose last deadline has passed is closed
/// whatever the source says; one that opens later is forthcoming.
pub fn status_at(
    said: Option<CallStatus>,
    deadlines: &[crate::domain::Deadline],
    opens: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> CallStatus {
    let last = deadlines.iter().map(|d| d.at).max();
    if said == Some(CallStatus::Closed) || last.is_some_and(|l| l < now) {
        return CallStatus::Closed;
    }
    if opens.is_some_and(|o| o > now) {
        return CallStatus::Forthcoming;
    }
    match said {
        Some(CallStatus::Rolling) if deadlines.is_empty() => CallStatus::Rolling,
        Some(CallStatus::Forthcoming) if opens.is_none() => CallStatus::Forthcoming,
        _ => CallStatus::Open,
    }
}

/// Swedish or English, by whatlang restricted to those two (it reads Swedish
/// as Norwegian otherwise). `None` for too little text.
pub fn guess_lang(text: &str) -> Option<Lang> {
    if text.split_whitespace().count() < 3 {
        return None;
    }
    let detector = whatlang::Detector::with_allowlist(vec![whatlang::Lang::Swe, whatlang::Lang::Eng]);
    match detector.detect_lang(text)? {
        whatlang::Lang::Swe => Some(Lang::Sv),
        whatlang::Lang::Eng => Some(Lang::En),
        _ => None,
    }
}

/// Query parameters that only track the visitor.
const TRACKING: [&str; 10] = ["fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "igshid", "ref"];

/// The URL as compared for de-duplication: lower-case scheme and host (the
/// URL parser does that), no fragment, no tracking parameters, no trailing
/// slash, no default port. Text that is no URL is trimmed and lower-cased.
pub fn canonical_url(url: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(url.trim()) else { return url.trim().to_lowercase() };
    u.set_fragment(None);
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    if u.path().len() > 1 && u.path().ends_with('/') {
        let p = u.path().trim_end_matches('/').to_string();
        u.set_path(&p);
    }
    let mut s = String::from(u);
    if s.ends_with('/') && !s.contains('?') {
        s.pop();
    }
    s
}

/// The title as stored for display-independent comparison: lower case,
/// diacritics and punctuation removed, filler words dropped, common Swedish
/// words folded to English (see `titles.rs`).
pub fn title_key(title: &str) -> String {
    titles::title_key(title)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The start of a text, cut at a word boundary.
fn excerpt(text: &str, max: usize) -> String {
    let flat = one_line(text);
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).to_string();
    format!("{cut} …")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Deadline;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn a_page_that_prints_its_dates_is_not_open_without_a_deadline() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let page = |text: &str| RawCall { title: "Utlysning".into(), text: Some(text.into()), ..RawCall::default() };
        let closed = normalize(&page("Stänger 22 juni 2023"), "Tillväxtverket", now);
        let day = NaiveDate::from_ymd_opt(2023, 6, 22).unwrap();
        assert_eq!(closed.deadlines, vec![Deadline::end_of_day(day, chrono_tz::Europe::Stockholm)]);
        assert_eq!(closed.status, CallStatus::Closed);
        let later = normalize(&page("Öppnar 12 augusti 2027\nSista ansökningsdag 2027-10-20"), "Vinnova", now);
        assert_eq!(later.status, CallStatus::Forthcoming);
        assert_eq!(later.opens.map(|o| o.with_timezone(&chrono_tz::Europe::Stockholm).date_naive()), NaiveDate::from_ymd_opt(2027, 8, 12));
        // the adapter's own deadline wins over the text's
        let adapter = Deadline::end_of_day(NaiveDate::from_ymd_opt(2027, 1, 31).unwrap(), chrono_tz::Europe::Stockholm);
        let given = RawCall { deadlines: vec![adapter], ..page("Stänger 22 juni 2023") };
        assert_eq!(normalize(&given, "Tillväxtverket", now).deadlines, vec![adapter]);
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(canonical_url("HTTPS://WWW.Esf.SE/Utlysningar/?utm_source=nl&id=4#top"), "https://www.esf.se/Utlysningar?id=4");
        assert_eq!(canonical_url("https://example.se/"), "https://example.se");
        assert_eq!(canonical_url("https://example.se:443/a/b/"), "https://example.se/a/b");
        assert_eq!(canonical_url(" not a url "), "not a url");
    }

    #[test]
    fn title_keys_fold_languages() {
        assert_eq!(title_key("Social innovation för inkludering – utlysning 2026"), "social innovation inclusion 2026");
        assert_eq!(title_key("Social innovation for inclusion: call 2026"), "social innovation inclusion 2026");
    }

    #[test]
    fn language_guess() {
        assert_eq!(guess_lang("Utlysningen riktar sig till idéburna organisationer som vill utveckla nya arbetssätt"), Some(Lang::Sv));
        assert_eq!(guess_lang("The call supports projects that develop social innovation in local communities"), Some(Lang::En));
        assert_eq!(guess_lang("Hej"), None);
    }

    #[test]
    fn past_deadline_closes_whatever_the_source_says() {
        let now = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
        let raw = RawCall {
            source_key: "X".into(),
            title: " Stöd &\n <script>mer</script> ".into(),
            url: "https://x.se/a".into(),
            text: Some("<p>Första stycket om sociala innovationer i Örebro län.</p><p>Andra.</p>".into()),
            deadlines: vec![Deadline::end_of_day(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), chrono_tz::Europe::Stockholm)],
            status: Some(CallStatus::Open),
            ..RawCall::default()
        };
        let c = normalize(&raw, "Vinnova", now);
        // A title is text: whitespace is tidied, markup stays text (escaped wherever it is shown).
        assert_eq!(c.title, "Stöd & <script>mer</script>");
        assert_eq!(c.status, CallStatus::Closed);
        assert_eq!(c.funder, "Vinnova");
        assert_eq!(c.text, "Första stycket om sociala innovationer i Örebro län.\nAndra.");
        assert_eq!(c.lang, Lang::Sv);
        let earlier = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(normalize(&raw, "Vinnova", earlier).status, CallStatus::Open);
    }
}
