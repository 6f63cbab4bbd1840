//! The effects the App asks for, each an operation with a typed output.
//!
//! The runtime executes Store, Time and Sync in Rust; Location and Camera go to the shell (the phone).

use chrono::{DateTime, FixedOffset};
use crux_core::capability::Operation;
use crux_core::macros::effect;
use crux_core::render::RenderOperation;

use tepat_protocol::{ErrorCode, SyncRequest, SyncResponse};
// The store's operations are the contract between the App and the device store, defined with the records.
pub use tepat_records::{StoreOperation, StoreOutput, StoreReply};

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
    /// The phone itself could not run the sync (no thread could be started, or the answer could not be handed
    /// to the core): nothing was lost, the next sync tries again.
    PhoneError,
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
            TransportErrorKind::PhoneError => "phone_error",
        }
    }

    /// Whether a round trip that failed this way cannot have delivered anything: no connection was made, or
    /// the server's certificate was refused before the request went out.
    pub fn nothing_sent(self) -> bool {
        matches!(
            self,
            TransportErrorKind::Offline | TransportErrorKind::UntrustedCertificate
        )
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
            PhoneError,
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
    /// The server's machine code, when it answered with an error body (`{"error": "code_used", ...}`).
    pub server_code: Option<ErrorCode>,
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
