//! Store: inbound replies (recorded once per Message-ID, raw message kept for the
//! retention period), the held ones for the digest, the answers waiting for
//! the member to name a call, and the per-contact reply tokens.

use super::{Result, Store, StoreError, parse_ts, ts};
use crate::domain::{CallRef, Intent, MemberId, Role};
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
    /// The parser's reading as stored (JSON, with `subject` and `text`).
    pub reading: String,
}

/// Replies that wait for AU: held, unreadable, stuck half-way for over an
/// hour, or an answer still waiting for the member to name its call.
const HELD_WHERE: &str = "(status IN ('held', 'unreadable') OR (status = 'receiving' AND received_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hour')) OR (status = 'waiting' AND id IN (SELECT reply_id FROM waiting_answers WHERE resolved_at IS NULL AND expires_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))))";

impl Store {
    /// Replies held since `since` (unknown sender, unreadable, stuck half-way
    /// for over an hour, or an answer still waiting for the member to name
    /// its call), newest first, at most `limit`, and how many there are in all.
    pub async fn held_replies_since(&self, since: DateTime<Utc>, limit: i64) -> Result<(Vec<HeldReply>, usize)> {
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM replies WHERE {HELD_WHERE} AND received_at > ?")))
                .bind(ts(since))
                .fetch_one(&self.pool)
                .await?;
        let sql = format!(
            "SELECT id, from_addr, received_at, status, reason, reading FROM replies
             WHERE {HELD_WHERE} AND received_at > ? ORDER BY received_at DESC, id DESC LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ts(since)).bind(limit).fetch_all(&self.pool).await?;
        let held = rows
            .into_iter()
            .map(|r| {
                Ok(HeldReply {
                    id: r.get(0),
                    from_addr: r.get(1),
                    received_at: parse_ts(&r.get::<String, _>(2))?,
                    status: r.get(3),
                    reason: r.get(4),
                    reading: r.get(5),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((held, total as usize))
    }
}

/// An inbound message to record (one row of `replies`).
#[derive(Debug, Clone)]
pub struct NewReply<'a> {
    pub message_id: &'a str,
    pub imap_uid: Option<u32>,
    pub from_addr: Option<&'a str>,
    pub contact_id: Option<i64>,
    pub member_id: Option<&'a str>,
    pub status: &'a str,
    pub reason: Option<&'a str>,
    /// The parser's reading as JSON.
    pub reading: &'a str,
    pub raw: &'a [u8],
}

/// A stored reply, as tests and `status` look at it (the raw message is not loaded).
#[derive(Debug, Clone, Serialize)]
pub struct ReplyRow {
    pub id: i64,
    pub message_id: String,
    pub imap_uid: Option<i64>,
    pub from_addr: Option<String>,
    pub contact_id: Option<i64>,
    pub member_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub reading: String,
    /// Whether the raw message is still kept.
    pub has_raw: bool,
    pub raw_deleted_at: Option<DateTime<Utc>>,
}

/// The status of a reply row while it is being recorded: a row left in this
/// status (a crash half-way) is processed again when the message comes back.
pub const RECEIVING: &str = "receiving";

const REPLY_COLS: &str =
    "id, message_id, imap_uid, from_addr, contact_id, member_id, received_at, status, reason, reading, raw IS NOT NULL, raw_deleted_at";

fn reply_row(r: sqlx::sqlite::SqliteRow) -> Result<ReplyRow> {
    Ok(ReplyRow {
        id: r.get(0),
        message_id: r.get(1),
        imap_uid: r.get(2),
        from_addr: r.get(3),
        contact_id: r.get(4),
        member_id: r.get(5),
        received_at: parse_ts(&r.get::<String, _>(6))?,
        status: r.get(7),
        reason: r.get(8),
        reading: r.get(9),
        has_raw: r.get(10),
        raw_deleted_at: r.get::<Option<String>, _>(11).map(|s| parse_ts(&s)).transpose()?,
    })
}

impl Store {
    /// Record an inbound message. `None` when a reply with the same
    /// Message-ID is already stored (it is recorded once).
    pub async fn insert_reply(&self, r: &NewReply<'_>, now: DateTime<Utc>) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO replies (message_id, imap_uid, from_addr, contact_id, member_id, received_at, status, reason, reading, raw)
             VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (message_id) DO NOTHING RETURNING id",
        )
        .bind(r.message_id)
        .bind(r.imap_uid.map(i64::from))
        .bind(r.from_addr)
        .bind(r.contact_id)
        .bind(r.member_id)
        .bind(ts(now))
        .bind(r.status)
        .bind(r.reason)
        .bind(r.reading)
        .bind(r.raw)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }

    /// Set the outcome of a reply once it has been acted on.
    pub async fn set_reply_status(&self, id: i64, status: &str, reason: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE replies SET status=?, reason=? WHERE id=?").bind(status).bind(reason).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Tie a reply to the contact and member it turned out to come from
    /// (a held message read again after its sender became a contact, or
    /// assigned by AU).
    pub async fn set_reply_sender(&self, id: i64, contact_id: Option<i64>, member_id: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE replies SET contact_id=?, member_id=? WHERE id=?")
            .bind(contact_id)
            .bind(member_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The stored reply with this row id.
    pub async fn reply(&self, id: i64) -> Result<Option<ReplyRow>> {
        let sql = format!("SELECT {REPLY_COLS} FROM replies WHERE id=?");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?.map(reply_row).transpose()
    }

    /// The held or unreadable replies from `addr` (lower-cased, as the
    /// parser stores it), oldest first.
    pub async fn held_reply_ids_from(&self, addr: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM replies WHERE status IN ('held', 'unreadable') AND lower(from_addr)=lower(?) ORDER BY id")
            .bind(addr)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The waiting answer stored for a reply, resolved or not.
    pub async fn waiting_of_reply(&self, reply_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM waiting_answers WHERE reply_id=?").bind(reply_id).fetch_optional(&self.pool).await?)
    }

    /// The stored reply with this Message-ID (with angle brackets).
    pub async fn reply_by_message_id(&self, message_id: &str) -> Result<Option<ReplyRow>> {
        let sql = format!("SELECT {REPLY_COLS} FROM replies WHERE message_id=?");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(message_id).fetch_optional(&self.pool).await?.map(reply_row).transpose()
    }

    /// Every stored reply, oldest first.
    pub async fn list_replies(&self) -> Result<Vec<ReplyRow>> {
        let sql = format!("SELECT {REPLY_COLS} FROM replies ORDER BY id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?.into_iter().map(reply_row).collect()
    }

    /// The raw message of a reply, while it is kept.
    pub async fn reply_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar::<_, Option<Vec<u8>>>("SELECT raw FROM replies WHERE id=?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    /// Retention: forget the raw message of replies received before
    /// `cutoff` (the reading, status and reason stay). Returns how many.
    pub async fn delete_raw_replies_before(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        let n = sqlx::query("UPDATE replies SET raw=NULL, raw_deleted_at=? WHERE raw IS NOT NULL AND received_at < ?")
            .bind(ts(now))
            .bind(ts(cutoff))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n > 0 {
            tracing::info!(replies = n, "raw replies deleted after the retention period");
        }
        Ok(n)
    }

    /// The per-contact reply token (`svar+<token>@…`), if the contact has one.
    pub async fn contact_token(&self, contact_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>("SELECT token FROM contacts WHERE id=?")
            .bind(contact_id)
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    /// The reply token given to an AU member's address (lower-cased, without `+tag`).
    pub async fn au_token(&self, email: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT token FROM au_tokens WHERE email=?").bind(email).fetch_optional(&self.pool).await?)
    }

    /// Give an AU member's address `token`, unless it has one; returns the one it has.
    pub async fn set_au_token(&self, email: &str, token: &str) -> Result<String> {
        sqlx::query("INSERT INTO au_tokens (email, token) VALUES (?,?) ON CONFLICT (email) DO NOTHING")
            .bind(email)
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT token FROM au_tokens WHERE email=?").bind(email).fetch_one(&self.pool).await?)
    }

    /// Give every contact without a reply token one from `make`. Returns how many were created.
    pub async fn ensure_contact_tokens(&self, mut make: impl FnMut() -> std::io::Result<String>) -> Result<usize> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM contacts WHERE token IS NULL OR token = ''").fetch_all(&self.pool).await?;
        for id in &ids {
            let token = make().map_err(|e| StoreError::Invalid(format!("kunde inte skapa svarsnyckel: {e}")))?;
            sqlx::query("UPDATE contacts SET token=? WHERE id=? AND (token IS NULL OR token = '')")
                .bind(token)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        if !ids.is_empty() {
            tracing::info!(contacts = ids.len(), "reply tokens created");
        }
        Ok(ids.len())
    }
}

/// An answer that named no call, waiting for the member to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingAnswer {
    pub id: i64,
    pub reply_id: i64,
    pub contact_id: Option<i64>,
    pub member: MemberId,
    /// The calls of the mail it answered: the member was asked which.
    pub calls: Vec<CallRef>,
    pub intent: Intent,
    pub role: Option<Role>,
    pub comment: String,
    pub asked_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A waiting answer to store.
#[derive(Debug, Clone)]
pub struct NewWaiting<'a> {
    pub reply_id: i64,
    pub contact_id: i64,
    pub member: &'a MemberId,
    pub calls: &'a [CallRef],
    pub intent: Intent,
    pub role: Option<Role>,
    pub comment: &'a str,
    pub expires_at: DateTime<Utc>,
}

fn refs_text(calls: &[CallRef]) -> String {
    calls.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" ")
}

fn waiting_row(r: sqlx::sqlite::SqliteRow) -> Result<WaitingAnswer> {
    let bad = |what: &str, v: &str| StoreError::Invalid(format!("waiting_answers: {what} «{v}»"));
    let member: String = r.get(3);
    let intent: String = r.get(5);
    let role: Option<String> = r.get(6);
    Ok(WaitingAnswer {
        id: r.get(0),
        reply_id: r.get(1),
        contact_id: r.get(2),
        member: MemberId::parse(&member).map_err(|_| bad("member", &member))?,
        calls: r.get::<String, _>(4).split_whitespace().filter_map(CallRef::parse).collect(),
        intent: Intent::parse(&intent).ok_or_else(|| bad("intent", &intent))?,
        role: role.as_deref().map(|x| Role::parse(x).ok_or_else(|| bad("role", x))).transpose()?,
        comment: r.get(7),
        asked_at: parse_ts(&r.get::<String, _>(8))?,
        expires_at: parse_ts(&r.get::<String, _>(9))?,
    })
}

impl Store {
    /// Keep an answer waiting while the member is asked which call it
    /// meant. An older answer of the same contact that still waits is
    /// replaced (the latest word counts). Idempotent per reply.
    pub async fn insert_waiting(&self, w: &NewWaiting<'_>, now: DateTime<Utc>) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE waiting_answers SET resolved_at=? WHERE contact_id=? AND resolved_at IS NULL AND reply_id<>?")
            .bind(ts(now))
            .bind(w.contact_id)
            .bind(w.reply_id)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO waiting_answers (reply_id, contact_id, member_id, calls, intent, role, comment, asked_at, expires_at)
             VALUES (?,?,?,?,?,?,?,?,?)
             ON CONFLICT (reply_id) DO UPDATE SET reply_id=excluded.reply_id RETURNING id",
        )
        .bind(w.reply_id)
        .bind(w.contact_id)
        .bind(w.member.as_str())
        .bind(refs_text(w.calls))
        .bind(w.intent.as_str())
        .bind(w.role.map(Role::as_str))
        .bind(w.comment)
        .bind(ts(now))
        .bind(ts(w.expires_at))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The answer of this contact that still waits at `now` (not resolved, not expired).
    pub async fn waiting_for_contact(&self, contact_id: i64, now: DateTime<Utc>) -> Result<Option<WaitingAnswer>> {
        sqlx::query(
            "SELECT id, reply_id, contact_id, member_id, calls, intent, role, comment, asked_at, expires_at FROM waiting_answers
             WHERE contact_id=? AND resolved_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1",
        )
        .bind(contact_id)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?
        .map(waiting_row)
        .transpose()
    }

    /// Every stored waiting answer (resolved or not), oldest first.
    pub async fn list_waiting(&self) -> Result<Vec<WaitingAnswer>> {
        sqlx::query(
            "SELECT id, reply_id, contact_id, member_id, calls, intent, role, comment, asked_at, expires_at FROM waiting_answers ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(waiting_row)
        .collect()
    }

    /// The answer stopped waiting: applied to `applied_to` (the calls the
    /// member named), or replaced by an explicit answer (empty).
    pub async fn resolve_waiting(&self, id: i64, applied_to: &[CallRef], now: DateTime<Utc>) -> Result<()> {
        let applied = (!applied_to.is_empty()).then(|| refs_text(applied_to));
        sqlx::query("UPDATE waiting_answers SET resolved_at=?, applied_to=? WHERE id=? AND resolved_at IS NULL")
            .bind(ts(now))
            .bind(applied)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When and to what a waiting answer was resolved (None while it waits).
    pub async fn waiting_resolution(&self, id: i64) -> Result<Option<(DateTime<Utc>, Vec<CallRef>)>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT resolved_at, applied_to FROM waiting_answers WHERE id=?").bind(id).fetch_optional(&self.pool).await?;
        match row {
            Some((Some(at), applied)) => {
                Ok(Some((parse_ts(&at)?, applied.unwrap_or_default().split_whitespace().filter_map(CallRef::parse).collect())))
            }
            _ => Ok(None),
        }
    }
}
