//! Funding calls: what an adapter reads (`RawCall`) and what the pipeline
//! stores and shows (`Call`), with deadlines, status and the stable
//! reference `PSI-0042`.

use super::Lang;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The stable short reference every call gets: `PSI-0042`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u32);

impl CallRef {
    /// Parse `PSI-0042`, `psi-42` or `PSI 0042`.
    pub fn parse(s: &str) -> Option<CallRef> {
        let s = s.trim();
        let rest = s.get(..3)?.eq_ignore_ascii_case("psi").then(|| &s[3..])?;
        let rest = rest.trim_start_matches(['-', ' ', '_']);
        if rest.is_empty() || rest.len() > 9 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse().ok().filter(|n| *n > 0).map(CallRef)
    }
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PSI-{:04}", self.0)
    }
}

impl Serialize for CallRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CallRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CallRef::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a call reference: {s}")))
    }
}

/// One deadline (cut-off) of a call: an instant, plus the zone it was
/// announced in (EU calls: Europe/Brussels; Swedish funders:
/// Europe/Stockholm). A date without a time of day means the end of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    pub tz: Tz,
    /// True when the source gave only a date.
    pub date_only: bool,
}

impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.date_only, self.tz.name()).cmp(&(other.at, other.date_only, other.tz.name()))
    }
}

impl Deadline {
    /// The deadline at `time` local time on `date` in `tz` (the earlier
    /// instant when the local time is ambiguous, the later when it is skipped).
    pub fn local(date: NaiveDate, time: chrono::NaiveTime, tz: Tz) -> Deadline {
        use chrono::TimeZone;
        let naive = date.and_time(time);
        let at = match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            chrono::LocalResult::None => tz
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| naive.and_utc()),
        };
        Deadline { at, tz, date_only: false }
    }

    /// A date-only deadline: the end of that day (23:59) in `tz`.
    pub fn end_of_day(date: NaiveDate, tz: Tz) -> Deadline {
        let time = chrono::NaiveTime::from_hms_opt(23, 59, 0).unwrap_or_default();
        Deadline { date_only: true, ..Deadline::local(date, time, tz) }
    }

    /// The deadline's date as announced (in its own zone).
    pub fn local_date(&self) -> NaiveDate {
        self.at.with_timezone(&self.tz).date_naive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Forthcoming,
    #[default]
    Open,
    Closed,
    /// Applications accepted all year (no deadline).
    Rolling,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Forthcoming => "forthcoming",
            CallStatus::Open => "open",
            CallStatus::Closed => "closed",
            CallStatus::Rolling => "rolling",
        }
    }

    pub fn parse(s: &str) -> Option<CallStatus> {
        match s {
            "forthcoming" => Some(CallStatus::Forthcoming),
            "open" => Some(CallStatus::Open),
            "closed" => Some(CallStatus::Closed),
            "rolling" => Some(CallStatus::Rolling),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub amount: f64,
    /// ISO 4217: SEK, EUR.
    pub currency: String,
}

/// The same call's title and text in another language (Vinnova gives both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Translation {
    pub lang: Lang,
    pub title: String,
    pub text: String,
}

/// A call as one source lists it: the output of an adapter, before
/// normalisation and de-duplication. Text fields may still hold HTML
/// entities or markup; dates are already parsed by the adapter, which knows
/// the source's format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawCall {
    /// The call's identity within its source (topic identifier, Diarienummer,
    /// feed guid, page URL).
    pub source_key: String,
    pub title: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<Translation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Deadline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens: Option<DateTime<Utc>>,
    /// What the source says of the status; normalisation has the last word
    /// (a call whose last deadline has passed is closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CallStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Standing opportunities: the funder's decision dates instead of deadlines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decision_dates: Vec<NaiveDate>,
    /// Who may apply, as the source words it (used for eligibility).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility: Option<String>,
}

/// A normalised call as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Set once the call is stored.
    pub reference: Option<CallRef>,
    pub title: String,
    pub url: String,
    pub funder: String,
    pub programme: Option<String>,
    pub summary: String,
    pub text: String,
    pub lang: Lang,
    pub translations: Vec<Translation>,
    pub deadlines: Vec<Deadline>,
    pub opens: Option<DateTime<Utc>>,
    pub status: CallStatus,
    pub budget: Option<Budget>,
    pub decision_dates: Vec<NaiveDate>,
    pub eligibility: Option<String>,
}

impl Call {
    /// An open Swedish call with only a title, link, funder and text; the
    /// other fields empty (calls added by hand, tests, benchmarks).
    pub fn new(title: &str, url: &str, funder: &str, text: &str) -> Call {
        Call {
            reference: None,
            title: title.to_string(),
            url: url.to_string(),
            funder: funder.to_string(),
            programme: None,
            summary: String::new(),
            text: text.to_string(),
            lang: Lang::Sv,
            translations: Vec::new(),
            deadlines: Vec::new(),
            opens: None,
            status: CallStatus::Open,
            budget: None,
            decision_dates: Vec::new(),
            eligibility: None,
        }
    }

    /// The next deadline at or after `now`, if any.
    pub fn next_deadline(&self, now: DateTime<Utc>) -> Option<&Deadline> {
        self.deadlines.iter().filter(|d| d.at >= now).min_by_key(|d| d.at)
    }

    /// The last deadline, if any.
    pub fn last_deadline(&self) -> Option<&Deadline> {
        self.deadlines.iter().max_by_key(|d| d.at)
    }

    /// Title and all text (both languages), for classification and matching.
    pub fn all_text(&self) -> String {
        let mut s = String::with_capacity(self.title.len() + self.summary.len() + self.text.len() + 8);
        s.push_str(&self.title);
        s.push('\n');
        if !self.summary.is_empty() && !self.text.contains(self.summary.as_str()) {
            s.push_str(&self.summary);
            s.push('\n');
        }
        s.push_str(&self.text);
        for t in &self.translations {
            s.push('\n');
            s.push_str(&t.title);
            s.push('\n');
            s.push_str(&t.text);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ref_round_trips() {
        assert_eq!(CallRef::parse("PSI-0042"), Some(CallRef(42)));
        assert_eq!(CallRef::parse("psi-42"), Some(CallRef(42)));
        assert_eq!(CallRef(7).to_string(), "PSI-0007");
        assert_eq!(CallRef(12345).to_string(), "PSI-12345");
        assert_eq!(CallRef::parse("PSI-"), None);
        assert_eq!(CallRef::parse("PSI-0000"), None);
        assert_eq!(CallRef::parse("XYZ-1"), None);
        assert_eq!(CallRef::parse("PSÏ-1"), None);
    }

    #[test]
    fn date_only_deadline_is_end_of_day_local() {
        let d = Deadline::end_of_day(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), chrono_tz::Europe::Stockholm);
        assert_eq!(d.at.to_rfc3339(), "2026-03-15T22:59:00+00:00");
        assert_eq!(d.local_date(), NaiveDate::from_ymd_opt(2026, 3, 15).unwrap());
    }
}
