//! How a sync round trip reaches the server: a trait (the reqwest implementation comes with the sync client),
//! a transport for phones without a server, and an in-memory server for tests (feature `testing`).

#[cfg(any(test, feature = "testing"))]
use std::collections::{BTreeMap, VecDeque};
#[cfg(any(test, feature = "testing"))]
use std::sync::Mutex;

#[cfg(any(test, feature = "testing"))]
use chrono::Utc;
#[cfg(any(test, feature = "testing"))]
use uuid::Uuid;

use tepat_app::{TransportError, TransportErrorKind};
#[cfg(any(test, feature = "testing"))]
use tepat_protocol::{
    Assignment, Changes, PROTOCOL_VERSION, Receipt, ReceiptStatus, RejectCode, ReturnedVisit,
    VisitDoc,
};
use tepat_protocol::{EnrolRequest, EnrolResponse, SyncRequest, SyncResponse};

/// One `POST /api/v1/sync` round trip. Called on a background thread; may block.
pub trait Transport: Send + Sync {
    fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError>;

    /// `POST /api/v1/enrol`: an admin's one-time code for this device's token. Transports without a server
    /// cannot enrol.
    fn enrol(&self, _request: &EnrolRequest) -> Result<EnrolResponse, TransportError> {
        Err(TransportError {
            kind: TransportErrorKind::Offline,
            detail: "no sync server configured".into(),
        })
    }

    /// The device token to send from now on (the runtime reads it from the store at start and after enrolment).
    fn set_token(&self, _token: Option<&str>) {}

    /// Uploads one photo resumably (`tepat_photo::upload::send_photo`), calling `save` with every offset the
    /// server states. `Ok` only when the server confirmed the whole photo by its hash. Transports without a
    /// server cannot upload.
    fn upload_photo(
        &self,
        _sha256: &str,
        _bytes: &[u8],
        _known: tepat_photo::upload::Known,
        _save: &mut dyn FnMut(u64),
    ) -> Result<(), PhotoUploadError> {
        Err(PhotoUploadError::NoServer)
    }
}

/// Why a photo upload stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoUploadError {
    /// No server to upload to (training): photos wait.
    #[error("no sync server configured")]
    NoServer,
    /// The link broke or the server could not answer: the photo (and the rest) waits for the next pass.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The server will not take this photo as it is (refused again and again, or a limit): it needs a person.
    #[error("the server refused the photo: {0}")]
    Refused(String),
    /// The phone's own store failed.
    #[error("the device store failed: {0}")]
    Local(String),
}

/// For a device with no server configured (training): every sync is "offline", nothing is lost.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoServer;

impl Transport for NoServer {
    fn sync(&self, _request: &SyncRequest) -> Result<SyncResponse, TransportError> {
        Err(TransportError {
            kind: TransportErrorKind::Offline,
            detail: "no sync server configured".into(),
        })
    }
}

#[cfg(any(test, feature = "testing"))]
/// An in-memory stand-in for the server, for tests: receipts by `(visit_id, revision)` and content hash (as
/// the real server decides them), queued changes for the device, and injectable failures.
#[derive(Debug, Default)]
pub struct FakeServer {
    state: Mutex<FakeState>,
}

#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
struct FakeState {
    /// Content hash of each stored `(visit, revision)`.
    stored: BTreeMap<(Uuid, u32), String>,
    /// The documents received, in order.
    received: Vec<VisitDoc>,
    batches: Vec<Uuid>,
    cursor: u64,
    /// Changes to hand out at the next successful round trips (one entry per round).
    changes: VecDeque<Changes>,
    /// Failures for the next round trips, in order.
    failures: VecDeque<TransportError>,
    /// The server stores the batch but the answer is lost (the phone must re-send and get `duplicate`).
    lose_answers: u32,
    rounds: u32,
}

#[cfg(any(test, feature = "testing"))]
impl FakeServer {
    pub fn new() -> FakeServer {
        FakeServer::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues changes (assignments, returns, approvals, forms) for the device's next sync.
    pub fn push_changes(&self, changes: Changes) {
        self.state().changes.push_back(changes);
    }

    pub fn push_assignments(&self, assignments: Vec<Assignment>) {
        self.push_changes(Changes {
            assignments,
            ..Changes::default()
        });
    }

    /// Returns a stored visit for correction (it must have been received).
    pub fn return_visit(&self, visit_id: Uuid, comment: &str) -> bool {
        let Some(visit) = self
            .state()
            .received
            .iter()
            .rev()
            .find(|v| v.visit_id == visit_id)
            .cloned()
        else {
            return false;
        };
        let returned = ReturnedVisit {
            visit,
            comment: comment.to_string(),
            reviewer: "korkab".into(),
            returned_at: Utc::now(),
        };
        self.push_changes(Changes {
            returned: vec![returned],
            ..Changes::default()
        });
        true
    }

    /// Makes the next round trip fail.
    pub fn fail_next(&self, kind: TransportErrorKind, detail: &str) {
        self.state().failures.push_back(TransportError {
            kind,
            detail: detail.to_string(),
        });
    }

    /// Makes the next round trip store the batch but lose the answer (as a connection dropped on the way back).
    pub fn lose_next_answer(&self) {
        self.state().lose_answers += 1;
    }

    /// Every document received, in order (duplicates once).
    pub fn received(&self) -> Vec<VisitDoc> {
        self.state().received.clone()
    }

    pub fn batch_ids(&self) -> Vec<Uuid> {
        self.state().batches.clone()
    }

    pub fn rounds(&self) -> u32 {
        self.state().rounds
    }
}

#[cfg(any(test, feature = "testing"))]
impl Transport for FakeServer {
    fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError> {
        let mut state = self.state();
        state.rounds += 1;
        if let Some(failure) = state.failures.pop_front() {
            return Err(failure);
        }
        if request.protocol != PROTOCOL_VERSION {
            return Err(TransportError {
                kind: TransportErrorKind::Refused,
                detail: "protocol".into(),
            });
        }
        state.batches.push(request.batch_id);
        let mut receipts = Vec::new();
        for doc in &request.visits {
            let hash = doc.content_hash();
            let key = (doc.visit_id, doc.revision);
            let (status, reject_code) = match state.stored.get(&key) {
                Some(stored) if *stored == hash => (ReceiptStatus::Duplicate, None),
                Some(_) => (ReceiptStatus::Rejected, Some(RejectCode::Conflict)),
                None => {
                    state.stored.insert(key, hash);
                    state.received.push(doc.clone());
                    (ReceiptStatus::Accepted, None)
                }
            };
            receipts.push(Receipt {
                visit_id: doc.visit_id,
                revision: doc.revision,
                status,
                reason: reject_code
                    .map(|_| "different content under the same revision".to_string()),
                reject_code,
                error_count: 0,
            });
        }
        if state.lose_answers > 0 {
            state.lose_answers -= 1;
            return Err(TransportError {
                kind: TransportErrorKind::Timeout,
                detail: "answer lost".into(),
            });
        }
        let changes = state.changes.pop_front().unwrap_or_default();
        if !changes.is_empty() {
            state.cursor += 1;
        }
        let more = !state.changes.is_empty();
        Ok(SyncResponse {
            protocol: PROTOCOL_VERSION,
            receipts,
            changes,
            next_cursor: state.cursor,
            more,
            server_time: Utc::now(),
        })
    }
}
