//! Store: the outbox. A message is composed and stored here before any send;
//! the unique key (kind, period, recipient) makes composing idempotent. A
//! sender claims a row before it hands it to SMTP (status `sending`, who,
//! until when) and records the result only while the claim is its own; the
//! policy around claims (lease length, dead holders) is the sender's
//! (`mail::outbox`).

use super::{Result, Store, StoreError, parse_ts, ts};
use crate::domain::{CallRef, MemberId};
use crate::instance::{Holder, InstanceId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::pool::PoolConnection;

/// A message to store: the composed RFC 822 bytes and what identifies it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: String,
    pub period: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub body: Vec<u8>,
    /// The HTML part, kept for previews.
    pub html: String,
    pub call_refs: String,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Waiting to be sent (at `next_attempt_at`, when set).
    Pending,
    /// Claimed by a sender, which is handing it to the server now.
    Sending,
    Sent,
    /// Given up (a permanent refusal, or too many attempts).
    Failed,
    /// Not to be sent (its recipient was forgotten).
    Cancelled,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        [OutboxStatus::Pending, OutboxStatus::Sending, OutboxStatus::Sent, OutboxStatus::Failed, OutboxStatus::Cancelled]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the stored word (`row.status == "sent"`), for scripts and tests.
impl PartialEq<&str> for OutboxStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    #[serde(skip)]
    pub body: Vec<u8>,
    #[serde(skip)]
    pub html: String,
    pub created_at: DateTime<Utc>,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The calls the message is about (`PSI-0042`), in the order stored.
    pub refs: Vec<CallRef>,
}

const COLS: &str = "id, kind, period, recipient, subject, message_id, body, html, created_at, status, attempts, next_attempt_at, last_error, sent_at, call_refs";

fn row(r: sqlx::sqlite::SqliteRow) -> Result<OutboxRow> {
    let opt = |s: Option<String>| s.and_then(|s| parse_ts(&s).ok());
    Ok(OutboxRow {
        id: r.get(0),
        kind: r.get(1),
        period: r.get(2),
        recipient: r.get(3),
        subject: r.get(4),
        message_id: r.get(5),
        body: r.get(6),
        html: r.get(7),
        created_at: parse_ts(&r.get::<String, _>(8))?,
        status: {
            let s: String = r.get(9);
            OutboxStatus::parse(&s).ok_or_else(|| StoreError::Invalid(format!("okänd status «{s}» i utkorgen")))?
        },
        attempts: r.get(10),
        next_attempt_at: opt(r.get(11)),
        last_error: r.get(12),
        sent_at: opt(r.get(13)),
        refs: r.get::<String, _>(14).split_whitespace().filter_map(CallRef::parse).collect(),
    })
}

impl Store {
    /// Queue a message. Returns `Some(id)` when it was new, `None` when a
    /// message with the same (kind, period, recipient) was already queued.
    pub async fn enqueue(&self, m: &NewMessage, now: DateTime<Utc>) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO outbox (kind, period, recipient, subject, message_id, body, html, call_refs, created_at, status, next_attempt_at)
             VALUES (?,?,?,?,?,?,?,?,?, 'pending', ?)
             ON CONFLICT (kind, period, recipient) DO NOTHING RETURNING id",
        )
        .bind(&m.kind)
        .bind(&m.period)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.message_id)
        .bind(&m.body)
        .bind(&m.html)
        .bind(&m.call_refs)
        .bind(ts(now))
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Whether a message of this kind and period to this recipient exists.
    pub async fn outbox_has(&self, kind: &str, period: &str, recipient: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind=? AND period=? AND recipient=?")
            .bind(kind)
            .bind(period)
            .bind(recipient)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Every message, or only those not yet sent (pending, or being sent now).
    pub async fn outbox_list(&self, pending_only: bool) -> Result<Vec<OutboxRow>> {
        let sql = if pending_only {
            format!("SELECT {COLS} FROM outbox WHERE status IN ('pending', 'sending') ORDER BY id")
        } else {
            format!("SELECT {COLS} FROM outbox ORDER BY id")
        };
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.into_iter().map(row).collect()
    }

    /// Messages that failed permanently and have not been reported in a digest yet.
    pub async fn outbox_failed_since(&self, since: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        let sql = format!("SELECT {COLS} FROM outbox WHERE status='failed' AND created_at > ? ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ts(since)).fetch_all(&self.pool).await?.into_iter().map(row).collect()
    }

    /// Hold every message due at `now` until `until` (the server is down):
    /// they then go out together, in queue order. Returns how many waited.
    pub async fn outbox_defer_due(&self, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<u64> {
        let r =
            sqlx::query("UPDATE outbox SET next_attempt_at=? WHERE status='pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)")
                .bind(ts(until))
                .bind(ts(now))
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected())
    }

    /// Remember which member a queued message is about (idempotent).
    pub async fn set_message_member(&self, message_id: &str, member: &MemberId) -> Result<()> {
        sqlx::query("INSERT INTO message_members (message_id, member_id) VALUES (?,?) ON CONFLICT (message_id) DO NOTHING")
            .bind(message_id)
            .bind(member.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The member a message of ours was about, by its Message-ID.
    pub async fn member_of_message(&self, message_id: &str) -> Result<Option<MemberId>> {
        let id: Option<String> = sqlx::query_scalar("SELECT member_id FROM message_members WHERE message_id=?")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        id.map(|s| MemberId::parse(&s).map_err(StoreError::Invalid)).transpose()
    }

    /// The call references named by a message we sent, by its Message-ID.
    pub async fn refs_of_message(&self, message_id: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT call_refs FROM outbox WHERE message_id=?").bind(message_id).fetch_optional(&self.pool).await?)
    }
}

impl Store {
    /// When the last digest before `period` was composed.
    pub async fn last_digest_before(&self, period: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = sqlx::query_scalar("SELECT MAX(created_at) FROM outbox WHERE kind='digest' AND period < ?")
            .bind(period)
            .fetch_one(&self.pool)
            .await?;
        Ok(s.and_then(|s| parse_ts(&s).ok()))
    }

    /// The call references already sent to `recipient` in messages of `kind`.
    pub async fn refs_sent_to(&self, kind: &str, recipient: &str) -> Result<std::collections::HashSet<String>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT call_refs FROM outbox WHERE kind=? AND recipient=?")
            .bind(kind)
            .bind(recipient)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().flat_map(|r| r.split_whitespace().map(str::to_string)).collect())
    }
}

/// A message claimed by one sender: the row as it was claimed, and the
/// connection the claim was made on, kept so that the record after the
/// server's answer never waits for a free connection. Consumed by
/// [`Claimed::sent`] or [`Claimed::failed`]; dropped unrecorded (a crash, an
/// abandoned job), the claim stays until it expires or its holder is seen to
/// be gone.
pub struct Claimed {
    pub row: OutboxRow,
    owner: InstanceId,
    conn: PoolConnection<sqlx::Sqlite>,
}

/// Clears the claim columns (a record, or a released claim, ends the claim).
const UNCLAIM: &str = "claim_owner=NULL, claim_host=NULL, claim_pid=NULL, claim_expires_at=NULL";

impl Store {
    /// Claim the oldest message due at `now` for `holder` until `until`: a
    /// pending one whose time has come, or one whose earlier claim expired
    /// (its sender crashed). One atomic statement, so that senders in several
    /// processes interleave and never get the same row. Returns `None` when
    /// nothing is due.
    ///
    /// The PostgreSQL seam: there the same claim is
    /// `UPDATE outbox SET status='sending', … WHERE id IN (SELECT id FROM
    /// outbox WHERE (status='pending' AND …) OR (status='sending' AND
    /// claim_expires_at <= $now) ORDER BY id LIMIT $n FOR UPDATE SKIP LOCKED)
    /// RETURNING …`, so that concurrent claimers skip each other's rows
    /// instead of waiting. SQLite has one writer at a time: a single UPDATE
    /// takes the write lock before it reads, so its subquery sees no row that
    /// another claimer is about to take.
    pub async fn claim_next(&self, holder: &Holder, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<Option<Claimed>> {
        let mut conn = self.pool.acquire().await?;
        // Two index lookups (status, time) rather than one OR over the whole
        // table, which keeps every sent message ever.
        let sql = format!(
            "UPDATE outbox SET status='sending', claim_owner=?, claim_host=?, claim_pid=?, claim_expires_at=?
             WHERE id IN (SELECT id FROM (
                     SELECT id FROM outbox WHERE status='pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?5)
                     UNION ALL
                     SELECT id FROM outbox WHERE status='sending' AND claim_expires_at <= ?5)
                 ORDER BY id LIMIT 1)
             RETURNING {COLS}"
        );
        let got = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&holder.id.0)
            .bind(&holder.host)
            .bind(i64::from(holder.pid))
            .bind(ts(until))
            .bind(ts(now))
            .fetch_optional(&mut *conn)
            .await?;
        match got {
            None => Ok(None),
            Some(r) => Ok(Some(Claimed { row: row(r)?, owner: holder.id.clone(), conn })),
        }
    }

    /// The holders of the claims in flight (the sender checks which are gone).
    pub async fn outbox_claim_holders(&self) -> Result<Vec<Holder>> {
        let rows = sqlx::query(
            "SELECT DISTINCT claim_owner, claim_host, claim_pid FROM outbox
             WHERE status='sending' AND claim_owner IS NOT NULL AND claim_host IS NOT NULL AND claim_pid IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let pid = u32::try_from(r.get::<i64, _>(2)).ok()?;
                Some(Holder { id: InstanceId(r.get(0)), host: r.get(1), pid })
            })
            .collect())
    }

    /// Give back every claim of `owner` (a sender that is gone): its messages
    /// are pending again. Returns how many.
    pub async fn outbox_release_claims_of(&self, owner: &InstanceId) -> Result<u64> {
        let sql = format!("UPDATE outbox SET status='pending', {UNCLAIM} WHERE status='sending' AND claim_owner=?");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&owner.0).execute(&self.pool).await?.rows_affected())
    }
}

impl Claimed {
    /// Record the server's acceptance, only if the claim is still ours.
    /// Returns false when it is not (it expired and another sender took the
    /// message over, or the message was cancelled meanwhile): the row is
    /// then left to whoever holds it.
    pub async fn sent(mut self, response: &str, now: DateTime<Utc>) -> Result<bool> {
        let sql = format!(
            "UPDATE outbox SET status='sent', sent_at=?, server_response=?, attempts=attempts+1, last_error=NULL, {UNCLAIM}
             WHERE id=? AND status='sending' AND claim_owner=?"
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ts(now))
            .bind(response)
            .bind(self.row.id)
            .bind(&self.owner.0)
            .execute(&mut *self.conn)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Record a failed attempt, only if the claim is still ours: retry at
    /// `retry_at` (pending again), or give up (`None`: failed).
    pub async fn failed(mut self, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool> {
        let sql = format!(
            "UPDATE outbox SET attempts=attempts+1, last_error=?, next_attempt_at=?,
                 status=CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, {UNCLAIM}
             WHERE id=? AND status='sending' AND claim_owner=?"
        );
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(error)
            .bind(retry_at.map(ts))
            .bind(retry_at.map(ts))
            .bind(self.row.id)
            .bind(&self.owner.0)
            .execute(&mut *self.conn)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn holder(pid: u32) -> Holder {
        Holder::new("testvärd".into(), pid)
    }

    async fn file_store(dir: &std::path::Path) -> Store {
        Store::open(&format!("sqlite://{}", dir.join("claims.db").display())).await.unwrap()
    }

    async fn queue(store: &Store, n: usize, now: DateTime<Utc>) {
        for i in 0..n {
            let m = NewMessage {
                kind: "notify".into(),
                period: "2026-W48".into(),
                recipient: format!("m{i}@example.org"),
                subject: "Ämne".into(),
                message_id: format!("<m{i}@example.org>"),
                body: b"Subject: x\r\n\r\nhej".to_vec(),
                html: String::new(),
                call_refs: String::new(),
            };
            store.enqueue(&m, now).await.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_claimers_never_get_the_same_row() {
        let tmp = tempfile::tempdir().unwrap();
        // Two stores on one file: two pools, as two processes would have.
        let (a, b) = (file_store(tmp.path()).await, file_store(tmp.path()).await);
        let now = at("2026-11-23T07:00:00Z");
        queue(&a, 60, now).await;
        let claim_all = |store: Store, who: Holder| async move {
            let mut ids = Vec::new();
            while let Some(c) = store.claim_next(&who, now, now + Duration::minutes(5)).await.unwrap() {
                ids.push(c.row.id);
                assert!(c.sent("250 ok", now).await.unwrap(), "our own claim is recorded");
            }
            ids
        };
        let (x, y) = tokio::join!(tokio::spawn(claim_all(a.clone(), holder(1))), tokio::spawn(claim_all(b, holder(2))));
        let (x, y) = (x.unwrap(), y.unwrap());
        let mut all: Vec<i64> = x.iter().chain(&y).copied().collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!((n, all.len()), (60, 60), "each row claimed once: {x:?} {y:?}");
        assert!(a.outbox_list(false).await.unwrap().iter().all(|r| r.status == OutboxStatus::Sent));
    }

    #[tokio::test]
    async fn a_claimed_row_is_not_due_until_its_claim_expires_then_it_is_reclaimed() {
        let store = Store::memory().await.unwrap();
        let now = at("2026-11-23T07:00:00Z");
        queue(&store, 1, now).await;
        let (crashed, next) = (holder(1), holder(2));
        let c = store.claim_next(&crashed, now, now + Duration::minutes(5)).await.unwrap().unwrap();
        let id = c.row.id;
        drop(c); // the sender died between its claim and its record
        assert_eq!(store.outbox_list(true).await.unwrap()[0].status, OutboxStatus::Sending);
        assert!(store.claim_next(&next, now + Duration::minutes(4), now + Duration::minutes(9)).await.unwrap().is_none());
        let again = store.claim_next(&next, now + Duration::minutes(5), now + Duration::minutes(10)).await.unwrap().unwrap();
        assert_eq!(again.row.id, id);
        assert_eq!(again.row.attempts, 0, "a crash is not a failed attempt");
        assert!(again.sent("250 ok", now + Duration::minutes(5)).await.unwrap());
    }

    #[tokio::test]
    async fn a_record_is_refused_when_the_claim_is_no_longer_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let store = file_store(tmp.path()).await;
        let now = at("2026-11-23T07:00:00Z");
        queue(&store, 2, now).await;
        // A slow sender's claim expires and another sender takes the message over.
        let stale = store.claim_next(&holder(1), now, now + Duration::minutes(5)).await.unwrap().unwrap();
        let later = now + Duration::minutes(6);
        let current = store.claim_next(&holder(2), later, later + Duration::minutes(5)).await.unwrap().unwrap();
        assert_eq!(current.row.id, stale.row.id, "the expired claim was taken over");
        assert!(!stale.sent("250 ok", later).await.unwrap(), "not ours any more");
        assert!(current.sent("250 ok", later).await.unwrap());
        let rows = store.outbox_list(false).await.unwrap();
        assert_eq!((rows[0].status, rows[0].attempts), (OutboxStatus::Sent, 1), "recorded once");
        // A failure is refused the same way.
        let stale = store.claim_next(&holder(1), now, now + Duration::minutes(5)).await.unwrap().unwrap();
        let current = store.claim_next(&holder(2), later, later + Duration::minutes(5)).await.unwrap().unwrap();
        assert!(!stale.failed("421 try later", Some(later)).await.unwrap());
        assert!(current.sent("250 ok", later).await.unwrap());
        assert!(store.outbox_list(false).await.unwrap().iter().all(|r| r.status == OutboxStatus::Sent && r.last_error.is_none()));
    }

    #[tokio::test]
    async fn the_claims_of_a_holder_can_be_given_back() {
        let store = Store::memory().await.unwrap();
        let now = at("2026-11-23T07:00:00Z");
        queue(&store, 2, now).await;
        let gone = holder(7);
        for _ in 0..2 {
            drop(store.claim_next(&gone, now, now + Duration::hours(1)).await.unwrap().unwrap());
        }
        assert_eq!(store.outbox_claim_holders().await.unwrap(), vec![gone.clone()]);
        assert_eq!(store.outbox_release_claims_of(&gone.id).await.unwrap(), 2);
        assert!(store.outbox_claim_holders().await.unwrap().is_empty());
        let c = store.claim_next(&holder(8), now, now + Duration::hours(1)).await.unwrap().unwrap();
        assert_eq!(c.row.status, OutboxStatus::Sending);
    }
}
