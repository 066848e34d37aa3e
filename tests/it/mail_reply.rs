//! Golden test of the reply parser: every `fixtures/mail/*.eml` is parsed and
//! its reading compared with the `.json` beside it. Set `UPDATE_GOLDEN=1` to
//! (re)write the `.json` files, then review the diff.

use crate::helpers::fixture;
use psi_radar::mail::reply;

#[test]
fn every_fixture_reads_as_its_json() {
    let dir = fixture("mail");
    let mut emls: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect();
    emls.sort();
    assert!(emls.len() >= 30, "only {} fixtures", emls.len());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for eml in &emls {
        let reading = reply::parse(&std::fs::read(eml).unwrap());
        let got: serde_json::Value = serde_json::from_str(&reading.to_json()).unwrap();
        let json = eml.with_extension("json");
        if update {
            std::fs::write(&json, reading.to_json() + "\n").unwrap();
            continue;
        }
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()))).unwrap();
        if got != want {
            failures.push(format!(
                "{}\n  want {want}\n  got  {got}\n  new text: {:?}\n  reason: {:?}",
                eml.display(),
                reading.new_text,
                reading.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures differ:\n{}", failures.len(), emls.len(), failures.join("\n"));
}

#[test]
fn json_keys_are_in_the_documented_order() {
    let raw = std::fs::read(fixture("mail/issue_example.eml")).unwrap();
    let json = reply::parse(&raw).to_json();
    let order: Vec<usize> = [
        "\"from\"",
        "\"message_id\"",
        "\"auto_reply\"",
        "\"answers\"",
        "\"call\"",
        "\"intent\"",
        "\"role\"",
        "\"comment\"",
        "\"understood\"",
        "\"stop\"",
        "\"au\"",
    ]
    .iter()
    .map(|k| json.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
    assert!(json.starts_with("{\"from\": \"anna@activa.example.org\", \"message_id\": \"<"), "{json}");
}

#[test]
fn commands_and_auto_replies_carry_actions_and_reasons() {
    use psi_radar::domain::CallRef;
    use reply::Action;
    let read = |name: &str| reply::parse(&std::fs::read(fixture(&format!("mail/{name}.eml"))).unwrap());
    let c = |s| CallRef::parse(s).unwrap();
    assert_eq!(read("stopp").actions, vec![Action::Unsubscribe]);
    assert!(read("stopp").stop && !read("gmail_sv_no").stop);
    assert_eq!(read("start_resume").actions, vec![Action::Resume]);
    assert_eq!(
        read("au_dismiss_watch").au.iter().map(|c| (c.call.to_string(), c.action)).collect::<Vec<_>>(),
        vec![
            ("PSI-0042".to_string(), reply::AuAction::Dismiss),
            ("PSI-0043".to_string(), reply::AuAction::Watch),
            ("PSI-0044".to_string(), reply::AuAction::Dismiss)
        ]
    );
    assert_eq!(read("unsubscribe_subject").actions, vec![Action::Unsubscribe]);
    assert_eq!(
        read("au_dismiss_watch").actions,
        vec![Action::Dismiss(c("PSI-0042")), Action::Watch(c("PSI-0043")), Action::Dismiss(c("PSI-0044"))]
    );
    assert_eq!(read("au_watch_and_answer").actions, vec![Action::Watch(c("PSI-0045"))]);
    for name in ["autoreply_sv_headers", "autoreply_en_subject", "autoreply_body_only", "bounce_report", "bounce_postmaster_plain"] {
        let r = read(name);
        assert!(r.auto_reply && !r.understood && r.actions.is_empty(), "{name}");
        assert!(r.reason.is_some(), "{name}");
    }
    assert!(read("bounce_report").reason.unwrap().starts_with("Studsat"));
    let r = read("gmail_sv_no");
    assert_eq!(r.in_reply_to, vec!["<psi-radar.notify.PSI-0042.8f3a2c@psi.example.org>".to_string()]);
    assert_eq!(r.subject, "Re: [PSI-0042] Ny utlysning: Stöd till social innovation");
    assert_eq!(r.new_text, "Nej tack, inte denna gång.");
    assert!(read("question_unread").reason.unwrap().contains("Hittade inget"));
}

/// Every kind of mail psi-radar sends, as text and as HTML, in both languages.
fn our_mails() -> Vec<(String, String)> {
    use chrono::{DateTime, Utc};
    use psi_radar::domain::{Call, CallRef, Deadline, Lang};
    use psi_radar::mail::digest::{self, CallNotes, DigestCall, DigestInput, Week};
    use psi_radar::mail::notify::{confirmation, member_notification, reminder};
    use psi_radar::mail::render::{CallCard, Renderer};
    use psi_radar::store::calls::StoredCall;

    let r = Renderer::new().unwrap();
    let model = psi_radar::classify::Model::builtin().unwrap();
    let now = DateTime::parse_from_rfc3339("2026-03-03T08:00:00Z").unwrap().with_timezone(&Utc);
    // Titles full of answer words: only the cut keeps them from being read.
    let card = |n: u32| CallCard {
        reference: format!("PSI-{n:04}"),
        title: format!("Ja till unga som vill delta som partner {n}"),
        url: "https://example.org/u".into(),
        funder: "ESF".into(),
        deadline: Some("15 mars 2026".into()),
        days_left: Some("om 12 dagar".into()),
        summary: "Intresserade organisationer kan vara med som projektägare.".into(),
        ..Default::default()
    };
    let mut call = Call::new("Ja, delta som partner i social innovation", "https://example.org/u", "Vinnova", "Intresserad? Ja.");
    call.deadlines.push(Deadline { at: now + chrono::Duration::days(20), tz: chrono_tz::Europe::Stockholm, date_only: true });
    let stored = StoredCall {
        reference: CallRef(43),
        call,
        first_seen_at: now,
        changed_at: None,
        dismissed: false,
        watched: true,
        manual: false,
        categories: vec![],
        sources: vec![],
        rules: None,
    };
    let mut out = Vec::new();
    for lang in [Lang::Sv, Lang::En] {
        let mut rendered = vec![
            member_notification(&r, lang, "PSI Örebro län", "Stiftelsen Activa", &[card(42)]).unwrap(),
            member_notification(&r, lang, "PSI Örebro län", "Stiftelsen Activa", &[card(42), card(43), card(44)]).unwrap(),
            reminder(&r, lang, "PSI Örebro län", &card(42), 3, true).unwrap(),
            reminder(&r, lang, "PSI Örebro län", &card(42), 14, false).unwrap(),
            confirmation(&r, lang, "PSI Örebro län", "[PSI-0042] Ny utlysning", &["PSI-0042 — ja, som partner".to_string()]).unwrap(),
        ];
        let input = DigestInput {
            week: Week::parse("2026-W10").unwrap(),
            now,
            tz: chrono_tz::Europe::Stockholm,
            lang,
            partnership: "PSI Örebro län".into(),
            short_name: "PSI".into(),
            calls: vec![DigestCall {
                call: stored.clone(),
                is_new: true,
                changes: vec![],
                notes: CallNotes {
                    members: vec!["Stiftelsen Activa (0.83)".into()],
                    proposal: Some("Activa projektägare, Verdandi partner".into()),
                    answers: vec!["Verdandi: ja, som partner".into()],
                },
            }],
            deadlines_soon: vec![stored.clone()],
            answers: vec!["Verdandi: ja, som partner (PSI-0043)".into()],
            forming: vec!["PSI-0043: Activa projektägare, Verdandi partner".into()],
            conflicts: vec!["Stiftelsen Activa – PSI-0042: Anna: ja (3 mars 2026); Johan: nej (5 mars 2026)".into()],
            held: vec!["okänd@example.org: ja, partner".into()],
            held_total: 1,
            failed: vec![],
            goal: None,
            reply_to: "svar@psi.example.org".into(),
            not_open_to_home: 2,
            home_county: "Örebro län".into(),
        };
        rendered.push(digest::render(&r, &input, &model).unwrap());
        let lines: Vec<String> =
            [42, 43].iter().map(|n| psi_radar::mail::notify::copy_line(CallRef(*n), psi_radar::domain::Intent::Yes, None, lang)).collect();
        rendered.push(psi_radar::mail::notify::ask_back(&r, lang, "PSI Örebro län", "ja", &[card(42), card(43)], &lines, 14).unwrap());
        for m in rendered {
            out.push((m.subject.clone(), m.text));
            out.push((m.subject, m.html));
        }
    }
    out
}

/// A reply whose client quoted our mail without `>` markers or a header
/// block: our own words (titles, example lines «PSI-0042: ja, partner»,
/// AU's «PSI-0042: ej aktuell») are never read as answers or commands.
#[test]
fn our_own_mail_quoted_without_markers_is_never_an_answer() {
    for (subject, body) in our_mails() {
        let html = body.trim_start().starts_with('<');
        let (ctype, reply) =
            if html { ("text/html", format!("<p>Nej tack</p>{body}")) } else { ("text/plain", format!("Nej tack\n\n{body}")) };
        let raw = format!(
            "From: anna@activa.example.org\r\nSubject: SV: {subject}\r\nMessage-ID: <q@x>\r\nIn-Reply-To: <psi-radar.notify.PSI-0042.1@psi.example.org>\r\nContent-Type: {ctype}; charset=utf-8\r\n\r\n{reply}"
        );
        let r = reply::parse(raw.as_bytes());
        assert_eq!(r.answers.len(), 1, "{subject} ({ctype}): {:?}\n{}", r.answers, r.new_text);
        assert_eq!(r.answers[0].intent, psi_radar::domain::Intent::No, "{subject} ({ctype})");
        assert!(r.actions.is_empty(), "{subject} ({ctype}): {:?}", r.actions);
        assert!(!r.new_text.contains("PSI-00"), "{subject} ({ctype}): kept {:?}", r.new_text);
    }
}
