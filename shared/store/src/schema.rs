//! The device database's schema and its versioned migrations (`PRAGMA user_version`).
//!
//! Migrations only ever move forward, each in its own transaction together with the version bump, so a phone
//! killed during an upgrade reopens either on the old version (and migrates again) or on the new one.
//! Never edit a migration that has shipped; add the next one.

use rusqlite::{Connection, Transaction};

use super::StoreError;

/// A migration step written in Rust, run inside the step's transaction.
type RustStep = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// One forward step of the schema.
struct Migration {
    /// The version the database has after this step.
    version: u32,
    sql: &'static str,
    /// Runs after `sql` in the same transaction, where stored rows must be recomputed in Rust (hashes).
    rust: Option<RustStep>,
}

/// Version 1: the records of DESIGN.md (forms, settings, assignments, visits, answers, notes, outbox, audit,
/// sync state, the device's monotonic counter).
const V1: &str = r#"
CREATE TABLE forms (
    form_id     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    definition  TEXT    NOT NULL,       -- the form JSON as published; versions are immutable
    installed_at TEXT   NOT NULL,
    PRIMARY KEY (form_id, version)
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The device's own monotonic order: survives clock changes, never goes back.
CREATE TABLE device_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO device_clock (id, seq) VALUES (1, 0);

CREATE TABLE assignments (
    assignment_id TEXT PRIMARY KEY,
    form_id       TEXT    NOT NULL,
    form_version  INTEGER NOT NULL,
    region_code   TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    prefill       TEXT    NOT NULL,     -- JSON object of strings
    withdrawn     INTEGER NOT NULL DEFAULT 0,
    received_seq  INTEGER NOT NULL
);

CREATE TABLE visits (
    visit_id       TEXT PRIMARY KEY,    -- UUIDv7 made on this device
    form_id        TEXT    NOT NULL,
    form_version   INTEGER NOT NULL,
    assignment_id  TEXT,                -- NULL: a new case started in the field
    revision       INTEGER NOT NULL CHECK (revision >= 1),
    state          TEXT    NOT NULL
                   CHECK (state IN ('draft', 'final', 'sent', 'accepted', 'approved', 'returned')),
    visit_date     TEXT    NOT NULL,    -- the device's local date: what today() and age() use
    started_at     TEXT    NOT NULL,    -- wall clock (UTC, as the phone believed it)
    started_seq    INTEGER NOT NULL,    -- device_clock at start
    finalised_at   TEXT,
    finalised_date TEXT,                -- local date of finalising: "done today"
    finalised_seq  INTEGER,
    outcome        TEXT,                -- the visit outcome code at finalising
    revisit        INTEGER NOT NULL DEFAULT 0,  -- the outcome asks for another visit (not found, not reachable)
    supervisor_comment TEXT,
    reviewer       TEXT,
    returned_at    TEXT,
    reject_reason  TEXT                 -- why the server refused the last submission, in words
);
CREATE INDEX visits_by_assignment ON visits (assignment_id, started_seq);
CREATE INDEX visits_by_state ON visits (state);

-- One row per answered path, so an answer is a single-row upsert. kind 0: a value (JSON); kind 1: the number
-- of members of a repeat at that path.
CREATE TABLE answers (
    visit_id TEXT    NOT NULL REFERENCES visits (visit_id),
    path     TEXT    NOT NULL,
    kind     INTEGER NOT NULL CHECK (kind IN (0, 1)),
    value    TEXT    NOT NULL,
    PRIMARY KEY (visit_id, path)
) WITHOUT ROWID;

CREATE TABLE warning_notes (
    visit_id TEXT NOT NULL REFERENCES visits (visit_id),
    path     TEXT NOT NULL,
    note     TEXT NOT NULL,
    PRIMARY KEY (visit_id, path)
) WITHOUT ROWID;

-- The frozen document of each final visit until the server gives a receipt for it.
CREATE TABLE outbox (
    visit_id     TEXT    NOT NULL REFERENCES visits (visit_id),
    revision     INTEGER NOT NULL,
    doc          TEXT    NOT NULL,      -- protocol::VisitDoc as JSON
    content_hash TEXT    NOT NULL,
    queued_seq   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    held_reason  TEXT,                  -- rejected by the server: kept, not re-sent automatically
    PRIMARY KEY (visit_id, revision)
);

-- Who did what when; append-only.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT    NOT NULL,
    device_seq INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    visit_id   TEXT,
    revision   INTEGER,
    kind       TEXT    NOT NULL,
    path       TEXT,
    old        TEXT,
    new        TEXT
);
CREATE INDEX audit_by_visit ON audit (visit_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    cursor          INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error_code TEXT,
    last_error      TEXT,
    pending_batch   TEXT                -- JSON {batch_id, visits:[[id, revision]...]} until its answer is applied
);
INSERT INTO sync_state (id) VALUES (1);
"#;

/// Version 2: photo references, content-addressed, so uploads (sync, later) know what to send and a photo
/// answered in a visit is never orphaned. Existing photo answers are carried over.
const V2: &str = r#"
CREATE TABLE photos (
    sha256    TEXT NOT NULL,
    visit_id  TEXT NOT NULL REFERENCES visits (visit_id),
    path      TEXT NOT NULL,           -- the answer path holding the reference
    file      TEXT NOT NULL,
    uploaded  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (visit_id, path)
) WITHOUT ROWID;
CREATE INDEX photos_by_hash ON photos (sha256);
INSERT INTO photos (sha256, visit_id, path, file)
    SELECT json_extract(value, '$.sha256'), visit_id, path, json_extract(value, '$.file')
    FROM answers
    WHERE kind = 0 AND json_valid(value) AND json_type(value) = 'object'
      AND json_type(value, '$.sha256') = 'text' AND json_type(value, '$.file') = 'text';
"#;

/// Version 3: the registered family. An assignment carries its registered members (`prefill_repeats`, JSON);
/// a visit keeps what was prefilled at its start (`prefilled`: answer path → value) and which of those answers the
/// enumerator confirmed (`confirmed`: JSON array of paths), so the finalised visit says what was confirmed,
/// changed or left unconfirmed.
const V3: &str = r#"
ALTER TABLE assignments ADD COLUMN prefill_repeats TEXT NOT NULL DEFAULT '{}';
ALTER TABLE visits ADD COLUMN prefilled TEXT NOT NULL DEFAULT '{}';
ALTER TABLE visits ADD COLUMN confirmed TEXT NOT NULL DEFAULT '[]';
"#;

/// Version 5: the answer path a supervisor pinned a return's comment to (`ReturnedVisit.field`), so the visit
/// screen shows the comment at that field.
const V5: &str = "ALTER TABLE visits ADD COLUMN supervisor_field TEXT;";

/// Version 6: the audit trail becomes a hash chain (`store/src/chain.rs`): each event keeps the hash of the one
/// before it (`prev_hash`) and its own (`hash`). Existing events are chained once, in their order, by the Rust step.
const V6_CHAIN: &str =
    "ALTER TABLE audit ADD COLUMN prev_hash TEXT; ALTER TABLE audit ADD COLUMN hash TEXT;";

/// Version 7: each audit event keeps the monotonic reading taken with its wall-clock time (`store/src/chain.rs`):
/// the boot and the milliseconds since it; none for the events before.
const V7_READINGS: &str =
    "ALTER TABLE audit ADD COLUMN boot TEXT; ALTER TABLE audit ADD COLUMN mono INTEGER;";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
        rust: None,
    },
    Migration {
        version: 2,
        sql: V2,
        rust: None,
    },
    Migration {
        version: 3,
        sql: V3,
        rust: None,
    },
    Migration {
        version: 4,
        sql: super::photo_outbox::PHOTO_OUTBOX,
        rust: None,
    },
    Migration {
        version: 5,
        sql: V5,
        rust: None,
    },
    Migration {
        version: 6,
        sql: V6_CHAIN,
        rust: Some(super::chain::chain_existing_events),
    },
    Migration {
        version: 7,
        sql: V7_READINGS,
        rust: None,
    },
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = 7;

/// The schema of one version, for upgrade tests: a database built with `migrate_to(conn, 1)` is what version 1 of the
/// app left behind.
#[cfg(test)]
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    run(conn, target)
}

/// Brings the database to [`CURRENT_VERSION`]. A database from a newer app is refused, never downgraded.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    run(conn, CURRENT_VERSION)
}

fn run(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql)?;
        if let Some(step) = migration.rust {
            step(&tx)?;
        }
        // PRAGMA takes no bound parameters; the version is a constant of this file.
        tx.execute_batch(&format!("PRAGMA user_version = {}", migration.version))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_in_order_and_end_at_the_current_version() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<u32> = (1..=CURRENT_VERSION).collect();
        assert_eq!(versions, expected);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert_eq!(
            migrate(&mut conn),
            Err(StoreError::TooNew {
                found: 99,
                supported: CURRENT_VERSION
            })
        );
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, CURRENT_VERSION);
    }
}
