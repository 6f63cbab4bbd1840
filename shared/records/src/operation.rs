//! The store operations the App asks for (one transaction each) and what they give back: the contract between
//! the App, which only describes them, and the device store, which performs them (`tepat_store::execute`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use crux_core::capability::Operation;
use uuid::Uuid;

use tepat_form::paths::AnswerRow;
use tepat_form::{Form, Lang};
use tepat_protocol::{Answers, Assignment, SyncRequest, SyncResponse, VisitDoc};

use crate::{
    FormInfo, FormInstall, Identity, ImportSummary, NewVisit, Settings, StoreError, SyncApplied,
    SyncStatus, Today, VisitRecord,
};

/// One operation on the device store (one transaction). Times are the App's (from its clock effect).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreOperation {
    /// Settings and installed forms.
    Load,
    SetLanguage(Lang),
    SetIdentity {
        identity: Identity,
        at: DateTime<FixedOffset>,
    },
    InstallForm {
        form: Box<Form>,
        at: DateTime<FixedOffset>,
    },
    ImportAssignments {
        assignments: Vec<Assignment>,
        at: DateTime<FixedOffset>,
    },
    Today {
        date: NaiveDate,
    },
    LoadForm {
        form_id: String,
        version: u32,
    },
    StartVisit {
        visit: NewVisit,
        repeats: HashSet<String>,
        at: DateTime<FixedOffset>,
    },
    LoadVisit {
        visit_id: Uuid,
    },
    SaveAnswers {
        visit_id: Uuid,
        revision: u32,
        changes: Vec<(String, Option<AnswerRow>)>,
        at: DateTime<FixedOffset>,
    },
    SetNote {
        visit_id: Uuid,
        revision: u32,
        path: String,
        note: Option<String>,
        at: DateTime<FixedOffset>,
    },
    /// The enumerator confirmed these prefilled answers as they stand.
    ConfirmPrefilled {
        visit_id: Uuid,
        revision: u32,
        paths: Vec<String>,
        at: DateTime<FixedOffset>,
    },
    Finalise {
        finalise: Box<Finalise>,
        at: DateTime<FixedOffset>,
    },
    Unfinalise {
        visit_id: Uuid,
        revision: u32,
        at: DateTime<FixedOffset>,
    },
    ReopenReturned {
        visit_id: Uuid,
        revision: u32,
        at: DateTime<FixedOffset>,
    },
    SyncStatus,
    PrepareSync {
        max_visits: usize,
        /// Bytes of visit JSON per batch (one visit always goes, however large).
        max_bytes: usize,
        at: DateTime<FixedOffset>,
    },
    ApplySync {
        request: Box<SyncRequest>,
        response: Box<SyncResponse>,
        at: DateTime<FixedOffset>,
    },
    RecordSyncFailure {
        code: String,
        message: String,
        /// Nothing of the attempt can have reached the server (no connection, certificate refused): its visits
        /// are taken back to `final` unless an earlier attempt may have delivered them.
        nothing_sent: bool,
        at: DateTime<FixedOffset>,
    },
}

/// What a store operation gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreReply {
    Done,
    Loaded {
        settings: Settings,
        forms: Vec<FormInfo>,
    },
    FormInstalled(FormInstall),
    Imported(ImportSummary),
    Today(Box<Today>),
    Form(Box<Form>),
    Visit(Box<VisitRecord>),
    Finalised(Box<VisitDoc>),
    SyncStatus(SyncStatus),
    SyncRequest(Box<SyncRequest>),
    SyncApplied(SyncApplied),
}

pub type StoreOutput = Result<StoreReply, StoreError>;

impl Operation for StoreOperation {
    type Output = StoreOutput;
}

/// What finalising needs from the App: the answers to freeze (relevant ones only) and the notes for warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalise {
    pub visit_id: Uuid,
    pub revision: u32,
    pub answers: Answers,
    pub notes: BTreeMap<String, String>,
    /// The device's local date at finalising ("done today").
    pub local_date: NaiveDate,
    pub outcome: Option<String>,
    pub revisit: bool,
    /// What became of each prefilled answer (`VisitDoc::prefill_review`).
    pub prefill_review: BTreeMap<String, tepat_protocol::PrefillReview>,
}
