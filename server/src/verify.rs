//! `tepat-server admin verify --data DIR`: recomputes every chain and every stored visit's hash and reports
//! exactly what does not match.
//!
//! 1. The ledger (`ledger.rs`): ids without gaps, each row's `prev_hash` the hash of the row before, each row's
//!    hash recomputed from its content.
//! 2. Every stored visit revision: its document's SHA-256 against the newest ledger row that stored it
//!    (`visit_stored` / `content_replaced`), its `content_hash` column against the hash of its document; a
//!    revision the ledger stored that is no longer there.
//! 3. Every review: the row against the ledger row that recorded it (decision, comment, reviewer, field, time), a
//!    review row the ledger never recorded, a ledger review whose row is gone, and each revision's status against
//!    its last recorded decision.
//! 4. The devices' trails (`trail.rs`): each kept event's hash recomputed, and the link to the position before it
//!    where the server holds it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::db::sql::Transaction;
use serde_json::Value;
use tepat_protocol::VisitDoc;
use tepat_protocol::trail::{EventFields, Monotonic, ZERO_HASH, event_hash};
use uuid::Uuid;

use crate::db::{self, Db, DbError};
use crate::ledger::{self, CONTENT_REPLACED, REVIEW, VISIT_STORED};

/// One thing that does not match: where, and expected against found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `ledger row 17`, `visit <id> revision 2`, `review row 4`, `trail of device <id> position 31`.
    pub place: String,
    /// What was compared (`hash`, `document sha256`, `decision`, …).
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MISMATCH {}: {}: expected {} found {}",
            self.place, self.what, self.expected, self.found
        )
    }
}

/// What `verify` checked and what it found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub ledger_rows: u64,
    pub visits: u64,
    pub reviews: u64,
    pub trail_events: u64,
    /// Kept trail events the check at ingest already found edited or badly linked (findings of their visits).
    pub trail_events_flagged: u64,
    pub mismatches: Vec<Mismatch>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }

    fn push(
        &mut self,
        place: String,
        what: &str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.mismatches.push(Mismatch {
            place,
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for mismatch in &self.mismatches {
            writeln!(f, "{mismatch}")?;
        }
        write!(
            f,
            "checked {} ledger row(s), {} visit revision(s), {} review(s), {} trail event(s) ({} of them found wrong \
             when they arrived: findings of their visits): ",
            self.ledger_rows,
            self.visits,
            self.reviews,
            self.trail_events,
            self.trail_events_flagged
        )?;
        if self.is_clean() {
            write!(f, "everything matches")
        } else {
            write!(f, "{} mismatch(es)", self.mismatches.len())
        }
    }
}

/// Runs every check on one consistent snapshot of the database.
pub fn verify(db: &Db) -> Result<Report, DbError> {
    db.read(|tx| {
        let mut report = Report::default();
        let stored = check_ledger(tx, &mut report)?;
        check_visits(tx, &stored, &mut report)?;
        check_reviews(tx, &stored, &mut report)?;
        check_trails(tx, &mut report)?;
        Ok(report)
    })
}

/// What the ledger says: per visit subject the newest stored document hash (and its row), per review id the
/// recorded review (and its row).
#[derive(Default)]
struct Recorded {
    visits: HashMap<String, (u64, String)>,
    reviews: HashMap<i64, (u64, Value)>,
}

fn check_ledger(tx: &Transaction<'_>, report: &mut Report) -> Result<Recorded, DbError> {
    let mut stmt = tx.prepare(
        "SELECT id, at, actor, kind, subject, detail, prev_hash, hash FROM ledger ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut recorded = Recorded::default();
    let mut expected_id = 1u64;
    let mut before = ZERO_HASH.to_string();
    while let Some(r) = rows.next()? {
        let id = r.get::<_, i64>(0)? as u64;
        let (at, actor, kind, subject, detail, prev_hash, hash): (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        ) = (
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        );
        report.ledger_rows += 1;
        let place = format!("ledger row {id} ({kind} {subject})");
        if id != expected_id {
            let gone = if id > expected_id {
                format!("rows {expected_id}..{} missing", id - 1)
            } else {
                format!("row {id} out of order")
            };
            report.push(
                place.clone(),
                "row id",
                expected_id.to_string(),
                format!("{id} ({gone})"),
            );
        }
        expected_id = id + 1;
        if prev_hash != before {
            report.push(
                place.clone(),
                "prev_hash (hash of the row before)",
                &before,
                &prev_hash,
            );
        }
        let recomputed = ledger::row_hash(id, &at, &actor, &kind, &subject, &detail, &prev_hash);
        if recomputed != hash {
            report.push(
                place.clone(),
                "hash of the row's content",
                &recomputed,
                &hash,
            );
        }
        before = hash;
        let detail: Value = serde_json::from_str(&detail).unwrap_or(Value::Null);
        match kind.as_str() {
            VISIT_STORED | CONTENT_REPLACED => {
                let doc_sha = detail["doc_sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                recorded.visits.insert(subject, (id, doc_sha));
            }
            REVIEW => {
                if let Some(review_id) = detail["review_id"].as_i64() {
                    recorded.reviews.insert(review_id, (id, detail));
                }
            }
            _ => {}
        }
    }
    Ok(recorded)
}

fn check_visits(
    tx: &Transaction<'_>,
    recorded: &Recorded,
    report: &mut Report,
) -> Result<(), DbError> {
    let mut stmt =
        tx.prepare("SELECT visit_id, revision, doc, content_hash FROM visits ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut seen = HashSet::new();
    while let Some(r) = rows.next()? {
        let (visit_id, revision, doc, content_hash): (String, u32, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        report.visits += 1;
        let subject = ledger::visit_subject(&visit_id, revision);
        let place = format!("visit {visit_id} revision {revision}");
        let found = ledger::doc_sha256(&doc);
        match recorded.visits.get(&subject) {
            Some((row, expected)) if *expected != found => report.push(
                place.clone(),
                &format!("document sha256 (ledger row {row})"),
                expected,
                &found,
            ),
            Some(_) => {}
            None => report.push(place.clone(), "ledger row storing it", "a row", "none"),
        }
        match serde_json::from_str::<VisitDoc>(&doc) {
            Ok(parsed) => {
                let computed = parsed.content_hash();
                if computed != content_hash {
                    report.push(
                        place.clone(),
                        "content_hash column (hash of the document)",
                        &computed,
                        &content_hash,
                    );
                }
            }
            Err(e) => report.push(
                place,
                "document",
                "a visit document",
                format!("unreadable: {e}"),
            ),
        }
        seen.insert(subject);
    }
    for (subject, (row, _)) in &recorded.visits {
        if !seen.contains(subject) {
            report.push(
                format!("ledger row {row}"),
                "stored visit",
                format!("{subject} stored"),
                "no such visit revision",
            );
        }
    }
    Ok(())
}

fn check_reviews(
    tx: &Transaction<'_>,
    recorded: &Recorded,
    report: &mut Report,
) -> Result<(), DbError> {
    let mut stmt = tx.prepare("SELECT id FROM reviews ORDER BY id")?;
    let ids: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut last_decision: HashMap<(String, u32), (i64, String)> = HashMap::new();
    for id in &ids {
        report.reviews += 1;
        let Some(review) = ledger::read_review(tx, *id)? else {
            continue;
        };
        last_decision.insert(
            (review.visit_id.clone(), review.revision),
            (*id, review.decision.clone()),
        );
        let place = format!(
            "review row {id} (visit {} revision {})",
            review.visit_id, review.revision
        );
        let Some((row, detail)) = recorded.reviews.get(id) else {
            report.push(place, "ledger row recording it", "a row", "none");
            continue;
        };
        let stored = review.detail(*id);
        for key in ["decision", "comment", "reviewer", "field", "at"] {
            if stored[key] != detail[key] {
                report.push(
                    place.clone(),
                    &format!("{key} (ledger row {row})"),
                    detail[key].to_string(),
                    stored[key].to_string(),
                );
            }
        }
    }
    let present: HashSet<i64> = ids.into_iter().collect();
    for (id, (row, detail)) in &recorded.reviews {
        if !present.contains(id) {
            report.push(
                format!("review row {id}"),
                &format!("review recorded in ledger row {row}"),
                format!("decision {}", detail["decision"]),
                "no such review row",
            );
        }
    }
    let mut stmt = tx.prepare("SELECT visit_id, revision, status FROM visits ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (visit_id, revision, status): (String, u32, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let expected = match last_decision.get(&(visit_id.clone(), revision)) {
            Some((_, decision)) => decision.clone(),
            None => "submitted".to_string(),
        };
        if expected != status {
            report.push(
                format!("visit {visit_id} revision {revision}"),
                "status (its last review decision)",
                expected,
                status,
            );
        }
    }
    Ok(())
}

fn check_trails(tx: &Transaction<'_>, report: &mut Report) -> Result<(), DbError> {
    let mut stmt = tx.prepare(
        "SELECT device_id, seq, device_seq, at, actor, visit_id, revision, kind, path, old, new, prev_hash, hash,
             flagged, boot, mono
         FROM trail_events ORDER BY device_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut before: Option<(String, u64, String, bool)> = None;
    while let Some(r) = rows.next()? {
        let device_id: String = r.get(0)?;
        let seq = r.get::<_, i64>(1)? as u64;
        let device_seq = r.get::<_, i64>(2)? as u64;
        let at: String = r.get(3)?;
        let actor: String = r.get(4)?;
        let visit_id: String = r.get(5)?;
        let revision: Option<u32> = r.get(6)?;
        let kind: String = r.get(7)?;
        let path: Option<String> = r.get(8)?;
        let old: Option<String> = r.get(9)?;
        let new: Option<String> = r.get(10)?;
        let prev_hash: String = r.get(11)?;
        let hash: String = r.get(12)?;
        let flagged: bool = r.get(13)?;
        let boot: Option<String> = r.get(14)?;
        let mono: Option<i64> = r.get(15)?;
        let mono = match (boot, mono) {
            (Some(boot), Some(ms)) => Some(Monotonic {
                boot,
                ms: ms as u64,
            }),
            _ => None,
        };
        report.trail_events += 1;
        if flagged {
            report.trail_events_flagged += 1;
        }
        let place = format!("trail of device {device_id} position {seq} (visit {visit_id})");
        let fields = match (db::parse_timestamp(&at), Uuid::parse_str(&visit_id)) {
            (Ok(at), Ok(visit)) => Some(EventFields {
                seq,
                device_seq,
                at,
                mono: mono.as_ref(),
                actor: &actor,
                visit_id: Some(visit),
                revision,
                kind: &kind,
                path: path.as_deref(),
                old: old.as_deref(),
                new: new.as_deref(),
            }),
            _ => None,
        };
        match fields {
            Some(fields) => {
                let recomputed = event_hash(&fields, &prev_hash);
                if recomputed != hash && !flagged {
                    report.push(
                        place.clone(),
                        "hash of the event's content",
                        &recomputed,
                        &hash,
                    );
                }
            }
            None => report.push(
                place.clone(),
                "time and visit id",
                "readable",
                format!("{at} {visit_id}"),
            ),
        }
        if let Some((held_device, held_seq, held_hash, held_flagged)) = &before
            && *held_device == device_id
            && held_seq + 1 == seq
            && *held_hash != prev_hash
            && !flagged
            && !held_flagged
        {
            report.push(
                place,
                "prev_hash (hash of the position before)",
                held_hash,
                &prev_hash,
            );
        }
        before = Some((device_id, seq, hash, flagged));
    }
    Ok(())
}

/// `tepat-server admin verify`: the report's text, and whether everything matched.
pub fn run(db: &Db) -> Result<(String, bool), DbError> {
    let report = verify(db)?;
    Ok((report.to_string(), report.is_clean()))
}
