//! HTTPS served by the server itself: rustls with the ring provider, TLS 1.3 and 1.2 only, HTTP/1.1 by ALPN.
//!
//! The certificate chain and key are PEM files. They are read again on SIGHUP and whenever either file changes
//! (checked every [`POLL_INTERVAL`]), so a renewal (certbot, acme.sh) needs no restart; handshakes already under
//! way keep the certificate they started with. A new pair that cannot be used (unreadable, not PEM, a key that
//! does not match the certificate) is refused with a log line saying why, and the old one keeps serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How often the certificate files are checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The PEM files of `--tls-cert` (the chain, leaf first) and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate (-----BEGIN CERTIFICATE-----) found")]
    NoCertificate { path: PathBuf },
    #[error("{path}: not a readable PEM certificate chain: {reason}")]
    BadCertificate { path: PathBuf, reason: String },
    #[error("{path}: no readable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("the key in {key} cannot serve the certificate in {cert}: {source}")]
    KeyDoesNotFit {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificate handshakes get; swapped whole on reload.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl Resolver {
    fn current(&self) -> Arc<CertifiedKey> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace(&self, key: Arc<CertifiedKey>) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = key;
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// What identifies the files' contents cheaply: modification time and length of each.
type Stamp = Option<[(SystemTime, u64); 2]>;

/// The server's TLS: the configuration handshakes use and the files it reloads from.
#[derive(Debug)]
pub struct Tls {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    resolver: Arc<Resolver>,
    config: Arc<ServerConfig>,
    /// The files as last read (successfully or not), so a bad pair is reported once, not at every poll.
    seen: Mutex<Stamp>,
}

impl Tls {
    /// Reads the certificate and key; any problem is an error (the server does not start).
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let seen = stamp(&files);
        let key = Arc::new(certified_key(&files, &provider)?);
        let resolver = Arc::new(Resolver(RwLock::new(key.clone())));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tracing::info!(
            cert = %files.cert.display(),
            sha256 = %fingerprint(&key),
            "serving HTTPS (TLS 1.2 and 1.3)"
        );
        Ok(Tls {
            files,
            provider,
            resolver,
            config: Arc::new(config),
            seen: Mutex::new(seen),
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }

    /// The SHA-256 of the leaf certificate now served (hex).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.resolver.current())
    }

    /// Reads the files again and serves them from the next handshake on; on error the old pair stays.
    pub fn reload(&self, trigger: &str) -> Result<(), TlsError> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = stamp(&self.files);
        let key = certified_key(&self.files, &self.provider)?;
        let fingerprint = fingerprint(&key);
        self.resolver.replace(Arc::new(key));
        tracing::info!(
            trigger,
            cert = %self.files.cert.display(),
            sha256 = %fingerprint,
            "TLS certificate reloaded"
        );
        Ok(())
    }

    /// Reloads on SIGHUP (when `hangup` listens for it) and when the files change, until `close` turns true.
    pub async fn watch(
        self: Arc<Self>,
        mut hangup: Option<Hangup>,
        mut close: watch::Receiver<bool>,
    ) {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let hangup_received = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let trigger = tokio::select! {
                _ = close.changed() => return,
                _ = hangup_received => "SIGHUP",
                _ = poll.tick() => {
                    let now = stamp(&self.files);
                    if now == *self.seen.lock().unwrap_or_else(|p| p.into_inner()) {
                        continue;
                    }
                    "the files changed"
                }
            };
            if let Err(e) = self.reload(trigger) {
                tracing::error!(
                    trigger,
                    error = %e,
                    sha256 = %self.fingerprint(),
                    "TLS certificate not reloaded; still serving the previous one"
                );
            }
        }
    }
}

/// SIGHUP, listened for before the server announces itself (so a signal sent right after is never lost, nor
/// fatal).
#[cfg(unix)]
pub type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
#[derive(Debug)]
pub struct Hangup;

#[cfg(not(unix))]
impl Hangup {
    pub async fn recv(&mut self) -> Option<()> {
        std::future::pending().await
    }
}

/// Starts listening for SIGHUP (`None` where there is no such signal, or it cannot be listened for).
pub fn hangup() -> Option<Hangup> {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
            .ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The chain and key of `files`, checked to belong together.
fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let pem = read(&files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?).map_err(|e| TlsError::BadKey {
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::KeyDoesNotFit {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    })
}

fn stamp(files: &TlsFiles) -> Stamp {
    let one = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    Some([one(&files.cert)?, one(&files.key)?])
}

fn fingerprint(key: &CertifiedKey) -> String {
    key.cert
        .first()
        .map(|leaf| {
            Sha256::digest(leaf.as_ref())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .unwrap_or_default()
}
