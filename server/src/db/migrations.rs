//! Versioned schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records
//! the version reached. A migration is never edited once released: changes go in a new one.

use chrono::NaiveDate;
use rusqlite::Connection;

use super::sql::{Transaction, params};
use tepat_form::Form;

use super::{DbError, parse_timestamp};
use crate::ingest::dates::Window;

/// One step of the schema: SQL, or Rust where stored rows must be recomputed with the rules the server applies
/// (the form's outcome field, the plausible visit dates), so that there is one definition of them.
pub enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction<'_>) -> Result<(), DbError>),
}

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[Migration] = &[
    Migration::Sql(V1_INITIAL),
    Migration::Sql(V2_PROGRESS_COLUMNS),
    Migration::Sql(V3_EXPORTED_ANSWERS),
    Migration::Rust(v4_outcomes_and_progress_dates),
    Migration::Sql(V5_ASSIGNMENT_MEMBERS),
    Migration::Rust(media_tables),
    Migration::Sql(V5_CONSOLE),
    Migration::Sql(V8_PREFILL_REVIEW),
    // Issue 16 (h16a): the devices' trails, paradata, the server's ledger (`ledger.rs`).
    Migration::Rust(crate::ledger::migrate),
    Migration::Sql(SIGNAL_TABLES),
    // Issue 16 (h16): the monotonic reading of each trail event (`trail.rs`).
    Migration::Sql(TRAIL_READINGS),
    // Issue 16 (h16): each enumerator's visits and "not found" visits per village, kept as visits are stored.
    Migration::Sql(SIGNAL_VILLAGE_COUNTS),
    // Issue 16 (h16): a village's "not found" flag keeps its numbers once per enumerator.
    Migration::Sql(SIGNAL_FLAG_DETAIL),
];

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

/// Version 5. An assignment carries its family's registered members (`Assignment::prefill_repeats`, JSON: the
/// repeat's prefill key → one object of prefill keys per member); assignments imported before have none.
const V5_ASSIGNMENT_MEMBERS: &str = "
ALTER TABLE assignments ADD COLUMN prefill_repeats TEXT NOT NULL DEFAULT '{}';
";

/// Version 4. Progress counts each visit by its form's declared outcome field ([`Form::outcome_field`]); before,
/// the server took a field named `outcome`, else the form's first top-level `select_one`, so PPKS cases counted
/// their `case_source` as an outcome and DTSEN visits stored before version 2 had none. Every stored row's
/// outcome is recomputed here. And progress counts a visit on its `progress_date`: its visit date when
/// plausible, else the day it was received (`ingest::dates`), filled here for every stored row.
fn v4_outcomes_and_progress_dates(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch("ALTER TABLE visits ADD COLUMN progress_date TEXT;")?;
    let forms: Vec<(String, u32, String, String)> = tx
        .prepare("SELECT form_id, version, json, published_at FROM forms")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut outcome_of = tx.prepare(
        // Text and numbers as ingest reads them (`ingest::validate`); anything else is no outcome.
        "UPDATE visits SET outcome = CASE json_type(doc, '$.answers.' || ?3)
                 WHEN 'text' THEN json_extract(doc, '$.answers.' || ?3)
                 WHEN 'integer' THEN CAST(json_extract(doc, '$.answers.' || ?3) AS TEXT)
                 WHEN 'real' THEN CAST(json_extract(doc, '$.answers.' || ?3) AS TEXT)
             END
         WHERE form_id = ?1 AND form_version = ?2",
    )?;
    let mut no_outcome =
        tx.prepare("UPDATE visits SET outcome = NULL WHERE form_id = ?1 AND form_version = ?2")?;
    let mut published = std::collections::HashMap::new();
    for (form_id, version, json, published_at) in forms {
        let form: Form = serde_json::from_str(&json)
            .map_err(|e| DbError::Corrupt(format!("form {form_id} v{version}: {e}")))?;
        // Field ids are `[a-z][a-z0-9_]*` (the loader checks them), so the JSON path needs no quoting.
        match form.outcome_field() {
            Some(field) => outcome_of.execute(params![form_id, version, field.id])?,
            None => no_outcome.execute(params![form_id, version])?,
        };
        published.insert((form_id, version), parse_timestamp(&published_at)?);
    }
    let rows: Vec<(String, u32, String, u32, String, String)> = tx
        .prepare(
            "SELECT visit_id, revision, form_id, form_version, visit_date, received_at FROM visits",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut set_date =
        tx.prepare("UPDATE visits SET progress_date = ?3 WHERE visit_id = ?1 AND revision = ?2")?;
    for (visit_id, revision, form_id, version, visit_date, received_at) in rows {
        let received_at = parse_timestamp(&received_at)?;
        let day = match (
            published.get(&(form_id, version)),
            visit_date.parse::<NaiveDate>(),
        ) {
            (Some(published_at), Ok(date)) => {
                Window::new(*published_at, received_at).progress_date(date, received_at)
            }
            // A date that does not parse, or a form no longer published: the day it was received.
            _ => received_at.date_naive(),
        };
        set_date.execute(params![visit_id, revision, day.to_string()])?;
    }
    Ok(())
}

/// The schema version that [`media_tables`] brings the database to (its place in [`MIGRATIONS`]; migrations of
/// other features may be ordered before it at merge).
pub fn media_version() -> u32 {
    let step = MIGRATIONS.iter().position(
        |m| matches!(m, Migration::Rust(f) if std::ptr::fn_addr_eq(*f, media_tables as fn(&Transaction<'_>) -> Result<(), DbError>)),
    );
    step.map_or(0, |i| i as u32 + 1)
}

/// Photos (`crate::media`, issue 13). Stored photos by hash, who uploaded each, uploads in progress, and the
/// photos each stored revision of each visit references, filled here from the visits already stored.
fn media_tables(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "
CREATE TABLE media (
    sha256    TEXT PRIMARY KEY,
    bytes     INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE TABLE media_owners (
    sha256      TEXT NOT NULL REFERENCES media (sha256),
    user_id     TEXT NOT NULL REFERENCES users (user_id),
    device_id   TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (sha256, user_id)
);
-- Uploads in progress; the bytes so far are in media/partial/<upload_id>.part.
CREATE TABLE media_uploads (
    upload_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256     TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    length     INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    UNIQUE (user_id, sha256)
);
CREATE INDEX media_uploads_by_expiry ON media_uploads (expires_at);
-- Every revision keeps its photos: a correction that retakes one adds rows, never replaces them.
CREATE TABLE visit_photos (
    visit_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    path     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    PRIMARY KEY (visit_id, revision, path)
);
CREATE INDEX visit_photos_by_hash ON visit_photos (sha256);
",
    )?;
    let mut stmt = tx.prepare(
        "SELECT visit_id, revision, json_extract(doc, '$.answers') FROM visits
         WHERE json_type(doc, '$.answers') = 'object'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (visit_id, revision, answers): (String, u32, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        let answers: tepat_protocol::Answers = serde_json::from_str(&answers)
            .map_err(|e| DbError::Corrupt(format!("visit {visit_id} revision {revision}: {e}")))?;
        crate::media::link_visit(tx, &visit_id, revision, &answers)?;
    }
    Ok(())
}

/// Version 7: the web console (`console`). People log in with a password (argon2id PHC string; NULL: no console
/// login), sessions are kept by the SHA-256 of their cookie, failed logins are counted per account and per
/// address to slow guessing, a return may be pinned to a field, and the review queue reads latest revisions by
/// status in server order through an index (fast at 100,000 visits).
const V5_CONSOLE: &str = "
ALTER TABLE users ADD COLUMN password_hash TEXT;
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (user_id),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE TABLE login_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TEXT NOT NULL
);
ALTER TABLE reviews ADD COLUMN field TEXT;
CREATE INDEX reviews_by_visit ON reviews (visit_id, revision);
-- What the queue filters on and progress counts, read from the document once (at insert, by the trigger) rather
-- than parsed at every page: warning notes, and whether any top-level answer is a GPS fix or a photo.
ALTER TABLE visits ADD COLUMN note_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN has_gps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN has_photo INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER visits_evidence AFTER INSERT ON visits BEGIN
    UPDATE visits SET
        note_count = (SELECT count(*) FROM json_each(NEW.doc, '$.warning_notes')),
        has_gps = EXISTS (SELECT 1 FROM json_each(NEW.doc, '$.answers')
                          WHERE type = 'object' AND json_type(value, '$.lat') IN ('real', 'integer')),
        has_photo = EXISTS (SELECT 1 FROM json_each(NEW.doc, '$.answers')
                            WHERE type = 'object' AND json_type(value, '$.sha256') = 'text')
    WHERE rowid = NEW.rowid;
END;
-- A stored revision whose content a supervisor replaced with a conflicting copy it kept.
CREATE TRIGGER visits_evidence_replaced AFTER UPDATE OF doc ON visits BEGIN
    UPDATE visits SET
        note_count = (SELECT count(*) FROM json_each(NEW.doc, '$.warning_notes')),
        has_gps = EXISTS (SELECT 1 FROM json_each(NEW.doc, '$.answers')
                          WHERE type = 'object' AND json_type(value, '$.lat') IN ('real', 'integer')),
        has_photo = EXISTS (SELECT 1 FROM json_each(NEW.doc, '$.answers')
                            WHERE type = 'object' AND json_type(value, '$.sha256') = 'text')
    WHERE rowid = NEW.rowid;
END;
-- Conflicts a supervisor resolved: the copy not kept stays here (nothing stored is lost).
CREATE TABLE conflicts_resolved (
    id            INTEGER PRIMARY KEY,
    visit_id      TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    kept          TEXT NOT NULL CHECK (kept IN ('stored', 'conflicting')),
    discarded_doc TEXT NOT NULL,
    resolved_by   TEXT NOT NULL,
    resolved_at   TEXT NOT NULL
);
UPDATE visits SET
    note_count = (SELECT count(*) FROM json_each(doc, '$.warning_notes')),
    has_gps = EXISTS (SELECT 1 FROM json_each(doc, '$.answers')
                      WHERE type = 'object' AND json_type(value, '$.lat') IN ('real', 'integer')),
    has_photo = EXISTS (SELECT 1 FROM json_each(doc, '$.answers')
                        WHERE type = 'object' AND json_type(value, '$.sha256') = 'text');
-- The review queue: latest revisions by status in server order, holding every column the filters and the count
-- read, so counting 100,000 waiting visits never reads their documents.
CREATE INDEX visits_queue ON visits (is_latest, status, seq, region_code, user_id, visit_date, outcome,
                                     error_count, warning_count, note_count, has_gps, has_photo, visit_id);
";

/// Version 8: what became of each prefilled answer (`VisitDoc::prefill_review`, JSON: answer path → confirmed |
/// changed | unconfirmed; NULL when nothing was prefilled), read from the document once (at insert or when a
/// supervisor replaces the content, by the triggers) so the export never parses documents for it.
const V8_PREFILL_REVIEW: &str = "
ALTER TABLE visits ADD COLUMN prefill_review TEXT;
CREATE TRIGGER visits_prefill_review AFTER INSERT ON visits BEGIN
    UPDATE visits SET prefill_review = CASE json_type(NEW.doc, '$.prefill_review')
            WHEN 'object' THEN json_extract(NEW.doc, '$.prefill_review') END
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER visits_prefill_review_replaced AFTER UPDATE OF doc ON visits BEGIN
    UPDATE visits SET prefill_review = CASE json_type(NEW.doc, '$.prefill_review')
            WHEN 'object' THEN json_extract(NEW.doc, '$.prefill_review') END
    WHERE rowid = NEW.rowid;
END;
UPDATE visits SET prefill_review = CASE json_type(doc, '$.prefill_review')
        WHEN 'object' THEN json_extract(doc, '$.prefill_review') END;
";

/// The monotonic reading that came with each trail event (the boot and the milliseconds since it; NULL for events
/// without one), so `admin verify` recomputes the hashes that cover it (`crate::trail`).
const TRAIL_READINGS: &str = "
ALTER TABLE trail_events ADD COLUMN boot TEXT;
ALTER TABLE trail_events ADD COLUMN mono INTEGER;
";

/// The counts behind "many not found compared with the village" (`crate::signals::store::not_found_rate`), kept
/// per enumerator and village as facts are stored, so a visit reads its village's enumerators instead of counting
/// every visit of the village; filled from the facts already stored.
const SIGNAL_VILLAGE_COUNTS: &str = "
CREATE TABLE signal_village_counts (
    region_code TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    visits      INTEGER NOT NULL,
    not_found   INTEGER NOT NULL,
    PRIMARY KEY (region_code, user_id)
) WITHOUT ROWID;
INSERT INTO signal_village_counts (region_code, user_id, visits, not_found)
    SELECT region_code, user_id, count(*), sum(outcome_class = 'not_found') FROM signal_facts
    GROUP BY region_code, user_id;
";

/// The numbers of a village's "many not found" flag (`crate::signals::store::not_found_rate`), kept once per
/// enumerator and village instead of on each of their "not found" visits, so a visit elsewhere in the village
/// updates one row. Flags stored before have none until the village's next visit; their visits show the numbers
/// stored with them until then.
const SIGNAL_FLAG_DETAIL: &str = "
ALTER TABLE signal_village_flags ADD COLUMN detail TEXT;
";

/// Signals of fabrication (`crate::signals`, issue 16). What the signals need of each visit's latest revision,
/// indexed by everything that relates two visits (GPS cell, NIK, roster hash, the enumerator's time order and
/// day, the village), the signals themselves, and a stored photo's EXIF capture time. Visits stored before get
/// their signals when the server starts (`signals::store::backfill`).
const SIGNAL_TABLES: &str = "
CREATE TABLE signal_facts (
    visit_id      TEXT PRIMARY KEY,
    revision      INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    household     TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    outcome_class TEXT NOT NULL CHECK (outcome_class IN ('found', 'not_found', 'other')),
    started_at    TEXT NOT NULL,
    finalised_at  TEXT,
    day           TEXT NOT NULL,
    lat           REAL,
    lon           REAL,
    accuracy_m    REAL,
    cell_lat      INTEGER,
    cell_lon      INTEGER,
    members       INTEGER NOT NULL,
    roster_hash   TEXT
);
CREATE INDEX signal_facts_by_cell ON signal_facts (cell_lat, cell_lon);
CREATE INDEX signal_facts_by_time ON signal_facts (user_id, started_at, visit_id);
CREATE INDEX signal_facts_by_day ON signal_facts (user_id, day);
CREATE INDEX signal_facts_by_roster ON signal_facts (roster_hash);
CREATE INDEX signal_facts_by_village ON signal_facts (region_code, user_id, outcome_class);
CREATE TABLE signal_niks (
    nik      TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    PRIMARY KEY (nik, visit_id)
);
CREATE INDEX signal_niks_by_visit ON signal_niks (visit_id);
CREATE TABLE visit_signals (
    visit_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    other    TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL,
    PRIMARY KEY (visit_id, kind, other)
);
CREATE INDEX visit_signals_by_other ON visit_signals (other);
-- The enumerators flagged for many not-found outcomes in a village, so that a visit recomputes only their visits.
CREATE TABLE signal_village_flags (
    region_code TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (region_code, user_id)
);
ALTER TABLE media ADD COLUMN captured_at TEXT;
ALTER TABLE media ADD COLUMN captured_offset INTEGER;
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
        let Some(migration) = MIGRATIONS.get(found as usize).filter(|_| found < target) else {
            return Ok(());
        };
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Rust(step) => step(&Transaction::sqlite(&tx))?,
        }
        tx.pragma_update(None, "user_version", i64::from(found) + 1)?;
        tx.commit()?;
        tracing::info!(version = found + 1, "database migrated");
    }
}
