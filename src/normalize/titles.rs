//! Normalize → dedup: a title as the set of words that de-duplication
//! compares. Two titles agree only when they have the same words once case,
//! diacritics, filler words, English plurals and a small Swedish→English
//! glossary are folded away — every number, year, round and target group,
//! and every other content word, must be the same. Pure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a word of a title says, in the order a difference matters to a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordKind {
    /// The number after "omgång", "round", "call", "steg", …
    Round,
    /// A year (1900–2099).
    Year,
    /// Any other word with a digit in it.
    Number,
    /// Who the call is for: "unga", "äldre", "women", …
    TargetGroup,
    /// Any other word that carries meaning.
    Content,
}

/// A title's comparable words, each with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleWords {
    /// The title as the listing gave it.
    pub title: String,
    words: BTreeMap<String, WordKind>,
}

/// A word one title has and the other lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordDiff {
    pub word: String,
    pub kind: WordKind,
}

impl TitleWords {
    pub fn new(title: &str) -> TitleWords {
        TitleWords { title: title.to_string(), words: words(title) }
    }

    /// No word left to compare (a title of filler words only): no evidence.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, sorted, one string: equal signatures ⇔ titles that agree.
    /// `None` for an empty title.
    pub fn signature(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.words.keys().map(String::as_str).collect::<Vec<_>>().join(" "))
    }

    /// `Ok` when both titles have the same words; otherwise the word that
    /// matters most among those only one of them has, and how many differ.
    pub fn compare(&self, other: &TitleWords) -> Result<(), (WordDiff, usize)> {
        let only_one = self
            .words
            .iter()
            .filter(|(w, _)| !other.words.contains_key(*w))
            .chain(other.words.iter().filter(|(w, _)| !self.words.contains_key(*w)));
        let diffs: Vec<(&String, &WordKind)> = only_one.collect();
        match diffs.iter().min_by_key(|(w, k)| (**k, (*w).clone())) {
            None => Ok(()),
            Some((w, k)) => Err((WordDiff { word: (*w).clone(), kind: **k }, diffs.len())),
        }
    }
}

/// Words that carry nothing when comparing titles across sources and languages.
const STOP: &[&str] = &[
    "och",
    "and",
    "for",
    "the",
    "of",
    "i",
    "in",
    "till",
    "to",
    "med",
    "with",
    "en",
    "ett",
    "a",
    "an",
    "av",
    "om",
    "on",
    "pa",
    "at",
    "by",
    "utlysning",
    "utlysningar",
    "call",
    "calls",
    "proposals",
    "ansokan",
    "inom",
    "within",
    "den",
    "det",
    "som",
    "vid",
];

/// Words after which a number (or a letter, or a Roman numeral) names a round.
const ROUND: &[&str] = &[
    "omgang",
    "omgangen",
    "ansokningsomgang",
    "round",
    "call",
    "utlysning",
    "steg",
    "steget",
    "stage",
    "phase",
    "fas",
    "del",
    "part",
    "etapp",
    "lot",
    "wave",
    "cutoff",
    "deadline",
];

/// Swedish words folded to their English counterparts (after diacritics are
/// folded), so that the Swedish and English titles of one call meet. Only
/// true translations: an entry here lets two titles agree.
const GLOSSARY: &[(&str, &str)] = &[
    ("sociala", "social"),
    ("socialt", "social"),
    ("innovationer", "innovation"),
    ("inkludering", "inclusion"),
    ("inkluderande", "inclusive"),
    ("samhallen", "societies"),
    ("samhalle", "society"),
    ("civilsamhallet", "civil society"),
    ("civilsamhalle", "civil society"),
    ("forskning", "research"),
    ("hallbar", "sustainable"),
    ("hallbara", "sustainable"),
    ("hallbart", "sustainable"),
    ("arbetsmarknaden", "labour market"),
    ("arbetsmarknad", "labour market"),
    ("arbetsmarknader", "labour market"),
    ("bostadsmarknaden", "housing market"),
    ("bostadsmarknad", "housing market"),
    ("labor", "labour"),
    ("integration", "integration"),
    ("valfard", "welfare"),
    ("valfarden", "welfare"),
    ("ekonomi", "economy"),
    ("landsbygd", "rural"),
    ("landsbygden", "rural"),
    ("utveckling", "development"),
    ("digitala", "digital"),
    ("digitalt", "digital"),
    ("omstallning", "transition"),
    ("omstallningen", "transition"),
    ("klimat", "climate"),
    ("energi", "energy"),
    ("halsa", "health"),
    ("utbildning", "education"),
    ("kultur", "culture"),
    ("demokrati", "democracy"),
    ("samarbete", "cooperation"),
    ("transnationellt", "transnational"),
    ("offentlig", "public"),
    ("offentliga", "public"),
    ("sektor", "sector"),
    ("sektorn", "sector"),
    // target groups
    ("unga", "youth"),
    ("ungdomar", "youth"),
    ("ungdom", "youth"),
    ("aldre", "elderly"),
    ("barn", "children"),
    ("kvinnor", "women"),
    ("man", "men"),
    ("flickor", "girls"),
    ("pojkar", "boys"),
    ("nyanlanda", "newcomers"),
    ("foraldrar", "parents"),
    ("familjer", "families"),
    ("studenter", "students"),
    ("elever", "pupils"),
    ("arbetslosa", "unemployed"),
    ("flyktingar", "refugees"),
    ("migranter", "migrants"),
    ("seniorer", "seniors"),
];

/// Who a call is for, in the folded forms (English after the glossary, and
/// Swedish words the glossary does not translate). A difference here is
/// reported as such.
const TARGET_GROUPS: &[&str] = &[
    "youth",
    "young",
    "elderly",
    "older",
    "children",
    "child",
    "women",
    "woman",
    "men",
    "girl",
    "boy",
    "boys",
    "newcomer",
    "parent",
    "familie",
    "family",
    "student",
    "pupil",
    "unemployed",
    "refugee",
    "migrant",
    "senior",
    "disabled",
    "disabilitie",
    "roma",
    "sami",
    "indigenous",
    "lgbtq",
    "hbtq",
    "veteran",
    "romer",
    "samer",
    "urfolk",
    "funktionsnedsattning",
    "funktionsnedsattningar",
    "personer",
    "people",
];

/// Lower case, diacritics folded, everything but letters and digits a space.
fn fold(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'å' | 'ä' | 'à' | 'á' | 'â' => 'a',
            'ö' | 'ø' | 'ó' | 'ô' => 'o',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'ü' | 'ú' => 'u',
            'í' | 'ï' => 'i',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect()
}

fn is_roman(w: &str) -> bool {
    !w.is_empty() && w.len() <= 4 && w.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
}

fn kind_of(word: &str, after_round_word: bool) -> WordKind {
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    if word.len() == 4 && (word.starts_with("19") || word.starts_with("20")) && word.chars().all(|c| c.is_ascii_digit()) {
        WordKind::Year
    } else if after_round_word && (has_digit || word.len() == 1 || is_roman(word)) {
        WordKind::Round
    } else if has_digit {
        WordKind::Number
    } else if TARGET_GROUPS.contains(&word) {
        WordKind::TargetGroup
    } else {
        WordKind::Content
    }
}

/// An English plural folded to its singular ("markets" → "market"), so
/// that a glossary entry need not list both.
fn singular(w: &str) -> &str {
    let plural = w.len() >= 5 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is");
    if plural { &w[..w.len() - 1] } else { w }
}

/// The comparable words of a title, in title order (repeats kept).
fn ordered_words(title: &str) -> Vec<(String, WordKind)> {
    let folded = fold(title);
    let tokens: Vec<&str> = folded.split_whitespace().collect();
    let mut out = Vec::with_capacity(tokens.len());
    for (i, raw) in tokens.iter().enumerate() {
        let after_round = i > 0 && tokens.get(i - 1).is_some_and(|p| ROUND.contains(p));
        // "omgång 01" is "omgång 1"
        let trimmed = raw.trim_start_matches('0');
        let token = if raw.chars().all(|c| c.is_ascii_digit()) && !trimmed.is_empty() { trimmed } else { raw };
        let kind = kind_of(token, after_round);
        // a round's number or letter is kept whatever it is ("steg a", "call 3")
        if matches!(kind, WordKind::Round | WordKind::Year) {
            out.push((token.to_string(), kind));
            continue;
        }
        if STOP.contains(&token) {
            continue;
        }
        let translated = GLOSSARY.iter().find(|(sv, _)| *sv == token).map_or(token, |(_, en)| *en);
        for w in translated.split(' ') {
            let w = singular(w);
            out.push((w.to_string(), kind_of(w, false)));
        }
    }
    out
}

fn words(title: &str) -> BTreeMap<String, WordKind> {
    let mut out = BTreeMap::new();
    for (w, k) in ordered_words(title) {
        out.entry(w).or_insert(k);
    }
    out
}

/// The title's comparable words in title order, one string (the `title_key`
/// stored with a call).
pub fn title_key(title: &str) -> String {
    ordered_words(title).into_iter().map(|(w, _)| w).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(a: &str, b: &str) -> Option<WordDiff> {
        TitleWords::new(a).compare(&TitleWords::new(b)).err().map(|(d, _)| d)
    }

    #[test]
    fn swedish_and_english_titles_of_one_call_agree() {
        for (sv, en) in [
            ("Social innovation för inkludering 2026", "Social innovation for inclusion 2026"),
            ("Social innovation för inkludering – utlysning 2026", "Social innovation for inclusion: call 2026"),
            ("Sociala innovationer för inkluderande arbetsmarknader", "Social innovation for inclusive labour markets"),
            ("Mötesplatser för unga i glesbygd", "Mötesplatser för ungdomar i glesbygd"),
            ("Social innovation for inclusive labor markets", "Social innovation for inclusive labour markets"),
        ] {
            assert_eq!(diff(sv, en), None, "{sv} / {en}");
        }
    }

    #[test]
    fn every_number_year_round_and_target_group_must_agree() {
        let cases = [
            ("Mötesplatser för unga i glesbygd", "Mötesplatser för äldre i glesbygd", WordKind::TargetGroup),
            ("Stöd för kvinnor i företagande", "Stöd för män i företagande", WordKind::TargetGroup),
            ("Young people in rural areas", "Children in rural areas", WordKind::TargetGroup),
            ("Lokala insatser – omgång 1", "Lokala insatser – omgång 2", WordKind::Round),
            ("Innovation round 2", "Innovation round 3", WordKind::Round),
            ("Digital transition call 3", "Digital transition call 4", WordKind::Round),
            ("Testbäddar steg 1", "Testbäddar steg 2", WordKind::Round),
            ("Testbäddar steg A", "Testbäddar steg B", WordKind::Round),
            ("Kultur i hela länet 2026", "Kultur i hela länet 2027", WordKind::Year),
            ("Kultur i hela länet 2026", "Kultur i hela länet", WordKind::Year),
            ("Energy storage TRL 4", "Energy storage TRL 6", WordKind::Number),
            ("Social innovation for inclusive labour markets", "Social innovation for inclusive housing markets", WordKind::Content),
            ("Lokala insatser mot utanförskap", "Lokala insatser mot utanförskap – Örebro län", WordKind::Content),
        ];
        for (a, b, kind) in cases {
            let d = diff(a, b).unwrap_or_else(|| panic!("{a} / {b} should differ"));
            assert_eq!(d.kind, kind, "{a} / {b}: {d:?}");
        }
    }

    #[test]
    fn the_signature_is_the_words_sorted() {
        let a = TitleWords::new("Social innovation för inkludering 2026");
        assert_eq!(a.signature().as_deref(), Some("2026 inclusion innovation social"));
        assert_eq!(TitleWords::new("Omgång 01: digital").signature(), TitleWords::new("digital omgång 1").signature());
        assert_eq!(TitleWords::new("Utlysning – call for proposals").signature(), None);
    }
}
