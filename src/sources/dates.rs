//! Sources → adapters: reading the date text Swedish funders write on their
//! pages and in feeds (`15 mars 2026`, `den 3 februari 2026 kl. 14.00`,
//! `2026-03-15`, `Stängd 19 mars 2024`, `Öppnar 12 augusti 2024`, `Löpande`).

use crate::domain::Deadline;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

/// What a piece of date text says about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateInfo {
    /// A deadline (`Sista ansökningsdag 15 mars 2026`, `2026-03-15 kl. 14.00`).
    Deadline { date: NaiveDate, time: Option<NaiveTime> },
    /// The call has closed (`Stängd 19 mars 2024`, `Stängd`).
    Closed { date: Option<NaiveDate> },
    /// The call opens later (`Öppnar 12 augusti 2024`).
    Opens { date: NaiveDate },
    /// Applications accepted continuously (`Löpande`).
    Rolling,
}

impl DateInfo {
    /// The deadline in `tz`, if the text gave one (end of day when no time).
    pub fn deadline(&self, tz: Tz) -> Option<Deadline> {
        match *self {
            DateInfo::Deadline { date, time: Some(t) } => Some(Deadline::local(date, t, tz)),
            DateInfo::Deadline { date, time: None } | DateInfo::Closed { date: Some(date) } => Some(Deadline::end_of_day(date, tz)),
            _ => None,
        }
    }
}

/// Read a date text. `None` when it holds no date and no known keyword.
pub fn parse_date_text(s: &str) -> Option<DateInfo> {
    let lower = s.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| c.is_whitespace() || c == ':' || c == ',').filter(|w| !w.is_empty()).collect();
    let has = |w: &str| words.iter().any(|x| x.starts_with(w));
    let found = find_date(s);
    if has("stängd") || has("stängt") || has("avslutad") || has("closed") {
        return Some(DateInfo::Closed { date: found.map(|(d, _)| d) });
    }
    if let (true, Some((date, _))) = (has("öppnar") || has("opens") || has("öppnas"), found) {
        return Some(DateInfo::Opens { date });
    }
    if let Some((date, time)) = found {
        return Some(DateInfo::Deadline { date, time });
    }
    if has("löpande") || has("rolling") || has("continuous") || lower.contains("hela året") {
        return Some(DateInfo::Rolling);
    }
    None
}

/// The first date in `s` (ISO `2026-03-15`, or `15 mars 2026` / `3 feb. 2026`
/// / `15 March 2026` / `March 15, 2026`), with the time of day if one follows
/// (`kl. 14.00`, `14:00`).
pub fn find_date(s: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let lower = s.to_lowercase();
    let tokens = date_tokens(&lower);
    scan_dates(&tokens).into_iter().find_map(|m| Some((m.date(m.year?)?, m.time)))
}

/// One date written in a text, the year left open when the text omits it
/// (`Ansökan stänger: 29 februari`); the caller decides which year is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateMention {
    /// Index of the first token of the date in the token list scanned.
    pub first: usize,
    /// Index just past its last token (the time included).
    pub end: usize,
    pub day: u32,
    pub month: u32,
    pub year: Option<i32>,
    pub time: Option<NaiveTime>,
}

impl DateMention {
    /// The date in `year` (None for 30 February and the like).
    pub fn date(&self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }
}

/// The tokens date scanning works on: `s` (already lower-cased) split at
/// white space, commas and brackets, with trailing `.:;` trimmed.
pub fn date_tokens(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .map(|t| t.trim_matches(|c: char| c == '.' || c == ':' || c == ';'))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Every date in `tokens` (from [`date_tokens`]): ISO dates, `15 mars [2026]`,
/// `28th September 2023`, `September 28th[,] 2023`, each with the time that
/// follows it.
pub fn scan_dates(tokens: &[&str]) -> Vec<DateMention> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match date_at(tokens, i) {
            Some(m) => {
                i = m.end;
                found.push(m);
            }
            None => i += 1,
        }
    }
    found
}

fn date_at(tokens: &[&str], i: usize) -> Option<DateMention> {
    let tok = tokens[i];
    let with_time = |m: DateMention| {
        let time = m.time.or_else(|| time_after(&tokens[m.end..]));
        let end = if time.is_some() && m.time.is_none() { time_end(tokens, m.end) } else { m.end };
        DateMention { time, end, ..m }
    };
    // ISO date, possibly glued to a time: 2026-03-15T14:00
    if let Some(date) = tok.get(..10).and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()) {
        use chrono::Datelike;
        let glued = tok.get(11..).and_then(parse_time);
        let m = DateMention { first: i, end: i + 1, day: date.day(), month: date.month(), year: Some(date.year()), time: glued };
        return Some(with_time(m));
    }
    // 15 mars [2026]
    if let (Some(day), Some(month)) = (day_number(tok), tokens.get(i + 1).and_then(|m| month_number(m))) {
        let year = tokens.get(i + 2).and_then(|y| year_number(y));
        let end = i + 2 + usize::from(year.is_some());
        let m = DateMention { first: i, end, day, month, year, time: None };
        return m.date(year.unwrap_or(2024)).map(|_| with_time(m));
    }
    // September 28th[,] 2023
    if let (Some(month), Some(day)) = (month_number(tok).filter(|_| tok.len() >= 3), tokens.get(i + 1).and_then(|d| day_number(d))) {
        let year = tokens.get(i + 2).and_then(|y| year_number(y));
        let m = DateMention { first: i, end: i + 2 + usize::from(year.is_some()), day, month, year, time: None };
        return (year.is_some() && m.date(year.unwrap_or(2024)).is_some()).then(|| with_time(m));
    }
    None
}

/// Swedish ordinals written out ("den artonde februari").
const ORDINALS: [&str; 31] = [
    "första",
    "andra",
    "tredje",
    "fjärde",
    "femte",
    "sjätte",
    "sjunde",
    "åttonde",
    "nionde",
    "tionde",
    "elfte",
    "tolfte",
    "trettonde",
    "fjortonde",
    "femtonde",
    "sextonde",
    "sjuttonde",
    "artonde",
    "nittonde",
    "tjugonde",
    "tjugoförsta",
    "tjugoandra",
    "tjugotredje",
    "tjugofjärde",
    "tjugofemte",
    "tjugosjätte",
    "tjugosjunde",
    "tjugoåttonde",
    "tjugonionde",
    "trettionde",
    "trettioförsta",
];

fn day_number(t: &str) -> Option<u32> {
    if let Some(n) = ORDINALS.iter().position(|o| *o == t) {
        return u32::try_from(n + 1).ok();
    }
    let t = t.strip_prefix("den").unwrap_or(t);
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &t[digits.len()..];
    if digits.is_empty() || digits.len() > 2 || !matches!(suffix, "" | "st" | "nd" | "rd" | "th" | "e" | "a") {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year_number(t: &str) -> Option<i32> {
    t.parse::<i32>().ok().filter(|y| (1990..=2100).contains(y))
}

/// Where the time found by [`time_after`] ends.
fn time_end(tokens: &[&str], from: usize) -> usize {
    match tokens.get(from) {
        Some(&"kl") | Some(&"klockan") | Some(&"at") => from + 2,
        _ => from + 1,
    }
}

/// A time of day at the start of `rest` (`kl 14.00`, `at 17:00`, `16h00`).
pub fn time_after(rest: &[&str]) -> Option<NaiveTime> {
    let mut it = rest.iter().take(3);
    match it.next() {
        Some(&"kl") | Some(&"klockan") | Some(&"at") => it.next().and_then(|t| parse_time(t)),
        Some(t) => parse_time(t).filter(|_| t.contains([':', '.', 'h'])),
        None => None,
    }
}

/// `14:00`, `14.00`, `16h00`, `14`.
pub fn parse_time(t: &str) -> Option<NaiveTime> {
    let t = t.trim_end_matches(|c: char| !c.is_ascii_digit());
    let (h, m) = t.split_once([':', '.', 'h']).unwrap_or((t, "0"));
    let m = m.get(..2).unwrap_or(m);
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn month_number(m: &str) -> Option<u32> {
    let m = m.trim_end_matches('.');
    const MONTHS: [(&str, &str, u32); 12] = [
        ("januari", "january", 1),
        ("februari", "february", 2),
        ("mars", "march", 3),
        ("april", "april", 4),
        ("maj", "may", 5),
        ("juni", "june", 6),
        ("juli", "july", 7),
        ("augusti", "august", 8),
        ("september", "september", 9),
        ("oktober", "october", 10),
        ("november", "november", 11),
        ("december", "december", 12),
    ];
    if m.len() < 3 {
        return None;
    }
    MONTHS.iter().find(|(sv, en, _)| *sv == m || *en == m || sv.starts_with(m) || en.starts_with(m)).map(|(_, _, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn swedish_date_texts() {
        assert_eq!(parse_date_text("15 mars 2026"), Some(DateInfo::Deadline { date: d(2026, 3, 15), time: None }));
        assert_eq!(
            parse_date_text("Sista ansökningsdag: den 3 februari 2026 kl. 14.00"),
            Some(DateInfo::Deadline { date: d(2026, 2, 3), time: NaiveTime::from_hms_opt(14, 0, 0) })
        );
        assert_eq!(parse_date_text("2026-03-15"), Some(DateInfo::Deadline { date: d(2026, 3, 15), time: None }));
        assert_eq!(
            parse_date_text("2026-03-15 23:59"),
            Some(DateInfo::Deadline { date: d(2026, 3, 15), time: NaiveTime::from_hms_opt(23, 59, 0) })
        );
        assert_eq!(parse_date_text("Stängd 19 mars 2024"), Some(DateInfo::Closed { date: Some(d(2024, 3, 19)) }));
        assert_eq!(parse_date_text("Öppnar 12 augusti 2024"), Some(DateInfo::Opens { date: d(2024, 8, 12) }));
        assert_eq!(parse_date_text("Löpande"), Some(DateInfo::Rolling));
        assert_eq!(parse_date_text("Ansök löpande hela året"), Some(DateInfo::Rolling));
        assert_eq!(parse_date_text("3 sept. 2025"), Some(DateInfo::Deadline { date: d(2025, 9, 3), time: None }));
        assert_eq!(
            parse_date_text("Deadline 15 March 2026 17:00"),
            Some(DateInfo::Deadline { date: d(2026, 3, 15), time: NaiveTime::from_hms_opt(17, 0, 0) })
        );
        assert_eq!(parse_date_text("ingen aning"), None);
        assert_eq!(find_date("by 17:00, September 28th 2023"), Some((d(2023, 9, 28), None)));
        assert_eq!(find_date("01 February 2012, at 16h00"), Some((d(2012, 2, 1), NaiveTime::from_hms_opt(16, 0, 0))));
        assert_eq!(parse_date_text("31 februari 2026"), None);
    }

    #[test]
    fn dates_without_year_are_kept_open() {
        let lower = "ansökan öppnar: 1 februari ansökan stänger: 29 februari 2024 kl. 14.00".to_string();
        let tokens = date_tokens(&lower);
        let found = scan_dates(&tokens);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].day, found[0].month, found[0].year), (1, 2, None));
        assert_eq!((found[1].day, found[1].month, found[1].year), (29, 2, Some(2024)));
        assert_eq!(found[1].time, NaiveTime::from_hms_opt(14, 0, 0));
        assert_eq!(found[1].end, tokens.len());
        // a number before a word that is no month is no date
        assert!(scan_dates(&date_tokens("minst 5 år och 2 parter")).is_empty());
        assert!(scan_dates(&date_tokens("andra organisationer")).is_empty());
        let written = scan_dates(&date_tokens("till och med artonde februari"));
        assert_eq!((written[0].day, written[0].month), (18, 2));
    }

    #[test]
    fn deadline_in_zone() {
        let i = parse_date_text("den 3 februari 2026 kl. 14.00").unwrap();
        assert_eq!(i.deadline(chrono_tz::Europe::Stockholm).unwrap().at.to_rfc3339(), "2026-02-03T13:00:00+00:00");
    }
}
