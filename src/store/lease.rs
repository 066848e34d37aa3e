//! Store: the instance lease (one `serve` per database). Persists who holds
//! a named lease and until when; waiting, renewing and judging whether a
//! holder is gone are the daemon's (`jobs::lease`).
//!
//! The PostgreSQL seam: there a session-level advisory lock
//! (`pg_try_advisory_lock(key)`) does this job, and the server frees it when
//! the holder's connection dies, so no expiry or PID check is needed; this
//! table would stay only to show who holds it.

use super::{Result, Store, parse_ts, ts};
use crate::instance::{Holder, InstanceId};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The outcome of one attempt to take a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseAttempt {
    /// We hold it now, until the given instant unless renewed.
    Acquired,
    /// Someone else holds it until `until`.
    HeldBy { holder: Holder, until: DateTime<Utc> },
}

impl Store {
    /// Take lease `name` for `holder` until `until` if it is free, expired at
    /// `now`, or already ours; otherwise say who holds it. One atomic upsert.
    pub async fn lease_try_acquire(&self, name: &str, holder: &Holder, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<LeaseAttempt> {
        // The holder may let go between our upsert and our look: try again then.
        for _ in 0..3 {
            let took: Option<String> = sqlx::query_scalar(
                "INSERT INTO instance_lease (name, holder_id, host, pid, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET holder_id=excluded.holder_id, host=excluded.host, pid=excluded.pid,
                     acquired_at=CASE WHEN instance_lease.holder_id = excluded.holder_id THEN instance_lease.acquired_at ELSE excluded.acquired_at END,
                     expires_at=excluded.expires_at
                 WHERE instance_lease.expires_at <= ?5 OR instance_lease.holder_id = ?2
                 RETURNING holder_id",
            )
            .bind(name)
            .bind(&holder.id.0)
            .bind(&holder.host)
            .bind(i64::from(holder.pid))
            .bind(ts(now))
            .bind(ts(until))
            .fetch_optional(&self.pool)
            .await?;
            if took.is_some() {
                return Ok(LeaseAttempt::Acquired);
            }
            if let Some((holder, until)) = self.lease_holder(name).await? {
                return Ok(LeaseAttempt::HeldBy { holder, until });
            }
        }
        Err(super::StoreError::Invalid(format!("låset «{name}» byter ägare hela tiden")))
    }

    /// Take lease `name` from `from` (a holder seen to be gone), only if it
    /// still holds it: of several waiters, one wins.
    pub async fn lease_take_over(
        &self,
        name: &str,
        holder: &Holder,
        from: &InstanceId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let r =
            sqlx::query("UPDATE instance_lease SET holder_id=?, host=?, pid=?, acquired_at=?, expires_at=? WHERE name=? AND holder_id=?")
                .bind(&holder.id.0)
                .bind(&holder.host)
                .bind(i64::from(holder.pid))
                .bind(ts(now))
                .bind(ts(until))
                .bind(name)
                .bind(&from.0)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Extend our lease to `until`. False when it is no longer ours.
    pub async fn lease_renew(&self, name: &str, holder: &InstanceId, until: DateTime<Utc>) -> Result<bool> {
        let r = sqlx::query("UPDATE instance_lease SET expires_at=? WHERE name=? AND holder_id=?")
            .bind(ts(until))
            .bind(name)
            .bind(&holder.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Let go of our lease (a clean stop): a waiting instance takes it at once.
    pub async fn lease_release(&self, name: &str, holder: &InstanceId) -> Result<bool> {
        let r =
            sqlx::query("DELETE FROM instance_lease WHERE name=? AND holder_id=?").bind(name).bind(&holder.0).execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }

    /// Who holds lease `name`, and until when.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(Holder, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT holder_id, host, pid, expires_at FROM instance_lease WHERE name=?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let pid = u32::try_from(r.get::<i64, _>(2)).unwrap_or(0);
        let holder = Holder { id: InstanceId(r.get(0)), host: r.get(1), pid };
        Ok(Some((holder, parse_ts(&r.get::<String, _>(3))?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_expires_or_lets_go() {
        let store = Store::memory().await.unwrap();
        let (a, b) = (Holder::new("värd-a".into(), 10), Holder::new("värd-b".into(), 20));
        let now = at("2026-11-23T07:00:00Z");
        let ttl = Duration::seconds(30);
        assert_eq!(store.lease_try_acquire("serve", &a, now, now + ttl).await.unwrap(), LeaseAttempt::Acquired);
        let held = store.lease_try_acquire("serve", &b, now, now + ttl).await.unwrap();
        assert_eq!(held, LeaseAttempt::HeldBy { holder: a.clone(), until: now + ttl });
        // Taking it again is fine for its holder; renewed, it outlives its first expiry.
        assert_eq!(store.lease_try_acquire("serve", &a, now, now + ttl).await.unwrap(), LeaseAttempt::Acquired);
        assert!(store.lease_renew("serve", &a.id, now + Duration::seconds(60)).await.unwrap());
        assert!(matches!(store.lease_try_acquire("serve", &b, now + ttl, now + ttl * 2).await.unwrap(), LeaseAttempt::HeldBy { .. }));
        // Expired: b takes it, and a's renewal is refused.
        let later = now + Duration::seconds(61);
        assert_eq!(store.lease_try_acquire("serve", &b, later, later + ttl).await.unwrap(), LeaseAttempt::Acquired);
        assert!(!store.lease_renew("serve", &a.id, later + ttl).await.unwrap());
        assert!(!store.lease_release("serve", &a.id).await.unwrap(), "a cannot release what it lost");
        // b lets go: a takes it at once.
        assert!(store.lease_release("serve", &b.id).await.unwrap());
        assert_eq!(store.lease_try_acquire("serve", &a, later, later + ttl).await.unwrap(), LeaseAttempt::Acquired);
    }

    #[tokio::test]
    async fn a_take_over_succeeds_only_from_the_holder_named() {
        let store = Store::memory().await.unwrap();
        let (dead, x, y) = (Holder::new("v".into(), 1), Holder::new("v".into(), 2), Holder::new("v".into(), 3));
        let now = at("2026-11-23T07:00:00Z");
        let until = now + Duration::hours(1);
        store.lease_try_acquire("serve", &dead, now, until).await.unwrap();
        assert!(store.lease_take_over("serve", &x, &dead.id, now, until).await.unwrap());
        assert!(!store.lease_take_over("serve", &y, &dead.id, now, until).await.unwrap(), "the second waiter loses");
        assert_eq!(store.lease_holder("serve").await.unwrap().unwrap().0, x);
    }
}
