//! Runs the App: the device store, the clock and sync in Rust; GPS and camera through the shell.
//!
//! [`Runtime::dispatch`] may be called from any thread. Store effects run inside it, so when it returns, what
//! the person did is on disk. A sync round trip runs on a background thread; when its answer has been applied
//! the shell hears of the new view through [`ShellEffects::view_changed`]. GPS and camera requests go to the
//! shell with an id; the shell answers later with [`Runtime::resolve_location`] / [`Runtime::resolve_photo`].
//!
//! Crate `tepat-runtime`: depends on the App, the store, the records, the protocol, the form engine, reqwest and rustls.
//! Its test doubles (`FakeServer`, `script`) exist only with the feature `testing`, which the phone library never
//! turns on.

mod clock;
mod photos;
#[cfg(any(test, feature = "testing"))]
pub mod script;
mod sync;
mod transport;
mod transport_http;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crux_core::{Core, Request};
use sha2::{Digest, Sha256};

pub use clock::{Clock, FixedClock, SystemClock};
pub use photos::{PhotoOptions, PhotoUploadReport};
pub use sync::{EnrolError, SyncPolicy, SyncTimer};
pub use tepat_store::execute as execute_store;
#[cfg(any(test, feature = "testing"))]
pub use transport::FakeServer;
pub use transport::{NoServer, PhotoUploadError, Transport};
pub use transport_http::{
    HttpConfig, HttpSetupError, HttpTransport, MAX_RESPONSE_BYTES, WireStats, tls_config,
};

use tepat_app::{
    App, CameraOperation, CameraOutput, Effect, Event, LocationOperation, LocationOutput,
    SyncOperation, SyncOutput, TransportError, TransportErrorKind, UiEvent, ViewModel,
};
use tepat_store::{DatabaseKey, Durability, Store, StoreError};

/// What the phone (the shell) does for the core.
pub trait ShellEffects: Send + Sync {
    /// The core wants a GPS fix for the answer at `path`; answer with [`Runtime::resolve_location`].
    fn request_location(&self, request_id: u64, path: String);
    /// The core wants a photo for the answer at `path`; answer with [`Runtime::resolve_photo`].
    fn request_photo(&self, request_id: u64, path: String);
    /// The view changed without a dispatch (a sync finished in the background).
    fn view_changed(&self, view: ViewModel);
}

/// The shell's answer to a photo request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoResult {
    /// The photo is in this file; the core hashes it.
    Taken {
        file: String,
    },
    Cancelled,
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An answer for a GPS/camera request that is not waiting (answered already, or never asked).
    #[error("no pending request {0}")]
    UnknownRequest(u64),
}

/// The core, its store and the requests waiting for the shell.
struct State {
    core: Core<App>,
    store: Store,
    locations: HashMap<u64, Request<LocationOperation>>,
    photos: HashMap<u64, Request<CameraOperation>>,
}

/// Work for outside the lock: shell callbacks and background round trips.
enum Outside {
    Location(u64, String),
    Photo(u64, String),
    Sync(Request<SyncOperation>),
    Rendered,
}

struct Inner {
    state: Mutex<State>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    shell: Arc<dyn ShellEffects>,
    next_request: AtomicU64,
    /// Background round trips in flight.
    busy: Mutex<usize>,
    idle: Condvar,
    /// Photo preparation and uploads (off until [`Runtime::set_photos`]).
    photo_options: Mutex<Option<PhotoOptions>>,
    /// A photo upload pass is running.
    uploading: AtomicBool,
}

/// The running core of one device. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// What the runtime needs besides the database.
pub struct Parts {
    pub transport: Arc<dyn Transport>,
    pub clock: Arc<dyn Clock>,
    pub shell: Arc<dyn ShellEffects>,
    pub durability: Durability,
}

impl Runtime {
    /// Opens the unencrypted device database at `path` (created on first start) and starts the App (tools and
    /// tests; the phone uses [`Runtime::open_encrypted`]).
    pub fn open(path: &Path, parts: Parts) -> Result<Runtime, RuntimeError> {
        let store = Store::open(path, parts.durability)?;
        Ok(Runtime::start(store, parts))
    }

    /// Opens the device database at `path` encrypted with `key` (created on first start; an unencrypted one is
    /// encrypted first, see [`Store::open_encrypted`]) and starts the App.
    pub fn open_encrypted(
        path: &Path,
        key: &DatabaseKey,
        parts: Parts,
    ) -> Result<Runtime, RuntimeError> {
        let store = Store::open_encrypted(path, key, parts.durability)?;
        Ok(Runtime::start(store, parts))
    }

    /// Starts the App on an already open store.
    pub fn start(store: Store, parts: Parts) -> Runtime {
        let state = State {
            core: Core::new(),
            store,
            locations: HashMap::new(),
            photos: HashMap::new(),
        };
        let runtime = Runtime {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                transport: parts.transport,
                clock: parts.clock,
                shell: parts.shell,
                next_request: AtomicU64::new(1),
                busy: Mutex::new(0),
                idle: Condvar::new(),
                photo_options: Mutex::new(None),
                uploading: AtomicBool::new(false),
            }),
        };
        runtime.load_token();
        runtime.dispatch(UiEvent::Start);
        runtime
    }

    /// Handles a person's action; returns the view once every store effect it caused is done (durable).
    pub fn dispatch(&self, event: UiEvent) -> ViewModel {
        let (view, outside) = {
            let mut state = self.inner.lock();
            let effects = state.core.process_event(Event::Ui(event));
            let outside = self.inner.run(&mut state, effects);
            (state.core.view(), outside)
        };
        self.inner.clone().handle_outside(outside, false);
        view
    }

    /// A sync that could not run (e.g. the timer thread did not start): recorded as the last sync failure, the
    /// shell hears of the new view.
    pub(crate) fn sync_could_not_run(&self, detail: String) {
        let error = TransportError {
            kind: TransportErrorKind::PhoneError,
            detail,
            server_code: None,
        };
        let (view, outside) = {
            let mut state = self.inner.lock();
            let effects = state.core.process_event(Event::SyncCouldNotRun { error });
            let outside = self.inner.run(&mut state, effects);
            (state.core.view(), outside)
        };
        self.inner.clone().handle_outside(outside, false);
        self.inner.shell.view_changed(view);
    }

    /// The current view.
    pub fn view(&self) -> ViewModel {
        self.inner.lock().core.view()
    }

    /// The shell's answer to a location request.
    pub fn resolve_location(
        &self,
        request_id: u64,
        output: LocationOutput,
    ) -> Result<ViewModel, RuntimeError> {
        let (view, outside) = {
            let mut state = self.inner.lock();
            let mut request = state
                .locations
                .remove(&request_id)
                .ok_or(RuntimeError::UnknownRequest(request_id))?;
            let resolved = state.core.resolve(&mut request, output);
            let effects = Inner::resolved(&mut state, "location", resolved);
            let outside = self.inner.run(&mut state, effects);
            (state.core.view(), outside)
        };
        self.inner.clone().handle_outside(outside, false);
        Ok(view)
    }

    /// The shell's answer to a photo request. With photo preparation on ([`Runtime::set_photos`]) the camera's
    /// file is made ready to send (`tepat-photo`) into the photo directory and the answer refers to that file;
    /// either way the file is hashed (SHA-256) here, so the reference is the core's.
    pub fn resolve_photo(
        &self,
        request_id: u64,
        result: PhotoResult,
    ) -> Result<ViewModel, RuntimeError> {
        if !self.inner.lock().photos.contains_key(&request_id) {
            return Err(RuntimeError::UnknownRequest(request_id));
        }
        let output = match result {
            PhotoResult::Taken { file } => match self.inner.photo_options() {
                Some(PhotoOptions {
                    dir,
                    prepare: Some(settings),
                    ..
                }) => match tepat_photo::prepare_file(Path::new(&file), &dir, &settings) {
                    Ok((prepared, photo)) => CameraOutput::Photo {
                        file: prepared.to_string_lossy().into_owned(),
                        sha256: photo.sha256,
                    },
                    Err(e) => CameraOutput::Failed {
                        reason: format!("{file}: {e}"),
                    },
                },
                _ => match sha256_of(Path::new(&file)) {
                    Ok(sha256) => CameraOutput::Photo { file, sha256 },
                    Err(e) => CameraOutput::Failed {
                        reason: format!("{file}: {e}"),
                    },
                },
            },
            PhotoResult::Cancelled => CameraOutput::Cancelled,
            PhotoResult::Failed { reason } => CameraOutput::Failed { reason },
        };
        let (view, outside) = {
            let mut state = self.inner.lock();
            let mut request = state
                .photos
                .remove(&request_id)
                .ok_or(RuntimeError::UnknownRequest(request_id))?;
            let resolved = state.core.resolve(&mut request, output);
            let effects = Inner::resolved(&mut state, "photo", resolved);
            let outside = self.inner.run(&mut state, effects);
            (state.core.view(), outside)
        };
        self.inner.clone().handle_outside(outside, false);
        Ok(view)
    }

    /// Makes everything saved so far durable against power loss (call when the app goes to the background).
    pub fn flush(&self) -> Result<(), RuntimeError> {
        Ok(self.inner.lock().store.flush()?)
    }

    /// Waits until no sync round trip is in flight (tests, the terminal shell).
    pub fn wait_idle(&self) {
        let mut busy = self
            .inner
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *busy > 0 {
            busy = self
                .inner
                .idle
                .wait(busy)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Runs `f` with the store (tests and tools: integrity checks, inspection).
    pub fn inspect_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.inner.lock().store)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The effects that follow an output handed to the core; when the core refuses it (a bug: the request was
    /// answered already), the failure is logged and said to the person instead of dropped.
    fn resolved<E: std::fmt::Display>(
        state: &mut State,
        what: &str,
        resolved: Result<Vec<Effect>, E>,
    ) -> Vec<Effect> {
        resolved.unwrap_or_else(|e| {
            log::error!("the {what} output could not be handed to the App: {e}");
            state.core.process_event(Event::RuntimeFailed {
                detail: format!("{what}: {e}"),
            })
        })
    }

    /// Performs effects until only shell work and background work are left (returned for after the lock).
    fn run(&self, state: &mut State, effects: Vec<Effect>) -> Vec<Outside> {
        let mut queue: VecDeque<Effect> = effects.into();
        let mut outside = Vec::new();
        while let Some(effect) = queue.pop_front() {
            let more = match effect {
                Effect::Render(_) => {
                    outside.push(Outside::Rendered);
                    Vec::new()
                }
                Effect::Time(mut request) => {
                    // The monotonic reading goes to the store with the time it was read with: the audit events
                    // of this moment carry both (tepat_store's chain).
                    let (now, mono) = self.clock.reading();
                    if let Err(e) = state
                        .store
                        .note_clock(now.with_timezone(&chrono::Utc), mono.as_ref())
                    {
                        log::warn!("the monotonic reading could not be noted: {e}");
                    }
                    let resolved = state.core.resolve(&mut request, now);
                    Inner::resolved(state, "time", resolved)
                }
                Effect::Store(mut request) => {
                    let output = tepat_store::execute(&mut state.store, request.operation.clone());
                    let resolved = state.core.resolve(&mut request, output);
                    Inner::resolved(state, "store", resolved)
                }
                Effect::Sync(request) => {
                    outside.push(Outside::Sync(request));
                    Vec::new()
                }
                Effect::Location(request) => {
                    let id = self.next_request.fetch_add(1, Ordering::Relaxed);
                    outside.push(Outside::Location(id, request.operation.path.clone()));
                    state.locations.insert(id, request);
                    Vec::new()
                }
                Effect::Camera(request) => {
                    let id = self.next_request.fetch_add(1, Ordering::Relaxed);
                    outside.push(Outside::Photo(id, request.operation.path.clone()));
                    state.photos.insert(id, request);
                    Vec::new()
                }
            };
            queue.extend(more);
        }
        outside
    }

    /// Shell callbacks and background round trips, outside the lock (the shell may call back at once).
    /// `background`: we are on a sync thread, so renders go to the shell as `view_changed`.
    fn handle_outside(self: Arc<Self>, outside: Vec<Outside>, background: bool) {
        let mut rendered = false;
        for work in outside {
            match work {
                Outside::Location(id, path) => self.shell.request_location(id, path),
                Outside::Photo(id, path) => self.shell.request_photo(id, path),
                Outside::Rendered => rendered = true,
                Outside::Sync(request) => {
                    *self.busy.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                    // The request waits in a slot the thread takes it from, so that a thread that cannot start
                    // leaves it here to be answered with the failure.
                    let slot = Arc::new(Mutex::new(Some(request)));
                    let inner = self.clone();
                    let thread_slot = slot.clone();
                    let started =
                        std::thread::Builder::new()
                            .name("tepat-sync".into())
                            .spawn(move || {
                                let request = thread_slot
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .take();
                                if let Some(request) = request {
                                    inner.round_trip(request);
                                }
                            });
                    if let Err(e) = started {
                        let request = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                        if let Some(request) = request {
                            log::error!("the sync thread could not start: {e}");
                            let failure = Err(TransportError {
                                kind: TransportErrorKind::PhoneError,
                                detail: format!("the sync thread could not start: {e}"),
                                server_code: None,
                            });
                            self.clone().answer_round_trip(request, failure);
                        }
                    }
                }
            }
        }
        if rendered && background {
            let view = self.lock().core.view();
            self.shell.view_changed(view);
        }
    }

    /// One sync round trip on a background thread, then its answer into the core.
    ///
    /// Whatever happens on this thread, the round trip stops counting as in flight when it ends ([InFlight]
    /// lowers the count on unwinding too), so `wait_idle` never hangs; a transport that panics is a failed round
    /// trip for the core, so it does not stay "syncing".
    fn round_trip(self: Arc<Self>, request: Request<SyncOperation>) {
        let output = catch_unwind(AssertUnwindSafe(|| {
            self.transport.sync(&request.operation.0)
        }))
        .unwrap_or_else(|panic| {
            Err(TransportError {
                kind: TransportErrorKind::BadResponse,
                detail: format!("the sync client failed: {}", panic_message(&panic)),
                server_code: None,
            })
        });
        self.answer_round_trip(request, output);
    }

    /// A round trip's answer (or why there was none) into the core; the shell hears of the new view. The round
    /// trip counted in `busy` ends here, on return or unwinding.
    fn answer_round_trip(self: Arc<Self>, mut request: Request<SyncOperation>, output: SyncOutput) {
        let counted = self.clone();
        let _in_flight = InFlight(&counted);
        let went_through = output.is_ok();
        let outside = {
            let mut state = self.lock();
            let effects = match state.core.resolve(&mut request, output) {
                Ok(effects) => effects,
                Err(e) => {
                    // The App would wait for this answer for ever ("syncing"): tell it the sync failed.
                    log::error!("the sync answer could not be handed to the App: {e}");
                    let error = TransportError {
                        kind: TransportErrorKind::PhoneError,
                        detail: format!("the sync answer could not be handed to the App: {e}"),
                        server_code: None,
                    };
                    state.core.process_event(Event::SyncCouldNotRun { error })
                }
            };
            self.run(&mut state, effects)
        };
        let last_round = !outside.iter().any(|o| matches!(o, Outside::Sync(_)));
        self.clone().handle_outside(outside, true);
        // Text first: the photos of the visits just taken follow once the last round is through, on this thread
        // (so `wait_idle` waits for them too), then the sync status is read again.
        if went_through && last_round && self.photo_options().is_some_and(|o| o.upload) {
            self.upload_photos();
            let outside = {
                let mut state = self.lock();
                let effects = state.core.process_event(Event::PhotosChanged);
                self.run(&mut state, effects)
            };
            self.clone().handle_outside(outside, true);
        }
    }
}

/// One sync round trip counted in `busy` until it is dropped, on return or while a panic unwinds.
struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(PoisonError::into_inner);
        *busy = busy.saturating_sub(1);
        self.0.idle.notify_all();
    }
}

/// The text a panic was raised with (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// SHA-256 (hex) of a file's bytes.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(tepat_protocol::hex(&hasher.finalize()))
}
