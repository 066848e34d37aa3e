//! Rules, dates: which of the dates a page prints are closing dates, which
//! the opening, and which are something else (decisions, project periods,
//! payments, degrees) — read from the words just before each date, or just
//! after it when a line starts with the date ("4 februari 2020, kl. 14:00:
//! Sista dag för ansökningar").

use super::{Opening, RuleEvidence, RuleField, Sentence, note, words};
use crate::domain::Deadline;
use crate::sources::dates::{DateMention, date_tokens, parse_time, scan_dates, time_after};
use chrono::NaiveTime;
use chrono_tz::Tz;

pub(super) struct FoundDates {
    pub deadlines: Vec<Deadline>,
    pub opens: Option<Opening>,
    pub rolling: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateKind {
    Deadline,
    Opens,
    Other,
}

/// Dates that are about something else than applying.
const NOT_APPLYING: &[&str] = &[
    "beslut",
    "decision",
    "projektstart",
    "projekt kan pågå",
    "projektet kan pågå",
    "projektperiod",
    "projekttid",
    "starta",
    "genomförande",
    "betalas ut",
    "utbetal",
    "publicerad",
    "uppdaterad",
    "granskad",
    "prioriter",
    "rapport",
    "redovis",
    "event",
    "seminar",
    "webinar",
    "webbinar",
    "informationsmöte",
    "steering committee",
    "project start",
    "report",
];
/// A sentence about these is never about the call's dates.
const NOT_APPLYING_SENTENCE: &[&str] = &["doktorsexamen", "examensbevis", "disputation", "doctoral degree", "phd"];
/// Words that say a date opens the call (prefixes of words).
const OPENS: &[&str] =
    &["öppnar", "öppnas", "opens", "startdatum", "påbörjas", "ansökningsperiod", "application period", "från och med", "fr.o.m"];
/// Words that say a date closes the call (prefixes of words).
const CLOSES: &[&str] = &[
    "sista ansökningsdag",
    "sista ansökningsdatum",
    "sista dag",
    "stängd",
    "stänger",
    "stängt",
    "stänga",
    "slutdatum",
    "deadline",
    "closing date",
    "closes",
    "close",
    "submission",
    "submit",
    "ansök senast",
];
/// Range words: they open or close only on a page about applying.
const RANGE_OPEN: &[&str] = &["från", "mellan", "from", "between"];
const RANGE_CLOSE: &[&str] = &["till", "till och med", "t.o.m", "fram till", "until", "to", "–", "-", "och", "senast", "by", "and"];
/// Word starts that make a sentence about applying.
const APPLYING: &[&str] =
    &["ansök", "sök", "öppen", "öppna", "utlysning", "omgång", "apply", "applica", "submi", "proposal", "inlämna", "inkom", "call", "stöd"];
const ROLLING: &[&str] = &["löpande", "när som helst", "hela året", "rolling", "continuously", "open all year", "all year round"];

pub(super) fn read_dates(sentences: &[Sentence], tz: Tz, evidence: &mut Vec<RuleEvidence>) -> FoundDates {
    let scanned: Vec<(Vec<&str>, Vec<DateMention>)> = sentences
        .iter()
        .map(|s| {
            let tokens = date_tokens(&s.lower);
            let dates = scan_dates(&tokens);
            (tokens, dates)
        })
        .collect();
    let years = resolve_years(&scanned);
    let mut found = FoundDates { deadlines: Vec::new(), opens: None, rolling: false };
    for (si, (tokens, dates)) in scanned.iter().enumerate() {
        let sentence = &sentences[si];
        let zone = if ["brussels", "bryssel", " cet", "cest"].iter().any(|z| sentence.lower.contains(z)) {
            chrono_tz::Europe::Brussels
        } else {
            tz
        };
        let mut previous = DateKind::Other;
        for (di, m) in dates.iter().enumerate() {
            let kind = date_kind(sentence, tokens, dates, di, previous);
            previous = kind;
            let Some(date) = years[si][di].and_then(|y| m.date(y)) else { continue };
            let time = m.time.or_else(|| time_in_window(tokens, dates, di));
            match kind {
                DateKind::Deadline => {
                    let d = match time {
                        Some(t) => Deadline::local(date, t, zone),
                        None => Deadline::end_of_day(date, zone),
                    };
                    add_deadline(&mut found.deadlines, d);
                    note(evidence, RuleField::Deadlines, sentence);
                }
                DateKind::Opens if found.opens.is_none() => {
                    found.opens = Some(Opening { date, time, tz: zone });
                    note(evidence, RuleField::Opens, sentence);
                }
                _ => {}
            }
        }
    }
    found.deadlines.sort();
    if found.deadlines.is_empty()
        && let Some(s) = sentences.iter().find(|s| ROLLING.iter().any(|r| s.lower.contains(r)) && about_applying(s))
    {
        found.rolling = true;
        note(evidence, RuleField::Rolling, s);
    }
    found
}

/// One deadline per local date: a printed time wins over a bare date.
fn add_deadline(list: &mut Vec<Deadline>, d: Deadline) {
    match list.iter_mut().find(|x| x.local_date() == d.local_date()) {
        Some(x) if x.date_only && !d.date_only => *x = d,
        Some(_) => {}
        None => list.push(d),
    }
}

/// The year of each date: its own, else the next one printed in the same
/// sentence ("21 mars – 5 maj 2017"), else the last one printed before it
/// on the page, else the first one after it.
fn resolve_years(scanned: &[(Vec<&str>, Vec<DateMention>)]) -> Vec<Vec<Option<i32>>> {
    let all: Vec<Option<i32>> = scanned.iter().flat_map(|(_, ds)| ds.iter().map(|d| d.year)).collect();
    let mut out = Vec::new();
    let mut flat = 0;
    for (_, dates) in scanned {
        let mut row = Vec::new();
        for (di, d) in dates.iter().enumerate() {
            let same_sentence = dates[di..].iter().find_map(|x| x.year);
            let before = all[..flat].iter().rev().find_map(|y| *y);
            let after = all[flat..].iter().find_map(|y| *y);
            row.push(d.year.or(same_sentence).or(before).or(after));
            flat += 1;
        }
        out.push(row);
    }
    out
}

fn date_kind(sentence: &Sentence, tokens: &[&str], dates: &[DateMention], di: usize, previous: DateKind) -> DateKind {
    if NOT_APPLYING_SENTENCE.iter().any(|w| sentence.lower.contains(w)) {
        return DateKind::Other;
    }
    let from = if di == 0 { 0 } else { dates[di - 1].end };
    let window = format!(" {} ", tokens[from..dates[di].first].join(" "));
    let applying = about_applying(sentence);
    if NOT_APPLYING.iter().any(|w| window.contains(w)) {
        return DateKind::Other;
    }
    if let Some(kind) = nearest_cue(&window, applying, previous) {
        return kind;
    }
    // "4 februari 2020, kl. 14:00: Sista dag för ansökningar i steg 1"
    if dates[di].first == 0 {
        let to = dates.get(di + 1).map_or(tokens.len(), |d| d.first);
        let after = format!(" {} ", tokens[dates[di].end..to].join(" "));
        if NOT_APPLYING.iter().any(|w| after.contains(w)) {
            return DateKind::Other;
        }
        if let Some(kind) = nearest_cue(&after, applying, DateKind::Other) {
            return kind;
        }
    }
    DateKind::Other
}

/// The cue closest to the end of `window` decides; range words count only
/// right before the date ("från den 2 april", "till den 1 oktober").
fn nearest_cue(window: &str, applying: bool, previous: DateKind) -> Option<DateKind> {
    let tail: String = {
        let ws: Vec<&str> = window.split_whitespace().collect();
        format!(" {} ", ws[ws.len().saturating_sub(3)..].join(" "))
    };
    let mut best: Option<(usize, DateKind)> = None;
    let mut consider = |text: &str, cues: &[&str], exact: bool, kind: DateKind| {
        let offset = window.len() - text.len();
        for cue in cues {
            let needle = if exact { format!(" {cue} ") } else { format!(" {cue}") };
            if let Some(at) = text.rfind(&needle)
                && best.is_none_or(|(b, _)| offset + at + needle.len() > b)
            {
                best = Some((offset + at + needle.len(), kind));
            }
        }
    };
    consider(window, OPENS, false, DateKind::Opens);
    consider(window, CLOSES, false, DateKind::Deadline);
    if applying || previous == DateKind::Opens {
        consider(&tail, RANGE_OPEN, true, DateKind::Opens);
        consider(&tail, RANGE_CLOSE, true, DateKind::Deadline);
    }
    best.map(|(_, k)| k)
}

fn about_applying(sentence: &Sentence) -> bool {
    words(&sentence.lower).iter().any(|w| APPLYING.iter().any(|a| w.starts_with(a)))
}

/// A time printed before the date ("by 17:00 Brussels local time, September 28th 2023").
fn time_in_window(tokens: &[&str], dates: &[DateMention], di: usize) -> Option<NaiveTime> {
    let from = if di == 0 { 0 } else { dates[di - 1].end };
    (from..dates[di].first).find_map(|k| {
        let t = tokens[k];
        if matches!(t, "kl" | "klockan" | "at") {
            time_after(&tokens[k..])
        } else if t.contains(':') && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            parse_time(t)
        } else {
            None
        }
    })
}
