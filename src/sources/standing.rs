//! Sources → adapters: standing opportunities declared in the config
//! (Allmänna arvsfonden: applications all year, decisions on fixed dates).
//! Nothing is fetched; the config itself is the listing.

use crate::domain::{CallStatus, Lang, RawCall};
use chrono::NaiveDate;

/// What `config/sources.toml` declares for a `kind = "standing"` source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StandingOptions {
    pub title: String,
    pub summary: Option<String>,
    pub decision_dates: Vec<NaiveDate>,
}

/// The one call a standing source lists.
pub fn call(name: &str, url: &str, lang: Option<Lang>, o: &StandingOptions) -> RawCall {
    let mut dates = o.decision_dates.clone();
    dates.sort();
    dates.dedup();
    RawCall {
        source_key: name.to_string(),
        title: o.title.clone(),
        url: url.to_string(),
        summary: o.summary.clone(),
        text: o.summary.clone(),
        lang,
        status: Some(CallStatus::Rolling),
        decision_dates: dates,
        ..RawCall::default()
    }
}
