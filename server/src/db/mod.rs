//! The server's SQLite database: one file in the data directory, WAL, a single writer and a small reader pool.
//!
//! Every call here blocks; async code reaches it through `tokio::task::spawn_blocking` (see `api::blocking`).

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use migrations::{
    LATEST_VERSION, MIGRATIONS, media_version, migrate, migrate_to, schema_version,
};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "tepat.db";

/// How long a connection waits for another writer (e.g. an admin command) before giving up with `busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections kept open for reuse; more are opened on demand and closed after use.
const READER_POOL: usize = 8;

/// Prepared statements each connection keeps (`prepare_cached`). Storing one visit runs more different cached
/// statements than rusqlite's default of 16 (the signals alone about 30); used in a cycle longer than the cache,
/// the LRU kept none of them, so each was parsed again every time (BENCHMARKS.md, figure 4).
const STATEMENT_CACHE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database schema version {found} is newer than this server knows ({known}); upgrade tepat-server"
    )]
    TooNew { found: u32, known: u32 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl DbError {
    /// True when SQLite gave up waiting for a lock: worth a 503 and a retry, not a 500.
    pub fn is_busy(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
    }
}

/// The database: one writer connection (SQLite admits one writer at a time anyway) and reusable readers.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Db {
    /// Opens (creating the directory and the file if needed) and migrates to the latest schema.
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        Ok(Db {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one IMMEDIATE transaction: committed when `f` returns Ok, rolled back otherwise.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on a reader connection inside one read transaction (a consistent snapshot).
    pub fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        let result = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = f(&tx);
            // A read transaction has nothing to commit; ending it releases the WAL snapshot.
            tx.finish()?;
            value
        };
        let mut readers = lock(&self.readers);
        if readers.len() < READER_POOL {
            readers.push(conn);
        }
        result
    }
}

/// A poisoned lock only means another thread panicked while holding it; the connection inside is still sound
/// (its transaction was rolled back when dropped).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plans never depend on bound values (query planner stability): otherwise SQLite marks the `column = ?` terms
    // of any query its full planner sees (joins, ORDER BY) to be re-planned when their value changes, and the
    // statement cache clears the bindings of every statement it takes back, so each such query was parsed and
    // planned again on every use. No query here relies on a bound value for its plan (no bound LIKE pattern, no
    // ANALYZE samples).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // WAL: readers never block the writer. synchronous=FULL: a receipt the server sent is on disk even after a
    // power cut, because the phone deletes its copy on that receipt.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The workspace's SQLite is SQLCipher's build (for the phone; never keyed here), which keeps temporary tables
    // and sort spills in memory by default: files, as plain SQLite does, keep large exports' memory flat.
    conn.pragma_update(None, "temp_store", "FILE")?;
    Ok(conn)
}

/// The timestamp format stored everywhere: RFC 3339 UTC with microseconds, so text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a stored timestamp back.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Corrupt(format!("timestamp {text:?}: {e}")))
}

/// Takes the next number of a named counter (the supervisor pull sequence).
pub fn next_counter(tx: &Transaction<'_>, name: &str) -> Result<u64, rusqlite::Error> {
    tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| v.max(0) as u64)
}

#[cfg(test)]
mod tests;
