//! The offline demo: the whole pipeline on bundled fixtures — a local HTTP
//! server on 127.0.0.1 serves the source fixtures so the real fetch code
//! runs; calls are normalised, classified, matched against the bundled
//! members, and the digest and notifications are written as `.eml` + `.html`.

use crate::config::{Config, Transport};
use crate::jobs::Ctx;
use crate::mail::outbox::Mailer;
use crate::store::Store;
use crate::store::calls::CallFilter;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The demo's clock: Monday 12 January 2026, 07:00 in Stockholm — when the
/// bundled fixtures' calls are open, some with deadlines within 30 days.
pub const DEMO_NOW: &str = "2026-01-12T07:00:00+01:00";

/// What the demo did, for its summary.
#[derive(Debug)]
pub struct DemoReport {
    pub sources: usize,
    pub failed_sources: Vec<String>,
    pub calls: usize,
    pub per_category: BTreeMap<String, usize>,
    pub members: usize,
    pub matches: usize,
    pub digest_subject: String,
    pub notifications: usize,
    pub files: Vec<PathBuf>,
}

/// Where the bundled files are: the working directory when it is a checkout,
/// else the directory the crate was built from.
pub fn project_root() -> PathBuf {
    let cwd = PathBuf::from(".");
    if cwd.join("fixtures/members.csv").exists() && cwd.join("config/demo.toml").exists() {
        return cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the demo, writing mail into `out`.
pub async fn run_demo(out: &Path, now: DateTime<Utc>) -> anyhow::Result<DemoReport> {
    let root = project_root();
    let mut config = Config::load(&root.join("config/demo.toml"))?;
    config.mail.transport = Transport::File { dir: out.to_path_buf() };
    if out.exists() {
        // Fresh output each run: old files would read as this run's.
        for e in std::fs::read_dir(out).with_context(|| format!("{}", out.display()))?.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "eml" || x == "html") {
                std::fs::remove_file(&p).with_context(|| format!("{}", p.display()))?;
            }
        }
    }

    let (addr, server) = crate::sources::fixture_server::serve_fixtures(root.join("fixtures/sources")).await.context("fixtur-servern")?;
    let base = format!("http://{addr}");
    let sources = crate::sources::spec::load_demo_sources(&config.sources.file, &base)?;
    let store = Store::memory().await?;
    let mut ctx = Ctx::with_sources(config, store, sources)?;
    ctx.mailer = Mailer::file(out);

    let themes = crate::jobs::theme_ids(&ctx.model);
    let members = crate::members::read_members_file(&root.join("fixtures/members.csv"), &themes)?;
    ctx.store.upsert_members(&members, now).await?;

    let poll = crate::jobs::poll::run_poll(&ctx, None, now).await?;
    server.abort();

    let notify = crate::jobs::notify::run_notify(&ctx, now).await?;
    let digest = crate::jobs::digest::run_digest(&ctx, None, now, false).await?;
    let sent = crate::jobs::send::run_send(&ctx, now).await?;

    let calls = ctx.store.list_calls(&CallFilter::default()).await?;
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    for c in &calls {
        match c.challenges().next() {
            Some(s) => *per_category.entry(s.category.to_string()).or_default() += 1,
            None => *per_category.entry("ingen".into()).or_default() += 1,
        }
    }
    let mut matches = 0;
    for c in &calls {
        let answers = ctx.store.answers_for_call(c.reference).await?;
        matches += crate::matching::match_members(&c.call, &c.categories, &members, &answers).len();
    }
    Ok(DemoReport {
        sources: ctx.sources.len(),
        failed_sources: poll.poll.failed().map(|s| format!("{}: {}", s.name, s.error.clone().unwrap_or_default())).collect(),
        calls: calls.len(),
        per_category,
        members: members.len(),
        matches,
        digest_subject: digest.rendered.subject,
        notifications: notify.queued,
        files: sent.files,
    })
}
