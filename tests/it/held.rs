//! Resolving what is held (issue 17, item 5): `mail held` shows sender,
//! subject, first lines and why; `mail assign` gives a message to a member
//! (and a call, with the answer AU reads in it); `mail discard` drops it;
//! `members add-contact` makes the sender a contact and reads what was held
//! from it again; the digest shows each held message's first line.
//! Fixtures: `fixtures/mail/held/`.

use crate::helpers::{self, fixture};
use chrono::{DateTime, Duration, Utc};
use psi_radar::cli::BadInput;
use psi_radar::domain::{CallRef, Intent, Role};
use psi_radar::jobs::Ctx;
use psi_radar::mail::inbound::{Status, ingest};

struct World {
    ctx: Ctx,
    _tmp: tempfile::TempDir,
    now: DateTime<Utc>,
    call: CallRef,
}

async fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    let m = psi_radar::sources::manual::ManualCall {
        title: "Social innovation i Örebro län".into(),
        url: "https://example.org/utlysningar/social-innovation".into(),
        deadline: Some("2027-03-15".into()),
        ..Default::default()
    };
    let call = psi_radar::jobs::ingest::add_manual(&ctx.store, &m, now).await.unwrap().reference;
    assert_eq!(call, CallRef(1), "the fixtures name PSI-0001");
    World { ctx, _tmp: tmp, now, call }
}

fn eml(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("mail/held/{name}"))).unwrap()
}

async fn held_text(ctx: &Ctx) -> String {
    let mut out = Vec::new();
    psi_radar::cli::mail::run_held(ctx, &mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

async fn kinds(ctx: &Ctx, kind: &str) -> Vec<psi_radar::store::outbox::OutboxRow> {
    ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.kind == kind).collect()
}

#[tokio::test]
async fn held_lists_sender_subject_first_lines_and_why_and_the_digest_the_first_line() {
    let w = world().await;
    let o = ingest(&w.ctx, &eml("unknown_sender_yes.eml"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Held);
    let q = ingest(&w.ctx, &eml("question_to_au.eml"), None, w.now + Duration::minutes(5)).await.unwrap();
    assert_eq!(q.status, Status::Unreadable, "a question is no answer: {q:?}");

    let text = held_text(&w.ctx).await;
    let unknown = text.find(&format!("#{} ", o.reply_id)).expect("listed");
    let question = text.find(&format!("#{} ", q.reply_id)).expect("listed");
    assert!(question < unknown, "newest first: {text}");
    assert!(
        text.contains("malin.sjoberg@activa-privat.example.net: SV: [PSI-0001] Ny utlysning: Social innovation i Örebro län"),
        "{text}"
    );
    assert!(text.contains("Varför: okänd avsändare"), "{text}");
    assert!(text.contains("    | JA partner\n    | Vi har en handledare som kan ta det här.\n"), "the first lines, no signature: {text}");
    assert!(!text.contains("Mvh Malin"), "{text}");
    assert!(text.contains("anna.lindqvist@activa.example.org: Fråga om stormötet"), "{text}");
    assert!(text.contains("    | Hej, när är nästa stormöte?"), "{text}");

    let digest = psi_radar::jobs::digest::run_digest(&w.ctx, None, w.now + Duration::hours(1), true).await.unwrap();
    assert!(digest.rendered.text.contains("okänd avsändare – «JA partner»"), "{}", digest.rendered.text);
    assert!(digest.rendered.text.contains("«Hej, när är nästa stormöte?»"), "{}", digest.rendered.text);
    assert!(digest.rendered.html.contains("«Hej, när är nästa stormöte?»"), "the HTML part too");
}

#[tokio::test]
async fn adding_the_sender_as_a_contact_reads_what_was_held_again() {
    let w = world().await;
    let o = ingest(&w.ctx, &eml("unknown_sender_yes.eml"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Held);
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty());

    let mut out = Vec::new();
    psi_radar::cli::members::add_contact(
        &w.ctx,
        "activa",
        "Malin.Sjoberg@activa-privat.example.net",
        Some("Malin Sjöberg"),
        w.now + Duration::hours(1),
        &mut out,
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("malin.sjoberg@activa-privat.example.net är nu kontakt hos activa."), "{text}");
    assert!(text.contains("1 hållna meddelanden från adressen lästes om:"), "{text}");
    assert!(text.contains("PSI-0001 — ja, som partner"), "{text}");

    let got = w.ctx.store.interests_for_call(w.call).await.unwrap();
    assert_eq!((got.len(), got[0].member.as_str(), got[0].intent, got[0].role), (1, "activa", Intent::Yes, Some(Role::Partner)));
    let row = w.ctx.store.reply(o.reply_id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.member_id.as_deref()), ("accepted", Some("activa")));
    assert!(row.contact_id.is_some(), "tied to the new contact");
    assert_eq!(kinds(&w.ctx, "confirm").await.len(), 1, "the sender hears it landed");
    assert!(held_text(&w.ctx).await.starts_with("Inga meddelanden väntar på AU."));

    // Adding again changes nothing.
    let mut out = Vec::new();
    psi_radar::cli::members::add_contact(&w.ctx, "activa", "malin.sjoberg@activa-privat.example.net", None, w.now, &mut out).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "malin.sjoberg@activa-privat.example.net var redan kontakt hos activa.\n");
    let err = psi_radar::cli::members::add_contact(&w.ctx, "finns-inte", "x@example.org", None, w.now, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some());
}

#[tokio::test]
async fn assign_records_the_answer_au_reads_for_the_member_and_confirms_it() {
    let w = world().await;
    let q = ingest(&w.ctx, &eml("question_to_au.eml"), None, w.now).await.unwrap();
    let assign = |call: Option<&'static str>, answer: Option<&'static str>| {
        let ctx = &w.ctx;
        let now = w.now;
        async move {
            let mut out = Vec::new();
            psi_radar::cli::mail::run_assign(ctx, q.reply_id, "activa", call, answer, now, &mut out)
                .await
                .map(|_| String::from_utf8(out).unwrap())
        }
    };
    // The message names no call and holds no answer: AU must say which.
    let err = assign(None, None).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().unwrap().0.contains("ange --call"), "{err}");
    let err = assign(Some("PSI-0001"), None).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().unwrap().0.contains("inget svar på PSI-0001"), "{err}");
    let err = assign(Some("PSI-0099"), Some("ja")).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().unwrap().0.contains("okänd utlysning PSI-0099"), "{err}");
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty(), "nothing recorded by a refused assign");

    let text = assign(Some("PSI-0001"), Some("ja, partner")).await.unwrap();
    assert!(text.starts_with("Registrerat för activa:\n  PSI-0001 — ja, som partner\n"), "{text}");
    let got = w.ctx.store.interests_for_call(w.call).await.unwrap();
    assert_eq!((got.len(), got[0].member.as_str(), got[0].intent, got[0].role), (1, "activa", Intent::Yes, Some(Role::Partner)));
    assert_eq!(got[0].reply_id, Some(q.reply_id));
    assert!(got[0].contact_id.is_some(), "the sender is a contact of activa");
    let row = w.ctx.store.reply(q.reply_id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.member_id.as_deref()), ("assigned", Some("activa")));
    let confirm = kinds(&w.ctx, "confirm").await;
    assert_eq!(confirm.len(), 1);
    assert_eq!(confirm[0].recipient, "anna.lindqvist@activa.example.org");
    assert!(held_text(&w.ctx).await.starts_with("Inga meddelanden väntar på AU."), "resolved");

    // Resolved once: assigning or discarding it again is refused.
    let err = assign(Some("PSI-0001"), Some("nej")).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().unwrap().0.contains("väntar inte på AU (status assigned)"), "{err}");
}

#[tokio::test]
async fn assign_takes_the_messages_own_answer_and_discard_drops_a_message() {
    let w = world().await;
    let o = ingest(&w.ctx, &eml("unknown_sender_yes.eml"), None, w.now).await.unwrap();
    let mut out = Vec::new();
    psi_radar::cli::mail::run_assign(&w.ctx, o.reply_id, "mockeln", None, None, w.now, &mut out).await.unwrap();
    let got = w.ctx.store.interests_for_call(w.call).await.unwrap();
    assert_eq!((got[0].member.as_str(), got[0].intent, got[0].contact_id), ("mockeln", Intent::Yes, None), "not a contact of mockeln");
    assert_eq!(got[0].comment, "Vi har en handledare som kan ta det här.");
    assert_eq!(kinds(&w.ctx, "confirm").await[0].recipient, "malin.sjoberg@activa-privat.example.net");

    let q = ingest(&w.ctx, &eml("question_to_au.eml"), None, w.now).await.unwrap();
    let mut out = Vec::new();
    psi_radar::cli::mail::run_discard(&w.ctx, q.reply_id, w.now, &mut out).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), format!("Meddelande nr {} är kastat.\n", q.reply_id));
    assert_eq!(w.ctx.store.reply(q.reply_id).await.unwrap().unwrap().status, "discarded");
    assert!(held_text(&w.ctx).await.starts_with("Inga meddelanden väntar på AU."));
    let err = psi_radar::cli::mail::run_discard(&w.ctx, 9999, w.now, &mut Vec::new()).await.unwrap_err();
    assert_eq!(err.downcast_ref::<BadInput>().unwrap().0, "det finns inget meddelande nr 9999");
}
