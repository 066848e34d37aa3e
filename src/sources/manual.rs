//! Sources → manual: calls that no source covers (a regional fund, a
//! foundation), added by AU with `calls add` or `calls import FILE.jsonl`.
//! Pure: the fields are checked and become a `RawCall`; `jobs::ingest`
//! stores them through the same de-duplication as fetched calls, marked manual.

use super::dates::find_date;
use crate::domain::{Deadline, Lang, RawCall};
use crate::normalize::canonical_url;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Stockholm;
use serde::Deserialize;

/// The source name manual calls are listed under.
pub const MANUAL_SOURCE: &str = "manual";

/// One call as AU writes it (a JSON line, or `calls add` options).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManualCall {
    pub title: String,
    pub url: String,
    #[serde(default)]
    pub funder: Option<String>,
    /// `2026-03-15`, `2026-03-15T14:00`, RFC 3339, or `15 mars 2026`.
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error("rad {line}: {message}")]
    Line { line: usize, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("kan inte läsa filen: {0}")]
    Io(#[from] std::io::Error),
}

impl ManualCall {
    /// Check the fields and turn them into a listing.
    pub fn to_raw(&self) -> Result<RawCall, String> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err("title: saknas".into());
        }
        let url = self.url.trim();
        match reqwest::Url::parse(url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => return Err(format!("url: «{url}» är ingen webbadress (http/https)")),
        }
        let lang = match self.lang.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(l) => Some(Lang::parse(l).ok_or_else(|| format!("lang: «{l}» ska vara sv eller en"))?),
            None => None,
        };
        let deadlines = match self.deadline.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(d) => {
                vec![parse_deadline(d).ok_or_else(|| format!("deadline: «{d}» är inget datum (t.ex. 2026-03-15 eller 2026-03-15T14:00)"))?]
            }
            None => Vec::new(),
        };
        Ok(RawCall {
            source_key: canonical_url(url),
            title: title.to_string(),
            url: url.to_string(),
            funder: self.funder.clone().filter(|f| !f.trim().is_empty()),
            text: self.text.clone(),
            lang,
            deadlines,
            ..RawCall::default()
        })
    }
}

/// A deadline as AU writes it; zone-less means Swedish time, a bare date the end of that day.
pub fn parse_deadline(s: &str) -> Option<Deadline> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Deadline { at: t.with_timezone(&Utc), tz: Stockholm, date_only: false });
    }
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Deadline::local(n.date(), n.time(), Stockholm));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(Deadline::end_of_day(d, Stockholm));
    }
    match find_date(s)? {
        (d, Some(t)) => Some(Deadline::local(d, t, Stockholm)),
        (d, None) => Some(Deadline::end_of_day(d, Stockholm)),
    }
}

/// The funder of a manual call that names none.
pub const UNKNOWN_FUNDER: &str = "Okänd finansiär";

/// `calls import FILE.jsonl`, read: one JSON object a line (blank lines
/// and lines starting with `#` skipped). Every line is checked; the first
/// error names its line.
pub fn parse_jsonl<R: std::io::BufRead>(reader: R) -> Result<Vec<RawCall>, ManualError> {
    let mut raws = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let call: ManualCall = serde_json::from_str(t).map_err(|e| ManualError::Line { line: i + 1, message: e.to_string() })?;
        raws.push(call.to_raw().map_err(|message| ManualError::Line { line: i + 1, message })?);
    }
    Ok(raws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        assert_eq!(parse_deadline("2026-03-15").unwrap().at.to_rfc3339(), "2026-03-15T22:59:00+00:00");
        assert_eq!(parse_deadline("2026-03-15T14:00").unwrap().at.to_rfc3339(), "2026-03-15T13:00:00+00:00");
        assert_eq!(parse_deadline("den 3 februari 2026 kl. 14.00").unwrap().at.to_rfc3339(), "2026-02-03T13:00:00+00:00");
        assert!(parse_deadline("snart").is_none());
    }
}
