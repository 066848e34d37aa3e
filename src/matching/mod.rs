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
use std::collections::HashMap;

/// Weight of the category part of a score (the rest is keywords).
pub const CATEGORY_WEIGHT: f32 = 0.65;
/// Weight of the keyword part of a score.
pub const KEYWORD_WEIGHT: f32 = 0.35;
/// Bonus for notes showing experience with the call's funder or programme.
pub const EXPERIENCE_BONUS: f32 = 0.05;
/// Members scoring below this are left out unless they answered yes or maybe.
pub const MIN_SCORE: f32 = 0.1;
/// Fuzzy keyword match: Jaro–Winkler similarity at least this …
const FUZZY_MIN_SIMILARITY: f64 = 0.93;
/// … and a common prefix of at least this many characters.
const FUZZY_MIN_PREFIX: usize = 5;
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
    /// First token id; tokens are `first_token..first_token + n_tokens`.
    first_token: u32,
    n_tokens: u8,
}

/// What depends only on the members: interned categories with their
/// members, keyword tokens with their stems, and stems bucketed by their
/// first characters for fast lookup of a call's words.
#[derive(Debug)]
pub struct MemberIndex<'a> {
    members: &'a [Member],
    by_id: HashMap<&'a str, u32>,
    categories: HashMap<&'a str, u32>,
    category_names: Vec<&'a str>,
    /// Category number → members declaring it.
    category_members: Vec<Vec<u32>>,
    /// Each member's category numbers.
    member_categories: Vec<Vec<u32>>,
    keywords: Vec<Keyword>,
    /// Token id → (keyword id, token text).
    tokens: Vec<(u32, String)>,
    /// Stems (≥ MIN_PREFIX_STEM chars) keyed by their first MIN_PREFIX_STEM
    /// chars: (stem, token ids).
    buckets: HashMap<String, Vec<(String, Vec<u32>)>>,
    /// Short tokens that must equal a word: word → token ids.
    exact: HashMap<String, Vec<u32>>,
    /// Lower-cased notes, for experience.
    notes: Vec<String>,
}

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

impl<'a> MemberIndex<'a> {
    pub fn new(members: &'a [Member]) -> MemberIndex<'a> {
        let sv = Stemmer::create(Algorithm::Swedish);
        let en = Stemmer::create(Algorithm::English);
        let mut ix = MemberIndex {
            members,
            by_id: HashMap::with_capacity(members.len()),
            categories: HashMap::new(),
            category_names: Vec::new(),
            category_members: Vec::new(),
            member_categories: Vec::with_capacity(members.len()),
            keywords: Vec::new(),
            tokens: Vec::new(),
            buckets: HashMap::new(),
            exact: HashMap::new(),
            notes: members.iter().map(|m| m.notes.to_lowercase()).collect(),
        };
        let mut stems: HashMap<String, Vec<u32>> = HashMap::new();
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
                let kid = ix.keywords.len() as u32;
                ix.keywords.push(Keyword { member: mi, index: ki as u16, first_token: ix.tokens.len() as u32, n_tokens: toks.len() as u8 });
                for t in toks {
                    let tid = ix.tokens.len() as u32;
                    ix.tokens.push((kid, t.to_string()));
                    if t.chars().count() < MIN_PREFIX_STEM {
                        ix.exact.entry(t.to_string()).or_default().push(tid);
                        continue;
                    }
                    let mut forms = vec![t.to_string(), sv.stem(t).into_owned(), en.stem(t).into_owned()];
                    forms.retain(|f| f.chars().count() >= MIN_PREFIX_STEM);
                    forms.sort();
                    forms.dedup();
                    for f in forms {
                        stems.entry(f).or_default().push(tid);
                    }
                }
            }
        }
        let mut stems: Vec<(String, Vec<u32>)> = stems.into_iter().collect();
        stems.sort();
        for (stem, toks) in stems {
            ix.buckets.entry(first_chars(&stem, MIN_PREFIX_STEM).to_string()).or_default().push((stem, toks));
        }
        ix
    }

    pub fn members(&self) -> &'a [Member] {
        self.members
    }

    pub fn get(&self, id: &MemberId) -> Option<&'a Member> {
        self.by_id.get(id.as_str()).and_then(|&i| self.members.get(i as usize))
    }

    /// Keyword token ids a word matches: equal to a short token, or
    /// starting with a stem, or fuzzily close to one.
    fn tokens_for_word(&self, w: &str) -> Vec<u32> {
        if w.chars().count() < MIN_PREFIX_STEM {
            return self.exact.get(w).cloned().unwrap_or_default();
        }
        let mut out = Vec::new();
        let Some(bucket) = self.buckets.get(first_chars(w, MIN_PREFIX_STEM)) else { return out };
        for (stem, toks) in bucket {
            let hit = w.starts_with(stem.as_str())
                || (common_prefix_chars(stem, w) >= FUZZY_MIN_PREFIX && strsim::jaro_winkler(stem, w) >= FUZZY_MIN_SIMILARITY);
            if hit {
                out.extend_from_slice(toks);
            }
        }
        out
    }

    /// Where the call's words meet keyword tokens.
    fn matched_tokens<'t>(&self, text: &'t str) -> Hits<'t> {
        let mut memo: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut hits = Hits { first: HashMap::new(), at: HashMap::new() };
        for (pos, w) in words(text).enumerate() {
            let toks = memo.entry(w).or_insert_with(|| self.tokens_for_word(w));
            for &t in toks.iter() {
                hits.first.entry(t).or_insert(w);
                let multi = self.tokens.get(t as usize).and_then(|(k, _)| self.keywords.get(*k as usize)).is_some_and(|k| k.n_tokens > 1);
                if multi {
                    hits.at.entry(t).or_default().push((pos as u32, w));
                }
            }
        }
        hits
    }

    /// The call's words that make keyword `k` match: every token found, and
    /// for a keyword of several words, all within a few words of each other.
    fn keyword_words<'t>(&self, k: u32, hits: &Hits<'t>) -> Option<Vec<&'t str>> {
        let kw = self.keywords.get(k as usize)?;
        let toks = kw.first_token..kw.first_token + kw.n_tokens as u32;
        if kw.n_tokens == 1 {
            return hits.first.get(&kw.first_token).map(|w| vec![*w]);
        }
        let window = kw.n_tokens as u32 + 1;
        for &(p0, w0) in hits.at.get(&kw.first_token)? {
            let mut found = vec![w0];
            for t in toks.clone().skip(1) {
                let near = hits.at.get(&t)?.iter().find(|(q, _)| q.abs_diff(p0) <= window && *q != p0);
                match near {
                    Some((_, w)) => found.push(*w),
                    None => break,
                }
            }
            if found.len() == kw.n_tokens as usize {
                return Some(found);
            }
        }
        None
    }
}

/// Keyword tokens met in one call's text.
struct Hits<'t> {
    /// Token → the first word (in text order) that matched it.
    first: HashMap<u32, &'t str>,
    /// Tokens of multi-word keywords → every (position, word) that matched.
    at: HashMap<u32, Vec<(u32, &'t str)>>,
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
    let mut acc = vec![Acc { miss: 1.0, keywords: 0, touched: false }; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut touch = |acc: &mut [Acc], m: u32| {
        if let Some(a) = acc.get_mut(m as usize)
            && !a.touched
        {
            a.touched = true;
            touched.push(m);
        }
    };

    // categories
    let mut call_cat: HashMap<u32, f32> = HashMap::new();
    for s in scores {
        let Some(&ci) = ix.categories.get(s.category.as_str()) else { continue };
        let w = s.score.clamp(0.0, 1.0);
        if w <= 0.0 {
            continue;
        }
        let e = call_cat.entry(ci).or_insert(0.0);
        *e = e.max(w);
    }
    for (&ci, &w) in &call_cat {
        for &m in &ix.category_members[ci as usize] {
            touch(&mut acc, m);
            acc[m as usize].miss *= 1.0 - w;
        }
    }

    // keywords
    let text = call.all_text().to_lowercase();
    let hits = ix.matched_tokens(&text);
    let mut candidates: Vec<u32> = hits.first.keys().filter_map(|t| ix.tokens.get(*t as usize).map(|(k, _)| *k)).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut matched_kws: Vec<(u32, Vec<&str>)> =
        candidates.into_iter().filter_map(|k| ix.keyword_words(k, &hits).map(|w| (k, w))).collect();
    matched_kws.sort_unstable_by_key(|(k, _)| *k);
    for (k, _) in &matched_kws {
        let m = ix.keywords[*k as usize].member;
        touch(&mut acc, m);
        let a = &mut acc[m as usize];
        a.keywords = a.keywords.saturating_add(1);
    }

    // answers
    let mut answer_of: HashMap<u32, (Intent, Option<Role>)> = HashMap::new();
    for (id, intent, role) in answers {
        if let Some(&m) = ix.by_id.get(id.as_str()) {
            answer_of.insert(m, (*intent, *role));
            touch(&mut acc, m);
        }
    }

    let funder_text = format!("{} {}", call.funder, call.programme.as_deref().unwrap_or("")).to_lowercase();
    let experience: Vec<&(&str, &str)> = EXPERIENCE_TERMS.iter().filter(|(t, _)| funder_text.contains(t)).collect();
    let rule = LeadRule::for_call(call);

    // score
    let mut ranked: Vec<(u32, f32, u8)> = Vec::with_capacity(touched.len());
    for &m in &touched {
        let a = acc[m as usize];
        let answer = answer_of.get(&m).map(|(i, _)| *i);
        if answer == Some(Intent::No) {
            continue;
        }
        let cat = 1.0 - a.miss;
        let kw = 1.0 - 0.5f32.powi(a.keywords as i32);
        let exp = if experience.iter().any(|(t, _)| ix.notes[m as usize].contains(t)) { EXPERIENCE_BONUS } else { 0.0 };
        let score = (CATEGORY_WEIGHT * cat + KEYWORD_WEIGHT * kw + exp).clamp(0.0, 1.0);
        let tier = match answer {
            Some(Intent::Yes) => 0,
            Some(Intent::Maybe) => 1,
            _ => 2,
        };
        if tier == 2 && score < MIN_SCORE {
            continue;
        }
        ranked.push((m, score, tier));
    }
    let order = |x: &(u32, f32, u8), y: &(u32, f32, u8)| {
        // tier 1 (maybe) ranks with the rest by score; only yes comes first
        let (tx, ty) = (u8::from(x.2 != 0), u8::from(y.2 != 0));
        tx.cmp(&ty).then(y.1.total_cmp(&x.1)).then_with(|| ix.members[x.0 as usize].id.cmp(&ix.members[y.0 as usize].id))
    };
    if limit < ranked.len() {
        ranked.select_nth_unstable_by(limit, order);
        ranked.truncate(limit);
    }
    ranked.sort_unstable_by(order);

    // reasons, for the ones returned
    let mut kws_of: HashMap<u32, Vec<(u32, &[&str])>> = HashMap::new();
    for (k, found) in &matched_kws {
        kws_of.entry(ix.keywords[*k as usize].member).or_default().push((*k, found.as_slice()));
    }
    ranked
        .into_iter()
        .map(|(m, score, _)| {
            let member = &ix.members[m as usize];
            let mut reasons = Vec::new();
            let answer = answer_of.get(&m).copied();
            if let Some((intent, role)) = answer {
                reasons.push(answer_reason(intent, role));
            }
            let mut cats: Vec<(&str, f32)> = ix.member_categories[m as usize]
                .iter()
                .filter_map(|ci| call_cat.get(ci).map(|w| (*ci, *w)))
                .filter_map(|(ci, w)| ix.category_names.get(ci as usize).map(|k| (*k, w)))
                .collect();
            cats.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            reasons.extend(cats.iter().map(|(c, w)| format!("{c} ({w:.2})")));
            for (k, found) in kws_of.get(&m).into_iter().flatten().take(4) {
                let kw = &ix.keywords[*k as usize];
                let label = member.keywords.get(kw.index as usize).map(String::as_str).unwrap_or("");
                let toks = (kw.first_token..kw.first_token + kw.n_tokens as u32)
                    .filter_map(|t| ix.tokens.get(t as usize))
                    .map(|(_, s)| s.as_str());
                if toks.eq(found.iter().copied()) {
                    reasons.push(format!("nyckelord: {label}"));
                } else {
                    reasons.push(format!("nyckelord: {label} ≈ {}", found.join(" ")));
                }
            }
            if let Some((_, shown)) = experience.iter().find(|(t, _)| ix.notes[m as usize].contains(t)) {
                reasons.push(format!("erfarenhet av {shown}"));
            }
            let lead_problem = rule.problem_for(member);
            if let Some(p) = &lead_problem
                && member.can_lead
            {
                reasons.push(format!("kan inte vara projektägare: {p}"));
            }
            MemberMatch {
                member: member.id.clone(),
                score,
                eligible_lead: member.can_lead && lead_problem.is_none(),
                reasons,
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
        Some(Role::Lead) => format!("{said} som projektägare"),
        Some(Role::Partner) => format!("{said} som partner"),
        Some(Role::Reference) => format!("{said} som referensgrupp"),
        None => said.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{CallStatus, CategoryId, Contact, Email, Lang, OrgType};

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
        Call {
            reference: None,
            title: title.into(),
            url: "https://example.org/call".into(),
            funder: funder.into(),
            programme: None,
            summary: String::new(),
            text: text.into(),
            lang: Lang::Sv,
            translations: vec![],
            deadlines: vec![],
            opens: None,
            status: CallStatus::Open,
            budget: None,
            decision_dates: vec![],
            eligibility: None,
        }
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
    fn indexed_with_limit_returns_best() {
        let ms = partnership();
        let ix = MemberIndex::new(&ms);
        let sc = scores(&[("SC6", 0.82), ("work_integration", 0.7)]);
        let all = match_members_indexed(&ix, &inclusion_call(), &sc, &[], usize::MAX);
        let two = match_members_indexed(&ix, &inclusion_call(), &sc, &[], 2);
        assert_eq!(&all[..2], &two[..]);
    }
}
