//! The yearly goal: which applications count (submitted in the year, with
//! a PSI role the config counts) and why the others do not; funder levels;
//! the year's report by status, level and challenge.

use crate::domain::Lang;
use crate::domain::application::{AppStatus, Application, PsiRole};
use chrono::Datelike;
use serde::Serialize;
use std::collections::BTreeMap;

/// Regional, national or European money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FunderLevel {
    Regional,
    National,
    Eu,
    Unknown,
}

impl FunderLevel {
    pub const ALL: [FunderLevel; 4] = [FunderLevel::Regional, FunderLevel::National, FunderLevel::Eu, FunderLevel::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            FunderLevel::Regional => "regional",
            FunderLevel::National => "national",
            FunderLevel::Eu => "eu",
            FunderLevel::Unknown => "unknown",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            FunderLevel::Regional => lang.pick("regional", "regional"),
            FunderLevel::National => lang.pick("nationell", "national"),
            FunderLevel::Eu => lang.pick("EU", "EU"),
            FunderLevel::Unknown => lang.pick("okänd nivå", "unknown level"),
        }
    }
}

const REGIONAL: [&str; 8] =
    ["region örebro", "regionörebro", "länsstyrelse", "leader", "samordningsförbund", "finsam", "örebro läns", "kommun"];
const NATIONAL: [&str; 14] = [
    "vinnova",
    "forte",
    "formas",
    "tillväxtverket",
    "esf-rådet",
    "svenska esf",
    "arvsfonden",
    "jordbruksverket",
    "vetenskapsrådet",
    "energimyndigheten",
    "socialstyrelsen",
    "folkhälsomyndigheten",
    "boverket",
    "myndigheten för",
];
const EU: [&str; 13] = [
    "european commission",
    "europeiska kommissionen",
    "eu portal",
    "funding & tenders",
    "funding and tenders",
    "interreg",
    "esf+",
    "horizon",
    "horisont europa",
    "erasmus",
    "creative europe",
    "cerv",
    "life programme",
];

/// The level of a funder (and programme): Leader areas, Region Örebro län
/// and Länsstyrelsen are regional (checked first: Leader money passes
/// Jordbruksverket); Swedish agencies (ESF-rådet too, though it hands out
/// ESF+) national; the Commission, its portal and programmes EU.
pub fn funder_level(funder: &str, programme: Option<&str>) -> FunderLevel {
    let text = format!("{} {}", funder, programme.unwrap_or("")).to_lowercase();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric() && c != '+').filter(|w| !w.is_empty()).collect();
    if REGIONAL.iter().any(|k| text.contains(k)) {
        return FunderLevel::Regional;
    }
    if NATIONAL.iter().any(|k| text.contains(k)) {
        return FunderLevel::National;
    }
    if EU.iter().any(|k| text.contains(k)) || words.iter().any(|w| matches!(*w, "eu" | "eu:s" | "esf+" | "eruf" | "erdf")) {
        return FunderLevel::Eu;
    }
    FunderLevel::Unknown
}

/// Whether one application counts toward `year`'s goal, and why (or why not).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub counts: bool,
    pub reason: String,
}

/// The counting rule: submitted (by its submission date, a local date) in
/// `year`, not withdrawn, with PSI in one of `roles`.
pub fn verdict(app: &Application, year: i32, roles: &[PsiRole], lang: Lang) -> Verdict {
    let role = app.psi_role.label(lang);
    let no = |reason: String| Verdict { counts: false, reason };
    let Some(sub) = app.submitted_on() else {
        return no(match lang {
            Lang::Sv => format!("inte inskickad (status: {})", app.status.label(lang)),
            Lang::En => format!("not submitted (status: {})", app.status.label(lang)),
        });
    };
    let when = crate::i18n::date(sub, lang);
    if app.status == AppStatus::Withdrawn {
        return no(match lang {
            Lang::Sv => format!("återtagen efter att ha skickats in {when}"),
            Lang::En => format!("withdrawn after submission on {when}"),
        });
    }
    if sub.year() != year {
        return no(match lang {
            Lang::Sv => format!("inskickad {when}, räknas för {}", sub.year()),
            Lang::En => format!("submitted on {when}, counts for {}", sub.year()),
        });
    }
    if !roles.contains(&app.psi_role) {
        return no(match lang {
            Lang::Sv => format!("PSI:s roll ({role}) räknas inte mot målet"),
            Lang::En => format!("PSI's role ({role}) does not count toward the goal"),
        });
    }
    Verdict {
        counts: true,
        reason: match lang {
            Lang::Sv => format!("inskickad {when}, PSI som {role}"),
            Lang::En => format!("submitted on {when}, PSI as {role}"),
        },
    }
}

/// The config's role names as typed roles (unknown names are skipped; the config validates them).
pub fn counting_roles(names: &[String]) -> Vec<PsiRole> {
    names.iter().filter_map(|n| PsiRole::parse(n).ok()).collect()
}

/// Whether `app` belongs in `year`'s report: any of its dates in the year,
/// created in the year, or still in progress.
pub fn relevant_to(app: &Application, year: i32) -> bool {
    app.status.in_progress() || app.status_dates.values().any(|d| d.year() == year) || app.created_at.year() == year
}

/// One application in the year's report, with what the report groups by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLine {
    pub app: Application,
    pub verdict: Verdict,
    pub level: FunderLevel,
    /// The call's top societal challenge (`SC6`), None when unknown.
    pub challenge: Option<String>,
    pub funder: String,
    /// The linked call's title, or the external call's text.
    pub call_title: String,
}

/// The year's standing against the goal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearReport {
    pub year: i32,
    pub goal: u32,
    pub lines: Vec<ReportLine>,
}

impl YearReport {
    pub fn counted(&self) -> impl Iterator<Item = &ReportLine> {
        self.lines.iter().filter(|l| l.verdict.counts)
    }

    pub fn not_counted(&self) -> impl Iterator<Item = &ReportLine> {
        self.lines.iter().filter(|l| !l.verdict.counts)
    }

    pub fn count(&self) -> usize {
        self.counted().count()
    }

    /// `■■□□□`: one cell per application of the goal (more when the goal is passed).
    pub fn bar(&self) -> String {
        bar(self.count(), self.goal)
    }

    pub fn by_status(&self) -> BTreeMap<AppStatus, usize> {
        let mut m = BTreeMap::new();
        for l in &self.lines {
            *m.entry(l.app.status).or_insert(0) += 1;
        }
        m
    }

    /// Per funder level: (all in the report, counted).
    pub fn by_level(&self) -> BTreeMap<FunderLevel, (usize, usize)> {
        let mut m = BTreeMap::new();
        for l in &self.lines {
            let e = m.entry(l.level).or_insert((0, 0));
            e.0 += 1;
            e.1 += usize::from(l.verdict.counts);
        }
        m
    }

    /// Per challenge id (`-` when unknown): (all, counted).
    pub fn by_challenge(&self) -> BTreeMap<String, (usize, usize)> {
        let mut m = BTreeMap::new();
        for l in &self.lines {
            let e = m.entry(l.challenge.clone().unwrap_or_else(|| "-".into())).or_insert((0, 0));
            e.0 += 1;
            e.1 += usize::from(l.verdict.counts);
        }
        m
    }
}

/// `■■□□□`.
pub fn bar(count: usize, goal: u32) -> String {
    let n = (goal as usize).max(count);
    (0..n).map(|k| if k < count { '■' } else { '□' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::{Currency, StatusDates};
    use chrono::{NaiveDate, Utc};

    fn app(status: AppStatus, role: PsiRole, submitted: Option<&str>) -> Application {
        let mut dates = StatusDates::new();
        if let Some(s) = submitted {
            dates.insert(AppStatus::Submitted, NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
        }
        Application {
            id: 1,
            title: "A".into(),
            call: None,
            lead: None,
            partners: vec![],
            psi_role: role,
            status,
            status_dates: dates,
            amount_applied: None,
            amount_granted: None,
            currency: Currency::Sek,
            notes: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn counting_edge_cases() {
        let roles = counting_roles(&["reference_group".into(), "stakeholder_group".into(), "partner".into(), "lead".into()]);
        let v = |a: &Application| verdict(a, 2026, &roles, Lang::Sv);
        assert!(v(&app(AppStatus::Submitted, PsiRole::ReferenceGroup, Some("2026-01-01"))).counts);
        let dec31 = v(&app(AppStatus::Submitted, PsiRole::ReferenceGroup, Some("2025-12-31")));
        assert!(!dec31.counts);
        assert!(dec31.reason.contains("räknas för 2025"), "{}", dec31.reason);
        assert!(v(&app(AppStatus::Granted, PsiRole::Lead, Some("2026-12-31"))).counts);
        let w = v(&app(AppStatus::Withdrawn, PsiRole::Partner, Some("2026-03-01")));
        assert!(!w.counts && w.reason.contains("återtagen"), "{}", w.reason);
        let s = v(&app(AppStatus::Submitted, PsiRole::SupportOnly, Some("2026-03-01")));
        assert!(!s.counts && s.reason.contains("endast stöd"), "{}", s.reason);
        assert!(!v(&app(AppStatus::Writing, PsiRole::Lead, None)).counts);
    }

    #[test]
    fn funder_levels() {
        assert_eq!(funder_level("European Commission", Some("Horizon Europe")), FunderLevel::Eu);
        assert_eq!(funder_level("Interreg Östersjön", None), FunderLevel::Eu);
        assert_eq!(funder_level("EU", Some("ESF+")), FunderLevel::Eu);
        assert_eq!(funder_level("Svenska ESF-rådet", Some("ESF+")), FunderLevel::National);
        assert_eq!(funder_level("Vinnova", None), FunderLevel::National);
        assert_eq!(funder_level("Allmänna arvsfonden", None), FunderLevel::National);
        assert_eq!(funder_level("Jordbruksverket", Some("Leader Bergslagen")), FunderLevel::Regional);
        assert_eq!(funder_level("Region Örebro län", None), FunderLevel::Regional);
        assert_eq!(funder_level("Länsstyrelsen i Örebro län", None), FunderLevel::Regional);
        assert_eq!(funder_level("Stiftelsen X", None), FunderLevel::Unknown);
        assert_eq!(funder_level("Leuven foundation", None), FunderLevel::Unknown);
        assert_eq!(bar(2, 5), "■■□□□");
        assert_eq!(bar(6, 5), "■■■■■■");
    }
}
