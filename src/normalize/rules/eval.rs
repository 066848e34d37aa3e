//! Rules, evaluation (pure): the rules read from hand-labelled call pages
//! against their labels — the last deadline, the opening date, who may
//! apply and lead (micro-F1), whether the home county may apply, and how
//! many calls closed to it were taken for open.

use super::{CallRules, OrgKind};
use chrono::NaiveDate;
use serde::Deserialize;
use std::io::Write;

/// One labelled page (a line of `labels.jsonl`).
#[derive(Debug, Clone, Deserialize)]
pub struct RulesLabel {
    pub id: String,
    #[serde(default)]
    pub split: Option<String>,
    #[serde(default)]
    pub funder: String,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, local.
    pub deadlines: Vec<String>,
    pub opens: Option<String>,
    pub applicants: Vec<OrgKind>,
    pub lead: Vec<OrgKind>,
    pub open_to_home: Option<bool>,
}

impl RulesLabel {
    fn last_deadline(&self) -> Option<NaiveDate> {
        self.deadlines.iter().filter_map(|d| label_date(d)).max()
    }
}

fn label_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct F1 {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl F1 {
    fn add(&mut self, got: &[OrgKind], want: &[OrgKind]) {
        self.tp += got.iter().filter(|k| want.contains(k)).count();
        self.fp += got.iter().filter(|k| !want.contains(k)).count();
        self.fn_ += want.iter().filter(|k| !got.contains(k)).count();
    }

    pub fn f1(&self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 { 1.0 } else { 2.0 * self.tp as f64 / denom as f64 }
    }
}

/// The figures for one set of pages, with the pages each field got wrong.
#[derive(Debug, Clone, Default)]
pub struct RulesReport {
    pub n: usize,
    pub deadline_right: usize,
    pub opens_right: usize,
    pub applicants: F1,
    pub lead: F1,
    pub open_right: usize,
    pub closed_taken_for_open: usize,
    pub closed: usize,
    pub misses: Vec<(String, &'static str, String)>,
}

pub fn evaluate(pages: &[(RulesLabel, CallRules)]) -> RulesReport {
    let mut r = RulesReport { n: pages.len(), ..RulesReport::default() };
    for (label, rules) in pages {
        let got_last = rules.deadlines.iter().map(|d| d.local_date()).max();
        tally(&mut r.deadline_right, &mut r.misses, label, "deadline", got_last, label.last_deadline());
        let got_opens = rules.opens.map(|o| o.date);
        tally(&mut r.opens_right, &mut r.misses, label, "opens", got_opens, label.opens.as_deref().and_then(label_date));
        let applicants = rules.eligibility.applicants.as_slice();
        let before = r.applicants;
        r.applicants.add(applicants, &label.applicants);
        if r.applicants.fp != before.fp || r.applicants.fn_ != before.fn_ {
            r.misses.push((label.id.clone(), "applicants", format!("{applicants:?} ≠ {:?}", label.applicants)));
        }
        let before = r.lead;
        r.lead.add(&rules.eligibility.lead, &label.lead);
        if r.lead.fp != before.fp || r.lead.fn_ != before.fn_ {
            r.misses.push((label.id.clone(), "lead", format!("{:?} ≠ {:?}", rules.eligibility.lead, label.lead)));
        }
        let open = rules.eligibility.open_to_home;
        tally(&mut r.open_right, &mut r.misses, label, "open_to_home", open, label.open_to_home);
        if label.open_to_home == Some(false) {
            r.closed += 1;
            if open != Some(false) {
                r.closed_taken_for_open += 1;
            }
        }
    }
    r
}

fn tally<T: PartialEq + std::fmt::Debug>(
    right: &mut usize,
    misses: &mut Vec<(String, &'static str, String)>,
    label: &RulesLabel,
    field: &'static str,
    got: Option<T>,
    want: Option<T>,
) {
    if got == want {
        *right += 1;
    } else {
        misses.push((label.id.clone(), field, format!("{got:?} ≠ {want:?}")));
    }
}

impl RulesReport {
    /// The report as the CLI prints it; the last line is machine-readable.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let n = self.n.max(1) as f64;
        for (id, field, what) in &self.misses {
            writeln!(out, "fel  {id:<40} {field:<13} {what}")?;
        }
        writeln!(out, "sidor: {}", self.n)?;
        writeln!(out, "sista ansökningsdag rätt: {} av {} ({:.0} %)", self.deadline_right, self.n, 100.0 * self.deadline_right as f64 / n)?;
        writeln!(out, "öppningsdatum rätt:       {} av {} ({:.0} %)", self.opens_right, self.n, 100.0 * self.opens_right as f64 / n)?;
        writeln!(out, "vem kan söka, micro-F1:   {:.3}", self.applicants.f1())?;
        writeln!(out, "vem kan leda, micro-F1:   {:.3}", self.lead.f1())?;
        writeln!(out, "öppen för hemlänet rätt:  {} av {} ({:.0} %)", self.open_right, self.n, 100.0 * self.open_right as f64 / n)?;
        writeln!(out, "stängda för hemlänet tagna för öppna: {} av {}", self.closed_taken_for_open, self.closed)?;
        writeln!(
            out,
            "deadline_acc={:.3} opens_acc={:.3} applicants_f1={:.3} lead_f1={:.3} open_to_home_acc={:.3} closed_taken_open={} n={}",
            self.deadline_right as f64 / n,
            self.opens_right as f64 / n,
            self.applicants.f1(),
            self.lead.f1(),
            self.open_right as f64 / n,
            self.closed_taken_for_open,
            self.n
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::rules::{RulesInput, read_rules};

    fn label(json: &str) -> RulesLabel {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn counts_right_fields_and_closed_calls_taken_for_open() {
        let input = |text| RulesInput {
            title: "Utlysning",
            text,
            funder: "Tillväxtverket",
            home_county: "Örebro län",
            tz: chrono_tz::Europe::Stockholm,
        };
        let right = read_rules(&input("Vem kan söka?\nKommuner.\nSista ansökningsdag 2026-03-15.\nInsatser i Östra Mellansverige."));
        let wrong = read_rules(&input("Vem kan söka?\nFöretag."));
        let pages = vec![
            (
                label(
                    r#"{"id":"a","deadlines":["2026-03-15"],"opens":null,"applicants":["kommun"],"lead":["kommun"],"open_to_home":true}"#,
                ),
                right,
            ),
            (
                label(
                    r#"{"id":"b","deadlines":["2026-04-01T14:00"],"opens":"2026-01-01","applicants":["kommun"],"lead":["kommun"],"open_to_home":false}"#,
                ),
                wrong,
            ),
        ];
        let r = evaluate(&pages);
        assert_eq!((r.n, r.deadline_right, r.opens_right, r.open_right), (2, 1, 1, 1));
        assert_eq!(r.applicants, F1 { tp: 1, fp: 1, fn_: 1 });
        assert_eq!((r.closed, r.closed_taken_for_open), (1, 1));
        let mut out = Vec::new();
        r.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("applicants_f1=0.500 lead_f1=0.500 open_to_home_acc=0.500 closed_taken_open=1 n=2\n"), "{text}");
        assert!(text.contains("fel  b"), "{text}");
    }
}
