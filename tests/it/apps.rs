//! The application register: counting rules, status transitions, forming
//! proposals, CSV round trip and the ICS calendar parsed back.

use crate::helpers;
use chrono::{DateTime, NaiveDate, Utc};
use psi_radar::domain::application::{AppUpdate, StatusDates, apply_update};
use psi_radar::domain::{CallRef, Contact, Email, Intent, Lang, Member, MemberId, OrgType, Role};
use psi_radar::jobs::ingest::add_manual;
use psi_radar::sources::manual::ManualCall;
use psi_radar::store::Store;
use psi_radar::tracking::{AppStatus, Application, CallLink, Currency, Party, PsiRole, export, proposals, year_report};
use std::collections::HashMap;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn roles() -> Vec<String> {
    ["reference_group", "stakeholder_group", "partner", "lead"].map(String::from).to_vec()
}

fn app(title: &str, role: PsiRole, status: AppStatus, dates: &[(AppStatus, &str)]) -> Application {
    let now = t("2026-01-10T10:00:00Z");
    Application {
        id: 0,
        title: title.into(),
        call: Some(CallLink::External("Arvsfonden, projektstöd".into())),
        lead: Some(Party::Name("Föreningen X; med \"citat\"".into())),
        partners: vec![Party::Member(MemberId::parse("activa").unwrap()), Party::Name("=Bolaget, AB".into())],
        psi_role: role,
        status,
        status_dates: dates.iter().map(|(s, x)| (*s, d(x))).collect::<StatusDates>(),
        amount_applied: Some(1_250_000.5),
        amount_granted: None,
        currency: Currency::Sek,
        notes: "rad ett\nrad två; semikolon".into(),
        created_at: now,
        updated_at: now,
    }
}

fn member(id: &str, name: &str) -> Member {
    Member {
        id: MemberId::parse(id).unwrap(),
        name: name.into(),
        org_type: OrgType::CivilSociety,
        municipality: "Örebro".into(),
        contacts: vec![Contact {
            name: "Kontakt".into(),
            email: Email::parse(&format!("k@{id}.example.org")).unwrap(),
            role: String::new(),
            primary: true,
            unsubscribed: false,
        }],
        categories: vec![psi_radar::domain::CategoryId::parse("SC6").unwrap()],
        keywords: vec!["arbetsintegrering".into()],
        can_lead: true,
        languages: vec![Lang::Sv],
        notes: String::new(),
    }
}

async fn call(store: &Store, title: &str, deadline: &str, now: DateTime<Utc>) -> CallRef {
    let m = ManualCall {
        title: title.into(),
        url: "https://www.vinnova.se/e/social-innovation-2026".into(),
        funder: Some("Vinnova".into()),
        deadline: Some(deadline.into()),
        text: Some("Social innovation och arbetsintegrering.".into()),
        lang: None,
    };
    add_manual(store, &m, now).await.unwrap().reference
}

#[tokio::test]
async fn counting_rules_on_edge_cases() {
    let store = helpers::store().await;
    let now = t("2026-06-01T10:00:00Z");
    let cases = [
        ("Dec 31", PsiRole::ReferenceGroup, AppStatus::Submitted, vec![(AppStatus::Submitted, "2025-12-31")], false),
        ("Jan 1", PsiRole::ReferenceGroup, AppStatus::Submitted, vec![(AppStatus::Submitted, "2026-01-01")], true),
        ("Dec 31 this year", PsiRole::Lead, AppStatus::Granted, vec![(AppStatus::Submitted, "2026-12-31")], true),
        (
            "Withdrawn",
            PsiRole::Partner,
            AppStatus::Withdrawn,
            vec![(AppStatus::Submitted, "2026-02-01"), (AppStatus::Withdrawn, "2026-03-01")],
            false,
        ),
        ("Support", PsiRole::SupportOnly, AppStatus::Submitted, vec![(AppStatus::Submitted, "2026-02-01")], false),
        ("Stakeholder", PsiRole::StakeholderGroup, AppStatus::Rejected, vec![(AppStatus::Submitted, "2026-04-01")], true),
        ("Writing", PsiRole::Lead, AppStatus::Writing, vec![(AppStatus::Writing, "2026-04-01")], false),
    ];
    for (title, role, st, dates, _) in &cases {
        store.insert_app(&app(title, *role, *st, dates), "test", now).await.unwrap();
    }
    let r = year_report(&store, 2026, &roles(), 5, Lang::Sv).await.unwrap();
    for (title, _, _, _, counts) in &cases {
        let l = r.lines.iter().find(|l| l.app.title == *title).unwrap_or_else(|| panic!("{title} missing"));
        assert_eq!(l.verdict.counts, *counts, "{title}: {}", l.verdict.reason);
    }
    assert_eq!(r.count(), 3);
    assert_eq!(r.bar(), "■■■□□");
    let why = |title: &str| r.lines.iter().find(|l| l.app.title == title).unwrap().verdict.reason.clone();
    assert!(why("Dec 31").contains("räknas för 2025"), "{}", why("Dec 31"));
    assert!(why("Withdrawn").contains("återtagen"), "{}", why("Withdrawn"));
    assert!(why("Support").contains("endast stöd"), "{}", why("Support"));
    assert!(why("Jan 1").contains("1 januari 2026"), "{}", why("Jan 1"));
    // The digest's query agrees.
    assert_eq!(psi_radar::tracking::apps_counting(&store, 2026, &roles()).await.unwrap().len(), 3);
    assert_eq!(psi_radar::tracking::apps_counting(&store, 2025, &roles()).await.unwrap().len(), 1);
    // Level: Arvsfonden is national.
    assert!(r.lines.iter().all(|l| l.level == psi_radar::tracking::FunderLevel::National));
    let text = export::report_text(&r, &HashMap::new(), Lang::Sv);
    assert!(text.contains("3 av 5") && text.contains("Räknas inte"), "{text}");
    let html = export::report_html(&r, "PSI <Örebro>", &HashMap::new(), d("2026-06-01"), Lang::Sv);
    assert!(html.contains("<svg") && !html.contains("<script") && html.contains("PSI &lt;Örebro&gt;"));
    assert!(html.contains("Föreningen X; med &quot;citat&quot;"));
}

#[tokio::test]
async fn nonsensical_transitions_are_refused_and_history_kept() {
    let store = helpers::store().await;
    let now = t("2026-03-01T10:00:00Z");
    let id = store
        .insert_app(&app("A", PsiRole::ReferenceGroup, AppStatus::Writing, &[(AppStatus::Writing, "2026-02-01")]), "anna", now)
        .await
        .unwrap();
    let a = store.get_app(id).await.unwrap().unwrap();
    let err =
        apply_update(&a, &AppUpdate { status: Some(AppStatus::Granted), ..Default::default() }, d("2026-03-01"), Lang::Sv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "En ansökan kan inte bli beviljad innan den är inskickad (nu: skrivs). Sätt först status inskickad med datum."
    );
    let en =
        apply_update(&a, &AppUpdate { status: Some(AppStatus::Rejected), ..Default::default() }, d("2026-03-01"), Lang::En).unwrap_err();
    assert!(en.to_string().contains("before it is submitted"), "{en}");
    // Submitted before the writing started: refused.
    let early = AppUpdate { status: Some(AppStatus::Submitted), date: Some(d("2026-01-15")), ..Default::default() };
    assert!(apply_update(&a, &early, d("2026-03-01"), Lang::Sv).unwrap_err().to_string().contains("före"));
    let ok = AppUpdate { status: Some(AppStatus::Submitted), date: Some(d("2026-03-01")), ..Default::default() };
    let (b, log) = apply_update(&a, &ok, d("2026-03-01"), Lang::Sv).unwrap();
    store.save_app(&b, &log, "bo", now).await.unwrap();
    let back = store.get_app(id).await.unwrap().unwrap();
    assert_eq!(back.status, AppStatus::Submitted);
    assert_eq!(back.submitted_on(), Some(d("2026-03-01")));
    let back_to_writing = AppUpdate { status: Some(AppStatus::Writing), ..Default::default() };
    assert!(apply_update(&back, &back_to_writing, d("2026-03-02"), Lang::Sv).is_err());
    let ev = store.app_events(id).await.unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].who, "anna");
    assert_eq!(ev[1].who, "bo");
    assert!(ev[1].change.contains("writing → submitted"), "{}", ev[1].change);
}

#[tokio::test]
async fn csv_round_trip() {
    let store = helpers::store().await;
    let now = t("2026-03-01T10:00:00Z");
    let mut a = app(
        "Ansökan, \"med\" tecken; och =formel",
        PsiRole::StakeholderGroup,
        AppStatus::Submitted,
        &[(AppStatus::Idea, "2026-01-05"), (AppStatus::Submitted, "2026-02-20")],
    );
    a.currency = Currency::Eur;
    a.lead = Some(Party::Name("=HYPERLINK(\"x\")".into()));
    // Blanks before a formula are the text's own: kept, and the cell still guarded.
    a.notes = " =1+1".into();
    store.insert_app(&a, "t", now).await.unwrap();
    store.insert_app(&app("Två", PsiRole::SupportOnly, AppStatus::Idea, &[(AppStatus::Idea, "2026-02-01")]), "t", now).await.unwrap();
    let r = year_report(&store, 2026, &roles(), 5, Lang::Sv).await.unwrap();
    let members = vec![MemberId::parse("activa").unwrap()];
    for (sep, lang) in [(b';', Lang::Sv), (b',', Lang::En)] {
        let bytes = export::write_csv(&r, sep, lang).unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "BOM");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\r\n"));
        assert!(text.contains("'=HYPERLINK"), "formula defused: {text}");
        assert!(text.contains("' =1+1"), "formula after a blank defused: {text}");
        if sep == b';' {
            assert!(text.contains("1250000,5"), "decimal comma: {text}");
        }
        let back = export::read_csv(&bytes, &members).unwrap();
        assert_eq!(back.len(), r.lines.len());
        for (x, l) in back.iter().zip(&r.lines) {
            let o = &l.app;
            assert_eq!(
                (&x.id, &x.title, &x.call, &x.lead, &x.partners, x.psi_role, x.status, &x.status_dates),
                (&o.id, &o.title, &o.call, &o.lead, &o.partners, o.psi_role, o.status, &o.status_dates)
            );
            assert_eq!(
                (x.amount_applied, x.amount_granted, x.currency, &x.notes),
                (o.amount_applied, o.amount_granted, o.currency, &o.notes)
            );
        }
    }
}

/// A minimal RFC 5545 reader: checks CRLF and the 75-octet limit, unfolds,
/// and returns the components as lists of (name with params, value).
fn parse_ics(text: &str) -> Vec<Vec<(String, String)>> {
    assert!(text.ends_with("\r\n"));
    for raw in text.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(!raw.contains('\n') && !raw.contains('\r'), "bare LF/CR in {raw:?}");
        assert!(raw.len() <= 75, "{} octets: {raw}", raw.len());
    }
    let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    let mut events = Vec::new();
    let mut cur: Option<Vec<(String, String)>> = None;
    let mut depth = 0;
    for l in lines {
        let (name, value) = l.split_once(':').unwrap_or_else(|| panic!("no colon: {l}"));
        match (name, value) {
            ("BEGIN", "VEVENT") => cur = Some(Vec::new()),
            ("END", "VEVENT") => events.push(cur.take().unwrap()),
            ("BEGIN", _) => depth += 1,
            ("END", _) => depth -= 1,
            _ => {
                if let Some(c) = cur.as_mut()
                    && depth == 1
                {
                    c.push((name.to_string(), value.to_string()));
                }
            }
        }
    }
    assert_eq!(depth, 0);
    events
}

fn unescape(v: &str) -> String {
    let mut o = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') | Some('N') => o.push('\n'),
                Some(x) => o.push(x),
                None => {}
            }
        } else {
            o.push(c);
        }
    }
    o
}

fn get<'a>(e: &'a [(String, String)], name: &str) -> Option<&'a str> {
    e.iter().find(|(n, _)| n == name || n.starts_with(&format!("{name};"))).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn ics_parses_back_with_stable_uids() {
    let dir = tempfile::tempdir().unwrap();
    let config = helpers::config(0, dir.path());
    let store = helpers::store().await;
    let now = t("2026-02-01T10:00:00Z");
    let title = "Social innovation, del 2; med \\ och en väldigt lång titel som måste radbrytas enligt RFC 5545 åäö";
    let r = call(&store, title, "2026-04-15T14:00", now).await;
    store.insert_app(&app("Ansökan", PsiRole::Partner, AppStatus::Writing, &[(AppStatus::Writing, "2026-01-20")]), "t", now).await.unwrap();
    let ctx = psi_radar::jobs::Ctx::with_sources(config, store, Vec::new()).unwrap();

    let first = psi_radar::cli::apps::calendar(&ctx, now).await.unwrap();
    let later = t("2026-02-02T10:00:00Z");
    let second = psi_radar::cli::apps::calendar(&ctx, later).await.unwrap();
    let (e1, e2) = (parse_ics(&first), parse_ics(&second));
    let uids = |es: &[Vec<(String, String)>]| es.iter().map(|e| get(e, "UID").unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(uids(&e1), uids(&e2), "same UIDs across exports");
    let deadline_uid = format!("{r}-deadline-1@psi.example.org");
    assert!(uids(&e1).contains(&deadline_uid), "{:?}", uids(&e1));
    assert!(uids(&e1).iter().any(|u| u.ends_with("-remind-14@psi.example.org")));
    assert!(uids(&e1).iter().any(|u| u.starts_with("app-1-writing@")));
    for e in &e1 {
        assert!(get(e, "DTSTAMP").unwrap().ends_with('Z'));
        assert!(get(e, "DTSTART").is_some());
    }
    let ev = e1.iter().find(|e| get(e, "UID") == Some(deadline_uid.as_str())).unwrap();
    // 14:00 Stockholm summer time = 12:00 UTC.
    assert_eq!(get(ev, "DTSTART"), Some("20260415T120000Z"));
    assert!(unescape(get(ev, "SUMMARY").unwrap()).contains(title));
    assert!(first.contains("TRIGGER:-P14D") && first.contains("TRIGGER:-P3D"));

    // The deadline moves: same UID, new time.
    call(&ctx.store, title, "2026-04-30T14:00", later).await;
    let third = psi_radar::cli::apps::calendar(&ctx, later).await.unwrap();
    let e3 = parse_ics(&third);
    assert_eq!(uids(&e3), uids(&e1));
    let ev = e3.iter().find(|e| get(e, "UID") == Some(deadline_uid.as_str())).unwrap();
    assert_eq!(get(ev, "DTSTART"), Some("20260430T120000Z"));
}

#[tokio::test]
async fn two_yes_answers_propose_a_forming_application() {
    let dir = tempfile::tempdir().unwrap();
    let config = helpers::config(0, dir.path());
    let store = helpers::store().await;
    let now = t("2026-02-01T10:00:00Z");
    store
        .upsert_members(&[member("activa", "Stiftelsen Activa"), member("verdandi", "Verdandi"), member("abf", "ABF")], now)
        .await
        .unwrap();
    let r = call(&store, "Social innovation 2026", "2026-04-15", now).await;
    let id = |s: &str| MemberId::parse(s).unwrap();
    store.record_interest(r, &id("activa"), None, Intent::Yes, Some(Role::Partner), "", None, now).await.unwrap();
    assert!(proposals::forming_proposals(&store, now).await.unwrap().is_empty(), "one yes is not enough");
    store.record_interest(r, &id("abf"), None, Intent::No, None, "", None, now).await.unwrap();
    store.record_interest(r, &id("verdandi"), None, Intent::Yes, Some(Role::Lead), "", None, now).await.unwrap();
    let ps = proposals::forming_proposals(&store, now).await.unwrap();
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].call, r);
    assert_eq!(ps[0].lead, Some(id("verdandi")));
    assert_eq!(ps[0].partners, vec![id("activa")]);

    // The digest lists the proposal.
    let ctx = psi_radar::jobs::Ctx::with_sources(config, store, Vec::new()).unwrap();
    let week = psi_radar::mail::digest::Week::of(now, chrono_tz::Europe::Stockholm);
    let input = psi_radar::jobs::digest::gather(&ctx, week, now).await.unwrap();
    assert_eq!(input.forming.len(), 1);
    assert!(input.forming[0].contains("Verdandi") && input.forming[0].contains(&format!("apps confirm {r}")), "{:?}", input.forming);

    // AU confirms with one command: a forming application, no longer proposed.
    let mut out = Vec::new();
    let args = psi_radar::cli::apps::AppsArgs {
        command: psi_radar::cli::apps::AppsCommand::Confirm { call: r.to_string(), role: "reference_group".into(), who: Some("au".into()) },
    };
    psi_radar::cli::apps::run_apps(&ctx, &args, now, &mut out).await.unwrap();
    let apps = ctx.store.list_apps().await.unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].status, AppStatus::Forming);
    assert_eq!(apps[0].call, Some(CallLink::Psi(r)));
    assert_eq!(apps[0].lead, Some(Party::Member(id("verdandi"))));
    assert!(proposals::forming_proposals(&ctx.store, now).await.unwrap().is_empty());
    // Confirming again is the user's mistake.
    assert!(psi_radar::cli::apps::run_apps(&ctx, &args, now, &mut out).await.is_err());

    // The outlook shows the call with the declared interest.
    let o = psi_radar::tracking::outlook::gather_outlook(&ctx.store, now, 12, 3, Lang::Sv).await.unwrap();
    assert_eq!(o.len(), 1);
    let text = psi_radar::tracking::outlook::outlook_text(&o, chrono_tz::Europe::Stockholm, Lang::Sv);
    assert!(text.contains("Verdandi: ja, projektägare") && text.contains("nationell"), "{text}");
}
