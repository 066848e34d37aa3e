//! Store: inbound replies, for the digest's list of replies held for AU.

use super::{Result, Store, parse_ts, ts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// A reply that was not accepted as an answer and waits for AU.
#[derive(Debug, Clone, Serialize)]
pub struct HeldReply {
    pub id: i64,
    pub from_addr: Option<String>,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
}

impl Store {
    /// Replies held since `since` (unknown sender, unreadable), newest first,
    /// at most `limit`, and how many there are in all.
    pub async fn held_replies_since(&self, since: DateTime<Utc>, limit: i64) -> Result<(Vec<HeldReply>, usize)> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM replies WHERE status IN ('held', 'unreadable') AND received_at > ?")
            .bind(ts(since))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, from_addr, received_at, status, reason FROM replies
             WHERE status IN ('held', 'unreadable') AND received_at > ? ORDER BY received_at DESC LIMIT ?",
        )
        .bind(ts(since))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let held = rows
            .into_iter()
            .map(|r| {
                Ok(HeldReply {
                    id: r.get(0),
                    from_addr: r.get(1),
                    received_at: parse_ts(&r.get::<String, _>(2))?,
                    status: r.get(3),
                    reason: r.get(4),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((held, total as usize))
    }
}
