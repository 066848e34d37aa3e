//! The daemon's watch over its database file, beside the scheduler: every
//! few seconds the file at the configured path is compared with the one
//! opened at start, and `serve` stops when it was deleted or replaced
//! (rather than go on writing into an unlinked file); a database that
//! cannot be written pauses the jobs with one log line and growing pauses,
//! until a job succeeds again.

use crate::config::Config;
use crate::store::watch::{DbFile, FileChange, read_only};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the file's identity is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// The first pause after a read-only failure; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(30);
const MAX_PAUSE: Duration = Duration::from_secs(600);

/// `serve` stopped because its database file was deleted or replaced (already logged).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatabaseGone(pub String);

/// The read-only state: when the jobs may run again, and the pause after that.
#[derive(Debug, Default)]
struct Pause {
    until: Option<Instant>,
    next: Duration,
}

/// The guard one daemon keeps over its database file.
#[derive(Debug)]
pub struct DbGuard {
    file: Option<DbFile>,
    pause: Mutex<Pause>,
}

impl DbGuard {
    /// Remember the configured database file as it is now (`None` in memory
    /// or when it cannot be examined: nothing to watch).
    pub fn new(config: &Config) -> DbGuard {
        let file = config.database_file.as_deref().and_then(|p| match DbFile::at(p) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("databasfilen {} kan inte bevakas: {e}", p.display());
                None
            }
        });
        DbGuard { file, pause: Mutex::new(Pause::default()) }
    }

    /// Resolves when the database file is deleted or replaced, with the reason
    /// (logged here, once); never for an in-memory database.
    pub async fn until_gone(&self) -> DatabaseGone {
        let Some(file) = &self.file else { return std::future::pending().await };
        let mut unreadable_logged = false;
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            let why = match file.check() {
                FileChange::Same => continue,
                FileChange::Deleted => format!(
                    "databasfilen {} har tagits bort medan psi-radar körde: avslutar utan att ta nya jobb \
                     (återställ filen från en säkerhetskopia eller kör psi-radar init för en ny, och starta sedan om)",
                    file.path.display()
                ),
                FileChange::Replaced => format!(
                    "databasfilen {} har bytts ut mot en annan fil medan psi-radar körde: avslutar utan att ta nya jobb \
                     (starta om för att använda den nya filen)",
                    file.path.display()
                ),
                FileChange::Unreadable(e) => {
                    if !unreadable_logged {
                        tracing::warn!("databasfilen {} kan inte undersökas ({e}); bevakningen fortsätter", file.path.display());
                        unreadable_logged = true;
                    }
                    continue;
                }
            };
            tracing::error!("{why}");
            return DatabaseGone(why);
        }
    }

    /// Whether jobs may run now: not while pausing after a read-only failure.
    pub fn may_run(&self) -> bool {
        let pause = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        pause.until.is_none_or(|t| Instant::now() >= t)
    }

    /// After a job ended in `error`: true when it was the database refusing
    /// writes, which pauses the jobs; only the first such failure is logged.
    /// The caller logs every other failure itself.
    pub fn read_only_failure(&self, job: &str, error: &anyhow::Error) -> bool {
        let Some(why) = read_only(error) else { return false };
        let mut pause = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        let first = pause.next.is_zero();
        pause.next = if first { FIRST_PAUSE } else { (pause.next * 2).min(MAX_PAUSE) };
        pause.until = Some(Instant::now() + pause.next);
        let path = self.file.as_ref().map(|f| f.path.display().to_string()).unwrap_or_default();
        if first {
            tracing::error!(
                job,
                "databasen {path} går inte att skriva ({why}): jobben pausas och prövas igen med allt längre mellanrum \
                 (högst {} min) tills den går att skriva — ge tjänstens användare skrivrätt till filen och dess katalog",
                MAX_PAUSE.as_secs() / 60
            );
        } else {
            tracing::debug!(job, pause_secs = pause.next.as_secs(), "databasen går fortfarande inte att skriva");
        }
        true
    }

    /// After a job succeeded: the database is writable (again).
    pub fn succeeded(&self) {
        let mut pause = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        if !pause.next.is_zero() {
            tracing::info!("databasen går att skriva igen; jobben körs som vanligt");
            *pause = Pause::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real "attempt to write a readonly database" from SQLite.
    async fn read_only_error() -> anyhow::Error {
        use sqlx::ConnectOptions as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.db");
        crate::store::Store::open(&format!("sqlite://{}", path.display())).await.unwrap().close().await;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).read_only(true).connect().await.unwrap();
        let err = sqlx::query("CREATE TABLE t (x)").execute(&mut conn).await.unwrap_err();
        anyhow::Error::from(crate::store::StoreError::from(err)).context("jobbet send")
    }

    #[tokio::test]
    async fn a_read_only_database_pauses_the_jobs_until_a_job_succeeds() {
        let ro = read_only_error().await;
        let guard = DbGuard { file: None, pause: Mutex::new(Pause::default()) };
        assert!(guard.may_run());
        assert!(!guard.read_only_failure("send", &anyhow::anyhow!("SMTP nere")), "other failures are the caller's");
        assert!(guard.may_run());
        assert!(guard.read_only_failure("send", &ro));
        assert!(!guard.may_run(), "paused after a read-only failure");
        assert_eq!(guard.pause.lock().unwrap().next, FIRST_PAUSE);
        assert!(guard.read_only_failure("poll", &ro));
        assert_eq!(guard.pause.lock().unwrap().next, FIRST_PAUSE * 2, "the pause grows");
        guard.pause.lock().unwrap().until = Some(Instant::now());
        assert!(guard.may_run(), "a job tries again when the pause is over");
        guard.succeeded();
        assert!(guard.may_run());
        assert!(guard.pause.lock().unwrap().next.is_zero());
    }
}
