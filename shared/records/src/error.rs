//! What can go wrong in the device store, in terms the App can act on (and show).

use uuid::Uuid;

use super::VisitState;

/// A store operation that did not happen; nothing was written (every operation is one transaction).
///
/// Plain data (cloneable, comparable) because it travels back to the App as an effect's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The phone's storage is full: nothing more can be saved until space is freed.
    #[error("the phone's storage is full")]
    DiskFull,
    /// Any other SQLite failure (I/O error, locked, ...), with SQLite's message.
    #[error("database error: {0}")]
    Database(String),
    /// Stored data that cannot be read back (a bug or a damaged file), naming what.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The database cannot be read with the key the shell gave (another key, or a damaged file): nothing was
    /// opened, changed or created.
    #[error(
        "the device database cannot be opened with this key (a different key, or a damaged file)"
    )]
    WrongKey,
    #[error(
        "database schema version {found} is newer than this app supports ({supported}); update the app"
    )]
    TooNew { found: u32, supported: u32 },
    #[error("visit {0} is not on this device")]
    VisitNotFound(Uuid),
    #[error("assignment {0} is not on this device")]
    AssignmentNotFound(String),
    #[error("form {form_id} version {version} is not installed")]
    FormNotInstalled { form_id: String, version: u32 },
    #[error(
        "form {form_id} version {version} is already installed with different content; publish a new version"
    )]
    FormVersionConflict { form_id: String, version: u32 },
    /// The operation needs another state (e.g. answering a visit that was already finalised).
    #[error("visit {visit_id} is {state}, which does not allow {action}")]
    WrongState {
        visit_id: Uuid,
        state: VisitState,
        action: &'static str,
    },
    /// The App's idea of the revision is stale (e.g. the visit was reopened meanwhile).
    #[error("visit {visit_id} is at revision {stored}, not {given}")]
    StaleRevision {
        visit_id: Uuid,
        stored: u32,
        given: u32,
    },
    /// Syncing needs the device to be enrolled first.
    #[error("this device is not enrolled yet")]
    NotEnrolled,
    #[error("bad answer path {0:?}")]
    BadPath(String),
    /// The sync answer does not fit the request it answers (a server or transport bug).
    #[error("sync answer does not match the request: {0}")]
    SyncMismatch(String),
    /// Finalising: the document does not describe the stored visit.
    #[error("visit document does not match the stored visit: {0}")]
    DocMismatch(String),
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<tepat_form::paths::PathError> for StoreError {
    fn from(e: tepat_form::paths::PathError) -> Self {
        match e {
            tepat_form::paths::PathError::BadPath(path) => StoreError::BadPath(path),
            corrupt @ tepat_form::paths::PathError::RepeatAndAnswer(_) => {
                StoreError::Corrupt(corrupt.to_string())
            }
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(format!("JSON: {e}"))
    }
}
