//! Shared test helpers: temporary stores, fixture paths.
#![allow(dead_code)]

use std::path::PathBuf;

/// A path under the crate's `fixtures/` directory.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// A fresh in-memory store with the schema applied.
pub async fn store() -> psi_radar::store::Store {
    psi_radar::store::Store::memory().await.expect("in-memory store")
}

/// A validated config for tests: SQLite in memory, SMTP to 127.0.0.1:`smtp_port`
/// without TLS (or the file transport into `file_dir` when `smtp_port` is 0).
pub fn config(smtp_port: u16, file_dir: &std::path::Path) -> psi_radar::config::Config {
    let transport = if smtp_port == 0 {
        format!("transport = \"file\"\noutbox_dir = \"{}\"\n", file_dir.display())
    } else {
        format!(
            "transport = \"smtp\"\nmax_attempts = 3\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nper_minute = 6000\n"
        )
    };
    let src = format!(
        "[partnership]\nname = \"Partnerskapet för sociala innovationer i Örebro län\"\n[database]\nurl = \"sqlite::memory:\"\n\
         [sources]\ncontact = \"psi@example.org\"\n[mail]\nfrom = \"radar@psi.example.org\"\nreply_to = \"svar@psi.example.org\"\n\
         au = [\"au1@example.org\", \"au2@example.org\"]\n{transport}"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/test.toml");
    psi_radar::config::Config::from_str(&src, &root).expect("test config")
}

/// A job context over an in-memory store with the bundled members loaded,
/// mail written as files into `dir`, and no sources.
pub async fn ctx(dir: &std::path::Path) -> psi_radar::jobs::Ctx {
    ctx_with(config(0, dir)).await
}

/// The same with a given config.
pub async fn ctx_with(cfg: psi_radar::config::Config) -> psi_radar::jobs::Ctx {
    let store = store().await;
    let ctx = psi_radar::jobs::Ctx::with_sources(cfg, store, Vec::new()).expect("ctx");
    let themes = psi_radar::jobs::theme_ids(&ctx.model);
    let members = psi_radar::members::read_members_file(&fixture("members.csv"), &themes).expect("members.csv");
    ctx.store.upsert_members(&members, chrono::Utc::now()).await.expect("members");
    ctx
}

/// Add a call by hand (the same path as `calls add`), read its rules and classify it.
pub async fn add_call(
    ctx: &psi_radar::jobs::Ctx,
    title: &str,
    text: &str,
    deadline: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> psi_radar::domain::CallRef {
    let m = psi_radar::sources::manual::ManualCall {
        title: title.into(),
        url: format!("https://example.org/{}", title.len()),
        funder: Some("Svenska ESF-rådet".into()),
        deadline: Some(deadline.into()),
        text: Some(text.into()),
        lang: None,
    };
    let got = psi_radar::jobs::ingest::add_manual(&ctx.store, &m, now).await.expect("add call");
    psi_radar::jobs::poll::read_rules(ctx, now).await.expect("rules");
    psi_radar::jobs::poll::classify_refs(ctx, &[got.reference]).await.expect("classify");
    got.reference
}

/// A member notification to `to` (its subject tries a header injection).
pub fn outgoing(to: &str, kind: &'static str, period: &str) -> psi_radar::mail::message::Outgoing {
    psi_radar::mail::message::Outgoing {
        kind,
        period: period.into(),
        to: psi_radar::domain::Email::parse(to).unwrap(),
        to_name: Some("Anna Andersson".into()),
        subject: "[PSI-0042] Ny utlysning: Social innovation\r\nBcc: evil@example.org".into(),
        text: "Hej!\nSvara JA partner.".into(),
        html: "<p>Hej!</p>".into(),
        refs: vec![psi_radar::domain::CallRef(42)],
        list_unsubscribe: true,
        in_reply_to: None,
        reply_to: None,
    }
}

/// A source in Stockholm time with a test funder.
pub fn spec(name: &str, url: String, kind: psi_radar::sources::spec::SourceKind) -> psi_radar::sources::spec::SourceSpec {
    psi_radar::sources::spec::SourceSpec {
        name: name.into(),
        url,
        funder: "Testfinansiär".into(),
        language: None,
        enabled: true,
        programme: None,
        tz: chrono_tz::Europe::Stockholm,
        allow_hosts: Vec::new(),
        kind,
    }
}

/// Create the database of the config at `cfg` with `psi-radar init`: every
/// other command refuses a missing database file.
pub fn init_db(cfg: &std::path::Path) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_psi-radar")).arg("init").arg("--config").arg(cfg).output().expect("run init");
    assert!(o.status.success(), "init: {}", String::from_utf8_lossy(&o.stderr));
}
