//! Contacts and the organisation (issue 17, item 3): each contact's answer
//! is kept and the member's position is the latest; two contacts of one
//! member who contradict each other while the call is open are both told
//! and AU sees it in the digest; one person may be a contact of two
//! members, a reply is tied to one through the mail it answers, and held
//! with the sender asked when nothing tells.

use crate::helpers;
use chrono::{DateTime, Duration, Utc};
use psi_radar::domain::{CallRef, Intent, MemberId, Role};
use psi_radar::jobs::Ctx;
use psi_radar::jobs::notify::run_notify;
use psi_radar::mail::inbound::{Status, ingest};
use psi_radar::store::outbox::OutboxRow;

const INCLUSION: &str = "Utlysningen stödjer insatser för arbetsintegration och inkludering på arbetsmarknaden för personer som står långt från arbetsmarknaden. Idéburna organisationer och kommuner kan söka tillsammans.";

async fn world() -> (Ctx, tempfile::TempDir, DateTime<Utc>, CallRef) {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    let call = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2027-03-10", now).await;
    (ctx, tmp, now, call)
}

fn mail(from: &str, id: &str, subject: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
    let irt = in_reply_to.map(|m| format!("In-Reply-To: {m}\r\nReferences: {m}\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: svar@psi.example.org\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{irt}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn outbox(ctx: &Ctx, kind: &str) -> Vec<OutboxRow> {
    ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.kind == kind).collect()
}

/// The message with its quoted-printable parts decoded, so its lines can be searched.
fn body(r: &OutboxRow) -> String {
    let raw = String::from_utf8_lossy(&r.body).replace("=\r\n", "");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn each_contact_keeps_its_answer_the_latest_counts_and_a_contradiction_is_told() {
    let (ctx, _tmp, now, call) = world().await;
    let subject = format!("SV: [{call}] Ny utlysning");
    let anna = "anna.lindqvist@activa.example.org";
    let johan = "johan.berg@activa.example.org";
    let o = ingest(&ctx, &mail(anna, "c-anna@x", &subject, None, "Ja, projektägare – vi kan leda"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(outbox(&ctx, "conflict").await.is_empty(), "one answer contradicts nothing");
    let later = now + Duration::days(2);
    let o = ingest(&ctx, &mail(johan, "c-johan@x", &subject, None, &format!("{call}: nej")), None, later).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");

    // Both answers kept; the organisation's position is the latest.
    let all = ctx.store.contact_answers_for_call(call).await.unwrap();
    let activa: Vec<_> = all.iter().filter(|i| i.member.as_str() == "activa").collect();
    assert_eq!(activa.len(), 2, "{all:?}");
    assert_eq!((activa[0].intent, activa[0].role), (Intent::Yes, Some(Role::Lead)));
    assert_eq!(activa[1].intent, Intent::No);
    let position: Vec<_> =
        ctx.store.interests_for_call(call).await.unwrap().into_iter().filter(|i| i.member.as_str() == "activa").collect();
    assert_eq!((position.len(), position[0].intent, position[0].id), (1, Intent::No, activa[1].id));

    // Both contacts told, each mail with both answers.
    let told = outbox(&ctx, "conflict").await;
    let mut to: Vec<&str> = told.iter().map(|r| r.recipient.as_str()).collect();
    to.sort();
    assert_eq!(to, vec![anna, johan]);
    for r in &told {
        assert!(r.subject.contains(&format!("[{call}] Två olika svar från Stiftelsen Activa")), "{}", r.subject);
        let b = body(r);
        assert!(b.contains(&format!("Anna Lindqvist: {call} — ja, som projektägare")), "{b}");
        assert!(b.contains(&format!("Johan Berg: {call} — nej")), "{b}");
        assert!(b.contains("Stiftelsen Activas besked"), "{b}");
    }

    // AU sees who said what and the contradiction.
    let digest = psi_radar::jobs::digest::run_digest(&ctx, None, later + Duration::hours(1), true).await.unwrap();
    let text = digest.rendered.text;
    assert!(text.contains("Stiftelsen Activa (Johan Berg): nej"), "the answer names the person: {text}");
    assert!(text.contains("== Olika svar från samma medlem (det senaste gäller) =="), "{text}");
    assert!(
        text.contains(&format!(
            "- Stiftelsen Activa – {call} Arbetsintegrerande insatser i Örebro län: Anna Lindqvist: {call} — ja, som projektägare"
        )),
        "{text}"
    );

    // Anna agrees: no new contradiction, the position is her latest no.
    let o = ingest(&ctx, &mail(anna, "c-anna-2@x", &subject, None, "Nej, vi avstår"), None, later + Duration::days(1)).await.unwrap();
    assert_eq!(o.status, Status::Accepted);
    assert_eq!(outbox(&ctx, "conflict").await.len(), 2, "agreement is no contradiction");
    let all = ctx.store.contact_answers_for_call(call).await.unwrap();
    assert_eq!(all.iter().filter(|i| i.member.as_str() == "activa").count(), 2, "Anna's first answer superseded by her own");
}

#[tokio::test]
async fn a_contact_who_said_stopp_is_not_told_of_a_contradiction() {
    let (ctx, _tmp, now, call) = world().await;
    let subject = format!("SV: [{call}] Ny utlysning");
    let anna = "anna.lindqvist@activa.example.org";
    ingest(&ctx, &mail(anna, "s-1@x", &subject, None, "Ja partner"), None, now).await.unwrap();
    ingest(&ctx, &mail(anna, "s-2@x", "STOPP", None, "STOPP"), None, now).await.unwrap();
    ingest(&ctx, &mail("johan.berg@activa.example.org", "s-3@x", &subject, None, "Nej tack"), None, now + Duration::hours(1))
        .await
        .unwrap();
    let told = outbox(&ctx, "conflict").await;
    assert_eq!(told.iter().map(|r| r.recipient.as_str()).collect::<Vec<_>>(), vec!["johan.berg@activa.example.org"]);
}

#[tokio::test]
async fn a_person_of_two_members_is_tied_through_the_mail_it_answers_and_asked_when_nothing_tells() {
    let (ctx, _tmp, now, call) = world().await;
    let ali = "ali.hassan@abf.example.org";
    let activa = MemberId::parse("activa").unwrap();
    let contact = psi_radar::domain::Contact {
        name: "Ali Hassan".into(),
        email: psi_radar::domain::Email::parse(ali).unwrap(),
        role: String::new(),
        primary: false,
        unsubscribed: false,
    };
    ctx.store.add_contact(&activa, &contact).await.unwrap().expect("a second membership");
    // The notification names the member it was for (one per address and call: ABF's).
    run_notify(&ctx, now, false).await.unwrap();
    let notes: Vec<OutboxRow> = outbox(&ctx, "notify").await.into_iter().filter(|r| r.recipient == ali).collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(ctx.store.member_of_message(&notes[0].message_id).await.unwrap().map(|m| m.to_string()).as_deref(), Some("abf"));
    // A mail of ours about Activa to the same person, as a reminder or an ask-back would be.
    let mut o = helpers::outgoing(ali, "reminder", "activa-test");
    o.subject = format!("[{call}] Påminnelse");
    o.refs = vec![call];
    let about_activa = psi_radar::mail::message::compose(&ctx.config.mail, &o, now).unwrap();
    ctx.store.enqueue(&about_activa, now).await.unwrap();
    ctx.store.set_message_member(&about_activa.message_id, &activa).await.unwrap();
    let activa_note = ctx.store.outbox_list(false).await.unwrap().into_iter().find(|r| r.message_id == about_activa.message_id).unwrap();
    let notes = [notes[0].clone(), activa_note];

    // A reply to Activa's notification is Activa's answer, to ABF's is ABF's.
    for (n, id, member) in [(&notes[1], "two-1@abf", "activa"), (&notes[0], "two-2@abf", "abf")] {
        let o =
            ingest(&ctx, &mail(ali, id, &format!("SV: {}", n.subject), Some(&n.message_id), &format!("{call}: ja, partner")), None, now)
                .await
                .unwrap();
        assert_eq!(o.status, Status::Accepted, "{o:?}");
        let row = ctx.store.reply_by_message_id(&format!("<{id}>")).await.unwrap().unwrap();
        assert_eq!(row.member_id.as_deref(), Some(member));
    }
    let members: Vec<String> = ctx.store.interests_for_call(call).await.unwrap().into_iter().map(|i| i.member.to_string()).collect();
    assert!(members.contains(&"activa".to_string()) && members.contains(&"abf".to_string()), "{members:?}");

    // Nothing tells: held for AU, and Ali is asked which organisation.
    let o = ingest(&ctx, &mail(ali, "two-3@abf", &format!("[{call}]"), None, "Nej tack"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    let reason = o.reason.unwrap();
    assert!(reason.contains("kontakt för flera medlemmar (ABF Örebro län, Stiftelsen Activa)"), "{reason}");
    let asks = outbox(&ctx, "ask").await;
    assert_eq!(asks.len(), 1);
    assert_eq!((asks[0].id, asks[0].recipient.as_str()), (o.ask.unwrap(), ali));
    assert_eq!(asks[0].subject, "Vilken organisation gäller ditt svar?");
    let b = body(&asks[0]);
    assert!(b.contains("ABF Örebro län") && b.contains("Stiftelsen Activa"), "{b}");
    // AU resolves it by hand.
    let done = psi_radar::mail::held::assign((&ctx).into(), o.reply_id, &activa, None, None, now).await.unwrap();
    assert_eq!(done.lines, vec![format!("{call} — nej")]);
    let activa_now: Vec<_> = ctx.store.interests_for_call(call).await.unwrap().into_iter().filter(|i| i.member == activa).collect();
    assert_eq!(activa_now[0].intent, Intent::No);
}
