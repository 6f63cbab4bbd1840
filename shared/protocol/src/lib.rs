//! Wire types of the Tepat sync protocol, version [`PROTOCOL_VERSION`].
//!
//! The phone and the server both use these types, so they cannot drift apart; `schemas/openapi.yaml` documents
//! them and tests check that the document and the code agree. All bodies are JSON; sync bodies may be gzipped
//! (`Content-Encoding: gzip` up, `Accept-Encoding: gzip` down).
//!
//! Crate `tepat-protocol`: depends only on the form engine (`tepat-form`); no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use tepat_form::{Finding, Form};

pub mod bounds;
pub mod trail;

/// The protocol version this build speaks; sent in every sync request.
pub const PROTOCOL_VERSION: u32 = 1;

/// Visits an enumerator aims for per day: the phone's "done today of 12" and the supervisor's progress view
/// measure against the same figure.
pub const DAILY_TARGET: u32 = 12;

/// A visit's answers (defined by the form engine, which reads them).
pub use tepat_form::Answers;

/// Roles a user can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    /// Sees and reviews visits in the regions they are scoped to.
    Supervisor,
    /// Pendamping PKH doing ground checks of assigned households.
    Enumerator,
    /// TKSK officer doing PPKS asesmen, may start cases without an assignment.
    Assessor,
}

impl Role {
    /// The visits a day this role's field work is measured against, if any: pendamping PKH (enumerators) aim for
    /// [`DAILY_TARGET`] ground-check visits; a TKSK's asesmen (assessors) has no daily target, a case takes what
    /// it takes; supervisors and admins make no visits.
    pub fn daily_target(self) -> Option<u32> {
        match self {
            Role::Enumerator => Some(DAILY_TARGET),
            Role::Assessor | Role::Supervisor | Role::Admin => None,
        }
    }

    /// The role as a form names it in `start_without_assignment`; `None` for roles that make no visits.
    pub fn field_role(self) -> Option<tepat_form::FieldRole> {
        match self {
            Role::Enumerator => Some(tepat_form::FieldRole::Enumerator),
            Role::Assessor => Some(tepat_form::FieldRole::Assessor),
            Role::Supervisor | Role::Admin => None,
        }
    }

    /// Whether this role may start a visit of `form` without an assignment (the form's
    /// `start_without_assignment`; never a supervisor or an admin).
    pub fn may_start_without_assignment(self, form: &tepat_form::Form) -> bool {
        self.field_role()
            .is_some_and(|role| form.may_start_without_assignment(role))
    }
}

/// Device times of a visit: the wall clock may be wrong, the sequence is the device's own monotonic order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTimes {
    /// Wall clock when the visit (this revision) was started, as the phone believed it.
    pub started_at: DateTime<Utc>,
    /// Wall clock when it was finalised.
    pub finalised_at: Option<DateTime<Utc>>,
    /// Monotonic counter of the device's store at finalising: orders visits even when the clock jumps.
    pub device_seq: u64,
}

/// One visit (one revision of it) as the phone sends it and as `tepat-form validate` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitDoc {
    /// UUIDv7 made on the phone.
    pub visit_id: Uuid,
    /// 1 for the first submission; +1 each time a returned visit is corrected.
    pub revision: u32,
    pub form_id: String,
    pub form_version: u32,
    /// The assignment visited; `None` for a new case (PPKS asesmen started in the field).
    #[serde(default)]
    pub assignment_id: Option<String>,
    /// The date `today()` and `age()` evaluate against: the day of the visit on the device.
    pub visit_date: NaiveDate,
    /// Bounded while parsed under [`bounds::parse_within`] (text length, list sizes, answer count, depth).
    #[serde(deserialize_with = "bounds::answers")]
    pub answers: Answers,
    /// Enumerator notes explaining warnings, keyed by the finding's field path.
    #[serde(default, deserialize_with = "bounds::notes")]
    pub warning_notes: BTreeMap<String, String>,
    /// What the assignment prefilled, by answer path, and what became of it: confirmed as it was, changed, or
    /// left unconfirmed (the supervisor sees "confirmed unchanged" apart from "typed"). Absent: nothing prefilled.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "bounds::prefill_review"
    )]
    pub prefill_review: BTreeMap<String, PrefillReview>,
    #[serde(deserialize_with = "bounds::object")]
    pub device_times: DeviceTimes,
}

/// What became of one prefilled answer by the time the visit was finalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefillReview {
    /// The enumerator confirmed the registered value as it stands.
    Confirmed,
    /// The answer differs from the registered value (corrected, or cleared).
    Changed,
    /// Still the registered value, never confirmed (or hidden by the answers since).
    Unconfirmed,
}

impl PrefillReview {
    pub fn as_str(self) -> &'static str {
        match self {
            PrefillReview::Confirmed => "confirmed",
            PrefillReview::Changed => "changed",
            PrefillReview::Unconfirmed => "unconfirmed",
        }
    }
}

impl VisitDoc {
    /// SHA-256 (hex) of the visit's content: what makes a re-send a `duplicate` rather than a `conflict`.
    /// Device times are left out, so the same answers sent again after a clock change are still the same visit.
    pub fn content_hash(&self) -> String {
        // serde_json's Map is ordered (BTreeMap), so this serialisation is canonical.
        let content = serde_json::json!({
            "visit_id": self.visit_id,
            "revision": self.revision,
            "form_id": self.form_id,
            "form_version": self.form_version,
            "assignment_id": self.assignment_id,
            "visit_date": self.visit_date,
            "answers": self.answers,
            "warning_notes": self.warning_notes,
        });
        // Visits without prefill hash as they did before the review existed.
        let mut content = content;
        if !self.prefill_review.is_empty() {
            content["prefill_review"] = serde_json::json!(self.prefill_review);
        }
        let mut hasher = Sha256::new();
        hasher.update(content.to_string().as_bytes());
        hex(&hasher.finalize())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Enrolment

/// `POST /api/v1/enrol`: a one-time code issued by an admin, exchanged for a device token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// Free text shown to admins, e.g. the phone model.
    pub device_name: String,
}

/// The user a device acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    /// Region codes the user works in (prefixes: a regency code covers its districts and villages).
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: String,
    /// Bearer token for every later request; the server keeps only its hash.
    pub token: String,
    pub user: UserInfo,
    pub server_time: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------------------
// Sync

/// `POST /api/v1/sync`: up to the server's limits of visits and bytes per batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    pub device_id: String,
    /// Made by the phone per batch; a batch re-sent after a dropped answer carries the same id.
    pub batch_id: Uuid,
    /// The `next_cursor` of the last sync response the device applied (0 at first).
    pub cursor: u64,
    /// At most [`bounds::BodyLimits::max_visits`] (under [`bounds::parse_within`]).
    #[serde(deserialize_with = "bounds::visits")]
    pub visits: Vec<VisitDoc>,
    /// The audit trail of each visit of the batch, at most one per visit (`trail`). Absent in requests of apps
    /// from before trails: the server keeps such a visit with the finding "no trail".
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "bounds::trails"
    )]
    pub trails: Vec<trail::VisitTrail>,
}

/// What happened to one uploaded visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// Stored now.
    Accepted,
    /// The same `(visit_id, revision)` with the same content was stored before: also a success.
    Duplicate,
    /// Not stored as a submission (see the reason); the phone keeps it and shows why.
    Rejected,
}

/// Why a visit was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// Different content under an existing `(visit_id, revision)`; kept aside for a supervisor.
    Conflict,
    /// The form id/version is not published on the server.
    UnknownForm,
    /// Not this user's to submit: the assignment does not exist or is not theirs, the visit id is another
    /// user's visit (refused as an unknown assignment is), or a new case lies outside their regions.
    NotAssigned,
    /// The revision skips ahead or goes back (e.g. revision 3 when the server holds 1).
    BadRevision,
    /// The visit document itself is malformed (e.g. answers of the wrong shape).
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub visit_id: Uuid,
    pub revision: u32,
    pub status: ReceiptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_code: Option<RejectCode>,
    /// Human-readable reason (English; the phone maps codes to Bahasa Indonesia).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Error-level findings the server's re-validation found (the visit is kept and flagged, never dropped).
    #[serde(default)]
    pub error_count: u32,
}

/// A household to visit (or a case to assess), assigned to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub assignment_id: String,
    pub form_id: String,
    pub form_version: u32,
    /// Kemendagri village code `PP.KK.CC.DDDD`.
    pub region_code: String,
    /// Short label for lists, e.g. the head's name and RT/RW.
    pub label: String,
    /// Values for fields with a `prefill` key: head name, NIK, No. KK, address, KPM programmes, ...
    #[serde(default)]
    pub prefill: BTreeMap<String, String>,
    /// The registered records of the form's repeats, keyed by the repeat's `prefill` key (`members`: the
    /// family's members on record), one map of prefill keys to values per member, in register order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prefill_repeats: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

/// A visit the supervisor sent back for correction; it reopens on the phone as revision + 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnedVisit {
    /// The revision that was returned, with its content, so a phone that lost it can still correct it.
    pub visit: VisitDoc,
    pub comment: String,
    pub reviewer: String,
    pub returned_at: DateTime<Utc>,
    /// The field the comment is pinned to (`rooms`, `members[1].nik`), when the supervisor pinned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A visit the supervisor approved (the phone marks it approved and may archive it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedVisit {
    pub visit_id: Uuid,
    pub revision: u32,
}

/// Everything that changed for a device since its cursor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Changes {
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// Assignment ids taken away from this user (a local draft for one is kept and flagged).
    #[serde(default)]
    pub withdrawn: Vec<String>,
    #[serde(default)]
    pub returned: Vec<ReturnedVisit>,
    #[serde(default)]
    pub approved: Vec<ApprovedVisit>,
    /// Newly published form versions.
    #[serde(default)]
    pub forms: Vec<Form>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
            && self.withdrawn.is_empty()
            && self.returned.is_empty()
            && self.approved.is_empty()
            && self.forms.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u32,
    /// One receipt per uploaded visit, in the order sent.
    pub receipts: Vec<Receipt>,
    pub changes: Changes,
    /// The cursor to send next time; apply `changes` and store it in one local transaction.
    pub next_cursor: u64,
    /// True when more changes are waiting (the phone syncs again at once).
    #[serde(default)]
    pub more: bool,
    pub server_time: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------------------
// Supervisor

/// Where a visit is in review on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    /// Received, waiting for review.
    Submitted,
    Approved,
    /// Sent back to the device for correction.
    Returned,
    /// Different content under an existing `(visit_id, revision)`: kept for a supervisor to resolve.
    Conflict,
}

/// A visit as the supervisor pulls it: the device's document plus what the server knows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerVisit {
    /// Server sequence number: pull with `since` = the last one seen.
    pub seq: u64,
    pub visit: VisitDoc,
    pub user_id: String,
    pub device_id: String,
    /// Kemendagri village code (from the assignment, or the visit's region answer for new cases).
    pub region_code: Option<String>,
    pub received_at: DateTime<Utc>,
    pub status: ReviewStatus,
    /// Findings of the server's re-validation with the shared form engine.
    pub findings: Vec<Finding>,
    /// The supervisor's last comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_comment: Option<String>,
}

/// `GET /api/v1/supervisor/visits?since=N&limit=M`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub visits: Vec<ServerVisit>,
    /// Pass as `since` for the next page.
    pub next_since: u64,
    pub more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    /// Send back to the device for correction; needs a comment.
    Return,
}

/// `POST /api/v1/supervisor/review`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    pub visit_id: Uuid,
    pub revision: u32,
    pub decision: Decision,
    #[serde(default)]
    pub comment: String,
    /// Pins a return's comment to a field of the visit (`rooms`, `members[1].nik`); the phone shows it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Visits of one enumerator on one day (by the device's visit date) against the daily target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumeratorDay {
    pub user_id: String,
    pub name: String,
    pub date: NaiveDate,
    /// The form these visits are on: each form's outcomes are counted apart (one row per user, day and form).
    pub form_id: String,
    pub visits: u32,
    /// The visits a day the user's role aims for ([`Role::daily_target`]): 12 for a pendamping PKH, `None` (no
    /// target) for a TKSK assessor.
    pub target: Option<u32>,
    /// Visit count by outcome code (e.g. `"1"` found, `"0"` not found) of the form's outcome field; `unknown`
    /// for a visit that left it unanswered. Empty for a form without an outcome (a PPKS asesmen).
    pub by_outcome: BTreeMap<String, u32>,
}

/// Coverage of one village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VillageProgress {
    pub region_code: String,
    pub name: String,
    pub assigned: u32,
    pub visited: u32,
    pub approved: u32,
    pub returned: u32,
}

/// `GET /api/v1/supervisor/progress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressResponse {
    pub daily_target: u32,
    pub enumerator_days: Vec<EnumeratorDay>,
    pub villages: Vec<VillageProgress>,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine code, e.g. `bad_json`, `unauthorized`, `too_large`.
    pub error: String,
    /// What was wrong, naming the problem (field, limit, ...).
    pub message: String,
    /// For 413 and for a 422 on a limit: the limit that was exceeded (bytes, visits, characters, items, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl ApiError {
    /// The machine code as a client acts on it.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::parse(&self.error)
    }
}

/// The stable machine code of an error answer ([`ApiError::error`]) where a client acts on it; every other code
/// is kept as it came ([`ErrorCode::Other`]), so a newer server's codes still reach the logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Enrolment: the one-time code was used already.
    CodeUsed,
    /// Enrolment: the one-time code has expired.
    CodeExpired,
    /// Enrolment: no such one-time code.
    UnknownCode,
    /// A field of the request is not acceptable (e.g. an enrolment code of the wrong shape).
    InvalidField,
    /// The device token is missing, unknown or revoked.
    MissingToken,
    UnknownToken,
    RevokedToken,
    /// The server does not speak this protocol version.
    UnsupportedProtocol,
    /// Any other code.
    Other(String),
}

impl ErrorCode {
    const KNOWN: [(&'static str, ErrorCode); 8] = [
        ("code_used", ErrorCode::CodeUsed),
        ("code_expired", ErrorCode::CodeExpired),
        ("unknown_code", ErrorCode::UnknownCode),
        ("invalid_field", ErrorCode::InvalidField),
        ("missing_token", ErrorCode::MissingToken),
        ("unknown_token", ErrorCode::UnknownToken),
        ("revoked_token", ErrorCode::RevokedToken),
        ("unsupported_protocol", ErrorCode::UnsupportedProtocol),
    ];

    pub fn parse(code: &str) -> ErrorCode {
        ErrorCode::KNOWN
            .iter()
            .find(|(text, _)| *text == code)
            .map_or_else(
                || ErrorCode::Other(code.to_string()),
                |(_, known)| known.clone(),
            )
    }

    /// The code as the server writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(code) => code,
            known => ErrorCode::KNOWN
                .iter()
                .find(|(_, k)| k == known)
                .map_or("", |(text, _)| text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_field_roles_may_start_a_form_without_an_assignment_and_only_as_it_says() {
        let form = |starters: &str| {
            let json = format!(
                r#"{{"id": "f", "version": 1, "title": {{"id": "F", "en": "F"}}, {starters}
                  "sections": [{{"id": "s", "title": {{"id": "S", "en": "S"}},
                    "fields": [{{"id": "x", "type": "text", "label": {{"id": "X", "en": "X"}}}}]}}]}}"#
            );
            tepat_form::load(&json)
                .unwrap_or_else(|e| panic!("{e}"))
                .form()
                .clone()
        };
        let default = form("");
        let both = form(r#""start_without_assignment": ["enumerator", "assessor"],"#);
        let allowed = |f: &tepat_form::Form| {
            [
                Role::Admin,
                Role::Supervisor,
                Role::Enumerator,
                Role::Assessor,
            ]
            .into_iter()
            .filter(|r| r.may_start_without_assignment(f))
            .collect::<Vec<_>>()
        };
        assert_eq!(allowed(&default), vec![Role::Assessor]);
        assert_eq!(allowed(&both), vec![Role::Enumerator, Role::Assessor]);
        assert_eq!(allowed(&form(r#""start_without_assignment": [],"#)), vec![]);
    }

    #[test]
    fn only_pendamping_pkh_have_a_daily_target() {
        assert_eq!(Role::Enumerator.daily_target(), Some(12));
        for role in [Role::Assessor, Role::Supervisor, Role::Admin] {
            assert_eq!(role.daily_target(), None, "{role:?}");
        }
    }

    #[test]
    fn error_codes_parse_and_print_back_as_the_server_writes_them() {
        for (text, code) in ErrorCode::KNOWN {
            assert_eq!(ErrorCode::parse(text), code);
            assert_eq!(code.as_str(), text);
        }
        let other = ErrorCode::parse("too_many_visits");
        assert_eq!(other, ErrorCode::Other("too_many_visits".into()));
        assert_eq!(other.as_str(), "too_many_visits");
    }

    fn visit() -> VisitDoc {
        VisitDoc {
            visit_id: Uuid::nil(),
            revision: 1,
            form_id: "dtsen_groundcheck".into(),
            form_version: 1,
            assignment_id: Some("A-1".into()),
            visit_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
            answers: Answers::new(),
            warning_notes: BTreeMap::new(),
            prefill_review: BTreeMap::new(),
            device_times: DeviceTimes {
                started_at: DateTime::UNIX_EPOCH,
                finalised_at: None,
                device_seq: 1,
            },
        }
    }

    #[test]
    fn content_hash_ignores_device_times_but_not_answers() {
        let a = visit();
        let mut b = a.clone();
        b.device_times.device_seq = 99;
        b.device_times.started_at = DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        assert_eq!(a.content_hash(), b.content_hash());
        b.answers.insert("outcome".into(), serde_json::json!("1"));
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn visit_doc_round_trips_through_json() {
        let a = visit();
        let text = serde_json::to_string(&a).unwrap_or_default();
        let back: VisitDoc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(a, back);
    }
}
