//! Sources → adapters: RSS and Atom feeds (feed-rs). Pure: the feed's bytes →
//! `RawCall`s; a deadline is read from the entry's text when it names one
//! (`Sista ansökningsdag: 15 mars 2026`), `Löpande` makes the call rolling.

use super::AdapterError;
use super::dates::{DateInfo, parse_date_text};
use crate::domain::{CallStatus, Lang, RawCall};
use chrono_tz::Tz;

/// Words after which a date is a deadline.
const DEADLINE_WORDS: [&str; 8] =
    ["sista ansökningsdag", "sista dag att ansöka", "ansök senast", "ansökan ska vara inne", "stänger", "deadline", "closes", "stängd"];

/// Parse a feed. `tz` is the zone dates without one are in.
pub fn parse(bytes: &[u8], tz: Tz) -> Result<Vec<RawCall>, AdapterError> {
    let feed = feed_rs::parser::parse(bytes).map_err(|e| AdapterError::Feed(e.to_string()))?;
    let lang = feed.language.as_deref().and_then(|l| Lang::parse(l.get(..2).unwrap_or(l)));
    let mut out = Vec::new();
    for e in feed.entries {
        let Some(title) = e.title.as_ref().map(plain_title).filter(|t| !t.is_empty()) else { continue };
        let url = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(e.links.first())
            .map(|l| l.href.trim().to_string());
        let Some(url) = url.filter(|u| !u.is_empty()) else { continue };
        let summary = e.summary.as_ref().map(|s| s.content.clone());
        let text = e.content.as_ref().and_then(|c| c.body.clone());
        let all = format!("{}\n{}", summary.as_deref().unwrap_or(""), text.as_deref().unwrap_or(""));
        let mut raw = RawCall {
            source_key: if e.id.trim().is_empty() { url.clone() } else { e.id.trim().to_string() },
            title,
            url,
            summary,
            text,
            lang,
            ..RawCall::default()
        };
        match deadline_info(&all) {
            Some(DateInfo::Rolling) => raw.status = Some(CallStatus::Rolling),
            Some(DateInfo::Closed { .. }) => raw.status = Some(CallStatus::Closed),
            Some(info) => raw.deadlines.extend(info.deadline(tz)),
            None => {}
        }
        out.push(raw);
    }
    Ok(out)
}

/// A feed title as plain text: RSS titles are text already; an Atom title
/// typed `html`/`xhtml` loses its markup.
fn plain_title(t: &feed_rs::model::Text) -> String {
    let mime = t.content_type.to_string();
    if mime.contains("html") { super::html::strip_tags(&t.content) } else { t.content.trim().to_string() }
}

/// The deadline (or "löpande") named in a text, looking after the words
/// that introduce one.
pub fn deadline_info(text: &str) -> Option<DateInfo> {
    let stripped = super::html::strip_tags(text);
    let lower = stripped.to_lowercase();
    for w in DEADLINE_WORDS {
        if let Some(pos) = lower.find(w) {
            let rest: String = lower[pos..].chars().take(80).collect();
            if let Some(info) = parse_date_text(&rest) {
                return Some(info);
            }
        }
    }
    lower.contains("löpande").then_some(DateInfo::Rolling)
}
