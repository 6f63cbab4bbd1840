//! The server's store: SQLite by default (one file in the data directory, WAL, a single writer and a small reader
//! pool) or PostgreSQL (`postgres`: several servers may share one database). Both run the same statements through
//! one [`sql::Transaction`] type; a write is one transaction on either, committed when its closure returns Ok.
//!
//! Every call here blocks; async code reaches it through `tokio::task::spawn_blocking` (see `api::blocking`).

mod migrations;
pub mod postgres;
pub mod sql;
#[cfg(test)]
pub mod testdb;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use postgres::PgDb;
pub use sql::Transaction;

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
    Sql(#[from] sql::Error),
    #[error("database URL: {0}")]
    DatabaseUrl(String),
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

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sql(e.into())
    }
}

impl DbError {
    /// True when the store gave up waiting for a lock: worth a 503 and a retry, not a 500.
    pub fn is_busy(&self) -> bool {
        matches!(self, DbError::Sql(e) if e.is_busy())
    }
}

/// Which store: the data directory's SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` URL (libpq's syntax; `?tepat_pool=N` caps this server's connections).
    Postgres(String),
}

/// The database, on either store.
#[derive(Debug)]
pub struct Db {
    store: Store,
}

#[derive(Debug)]
enum Store {
    Sqlite(SqliteDb),
    Postgres(Box<PgDb>),
}

impl Db {
    /// Opens the SQLite database of a data directory (creating both if needed) and migrates it.
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        Ok(Db {
            store: Store::Sqlite(SqliteDb::open(data_dir)?),
        })
    }

    /// Connects to a PostgreSQL database (`postgres://…`) and brings its schema to the latest version.
    pub fn connect(url: &str) -> Result<Db, DbError> {
        Db::connect_with_pool(url, postgres::DEFAULT_POOL)
    }

    /// The same, opening at most `pool` connections unless the URL's `tepat_pool` says otherwise (a server: one
    /// per request slot, so a request never waits for a connection that a slot could not use).
    pub fn connect_with_pool(url: &str, pool: usize) -> Result<Db, DbError> {
        Ok(Db {
            store: Store::Postgres(Box::new(PgDb::connect(url, pool)?)),
        })
    }

    /// Opens `--database` when given (a `postgres://` URL), the data directory's SQLite file otherwise.
    pub fn open_location(location: &Location) -> Result<Db, DbError> {
        match location {
            Location::Sqlite(dir) => Db::open(dir),
            Location::Postgres(url) => Db::connect(url),
        }
    }

    /// The SQLite file, or `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.store {
            Store::Sqlite(db) => Some(&db.path),
            Store::Postgres(_) => None,
        }
    }

    /// Which store answers (for logs): the file, or the PostgreSQL host and database (never a password).
    pub fn describe(&self) -> String {
        match &self.store {
            Store::Sqlite(db) => db.path.display().to_string(),
            Store::Postgres(db) => db.label().to_string(),
        }
    }

    pub fn dialect(&self) -> sql::Dialect {
        match &self.store {
            Store::Sqlite(_) => sql::Dialect::Sqlite,
            Store::Postgres(_) => sql::Dialect::Postgres,
        }
    }

    /// Runs `f` in one write transaction: committed when `f` returns Ok, rolled back otherwise. Writes are
    /// serialised (SQLite's single writer; PostgreSQL's write lock, across every server on the database).
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<sql::Error>,
    {
        match &self.store {
            Store::Sqlite(db) => db.write(f),
            Store::Postgres(db) => db.write(f),
        }
    }

    /// Runs `f` in one read transaction (a consistent snapshot).
    pub fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<sql::Error>,
    {
        match &self.store {
            Store::Sqlite(db) => db.read(f),
            Store::Postgres(db) => db.read(f),
        }
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32, DbError> {
        match &self.store {
            Store::Sqlite(db) => db.read(|tx| match tx.as_sqlite() {
                Some(conn) => schema_version(conn),
                None => Err(DbError::Corrupt("not a SQLite transaction".to_string())),
            }),
            Store::Postgres(db) => db.schema_version(),
        }
    }
}

/// The SQLite database: one writer connection (SQLite admits one writer at a time anyway) and reusable readers.
#[derive(Debug)]
struct SqliteDb {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteDb {
    fn open(data_dir: &Path) -> Result<SqliteDb, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut writer = open_connection(&path)?;
        migrate(&mut writer)?;
        Ok(SqliteDb {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` in one IMMEDIATE transaction: committed when `f` returns Ok, rolled back otherwise.
    fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<sql::Error>,
    {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql::Error::from)?;
        let value = f(&Transaction::sqlite(&tx))?;
        tx.commit().map_err(sql::Error::from)?;
        Ok(value)
    }

    /// Runs `f` on a reader connection inside one read transaction (a consistent snapshot).
    fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<sql::Error>,
    {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path).map_err(sql::Error::from)?,
        };
        let result = {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(sql::Error::from)?;
            let value = f(&Transaction::sqlite(&tx));
            // A read transaction has nothing to commit; ending it releases the WAL snapshot.
            tx.finish().map_err(sql::Error::from)?;
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
pub fn next_counter(tx: &Transaction<'_>, name: &str) -> Result<u64, sql::Error> {
    tx.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| v.max(0) as u64)
}

#[cfg(test)]
mod tests;
