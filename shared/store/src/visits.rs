//! A visit's life in the store: start, answers, warning notes, finalise (state and outbox together), reopen.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Audit, Finalise, NewVisit, Store, StoreError, VisitRecord, VisitState, VisitSummary, audit,
    parse_date, parse_time, parse_uuid, time_text,
};
use tepat_form::paths::{AnswerRow, flatten, unflatten};
use tepat_protocol::{DeviceTimes, VisitDoc};

pub(super) const VISIT_COLUMNS: &str = "visit_id, form_id, form_version, assignment_id, revision, state, visit_date, \
     started_at, started_seq, finalised_at, finalised_date, finalised_seq, outcome, revisit, supervisor_comment, \
     reviewer, returned_at, reject_reason, supervisor_field";

/// Reads a row selected with [`VISIT_COLUMNS`].
pub(super) fn read_visit(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<VisitSummary, StoreError>> {
    let visit_id: String = r.get(0)?;
    let state: String = r.get(5)?;
    let visit_date: String = r.get(6)?;
    let started_at: String = r.get(7)?;
    let finalised_at: Option<String> = r.get(9)?;
    let finalised_date: Option<String> = r.get(10)?;
    let returned_at: Option<String> = r.get(16)?;
    let started_seq: i64 = r.get(8)?;
    let finalised_seq: Option<i64> = r.get(11)?;
    let partial = (
        r.get::<_, String>(1)?,
        r.get::<_, u32>(2)?,
        r.get::<_, Option<String>>(3)?,
        r.get::<_, u32>(4)?,
        r.get::<_, Option<String>>(12)?,
        r.get::<_, bool>(13)?,
        r.get::<_, Option<String>>(14)?,
        r.get::<_, Option<String>>(15)?,
        r.get::<_, Option<String>>(17)?,
        r.get::<_, Option<String>>(18)?,
    );
    Ok((|| {
        let (
            form_id,
            form_version,
            assignment_id,
            revision,
            outcome,
            revisit,
            comment,
            reviewer,
            reject,
            pinned_field,
        ) = partial;
        Ok(VisitSummary {
            visit_id: parse_uuid(&visit_id)?,
            form_id,
            form_version,
            assignment_id,
            revision,
            state: VisitState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("visit state {state:?}")))?,
            visit_date: parse_date(&visit_date)?,
            started_at: parse_time(&started_at)?,
            started_seq: started_seq as u64,
            finalised_at: finalised_at.as_deref().map(parse_time).transpose()?,
            finalised_date: finalised_date.as_deref().map(parse_date).transpose()?,
            finalised_seq: finalised_seq.map(|s| s as u64),
            outcome,
            revisit,
            supervisor_comment: comment,
            supervisor_field: pinned_field,
            reviewer,
            returned_at: returned_at.as_deref().map(parse_time).transpose()?,
            reject_reason: reject,
        })
    })())
}

pub(super) fn visit_summary_in(
    conn: &rusqlite::Connection,
    visit_id: Uuid,
) -> Result<VisitSummary, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {VISIT_COLUMNS} FROM visits WHERE visit_id = ?1"
    ))?
    .query_row(params![visit_id.to_string()], read_visit)
    .optional()?
    .ok_or(StoreError::VisitNotFound(visit_id))?
}

/// The state and revision of a visit, checked against what the caller expects.
fn check_visit(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    revision: u32,
    allowed: &[VisitState],
    action: &'static str,
) -> Result<(), StoreError> {
    let row: Option<(String, u32)> = tx
        .prepare_cached("SELECT state, revision FROM visits WHERE visit_id = ?1")?
        .query_row(params![visit_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (state, stored) = row.ok_or(StoreError::VisitNotFound(visit_id))?;
    let state = VisitState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("visit state {state:?}")))?;
    if !allowed.contains(&state) {
        return Err(StoreError::WrongState {
            visit_id,
            state,
            action,
        });
    }
    if stored != revision {
        return Err(StoreError::StaleRevision {
            visit_id,
            stored,
            given: revision,
        });
    }
    Ok(())
}

/// Writes one answer row (or deletes it) with its audit event; keeps the photo references in step.
fn write_answer(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    revision: u32,
    path: &str,
    row: Option<&AnswerRow>,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<(), StoreError> {
    if super::parse_path(path).is_none() {
        return Err(StoreError::BadPath(path.to_string()));
    }
    let id = visit_id.to_string();
    let old: Option<String> = tx
        .prepare_cached("SELECT value FROM answers WHERE visit_id = ?1 AND path = ?2")?
        .query_row(params![id, path], |r| r.get(0))
        .optional()?;
    let (kind, new) = match row {
        Some(AnswerRow::Value(value)) => (0, Some(value.to_string())),
        Some(AnswerRow::Members(count)) => (1, Some(count.to_string())),
        None => (0, None),
    };
    if old == new {
        return Ok(());
    }
    match &new {
        Some(text) => {
            tx.prepare_cached(
                "INSERT INTO answers (visit_id, path, kind, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (visit_id, path) DO UPDATE SET kind = ?3, value = ?4",
            )?
            .execute(params![id, path, kind, text])?;
        }
        None => {
            tx.prepare_cached("DELETE FROM answers WHERE visit_id = ?1 AND path = ?2")?
                .execute(params![id, path])?;
        }
    }
    match row {
        Some(AnswerRow::Value(value)) if photo_reference(value).is_some() => {
            let (file, sha256) = photo_reference(value).unwrap_or_default();
            tx.prepare_cached(
                "INSERT INTO photos (sha256, visit_id, path, file) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (visit_id, path) DO UPDATE SET sha256 = ?1, file = ?4, uploaded = 0",
            )?
            .execute(params![sha256, id, path, file])?;
        }
        _ => {
            if old.is_some() {
                tx.prepare_cached("DELETE FROM photos WHERE visit_id = ?1 AND path = ?2")?
                    .execute(params![id, path])?;
            }
        }
    }
    let kind = match (row, old.is_some()) {
        (Some(AnswerRow::Members(_)), _) => "members_changed",
        (Some(AnswerRow::Value(_)), _) => "answer_set",
        (None, _) => "answer_cleared",
    };
    let event = Audit {
        visit_id: Some(visit_id),
        revision: Some(revision),
        kind,
        path: Some(path),
        old: old.as_deref(),
        new: new.as_deref(),
    };
    audit(tx, at, actor, &event)?;
    Ok(())
}

/// An answer row as stored: kind 1 is a member count, kind 0 a JSON value.
fn read_row(path: &str, kind: i64, text: &str) -> Result<AnswerRow, StoreError> {
    if kind == 1 {
        let count = text
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{path}: member count {text:?}")))?;
        Ok(AnswerRow::Members(count))
    } else {
        Ok(AnswerRow::Value(serde_json::from_str(text)?))
    }
}

/// `(file, sha256)` when an answer is a photo reference.
fn photo_reference(value: &Value) -> Option<(&str, &str)> {
    Some((value.get("file")?.as_str()?, value.get("sha256")?.as_str()?))
}

impl Store {
    /// Starts a visit: a new UUIDv7, state draft, revision 1, with the known answers (prefill) saved.
    pub fn start_visit(
        &mut self,
        new: &NewVisit,
        repeats: &HashSet<String>,
        at: DateTime<Utc>,
    ) -> Result<VisitRecord, StoreError> {
        let visit_id = super::new_v7(at);
        let tx = self.conn.transaction()?;
        if let Some(assignment_id) = &new.assignment_id {
            let known: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM assignments WHERE assignment_id = ?1",
                    params![assignment_id],
                    |r| r.get(0),
                )
                .optional()?;
            if known.is_none() {
                return Err(StoreError::AssignmentNotFound(assignment_id.clone()));
            }
        }
        let installed: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM forms WHERE form_id = ?1 AND version = ?2",
                params![new.form_id, new.form_version],
                |r| r.get(0),
            )
            .optional()?;
        if installed.is_none() {
            return Err(StoreError::FormNotInstalled {
                form_id: new.form_id.clone(),
                version: new.form_version,
            });
        }
        let event = Audit {
            visit_id: Some(visit_id),
            revision: Some(1),
            kind: "visit_started",
            new: new.assignment_id.as_deref(),
            ..Audit::default()
        };
        let seq = audit(&tx, at, &self.actor, &event)?;
        let prefilled: BTreeMap<String, Value> = flatten(&new.answers, repeats)
            .into_iter()
            .filter_map(|(path, row)| match row {
                AnswerRow::Value(v) => Some((path, v)),
                AnswerRow::Members(_) => None,
            })
            .collect();
        let prefilled =
            serde_json::to_string(&prefilled).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO visits (visit_id, form_id, form_version, assignment_id, revision, state, visit_date,
             started_at, started_seq, prefilled) VALUES (?1, ?2, ?3, ?4, 1, 'draft', ?5, ?6, ?7, ?8)",
            params![
                visit_id.to_string(),
                new.form_id,
                new.form_version,
                new.assignment_id,
                new.visit_date.to_string(),
                time_text(at),
                seq as i64,
                prefilled
            ],
        )?;
        for (path, row) in flatten(&new.answers, repeats) {
            write_answer(&tx, visit_id, 1, &path, Some(&row), at, &self.actor)?;
        }
        tx.commit()?;
        self.visit(visit_id)
    }

    pub fn visit_summary(&self, visit_id: Uuid) -> Result<VisitSummary, StoreError> {
        visit_summary_in(&self.conn, visit_id)
    }

    /// A visit with its answers and notes.
    pub fn visit(&self, visit_id: Uuid) -> Result<VisitRecord, StoreError> {
        let summary = self.visit_summary(visit_id)?;
        let id = visit_id.to_string();
        let mut rows = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT path, kind, value FROM answers WHERE visit_id = ?1")?;
            let mut query = stmt.query(params![id])?;
            while let Some(r) = query.next()? {
                let path: String = r.get(0)?;
                let kind: i64 = r.get(1)?;
                let text: String = r.get(2)?;
                let row = read_row(&path, kind, &text)?;
                rows.push((path, row));
            }
        }
        let answers = unflatten(rows.iter().map(|(p, r)| (p.as_str(), r)))?;
        let mut notes = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, note FROM warning_notes WHERE visit_id = ?1")?;
        let mut query = stmt.query(params![id])?;
        while let Some(r) = query.next()? {
            notes.insert(r.get(0)?, r.get(1)?);
        }
        let (prefilled, confirmed): (String, String) = self.conn.query_row(
            "SELECT prefilled, confirmed FROM visits WHERE visit_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(VisitRecord {
            summary,
            answers,
            notes,
            prefilled: serde_json::from_str(&prefilled)?,
            confirmed: serde_json::from_str(&confirmed)?,
        })
    }

    /// Records that the enumerator confirmed these prefilled answers as they stand (one transaction, one audit
    /// event per path newly confirmed). Paths that were not prefilled are ignored.
    pub fn confirm_prefilled(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        paths: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_visit(&tx, visit_id, revision, &[VisitState::Draft], "confirming")?;
        let id = visit_id.to_string();
        let (prefilled, confirmed): (String, String) = tx.query_row(
            "SELECT prefilled, confirmed FROM visits WHERE visit_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let prefilled: BTreeMap<String, Value> = serde_json::from_str(&prefilled)?;
        let mut confirmed: std::collections::BTreeSet<String> = serde_json::from_str(&confirmed)?;
        for path in paths {
            if prefilled.contains_key(path) && confirmed.insert(path.clone()) {
                let event = Audit {
                    visit_id: Some(visit_id),
                    revision: Some(revision),
                    kind: "prefill_confirmed",
                    path: Some(path),
                    ..Audit::default()
                };
                audit(&tx, at, &self.actor, &event)?;
            }
        }
        let confirmed =
            serde_json::to_string(&confirmed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "UPDATE visits SET confirmed = ?2 WHERE visit_id = ?1",
            params![id, confirmed],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The stored row of one answer path, if any.
    pub fn answer(&self, visit_id: Uuid, path: &str) -> Result<Option<AnswerRow>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT kind, value FROM answers WHERE visit_id = ?1 AND path = ?2")?
            .query_row(params![visit_id.to_string(), path], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(kind, text)| read_row(path, kind, &text))
            .transpose()
    }

    /// Saves answer rows of a draft (`None` deletes the row), each with an audit event, in one transaction.
    /// A single answer is a single-row upsert.
    pub fn save_answers(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        changes: &[(String, Option<AnswerRow>)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_visit(&tx, visit_id, revision, &[VisitState::Draft], "answering")?;
        for (path, row) in changes {
            write_answer(&tx, visit_id, revision, path, row.as_ref(), at, &self.actor)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets (or with `None`, removes) the enumerator's note explaining the warnings at `path`.
    pub fn set_warning_note(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        path: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_visit(
            &tx,
            visit_id,
            revision,
            &[VisitState::Draft],
            "writing a note",
        )?;
        let id = visit_id.to_string();
        let old: Option<String> = tx
            .query_row(
                "SELECT note FROM warning_notes WHERE visit_id = ?1 AND path = ?2",
                params![id, path],
                |r| r.get(0),
            )
            .optional()?;
        if old.as_deref() == note {
            return Ok(());
        }
        match note {
            Some(note) => tx.execute(
                "INSERT INTO warning_notes (visit_id, path, note) VALUES (?1, ?2, ?3)
                 ON CONFLICT (visit_id, path) DO UPDATE SET note = ?3",
                params![id, path, note],
            )?,
            None => tx.execute(
                "DELETE FROM warning_notes WHERE visit_id = ?1 AND path = ?2",
                params![id, path],
            )?,
        };
        let event = Audit {
            visit_id: Some(visit_id),
            revision: Some(revision),
            kind: "note_set",
            path: Some(path),
            old: old.as_deref(),
            new: note,
        };
        audit(&tx, at, &self.actor, &event)?;
        tx.commit()?;
        Ok(())
    }

    /// Finalises a draft: freezes its document (these answers and notes, the device times) into the outbox and
    /// sets the state, together or not at all. `outcome`/`revisit` feed today's counts.
    pub fn finalise(
        &mut self,
        finalise: &Finalise,
        at: DateTime<Utc>,
    ) -> Result<VisitDoc, StoreError> {
        self.strict(|store| store.finalise_now(finalise, at))
    }

    fn finalise_now(
        &mut self,
        finalise: &Finalise,
        at: DateTime<Utc>,
    ) -> Result<VisitDoc, StoreError> {
        let tx = self.conn.transaction()?;
        let visit_id = finalise.visit_id;
        check_visit(
            &tx,
            visit_id,
            finalise.revision,
            &[VisitState::Draft],
            "finalising",
        )?;
        let summary = visit_summary_in(&tx, visit_id)?;
        let event = Audit {
            visit_id: Some(visit_id),
            revision: Some(finalise.revision),
            kind: "finalised",
            ..Audit::default()
        };
        let seq = audit(&tx, at, &self.actor, &event)?;
        let doc = VisitDoc {
            visit_id,
            revision: summary.revision,
            form_id: summary.form_id.clone(),
            form_version: summary.form_version,
            assignment_id: summary.assignment_id.clone(),
            visit_date: summary.visit_date,
            answers: finalise.answers.clone(),
            warning_notes: finalise.notes.clone(),
            prefill_review: finalise.prefill_review.clone(),
            device_times: DeviceTimes {
                started_at: summary.started_at,
                finalised_at: Some(at),
                device_seq: seq,
            },
        };
        let json = serde_json::to_string(&doc).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "UPDATE visits SET state = 'final', finalised_at = ?2, finalised_date = ?3, finalised_seq = ?4,
             outcome = ?5, revisit = ?6, reject_reason = NULL WHERE visit_id = ?1",
            params![
                visit_id.to_string(),
                time_text(at),
                finalise.local_date.to_string(),
                seq as i64,
                finalise.outcome,
                finalise.revisit
            ],
        )?;
        tx.execute(
            "INSERT INTO outbox (visit_id, revision, doc, content_hash, queued_seq) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![visit_id.to_string(), doc.revision, json, doc.content_hash(), seq as i64],
        )?;
        tx.commit()?;
        Ok(doc)
    }

    /// Takes a final visit that was never uploaded back out of the outbox to edit it (same revision: the server
    /// has not seen it).
    pub fn unfinalise(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.strict(|store| store.unfinalise_now(visit_id, revision, at))
    }

    fn unfinalise_now(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_visit(
            &tx,
            visit_id,
            revision,
            &[VisitState::Final],
            "editing again",
        )?;
        let attempts: Option<u32> = tx
            .query_row(
                "SELECT attempts FROM outbox WHERE visit_id = ?1 AND revision = ?2",
                params![visit_id.to_string(), revision],
                |r| r.get(0),
            )
            .optional()?;
        if attempts.unwrap_or(0) > 0 {
            // It may have reached the server: only a returned visit can change now.
            return Err(StoreError::WrongState {
                visit_id,
                state: VisitState::Sent,
                action: "editing again",
            });
        }
        tx.execute(
            "DELETE FROM outbox WHERE visit_id = ?1 AND revision = ?2",
            params![visit_id.to_string(), revision],
        )?;
        tx.execute(
            "UPDATE visits SET state = 'draft', finalised_at = NULL, finalised_date = NULL, finalised_seq = NULL,
             outcome = NULL, revisit = 0 WHERE visit_id = ?1",
            params![visit_id.to_string()],
        )?;
        let event = Audit {
            visit_id: Some(visit_id),
            revision: Some(revision),
            kind: "unfinalised",
            ..Audit::default()
        };
        audit(&tx, at, &self.actor, &event)?;
        tx.commit()?;
        Ok(())
    }

    /// Reopens a returned visit for correction as a draft of the next revision (answers and the supervisor's
    /// comment kept).
    pub fn reopen_returned(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        at: DateTime<Utc>,
    ) -> Result<VisitRecord, StoreError> {
        self.strict(|store| store.reopen_returned_now(visit_id, revision, at))
    }

    fn reopen_returned_now(
        &mut self,
        visit_id: Uuid,
        revision: u32,
        at: DateTime<Utc>,
    ) -> Result<VisitRecord, StoreError> {
        let tx = self.conn.transaction()?;
        check_visit(
            &tx,
            visit_id,
            revision,
            &[VisitState::Returned],
            "correcting",
        )?;
        let next = revision + 1;
        let event = Audit {
            visit_id: Some(visit_id),
            revision: Some(next),
            kind: "reopened",
            old: Some("returned"),
            new: Some("draft"),
            ..Audit::default()
        };
        let seq = audit(&tx, at, &self.actor, &event)?;
        tx.execute(
            "UPDATE visits SET state = 'draft', revision = ?2, started_at = ?3, started_seq = ?4, finalised_at = NULL,
             finalised_date = NULL, finalised_seq = NULL, outcome = NULL, revisit = 0, reject_reason = NULL
             WHERE visit_id = ?1",
            params![visit_id.to_string(), next, time_text(at), seq as i64],
        )?;
        tx.commit()?;
        self.visit(visit_id)
    }
}
