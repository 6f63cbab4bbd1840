//! Idempotent batch ingest: every uploaded visit gets a receipt, a batch is one transaction, and one bad visit
//! never sinks the others.
//!
//! Rules, in order, for each visit:
//! 1. A visit id another user's visit holds → `not_assigned`, the refusal an assignment that is not the caller's
//!    gets, and nothing is stored: ownership is checked before existence, so neither `duplicate` nor a kept
//!    `conflict` copy tells a stranger that the id exists.
//! 2. `(visit_id, revision)` already stored: same content hash → `duplicate`; different content → `rejected:
//!    conflict`, and the other content is kept in `conflicts` for a supervisor.
//! 3. The form id/version must be published (`unknown_form`).
//! 4. A revision is 1 for a new visit, else the successor of the latest revision, which must have been returned
//!    for correction (`bad_revision`).
//! 5. A visit with an assignment is submitted only by its assignee, on that assignment's form; a visit without one
//!    (a new case) only by a role its form names in `start_without_assignment` (assessors by default; the 6T
//!    monitoring also enumerators), inside their own regions (`not_assigned`).
//! 6. The visit is re-validated with the shared form engine; its findings are stored and error-level ones counted
//!    in the receipt: a visit with errors is kept and flagged, never dropped. A visit date outside the plausible
//!    window ([`dates`]) is one more such error.
//!
//! Re-validation (the costly part) runs before the write transaction, so batches from many phones validate in
//! parallel and hold the single writer only to check and insert.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tepat_form::{CompiledForm, FieldType, Finding, Level};
use tepat_protocol::trail::VisitTrail;
use tepat_protocol::{Receipt, ReceiptStatus, RejectCode, Role, VisitDoc, hex};
use uuid::Uuid;

use crate::auth::Caller;
use crate::config::SignalThresholds;
use crate::db::{self, DbError};
use crate::forms::{self, FormCache};
use crate::regions;
use crate::signals;

pub mod limits;

/// A visit checked and validated outside the write transaction.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub doc: VisitDoc,
    pub content_hash: String,
    checked: Result<Validated, (RejectCode, String)>,
    /// The visit's trail checked on its own (`trail.rs`); checked against the device's held events at apply.
    trail: crate::trail::Checked,
    /// Paradata from the trail (JSON), when the form is known and the trail has events.
    paradata: Option<String>,
}

#[derive(Debug, Clone)]
struct Validated {
    findings: Vec<Finding>,
    error_count: u32,
    warning_count: u32,
    outcome: Option<String>,
    /// The region the visit's own answers name (used for new cases without an assignment).
    region_answer: Option<String>,
    /// What the export shows of the visit (JSON), computed with the findings.
    exported: String,
    /// When the visit's form version was published: where its plausible visit dates begin.
    published_at: DateTime<Utc>,
    /// What the signals of fabrication read of the answers (`crate::signals`).
    signal_facts: signals::rules::Extract,
    /// The field roles the form lets start a visit without an assignment (`start_without_assignment`).
    starters: Vec<tepat_form::FieldRole>,
}

/// Checks what can be checked without the writer and re-validates each visit with its form.
pub fn prepare(
    tx: &Transaction<'_>,
    forms: &FormCache,
    visits: Vec<VisitDoc>,
) -> Result<Vec<Prepared>, DbError> {
    let trails = visits.iter().map(|_| None).collect();
    prepare_with_trails(tx, forms, visits, trails)
}

/// [`prepare`] with each visit's trail (`None`: sent without one), paired by [`pair_trails`].
pub fn prepare_with_trails(
    tx: &Transaction<'_>,
    forms: &FormCache,
    visits: Vec<VisitDoc>,
    trails: Vec<Option<VisitTrail>>,
) -> Result<Vec<Prepared>, DbError> {
    let mut out = Vec::with_capacity(visits.len());
    for (doc, trail) in visits.into_iter().zip(trails) {
        let content_hash = doc.content_hash();
        let checked = check(tx, forms, &doc)?;
        let trail = crate::trail::check(trail.as_ref(), doc.visit_id, doc.revision);
        let paradata = match forms.get(tx, &doc.form_id, doc.form_version)? {
            Some(form) if !trail.events.is_empty() => {
                let paradata = crate::paradata::compute(form.form(), &trail.events, doc.revision);
                serde_json::to_string(&paradata).ok()
            }
            _ => None,
        };
        out.push(Prepared {
            doc,
            content_hash,
            checked,
            trail,
            paradata,
        });
    }
    Ok(out)
}

/// Pairs each visit of a batch with its trail. A trail for a visit (id and revision) that is not in the batch, or
/// a second trail for one, is refused with its index.
pub fn pair_trails(
    visits: &[VisitDoc],
    trails: Vec<VisitTrail>,
) -> Result<Vec<Option<VisitTrail>>, String> {
    let mut paired: Vec<Option<VisitTrail>> = visits.iter().map(|_| None).collect();
    for (index, trail) in trails.into_iter().enumerate() {
        let Some(slot) = visits
            .iter()
            .position(|v| v.visit_id == trail.visit_id && v.revision == trail.revision)
        else {
            return Err(format!(
                "trails[{index}]: visit {} revision {} is not in this batch",
                trail.visit_id, trail.revision
            ));
        };
        if paired[slot].is_some() {
            return Err(format!(
                "trails[{index}]: a second trail for visit {} revision {}",
                trail.visit_id, trail.revision
            ));
        }
        paired[slot] = Some(trail);
    }
    Ok(paired)
}

fn check(
    tx: &Transaction<'_>,
    forms: &FormCache,
    doc: &VisitDoc,
) -> Result<Result<Validated, (RejectCode, String)>, DbError> {
    if doc.revision == 0 {
        return Ok(Err((
            RejectCode::Invalid,
            "revision 0: revisions start at 1".to_string(),
        )));
    }
    let unknown_form = || {
        Err((
            RejectCode::UnknownForm,
            format!(
                "form {:?} version {} is not published on this server",
                doc.form_id, doc.form_version
            ),
        ))
    };
    let Some(form) = forms.get(tx, &doc.form_id, doc.form_version)? else {
        return Ok(unknown_form());
    };
    let Some(published_at) = dates::published_at(tx, &doc.form_id, doc.form_version)? else {
        return Ok(unknown_form());
    };
    Ok(validate(&form, doc, published_at))
}

fn validate(
    form: &CompiledForm,
    doc: &VisitDoc,
    published_at: DateTime<Utc>,
) -> Result<Validated, (RejectCode, String)> {
    // The engine is shared code; should it ever panic on some input, that visit is rejected (the phone keeps
    // it) instead of taking the whole batch down.
    let evaluation = catch_unwind(AssertUnwindSafe(|| form.evaluate(&doc.answers, doc.visit_date))).map_err(|_| {
        tracing::error!(visit_id = %doc.visit_id, form = %doc.form_id, "form engine panicked while validating");
        (RejectCode::Invalid, "the server could not validate this visit; it was not stored".to_string())
    })?;
    let exported = serde_json::to_string(&evaluation.exported).map_err(|e| {
        (
            RejectCode::Invalid,
            format!("the server could not store this visit: {e}"),
        )
    })?;
    let count = |level: Level| {
        evaluation
            .findings
            .iter()
            .filter(|f| f.level == level)
            .count() as u32
    };
    let definition = form.form();
    let answer_text = |field: Option<&str>| {
        field
            .and_then(|id| doc.answers.get(id))
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    // The first region the visit answered.
    let region_answer = forms::of_type(definition, FieldType::Region)
        .filter_map(|id| match evaluation.exported.get(id) {
            Some(serde_json::Value::String(code)) => Some(code.clone()),
            _ => None,
        })
        .find(|code| regions::check_scope_code(code).is_ok());
    Ok(Validated {
        error_count: count(Level::Error),
        warning_count: count(Level::Warning),
        outcome: answer_text(forms::outcome_field(definition)),
        region_answer,
        findings: evaluation.findings,
        exported,
        published_at,
        signal_facts: signals::rules::extract(definition, &doc.answers),
        starters: definition.start_without_assignment.clone(),
    })
}

impl Prepared {
    /// Findings the re-validation gave (0 for a visit rejected before validation).
    pub fn finding_count(&self) -> usize {
        self.checked.as_ref().map_or(0, |v| v.findings.len())
    }
}

/// Identifies a batch's content: a re-sent batch id with other visits is a client bug, not a replay.
pub fn fingerprint(prepared: &[Prepared]) -> String {
    let mut hasher = Sha256::new();
    for p in prepared {
        hasher.update(
            format!("{}:{}:{};", p.doc.visit_id, p.doc.revision, p.content_hash).as_bytes(),
        );
    }
    hex(&hasher.finalize())
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("batch {0} was sent by another device; batch ids must be new for each batch")]
    OtherDevice(Uuid),
    #[error(
        "batch {0} was already received with different visits; a re-sent batch must carry the same visits"
    )]
    Mismatch(Uuid),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for BatchError {
    fn from(e: crate::db::sql::Error) -> Self {
        BatchError::Db(e.into())
    }
}

/// Applies a batch in the caller's transaction and returns one receipt per visit, in order. A batch id seen
/// before returns the receipts given then. Each stored visit gets its signals of fabrication (`thresholds`).
pub fn apply_batch(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch_id: Uuid,
    prepared: &[Prepared],
    now: DateTime<Utc>,
    thresholds: &SignalThresholds,
) -> Result<Vec<Receipt>, BatchError> {
    let print = fingerprint(prepared);
    let seen: Option<(String, String, String)> = tx
        .query_row(
            "SELECT device_id, fingerprint, receipts FROM batches WHERE batch_id = ?1",
            [batch_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((device_id, stored_print, receipts)) = seen {
        if device_id != caller.device_id {
            return Err(BatchError::OtherDevice(batch_id));
        }
        if stored_print != print {
            return Err(BatchError::Mismatch(batch_id));
        }
        return serde_json::from_str(&receipts)
            .map_err(|e| DbError::Corrupt(format!("batch receipts: {e}")).into());
    }
    let mut receipts = Vec::with_capacity(prepared.len());
    for p in prepared {
        receipts.push(apply_visit(tx, caller, batch_id, p, now, thresholds)?);
    }
    let stored = serde_json::to_string(&receipts).map_err(|e| DbError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO batches (batch_id, device_id, fingerprint, receipts, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![batch_id.to_string(), caller.device_id, print, stored, db::timestamp(now)],
    )?;
    tx.execute(
        "UPDATE devices SET last_seen_at = ?1 WHERE device_id = ?2",
        params![db::timestamp(now), caller.device_id],
    )?;
    Ok(receipts)
}

fn receipt(doc: &VisitDoc, status: ReceiptStatus, error_count: u32) -> Receipt {
    Receipt {
        visit_id: doc.visit_id,
        revision: doc.revision,
        status,
        reject_code: None,
        reason: None,
        error_count,
    }
}

fn rejected(doc: &VisitDoc, code: RejectCode, reason: String) -> Receipt {
    Receipt {
        reject_code: Some(code),
        reason: Some(reason),
        ..receipt(doc, ReceiptStatus::Rejected, 0)
    }
}

struct Latest {
    revision: u32,
    status: String,
    user_id: String,
    assignment_id: Option<String>,
}

fn apply_visit(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch_id: Uuid,
    p: &Prepared,
    now: DateTime<Utc>,
    thresholds: &SignalThresholds,
) -> Result<Receipt, DbError> {
    let doc = &p.doc;
    let visit_id = doc.visit_id.to_string();
    // `+is_latest` (here and below) keeps SQLite on the primary key: otherwise it picks `visits_latest_by_user`
    // and reads every latest visit for each one ingested (found by tepat-bench, figure 4).
    let latest: Option<Latest> = tx
        .query_row(
            "SELECT revision, status, user_id, assignment_id FROM visits WHERE visit_id = ?1 AND +is_latest = 1",
            [&visit_id],
            |r| Ok(Latest { revision: r.get(0)?, status: r.get(1)?, user_id: r.get(2)?, assignment_id: r.get(3)? }),
        )
        .optional()?;
    if let Some(reject) = check_owner(caller, doc, latest.as_ref()) {
        return Ok(reject);
    }
    let stored: Option<(String, String)> = tx
        .query_row(
            "SELECT content_hash, region_code FROM visits WHERE visit_id = ?1 AND revision = ?2",
            params![visit_id, doc.revision],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((hash, region_code)) = stored {
        if hash == p.content_hash {
            let errors: u32 = tx.query_row(
                "SELECT error_count FROM visits WHERE visit_id = ?1 AND revision = ?2",
                params![visit_id, doc.revision],
                |r| r.get(0),
            )?;
            return Ok(receipt(doc, ReceiptStatus::Duplicate, errors));
        }
        keep_conflict(tx, caller, batch_id, p, &region_code, now)?;
        return Ok(rejected(
            doc,
            RejectCode::Conflict,
            format!(
                "revision {} of this visit is already stored with different content; this copy is kept for a \
                 supervisor to resolve",
                doc.revision
            ),
        ));
    }
    let validated = match &p.checked {
        Ok(v) => v,
        Err((code, reason)) => return Ok(rejected(doc, *code, reason.clone())),
    };
    if let Some(reject) = check_revision(doc, latest.as_ref()) {
        return Ok(reject);
    }
    let assignment_region = match check_assignment(tx, caller, doc, &validated.starters)? {
        Ok(region) => region,
        Err(reject) => return Ok(reject),
    };
    let new_case = assignment_region.is_none();
    let region_code = assignment_region
        .or_else(|| validated.region_answer.clone())
        .or_else(|| caller.regions.first().cloned())
        .unwrap_or_default();
    if new_case && let Some(reject) = check_new_case_scope(caller, doc, &region_code) {
        return Ok(reject);
    }
    let window = dates::Window::new(validated.published_at, now);
    let date_finding = window.finding(doc.visit_date);
    let error_count = validated.error_count + u32::from(date_finding.is_some());
    let mut trail_problems = p.trail.problems.clone();
    trail_problems.extend(crate::trail::check_and_store(
        tx,
        &caller.device_id,
        doc.visit_id,
        &p.trail,
        now,
    )?);
    // A trail edited throughout would otherwise give one finding per event.
    trail_problems.truncate(crate::trail::MAX_FINDINGS);
    let mut all = validated.findings.clone();
    all.extend(date_finding);
    all.extend(
        trail_problems
            .iter()
            .map(crate::trail::TrailProblem::finding),
    );
    let warning_count = validated.warning_count + trail_problems.len() as u32;
    let findings = serde_json::to_string(&all).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let trail_problems =
        serde_json::to_string(&trail_problems).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let seq = db::next_counter(tx, "pull")?;
    tx.execute(
        "UPDATE visits SET is_latest = 0 WHERE visit_id = ?1 AND +is_latest = 1",
        [&visit_id],
    )?;
    let doc_json = serde_json::to_string(doc).map_err(|e| DbError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
             form_version, assignment_id, region_code, visit_date, received_at, findings, error_count, warning_count,
             status, seq, outcome, is_latest, exported, progress_date, trail_problems, paradata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'submitted', ?17, ?18, 1, ?19,
             ?20, ?21, ?22)",
        params![
            visit_id,
            doc.revision,
            p.content_hash,
            doc_json,
            caller.user_id,
            caller.device_id,
            batch_id.to_string(),
            doc.form_id,
            doc.form_version,
            doc.assignment_id,
            region_code,
            doc.visit_date.to_string(),
            db::timestamp(now),
            findings,
            error_count,
            warning_count,
            seq as i64,
            validated.outcome,
            validated.exported,
            window.progress_date(doc.visit_date, now).to_string(),
            trail_problems,
            p.paradata,
        ],
    )?;
    crate::ledger::record_visit(
        tx,
        now,
        &caller.user_id,
        crate::ledger::VISIT_STORED,
        &visit_id,
        doc.revision,
    )?;
    crate::media::link_visit(tx, &visit_id, doc.revision, &doc.answers)?;
    let facts = signals::store::facts_of(
        doc,
        &caller.user_id,
        &region_code,
        validated.outcome.as_deref(),
        &validated.signal_facts,
        thresholds,
    );
    signals::store::on_ingest(tx, &facts, &validated.signal_facts.niks, thresholds)?;
    Ok(receipt(doc, ReceiptStatus::Accepted, error_count))
}

/// Replaces the content of a stored revision with another copy of it (a supervisor kept a conflicting copy, see
/// `console::pages`): re-validated with its form exactly as ingest does, and moved to the end of the pull so
/// supervisors see the change. Returns false, storing nothing, when the copy does not validate.
pub fn replace_content(
    tx: &Transaction<'_>,
    forms: &crate::forms::FormCache,
    doc: VisitDoc,
    now: DateTime<Utc>,
    thresholds: &SignalThresholds,
) -> Result<bool, DbError> {
    let prepared = prepare(tx, forms, vec![doc])?;
    let Some(p) = prepared.first() else {
        return Ok(false);
    };
    let Ok(validated) = &p.checked else {
        return Ok(false);
    };
    let doc = &p.doc;
    let window = dates::Window::new(validated.published_at, now);
    let date_finding = window.finding(doc.visit_date);
    let error_count = validated.error_count + u32::from(date_finding.is_some());
    let mut findings = validated.findings.clone();
    findings.extend(date_finding);
    // The trail stays the one that came with the revision: its findings are kept.
    let trail_problems: Option<String> = tx
        .query_row(
            "SELECT trail_problems FROM visits WHERE visit_id = ?1 AND revision = ?2",
            params![doc.visit_id.to_string(), doc.revision],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let trail_problems: Vec<crate::trail::TrailProblem> = match trail_problems {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| DbError::Corrupt(format!("trail problems: {e}")))?,
        None => Vec::new(),
    };
    findings.extend(
        trail_problems
            .iter()
            .map(crate::trail::TrailProblem::finding),
    );
    let warning_count = validated.warning_count + trail_problems.len() as u32;
    let findings = serde_json::to_string(&findings).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let doc_json = serde_json::to_string(doc).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let seq = db::next_counter(tx, "pull")?;
    let changed = tx.execute(
        "UPDATE visits SET content_hash = ?3, doc = ?4, findings = ?5, error_count = ?6, warning_count = ?7,
             outcome = ?8, exported = ?9, visit_date = ?10, progress_date = ?11, seq = ?12
         WHERE visit_id = ?1 AND revision = ?2",
        params![
            doc.visit_id.to_string(),
            doc.revision,
            p.content_hash,
            doc_json,
            findings,
            error_count,
            warning_count,
            validated.outcome,
            validated.exported,
            doc.visit_date.to_string(),
            window.progress_date(doc.visit_date, now).to_string(),
            seq as i64,
        ],
    )?;
    if changed != 1 {
        return Ok(false);
    }
    crate::ledger::record_visit(
        tx,
        now,
        "console",
        crate::ledger::CONTENT_REPLACED,
        &doc.visit_id.to_string(),
        doc.revision,
    )?;
    // The signals follow the content kept, when it is the visit's latest revision (the only one they describe).
    let latest: Option<(String, String)> = tx
        .query_row(
            "SELECT user_id, region_code FROM visits WHERE visit_id = ?1 AND revision = ?2 AND +is_latest = 1",
            params![doc.visit_id.to_string(), doc.revision],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((user_id, region_code)) = latest {
        let facts = signals::store::facts_of(
            doc,
            &user_id,
            &region_code,
            validated.outcome.as_deref(),
            &validated.signal_facts,
            thresholds,
        );
        signals::store::on_ingest(tx, &facts, &validated.signal_facts.niks, thresholds)?;
    }
    Ok(true)
}

fn keep_conflict(
    tx: &Transaction<'_>,
    caller: &Caller,
    batch_id: Uuid,
    p: &Prepared,
    region_code: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let known: Option<i64> = tx
        .query_row(
            "SELECT id FROM conflicts WHERE visit_id = ?1 AND revision = ?2 AND content_hash = ?3",
            params![p.doc.visit_id.to_string(), p.doc.revision, p.content_hash],
            |r| r.get(0),
        )
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    let seq = db::next_counter(tx, "pull")?;
    let doc_json = serde_json::to_string(&p.doc).map_err(|e| DbError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO conflicts (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, region_code,
             received_at, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            p.doc.visit_id.to_string(),
            p.doc.revision,
            p.content_hash,
            doc_json,
            caller.user_id,
            caller.device_id,
            batch_id.to_string(),
            region_code,
            db::timestamp(now),
            seq as i64,
        ],
    )?;
    Ok(())
}

/// The refusal of a visit that is not the caller's to submit: an assignment that is unknown or someone else's,
/// or a visit id another user's visit holds. All read the same (code `not_assigned`; for a visit with an
/// assignment the same words), so ids of others' assignments and visits cannot be probed.
fn not_yours(doc: &VisitDoc) -> Receipt {
    let reason = match &doc.assignment_id {
        Some(assignment_id) => format!("assignment {assignment_id:?} is not assigned to you"),
        None => "this visit is not assigned to you".to_string(),
    };
    rejected(doc, RejectCode::NotAssigned, reason)
}

/// Ownership before existence: a visit id whose visit belongs to another user is refused before anything about
/// the stored revisions (duplicate, conflict, revision order) is looked at or kept.
fn check_owner(caller: &Caller, doc: &VisitDoc, latest: Option<&Latest>) -> Option<Receipt> {
    latest
        .filter(|latest| latest.user_id != caller.user_id)
        .map(|_| not_yours(doc))
}

/// A new case (no assignment) is filed under the region its answers name, which must lie inside one of its
/// author's regions: otherwise it would land in another supervisor's area, out of sight of the author's own.
fn check_new_case_scope(caller: &Caller, doc: &VisitDoc, region_code: &str) -> Option<Receipt> {
    if regions::in_scope(region_code, &caller.regions) {
        return None;
    }
    let name = regions::name(region_code);
    Some(rejected(
        doc,
        RejectCode::NotAssigned,
        format!(
            "the case's region {region_code} ({name}) is outside your regions ({}): a new case must lie inside \
             them; ask your supervisor to assign it",
            caller.regions.join(", ")
        ),
    ))
}

fn check_revision(doc: &VisitDoc, latest: Option<&Latest>) -> Option<Receipt> {
    let Some(latest) = latest else {
        return (doc.revision != 1).then(|| {
            rejected(
                doc,
                RejectCode::BadRevision,
                format!(
                    "revision {}: the server holds no revision of this visit, so it must be 1",
                    doc.revision
                ),
            )
        });
    };
    if doc.revision != latest.revision + 1 {
        return Some(rejected(
            doc,
            RejectCode::BadRevision,
            format!(
                "revision {}: the server holds revision {}",
                doc.revision, latest.revision
            ),
        ));
    }
    if latest.status != "returned" {
        return Some(rejected(
            doc,
            RejectCode::BadRevision,
            format!(
                "revision {}: revision {} is {}, not returned for correction",
                doc.revision, latest.revision, latest.status
            ),
        ));
    }
    if latest.assignment_id != doc.assignment_id {
        return Some(rejected(
            doc,
            RejectCode::Invalid,
            "a correction must keep the assignment of the revision it corrects".to_string(),
        ));
    }
    None
}

/// A field role as the API names roles (`enumerator`, `assessor`).
fn role_name(role: tepat_form::FieldRole) -> &'static str {
    match role {
        tepat_form::FieldRole::Enumerator => "enumerator",
        tepat_form::FieldRole::Assessor => "assessor",
    }
}

fn caller_role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Supervisor => "supervisor",
        Role::Enumerator => "enumerator",
        Role::Assessor => "assessor",
    }
}

/// The assignment's village when the visit may be submitted under it; a rejection otherwise.
/// A visit without an assignment (a new case) may be submitted by the roles its form names in
/// `start_without_assignment` (assessors when it names none).
fn check_assignment(
    tx: &Transaction<'_>,
    caller: &Caller,
    doc: &VisitDoc,
    starters: &[tepat_form::FieldRole],
) -> Result<Result<Option<String>, Receipt>, DbError> {
    let Some(assignment_id) = &doc.assignment_id else {
        let may_start = caller
            .role
            .field_role()
            .is_some_and(|role| starters.contains(&role));
        if may_start {
            return Ok(Ok(None));
        }
        let who = if starters.is_empty() {
            "no role: it is filled only for an assignment".to_string()
        } else {
            starters
                .iter()
                .map(|r| role_name(*r))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Ok(Err(rejected(
            doc,
            RejectCode::NotAssigned,
            format!(
                "a visit without an assignment: form {:?} may be started without one only by: {who} (your role: {})",
                doc.form_id,
                caller_role_name(caller.role)
            ),
        )));
    };
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT user_id, form_id, region_code FROM assignments WHERE assignment_id = ?1",
            [assignment_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    // Unknown and someone else's read the same, so ids of others' assignments cannot be probed.
    let Some((_, form_id, region_code)) = row.filter(|(owner, _, _)| *owner == caller.user_id)
    else {
        return Ok(Err(not_yours(doc)));
    };
    if form_id != doc.form_id {
        return Ok(Err(rejected(
            doc,
            RejectCode::NotAssigned,
            format!(
                "assignment {assignment_id:?} is for form {form_id:?}, not {:?}",
                doc.form_id
            ),
        )));
    }
    // A visit for an assignment withdrawn after the work was done is still taken: the data is real, and the
    // supervisor decides what to do with it.
    Ok(Ok(Some(region_code)))
}

pub mod dates;

#[cfg(test)]
mod tests;
