//! Matching, consortium proposals (pure): from a call's ranked members,
//! propose who could apply together — a lead that can and may lead, and two
//! to five partners with civil society at the centre, a public actor, the
//! university for research-led calls, spread over several municipalities —
//! up to three alternatives, each with a one-line Swedish rationale.

use super::{MemberIndex, MemberMatch, concat, is_research_led};
use crate::domain::{Call, Intent, Member, MemberId, OrgType, Role};
use serde::Serialize;
use std::collections::HashMap;

/// Members scoring below this do not take part in proposals (unless they said yes).
pub const FIT_MIN: f32 = 0.2;
/// Partners a proposal aims for (at most [`MAX_PARTNERS`]).
pub const TARGET_PARTNERS: usize = 4;
pub const MAX_PARTNERS: usize = 5;
pub const MAX_ALTERNATIVES: usize = 3;
/// Only the best this many matches are considered.
const CANDIDATES: usize = 15;

/// One proposed consortium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub lead: MemberId,
    pub partners: Vec<MemberId>,
    /// One line, Swedish: "Activa leder: tidigare ESF-projekt, arbetsintegrering; Örebro kommun som offentlig part; …".
    pub rationale: String,
}

/// Propose consortia for `call` from its ranked `matches` (best first, as
/// `match_members` returns them). Empty when fewer than two members fit.
pub fn propose(call: &Call, matches: &[MemberMatch], members: &[Member]) -> Vec<Proposal> {
    let wanted: std::collections::HashSet<&str> = matches.iter().take(CANDIDATES * 2).map(|m| m.member.as_str()).collect();
    let by_id: HashMap<&str, &Member> = members.iter().filter(|m| wanted.contains(m.id.as_str())).map(|m| (m.id.as_str(), m)).collect();
    propose_with(call, matches, |id| by_id.get(id.as_str()).copied())
}

/// [`propose`] with the members looked up in a prebuilt index.
pub fn propose_indexed(call: &Call, matches: &[MemberMatch], ix: &MemberIndex<'_>) -> Vec<Proposal> {
    propose_with(call, matches, |id| ix.get(id))
}

#[derive(Clone, Copy)]
struct Cand<'a> {
    m: &'a MemberMatch,
    member: &'a Member,
}

impl Cand<'_> {
    fn said_yes(&self) -> bool {
        self.m.answered == Some(Intent::Yes)
    }
    /// Offered only to be partner or reference: not to be proposed as lead.
    fn declined_lead(&self) -> bool {
        matches!(self.m.answered, Some(Intent::Yes | Intent::Maybe)) && matches!(self.m.offered_role, Some(Role::Partner | Role::Reference))
    }
    fn reference_only(&self) -> bool {
        self.m.offered_role == Some(Role::Reference)
    }
    fn lead_key(&self) -> f32 {
        let mut k = self.m.score;
        if self.member.org_type == OrgType::CivilSociety {
            k += 0.08;
        }
        if self.said_yes() {
            k += 0.05;
            if self.m.offered_role == Some(Role::Lead) {
                k += 0.3;
            }
        }
        k
    }
}

fn propose_with<'a>(call: &Call, matches: &'a [MemberMatch], get: impl Fn(&MemberId) -> Option<&'a Member>) -> Vec<Proposal> {
    let fits: Vec<Cand<'a>> = matches
        .iter()
        .filter(|m| m.answered != Some(Intent::No) && (m.score >= FIT_MIN || m.answered == Some(Intent::Yes)))
        .filter_map(|m| get(&m.member).map(|member| Cand { m, member }))
        .take(CANDIDATES)
        .collect();
    if fits.len() < 2 {
        return Vec::new();
    }
    let research = is_research_led(call);
    let mut leads: Vec<&Cand> = fits.iter().filter(|c| c.m.eligible_lead && !c.declined_lead()).collect();
    leads.sort_by(|a, b| b.lead_key().total_cmp(&a.lead_key()));

    let mut out: Vec<Proposal> = Vec::new();
    let mut seen: Vec<(MemberId, Vec<MemberId>)> = Vec::new();
    for lead in leads {
        if out.len() == MAX_ALTERNATIVES {
            break;
        }
        let Some(p) = build(lead, &fits, research) else { continue };
        let mut key = p.partners.clone();
        key.sort();
        if seen.iter().any(|(l, k)| *l == p.lead && *k == key) {
            continue;
        }
        seen.push((p.lead.clone(), key));
        out.push(p);
    }
    out
}

fn build(lead: &Cand, fits: &[Cand], research: bool) -> Option<Proposal> {
    let pool: Vec<&Cand> = fits.iter().filter(|c| c.m.member != lead.m.member && !c.reference_only()).collect();
    if pool.is_empty() {
        return None;
    }
    let mut partners: Vec<&Cand> = Vec::new();
    fn take<'p, 'c>(pool: &[&'p Cand<'c>], partners: &mut Vec<&'p Cand<'c>>, pred: impl Fn(&Cand) -> bool) -> Option<String> {
        let c = *pool.iter().find(|c| pred(c) && !partners.iter().any(|p| p.m.member == c.m.member))?;
        partners.push(c);
        Some(c.member.name.clone())
    }
    // the public actor: the lead's own municipality when it fits nearly as
    // well as the best public match, else the best
    let best_public = pool.iter().find(|c| c.member.org_type.is_public()).map(|c| c.m.score).unwrap_or(0.0);
    let local = |c: &Cand| {
        c.member.org_type == OrgType::Municipality && c.member.municipality == lead.member.municipality && c.m.score >= 0.8 * best_public
    };
    let public = if lead.member.org_type.is_public() {
        None
    } else {
        take(&pool, &mut partners, local).or_else(|| take(&pool, &mut partners, |c| c.member.org_type.is_public()))
    };
    let civil = if lead.member.org_type == OrgType::CivilSociety {
        None
    } else {
        take(&pool, &mut partners, |c| c.member.org_type == OrgType::CivilSociety)
    };
    let research = research && lead.member.org_type != OrgType::University;
    let uni = if research { take(&pool, &mut partners, |c| c.member.org_type == OrgType::University) } else { None };

    // fill by score, favouring municipalities not yet covered
    let mut munis: Vec<&str> =
        std::iter::once(lead.member.municipality.as_str()).chain(partners.iter().map(|p| p.member.municipality.as_str())).collect();
    while partners.len() < TARGET_PARTNERS.min(MAX_PARTNERS) {
        let next = pool
            .iter()
            .filter(|c| !partners.iter().any(|p| p.m.member == c.m.member))
            .map(|c| {
                let m = c.member.municipality.as_str();
                let spread = if !m.is_empty() && !munis.contains(&m) { 0.1 } else { 0.0 };
                let yes = if c.said_yes() { 0.2 } else { 0.0 };
                (c, c.m.score + spread + yes)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.m.member.cmp(&a.0.m.member)));
        let Some((c, _)) = next else { break };
        partners.push(c);
        munis.push(c.member.municipality.as_str());
    }
    munis.retain(|m| !m.is_empty());
    munis.sort();
    munis.dedup();

    let mut parts = vec![concat(&[&lead.member.name, " leder: ", &lead_why(lead).join(", ")])];
    if let Some(p) = &public {
        parts.push(concat(&[p, " som offentlig part"]));
    } else if !lead.member.org_type.is_public() {
        parts.push("ingen offentlig part bland träffarna".into());
    }
    if let Some(c) = &civil {
        parts.push(concat(&[c, " som idéburen part"]));
    }
    if let Some(u) = &uni {
        parts.push(concat(&[u, " för forskningen"]));
    } else if research {
        parts.push("ingen forskningspart bland träffarna".into());
    }
    let named = [&public, &civil, &uni];
    let others: Vec<&str> =
        partners.iter().map(|p| p.member.name.as_str()).filter(|n| !named.iter().any(|x| x.as_deref() == Some(*n))).collect();
    if !others.is_empty() {
        parts.push(concat(&["med ", &others.join(", ")]));
    }
    if munis.len() > 1 {
        parts.push(concat(&[&munis.len().to_string(), " kommuner"]));
    }
    Some(Proposal {
        lead: lead.m.member.clone(),
        partners: partners.iter().map(|p| p.m.member.clone()).collect(),
        rationale: parts.join("; "),
    })
}

/// Why this lead: its answer, its experience (first clause of its notes),
/// its strongest matching keywords or categories.
fn lead_why(lead: &Cand) -> Vec<String> {
    let mut why = Vec::new();
    if lead.said_yes() && lead.m.offered_role == Some(Role::Lead) {
        why.push("vill vara projektägare".to_string());
    }
    let note = lead.member.notes.split([';', '.', '\n']).map(str::trim).find(|s| !s.is_empty());
    if let Some(n) = note {
        why.push(n.chars().take(60).collect());
    }
    let kws: Vec<String> = lead
        .m
        .reasons
        .iter()
        .filter_map(|r| r.strip_prefix("nyckelord: "))
        .map(|r| r.split(" ≈ ").next().unwrap_or(r).to_string())
        .take(2)
        .collect();
    if kws.is_empty() {
        if let Some(c) = lead.m.reasons.iter().find(|r| r.ends_with(')') && r.contains(" (")) {
            why.push(c.split(" (").next().unwrap_or(c).to_string());
        }
    } else {
        why.extend(kws);
    }
    if why.is_empty() {
        why.push("starkast matchning".into());
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::match_members;
    use crate::matching::tests::{call, member, partnership, scores};

    fn inclusion() -> (Call, Vec<crate::domain::CategoryScore>) {
        (
            call(
                "Arbetsintegrerande insatser för personer långt från arbetsmarknaden",
                "Stöd till arbetsintegrerande sociala företag och inkludering på arbetsmarknaden.",
                "Svenska ESF-rådet",
            ),
            scores(&[("SC6", 0.82), ("work_integration", 0.7)]),
        )
    }

    #[test]
    fn inclusion_call_proposes_work_integration_lead_with_municipality() {
        let ms = partnership();
        let (c, sc) = inclusion();
        let m = match_members(&c, &sc, &ms, &[]);
        let ps = propose(&c, &m, &ms);
        assert!(!ps.is_empty() && ps.len() <= 3);
        let p = &ps[0];
        assert!(["activa", "mockeln"].contains(&p.lead.as_str()), "{ps:#?}");
        assert!(p.partners.iter().any(|id| id.as_str().ends_with("_k")), "{ps:#?}");
        assert!((1..=5).contains(&p.partners.len()));
        assert!(p.rationale.starts_with("activa leder: tidigare ESF-projekt, arbetsintegrering"), "{}", p.rationale);
        assert!(p.rationale.contains("orebro k som offentlig part"), "{}", p.rationale);
        assert!(!p.partners.contains(&p.lead));
        // alternatives differ
        for w in ps.windows(2) {
            assert_ne!(w[0], w[1]);
        }
    }

    #[test]
    fn energy_call_leaves_out_sports_federation() {
        let ms = partnership();
        let c = call(
            "Energieffektivisering i lokaler",
            "Solenergi och energieffektivisering i föreningslokaler och kommunala lokaler.",
            "Energimyndigheten",
        );
        let sc = scores(&[("SC3", 0.9), ("SC5", 0.4)]);
        let m = match_members(&c, &sc, &ms, &[]);
        let ps = propose(&c, &m, &ms);
        assert!(!ps.is_empty());
        for p in &ps {
            assert_ne!(p.lead.as_str(), "idrott");
            assert!(p.partners.iter().all(|x| x.as_str() != "idrott"), "{ps:#?}");
        }
    }

    #[test]
    fn ineligible_top_scorer_is_partner_not_lead() {
        let ms = partnership();
        let (mut c, sc) = inclusion();
        c.funder = "Allmänna arvsfonden".into();
        // the municipality said yes as lead and scores highest, but Arvsfonden wants a non-profit lead
        let answers = vec![(MemberId::parse("orebro_k").unwrap(), Intent::Yes, Some(Role::Lead))];
        let m = match_members(&c, &sc, &ms, &answers);
        assert_eq!(m[0].member.as_str(), "orebro_k");
        assert!(!m[0].eligible_lead);
        let ps = propose(&c, &m, &ms);
        assert!(!ps.is_empty());
        for p in &ps {
            assert_ne!(p.lead.as_str(), "orebro_k");
            assert!(p.partners.iter().any(|x| x.as_str() == "orebro_k"), "{ps:#?}");
        }
    }

    #[test]
    fn research_call_brings_the_university() {
        let ms = partnership();
        let c = call("Forskning om social innovation och arbetsmarknad", "Forskning och utvärdering av arbetsintegrering.", "Forte");
        let m = match_members(&c, &scores(&[("SC6", 0.8), ("work_integration", 0.5)]), &ms, &[]);
        let ps = propose(&c, &m, &ms);
        assert!(ps[0].partners.iter().any(|x| x.as_str() == "oru") || ps[0].lead.as_str() == "oru", "{ps:#?}");
        assert!(ps[0].rationale.contains("för forskningen") || ps[0].lead.as_str() == "oru", "{}", ps[0].rationale);
    }

    #[test]
    fn fewer_than_two_fits_no_proposal() {
        let ms = vec![
            member("a", OrgType::CivilSociety, "Nora", &["SC3"], &[], true),
            member("b", OrgType::Municipality, "Nora", &["SC1"], &[], true),
        ];
        let c = call("Energi", "Energi.", "X");
        let m = match_members(&c, &scores(&[("SC3", 0.9)]), &ms, &[]);
        assert_eq!(m.len(), 1);
        assert!(propose(&c, &m, &ms).is_empty());
        // two fits: a proposal of lead + one partner
        let m = match_members(&c, &scores(&[("SC3", 0.9), ("SC1", 0.5)]), &ms, &[]);
        let ps = propose(&c, &m, &ms);
        assert_eq!(ps.len(), 2, "either may lead: {ps:#?}");
        assert_eq!(ps[0].lead.as_str(), "a", "civil society first");
        assert_eq!(ps[0].partners.len(), 1);
    }

    #[test]
    fn partner_only_answer_is_not_lead() {
        let ms = partnership();
        let (c, sc) = inclusion();
        let answers = vec![(MemberId::parse("activa").unwrap(), Intent::Yes, Some(Role::Partner))];
        let m = match_members(&c, &sc, &ms, &answers);
        let ps = propose(&c, &m, &ms);
        assert!(ps.iter().all(|p| p.lead.as_str() != "activa"));
        assert!(ps[0].partners.iter().any(|x| x.as_str() == "activa"));
    }
}
