//! Sources → adapters, off the async workers: every page, feed and API
//! answer is parsed on tokio's blocking pool, one at a time in the process
//! (a parsed page is the largest thing the daemon holds), within a time
//! budget. The daemon's one thread keeps running the scheduler, the outbox
//! and SIGTERM meanwhile. A parse that overruns is abandoned, not stopped (a
//! blocking task cannot be), so it keeps its turn until it ends: the page
//! budget (`html::PAGE_BUDGET`) keeps that short.

use super::AdapterError;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long one parse may take (a page within budget takes well under a second).
pub const PARSE_TIME: Duration = Duration::from_secs(20);

/// One parse at a time.
static PARSING: Semaphore = Semaphore::const_new(1);

/// Run `parse` on the blocking pool, within [`PARSE_TIME`].
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
    let turn = PARSING.acquire().await.map_err(|e| AdapterError::Aborted(e.to_string()))?;
    let task = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        parse()
    });
    match tokio::time::timeout(budget, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(AdapterError::Aborted(join.to_string())),
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
    }
}
