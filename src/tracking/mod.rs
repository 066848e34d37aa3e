//! Tracking sits at the end of the flow: members' answers and AU's
//! decisions become the application register, counted against the yearly
//! goal and exported for coordinators (report, CSV, ICS calendar, HTML) and
//! for the yearly workshop (outlook).

pub mod export;
pub mod goal;
pub mod outlook;
pub mod proposals;
pub mod register;

pub use goal::{FunderLevel, Verdict, YearReport, funder_level, verdict};
pub use register::{AppStatus, AppUpdate, Application, CallLink, Currency, NewApplication, Party, PsiRole, RegisterError};

/// What a register operation can fail with: the user's mistake
/// (`Register`, exit code 2 on the command line) or the database.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
