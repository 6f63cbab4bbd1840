//! The server's own chain (`ledger`): every review decision, every admin change (users, passwords, enrolment
//! codes, devices, assignment imports and withdrawals, form versions) and every stored visit revision (the
//! SHA-256 of its stored document) is appended as a row whose hash covers the row before it. `tepat-server admin
//! verify` (`verify.rs`) recomputes the chain and compares the stored visits and reviews with it.
//!
//! Row `id`s run 1, 2, 3, … without gaps; `hash` = SHA-256 of the canonical encoding
//! (`tepat_protocol::trail::canonical_hash`, tag `tepat-ledger-v1`) of `id`, `at`, `actor`, `kind`, `subject`,
//! `detail` (a JSON object, hashed as stored) and `prev_hash` ([`ZERO_HASH`] for row 1). Triggers refuse
//! `UPDATE` and `DELETE`, so only someone working around the server can change it, and then `verify` says where.

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tepat_protocol::hex;
use tepat_protocol::trail::{ZERO_HASH, canonical_hash};

use crate::db::{self, DbError};

/// The tag of the ledger's canonical encoding.
pub const LEDGER_TAG: &str = "tepat-ledger-v1";

/// A visit revision stored at ingest (detail: `content_hash`, `doc_sha256`, `device_id`).
pub const VISIT_STORED: &str = "visit_stored";
/// A stored revision's content replaced by a supervisor keeping a conflicting copy (detail as `visit_stored`).
pub const CONTENT_REPLACED: &str = "content_replaced";
/// A review decision (detail: `review_id`, `decision`, `comment`, `reviewer`, `field`, `at`).
pub const REVIEW: &str = "review";

/// The subject of a visit revision's rows.
pub fn visit_subject(visit_id: &str, revision: u32) -> String {
    format!("visit:{visit_id}:{revision}")
}

/// SHA-256 (hex) of a stored document's exact text.
pub fn doc_sha256(doc: &str) -> String {
    hex(&Sha256::digest(doc.as_bytes()))
}

/// The hash of one ledger row.
pub fn row_hash(
    id: u64,
    at: &str,
    actor: &str,
    kind: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let id = id.to_string();
    canonical_hash(
        LEDGER_TAG,
        &[
            Some(&id),
            Some(at),
            Some(actor),
            Some(kind),
            Some(subject),
            Some(detail),
            Some(prev_hash),
        ],
    )
}

/// Appends a row in the caller's transaction and returns its id.
pub fn append(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    actor: &str,
    kind: &str,
    subject: &str,
    detail: &Value,
) -> Result<u64, DbError> {
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, hash FROM ledger ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (last_id, prev_hash) = last.unwrap_or((0, ZERO_HASH.to_string()));
    let id = last_id as u64 + 1;
    let at = db::timestamp(now);
    let detail = detail.to_string();
    let hash = row_hash(id, &at, actor, kind, subject, &detail, &prev_hash);
    tx.prepare_cached(
        "INSERT INTO ledger (id, at, actor, kind, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id as i64, at, actor, kind, subject, detail, prev_hash, hash
    ])?;
    Ok(id)
}

/// Records a visit revision as stored now (`kind`: [`VISIT_STORED`] or [`CONTENT_REPLACED`]).
pub fn record_visit(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    actor: &str,
    kind: &str,
    visit_id: &str,
    revision: u32,
) -> Result<u64, DbError> {
    let (doc, content_hash, device_id): (String, String, String) = tx.query_row(
        "SELECT doc, content_hash, device_id FROM visits WHERE visit_id = ?1 AND revision = ?2",
        params![visit_id, revision],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let detail = serde_json::json!({
        "content_hash": content_hash,
        "doc_sha256": doc_sha256(&doc),
        "device_id": device_id,
    });
    append(
        tx,
        now,
        actor,
        kind,
        &visit_subject(visit_id, revision),
        &detail,
    )
}

/// Records the review row `review_id` as it is stored now.
pub fn record_review(tx: &Transaction<'_>, review_id: i64) -> Result<u64, DbError> {
    let review = read_review(tx, review_id)?
        .ok_or_else(|| DbError::Corrupt(format!("review {review_id} vanished")))?;
    let at = db::parse_timestamp(&review.at)?;
    let subject = visit_subject(&review.visit_id, review.revision);
    let actor = review.reviewer.clone();
    append(tx, at, &actor, REVIEW, &subject, &review.detail(review_id))
}

/// A stored review row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub visit_id: String,
    pub revision: u32,
    pub decision: String,
    pub comment: String,
    pub reviewer: String,
    pub field: Option<String>,
    pub at: String,
}

impl Review {
    /// What the ledger keeps of it.
    pub fn detail(&self, review_id: i64) -> Value {
        serde_json::json!({
            "review_id": review_id,
            "decision": self.decision,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "field": self.field,
            "at": self.at,
        })
    }
}

pub fn read_review(tx: &Transaction<'_>, review_id: i64) -> Result<Option<Review>, DbError> {
    Ok(tx
        .query_row(
            "SELECT visit_id, revision, decision, comment, reviewer, field, at FROM reviews WHERE id = ?1",
            [review_id],
            |r| {
                Ok(Review {
                    visit_id: r.get(0)?,
                    revision: r.get(1)?,
                    decision: r.get(2)?,
                    comment: r.get(3)?,
                    reviewer: r.get(4)?,
                    field: r.get(5)?,
                    at: r.get(6)?,
                })
            },
        )
        .optional()?)
}

/// The migration that starts the ledger and the trail tables, and records what is stored already: every visit
/// revision and every review, in their order, by the actor `migration`.
pub const TRAIL_AND_LEDGER: &str = "
CREATE TABLE trail_events (
    device_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL,   -- the position in the device's chain
    device_seq  INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    visit_id    TEXT    NOT NULL,
    revision    INTEGER,
    kind        TEXT    NOT NULL,
    path        TEXT,
    old         TEXT,
    new         TEXT,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    -- 1: the check at ingest already found this event edited or its link broken (a finding of its visit), so
    -- `admin verify` counts it apart from a change made since.
    flagged     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX trail_events_by_visit ON trail_events (visit_id, seq);
-- What the trail check found (JSON list of problems; NULL: stored before trails) and the paradata computed from
-- the trail (JSON; NULL without a trail).
ALTER TABLE visits ADD COLUMN trail_problems TEXT;
ALTER TABLE visits ADD COLUMN paradata TEXT;
CREATE TABLE ledger (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX ledger_by_subject ON ledger (subject, id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
";

/// Migration step: the tables above, then the rows already stored, recorded once.
pub fn migrate(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(TRAIL_AND_LEDGER)?;
    let now = Utc::now();
    let visits: Vec<(String, u32)> = {
        let mut stmt = tx.prepare("SELECT visit_id, revision FROM visits ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (visit_id, revision) in visits {
        record_visit(tx, now, "migration", VISIT_STORED, &visit_id, revision)?;
    }
    let reviews: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT id FROM reviews ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in reviews {
        record_review(tx, id)?;
    }
    Ok(())
}
