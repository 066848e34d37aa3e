//! Sources → adapters: the EU Funding & Tenders Portal search API
//! (`search-api/prod/rest/search`). Pure: one response page (bytes) →
//! `RawCall`s plus what the poll needs to page on. The request itself (POST,
//! multipart `query`/`languages`/`sort`) is described here and sent by
//! `sources::fetch`.

use super::AdapterError;
use crate::domain::{Budget, CallStatus, Deadline, Lang, RawCall};
use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Europe::Brussels;
use serde_json::Value;

/// The portal page of a topic; the index's own `url` (a topicDetails JSON) is often dead.
pub const TOPIC_PAGE: &str = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/";

/// Status codes the portal uses.
pub const STATUS_FORTHCOMING: &str = "31094501";
pub const STATUS_OPEN: &str = "31094502";
pub const STATUS_CLOSED: &str = "31094503";

/// One page of search results.
#[derive(Debug, Clone, Default)]
pub struct EuPage {
    pub calls: Vec<RawCall>,
    pub total_results: u64,
    pub page_number: u64,
    pub page_size: u64,
    /// Results on the page before filtering (to tell the last page).
    pub results_on_page: usize,
}

impl EuPage {
    /// True when another page may hold more results.
    pub fn has_more(&self) -> bool {
        self.results_on_page > 0 && self.page_number.saturating_mul(self.page_size.max(1)) < self.total_results
    }
}

/// The portal page for a topic identifier.
pub fn topic_url(identifier: &str) -> String {
    format!("{TOPIC_PAGE}{identifier}")
}

/// The `query` part: calls and topics (types 1, 2, 8) that are forthcoming or
/// open, optionally restricted to framework programme ids.
pub fn default_query(programme_ids: &[String]) -> String {
    let mut must = vec![
        serde_json::json!({"terms": {"type": ["1", "2", "8"]}}),
        serde_json::json!({"terms": {"status": [STATUS_FORTHCOMING, STATUS_OPEN]}}),
    ];
    if !programme_ids.is_empty() {
        must.push(serde_json::json!({"terms": {"frameworkProgramme": programme_ids}}));
    }
    serde_json::json!({"bool": {"must": must}}).to_string()
}

/// The multipart/form-data body the search API expects; returns
/// (content type, body).
pub fn search_body(query: &str) -> (String, Vec<u8>) {
    let boundary = "psi-radar-7f3a9c1e5b";
    let parts = [("query", query), ("languages", r#"["en"]"#), ("sort", r#"{"order":"ASC","field":"deadlineDate"}"#)];
    let mut body = String::new();
    for (name, value) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"blob\"\r\nContent-Type: application/json\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body.into_bytes())
}

/// The search URL for page `page` (1-based).
pub fn page_url(base: &str, page: u64, page_size: u64) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}pageSize={page_size}&pageNumber={page}")
}

/// Parse one search response page. `identifier_prefixes`, when not empty,
/// keeps only topics whose identifier starts with one of them.
pub fn parse_search(bytes: &[u8], identifier_prefixes: &[String]) -> Result<EuPage, AdapterError> {
    let text = super::utf8(bytes)?;
    let v: Value = serde_json::from_str(text).map_err(|e| AdapterError::Json(e.to_string()))?;
    let results = v.get("results").and_then(Value::as_array).ok_or_else(|| AdapterError::Invalid("fältet «results» saknas".into()))?;
    let mut page = EuPage {
        calls: Vec::new(),
        total_results: v.get("totalResults").and_then(Value::as_u64).unwrap_or(results.len() as u64),
        page_number: v.get("pageNumber").and_then(Value::as_u64).unwrap_or(1),
        page_size: v.get("pageSize").and_then(Value::as_u64).unwrap_or(results.len() as u64),
        results_on_page: results.len(),
    };
    for r in results {
        let Some(call) = parse_result(r) else { continue };
        if !identifier_prefixes.is_empty() && !identifier_prefixes.iter().any(|p| call.source_key.starts_with(p.as_str())) {
            continue;
        }
        // the index returns one result per language; keep the first
        if page.calls.iter().any(|c| c.source_key == call.source_key) {
            continue;
        }
        page.calls.push(call);
    }
    Ok(page)
}

/// First string of a metadata array.
fn meta<'a>(m: &'a Value, key: &str) -> Option<&'a str> {
    m.get(key)?.as_array()?.iter().filter_map(Value::as_str).map(str::trim).find(|s| !s.is_empty())
}

fn meta_all<'a>(m: &'a Value, key: &str) -> Vec<&'a str> {
    m.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn parse_result(r: &Value) -> Option<RawCall> {
    let m = r.get("metadata")?;
    let identifier = meta(m, "identifier").or_else(|| r.get("reference").and_then(Value::as_str))?.to_string();
    let title = meta(m, "title").or_else(|| r.get("title").and_then(Value::as_str)).or_else(|| r.get("summary").and_then(Value::as_str))?;
    let mut deadlines: Vec<Deadline> = meta_all(m, "deadlineDate").into_iter().filter_map(eu_deadline).collect();
    deadlines.sort();
    deadlines.dedup();
    let status = match meta(m, "status") {
        Some(STATUS_FORTHCOMING) => Some(CallStatus::Forthcoming),
        Some(STATUS_OPEN) => Some(CallStatus::Open),
        Some(STATUS_CLOSED) => Some(CallStatus::Closed),
        _ => None,
    };
    let lang = meta(m, "language").and_then(Lang::parse).or(Some(Lang::En));
    Some(RawCall {
        url: topic_url(&identifier),
        title: title.to_string(),
        funder: None,
        programme: programme_name(&identifier).map(str::to_string).or_else(|| meta(m, "callTitle").map(str::to_string)),
        summary: meta(m, "callTitle").map(|c| format!("{c} ({})", meta(m, "callIdentifier").unwrap_or(&identifier))),
        text: meta(m, "descriptionByte").map(str::to_string),
        lang,
        deadlines,
        opens: meta(m, "startDate").and_then(parse_instant),
        status,
        budget: budget(m, &identifier),
        source_key: identifier,
        ..RawCall::default()
    })
}

/// The index stores a cut-off as a date at local midnight (`…T00:00+0100`) or
/// UTC midnight (`…T02:00+0200`); the real cut-off is then 17:00 Brussels time
/// on that date. A real time of day (after 03:00) is kept as given.
fn eu_deadline(s: &str) -> Option<Deadline> {
    let t = parse_instant(s)?;
    let local = t.with_timezone(&Brussels);
    if local.hour() < 3 {
        let five = NaiveTime::from_hms_opt(17, 0, 0)?;
        Some(Deadline::local(local.date_naive(), five, Brussels))
    } else {
        Some(Deadline { at: t, tz: Brussels, date_only: false })
    }
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s.trim()))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Programme from the identifier's prefix (`HORIZON-CL2-…`, `CERV-…`).
pub fn programme_name(identifier: &str) -> Option<&'static str> {
    const PREFIXES: [(&str, &str); 10] = [
        ("HORIZON-CL2", "Horizon Europe – kluster 2 (kultur, kreativitet och inkluderande samhällen)"),
        ("HORIZON", "Horizon Europe"),
        ("CERV", "CERV (medborgare, jämlikhet, rättigheter och värden)"),
        ("ESF-", "ESF+"),
        ("SOCPL", "ESF+ / EaSI"),
        ("ERASMUS", "Erasmus+"),
        ("AMIF", "AMIF (asyl, migration och integration)"),
        ("DIGITAL", "Digitala Europa"),
        ("LIFE", "LIFE"),
        ("EUAF", "EU:s program mot bedrägerier"),
    ];
    PREFIXES.iter().find(|(p, _)| identifier.starts_with(p)).map(|(_, n)| *n)
}

/// `budgetOverview` is JSON inside a string: sum the yearly budgets of the
/// action(s) for this topic.
fn budget(m: &Value, identifier: &str) -> Option<Budget> {
    let overview: Value = serde_json::from_str(meta(m, "budgetOverview")?).ok()?;
    let map = overview.get("budgetTopicActionMap")?.as_object()?;
    let mut total = 0.0;
    let mut found = false;
    for actions in map.values().filter_map(Value::as_array) {
        for a in actions {
            let action = a.get("action").and_then(Value::as_str).unwrap_or("");
            if !action.starts_with(identifier) || action.as_bytes().get(identifier.len()).is_some_and(|b| *b != b' ') {
                continue;
            }
            for v in a.get("budgetYearMap").and_then(Value::as_object).into_iter().flat_map(|o| o.values()) {
                let amount = v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                if let Some(x) = amount {
                    total += x;
                    found = true;
                }
            }
        }
    }
    (found && total > 0.0).then(|| Budget { amount: total, currency: "EUR".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_sample_shapes() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sources/eu/real-sample-search.json")).unwrap();
        let page = parse_search(&bytes, &[]).unwrap();
        assert_eq!(page.calls.len(), 1);
        let c = &page.calls[0];
        assert_eq!(c.source_key, "EUAF-2023-TRAI-03");
        assert_eq!(c.url, format!("{TOPIC_PAGE}EUAF-2023-TRAI-03"));
        assert_eq!(c.deadlines[0].at.to_rfc3339(), "2023-05-11T15:00:00+00:00");
        assert_eq!(c.status, Some(CallStatus::Closed));
        assert_eq!(c.budget.as_ref().map(|b| b.amount), Some(900000.0));
        assert!(page.has_more());
    }

    #[test]
    fn real_time_of_day_is_kept() {
        let d = eu_deadline("2026-04-15T17:00:00.000+0200").unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-04-15T15:00:00+00:00");
        let d = eu_deadline("2025-03-06T00:00:00.000+0100").unwrap();
        assert_eq!(d.at.to_rfc3339(), "2025-03-06T16:00:00+00:00");
    }

    #[test]
    fn multipart_body_has_three_parts() {
        let (ct, body) = search_body(&default_query(&[]));
        let body = String::from_utf8(body).unwrap();
        assert!(ct.starts_with("multipart/form-data; boundary="));
        for name in ["query", "languages", "sort"] {
            assert!(body.contains(&format!("name=\"{name}\"")));
        }
        assert!(body.contains("31094502"));
    }
}
