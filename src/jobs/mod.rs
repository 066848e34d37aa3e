//! Jobs: thin glue that runs pipeline stages over the store. Each is
//! `pub async fn run_x(&Ctx, now) -> Result<Report>`, callable from the CLI,
//! a test or the scheduler (`schedule.rs`), which only decides when.

pub mod dbguard;
pub mod digest;
pub mod lease;
pub mod notify;
pub mod poll;
pub mod replies;
pub mod schedule;
pub mod send;

use crate::classify::Model;
use crate::config::Config;
use crate::mail::outbox::Mailer;
use crate::mail::render::Renderer;
use crate::sources::fetch::{FetchConfig, Fetcher};
use crate::sources::spec::{SourceSpec, load_sources_file};
use crate::store::Store;
use crate::store::calls::StoredCall;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Everything a job needs, built once at start-up.
pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub renderer: Renderer,
    pub mailer: Mailer,
    pub model: Model,
    pub sources: Vec<SourceSpec>,
    pub fetcher: Fetcher,
    /// Set when the daemon is shutting down: jobs stop taking new work
    /// (the outbox sender stops before its next message).
    pub stopping: Arc<AtomicBool>,
}

impl Ctx {
    /// Open the existing database (applying migrations) and build the mail transport.
    pub async fn open(config: Config) -> anyhow::Result<Ctx> {
        let store = Store::open_existing(&config.database_url).await.with_context(|| format!("databasen {}", config.database_url))?;
        Ctx::with_store(config, store)
    }

    /// The same, creating the database when it is missing (`init`).
    pub async fn create(config: Config) -> anyhow::Result<Ctx> {
        let store = Store::open(&config.database_url).await.with_context(|| format!("databasen {}", config.database_url))?;
        Ctx::with_store(config, store)
    }

    /// Build the context around an open store: loads the lexicon and the
    /// sources file named in the config.
    pub fn with_store(config: Config, store: Store) -> anyhow::Result<Ctx> {
        let sources = load_sources_file(&config.sources.file)?;
        Ctx::with_sources(config, store, sources)
    }

    /// The same with an explicit source list (the demo's, pointing at its local server).
    pub fn with_sources(config: Config, store: Store, sources: Vec<SourceSpec>) -> anyhow::Result<Ctx> {
        let renderer = Renderer::new().context("e-postmallarna")?;
        let mailer = Mailer::from_config(&config.mail).context("e-postutskicket")?;
        let model = Model::from_file(&config.classify.categories_file)?;
        let mut fc = FetchConfig::new(config.sources.contact.as_str());
        fc.total_timeout = std::time::Duration::from_secs(config.sources.timeout_secs);
        fc.max_bytes = usize::try_from(config.sources.max_bytes).unwrap_or(usize::MAX);
        fc.per_host = config.sources.per_host;
        fc.poll_budget = std::time::Duration::from_secs(config.sources.poll_budget_secs);
        // A poll gives up on what is in flight when the daemon stops.
        let stopping = Arc::new(AtomicBool::new(false));
        let fetcher = Fetcher::cancelled_by(fc, stopping.clone()).context("HTTP-klienten")?;
        Ok(Ctx { config, store, renderer, mailer, model, sources, fetcher, stopping })
    }
}

impl<'a> From<&'a Ctx> for crate::mail::MailCtx<'a> {
    fn from(ctx: &'a Ctx) -> Self {
        crate::mail::MailCtx { store: &ctx.store, config: &ctx.config, renderer: &ctx.renderer, model: &ctx.model }
    }
}

/// Run `f` as job `name`, recording start, end, success and summary.
pub async fn recorded<T, F, Fut>(ctx: &Ctx, name: &str, now: DateTime<Utc>, f: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
    T: std::fmt::Debug + Summary,
{
    let id = ctx.store.job_started(name, now).await?;
    let out = f().await;
    let end = Utc::now().max(now);
    match &out {
        Ok(v) => ctx.store.job_finished(id, true, &v.summary(), end).await?,
        Err(e) => ctx.store.job_finished(id, false, &format!("{e:#}"), end).await?,
    }
    out
}

/// A one-line summary of a job's report, for `status`.
/// Whom a mail job queued (or, in a dry run, would queue) a message for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub email: crate::domain::Email,
    /// The contact's name; `None` for an AU address.
    pub name: Option<String>,
    /// The member organisation's name; `None` for an AU address.
    pub member: Option<String>,
    /// How many calls the message is about (0 for the digest).
    pub calls: usize,
}

pub trait Summary {
    fn summary(&self) -> String;
}

/// The call's own text says the partnership's home county may not apply
/// (`open_to_home == false`): it is never sent to members and never gets a
/// proposed consortium; AU's digest only counts it. Unknown (`None`) is not closed.
pub fn closed_to_home(c: &StoredCall) -> bool {
    c.rules.as_ref().is_some_and(|r| r.eligibility.open_to_home == Some(false))
}

/// The regional theme ids the model knows: what a members file may name besides SC1–SC7.
pub fn theme_ids(model: &Model) -> Vec<crate::domain::CategoryId> {
    model.categories().iter().filter(|c| !c.is_challenge()).cloned().collect()
}
