//! Outbound mail: composing into the outbox, sending over SMTP, idempotency,
//! retries after the server was down, permanent failures.

use crate::helpers::{self, outgoing};
use crate::smtp_sink::{self, Sink};
use chrono::{Duration, Utc};
use psi_radar::mail::message::compose;
use psi_radar::mail::outbox::{Mailer, send_pending};

/// A store, a mailer to 127.0.0.1:`port` (0: the file transport), and its config.
struct Setup {
    _tmp: tempfile::TempDir,
    cfg: psi_radar::config::Config,
    store: psi_radar::store::Store,
    mailer: Mailer,
}

async fn setup(port: u16) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = helpers::config(port, tmp.path());
    let store = helpers::store().await;
    let mailer = Mailer::from_config(&cfg.mail).unwrap();
    Setup { _tmp: tmp, cfg, store, mailer }
}

#[tokio::test]
async fn smtp_delivery_both_parts_and_no_duplicates() {
    let sink = Sink::default();
    let (port, _task) = smtp_sink::start(sink.clone(), 0).await;
    let Setup { cfg, store, mailer, .. } = setup(port).await;
    let now = Utc::now();

    let m = compose(&cfg.mail, &outgoing("anna@activa.example.org", "notify", "2026-11-23"), now).unwrap();
    assert!(store.enqueue(&m, now).await.unwrap().is_some());
    // Composing the same (kind, period, recipient) again queues nothing.
    assert!(store.enqueue(&m, now).await.unwrap().is_none());

    let r = send_pending(&store, &mailer, now, 3).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    let r = send_pending(&store, &mailer, now, 3).await.unwrap();
    assert_eq!(r.sent, 0, "a sent message is never sent again");

    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, vec!["anna@activa.example.org"]);
    assert_eq!(got[0].from, "radar@psi.example.org");
    let data = &got[0].data;
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(data.contains("Content-Type: text/html"));
    assert!(data.contains(&format!("Message-ID: {}", m.message_id)));
    assert!(data.contains("List-Unsubscribe: <mailto:svar@psi.example.org?subject=STOPP>"));
    assert!(data.contains("Reply-To: svar@psi.example.org"));
    // The CR/LF in the subject did not become a header.
    assert!(!data.lines().any(|l| l.starts_with("Bcc:")), "{data}");
    let row = &store.outbox_list(false).await.unwrap()[0];
    assert_eq!(row.status, "sent");
}

#[tokio::test]
async fn queued_mail_is_delivered_in_order_when_the_server_comes_back() {
    // Reserve a port, then close it: the server is "down".
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Setup { cfg, store, mailer, .. } = setup(port).await;
    let now = Utc::now();
    let mut queued = Vec::new();
    for i in 0..5 {
        let m = compose(&cfg.mail, &outgoing(&format!("m{i}@activa.example.org"), "notify", "d1"), now).unwrap();
        queued.push(m.message_id.clone());
        store.enqueue(&m, now).await.unwrap();
    }

    // One connection failure holds the whole batch (one attempt, not five).
    let r = send_pending(&store, &mailer, now, 3).await.unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 5, 0), "{r:?}");
    let rows = store.outbox_list(true).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.attempts).collect::<Vec<_>>(), vec![1, 0, 0, 0, 0]);
    assert!(rows.iter().all(|r| r.next_attempt_at == rows[0].next_attempt_at && r.next_attempt_at.unwrap() > now));
    // Not due yet: nothing is tried.
    let r = send_pending(&store, &mailer, now + Duration::seconds(30), 3).await.unwrap();
    assert_eq!(r.sent + r.retrying + r.failed, 0);

    let sink = Sink::default();
    let (_, _task) = smtp_sink::start(sink.clone(), port).await;
    let later = now + Duration::minutes(5);
    let r = send_pending(&store, &mailer, later, 3).await.unwrap();
    assert_eq!(r.sent, 5, "{r:?}");
    assert_eq!(sink.message_ids(), queued, "in the order they were queued");
}

#[tokio::test]
async fn permanent_rejection_is_recorded_and_not_retried() {
    let sink = Sink::default();
    sink.reject.lock().unwrap().push("gone@example.org".into());
    let (port, _task) = smtp_sink::start(sink.clone(), 0).await;
    let Setup { cfg, store, mailer, .. } = setup(port).await;
    let now = Utc::now();
    store.enqueue(&compose(&cfg.mail, &outgoing("gone@example.org", "notify", "d1"), now).unwrap(), now).await.unwrap();
    let r = send_pending(&store, &mailer, now, 3).await.unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 0, 1), "{r:?}");
    let row = &store.outbox_list(false).await.unwrap()[0];
    assert_eq!(row.status, "failed");
    assert!(row.last_error.as_deref().unwrap_or("").contains("550"), "{:?}", row.last_error);
    let r = send_pending(&store, &mailer, now + Duration::days(1), 3).await.unwrap();
    assert_eq!(r.sent + r.retrying + r.failed, 0);
    assert_eq!(store.outbox_failed_since(now - Duration::days(1)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn file_transport_writes_eml_and_html() {
    let Setup { cfg, store, mailer, _tmp } = setup(0).await;
    let now = Utc::now();
    store.enqueue(&compose(&cfg.mail, &outgoing("anna@activa.example.org", "notify", "2026-11-23"), now).unwrap(), now).await.unwrap();
    let r = send_pending(&store, &mailer, now, 3).await.unwrap();
    assert_eq!(r.files.len(), 2);
    assert!(r.files.iter().all(|f| f.exists()));
    let eml = std::fs::read_to_string(r.files.iter().find(|f| f.extension().unwrap() == "eml").unwrap()).unwrap();
    assert!(eml.contains("Subject: "));
}
