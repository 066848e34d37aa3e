//! Scheduling, the daemon's last step: decides *when* each job runs, never
//! what it does. The next instant is computed in the partnership's time zone
//! (croner + chrono-tz) and registered as a one-shot job on
//! tokio-cron-scheduler, which re-registers itself after each run: no drift
//! across summer time. A job never overlaps itself, a failure is logged and
//! retried at the next tick, ticks missed while the daemon was down run once
//! at start (catch-up), and SIGTERM stops new work and lets the job in hand
//! finish or leaves it safely pending.

use super::Ctx;
use super::dbguard::DbGuard;
use crate::config::CronSpec;
use crate::domain::Lang;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
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

    /// What the job does, for a coordinator reading `status`.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            JobKind::Poll => lang.pick("hämtar utlysningar och klassificerar", "fetches and classifies calls"),
            JobKind::Notify => lang.pick("medlemsutskick", "member notifications"),
            JobKind::Digest => lang.pick("veckobrev till AU", "weekly digest to AU"),
            JobKind::Reminders => lang.pick("påminnelser före deadline", "deadline reminders"),
            JobKind::Replies => lang.pick("läser svarsmejl", "reads reply mail"),
            JobKind::Send => lang.pick("skickar utkorgen", "sends the outbox"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    pub fn cron(self, ctx: &Ctx) -> &CronSpec {
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

/// Whether a job missed a tick: its latest scheduled instant at or before
/// `now` is later than its last recorded start. A job that never ran is not
/// caught up, except the poll: a new installation fetches at once.
pub fn missed(kind: JobKind, last_start: Option<DateTime<Utc>>, last_tick: Option<DateTime<Utc>>) -> bool {
    match (last_start, last_tick) {
        (Some(start), Some(tick)) => start < tick,
        (None, _) => kind == JobKind::Poll,
        (Some(_), None) => false,
    }
}

/// The order catch-up runs jobs in: replies first (the digest shows them),
/// then the pipeline from polling to mail, and the outbox last.
pub const CATCH_UP_ORDER: [JobKind; JobKind::ALL.len()] =
    [JobKind::Replies, JobKind::Poll, JobKind::Notify, JobKind::Digest, JobKind::Reminders, JobKind::Send];

/// The jobs that missed a tick while the daemon was down, in catch-up order.
pub async fn missed_jobs(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<Vec<JobKind>> {
    let mut out = Vec::new();
    for kind in CATCH_UP_ORDER {
        let last = ctx.store.last_job_start(kind.name()).await?;
        if missed(kind, last, kind.cron(ctx).last_at_or_before(now, ctx.config.partnership.tz)) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// How one attempt to run a job ended.
#[derive(Debug)]
pub enum RunOutcome {
    Done,
    Failed(anyhow::Error),
    /// The same job was still running (it never overlaps itself).
    AlreadyRunning,
    /// The daemon is shutting down.
    Stopping,
    /// Paused: the database cannot be written (see `dbguard`).
    Paused,
}

/// The daemon's jobs: one lock per job so that a job never overlaps itself,
/// and an in-flight lock that shutdown waits on.
pub struct Daemon {
    pub ctx: Arc<Ctx>,
    busy: [Mutex<()>; JobKind::ALL.len()],
    in_flight: RwLock<()>,
    db: DbGuard,
}

impl Daemon {
    pub fn new(ctx: Ctx) -> Arc<Daemon> {
        let db = DbGuard::new(&ctx.config);
        Arc::new(Daemon { ctx: Arc::new(ctx), busy: Default::default(), in_flight: RwLock::new(()), db })
    }

    fn stopping(&self) -> bool {
        self.ctx.stopping.load(Ordering::SeqCst)
    }

    /// Run `kind` now unless it is already running or the daemon is stopping;
    /// a failure is logged (the next tick retries it).
    pub async fn run(&self, kind: JobKind, now: DateTime<Utc>) -> RunOutcome {
        if self.stopping() {
            return RunOutcome::Stopping;
        }
        if !self.db.may_run() {
            return RunOutcome::Paused;
        }
        let Ok(_busy) = self.busy[kind.index()].try_lock() else {
            tracing::warn!(job = kind.name(), "körs fortfarande sedan förra gången; hoppar över den här körningen");
            return RunOutcome::AlreadyRunning;
        };
        let _in_flight = self.in_flight.read().await;
        if self.stopping() {
            return RunOutcome::Stopping;
        }
        tracing::info!(job = kind.name(), "startar");
        // On a task of its own, so that even a panic in a job is only that
        // run's failure: the daemon and the job's next tick live on.
        let ctx = self.ctx.clone();
        let outcome = match tokio::spawn(async move { run_job(&ctx, kind, now).await }).await {
            Ok(outcome) => outcome,
            Err(e) => {
                let why = format!("jobbet avbröts oväntat: {e}");
                // Its run would otherwise show as running in `status`. (A job
                // never overlaps itself, so an unfinished row of it is this one.)
                if let Err(e) = self.ctx.store.fail_unfinished(kind.name(), &why, Utc::now()).await {
                    tracing::error!(job = kind.name(), "kunde inte registrera avbrottet: {e}");
                }
                Err(anyhow::anyhow!(why))
            }
        };
        match outcome {
            Ok(()) => {
                self.db.succeeded();
                tracing::info!(job = kind.name(), "klart");
                RunOutcome::Done
            }
            Err(e) => {
                if !self.db.read_only_failure(kind.name(), &e) {
                    tracing::error!(job = kind.name(), "misslyckades, försöker igen vid nästa körning: {e:#}");
                }
                RunOutcome::Failed(e)
            }
        }
    }

    /// After downtime: run each job that missed a tick, once, in catch-up
    /// order (a missed weekly digest is sent; missed polls run once, not once
    /// per missed tick). Returns what ran.
    pub async fn catch_up(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<JobKind>> {
        let missed = missed_jobs(&self.ctx, now).await?;
        let mut ran = Vec::new();
        for kind in missed {
            if self.stopping() {
                break;
            }
            tracing::info!(job = kind.name(), "körs i efterhand: missade en schemalagd körning");
            if !matches!(self.run(kind, now).await, RunOutcome::AlreadyRunning | RunOutcome::Stopping | RunOutcome::Paused) {
                ran.push(kind);
            }
        }
        Ok(ran)
    }

    /// Take no new work: jobs not yet started return `Stopping`, and the
    /// outbox sender stops before its next message.
    pub fn stop_taking_work(&self) {
        self.ctx.stopping.store(true, Ordering::SeqCst);
    }

    /// Stop taking new work and wait up to `grace` for the job in hand.
    /// Returns false when a job was abandoned: what it had not finished
    /// stays in the store (outbox rows stay pending) for the next start.
    pub async fn stop(&self, grace: Duration) -> bool {
        self.stop_taking_work();
        let finished = tokio::time::timeout(grace, self.in_flight.write()).await.is_ok();
        if !finished {
            tracing::warn!("ett jobb pågick fortfarande och avbröts; det som inte hann bli klart görs vid nästa start");
        }
        finished
    }
}

fn register(
    sched: JobScheduler,
    daemon: Arc<Daemon>,
    kind: JobKind,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(async move {
        if daemon.stopping() {
            return Ok(());
        }
        let now = Utc::now();
        let ctx = &daemon.ctx;
        let Some(next) = kind.cron(ctx).next_after(now, ctx.config.partnership.tz) else {
            tracing::warn!(job = kind.name(), "schemat ger ingen nästa körning");
            return Ok(());
        };
        let wait = (next - now).to_std().unwrap_or_default();
        let at = std::time::Instant::now() + wait;
        let job = Job::new_one_shot_at_instant_async(at, move |_, sched| {
            let daemon = daemon.clone();
            Box::pin(async move {
                daemon.run(kind, Utc::now()).await;
                if let Err(e) = register(sched, daemon, kind).await {
                    tracing::error!(job = kind.name(), "kunde inte schemalägga nästa körning: {e:#}");
                }
            })
        })?;
        sched.add(job).await?;
        tracing::info!(job = kind.name(), next = %next, "schemalagd");
        Ok(())
    })
}

/// How long shutdown waits for the job in hand before abandoning it (the
/// whole shutdown must finish within 10 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);

/// The daemon: register every job, catch up on what was missed while it was
/// down (pending mail first), and run until SIGTERM or Ctrl-C; then stop
/// taking work, let the job in hand finish (or abandon it safely), close the
/// database and return.
pub async fn serve(ctx: Ctx) -> anyhow::Result<()> {
    let daemon = Daemon::new(ctx);
    let mut sched = JobScheduler::new().await?;
    for kind in JobKind::ALL {
        register(sched.clone(), daemon.clone(), kind).await?;
    }
    sched.start().await?;
    tracing::info!("psi-radar är igång");
    let catch_up = {
        let daemon = daemon.clone();
        tokio::spawn(async move {
            // Mail that was pending when the daemon stopped goes out first.
            daemon.run(JobKind::Send, Utc::now()).await;
            match daemon.catch_up(Utc::now()).await {
                Ok(ran) if !ran.is_empty() => {
                    tracing::info!(jobs = ?ran.iter().map(|k| k.name()).collect::<Vec<_>>(), "ikapp efter driftstopp")
                }
                Ok(_) => {}
                Err(e) => tracing::error!("kunde inte läsa vilka körningar som missats: {e:#}"),
            }
        })
    };
    // A deleted or replaced database file stops the daemon like a signal, then fails it.
    let gone = tokio::select! { _ = shutdown_signal() => None, gone = daemon.db.until_gone() => Some(gone) };
    tracing::info!("avslutar: tar inte emot nya jobb");
    let started = std::time::Instant::now();
    daemon.stop_taking_work();
    if let Err(e) = tokio::time::timeout(Duration::from_secs(1), sched.shutdown()).await.unwrap_or(Ok(())) {
        tracing::warn!("schemaläggaren: {e}");
    }
    daemon.stop(SHUTDOWN_GRACE.saturating_sub(started.elapsed())).await;
    catch_up.abort();
    // A job abandoned above may still hold a connection: do not wait for it.
    if tokio::time::timeout(Duration::from_secs(2), daemon.ctx.store.close()).await.is_err() {
        tracing::warn!("databasen stängdes inte i tid; SQLite återställer från loggen vid nästa start");
    }
    tracing::info!("avslutad");
    gone.map_or(Ok(()), |g| Err(g.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_job_is_missed_when_its_last_tick_came_after_its_last_start() {
        let tick = Some(at("2026-03-30T05:00:00Z"));
        assert!(missed(JobKind::Digest, Some(at("2026-03-23T05:00:01Z")), tick));
        assert!(!missed(JobKind::Digest, Some(at("2026-03-30T05:00:00Z")), tick));
        assert!(!missed(JobKind::Digest, Some(at("2026-03-30T06:00:00Z")), tick));
        // Never ran: only the poll starts at once on a new installation.
        assert!(missed(JobKind::Poll, None, tick));
        assert!(!missed(JobKind::Digest, None, tick));
        assert!(!missed(JobKind::Send, None, None));
    }

    #[test]
    fn catch_up_runs_replies_before_the_digest_and_the_outbox_last() {
        let pos = |k: JobKind| CATCH_UP_ORDER.iter().position(|x| *x == k).unwrap();
        assert!(pos(JobKind::Replies) < pos(JobKind::Digest));
        assert!(pos(JobKind::Poll) < pos(JobKind::Notify));
        assert_eq!(CATCH_UP_ORDER.last(), Some(&JobKind::Send));
        assert_eq!(CATCH_UP_ORDER.len(), JobKind::ALL.len());
    }
}
