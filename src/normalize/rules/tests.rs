//! Golden tests on invented call pages: each form the rules must read, in
//! Swedish and English.

use super::*;
use chrono_tz::Europe::{Brussels, Stockholm};

fn read(funder: &str, text: &str) -> CallRules {
    let (title, body) = text.trim().split_once('\n').unwrap_or((text, ""));
    read_rules(&RulesInput { title, text: body, funder, home_county: "Örebro län", tz: Stockholm })
}

fn last_deadline(r: &CallRules) -> Option<String> {
    r.deadlines.last().map(|d| d.at.with_timezone(&d.tz).format("%Y-%m-%d %H:%M %Z").to_string())
}

fn opens(r: &CallRules) -> Option<String> {
    r.opens.map(|o| format!("{}{}", o.date, o.time.map(|t| t.format(" %H:%M").to_string()).unwrap_or_default()))
}

use OrgKind::*;

#[test]
fn closing_dates_in_their_forms() {
    let cases: &[(&str, &str)] = &[
        ("Stärk företag\n • Stängd 16 mars 2023\n • Region Gotland", "2023-03-16 23:59 CET"),
        ("Utlysning\nSista ansökningsdag 2021-10-20", "2021-10-20 23:59 CEST"),
        ("Utlysning\nSlutdatum 2020-03-09", "2020-03-09 23:59 CET"),
        ("Utlysning\nAnsök senast 30 september 2024.", "2024-09-30 23:59 CEST"),
        ("Utlysning\nDu kan söka från och med 2 mars till och med 30 april 2021.", "2021-04-30 23:59 CEST"),
        ("Utlysning\n • Stänger 22 juni 2023", "2023-06-22 23:59 CEST"),
        ("Utlysning\nSista ansökningsdag är den 3 februari 2026 kl. 14.00.", "2026-02-03 14:00 CET"),
        ("Call\nDeadline: 15 April 2026 17:00 Brussels time", "2026-04-15 17:00 CEST"),
        ("Call\nAll proposals must be submitted by 17:00 Brussels time, September 28th 2023.", "2023-09-28 17:00 CEST"),
        (
            "Utlysning\nTidsplan\n4 februari 2020, kl. 14:00: Sista dag för steg 1\n14 maj 2020, kl. 14:00: Sista dag för fullständig ansökan",
            "2020-05-14 14:00 CEST",
        ),
        ("Utlysning\nAnsökningsperiod: 21 mars – 5 maj 2017.", "2017-05-05 23:59 CEST"),
    ];
    for (page, want) in cases {
        let r = read("Vinnova", page);
        assert_eq!(last_deadline(&r).as_deref(), Some(*want), "{page}");
        assert!(r.evidence.iter().any(|e| e.field == RuleField::Deadlines), "{page}");
    }
    let r = read("EU", "Call\nDeadline: 15 April 2026 17:00 Brussels time");
    assert_eq!(r.deadlines[0].tz, Brussels);
}

#[test]
fn decisions_projects_payments_and_degrees_are_not_deadlines() {
    let pages = [
        "Utlysning\nBeslutad: 2024-03-26 14:00",
        "Utlysning\nStängd: Beslutsdatum: 2023-11-14 17:00.",
        "Utlysning\nBeslut meddelas sökande efter den 31 maj 2024.",
        "Utlysning\nProjekt kan pågå till och med den 30 juni 2014.",
        "Utlysning\nStatsbidraget betalas ut senast den 1 december 2018.",
        "Utlysning\nHuvudsökande ska ha avlagt doktorsexamen senast den 31 december 2021.",
        "Utlysning\nProjektstart: 1 januari 2025",
        "Call\nThe decision will be announced on 3 June 2026.",
    ];
    for page in pages {
        assert_eq!(read("Formas", page).deadlines, vec![], "{page}");
    }
}

#[test]
fn rolling_calls_have_no_deadline() {
    let r = read("Allmänna arvsfonden", "Projektstöd\nAnsökan kan skickas in när som helst under året.");
    assert!(r.rolling && r.deadlines.is_empty());
    let r = read("Region Örebro län", "Stöd\nVi tar emot ansökningar löpande.");
    assert!(r.rolling);
    let r = read("Fund", "Grants\nApplications are assessed on a rolling basis.");
    assert!(r.rolling);
}

#[test]
fn opening_dates() {
    let cases: &[(&str, &str)] = &[
        ("Insatser\n • Öppnar 12 augusti 2024\n • Norrbotten", "2024-08-12"),
        ("Utlysning\nAnsökan öppnar: 17 maj 2024\nAnsökan stänger: 17 juni 2024", "2024-05-17"),
        ("Utlysning\nStartdatum 2025-01-15", "2025-01-15"),
        ("Utlysning\nÖppnar för ansökningar: 2024-09-04 14:00", "2024-09-04 14:00"),
        ("Utlysning\nDu kan söka från och med 2 mars till och med 30 april 2021.", "2021-03-02"),
        ("Call\nThe call will be open from 21 June until 23 August 2022.", "2022-06-21"),
        ("Call\nThe call opens on 1 March 2026.", "2026-03-01"),
    ];
    for (page, want) in cases {
        assert_eq!(opens(&read("Vinnova", page)).as_deref(), Some(*want), "{page}");
    }
}

#[test]
fn a_missing_year_is_the_one_the_page_implies() {
    let r = read("MUCF", "Stöd\nPublicerad: 2024-01-23\nAnsökan öppnar: 1 februari\nAnsökan stänger: 29 februari");
    assert_eq!(opens(&r).as_deref(), Some("2024-02-01"));
    assert_eq!(last_deadline(&r).as_deref(), Some("2024-02-29 23:59 CET"));
}

#[test]
fn who_may_apply() {
    let cases: &[(&str, &[OrgKind])] = &[
        ("Utlysning\nVem kan söka?\nKommuner.", &[Kommun]),
        (
            "Utlysning\nVem kan söka?\nOffentliga aktörer, universitet/högskolor och civilsamhället.",
            &[Kommun, Region, Stat, Ideell, Akademi],
        ),
        ("Utlysning\nBidraget kan sökas av ideella föreningar, stiftelser och trossamfund.", &[Ideell]),
        ("Utlysning\nVem kan söka?\nInnovationsdrivna svenska aktiebolag.", &[Foretag]),
        (
            "Utlysning\nVem kan söka?\nOrganisationer med små och medelstora företag som målgrupp. Även kommuner och regioner.",
            &[Kommun, Region],
        ),
        ("Utlysning\nVem kan söka?\nFöretagsfrämjande aktörer och lärosäten. Stöd kan inte ges direkt till företag.", &[Akademi]),
        ("Call\nWho can apply?\nNon-profit organisations and local authorities.", &[Kommun, Ideell]),
        ("Call\nWho can apply?\nAny legal entity established in an EU Member State.", &[Any]),
        ("Utlysning\nTexten säger inget om sökande.", &[]),
    ];
    for (page, want) in cases {
        assert_eq!(read("Vinnova", page).eligibility.applicants, want.to_vec(), "{page}");
    }
}

#[test]
fn who_may_lead() {
    let page = "AI i kommuner\nVem kan söka?\nEn kommun, ett kommunalförbund eller en civilsamhällesorganisation ska vara koordinator. Projekten kan därutöver inkludera företag och akademi.";
    let e = read("Vinnova", page).eligibility;
    assert_eq!(e.lead, vec![Kommun, Ideell]);
    assert_eq!(e.applicants, vec![Kommun, Ideell, Foretag, Akademi]);
    let e = read("EU", "Call\nWho can apply?\nUniversities and companies. The coordinator must be a university.").eligibility;
    assert_eq!(e.lead, vec![Akademi]);
    // unrestricted: the lead is whoever may apply
    let e = read("Vinnova", "Utlysning\nVem kan söka?\nKommuner och regioner.").eligibility;
    assert_eq!(e.lead, vec![Kommun, Region]);
}

#[test]
fn consortium_requirements() {
    let e = read("Vinnova", "Utlysning\nProjekten måste innehålla minst tre behovsägare.").eligibility;
    assert_eq!(e.min_partners, Some(3));
    let e = read("MUCF", "Utlysning\nProjektet ska genomföras tillsammans med minst en kommun.").eligibility;
    assert_eq!(e.required_types, vec![Kommun]);
    let e = read("EU", "Call\nThe consortium must include at least three partners from at least two countries.").eligibility;
    assert_eq!(e.min_partners, Some(3));
    let e = read("Vinnova", "Utlysning\nMinst tre svenska parter varav minst två är företag.").eligibility;
    assert_eq!((e.min_partners, e.required_types), (Some(3), vec![Foretag]));
    let e = read("Vinnova", "Utlysning\nOrganisationen ska ha funnits i minst två år.").eligibility;
    assert_eq!((e.min_partners, e.required_types), (None, vec![]));
}

#[test]
fn where_and_whether_the_home_county_may_apply() {
    let cases: &[(&str, &str, Option<bool>)] = &[
        ("Tillväxtverket", "ESF\nProjekt som ska bedrivas i Sydsverige (Skåne och Blekinge).", Some(false)),
        ("Tillväxtverket", "Stärk företag\n • Stängd 16 mars 2023\n • Region Gotland\nInsatser i Småland och öarna.", Some(false)),
        ("Tillväxtverket", "Cirkulär ekonomi inom Övre Norrland\n • Norrbotten\n • Västerbotten", Some(false)),
        ("Svenska ESF-rådet", "Utlysning\nUtlysningen gäller Stockholmsregionen.", Some(false)),
        ("Interreg Aurora", "Call 5\nInterreg Aurora opens a call for regular projects.", Some(false)),
        ("Länsstyrelsen Dalarna", "LOVA\nBidraget kan sökas av kommuner.", Some(false)),
        ("Tillväxtverket", "Smart specialisering i Östra Mellansverige\n • Örebro\n • Uppsala", Some(true)),
        ("Region Örebro län", "Kulturstöd\nFöreningar som genomför aktiviteter i Örebro län kan söka.", Some(true)),
        ("Vinnova", "Utlysning\nVem kan söka?\nFöretag.", Some(true)),
        ("Svenska ESF-rådet", "Utlysning\nAnsökningsomgång för hela landet.", Some(true)),
        ("Länsstyrelsen Örebro län", "Projektstöd\nKarlskoga kommun söker partner.", Some(true)),
        ("Stiftelsen X", "Stipendium\nVi delar ut medel till goda idéer.", None),
    ];
    for (funder, page, want) in cases {
        let e = read(funder, page).eligibility;
        assert_eq!(e.open_to_home, *want, "{funder}: {page} → {:?}", e.areas);
    }
    let e = read("Tillväxtverket", "ESF\nProjekt som ska bedrivas i Sydsverige (Skåne och Blekinge).").eligibility;
    assert_eq!(e.areas, vec!["Sydsverige".to_string(), "Blekinge län".into(), "Skåne län".into()]);
}

#[test]
fn the_area_table_holds_every_county_once_per_nuts2_region() {
    let nuts2 = [
        "Stockholm",
        "Östra Mellansverige",
        "Småland och öarna",
        "Sydsverige",
        "Västsverige",
        "Norra Mellansverige",
        "Mellersta Norrland",
        "Övre Norrland",
    ];
    let mut counted: Vec<&str> = nuts2.iter().flat_map(|a| areas::counties_of(a)).collect();
    counted.sort();
    let mut all: Vec<&str> = areas::COUNTIES.iter().map(|(c, _)| *c).collect();
    all.sort();
    assert_eq!(counted, all, "the eight NUTS2 regions partition the 21 counties");
    assert!(areas::counties_of("Östra Mellansverige").contains(&"Örebro län"));
    assert!(!areas::counties_of("Interreg Aurora").contains(&"Örebro län"));
    for (_, _, counties) in areas::AREAS {
        assert!(counties.iter().all(|c| areas::COUNTIES.iter().any(|(n, _)| n == c)), "{counties:?}");
    }
    assert_eq!(areas::county_named("Region Örebro län"), Some("Örebro län"));
    assert_eq!(areas::county_named("Länsstyrelsen i Jönköpings län"), Some("Jönköpings län"));
}

#[test]
fn cofinancing_and_amounts() {
    let e = read("ESF", "Utlysning\nPlanerad medfinansieringsgrad från projekten är 53%.").eligibility;
    assert_eq!(e.cofinancing_pct, Some(53));
    let e = read("Tillväxtverket", "Utlysning\nRegionalfonden kan finansiera maximalt 40 procent av de totala kostnaderna.").eligibility;
    assert_eq!(e.cofinancing_pct, Some(60));
    let e = read("Region Örebro län", "Stöd\nSökande behöver själv gå in med minst lika mycket som medfinansiering.").eligibility;
    assert_eq!(e.cofinancing_pct, Some(50));
    let e = read("Vinnova", "Utlysning\nDet går att söka upp till 2 mkr i bidrag per projekt. Utlysningens budget är 10 mkr.").eligibility;
    assert_eq!(e.amount, Some(Amount { min: None, max: Some(2e6), currency: Currency::Sek }));
    let e = read("Region", "Stöd\nDu kan ansöka om mellan 20 000 och 50 000 kronor.").eligibility;
    assert_eq!(e.amount, Some(Amount { min: Some(20_000.0), max: Some(50_000.0), currency: Currency::Sek }));
    let e = read("Formas", "Utlysning\nDu kan söka minst 5 miljoner kronor och max 6 miljoner kronor.").eligibility;
    assert_eq!(e.amount, Some(Amount { min: Some(5e6), max: Some(6e6), currency: Currency::Sek }));
    let e = read("EU", "Call\nApplicants may request a grant of up to EUR 500,000 per project.").eligibility;
    assert_eq!(e.amount, Some(Amount { min: None, max: Some(500_000.0), currency: Currency::Eur }));
}

#[test]
fn every_value_carries_its_sentence() {
    let r = read("Vinnova", "Utlysning\nVem kan söka?\nKommuner.\nSista ansökningsdag 2026-03-15.");
    let ev = |f: RuleField| r.evidence.iter().find(|e| e.field == f).map(|e| e.sentence.as_str());
    assert_eq!(ev(RuleField::Applicants), Some("Kommuner."));
    assert_eq!(ev(RuleField::Deadlines), Some("Sista ansökningsdag 2026-03-15."));
}

#[test]
fn kinds_serialise_under_their_issue_names() {
    assert_eq!(serde_json::to_string(&OrgKind::ALL.to_vec()).unwrap(), r#"["kommun","region","stat","ideell","foretag","akademi","any"]"#);
    assert!(OrgKind::ALL.iter().all(|k| OrgKind::parse(k.as_str()) == Some(*k)));
}
