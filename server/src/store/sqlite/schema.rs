//! Opening the database: its directory and file modes, the pragmas, and
//! the schema migrations kept in `migrations/` (applied in order at start,
//! each once, counted in SQLite's `user_version`).

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// The database file inside `--data-dir`.
pub const FILE: &str = "sessions.sqlite3";

/// The schema, one step per file; never edit a released step, add one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_owner.sql"),
    include_str!("migrations/0003_quota_counts.sql"),
    include_str!("migrations/0004_user_conversations.sql"),
    include_str!("migrations/0005_transcripts.sql"),
];

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be created or used.
    #[error("data directory {dir}: {source}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another store (another relay) holds the directory's lock.
    #[error("another relay is using --data-dir {dir}; stop it or give this one another directory")]
    InUse {
        /// The directory.
        dir: PathBuf,
    },
    /// SQLite refused the file or a statement.
    #[error("database {file}: {source}")]
    Sqlite {
        /// The file.
        file: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The file was written by a newer relay.
    #[error("database {file} has schema version {found}; this relay knows up to {known}")]
    TooNew {
        /// The file.
        file: PathBuf,
        /// Its version.
        found: usize,
        /// This build's.
        known: usize,
    },
}

/// Creates `dir`, 0700: sessions, message ids and answers are private.
pub fn create_dir(dir: &Path) -> Result<(), OpenError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| OpenError::Dir {
            dir: dir.to_owned(),
            source,
        })
}

/// Creates `dir` (0700: sessions, message ids and answers are private) and
/// the database in it (0600; SQLite gives its `-wal` and `-shm` files the
/// same mode), sets the pragmas and brings the schema up to date.
///
/// WAL: readers never wait for the writer, and a commit is one append.
/// `synchronous=NORMAL` (or FULL with `full_sync`): with WAL, a commit
/// survives the relay being killed; NORMAL may lose the last commits if the
/// machine itself loses power, FULL waits for the disk at every commit.
pub fn open(dir: &Path, full_sync: bool) -> Result<Connection, OpenError> {
    let dir_err = |source| OpenError::Dir {
        dir: dir.to_owned(),
        source,
    };
    create_dir(dir)?;
    let file = dir.join(FILE);
    // Created here first, so it is 0600 whatever the umask.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&file)
        .map_err(dir_err)?;
    let mode = std::fs::metadata(&file)
        .map_err(dir_err)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            "{} is readable by others (mode {:o}); it holds conversations",
            file.display(),
            mode & 0o777
        );
    }
    let sqlite = |source| OpenError::Sqlite {
        file: file.clone(),
        source,
    };
    let mut conn = Connection::open(&file).map_err(sqlite)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    let sync = if full_sync { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", sync)
        .map_err(sqlite)?;
    // Deleted rows are overwritten, not left in free pages: a forgotten
    // conversation (`forget`, a GDPR request) is not in the file any more.
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(sqlite)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite)?;
    migrate(&mut conn).map_err(|e| match e {
        Migrate::Sqlite(source) => OpenError::Sqlite {
            file: file.clone(),
            source,
        },
        Migrate::TooNew(found) => OpenError::TooNew {
            file: file.clone(),
            found,
            known: MIGRATIONS.len(),
        },
    })?;
    Ok(conn)
}

enum Migrate {
    Sqlite(rusqlite::Error),
    TooNew(usize),
}

impl From<rusqlite::Error> for Migrate {
    fn from(e: rusqlite::Error) -> Self {
        Migrate::Sqlite(e)
    }
}

/// Applies the steps the file does not have yet, each in its own
/// transaction with its version number.
fn migrate(conn: &mut Connection) -> Result<(), Migrate> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(Migrate::TooNew(version));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", step + 1)?;
        tx.commit()?;
        tracing::info!("session database schema now at version {}", step + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_private_and_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("relay-data");
        let conn = open(&data, false).expect("open");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(FILE)), 0o600);
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let wal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(wal, "wal");
        let secure: i64 = conn
            .pragma_query_value(None, "secure_delete", |r| r.get(0))
            .expect("secure_delete");
        assert_eq!(secure, 1, "deleted rows are overwritten");
        drop(conn);
        // Opened again: nothing to apply, same version.
        open(&data, true).expect("reopen");
    }

    #[test]
    fn a_database_from_a_newer_relay_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open(dir.path(), false).expect("open");
        conn.pragma_update(None, "user_version", 99).expect("set");
        drop(conn);
        let err = open(dir.path(), false).expect_err("refused");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
