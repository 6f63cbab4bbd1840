-- The server's schema on PostgreSQL (15 or newer): the baseline, equal to the SQLite schema at version 12
-- (`migrations.rs` V1 … SIGNAL_VILLAGE_COUNTS, with `ledger.rs`'s TRAIL_AND_LEDGER). A database made from this
-- file is at version 12 (`schema_version`); every later migration is added to both backends (ARCHITECTURE.md),
-- and this file is never edited once released.
--
-- The same SQL statements run on both backends and return the same values, so the types follow what SQLite
-- stores and the Rust side reads:
--   * INTEGER → BIGINT (read as i64; 0/1 flags stay 0/1, never boolean), REAL → DOUBLE PRECISION.
--   * TEXT → TEXT COLLATE "C": SQLite compares text bytewise, so order and range comparisons (RFC 3339 timestamps,
--     region codes, visit ids) are the same on a cluster of any locale.
--   * SQLite's rowid aliases (`id INTEGER PRIMARY KEY`, with or without AUTOINCREMENT) → identity columns,
--     assigned when the INSERT omits them. (The ledger gives its ids itself, 1, 2, 3, …; its identity sequence is
--     never used.)
--   * The columns SQLite's triggers derive from a visit's document are set by a BEFORE INSERT OR UPDATE OF doc
--     row trigger here, reading the document as SQLite's JSON functions do (see visits_derive below).
--   * The ledger refuses UPDATE, DELETE (and TRUNCATE) with SQLite's message: 'the ledger is append-only'.
-- PostgreSQL text cannot hold the NUL character (SQLite's can): such input must be refused before it is stored.
--
-- No BEGIN/COMMIT here: the caller runs the file in one transaction (psql --single-transaction, or the server's).

-- The schema version reached, one row (SQLite keeps it in PRAGMA user_version). A server refuses a database whose
-- version is newer than it knows.
CREATE TABLE schema_version (version BIGINT NOT NULL);
INSERT INTO schema_version (version) VALUES (12);

CREATE TABLE users (
    user_id       TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'supervisor', 'enumerator', 'assessor')),
    created_at    TEXT COLLATE "C" NOT NULL,
    -- argon2id PHC string; NULL: no console login.
    password_hash TEXT COLLATE "C"
);
CREATE TABLE user_regions (
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    region_code TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, region_code)
);
-- One-time enrolment codes; only their SHA-256 is kept.
CREATE TABLE enrol_codes (
    code_hash  TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_at    TEXT COLLATE "C",
    device_id  TEXT COLLATE "C"
);
-- Enrolled devices; only the SHA-256 of the bearer token is kept.
CREATE TABLE devices (
    device_id    TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    name         TEXT COLLATE "C" NOT NULL,
    token_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    enrolled_at  TEXT COLLATE "C" NOT NULL,
    revoked_at   TEXT COLLATE "C",
    last_seen_at TEXT COLLATE "C"
);
-- Published form versions: immutable once here.
CREATE TABLE forms (
    form_id      TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    json         TEXT COLLATE "C" NOT NULL,
    published_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (form_id, version)
);
CREATE TABLE assignments (
    assignment_id   TEXT COLLATE "C" PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    form_id         TEXT COLLATE "C" NOT NULL,
    form_version    BIGINT NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL,
    label           TEXT COLLATE "C" NOT NULL,
    prefill         TEXT COLLATE "C" NOT NULL,
    imported_at     TEXT COLLATE "C" NOT NULL,
    withdrawn_at    TEXT COLLATE "C",
    -- The family's registered members (JSON: the repeat's prefill key → one object of prefill keys per member).
    prefill_repeats TEXT COLLATE "C" NOT NULL DEFAULT '{}'
);
CREATE INDEX assignments_by_user ON assignments (user_id);
CREATE INDEX assignments_by_region ON assignments (region_code);
-- Every accepted revision of every visit. `seq` orders the supervisor pull and moves on every change.
CREATE TABLE visits (
    visit_id       TEXT COLLATE "C" NOT NULL,
    revision       BIGINT NOT NULL,
    content_hash   TEXT COLLATE "C" NOT NULL,
    doc            TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    device_id      TEXT COLLATE "C" NOT NULL,
    batch_id       TEXT COLLATE "C" NOT NULL,
    form_id        TEXT COLLATE "C" NOT NULL,
    form_version   BIGINT NOT NULL,
    assignment_id  TEXT COLLATE "C",
    region_code    TEXT COLLATE "C" NOT NULL,
    visit_date     TEXT COLLATE "C" NOT NULL,
    received_at    TEXT COLLATE "C" NOT NULL,
    findings       TEXT COLLATE "C" NOT NULL,
    error_count    BIGINT NOT NULL,
    warning_count  BIGINT NOT NULL,
    status         TEXT COLLATE "C" NOT NULL CHECK (status IN ('submitted', 'approved', 'returned')),
    review_comment TEXT COLLATE "C",
    reviewer       TEXT COLLATE "C",
    reviewed_at    TEXT COLLATE "C",
    seq            BIGINT NOT NULL UNIQUE,
    outcome        TEXT COLLATE "C",
    is_latest      BIGINT NOT NULL DEFAULT 1,
    -- What the export shows of the visit (JSON); NULL until filled.
    exported       TEXT COLLATE "C",
    progress_date  TEXT COLLATE "C",
    -- Derived from `doc` by visits_derive (below): warning notes, whether any top-level answer is a GPS fix or a
    -- photo (0/1), and the prefill review object (JSON; NULL when the document has none).
    note_count     BIGINT NOT NULL DEFAULT 0,
    has_gps        BIGINT NOT NULL DEFAULT 0,
    has_photo      BIGINT NOT NULL DEFAULT 0,
    prefill_review TEXT COLLATE "C",
    -- What the trail check found (JSON list; NULL: stored before trails) and the paradata (JSON; NULL: no trail).
    trail_problems TEXT COLLATE "C",
    paradata       TEXT COLLATE "C",
    PRIMARY KEY (visit_id, revision)
);
CREATE INDEX visits_by_region ON visits (region_code);
CREATE INDEX visits_latest_by_user ON visits (is_latest, user_id, visit_date);
-- Only rows still to fill: empty once filled.
CREATE INDEX visits_unexported ON visits (visit_id, revision) WHERE exported IS NULL;
-- The review queue: latest revisions by status in server order, holding every column the filters and the count
-- read, so counting waiting visits never reads their documents.
CREATE INDEX visits_queue ON visits (is_latest, status, seq, region_code, user_id, visit_date, outcome,
                                     error_count, warning_count, note_count, has_gps, has_photo, visit_id);
-- Different content under an existing (visit_id, revision): kept for a supervisor, never merged.
CREATE TABLE conflicts (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    visit_id     TEXT COLLATE "C" NOT NULL,
    revision     BIGINT NOT NULL,
    content_hash TEXT COLLATE "C" NOT NULL,
    doc          TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    device_id    TEXT COLLATE "C" NOT NULL,
    batch_id     TEXT COLLATE "C" NOT NULL,
    region_code  TEXT COLLATE "C" NOT NULL,
    received_at  TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL UNIQUE,
    UNIQUE (visit_id, revision, content_hash)
);
-- Receipts of every batch, so a batch re-sent after a dropped answer gets the same receipts.
CREATE TABLE batches (
    batch_id    TEXT COLLATE "C" PRIMARY KEY,
    device_id   TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    receipts    TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL
);
-- What sync sends down: per user (or to everyone when user_id is NULL), in order.
CREATE TABLE changes (
    seq        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id    TEXT COLLATE "C",
    kind       TEXT COLLATE "C" NOT NULL,
    ref_id     TEXT COLLATE "C" NOT NULL,
    ref_rev    BIGINT,
    payload    TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX changes_by_user ON changes (user_id, seq);
-- Audit trail of review decisions (`field`: a return pinned to one answer).
CREATE TABLE reviews (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    visit_id        TEXT COLLATE "C" NOT NULL,
    revision        BIGINT NOT NULL,
    decision        TEXT COLLATE "C" NOT NULL,
    comment         TEXT COLLATE "C" NOT NULL,
    reviewer        TEXT COLLATE "C" NOT NULL,
    reviewer_device TEXT COLLATE "C" NOT NULL,
    at              TEXT COLLATE "C" NOT NULL,
    field           TEXT COLLATE "C"
);
CREATE INDEX reviews_by_visit ON reviews (visit_id, revision);
CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('pull', 0);

-- Photos (`crate::media`): stored photos by hash (with the EXIF capture time, if any), who uploaded each, uploads
-- in progress, and the photos each stored revision of each visit references.
CREATE TABLE media (
    sha256          TEXT COLLATE "C" PRIMARY KEY,
    bytes           BIGINT NOT NULL,
    stored_at       TEXT COLLATE "C" NOT NULL,
    captured_at     TEXT COLLATE "C",
    captured_offset BIGINT
);
CREATE TABLE media_owners (
    sha256      TEXT COLLATE "C" NOT NULL REFERENCES media (sha256),
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    device_id   TEXT COLLATE "C" NOT NULL,
    uploaded_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (sha256, user_id)
);
-- Uploads in progress; the bytes so far are in media/partial/<upload_id>.part.
CREATE TABLE media_uploads (
    upload_id  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sha256     TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    length     BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (user_id, sha256)
);
CREATE INDEX media_uploads_by_expiry ON media_uploads (expires_at);
-- Every revision keeps its photos: a correction that retakes one adds rows, never replaces them.
CREATE TABLE visit_photos (
    visit_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    path     TEXT COLLATE "C" NOT NULL,
    sha256   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (visit_id, revision, path)
);
CREATE INDEX visit_photos_by_hash ON visit_photos (sha256);

-- The web console: sessions by the SHA-256 of their cookie, failed logins per account and per address.
CREATE TABLE console_sessions (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
    csrf         TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE TABLE login_failures (
    key             TEXT COLLATE "C" PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at TEXT COLLATE "C" NOT NULL
);
-- Conflicts a supervisor resolved: the copy not kept stays here (nothing stored is lost).
CREATE TABLE conflicts_resolved (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    visit_id      TEXT COLLATE "C" NOT NULL,
    revision      BIGINT NOT NULL,
    kept          TEXT COLLATE "C" NOT NULL CHECK (kept IN ('stored', 'conflicting')),
    discarded_doc TEXT COLLATE "C" NOT NULL,
    resolved_by   TEXT COLLATE "C" NOT NULL,
    resolved_at   TEXT COLLATE "C" NOT NULL
);

-- The devices' trails (`crate::trail`).
CREATE TABLE trail_events (
    device_id   TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,   -- the position in the device's chain
    device_seq  BIGINT NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    actor       TEXT COLLATE "C" NOT NULL,
    visit_id    TEXT COLLATE "C" NOT NULL,
    revision    BIGINT,
    kind        TEXT COLLATE "C" NOT NULL,
    path        TEXT COLLATE "C",
    old         TEXT COLLATE "C",
    new         TEXT COLLATE "C",
    prev_hash   TEXT COLLATE "C" NOT NULL,
    hash        TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    -- 1: the check at ingest already found this event edited or its link broken (a finding of its visit), so
    -- `admin verify` counts it apart from a change made since.
    flagged     BIGINT NOT NULL DEFAULT 0,
    -- The monotonic reading that came with the event (the boot and the milliseconds since it; NULL: none).
    boot        TEXT COLLATE "C",
    mono        BIGINT,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX trail_events_by_visit ON trail_events (visit_id, seq);
-- The server's own chain (`crate::ledger`): append-only, ids 1, 2, 3, … given by the server.
CREATE TABLE ledger (
    id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    subject   TEXT COLLATE "C" NOT NULL,
    detail    TEXT COLLATE "C" NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL,
    hash      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ledger_by_subject ON ledger (subject, id);

-- Signals of fabrication (`crate::signals`): what the signals need of each visit's latest revision, indexed by
-- everything that relates two visits, and the signals themselves.
CREATE TABLE signal_facts (
    visit_id      TEXT COLLATE "C" PRIMARY KEY,
    revision      BIGINT NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    household     TEXT COLLATE "C" NOT NULL,
    region_code   TEXT COLLATE "C" NOT NULL,
    outcome_class TEXT COLLATE "C" NOT NULL CHECK (outcome_class IN ('found', 'not_found', 'other')),
    started_at    TEXT COLLATE "C" NOT NULL,
    finalised_at  TEXT COLLATE "C",
    day           TEXT COLLATE "C" NOT NULL,
    lat           DOUBLE PRECISION,
    lon           DOUBLE PRECISION,
    accuracy_m    DOUBLE PRECISION,
    cell_lat      BIGINT,
    cell_lon      BIGINT,
    members       BIGINT NOT NULL,
    roster_hash   TEXT COLLATE "C"
);
CREATE INDEX signal_facts_by_cell ON signal_facts (cell_lat, cell_lon);
CREATE INDEX signal_facts_by_time ON signal_facts (user_id, started_at, visit_id);
CREATE INDEX signal_facts_by_day ON signal_facts (user_id, day);
CREATE INDEX signal_facts_by_roster ON signal_facts (roster_hash);
CREATE INDEX signal_facts_by_village ON signal_facts (region_code, user_id, outcome_class);
CREATE TABLE signal_niks (
    nik      TEXT COLLATE "C" NOT NULL,
    visit_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (nik, visit_id)
);
CREATE INDEX signal_niks_by_visit ON signal_niks (visit_id);
CREATE TABLE visit_signals (
    visit_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    kind     TEXT COLLATE "C" NOT NULL,
    other    TEXT COLLATE "C" NOT NULL DEFAULT '',
    detail   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (visit_id, kind, other)
);
CREATE INDEX visit_signals_by_other ON visit_signals (other);
-- The enumerators flagged for many not-found outcomes in a village, so that a visit recomputes only their visits.
CREATE TABLE signal_village_flags (
    region_code TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (region_code, user_id)
);
-- Each enumerator's visits and "not found" visits per village, kept as visits are stored.
CREATE TABLE signal_village_counts (
    region_code TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    visits      BIGINT NOT NULL,
    not_found   BIGINT NOT NULL,
    PRIMARY KEY (region_code, user_id)
);

-- ---------------------------------------------------------------------------------------------------------------
-- visits: note_count, has_gps, has_photo and prefill_review from the document, at insert and whenever `doc` is
-- written (a supervisor keeping a conflicting copy), read as SQLite's JSON functions read it (migrations V7, V8):
--   note_count     = count(*) FROM json_each(doc, '$.warning_notes'): an object's members, an array's elements, 1
--                    for a scalar (JSON null included), 0 when missing;
--   has_gps        = 1 when a value of json_each(doc, '$.answers') (an object's member values, an array's elements)
--                    is an object whose `lat` is a number (SQLite's 'integer' or 'real'), else 0;
--   has_photo      = likewise, an object whose `sha256` is a string;
--   prefill_review = json_extract(doc, '$.prefill_review') when that is an object (SQLite returns it without the
--                    whitespace between tokens; strings, escapes and numbers as written), else NULL.
-- Of duplicate keys SQLite reads the first (PostgreSQL's `->` the last), hence the first by position in json_each.
-- Two statements: the document's top level, then the answers. Cost per insert of a 3.7 KB document, on 2 busy
-- cores: 0.15–0.23 ms; SQLite's triggers 0.10–0.13 ms (server/scripts/pg-trigger-bench.sh).
CREATE FUNCTION visits_derive() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    doc json := NEW.doc::json;
    notes json;
    answers json;
    review json;
    gps boolean;
    photo boolean;
BEGIN
    -- SQL NULL: the member is missing (a JSON null is the json value 'null').
    SELECT (array_agg(m.value ORDER BY m.n) FILTER (WHERE m.key = 'warning_notes'))[1],
           (array_agg(m.value ORDER BY m.n) FILTER (WHERE m.key = 'answers'))[1],
           (array_agg(m.value ORDER BY m.n) FILTER (WHERE m.key = 'prefill_review'))[1]
    INTO notes, answers, review
    FROM json_each(CASE WHEN json_typeof(doc) = 'object' THEN doc END) WITH ORDINALITY AS m (key, value, n)
    WHERE m.key IN ('warning_notes', 'answers', 'prefill_review');

    NEW.note_count := CASE
        WHEN notes IS NULL THEN 0
        WHEN json_typeof(notes) = 'object' THEN (SELECT count(*) FROM json_each(notes))
        WHEN json_typeof(notes) = 'array' THEN json_array_length(notes)
        ELSE 1
    END;

    SELECT coalesce(bool_or(json_typeof(f.lat) = 'number'), false),
           coalesce(bool_or(json_typeof(f.sha256) = 'string'), false)
    INTO gps, photo
    FROM (
        SELECT value FROM json_each(CASE WHEN json_typeof(answers) = 'object' THEN answers END)
        UNION ALL
        SELECT value FROM json_array_elements(CASE WHEN json_typeof(answers) = 'array' THEN answers END) AS value
    ) AS a (value)
    -- Only objects reach the lateral (the CASE keeps json_each from ever seeing anything else).
    CROSS JOIN LATERAL (
        SELECT (array_agg(e.value ORDER BY e.n) FILTER (WHERE e.key = 'lat'))[1] AS lat,
               (array_agg(e.value ORDER BY e.n) FILTER (WHERE e.key = 'sha256'))[1] AS sha256
        FROM json_each(CASE WHEN json_typeof(a.value) = 'object' THEN a.value END) WITH ORDINALITY AS e (key, value, n)
    ) AS f
    WHERE json_typeof(a.value) = 'object';
    NEW.has_gps := CASE WHEN gps THEN 1 ELSE 0 END;
    NEW.has_photo := CASE WHEN photo THEN 1 ELSE 0 END;

    NEW.prefill_review := CASE WHEN json_typeof(review) = 'object'
        THEN regexp_replace(review::text, '("(?:[^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g') END;
    RETURN NEW;
END
$$;
CREATE TRIGGER visits_derive BEFORE INSERT OR UPDATE OF doc ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_derive();

-- The ledger is append-only: SQLite's ledger_no_update and ledger_no_delete (RAISE(ABORT, …)), and TRUNCATE, which
-- SQLite does not have.
CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
