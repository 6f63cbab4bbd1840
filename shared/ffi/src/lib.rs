//! The uniffi facade the Android app uses: one [`FieldCore`] object over the [`Runtime`], typed events in
//! ([`FieldEvent`]), the App's view model out (records and enums, see `view_model`), typed errors
//! ([`FieldError`]), and a callback interface ([`FieldShell`]) for what only the phone can do.
//!
//! Threads: every method may be called from any thread. `dispatch` returns once the store effects of the
//! event are on disk; callers keep it off the UI thread. Shell callbacks run on the thread that caused them
//! (a dispatch, or the background sync thread for `view_changed`) and must return quickly: the shell answers
//! location and photo requests later through [`FieldCore::resolve_location`] / [`FieldCore::resolve_photo`].
//!
//! Crate `tepat-ffi` (library `shared`, i.e. `libshared.so`, uniffi namespace `uniffi.shared`): depends on the runtime
//! and the crates below it, and uniffi; nothing depends on it.

mod event;
mod logcat;
mod view_model;

uniffi::setup_scaffolding!();

#[cfg(test)]
mod tests;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

pub use event::FieldEvent;

use tepat_app::{LocationOutput, NoticeLevel, UiEvent, ViewModel};
use tepat_runtime::{
    Clock, HttpConfig, HttpTransport, NoServer, Parts, PhotoOptions, PhotoResult, Runtime,
    RuntimeError, ShellEffects, SyncPolicy, SyncTimer, SystemClock, Transport,
};
use tepat_store::{DatabaseKey, Durability, StoreError};
use zeroize::Zeroize;

/// A GPS answer for the core (the App's own type).
#[uniffi::remote(Enum)]
pub enum LocationOutput {
    /// A fix with its accuracy (radius in metres, as Android's `Location.getAccuracy`).
    Fix { lat: f64, lon: f64, accuracy_m: f64 },
    /// No fix: permission refused, location off, or no fix in time (in the shell's words).
    Unavailable { reason: String },
}

/// A camera answer for the core; the core hashes the file (SHA-256) itself.
#[uniffi::remote(Enum)]
pub enum PhotoResult {
    Taken { file: String },
    Cancelled,
    Failed { reason: String },
}

/// What the core asks of the phone.
#[uniffi::export(with_foreign)]
pub trait FieldShell: Send + Sync {
    /// The core wants a GPS fix for the answer at `path`: answer later with `resolve_location(request_id, …)`.
    fn request_location(&self, request_id: u64, path: String);
    /// The core wants a photo for the answer at `path`: answer later with `resolve_photo(request_id, …)`.
    fn request_photo(&self, request_id: u64, path: String);
    /// The view changed without a call from the shell (a background sync finished).
    fn view_changed(&self, view: ViewModel);
}

/// Why a call into the core did not do what was asked. Nothing was written when an error comes back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum FieldError {
    /// The device database could not be opened (or is from a newer app).
    #[error("cannot open the database {path}: {detail}")]
    Open { path: String, detail: String },
    /// The device database cannot be read with the key the shell gave (another key, a damaged file), or the key is
    /// not 32 bytes. Nothing was opened, changed or created. Said in both languages (the language setting is in the
    /// database that could not be read): `text_id` Bahasa Indonesia, `text_en` English.
    #[error("{text_en} ({path})")]
    DatabaseKey {
        path: String,
        text_id: String,
        text_en: String,
    },
    /// The server address or its CA certificate is not usable (a configuration problem, not the network).
    #[error("sync server: {detail}")]
    Server { detail: String },
    /// Enrolment did not work; `detail` says why in the person's language.
    #[error("{detail}")]
    Enrol { detail: String },
    /// A bundled form could not be installed.
    #[error("bundled form {index} cannot be installed: {detail}")]
    BadForm { index: u32, detail: String },
    /// Input from the shell that is not what the core accepts (e.g. an assignments file that is not JSON).
    #[error("{detail}")]
    BadInput { detail: String },
    /// An answer to a location/photo request that is not waiting (answered already, or never asked).
    #[error("no pending request {request_id}")]
    UnknownRequest { request_id: u64 },
    /// The device store failed (storage full, damaged file).
    #[error("{detail}")]
    Store { detail: String },
}

impl From<RuntimeError> for FieldError {
    fn from(error: RuntimeError) -> FieldError {
        match error {
            RuntimeError::UnknownRequest(request_id) => FieldError::UnknownRequest { request_id },
            RuntimeError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for FieldError {
    fn from(error: StoreError) -> FieldError {
        FieldError::Store {
            detail: error.to_string(),
        }
    }
}

/// How the app opens the core.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldConfig {
    /// The device database (created on first start), in the app's private storage.
    pub database_path: String,
    /// Form definitions (JSON) that ship with the app: each is installed on start unless it already is.
    pub forms: Vec<String>,
    /// Every commit fsynced, not only state changes (slower; for phones known to lose power often).
    pub full_durability: bool,
    /// The sync server, e.g. `https://tepat.dinsos.example.go.id`; `None`: no server (training), every sync
    /// says so and everything stays on the phone.
    pub server_url: Option<String>,
    /// PEM of the CA that signed the server's certificate, when it is not a public one; the only trusted root.
    pub server_ca_pem: Option<String>,
}

/// How the phone handles photos (the runtime's `PhotoOptions`): prepared for sending when taken (JPEG, long edge
/// 1600 px, about 300 KB, orientation applied, metadata dropped) into `dir`, uploaded by SHA-256 after the text
/// of each sync that went through, and removed `keep_days` after the server confirmed them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoConfig {
    /// The app's private folder for prepared photos (`<sha256>.jpg`); created if missing.
    pub dir: String,
    /// Prepare each photo taken (off: the camera's file is kept as it is, only hashed).
    pub prepare: bool,
    /// Upload the photo outbox after each sync that went through.
    pub upload: bool,
    /// Days a photo stays on the phone after the server confirmed it.
    pub keep_days: u32,
}

/// The phone's core: one per database, shared by the UI and the background sync job.
#[derive(uniffi::Object)]
pub struct FieldCore {
    runtime: Runtime,
    /// Syncs while visits wait (and retries with backoff); only with a server.
    timer: Option<SyncTimer>,
}

#[uniffi::export]
impl FieldCore {
    /// Opens (or creates) the device database, encrypted with `database_key` (32 random bytes the shell keeps,
    /// e.g. wrapped by the Android Keystore; an unencrypted database of an older app version is encrypted on the
    /// way), installs the bundled forms that are missing and shows today's list. The key's bytes are zeroed here
    /// once the database has its own copy; the shell should zero its array after the call too.
    #[uniffi::constructor]
    pub fn new(
        config: FieldConfig,
        database_key: Vec<u8>,
        shell: Arc<dyn FieldShell>,
    ) -> Result<Arc<FieldCore>, FieldError> {
        logcat::install_panic_hook();
        let key = database_key_from(&config.database_path, database_key)?;
        let transport: Arc<dyn Transport> = match &config.server_url {
            Some(url) => {
                let http = HttpConfig {
                    ca_pem: config.server_ca_pem.clone(),
                    ..HttpConfig::new(url.as_str())
                };
                let transport = HttpTransport::new(&http).map_err(|e| FieldError::Server {
                    detail: e.to_string(),
                })?;
                Arc::new(transport)
            }
            None => Arc::new(NoServer),
        };
        FieldCore::open(config, &key, shell, transport, Arc::new(SystemClock)).map(Arc::new)
    }

    /// Enrols this phone with an admin's one-time code (e.g. `K7QM-2HXD-9TPA`): one round trip to the server,
    /// then the phone works as that user. Blocks; call it off the UI thread.
    pub fn enrol(&self, code: String, device_name: String) -> Result<ViewModel, FieldError> {
        self.runtime
            .enrol(&code, &device_name)
            .map_err(|e| FieldError::Enrol {
                detail: e.message(self.runtime.view().lang),
            })
    }

    /// Handles a person's action; returns the new view once what it changed is saved.
    pub fn dispatch(&self, event: FieldEvent) -> Result<ViewModel, FieldError> {
        Ok(self.runtime.dispatch(UiEvent::try_from(event)?))
    }

    /// The current view.
    pub fn view(&self) -> ViewModel {
        self.runtime.view()
    }

    /// The phone's answer to a `request_location`.
    pub fn resolve_location(
        &self,
        request_id: u64,
        result: LocationOutput,
    ) -> Result<ViewModel, FieldError> {
        Ok(self.runtime.resolve_location(request_id, result)?)
    }

    /// The phone's answer to a `request_photo`: the photo's file (the core hashes it), or why there is none.
    pub fn resolve_photo(
        &self,
        request_id: u64,
        result: PhotoResult,
    ) -> Result<ViewModel, FieldError> {
        Ok(self.runtime.resolve_photo(request_id, result)?)
    }

    /// The network came or went: coming online with visits waiting starts a sync in the background.
    pub fn connectivity_changed(&self, online: bool) -> ViewModel {
        if let Some(timer) = &self.timer {
            timer.connectivity(online);
        }
        self.runtime.dispatch(UiEvent::Connectivity { online })
    }

    /// Makes everything saved so far durable against power loss (call when the app goes to the background).
    pub fn flush(&self) -> Result<(), FieldError> {
        Ok(self.runtime.flush()?)
    }

    /// Turns photo handling on (see [`PhotoConfig`]); the app calls it once, right after opening the core, before
    /// any photo is taken. Until then photos are only hashed and never uploaded.
    pub fn set_photos(&self, config: PhotoConfig) {
        let defaults = PhotoOptions::new(config.dir.into());
        self.runtime.set_photos(PhotoOptions {
            prepare: if config.prepare {
                defaults.prepare.clone()
            } else {
                None
            },
            upload: config.upload,
            keep_days: config.keep_days,
            ..defaults
        });
    }

    /// Blocks until no sync round trip is in flight (a background job waits here before it reports done).
    pub fn wait_for_sync(&self) {
        self.runtime.wait_idle();
    }
}

impl FieldCore {
    /// Opens the core on the database encrypted with `key`, with the given transport and clock (the exported
    /// constructor uses the real ones); the sync timer runs when the configuration names a server.
    pub fn open(
        config: FieldConfig,
        key: &DatabaseKey,
        shell: Arc<dyn FieldShell>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Result<FieldCore, FieldError> {
        let parts = Parts {
            transport,
            clock,
            shell: Arc::new(ShellBridge(shell)),
            durability: if config.full_durability {
                Durability::Full
            } else {
                Durability::Balanced
            },
        };
        let path = Path::new(&config.database_path);
        let runtime = Runtime::open_encrypted(path, key, parts).map_err(|e| match e {
            RuntimeError::Store(StoreError::WrongKey) => wrong_key(&config.database_path),
            other => FieldError::Open {
                path: config.database_path.clone(),
                detail: other.to_string(),
            },
        })?;
        let timer = config
            .server_url
            .is_some()
            .then(|| runtime.start_sync_timer(SyncPolicy::default()));
        let core = FieldCore { runtime, timer };
        core.install_bundled(&config.forms)?;
        Ok(core)
    }

    /// Installs the forms that are not installed yet (a form version is immutable, so one that is installed
    /// is the same form).
    fn install_bundled(&self, forms: &[String]) -> Result<(), FieldError> {
        let installed = self.runtime.inspect_store(|s| s.forms())?;
        for (index, json) in forms.iter().enumerate() {
            let bad = |detail: String| FieldError::BadForm {
                index: index as u32,
                detail,
            };
            let head: FormHead = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
            if installed
                .iter()
                .any(|f| f.form_id == head.id && f.version == head.version)
            {
                continue;
            }
            let view = self
                .runtime
                .dispatch(UiEvent::InstallForm { json: json.clone() });
            if let Some(notice) = view.notice.filter(|n| n.level == NoticeLevel::Error) {
                return Err(bad(notice.text));
            }
        }
        Ok(())
    }
}

/// The shell's key bytes as the store's key; the bytes given are zeroed either way.
fn database_key_from(path: &str, mut bytes: Vec<u8>) -> Result<DatabaseKey, FieldError> {
    let key = DatabaseKey::from_slice(&bytes);
    bytes.zeroize();
    key.map_err(|e| FieldError::DatabaseKey {
        path: path.to_string(),
        text_id: format!(
            "Kunci basis data harus {} byte, bukan {}: aplikasi tidak dapat membuka data di ponsel.",
            DatabaseKey::LEN,
            e.len
        ),
        text_en: format!(
            "The database key must be {} bytes, not {}: the app cannot open the data on the phone.",
            DatabaseKey::LEN,
            e.len
        ),
    })
}

/// The database does not open with the key the shell has: never replaced by a fresh one (the visits in it would
/// be lost), so the person is told to get help.
fn wrong_key(path: &str) -> FieldError {
    FieldError::DatabaseKey {
        path: path.to_string(),
        text_id: "Data di ponsel tidak dapat dibuka dengan kunci aplikasi ini (kunci lain atau berkas rusak). \
                  Jangan hapus aplikasi atau datanya; hubungi admin."
            .into(),
        text_en: "The data on this phone cannot be opened with this app's key (another key, or a damaged file). \
                  Do not uninstall the app or clear its data; contact your admin."
            .into(),
    }
}

/// The identity of a form definition, read before the whole form is.
#[derive(serde::Deserialize)]
struct FormHead {
    id: String,
    version: u32,
}

/// The runtime's shell, answered by the foreign [`FieldShell`]. A failing callback (an exception on the Kotlin
/// side) must not take the core down with it: the request simply stays unanswered.
struct ShellBridge(Arc<dyn FieldShell>);

impl ShellEffects for ShellBridge {
    fn request_location(&self, request_id: u64, path: String) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            self.0.request_location(request_id, path)
        }));
    }

    fn request_photo(&self, request_id: u64, path: String) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.0.request_photo(request_id, path)));
    }

    fn view_changed(&self, view: ViewModel) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.0.view_changed(view)));
    }
}
