//! Normalize → rules (pure): what a call's own text says about its rules —
//! deadlines and opening date, who may apply and lead, where projects must
//! take place (and so whether the partnership's home county may apply),
//! co-financing, amounts and consortium requirements — each value with the
//! sentence it was read from. Swedish and English.

use crate::domain::Deadline;
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub mod areas;
mod dates;
pub mod eval;
mod money;
mod who;

/// A kind of organisation as call rules name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Kommun,
    Region,
    /// State agencies, länsstyrelser.
    Stat,
    /// Associations, foundations, faith communities, study associations, civil society.
    Ideell,
    Foretag,
    /// Universities, colleges, research institutes and researchers there.
    Akademi,
    /// The page says any organisation may apply.
    Any,
}

impl OrgKind {
    pub const ALL: [OrgKind; 7] =
        [OrgKind::Kommun, OrgKind::Region, OrgKind::Stat, OrgKind::Ideell, OrgKind::Foretag, OrgKind::Akademi, OrgKind::Any];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Kommun => "kommun",
            OrgKind::Region => "region",
            OrgKind::Stat => "stat",
            OrgKind::Ideell => "ideell",
            OrgKind::Foretag => "foretag",
            OrgKind::Akademi => "akademi",
            OrgKind::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// The opening date of a call, with the time when the page prints one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub tz: Tz,
}

impl Opening {
    /// The instant the call opens: the printed time, else the start of the day, in its zone.
    pub fn instant(&self) -> chrono::DateTime<chrono::Utc> {
        Deadline::local(self.date, self.time.unwrap_or_default(), self.tz).at
    }

    /// `2024-08-12T09:00:00+02:00` when a time is printed, else `2024-08-12`.
    pub fn display_json(&self) -> String {
        match self.time {
            Some(_) => self.instant().with_timezone(&self.tz).to_rfc3339(),
            None => self.date.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Sek,
    Eur,
}

/// What one project may get (min and/or max), in the currency printed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Amount {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub currency: Currency,
}

/// Who may apply and lead, where, and on what terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Eligibility {
    /// Empty when the page does not say.
    pub applicants: Vec<OrgKind>,
    /// Who may be lead applicant/coordinator; the applicants when unrestricted.
    pub lead: Vec<OrgKind>,
    /// Counties, NUTS2 regions, programme areas, "Sverige", "EU" as named.
    pub areas: Vec<String>,
    /// Whether the home county may apply; None when nothing says.
    pub open_to_home: Option<bool>,
    /// The applicant's own share of the project's costs, in per cent.
    pub cofinancing_pct: Option<u8>,
    pub amount: Option<Amount>,
    pub min_partners: Option<u32>,
    pub required_types: Vec<OrgKind>,
}

/// Which value a piece of evidence supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleField {
    Deadlines,
    Opens,
    Rolling,
    Applicants,
    Lead,
    Areas,
    OpenToHome,
    CofinancingPct,
    Amount,
    MinPartners,
    RequiredTypes,
}

/// The sentence a value was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleEvidence {
    pub field: RuleField,
    pub sentence: String,
}

/// Everything read from one call's text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRules {
    /// Every closing date and cut-off, sorted.
    pub deadlines: Vec<Deadline>,
    pub opens: Option<Opening>,
    /// The page says applications are read continuously ("löpande").
    pub rolling: bool,
    pub eligibility: Eligibility,
    pub evidence: Vec<RuleEvidence>,
}

/// What the rules are read from.
#[derive(Debug, Clone, Copy)]
pub struct RulesInput<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub funder: &'a str,
    /// The partnership's county (`Örebro län`).
    pub home_county: &'a str,
    /// The zone of dates printed without one.
    pub tz: Tz,
}

/// One sentence (or heading, or list item) of the page, with the line it
/// began on, so that a heading's answer can be found below it.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    pub text: String,
    pub lower: String,
    pub line: usize,
}

/// Read the rules of one call.
pub fn read_rules(input: &RulesInput) -> CallRules {
    let sentences = sentences(input.title, input.text);
    let mut evidence = Vec::new();
    let found = dates::read_dates(&sentences, input.tz, &mut evidence);
    let mut eligibility = who::read_who(&sentences, &mut evidence);
    let (areas, open) = areas::read_areas(&sentences, input.funder, input.home_county, &mut evidence);
    eligibility.areas = areas;
    eligibility.open_to_home = open;
    money::read_money(&sentences, &mut eligibility, &mut evidence);
    CallRules { deadlines: found.deadlines, opens: found.opens, rolling: found.rolling, eligibility, evidence }
}

/// The title, then the text cut into sentences: at line ends, and after
/// `.`, `!` or `?` followed by a space and a capital letter (so that
/// "kl. 14.00" and "3 feb. 2026" stay whole).
pub(crate) fn sentences(title: &str, text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (line_no, line) in std::iter::once(title).chain(text.lines()).enumerate() {
        let line = line.trim().trim_start_matches(['•', '-', '*', '–']).trim();
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut start = 0;
        for w in 0..chars.len() {
            let (at, c) = chars[w];
            let next_is_capital = chars.get(w + 2).is_some_and(|(_, n)| n.is_uppercase());
            let ends = matches!(c, '.' | '!' | '?') && chars.get(w + 1).is_some_and(|(_, n)| *n == ' ') && next_is_capital;
            if ends {
                push_sentence(&mut out, &line[start..=at], line_no);
                start = at + c.len_utf8();
            }
        }
        push_sentence(&mut out, &line[start..], line_no);
    }
    out
}

fn push_sentence(out: &mut Vec<Sentence>, s: &str, line: usize) {
    let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        out.push(Sentence { lower: text.to_lowercase(), text, line });
    }
}

pub(crate) fn note(evidence: &mut Vec<RuleEvidence>, field: RuleField, sentence: &Sentence) {
    let already = evidence.iter().any(|e| e.field == field && e.sentence == sentence.text);
    if !already {
        evidence.push(RuleEvidence { field, sentence: sentence.text.clone() });
    }
}

/// Lower-case words of a sentence, punctuation trimmed (hyphens kept).
pub(crate) fn words(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ':' | ';' | '/' | '"' | '”' | '“'))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '!' | '?' | '\'')))
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
