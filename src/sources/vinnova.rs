//! Sources → adapters: Vinnova's open data API (`data.vinnova.se/api/
//! utlysningar/{date}` and `…/ansokningsomgangar/{date}`, everything changed
//! since a date). Pure: the two JSON responses → `RawCall`s, one per call
//! (utlysning), with the closing dates of its rounds as deadlines.

use super::AdapterError;
use crate::domain::{Deadline, Lang, RawCall, Translation};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Stockholm;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where a call's page is when the API gives no link; `{dnr}` is replaced.
/// Vinnova's call pages have slugs the API does not give, so this is a search.
pub const DEFAULT_ITEM_URL: &str = "https://www.vinnova.se/sok-finansiering/hitta-finansiering/?q={dnr}";

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Utlysning {
    diarienummer: String,
    titel: Option<String>,
    titel_engelska: Option<String>,
    beskrivning: Option<String>,
    beskrivning_engelska: Option<String>,
    publiceringsdatum: Option<String>,
    lank_lista: Option<Vec<Lank>>,
    publik: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Omgang {
    diarienummer: String,
    diarienummer_utlysning: Option<String>,
    titel: Option<String>,
    titel_engelska: Option<String>,
    beskrivning: Option<String>,
    beskrivning_engelska: Option<String>,
    oppningsdatum: Option<String>,
    stangningsdatum: Option<String>,
    lank_lista: Option<Vec<Lank>>,
    publik: Option<i64>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(default)]
struct Lank {
    #[serde(rename = "Beskrivning")]
    beskrivning: Option<String>,
    #[serde(rename = "URL")]
    url: Option<String>,
}

/// The URL path for changes since `date`: `{base}/{endpoint}/{YYYY-MM-DD}`.
pub fn changes_url(base: &str, endpoint: &str, since: NaiveDate) -> String {
    format!("{}/{endpoint}/{}", base.trim_end_matches('/'), since.format("%Y-%m-%d"))
}

/// Parse the `utlysningar` response and (optionally) the `ansokningsomgangar`
/// response. Entries with `Publik != 1` are skipped.
pub fn parse(utlysningar: &[u8], rounds: Option<&[u8]>, item_url: &str) -> Result<Vec<RawCall>, AdapterError> {
    let calls: Vec<Utlysning> =
        serde_json::from_str(super::utf8(utlysningar)?).map_err(|e| AdapterError::Json(format!("utlysningar: {e}")))?;
    let rounds: Vec<Omgang> = match rounds {
        Some(b) => serde_json::from_str(super::utf8(b)?).map_err(|e| AdapterError::Json(format!("ansökningsomgångar: {e}")))?,
        None => Vec::new(),
    };
    let mut by_call: BTreeMap<String, Vec<&Omgang>> = BTreeMap::new();
    for r in rounds.iter().filter(|r| r.publik == Some(1)) {
        let key = r.diarienummer_utlysning.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| r.diarienummer.clone());
        by_call.entry(key).or_default().push(r);
    }
    let mut out = Vec::new();
    for c in calls.iter().filter(|c| c.publik == Some(1)) {
        let Some(title) = real_text(&c.titel) else { continue };
        let rs = by_call.remove(&c.diarienummer).unwrap_or_default();
        let mut raw = RawCall {
            source_key: c.diarienummer.clone(),
            title: title.to_string(),
            url: link(c.lank_lista.as_deref(), item_url, &c.diarienummer),
            funder: Some("Vinnova".into()),
            text: real_text(&c.beskrivning).map(str::to_string),
            lang: Some(Lang::Sv),
            translations: translation(&c.titel_engelska, &c.beskrivning_engelska),
            opens: c.publiceringsdatum.as_deref().and_then(local_instant),
            ..RawCall::default()
        };
        add_rounds(&mut raw, &rs);
        out.push(raw);
    }
    // rounds that changed although their call did not: list them on their own
    for (key, rs) in by_call {
        let Some(first) = rs.first() else { continue };
        let Some(title) = real_text(&first.titel) else { continue };
        let mut raw = RawCall {
            source_key: key.clone(),
            title: without_round(title).to_string(),
            url: link(first.lank_lista.as_deref(), item_url, &key),
            funder: Some("Vinnova".into()),
            text: real_text(&first.beskrivning).map(str::to_string),
            lang: Some(Lang::Sv),
            translations: translation(&first.titel_engelska, &first.beskrivning_engelska),
            ..RawCall::default()
        };
        add_rounds(&mut raw, &rs);
        out.push(raw);
    }
    Ok(out)
}

fn add_rounds(raw: &mut RawCall, rounds: &[&Omgang]) {
    for r in rounds {
        if let Some(d) = r.stangningsdatum.as_deref().and_then(local_instant) {
            raw.deadlines.push(Deadline { at: d, tz: Stockholm, date_only: false });
        }
    }
    // the earliest opening of a round is when the call opens
    if let Some(o) = rounds.iter().filter_map(|r| r.oppningsdatum.as_deref().and_then(local_instant)).min() {
        raw.opens = Some(o);
    }
    raw.deadlines.sort();
    raw.deadlines.dedup();
}

/// A round's title without its round suffix (`… – omgång 2`), which is the call's title.
fn without_round(title: &str) -> &str {
    let lower = title.to_lowercase();
    match lower.rfind("omgång") {
        Some(pos) if lower[pos..].chars().skip(6).all(|c| c.is_ascii_digit() || c.is_whitespace()) => {
            title[..pos].trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '–' | '-' | ',' | ':'))
        }
        _ => title,
    }
}

/// Vinnova fills missing English with `x`/`xx`.
fn real_text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| s.chars().count() > 2)
}

fn translation(title: &Option<String>, text: &Option<String>) -> Vec<Translation> {
    match real_text(title) {
        Some(t) => vec![Translation { lang: Lang::En, title: t.to_string(), text: real_text(text).unwrap_or("").to_string() }],
        None => Vec::new(),
    }
}

/// A link to the call: the first link that is not the application portal,
/// else the template.
fn link(links: Option<&[Lank]>, item_url: &str, dnr: &str) -> String {
    links
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.url.as_deref().map(|u| (u.trim(), l.beskrivning.as_deref().unwrap_or(""))))
        .find(|(u, d)| u.starts_with("http") && !u.contains("portal.vinnova.se") && !d.eq_ignore_ascii_case("ansök här"))
        .map(|(u, _)| u.to_string())
        .unwrap_or_else(|| item_url.replace("{dnr}", dnr))
}

/// A zone-less timestamp is Swedish local time.
fn local_instant(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))?;
    Stockholm.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoneless_is_stockholm_and_private_is_skipped() {
        let calls = br#"[{"Diarienummer":"2026-00001","Titel":"Test","TitelEngelska":"x","Publik":1},
                         {"Diarienummer":"2026-00002","Titel":"Hemlig","Publik":0}]"#;
        let rounds = br#"[{"Diarienummer":"2026-00011","DiarienummerUtlysning":"2026-00001","Titel":"Test","Oppningsdatum":"2026-01-10T00:00:00","Stangningsdatum":"2026-03-17T14:00:00","Publik":1}]"#;
        let out = parse(calls, Some(rounds), DEFAULT_ITEM_URL).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].deadlines[0].at.to_rfc3339(), "2026-03-17T13:00:00+00:00");
        assert!(out[0].translations.is_empty());
        assert_eq!(out[0].url, "https://www.vinnova.se/sok-finansiering/hitta-finansiering/?q=2026-00001");
    }

    #[test]
    fn round_without_its_call_keeps_the_call_title() {
        assert_eq!(without_round("Innovationer för ett hållbart civilsamhälle – omgång 2"), "Innovationer för ett hållbart civilsamhälle");
        assert_eq!(without_round("Omgångsstöd 2026"), "Omgångsstöd 2026");
        let rounds = r#"[{"Diarienummer":"2025-03879","DiarienummerUtlysning":"2025-03877","Titel":"Civilsamhälle - omgång 2","Stangningsdatum":"2026-10-08T14:00:00","Publik":1}]"#;
        let out = parse(b"[]", Some(rounds.as_bytes()), DEFAULT_ITEM_URL).unwrap();
        assert_eq!((out[0].source_key.as_str(), out[0].title.as_str()), ("2025-03877", "Civilsamhälle"));
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(matches!(parse(b"<html>", None, DEFAULT_ITEM_URL), Err(AdapterError::Json(_))));
        assert!(matches!(parse(b"[\xff]", None, DEFAULT_ITEM_URL), Err(AdapterError::Encoding(_))));
    }
}
