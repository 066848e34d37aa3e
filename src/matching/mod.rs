//! Matching (pure): after classification, rank the member organisations for
//! one call — shared categories weighted by the call's category scores,
//! keyword overlap after stemming and fuzzy matching, experience with the
//! funder, declared answers — each with short Swedish reasons and whether it
//! may be proposed as lead applicant. `consortium` then proposes who could
//! apply together.
//!
//! [`MemberIndex`] holds what depends only on the members (keyword stems,
//! category postings) so that matching many calls against the same members
//! costs little per call; [`match_members`] builds one for a single call.

pub mod consortium;
pub mod eligibility;

pub use consortium::{Proposal, propose, propose_indexed};
pub use eligibility::{LeadRule, is_research_led};

use crate::domain::{Call, CategoryScore, Intent, Member, MemberId, Role};
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

/// Weight of the category part of a score (the rest is keywords).
pub const CATEGORY_WEIGHT: f32 = 0.65;
/// Weight of the keyword part of a score.
pub const KEYWORD_WEIGHT: f32 = 0.35;
/// Bonus for notes showing experience with the call's funder or programme.
pub const EXPERIENCE_BONUS: f32 = 0.05;
/// The keyword part of a score by number of matching keywords: 1 − 0.5ⁿ.
const KEYWORD_PART: [f32; 9] = [0.0, 0.5, 0.75, 0.875, 0.9375, 0.96875, 0.984375, 0.9921875, 0.99609375];
/// Members scoring below this are left out unless they answered yes or maybe.
pub const MIN_SCORE: f32 = 0.1;
/// Fuzzy keyword match: Jaro–Winkler similarity at least this …
const FUZZY_MIN_SIMILARITY: f64 = 0.93;
/// … and a common prefix of at least this many characters.
const FUZZY_MIN_PREFIX: usize = 5;
/// … covering at least this many tenths of the stem.
const FUZZY_MIN_PREFIX_SHARE: usize = 6;
/// Stems shorter than this only match a word exactly.
const MIN_PREFIX_STEM: usize = 4;

/// Words in keywords that carry no meaning on their own.
const STOPWORDS: &[&str] = &[
    "och", "att", "av", "för", "med", "i", "på", "till", "som", "en", "ett", "det", "de", "om", "the", "and", "of", "for", "in", "to", "a",
    "an", "on", "with",
];

/// Funders and programmes whose earlier projects count as experience:
/// (lower-case term as found in funder/programme/notes, how to show it).
const EXPERIENCE_TERMS: &[(&str, &str)] = &[
    ("esf", "ESF"),
    ("arvsfond", "Arvsfonden"),
    ("vinnova", "Vinnova"),
    ("horizon", "Horizon Europe"),
    ("horisont", "Horizon Europe"),
    ("formas", "Formas"),
    ("forte", "Forte"),
    ("tillväxtverket", "Tillväxtverket"),
    ("leader", "Leader"),
    ("eruf", "ERUF"),
    ("interreg", "Interreg"),
    ("erasmus", "Erasmus+"),
    ("jordbruksverket", "Jordbruksverket"),
];

/// One member's fit for one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberMatch {
    pub member: MemberId,
    /// 0..=1, higher is better.
    pub score: f32,
    /// May be proposed as lead applicant: can lead, and the call's applicant
    /// rules (when known) allow its kind of organisation.
    pub eligible_lead: bool,
    /// Short Swedish reasons, strongest first: "SC6 (0.82)",
    /// "nyckelord: arbetsintegrering ≈ arbetsintegrerande", "har sagt ja som partner".
    pub reasons: Vec<String>,
    /// Which of `reasons` only restate the call's category scores ("SC6 (0.82)");
    /// the others are what ties this member to the call (answer, keywords, experience, eligibility).
    #[serde(skip)]
    pub score_reasons: std::ops::Range<usize>,
    /// What the member answered to this call, if anything.
    pub answered: Option<Intent>,
    /// The role it offered with its answer.
    pub offered_role: Option<Role>,
}

/// A keyword of a member, split into tokens.
#[derive(Debug)]
struct Keyword {
    member: u32,
    /// Index into the member's `keywords`.
    index: u16,
    /// Its distinct form (members often share keywords).
    form: u32,
}

/// A distinct keyword, as tokens.
#[derive(Debug)]
struct Form {
    /// First token id; tokens are `first_token..first_token + n_tokens`.
    first_token: u32,
    n_tokens: u8,
}

/// No vocabulary entry / no position.
const NONE: u32 = u32::MAX;

/// What depends only on the members: interned categories with their
/// members, keyword tokens with their stems (the "vocabulary"), and stems
/// bucketed by their first characters for fast lookup of a call's words.
#[derive(Debug)]
pub struct MemberIndex<'a> {
    members: &'a [Member],
    by_id: FnvMap<&'a str, u32>,
    categories: FnvMap<&'a str, u32>,
    category_names: Vec<&'a str>,
    /// Category number → members declaring it.
    category_members: Vec<Vec<u32>>,
    /// Each member's category numbers.
    member_categories: Vec<Vec<u32>>,
    /// All keywords, grouped by member in member order.
    keywords: Vec<Keyword>,
    forms: Vec<Form>,
    /// Form → keywords (of any member) with that form.
    form_keywords: Vec<Vec<u32>>,
    /// Token id → its text (lower case).
    token_text: Vec<String>,
    /// Token id → up to three vocabulary ids (the token, its Swedish and
    /// English stems), unused slots [`NONE`].
    token_vocab: Vec<[u32; 3]>,
    /// Vocabulary id → used by a keyword of several words (positions needed).
    vocab_multi: Vec<bool>,
    /// Vocabulary id → forms whose first token has it.
    vocab_forms: Vec<Vec<u32>>,
    /// Stems (≥ MIN_PREFIX_STEM chars) keyed by their first MIN_PREFIX_STEM
    /// chars: (stem, vocabulary id).
    buckets: FnvMap<String, Vec<(String, u32)>>,
    /// Short tokens that must equal a word: word → vocabulary id.
    exact: HashMap<String, u32>,
    /// Per member, a bit per [`EXPERIENCE_TERMS`] entry its notes mention.
    experience: Vec<u16>,
    /// Words already looked up (across calls) → their vocabulary ids. The
    /// words of funding calls are a bounded vocabulary, so after a few
    /// hundred calls nearly every word is here.
    word_cache: Mutex<FnvMap<String, Box<[u32]>>>,
}

/// FNV-1a: a fast hash for the short strings and small integers of the
/// per-call maps (no untrusted keys that could be chosen to collide
/// matter here: the worst case is a slower match).
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// The word cache is emptied when it grows beyond this many words.
const WORD_CACHE_MAX: usize = 200_000;

fn first_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Lower-case words of a text (letters and digits; everything else splits).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

fn common_prefix_chars(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// A bit per [`EXPERIENCE_TERMS`] entry that starts a word of `text`.
fn experience_mask(text: &str) -> u16 {
    let lower = lower(text);
    let starts_word = |t: &str| lower.match_indices(t).any(|(i, _)| lower[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric()));
    EXPERIENCE_TERMS.iter().enumerate().filter(|(_, (t, _))| starts_word(t)).fold(0, |m, (i, _)| m | (1 << i))
}

impl<'a> MemberIndex<'a> {
    pub fn new(members: &'a [Member]) -> MemberIndex<'a> {
        let sv = Stemmer::create(Algorithm::Swedish);
        let en = Stemmer::create(Algorithm::English);
        let mut ix = MemberIndex {
            members,
            by_id: FnvMap::with_capacity_and_hasher(members.len(), Default::default()),
            categories: FnvMap::default(),
            category_names: Vec::new(),
            category_members: Vec::new(),
            member_categories: Vec::with_capacity(members.len()),
            keywords: Vec::new(),
            forms: Vec::new(),
            form_keywords: Vec::new(),
            token_text: Vec::new(),
            token_vocab: Vec::new(),
            vocab_multi: Vec::new(),
            vocab_forms: Vec::new(),
            buckets: FnvMap::default(),
            exact: HashMap::new(),
            experience: members.iter().map(|m| experience_mask(&m.notes)).collect(),
            word_cache: Mutex::new(FnvMap::default()),
        };
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut form_of: HashMap<Vec<String>, u32> = HashMap::new();
        for (mi, m) in members.iter().enumerate() {
            let mi = mi as u32;
            ix.by_id.insert(m.id.as_str(), mi);
            let mut cats = Vec::with_capacity(m.categories.len());
            for c in &m.categories {
                let next = ix.category_members.len() as u32;
                let ci = *ix.categories.entry(c.as_str()).or_insert(next);
                if ci == next {
                    ix.category_members.push(Vec::new());
                    ix.category_names.push(c.as_str());
                }
                if !cats.contains(&ci) {
                    cats.push(ci);
                    ix.category_members[ci as usize].push(mi);
                }
            }
            ix.member_categories.push(cats);
            for (ki, kw) in m.keywords.iter().enumerate().take(u16::MAX as usize) {
                let lower = kw.to_lowercase();
                let toks: Vec<&str> = words(&lower).filter(|w| w.chars().count() > 1 && !STOPWORDS.contains(w)).take(8).collect();
                if toks.is_empty() {
                    continue;
                }
                let key: Vec<String> = toks.iter().map(|t| t.to_string()).collect();
                if let Some(&form) = form_of.get(&key) {
                    ix.form_keywords[form as usize].push(ix.keywords.len() as u32);
                    ix.keywords.push(Keyword { member: mi, index: ki as u16, form });
                    continue;
                }
                let form = ix.forms.len() as u32;
                form_of.insert(key, form);
                let multi = toks.len() > 1;
                let first_token = ix.token_text.len() as u32;
                ix.forms.push(Form { first_token, n_tokens: toks.len() as u8 });
                ix.form_keywords.push(vec![ix.keywords.len() as u32]);
                ix.keywords.push(Keyword { member: mi, index: ki as u16, form });
                for t in toks {
                    let mut variants = vec![t.to_string()];
                    if t.chars().count() >= MIN_PREFIX_STEM {
                        variants.push(sv.stem(t).into_owned());
                        variants.push(en.stem(t).into_owned());
                        variants.retain(|f| f.chars().count() >= MIN_PREFIX_STEM);
                    }
                    variants.sort();
                    variants.dedup();
                    let mut ids = [NONE; 3];
                    for (slot, f) in ids.iter_mut().zip(variants) {
                        let next = ix.vocab_multi.len() as u32;
                        let v = *vocab.entry(f).or_insert(next);
                        if v == next {
                            ix.vocab_multi.push(false);
                            ix.vocab_forms.push(Vec::new());
                        }
                        ix.vocab_multi[v as usize] |= multi;
                        if ix.token_text.len() as u32 == first_token {
                            ix.vocab_forms[v as usize].push(form);
                        }
                        *slot = v;
                    }
                    ix.token_text.push(t.to_string());
                    ix.token_vocab.push(ids);
                }
            }
        }
        let mut entries: Vec<(String, u32)> = vocab.into_iter().collect();
        entries.sort();
        for (form, v) in entries {
            if form.chars().count() < MIN_PREFIX_STEM {
                ix.exact.insert(form, v);
            } else {
                ix.buckets.entry(first_chars(&form, MIN_PREFIX_STEM).to_string()).or_default().push((form, v));
            }
        }
        ix
    }

    pub fn members(&self) -> &'a [Member] {
        self.members
    }

    pub fn get(&self, id: &MemberId) -> Option<&'a Member> {
        self.by_id.get(id.as_str()).and_then(|&i| self.members.get(i as usize))
    }

    /// Append the vocabulary ids a word matches: equal to a short form, or starting
    /// with a stem, or fuzzily close to one.
    fn vocab_for_word(&self, w: &str, out: &mut Vec<u32>) {
        if w.chars().count() < MIN_PREFIX_STEM {
            out.extend(self.exact.get(w));
            return;
        }
        let Some(bucket) = self.buckets.get(first_chars(w, MIN_PREFIX_STEM)) else { return };
        out.extend(
            bucket
                .iter()
                .filter(|(stem, _)| {
                    w.starts_with(stem.as_str()) || {
                        // cheap filters first: a long shared beginning, then Jaro–Winkler
                        let common = common_prefix_chars(stem, w);
                        common >= FUZZY_MIN_PREFIX
                            && common * 10 >= stem.chars().count() * FUZZY_MIN_PREFIX_SHARE
                            && strsim::jaro_winkler(stem, w) >= FUZZY_MIN_SIMILARITY
                    }
                })
                .map(|(_, v)| *v),
        );
    }
}

/// Per-thread buffers sized to the vocabulary and the keyword forms, reused
/// across calls: allocating and clearing them for every call would cost
/// more than the matching. Between calls every entry is at its rest value
/// ([`NONE`], `false`); a call resets what it touched.
#[derive(Default)]
struct Scratch {
    /// Vocabulary id → position of the first word matching it.
    first: Vec<u32>,
    /// Vocabulary id → last entry of its position list in `Hits::at`.
    head: Vec<u32>,
    form_mark: Vec<bool>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Lower-case a text, quickly for ASCII.
fn lower(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Where one call's words meet the vocabulary.
struct Hits<'t> {
    words: Vec<&'t str>,
    /// Vocabulary ids matched, in order of first match.
    hit: Vec<u32>,
    first: Vec<u32>,
    head: Vec<u32>,
    /// Position lists of the vocabulary of multi-word keywords: (position,
    /// previous entry of the same vocabulary id or [`NONE`]).
    at: Vec<(u32, u32)>,
    /// Form → already listed as a candidate (all false between uses).
    form_mark: Vec<bool>,
}

impl Drop for Hits<'_> {
    /// Reset what this call touched and hand the buffers back.
    fn drop(&mut self) {
        for &v in &self.hit {
            if let Some(f) = self.first.get_mut(v as usize) {
                *f = NONE;
            }
            if let Some(h) = self.head.get_mut(v as usize) {
                *h = NONE;
            }
        }
        let scratch = Scratch {
            first: std::mem::take(&mut self.first),
            head: std::mem::take(&mut self.head),
            form_mark: std::mem::take(&mut self.form_mark),
        };
        let _ = SCRATCH.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = scratch;
            }
        });
    }
}

impl<'t> Hits<'t> {
    fn new(ix: &MemberIndex<'_>, text: &'t str) -> Hits<'t> {
        let mut ws: Vec<&str> = Vec::with_capacity(text.len() / 5);
        ws.extend(words(text));
        let words = ws;
        let mut scratch =
            SCRATCH.try_with(|s| s.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()).unwrap_or_default();
        let n_vocab = ix.vocab_multi.len();
        if scratch.first.len() < n_vocab {
            scratch.first.resize(n_vocab, NONE);
            scratch.head.resize(n_vocab, NONE);
        }
        if scratch.form_mark.len() < ix.forms.len() {
            scratch.form_mark.resize(ix.forms.len(), false);
        }
        let Scratch { mut first, mut head, form_mark } = scratch;
        let mut hit = Vec::with_capacity(words.len());
        let mut at: Vec<(u32, u32)> = Vec::with_capacity(words.len());
        // a poisoned lock only means another thread panicked mid-insert: the map is still usable
        let mut cache = ix.word_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > WORD_CACHE_MAX {
            cache.clear();
        }
        let mut buf = Vec::new();
        for (pos, w) in words.iter().enumerate() {
            let found: &[u32] = match cache.get(*w) {
                Some(f) => f,
                None => {
                    buf.clear();
                    ix.vocab_for_word(w, &mut buf);
                    cache.entry((*w).to_string()).or_insert_with(|| buf.clone().into_boxed_slice())
                }
            };
            for &v in found {
                let f = &mut first[v as usize];
                if *f == NONE {
                    *f = pos as u32;
                    hit.push(v);
                }
                if ix.vocab_multi[v as usize] {
                    let h = &mut head[v as usize];
                    at.push((pos as u32, *h));
                    *h = at.len() as u32 - 1;
                }
            }
        }
        drop(cache);
        Hits { words, hit, first, head, at, form_mark }
    }

    /// The keyword forms whose first token a word of the call matched.
    fn candidate_forms(&mut self, ix: &MemberIndex<'_>) -> Vec<u32> {
        let mut out = Vec::new();
        for v in &self.hit {
            for &f in &ix.vocab_forms[*v as usize] {
                if let Some(m) = self.form_mark.get_mut(f as usize)
                    && !*m
                {
                    *m = true;
                    out.push(f);
                }
            }
        }
        for &f in &out {
            self.form_mark[f as usize] = false;
        }
        out
    }

    /// Every position matching vocabulary id `v` (multi-word keywords only), last first.
    fn positions(&self, v: u32) -> impl Iterator<Item = u32> + '_ {
        let mut i = self.head.get(v as usize).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            let (p, prev) = *self.at.get(i as usize)?;
            i = prev;
            Some(p)
        })
    }

    /// The first position matching a token, or [`NONE`].
    fn token_first(&self, ix: &MemberIndex<'_>, t: u32) -> u32 {
        ix.token_vocab[t as usize].iter().filter(|v| **v != NONE).map(|v| self.first[*v as usize]).min().unwrap_or(NONE)
    }

    /// Positions of the words that make keyword form `k` match, appended to
    /// `out`: every token found, and for a keyword of several words, all
    /// within a few words of each other.
    fn keyword(&self, ix: &MemberIndex<'_>, k: &Form, out: &mut Vec<u32>) -> bool {
        if k.n_tokens == 1 {
            let p = self.token_first(ix, k.first_token);
            if p != NONE {
                out.push(p);
            }
            return p != NONE;
        }
        if (k.first_token..k.first_token + k.n_tokens as u32).any(|t| self.token_first(ix, t) == NONE) {
            return false;
        }
        let window = k.n_tokens as u32 + 1;
        // a position of token `t` within the window around `p0`, not `p0` itself
        let near = |t: u32, p0: u32| -> Option<u32> {
            ix.token_vocab[t as usize]
                .iter()
                .filter(|v| **v != NONE)
                .find_map(|v| self.positions(*v).find(|q| *q != p0 && q.abs_diff(p0) <= window))
        };
        let mark = out.len();
        let starts = ix.token_vocab[k.first_token as usize];
        for p0 in starts.iter().filter(|v| **v != NONE).flat_map(|v| self.positions(*v)) {
            out.truncate(mark);
            out.push(p0);
            let all = (k.first_token + 1..k.first_token + k.n_tokens as u32).all(|t| match near(t, p0) {
                Some(q) => {
                    out.push(q);
                    true
                }
                None => false,
            });
            if all {
                return true;
            }
        }
        out.truncate(mark);
        false
    }
}

/// Rank `members` for `call`: best first, members who said yes first of
/// all, members who said no left out, members with too little in common
/// left out. `scores` are the call's category scores (from the classifier);
/// `answers` the members' current answers to this call.
pub fn match_members(
    call: &Call,
    scores: &[CategoryScore],
    members: &[Member],
    answers: &[(MemberId, Intent, Option<Role>)],
) -> Vec<MemberMatch> {
    let ix = MemberIndex::new(members);
    match_members_indexed(&ix, call, scores, answers, usize::MAX)
}

/// Per-member sums while scoring one call.
#[derive(Clone, Copy)]
struct Acc {
    /// Product of (1 − call score) over shared categories: noisy-or.
    miss: f32,
    keywords: u8,
    touched: bool,
    /// Where this member's matched keywords go when its reasons are built.
    slot: u32,
}

/// `x` in 0..=1 with two decimals ("0.82"), without float formatting.
fn two_decimals(x: f32) -> [u8; 4] {
    let n = (x.clamp(0.0, 1.0) * 100.0).round() as u8;
    [b'0' + n / 100, b'.', b'0' + (n / 10) % 10, b'0' + n % 10]
}

/// The concatenation of `parts`, allocated once (reasons are built for
/// every match of every call: `format!` would dominate the matching).
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// [`match_members`] over a prebuilt index, with reasons built for at most
/// `limit` best matches (the rest are not returned).
pub fn match_members_indexed(
    ix: &MemberIndex<'_>,
    call: &Call,
    scores: &[CategoryScore],
    answers: &[(MemberId, Intent, Option<Role>)],
    limit: usize,
) -> Vec<MemberMatch> {
    let n = ix.members.len();
    let mut acc = vec![Acc { miss: 1.0, keywords: 0, touched: false, slot: NONE }; n];
    let mut touched: Vec<u32> = Vec::with_capacity(n);
    let touch = |acc: &mut [Acc], touched: &mut Vec<u32>, m: u32| {
        if let Some(a) = acc.get_mut(m as usize)
            && !a.touched
        {
            a.touched = true;
            touched.push(m);
        }
    };

    // categories
    let mut call_cat = vec![0.0f32; ix.category_names.len()];
    for s in scores {
        if let Some(&ci) = ix.categories.get(s.category.as_str()) {
            let w = &mut call_cat[ci as usize];
            *w = w.max(s.score.clamp(0.0, 1.0));
        }
    }
    for (ci, &w) in call_cat.iter().enumerate() {
        if w > 0.0 {
            for &m in &ix.category_members[ci] {
                touch(&mut acc, &mut touched, m);
                acc[m as usize].miss *= 1.0 - w;
            }
        }
    }

    // keywords: (keyword id, start, end) into `positions`
    let text = lower(&call.all_text());
    let mut hits = Hits::new(ix, &text);
    let mut positions: Vec<u32> = Vec::with_capacity(256);
    let mut matched: Vec<(u32, u32, u32)> = Vec::with_capacity(256);
    for f in hits.candidate_forms(ix) {
        let start = positions.len() as u32;
        if hits.keyword(ix, &ix.forms[f as usize], &mut positions) {
            let end = positions.len() as u32;
            for &k in &ix.form_keywords[f as usize] {
                matched.push((k, start, end));
                let m = ix.keywords[k as usize].member;
                touch(&mut acc, &mut touched, m);
                let a = &mut acc[m as usize];
                a.keywords = a.keywords.saturating_add(1);
            }
        }
    }

    // answers
    let mut answer_of: HashMap<u32, (Intent, Option<Role>)> = HashMap::new();
    for (id, intent, role) in answers {
        if let Some(&m) = ix.by_id.get(id.as_str()) {
            answer_of.insert(m, (*intent, *role));
            touch(&mut acc, &mut touched, m);
        }
    }

    let call_exp = experience_mask(&call.funder) | call.programme.as_deref().map(experience_mask).unwrap_or(0);

    // score; rank by one integer key: members who said yes first, then by
    // score (to 1e-6), ties in the members' order (the store lists them by id)
    let mut scores_of: Vec<f32> = Vec::with_capacity(touched.len());
    let mut ranked: Vec<u64> = Vec::with_capacity(touched.len());
    for &m in &touched {
        let a = acc[m as usize];
        let answer = answer_of.get(&m).map(|(i, _)| *i);
        if answer == Some(Intent::No) {
            continue;
        }
        let cat = 1.0 - a.miss;
        let kw = KEYWORD_PART.get(a.keywords as usize).copied().unwrap_or(1.0);
        let exp = if ix.experience[m as usize] & call_exp != 0 { EXPERIENCE_BONUS } else { 0.0 };
        let score = (CATEGORY_WEIGHT * cat + KEYWORD_WEIGHT * kw + exp).clamp(0.0, 1.0);
        if answer.is_none() && score < MIN_SCORE {
            continue;
        }
        let not_yes = u64::from(answer != Some(Intent::Yes));
        let inv = 1_000_000 - (score * 1_000_000.0).round() as u64;
        ranked.push((not_yes << 60) | (inv << 32) | u64::from(m));
        acc[m as usize].slot = scores_of.len() as u32;
        scores_of.push(score);
    }
    if limit < ranked.len() {
        ranked.select_nth_unstable(limit);
        ranked.truncate(limit);
    }
    ranked.sort_unstable();
    let ranked: Vec<(u32, f32)> = ranked
        .into_iter()
        .map(|key| {
            let m = key as u32;
            (m, scores_of[acc[m as usize].slot as usize])
        })
        .collect();
    for a in &mut acc {
        a.slot = NONE;
    }

    // the returned members' matched keywords, in their own keyword order
    let mut their_kws: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); ranked.len()];
    for (slot, (m, _)) in ranked.iter().enumerate() {
        acc[*m as usize].slot = slot as u32;
    }
    for &(k, start, end) in &matched {
        let slot = acc[ix.keywords[k as usize].member as usize].slot;
        if let Some(v) = their_kws.get_mut(slot as usize) {
            v.push((k, start, end));
        }
    }

    // reasons, for the ones returned
    let rule = LeadRule::for_call(call);
    ranked
        .into_iter()
        .zip(their_kws)
        .map(|((m, score), mut kws)| {
            let member = &ix.members[m as usize];
            let mut reasons = Vec::with_capacity(8);
            let answer = answer_of.get(&m).copied();
            if let Some((intent, role)) = answer {
                reasons.push(answer_reason(intent, role));
            }
            let mut cats: Vec<(&str, f32)> = ix.member_categories[m as usize]
                .iter()
                .map(|ci| (*ci, call_cat[*ci as usize]))
                .filter(|(_, w)| *w > 0.0)
                .filter_map(|(ci, w)| ix.category_names.get(ci as usize).map(|k| (*k, w)))
                .collect();
            cats.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let score_reasons = reasons.len()..reasons.len() + cats.len();
            reasons.extend(cats.iter().map(|(c, w)| {
                let d = two_decimals(*w);
                concat(&[c, " (", std::str::from_utf8(&d).unwrap_or("?"), ")"])
            }));
            kws.sort_unstable_by_key(|x| x.0);
            for &(k, start, end) in kws.iter().take(4) {
                let kw = &ix.keywords[k as usize];
                let label = member.keywords.get(kw.index as usize).map(String::as_str).unwrap_or("");
                let found: Vec<&str> =
                    positions[start as usize..end as usize].iter().filter_map(|p| hits.words.get(*p as usize).copied()).collect();
                let form = &ix.forms[kw.form as usize];
                let toks =
                    ix.token_text[form.first_token as usize..(form.first_token + form.n_tokens as u32) as usize].iter().map(String::as_str);
                if toks.eq(found.iter().copied()) {
                    reasons.push(concat(&["nyckelord: ", label]));
                } else {
                    reasons.push(concat(&["nyckelord: ", label, " ≈ ", &found.join(" ")]));
                }
            }
            let shared = ix.experience[m as usize] & call_exp;
            if let Some((_, shown)) = EXPERIENCE_TERMS.iter().enumerate().find(|(i, _)| shared & (1 << i) != 0).map(|(_, t)| t) {
                reasons.push(concat(&["erfarenhet av ", shown]));
            }
            let lead_problem = rule.problem_for(member);
            if let Some(p) = &lead_problem
                && member.can_lead
            {
                reasons.push(concat(&["kan inte vara projektägare: ", p]));
            }
            MemberMatch {
                member: member.id.clone(),
                score,
                eligible_lead: member.can_lead && lead_problem.is_none(),
                reasons,
                score_reasons,
                answered: answer.map(|a| a.0),
                offered_role: answer.and_then(|a| a.1),
            }
        })
        .collect()
}

fn answer_reason(intent: Intent, role: Option<Role>) -> String {
    let said = match intent {
        Intent::Yes => "har sagt ja",
        Intent::Maybe => "har svarat kanske",
        Intent::No => "har sagt nej",
    };
    match role {
        Some(Role::Lead) => concat(&[said, " som projektägare"]),
        Some(Role::Partner) => concat(&[said, " som partner"]),
        Some(Role::Reference) => concat(&[said, " som referensgrupp"]),
        None => said.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{CategoryId, Contact, Email, Lang, OrgType};

    pub fn member(id: &str, org: OrgType, muni: &str, cats: &[&str], kws: &[&str], can_lead: bool) -> Member {
        Member {
            id: MemberId::parse(id).unwrap(),
            name: id.replace('_', " "),
            org_type: org,
            municipality: muni.into(),
            contacts: vec![Contact {
                name: "Kontakt".into(),
                email: Email::parse(&format!("k@{id}.example.org").replace('_', "-")).unwrap(),
                role: String::new(),
                primary: true,
                unsubscribed: false,
            }],
            categories: cats.iter().map(|c| CategoryId::parse(c).unwrap()).collect(),
            keywords: kws.iter().map(|k| k.to_string()).collect(),
            can_lead,
            languages: vec![Lang::Sv],
            notes: String::new(),
        }
    }

    pub fn call(title: &str, text: &str, funder: &str) -> Call {
        Call::new(title, "https://example.org/call", funder, text)
    }

    pub fn scores(s: &[(&str, f32)]) -> Vec<CategoryScore> {
        s.iter().map(|(c, w)| CategoryScore { category: CategoryId::parse(c).unwrap(), score: *w, evidence: vec![] }).collect()
    }

    /// A small partnership: two work-integration organisations, a sports
    /// federation, an energy business, municipalities, the university.
    pub fn partnership() -> Vec<Member> {
        let mut activa = member(
            "activa",
            OrgType::CivilSociety,
            "Örebro",
            &["SC6", "work_integration", "social_innovation"],
            &["arbetsintegrering", "socialt företagande", "arbetsmarknad"],
            true,
        );
        activa.notes = "tidigare ESF-projekt; arbetsträning".into();
        vec![
            activa,
            member(
                "mockeln",
                OrgType::CivilSociety,
                "Karlskoga",
                &["SC6", "work_integration"],
                &["arbetsintegrerande sociala företag", "rehabilitering"],
                true,
            ),
            member(
                "idrott",
                OrgType::CivilSociety,
                "Örebro",
                &["SC1", "children_youth", "public_health"],
                &["idrott", "barn och unga"],
                true,
            ),
            member("energibolaget", OrgType::Business, "Kumla", &["SC3", "SC5"], &["solenergi", "energieffektivisering"], true),
            member(
                "orebro_k",
                OrgType::Municipality,
                "Örebro",
                &["SC6", "SC1", "work_integration"],
                &["arbetsmarknad", "försörjningsstöd"],
                true,
            ),
            member("kumla_k", OrgType::Municipality, "Kumla", &["SC3", "SC6"], &["energi", "integration"], true),
            member("oru", OrgType::University, "Örebro", &["SC1", "SC6", "SC3"], &["forskning", "utvärdering"], true),
            member("region", OrgType::Region, "Örebro", &["SC1", "public_health"], &["folkhälsa"], true),
        ]
    }

    fn inclusion_call() -> Call {
        call(
            "Arbetsintegrerande insatser för personer långt från arbetsmarknaden",
            "Utlysningen stödjer arbetsintegrerande sociala företag och insatser för inkludering på arbetsmarknaden.",
            "Svenska ESF-rådet",
        )
    }

    #[test]
    fn inclusion_call_ranks_work_integration_first() {
        let ms = partnership();
        let m = match_members(&inclusion_call(), &scores(&[("SC6", 0.82), ("work_integration", 0.7)]), &ms, &[]);
        let ids: Vec<&str> = m.iter().map(|x| x.member.as_str()).collect();
        assert_eq!(&ids[..2], ["activa", "mockeln"], "{m:#?}");
        let activa = &m[0];
        assert!(activa.reasons.contains(&"SC6 (0.82)".to_string()), "{:?}", activa.reasons);
        assert!(activa.reasons.contains(&"nyckelord: arbetsintegrering ≈ arbetsintegrerande".to_string()), "{:?}", activa.reasons);
        assert!(activa.reasons.contains(&"erfarenhet av ESF".to_string()), "{:?}", activa.reasons);
        // The score lines are marked apart from what ties the member to the call.
        let marked = &activa.reasons[activa.score_reasons.clone()];
        assert_eq!(marked, ["SC6 (0.82)", "work_integration (0.70)"], "{:?}", activa.reasons);
        assert!(activa.reasons.iter().enumerate().filter(|(i, _)| !activa.score_reasons.contains(i)).all(|(_, r)| !r.ends_with(')')));
        assert!(activa.score > 0.8 && activa.score <= 1.0);
        assert!(!ids.contains(&"energibolaget"));
        assert!(m.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn answers_reorder_and_exclude() {
        let ms = partnership();
        let answers = vec![
            (MemberId::parse("activa").unwrap(), Intent::No, None),
            (MemberId::parse("kumla_k").unwrap(), Intent::Yes, Some(Role::Partner)),
        ];
        let m = match_members(&inclusion_call(), &scores(&[("SC6", 0.82), ("work_integration", 0.7)]), &ms, &answers);
        assert!(m.iter().all(|x| x.member.as_str() != "activa"), "a member who said no disappears");
        assert_eq!(m[0].member.as_str(), "kumla_k");
        assert_eq!(m[0].answered, Some(Intent::Yes));
        assert_eq!(m[0].reasons[0], "har sagt ja som partner");
    }

    #[test]
    fn fuzzy_and_stemmed_keywords() {
        let ms = vec![member("a", OrgType::CivilSociety, "Nora", &[], &["landsbygdsutveckling", "social innovation", "EU"], true)];
        let c = call("Rural", "Projekt för utveckling av landsbygden och innovativa sociala lösningar inom EU.", "X");
        let m = match_members(&c, &[], &ms, &[]);
        assert_eq!(m.len(), 1);
        assert!(m[0].reasons.iter().any(|r| r.starts_with("nyckelord: social innovation ≈ sociala innovativa")), "{:?}", m[0].reasons);
        assert!(m[0].reasons.contains(&"nyckelord: EU".to_string()), "{:?}", m[0].reasons);
        // no false friends
        let c = call("Arbetsmiljö", "Om arbetsmiljö och kommunikation.", "X");
        let ms = vec![member("b", OrgType::CivilSociety, "Nora", &[], &["arbetsmarknad"], true)];
        assert!(match_members(&c, &[], &ms, &[]).is_empty());
    }

    #[test]
    fn arvsfonden_makes_municipality_ineligible_lead() {
        let ms = partnership();
        let mut c = inclusion_call();
        c.funder = "Allmänna arvsfonden".into();
        let m = match_members(&c, &scores(&[("SC6", 0.8), ("work_integration", 0.8), ("SC1", 0.5)]), &ms, &[]);
        let k = m.iter().find(|x| x.member.as_str() == "orebro_k").unwrap();
        assert!(!k.eligible_lead);
        assert!(k.reasons.iter().any(|r| r.starts_with("kan inte vara projektägare: Arvsfonden")), "{:?}", k.reasons);
        assert!(m.iter().find(|x| x.member.as_str() == "activa").unwrap().eligible_lead);
    }

    #[test]
    fn experience_terms_start_words() {
        assert_ne!(experience_mask("tidigare ESF-projekt"), 0);
        assert_ne!(experience_mask("Allmänna arvsfonden"), 0, "Arvsfonden inside a compound start");
        assert_eq!(experience_mask("professionell, fortsätter"), 0);
    }

    #[test]
    fn indexed_with_limit_returns_best() {
        let ms = partnership();
        let ix = MemberIndex::new(&ms);
        let sc = scores(&[("SC6", 0.82), ("work_integration", 0.7)]);
        let all = match_members_indexed(&ix, &inclusion_call(), &sc, &[], usize::MAX);
        let two = match_members_indexed(&ix, &inclusion_call(), &sc, &[], 2);
        assert_eq!(&all[..2], &two[..]);
    }
}
