//! The effects the App asks for, each an operation with a typed output.
//!
//! The runtime executes Store, Time and Sync in Rust; Location and Camera go to the shell (the phone).

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, NaiveDate};
use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::render::RenderOperation;
use uuid::Uuid;

use crate::form::{Form, Lang};
use crate::protocol::{Assignment, SyncRequest, SyncResponse, VisitDoc};
use crate::store::{
    AnswerRow, Finalise, FormInfo, FormInstall, Identity, ImportSummary, NewVisit, Settings,
    StoreError, SyncApplied, SyncStatus, Today, VisitRecord,
};

#[effect]
#[derive(Debug)]
pub enum Effect {
    Render(RenderOperation),
    Store(StoreOperation),
    Time(TimeOperation),
    Sync(SyncOperation),
    Location(LocationOperation),
    Camera(CameraOperation),
}

// ---------------------------------------------------------------------------------------------------------------
// Store

/// One operation on the device store (one transaction). Times are the App's (from [`TimeOperation`]).
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

// ---------------------------------------------------------------------------------------------------------------
// Time

/// The device's wall clock, with its UTC offset (the local date is the visit date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOperation;

impl Operation for TimeOperation {
    type Output = DateTime<FixedOffset>;
}

// ---------------------------------------------------------------------------------------------------------------
// Sync

/// One sync round trip (`POST /api/v1/sync`) through the runtime's transport.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOperation(pub SyncRequest);

/// Why a round trip failed, in classes the App can explain to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// No connection at all (no signal, airplane mode, DNS failure, connection refused).
    Offline,
    /// The connection was too slow or dropped mid-way.
    Timeout,
    /// The server does not know this device's token.
    Unauthorized,
    /// The request was too large for the server (413).
    TooLarge,
    /// The server refused the request as malformed (other 4xx).
    Refused,
    /// The server failed (5xx).
    Server,
    /// The answer could not be read (not the protocol).
    BadResponse,
    /// The server's certificate is not trusted (unknown issuer, expired, or for another host): nothing was
    /// sent. The phone's date being wrong makes a good certificate look expired.
    UntrustedCertificate,
}

impl TransportErrorKind {
    /// The stable code kept in the sync state.
    pub fn code(self) -> &'static str {
        match self {
            TransportErrorKind::Offline => "offline",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Unauthorized => "unauthorized",
            TransportErrorKind::TooLarge => "too_large",
            TransportErrorKind::Refused => "refused",
            TransportErrorKind::Server => "server",
            TransportErrorKind::BadResponse => "bad_response",
            TransportErrorKind::UntrustedCertificate => "untrusted_certificate",
        }
    }

    pub fn from_code(code: &str) -> Option<TransportErrorKind> {
        use TransportErrorKind::*;
        [
            Offline,
            Timeout,
            Unauthorized,
            TooLarge,
            Refused,
            Server,
            BadResponse,
            UntrustedCertificate,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// A failed round trip: its class and the technical detail (for logs and support).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", .kind.code())]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub detail: String,
}

pub type SyncOutput = Result<SyncResponse, TransportError>;

impl Operation for SyncOperation {
    type Output = SyncOutput;
}

// ---------------------------------------------------------------------------------------------------------------
// Location and camera (the shell)

/// A GPS fix for the answer at `path` (the shell may show it while it waits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationOperation {
    pub path: String,
}

/// What the phone's location service gave.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationOutput {
    Fix {
        lat: f64,
        lon: f64,
        accuracy_m: f64,
    },
    /// No fix: permission refused, location off, or no fix in time (the shell's words).
    Unavailable {
        reason: String,
    },
}

impl Operation for LocationOperation {
    type Output = LocationOutput;
}

/// A photo for the answer at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraOperation {
    pub path: String,
}

/// What the camera gave; the runtime has hashed the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraOutput {
    Photo { file: String, sha256: String },
    Cancelled,
    Failed { reason: String },
}

impl Operation for CameraOperation {
    type Output = CameraOutput;
}
