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
    /// What the simulated replies recorded ("Stiftelsen Activa: PSI-0020 — ja, som partner").
    pub replies: Vec<String>,
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

    let notify = crate::jobs::notify::run_notify(&ctx, now, false).await?;
    let replies = simulate_replies(&ctx, now).await?;
    // AU's digest half an hour later, after the answers came in; then everything is sent.
    let later = now + chrono::Duration::minutes(30);
    let digest = crate::jobs::digest::run_digest(&ctx, None, later, false).await?;
    let sent = crate::jobs::send::run_send(&ctx, later).await?;

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
        replies,
        files: sent.files,
    })
}

/// The answers three members give in the demo, in the words members use.
const DEMO_ANSWERS: [&str; 3] = [
    "Ja, vi är med som partner! Vi har en projektledare ledig från mars.",
    "Vi vill gärna leda ansökan – hör av er så bokar vi ett möte.",
    "Nej tack, inte denna gång.",
];

/// Three members answer the notification about the call most members were
/// told of, the way a mail client would: "SV:" subject, In-Reply-To, the
/// original quoted below an Outlook header block. Each reply goes through the
/// real parser and recorder, as `mail ingest` would.
async fn simulate_replies(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let sent = ctx.store.outbox_list(false).await?;
    let notes: Vec<_> = sent.iter().filter(|r| r.kind == "notify").collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for n in &notes {
        for r in n.subject.trim_start_matches('[').split(']').next().unwrap_or("").split(", ") {
            *counts.entry(r.to_string()).or_default() += 1;
        }
    }
    let Some((call, _)) = counts.iter().max_by_key(|(r, n)| (**n, std::cmp::Reverse((*r).clone()))) else { return Ok(Vec::new()) };
    let mut members_seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for n in notes.iter().filter(|n| n.subject.contains(call.as_str())) {
        let Some(contact) = ctx.store.contact_by_email(&n.recipient).await? else { continue };
        if !members_seen.insert(contact.member.clone()) {
            continue;
        }
        let Some(answer) = DEMO_ANSWERS.get(members_seen.len() - 1) else { break };
        let raw = format!(
            "From: {name} <{addr}>\r\nTo: {to}\r\nSubject: SV: {subject}\r\nMessage-ID: <demo-{k}@{domain}>\r\nIn-Reply-To: {irt}\r\n\
             References: {irt}\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             {call}: {answer}\r\n\r\nMed vänliga hälsningar\r\n{name}\r\n\r\nFrån: {from}\r\nSkickat: {date}\r\nTill: {addr}\r\nÄmne: {subject}\r\n\r\n\
             Hej! Svara på det här mejlet med en kort rad.\r\n",
            name = contact.contact.name,
            addr = contact.contact.email,
            to = ctx.config.mail.reply_to,
            subject = n.subject,
            k = members_seen.len(),
            domain = contact.contact.email.domain(),
            irt = n.message_id,
            date = (now + chrono::Duration::minutes(10)).to_rfc2822(),
            from = ctx.config.mail.from,
        );
        let got = crate::mail::inbound::ingest(ctx, raw.as_bytes(), None, now + chrono::Duration::minutes(10)).await?;
        let who = ctx.store.member(&contact.member).await?.map(|m| m.name).unwrap_or_else(|| contact.member.to_string());
        for line in got.recorded {
            out.push(format!("{who}: {line}"));
        }
        if members_seen.len() == DEMO_ANSWERS.len() {
            break;
        }
    }
    Ok(out)
}
