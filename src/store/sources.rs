//! Store: the fetch state of each source (the `sources` table): last
//! success, last error, consecutive failures, next check (the wait is the
//! caller's: `jobs::poll` owns the back-off),
//! validators for conditional GET and the adapter's cursor.

use super::{Result, Store, parse_ts, ts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

/// One source's row.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SourceState {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_check_at: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub cursor: Option<String>,
    pub last_new: u32,
    pub last_changed: u32,
    pub last_seen: u32,
}

/// What a successful poll of a source leaves behind.
#[derive(Debug, Clone, Default)]
pub struct SourceSuccess {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub cursor: Option<String>,
    pub new: u32,
    pub changed: u32,
    pub seen: u32,
}

const COLS: &str = "name, kind, url, last_attempt_at, last_success_at, last_error, consecutive_failures, next_check_at, etag,
                    last_modified, cursor, last_new, last_changed, last_seen";

fn row_state(r: &sqlx::sqlite::SqliteRow) -> SourceState {
    let t = |i: usize| r.get::<Option<String>, _>(i).and_then(|s| parse_ts(&s).ok());
    SourceState {
        name: r.get(0),
        kind: r.get(1),
        url: r.get(2),
        last_attempt_at: t(3),
        last_success_at: t(4),
        last_error: r.get(5),
        consecutive_failures: r.get::<i64, _>(6).max(0) as u32,
        next_check_at: t(7),
        etag: r.get(8),
        last_modified: r.get(9),
        cursor: r.get(10),
        last_new: r.get::<i64, _>(11).max(0) as u32,
        last_changed: r.get::<i64, _>(12).max(0) as u32,
        last_seen: r.get::<i64, _>(13).max(0) as u32,
    }
}

impl Store {
    /// Make sure the source has a row (kind and URL follow the config).
    pub async fn ensure_source(&self, name: &str, kind: &str, url: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO sources (name, kind, url) VALUES (?,?,?)
             ON CONFLICT (name) DO UPDATE SET kind=excluded.kind,
                 etag=CASE WHEN sources.url=excluded.url THEN sources.etag END,
                 last_modified=CASE WHEN sources.url=excluded.url THEN sources.last_modified END,
                 url=excluded.url",
        )
        .bind(name)
        .bind(kind)
        .bind(url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn source_state(&self, name: &str) -> Result<Option<SourceState>> {
        let sql = format!("SELECT {COLS} FROM sources WHERE name=?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(name).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(row_state))
    }

    /// All sources, by name (for `status`).
    pub async fn source_states(&self) -> Result<Vec<SourceState>> {
        let sql = format!("SELECT {COLS} FROM sources ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row_state).collect())
    }

    /// A successful poll: clears the error and the back-off.
    pub async fn record_source_success(&self, name: &str, now: DateTime<Utc>, s: &SourceSuccess) -> Result<()> {
        sqlx::query(
            "UPDATE sources SET last_attempt_at=?, last_success_at=?, last_error=NULL, consecutive_failures=0, next_check_at=NULL,
                 etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified), cursor=COALESCE(?, cursor),
                 last_new=?, last_changed=?, last_seen=?
             WHERE name=?",
        )
        .bind(ts(now))
        .bind(ts(now))
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(&s.cursor)
        .bind(s.new as i64)
        .bind(s.changed as i64)
        .bind(s.seen as i64)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A failed poll: counts the failure and sets the next check `wait`
    /// (the caller's back-off policy) gives for the new count. Returns the
    /// failure count.
    pub async fn record_source_failure(
        &self,
        name: &str,
        now: DateTime<Utc>,
        error: &str,
        wait: impl FnOnce(u32) -> chrono::Duration,
    ) -> Result<u32> {
        let failures: i64 = sqlx::query_scalar(
            "UPDATE sources SET last_attempt_at=?, last_error=?, consecutive_failures=consecutive_failures+1 WHERE name=?
             RETURNING consecutive_failures",
        )
        .bind(ts(now))
        .bind(error)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or(1);
        let failures = u32::try_from(failures.max(1)).unwrap_or(u32::MAX);
        let next = now + wait(failures);
        sqlx::query("UPDATE sources SET next_check_at=? WHERE name=?").bind(ts(next)).bind(name).execute(&self.pool).await?;
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn failures_count_and_wait_and_success_resets() {
        let store = Store::memory().await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
        store.ensure_source("a", "feed", "https://a.se/rss").await.unwrap();
        let wait = |n: u32| chrono::Duration::minutes(15 * i64::from(n));
        assert_eq!(store.record_source_failure("a", now, "svarade 500", wait).await.unwrap(), 1);
        assert_eq!(store.record_source_failure("a", now, "svarade 500", wait).await.unwrap(), 2);
        let s = store.source_state("a").await.unwrap().unwrap();
        assert_eq!(s.next_check_at, Some(now + chrono::Duration::minutes(30)), "the wait the caller gave for 2 failures");
        assert_eq!(s.last_error.as_deref(), Some("svarade 500"));
        store.record_source_success("a", now, &SourceSuccess { etag: Some("\"x\"".into()), seen: 3, ..Default::default() }).await.unwrap();
        let s = store.source_state("a").await.unwrap().unwrap();
        assert_eq!((s.consecutive_failures, s.last_error, s.next_check_at, s.etag.as_deref()), (0, None, None, Some("\"x\"")));
    }
}
