//! Storage: the SQLite database behind every stage (sqlx, WAL, foreign keys,
//! migrations from `src/store/migrations/` applied on open). One file per
//! table family; all SQL uses bound parameters.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub mod apps;
pub mod calls;
pub mod jobs;
pub mod lease;
pub mod listings;
pub mod members;
pub mod outbox;
pub mod replies;
pub mod sources;
pub mod watch;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("databasen: {0}")]
    Db(#[from] sqlx::Error),
    #[error("databasens schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("ogiltig databas-URL «{url}»: {reason}")]
    Url { url: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("hittades inte: {0}")]
    NotFound(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether opening may create the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenMode {
    Create,
    Existing,
}

/// The database handle every job and command uses.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: SqlitePool,
}

impl Store {
    /// Open (creating if missing) the database at `url` and apply migrations.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, OpenMode::Create).await
    }

    /// Open the database at `url`, which must exist (every command but
    /// `init`: a missing file is an error, never a new empty database).
    pub async fn open_existing(url: &str) -> Result<Store> {
        Store::open_with(url, OpenMode::Existing).await
    }

    async fn open_with(url: &str, mode: OpenMode) -> Result<Store> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url { url: url.to_string(), reason: e.to_string() })?
            .create_if_missing(mode == OpenMode::Create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new().max_connections(if in_memory { 1 } else { 4 }).connect_with(opts).await?;
        sqlx::migrate!("src/store/migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// A fresh in-memory database (tests, `classify` without a config).
    pub async fn memory() -> Result<Store> {
        Store::open("sqlite::memory:").await
    }

    /// Close the pool: wait for queries in hand, then checkpoint and close
    /// every connection (the daemon's last step on shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A query being bound (for helpers that bind a row's columns in one place).
pub(crate) type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>;

/// Instants are stored as RFC 3339 UTC text, to the second.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Read back an instant stored by [`ts`].
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("tidpunkt «{s}» i databasen: {e}")))
}
