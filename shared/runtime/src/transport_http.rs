//! The real transport: protocol v1 over HTTP(S) with reqwest (blocking, rustls with the ring provider; no
//! OpenSSL). Bodies are gzipped both ways by hand, so the answer's size can be capped before it is inflated
//! and the bytes on the wire can be counted.
//!
//! # Whom the phone trusts
//!
//! The TLS configuration is built here ([`tls_config`]) and handed to reqwest whole
//! (`tls_backend_preconfigured`), so the trust decision is the same code on every platform and is tested on
//! this machine exactly as a phone runs it:
//!
//! - [`HttpConfig::ca_pem`] set (a district office's own CA): that CA is the only trusted root; a public
//!   certificate is refused.
//! - no CA configured (the server has an ordinary public certificate, e.g. Let's Encrypt behind nginx or
//!   Caddy): Mozilla's root store as bundled in the app (`webpki-roots`), checked by rustls' own verifier.
//!
//! Why not the phone's own trust store: reqwest 0.13 reaches it through `rustls-platform-verifier`, which on
//! Android must first be initialised through JNI with the application's context, or it panics at the first
//! handshake. Bundled roots need no initialisation, behave the same on Android, Linux and in the tests, and a
//! user-installed CA on the phone (the way TLS-inspecting middleboxes get in) is not trusted. The cost: roots
//! are as fresh as the app build (Mozilla's list changes a few times a year; ISRG Root X1, Let's Encrypt's, is
//! valid until 2035). reqwest 0.13 still compiles `rustls-platform-verifier` (both of its rustls features
//! require it), but reqwest calls it only when it builds the TLS configuration itself, which it never does
//! here: with a preconfigured configuration that branch is not taken.
//!
//! A certificate that is not trusted, expired, or for another host fails the handshake before anything is
//! sent (the token never leaves the phone) and is [`TransportErrorKind::UntrustedCertificate`], found by
//! walking the error's sources down to rustls' own error, never by reading its text.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::transport::Transport;
use tepat_app::{TransportError, TransportErrorKind};
use tepat_protocol::{ApiError, EnrolRequest, EnrolResponse, SyncRequest, SyncResponse};

/// Largest answer the phone inflates (the server pages its changes well below this).
pub const MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Where the server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// e.g. `https://tepat.dinsos.example.go.id` or `http://127.0.0.1:8080` (no trailing path).
    pub base_url: String,
    /// PEM certificate(s) of the CA that signed the server's certificate; when given, the only trusted roots.
    /// `None`: the roots bundled with the app (Mozilla's, `webpki-roots`), never the phone's own store.
    pub ca_pem: Option<String>,
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time for a whole round trip (a 2G link moves ~30 kB/s; batches are bounded to stay well inside this).
    pub request_timeout: Duration,
}

impl HttpConfig {
    pub fn new(base_url: impl Into<String>) -> HttpConfig {
        HttpConfig {
            base_url: base_url.into(),
            ca_pem: None,
            connect_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Why the transport could not be set up (bad configuration, not a network problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSetupError {
    #[error("server address {0:?} must start with http:// or https://")]
    BadUrl(String),
    #[error("the server CA certificate is not readable PEM: {0}")]
    BadCertificate(String),
    #[error("the server CA file holds no certificate")]
    NoCertificate,
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// What went over the wire so far (bodies as sent, gzipped), for the sync status and the demo's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WireStats {
    pub round_trips: u64,
    pub failed_round_trips: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

/// `POST /api/v1/sync` and `POST /api/v1/enrol` over HTTP(S).
pub struct HttpTransport {
    client: Client,
    base_url: String,
    token: RwLock<Option<String>>,
    round_trips: AtomicU64,
    failed: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("HttpTransport")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    pub fn new(config: &HttpConfig) -> Result<HttpTransport, HttpSetupError> {
        let base_url = config.base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(HttpSetupError::BadUrl(config.base_url.clone()));
        }
        // Always preconfigured, even for an http:// address: reqwest then never builds a TLS configuration of
        // its own (which would reach for the platform verifier).
        let client = Client::builder()
            .tls_backend_preconfigured(tls_config(config.ca_pem.as_deref())?)
            .user_agent(concat!("tepat-phone/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .no_proxy()
            .http1_only()
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| HttpSetupError::Client(e.to_string()))?;
        Ok(HttpTransport {
            client,
            base_url,
            token: RwLock::new(None),
            round_trips: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> WireStats {
        WireStats {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            failed_round_trips: self.failed.load(Ordering::Relaxed),
            bytes_up: self.bytes_up.load(Ordering::Relaxed),
            bytes_down: self.bytes_down.load(Ordering::Relaxed),
        }
    }

    fn post<Q: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        body: &Q,
        authorised: bool,
    ) -> Result<A, TransportError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let result = self.post_once(path, body, authorised);
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn post_once<Q: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        body: &Q,
        authorised: bool,
    ) -> Result<A, TransportError> {
        let json = serde_json::to_vec(body).map_err(|e| fail(TransportErrorKind::Refused, e))?;
        let gzipped = gzip(&json).map_err(|e| fail(TransportErrorKind::Refused, e))?;
        let mut request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .header(ACCEPT_ENCODING, "gzip");
        if authorised {
            let token = self
                .token
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let Some(token) = token else {
                return Err(fail(
                    TransportErrorKind::Unauthorized,
                    "this device has no token: enrol it first",
                ));
            };
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        self.bytes_up
            .fetch_add(gzipped.len() as u64, Ordering::Relaxed);
        let response = request.body(gzipped).send().map_err(classify)?;
        let status = response.status();
        let gzipped_answer = is_gzip(&response);
        let bytes = read_capped(response)?;
        self.bytes_down
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let bytes = if gzipped_answer {
            gunzip(&bytes)?
        } else {
            bytes
        };
        if !status.is_success() {
            return Err(status_error(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            fail(
                TransportErrorKind::BadResponse,
                format!("{path}: the answer is not the protocol's JSON: {e}"),
            )
        })
    }
}

impl Transport for HttpTransport {
    fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError> {
        self.post("/api/v1/sync", request, true)
    }

    fn enrol(&self, request: &EnrolRequest) -> Result<EnrolResponse, TransportError> {
        self.post("/api/v1/enrol", request, false)
    }

    fn set_token(&self, token: Option<&str>) {
        *self.token.write().unwrap_or_else(PoisonError::into_inner) = token.map(str::to_string);
    }

    fn upload_photo(
        &self,
        sha256: &str,
        bytes: &[u8],
        known: tepat_photo::upload::Known,
        save: &mut dyn FnMut(u64),
    ) -> Result<(), super::transport::PhotoUploadError> {
        use super::transport::PhotoUploadError;
        use tepat_photo::upload::UploadError;
        let token = self
            .token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                PhotoUploadError::Interrupted("this device has no token: enrol it first".into())
            })?;
        let tus = tepat_photo::http::HttpTus {
            client: &self.client,
            base_url: &self.base_url,
            token: &token,
        };
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let result = tepat_photo::upload::send_photo(&tus, sha256, bytes, known, save);
        match result {
            Ok(_) => {
                self.bytes_up
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                Err(match e {
                    UploadError::Transport(e) => PhotoUploadError::Interrupted(e.to_string()),
                    // A 5xx or a busy server: try again later, like a cut.
                    UploadError::Failed { status, .. } if status >= 500 => {
                        PhotoUploadError::Interrupted(e.to_string())
                    }
                    other => PhotoUploadError::Refused(other.to_string()),
                })
            }
        }
    }
}

/// Plaintext bytes per TLS record the phone sends (see [`tls_config`]).
pub const MAX_TLS_RECORD: usize = 4096;

/// The phone's TLS client configuration: TLS 1.2 or 1.3 with the ring provider, trusting only `ca_pem` when
/// given, else the roots bundled with the app (see the module's docs for why not the platform's store).
pub fn tls_config(ca_pem: Option<&str>) -> Result<rustls::ClientConfig, HttpSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| HttpSetupError::BadCertificate(e.to_string()))?;
            if certs.is_empty() {
                return Err(HttpSetupError::NoCertificate);
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| HttpSetupError::BadCertificate(e.to_string()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| HttpSetupError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // A record cut in the middle cannot be decrypted, so the server keeps nothing of it: with the default 16 KB
    // records a 2G drop during a photo upload wastes ~8 KB on average, with 4 KB records ~2 KB, for 22 bytes
    // of framing per record (0.5 %).
    config.max_fragment_size = Some(MAX_TLS_RECORD);
    Ok(config)
}

fn fail(kind: TransportErrorKind, detail: impl ToString) -> TransportError {
    TransportError {
        kind,
        detail: detail.to_string(),
        server_code: None,
    }
}

/// A request that did not get a complete answer: no connection at all, one that broke or stalled, or a
/// server whose certificate the phone does not trust.
fn classify(error: reqwest::Error) -> TransportError {
    let kind = if certificate_refused(&error) {
        TransportErrorKind::UntrustedCertificate
    } else if error.is_connect() {
        TransportErrorKind::Offline
    } else {
        TransportErrorKind::Timeout
    };
    // `{:#}`-style chains name the cause (e.g. "connection reset by peer", "certificate expired").
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    fail(kind, detail)
}

/// Whether rustls refused the server's certificate (unknown issuer, expired, another host's name, none
/// presented), somewhere in the error's sources. An `io::Error` hides the error it wraps from `source()`
/// (it reports that error's own source), so each one is opened with `get_ref`.
fn certificate_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && certificate_refused(inner)
        {
            return true;
        }
        current = cause.source();
    }
    false
}

fn status_error(status: StatusCode, body: &[u8]) -> TransportError {
    let api = serde_json::from_slice::<ApiError>(body).ok();
    let detail = match &api {
        Some(api) => format!("{} {}: {}", status.as_u16(), api.error, api.message),
        None => format!(
            "{} {}",
            status.as_u16(),
            String::from_utf8_lossy(body.get(..200).unwrap_or(body))
        ),
    };
    let kind = match status {
        StatusCode::UNAUTHORIZED => TransportErrorKind::Unauthorized,
        StatusCode::PAYLOAD_TOO_LARGE => TransportErrorKind::TooLarge,
        // Proxies and load balancers answer these while the server restarts.
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => TransportErrorKind::Timeout,
        s if s.is_server_error() => TransportErrorKind::Server,
        _ => TransportErrorKind::Refused,
    };
    TransportError {
        kind,
        detail,
        server_code: api.map(|api| api.code()),
    }
}

fn is_gzip(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

/// The body, refusing more than [`MAX_RESPONSE_BYTES`]; a body cut short is a dropped connection.
fn read_capped(response: Response) -> Result<Vec<u8>, TransportError> {
    let mut bytes = Vec::new();
    response
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            fail(
                TransportErrorKind::Timeout,
                format!("reading the answer: {e}"),
            )
        })?;
    if bytes.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(fail(
            TransportErrorKind::BadResponse,
            format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Inflates an answer, capped; a stream that ends early is a connection cut mid-answer.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                TransportErrorKind::Timeout
            } else {
                TransportErrorKind::BadResponse
            };
            fail(kind, format!("the gzipped answer cannot be read: {e}"))
        })?;
    if out.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(fail(
            TransportErrorKind::BadResponse,
            format!("the answer inflates past {MAX_RESPONSE_BYTES} bytes"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
