//! Rules, money: the applicant's co-financing share ("medfinansiering 53 %",
//! or 100 minus the share the funder pays: "maximalt 40 procent av de
//! totala kostnaderna") and what one project may get ("upp till 2 mkr",
//! "mellan 20 000 och 50 000 kronor", "EUR 500,000").

use super::{Amount, Currency, Eligibility, RuleEvidence, RuleField, Sentence, note, words};

const OWN_SHARE: &[&str] = &["medfinansier", "egen finansiering", "egeninsats", "co-financ", "cofinanc", "own contribution"];
const FUNDER_SHARE: &[&str] = &["stöd", "bidrag", "finansiera", "beviljas", "grant", "funding", "fund "];
const WHOLE_CALL: &[&str] = &[
    "totalt",
    "total ",
    "totala budget",
    "budget för utlysningen",
    "utlysningens",
    "utlyser",
    "fördela",
    "avsätts",
    "budget är",
    "budget of",
];
const PER_PROJECT: &[&str] = &[
    "per projekt",
    "söka",
    "sökas",
    "ansöka om",
    "bidrag",
    "beviljas",
    "stöd",
    "grant",
    "per project",
    "upp till",
    "up to",
    "högst",
    "maximalt",
];

pub(super) fn read_money(sentences: &[Sentence], eligibility: &mut Eligibility, evidence: &mut Vec<RuleEvidence>) {
    let own = sentences.iter().find_map(|s| OWN_SHARE.iter().any(|w| s.lower.contains(w)).then(|| own_share(s).map(|p| (p, s))).flatten());
    let share = own.or_else(|| {
        sentences.iter().enumerate().find_map(|(i, s)| {
            let asked = i > 0 && sentences[i - 1].text.ends_with('?') && sentences[i - 1].lower.contains("stöd");
            let about_funding = asked || FUNDER_SHARE.iter().any(|w| s.lower.contains(w));
            let of_costs = s.lower.contains("kostnad") || s.lower.contains("budget") || s.lower.contains("cost");
            (about_funding && of_costs).then(|| percent(&s.lower).filter(|p| *p <= 100).map(|p| (100 - p, s))).flatten()
        })
    });
    if let Some((pct, s)) = share {
        eligibility.cofinancing_pct = Some(pct);
        note(evidence, RuleField::CofinancingPct, s);
    }
    for s in sentences {
        if WHOLE_CALL.iter().any(|w| s.lower.contains(w)) || !PER_PROJECT.iter().any(|w| s.lower.contains(w)) {
            continue;
        }
        if let Some(amount) = amount_in(&s.lower) {
            eligibility.amount = Some(amount);
            note(evidence, RuleField::Amount, s);
            return;
        }
    }
}

fn own_share(s: &Sentence) -> Option<u8> {
    if s.lower.contains("minst lika mycket") || s.lower.contains("lika stor del") {
        return Some(50);
    }
    percent(&s.lower)
}

/// The first percentage in a sentence ("53%", "40 procent", "50 percent").
fn percent(lower: &str) -> Option<u8> {
    let ws = words(lower);
    for (i, w) in ws.iter().enumerate() {
        if let Some(n) = w.strip_suffix('%').and_then(|n| n.parse::<u8>().ok()) {
            return Some(n);
        }
        let unit = ws.get(i + 1).is_some_and(|u| matches!(*u, "procent" | "%" | "percent" | "per"));
        if unit && let Ok(n) = w.parse::<u8>() {
            return Some(n);
        }
    }
    None
}

/// One amount of money written in a sentence, with the word before it.
#[derive(Debug, Clone, Copy)]
struct Money {
    value: f64,
    currency: Currency,
    qualifier: Qualifier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Min,
    Max,
    Plain,
}

fn amount_in(lower: &str) -> Option<Amount> {
    let ws = words(lower);
    let mut found: Vec<Money> = Vec::new();
    let mut numbers: Vec<(usize, f64)> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let prefix_eur = matches!(ws[i], "eur" | "€") && ws.get(i + 1).is_some_and(|w| number(w).is_some());
        let start = if prefix_eur { i + 1 } else { i };
        let Some((value, next)) = grouped_number(&ws, start) else {
            i += 1;
            continue;
        };
        numbers.push((start, value));
        let unit = if prefix_eur { Some((1.0, Currency::Eur)) } else { ws.get(next).and_then(|u| unit_of(u, ws.get(next + 1).copied())) };
        if let Some((mult, currency)) = unit {
            // "700 000 - 1 000 000 kronor", "mellan 20 000 och 50 000 kronor": the unit serves both
            if let Some(&(prev_at, prev)) = numbers.iter().rev().nth(1).filter(|(at, _)| start >= 2 && *at + 4 >= start)
                && matches!(ws[start - 1], "-" | "–" | "och" | "and" | "till" | "to")
                && found.iter().all(|m| m.value != prev * mult)
            {
                found.push(Money {
                    value: prev * mult,
                    currency,
                    qualifier: qualifier(&ws[prev_at.saturating_sub(2)..prev_at]).or(Qualifier::Min),
                });
                found.push(Money { value: value * mult, currency, qualifier: Qualifier::Max });
            } else {
                found.push(Money { value: value * mult, currency, qualifier: qualifier(&ws[start.saturating_sub(3)..start]) });
            }
        }
        i = next.max(i + 1);
    }
    let first = found.first()?;
    let min = found.iter().find(|m| m.qualifier == Qualifier::Min).map(|m| m.value);
    let max = found.iter().find(|m| m.qualifier != Qualifier::Min).map(|m| m.value);
    Some(Amount { min, max, currency: first.currency })
}

impl Qualifier {
    fn or(self, other: Qualifier) -> Qualifier {
        if self == Qualifier::Plain { other } else { self }
    }
}

fn qualifier(before: &[&str]) -> Qualifier {
    let text = before.join(" ");
    if ["minst", "från", "at least", "from", "mellan", "between", "lägst"].iter().any(|w| text.contains(w)) {
        Qualifier::Min
    } else if ["upp till", "högst", "max", "up to", "maximum", "som mest"].iter().any(|w| text.contains(w)) {
        Qualifier::Max
    } else {
        Qualifier::Plain
    }
}

/// "700 000" (two words), "1,5", "1.5", "500,000": the value and the index after it.
fn grouped_number(ws: &[&str], i: usize) -> Option<(f64, usize)> {
    let first = ws.get(i)?;
    let mut value = number(first)?;
    let mut next = i + 1;
    if first.len() <= 3 && first.chars().all(|c| c.is_ascii_digit()) {
        while let Some(group) = ws.get(next).filter(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit())) {
            value = value * 1000.0 + group.parse::<f64>().unwrap_or(0.0);
            next += 1;
        }
    }
    Some((value, next))
}

fn number(w: &str) -> Option<f64> {
    if !w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    if w.len() > 4 && w.contains(',') && w.split(',').skip(1).all(|g| g.len() == 3) {
        return w.replace(',', "").parse().ok();
    }
    w.replace(',', ".").parse().ok()
}

fn unit_of(u: &str, next: Option<&str>) -> Option<(f64, Currency)> {
    let million = matches!(u, "miljoner" | "miljon" | "million" | "millions" | "mn");
    match u {
        "kronor" | "kr" | "sek" => Some((1.0, Currency::Sek)),
        "tkr" => Some((1e3, Currency::Sek)),
        "mkr" | "msek" | "mnkr" => Some((1e6, Currency::Sek)),
        "miljarder" | "miljard" => Some((1e9, Currency::Sek)),
        "euro" | "eur" | "€" => Some((1.0, Currency::Eur)),
        "meur" => Some((1e6, Currency::Eur)),
        _ if million => match next {
            Some("euro" | "eur" | "€") => Some((1e6, Currency::Eur)),
            _ => Some((1e6, Currency::Sek)),
        },
        _ => None,
    }
}
