//! Recording replies (issue 7): `mail::inbound::ingest` over the replies in
//! `fixtures/mail/ingest/` (senders matching `fixtures/members.csv`), the
//! retention job, `mail ingest` output, and `mail fetch` against a real
//! Dovecot (ignored by default; `.ci/run` installs Dovecot and runs it).

use crate::helpers::{self, fixture};
use chrono::{DateTime, Duration, Utc};
use psi_radar::domain::{CallRef, Intent, MemberId, Role};
use psi_radar::jobs::Ctx;
use psi_radar::jobs::ingest::add_manual;
use psi_radar::mail::inbound::{Status, ingest};
use psi_radar::sources::manual::ManualCall;
use std::path::Path;

struct World {
    ctx: Ctx,
    _tmp: tempfile::TempDir,
    call: CallRef,
}

async fn world(now: DateTime<Utc>) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = helpers::config(0, tmp.path());
    let ctx = Ctx::with_sources(cfg, helpers::store().await, vec![]).unwrap();
    let members = psi_radar::members::read_members_file(&fixture("members.csv"), &psi_radar::jobs::theme_ids(&ctx.model)).unwrap();
    ctx.store.upsert_members(&members, now).await.unwrap();
    let call = ManualCall {
        title: "Social innovation i Örebro län".into(),
        url: "https://example.org/utlysningar/social-innovation".into(),
        deadline: Some("2027-03-15".into()),
        ..Default::default()
    };
    let call = add_manual(&ctx.store, &call, now).await.unwrap().reference;
    assert_eq!(call, CallRef(1), "the fixtures name PSI-0001");
    World { ctx, _tmp: tmp, call }
}

fn eml(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("mail/ingest/{name}"))).unwrap()
}

async fn confirmations(ctx: &Ctx) -> Vec<psi_radar::store::outbox::OutboxRow> {
    ctx.store.outbox_list(false).await.unwrap().into_iter().filter(|r| r.kind == "confirm").collect()
}

#[tokio::test]
async fn a_yes_from_a_contact_is_recorded_and_confirmed_once() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("yes_partner.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert_eq!(o.recorded, vec!["PSI-0001 — ja, som partner («vi har en projektledare ledig från mars»)"]);
    assert!(o.confirmation.is_some());

    let answers = w.ctx.store.interests_for_call(w.call).await.unwrap();
    assert_eq!(answers.len(), 1);
    let a = &answers[0];
    assert_eq!((a.member.as_str(), a.intent, a.role), ("activa", Intent::Yes, Some(Role::Partner)));
    assert_eq!(a.comment, "vi har en projektledare ledig från mars");
    assert_eq!(a.reply_id, Some(o.reply_id));
    assert!(a.contact_id.is_some());

    let row = w.ctx.store.reply_by_message_id("<ingest-yes-1@activa.example.org>").await.unwrap().unwrap();
    assert_eq!(row.status, "accepted");
    assert_eq!(row.member_id.as_deref(), Some("activa"));
    assert!(row.has_raw);
    assert_eq!(w.ctx.store.reply_raw(row.id).await.unwrap().unwrap(), eml("yes_partner.eml"));

    let c = confirmations(&w.ctx).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].recipient, "anna.lindqvist@activa.example.org");
    assert_eq!(c[0].period, "<ingest-yes-1@activa.example.org>");
    assert!(c[0].subject.starts_with("Tack! Vi har noterat: PSI-0001 — ja, som partner"), "{}", c[0].subject);
    let body = String::from_utf8_lossy(&c[0].body).to_string();
    assert!(body.contains("In-Reply-To: <ingest-yes-1@activa.example.org>"), "{body}");
    assert!(body.contains("PSI-0001 =E2=80=94 ja, som partner") || body.contains("PSI-0001 — ja, som partner"), "{body}");

    // The same Message-ID again: recorded once, nothing else happens.
    let again = ingest(&w.ctx, &eml("yes_partner.eml"), Some(7), now).await.unwrap();
    assert_eq!(again.status, Status::Duplicate);
    assert_eq!(again.reply_id, o.reply_id);
    assert_eq!(w.ctx.store.list_replies().await.unwrap().len(), 1);
    assert_eq!(confirmations(&w.ctx).await.len(), 1);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM interests").fetch_one(&w.ctx.store.pool).await.unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_later_answer_replaces_the_earlier_and_history_is_kept() {
    let now = Utc::now();
    let w = world(now).await;
    ingest(&w.ctx, &eml("yes_partner.eml"), None, now).await.unwrap();
    let o = ingest(&w.ctx, &eml("later_no.eml"), None, now + Duration::hours(2)).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    let current = w.ctx.store.interests_for_call(w.call).await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].intent, Intent::No);
    assert_eq!(w.ctx.store.answers_for_call(w.call).await.unwrap(), vec![(MemberId::parse("activa").unwrap(), Intent::No, None)]);
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT intent, superseded_at FROM interests WHERE member_id='activa' ORDER BY id")
            .fetch_all(&w.ctx.store.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "history kept");
    assert_eq!(rows[0].0, "yes");
    assert!(rows[0].1.is_some(), "the earlier answer is superseded");
    assert!(rows[1].1.is_none());
    assert_eq!(confirmations(&w.ctx).await.len(), 2, "each answer is confirmed");
}

#[tokio::test]
async fn an_unknown_sender_is_held_and_listed_for_au() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("unknown_sender.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held);
    assert_eq!(o.reason.as_deref(), Some("okänd avsändare"));
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty());
    assert!(confirmations(&w.ctx).await.is_empty());
    let (held, total) = w.ctx.store.held_replies_since(now - Duration::days(7), 20).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(held[0].id, o.reply_id);
    assert_eq!(held[0].status, "held");
    assert_eq!(held[0].from_addr.as_deref(), Some("someone@elsewhere.example.org"));
    assert_eq!(held[0].reason.as_deref(), Some("okänd avsändare"));
}

#[tokio::test]
async fn an_auto_reply_is_stored_but_never_an_answer() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("autoreply.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::AutoReply);
    assert!(o.reason.unwrap().starts_with("Autosvar"));
    assert!(w.ctx.store.interests_for_call(w.call).await.unwrap().is_empty());
    assert!(confirmations(&w.ctx).await.is_empty());
    assert_eq!(w.ctx.store.list_replies().await.unwrap()[0].status, "auto_reply");
    let (_, total) = w.ctx.store.held_replies_since(now - Duration::days(7), 20).await.unwrap();
    assert_eq!(total, 0, "auto-replies are not AU's business");
}

#[tokio::test]
async fn stopp_unsubscribes_the_contact_and_is_confirmed() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("stopp.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    let contacts = w.ctx.store.list_contacts().await.unwrap();
    let maria = contacts.iter().find(|c| c.contact.email.as_str() == "maria.ek@mockeln.example.org").unwrap();
    assert!(maria.contact.unsubscribed, "the +tag on the sender is ignored");
    let lars = contacts.iter().find(|c| c.contact.email.as_str() == "lars.holm@mockeln.example.org").unwrap();
    assert!(!lars.contact.unsubscribed, "only that contact");
    let c = confirmations(&w.ctx).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].recipient, "maria.ek@mockeln.example.org");
    assert!(String::from_utf8_lossy(&c[0].body).contains("STOPP"));
}

/// After STOPP a contact still gets the confirmation of what it sends
/// itself (an answer, START); START resumes member mail.
#[tokio::test]
async fn after_stopp_own_answers_are_confirmed_and_start_resumes() {
    let now = Utc::now();
    let w = world(now).await;
    let maria = |w: &World| {
        let store = w.ctx.store.clone();
        async move {
            store.list_contacts().await.unwrap().into_iter().find(|c| c.contact.email.as_str() == "maria.ek@mockeln.example.org").unwrap()
        }
    };
    ingest(&w.ctx, &eml("stopp.eml"), None, now).await.unwrap();
    assert!(maria(&w).await.contact.unsubscribed);

    let o = ingest(&w.ctx, &eml("stopped_answer.eml"), None, now + Duration::hours(1)).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(o.confirmation.is_some(), "the confirmation of its own answer still goes to a contact who said STOPP");
    assert!(maria(&w).await.contact.unsubscribed, "an answer is no START");

    let o = ingest(&w.ctx, &eml("start.eml"), None, now + Duration::hours(2)).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(!maria(&w).await.contact.unsubscribed, "START resumes");
    assert_eq!(o.recorded, vec!["START — du får åter mejl om nya utlysningar till den här adressen."]);
    let c = confirmations(&w.ctx).await;
    assert_eq!(c.len(), 3, "STOPP, the answer and START are each confirmed");
    assert!(c.iter().all(|r| r.recipient == "maria.ek@mockeln.example.org"));
}

#[tokio::test]
async fn au_dismisses_a_call_by_reply_but_a_member_cannot() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("member_dismiss.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    assert!(o.reason.unwrap().contains("bara AU"));
    assert!(!w.ctx.store.get_call(w.call).await.unwrap().unwrap().dismissed);

    let o = ingest(&w.ctx, &eml("au_dismiss.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    assert!(w.ctx.store.get_call(w.call).await.unwrap().unwrap().dismissed);
    let c = confirmations(&w.ctx).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].recipient, "au1@example.org");
}

#[tokio::test]
async fn an_unreadable_reply_is_kept_with_its_reason() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("unreadable.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Unreadable);
    let reason = o.reason.clone().unwrap();
    assert!(!reason.is_empty());
    let row = w.ctx.store.reply_by_message_id("<ingest-unreadable-8@coompanion.example.org>").await.unwrap().unwrap();
    assert_eq!(row.status, "unreadable");
    assert_eq!(row.reason.as_deref(), Some(reason.as_str()));
    assert_eq!(row.member_id.as_deref(), Some("coompanion"));
    assert!(row.has_raw);
    let (held, _) = w.ctx.store.held_replies_since(now - Duration::days(1), 20).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(confirmations(&w.ctx).await.is_empty());
}

#[tokio::test]
async fn an_unknown_call_is_held_and_a_thread_names_the_call() {
    let now = Utc::now();
    let w = world(now).await;
    let o = ingest(&w.ctx, &eml("unknown_call.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held);
    assert_eq!(o.reason.as_deref(), Some("okänd utlysning PSI-0999"));

    // No call named and no thread we know: held.
    let o = ingest(&w.ctx, &eml("thread_only.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    // A message of ours with an id the parser cannot read, naming one call in the outbox.
    let m = psi_radar::store::outbox::NewMessage {
        kind: "notify".into(),
        period: "legacy".into(),
        recipient: "per.olsson@helasverige.example.org".into(),
        subject: "[PSI-0001] Ny utlysning".into(),
        message_id: "<legacy-notify-77@psi.example.org>".into(),
        body: b"x".to_vec(),
        html: String::new(),
        call_refs: "PSI-0001".into(),
    };
    w.ctx.store.enqueue(&m, now).await.unwrap();
    let raw = String::from_utf8(eml("thread_only.eml")).unwrap().replace("<ingest-thread-10@", "<ingest-thread-11@");
    let o = ingest(&w.ctx, raw.as_bytes(), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    let a = &w.ctx.store.interests_for_call(w.call).await.unwrap()[0];
    assert_eq!((a.member.as_str(), a.intent), ("hela_sverige", Intent::Maybe));
}

#[tokio::test]
async fn reply_token_must_come_back_when_enabled() {
    let now = Utc::now();
    let mut w = world(now).await;
    w.ctx.config.mail.reply_token = true;
    let n = w.ctx.store.ensure_contact_tokens(psi_radar::mail::inbound::new_token).await.unwrap();
    assert!(n > 10);
    // Sent to the plain reply address: could be spoofed, held.
    let o = ingest(&w.ctx, &eml("yes_partner.eml"), None, now).await.unwrap();
    assert_eq!(o.status, Status::Held, "{o:?}");
    let anna = w.ctx.store.contact_by_email("anna.lindqvist@activa.example.org").await.unwrap().unwrap();
    let token = w.ctx.store.contact_token(anna.id).await.unwrap().unwrap();
    let to = psi_radar::mail::inbound::token_address(&w.ctx.config.mail.reply_to, &token);
    let raw = String::from_utf8(eml("yes_partner.eml"))
        .unwrap()
        .replace("To: PSI-radar <svar@psi.example.org>", &format!("To: PSI-radar <{to}>"))
        .replace("<ingest-yes-1@", "<ingest-yes-tok@");
    let o = ingest(&w.ctx, raw.as_bytes(), None, now).await.unwrap();
    assert_eq!(o.status, Status::Accepted, "{o:?}");
    // Mail we send the contact names the token address as Reply-To, so the next reply carries it back.
    let c = confirmations(&w.ctx).await;
    let body = String::from_utf8_lossy(&c[0].body).to_string();
    assert!(body.contains(&format!("Reply-To: {to}")), "{body}");
    assert_eq!(
        psi_radar::mail::inbound::reply_address_for(&w.ctx, "anna.lindqvist@activa.example.org").await.unwrap().unwrap().as_str(),
        to
    );
}

#[tokio::test]
async fn retention_deletes_raw_messages_but_keeps_the_reading() {
    let now = Utc::now();
    let w = world(now - Duration::days(500)).await;
    let old = ingest(&w.ctx, &eml("yes_partner.eml"), None, now - Duration::days(400)).await.unwrap();
    let new = ingest(&w.ctx, &eml("later_no.eml"), None, now - Duration::days(10)).await.unwrap();
    let r = psi_radar::jobs::replies::run_replies(&w.ctx, now).await.unwrap();
    assert!(r.fetch.is_none(), "no IMAP configured");
    assert_eq!(r.raw_deleted, 1);
    let replies = w.ctx.store.list_replies().await.unwrap();
    let o = replies.iter().find(|x| x.id == old.reply_id).unwrap();
    assert!(!o.has_raw);
    assert!(o.raw_deleted_at.is_some());
    assert!(o.reading.contains("\"intent\": \"yes\"") || o.reading.contains("\"intent\":\"yes\""), "{}", o.reading);
    assert!(w.ctx.store.reply_raw(old.reply_id).await.unwrap().is_none());
    assert!(replies.iter().find(|x| x.id == new.reply_id).unwrap().has_raw);
    // The answer itself stays.
    assert_eq!(w.ctx.store.interests_for_call(w.call).await.unwrap().len(), 1);
    let again = psi_radar::jobs::replies::run_replies(&w.ctx, now).await.unwrap();
    assert_eq!(again.raw_deleted, 0);
}

#[tokio::test]
async fn mail_ingest_says_what_happened_in_swedish() {
    let now = Utc::now();
    let w = world(now).await;
    let mut out = Vec::new();
    psi_radar::cli::mail::run_ingest(&w.ctx, &eml("yes_partner.eml"), now, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Registrerat (svar "), "{text}");
    assert!(text.contains("PSI-0001 — ja, som partner"));
    let mut out = Vec::new();
    psi_radar::cli::mail::run_ingest(&w.ctx, &eml("unknown_sender.eml"), now, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Hållet för AU") && text.contains("okänd avsändare"), "{text}");
    let mut out = Vec::new();
    psi_radar::cli::mail::run_ingest(&w.ctx, &eml("yes_partner.eml"), now, &mut out).await.unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("Redan registrerat"));
}

// ---------------------------------------------------------------- Dovecot

/// A throw-away Dovecot on 127.0.0.1 (TOOLING.md): user `test`, password
/// `test`, Maildir under a temp dir owned by `nobody` (Dovecot will not run
/// mail processes as root); run as another user, everything runs as that
/// user. `extra` is appended to the config. Stopped on drop.
struct Dovecot {
    dir: tempfile::TempDir,
    conf: std::path::PathBuf,
    port: u16,
    child: std::process::Child,
}

impl Dovecot {
    fn start(extra: &str) -> Dovecot {
        let found = std::process::Command::new("dovecot").arg("--version").output();
        assert!(
            found.as_ref().is_ok_and(|o| o.status.success()),
            "dovecot is not installed (apt-get install -y dovecot-imapd; .ci/run does it): {found:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("passwd"), "test:{PLAIN}test\n").unwrap();
        let id = |flag: &str| ok(std::process::Command::new("id").arg(flag)).trim().to_string();
        let root = id("-u") == "0";
        let (uid, gid, users) = if root {
            ("nobody".to_string(), "nogroup".to_string(), String::new())
        } else {
            let (user, group) = (id("-un"), id("-gn"));
            let users = format!(
                "default_login_user = {user}\ndefault_internal_user = {user}\ndefault_internal_group = {group}\nservice anvil {{\n  chroot =\n}}\n"
            );
            (user, group, users)
        };
        // Only root may chroot the login processes.
        let chroot = if root { "" } else { "  chroot =\n" };
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
                 ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\nmail_location = maildir:~/Maildir\n\
                 passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n{users}{extra}\n\
                 service imap-login {{\n{chroot}  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n",
                d = d.display()
            ),
        )
        .unwrap();
        // Mail processes run as nobody: it must reach and own the Maildir.
        run("chmod", &["755", &d.display().to_string()]);
        if root {
            run("chown", &["-R", "nobody:nogroup", &d.join("mail").display().to_string()]);
        }
        let child = std::process::Command::new("dovecot").arg("-F").arg("-c").arg(&conf).spawn().unwrap();
        let dc = Dovecot { dir, conf, port, child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "dovecot did not start: {}", dc.log());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        dc
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Deliver a message into `test`'s INBOX.
    fn save(&self, raw: &[u8]) {
        use std::io::Write;
        let mut child = std::process::Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(["save", "-u", "test", "-m", "INBOX"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(raw).unwrap();
        let st = child.wait().unwrap();
        assert!(st.success(), "doveadm save failed: {}", self.log());
    }

    /// Messages in a folder of `test`'s Maildir (INBOX or a subfolder).
    fn count(&self, folder: &str) -> usize {
        let base = self.dir.path().join("mail/test/Maildir");
        let dir = if folder == "INBOX" { base } else { base.join(format!(".{folder}")) };
        ["new", "cur"].iter().map(|s| std::fs::read_dir(dir.join(s)).map(|r| r.count()).unwrap_or(0)).sum()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM by its PID (the master stops its children), then reap it.
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn run(cmd: &str, args: &[&str]) {
    let st = std::process::Command::new(cmd).args(args).status().unwrap();
    assert!(st.success(), "{cmd} {args:?}");
}

fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_psi-radar"))
}

fn cli_config(dir: &Path, imap_port: u16) -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(repo.join("config/sources.toml"), dir.join("sources.toml")).unwrap();
    std::fs::copy(repo.join("config/categories.toml"), dir.join("categories.toml")).unwrap();
    let cfg = format!(
        "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite://{}\"\n[sources]\ncontact = \"psi@example.org\"\n\
         [mail]\nfrom = \"radar@psi.example.org\"\nreply_to = \"svar@psi.example.org\"\nau = [\"au1@example.org\"]\noutbox_dir = \"out\"\n\
         [mail.imap]\nhost = \"127.0.0.1\"\nport = {imap_port}\ntls = \"none\"\nusername = \"test\"\npassword_env = \"PSI_TEST_IMAP_PASSWORD\"\n\
         folder = \"INBOX\"\ndone_folder = \"psi-behandlade\"\n",
        dir.join("psi.db").display()
    );
    let p = dir.join("psi-radar.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn ok(cmd: &mut std::process::Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?}\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[tokio::test]
#[ignore = "needs dovecot (run by .ci/run)"]
async fn mail_fetch_reads_a_real_imap_server_once_and_moves_handled_mail() {
    let dovecot = Dovecot::start("");
    for name in ["yes_partner.eml", "unknown_sender.eml", "autoreply.eml", "stopp.eml"] {
        dovecot.save(&eml(name));
    }
    // The same message delivered twice: recorded once.
    dovecot.save(&eml("yes_partner.eml"));
    assert_eq!(dovecot.count("INBOX"), 5);

    let tmp = tempfile::tempdir().unwrap();
    let cfg = cli_config(tmp.path(), dovecot.port);
    ok(bin().arg("--config").arg(&cfg).arg("init").arg("--members").arg(fixture("members.csv")));
    ok(bin().arg("--config").arg(&cfg).args(["calls", "add", "--title", "Social innovation i Örebro län", "--url"]).args([
        "https://example.org/utlysningar/social-innovation",
        "--deadline",
        "2027-03-15",
    ]));

    // Without the password in the environment: a clear error naming the variable only.
    let o = bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env_remove("PSI_TEST_IMAP_PASSWORD").output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("PSI_TEST_IMAP_PASSWORD"));

    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(
        out.contains("5 olästa meddelanden: 2 registrerade, 1 hållna för AU, 0 oläsbara, 1 autosvar, 1 redan registrerade, 0 fel."),
        "{out}"
    );
    assert!(out.contains("5 flyttade till «psi-behandlade»."), "{out}");
    assert_eq!(dovecot.count("INBOX"), 0, "handled mail left the inbox");
    assert_eq!(dovecot.count("psi-behandlade"), 5, "and is in the done folder: {}", dovecot.log());

    let store = psi_radar::store::Store::open(&format!("sqlite://{}", tmp.path().join("psi.db").display())).await.unwrap();
    let replies = store.list_replies().await.unwrap();
    assert_eq!(replies.len(), 4);
    assert!(replies.iter().all(|r| r.imap_uid.is_some()), "recorded with their UID");
    let mut statuses: Vec<&str> = replies.iter().map(|r| r.status.as_str()).collect();
    statuses.sort();
    assert_eq!(statuses, ["accepted", "accepted", "auto_reply", "held"]);
    assert_eq!(store.interests_for_call(CallRef(1)).await.unwrap().len(), 1);
    assert_eq!(store.outbox_list(false).await.unwrap().iter().filter(|r| r.kind == "confirm").count(), 2);

    // A second fetch finds nothing new.
    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(out.starts_with("0 olästa meddelanden: 0 registrerade"), "{out}");
    assert_eq!(store.list_replies().await.unwrap().len(), 4);

    // New mail after that is read too.
    dovecot.save(&eml("later_no.eml"));
    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(out.starts_with("1 olästa meddelanden: 1 registrerade"), "{out}");
    assert_eq!(dovecot.count("psi-behandlade"), 6);
    assert_eq!(store.interests_for_call(CallRef(1)).await.unwrap()[0].intent, Intent::No);
}

#[tokio::test]
#[ignore = "needs dovecot (run by .ci/run)"]
async fn mail_fetch_moves_by_copy_and_expunge_when_the_server_has_no_move() {
    // The server advertises no MOVE: COPY, STORE \\Deleted, UID EXPUNGE.
    let dovecot = Dovecot::start("imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS\n");
    dovecot.save(&eml("yes_partner.eml"));
    dovecot.save(&eml("unreadable.eml"));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = cli_config(tmp.path(), dovecot.port);
    ok(bin().arg("--config").arg(&cfg).arg("init").arg("--members").arg(fixture("members.csv")));
    ok(bin().arg("--config").arg(&cfg).args(["calls", "add", "--title", "Social innovation", "--url", "https://example.org/u/1"]));
    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(out.contains("2 olästa meddelanden: 1 registrerade, 0 hållna för AU, 1 oläsbara"), "{out}");
    assert_eq!(dovecot.count("INBOX"), 0, "expunged from the inbox: {}", dovecot.log());
    assert_eq!(dovecot.count("psi-behandlade"), 2);
    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(out.starts_with("0 olästa"), "{out}");
}

/// A reply from a registered contact answering PSI-0001, padded to `size`
/// bytes by a base64 attachment after the answer.
fn large_reply(message_id: &str, size: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: Anna Lindqvist <anna.lindqvist@activa.example.org>\r\nTo: svar@psi.example.org\r\n\
         Subject: SV: [PSI-0001] Ny utlysning\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Ja, partner - projektplanen bifogad\r\n\r\n--b1\r\nContent-Type: application/pdf; name=\"plan.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    while raw.len() < size {
        raw.extend_from_slice(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n");
    }
    raw.extend_from_slice(b"--b1--\r\n");
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_reply_is_read_on_its_first_part_and_recorded() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = cli_config(tmp.path(), 9);
    ok(bin().arg("--config").arg(&cfg).arg("init").arg("--members").arg(fixture("members.csv")));
    ok(bin().arg("--config").arg(&cfg).args([
        "calls",
        "add",
        "--title",
        "Social innovation i Örebro län",
        "--url",
        "https://example.org/u/1",
    ]));
    let raw = large_reply("<stor@activa.example.org>", 20 * 1024 * 1024);
    let mut child = bin()
        .arg("--config")
        .arg(&cfg)
        .args(["mail", "ingest"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&raw));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().expect("the whole message was taken from the pipe");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.starts_with("Registrerat") && stdout.contains("PSI-0001 — ja, som partner"), "{stdout}");
    assert!(stderr.contains("Meddelandet är 20.0 MB: de första 2.0 MB läses och sparas"), "{stderr}");
    let store = psi_radar::store::Store::open_existing(&format!("sqlite://{}", tmp.path().join("psi.db").display())).await.unwrap();
    let row = store.reply_by_message_id("<stor@activa.example.org>").await.unwrap().unwrap();
    let kept = store.reply_raw(row.id).await.unwrap().unwrap();
    assert_eq!(kept.len(), psi_radar::mail::inbound::MAX_RAW_BYTES, "the first part is kept");
}

#[tokio::test]
#[ignore = "needs dovecot (run by .ci/run)"]
async fn mail_fetch_reads_only_the_first_part_of_a_large_message() {
    let dovecot = Dovecot::start("");
    dovecot.save(&large_reply("<stor-imap@activa.example.org>", 6 * 1024 * 1024));
    let tmp = tempfile::tempdir().unwrap();
    let cfg = cli_config(tmp.path(), dovecot.port);
    ok(bin().arg("--config").arg(&cfg).arg("init").arg("--members").arg(fixture("members.csv")));
    ok(bin().arg("--config").arg(&cfg).args(["calls", "add", "--title", "Social innovation", "--url", "https://example.org/u/1"]));
    let out = ok(bin().arg("--config").arg(&cfg).args(["mail", "fetch"]).env("PSI_TEST_IMAP_PASSWORD", "test"));
    assert!(out.contains("1 olästa meddelanden: 1 registrerade"), "{out}");
    assert_eq!(dovecot.count("psi-behandlade"), 1, "moved whole: {}", dovecot.log());
    let store = psi_radar::store::Store::open_existing(&format!("sqlite://{}", tmp.path().join("psi.db").display())).await.unwrap();
    let row = store.reply_by_message_id("<stor-imap@activa.example.org>").await.unwrap().unwrap();
    assert_eq!(row.status, "accepted");
    assert_eq!(store.reply_raw(row.id).await.unwrap().unwrap().len(), psi_radar::mail::inbound::MAX_RAW_BYTES);
}
