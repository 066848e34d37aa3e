//! Jobs: one `serve` per database. Before it runs any job the daemon takes
//! the instance lease in the database (its host, PID and a random id, and an
//! expiry it renews every few seconds). A second `serve` says once who holds
//! it and waits, taking over as soon as the holder is gone: at once when the
//! holder ran on this host and its process no longer exists (so a restart
//! after kill -9 starts immediately), otherwise when the lease expires.
//!
//! The PostgreSQL seam is in `store::lease`: there an advisory lock held by
//! the daemon's session replaces the expiry and the PID check.

use crate::instance::{Holder, InstanceId, Presence};
use crate::store::Store;
use crate::store::lease::LeaseAttempt;
use anyhow::Context as _;
use chrono::Utc;
use std::time::Duration;

/// The lease every `serve` on one database competes for.
pub const SERVE_LEASE: &str = "serve";

/// How the lease is held and waited for.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    /// How long the lease holds without renewal: how long a holder on
    /// another host (or one whose PID cannot be checked) keeps a second
    /// `serve` waiting after it died. Long enough that a daemon busy for a
    /// moment does not lose it.
    pub ttl: Duration,
    /// How often the holder renews it.
    pub renew_every: Duration,
    /// How often a waiting `serve` looks again.
    pub retry_every: Duration,
}

impl Default for LeaseTiming {
    fn default() -> LeaseTiming {
        LeaseTiming { ttl: Duration::from_secs(30), renew_every: Duration::from_secs(5), retry_every: Duration::from_secs(1) }
    }
}

fn until(ttl: Duration) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let now = Utc::now();
    (now, now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30)))
}

/// Wait until `holder` holds the lease. Safe to cancel (the daemon races it
/// against SIGTERM): an attempt either took the lease or changed nothing.
pub async fn acquire(store: &Store, holder: &Holder, timing: LeaseTiming) -> anyhow::Result<()> {
    let mut told: Option<InstanceId> = None;
    loop {
        let (now, expires) = until(timing.ttl);
        let attempt = store.lease_try_acquire(SERVE_LEASE, holder, now, expires).await.context("instanslåset i databasen")?;
        let LeaseAttempt::HeldBy { holder: other, until } = attempt else {
            tracing::info!(instance = %holder, "instanslåset taget: den här processen kör jobben");
            return Ok(());
        };
        if other.presence() == Presence::Gone
            && store.lease_take_over(SERVE_LEASE, holder, &other.id, now, expires).await.context("instanslåset i databasen")?
        {
            tracing::info!(previous = %other, "den förra instansen kör inte längre; tar över");
            return Ok(());
        }
        if told.as_ref() != Some(&other.id) {
            tracing::warn!(
                holder = %other,
                until = %until,
                "en annan psi-radar serve använder redan databasen; väntar och tar över när den slutar"
            );
            told = Some(other.id);
        }
        tokio::time::sleep(timing.retry_every).await;
    }
}

/// Keep the lease, renewing it every `renew_every`. Returns only when it is
/// lost: another instance took it over, or it could not be renewed before
/// it expired (another may take it any moment). The daemon must then stop.
pub async fn keep(store: Store, holder: Holder, timing: LeaseTiming) -> anyhow::Error {
    let (_, mut valid_until) = until(timing.ttl);
    loop {
        tokio::time::sleep(timing.renew_every).await;
        let (now, expires) = until(timing.ttl);
        match store.lease_renew(SERVE_LEASE, &holder.id, expires).await {
            Ok(true) => valid_until = expires,
            Ok(false) => {
                let by = match store.lease_holder(SERVE_LEASE).await {
                    Ok(Some((other, _))) => other.to_string(),
                    _ => "ingen".to_string(),
                };
                return anyhow::anyhow!("instanslåset togs över (nu: {by}); slutar för att inte köra jobben två gånger");
            }
            Err(e) if now >= valid_until => {
                return anyhow::anyhow!("instanslåset kunde inte förnyas innan det gick ut: {e}");
            }
            Err(e) => tracing::warn!("kunde inte förnya instanslåset, försöker igen: {e}"),
        }
    }
}

/// Let go of the lease on a clean stop, so that a waiting `serve` takes over at once.
pub async fn release(store: &Store, holder: &Holder) {
    match store.lease_release(SERVE_LEASE, &holder.id).await {
        Ok(_) => {}
        Err(e) => tracing::warn!("kunde inte släppa instanslåset (det går ut av sig självt): {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::this_host;
    use std::time::Instant;

    fn quick() -> LeaseTiming {
        LeaseTiming { ttl: Duration::from_secs(2), renew_every: Duration::from_millis(200), retry_every: Duration::from_millis(50) }
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    /// A holder on this host whose process is alive (this test process runs
    /// it; a PID of its own with another id would read as an earlier, gone
    /// process, so borrow the parent's).
    fn alive_elsewhere() -> Holder {
        let ppid = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| s.rsplit_once(") ").and_then(|(_, rest)| rest.split_whitespace().nth(1).and_then(|p| p.parse().ok())))
            .unwrap_or(1);
        Holder::new(this_host(), ppid)
    }

    #[tokio::test]
    async fn a_second_instance_waits_while_the_holder_lives_and_takes_over_when_it_lets_go() {
        let store = Store::memory().await.unwrap();
        let first = alive_elsewhere();
        acquire(&store, &first, quick()).await.unwrap();
        let keeper = tokio::spawn(keep(store.clone(), first.clone(), quick()));
        let me = Holder::current();
        // Renewed, the lease outlives its 2 s: the second waits.
        let waited = tokio::time::timeout(Duration::from_secs(3), acquire(&store, me, quick())).await;
        assert!(waited.is_err(), "the second instance must wait");
        assert_eq!(store.lease_holder(SERVE_LEASE).await.unwrap().unwrap().0, first);
        keeper.abort();
        release(&store, &first).await;
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(2), acquire(&store, me, quick())).await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_millis(500), "at once after a release: {:?}", started.elapsed());
        release(&store, me).await;
    }

    #[tokio::test]
    async fn a_dead_holder_on_this_host_is_taken_over_at_once() {
        let store = Store::memory().await.unwrap();
        let dead = Holder::new(this_host(), dead_pid());
        let long = LeaseTiming { ttl: Duration::from_secs(3600), ..quick() };
        acquire(&store, &dead, long).await.unwrap();
        let started = Instant::now();
        let me = Holder::current();
        tokio::time::timeout(Duration::from_secs(2), acquire(&store, me, long)).await.unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_millis(500), "no waiting for the hour-long lease: {:?}", started.elapsed());
        assert_eq!(&store.lease_holder(SERVE_LEASE).await.unwrap().unwrap().0, me);
        release(&store, me).await;
    }

    #[tokio::test]
    async fn a_holder_on_another_host_is_taken_over_when_its_lease_expires() {
        let store = Store::memory().await.unwrap();
        let remote = Holder::new("en-annan-värd".into(), 4242);
        acquire(&store, &remote, quick()).await.unwrap();
        let started = Instant::now();
        let me = Holder::current();
        tokio::time::timeout(Duration::from_secs(6), acquire(&store, me, quick())).await.unwrap().unwrap();
        // Stored to the second: the 2 s lease ends between 1 and 3 s later.
        assert!(started.elapsed() >= Duration::from_millis(900), "waited for the expiry: {:?}", started.elapsed());
        release(&store, me).await;
    }

    #[tokio::test]
    async fn a_holder_whose_lease_was_taken_over_learns_it_at_its_next_renewal() {
        let store = Store::memory().await.unwrap();
        let me = Holder::current();
        acquire(&store, me, quick()).await.unwrap();
        let other = alive_elsewhere();
        let (now, _) = until(quick().ttl);
        assert!(store.lease_take_over(SERVE_LEASE, &other, &me.id, now, now + chrono::Duration::hours(1)).await.unwrap());
        let lost = tokio::time::timeout(Duration::from_secs(2), keep(store.clone(), me.clone(), quick())).await.unwrap();
        assert!(lost.to_string().contains("togs över"), "{lost}");
    }
}
