//! The device database encrypted at rest: SQLCipher (rusqlite's `bundled-sqlcipher`), keyed with 32 random bytes
//! the shell keeps (Android: wrapped by a key in the Android Keystore) and hands over at start.
//!
//! Opening: `PRAGMA key` with the raw key (no passphrase derivation: the key is already random) before any other
//! statement, then a read of the schema proves the key. A database an older app version left unencrypted is
//! copied into an encrypted file beside it (`sqlcipher_export`), the copy is fsynced and renamed over the old file
//! (atomic), and the directory is fsynced: a crash at any point leaves either the old plain file (migrated again
//! at the next start) or the complete encrypted one.
//!
//! The key never reaches a log, the audit or the database: it is only in [`DatabaseKey`] (zeroed when dropped,
//! no `Debug` of its bytes) and, for the instant of a statement, in the `PRAGMA key` / `ATTACH … KEY` text, which
//! is zeroed after use too. SQLCipher keeps its own copy while the connection is open.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use zeroize::{Zeroize, Zeroizing};

use crate::StoreError;

#[cfg(test)]
mod tests;

/// The 32-byte key of the device database. Its bytes are zeroed when it is dropped and never printed.
pub struct DatabaseKey(Box<[u8; DatabaseKey::LEN]>);

impl DatabaseKey {
    /// Bytes in a key (AES-256).
    pub const LEN: usize = 32;

    pub fn new(bytes: [u8; DatabaseKey::LEN]) -> DatabaseKey {
        let mut bytes = bytes;
        let key = DatabaseKey(Box::new(bytes));
        bytes.zeroize();
        key
    }

    /// The key in `bytes`, which must be exactly [`DatabaseKey::LEN`] long.
    pub fn from_slice(bytes: &[u8]) -> Result<DatabaseKey, KeyLengthError> {
        let array: [u8; DatabaseKey::LEN] = bytes
            .try_into()
            .map_err(|_| KeyLengthError { len: bytes.len() })?;
        Ok(DatabaseKey::new(array))
    }

    /// SQLCipher's raw key syntax, `x'<64 hex digits>'` (used as given: no key derivation).
    fn raw_key_text(&self) -> Zeroizing<String> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut text = Zeroizing::new(String::with_capacity(3 + 2 * DatabaseKey::LEN));
        text.push_str("x'");
        for byte in self.0.iter() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text.push('\'');
        text
    }
}

impl Drop for DatabaseKey {
    fn drop(&mut self) {
        let bytes: &mut [u8; DatabaseKey::LEN] = &mut self.0;
        bytes.zeroize();
    }
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseKey(..)")
    }
}

/// A key that is not 32 bytes long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a database key is {} bytes, not {len}", DatabaseKey::LEN)]
pub struct KeyLengthError {
    pub len: usize,
}

/// Opens the encrypted database at `path` (created when missing), migrating an unencrypted one first. On
/// [`StoreError::WrongKey`] nothing was created or changed.
pub(crate) fn open(path: &Path, key: &DatabaseKey) -> Result<Connection, StoreError> {
    match open_keyed(path, key) {
        Ok(conn) => Ok(conn),
        Err(Unreadable::NotADatabase) if is_plain_database(path)? => {
            encrypt_plain_database(path, key)?;
            open_keyed(path, key).map_err(Unreadable::into_store_error)
        }
        Err(unreadable) => Err(unreadable.into_store_error()),
    }
}

/// Why a keyed open failed.
enum Unreadable {
    /// SQLite's "file is not a database": another key, an unencrypted file, or a damaged one.
    NotADatabase,
    Other(StoreError),
}

impl Unreadable {
    fn into_store_error(self) -> StoreError {
        match self {
            Unreadable::NotADatabase => StoreError::WrongKey,
            Unreadable::Other(error) => error,
        }
    }
}

impl From<rusqlite::Error> for Unreadable {
    fn from(error: rusqlite::Error) -> Unreadable {
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Unreadable::NotADatabase,
            _ => Unreadable::Other(error.into()),
        }
    }
}

fn open_keyed(path: &Path, key: &DatabaseKey) -> Result<Connection, Unreadable> {
    let conn = Connection::open(path)?;
    // A connection that turns out unreadable must not touch the files when it closes (no checkpoint of a WAL).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    // The key must be the first statement on the connection.
    let raw = key.raw_key_text();
    let mut pragma = Zeroizing::new(String::with_capacity(16 + raw.len()));
    pragma.push_str("PRAGMA key = \"");
    pragma.push_str(&raw);
    pragma.push('"');
    conn.execute_batch(&pragma)?;
    drop(pragma);
    drop(raw);
    // Without SQLCipher linked, `PRAGMA key` is silently ignored and the file would be written in clear.
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |row| row.get(0))
        .optional()?;
    if cipher.is_none() {
        return Err(Unreadable::Other(StoreError::Database(
            "this build has no SQLCipher: the database cannot be encrypted".into(),
        )));
    }
    // The first read decrypts page 1: a wrong key (or a plain file) fails here.
    let _tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
    Ok(conn)
}

/// True when `path` is a readable unencrypted SQLite database (also one whose newest pages are still in its WAL).
fn is_plain_database(path: &Path) -> Result<bool, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(true),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The file the encrypted copy is written to before it replaces the plain database (same directory, so the
/// rename is atomic).
pub(crate) fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".encrypting");
    PathBuf::from(name)
}

/// Replaces the unencrypted database at `path` by an encrypted copy with every table, index, trigger and row and
/// the schema version, crash-safely (see the module's documentation).
fn encrypt_plain_database(path: &Path, key: &DatabaseKey) -> Result<(), StoreError> {
    let staging = staging_path(path);
    // What an interrupted earlier attempt left: never used, always rebuilt.
    remove_database_files(&staging)?;
    if let Err(error) = write_encrypted_copy(path, &staging, key) {
        // Best effort: the next attempt removes it anyway.
        let _ = remove_database_files(&staging);
        return Err(error);
    }
    if wal_path(path).exists() {
        return Err(StoreError::Database(
            "the unencrypted database still has a write-ahead log; not replaced".into(),
        ));
    }
    std::fs::rename(&staging, path).map_err(io_error("replacing the database", path))?;
    sync_directory(path)?;
    // The old file's shared-memory index (page numbers, no row data) would only be rebuilt.
    remove_if_exists(&shm_path(path))?;
    Ok(())
}

/// `sqlcipher_export` of the plain database at `path` into a new encrypted file `staging`, fsynced.
fn write_encrypted_copy(path: &Path, staging: &Path, key: &DatabaseKey) -> Result<(), StoreError> {
    // CREATE: an attached database is opened with the main one's flags, and the copy is a new file (the plain
    // database itself exists: it was just read).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    let plain = Connection::open_with_flags(path, flags)?;
    // One self-contained file: leaving WAL mode checkpoints the log into the file and deletes it, so no plain
    // `-wal` is left beside the encrypted file after the rename.
    let mode: String = plain.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Database(format!(
            "cannot leave journal mode {mode} to encrypt the database"
        )));
    }
    let version: u32 = plain.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let staging_text = staging.to_str().ok_or_else(|| {
        StoreError::Database(format!("database path {} is not UTF-8", staging.display()))
    })?;
    // Bound, not spliced into the SQL: the key text is zeroed when dropped.
    plain.execute(
        "ATTACH DATABASE ?1 AS encrypted KEY ?2",
        params![staging_text, key.raw_key_text().as_str()],
    )?;
    plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // sqlcipher_export copies schema and rows, not the header's user_version (the schema version).
    plain.execute_batch(&format!("PRAGMA encrypted.user_version = {version}"))?;
    plain.execute_batch("DETACH DATABASE encrypted")?;
    plain.close().map_err(|(_, e)| StoreError::from(e))?;
    File::open(staging)
        .and_then(|file| file.sync_all())
        .map_err(io_error("writing the encrypted copy", staging))
}

fn wal_path(path: &Path) -> PathBuf {
    suffixed(path, "-wal")
}

fn shm_path(path: &Path) -> PathBuf {
    suffixed(path, "-shm")
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_database_files(path: &Path) -> Result<(), StoreError> {
    for file in [
        path.to_path_buf(),
        suffixed(path, "-journal"),
        wal_path(path),
        shm_path(path),
    ] {
        remove_if_exists(&file)?;
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("removing", path)(e)),
        _ => Ok(()),
    }
}

/// A file-system failure while encrypting, naming what was done to which file (a full disk is [`StoreError::DiskFull`]).
fn io_error(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |error| match error.kind() {
        std::io::ErrorKind::StorageFull => StoreError::DiskFull,
        _ => StoreError::Database(format!("{doing} {path}: {error}")),
    }
}

/// Makes a rename in the database's directory durable.
fn sync_directory(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error("syncing the directory", dir))
}
