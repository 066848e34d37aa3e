//! Scheduling, the daemon's last step: decides *when* each job runs, never
//! what it does. The next instant is computed in the partnership's time zone
//! (croner + chrono-tz) and registered as a one-shot job on
//! tokio-cron-scheduler, which re-registers itself after each run: no drift
//! across summer time. A job never starts before its tick (the scheduler
//! keeps whole seconds and may wake early) and is recorded as started at its
//! tick. A job never overlaps itself, a failure is logged and retried at the
//! next tick, ticks missed while the daemon was down run once at start
//! (catch-up), and SIGTERM stops new work and lets the job in hand finish or
//! leaves it safely pending. Jobs only queue mail; the `send` job, the only
//! sender, runs every minute and right after a job that queues mail. The
//! daemon runs only while it holds the database's instance lease (`lease`).

use super::Ctx;
use super::dbguard::DbGuard;
use super::lease::{self, LeaseTiming};
use crate::config::CronSpec;
use crate::domain::Lang;
use chrono::{DateTime, SubsecRound, Utc};
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

/// Run one job now; errors are logged by the caller. Only `Send` sends:
/// the others queue their mail in the outbox.
pub async fn run_job(ctx: &Ctx, kind: JobKind, now: DateTime<Utc>) -> anyhow::Result<()> {
    match kind {
        JobKind::Poll => {
            super::poll::run_poll(ctx, None, now).await?;
        }
        JobKind::Notify => {
            super::notify::run_notify(ctx, now, false).await?;
        }
        JobKind::Digest => {
            super::digest::run_digest(ctx, None, now, false).await?;
        }
        JobKind::Reminders => {
            super::notify::run_reminders(ctx, now).await?;
        }
        JobKind::Replies => {
            super::replies::run_replies(ctx, now).await?;
        }
        JobKind::Send => {
            super::send::run_send(ctx, now).await?;
        }
    }
    Ok(())
}

impl JobKind {
    /// Whether the job queues mail (the sender then runs right after it).
    pub fn queues_mail(self) -> bool {
        matches!(self, JobKind::Notify | JobKind::Digest | JobKind::Reminders | JobKind::Replies)
    }
}

/// The next tick of `cron` after `after`, to the whole second: croner keeps
/// the sub-second part of the instant it is given, and a tick at
/// 21:25:00.978 is recorded as 21:25:00, before itself.
pub fn tick_after(cron: &CronSpec, tz: chrono_tz::Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.next_after(after.trunc_subsecs(0), tz).map(|t| t.trunc_subsecs(0))
}

/// The latest tick of `cron` at or before `at`, to the whole second.
pub fn tick_at_or_before(cron: &CronSpec, tz: chrono_tz::Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.last_at_or_before(at, tz).map(|t| t.trunc_subsecs(0))
}

/// How long a job woken at `woke` must still wait for its tick: the
/// scheduler keeps whole seconds and fires up to a second early, and a job
/// that starts before its tick is later taken for one that missed it.
pub fn wait_for_tick(tick: DateTime<Utc>, woke: DateTime<Utc>) -> Duration {
    (tick - woke).to_std().unwrap_or_default()
}

/// When each job runs next after `now`.
pub fn next_runs(ctx: &Ctx, now: DateTime<Utc>) -> Vec<(JobKind, Option<DateTime<Utc>>)> {
    JobKind::ALL.iter().map(|k| (*k, tick_after(k.cron(ctx), ctx.config.partnership.tz, now))).collect()
}

/// Whether a job missed a tick: its latest scheduled instant at or before
/// `now` is later than its last recorded start. A run started at its tick
/// (scheduled runs are recorded at their tick, never earlier) or after it
/// counts as that tick's run. A job that never ran is not caught up, except
/// the poll: a new installation fetches at once.
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
        if is_missed(ctx, kind, now).await? {
            out.push(kind);
        }
    }
    Ok(out)
}

/// Whether `kind` missed a tick at `now`, by its last recorded start.
async fn is_missed(ctx: &Ctx, kind: JobKind, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let last = ctx.store.last_job_start(kind.name()).await?;
    Ok(missed(kind, last, tick_at_or_before(kind.cron(ctx), ctx.config.partnership.tz, now)))
}

/// What makes a run unnecessary, checked under the job's lock so that no
/// other run of it slips in between the check and the start.
#[derive(Debug, Clone, Copy)]
enum Unless {
    /// Run in any case.
    Never,
    /// A scheduled tick: not if a run started at or after it (a catch-up,
    /// or the same command run by hand, got there first).
    RanSince(DateTime<Utc>),
    /// Catch-up: only if the job still misses a tick (its own tick may have
    /// run since the daemon started).
    NotMissed,
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
    /// A run that started at or after this tick already did the work.
    AlreadyRan,
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
        Daemon::guarded(ctx, db)
    }

    /// A daemon whose database file `db` has watched since before it started.
    pub fn guarded(ctx: Ctx, db: DbGuard) -> Arc<Daemon> {
        Arc::new(Daemon { ctx: Arc::new(ctx), busy: Default::default(), in_flight: RwLock::new(()), db })
    }

    fn stopping(&self) -> bool {
        self.ctx.stopping.load(Ordering::SeqCst)
    }

    /// Run `kind` now unless it is already running or the daemon is stopping;
    /// a failure is logged (the next tick retries it). After a job that
    /// queues mail the sender runs at once (through the same claims as
    /// always), unless it is running already: then it claims the new mail
    /// before it finishes, or its next minute does.
    pub async fn run(&self, kind: JobKind, now: DateTime<Utc>) -> RunOutcome {
        self.run_then_send(kind, now, Unless::Never).await
    }

    /// Run `kind` for its scheduled `tick` (recorded as started at the
    /// tick), unless a run started at or after the tick already.
    pub async fn run_tick(&self, kind: JobKind, tick: DateTime<Utc>) -> RunOutcome {
        self.run_then_send(kind, tick, Unless::RanSince(tick)).await
    }

    async fn run_then_send(&self, kind: JobKind, now: DateTime<Utc>, unless: Unless) -> RunOutcome {
        let outcome = self.run_once(kind, now, unless).await;
        if matches!(outcome, RunOutcome::Done) && kind.queues_mail() {
            self.run_once(JobKind::Send, Utc::now().max(now), Unless::Never).await;
        }
        outcome
    }

    async fn run_once(&self, kind: JobKind, now: DateTime<Utc>, unless: Unless) -> RunOutcome {
        if self.stopping() {
            return RunOutcome::Stopping;
        }
        if !self.db.may_run() {
            return RunOutcome::Paused;
        }
        let Ok(_busy) = self.busy[kind.index()].try_lock() else {
            // The sender started after another job finds it busy: it claims
            // the new mail before it ends, or its next minute does.
            if kind != JobKind::Send || matches!(unless, Unless::RanSince(_)) {
                tracing::warn!(job = kind.name(), "körs fortfarande sedan förra gången; hoppar över den här körningen");
            }
            return RunOutcome::AlreadyRunning;
        };
        let _in_flight = self.in_flight.read().await;
        if self.stopping() {
            return RunOutcome::Stopping;
        }
        if self.already_done(kind, now, unless).await {
            return RunOutcome::AlreadyRan;
        }
        if matches!(unless, Unless::NotMissed) {
            tracing::info!(job = kind.name(), "körs i efterhand: missade en schemalagd körning");
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

    /// Whether `unless` makes this run unnecessary. When the store cannot
    /// say, the job runs (running twice is better than not at all).
    async fn already_done(&self, kind: JobKind, now: DateTime<Utc>, unless: Unless) -> bool {
        let check = async {
            anyhow::Ok(match unless {
                Unless::Never => false,
                Unless::RanSince(tick) => self.ctx.store.last_job_start(kind.name()).await?.is_some_and(|start| start >= tick),
                Unless::NotMissed => !is_missed(&self.ctx, kind, now).await?,
            })
        };
        match check.await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(job = kind.name(), "kunde inte läsa jobbets senaste körning; kör det: {e:#}");
                false
            }
        }
    }

    /// After downtime: run each job that missed a tick, once, in catch-up
    /// order (a missed weekly digest is sent; missed polls run once, not once
    /// per missed tick); each is checked again just before it runs, so that
    /// a tick that ran since the daemon started is not repeated. The sender
    /// runs last, when it missed a tick or a job before it queued mail.
    /// Returns what ran.
    pub async fn catch_up(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<JobKind>> {
        let mut ran = Vec::new();
        for kind in CATCH_UP_ORDER.into_iter().filter(|k| *k != JobKind::Send) {
            if self.stopping() {
                break;
            }
            if matches!(self.run_once(kind, now, Unless::NotMissed).await, RunOutcome::Done | RunOutcome::Failed(_)) {
                ran.push(kind);
            }
        }
        let unless = if ran.iter().any(|k| k.queues_mail()) { Unless::Never } else { Unless::NotMissed };
        if matches!(self.run_once(JobKind::Send, now, unless).await, RunOutcome::Done | RunOutcome::Failed(_)) {
            ran.push(JobKind::Send);
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

/// Register `kind`'s next tick after `after` (the tick that just ran, so
/// that a run that ended before the wall clock passed its own tick is not
/// registered for that tick again).
fn register(
    sched: JobScheduler,
    daemon: Arc<Daemon>,
    kind: JobKind,
    after: DateTime<Utc>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(async move {
        if daemon.stopping() {
            return Ok(());
        }
        let now = Utc::now().max(after);
        let ctx = &daemon.ctx;
        let Some(tick) = tick_after(kind.cron(ctx), ctx.config.partnership.tz, now) else {
            tracing::warn!(job = kind.name(), "schemat ger ingen nästa körning");
            return Ok(());
        };
        let at = std::time::Instant::now() + wait_for_tick(tick, Utc::now());
        let job = Job::new_one_shot_at_instant_async(at, move |_, sched| {
            let daemon = daemon.clone();
            Box::pin(async move {
                // Woken early: sleep the rest (a shutdown meanwhile is seen by `run`).
                loop {
                    let early = wait_for_tick(tick, Utc::now());
                    if early.is_zero() {
                        break;
                    }
                    tokio::time::sleep(early).await;
                }
                daemon.run_tick(kind, tick).await;
                if let Err(e) = register(sched, daemon, kind, tick).await {
                    tracing::error!(job = kind.name(), "kunde inte schemalägga nästa körning: {e:#}");
                }
            })
        })?;
        sched.add(job).await?;
        tracing::info!(job = kind.name(), next = %tick, "schemalagd");
        Ok(())
    })
}

/// How long shutdown waits for the job in hand before abandoning it (the
/// whole shutdown must finish within 10 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);

/// The daemon: take the database's instance lease (waiting while another
/// `serve` holds it), register every job, catch up on what was missed while
/// it was down (pending mail first), and run until `shutdown` resolves (the
/// binary passes [`signals`]: SIGTERM or Ctrl-C; a test, any future); then
/// stop taking work, let the job in hand finish (or abandon it safely),
/// release the lease, close the database and return. Losing the lease (it
/// was taken over) stops the daemon the same way, with an error.
pub async fn serve(ctx: Ctx, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    let holder = crate::instance::Holder::current();
    let timing = LeaseTiming::default();
    let db = DbGuard::new(&ctx.config);
    tokio::select! {
        got = acquire_lease(&ctx, &db, holder, timing) => got?,
        _ = &mut shutdown => {
            tracing::info!("avslutar innan instanslåset blev ledigt");
            ctx.store.close().await;
            return Ok(());
        }
    }
    let daemon = Daemon::guarded(ctx, db);
    let (sched, catch_up) = start_jobs(&daemon).await?;
    // A lost lease, or a deleted or replaced database file, stops the
    // daemon like a signal, then fails it.
    let failed: Option<anyhow::Error> = tokio::select! {
        _ = &mut shutdown => None,
        lost = lease::keep(daemon.ctx.store.clone(), holder.clone(), timing) => {
            tracing::error!("avslutar: {lost:#}");
            Some(lost)
        }
        // `until_gone` has logged why.
        gone = daemon.db.until_gone() => Some(gone.into()),
    };
    tracing::info!("avslutar: tar inte emot nya jobb");
    stop_jobs(&daemon, sched, catch_up).await;
    if failed.is_none() {
        // Within the 10 s: the grace above leaves 3 s for this and the close.
        let _ = tokio::time::timeout(Duration::from_millis(500), lease::release(&daemon.ctx.store, holder)).await;
    }
    // A job abandoned above may still hold a connection: do not wait for it.
    if tokio::time::timeout(Duration::from_secs(2), daemon.ctx.store.close()).await.is_err() {
        tracing::warn!("databasen stängdes inte i tid; SQLite återställer från loggen vid nästa start");
    }
    tracing::info!("avslutad");
    failed.map_or(Ok(()), Err)
}

/// Take the instance lease; a database that cannot be written pauses the
/// attempts (said once, by `db`) instead of failing the daemon.
async fn acquire_lease(ctx: &Ctx, db: &DbGuard, holder: &crate::instance::Holder, timing: LeaseTiming) -> anyhow::Result<()> {
    loop {
        match lease::acquire(&ctx.store, holder, timing).await {
            Ok(()) => {
                db.succeeded();
                return Ok(());
            }
            Err(e) if db.read_only_failure("serve", &e) => {
                while !db.may_run() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Register every job and start the scheduler; in the background, send what
/// was pending and catch up on what was missed while the daemon was down.
async fn start_jobs(daemon: &Arc<Daemon>) -> anyhow::Result<(JobScheduler, tokio::task::JoinHandle<()>)> {
    let sched = JobScheduler::new().await?;
    let now = Utc::now();
    for kind in JobKind::ALL {
        register(sched.clone(), daemon.clone(), kind, now).await?;
    }
    sched.start().await?;
    tracing::info!("psi-radar är igång");
    let daemon = daemon.clone();
    let catch_up = tokio::spawn(async move {
        // Mail that was pending when the daemon stopped goes out first.
        daemon.run(JobKind::Send, Utc::now()).await;
        match daemon.catch_up(Utc::now()).await {
            Ok(ran) if !ran.is_empty() => {
                tracing::info!(jobs = ?ran.iter().map(|k| k.name()).collect::<Vec<_>>(), "ikapp efter driftstopp")
            }
            Ok(_) => {}
            Err(e) => tracing::error!("kunde inte läsa vilka körningar som missats: {e:#}"),
        }
    });
    Ok((sched, catch_up))
}

/// Take no new work, stop the scheduler, and give the job in hand what is
/// left of [`SHUTDOWN_GRACE`].
async fn stop_jobs(daemon: &Daemon, mut sched: JobScheduler, catch_up: tokio::task::JoinHandle<()>) {
    let started = std::time::Instant::now();
    daemon.stop_taking_work();
    if let Err(e) = tokio::time::timeout(Duration::from_secs(1), sched.shutdown()).await.unwrap_or(Ok(())) {
        tracing::warn!("schemaläggaren: {e}");
    }
    daemon.stop(SHUTDOWN_GRACE.saturating_sub(started.elapsed())).await;
    catch_up.abort();
}

/// Resolves on SIGTERM or Ctrl-C: the binary's shutdown for [`serve`]. The
/// SIGTERM handler is installed when this is called, not when it is first
/// awaited, so a SIGTERM while `serve` waits for the lease ends the wait
/// instead of killing the process.
pub fn signals() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).ok()
    };
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
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

    /// The run seen in the field: replies (every five minutes) woken at
    /// 21:24:59 for its 21:25:00 tick, recorded as started at 21:24:59, and
    /// run again at the next start as "ikapp efter driftstopp".
    #[test]
    fn a_job_woken_a_second_early_waits_for_its_tick_and_is_not_caught_up_again() {
        let every_five = CronSpec::parse("0 */5 * * * *").unwrap();
        let tz = chrono_tz::Europe::Stockholm;
        let tick = at("2026-12-05T20:25:00Z"); // 21:25:00 in Stockholm
        let woke = at("2026-12-05T20:24:59.250Z");
        assert_eq!(every_five.next_after(at("2026-12-05T20:21:00Z"), tz), Some(tick));
        assert_eq!(wait_for_tick(tick, woke), Duration::from_millis(750), "it sleeps the rest");
        assert_eq!(wait_for_tick(tick, tick), Duration::ZERO);
        assert_eq!(wait_for_tick(tick, at("2026-12-05T20:25:03Z")), Duration::ZERO, "late is not early");
        // What the old scheduler recorded made the next start catch it up again.
        let restart = at("2026-12-05T20:27:10Z");
        let last_tick = every_five.last_at_or_before(restart, tz);
        assert_eq!(last_tick, Some(tick));
        assert!(missed(JobKind::Replies, Some(at("2026-12-05T20:24:59Z")), last_tick), "the bug: an early start looks missed");
        // Now the run is recorded at its tick: the restart runs nothing again.
        assert!(!missed(JobKind::Replies, Some(tick), last_tick));
        // And the tick that just ran is not registered again.
        assert_eq!(tick_after(&every_five, tz, tick), Some(at("2026-12-05T20:30:00Z")));
    }

    #[test]
    fn ticks_are_whole_seconds_whatever_the_clock_reads() {
        let every_second = CronSpec::parse("* * * * * *").unwrap();
        let tz = chrono_tz::Europe::Stockholm;
        let now = at("2026-12-06T03:15:23.978260Z");
        // croner alone keeps the fraction: the tick would be recorded before itself.
        assert_eq!(every_second.next_after(now, tz), Some(at("2026-12-06T03:15:24.978260Z")));
        assert_eq!(tick_after(&every_second, tz, now), Some(at("2026-12-06T03:15:24Z")));
        assert_eq!(tick_at_or_before(&every_second, tz, now), Some(at("2026-12-06T03:15:23Z")));
        // A run started (and recorded) in the second of the last tick is that tick's run.
        assert!(!missed(JobKind::Replies, Some(at("2026-12-06T03:15:23Z")), tick_at_or_before(&every_second, tz, now)));
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
