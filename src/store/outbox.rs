//! Store: the outbox. A message is composed and stored here before any send;
//! the unique key (kind, period, recipient) makes composing idempotent.

use super::{Result, Store, parse_ts, ts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

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
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLS: &str =
    "id, kind, period, recipient, subject, message_id, body, html, created_at, status, attempts, next_attempt_at, last_error, sent_at";

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
        status: r.get(9),
        attempts: r.get(10),
        next_attempt_at: opt(r.get(11)),
        last_error: r.get(12),
        sent_at: opt(r.get(13)),
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

    /// Pending messages due at `now`, oldest first.
    pub async fn outbox_due(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        let sql =
            format!("SELECT {COLS} FROM outbox WHERE status='pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ts(now)).fetch_all(&self.pool).await?.into_iter().map(row).collect()
    }

    pub async fn outbox_list(&self, pending_only: bool) -> Result<Vec<OutboxRow>> {
        let sql = if pending_only {
            format!("SELECT {COLS} FROM outbox WHERE status='pending' ORDER BY id")
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

    pub async fn mark_sent(&self, id: i64, response: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET status='sent', sent_at=?, server_response=?, attempts=attempts+1, last_error=NULL WHERE id=?")
            .bind(ts(now))
            .bind(response)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Record a failed attempt: retry at `retry_at`, or give up (`None`).
    pub async fn mark_attempt_failed(&self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts=attempts+1, last_error=?, next_attempt_at=?,
                 status=CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END WHERE id=?",
        )
        .bind(error)
        .bind(retry_at.map(ts))
        .bind(retry_at.map(ts))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
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
