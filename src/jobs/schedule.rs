//! Scheduling: runs each job on its cron schedule until SIGTERM. The next
//! instant is computed in the partnership's time zone (croner + chrono-tz)
//! and registered as a one-shot job on tokio-cron-scheduler, which
//! re-registers itself after each run: no drift across summer time, no
//! overlapping runs of the same job.

use super::Ctx;
use crate::config::CronSpec;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler};

/// The jobs the daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Poll,
    Notify,
    Digest,
    Reminders,
    Replies,
    Send,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [JobKind::Poll, JobKind::Notify, JobKind::Digest, JobKind::Reminders, JobKind::Replies, JobKind::Send];

    pub fn name(self) -> &'static str {
        match self {
            JobKind::Poll => "poll",
            JobKind::Notify => "notify",
            JobKind::Digest => "digest",
            JobKind::Reminders => "reminders",
            JobKind::Replies => "replies",
            JobKind::Send => "send",
        }
    }

    fn cron(self, ctx: &Ctx) -> &CronSpec {
        let s = &ctx.config.schedule;
        match self {
            JobKind::Poll => &s.poll,
            JobKind::Notify => &s.notify,
            JobKind::Digest => &s.digest,
            JobKind::Reminders => &s.reminders,
            JobKind::Replies => &s.replies,
            JobKind::Send => &s.send,
        }
    }
}

/// Run one job now; errors are logged by the caller.
pub async fn run_job(ctx: &Ctx, kind: JobKind, now: DateTime<Utc>) -> anyhow::Result<()> {
    match kind {
        JobKind::Poll => {
            super::poll::run_poll(ctx, None, now).await?;
        }
        JobKind::Notify => {
            super::notify::run_notify(ctx, now).await?;
            super::send::run_send(ctx, now).await?;
        }
        JobKind::Digest => {
            super::digest::run_digest(ctx, None, now, false).await?;
            super::send::run_send(ctx, now).await?;
        }
        JobKind::Reminders => {
            super::notify::run_reminders(ctx, now).await?;
            super::send::run_send(ctx, now).await?;
        }
        JobKind::Replies => {
            super::replies::run_replies(ctx, now).await?;
            super::send::run_send(ctx, now).await?;
        }
        JobKind::Send => {
            super::send::run_send(ctx, now).await?;
        }
    }
    Ok(())
}

/// When each job runs next after `now`.
pub fn next_runs(ctx: &Ctx, now: DateTime<Utc>) -> Vec<(JobKind, Option<DateTime<Utc>>)> {
    JobKind::ALL.iter().map(|k| (*k, k.cron(ctx).next_after(now, ctx.config.partnership.tz))).collect()
}

fn register(
    sched: JobScheduler,
    ctx: Arc<Ctx>,
    kind: JobKind,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(async move {
        let now = Utc::now();
        let Some(next) = kind.cron(&ctx).next_after(now, ctx.config.partnership.tz) else {
            tracing::warn!(job = kind.name(), "schemat ger ingen nästa körning");
            return Ok(());
        };
        let wait = (next - now).to_std().unwrap_or_default();
        let at = std::time::Instant::now() + wait;
        let job = Job::new_one_shot_at_instant_async(at, move |_, sched| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let started = Utc::now();
                tracing::info!(job = kind.name(), "startar");
                if let Err(e) = run_job(&ctx, kind, started).await {
                    tracing::error!(job = kind.name(), "misslyckades: {e:#}");
                }
                if let Err(e) = register(sched, ctx, kind).await {
                    tracing::error!(job = kind.name(), "kunde inte schemalägga nästa körning: {e:#}");
                }
            })
        })?;
        sched.add(job).await?;
        tracing::info!(job = kind.name(), next = %next, "schemalagd");
        Ok(())
    })
}

/// The daemon: send what is pending (a restart never loses mail), register
/// every job, and run until SIGTERM or Ctrl-C.
pub async fn serve(ctx: Ctx) -> anyhow::Result<()> {
    let ctx = Arc::new(ctx);
    if let Err(e) = super::send::run_send(&ctx, Utc::now()).await {
        tracing::error!("utskick vid start misslyckades: {e:#}");
    }
    let mut sched = JobScheduler::new().await?;
    for kind in JobKind::ALL {
        register(sched.clone(), ctx.clone(), kind).await?;
    }
    sched.start().await?;
    shutdown_signal().await;
    tracing::info!("avslutar");
    sched.shutdown().await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
