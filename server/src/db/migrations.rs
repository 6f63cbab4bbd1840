//! Versioned schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
//! the version reached. A migration is never edited once released: changes go in a new one.

use rusqlite::Connection;

use super::DbError;

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1_INITIAL, V2_PROGRESS_COLUMNS, V3_EXPORTED_ANSWERS];

pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

const V1_INITIAL: &str = "
CREATE TABLE users (
    user_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'enumerator', 'assessor')),
    created_at TEXT NOT NULL
);
CREATE TABLE user_regions (
    user_id     TEXT NOT NULL REFERENCES users (user_id),
    region_code TEXT NOT NULL,
    PRIMARY KEY (user_id, region_code)
);
-- One-time enrolment codes; only their SHA-256 is kept.
CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
);
-- Enrolled devices; only the SHA-256 of the bearer token is kept.
CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (user_id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_seen_at TEXT
);
-- Published form versions: immutable once here.
CREATE TABLE forms (
    form_id      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    json         TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (form_id, version)
);
CREATE TABLE assignments (
    assignment_id TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (user_id),
    form_id       TEXT NOT NULL,
    form_version  INTEGER NOT NULL,
    region_code   TEXT NOT NULL,
    label         TEXT NOT NULL,
    prefill       TEXT NOT NULL,
    imported_at   TEXT NOT NULL,
    withdrawn_at  TEXT
);
CREATE INDEX assignments_by_user ON assignments (user_id);
CREATE INDEX assignments_by_region ON assignments (region_code);
-- Every accepted revision of every visit. `seq` orders the supervisor pull and moves on every change.
CREATE TABLE visits (
    visit_id       TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    content_hash   TEXT NOT NULL,
    doc            TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    device_id      TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    form_id        TEXT NOT NULL,
    form_version   INTEGER NOT NULL,
    assignment_id  TEXT,
    region_code    TEXT NOT NULL,
    visit_date     TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    findings       TEXT NOT NULL,
    error_count    INTEGER NOT NULL,
    warning_count  INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'returned')),
    review_comment TEXT,
    reviewer       TEXT,
    reviewed_at    TEXT,
    seq            INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (visit_id, revision)
);
CREATE INDEX visits_by_region ON visits (region_code);
-- Different content under an existing (visit_id, revision): kept for a supervisor, never merged.
CREATE TABLE conflicts (
    id           INTEGER PRIMARY KEY,
    visit_id     TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    doc          TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    seq          INTEGER NOT NULL UNIQUE,
    UNIQUE (visit_id, revision, content_hash)
);
-- Receipts of every batch, so a batch re-sent after a dropped answer gets the same receipts.
CREATE TABLE batches (
    batch_id    TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    receipts    TEXT NOT NULL,
    received_at TEXT NOT NULL
);
-- What sync sends down: per user (or to everyone when user_id is NULL), in order.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT,
    kind       TEXT NOT NULL,
    ref_id     TEXT NOT NULL,
    ref_rev    INTEGER,
    payload    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX changes_by_user ON changes (user_id, seq);
-- Audit trail of review decisions.
CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    visit_id        TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    decision        TEXT NOT NULL,
    comment         TEXT NOT NULL,
    reviewer        TEXT NOT NULL,
    reviewer_device TEXT NOT NULL,
    at              TEXT NOT NULL
);
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('pull', 0);
";

/// Progress views need the visit outcome and which revision is the latest without parsing documents.
const V2_PROGRESS_COLUMNS: &str = "
ALTER TABLE visits ADD COLUMN outcome TEXT;
ALTER TABLE visits ADD COLUMN is_latest INTEGER NOT NULL DEFAULT 1;
UPDATE visits SET is_latest =
    (revision = (SELECT max(v.revision) FROM visits v WHERE v.visit_id = visits.visit_id));
-- Visits stored before version 2 keep the conventional outcome answer, if any.
UPDATE visits SET outcome = CAST(json_extract(doc, '$.answers.outcome') AS TEXT);
CREATE INDEX visits_latest_by_user ON visits (is_latest, user_id, visit_date);
";

/// What the export shows of each visit (relevant answers and calculated values, as JSON), computed once at
/// ingest instead of at every export. Rows stored before version 3 hold NULL until `export::backfill` (run when
/// the server starts) fills them; the export computes a NULL row itself meanwhile.
const V3_EXPORTED_ANSWERS: &str = "
ALTER TABLE visits ADD COLUMN exported TEXT;
-- Only rows still to fill: empty once filled, so finding them at every start reads nothing else.
CREATE INDEX visits_unexported ON visits (visit_id, revision) WHERE exported IS NULL;
";

/// The schema version recorded in the database.
pub fn schema_version(conn: &Connection) -> Result<u32, DbError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(version).map_err(|_| DbError::Corrupt(format!("user_version {version}")))
}

/// Brings the database to [`LATEST_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    migrate_to(conn, LATEST_VERSION)
}

/// Applies the migrations up to `target` (tests use this to build an older schema). Each step re-reads the
/// version inside its exclusive transaction, so a server and an admin command starting together cannot both
/// apply the same step.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<(), DbError> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        let found = schema_version(&tx)?;
        if found > LATEST_VERSION {
            return Err(DbError::TooNew {
                found,
                known: LATEST_VERSION,
            });
        }
        let Some(sql) = MIGRATIONS.get(found as usize).filter(|_| found < target) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i64::from(found) + 1)?;
        tx.commit()?;
        tracing::info!(version = found + 1, "database migrated");
    }
}
