//! Tracking sits at the end of the flow: members' answers and AU's
//! decisions become the application register, counted against the yearly
//! goal and exported for coordinators (report, CSV, ICS calendar, HTML) and
//! for the yearly workshop (outlook).

pub mod export;
pub mod goal;
pub mod outlook;
pub mod proposals;

pub use crate::domain::application::{
    AppStatus, AppUpdate, Application, CallLink, Currency, NewApplication, Party, PsiRole, RegisterError,
};
use crate::store::apps::AppLine;
pub use goal::{FunderLevel, Verdict, YearReport, funder_level, verdict};

/// What a register operation can fail with: the user's mistake
/// (`Register`, exit code 2 on the command line) or the database.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The applications that count towards `year`'s goal (submitted that year
/// with a PSI role in `roles`), as the digest lists them.
pub async fn apps_counting(store: &crate::store::Store, year: i32, roles: &[String]) -> Result<Vec<AppLine>, crate::store::StoreError> {
    let roles = goal::counting_roles(roles);
    Ok(store.list_apps().await?.iter().filter(|a| verdict(a, year, &roles, crate::domain::Lang::Sv).counts).map(AppLine::from).collect())
}

/// Build `year`'s report from the register: every application that belongs
/// to the year, with its verdict, funder level and challenge.
pub async fn year_report(
    store: &crate::store::Store,
    year: i32,
    roles: &[String],
    goal: u32,
    lang: crate::domain::Lang,
) -> Result<YearReport, TrackingError> {
    let roles = goal::counting_roles(roles);
    let mut lines = Vec::new();
    for app in store.list_apps().await? {
        if !goal::relevant_to(&app, year) {
            continue;
        }
        let (funder, call_title, level, challenge) = match &app.call {
            Some(CallLink::Psi(r)) => match store.get_call(*r).await? {
                Some(c) => (
                    c.call.funder.clone(),
                    c.call.title.clone(),
                    funder_level(&c.call.funder, c.call.programme.as_deref()),
                    c.challenges().next().map(|s| s.category.as_str().to_string()),
                ),
                None => (String::new(), r.to_string(), FunderLevel::Unknown, None),
            },
            Some(CallLink::External(x)) => (x.clone(), x.clone(), funder_level(x, None), None),
            None => (String::new(), String::new(), FunderLevel::Unknown, None),
        };
        let verdict = verdict(&app, year, &roles, lang);
        lines.push(goal::ReportLine { app, verdict, level, challenge, funder, call_title });
    }
    // Counted first, then by id.
    lines.sort_by_key(|l| (!l.verdict.counts, l.app.id));
    Ok(YearReport { year, goal, lines })
}
