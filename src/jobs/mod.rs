//! Jobs: thin glue that runs pipeline stages over the store. Each is
//! `pub async fn run_x(&Ctx, now) -> Result<Report>`, callable from the CLI,
//! a test or the scheduler (`schedule.rs`), which only decides when.

pub mod digest;
pub mod notify;
pub mod send;

use crate::config::Config;
use crate::mail::outbox::Mailer;
use crate::mail::render::Renderer;
use crate::store::Store;
use anyhow::Context as _;
use chrono::{DateTime, Utc};

/// Everything a job needs, built once at start-up.
pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub renderer: Renderer,
    pub mailer: Mailer,
}

impl Ctx {
    /// Open the database (applying migrations) and build the mail transport.
    pub async fn open(config: Config) -> anyhow::Result<Ctx> {
        let store = Store::open(&config.database_url).await.with_context(|| format!("databasen {}", config.database_url))?;
        Ctx::with_store(config, store)
    }

    pub fn with_store(config: Config, store: Store) -> anyhow::Result<Ctx> {
        let renderer = Renderer::new().context("e-postmallarna")?;
        let mailer = Mailer::from_config(&config.mail).context("e-postutskicket")?;
        Ok(Ctx { config, store, renderer, mailer })
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
pub trait Summary {
    fn summary(&self) -> String;
}
