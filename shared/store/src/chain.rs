//! The audit trail as a hash chain (`tepat_protocol::trail`): every event is appended at the next chain position
//! (`audit.seq`: 1, 2, 3, …, never reused, no gaps) with the hash of the event before it, and the segment of a
//! visit that goes with it to the server is read from here.
//!
//! Each event also keeps the monotonic reading taken with its wall-clock time, when the runtime took one
//! ([`Store::note_clock`]): the boot it belongs to and the milliseconds since that boot. The reading is kept for
//! this connection only (a temporary table: it is never written to the file) and goes to the events stamped with
//! exactly that wall-clock time, so an event never pairs one clock's reading with another moment of the other.

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use tepat_protocol::bounds::{BodyLimits, check_trail_event};
use tepat_protocol::trail::{
    ENCODING_VERSION, EventFields, Monotonic, TrailEvent, VisitTrail, ZERO_HASH, ends_run,
    event_hash, starts_run,
};

use super::{Audit, Store, StoreError, next_seq, parse_time, parse_uuid, time_text};

/// Appends an audit event at the next chain position (with its own device sequence number) and returns that
/// number.
pub(crate) fn append(
    tx: &Transaction<'_>,
    at: DateTime<Utc>,
    actor: &str,
    event: &Audit<'_>,
) -> Result<u64, StoreError> {
    let device_seq = next_seq(tx)?;
    let last: Option<(i64, Option<String>)> = tx
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (last_seq, prev_hash) = match last {
        Some((seq, hash)) => (seq, hash.unwrap_or_else(|| ZERO_HASH.to_string())),
        None => (0, ZERO_HASH.to_string()),
    };
    let seq = last_seq + 1;
    // The time is kept to the millisecond (an audit needs no finer, and the trail's time differences stay short
    // on the wire) and hashed as it is stored, so the hash can be recomputed from the row.
    let at = at.trunc_subsecs(3);
    let mono = reading_at(tx, at)?;
    let fields = EventFields {
        seq: seq as u64,
        device_seq,
        at,
        mono: mono.as_ref(),
        actor,
        visit_id: event.visit_id,
        revision: event.revision,
        kind: event.kind,
        path: event.path,
        old: event.old,
        new: event.new,
    };
    let hash = event_hash(&fields, &prev_hash);
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, device_seq, actor, visit_id, revision, kind, path, old, new, prev_hash, hash,
             boot, mono)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        seq,
        time_text(at),
        device_seq as i64,
        actor,
        event.visit_id.map(|id| id.to_string()),
        event.revision,
        event.kind,
        event.path,
        event.old,
        event.new,
        prev_hash,
        hash,
        mono.as_ref().map(|m| m.boot.as_str()),
        mono.as_ref().map(|m| m.ms as i64),
    ])?;
    Ok(device_seq)
}

/// The temporary table of the monotonic reading that goes with a wall-clock time ([`Store::note_clock`]).
pub(crate) const CLOCK_READING: &str = "CREATE TEMP TABLE IF NOT EXISTS clock_reading (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    at   TEXT    NOT NULL,
    boot TEXT    NOT NULL,
    ms   INTEGER NOT NULL
)";

/// The monotonic reading noted with exactly the wall-clock time `at`, if any.
fn reading_at(tx: &Transaction<'_>, at: DateTime<Utc>) -> Result<Option<Monotonic>, StoreError> {
    let reading = tx
        .prepare_cached("SELECT boot, ms FROM temp.clock_reading WHERE id = 1 AND at = ?1")?
        .query_row(params![time_text(at)], |r| {
            Ok(Monotonic {
                boot: r.get(0)?,
                ms: r.get::<_, i64>(1)? as u64,
            })
        })
        .optional()?;
    Ok(reading)
}

/// One stored audit row.
struct Row {
    seq: u64,
    device_seq: u64,
    at: DateTime<Utc>,
    mono: Option<Monotonic>,
    actor: String,
    visit_id: Option<Uuid>,
    revision: Option<u32>,
    kind: String,
    path: Option<String>,
    old: Option<String>,
    new: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

const ROW_COLUMNS: &str = "seq, at, device_seq, actor, visit_id, revision, kind, path, old, new, prev_hash, hash, boot, mono";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Row, StoreError>> {
    let seq: i64 = r.get(0)?;
    let at: String = r.get(1)?;
    let device_seq: i64 = r.get(2)?;
    let visit_id: Option<String> = r.get(4)?;
    let boot: Option<String> = r.get(12)?;
    let mono: Option<i64> = r.get(13)?;
    let row = (|| -> Result<Row, StoreError> {
        Ok(Row {
            seq: seq as u64,
            device_seq: device_seq as u64,
            at: parse_time(&at)?,
            mono: match (boot, mono) {
                (Some(boot), Some(ms)) => Some(Monotonic {
                    boot,
                    ms: ms as u64,
                }),
                (None, None) => None,
                _ => {
                    return Err(StoreError::Corrupt(
                        "an audit reading without its boot or time".into(),
                    ));
                }
            },
            actor: r.get(3)?,
            visit_id: visit_id.as_deref().map(parse_uuid).transpose()?,
            revision: r.get(5)?,
            kind: r.get(6)?,
            path: r.get(7)?,
            old: r.get(8)?,
            new: r.get(9)?,
            prev_hash: r.get(10)?,
            hash: r.get(11)?,
        })
    })();
    Ok(row)
}

impl Row {
    fn fields(&self) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            device_seq: self.device_seq,
            at: self.at,
            mono: self.mono.as_ref(),
            actor: &self.actor,
            visit_id: self.visit_id,
            revision: self.revision,
            kind: &self.kind,
            path: self.path.as_deref(),
            old: self.old.as_deref(),
            new: self.new.as_deref(),
        }
    }
}

/// Migration to schema 6: chains the events already stored, in their order. The triggers that refuse changes
/// to the audit are lifted for this one step and put back in the same transaction.
pub(crate) fn chain_existing_events(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute_batch("DROP TRIGGER audit_no_update;")?;
    let rows = {
        // Schema 6 has no readings yet (they come with 7).
        let mut stmt = tx.prepare(
            "SELECT seq, at, device_seq, actor, visit_id, revision, kind, path, old, new, prev_hash, hash, NULL,
                 NULL
             FROM audit ORDER BY seq",
        )?;
        let rows = stmt.query_map([], read_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        out
    };
    let mut prev_hash = ZERO_HASH.to_string();
    for row in rows {
        let hash = event_hash(&row.fields(), &prev_hash);
        tx.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            params![prev_hash, hash, row.seq as i64],
        )?;
        prev_hash = hash;
    }
    tx.execute_batch(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    )?;
    Ok(())
}

/// The trail of one visit to send with `revision`: its events in chain order (the newest
/// `limits.max_trail_events` of them), each checked against `limits` as the server will check it (one that fails
/// is left out, so it can never block a sync; the server sees its position without an event), and the chain
/// positions between the first and the last event that this database no longer holds.
pub(crate) fn visit_trail(
    conn: &Connection,
    visit_id: Uuid,
    revision: u32,
    limits: &BodyLimits,
) -> Result<VisitTrail, StoreError> {
    let mut rows = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM audit WHERE visit_id = ?1 ORDER BY seq DESC LIMIT ?2"
        ))?;
        let limit = i64::try_from(limits.max_trail_events).unwrap_or(i64::MAX);
        let found = stmt.query_map(params![visit_id.to_string(), limit], read_row)?;
        for row in found {
            rows.push(row??);
        }
    }
    rows.reverse();
    let mut events: Vec<TrailEvent> = Vec::with_capacity(rows.len());
    let mut edited = Vec::new();
    for row in rows {
        // The row checked by itself (its content and its own prev_hash against its hash): names an edited row.
        let stored = row.hash.clone().unwrap_or_default();
        let intact =
            event_hash(&row.fields(), row.prev_hash.as_deref().unwrap_or_default()) == stored;
        let event = TrailEvent {
            seq: row.seq,
            device_seq: row.device_seq,
            at: row.at,
            mono: row.mono,
            actor: row.actor,
            revision: row.revision,
            kind: row.kind,
            path: row.path,
            old: row.old,
            new: row.new,
            prev_hash: row.prev_hash,
            hash: Some(stored),
        };
        if check_trail_event(&event, limits).is_err() {
            continue;
        }
        if !intact {
            edited.push(event.seq);
        }
        events.push(event);
    }
    // Hashes only at the ends of runs (`tepat_protocol::trail`): the server recomputes the rest.
    for index in 0..events.len() {
        let (first, last) = (starts_run(&events, index), ends_run(&events, index));
        if let Some(event) = events.get_mut(index) {
            if !first {
                event.prev_hash = None;
            }
            if !last {
                event.hash = None;
            }
        }
    }
    let missing = match (events.first(), events.last()) {
        (Some(first), Some(last)) => missing_positions(conn, first.seq, last.seq, limits)?,
        _ => Vec::new(),
    };
    Ok(VisitTrail {
        visit_id,
        revision,
        encoding: ENCODING_VERSION,
        events,
        missing,
        edited,
    })
}

/// Chain positions in `first..=last` without a row (at most `max_trail_events` of them).
fn missing_positions(
    conn: &Connection,
    first: u64,
    last: u64,
    limits: &BodyLimits,
) -> Result<Vec<u64>, StoreError> {
    let held: i64 = conn
        .prepare_cached("SELECT count(*) FROM audit WHERE seq BETWEEN ?1 AND ?2")?
        .query_row(params![first as i64, last as i64], |r| r.get(0))?;
    if held as u64 == last - first + 1 {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare("SELECT seq FROM audit WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")?;
    let seqs = stmt.query_map(params![first as i64, last as i64], |r| r.get::<_, i64>(0))?;
    let mut missing = Vec::new();
    let mut expected = first;
    for seq in seqs {
        let seq = seq? as u64;
        while expected < seq && missing.len() < limits.max_trail_events {
            missing.push(expected);
            expected += 1;
        }
        expected = seq + 1;
    }
    Ok(missing)
}

/// What the local check of the chain found wrong at one position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// The row's content does not give its stored hash (edited after it was written).
    Edited {
        seq: u64,
        expected: String,
        found: String,
    },
    /// The row's `prev_hash` is not the hash of the row before it.
    BrokenLink {
        seq: u64,
        expected: String,
        found: String,
    },
    /// No row at this position (deleted).
    Missing { seq: u64 },
}

impl Store {
    /// Notes the monotonic reading taken with the wall-clock time `at` (the runtime, whenever it reads the
    /// clock for the App): audit events stamped with `at` (to the millisecond, as the audit keeps times) carry it,
    /// until the next note. `None`: no reading could be taken, and events carry none.
    pub fn note_clock(
        &mut self,
        at: DateTime<Utc>,
        reading: Option<&Monotonic>,
    ) -> Result<(), StoreError> {
        match reading {
            Some(reading) => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO temp.clock_reading (id, at, boot, ms) VALUES (1, ?1, ?2, ?3)",
                    )?
                    .execute(params![
                        time_text(at.trunc_subsecs(3)),
                        reading.boot,
                        reading.ms as i64
                    ])?;
            }
            None => {
                self.conn
                    .prepare_cached("DELETE FROM temp.clock_reading")?
                    .execute([])?;
            }
        }
        Ok(())
    }

    /// Checks the whole audit chain of this database: every row's hash recomputed, every link, every position.
    pub fn check_chain(&self) -> Result<Vec<ChainProblem>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {ROW_COLUMNS} FROM audit ORDER BY seq"))?;
        let rows = stmt.query_map([], read_row)?;
        let mut problems = Vec::new();
        let mut expected_seq = 1u64;
        let mut before = ZERO_HASH.to_string();
        for row in rows {
            let row = row??;
            while expected_seq < row.seq {
                problems.push(ChainProblem::Missing { seq: expected_seq });
                expected_seq += 1;
            }
            expected_seq = row.seq + 1;
            let prev_hash = row.prev_hash.clone().unwrap_or_default();
            if prev_hash != before {
                problems.push(ChainProblem::BrokenLink {
                    seq: row.seq,
                    expected: before.clone(),
                    found: prev_hash.clone(),
                });
            }
            let recomputed = event_hash(&row.fields(), &prev_hash);
            let stored = row.hash.clone().unwrap_or_default();
            if recomputed != stored {
                problems.push(ChainProblem::Edited {
                    seq: row.seq,
                    expected: recomputed,
                    found: stored.clone(),
                });
            }
            before = stored;
        }
        Ok(problems)
    }

    /// The trail of a visit as the next sync would send it with `revision`.
    pub fn visit_trail(
        &self,
        visit_id: Uuid,
        revision: u32,
        limits: &BodyLimits,
    ) -> Result<VisitTrail, StoreError> {
        visit_trail(&self.conn, visit_id, revision, limits)
    }
}
