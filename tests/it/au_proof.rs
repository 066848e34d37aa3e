//! AU by role and by proof (issue 17, item 4): `[mail] au_members` are AU's
//! personal addresses; dismiss/watch count only when the partnership's own
//! server (`[mail.auth] authserv_id`) says DMARC or DKIM passed for the
//! sender's domain, or the reply came to the member's token address; a
//! forged `From: au@…` hides nothing; `[mail.auth] members = true` asks the
//! same of members' answers; a message with several From is held.
//! Fixtures: `fixtures/mail/au/`.

use crate::helpers::{self, fixture};
use chrono::Utc;
use psi_radar::config::{Config, MailAuth};
use psi_radar::domain::{CallRef, Email};
use psi_radar::jobs::Ctx;
use psi_radar::mail::inbound::{Status, ingest};

struct World {
    ctx: Ctx,
    _tmp: tempfile::TempDir,
    call: CallRef,
}

async fn world(edit: impl FnOnce(&mut Config)) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = helpers::config(0, tmp.path());
    cfg.mail.au_members = vec![Email::parse("ulla.ek@kommun.example.se").unwrap()];
    edit(&mut cfg);
    let ctx = helpers::ctx_with(cfg).await;
    let m = psi_radar::sources::manual::ManualCall {
        title: "Social innovation i Örebro län".into(),
        url: "https://example.org/utlysningar/social-innovation".into(),
        deadline: Some("2027-03-15".into()),
        ..Default::default()
    };
    let call = psi_radar::jobs::ingest::add_manual(&ctx.store, &m, Utc::now()).await.unwrap().reference;
    assert_eq!(call, CallRef(1), "the fixtures name PSI-0001");
    World { ctx, _tmp: tmp, call }
}

fn with_auth(cfg: &mut Config) {
    cfg.mail.auth = Some(MailAuth { authserv_id: "mx.psi.example.org".into(), members: false });
}

fn eml(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("mail/au/{name}"))).unwrap()
}

async fn dismissed(w: &World) -> bool {
    w.ctx.store.get_call(w.call).await.unwrap().unwrap().dismissed
}

#[tokio::test]
async fn a_forged_au_sender_hides_nothing() {
    let w = world(with_auth).await;
    for name in ["forged_au_list.eml", "forged_foreign_header.eml", "forged_below_ours.eml"] {
        let o = ingest(&w.ctx, &eml(name), None, Utc::now()).await.unwrap();
        assert_eq!(o.status, Status::Held, "{name}: {o:?}");
        assert!(o.reason.as_deref().unwrap_or("").starts_with("AU-kommandot kunde inte styrkas"), "{name}: {o:?}");
        assert!(!dismissed(&w).await, "{name} hid the call");
    }
    let notes: Vec<String> = psi_radar::mail::held::list((&w.ctx).into()).await.unwrap().into_iter().map(|h| h.why).collect();
    assert_eq!(notes.len(), 3, "AU sees all three");
}

#[tokio::test]
async fn a_forged_au_sender_hides_nothing_with_reply_tokens_either() {
    let w = world(|c| c.mail.reply_token = true).await;
    let o = ingest(&w.ctx, &eml("forged_au_list.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    assert!(!dismissed(&w).await);
}

#[tokio::test]
async fn an_au_member_proven_by_our_server_dismisses_and_watches() {
    let w = world(with_auth).await;
    let o = ingest(&w.ctx, &eml("au_member_dmarc_pass.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(dismissed(&w).await);
    let confirm: Vec<_> = w.ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.kind == "confirm").collect();
    assert_eq!(confirm[0].recipient, "ulla.ek@kommun.example.se");

    let o = ingest(&w.ctx, &eml("au_member_dkim_pass.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "DKIM for a parent domain: {o:?}");
    assert!(w.ctx.store.get_call(w.call).await.unwrap().unwrap().watched);
}

#[tokio::test]
async fn an_au_members_personal_address_always_needs_proof() {
    // No [mail.auth]: the personal address alone proves nothing.
    let w = world(|_| {}).await;
    let o = ingest(&w.ctx, &eml("au_member_unproven.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    assert!(!dismissed(&w).await);
    // AU's list address, with neither [mail.auth] nor reply tokens set, is read as before.
    let o = ingest(&w.ctx, &std::fs::read(fixture("mail/ingest/au_dismiss.eml")).unwrap(), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
}

#[tokio::test]
async fn an_au_member_is_proven_by_the_token_address_given_to_it() {
    let w = world(|c| c.mail.reply_token = true).await;
    // The digest to an AU member carries its own reply address.
    let addr = psi_radar::mail::inbound::reply_address_for(&w.ctx, "Ulla.Ek@kommun.example.se").await.unwrap().expect("a token address");
    assert!(addr.as_str().starts_with("svar+") && addr.as_str().ends_with("@psi.example.org"), "{addr}");
    assert_eq!(
        psi_radar::mail::inbound::reply_address_for(&w.ctx, "ulla.ek@kommun.example.se").await.unwrap(),
        Some(addr.clone()),
        "stable"
    );
    let raw =
        String::from_utf8(eml("au_member_unproven.eml")).unwrap().replace("To: PSI-radar <svar@psi.example.org>", &format!("To: {addr}"));
    let o = ingest(&w.ctx, raw.as_bytes(), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(dismissed(&w).await);
    // Another AU member's token does not prove Ulla.
    let w = world(|c| {
        c.mail.reply_token = true;
        c.mail.au_members.push(Email::parse("bo@kommun.example.se").unwrap());
    })
    .await;
    let bo = psi_radar::mail::inbound::reply_address_for(&w.ctx, "bo@kommun.example.se").await.unwrap().unwrap();
    let raw =
        String::from_utf8(eml("au_member_unproven.eml")).unwrap().replace("To: PSI-radar <svar@psi.example.org>", &format!("To: {bo}"));
    assert_eq!(ingest(&w.ctx, raw.as_bytes(), None, Utc::now()).await.unwrap().status, Status::Held);
    assert!(!dismissed(&w).await);
}

#[tokio::test]
async fn several_from_addresses_or_headers_are_held() {
    let w = world(|_| {}).await;
    for name in ["two_from_headers.eml", "two_from_addresses.eml"] {
        let o = ingest(&w.ctx, &eml(name), None, Utc::now()).await.unwrap();
        assert_eq!(o.status, Status::Held, "{name}: {o:?}");
        assert!(o.reason.as_deref().unwrap_or("").contains("mer än en avsändare"), "{name}: {o:?}");
    }
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty(), "no answer recorded");
    assert!(!dismissed(&w).await);
}

#[tokio::test]
async fn with_members_true_an_answer_needs_the_same_proof() {
    let w = world(|c| c.mail.auth = Some(MailAuth { authserv_id: "mx.psi.example.org".into(), members: true })).await;
    let o = ingest(&w.ctx, &eml("member_unproven.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    assert!(o.reason.as_deref().unwrap_or("").starts_with("svaret kunde inte styrkas"), "{o:?}");
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty());
    let o = ingest(&w.ctx, &eml("member_dmarc_pass.eml"), None, Utc::now()).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert_eq!(w.ctx.store.interests_for_call(w.call).await.unwrap().len(), 1);
    // Without members = true, the unproven answer is read as before.
    let w = world(with_auth).await;
    assert_eq!(ingest(&w.ctx, &eml("member_unproven.eml"), None, Utc::now()).await.unwrap().status, Status::Accepted);
}
