//! The facade as the Android shell uses it: a fake shell answers GPS and camera requests later, as a phone does.

use std::sync::{Arc, Mutex};

use chrono::{FixedOffset, TimeZone};

use super::*;
use tepat_app::{AnswerView, FieldView, ItemStatus, Screen, TodayView, VisitView};
use tepat_protocol::Role;
use tepat_runtime::{FakeServer, FixedClock};
use tepat_store::Identity;

const FORM: &str = include_str!("../../app/src/tests/test_form.json");

/// Records what the core asked for; optionally panics, as a buggy Kotlin callback would throw.
#[derive(Default)]
struct FakeShell {
    locations: Mutex<Vec<(u64, String)>>,
    photos: Mutex<Vec<(u64, String)>>,
    views: Mutex<Vec<ViewModel>>,
    panic: bool,
}

impl FieldShell for FakeShell {
    fn request_location(&self, request_id: u64, path: String) {
        self.locations.lock().unwrap().push((request_id, path));
        assert!(!self.panic, "the shell failed");
    }
    fn request_photo(&self, request_id: u64, path: String) {
        self.photos.lock().unwrap().push((request_id, path));
        assert!(!self.panic, "the shell failed");
    }
    fn view_changed(&self, view: ViewModel) {
        self.views.lock().unwrap().push(view);
        assert!(!self.panic, "the shell failed");
    }
}

struct Phone {
    core: FieldCore,
    shell: Arc<FakeShell>,
    server: Arc<FakeServer>,
    dir: tempfile::TempDir,
}

fn config(dir: &tempfile::TempDir) -> FieldConfig {
    FieldConfig {
        database_path: dir.path().join("phone.db").to_string_lossy().into_owned(),
        forms: vec![FORM.to_string()],
        full_durability: false,
        server_url: None,
        server_ca_pem: None,
    }
}

/// The phone's database key as the shell hands it over (32 bytes).
fn key_bytes() -> Vec<u8> {
    (0u8..32).map(|i| i.wrapping_mul(29) ^ 0xc3).collect()
}

fn key() -> DatabaseKey {
    DatabaseKey::from_slice(&key_bytes()).unwrap()
}

fn clock() -> Arc<FixedClock> {
    let start = FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap();
    Arc::new(FixedClock::new(start))
}

fn open_with(dir: tempfile::TempDir, shell: Arc<FakeShell>) -> Phone {
    let server = Arc::new(FakeServer::new());
    let core =
        FieldCore::open(config(&dir), &key(), shell.clone(), server.clone(), clock()).unwrap();
    Phone {
        core,
        shell,
        server,
        dir,
    }
}

fn phone() -> Phone {
    open_with(tempfile::tempdir().unwrap(), Arc::default())
}

const ASSIGNMENTS: &str = r#"[
  {"assignment_id": "A-1", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Siti · RT 003", "prefill": {"head_name": "Siti", "kk_member_count": "1"}},
  {"assignment_id": "A-2", "form_id": "uji", "form_version": 1, "region_code": "17.71.01.1001",
   "label": "Budi · RT 004"}
]"#;

impl Phone {
    fn send(&self, event: FieldEvent) -> ViewModel {
        self.core.dispatch(event).unwrap()
    }

    fn enrolled(self) -> Phone {
        self.send(FieldEvent::UseIdentity {
            identity: Identity {
                device_id: "D-1".into(),
                user_id: "U-1".into(),
                name: "Rina".into(),
                role: Role::Enumerator,
                regions: vec!["17.71".into()],
            },
        });
        self.send(FieldEvent::ImportAssignments {
            json: ASSIGNMENTS.into(),
        });
        self
    }

    fn answer(&self, path: &str, text: &str) -> ViewModel {
        self.send(FieldEvent::Answer {
            path: path.into(),
            text: text.into(),
        })
    }

    fn choose(&self, path: &str, code: &str) -> ViewModel {
        self.send(FieldEvent::Choose {
            path: path.into(),
            code: code.into(),
        })
    }

    fn go_to(&self, title: &str) -> ViewModel {
        let index = visit(&self.core.view())
            .sections
            .iter()
            .find(|s| s.title == title)
            .unwrap_or_else(|| panic!("no section {title}"))
            .index;
        self.send(FieldEvent::GoToSection { index })
    }

    /// A-1 opened, the family found, everything a clean finalise needs (one member: the head).
    fn complete_found_visit(&self) {
        self.send(FieldEvent::OpenAssignment {
            assignment_id: "A-1".into(),
        });
        self.choose("visit_outcome", "1");
        self.go_to("Rumah");
        self.send(FieldEvent::TakePhoto {
            path: "photo_front".into(),
        });
        let (id, _) = self.shell.photos.lock().unwrap().pop().unwrap();
        let file = self.dir.path().join("front.jpg");
        // A camera's JPEG (with its metadata), 800×600 to keep the debug build quick.
        std::fs::write(&file, tepat_photo::synthetic::camera_photo(800, 600, 1, 7)).unwrap();
        self.core
            .resolve_photo(
                id,
                PhotoResult::Taken {
                    file: file.to_string_lossy().into_owned(),
                },
            )
            .unwrap();
        self.go_to("Anggota keluarga");
        self.send(FieldEvent::AddMember {
            repeat_path: "members".into(),
        });
        self.answer("members[0].member_name", "Siti Aminah");
        self.choose("members[0].sex", "2");
        self.choose("members[0].relationship", "1");
        self.send(FieldEvent::CloseMember);
    }
}

fn visit(view: &ViewModel) -> &VisitView {
    match &view.screen {
        Screen::Visit(v) => v,
        other => panic!("not a visit: {other:?}"),
    }
}

fn today(view: &ViewModel) -> &TodayView {
    match &view.screen {
        Screen::Today(t) => t,
        other => panic!("not today's list: {other:?}"),
    }
}

fn field<'v>(view: &'v ViewModel, path: &str) -> &'v FieldView {
    visit(view)
        .fields
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no field {path}"))
}

#[test]
fn a_whole_visit_from_the_list_to_the_outbox_survives_reopening() {
    let phone = phone().enrolled();
    let list = phone.core.view();
    assert_eq!(today(&list).items.len(), 2);
    assert_eq!(today(&list).counts.target, Some(12));
    assert_eq!(list.user.as_deref(), Some("Rina · Pendamping PKH"));

    let view = phone.send(FieldEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert_eq!(visit(&view).title, "Siti · RT 003");
    let view = phone.choose("visit_outcome", "1");
    assert_eq!(
        field(&view, "visit_outcome").answer,
        AnswerView::Choice { code: "1".into() }
    );

    // Identity: prefilled name, typed numbers, a finding as soon as the answer is given, a region cascade.
    let view = phone.go_to("Identitas");
    assert_eq!(
        field(&view, "head_name").answer,
        AnswerView::Text {
            value: "Siti".into()
        }
    );
    let view = phone.answer("floor_area", "-4");
    assert_eq!(
        field(&view, "floor_area").findings[0].rule,
        "floor_positive"
    );
    let view = phone.answer("floor_area", "36.5");
    assert!(field(&view, "floor_area").findings.is_empty());
    assert_eq!(
        field(&view, "floor_area").answer,
        AnswerView::Number { value: 36.5 }
    );
    let view = phone.answer("kk_members", "banyak");
    assert!(field(&view, "kk_members").input_error.is_some());
    let cascade = &field(&view, "region").region;
    let district = cascade
        .iter()
        .find(|level| !level.choices.is_empty() && level.selected.is_none())
        .and_then(|level| level.choices.first())
        .expect("a level to choose")
        .code
        .clone();
    let view = phone.send(FieldEvent::ChooseRegion {
        path: "region".into(),
        code: district.clone(),
    });
    let village = field(&view, "region")
        .region
        .last()
        .and_then(|level| level.choices.first())
        .expect("villages of the district")
        .code
        .clone();
    assert!(village.starts_with(&district), "{village} under {district}");
    let view = phone.send(FieldEvent::ChooseRegion {
        path: "region".into(),
        code: village.clone(),
    });
    assert_eq!(
        field(&view, "region").answer,
        AnswerView::Region { code: village }
    );

    // GPS: the core asks the shell, the shell answers later with the request's id.
    phone.go_to("Rumah");
    let view = phone.send(FieldEvent::CaptureLocation { path: "gps".into() });
    assert!(visit(&view).waiting_for.is_some());
    let (request, path) = phone.shell.locations.lock().unwrap()[0].clone();
    assert_eq!(path, "gps");
    let view = phone
        .core
        .resolve_location(
            request,
            LocationOutput::Fix {
                lat: -3.8,
                lon: 102.26,
                accuracy_m: 7.0,
            },
        )
        .unwrap();
    assert_eq!(
        field(&view, "gps").answer,
        AnswerView::Location {
            lat: -3.8,
            lon: 102.26,
            accuracy_m: 7.0
        }
    );
    assert!(visit(&view).waiting_for.is_none());
    assert_eq!(
        phone.core.resolve_location(
            request,
            LocationOutput::Unavailable {
                reason: "again".into()
            }
        ),
        Err(FieldError::UnknownRequest {
            request_id: request
        })
    );

    phone.complete_found_visit();
    let view = phone.go_to("Rumah");
    match &field(&view, "photo_front").answer {
        AnswerView::Photo { sha256, .. } => {
            // SHA-256 of the camera's file, computed by the core from it (no preparation without set_photos).
            assert_eq!(
                sha256,
                &tepat_runtime::sha256_of(&phone.dir.path().join("front.jpg")).unwrap()
            );
            assert_eq!(sha256.len(), 64);
        }
        other => panic!("no photo: {other:?}"),
    }
    let view = phone.send(FieldEvent::Finalise);
    let list = today(&view);
    assert_eq!(list.counts.done_today, 1);
    assert_eq!(view.sync.outbox, 1);

    // Reopen the same database: the visit is still in the outbox.
    let Phone { core, dir, .. } = phone;
    drop(core);
    let again = open_with(dir, Arc::default());
    let view = again.core.view();
    let item = today(&view)
        .items
        .iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(item.status, ItemStatus::InOutbox);
    assert_eq!(view.sync.outbox, 1);
}

#[test]
fn an_error_blocks_finalising_and_a_warning_needs_a_note() {
    let phone = phone().enrolled();
    phone.complete_found_visit();
    phone.choose("members[0].relationship", "3");
    let view = phone.send(FieldEvent::Finalise);
    let screen = match &view.screen {
        Screen::Finalise(f) => f.clone(),
        other => panic!("not the finalise screen: {other:?}"),
    };
    assert!(!screen.can_finalise);
    assert!(screen.errors.iter().any(|e| e.path == "members"));
    assert_eq!(view.sync.outbox, 0);

    phone.send(FieldEvent::OpenMember {
        repeat_path: "members".into(),
        index: 0,
    });
    phone.choose("members[0].relationship", "1");
    phone.send(FieldEvent::CloseMember);
    phone.answer("kk_members", "2");
    let view = phone.send(FieldEvent::Finalise);
    let Screen::Finalise(screen) = &view.screen else {
        panic!("not the finalise screen");
    };
    assert!(screen.errors.is_empty());
    assert_eq!(screen.warnings[0].path, "members");
    phone.send(FieldEvent::SetNote {
        path: "members".into(),
        note: "Anak kedua merantau".into(),
    });
    let view = phone.send(FieldEvent::Finalise);
    assert_eq!(view.sync.outbox, 1);
}

#[test]
fn bundled_forms_are_installed_once_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let shell: Arc<FakeShell> = Arc::default();
    let first = FieldCore::new(config(&dir), key_bytes(), shell.clone()).unwrap();
    let installed = first.runtime.inspect_store(|s| s.forms()).unwrap();
    assert_eq!(installed.len(), 1);
    drop(first);
    let second = FieldCore::new(config(&dir), key_bytes(), shell.clone()).unwrap();
    assert_eq!(second.view().notice, None, "nothing installed again");
    drop(second);

    let mut broken = config(&dir);
    broken.forms.push(r#"{"id": "x", "version": 1}"#.into());
    match FieldCore::new(broken, key_bytes(), shell.clone()) {
        Err(FieldError::BadForm { index: 1, detail }) => assert!(!detail.is_empty()),
        other => panic!("{:?}", other.map(|_| ())),
    }
    let mut not_json = config(&dir);
    not_json.forms = vec!["formulir".into()];
    assert!(matches!(
        FieldCore::new(not_json, key_bytes(), shell.clone()),
        Err(FieldError::BadForm { index: 0, .. })
    ));

    let mut nowhere = config(&dir);
    nowhere.database_path = dir
        .path()
        .join("no/such/dir/phone.db")
        .to_string_lossy()
        .into_owned();
    assert!(matches!(
        FieldCore::new(nowhere, key_bytes(), shell),
        Err(FieldError::Open { .. })
    ));
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let phone = phone().enrolled();
    let error = phone
        .core
        .dispatch(FieldEvent::ImportAssignments {
            json: "bukan json".into(),
        })
        .unwrap_err();
    assert!(
        matches!(error, FieldError::BadInput { ref detail } if detail.starts_with("assignments"))
    );
    assert_eq!(today(&phone.core.view()).items.len(), 2);
    assert_eq!(
        phone
            .core
            .resolve_photo(41, PhotoResult::Cancelled)
            .unwrap_err(),
        FieldError::UnknownRequest { request_id: 41 }
    );
}

#[test]
fn a_failing_shell_callback_leaves_the_core_working() {
    let shell = Arc::new(FakeShell {
        panic: true,
        ..FakeShell::default()
    });
    let phone = open_with(tempfile::tempdir().unwrap(), shell).enrolled();
    phone.send(FieldEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    phone.choose("visit_outcome", "1");
    phone.go_to("Rumah");
    phone.send(FieldEvent::CaptureLocation { path: "gps".into() });
    let (request, _) = phone.shell.locations.lock().unwrap()[0].clone();
    let view = phone
        .core
        .resolve_location(
            request,
            LocationOutput::Unavailable {
                reason: "GPS mati".into(),
            },
        )
        .unwrap();
    assert_eq!(field(&view, "gps").answer, AnswerView::Empty);
    assert!(view.notice.unwrap().text.contains("GPS mati"));
}

#[test]
fn a_background_sync_reports_the_new_view_to_the_shell() {
    let phone = phone().enrolled();
    phone.complete_found_visit();
    phone.send(FieldEvent::Finalise);
    let view = phone.core.connectivity_changed(true);
    assert!(view.sync.syncing, "coming online with work waiting syncs");
    phone.core.wait_for_sync();
    let views = phone.shell.views.lock().unwrap().clone();
    let last = views.last().expect("view_changed after the sync");
    assert_eq!(last.sync.outbox, 0);
    assert!(!last.sync.syncing);
    assert_eq!(phone.server.received().len(), 1);
    assert_eq!(phone.core.view().sync.outbox, 0);

    // Offline news does nothing.
    let before = phone.server.rounds();
    phone.core.connectivity_changed(false);
    phone.core.wait_for_sync();
    assert_eq!(phone.server.rounds(), before);
}

#[test]
fn dispatch_may_come_from_several_threads_at_once() {
    let phone = Arc::new(phone().enrolled());
    phone.send(FieldEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    phone.choose("visit_outcome", "1");
    phone.send(FieldEvent::AddMember {
        repeat_path: "members".into(),
    });
    phone.send(FieldEvent::CloseMember);
    let threads: Vec<_> = [
        "head_name",
        "kk_members",
        "floor_area",
        "members[0].member_name",
    ]
    .into_iter()
    .enumerate()
    .map(|(i, path)| {
        let phone = phone.clone();
        std::thread::spawn(move || {
            for n in 1..=20 {
                let text = if path.contains("name") {
                    format!("Nama {i} {n}")
                } else {
                    n.to_string()
                };
                phone.answer(path, &text);
            }
        })
    })
    .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let view = phone.go_to("Identitas");
    assert_eq!(
        field(&view, "kk_members").answer,
        AnswerView::Number { value: 20.0 }
    );
    assert_eq!(
        field(&view, "head_name").answer,
        AnswerView::Text {
            value: "Nama 0 20".into()
        }
    );
}

#[test]
fn a_bad_server_address_is_refused_and_a_failed_enrolment_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let shell: Arc<FakeShell> = Arc::default();
    let mut bad = config(&dir);
    bad.server_url = Some("ftp://tepat.example".into());
    assert!(matches!(
        FieldCore::new(bad, key_bytes(), shell.clone()),
        Err(FieldError::Server { .. })
    ));
    let mut bad_ca = config(&dir);
    bad_ca.server_url = Some("https://tepat.example".into());
    bad_ca.server_ca_pem = Some("bukan sertifikat".into());
    assert!(matches!(
        FieldCore::new(bad_ca, key_bytes(), shell.clone()),
        Err(FieldError::Server { .. })
    ));

    // Nothing listens on the discard port of loopback: the phone is "offline".
    let mut closed = config(&dir);
    closed.server_url = Some("http://127.0.0.1:9".into());
    let core = FieldCore::new(closed, key_bytes(), shell).unwrap();
    match core.enrol("K7QM-2HXD-9TPA".into(), "Ponsel uji".into()) {
        Err(FieldError::Enrol { detail }) => assert!(!detail.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(core.view().user, None);
}

#[test]
fn with_set_photos_a_photo_is_prepared_into_the_photo_dir_and_waits_to_be_sent() {
    let phone = phone().enrolled();
    let photos = phone.dir.path().join("photos-ready");
    phone.core.set_photos(PhotoConfig {
        dir: photos.to_string_lossy().into_owned(),
        prepare: true,
        upload: true,
        keep_days: 7,
    });
    phone.complete_found_visit();
    let view = phone.go_to("Rumah");
    let camera = phone.dir.path().join("front.jpg");
    let AnswerView::Photo { file, sha256 } = &field(&view, "photo_front").answer else {
        panic!("no photo: {:?}", field(&view, "photo_front").answer);
    };
    // The prepared copy, named by its hash, in the photo dir: not the camera's file.
    assert_eq!(
        Path::new(file),
        photos.join(format!("{sha256}.jpg")).as_path()
    );
    assert_eq!(&tepat_runtime::sha256_of(Path::new(file)).unwrap(), sha256);
    assert_ne!(&tepat_runtime::sha256_of(&camera).unwrap(), sha256);
    let bytes = std::fs::metadata(file).unwrap().len();

    // Text first: the photo is queued once the server has accepted the visit; this server cannot take photos,
    // so it waits.
    let view = phone.send(FieldEvent::Finalise);
    assert_eq!(view.sync.photos_waiting, 0);
    phone.send(FieldEvent::SyncNow);
    phone.core.wait_for_sync();
    let view = phone.core.view();
    assert_eq!(phone.server.received().len(), 1);
    assert_eq!(view.sync.outbox, 0);
    assert_eq!(view.sync.photos_waiting, 1);
    assert_eq!(view.sync.photo_bytes_waiting, bytes);
    assert_eq!(
        view.sync.photos_text.as_deref(),
        Some(format!("1 foto, {} KB belum terkirim", bytes.div_ceil(1000)).as_str())
    );
}

#[test]
fn with_photo_preparation_on_a_file_that_is_not_a_jpeg_is_refused_and_not_answered() {
    let phone = phone().enrolled();
    phone.core.set_photos(PhotoConfig {
        dir: phone
            .dir
            .path()
            .join("photos")
            .to_string_lossy()
            .into_owned(),
        prepare: true,
        upload: false,
        keep_days: 7,
    });
    phone.send(FieldEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    phone.choose("visit_outcome", "1");
    phone.go_to("Rumah");
    phone.send(FieldEvent::TakePhoto {
        path: "photo_front".into(),
    });
    let (id, _) = phone.shell.photos.lock().unwrap().pop().unwrap();
    let file = phone.dir.path().join("not-a-photo.jpg");
    std::fs::write(&file, b"not a jpeg").unwrap();
    let view = phone
        .core
        .resolve_photo(
            id,
            PhotoResult::Taken {
                file: file.to_string_lossy().into_owned(),
            },
        )
        .unwrap();
    assert_eq!(field(&view, "photo_front").answer, AnswerView::Empty);
}

/// Whether `text` is in the bytes of the file at `path` (a missing file holds nothing).
fn file_holds(path: &std::path::Path, text: &str) -> bool {
    std::fs::read(path)
        .unwrap_or_default()
        .windows(text.len())
        .any(|window| window == text.as_bytes())
}

#[test]
fn the_database_file_and_its_wal_hold_none_of_the_typed_answers_in_clear() {
    let phone = phone().enrolled();
    phone.complete_found_visit();
    phone.go_to("Identitas");
    let nik = "1771014106900003";
    let name = "Kartini Wulandari";
    phone.answer("head_nik", nik);
    let view = phone.answer("head_name", name);
    assert_eq!(field(&view, "head_nik").display.as_deref(), Some(nik));
    assert_eq!(field(&view, "head_name").display.as_deref(), Some(name));
    let db = phone.dir.path().join("phone.db");
    let wal = phone.dir.path().join("phone.db-wal");
    // Typed answers are committed into the WAL first (synchronous=NORMAL): both files are searched.
    assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0);
    for text in [nik, name, "Siti Aminah"] {
        assert!(!file_holds(&db, text), "{text} in clear in the database");
        assert!(!file_holds(&wal, text), "{text} in clear in the WAL");
    }
    // Finalised (the frozen document in the outbox) and flushed into the file: still nothing in clear.
    phone.send(FieldEvent::Finalise);
    phone.core.flush().unwrap();
    for text in [nik, name, "Siti Aminah"] {
        assert!(!file_holds(&db, text), "{text} in clear after flushing");
        assert!(
            !file_holds(&wal, text),
            "{text} in clear in the WAL after flushing"
        );
    }
    assert!(!file_holds(&db, "SQLite format 3"));
}

#[test]
fn a_wrong_database_key_is_refused_in_both_languages_and_the_visits_stay() {
    let phone = phone().enrolled();
    phone.complete_found_visit();
    let dir = phone.dir;
    drop(phone.core);
    let shell: Arc<FakeShell> = Arc::default();
    let other_key = vec![0x42; 32];
    match FieldCore::new(config(&dir), other_key, shell.clone()) {
        Err(FieldError::DatabaseKey {
            path,
            text_id,
            text_en,
        }) => {
            assert!(path.ends_with("phone.db"), "{path}");
            assert!(text_id.contains("tidak dapat dibuka"), "{text_id}");
            assert!(text_en.contains("cannot be opened"), "{text_en}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // A key that is not 32 bytes is named as such.
    match FieldCore::new(config(&dir), vec![1; 16], shell.clone()) {
        Err(FieldError::DatabaseKey { text_en, .. }) => {
            assert!(text_en.contains("32 bytes, not 16"), "{text_en}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // The right key opens everything as it was.
    let core = FieldCore::new(config(&dir), key_bytes(), shell).unwrap();
    let list = core.dispatch(FieldEvent::ShowToday).unwrap();
    assert_eq!(today(&list).items.len(), 2);
    assert_eq!(today(&list).counts.drafts, 1);
}
