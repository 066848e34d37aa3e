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
