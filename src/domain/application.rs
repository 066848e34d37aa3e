//! Domain: the application register's record (pure; the store keeps it,
//! `tracking` counts and exports it): typed values (PSI's role, status, currency, the
//! call, the parties), the status rules (which transitions make sense) and
//! the history of changes.

use crate::domain::{CallRef, Lang, MemberId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A value the user gave that the register cannot accept; the message is
/// for the user (Swedish).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RegisterError(pub String);

/// PSI's role in an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsiRole {
    ReferenceGroup,
    StakeholderGroup,
    Partner,
    Lead,
    SupportOnly,
}

impl PsiRole {
    pub const ALL: [PsiRole; 5] =
        [PsiRole::ReferenceGroup, PsiRole::StakeholderGroup, PsiRole::Partner, PsiRole::Lead, PsiRole::SupportOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            PsiRole::ReferenceGroup => "reference_group",
            PsiRole::StakeholderGroup => "stakeholder_group",
            PsiRole::Partner => "partner",
            PsiRole::Lead => "lead",
            PsiRole::SupportOnly => "support_only",
        }
    }

    /// The config's names (`reference_group`, …) and Swedish words (`referensgrupp`, `stöd`, …).
    pub fn parse(s: &str) -> Result<PsiRole, RegisterError> {
        let t = s.trim().to_lowercase().replace(['-', ' '], "_");
        let r = match t.as_str() {
            "reference_group" | "reference" | "referensgrupp" => PsiRole::ReferenceGroup,
            "stakeholder_group" | "stakeholder" | "intressentgrupp" => PsiRole::StakeholderGroup,
            "partner" | "medsökande" => PsiRole::Partner,
            "lead" | "lead_applicant" | "projektägare" | "huvudsökande" => PsiRole::Lead,
            "support_only" | "support" | "stöd" | "endast_stöd" => PsiRole::SupportOnly,
            _ => {
                return Err(RegisterError(format!(
                    "okänd roll för PSI «{}» (giltiga: {})",
                    s.trim(),
                    PsiRole::ALL.map(|r| r.as_str()).join(", ")
                )));
            }
        };
        Ok(r)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PsiRole::ReferenceGroup => lang.pick("referensgrupp", "reference group"),
            PsiRole::StakeholderGroup => lang.pick("intressentgrupp", "stakeholder group"),
            PsiRole::Partner => lang.pick("partner", "partner"),
            PsiRole::Lead => lang.pick("projektägare", "lead applicant"),
            PsiRole::SupportOnly => lang.pick("endast stöd", "support only"),
        }
    }
}

impl fmt::Display for PsiRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an application stands: `idea → forming → writing → submitted →
/// granted | rejected | withdrawn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    Idea,
    Forming,
    Writing,
    Submitted,
    Granted,
    Rejected,
    Withdrawn,
}

impl AppStatus {
    pub const ALL: [AppStatus; 7] = [
        AppStatus::Idea,
        AppStatus::Forming,
        AppStatus::Writing,
        AppStatus::Submitted,
        AppStatus::Granted,
        AppStatus::Rejected,
        AppStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Idea => "idea",
            AppStatus::Forming => "forming",
            AppStatus::Writing => "writing",
            AppStatus::Submitted => "submitted",
            AppStatus::Granted => "granted",
            AppStatus::Rejected => "rejected",
            AppStatus::Withdrawn => "withdrawn",
        }
    }

    /// English names and the Swedish words.
    pub fn parse(s: &str) -> Result<AppStatus, RegisterError> {
        let r = match s.trim().to_lowercase().as_str() {
            "idea" | "idé" | "ide" => AppStatus::Idea,
            "forming" | "bildas" | "konsortium" => AppStatus::Forming,
            "writing" | "skrivs" => AppStatus::Writing,
            "submitted" | "inskickad" | "inlämnad" => AppStatus::Submitted,
            "granted" | "beviljad" => AppStatus::Granted,
            "rejected" | "avslagen" => AppStatus::Rejected,
            "withdrawn" | "återtagen" | "dragen" => AppStatus::Withdrawn,
            _ => {
                return Err(RegisterError(format!(
                    "okänd status «{}» (giltiga: {})",
                    s.trim(),
                    AppStatus::ALL.map(|r| r.as_str()).join(", ")
                )));
            }
        };
        Ok(r)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            AppStatus::Idea => lang.pick("idé", "idea"),
            AppStatus::Forming => lang.pick("bildas", "forming"),
            AppStatus::Writing => lang.pick("skrivs", "writing"),
            AppStatus::Submitted => lang.pick("inskickad", "submitted"),
            AppStatus::Granted => lang.pick("beviljad", "granted"),
            AppStatus::Rejected => lang.pick("avslagen", "rejected"),
            AppStatus::Withdrawn => lang.pick("återtagen", "withdrawn"),
        }
    }

    /// Before submission: the application is still being prepared.
    pub fn in_progress(self) -> bool {
        matches!(self, AppStatus::Idea | AppStatus::Forming | AppStatus::Writing)
    }

    /// A decision or a withdrawal: nothing follows.
    pub fn is_final(self) -> bool {
        matches!(self, AppStatus::Granted | AppStatus::Rejected | AppStatus::Withdrawn)
    }

    /// Position on the way to a decision (withdrawn has none).
    fn rank(self) -> u8 {
        match self {
            AppStatus::Idea => 0,
            AppStatus::Forming => 1,
            AppStatus::Writing => 2,
            AppStatus::Submitted => 3,
            AppStatus::Granted | AppStatus::Rejected => 4,
            AppStatus::Withdrawn => 5,
        }
    }

    /// Whether an application may go from `self` to `to`; the error says why
    /// not, in `lang`. Preparation steps may be skipped or gone back over
    /// (a consortium falls apart); a submitted application cannot go back;
    /// only a submitted application can be granted or rejected; a decided or
    /// withdrawn application does not change status again.
    pub fn check_transition(self, to: AppStatus, lang: Lang) -> Result<(), RegisterError> {
        let (from_l, to_l) = (self.label(lang), to.label(lang));
        if self == to {
            return Ok(());
        }
        if self.is_final() {
            return Err(RegisterError(match lang {
                Lang::Sv => format!("Ansökan är redan {from_l}; den kan inte bli {to_l}. Lägg upp en ny ansökan om den ska sökas igen."),
                Lang::En => format!("The application is already {from_l}; it cannot become {to_l}. Add a new application to apply again."),
            }));
        }
        match to {
            AppStatus::Granted | AppStatus::Rejected if self != AppStatus::Submitted => Err(RegisterError(match lang {
                Lang::Sv => {
                    format!("En ansökan kan inte bli {to_l} innan den är inskickad (nu: {from_l}). Sätt först status inskickad med datum.")
                }
                Lang::En => {
                    format!("An application cannot be {to_l} before it is submitted (now: {from_l}). Set it submitted with a date first.")
                }
            })),
            t if t.in_progress() && self == AppStatus::Submitted => Err(RegisterError(match lang {
                Lang::Sv => {
                    format!("En inskickad ansökan kan inte gå tillbaka till {to_l}. Dra tillbaka den (withdrawn) och lägg upp en ny.")
                }
                Lang::En => format!("A submitted application cannot go back to {to_l}. Withdraw it and add a new one."),
            })),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for AppStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The dates an application reached each status (local dates in the partnership's zone).
pub type StatusDates = BTreeMap<AppStatus, NaiveDate>;

/// Dates must follow the order of the statuses: no decision before the
/// submission, no submission before the idea.
pub fn check_dates(dates: &StatusDates, lang: Lang) -> Result<(), RegisterError> {
    for (a, da) in dates {
        for (b, db) in dates {
            if a.rank() < b.rank() && *b != AppStatus::Withdrawn && db < da {
                return Err(RegisterError(match lang {
                    Lang::Sv => {
                        format!("Datumet för {} ({db}) ligger före datumet för {} ({da}); det går inte.", b.label(lang), a.label(lang))
                    }
                    Lang::En => format!("The date for {} ({db}) is before the date for {} ({da}).", b.label(lang), a.label(lang)),
                }));
            }
            if *b == AppStatus::Withdrawn && db < da {
                return Err(RegisterError(match lang {
                    Lang::Sv => format!("Ansökan kan inte dras tillbaka ({db}) före {} ({da}).", a.label(lang)),
                    Lang::En => format!("The application cannot be withdrawn ({db}) before being {} ({da}).", a.label(lang)),
                }));
            }
        }
    }
    Ok(())
}

/// SEK or EUR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Currency {
    #[default]
    #[serde(rename = "SEK")]
    Sek,
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Sek => "SEK",
            Currency::Eur => "EUR",
        }
    }

    pub fn parse(s: &str) -> Result<Currency, RegisterError> {
        match s.trim().to_uppercase().as_str() {
            "SEK" | "KR" | "KRONOR" => Ok(Currency::Sek),
            "EUR" | "€" | "EURO" => Ok(Currency::Eur),
            _ => Err(RegisterError(format!("okänd valuta «{}» (SEK eller EUR)", s.trim()))),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount as written by a user: `1 200 000`, `1200000`, `350000,50`, `2.5e6` is refused.
pub fn parse_amount(s: &str) -> Result<f64, RegisterError> {
    let t: String = s.trim().chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let t = t.trim_end_matches("kr").trim_end_matches(":-").replace(',', ".");
    let ok = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.') && t.matches('.').count() <= 1;
    match t.parse::<f64>() {
        Ok(v) if ok && v.is_finite() => Ok(v),
        _ => Err(RegisterError(format!("ogiltigt belopp «{}» (t.ex. 1200000 eller 350000,50)", s.trim()))),
    }
}

/// The call an application answers: one the radar tracks, or one named in free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallLink {
    Psi(CallRef),
    External(String),
}

impl CallLink {
    /// `PSI-0042` becomes a tracked call; anything else non-empty is an external call.
    pub fn parse(s: &str) -> Result<CallLink, RegisterError> {
        let t = s.trim();
        if let Some(r) = CallRef::parse(t) {
            return Ok(CallLink::Psi(r));
        }
        if t.len() >= 3 && t[..3].eq_ignore_ascii_case("psi") && t.len() <= 12 {
            return Err(RegisterError(format!("ogiltig referens «{t}» (t.ex. PSI-0042)")));
        }
        if t.is_empty() {
            return Err(RegisterError("tom utlysning".into()));
        }
        Ok(CallLink::External(t.to_string()))
    }
}

impl fmt::Display for CallLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallLink::Psi(r) => write!(f, "{r}"),
            CallLink::External(s) => f.write_str(s),
        }
    }
}

/// An organisation in an application: a member, or an outsider by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Member(MemberId),
    Name(String),
}

impl Party {
    /// A member when `s` is the id of one of `members`, else an outsider named `s`.
    pub fn resolve(s: &str, members: &[MemberId]) -> Result<Party, RegisterError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(RegisterError("tomt organisationsnamn".into()));
        }
        if let Ok(id) = MemberId::parse(t)
            && members.contains(&id)
        {
            return Ok(Party::Member(id));
        }
        Ok(Party::Name(t.to_string()))
    }

    /// The stored text form: the member id, or the outsider's name.
    pub fn key(&self) -> &str {
        match self {
            Party::Member(id) => id.as_str(),
            Party::Name(n) => n,
        }
    }

    /// The name to show: the member's name when known.
    pub fn display(&self, names: &std::collections::HashMap<String, String>) -> String {
        match self {
            Party::Member(id) => names.get(id.as_str()).cloned().unwrap_or_else(|| id.to_string()),
            Party::Name(n) => n.clone(),
        }
    }
}

/// One application in the register.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    pub id: i64,
    pub title: String,
    pub call: Option<CallLink>,
    pub lead: Option<Party>,
    pub partners: Vec<Party>,
    pub psi_role: PsiRole,
    pub status: AppStatus,
    pub status_dates: StatusDates,
    pub amount_applied: Option<f64>,
    pub amount_granted: Option<f64>,
    pub currency: Currency,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Application {
    /// The date the application was submitted, if it was.
    pub fn submitted_on(&self) -> Option<NaiveDate> {
        self.status_dates.get(&AppStatus::Submitted).copied()
    }
}

/// A new application as the user describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    pub title: String,
    pub call: Option<CallLink>,
    pub lead: Option<Party>,
    pub partners: Vec<Party>,
    pub psi_role: PsiRole,
    pub status: AppStatus,
    /// The date of `status` (today when None).
    pub date: Option<NaiveDate>,
    pub amount_applied: Option<f64>,
    pub amount_granted: Option<f64>,
    pub currency: Currency,
    pub notes: String,
}

/// What an update changes; None leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppUpdate {
    pub title: Option<String>,
    pub call: Option<CallLink>,
    pub lead: Option<Party>,
    pub partners: Option<Vec<Party>>,
    pub add_partners: Vec<Party>,
    pub psi_role: Option<PsiRole>,
    pub status: Option<AppStatus>,
    /// The date of the new status (or a correction of the current status's date).
    pub date: Option<NaiveDate>,
    pub amount_applied: Option<f64>,
    pub amount_granted: Option<f64>,
    pub currency: Option<Currency>,
    pub notes: Option<String>,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppEvent {
    pub at: DateTime<Utc>,
    pub who: String,
    pub change: String,
}

fn amount_text(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_else(|| "–".into())
}

fn parties_text(ps: &[Party]) -> String {
    ps.iter().map(Party::key).collect::<Vec<_>>().join(", ")
}

/// Validate a new application: a title, a status date that fits.
pub fn check_new(n: &NewApplication, today: NaiveDate, lang: Lang) -> Result<StatusDates, RegisterError> {
    if n.title.trim().is_empty() {
        return Err(RegisterError(lang.pick("Ansökan behöver en titel.", "The application needs a title.").into()));
    }
    if n.status.is_final() && n.status != AppStatus::Withdrawn {
        return Err(RegisterError(match lang {
            Lang::Sv => format!(
                "En ny ansökan kan inte läggas upp som {}: lägg upp den som inskickad och uppdatera sedan status.",
                n.status.label(lang)
            ),
            Lang::En => format!("A new application cannot start as {}: add it as submitted, then update it.", n.status.label(lang)),
        }));
    }
    check_amounts(n.amount_applied, n.amount_granted, lang)?;
    let mut dates = StatusDates::new();
    dates.insert(n.status, n.date.unwrap_or(today));
    Ok(dates)
}

fn check_amounts(applied: Option<f64>, granted: Option<f64>, lang: Lang) -> Result<(), RegisterError> {
    for v in [applied, granted].into_iter().flatten() {
        if !v.is_finite() || v < 0.0 {
            return Err(RegisterError(lang.pick("Belopp kan inte vara negativa.", "Amounts cannot be negative.").into()));
        }
    }
    Ok(())
}

/// Apply `u` to `app`: the new record and one line per change for the
/// history, or the reason the update makes no sense.
pub fn apply_update(app: &Application, u: &AppUpdate, today: NaiveDate, lang: Lang) -> Result<(Application, Vec<String>), RegisterError> {
    let mut a = app.clone();
    let mut log = Vec::new();
    if let Some(t) = &u.title {
        if t.trim().is_empty() {
            return Err(RegisterError(lang.pick("Ansökan behöver en titel.", "The application needs a title.").into()));
        }
        if *t != a.title {
            log.push(format!("title: «{}» → «{t}»", a.title));
            a.title = t.clone();
        }
    }
    if let Some(c) = &u.call
        && Some(c) != a.call.as_ref()
    {
        log.push(format!("call: {} → {c}", a.call.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "–".into())));
        a.call = Some(c.clone());
    }
    if let Some(l) = &u.lead
        && Some(l) != a.lead.as_ref()
    {
        log.push(format!("lead: {} → {}", a.lead.as_ref().map(Party::key).unwrap_or("–"), l.key()));
        a.lead = Some(l.clone());
    }
    let mut partners = u.partners.clone().unwrap_or_else(|| a.partners.clone());
    for p in &u.add_partners {
        if !partners.contains(p) {
            partners.push(p.clone());
        }
    }
    if partners != a.partners {
        log.push(format!("partners: [{}] → [{}]", parties_text(&a.partners), parties_text(&partners)));
        a.partners = partners;
    }
    if let Some(r) = u.psi_role
        && r != a.psi_role
    {
        log.push(format!("psi_role: {} → {r}", a.psi_role));
        a.psi_role = r;
    }
    match (u.status, u.date) {
        (Some(s), date) if s != a.status => {
            a.status.check_transition(s, lang)?;
            let d = date.unwrap_or(today);
            log.push(format!("status: {} → {s} ({d})", a.status));
            a.status = s;
            a.status_dates.insert(s, d);
        }
        (_, Some(d)) => {
            let s = a.status;
            if a.status_dates.get(&s) != Some(&d) {
                log.push(format!("date {s}: {} → {d}", a.status_dates.get(&s).map(|x| x.to_string()).unwrap_or_else(|| "–".into())));
                a.status_dates.insert(s, d);
            }
        }
        _ => {}
    }
    check_dates(&a.status_dates, lang)?;
    if let Some(v) = u.amount_applied
        && Some(v) != a.amount_applied
    {
        log.push(format!("amount_applied: {} → {v}", amount_text(a.amount_applied)));
        a.amount_applied = Some(v);
    }
    if let Some(v) = u.amount_granted
        && Some(v) != a.amount_granted
    {
        if !matches!(a.status, AppStatus::Granted) {
            return Err(RegisterError(match lang {
                Lang::Sv => format!("Beviljat belopp kan bara anges för en beviljad ansökan (nu: {}).", a.status.label(lang)),
                Lang::En => format!("A granted amount needs a granted application (now: {}).", a.status.label(lang)),
            }));
        }
        log.push(format!("amount_granted: {} → {v}", amount_text(a.amount_granted)));
        a.amount_granted = Some(v);
    }
    check_amounts(a.amount_applied, a.amount_granted, lang)?;
    if let Some(c) = u.currency
        && c != a.currency
    {
        log.push(format!("currency: {} → {c}", a.currency));
        a.currency = c;
    }
    if let Some(n) = &u.notes
        && *n != a.notes
    {
        log.push(format!("notes: «{}» → «{n}»", a.notes));
        a.notes = n.clone();
    }
    Ok((a, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn app(status: AppStatus, dates: &[(AppStatus, &str)]) -> Application {
        Application {
            id: 1,
            title: "Test".into(),
            call: None,
            lead: None,
            partners: vec![],
            psi_role: PsiRole::ReferenceGroup,
            status,
            status_dates: dates.iter().map(|(s, x)| (*s, d(x))).collect(),
            amount_applied: None,
            amount_granted: None,
            currency: Currency::Sek,
            notes: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn values_parse_both_languages() {
        assert_eq!(PsiRole::parse("referensgrupp").unwrap(), PsiRole::ReferenceGroup);
        assert_eq!(PsiRole::parse("support_only").unwrap(), PsiRole::SupportOnly);
        assert!(PsiRole::parse("boss").unwrap_err().0.contains("okänd roll"));
        assert_eq!(AppStatus::parse("Inskickad").unwrap(), AppStatus::Submitted);
        assert_eq!(Currency::parse("eur").unwrap(), Currency::Eur);
        assert_eq!(parse_amount("1 200 000").unwrap(), 1_200_000.0);
        assert_eq!(parse_amount("350000,50").unwrap(), 350_000.5);
        assert!(parse_amount("-5").is_err());
        assert!(parse_amount("2e6").is_err());
        assert_eq!(CallLink::parse("psi-42").unwrap(), CallLink::Psi(CallRef(42)));
        assert_eq!(CallLink::parse("Interreg Baltic").unwrap(), CallLink::External("Interreg Baltic".into()));
        for r in PsiRole::ALL {
            assert_eq!(PsiRole::parse(r.as_str()).unwrap(), r);
        }
        for s in AppStatus::ALL {
            assert_eq!(AppStatus::parse(s.as_str()).unwrap(), s);
        }
        for r in crate::config::PSI_ROLES {
            assert!(PsiRole::parse(r).is_ok());
        }
    }

    #[test]
    fn nonsensical_transitions_are_refused() {
        let e = AppStatus::Writing.check_transition(AppStatus::Granted, Lang::Sv).unwrap_err();
        assert!(e.0.contains("innan den är inskickad"), "{e}");
        assert!(AppStatus::Submitted.check_transition(AppStatus::Writing, Lang::Sv).is_err());
        assert!(AppStatus::Granted.check_transition(AppStatus::Rejected, Lang::Sv).is_err());
        assert!(AppStatus::Withdrawn.check_transition(AppStatus::Submitted, Lang::Sv).is_err());
        assert!(AppStatus::Idea.check_transition(AppStatus::Submitted, Lang::Sv).is_ok());
        assert!(AppStatus::Writing.check_transition(AppStatus::Forming, Lang::Sv).is_ok());
        assert!(AppStatus::Submitted.check_transition(AppStatus::Withdrawn, Lang::Sv).is_ok());
        assert!(AppStatus::Submitted.check_transition(AppStatus::Rejected, Lang::En).is_ok());
    }

    #[test]
    fn update_checks_dates_and_logs() {
        let a = app(AppStatus::Submitted, &[(AppStatus::Submitted, "2026-03-01")]);
        let u = AppUpdate { status: Some(AppStatus::Granted), date: Some(d("2026-02-01")), ..Default::default() };
        let e = apply_update(&a, &u, d("2026-06-01"), Lang::Sv).unwrap_err();
        assert!(e.0.contains("före"), "{e}");
        let u =
            AppUpdate { status: Some(AppStatus::Granted), date: Some(d("2026-06-01")), amount_granted: Some(5e5), ..Default::default() };
        let (b, log) = apply_update(&a, &u, d("2026-06-01"), Lang::Sv).unwrap();
        assert_eq!(b.status, AppStatus::Granted);
        assert_eq!(log.len(), 2);
        let u = AppUpdate { amount_granted: Some(1.0), ..Default::default() };
        assert!(apply_update(&a, &u, d("2026-06-01"), Lang::Sv).is_err());
    }
}
