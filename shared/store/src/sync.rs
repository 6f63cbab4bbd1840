//! The outbox and the sync state: building a batch, applying the server's answer in one transaction.
//!
//! Nothing leaves the outbox without a receipt. A batch whose answer never came is sent again with the same
//! batch id and the same visits, so the server can recognise it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::visits::visit_summary_in;
use super::{
    Audit, OutboxEntry, Store, StoreError, SyncApplied, SyncStatus, VisitState, audit,
    install_form_in, parse_time, parse_uuid, repeat_ids, time_text, upsert_assignment,
};
use tepat_form::Form;
use tepat_form::paths::flatten;
use tepat_protocol::{
    PROTOCOL_VERSION, ReceiptStatus, ReturnedVisit, SyncRequest, SyncResponse, VisitDoc,
};

/// Photo references among a visit's answers (a returned document's photos are known photos again).
const PHOTOS_FROM_ANSWERS: &str = "INSERT OR REPLACE INTO photos (sha256, visit_id, path, file)
    SELECT json_extract(value, '$.sha256'), visit_id, path, json_extract(value, '$.file') FROM answers
    WHERE visit_id = ?1 AND kind = 0 AND json_valid(value) AND json_type(value) = 'object'
      AND json_type(value, '$.sha256') = 'text' AND json_type(value, '$.file') = 'text'";

/// The actor of audit events caused by the server.
const SERVER: &str = "server";

/// The batch in flight, kept until its answer is applied.
#[derive(Debug, Serialize, Deserialize)]
struct PendingBatch {
    batch_id: Uuid,
    visits: Vec<(Uuid, u32)>,
}

impl Store {
    /// The outbox, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT visit_id, revision, content_hash, attempts, held_reason FROM outbox ORDER BY queued_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (visit_id, revision, content_hash, attempts, held_reason) = row?;
            entries.push(OutboxEntry {
                visit_id: parse_uuid(&visit_id)?,
                revision,
                content_hash,
                attempts,
                held_reason,
            });
        }
        Ok(entries)
    }

    /// The frozen document of an outbox entry.
    pub fn outbox_doc(&self, visit_id: Uuid, revision: u32) -> Result<VisitDoc, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT doc FROM outbox WHERE visit_id = ?1 AND revision = ?2",
                params![visit_id.to_string(), revision],
                |r| r.get(0),
            )
            .optional()?;
        Ok(serde_json::from_str(
            &json.ok_or(StoreError::VisitNotFound(visit_id))?,
        )?)
    }

    pub fn sync_status(&self) -> Result<SyncStatus, StoreError> {
        let (outbox, held): (u32, u32) =
            self.conn
                .query_row("SELECT count(*), count(held_reason) FROM outbox", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let row: (i64, Option<String>, Option<String>, Option<String>, Option<String>) = self.conn.query_row(
            "SELECT cursor, last_attempt_at, last_success_at, last_error_code, last_error FROM sync_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let photos = self.photos_waiting()?;
        Ok(SyncStatus {
            photos_waiting: photos.photos,
            photo_bytes_waiting: photos.bytes,
            cursor: row.0 as u64,
            outbox,
            held,
            last_attempt_at: row.1.as_deref().map(parse_time).transpose()?,
            last_success_at: row.2.as_deref().map(parse_time).transpose()?,
            last_error_code: row.3,
            last_error: row.4,
        })
    }

    /// The next sync request: up to `max_visits` outbox documents (the unanswered batch again, if there is one),
    /// the cursor and the device id. Its visits become `sent`. A request with no visits still pulls changes.
    pub fn prepare_sync(
        &mut self,
        max_visits: usize,
        at: DateTime<Utc>,
    ) -> Result<SyncRequest, StoreError> {
        self.prepare_batch(max_visits, usize::MAX, at)
    }

    /// [`Store::prepare_sync`] bounded by bytes too: documents are added while their JSON stays within
    /// `max_bytes` (one document is always taken, so a large visit still goes, alone).
    pub fn prepare_batch(
        &mut self,
        max_visits: usize,
        max_bytes: usize,
        at: DateTime<Utc>,
    ) -> Result<SyncRequest, StoreError> {
        self.strict(|store| store.prepare_sync_now(max_visits, max_bytes, at))
    }

    fn prepare_sync_now(
        &mut self,
        max_visits: usize,
        max_bytes: usize,
        at: DateTime<Utc>,
    ) -> Result<SyncRequest, StoreError> {
        let device_id = self
            .settings()?
            .identity
            .map(|i| i.device_id)
            .ok_or(StoreError::NotEnrolled)?;
        // The server's default bounds: a trail within them is never refused.
        let trail_limits = tepat_protocol::bounds::BodyLimits::default();
        let tx = self.conn.transaction()?;
        let (cursor, pending): (i64, Option<String>) = tx.query_row(
            "SELECT cursor, pending_batch FROM sync_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let pending: Option<PendingBatch> =
            pending.as_deref().map(serde_json::from_str).transpose()?;
        let mut docs = Vec::new();
        let mut batch_id = None;
        if let Some(pending) = pending {
            for (visit_id, revision) in &pending.visits {
                if let Some(doc) = outbox_doc_in(&tx, *visit_id, *revision, true)? {
                    docs.push(doc);
                }
            }
            if !docs.is_empty() {
                batch_id = Some(pending.batch_id);
            }
        }
        if batch_id.is_none() {
            let mut stmt = tx.prepare(
                "SELECT doc FROM outbox WHERE held_reason IS NULL ORDER BY queued_seq LIMIT ?1",
            )?;
            let rows = stmt.query_map(
                params![i64::try_from(max_visits).unwrap_or(i64::MAX)],
                |r| r.get::<_, String>(0),
            )?;
            let mut bytes = 0usize;
            for json in rows {
                let json = json?;
                let doc: VisitDoc = serde_json::from_str(&json)?;
                // The visit's trail travels with it, so it counts too.
                let trail =
                    super::chain::visit_trail(&tx, doc.visit_id, doc.revision, &trail_limits)?;
                let trail_bytes = serde_json::to_string(&trail).map_or(0, |t| t.len());
                bytes = bytes.saturating_add(json.len()).saturating_add(trail_bytes);
                if bytes > max_bytes && !docs.is_empty() {
                    break;
                }
                docs.push(doc);
            }
        }
        let batch_id = batch_id.unwrap_or_else(|| super::new_v7(at));
        for doc in &docs {
            let id = doc.visit_id.to_string();
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE visit_id = ?1 AND revision = ?2",
                params![id, doc.revision],
            )?;
            let first = tx.execute(
                "UPDATE visits SET state = 'sent' WHERE visit_id = ?1 AND revision = ?2 AND state = 'final'",
                params![id, doc.revision],
            )?;
            if first > 0 {
                let event = Audit {
                    visit_id: Some(doc.visit_id),
                    revision: Some(doc.revision),
                    kind: "sent",
                    new: Some(&batch_id.to_string()),
                    ..Audit::default()
                };
                audit(&tx, at, &self.actor, &event)?;
            }
        }
        // Read after the `sent` events, which belong to the trail too.
        let mut trails = Vec::with_capacity(docs.len());
        for doc in &docs {
            trails.push(super::chain::visit_trail(
                &tx,
                doc.visit_id,
                doc.revision,
                &trail_limits,
            )?);
        }
        let pending = PendingBatch {
            batch_id,
            visits: docs.iter().map(|d| (d.visit_id, d.revision)).collect(),
        };
        let pending = (!pending.visits.is_empty())
            .then(|| serde_json::to_string(&pending))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "UPDATE sync_state SET pending_batch = ?1, last_attempt_at = ?2 WHERE id = 1",
            params![pending, time_text(at)],
        )?;
        tx.commit()?;
        Ok(SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id,
            batch_id,
            cursor: cursor as u64,
            visits: docs,
            trails,
        })
    }

    /// Applies the server's answer to `request` in one transaction: receipts (out of the outbox only with one),
    /// new and withdrawn assignments, returned and approved visits, new forms, the next cursor.
    pub fn apply_sync(
        &mut self,
        request: &SyncRequest,
        response: &SyncResponse,
        at: DateTime<Utc>,
    ) -> Result<SyncApplied, StoreError> {
        self.strict(|store| store.apply_sync_now(request, response, at))
    }

    fn apply_sync_now(
        &mut self,
        request: &SyncRequest,
        response: &SyncResponse,
        at: DateTime<Utc>,
    ) -> Result<SyncApplied, StoreError> {
        if response.protocol != request.protocol {
            return Err(StoreError::SyncMismatch(format!(
                "protocol {} answered for protocol {}",
                response.protocol, request.protocol
            )));
        }
        let sent: HashSet<(Uuid, u32)> = request
            .visits
            .iter()
            .map(|v| (v.visit_id, v.revision))
            .collect();
        let tx = self.conn.transaction()?;
        let mut applied = SyncApplied::default();
        for receipt in &response.receipts {
            if !sent.contains(&(receipt.visit_id, receipt.revision)) {
                applied.problems.push(format!(
                    "receipt for visit {} revision {} that was not sent",
                    receipt.visit_id, receipt.revision
                ));
                continue;
            }
            let id = receipt.visit_id.to_string();
            match receipt.status {
                ReceiptStatus::Accepted | ReceiptStatus::Duplicate => {
                    if receipt.status == ReceiptStatus::Accepted {
                        applied.accepted += 1;
                    } else {
                        applied.duplicate += 1;
                    }
                    tx.execute(
                        "DELETE FROM outbox WHERE visit_id = ?1 AND revision = ?2",
                        params![id, receipt.revision],
                    )?;
                    tx.execute(
                        "UPDATE visits SET state = 'accepted', reject_reason = NULL
                         WHERE visit_id = ?1 AND revision = ?2 AND state IN ('final', 'sent')",
                        params![id, receipt.revision],
                    )?;
                    // Its photos follow the text: the server now knows the visit that references them.
                    super::photo_outbox::queue_visit_photos(&tx, &id, at)?;
                }
                ReceiptStatus::Rejected => {
                    applied.rejected += 1;
                    // `code: detail`, the code as on the wire, so the App can say it in the person's words.
                    let code = receipt
                        .reject_code
                        .and_then(|c| serde_json::to_value(c).ok())
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| "rejected".into());
                    let reason = match &receipt.reason {
                        Some(reason) => format!("{code}: {reason}"),
                        None => code,
                    };
                    tx.execute(
                        "UPDATE outbox SET held_reason = ?3 WHERE visit_id = ?1 AND revision = ?2",
                        params![id, receipt.revision, reason],
                    )?;
                    tx.execute(
                        "UPDATE visits SET state = 'final', reject_reason = ?3
                         WHERE visit_id = ?1 AND revision = ?2 AND state IN ('final', 'sent')",
                        params![id, receipt.revision, reason],
                    )?;
                }
            }
            let kind = match receipt.status {
                ReceiptStatus::Accepted => "receipt_accepted",
                ReceiptStatus::Duplicate => "receipt_duplicate",
                ReceiptStatus::Rejected => "receipt_rejected",
            };
            let event = Audit {
                visit_id: Some(receipt.visit_id),
                revision: Some(receipt.revision),
                kind,
                new: receipt.reason.as_deref(),
                ..Audit::default()
            };
            audit(&tx, at, SERVER, &event)?;
        }
        let changes = &response.changes;
        for form in &changes.forms {
            match install_form_in(&tx, form, at, SERVER) {
                Ok(super::FormInstall::Installed) => applied.forms_installed += 1,
                Ok(super::FormInstall::AlreadyInstalled) => {}
                Err(StoreError::FormVersionConflict { form_id, version }) => applied
                    .problems
                    .push(format!("form {form_id} version {version} differs from the installed one; kept the installed one")),
                Err(other) => return Err(other),
            }
        }
        for assignment in &changes.assignments {
            if let super::Upsert::Added = upsert_assignment(&tx, assignment, at, SERVER)? {
                applied.assignments_added += 1;
            }
        }
        for assignment_id in &changes.withdrawn {
            let changed = tx.execute(
                "UPDATE assignments SET withdrawn = 1 WHERE assignment_id = ?1 AND withdrawn = 0",
                params![assignment_id],
            )?;
            if changed == 0 {
                continue;
            }
            applied.assignments_withdrawn += 1;
            let draft: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM visits WHERE assignment_id = ?1 AND state = 'draft' LIMIT 1",
                    params![assignment_id],
                    |r| r.get(0),
                )
                .optional()?;
            if draft.is_some() {
                applied.withdrawn_with_draft += 1;
            }
            let event = Audit {
                kind: "assignment_withdrawn",
                path: Some(assignment_id),
                ..Audit::default()
            };
            audit(&tx, at, SERVER, &event)?;
        }
        let mut repeats_cache = HashMap::new();
        for returned in &changes.returned {
            match apply_returned(&tx, returned, at, &mut repeats_cache)? {
                Ok(true) => applied.returned += 1,
                Ok(false) => {}
                Err(problem) => applied.problems.push(problem),
            }
        }
        for approved in &changes.approved {
            let id = approved.visit_id.to_string();
            let changed = tx.execute(
                "UPDATE visits SET state = 'approved', supervisor_comment = NULL, supervisor_field = NULL
                 WHERE visit_id = ?1 AND revision = ?2 AND state IN ('final', 'sent', 'accepted')",
                params![id, approved.revision],
            )?;
            if changed > 0 {
                // An approval is also proof the server holds it.
                tx.execute(
                    "DELETE FROM outbox WHERE visit_id = ?1 AND revision = ?2",
                    params![id, approved.revision],
                )?;
                applied.approved += 1;
                let event = Audit {
                    visit_id: Some(approved.visit_id),
                    revision: Some(approved.revision),
                    kind: "approved",
                    ..Audit::default()
                };
                audit(&tx, at, SERVER, &event)?;
            }
        }
        tx.execute(
            "UPDATE sync_state SET cursor = ?1, last_success_at = ?2, last_error_code = NULL, last_error = NULL,
             pending_batch = NULL WHERE id = 1",
            params![i64::try_from(response.next_cursor).unwrap_or(i64::MAX), time_text(at)],
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// Records a failed sync (the outbox keeps every visit; the pending batch is kept for the retry, same id).
    ///
    /// `nothing_sent`: the attempt failed before any byte could reach the server (no connection could be made,
    /// the server's certificate was refused). That attempt is taken back: a visit no other attempt may have
    /// delivered is `final` again, so it reads "waiting to be sent" and can still be reopened
    /// ([`Store::unfinalise`]); one that an earlier attempt may have delivered stays `sent`.
    pub fn record_sync_failure(
        &mut self,
        code: &str,
        message: &str,
        nothing_sent: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE sync_state SET last_attempt_at = ?1, last_error_code = ?2, last_error = ?3 WHERE id = 1",
            params![time_text(at), code, message],
        )?;
        if nothing_sent {
            let pending: Option<String> = tx.query_row(
                "SELECT pending_batch FROM sync_state WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            let pending: Option<PendingBatch> =
                pending.as_deref().map(serde_json::from_str).transpose()?;
            for (visit_id, revision) in pending.map(|p| p.visits).unwrap_or_default() {
                let id = visit_id.to_string();
                tx.execute(
                    "UPDATE outbox SET attempts = attempts - 1
                     WHERE visit_id = ?1 AND revision = ?2 AND attempts > 0",
                    params![id, revision],
                )?;
                let unsent = tx.execute(
                    "UPDATE visits SET state = 'final'
                     WHERE visit_id = ?1 AND revision = ?2 AND state = 'sent'
                       AND (SELECT attempts FROM outbox o WHERE o.visit_id = ?1 AND o.revision = ?2) = 0",
                    params![id, revision],
                )?;
                if unsent > 0 {
                    let event = Audit {
                        visit_id: Some(visit_id),
                        revision: Some(revision),
                        kind: "not_sent",
                        new: Some(code),
                        ..Audit::default()
                    };
                    audit(&tx, at, &self.actor, &event)?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn outbox_doc_in(
    tx: &Transaction<'_>,
    visit_id: Uuid,
    revision: u32,
    unheld_only: bool,
) -> Result<Option<VisitDoc>, StoreError> {
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT doc, held_reason FROM outbox WHERE visit_id = ?1 AND revision = ?2",
            params![visit_id.to_string(), revision],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((_, Some(_))) if unheld_only => Ok(None),
        Some((json, _)) => Ok(Some(serde_json::from_str(&json)?)),
        None => Ok(None),
    }
}

/// Lands a returned visit: the local visit of that revision becomes `returned` with the comment; a visit this
/// device does not have (or has at an older revision) is taken from the returned document. `Ok(Err(..))` is a
/// problem that does not stop the sync.
fn apply_returned(
    tx: &Transaction<'_>,
    returned: &ReturnedVisit,
    at: DateTime<Utc>,
    repeats_cache: &mut HashMap<(String, u32), HashSet<String>>,
) -> Result<Result<bool, String>, StoreError> {
    let doc = &returned.visit;
    let id = doc.visit_id.to_string();
    let local = match visit_summary_in(tx, doc.visit_id) {
        Ok(summary) => Some(summary),
        Err(StoreError::VisitNotFound(_)) => None,
        Err(other) => return Err(other),
    };
    match &local {
        Some(local) if local.revision > doc.revision => return Ok(Ok(false)),
        Some(local) if local.revision == doc.revision && local.state == VisitState::Draft => {
            return Ok(Err(format!(
                "visit {} revision {} returned while it is a draft here; kept the draft",
                doc.visit_id, doc.revision
            )));
        }
        Some(local) if local.revision == doc.revision && local.state == VisitState::Returned => {
            return Ok(Ok(false));
        }
        _ => {}
    }
    let replace_answers = local.as_ref().is_none_or(|l| l.revision < doc.revision);
    if replace_answers {
        let key = (doc.form_id.clone(), doc.form_version);
        if !repeats_cache.contains_key(&key) {
            let json: Option<String> = tx
                .query_row(
                    "SELECT definition FROM forms WHERE form_id = ?1 AND version = ?2",
                    params![doc.form_id, doc.form_version],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(json) = json else {
                return Ok(Err(format!(
                    "visit {} returned for form {} version {}, which is not installed",
                    doc.visit_id, doc.form_id, doc.form_version
                )));
            };
            let form: Form = serde_json::from_str(&json)?;
            repeats_cache.insert(key.clone(), repeat_ids(&form));
        }
        let repeats = repeats_cache.get(&key).cloned().unwrap_or_default();
        if local.is_none() {
            let seq = super::next_seq(tx)?;
            tx.execute(
                "INSERT INTO visits (visit_id, form_id, form_version, assignment_id, revision, state, visit_date,
                 started_at, started_seq) VALUES (?1, ?2, ?3, ?4, ?5, 'returned', ?6, ?7, ?8)",
                params![
                    id,
                    doc.form_id,
                    doc.form_version,
                    doc.assignment_id,
                    doc.revision,
                    doc.visit_date.to_string(),
                    time_text(doc.device_times.started_at),
                    seq as i64
                ],
            )?;
        }
        tx.execute("DELETE FROM answers WHERE visit_id = ?1", params![id])?;
        tx.execute("DELETE FROM photos WHERE visit_id = ?1", params![id])?;
        tx.execute("DELETE FROM warning_notes WHERE visit_id = ?1", params![id])?;
        for (path, row) in flatten(&doc.answers, &repeats) {
            let (kind, text) = match row {
                super::AnswerRow::Value(value) => (0, value.to_string()),
                super::AnswerRow::Members(count) => (1, count.to_string()),
            };
            tx.execute(
                "INSERT INTO answers (visit_id, path, kind, value) VALUES (?1, ?2, ?3, ?4)",
                params![id, path, kind, text],
            )?;
        }
        tx.execute(PHOTOS_FROM_ANSWERS, params![id])?;
        for (path, note) in &doc.warning_notes {
            tx.execute(
                "INSERT INTO warning_notes (visit_id, path, note) VALUES (?1, ?2, ?3)",
                params![id, path, note],
            )?;
        }
    }
    tx.execute(
        "DELETE FROM outbox WHERE visit_id = ?1 AND revision <= ?2",
        params![id, doc.revision],
    )?;
    tx.execute(
        "UPDATE visits SET state = 'returned', revision = ?2, supervisor_comment = ?3, reviewer = ?4, returned_at = ?5,
         reject_reason = NULL, supervisor_field = ?6 WHERE visit_id = ?1",
        params![
            id,
            doc.revision,
            returned.comment,
            returned.reviewer,
            time_text(returned.returned_at),
            returned.field
        ],
    )?;
    let actor = format!("{SERVER}:{}", returned.reviewer);
    let event = Audit {
        visit_id: Some(doc.visit_id),
        revision: Some(doc.revision),
        kind: "returned",
        new: Some(&returned.comment),
        ..Audit::default()
    };
    audit(tx, at, &actor, &event)?;
    Ok(Ok(true))
}
