//! A supervisor's review: approve a visit, or return it to the device for correction with a comment.
//! Only the latest revision of a visit still waiting for review can be decided; the decision goes into the
//! device's change feed and into an audit trail.

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use tepat_form::{FieldType, Form};
use tepat_protocol::{Decision, ReviewRequest, ServerVisit};

use crate::auth::Caller;
use crate::changes;
use crate::db::{self, DbError};
use crate::forms;
use crate::names;
use crate::pull;
use crate::regions::scope_sql;

/// Longest review comment.
pub const MAX_COMMENT_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0}")]
    BadComment(names::TextError),
    #[error("comment: returning a visit needs a comment telling the enumerator what to correct")]
    CommentRequired,
    #[error("field: {0}")]
    BadField(String),
    #[error("visit {0} revision {1} is not in your regions or does not exist")]
    NotFound(uuid::Uuid, u32),
    #[error(
        "revision {asked} is not the latest revision ({latest}) of this visit; review the latest"
    )]
    NotLatest { asked: u32, latest: u32 },
    #[error(
        "this revision was already {0}; a decision is final until the device sends a correction"
    )]
    AlreadyDecided(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for ReviewError {
    fn from(e: crate::db::sql::Error) -> Self {
        ReviewError::Db(e.into())
    }
}

pub fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approved",
        Decision::Return => "returned",
    }
}

/// Longest field path a comment may be pinned to.
pub const MAX_FIELD_PATH_CHARS: usize = 200;

/// A field path of `form` that holds an answer: `rooms` (outside repeats) or `members[1].member_name` (a field of a
/// repeat, with the member's 0-based index).
pub fn check_field_path(form: &Form, path: &str) -> Result<(), String> {
    if path.chars().count() > MAX_FIELD_PATH_CHARS {
        return Err(format!("longer than {MAX_FIELD_PATH_CHARS} characters"));
    }
    let top_level = || form.sections.iter().flat_map(|s| s.fields.iter());
    let unknown = || {
        format!(
            "{path:?} is not a field of form {} v{}",
            form.id, form.version
        )
    };
    match path.split_once('[') {
        None => top_level()
            .find(|f| f.id == path && forms::holds_answer(f.kind))
            .map(|_| ())
            .ok_or_else(unknown),
        Some((repeat, rest)) => {
            let (index, child) = rest.split_once("].").ok_or_else(unknown)?;
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || index.len() > 4 {
                return Err(unknown());
            }
            top_level()
                .find(|f| f.id == repeat && f.kind == FieldType::Repeat)
                .and_then(|r| {
                    r.fields
                        .iter()
                        .find(|f| f.id == child && forms::holds_answer(f.kind))
                })
                .map(|_| ())
                .ok_or_else(unknown)
        }
    }
}

/// Applies a decision and returns the visit as the supervisor now sees it.
pub fn review(
    tx: &Transaction<'_>,
    caller: &Caller,
    req: &ReviewRequest,
    now: DateTime<Utc>,
) -> Result<ServerVisit, ReviewError> {
    let comment = names::clean_comment("comment", &req.comment, MAX_COMMENT_CHARS)
        .map_err(ReviewError::BadComment)?;
    if req.decision == Decision::Return && comment.is_empty() {
        return Err(ReviewError::CommentRequired);
    }
    let visit_id = req.visit_id.to_string();
    let sql = format!(
        "SELECT status, is_latest, user_id, form_id, form_version FROM visits v
         WHERE visit_id = ?1 AND revision = ?2 AND {}",
        scope_sql("v.region_code", "?3")
    );
    let row: Option<(String, bool, String, String, u32)> = tx
        .query_row(&sql, params![visit_id, req.revision, caller.user_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((status, is_latest, owner, form_id, form_version)) = row else {
        return Err(ReviewError::NotFound(req.visit_id, req.revision));
    };
    let field = match req.field.as_deref() {
        None => None,
        Some(_) if req.decision != Decision::Return => {
            return Err(ReviewError::BadField(
                "only a return is pinned to a field".into(),
            ));
        }
        Some(path) => {
            let form = forms::load_form(tx, &form_id, form_version)?.ok_or_else(|| {
                DbError::Corrupt(format!(
                    "visit of unpublished form {form_id} v{form_version}"
                ))
            })?;
            check_field_path(&form, path).map_err(ReviewError::BadField)?;
            Some(path)
        }
    };
    if !is_latest {
        let latest: u32 = tx.query_row(
            "SELECT max(revision) FROM visits WHERE visit_id = ?1",
            [&visit_id],
            |r| r.get(0),
        )?;
        return Err(ReviewError::NotLatest {
            asked: req.revision,
            latest,
        });
    }
    if status != "submitted" {
        return Err(ReviewError::AlreadyDecided(status));
    }
    let seq = db::next_counter(tx, "pull")?;
    let at = db::timestamp(now);
    let comment_stored = (!comment.is_empty()).then_some(comment.as_str());
    tx.execute(
        "UPDATE visits SET status = ?1, review_comment = ?2, reviewer = ?3, reviewed_at = ?4, seq = ?5
         WHERE visit_id = ?6 AND revision = ?7",
        params![decision_name(req.decision), comment_stored, caller.user_id, at, seq as i64, visit_id, req.revision],
    )?;
    let review_id: i64 = tx.query_row(
        "INSERT INTO reviews (visit_id, revision, decision, comment, reviewer, reviewer_device, at, field)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![
            visit_id,
            req.revision,
            decision_name(req.decision),
            comment,
            caller.user_id,
            caller.device_id,
            at,
            field
        ],
        |r| r.get(0),
    )?;
    crate::ledger::record_review(tx, review_id)?;
    match req.decision {
        Decision::Approve => changes::record_approved(tx, &owner, req.visit_id, req.revision, now)?,
        Decision::Return => changes::record_returned(
            tx,
            &owner,
            req.visit_id,
            req.revision,
            &changes::Return {
                comment: &comment,
                reviewer: &caller.name,
                field,
            },
            now,
        )?,
    }
    pull::one(tx, &visit_id, req.revision)?
        .ok_or_else(|| ReviewError::NotFound(req.visit_id, req.revision))
}
