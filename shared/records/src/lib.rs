//! The records the phone keeps, as plain Rust values (visit states, identity, today's list, sync status, outbox
//! entries, audit events), the store's typed error, and the store operations the App asks for.
//!
//! Pure data: the App (`tepat-app`) speaks these without knowing SQLite; the device store (`tepat-store`) keeps
//! them in SQLite and performs the operations. Depends only on the form engine and the protocol (and on
//! `rusqlite` for one error conversion, with the `sqlite` feature the store turns on).

mod error;
mod operation;

pub use error::StoreError;
pub use operation::{Finalise, StoreOperation, StoreOutput, StoreReply};

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use tepat_form::Lang;
use tepat_protocol::{Answers, Assignment, Role};

/// Where a visit is in its life: `draft → final → sent → accepted → approved`, or `→ returned → draft
/// (revision + 1) → final …`. `final` and `sent` are exactly the visits with an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisitState {
    /// Being filled in; every answer already saved.
    Draft,
    /// Finalised and frozen in the outbox, not yet uploaded.
    Final,
    /// Uploaded at least once, no receipt yet (still in the outbox).
    Sent,
    /// The server gave a receipt; out of the outbox.
    Accepted,
    /// The supervisor approved it.
    Approved,
    /// The supervisor sent it back for correction; reopens as a draft of the next revision.
    Returned,
}

impl VisitState {
    pub const ALL: [VisitState; 6] = [
        VisitState::Draft,
        VisitState::Final,
        VisitState::Sent,
        VisitState::Accepted,
        VisitState::Approved,
        VisitState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VisitState::Draft => "draft",
            VisitState::Final => "final",
            VisitState::Sent => "sent",
            VisitState::Accepted => "accepted",
            VisitState::Approved => "approved",
            VisitState::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<VisitState> {
        VisitState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Finalised and waiting for the server (in the outbox).
    pub fn in_outbox(self) -> bool {
        matches!(self, VisitState::Final | VisitState::Sent)
    }

    /// Finalised at some point (done, whatever happened since).
    pub fn is_finalised(self) -> bool {
        !matches!(self, VisitState::Draft)
    }
}

impl fmt::Display for VisitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user (and device) this phone works for, after enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub device_id: String,
    pub user_id: String,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub regions: Vec<String>,
}

/// Device settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub lang: Lang,
    /// `None` until the device is enrolled (or a trainer sets a local identity).
    pub identity: Option<Identity>,
}

/// An installed form version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormInfo {
    pub form_id: String,
    pub version: u32,
    pub title: tepat_form::Text,
    /// The field roles that may start this form without an assignment (the form's `start_without_assignment`).
    pub start_without_assignment: Vec<tepat_form::FieldRole>,
}

/// What installing a form did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormInstall {
    Installed,
    /// The same id, version and content was already there.
    AlreadyInstalled,
}

/// An assignment as kept on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub assignment: Assignment,
    /// Taken away by the server; a local draft for it is kept and the list says so.
    pub withdrawn: bool,
}

/// What importing assignments did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub added: u32,
    pub updated: u32,
    pub unchanged: u32,
}

/// Everything about a visit except its answers.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitSummary {
    pub visit_id: Uuid,
    pub form_id: String,
    pub form_version: u32,
    pub assignment_id: Option<String>,
    pub revision: u32,
    pub state: VisitState,
    pub visit_date: NaiveDate,
    pub started_at: DateTime<Utc>,
    pub started_seq: u64,
    pub finalised_at: Option<DateTime<Utc>>,
    pub finalised_date: Option<NaiveDate>,
    pub finalised_seq: Option<u64>,
    pub outcome: Option<String>,
    pub revisit: bool,
    pub supervisor_comment: Option<String>,
    /// The answer path the supervisor pinned the comment to (`rooms`, `members[1].nik`), when pinned.
    pub supervisor_field: Option<String>,
    pub reviewer: Option<String>,
    pub returned_at: Option<DateTime<Utc>>,
    /// Why the server refused the last submission.
    pub reject_reason: Option<String>,
}

/// A visit with its answers and warning notes.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRecord {
    pub summary: VisitSummary,
    pub answers: Answers,
    /// Enumerator notes for warnings, by finding path.
    pub notes: BTreeMap<String, String>,
    /// What the assignment prefilled at the start, by answer path (the registered record).
    pub prefilled: BTreeMap<String, serde_json::Value>,
    /// Prefilled paths the enumerator confirmed.
    pub confirmed: std::collections::BTreeSet<String>,
}

/// A visit to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    pub form_id: String,
    pub form_version: u32,
    pub assignment_id: Option<String>,
    pub visit_date: NaiveDate,
    /// Answers known before the visit (the assignment's prefill).
    pub answers: Answers,
}

/// One line of today's list: an assignment and the latest visit for it.
#[derive(Debug, Clone, PartialEq)]
pub struct TodayItem {
    pub assignment: AssignmentRecord,
    pub latest: Option<VisitSummary>,
    /// How many visits (revisits included) this assignment has had.
    pub visit_count: u32,
}

/// Counts for today's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TodayCounts {
    /// Visits finalised on this local date.
    pub done_today: u32,
    pub drafts: u32,
    pub in_outbox: u32,
    /// Returned for correction, reopened or not.
    pub returned: u32,
    /// Assignments whose latest visit asks for another one (household not found / not reachable).
    pub revisits: u32,
}

/// The top-level answer that names a case's client on the case list (`full_name` in the PPKS asesmen).
pub const CASE_NAME_FIELD: &str = "full_name";

/// The top-level answer that links a follow-up visit to its case: the id of the case's first visit (`case_id` in
/// the PPKS asesmen, filled in by the phone). A case is its first visit and every visit naming it here.
pub const CASE_ID_FIELD: &str = "case_id";

/// The answer of an asesmen that names the report it follows (`laporan_id` in the PPKS asesmen): the report's
/// visit id, filled in by the phone (the field's `prefill` key) when the asesmen is opened from the report.
pub const REPORT_LINK_FIELD: &str = "laporan_id";

/// A report's urgency (`urgency` in the Satgas report), shown on the case list.
pub const REPORT_URGENCY_FIELD: &str = "urgency";

/// A report's answer whether a full asesmen is needed (`asesmen_needed` in the Satgas report): a case with it is a
/// report; the choice answered says, by its `attrs.opens`, which form the asesmen is.
pub const REPORT_ASESMEN_FIELD: &str = "asesmen_needed";

/// Today's list as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Today {
    pub items: Vec<TodayItem>,
    /// New cases (visits without an assignment): the latest visit of each case, whatever its state (an assessor
    /// follows a case up long after it was sent), newest first.
    pub cases: Vec<VisitSummary>,
    /// The client's name of each listed case visit ([`CASE_NAME_FIELD`]), when answered.
    pub case_names: BTreeMap<Uuid, String>,
    pub counts: TodayCounts,
    /// A listed report's urgency and asesmen answers (codes, by field id: [`REPORT_URGENCY_FIELD`],
    /// [`REPORT_ASESMEN_FIELD`]), by visit id.
    pub case_details: BTreeMap<Uuid, BTreeMap<String, String>>,
    /// Reports an asesmen was started from ([`REPORT_LINK_FIELD`]): the report's visit id → the first asesmen.
    pub reports_assessed: BTreeMap<Uuid, Uuid>,
}

/// A finalised visit waiting for a receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub visit_id: Uuid,
    pub revision: u32,
    pub content_hash: String,
    pub attempts: u32,
    /// The server refused it (the reason, in words); not re-sent automatically.
    pub held_reason: Option<String>,
}

/// The sync state shown to the user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncStatus {
    pub cursor: u64,
    pub outbox: u32,
    /// Outbox entries the server refused.
    pub held: u32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Machine code of the last failure (`offline`, `timeout`, `server`, `unauthorized`, ...).
    pub last_error_code: Option<String>,
    /// The technical detail of the last failure.
    pub last_error: Option<String>,
    /// Photos of sent visits not yet confirmed by the server, and their bytes it does not hold yet.
    pub photos_waiting: u32,
    pub photo_bytes_waiting: u64,
}

/// What applying one sync answer did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncApplied {
    pub accepted: u32,
    pub duplicate: u32,
    pub rejected: u32,
    pub assignments_added: u32,
    pub assignments_withdrawn: u32,
    /// Withdrawn assignments that have a local draft (kept).
    pub withdrawn_with_draft: u32,
    pub returned: u32,
    pub approved: u32,
    pub forms_installed: u32,
    /// Problems that did not stop the sync (e.g. a form version that differs from the installed one).
    pub problems: Vec<String>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub device_seq: u64,
    pub actor: String,
    pub visit_id: Option<Uuid>,
    pub revision: Option<u32>,
    pub kind: String,
    pub path: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
}
