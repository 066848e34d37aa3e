//! Call rules read from the text, stored with the call and used downstream
//! (issue 15): stored once, read again when the text changes.

use crate::helpers;
use chrono::{DateTime, Utc};
use psi_radar::jobs::ingest::add_manual;
use psi_radar::normalize::rules::OrgKind;
use psi_radar::sources::manual::ManualCall;

fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc)
}

fn manual(text: &str) -> ManualCall {
    ManualCall {
        title: "Lokala initiativ".into(),
        url: "https://example.org/lokala-initiativ".into(),
        funder: Some("Tillväxtverket".into()),
        deadline: None,
        text: Some(text.into()),
        lang: None,
    }
}

#[tokio::test]
async fn rules_are_stored_once_and_read_again_when_the_text_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let r = add_manual(&ctx.store, &manual("Vem kan söka? Kommuner."), now).await.unwrap().reference;
    assert!(ctx.store.get_call(r).await.unwrap().unwrap().rules.is_none(), "the store only persists; the job reads");
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 1);
    let rules = ctx.store.get_call(r).await.unwrap().unwrap().rules.expect("stored rules");
    assert_eq!(rules.eligibility.applicants, vec![OrgKind::Kommun]);
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 0, "an unchanged text is not read again");

    add_manual(&ctx.store, &manual("Vem kan söka? Regioner."), now).await.unwrap();
    assert_eq!(psi_radar::jobs::poll::read_rules(&ctx, now).await.unwrap(), 1);
    let rules = ctx.store.get_call(r).await.unwrap().unwrap().rules.expect("stored rules");
    assert_eq!(rules.eligibility.applicants, vec![OrgKind::Region]);
}

const INCLUSION: &str = "Utlysningen stödjer insatser för arbetsintegration och inkludering på arbetsmarknaden för personer som står långt från arbetsmarknaden. Idéburna organisationer och kommuner kan söka tillsammans.";

/// The same call, but for projects in Sydsverige only (an invented page).
fn sydsverige() -> String {
    format!("{INCLUSION}\nUtlysningen gäller projekt som ska bedrivas i Sydsverige (Skåne och Blekinge).")
}

#[tokio::test]
async fn a_call_closed_to_the_home_county_reaches_no_member_gets_no_proposal_and_is_counted_in_the_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let open = helpers::add_call(&ctx, "Arbetsintegrerande insatser", INCLUSION, "2026-12-10", now).await;
    let closed = helpers::add_call(&ctx, "Arbetsintegration i Skåne och Blekinge", &sydsverige(), "2026-12-10", now).await;
    let stored = ctx.store.get_call(closed).await.unwrap().unwrap();
    assert_eq!(stored.rules.as_ref().unwrap().eligibility.open_to_home, Some(false));
    assert!(psi_radar::jobs::closed_to_home(&stored));

    // notifications: the open call reaches members, the closed one never
    let sent = psi_radar::jobs::notify::run_notify(&ctx, now, false).await.unwrap();
    assert_eq!(sent.calls, 1, "{sent:?}");
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert!(rows.iter().any(|r| r.subject.contains(&open.to_string())));
    assert!(rows.iter().all(|r| !r.subject.contains(&closed.to_string())), "no member hears of the closed call");

    // proposals: the digest's and `match`'s
    let members = ctx.store.list_members().await.unwrap();
    let open_stored = ctx.store.get_call(open).await.unwrap().unwrap();
    let notes = psi_radar::jobs::digest::call_notes(&ctx, &open_stored, &members, 5).await.unwrap();
    assert!(notes.proposal.is_some() && !notes.members.is_empty(), "the open call gets a proposal: {notes:?}");
    let notes = psi_radar::jobs::digest::call_notes(&ctx, &stored, &members, 5).await.unwrap();
    assert!(notes.proposal.is_none() && notes.members.is_empty(), "{notes:?}");
    let mut out = Vec::new();
    psi_radar::cli::members::run_match(&ctx.store, &closed.to_string(), true, psi_radar::domain::Lang::Sv, &mut out).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["proposals"], serde_json::json!([]), "{json:#}");

    // the digest: no card, one collapsed line at the end
    let d = psi_radar::jobs::digest::run_digest(&ctx, None, now, true).await.unwrap();
    let text = &d.rendered.text;
    assert!(text.contains(&open.to_string()) && !text.contains(&closed.to_string()), "{text}");
    let line = text.find("1 utlysning gäller inte Örebro län").expect("the collapsed line");
    assert!(line > text.find(&open.to_string()).unwrap(), "at the end: {text}");
    assert!(d.rendered.html.contains("1 utlysning gäller inte Örebro län"));

    // reminders: a member who said yes before the rules were known hears nothing; AU (watching) does
    let verdandi = psi_radar::domain::MemberId::parse("verdandi").unwrap();
    ctx.store.record_interest(closed, &verdandi, None, psi_radar::domain::Intent::Yes, None, "", None, now).await.unwrap();
    ctx.store.watch_call(closed, now).await.unwrap();
    let later = now + chrono::Duration::days(4);
    assert!(psi_radar::jobs::notify::run_reminders(&ctx, later).await.unwrap().queued > 0);
    let about: Vec<_> =
        ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.subject.contains(&closed.to_string())).collect();
    assert!(!about.is_empty() && about.iter().all(|r| r.recipient.ends_with("@example.org") && r.recipient.starts_with("au")), "{about:?}");
}

#[tokio::test]
async fn the_digest_card_and_the_member_mail_show_the_rules_in_one_line_in_either_language() {
    let page = format!("{INCLUSION}\nVem kan söka?\nKommuner.\nMedfinansiering: Projektet ska ha minst 20 procent medfinansiering.");
    for (lang, line, not_home) in [
        (
            psi_radar::domain::Lang::Sv,
            "Vem kan söka: kommuner, ideella organisationer · Örebro län: ja · medfinansiering 20 %",
            "2 utlysningar gäller inte Örebro län",
        ),
        (
            psi_radar::domain::Lang::En,
            "Who may apply: municipalities, non-profit organisations · Örebro län: yes · co-financing 20 %",
            "2 calls are not open to Örebro län",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = helpers::config(0, tmp.path());
        cfg.partnership.lang = lang;
        let ctx = helpers::ctx_with(cfg).await;
        let now = monday();
        let r = helpers::add_call(&ctx, "Arbetsintegrerande insatser", &page, "2026-12-10", now).await;
        helpers::add_call(&ctx, "Arbetsintegration i Skåne", &sydsverige(), "2026-12-10", now).await;
        helpers::add_call(&ctx, "Arbetsintegration i Skåne och Blekinge", &sydsverige(), "2026-12-11", now).await;
        let d = psi_radar::jobs::digest::run_digest(&ctx, None, now, true).await.unwrap();
        assert!(d.rendered.text.contains(not_home) && d.rendered.html.contains(not_home), "{}", d.rendered.text);
        let card = &d.rendered.text[d.rendered.text.find(&r.to_string()).expect("the card")..];
        assert!(card.contains(&format!("\n  {line}\n")), "{lang:?}: {}", d.rendered.text);
        assert!(d.rendered.html.contains(line), "{lang:?}");
    }
    // a member's notification carries the same line (in the member's language: Swedish here)
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    helpers::add_call(&ctx, "Arbetsintegrerande insatser", &page, "2026-12-10", monday()).await;
    psi_radar::jobs::notify::run_notify(&ctx, monday(), false).await.unwrap();
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert!(!rows.is_empty());
    let body = String::from_utf8_lossy(&rows[0].body).to_string();
    assert!(body.contains("Vem kan s") && body.contains("medfinansiering 20 %"), "{body}");
}
