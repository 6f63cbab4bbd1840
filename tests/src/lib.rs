//! End-to-end harness: the real `tepat-server` process on a loopback port, simulated phones running the real
//! `shared` runtime over HTTPS (or plain HTTP, the deployment behind a TLS-terminating proxy), a proxy that makes
//! the link bad, and the supervisor's HTTP side.
//!
//! - [`server`]: start/kill the server binary; the admin CLI;
//! - [`tls`]: the run's throw-away CA and server certificate, which the phones pin;
//! - [`proxy`]: latency, 2G bandwidth, cuts at byte offsets in either direction, "no signal";
//! - [`phone`]: a phone driven through its screens (answers, GPS, photos, finalise, sync);
//! - [`photos`]: a day of photos and the check that each arrived once, byte for byte;
//! - [`supervisor`]: pull, review, progress, exports;
//! - [`field`]: a whole set-up (server, proxy, users, forms, assignments, phones) in one directory;
//! - [`photo_day`]: a 2G field day with photos (the demo's and its test's);
//! - [`assessor_day`]: a TKSK's day, a Satgas report and the asesmen opened from it (the demo's and its test's).

pub mod assessor_day;
pub mod field;
pub mod phone;
pub mod photo_day;
pub mod photos;
pub mod proxy;
pub mod server;
pub mod supervisor;
pub mod tls;

/// What can go wrong in the harness (always with the detail needed to see why).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("set-up: {0}")]
    Setup(String),
    #[error("tepat-server admin {command}: {stderr}")]
    Admin { command: String, stderr: String },
    #[error("phone: {0}")]
    Phone(String),
    #[error("http: {0}")]
    Http(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
