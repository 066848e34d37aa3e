//! Ask back instead of holding (issue 17, item 1): a bare "JA partner" or
//! "Nej tack" to a notification about several calls waits while its sender
//! is asked, in the same `mail ingest`, which call it meant; the member's
//! next message naming the call settles it; it expires after
//! `[mail] ask_back_days`. A notification about one call needs no asking.

use crate::helpers;
use chrono::{DateTime, Duration, Utc};
use psi_radar::domain::{CallRef, Intent, MemberId, Role};
use psi_radar::jobs::Ctx;
use psi_radar::jobs::notify::run_notify;
use psi_radar::mail::inbound::{Status, ingest};
use psi_radar::store::outbox::OutboxRow;

const INCLUSION: &str = "Utlysningen stödjer insatser för arbetsintegration och inkludering på arbetsmarknaden för personer som står långt från arbetsmarknaden. Idéburna organisationer och kommuner kan söka tillsammans.";

/// A world where one member contact got one notification about two calls.
struct World {
    ctx: Ctx,
    _tmp: tempfile::TempDir,
    now: DateTime<Utc>,
    calls: Vec<CallRef>,
    /// The bundled notification: recipient, subject, Message-ID.
    note: OutboxRow,
}

async fn world(cfg_edit: impl FnOnce(&mut psi_radar::config::Config)) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = helpers::config(0, tmp.path());
    cfg_edit(&mut cfg);
    let ctx = helpers::ctx_with(cfg).await;
    // Whole seconds: the store keeps instants to the second.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 0);
    let a = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2027-03-10", now).await;
    let b = helpers::add_call(&ctx, "Sociala företag och arbetsintegration", INCLUSION, "2027-03-20", now).await;
    run_notify(&ctx, now, false).await.unwrap();
    let note = ctx
        .store
        .outbox_list(false)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "notify" && r.subject.contains(&a.to_string()) && r.subject.contains(&b.to_string()))
        .expect("a notification about both calls");
    World { ctx, _tmp: tmp, now, calls: vec![a, b], note }
}

/// A reply from the notification's recipient to it (or to `in_reply_to`).
fn reply_to(w: &World, id: &str, in_reply_to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {to}\r\nTo: svar@psi.example.org\r\nSubject: SV: {subject}\r\nMessage-ID: <{id}@member.example.org>\r\nIn-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nDen 3 mars 2026 kl 10:12 skrev PSI-radar <radar@psi.example.org>:\r\n> Så svarar du\r\n",
        to = w.note.recipient,
    )
    .into_bytes()
}

fn bare(w: &World, id: &str, body: &str) -> Vec<u8> {
    reply_to(w, id, &w.note.message_id, &w.note.subject, body)
}

async fn outbox(ctx: &Ctx, kind: &str) -> Vec<OutboxRow> {
    ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.kind == kind).collect()
}

async fn member_of(w: &World) -> MemberId {
    w.ctx.store.contact_by_email(&w.note.recipient).await.unwrap().unwrap().member
}

#[tokio::test]
async fn a_bare_answer_to_several_calls_waits_and_its_sender_is_asked_at_once() {
    let w = world(|_| {}).await;
    let o = ingest(&w.ctx, &bare(&w, "bare-1", "JA partner"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Waiting, "{o:?}");
    assert!(o.recorded.is_empty() && o.confirmation.is_none(), "nothing recorded yet: {o:?}");

    // Asked back in the same run: the calls of the mail it answered, a line to copy each.
    let asks = outbox(&w.ctx, "ask").await;
    assert_eq!(asks.len(), 1);
    assert_eq!(Some(asks[0].id), o.ask);
    assert_eq!(asks[0].recipient, w.note.recipient);
    assert!(asks[0].subject.contains("Vilken utlysning gäller ditt svar?"), "{}", asks[0].subject);
    let body = String::from_utf8_lossy(&asks[0].body).to_string();
    for c in &w.calls {
        assert!(body.contains(&format!("{c}: ja, partner")), "a line to copy for {c}: {body}");
        assert!(asks[0].subject.contains(&c.to_string()));
    }
    assert!(body.contains("In-Reply-To: <bare-1@member.example.org>"), "{body}");

    // Nothing recorded, but AU sees it waiting.
    for c in &w.calls {
        assert!(w.ctx.store.interests_for_call(*c).await.unwrap().is_empty());
    }
    let (held, total) = w.ctx.store.held_replies_since(w.now - Duration::days(7), 20).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(held[0].status, "waiting");
    assert!(held[0].reason.as_deref().unwrap_or("").contains("väntar"), "{:?}", held[0].reason);
    let digest = psi_radar::jobs::digest::run_digest(&w.ctx, None, w.now, true).await.unwrap();
    assert!(digest.rendered.text.contains("medlemmen har fått frågan vilken av"), "AU's digest lists it: {}", digest.rendered.text);
    let waiting = w.ctx.store.list_waiting().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!((waiting[0].intent, waiting[0].role), (Intent::Yes, Some(Role::Partner)));
    let mut asked = waiting[0].calls.clone();
    asked.sort();
    assert_eq!(asked, w.calls, "the calls of the mail it answered");
    assert_eq!(waiting[0].expires_at, w.now + Duration::days(14), "[mail] ask_back_days defaults to 14");

    // The same message again: recorded once, asked once.
    assert_eq!(ingest(&w.ctx, &bare(&w, "bare-1", "JA partner"), None, w.now).await.unwrap().status, Status::Duplicate);
    assert_eq!(outbox(&w.ctx, "ask").await.len(), 1);

    // The member names the call (replying to the ask-back): the waiting answer applies to it.
    let named = reply_to(&w, "named-1", &asks[0].message_id, &asks[0].subject, &w.calls[1].to_string());
    let o = ingest(&w.ctx, &named, None, w.now + Duration::hours(3)).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert_eq!(o.recorded, vec![format!("{} — ja, som partner", w.calls[1])]);
    let got = w.ctx.store.interests_for_call(w.calls[1]).await.unwrap();
    assert_eq!((got.len(), got[0].intent, got[0].role), (1, Intent::Yes, Some(Role::Partner)));
    assert_eq!(got[0].member, member_of(&w).await);
    assert!(w.ctx.store.interests_for_call(w.calls[0]).await.unwrap().is_empty(), "only the call named");
    let (at, applied) = w.ctx.store.waiting_resolution(waiting[0].id).await.unwrap().expect("settled");
    assert_eq!((at, applied), (w.now + Duration::hours(3), vec![w.calls[1]]));
    let (_, total) = w.ctx.store.held_replies_since(w.now - Duration::days(7), 20).await.unwrap();
    assert_eq!(total, 0, "no longer waiting");
    assert_eq!(outbox(&w.ctx, "confirm").await.len(), 1, "the answer is confirmed once it lands");
}

#[tokio::test]
async fn an_explicit_answer_settles_the_waiting_one_and_keeps_its_comment() {
    let w = world(|_| {}).await;
    let o = ingest(&w.ctx, &bare(&w, "bare-2", "Nej tack – vi har inte folk i vår"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Waiting, "{o:?}");
    let body = String::from_utf8_lossy(&outbox(&w.ctx, "ask").await[0].body).to_string();
    assert!(body.contains(&format!("{}: nej", w.calls[0])), "{body}");
    let waiting = w.ctx.store.list_waiting().await.unwrap();

    let line = format!("{}: nej", w.calls[0]);
    let o = ingest(&w.ctx, &reply_to(&w, "explicit-2", &w.note.message_id, &w.note.subject, &line), None, w.now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    let got = w.ctx.store.interests_for_call(w.calls[0]).await.unwrap();
    assert_eq!((got[0].intent, got[0].comment.as_str()), (Intent::No, "vi har inte folk i vår"), "the copied line keeps the comment");
    assert!(w.ctx.store.waiting_resolution(waiting[0].id).await.unwrap().is_some());
    assert!(w.ctx.store.waiting_for_contact(waiting[0].contact_id.unwrap(), w.now + Duration::days(2)).await.unwrap().is_none());
}

#[tokio::test]
async fn a_waiting_answer_expires_after_ask_back_days() {
    let w = world(|cfg| cfg.mail.ask_back_days = 3).await;
    let t0 = w.now - Duration::days(4);
    let o = ingest(&w.ctx, &bare(&w, "bare-3", "Ja, som referensgrupp"), None, t0).await.unwrap();
    assert_eq!(o.status, Status::Waiting, "{o:?}");
    let waiting = w.ctx.store.list_waiting().await.unwrap();
    assert_eq!(waiting[0].expires_at, t0 + Duration::days(3));
    let contact = waiting[0].contact_id.unwrap();
    assert!(w.ctx.store.waiting_for_contact(contact, t0 + Duration::days(2)).await.unwrap().is_some());
    assert!(w.ctx.store.waiting_for_contact(contact, w.now).await.unwrap().is_none(), "expired");
    let (_, total) = w.ctx.store.held_replies_since(t0 - Duration::days(1), 20).await.unwrap();
    assert_eq!(total, 0, "an expired answer is no longer shown as waiting");
    // Naming the call now is too late: nothing to apply.
    let named = reply_to(&w, "late-3", &w.note.message_id, &w.note.subject, &w.calls[0].to_string());
    assert_eq!(ingest(&w.ctx, &named, None, w.now).await.unwrap().status, Status::Unreadable);
    assert!(w.ctx.store.interests_for_call(w.calls[0]).await.unwrap().is_empty());
}

/// A notification of our own about `refs` to `to`, queued in the outbox: its Message-ID.
async fn notification(w: &World, to: &str, refs: &[CallRef]) -> String {
    let mut n = helpers::outgoing(to, "notify", &format!("own-{}", refs.len()));
    n.refs = refs.to_vec();
    n.subject = format!("[{}] Ny utlysning", refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "));
    let m = psi_radar::mail::message::compose(&w.ctx.config.mail, &n, w.now).unwrap();
    w.ctx.store.enqueue(&m, w.now).await.unwrap();
    m.message_id
}

#[tokio::test]
async fn a_notification_about_one_call_needs_no_asking() {
    let w = world(|_| {}).await;
    let id = notification(&w, &w.note.recipient, &[w.calls[0]]).await;
    let o = ingest(&w.ctx, &reply_to(&w, "single-4", &id, "Re: Ny utlysning", "Nej tack"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert_eq!(o.recorded, vec![format!("{} — nej", w.calls[0])]);
    assert!(outbox(&w.ctx, "ask").await.is_empty(), "no asking");
    assert!(w.ctx.store.list_waiting().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_contact_who_said_stopp_is_not_asked_but_the_answer_still_waits() {
    let w = world(|_| {}).await;
    let contact = w.ctx.store.contact_by_email(&w.note.recipient).await.unwrap().unwrap();
    w.ctx.store.set_unsubscribed(contact.id, w.now - Duration::days(1)).await.unwrap();
    let o = ingest(&w.ctx, &bare(&w, "bare-5", "Kanske"), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Waiting, "{o:?}");
    assert!(o.ask.is_none());
    assert!(outbox(&w.ctx, "ask").await.is_empty(), "no ask-back after STOPP");
    let (held, _) = w.ctx.store.held_replies_since(w.now - Duration::days(7), 20).await.unwrap();
    assert_eq!(held[0].status, "waiting", "AU still sees it");
}

/// Swedish by default; a member whose members-file languages are English only is asked in English.
#[tokio::test]
async fn an_english_member_is_asked_in_english() {
    let w = world(|_| {}).await;
    let aino = "aino.virtanen@nsen.example.org";
    let id = notification(&w, aino, &w.calls).await;
    let raw = format!(
        "From: Aino Virtanen <{aino}>\r\nSubject: Re: New calls\r\nMessage-ID: <aino-6@nsen.example.org>\r\nIn-Reply-To: {id}\r\n\r\nYes, as a partner\r\n"
    );
    let o = ingest(&w.ctx, raw.as_bytes(), None, w.now).await.unwrap();
    assert_eq!(o.status, Status::Waiting, "{o:?}");
    let ask = outbox(&w.ctx, "ask").await.into_iter().find(|r| r.recipient == aino).expect("asked");
    assert!(ask.subject.ends_with("Which call is your answer about?"), "{}", ask.subject);
    let body = String::from_utf8_lossy(&ask.body).to_string();
    assert!(body.contains(&format!("{}: yes, partner", w.calls[0])), "{body}");
    // The Swedish ask-back went to a Swedish member in the other tests; here the words are English.
    assert!(!body.contains("Rader att kopiera"), "{body}");
}

/// `outbox --json` (issue 17, item 7): one object per message with exactly
/// id, kind, to, subject, message_id, refs, status and attempts, so a
/// script sees the notification, the ask-back and the confirmation queued.
#[tokio::test]
async fn outbox_json_lists_what_was_queued_in_the_documented_shape() {
    let w = world(|_| {}).await;
    ingest(&w.ctx, &bare(&w, "bare-json", "JA partner"), None, w.now).await.unwrap();
    let line = format!("{}: ja, partner", w.calls[0]);
    ingest(&w.ctx, &reply_to(&w, "answer-json", &w.note.message_id, &w.note.subject, &line), None, w.now).await.unwrap();
    let v = outbox_json(&w.ctx).await;
    let rows = v.as_array().expect("an array");
    let keys = ["attempts", "id", "kind", "message_id", "refs", "status", "subject", "to"];
    for r in rows {
        let mut got: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        got.sort();
        assert_eq!(got, keys, "{r}");
        assert!(r["id"].is_u64() && r["attempts"] == 0 && r["status"] == "pending", "{r}");
        let id = r["message_id"].as_str().unwrap();
        assert!(id.starts_with('<') && id.ends_with('>'), "{id}");
        assert!(!r["to"].as_str().unwrap().contains(['<', ',']), "one address: {r}");
    }
    let of_kind = |k: &str| rows.iter().filter(|r| r["kind"] == k).collect::<Vec<_>>();
    // Sorted: a notification lists its calls best match first.
    let refs = |r: &serde_json::Value| {
        let mut v = r["refs"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect::<Vec<_>>();
        v.sort();
        v
    };
    let both: Vec<String> = w.calls.iter().map(|c| c.to_string()).collect();
    let note = of_kind("notify").into_iter().find(|r| r["message_id"] == w.note.message_id.as_str()).expect("the notification");
    assert_eq!((refs(note), note["to"].as_str().unwrap()), (both.clone(), w.note.recipient.as_str()));
    let ask = of_kind("ask");
    assert_eq!(ask.len(), 1);
    assert_eq!(refs(ask[0]), both, "asked about both calls");
    let confirm = of_kind("confirm");
    assert_eq!(confirm.len(), 1);
    assert_eq!(refs(confirm[0]), vec![w.calls[0].to_string()]);

    // Once sent, a script sees it.
    psi_radar::mail::outbox::send_pending(&w.ctx.store, &w.ctx.mailer, w.now, 3).await.unwrap();
    let v = outbox_json(&w.ctx).await;
    assert!(v.as_array().unwrap().iter().all(|r| r["status"] == "sent" && r["attempts"] == 1), "{v}");
}

async fn outbox_json(ctx: &Ctx) -> serde_json::Value {
    let mut out = Vec::new();
    psi_radar::cli::core::outbox(ctx, false, true, &mut out).await.unwrap();
    serde_json::from_slice(&out).unwrap()
}
