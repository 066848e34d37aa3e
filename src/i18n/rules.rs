//! User-facing words for a call's rules (issue 15): who may apply, whether
//! the home county may, co-financing and amounts — for `calls show` and the
//! digest's call card, in Swedish (default) and English.

use crate::domain::Lang;
use crate::normalize::rules::{Amount, CallRules, Currency, Eligibility, OrgKind};

/// One kind of organisation, plural: "kommuner" / "municipalities".
pub fn org_kind(k: OrgKind, lang: Lang) -> &'static str {
    match k {
        OrgKind::Kommun => lang.pick("kommuner", "municipalities"),
        OrgKind::Region => lang.pick("regioner", "regions"),
        OrgKind::Stat => lang.pick("statliga myndigheter", "state agencies"),
        OrgKind::Ideell => lang.pick("ideella organisationer", "non-profit organisations"),
        OrgKind::Foretag => lang.pick("företag", "companies"),
        OrgKind::Akademi => lang.pick("lärosäten och forskningsinstitut", "universities and research institutes"),
        OrgKind::Any => lang.pick("alla organisationer", "any organisation"),
    }
}

/// "kommuner, regioner" (empty when none).
pub fn org_kinds(ks: &[OrgKind], lang: Lang) -> String {
    ks.iter().map(|k| org_kind(*k, lang)).collect::<Vec<_>>().join(", ")
}

/// "ja" / "nej" / "framgår inte".
pub fn open_to_home(open: Option<bool>, lang: Lang) -> &'static str {
    match open {
        Some(true) => lang.pick("ja", "yes"),
        Some(false) => lang.pick("nej", "no"),
        None => lang.pick("framgår inte", "not stated"),
    }
}

/// The digest card's short line: "Vem kan söka: kommuner · Örebro län: ja ·
/// medfinansiering 20 %". Who may apply and co-financing only when the page says.
pub fn rules_line(e: &Eligibility, county: &str, lang: Lang) -> String {
    let mut parts = Vec::new();
    if !e.applicants.is_empty() {
        parts.push(format!("{}: {}", lang.pick("Vem kan söka", "Who may apply"), org_kinds(&e.applicants, lang)));
    }
    parts.push(format!("{county}: {}", open_to_home(e.open_to_home, lang)));
    if let Some(p) = e.cofinancing_pct {
        parts.push(format!("{} {p} %", lang.pick("medfinansiering", "co-financing")));
    }
    parts.join(" · ")
}

/// "100 000–500 000 kr", "högst 2 000 000 EUR": digits grouped by spaces in both languages.
pub fn amount(a: &Amount, lang: Lang) -> String {
    let unit = match a.currency {
        Currency::Sek => lang.pick("kr", "SEK"),
        Currency::Eur => "EUR",
    };
    let n = |v: f64| group_digits(v.round() as i64);
    match (a.min, a.max) {
        (Some(lo), Some(hi)) => format!("{}–{} {unit}", n(lo), n(hi)),
        (None, Some(hi)) => format!("{} {} {unit}", lang.pick("högst", "at most"), n(hi)),
        (Some(lo), None) => format!("{} {} {unit}", lang.pick("minst", "at least"), n(lo)),
        (None, None) => String::new(),
    }
}

fn group_digits(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

/// Every rule in words, one `(label, value)` per line, for `calls show`
/// (what the page does not say is left out, but for the home county).
pub fn rules_lines(r: &CallRules, county: &str, lang: Lang) -> Vec<(String, String)> {
    let e = &r.eligibility;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |label: &str, value: String| out.push((label.to_string(), value));
    if let Some(o) = r.opens {
        push(lang.pick("Öppnar", "Opens"), super::date(o.date, lang));
    }
    if r.rolling {
        push(lang.pick("Ansökan", "Applications"), lang.pick("löpande", "rolling").into());
    }
    if !e.applicants.is_empty() {
        push(lang.pick("Vem kan söka", "Who may apply"), org_kinds(&e.applicants, lang));
    }
    if !e.lead.is_empty() && e.lead != e.applicants {
        push(lang.pick("Vem kan vara projektägare", "Who may lead"), org_kinds(&e.lead, lang));
    }
    if !e.areas.is_empty() {
        push(lang.pick("Område", "Area"), e.areas.join(", "));
    }
    push(county, open_to_home(e.open_to_home, lang).into());
    if let Some(p) = e.cofinancing_pct {
        push(lang.pick("Medfinansiering", "Co-financing"), format!("{p} %"));
    }
    if let Some(a) = e.amount.as_ref().map(|a| amount(a, lang)).filter(|a| !a.is_empty()) {
        push(lang.pick("Belopp per projekt", "Amount per project"), a);
    }
    if let Some(n) = e.min_partners {
        push(lang.pick("Minst antal parter", "Minimum partners"), n.to_string());
    }
    if !e.required_types.is_empty() {
        push(lang.pick("Måste ha med", "Must include"), org_kinds(&e.required_types, lang));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eligibility() -> Eligibility {
        Eligibility { applicants: vec![OrgKind::Kommun], open_to_home: Some(true), cofinancing_pct: Some(20), ..Default::default() }
    }

    #[test]
    fn the_card_line_in_both_languages() {
        assert_eq!(rules_line(&eligibility(), "Örebro län", Lang::Sv), "Vem kan söka: kommuner · Örebro län: ja · medfinansiering 20 %");
        assert_eq!(
            rules_line(&eligibility(), "Örebro län", Lang::En),
            "Who may apply: municipalities · Örebro län: yes · co-financing 20 %"
        );
        let closed = Eligibility { open_to_home: Some(false), ..Default::default() };
        assert_eq!(rules_line(&closed, "Örebro län", Lang::Sv), "Örebro län: nej");
    }

    #[test]
    fn amounts_group_their_digits() {
        let a = Amount { min: Some(100_000.0), max: Some(2_500_000.0), currency: Currency::Sek };
        assert_eq!(amount(&a, Lang::Sv), "100 000–2 500 000 kr");
        let a = Amount { min: None, max: Some(2_000_000.0), currency: Currency::Eur };
        assert_eq!(amount(&a, Lang::En), "at most 2 000 000 EUR");
    }
}
