//! Text handling for the classifier: a byte-level tokenizer that lower-cases
//! into a reusable buffer, Swedish and English stop words, Snowball stemming
//! (rust-stemmers) and a small Fx-style hasher for the hot hash maps.
//!
//! The tokenizer is shared by the offline trainer (`examples/train_classifier.rs`)
//! and the run-time classifier so both see exactly the same terms.

use crate::domain::Lang;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hasher (the rustc "Fx" mix). The inputs are
/// words from public texts, so hash flooding is not a concern here.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

/// A stable hash of a stem (for bigram keys).
#[inline]
pub fn stem_hash(stem: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(stem.as_bytes());
    h.finish() | 1
}

/// The key of the bigram `a b` from the stems' hashes.
#[inline]
pub fn bigram_key(a: u64, b: u64) -> u64 {
    a.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23) ^ b
}

/// Swedish stop words (function words and the boilerplate of call texts).
pub const STOP_SV: &[&str] = &[
    "och",
    "i",
    "att",
    "det",
    "som",
    "en",
    "på",
    "är",
    "av",
    "för",
    "med",
    "till",
    "den",
    "har",
    "de",
    "inte",
    "om",
    "ett",
    "han",
    "men",
    "var",
    "jag",
    "sig",
    "från",
    "vi",
    "så",
    "kan",
    "man",
    "när",
    "år",
    "säger",
    "hon",
    "under",
    "också",
    "efter",
    "eller",
    "nu",
    "sin",
    "där",
    "vid",
    "mot",
    "ska",
    "skall",
    "hade",
    "ut",
    "sina",
    "alla",
    "bara",
    "dem",
    "detta",
    "denna",
    "dessa",
    "deras",
    "dess",
    "du",
    "ni",
    "vara",
    "vad",
    "vilka",
    "vilken",
    "vilket",
    "blir",
    "blev",
    "bli",
    "samt",
    "även",
    "inom",
    "genom",
    "mellan",
    "utan",
    "över",
    "hos",
    "här",
    "hur",
    "än",
    "då",
    "upp",
    "in",
    "ha",
    "få",
    "får",
    "måste",
    "kommer",
    "kunna",
    "olika",
    "andra",
    "annat",
    "annan",
    "nya",
    "ny",
    "nytt",
    "mer",
    "mycket",
    "flera",
    "många",
    "vissa",
    "varje",
    "sådana",
    "sådan",
    "sitt",
    "min",
    "mitt",
    "våra",
    "vår",
    "ert",
    "er",
    "oss",
    "dig",
    "mig",
    "ingen",
    "inga",
    "något",
    "någon",
    "några",
    "bland",
    "dock",
    "sedan",
    "redan",
    "både",
    "enligt",
    "kring",
    "både",
    "per",
    "ta",
    "två",
    "tre",
    "ca",
    "cirka",
    "bör",
    "vill",
    "utifrån",
    "därför",
    "eftersom",
    "vilkas",
    "sådant",
    "hela",
    "dvs",
    "bl",
    "a",
    "t",
    "ex",
    "etc",
    "s",
    "sk",
    "projekt",
    "projektet",
    "syfte",
    "syftet",
    "mål",
    "målet",
    "ansökan",
    "ansöka",
    "utlysning",
    "utlysningen",
    "stöd",
    "finansiering",
    "medel",
    "kronor",
    "miljoner",
    "msek",
    "sek",
    "kr",
];

/// English stop words (function words and call boilerplate).
pub const STOP_EN: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "by",
    "at",
    "from",
    "as",
    "is",
    "are",
    "be",
    "been",
    "being",
    "was",
    "were",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "which",
    "who",
    "whom",
    "whose",
    "what",
    "will",
    "would",
    "should",
    "could",
    "can",
    "may",
    "might",
    "must",
    "shall",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "not",
    "no",
    "nor",
    "but",
    "if",
    "then",
    "than",
    "so",
    "such",
    "also",
    "into",
    "onto",
    "over",
    "under",
    "between",
    "through",
    "during",
    "before",
    "after",
    "about",
    "above",
    "below",
    "up",
    "down",
    "out",
    "off",
    "again",
    "further",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "own",
    "same",
    "only",
    "very",
    "too",
    "just",
    "their",
    "them",
    "they",
    "we",
    "our",
    "ours",
    "you",
    "your",
    "he",
    "she",
    "his",
    "her",
    "i",
    "me",
    "my",
    "us",
    "e",
    "g",
    "eg",
    "ie",
    "etc",
    "well",
    "including",
    "include",
    "includes",
    "within",
    "while",
    "based",
    "e.g",
    "i.e",
    "new",
    "one",
    "two",
    "three",
    "per",
    "via",
    "upon",
    "towards",
    "toward",
    "among",
    "proposals",
    "proposal",
    "project",
    "projects",
    "expected",
    "impact",
    "scope",
    "specific",
    "challenge",
    "action",
    "actions",
    "topic",
    "call",
    "eu",
    "eur",
    "million",
    "euro",
    "european",
    "union",
    "commission",
    "member",
    "states",
    "h2020",
    "horizon",
    "2020",
    "s",
];

/// Both stemmers, created once per model.
pub struct Stemmers {
    sv: Stemmer,
    en: Stemmer,
    stop_sv: HashSet<&'static str>,
    stop_en: HashSet<&'static str>,
}

impl Default for Stemmers {
    fn default() -> Self {
        Stemmers::new()
    }
}

impl Stemmers {
    pub fn new() -> Stemmers {
        Stemmers {
            sv: Stemmer::create(Algorithm::Swedish),
            en: Stemmer::create(Algorithm::English),
            stop_sv: STOP_SV.iter().copied().collect(),
            stop_en: STOP_EN.iter().copied().collect(),
        }
    }

    /// The stem of a lower-cased word in `lang`.
    pub fn stem(&self, lang: Lang, word: &str) -> String {
        match lang {
            Lang::Sv => self.sv.stem(word).into_owned(),
            Lang::En => {
                // Snowball English keeps a trailing apostrophe-s; drop it first.
                let w = word.strip_suffix("'s").unwrap_or(word);
                self.en.stem(w).into_owned()
            }
        }
    }

    pub fn is_stop(&self, lang: Lang, word: &str) -> bool {
        match lang {
            Lang::Sv => self.stop_sv.contains(word),
            Lang::En => self.stop_en.contains(word),
        }
    }
}

/// Calls `f(word)` for each lower-cased word of `text` (letters and digits;
/// hyphenated words are split; words of one character and pure numbers are
/// skipped). `buf` is reused between words and calls to avoid allocation.
#[inline]
pub fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    buf.clear();
    let mut has_alpha = false;
    let mut nchars = 0usize;
    let mut flush = |buf: &mut String, has_alpha: &mut bool, nchars: &mut usize| {
        if *has_alpha && *nchars >= 2 && *nchars <= 40 {
            f(buf);
        }
        buf.clear();
        *has_alpha = false;
        *nchars = 0;
    };
    if text.is_ascii() {
        for &b in text.as_bytes() {
            if b.is_ascii_alphabetic() {
                buf.push(b.to_ascii_lowercase() as char);
                has_alpha = true;
                nchars += 1;
            } else if b.is_ascii_digit() {
                buf.push(b as char);
                nchars += 1;
            } else if !buf.is_empty() {
                flush(buf, &mut has_alpha, &mut nchars);
            }
        }
        if !buf.is_empty() {
            flush(buf, &mut has_alpha, &mut nchars);
        }
        return;
    }
    // Texts with non-ASCII letters (å, ä, ö, é …): per char.
    for c in text.chars() {
        if c.is_alphabetic() {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
            has_alpha = true;
            nchars += 1;
        } else if c.is_ascii_digit() {
            buf.push(c);
            nchars += 1;
        } else if !buf.is_empty() {
            flush(buf, &mut has_alpha, &mut nchars);
        }
    }
    if !buf.is_empty() {
        flush(buf, &mut has_alpha, &mut nchars);
    }
}

/// The first `max_chars` characters of `s` (on a char boundary).
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// English stems of a text, stop words removed: what the trainer counts.
pub fn english_stems(st: &Stemmers, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    for_each_word(text, &mut buf, |w| {
        if !st.is_stop(Lang::En, w) {
            out.push(st.stem(Lang::En, w));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_lowercases_both_languages() {
        let cases: &[(&str, &[&str])] = &[
            ("Hello, World-wide 2020 x", &["hello", "world", "wide"]),
            ("Arbetsmarknadsinsatser för ÄLDRE", &["arbetsmarknadsinsatser", "för", "äldre"]),
            ("CO2 och 5G", &["co2", "och", "5g"]),
        ];
        for (text, want) in cases {
            let mut got = Vec::new();
            let mut buf = String::new();
            for_each_word(text, &mut buf, |w| got.push(w.to_string()));
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn stems_and_stops() {
        let st = Stemmers::new();
        assert_eq!(st.stem(Lang::En, "innovations"), "innov");
        assert_eq!(st.stem(Lang::Sv, "insatser"), "insats");
        assert!(st.is_stop(Lang::Sv, "och"));
        assert!(st.is_stop(Lang::En, "the"));
        assert_eq!(truncate_chars("åäö", 2), "åä");
    }
}
