//! Storage, the database file under the daemon: whether the file at the
//! configured path is still the one opened at start (same device and
//! inode) — deleted or replaced, the daemon would otherwise go on writing
//! into an unlinked file — and whether an error means the database cannot
//! be written (SQLite's `SQLITE_READONLY` family). Pure checks; what to do
//! about them is the scheduler's.

use std::path::{Path, PathBuf};

/// Which file a path names: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    /// The identity of the file at `path` now.
    pub fn of(path: &Path) -> std::io::Result<FileIdentity> {
        let meta = std::fs::metadata(path)?;
        Ok(FileIdentity::from_metadata(&meta))
    }

    #[cfg(unix)]
    fn from_metadata(meta: &std::fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity { dev: meta.dev(), ino: meta.ino() }
    }

    /// Without inodes, the creation time stands in for the identity.
    #[cfg(not(unix))]
    fn from_metadata(meta: &std::fs::Metadata) -> FileIdentity {
        let created = meta.created().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
        FileIdentity { dev: 0, ino: u64::try_from(created.as_nanos()).unwrap_or(u64::MAX) }
    }
}

/// The database file as opened at start.
#[derive(Debug, Clone)]
pub struct DbFile {
    pub path: PathBuf,
    pub identity: FileIdentity,
}

/// What became of the database file since it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The path names the file opened at start.
    Same,
    /// Nothing is at the path any more.
    Deleted,
    /// Another file is at the path (moved over it, restored from a backup).
    Replaced,
    /// The path could not be examined (permissions on a directory …).
    Unreadable(String),
}

impl DbFile {
    /// Remember the file at `path` (just opened).
    pub fn at(path: &Path) -> std::io::Result<DbFile> {
        Ok(DbFile { path: path.to_path_buf(), identity: FileIdentity::of(path)? })
    }

    /// Compare the file at the path now with the one remembered.
    pub fn check(&self) -> FileChange {
        match FileIdentity::of(&self.path) {
            Ok(now) if now == self.identity => FileChange::Same,
            Ok(_) => FileChange::Replaced,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileChange::Deleted,
            Err(e) => FileChange::Unreadable(e.to_string()),
        }
    }
}

/// SQLite's primary result code for "attempt to write a readonly database".
const SQLITE_READONLY: i64 = 8;
/// Its extended code for "the database file was unlinked or renamed" — a
/// changed file, not a permission to wait for.
const SQLITE_READONLY_DBMOVED: i64 = 1032;

/// SQLite's words when an error (anywhere in its chain) says the database
/// cannot be written: a read-only file, directory or file system. A moved
/// or deleted file is not counted here; [`DbFile::check`] reports it.
pub fn read_only(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| {
        let Some(sqlx::Error::Database(db)) = c.downcast_ref::<sqlx::Error>() else { return None };
        let code = db.code().and_then(|c| c.parse::<i64>().ok())?;
        (code & 0xff == SQLITE_READONLY && code != SQLITE_READONLY_DBMOVED).then(|| db.message().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_or_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("psi.db");
        std::fs::write(&path, b"one").unwrap();
        let file = DbFile::at(&path).unwrap();
        assert_eq!(file.check(), FileChange::Same);
        std::fs::write(&path, b"rewritten in place").unwrap();
        assert_eq!(file.check(), FileChange::Same, "the same inode written again is the same file");
        let other = dir.path().join("backup.db");
        std::fs::write(&other, b"two").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(file.check(), FileChange::Replaced);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(file.check(), FileChange::Deleted);
    }

    #[tokio::test]
    async fn writing_a_read_only_database_is_recognised() {
        use sqlx::ConnectOptions as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.db");
        let store = crate::store::Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        store.close().await;
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).read_only(true);
        let mut conn = opts.connect().await.unwrap();
        let err = sqlx::query("CREATE TABLE t (x)").execute(&mut conn).await.unwrap_err();
        let why = read_only(&anyhow::Error::from(crate::store::StoreError::from(err)).context("jobbet"));
        assert_eq!(why.as_deref(), Some("attempt to write a readonly database"));
        let other = sqlx::query("SELECT * FROM no_such_table").execute(&mut conn).await.unwrap_err();
        assert_eq!(read_only(&anyhow::Error::from(other)), None);
    }
}
