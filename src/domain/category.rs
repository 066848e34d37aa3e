//! Categories a call is sorted into: the seven societal challenges
//! (`SC1`…`SC7`) and the partnership's regional themes, each score with the
//! evidence that produced it.

use super::Lang;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `SC1`…`SC7`, or a regional theme id from the config (`[a-z0-9_]+`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryId(String);

/// The seven societal challenges: id, Swedish name, English name.
pub const CHALLENGES: [(&str, &str, &str); 7] = [
    ("SC1", "Hälsa, demografiska förändringar och välbefinnande", "Health, demographic change and wellbeing"),
    (
        "SC2",
        "Livsmedelstrygghet, hållbart jord- och skogsbruk, havs- och inlandsvattenforskning, bioekonomi",
        "Food security, sustainable agriculture and forestry, marine and inland water research, bioeconomy",
    ),
    ("SC3", "Säker, ren och effektiv energi", "Secure, clean and efficient energy"),
    ("SC4", "Smarta, gröna och integrerade transporter", "Smart, green and integrated transport"),
    ("SC5", "Klimatåtgärder, miljö, resurseffektivitet och råvaror", "Climate action, environment, resource efficiency and raw materials"),
    (
        "SC6",
        "Europa i en föränderlig värld: inkluderande, innovativa och reflekterande samhällen",
        "Inclusive, innovative and reflective societies",
    ),
    ("SC7", "Säkra samhällen", "Secure societies"),
];

impl CategoryId {
    /// Accepts `SC1`…`SC7` (any case) and theme ids of lower-case letters,
    /// digits and `_`.
    pub fn parse(s: &str) -> Result<CategoryId, String> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if CHALLENGES.iter().any(|(id, _, _)| *id == upper) {
            return Ok(CategoryId(upper));
        }
        if upper.starts_with("SC") && t.len() <= 4 {
            return Err(format!("okänd samhällsutmaning «{t}» (giltiga: SC1–SC7)"));
        }
        if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Ok(CategoryId(t.to_string()));
        }
        Err(format!("ogiltigt kategori-id «{t}» (SC1–SC7 eller ett tema-id med a–z, 0–9, _)"))
    }

    pub fn challenge(n: u8) -> CategoryId {
        CategoryId(format!("SC{}", n.clamp(1, 7)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_challenge(&self) -> bool {
        self.0.starts_with("SC") && self.0.len() == 3
    }

    /// The challenge's name in `lang`; None for regional themes.
    pub fn challenge_name(&self, lang: Lang) -> Option<&'static str> {
        CHALLENGES.iter().find(|(id, _, _)| *id == self.0).map(|(_, sv, en)| lang.pick(sv, en))
    }
}

impl TryFrom<String> for CategoryId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        CategoryId::parse(&s)
    }
}

impl From<CategoryId> for String {
    fn from(c: CategoryId) -> String {
        c.0
    }
}

impl fmt::Display for CategoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where in a call a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Text,
}

/// One reason behind a category score: a term, where it was found, in which
/// language, and how much it weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub term: String,
    pub field: Field,
    pub lang: Lang,
    pub weight: f32,
}

/// A call's score for one category, in 0..=1, with its evidence (strongest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    pub category: CategoryId,
    pub score: f32,
    pub evidence: Vec<Evidence>,
}

impl CategoryScore {
    /// "SC6 — inkludering, arbetsmarknad, civilsamhälle": the id and the
    /// strongest few distinct terms.
    pub fn explain(&self, max_terms: usize) -> String {
        let terms = distinct_terms(&self.evidence, max_terms);
        if terms.is_empty() { self.category.to_string() } else { format!("{} — {}", self.category, terms.join(", ")) }
    }
}

/// The first `max` distinct terms of some evidence (strongest first when the evidence is sorted so).
pub fn distinct_terms(evidence: &[Evidence], max: usize) -> Vec<&str> {
    let mut terms: Vec<&str> = Vec::new();
    for e in evidence {
        if terms.len() == max {
            break;
        }
        if !terms.contains(&e.term.as_str()) {
            terms.push(&e.term);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges_and_themes() {
        assert_eq!(CategoryId::parse("sc6").unwrap().as_str(), "SC6");
        assert!(CategoryId::parse("SC6").unwrap().is_challenge());
        assert!(CategoryId::parse("SC9").is_err());
        let t = CategoryId::parse("work_integration").unwrap();
        assert!(!t.is_challenge());
        assert!(CategoryId::parse("Work Integration").is_err());
        assert!(CategoryId::parse("").is_err());
    }
}
