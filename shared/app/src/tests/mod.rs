//! App tests: `update` is called with events and every effect is resolved by hand — store operations against a
//! real in-memory store (or with an injected failure), the clock with a fixed time, GPS, camera and sync with
//! outputs the test chooses.

mod cases;
mod finalise;
mod reports;
mod sync;
mod visit;
mod workflow;

use std::collections::VecDeque;

use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use crux_core::{App as _, Request};

use super::*;
use tepat_form::{FieldType, Level};
use tepat_protocol::{Assignment, Role};
use tepat_records::{Identity, StoreError};
use tepat_store::{Store, execute as execute_store};

pub const FORM: &str = include_str!("test_form.json");

/// 09:00 WIB on a Monday.
pub fn start_time() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap()
}

pub fn identity(role: Role) -> Identity {
    Identity {
        device_id: "D-1".into(),
        user_id: "U-7".into(),
        name: "Rina".into(),
        role,
        regions: vec!["17.71".into()],
    }
}

pub fn assignment(id: &str, head: &str) -> Assignment {
    let prefill = [
        ("head_name", head),
        ("head_nik", "1771014506900001"),
        ("kk_number", "1771010101200001"),
        ("kk_member_count", "2"),
    ];
    Assignment {
        assignment_id: id.into(),
        form_id: "uji".into(),
        form_version: 1,
        region_code: "17.71.01.1001".into(),
        label: format!("{head} · RT 003"),
        prefill: prefill
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        prefill_repeats: Default::default(),
    }
}

type StoreFailure = (Box<dyn Fn(&StoreOperation) -> bool>, StoreError);

/// Drives the App by hand.
pub struct Harness {
    pub model: Model,
    pub store: Store,
    pub now: DateTime<FixedOffset>,
    cmds: Vec<Cmd>,
    pub locations: VecDeque<Request<LocationOperation>>,
    pub photos: VecDeque<Request<CameraOperation>>,
    pub syncs: VecDeque<Request<SyncOperation>>,
    /// Every store operation performed, in order.
    pub store_ops: Vec<StoreOperation>,
    /// The next store operation matching the predicate fails with the error instead of running.
    pub fail_store: Option<StoreFailure>,
    pub renders: usize,
}

impl Harness {
    /// A fresh phone: empty database, the App started.
    pub fn empty() -> Harness {
        let mut h = Harness {
            model: Model::default(),
            store: Store::open_in_memory().unwrap(),
            now: start_time(),
            cmds: Vec::new(),
            locations: VecDeque::new(),
            photos: VecDeque::new(),
            syncs: VecDeque::new(),
            store_ops: Vec::new(),
            fail_store: None,
            renders: 0,
        };
        h.send(UiEvent::Start);
        h
    }

    /// A phone with the test form, a user of `role` and two assignments.
    pub fn with(role: Role) -> Harness {
        let mut h = Harness::empty();
        h.send(UiEvent::InstallForm {
            json: FORM.to_string(),
        });
        h.send(UiEvent::UseIdentity {
            identity: identity(role),
        });
        h.send(UiEvent::ImportAssignments {
            assignments: vec![
                assignment("A-1", "Siti Aminah"),
                assignment("A-2", "Budi Santoso"),
            ],
        });
        h.send(UiEvent::DismissNotice);
        h
    }

    pub fn enumerator() -> Harness {
        Harness::with(Role::Enumerator)
    }

    pub fn send(&mut self, event: UiEvent) -> ViewModel {
        self.update(Event::Ui(event));
        self.view()
    }

    pub fn update(&mut self, event: Event) {
        let cmd = App.update(event, &mut self.model);
        self.cmds.push(cmd);
        self.pump();
    }

    pub fn view(&self) -> ViewModel {
        App.view(&self.model)
    }

    /// Resolves time and store effects, queues shell effects, feeds events back, until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut events = Vec::new();
            let mut moved = false;
            for cmd in self.cmds.iter_mut() {
                let effects: Vec<Effect> = cmd.effects().collect();
                for effect in effects {
                    moved = true;
                    match effect {
                        Effect::Render(_) => self.renders += 1,
                        Effect::Time(mut request) => {
                            request.resolve(self.now).unwrap();
                            self.now += Duration::seconds(30);
                        }
                        Effect::Store(mut request) => {
                            let op = request.operation.clone();
                            self.store_ops.push(op.clone());
                            let output = match self.fail_store.take() {
                                Some((matches, error)) if matches(&op) => Err(error),
                                other => {
                                    self.fail_store = other;
                                    execute_store(&mut self.store, op)
                                }
                            };
                            request.resolve(output).unwrap();
                        }
                        Effect::Location(request) => self.locations.push_back(request),
                        Effect::Camera(request) => self.photos.push_back(request),
                        Effect::Sync(request) => self.syncs.push_back(request),
                    }
                }
                events.extend(cmd.events());
            }
            self.cmds.retain_mut(|cmd| !cmd.is_done());
            for event in events {
                moved = true;
                let cmd = App.update(event, &mut self.model);
                self.cmds.push(cmd);
            }
            if !moved {
                break;
            }
        }
    }

    pub fn resolve_location(&mut self, output: LocationOutput) -> ViewModel {
        let mut request = self.locations.pop_front().expect("a location request");
        request.resolve(output).unwrap();
        self.pump();
        self.view()
    }

    pub fn resolve_photo(&mut self, output: CameraOutput) -> ViewModel {
        let mut request = self.photos.pop_front().expect("a camera request");
        request.resolve(output).unwrap();
        self.pump();
        self.view()
    }

    pub fn resolve_sync(&mut self, output: SyncOutput) -> ViewModel {
        let mut request = self.syncs.pop_front().expect("a sync request");
        request.resolve(output).unwrap();
        self.pump();
        self.view()
    }

    pub fn sync_request(&self) -> &tepat_protocol::SyncRequest {
        &self.syncs.front().expect("a sync request").operation.0
    }

    pub fn today(&self) -> TodayView {
        match self.view().screen {
            Screen::Today(today) => today,
            other => panic!("expected today's list, got {other:?}"),
        }
    }

    pub fn visit(&self) -> VisitView {
        match self.view().screen {
            Screen::Visit(visit) => visit,
            other => panic!(
                "expected a visit, got {other:?} (notice {:?})",
                self.view().notice
            ),
        }
    }

    pub fn finalise_screen(&self) -> FinaliseView {
        match self.view().screen {
            Screen::Finalise(f) => f,
            other => panic!("expected the finalise screen, got {other:?}"),
        }
    }

    /// The field at `path` on the current page.
    pub fn field(&self, path: &str) -> FieldView {
        let visit = self.visit();
        visit
            .fields
            .iter()
            .find(|f| f.path == path)
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "{path} not on the page: {:?}",
                    visit.fields.iter().map(|f| &f.path).collect::<Vec<_>>()
                )
            })
    }

    pub fn on_page(&self, path: &str) -> bool {
        self.visit().fields.iter().any(|f| f.path == path)
    }

    pub fn notice(&self) -> String {
        self.view().notice.map(|n| n.text).unwrap_or_default()
    }

    pub fn answer(&mut self, path: &str, text: &str) -> ViewModel {
        self.send(UiEvent::Answer {
            path: path.into(),
            text: text.into(),
        })
    }

    pub fn choose(&mut self, path: &str, code: &str) -> ViewModel {
        self.send(UiEvent::Choose {
            path: path.into(),
            code: code.into(),
        })
    }

    pub fn go_to(&mut self, title: &str) {
        let visit = self.visit();
        let tab = visit
            .sections
            .iter()
            .find(|s| s.title == title)
            .unwrap_or_else(|| panic!("no section {title}"));
        self.send(UiEvent::GoToSection { index: tab.index });
    }

    /// The stored answers of the open visit.
    pub fn stored_answers(&self) -> tepat_protocol::Answers {
        let id = self.visit().visit_id.parse().unwrap();
        self.store.visit(id).unwrap().answers
    }

    /// Opens A-1, marks the family found and fills what the form requires for a clean finalise (head only).
    pub fn complete_found_visit(&mut self) {
        self.send(UiEvent::OpenAssignment {
            assignment_id: "A-1".into(),
        });
        self.choose("visit_outcome", "1");
        self.go_to("Anggota keluarga");
        self.send(UiEvent::TakePhoto {
            path: "photo_front".into(),
        });
        self.resolve_photo(CameraOutput::Photo {
            file: "front.jpg".into(),
            sha256: "ab".repeat(32),
        });
        self.answer("kk_members", "1");
        self.send(UiEvent::AddMember {
            repeat_path: "members".into(),
        });
        self.answer("members[0].member_name", "Siti Aminah");
        self.choose("members[0].sex", "2");
        self.choose("members[0].relationship", "1");
        self.send(UiEvent::CloseMember);
    }
}

#[test]
fn the_app_model_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Model>();
}
