//! Matching, applicant rules (pure): who may be the lead applicant of a
//! call, read from its funder, programme and eligibility text — Arvsfonden
//! wants a non-profit lead, Vinnova calls often name the coordinator's kind
//! (municipality, civil society), ESF+ wants a Swedish legal entity — and
//! whether a call is research-led (the consortium then wants the university).

use crate::domain::{Call, Member, OrgType};

/// Who may lead one call. Unknown rules allow everyone.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadRule {
    /// Indexed like [`OrgType::ALL`].
    pub allowed: [bool; 7],
    /// Why some kinds are not allowed (Swedish, short).
    pub reason: Option<String>,
    /// ESF+: the lead must be a Swedish legal entity.
    pub swedish_entity: bool,
}

fn org_index(o: OrgType) -> usize {
    OrgType::ALL.iter().position(|x| *x == o).unwrap_or(OrgType::ALL.len() - 1)
}

/// Words that make a sentence about the lead applicant.
const LEAD_WORDS: &[&str] = &[
    "koordinator",
    "projektägare",
    "huvudsökande",
    "projektansvarig",
    "coordinator",
    "lead applicant",
    "lead partner",
    "lead organisation",
];
/// Generic applicant words: count only when the sentence is not about partners.
const APPLICANT_WORDS: &[&str] = &["sökande", "kan söka", "får söka", "applicant", "may apply", "can apply", "eligible to apply"];
const PARTNER_WORDS: &[&str] = &["medsökande", "partner", "samverkanspart", "co-applicant", "deltagare"];
const NEGATIONS: &[&str] = &[" inte ", " ej ", " not ", "cannot", "can't", " kan aldrig "];

/// Phrases naming a kind of organisation (lower case).
const ORG_WORDS: &[(OrgType, &[&str])] = &[
    (OrgType::Municipality, &["kommun", "municipalit", "local authorit"]),
    (OrgType::Region, &[" region ", " regioner", " regionen", " regions ", "regional authorit"]),
    (OrgType::CountyBoard, &["länsstyrelse", "county administrative board"]),
    (
        OrgType::CivilSociety,
        &[
            "idéburen",
            "idéburna",
            "ideell",
            "civilsamhäll",
            "non-profit",
            "nonprofit",
            "civil society",
            " ngo",
            "förening",
            "stiftelse",
            "trossamfund",
        ],
    ),
    (OrgType::University, &["universitet", "högskol", "lärosäte", "universit", "forskningsorganisation", "research organisation"]),
    (OrgType::Business, &["företag", "business", "compan", " sme", " smes"]),
];

/// Notes that say a member is not a Swedish legal entity.
const NOT_SWEDISH_ENTITY: &[&str] =
    &["utländsk", "foreign", "ej juridisk person", "inte juridisk person", "not a legal entity", "no legal entity"];

impl LeadRule {
    pub fn open() -> LeadRule {
        LeadRule { allowed: [true; 7], reason: None, swedish_entity: false }
    }

    pub fn for_call(call: &Call) -> LeadRule {
        let mut rule = LeadRule::open();
        let funder = format!("{} {}", call.funder, call.programme.as_deref().unwrap_or("")).to_lowercase();
        if funder.contains("arvsfond") {
            rule.allowed = [false; 7];
            rule.allowed[org_index(OrgType::CivilSociety)] = true;
            rule.reason = Some("Arvsfonden kräver en ideell organisation som projektägare".into());
        }
        if funder.contains("esf") {
            rule.swedish_entity = true;
        }
        if let Some(text) = call.eligibility.as_deref()
            && let Some((named, negated)) = lead_kinds(text)
        {
            let mut allowed = [negated; 7];
            for o in &named {
                allowed[org_index(*o)] = !negated;
            }
            let both: [bool; 7] = std::array::from_fn(|i| allowed[i] && rule.allowed[i]);
            // the call's own words win when they contradict the funder default
            rule.allowed = if both.iter().any(|b| *b) { both } else { allowed };
            let labels: Vec<&str> = named.iter().map(|o| o.label(crate::domain::Lang::Sv)).collect();
            rule.reason = Some(if negated {
                format!("utlysningen utesluter {} som projektägare", labels.join(" och "))
            } else {
                format!("utlysningen kräver {} som projektägare", join_or(&labels))
            });
        }
        rule
    }

    /// Why `member` may not lead under this rule (None when it may; a
    /// member's own `can_lead` is not considered here).
    pub fn problem_for(&self, member: &Member) -> Option<String> {
        if !self.allowed[org_index(member.org_type)] {
            return Some(self.reason.clone().unwrap_or_else(|| "utlysningens regler för sökande".into()));
        }
        if self.swedish_entity {
            let notes = member.notes.to_lowercase();
            if NOT_SWEDISH_ENTITY.iter().any(|n| notes.contains(n)) {
                return Some("ESF+ kräver en svensk juridisk person som projektägare".into());
            }
        }
        None
    }
}

fn join_or(labels: &[&str]) -> String {
    match labels {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} eller {last}", init.join(", ")),
    }
}

/// The kinds of organisation the eligibility text names for the lead
/// applicant, and whether it names them to exclude them.
fn lead_kinds(text: &str) -> Option<(Vec<OrgType>, bool)> {
    let lower = text.to_lowercase().replace("kommunik", "");
    let mut named: Vec<OrgType> = Vec::new();
    let mut negated = false;
    for sentence in lower.split(['.', ';', '\n', '!', '?']) {
        let s = format!(" {} ", sentence.replace([',', ':', '(', ')'], " "));
        let strong = LEAD_WORDS.iter().any(|w| s.contains(w));
        let generic = APPLICANT_WORDS.iter().any(|w| s.contains(w)) && !PARTNER_WORDS.iter().any(|w| s.contains(w));
        if !(strong || generic) {
            continue;
        }
        let kinds: Vec<OrgType> = ORG_WORDS.iter().filter(|(_, ws)| ws.iter().any(|w| s.contains(w))).map(|(o, _)| *o).collect();
        if kinds.is_empty() {
            continue;
        }
        let neg = NEGATIONS.iter().any(|n| s.contains(n));
        if named.is_empty() {
            negated = neg;
        } else if neg != negated {
            continue; // keep the first kind of statement; mixed rules are read by people
        }
        for k in kinds {
            if !named.contains(&k) {
                named.push(k);
            }
        }
    }
    (!named.is_empty()).then_some((named, negated))
}

/// Horizon Europe, Formas, Forte, Vetenskapsrådet, and Vinnova calls about
/// research: the consortium should include the university.
pub fn is_research_led(call: &Call) -> bool {
    let funder = format!("{} {}", call.funder, call.programme.as_deref().unwrap_or("")).to_lowercase();
    if ["horizon", "horisont", "formas", "forte", "vetenskapsrådet"].iter().any(|f| funder.contains(f)) {
        return true;
    }
    if funder.contains("vinnova") {
        let mentions = |text: &str| {
            ["forskning", "research"].iter().any(|w| text.as_bytes().windows(w.len()).any(|x| x.eq_ignore_ascii_case(w.as_bytes())))
        };
        return mentions(&call.title) || mentions(&call.summary) || mentions(&call.text);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::tests::{call, member};

    #[test]
    fn vinnova_coordinator_text() {
        let mut c = call("Social innovation", "", "Vinnova");
        c.eligibility =
            Some("Koordinator ska vara en kommun, en region eller en idéburen organisation. Företag kan delta som partner.".into());
        let r = LeadRule::for_call(&c);
        let m = |o| member("x", o, "Nora", &[], &[], true);
        assert!(r.problem_for(&m(OrgType::Municipality)).is_none());
        assert!(r.problem_for(&m(OrgType::Region)).is_none());
        assert!(r.problem_for(&m(OrgType::CivilSociety)).is_none());
        assert_eq!(
            r.problem_for(&m(OrgType::Business)).as_deref(),
            Some("utlysningen kräver kommun, region eller idéburen organisation som projektägare")
        );
        assert!(r.problem_for(&m(OrgType::University)).is_some());
    }

    #[test]
    fn negated_and_unknown_rules() {
        let mut c = call("X", "", "Vinnova");
        c.eligibility = Some("Företag kan inte vara koordinator.".into());
        let r = LeadRule::for_call(&c);
        assert!(r.problem_for(&member("x", OrgType::Business, "", &[], &[], true)).is_some());
        assert!(r.problem_for(&member("x", OrgType::Municipality, "", &[], &[], true)).is_none());
        let open = LeadRule::for_call(&call("X", "", "Tillväxtverket"));
        assert_eq!(open, LeadRule::open());
    }

    #[test]
    fn esf_wants_swedish_entity() {
        let r = LeadRule::for_call(&call("X", "", "Svenska ESF-rådet"));
        let mut m = member("nsen", OrgType::CivilSociety, "", &[], &[], true);
        assert!(r.problem_for(&m).is_none());
        m.notes = "Foreign legal entity (Finland)".into();
        assert!(r.problem_for(&m).unwrap().starts_with("ESF+"));
    }

    #[test]
    fn research_led() {
        assert!(is_research_led(&call("X", "", "European Commission — Horizon Europe")));
        assert!(is_research_led(&call("Forskning om välfärd", "", "Vinnova")));
        assert!(!is_research_led(&call("Innovationsprojekt", "", "Vinnova")));
        assert!(!is_research_led(&call("X", "", "Allmänna arvsfonden")));
    }
}
