//! Sources → adapters, off the async workers: every page, feed and API
//! answer is parsed on a thread of its own, one at a time (a parsed page is
//! the largest thing the daemon holds), within a time budget. The daemon's
//! one async thread keeps running the scheduler, the outbox and SIGTERM
//! meanwhile. A parse that overruns is abandoned, not stopped (a thread
//! cannot be), so it keeps its turn until it ends: the page budget
//! (`html::PAGE_BUDGET`) keeps that short. The thread never holds up the
//! process's exit.
//!
//! One long-lived thread rather than tokio's blocking pool: the allocator
//! gives each thread that parses an arena of its own and keeps a parsed
//! page's memory there after it is freed, so parses spread over the pool's
//! threads cost a page's worth of memory per thread (measured on the hostile
//! poll: 71 MB peak with the pool, 60 MB with two arenas in all).

use super::AdapterError;
use std::sync::OnceLock;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long one parse may take (a page within budget takes well under a second).
pub const PARSE_TIME: Duration = Duration::from_secs(20);

/// One parse at a time: its time budget starts when its turn comes.
static TURN: Semaphore = Semaphore::const_new(1);

type Job = Box<dyn FnOnce() + Send>;

/// The parsing thread, started on first use (`None`: it could not be started).
fn parser() -> Option<&'static Sender<Job>> {
    static PARSER: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    PARSER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let spawned = std::thread::Builder::new().name("psi-radar-parse".into()).spawn(move || {
                for job in rx {
                    job();
                }
            });
            match spawned {
                Ok(_) => Some(tx),
                Err(e) => {
                    tracing::error!("kunde inte starta tolkningstråden: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// Run `parse` on the parsing thread, within [`PARSE_TIME`].
pub async fn parse<T, F>(parse: F) -> Result<T, AdapterError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AdapterError> + Send + 'static,
{
    parse_within(PARSE_TIME, parse).await
}

/// [`parse`] with another time budget.
pub async fn parse_within<T, F>(budget: Duration, parse: F) -> Result<T, AdapterError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AdapterError> + Send + 'static,
{
    let turn = TURN.acquire().await.map_err(|e| AdapterError::Aborted(e.to_string()))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _turn = turn;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).unwrap_or_else(|panic| {
            let why = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            Err(AdapterError::Aborted(why.unwrap_or_else(|| "panik i tolkningen".into())))
        });
        let _ = tx.send(result);
    });
    let sent = parser().map(|p| p.send(job));
    if !matches!(sent, Some(Ok(()))) {
        return Err(AdapterError::Aborted("tolkningstråden är inte igång".into()));
    }
    match tokio::time::timeout(budget, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(AdapterError::Aborted("tolkningstråden svarade inte".into())),
        Err(_) => Err(AdapterError::TooSlow { secs: budget.as_secs().max(1) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_parse_is_given_up_and_keeps_its_turn_until_it_ends() {
        let t = Instant::now();
        let slow = parse_within(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_millis(400));
            Ok(1)
        })
        .await;
        assert_eq!(slow, Err(AdapterError::TooSlow { secs: 1 }));
        assert!(t.elapsed() < Duration::from_millis(300), "given up at once: {:?}", t.elapsed());
        // The current-thread runtime was free meanwhile, and the next parse
        // waits for the abandoned one to end.
        let next = parse(|| Ok(2)).await;
        assert_eq!(next, Ok(2));
        assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
        let e = parse(|| -> Result<(), AdapterError> { Err(AdapterError::Invalid("trasig".into())) }).await.unwrap_err();
        assert_eq!(e.to_string(), "trasig");
        // A panic is that parse's failure; the thread parses on.
        let e = parse(|| -> Result<(), AdapterError> { panic!("oväntat") }).await.unwrap_err();
        assert_eq!(e, AdapterError::Aborted("oväntat".into()));
        assert_eq!(parse(|| Ok(3)).await, Ok(3));
    }
}
