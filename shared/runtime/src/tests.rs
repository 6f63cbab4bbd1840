use std::sync::{Arc, Mutex, OnceLock};

use chrono::{FixedOffset, TimeZone};

use super::*;
use tepat_app::{AnswerView, Screen, TransportErrorKind, ViewModel};
use tepat_protocol::{Assignment, Role};
use tepat_store::Identity;

const FORM: &str = include_str!("../../app/src/tests/test_form.json");

#[derive(Default)]
pub(super) struct RecordingShell {
    locations: Mutex<Vec<(u64, String)>>,
    photos: Mutex<Vec<(u64, String)>>,
    views: Mutex<Vec<ViewModel>>,
}

impl ShellEffects for RecordingShell {
    fn request_location(&self, request_id: u64, path: String) {
        self.locations.lock().unwrap().push((request_id, path));
    }
    fn request_photo(&self, request_id: u64, path: String) {
        self.photos.lock().unwrap().push((request_id, path));
    }
    fn view_changed(&self, view: ViewModel) {
        self.views.lock().unwrap().push(view);
    }
}

fn clock() -> Arc<FixedClock> {
    let start = FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
        .single()
        .unwrap();
    Arc::new(FixedClock::new(start))
}

pub(super) fn parts(shell: Arc<dyn ShellEffects>, transport: Arc<dyn Transport>) -> Parts {
    Parts {
        transport,
        clock: clock(),
        shell,
        durability: Durability::Balanced,
    }
}

fn assignment(id: &str) -> Assignment {
    Assignment {
        assignment_id: id.into(),
        form_id: "uji".into(),
        form_version: 1,
        region_code: "17.71.01.1001".into(),
        label: format!("Keluarga {id}"),
        prefill: [("head_name".to_string(), "Siti".to_string())]
            .into_iter()
            .collect(),
        prefill_repeats: Default::default(),
    }
}

/// A runtime on an in-memory store with this shell and transport.
pub(super) fn in_memory(shell: Arc<dyn ShellEffects>, transport: Arc<dyn Transport>) -> Runtime {
    Runtime::start(Store::open_in_memory().unwrap(), parts(shell, transport))
}

pub(super) fn set_up(runtime: &Runtime) {
    runtime.dispatch(UiEvent::InstallForm { json: FORM.into() });
    runtime.dispatch(UiEvent::UseIdentity {
        identity: Identity {
            device_id: "D-9".into(),
            user_id: "U-9".into(),
            name: "Yusuf".into(),
            role: Role::Enumerator,
            regions: vec![],
        },
    });
    runtime.dispatch(UiEvent::ImportAssignments {
        assignments: vec![assignment("A-1"), assignment("A-2")],
    });
}

/// Set up, then A-1 open with the family found.
fn open_found(runtime: &Runtime) {
    set_up(runtime);
    runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    runtime.dispatch(UiEvent::Choose {
        path: "visit_outcome".into(),
        code: "1".into(),
    });
}

fn visit_id(view: &ViewModel) -> String {
    match &view.screen {
        Screen::Visit(v) => v.visit_id.clone(),
        other => panic!("not a visit: {other:?}"),
    }
}

fn field<'v>(view: &'v ViewModel, path: &str) -> &'v tepat_app::FieldView {
    match &view.screen {
        Screen::Visit(v) => v
            .fields
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}")),
        other => panic!("not a visit: {other:?}"),
    }
}

#[test]
fn a_first_start_with_no_data_shows_an_empty_list_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.db");
    let shell = Arc::new(RecordingShell::default());
    let runtime = Runtime::open(&path, parts(shell.clone(), Arc::new(NoServer))).unwrap();
    assert!(matches!(runtime.view().screen, Screen::Today(ref t) if t.items.is_empty()));
    set_up(&runtime);
    let view = runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let id = visit_id(&view);
    runtime.dispatch(UiEvent::Choose {
        path: "visit_outcome".into(),
        code: "1".into(),
    });
    drop(runtime);

    // Whatever dispatch returned for is on disk.
    let runtime = Runtime::open(&path, parts(shell, Arc::new(NoServer))).unwrap();
    match runtime.view().screen {
        Screen::Today(today) => assert_eq!(today.items[0].visit_id.as_deref(), Some(id.as_str())),
        other => panic!("{other:?}"),
    }
    let view = runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert_eq!(
        field(&view, "visit_outcome").answer,
        AnswerView::Choice { code: "1".into() }
    );
    assert_eq!(
        runtime.inspect_store(|s| s.integrity_check()).unwrap(),
        "ok"
    );
}

#[test]
fn dispatch_is_safe_from_many_threads() {
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell, Arc::new(NoServer));
    open_found(&runtime);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let runtime = runtime.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let value = format!("{}", t * 100 + i + 1);
                    let path = if t % 2 == 0 {
                        "floor_area"
                    } else {
                        "kk_members"
                    };
                    runtime.dispatch(UiEvent::Answer {
                        path: path.into(),
                        text: value,
                    });
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let view = runtime.dispatch(UiEvent::GoToSection { index: 1 });
    let floor = field(&view, "floor_area").answer.clone();
    let id: uuid::Uuid = visit_id(&view).parse().unwrap();
    let stored = runtime.inspect_store(|s| s.visit(id)).unwrap();
    // The view and the store agree on the last answer, whichever thread it came from.
    match floor {
        AnswerView::Number { value } => {
            assert_eq!(stored.answers["floor_area"].as_f64(), Some(value))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gps_goes_to_the_shell_and_its_answer_is_saved() {
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell.clone(), Arc::new(NoServer));
    open_found(&runtime);
    runtime.dispatch(UiEvent::CaptureLocation { path: "gps".into() });
    let (id, path) = shell.locations.lock().unwrap().pop().unwrap();
    assert_eq!(path, "gps");
    let fix = LocationOutput::Fix {
        lat: -3.8,
        lon: 102.3,
        accuracy_m: 6.0,
    };
    runtime.resolve_location(id, fix.clone()).unwrap();
    assert_eq!(
        runtime.resolve_location(id, fix),
        Err(RuntimeError::UnknownRequest(id))
    );
    runtime.dispatch(UiEvent::GoToSection { index: 2 });
    let view = runtime.view();
    assert_eq!(
        field(&view, "gps").answer,
        AnswerView::Location {
            lat: -3.8,
            lon: 102.3,
            accuracy_m: 6.0
        }
    );
}

#[test]
fn a_photo_file_is_hashed_by_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("front.jpg");
    std::fs::write(&file, b"not really a jpeg").unwrap();
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell.clone(), Arc::new(NoServer));
    open_found(&runtime);
    runtime.dispatch(UiEvent::GoToSection { index: 2 });
    runtime.dispatch(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    let (id, _) = shell.photos.lock().unwrap().pop().unwrap();
    let view = runtime
        .resolve_photo(
            id,
            PhotoResult::Taken {
                file: file.display().to_string(),
            },
        )
        .unwrap();
    let expected = tepat_protocol::hex(&Sha256::digest(b"not really a jpeg"));
    assert_eq!(
        field(&view, "photo_front").answer,
        AnswerView::Photo {
            file: file.display().to_string(),
            sha256: expected
        }
    );
    // A file that is not there is a failure said in words, not an answer.
    runtime.dispatch(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    let (id, _) = shell.photos.lock().unwrap().pop().unwrap();
    let view = runtime
        .resolve_photo(
            id,
            PhotoResult::Taken {
                file: "/nope/x.jpg".into(),
            },
        )
        .unwrap();
    assert!(
        view.notice
            .unwrap()
            .text
            .starts_with("Foto tidak dapat diambil: /nope/x.jpg")
    );
    assert_eq!(
        runtime.resolve_photo(999, PhotoResult::Cancelled),
        Err(RuntimeError::UnknownRequest(999))
    );
}

/// A shell that answers GPS at once, from inside the callback.
struct EagerShell {
    runtime: OnceLock<Runtime>,
}

impl ShellEffects for EagerShell {
    fn request_location(&self, request_id: u64, _path: String) {
        if let Some(runtime) = self.runtime.get() {
            let fix = LocationOutput::Fix {
                lat: -3.81,
                lon: 102.27,
                accuracy_m: 4.0,
            };
            runtime.resolve_location(request_id, fix).unwrap();
        }
    }
    fn request_photo(&self, _request_id: u64, _path: String) {}
    fn view_changed(&self, _view: ViewModel) {}
}

#[test]
fn a_shell_may_answer_from_inside_its_callback() {
    let shell = Arc::new(EagerShell {
        runtime: OnceLock::new(),
    });
    let runtime = in_memory(shell.clone(), Arc::new(NoServer));
    let _ = shell.runtime.set(runtime.clone());
    open_found(&runtime);
    runtime.dispatch(UiEvent::CaptureLocation { path: "gps".into() });
    runtime.dispatch(UiEvent::GoToSection { index: 2 });
    assert!(matches!(
        field(&runtime.view(), "gps").answer,
        AnswerView::Location { .. }
    ));
}

pub(super) fn finalise_one(runtime: &Runtime, assignment_id: &str) {
    runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: assignment_id.into(),
    });
    runtime.dispatch(UiEvent::Choose {
        path: "visit_outcome".into(),
        code: "0".into(),
    });
    runtime.dispatch(UiEvent::Answer {
        path: "reason".into(),
        text: "Rumah kosong".into(),
    });
    let view = runtime.dispatch(UiEvent::Finalise);
    assert!(matches!(view.screen, Screen::Today(_)), "{:?}", view.notice);
}

#[test]
fn sync_runs_in_the_background_and_tells_the_shell() {
    let shell = Arc::new(RecordingShell::default());
    let server = Arc::new(FakeServer::new());
    let runtime = in_memory(shell.clone(), server.clone());
    set_up(&runtime);
    finalise_one(&runtime, "A-1");
    server.push_assignments(vec![assignment("A-3")]);
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    assert_eq!(server.received().len(), 1);
    let last = shell
        .views
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("the shell heard of the new view");
    assert_eq!(last.sync.outbox, 0);
    assert!(!last.sync.syncing);
    assert_eq!(
        last.notice.unwrap().text,
        "Sinkronisasi berhasil: 1 kunjungan terkirim; 1 tugas baru"
    );
    assert_eq!(
        runtime
            .inspect_store(|s| s.today(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()))
            .unwrap()
            .items
            .len(),
        3
    );
}

#[test]
fn a_lost_answer_is_retried_and_nothing_is_duplicated() {
    let shell = Arc::new(RecordingShell::default());
    let server = Arc::new(FakeServer::new());
    let runtime = in_memory(shell.clone(), server.clone());
    set_up(&runtime);
    finalise_one(&runtime, "A-1");
    finalise_one(&runtime, "A-2");
    server.fail_next(TransportErrorKind::Offline, "no route");
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    assert_eq!(runtime.view().sync.outbox, 2);
    assert!(runtime.view().sync.last_error.is_some());
    server.lose_next_answer();
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    assert_eq!(
        runtime.view().sync.outbox,
        2,
        "no receipt, nothing leaves the outbox"
    );
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    let view = runtime.view();
    assert_eq!(view.sync.outbox, 0);
    assert_eq!(view.sync.last_error, None);
    assert_eq!(server.received().len(), 2, "each visit stored once");
    let batches = server.batch_ids();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        batches[0], batches[1],
        "the unanswered batch was sent again as itself"
    );
}

#[test]
fn a_device_without_a_server_keeps_everything_and_says_it_is_offline() {
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell.clone(), Arc::new(NoServer));
    set_up(&runtime);
    finalise_one(&runtime, "A-1");
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    let view = runtime.view();
    assert_eq!(view.sync.outbox, 1);
    assert!(
        view.sync
            .last_error
            .unwrap()
            .starts_with("Tidak ada koneksi internet")
    );
    runtime.flush().unwrap();
}

/// A sync client that panics mid-round-trip (a bug, a failed allocation in a native library).
struct PanickingTransport;

impl Transport for PanickingTransport {
    fn sync(
        &self,
        _request: &tepat_protocol::SyncRequest,
    ) -> Result<tepat_protocol::SyncResponse, TransportError> {
        panic!("transport exploded")
    }
}

#[test]
fn a_panic_on_a_sync_thread_ends_the_round_trip_and_wait_idle_returns() {
    let shell = Arc::new(RecordingShell::default());
    let runtime = in_memory(shell.clone(), Arc::new(PanickingTransport));
    set_up(&runtime);
    finalise_one(&runtime, "A-1");
    runtime.dispatch(UiEvent::SyncNow);
    // Before the fix the in-flight count never came down and `wait_idle` blocked forever: wait on another
    // thread and fail after a generous bound instead of hanging the suite.
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = runtime.clone();
    std::thread::spawn(move || {
        waiter.wait_idle();
        let _ = done.send(());
    });
    assert!(
        finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .is_ok(),
        "wait_idle still blocked 20 s after a panic on the sync thread"
    );
    let view = runtime.view();
    assert!(!view.sync.syncing, "the core still says it is syncing");
    assert_eq!(view.sync.outbox, 1, "the visit waits for the next sync");
    assert!(
        view.sync
            .last_error
            .as_deref()
            .is_some_and(|error| error.starts_with("Jawaban server tidak dapat dibaca")),
        "{:?}",
        view.sync.last_error
    );
}

#[test]
fn the_runtime_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Runtime>();
}
