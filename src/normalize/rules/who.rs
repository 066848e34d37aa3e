//! Rules, who: the kinds of organisation that may apply and lead, read from
//! the answer under "Vem kan söka?" and from sentences that say who may
//! apply ("kan sökas av kommuner"), and the consortium a call requires
//! ("minst tre behovsägare", "tillsammans med minst en kommun").

use super::{Eligibility, OrgKind, RuleEvidence, RuleField, Sentence, note, words};

const HEADINGS: &[&str] = &[
    "vem kan söka",
    "vilka kan söka",
    "vem kan ansöka",
    "vilka kan ansöka",
    "vem får söka",
    "vilka får söka",
    "who can apply",
    "who may apply",
    "eligible applicants",
    "eligibility",
];
const APPLICANT_CUES: &[&str] = &[
    "kan sökas av",
    "kan bara sökas av",
    "kan endast sökas av",
    "kan söka",
    "kan ansöka",
    "får söka",
    "kunna söka",
    "behörig att söka",
    "kan få projektstöd",
    "kan få stöd",
    "kan få bidrag",
    "kan tilldelas",
    "lämnas till",
    "bidrag till",
    "stöd till",
    "riktar sig till",
    "riktar sig enbart till",
    "målgruppen för stödet",
    "may apply",
    "can apply",
    "eligible to apply",
    "are eligible",
    "open to",
];
const LEAD_CUES: &[&str] = &[
    "koordinator",
    "projektägare",
    "huvudsökande",
    "medelsförvaltare",
    "huvudman för projektet",
    "coordinator",
    "lead applicant",
    "lead partner",
];
const NEGATIONS: &[&str] = &[
    "kan inte",
    "inte kan",
    "kan ej",
    "ges inte",
    "ger inte",
    "inte ges",
    "inte beviljas",
    "kan aldrig",
    "cannot",
    "can not",
    "not eligible",
    "are not",
];
/// Phrases naming several kinds at once, or kinds in more than one word.
const PHRASES: &[(&str, &[OrgKind])] = &[
    ("offentlig sektor", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("offentliga aktörer", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("offentliga organisationer", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("offentliga huvudmän", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("offentligrättslig", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("public bodies", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("public sector", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("public authorities", &[OrgKind::Kommun, OrgKind::Region, OrgKind::Stat]),
    ("hälso- och sjukvård", &[OrgKind::Region]),
    ("local authorit", &[OrgKind::Kommun]),
    ("regional authorit", &[OrgKind::Region]),
    ("civila samhäll", &[OrgKind::Ideell]),
    ("civil society", &[OrgKind::Ideell]),
    ("research organisation", &[OrgKind::Akademi]),
    ("research institut", &[OrgKind::Akademi]),
    ("higher education", &[OrgKind::Akademi]),
    ("juridiska personer", &[OrgKind::Any]),
    ("juridisk person", &[OrgKind::Any]),
    ("alla organisationer", &[OrgKind::Any]),
    ("any organisation", &[OrgKind::Any]),
    ("legal entit", &[OrgKind::Any]),
];
/// Phrases that look like a kind but are none (or not an applicant).
const NOT_KINDS: &[&str] = &[
    "myndigheten för",
    "kommunala bolag",
    "kommunalt bolag",
    "kommunala va-bolag",
    "ekonomiska föreningar",
    "ekonomisk förening",
    "företagsfrämjande",
];

/// The kind one word names, if any.
fn word_kind(w: &str) -> Option<OrgKind> {
    let starts = |ps: &[&str]| ps.iter().any(|p| w.starts_with(p));
    if starts(&["kommun", "municipalit"]) && !starts(&["kommunik", "kommunala", "kommunalt"]) {
        return Some(OrgKind::Kommun);
    }
    if matches!(w, "region" | "regioner" | "regionerna" | "regionförbund" | "regionförbunden" | "landsting" | "landstingen") {
        return Some(OrgKind::Region);
    }
    if starts(&["myndighet", "länsstyrelse", "agencies", "agency"]) {
        return Some(OrgKind::Stat);
    }
    if starts(&[
        "ideell",
        "idéburen",
        "idéburna",
        "idéburet",
        "civilsamhäll",
        "förening",
        "stiftelse",
        "trossamfund",
        "församling",
        "studieförbund",
        "folkbildning",
        "icke-vinstdrivande",
        "non-profit",
        "nonprofit",
        "ngo",
        "association",
        "foundation",
    ]) {
        return Some(OrgKind::Ideell);
    }
    let company = (w.ends_with("företag") || w.ends_with("företagen") || w.ends_with("företaget")) && !w.starts_with("företags");
    if company || starts(&["aktiebolag", "näringsliv", "compan", "business", "enterprise", "sme"]) {
        return Some(OrgKind::Foretag);
    }
    if starts(&[
        "universitet",
        "högskol",
        "lärosäte",
        "forskningsinstitut",
        "forskningsutförare",
        "forskare",
        "disputerade",
        "doktorsexamen",
        "akademi",
        "universit",
        "researcher",
    ]) {
        return Some(OrgKind::Akademi);
    }
    None
}

/// The kinds a sentence names, the phrases that are no kinds left out, and
/// the part after "varav" (what the consortium must include) cut off.
pub(super) fn kinds_in(lower: &str) -> Vec<OrgKind> {
    let mut s = lower.to_string();
    for not in NOT_KINDS {
        s = s.replace(not, " ");
    }
    s = drop_relative_negation(&s);
    for (_, stems) in super::areas::COUNTIES {
        for st in stems {
            s = s.replace(&format!("region {st}"), " ");
        }
    }
    s = drop_target_group(&s);
    if let Some(cut) = s.find(" varav ").or_else(|| s.find(" of which ")) {
        s.truncate(cut);
    }
    let mut kinds: Vec<OrgKind> = words(&s).into_iter().filter_map(word_kind).collect();
    for (phrase, ks) in PHRASES {
        if s.contains(phrase) {
            kinds.extend_from_slice(ks);
        }
    }
    kinds.sort();
    kinds.dedup();
    kinds
}

/// "Stiftelser som inte är statliga eller kommunala kan söka": the words
/// after "inte är" describe what the applicant is not, not who may apply.
fn drop_relative_negation(s: &str) -> String {
    let Some(at) = s.find("inte är ") else { return s.to_string() };
    let rest = &s[at + "inte är ".len()..];
    let skip: Vec<&str> = rest.split_whitespace().collect();
    let n = if skip.get(1) == Some(&"eller") { 3 } else { 1 };
    format!("{} {}", &s[..at], skip.get(n..).map(|w| w.join(" ")).unwrap_or_default())
}

/// "Organisationer med små och medelstora företag som målgrupp": the target
/// group is not the applicant.
fn drop_target_group(s: &str) -> String {
    let Some(end) = s.find(" som målgrupp") else { return s.to_string() };
    match s[..end].rfind(" med ") {
        Some(start) => format!("{} {}", &s[..start], &s[end + " som målgrupp".len()..]),
        None => s.to_string(),
    }
}

fn is_heading(s: &Sentence) -> bool {
    HEADINGS.iter().any(|h| s.lower.starts_with(h)) && s.text.split_whitespace().count() <= 6
}

/// A line that starts another section ("Hur mycket kan ni söka?").
fn is_other_heading(s: &Sentence) -> bool {
    let n = s.text.split_whitespace().count();
    (s.text.ends_with('?') && n <= 8) || (n <= 5 && !s.text.contains('.') && !s.text.contains(','))
}

/// The sentences that answer "Vem kan söka?" (up to the next heading).
fn answer_sentences(sentences: &[Sentence]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        if !is_heading(s) {
            continue;
        }
        for (j, a) in sentences.iter().enumerate().skip(i + 1) {
            if a.line > s.line + 6 || (is_other_heading(a) && !out.is_empty() && a.line != sentences[j - 1].line) {
                break;
            }
            if is_heading(a) || (is_other_heading(a) && a.text.ends_with('?')) {
                break;
            }
            out.push(j);
        }
    }
    out
}

pub(super) fn read_who(sentences: &[Sentence], evidence: &mut Vec<RuleEvidence>) -> Eligibility {
    let mut chosen = answer_sentences(sentences);
    for (i, s) in sentences.iter().enumerate() {
        if APPLICANT_CUES.iter().any(|c| s.lower.contains(c)) && !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort();
    let mut applicants: Vec<OrgKind> = Vec::new();
    let mut excluded: Vec<OrgKind> = Vec::new();
    let mut lead: Vec<OrgKind> = Vec::new();
    for &i in &chosen {
        let s = &sentences[i];
        let kinds = kinds_in(recipient_part(s));
        if kinds.is_empty() {
            continue;
        }
        if NEGATIONS.iter().any(|n| s.lower.contains(n)) {
            excluded.extend(&kinds);
            continue;
        }
        applicants.extend(&kinds);
        note(evidence, RuleField::Applicants, s);
        if LEAD_CUES.iter().any(|c| s.lower.contains(c)) {
            lead.extend(&kinds);
            note(evidence, RuleField::Lead, s);
        }
    }
    for s in sentences.iter().filter(|s| LEAD_CUES.iter().any(|c| s.lower.contains(c))) {
        let kinds = kinds_in(&s.lower);
        if !kinds.is_empty() && !NEGATIONS.iter().any(|n| s.lower.contains(n)) && kinds.iter().any(|k| !lead.contains(k)) {
            lead.extend(&kinds);
            applicants.extend(&kinds);
            note(evidence, RuleField::Lead, s);
        }
    }
    let applicants = settle(applicants, &excluded);
    let lead = if lead.is_empty() { applicants.clone() } else { settle(lead, &excluded) };
    let (min_partners, required_types) = consortium(sentences, evidence);
    Eligibility { applicants, lead, min_partners, required_types, ..Eligibility::default() }
}

/// "Länsstyrelsen kan ge stöd till kommuner": when only a "… till" cue makes
/// the sentence about applicants, the giver before it is no applicant.
fn recipient_part(s: &Sentence) -> &str {
    const TO: [&str; 4] = ["stöd till", "bidrag till", "lämnas till", "riktar sig"];
    let other = APPLICANT_CUES.iter().filter(|c| !TO.iter().any(|t| c.starts_with(t) || t.starts_with(*c))).any(|c| s.lower.contains(c));
    let heading_answer = !APPLICANT_CUES.iter().any(|c| s.lower.contains(c));
    if other || heading_answer {
        return &s.lower;
    }
    TO.iter().filter_map(|t| s.lower.find(t)).min().map_or(&s.lower, |at| &s.lower[at..])
}

/// Sorted, unique, without the excluded kinds; "any" only when nothing
/// narrower is named.
fn settle(mut kinds: Vec<OrgKind>, excluded: &[OrgKind]) -> Vec<OrgKind> {
    kinds.retain(|k| !excluded.contains(k));
    kinds.sort();
    kinds.dedup();
    if kinds.len() > 1 {
        kinds.retain(|k| *k != OrgKind::Any);
    }
    kinds
}

const PARTNER_NOUNS: &[&str] = &[
    "part",
    "projektpart",
    "samverkanspart",
    "behovsägar",
    "partner",
    "organisation",
    "aktör",
    "medsökande",
    "sökande",
    "deltagare",
    "participant",
    "beneficiar",
    "parties",
];

fn count_word(w: &str) -> Option<u32> {
    const WORDS: [(&str, u32); 12] = [
        ("en", 1),
        ("ett", 1),
        ("one", 1),
        ("två", 2),
        ("two", 2),
        ("tre", 3),
        ("three", 3),
        ("fyra", 4),
        ("four", 4),
        ("fem", 5),
        ("five", 5),
        ("sex", 6),
    ];
    WORDS.iter().find(|(s, _)| *s == w).map(|(_, n)| *n).or_else(|| w.parse().ok().filter(|n| (1..=50).contains(n)))
}

/// "minst tre behovsägare" → 3; "tillsammans med minst en kommun" → kommun.
fn consortium(sentences: &[Sentence], evidence: &mut Vec<RuleEvidence>) -> (Option<u32>, Vec<OrgKind>) {
    let mut min_partners: Option<u32> = None;
    let mut required: Vec<OrgKind> = Vec::new();
    for s in sentences {
        let ws = words(&s.lower);
        for i in 0..ws.len() {
            let at_least = ws[i] == "minst" || (ws[i] == "least" && i > 0 && ws[i - 1] == "at");
            let Some(n) = at_least.then(|| ws.get(i + 1).and_then(|w| count_word(w))).flatten() else { continue };
            let following = &ws[i + 2..(i + 7).min(ws.len())];
            if let Some(noun) = following.iter().take(2).find(|w| PARTNER_NOUNS.iter().any(|p| w.starts_with(p))) {
                let from_kind = following.iter().skip_while(|w| *w != noun).skip(1).take(3).find_map(|w| word_kind(w));
                let either = following.contains(&"eller") || following.contains(&"or");
                if let Some(k) = from_kind.filter(|_| n == 1 && !either) {
                    required.push(k);
                    note(evidence, RuleField::RequiredTypes, s);
                } else if n >= 2 && !noun.starts_with("sökande") && !following.contains(&"kategorier") {
                    min_partners = Some(min_partners.map_or(n, |m| m.max(n)));
                    note(evidence, RuleField::MinPartners, s);
                }
            } else if let Some(k) = following.iter().take(3).find_map(|w| word_kind(w)) {
                required.push(k);
                note(evidence, RuleField::RequiredTypes, s);
            }
        }
    }
    required.sort();
    required.dedup();
    (min_partners, required)
}
