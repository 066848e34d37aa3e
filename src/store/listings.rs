//! Store: each source's listings of a call, the keys de-duplication finds
//! them by (`listing_keys`), and how each listing joined its call
//! (`listing_joins`: merged with a reason, or split out by a person). Plain
//! persistence: what is the same call is decided in `normalize::dedup`.

use super::calls::CallTx;
use super::{Result, Store, StoreError, parse_ts, ts};
use crate::domain::{CallRef, RawCall};
use crate::normalize::dedup::{MatchKey, MergeReason};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// A row of `call_listings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListingId(pub i64);

/// A source's listing of a call, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredListing {
    pub id: ListingId,
    pub call: CallRef,
    pub source: String,
    pub source_key: String,
    pub raw: RawCall,
    /// The funder the listing was read with (the call's, for listings
    /// stored before that was kept).
    pub funder: String,
    pub first_seen_at: DateTime<Utc>,
    /// The source of the call's oldest listing (the call's content comes from there).
    pub primary_source: String,
}

/// How a listing came to be in its call.
#[derive(Debug, Clone, PartialEq)]
pub enum Joined {
    /// It founded the call.
    Founded,
    /// De-duplication merged it, matching the listing `with` (source, key).
    Merged { reason: MergeReason, with: Option<(String, String)>, at: DateTime<Utc> },
    /// A person split it out of another call into this one.
    SplitFrom { call: CallRef, at: DateTime<Utc> },
    /// Merged before reasons were recorded.
    Unrecorded,
}

/// A listing with how it joined its call (`calls show`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListingRecord {
    pub source: String,
    pub source_key: String,
    pub url: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub joined: Joined,
}

/// A listing split out of a call, and the call it went to.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOut {
    pub source: String,
    pub source_key: String,
    pub to: CallRef,
    pub at: DateTime<Utc>,
}

const LISTING_COLUMNS: &str = "l.id, l.call_id, l.source, l.source_key, l.raw, COALESCE(l.funder, c.funder), l.first_seen_at,
     (SELECT p.source FROM call_listings p WHERE p.call_id = l.call_id ORDER BY p.first_seen_at, p.id LIMIT 1)";

fn listing_row(r: &SqliteRow) -> Result<StoredListing> {
    Ok(StoredListing {
        id: ListingId(r.get(0)),
        call: CallRef(r.get::<i64, _>(1) as u32),
        source: r.get(2),
        source_key: r.get(3),
        // a row this program wrote; one it cannot read compares as an empty listing
        raw: serde_json::from_str(&r.get::<String, _>(4)).unwrap_or_default(),
        funder: r.get(5),
        first_seen_at: parse_ts(&r.get::<String, _>(6))?,
        primary_source: r.get(7),
    })
}

/// The query [`CallTx::listing`] runs.
fn listing_by_key_sql() -> String {
    format!("SELECT {LISTING_COLUMNS} FROM call_listings l JOIN calls c ON c.id = l.call_id WHERE l.source=? AND l.source_key=?")
}

/// The query [`CallTx::listings_of`] runs for `n` calls.
fn listings_of_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!(
        "SELECT {LISTING_COLUMNS} FROM call_listings l JOIN calls c ON c.id = l.call_id
         WHERE l.call_id IN ({marks}) ORDER BY l.call_id, l.first_seen_at, l.id"
    )
}

/// The query [`CallTx::key_shared_in_source`] runs.
const KEY_SHARED_SQL: &str = "SELECT listing_id FROM listing_keys WHERE key=? AND source=? AND listing_id<>? LIMIT 1";

/// The query [`CallTx::calls_by_keys`] runs (`None` when it has no key to look up).
fn calls_by_keys_sql(own: bool, shared: usize, limit: u32) -> Option<String> {
    let by_key = "SELECT call_id FROM (SELECT l.call_id FROM listing_keys k JOIN call_listings l ON l.id = k.listing_id WHERE k.key = ?";
    let mut parts = Vec::new();
    if own {
        parts.push(format!("{by_key} LIMIT {limit})"));
    }
    for _ in 0..shared {
        parts.push(format!("{by_key} AND k.source < ? LIMIT {limit})"));
        parts.push(format!("{by_key} AND k.source > ? LIMIT {limit})"));
    }
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

impl CallTx {
    /// The listing a source has under this key.
    pub async fn listing(&mut self, source: &str, source_key: &str) -> Result<Option<StoredListing>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(listing_by_key_sql())).bind(source).bind(source_key).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(listing_row).transpose()
    }

    /// The listings of these calls, each call's oldest first (its primary
    /// listing, whose source the call's content comes from).
    pub async fn listings_of(&mut self, calls: &[CallRef]) -> Result<Vec<StoredListing>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(listings_of_sql(calls.len())));
        for r in calls {
            q = q.bind(r.0 as i64);
        }
        q.fetch_all(&mut *self.tx).await?.iter().map(listing_row).collect()
    }

    /// Record (or refresh) that `source` lists call `r` under `raw.source_key`,
    /// its keys (written in the same transaction) derived by `keys_version`.
    pub async fn upsert_listing(
        &mut self,
        r: CallRef,
        source: &str,
        raw: &RawCall,
        funder: &str,
        keys_version: i64,
        now: DateTime<Utc>,
    ) -> Result<ListingId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO call_listings (call_id, source, source_key, url, raw, funder, keys_version, first_seen_at, last_seen_at)
             VALUES (?,?,?,?,?,?,?,?,?)
             ON CONFLICT (source, source_key) DO UPDATE SET call_id=excluded.call_id, url=excluded.url,
                 raw=excluded.raw, funder=excluded.funder, keys_version=excluded.keys_version, last_seen_at=excluded.last_seen_at
             RETURNING id",
        )
        .bind(r.0 as i64)
        .bind(source)
        .bind(&raw.source_key)
        .bind(&raw.url)
        .bind(serde_json::to_string(raw).unwrap_or_else(|_| "{}".into()))
        .bind(funder)
        .bind(keys_version)
        .bind(ts(now))
        .bind(ts(now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(ListingId(id))
    }

    /// A listing seen again exactly as stored: only its last-seen time changes.
    pub async fn touch_listing(&mut self, id: ListingId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE call_listings SET last_seen_at=? WHERE id=?").bind(ts(now)).bind(id.0).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Add keys a (new) listing is found by.
    pub async fn add_listing_keys(&mut self, id: ListingId, source: &str, keys: &[MatchKey]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let sql = format!("INSERT OR IGNORE INTO listing_keys (key, source, listing_id) VALUES {}", vec!["(?,?,?)"; keys.len()].join(","));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in keys {
            q = q.bind(k.as_str()).bind(source).bind(id.0);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Replace the keys a listing is found by with `keys`, derived by `version`.
    pub async fn replace_listing_keys(&mut self, id: ListingId, source: &str, keys: &[MatchKey], version: i64) -> Result<()> {
        sqlx::query("DELETE FROM listing_keys WHERE listing_id=?").bind(id.0).execute(&mut *self.tx).await?;
        self.add_listing_keys(id, source, keys).await?;
        sqlx::query("UPDATE call_listings SET keys_version=? WHERE id=?").bind(version).bind(id.0).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Up to `limit` listings whose keys were written by a derivation older
    /// than `version` (by the index on `keys_version`: no sort, which would
    /// make SQLite read the whole table on every ingest).
    pub async fn listings_keyed_before(&mut self, version: i64, limit: u32) -> Result<Vec<StoredListing>> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM call_listings l JOIN calls c ON c.id = l.call_id WHERE l.keys_version < ? LIMIT {limit}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version).fetch_all(&mut *self.tx).await?;
        rows.iter().map(listing_row).collect()
    }

    /// Calls with a listing found by `own` (whatever its source) or by one of
    /// `shared` from a source other than `source`; at most `limit` listings
    /// per key, in index order (no sort: the limit ends the read). The index
    /// on (key, source) is read in two ranges around `source`, so a source's
    /// own thousand listings under one key cost nothing. The limit is written
    /// into the SQL, not bound: SQLite prepares a statement again each time a
    /// LIMIT parameter is bound, which cost more than the query itself.
    pub async fn calls_by_keys(&mut self, source: &str, own: Option<&MatchKey>, shared: &[MatchKey], limit: u32) -> Result<Vec<CallRef>> {
        let Some(sql) = calls_by_keys_sql(own.is_some(), shared.len(), limit) else { return Ok(Vec::new()) };
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        if let Some(k) = own {
            q = q.bind(k.as_str());
        }
        for k in shared {
            q = q.bind(k.as_str()).bind(source).bind(k.as_str()).bind(source);
        }
        let mut ids = q.fetch_all(&mut *self.tx).await?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids.into_iter().map(|i| CallRef(i as u32)).collect())
    }

    /// Whether a listing of `source` other than `except` has this key.
    pub async fn key_shared_in_source(&mut self, key: &MatchKey, source: &str, except: Option<ListingId>) -> Result<bool> {
        let hit: Option<i64> = sqlx::query_scalar(KEY_SHARED_SQL)
            .bind(key.as_str())
            .bind(source)
            .bind(except.map_or(-1, |e| e.0))
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(hit.is_some())
    }

    /// Record that de-duplication merged `listing` into `call`, and why.
    pub async fn record_merge(
        &mut self,
        listing: ListingId,
        call: CallRef,
        reason: &MergeReason,
        matched: Option<ListingId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO listing_joins (listing_id, call_id, kind, reason, matched_listing_id, at) VALUES (?,?,'merged',?,?,?)")
            .bind(listing.0)
            .bind(call.0 as i64)
            .bind(serde_json::to_string(reason).map_err(|e| StoreError::Invalid(e.to_string()))?)
            .bind(matched.map(|m| m.0))
            .bind(ts(now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Move `listing` from call `from` to call `to`, recording the split.
    pub async fn move_listing(&mut self, listing: ListingId, from: CallRef, to: CallRef, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE call_listings SET call_id=? WHERE id=?").bind(to.0 as i64).bind(listing.0).execute(&mut *self.tx).await?;
        sqlx::query("INSERT INTO listing_joins (listing_id, call_id, kind, from_call_id, at) VALUES (?,?,'split',?,?)")
            .bind(listing.0)
            .bind(to.0 as i64)
            .bind(from.0 as i64)
            .bind(ts(now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The listings of call `r`, oldest first, each with how it joined the call.
    pub async fn listing_records(&self, r: CallRef) -> Result<Vec<ListingRecord>> {
        let rows = sqlx::query(
            "SELECT l.source, l.source_key, l.url, l.first_seen_at, l.last_seen_at,
                    j.kind, j.reason, m.source, m.source_key, j.from_call_id, j.at
             FROM call_listings l
             LEFT JOIN listing_joins j ON j.id = (SELECT MAX(x.id) FROM listing_joins x WHERE x.listing_id = l.id AND x.call_id = l.call_id)
             LEFT JOIN call_listings m ON m.id = j.matched_listing_id
             WHERE l.call_id = ? ORDER BY l.first_seen_at, l.id",
        )
        .bind(r.0 as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(listing_record).collect()
    }

    /// Listings split out of call `r`, and where they went.
    pub async fn split_out_of(&self, r: CallRef) -> Result<Vec<SplitOut>> {
        let rows = sqlx::query(
            "SELECT l.source, l.source_key, j.call_id, j.at FROM listing_joins j JOIN call_listings l ON l.id = j.listing_id
             WHERE j.kind = 'split' AND j.from_call_id = ? ORDER BY j.id",
        )
        .bind(r.0 as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SplitOut {
                    source: row.get(0),
                    source_key: row.get(1),
                    to: CallRef(row.get::<i64, _>(2) as u32),
                    at: parse_ts(&row.get::<String, _>(3))?,
                })
            })
            .collect()
    }
}

fn listing_record(r: &SqliteRow) -> Result<ListingRecord> {
    let at = |i: usize| r.get::<Option<String>, _>(i).map(|s| parse_ts(&s)).transpose();
    let joined = match r.get::<Option<String>, _>(5).as_deref() {
        None => Joined::Founded,
        Some("merged") => match r.get::<Option<String>, _>(6).and_then(|s| serde_json::from_str(&s).ok()) {
            Some(reason) => Joined::Merged {
                reason,
                with: r.get::<Option<String>, _>(7).zip(r.get::<Option<String>, _>(8)),
                at: at(10)?.unwrap_or_default(),
            },
            None => Joined::Unrecorded,
        },
        Some("split") => match r.get::<Option<i64>, _>(9) {
            Some(from) => Joined::SplitFrom { call: CallRef(from as u32), at: at(10)?.unwrap_or_default() },
            None => Joined::Unrecorded,
        },
        Some(_) => Joined::Unrecorded,
    };
    Ok(ListingRecord {
        source: r.get(0),
        source_key: r.get(1),
        url: r.get(2),
        first_seen_at: parse_ts(&r.get::<String, _>(3))?,
        last_seen_at: parse_ts(&r.get::<String, _>(4))?,
        joined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for `sql`, one line per step.
    async fn plan(store: &Store, sql: &str) -> Vec<String> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&store.pool).await.unwrap();
        rows.iter().map(|r| r.get::<String, _>(3)).collect()
    }

    /// What each listing's ingest asks (its own listing, candidates by key,
    /// whether a page is shared, the candidates' listings) is looked up by
    /// index: no query reads a whole table per listing.
    #[tokio::test]
    async fn an_ingest_finds_its_candidates_by_index_never_by_reading_a_table() {
        let store = Store::memory().await.unwrap();
        for sql in [calls_by_keys_sql(true, 3, 8).unwrap(), listing_by_key_sql(), KEY_SHARED_SQL.to_string(), listings_of_sql(2)] {
            let steps = plan(&store, &sql).await;
            assert!(steps.iter().any(|s| s.starts_with("SEARCH")), "{sql}\n{steps:#?}");
            // A subquery's rows are scanned as they come; a table never is.
            let table_scan = |s: &&String| s.starts_with("SCAN") && !s.starts_with("SCAN (subquery");
            assert!(!steps.iter().any(|s| table_scan(&s)), "{sql}\n{steps:#?}");
        }
    }
}
