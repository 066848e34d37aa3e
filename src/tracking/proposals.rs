//! Forming proposals: when two or more members answer yes to the same call
//! and no application exists for it, the register proposes a `forming`
//! application; AU makes it real with `psi-radar apps confirm PSI-0042`
//! (or turns it down with `apps decline`).

use super::TrackingError;
use crate::domain::application::{AppStatus, Application, CallLink, Currency, Party, PsiRole, RegisterError, StatusDates};
use crate::domain::{CallRef, Intent, Lang, MemberId, Role};
use crate::store::Store;
use crate::store::calls::{CallFilter, is_open_at};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// A proposed `forming` application.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormingProposal {
    pub call: CallRef,
    pub title: String,
    /// Members who said yes, with the role they offered, in answer order.
    pub yes: Vec<(MemberId, Option<Role>)>,
    /// The first member who offered to lead.
    pub lead: Option<MemberId>,
    /// The others who said yes.
    pub partners: Vec<MemberId>,
}

/// The proposal for one call from its current answers: Some when at least two members said yes.
pub fn propose_forming(call: CallRef, title: &str, answers: &[(MemberId, Intent, Option<Role>)]) -> Option<FormingProposal> {
    let yes: Vec<(MemberId, Option<Role>)> =
        answers.iter().filter(|(_, i, _)| *i == Intent::Yes).map(|(m, _, r)| (m.clone(), *r)).collect();
    if yes.len() < 2 {
        return None;
    }
    let lead = yes.iter().find(|(_, r)| *r == Some(Role::Lead)).map(|(m, _)| m.clone());
    let partners = yes.iter().map(|(m, _)| m.clone()).filter(|m| Some(m) != lead.as_ref()).collect();
    Some(FormingProposal { call, title: title.to_string(), yes, lead, partners })
}

/// Every current proposal: calls open (or forthcoming) at `now`, not
/// dismissed, without an application and not declined, with two or more yes.
pub async fn forming_proposals(store: &Store, now: DateTime<Utc>) -> Result<Vec<FormingProposal>, TrackingError> {
    let taken = store.calls_with_apps().await?;
    let declined = store.declined_proposals().await?;
    let mut out = Vec::new();
    for c in store.list_calls(&CallFilter::default()).await? {
        if taken.contains(&c.reference) || declined.contains(&c.reference) || !is_open_at(&c.call, now) {
            continue;
        }
        let answers = store.answers_for_call(c.reference).await?;
        if let Some(p) = propose_forming(c.reference, &c.call.title, &answers) {
            out.push(p);
        }
    }
    out.sort_by_key(|p| p.call);
    Ok(out)
}

/// One line for the digest or `apps list`: "PSI-0042 Title – Activa (ja, projektägare), Verdandi (ja) → psi-radar apps confirm PSI-0042".
pub fn proposal_line(p: &FormingProposal, names: &HashMap<String, String>, lang: Lang) -> String {
    let who: Vec<String> = p
        .yes
        .iter()
        .map(|(m, r)| {
            let n = names.get(m.as_str()).cloned().unwrap_or_else(|| m.to_string());
            match r {
                Some(r) => format!("{n} ({})", r.label(lang)),
                None => n,
            }
        })
        .collect();
    match lang {
        Lang::Sv => format!("{} {} – ja från {}; bekräfta: psi-radar apps confirm {}", p.call, p.title, who.join(", "), p.call),
        Lang::En => format!("{} {} – yes from {}; confirm: psi-radar apps confirm {}", p.call, p.title, who.join(", "), p.call),
    }
}

/// AU confirms the proposal for `call`: a `forming` application with PSI
/// in `role`, dated `today`. Refused when there is no proposal for the call.
pub async fn confirm(
    store: &Store,
    call: CallRef,
    role: PsiRole,
    who: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
    lang: Lang,
) -> Result<i64, TrackingError> {
    let all = forming_proposals(store, now).await?;
    let Some(p) = all.into_iter().find(|p| p.call == call) else {
        let msg = match lang {
            Lang::Sv => format!(
                "Inget förslag för {call}: det behövs minst två ja-svar, och ingen ansökan får redan finnas för utlysningen (se psi-radar apps list)."
            ),
            Lang::En => {
                format!("No proposal for {call}: it needs two or more yes answers and no existing application (see psi-radar apps list).")
            }
        };
        return Err(RegisterError(msg).into());
    };
    let mut dates = StatusDates::new();
    dates.insert(AppStatus::Forming, today);
    let app = Application {
        id: 0,
        title: p.title.clone(),
        call: Some(CallLink::Psi(call)),
        lead: p.lead.clone().map(Party::Member),
        partners: p.partners.iter().cloned().map(Party::Member).collect(),
        psi_role: role,
        status: AppStatus::Forming,
        status_dates: dates,
        amount_applied: None,
        amount_granted: None,
        currency: Currency::Sek,
        notes: String::new(),
        created_at: now,
        updated_at: now,
    };
    Ok(store.insert_app(&app, who, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_yes_make_a_proposal() {
        let m = |s: &str| MemberId::parse(s).unwrap();
        let one = [(m("activa"), Intent::Yes, Some(Role::Partner)), (m("abf"), Intent::No, None)];
        assert!(propose_forming(CallRef(1), "X", &one).is_none());
        let two = [
            (m("activa"), Intent::Yes, Some(Role::Partner)),
            (m("abf"), Intent::Maybe, None),
            (m("verdandi"), Intent::Yes, Some(Role::Lead)),
        ];
        let p = propose_forming(CallRef(1), "X", &two).unwrap();
        assert_eq!(p.lead, Some(m("verdandi")));
        assert_eq!(p.partners, vec![m("activa")]);
        let line = proposal_line(&p, &HashMap::new(), Lang::Sv);
        assert!(line.contains("apps confirm PSI-0001"), "{line}");
    }
}
