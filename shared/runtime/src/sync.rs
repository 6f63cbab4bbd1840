//! The sync client's side of the runtime: enrolment (code → token, kept in the store), the device token handed
//! to the transport, and the timer that syncs periodically while there is work and retries failures with
//! exponential backoff and jitter.
//!
//! A sync itself is the App's (batch from the outbox, one round trip, the answer applied in one store
//! transaction, again while the server has more); here it is only started. The App starts one too when the
//! person asks and when the shell reports connectivity.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::Runtime;
use tepat_app::{TransportError, TransportErrorKind, UiEvent, ViewModel};
use tepat_form::Lang;
use tepat_protocol::{EnrolRequest, ErrorCode};
use tepat_store::{Identity, StoreError};

/// Why enrolment failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error("enrolment code: {0}")]
    Transport(TransportError),
    #[error("saving the enrolment: {0}")]
    Store(StoreError),
}

impl EnrolError {
    /// What to tell the person, Bahasa Indonesia or English.
    pub fn message(&self, lang: Lang) -> String {
        let say = |id: &str, en: &str| match lang {
            Lang::Id => id.to_string(),
            Lang::En => en.to_string(),
        };
        let EnrolError::Transport(error) = self else {
            return say(
                "Pendaftaran tidak dapat disimpan di ponsel; coba lagi.",
                "The enrolment could not be saved on the phone; try again.",
            );
        };
        match (error.kind, &error.server_code) {
            (_, Some(ErrorCode::CodeUsed)) => say(
                "Kode pendaftaran ini sudah dipakai. Minta kode baru ke admin.",
                "This enrolment code has been used already. Ask your admin for a new one.",
            ),
            (_, Some(ErrorCode::CodeExpired)) => say(
                "Kode pendaftaran ini sudah kedaluwarsa. Minta kode baru ke admin.",
                "This enrolment code has expired. Ask your admin for a new one.",
            ),
            (TransportErrorKind::Unauthorized, _) | (_, Some(ErrorCode::InvalidField)) => say(
                "Kode pendaftaran tidak dikenal. Periksa kode dari admin (contoh: K7QM-2HXD-9TPA).",
                "The enrolment code is not known. Check the code from your admin (e.g. K7QM-2HXD-9TPA).",
            ),
            (kind, _) => tepat_app::transport_error_text(lang, kind),
        }
    }
}

impl Runtime {
    /// Enrols this device with an admin's one-time code: the token and the user are stored in one transaction,
    /// the transport uses the token from now on, and the view shows the user. Blocks for one round trip.
    pub fn enrol(&self, code: &str, device_name: &str) -> Result<ViewModel, EnrolError> {
        let request = EnrolRequest {
            code: code.trim().to_string(),
            device_name: device_name.to_string(),
        };
        let response = self
            .inner
            .transport
            .enrol(&request)
            .map_err(EnrolError::Transport)?;
        let identity = Identity {
            device_id: response.device_id,
            user_id: response.user.user_id,
            name: response.user.name,
            role: response.user.role,
            regions: response.user.regions,
        };
        self.inspect_store(|store| store.save_enrolment(&identity, &response.token, Utc::now()))
            .map_err(EnrolError::Store)?;
        self.inner.transport.set_token(Some(&response.token));
        // Start reads settings again: the App learns the user like after a restart.
        Ok(self.dispatch(UiEvent::Start))
    }

    /// Hands the stored device token (if any) to the transport; done when the runtime starts.
    pub(super) fn load_token(&self) {
        let token = self.inspect_store(|store| store.device_token());
        if let Ok(Some(token)) = token {
            self.inner.transport.set_token(Some(&token));
        }
    }

    /// Starts the background timer that syncs while there is work (see [`SyncPolicy`]); it stops when the
    /// returned handle is dropped.
    pub fn start_sync_timer(&self, policy: SyncPolicy) -> SyncTimer {
        let control = Arc::new(Control {
            state: Mutex::new(TimerState {
                stop: false,
                online: true,
                wake: false,
            }),
            changed: Condvar::new(),
        });
        let runtime = self.clone();
        let thread_control = control.clone();
        let thread = std::thread::Builder::new()
            .name("tepat-sync-timer".into())
            .spawn(move || run_timer(&runtime, &thread_control, policy));
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(e) => {
                // No automatic sync on this phone until the next start: say so in the sync status.
                log::error!("the sync timer thread could not start: {e}");
                self.sync_could_not_run(format!("the sync timer could not start: {e}"));
                None
            }
        };
        SyncTimer { control, thread }
    }
}

/// When the timer syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    /// Between syncs while visits wait in the outbox and the last sync went well.
    pub period: Duration,
    /// The first retry after a failure; each further failure doubles it, up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            period: Duration::from_secs(15 * 60),
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(30 * 60),
        }
    }
}

impl SyncPolicy {
    /// The wait before retry number `failures` (1 = after the first failure): exponential, capped, with "equal
    /// jitter" (a uniform draw in the upper half), so phones that lost the network together do not all come
    /// back in the same second.
    pub fn retry_delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let ceiling = self
            .first_retry
            .saturating_mul(1u32 << doublings)
            .min(self.max_retry)
            .max(Duration::from_millis(2));
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rng.random_range(0..=spread))
    }
}

/// The running timer. Dropping it stops the timer (a sync in flight finishes on its own).
pub struct SyncTimer {
    control: Arc<Control>,
    thread: Option<JoinHandle<()>>,
}

struct Control {
    state: Mutex<TimerState>,
    changed: Condvar,
}

struct TimerState {
    stop: bool,
    /// The shell's last word on the network; no attempts while offline.
    online: bool,
    /// Try now (connectivity came back).
    wake: bool,
}

impl SyncTimer {
    /// The shell's news about the network. Coming back online retries at once (and forgets the backoff).
    pub fn connectivity(&self, online: bool) {
        let mut state = self
            .control
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.online = online;
        state.wake |= online;
        self.control.changed.notify_all();
    }
}

impl Drop for SyncTimer {
    fn drop(&mut self) {
        self.control
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.control.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_timer(runtime: &Runtime, control: &Control, policy: SyncPolicy) {
    let mut rng = rand::rng();
    let mut failures = 0u32;
    loop {
        let wait = if failures == 0 {
            policy.period
        } else {
            policy.retry_delay(failures, &mut rng)
        };
        {
            let state = control.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut state, _) = control
                .changed
                .wait_timeout_while(state, wait, |s| !s.stop && !s.wake)
                .unwrap_or_else(PoisonError::into_inner);
            if state.stop {
                return;
            }
            if state.wake {
                state.wake = false;
                failures = 0;
            }
            if !state.online {
                continue;
            }
        }
        let Ok(status) = runtime.inspect_store(|s| s.sync_status()) else {
            continue;
        };
        if status.outbox <= status.held && failures == 0 {
            continue;
        }
        // Quietly, like a phone that found signal: no message unless something happened.
        runtime.dispatch(UiEvent::Connectivity { online: true });
        runtime.wait_idle();
        let failed = runtime
            .inspect_store(|s| s.sync_status())
            .map(|s| match (s.last_attempt_at, s.last_success_at) {
                (Some(attempt), Some(success)) => s.last_error_code.is_some() && attempt > success,
                (Some(_), None) => true,
                _ => false,
            })
            .unwrap_or(true);
        failures = if failed {
            failures.saturating_add(1)
        } else {
            0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{RecordingShell, finalise_one, in_memory, parts, set_up};
    use crate::{FakeServer, Transport};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use tepat_protocol::{EnrolResponse, Role, SyncRequest, SyncResponse, UserInfo};

    /// Waits (bounded) until `done`; the timer runs on its own thread.
    fn eventually(mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..2000 {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    fn quick() -> SyncPolicy {
        SyncPolicy {
            period: Duration::from_millis(10),
            first_retry: Duration::from_millis(4),
            max_retry: Duration::from_millis(40),
        }
    }

    #[test]
    fn the_timer_retries_failures_until_the_outbox_is_empty_then_rests() {
        let server = Arc::new(FakeServer::new());
        let shell = Arc::new(RecordingShell::default());
        let runtime = in_memory(shell, server.clone());
        set_up(&runtime);
        finalise_one(&runtime, "A-1");
        for _ in 0..3 {
            server.fail_next(TransportErrorKind::Timeout, "dropped");
        }
        let timer = runtime.start_sync_timer(quick());
        assert!(
            eventually(|| runtime.view().sync.outbox == 0),
            "never synced"
        );
        runtime.wait_idle();
        assert_eq!(
            server.rounds(),
            4,
            "three failures, then the sync that worked"
        );
        assert_eq!(server.received().len(), 1);
        // Nothing waits any more, so the timer leaves the server alone.
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(server.rounds(), 4);
        drop(timer);
    }

    #[test]
    fn offline_pauses_the_timer_and_coming_back_online_syncs_at_once() {
        let server = Arc::new(FakeServer::new());
        let shell = Arc::new(RecordingShell::default());
        let runtime = in_memory(shell, server.clone());
        set_up(&runtime);
        let timer = runtime.start_sync_timer(SyncPolicy {
            period: Duration::from_secs(3600),
            ..quick()
        });
        timer.connectivity(false);
        finalise_one(&runtime, "A-1");
        assert_eq!(server.rounds(), 0);
        timer.connectivity(true);
        assert!(
            eventually(|| server.received().len() == 1),
            "no sync on reconnect"
        );
        drop(timer);
    }

    /// A server that only enrols, remembering the token it was given.
    #[derive(Default)]
    struct Enroller {
        token: Mutex<Option<String>>,
    }

    impl Transport for Enroller {
        fn sync(&self, _request: &SyncRequest) -> Result<SyncResponse, TransportError> {
            Err(TransportError {
                kind: TransportErrorKind::Offline,
                detail: "test".into(),
                server_code: None,
            })
        }
        fn enrol(
            &self,
            request: &EnrolRequest,
        ) -> Result<tepat_protocol::EnrolResponse, TransportError> {
            if request.code != "K7QM-2HXD-9TPA" {
                return Err(TransportError {
                    kind: TransportErrorKind::Refused,
                    detail: "409 code_used: this enrolment code was used already".into(),
                    server_code: Some(ErrorCode::CodeUsed),
                });
            }
            Ok(EnrolResponse {
                device_id: "dev-42".into(),
                token: "tok-42".into(),
                user: UserInfo {
                    user_id: "pkh7".into(),
                    name: "Siti Rahma".into(),
                    role: Role::Enumerator,
                    regions: vec!["17.71".into()],
                },
                server_time: Utc::now(),
            })
        }
        fn set_token(&self, token: Option<&str>) {
            *self.token.lock().unwrap() = token.map(str::to_string);
        }
    }

    #[test]
    fn enrolment_stores_the_token_and_the_user_and_a_restart_hands_the_token_over_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.db");
        let shell = Arc::new(RecordingShell::default());
        let transport = Arc::new(Enroller::default());
        let runtime = Runtime::open(&db, parts(shell.clone(), transport.clone())).unwrap();
        let error = runtime.enrol("WRONG", "HP Siti").unwrap_err();
        assert!(
            error.message(Lang::Id).contains("sudah dipakai"),
            "{}",
            error.message(Lang::Id)
        );
        assert_eq!(runtime.inspect_store(|s| s.device_token()).unwrap(), None);

        let view = runtime.enrol(" K7QM-2HXD-9TPA ", "HP Siti").unwrap();
        assert_eq!(view.user.as_deref(), Some("Siti Rahma · Pendamping PKH"));
        assert_eq!(transport.token.lock().unwrap().as_deref(), Some("tok-42"));
        let identity = runtime
            .inspect_store(|s| s.settings())
            .unwrap()
            .identity
            .unwrap();
        assert_eq!(identity.device_id, "dev-42");
        drop(runtime);

        let fresh = Arc::new(Enroller::default());
        let _again = Runtime::open(&db, parts(shell, fresh.clone())).unwrap();
        assert_eq!(fresh.token.lock().unwrap().as_deref(), Some("tok-42"));
    }

    proptest! {
        #[test]
        fn retry_delays_grow_stay_capped_and_are_jittered_in_the_upper_half(failures in 1u32..80, seed: u64) {
            let policy = SyncPolicy::default();
            let mut rng = StdRng::seed_from_u64(seed);
            let delay = policy.retry_delay(failures, &mut rng);
            let ceiling = policy
                .first_retry
                .saturating_mul(1u32 << (failures - 1).min(30))
                .min(policy.max_retry);
            prop_assert!(delay <= ceiling);
            prop_assert!(delay >= ceiling / 2);
        }
    }

    #[test]
    fn jitter_spreads_phones_that_failed_together() {
        let policy = SyncPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| policy.retry_delay(3, &mut rng)).collect();
        assert!(delays.len() > 40, "{} distinct delays of 50", delays.len());
    }
}
