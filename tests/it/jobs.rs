//! The mail jobs end to end over the store: weekly digest, member
//! notifications, reminders — idempotent, bundled, respecting STOPP.

use crate::helpers;
use chrono::{DateTime, Duration, Utc};
use psi_radar::domain::{Intent, MemberId, Role};
use psi_radar::jobs::{digest::run_digest, notify::run_notify, notify::run_reminders, send::run_send};

const INCLUSION: &str = "Utlysningen stödjer insatser för arbetsintegration och inkludering på arbetsmarknaden för personer som står långt från arbetsmarknaden. Idéburna organisationer och kommuner kan söka tillsammans.";

fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn digest_twice_in_a_week_queues_nothing_new() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-10", now - Duration::days(2)).await;
    let first = run_digest(&ctx, None, now, false).await.unwrap();
    assert_eq!(first.queued, 2, "one per AU address");
    assert_eq!(first.new_calls, 1);
    assert!(
        first.rendered.subject.starts_with("PSI veckobrev vecka 48: 1 ny utlysning, 1 deadline inom 30 dagar"),
        "{}",
        first.rendered.subject
    );
    assert!(first.rendered.text.contains("Arbetsintegrerande insatser"), "{}", first.rendered.text);
    let again = run_digest(&ctx, None, now + Duration::hours(3), false).await.unwrap();
    assert_eq!(again.queued, 0);
    let sent = run_send(&ctx, now).await.unwrap();
    assert_eq!(sent.sent, 2);
    assert_eq!(run_send(&ctx, now).await.unwrap().sent, 0);

    // Next week the call is no longer new; a moved deadline makes it "changed".
    let next = now + Duration::days(7);
    let r = run_digest(&ctx, None, next, false).await.unwrap();
    assert_eq!((r.new_calls, r.changed_calls, r.queued), (0, 0, 2));
}

#[tokio::test]
async fn moved_deadline_shows_as_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let r = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-10", now - Duration::days(10)).await;
    run_digest(&ctx, None, now - Duration::days(7), false).await.unwrap();
    let mut c = ctx.store.get_call(r).await.unwrap().unwrap().call;
    c.deadlines =
        vec![psi_radar::domain::Deadline::end_of_day(chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(), chrono_tz::Europe::Stockholm)];
    ctx.store.update_call(r, &c, &c.url, "x", now - Duration::days(1)).await.unwrap();
    let d = run_digest(&ctx, None, now, true).await.unwrap();
    assert_eq!((d.new_calls, d.changed_calls), (0, 1));
    assert!(d.rendered.text.contains("[ÄNDRAD]") && d.rendered.text.contains("deadline flyttad"), "{}", d.rendered.text);
    assert_eq!(d.queued, 0, "dry run queues nothing");
}

#[tokio::test]
async fn a_dry_run_names_the_same_recipients_and_queues_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-10", now).await;
    let dry = run_notify(&ctx, now, true).await.unwrap();
    assert!(!dry.recipients.is_empty() && dry.members > 0 && dry.calls == 1, "{dry:?}");
    assert_eq!(dry.queued, 0);
    let digest = run_digest(&ctx, None, now, true).await.unwrap();
    assert_eq!(digest.recipients.len(), 2, "one digest per AU address: {:?}", digest.recipients);
    assert!(ctx.store.outbox_list(false).await.unwrap().is_empty(), "a dry run queues nothing");

    let real = run_notify(&ctx, now, false).await.unwrap();
    assert_eq!(real.recipients, dry.recipients, "the dry run named exactly who the real run mails");
    assert_eq!((real.queued, real.members, real.calls), (dry.recipients.len(), dry.members, dry.calls));
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert_eq!(rows.len(), real.queued);
    assert!(real.recipients.iter().all(|r| rows.iter().any(|o| o.recipient == r.email.as_str()) && r.calls == 1));
    assert!(real.recipients.iter().all(|r| r.name.is_some() && r.member.is_some()));

    // Already queued: a dry run now says nothing more would go out.
    assert!(run_notify(&ctx, now, true).await.unwrap().recipients.is_empty());
    run_digest(&ctx, None, now, false).await.unwrap();
    assert!(run_digest(&ctx, None, now, true).await.unwrap().recipients.is_empty());
}

#[tokio::test]
async fn notifications_bundle_once_per_day_and_respect_stopp_and_no() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let a = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-10", now).await;
    let b = helpers::add_call(&ctx, "Sociala företag och arbetsintegration", INCLUSION, "2026-12-20", now).await;
    let first = run_notify(&ctx, now, false).await.unwrap();
    assert!(first.queued > 0 && first.calls == 2, "{first:?}");
    let rows = ctx.store.outbox_list(false).await.unwrap();
    let per_recipient: std::collections::HashMap<_, usize> = rows.iter().fold(Default::default(), |mut m, r| {
        *m.entry(r.recipient.clone()).or_default() += 1;
        m
    });
    assert!(per_recipient.values().all(|n| *n == 1), "at most one notification per contact per day");
    let bundled = rows.iter().find(|r| r.subject.contains(&a.to_string()) && r.subject.contains(&b.to_string()));
    assert!(bundled.is_some(), "both calls in one mail: {:?}", rows.iter().map(|r| &r.subject).collect::<Vec<_>>());
    assert!(String::from_utf8_lossy(&bundled.unwrap().body).contains("List-Unsubscribe"));

    // The same day again: nothing new. The next day: nothing either (already told).
    assert_eq!(run_notify(&ctx, now + Duration::hours(2), false).await.unwrap().queued, 0);
    assert_eq!(run_notify(&ctx, now + Duration::days(1), false).await.unwrap().queued, 0);

    // A new call the next day: a contact who said STOPP gets nothing, a member who said no to it neither.
    let activa = ctx.store.member(&MemberId::parse("activa").unwrap()).await.unwrap().expect("activa in members.csv");
    let stopped = ctx.store.contact_by_email(activa.contacts[0].email.as_str()).await.unwrap().unwrap();
    ctx.store.set_unsubscribed(stopped.id, now).await.unwrap();
    let c = helpers::add_call(&ctx, "Nya vägar till arbete för unga", INCLUSION, "2027-01-20", now + Duration::days(1)).await;
    let verdandi = MemberId::parse("verdandi").unwrap();
    ctx.store.record_interest(c, &verdandi, None, Intent::No, None, "", None, now).await.unwrap();
    run_notify(&ctx, now + Duration::days(1), false).await.unwrap();
    let rows = ctx.store.outbox_list(false).await.unwrap();
    let about_c: Vec<_> = rows.iter().filter(|r| r.subject.contains(&c.to_string())).collect();
    assert!(!about_c.is_empty());
    assert!(about_c.iter().all(|r| r.recipient != stopped.contact.email.as_str()), "STOPP respected");
    let verdandi_mails: Vec<_> = ctx.store.member(&verdandi).await.unwrap().unwrap().contacts.iter().map(|c| c.email.to_string()).collect();
    assert!(about_c.iter().all(|r| !verdandi_mails.contains(&r.recipient)), "a member who said no is not asked");
}

#[tokio::test]
async fn reminders_fourteen_and_three_days_before_to_au_and_yes_members() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let c = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-07", now - Duration::days(20)).await;
    let quiet = helpers::add_call(&ctx, "Sociala företag och arbetsintegration", INCLUSION, "2026-12-07", now - Duration::days(20)).await;
    let activa = MemberId::parse("activa").unwrap();
    ctx.store.record_interest(c, &activa, None, Intent::Yes, Some(Role::Lead), "", None, now).await.unwrap();
    // 14 days before (7 Dec − 14 = 23 Nov).
    let r = run_reminders(&ctx, now).await.unwrap();
    let contacts = ctx.store.member(&activa).await.unwrap().unwrap().contacts.len();
    assert_eq!(r.queued, 2 + contacts, "AU (2) and Activa's contacts");
    assert_eq!(run_reminders(&ctx, now + Duration::days(1)).await.unwrap().queued, 0, "once per stage");
    // 3 days before.
    let r = run_reminders(&ctx, now + Duration::days(11)).await.unwrap();
    assert_eq!(r.queued, 2 + contacts);
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert!(rows.iter().all(|r| !r.subject.contains(&quiet.to_string())), "no reminders for calls nobody follows");
    assert!(rows.iter().any(|r| r.subject.contains("3 dagar kvar")));
}

#[tokio::test]
async fn reminders_skip_a_contact_who_said_stopp_until_start() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let c = helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-07", now - Duration::days(20)).await;
    let activa = MemberId::parse("activa").unwrap();
    ctx.store.record_interest(c, &activa, None, Intent::Yes, Some(Role::Partner), "", None, now).await.unwrap();
    let contacts = ctx.store.member(&activa).await.unwrap().unwrap().contacts;
    assert!(contacts.len() >= 2, "the test needs a contact who stays subscribed");
    let stopped = ctx.store.contact_by_email(contacts[0].email.as_str()).await.unwrap().unwrap();
    ctx.store.set_unsubscribed(stopped.id, now - Duration::days(1)).await.unwrap();

    let r = run_reminders(&ctx, now).await.unwrap();
    assert_eq!(r.queued, 2 + contacts.len() - 1, "AU (2) and Activa's contacts but the one who said STOPP");
    let to = |rows: &[psi_radar::store::outbox::OutboxRow], who: &str| rows.iter().filter(|r| r.recipient == who).count();
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert_eq!(to(&rows, stopped.contact.email.as_str()), 0, "no reminder after STOPP");
    assert_eq!(to(&rows, contacts[1].email.as_str()), 1);

    // START: the 3-day reminder reaches it again.
    assert!(ctx.store.set_resubscribed(stopped.id).await.unwrap());
    run_reminders(&ctx, now + Duration::days(11)).await.unwrap();
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert_eq!(to(&rows, stopped.contact.email.as_str()), 1, "reminded again after START");
}

#[tokio::test]
async fn notifications_resume_after_start() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let activa = ctx.store.member(&MemberId::parse("activa").unwrap()).await.unwrap().unwrap();
    let contact = ctx.store.contact_by_email(activa.contacts[0].email.as_str()).await.unwrap().unwrap();
    ctx.store.set_unsubscribed(contact.id, now - Duration::days(3)).await.unwrap();
    helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2026-12-10", now).await;
    run_notify(&ctx, now, false).await.unwrap();
    let told = |rows: Vec<psi_radar::store::outbox::OutboxRow>| {
        rows.iter().any(|r| r.kind == "notify" && r.recipient == contact.contact.email.as_str())
    };
    assert!(!told(ctx.store.outbox_list(false).await.unwrap()), "no notification after STOPP");
    assert!(ctx.store.set_resubscribed(contact.id).await.unwrap());
    assert!(!ctx.store.set_resubscribed(contact.id).await.unwrap(), "START twice changes nothing");
    run_notify(&ctx, now + Duration::days(1), false).await.unwrap();
    assert!(told(ctx.store.outbox_list(false).await.unwrap()), "notified again after START");
}

#[tokio::test]
async fn english_partnership_gets_english_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = helpers::config(0, tmp.path());
    cfg.partnership.lang = psi_radar::domain::Lang::En;
    let ctx = helpers::ctx_with(cfg).await;
    let now = monday();
    helpers::add_call(&ctx, "Work integration in Örebro county", INCLUSION, "2026-12-10", now).await;
    let d = run_digest(&ctx, None, now, true).await.unwrap();
    assert!(d.rendered.subject.starts_with("PSI weekly digest week 48: 1 new call"), "{}", d.rendered.subject);
    assert!(d.rendered.text.contains("Deadlines within 30 days"));
}

#[tokio::test]
async fn watched_calls_stay_on_top_and_dismissed_calls_disappear() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = helpers::ctx(tmp.path()).await;
    let now = monday();
    let watched =
        helpers::add_call(&ctx, "Arbetsintegrerande insatser i Örebro län", INCLUSION, "2027-02-10", now - Duration::days(10)).await;
    let dismissed =
        helpers::add_call(&ctx, "Sociala företag och arbetsintegration", INCLUSION, "2027-02-20", now - Duration::days(10)).await;
    run_digest(&ctx, None, now - Duration::days(7), false).await.unwrap();
    ctx.store.watch_call(watched, now - Duration::days(1)).await.unwrap();
    ctx.store.dismiss_call(dismissed, now - Duration::days(1)).await.unwrap();
    let fresh = helpers::add_call(&ctx, "Nya vägar till arbete för unga", INCLUSION, "2027-01-20", now - Duration::days(1)).await;
    let d = run_digest(&ctx, None, now, true).await.unwrap();
    let text = &d.rendered.text;
    let w = text.find(&watched.to_string()).expect("watched call listed although not new");
    let f = text.find(&fresh.to_string()).expect("new call listed");
    assert!(w < f, "watched first: {text}");
    assert!(text.contains("== Bevakade utlysningar =="));
    assert!(!text.contains(&dismissed.to_string()), "dismissed call hidden");
    // Dismissed calls get no member notifications either.
    run_notify(&ctx, now, false).await.unwrap();
    assert!(ctx.store.outbox_list(false).await.unwrap().iter().all(|r| !r.subject.contains(&dismissed.to_string())));
}
