//! The change feed that sync sends down: for each user, in server order, what was assigned, withdrawn, returned
//! or approved, and (for everyone) the forms published. A device's cursor is the last `seq` it applied.

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tepat_protocol::{ApprovedVisit, Assignment, Changes, ReturnedVisit, VisitDoc};
use uuid::Uuid;

use crate::db::{self, DbError};
use crate::forms;

const KIND_ASSIGNMENT: &str = "assignment";
const KIND_WITHDRAWN: &str = "withdrawn";
const KIND_RETURNED: &str = "returned";
const KIND_APPROVED: &str = "approved";
const KIND_FORM: &str = "form";

/// What a return carries besides the visit itself.
#[derive(Debug, Serialize, Deserialize)]
struct ReturnNote {
    comment: String,
    reviewer: String,
    returned_at: DateTime<Utc>,
    /// The field the comment is pinned to (none before schema version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

fn insert(
    tx: &Transaction<'_>,
    user_id: Option<&str>,
    kind: &str,
    ref_id: &str,
    ref_rev: Option<u32>,
    payload: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), crate::db::sql::Error> {
    tx.execute(
        "INSERT INTO changes (user_id, kind, ref_id, ref_rev, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![user_id, kind, ref_id, ref_rev, payload, db::timestamp(now)],
    )?;
    Ok(())
}

pub fn record_assignment(
    tx: &Transaction<'_>,
    user_id: &str,
    a: &Assignment,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let payload = serde_json::to_string(a).map_err(|e| DbError::Corrupt(e.to_string()))?;
    Ok(insert(
        tx,
        Some(user_id),
        KIND_ASSIGNMENT,
        &a.assignment_id,
        None,
        Some(payload),
        now,
    )?)
}

pub fn record_withdrawn(
    tx: &Transaction<'_>,
    user_id: &str,
    assignment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    Ok(insert(
        tx,
        Some(user_id),
        KIND_WITHDRAWN,
        assignment_id,
        None,
        None,
        now,
    )?)
}

/// What a return tells the device besides the visit.
pub struct Return<'a> {
    pub comment: &'a str,
    pub reviewer: &'a str,
    pub field: Option<&'a str>,
}

pub fn record_returned(
    tx: &Transaction<'_>,
    user_id: &str,
    visit_id: Uuid,
    revision: u32,
    ret: &Return<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let note = ReturnNote {
        comment: ret.comment.to_string(),
        reviewer: ret.reviewer.to_string(),
        returned_at: now,
        field: ret.field.map(str::to_string),
    };
    let payload = serde_json::to_string(&note).map_err(|e| DbError::Corrupt(e.to_string()))?;
    Ok(insert(
        tx,
        Some(user_id),
        KIND_RETURNED,
        &visit_id.to_string(),
        Some(revision),
        Some(payload),
        now,
    )?)
}

pub fn record_approved(
    tx: &Transaction<'_>,
    user_id: &str,
    visit_id: Uuid,
    revision: u32,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    Ok(insert(
        tx,
        Some(user_id),
        KIND_APPROVED,
        &visit_id.to_string(),
        Some(revision),
        None,
        now,
    )?)
}

pub fn record_form(
    tx: &Transaction<'_>,
    form_id: &str,
    version: u32,
    now: DateTime<Utc>,
) -> Result<(), crate::db::sql::Error> {
    insert(tx, None, KIND_FORM, form_id, Some(version), None, now)
}

/// The newest change of any user: a cursor beyond it was not issued by this server.
pub fn latest_seq(tx: &Transaction<'_>) -> Result<u64, crate::db::sql::Error> {
    tx.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|v| v.max(0) as u64)
}

/// One page of a user's changes after `cursor`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub changes: Changes,
    pub next_cursor: u64,
    pub more: bool,
}

/// Up to `limit` changes for `user_id` after `cursor`, materialised, and no more than `max_bytes` of stored
/// content (assignments, returned visits, forms): the page stops before the change that would exceed it (but
/// always holds one, however large) and says `more`.
pub fn page(
    tx: &Transaction<'_>,
    user_id: &str,
    cursor: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Page, DbError> {
    let cursor_i = i64::try_from(cursor).unwrap_or(i64::MAX);
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    // Two indexed range scans merged by seq: the user's own changes and those for everyone.
    let mut stmt = tx.prepare_cached(
        "SELECT seq, kind, ref_id, ref_rev, payload FROM (
             SELECT * FROM (SELECT seq, kind, ref_id, ref_rev, payload FROM changes
                            WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3) AS own
             UNION ALL
             SELECT * FROM (SELECT seq, kind, ref_id, ref_rev, payload FROM changes
                            WHERE user_id IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3) AS everyone) AS merged
         ORDER BY seq LIMIT ?3",
    )?;
    type Row = (i64, String, String, Option<u32>, Option<String>);
    let rows: Vec<Row> = stmt
        .query_map(params![user_id, cursor_i, fetch], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let more = rows.len() > limit;
    let mut out = Page {
        next_cursor: cursor,
        more,
        ..Page::default()
    };
    let mut bytes = 0usize;
    for (taken, (seq, kind, ref_id, ref_rev, payload)) in rows.into_iter().take(limit).enumerate() {
        bytes = bytes.saturating_add(stored_bytes(
            tx,
            &kind,
            &ref_id,
            ref_rev,
            payload.as_deref(),
        )?);
        if taken > 0 && bytes > max_bytes {
            out.more = true;
            break;
        }
        out.next_cursor = seq.max(0) as u64;
        materialise(
            tx,
            &mut out.changes,
            &kind,
            &ref_id,
            ref_rev,
            payload.as_deref(),
        )?;
    }
    Ok(out)
}

/// What a change costs in a page, near enough: the stored text it is materialised from.
fn stored_bytes(
    tx: &Transaction<'_>,
    kind: &str,
    ref_id: &str,
    ref_rev: Option<u32>,
    payload: Option<&str>,
) -> Result<usize, DbError> {
    let stored = |sql: &str| -> Result<usize, DbError> {
        let length: Option<i64> = tx
            .query_row(sql, params![ref_id, ref_rev.unwrap_or_default()], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(length.unwrap_or(0).max(0) as usize)
    };
    let content = match kind {
        KIND_RETURNED => {
            stored("SELECT length(doc) FROM visits WHERE visit_id = ?1 AND revision = ?2")?
        }
        KIND_FORM => stored("SELECT length(json) FROM forms WHERE form_id = ?1 AND version = ?2")?,
        _ => 0,
    };
    Ok(ref_id.len() + payload.map_or(0, str::len) + content)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("change {what}: {e}"))
}

fn materialise(
    tx: &Transaction<'_>,
    changes: &mut Changes,
    kind: &str,
    ref_id: &str,
    ref_rev: Option<u32>,
    payload: Option<&str>,
) -> Result<(), DbError> {
    match kind {
        KIND_ASSIGNMENT => {
            let a: Assignment =
                serde_json::from_str(payload.unwrap_or_default()).map_err(|e| corrupt(kind, e))?;
            changes.assignments.push(a);
        }
        KIND_WITHDRAWN => changes.withdrawn.push(ref_id.to_string()),
        KIND_APPROVED => {
            let visit_id = Uuid::parse_str(ref_id).map_err(|e| corrupt(kind, e))?;
            changes.approved.push(ApprovedVisit {
                visit_id,
                revision: ref_rev.unwrap_or_default(),
            });
        }
        KIND_RETURNED => {
            let revision = ref_rev.unwrap_or_default();
            // A return already answered by a newer revision is history: the device has moved on.
            let doc: Option<String> = tx
                .query_row(
                    "SELECT doc FROM visits WHERE visit_id = ?1 AND revision = ?2 AND is_latest = 1
                     AND status = 'returned'",
                    params![ref_id, revision],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(doc) = doc {
                let visit: VisitDoc = serde_json::from_str(&doc).map_err(|e| corrupt(kind, e))?;
                let note: ReturnNote = serde_json::from_str(payload.unwrap_or_default())
                    .map_err(|e| corrupt(kind, e))?;
                changes.returned.push(ReturnedVisit {
                    visit,
                    comment: note.comment,
                    reviewer: note.reviewer,
                    returned_at: note.returned_at,
                    field: note.field,
                });
            }
        }
        KIND_FORM => {
            if let Some(form) = forms::load_form(tx, ref_id, ref_rev.unwrap_or_default())? {
                changes.forms.push(form);
            }
        }
        other => return Err(DbError::Corrupt(format!("unknown change kind {other:?}"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Kit;

    fn count(changes: &Changes) -> usize {
        changes.assignments.len()
            + changes.withdrawn.len()
            + changes.returned.len()
            + changes.approved.len()
            + changes.forms.len()
    }

    #[test]
    fn a_page_stops_before_exceeding_its_bytes_but_always_holds_one_change() {
        let kit = Kit::world();
        let read = |cursor, max_bytes| {
            kit.db()
                .read(|tx| page(tx, "enum1", cursor, 100, max_bytes))
                .unwrap()
        };
        // The form published and enum1's two assignments.
        let whole = read(0, usize::MAX);
        assert_eq!(count(&whole.changes), 3);
        assert!(!whole.more);

        // One byte a page: one change each, `more` until the last.
        let mut cursor = 0;
        let mut pages = Vec::new();
        loop {
            let page = read(cursor, 1);
            assert_eq!(count(&page.changes), 1, "{page:?}");
            assert!(page.next_cursor > cursor);
            cursor = page.next_cursor;
            pages.push(page.changes);
            if !page.more {
                break;
            }
        }
        assert_eq!(pages.len(), 3);
        assert_eq!(cursor, whole.next_cursor);
        // The form, whose stored JSON is the largest change, does not fit with anything else in its size.
        let form_bytes = kit
            .db()
            .read(|tx| tx.query_row("SELECT length(json) FROM forms", [], |r| r.get::<_, i64>(0)))
            .unwrap() as usize;
        let page = read(0, form_bytes);
        assert!(page.more);
        assert!(count(&page.changes) < 3);
    }
}
