//! Helper of `shared/tests/crash_safety.rs`: answers generated DTSEN households through the real runtime,
//! printing each answer as the store holds it right after `dispatch` returned, so the test can kill this
//! process at any instant and check that every printed answer survived.
//!
//! Lines: `A <visit> <path> <row>` (row: JSON value, `#n` members, `-` none), `F <visit>` (finalised),
//! `P <visit>` (finalising now), `S <assignment>` (skipped: finished in an earlier run), `DONE`.
//!
//! Usage: `tepat-crash-child DB SEED HOUSEHOLDS` (the same seed continues the same households after a kill).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use shared::app::{ItemStatus, LocationOutput, Screen, UiEvent, ViewModel};
use shared::form::{Field, FieldType, Form};
use shared::protocol::{Role, VisitDoc};
use shared::runtime::{FixedClock, NoServer, Parts, PhotoResult, Runtime, ShellEffects};
use shared::store::{AnswerRow, Durability, Identity};
use shared::synth::{Generator, Outcome};

const DTSEN: &str = include_str!("../../../schemas/forms/dtsen_groundcheck.json");

#[derive(Default)]
struct Phone {
    locations: Mutex<VecDeque<u64>>,
    photos: Mutex<VecDeque<u64>>,
}

impl ShellEffects for Phone {
    fn request_location(&self, request_id: u64, _path: String) {
        self.locations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(request_id);
    }
    fn request_photo(&self, request_id: u64, _path: String) {
        self.photos
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(request_id);
    }
    fn view_changed(&self, _view: ViewModel) {}
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(Ok(seed)), Some(Ok(households))) = (
        args.get(1).map(PathBuf::from),
        args.get(2).map(|s| s.parse::<u64>()),
        args.get(3).map(|s| s.parse::<usize>()),
    ) else {
        eprintln!("usage: tepat-crash-child DB SEED HOUSEHOLDS");
        return ExitCode::from(2);
    };
    match run(&db, seed, households) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tepat-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Child {
    runtime: Runtime,
    phone: Arc<Phone>,
    kinds: BTreeMap<String, FieldType>,
    photos: PathBuf,
    out: std::io::Stdout,
}

fn run(db: &Path, seed: u64, households: usize) -> Result<(), String> {
    let mut generator = Generator::new(seed);
    let assignments = generator
        .assignments("17.71", households)
        .map_err(|e| e.to_string())?;
    let docs: Vec<VisitDoc> = assignments
        .iter()
        .map(|a| generator.visit_for(a, Outcome::Found))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let wib = chrono::FixedOffset::east_opt(7 * 3600).ok_or("offset")?;
    let start = generator
        .visit_date()
        .and_hms_opt(8, 0, 0)
        .and_then(|t| t.and_local_timezone(wib).single());
    let phone = Arc::new(Phone::default());
    let parts = Parts {
        transport: Arc::new(NoServer),
        clock: Arc::new(FixedClock::new(start.ok_or("date")?)),
        shell: phone.clone(),
        durability: Durability::Balanced,
    };
    let runtime = Runtime::open(db, parts).map_err(|e| e.to_string())?;
    runtime.dispatch(UiEvent::InstallForm {
        json: DTSEN.to_string(),
    });
    let identity = Identity {
        device_id: "crash-test".into(),
        user_id: "U-crash".into(),
        name: "Uji".into(),
        role: Role::Enumerator,
        regions: vec!["17.71".into()],
    };
    runtime.dispatch(UiEvent::UseIdentity { identity });
    runtime.dispatch(UiEvent::ImportAssignments {
        assignments: assignments.clone(),
    });
    let form: Form = serde_json::from_str(DTSEN).map_err(|e| e.to_string())?;
    let photos = db.with_extension("photos");
    std::fs::create_dir_all(&photos).map_err(|e| e.to_string())?;
    let mut child = Child {
        runtime,
        phone,
        kinds: kinds(&form),
        photos,
        out: std::io::stdout(),
    };
    // Which households an earlier run finished (read once: this run only finishes more).
    let today = match child.runtime.dispatch(UiEvent::ShowToday).screen {
        Screen::Today(today) => today,
        _ => return Err("not on today's list".into()),
    };
    for (assignment, doc) in assignments.iter().zip(&docs) {
        let id = &assignment.assignment_id;
        let status = today
            .items
            .iter()
            .find(|i| &i.assignment_id == id)
            .map(|i| i.status);
        if matches!(status, Some(ItemStatus::NotStarted | ItemStatus::Draft)) {
            child.household(id, doc)?;
        } else {
            child.line(&format!("S {id}"));
        }
    }
    child.line("DONE");
    Ok(())
}

fn kinds(form: &Form) -> BTreeMap<String, FieldType> {
    fn walk(fields: &[Field], out: &mut BTreeMap<String, FieldType>) {
        for f in fields {
            out.insert(f.id.clone(), f.kind);
            walk(&f.fields, out);
        }
    }
    let mut out = BTreeMap::new();
    for s in &form.sections {
        walk(&s.fields, &mut out);
    }
    out
}

impl Child {
    fn line(&mut self, line: &str) {
        // One write per line: a kill never leaves half a line behind a complete one.
        let mut lock = self.out.lock();
        let _ = lock.write_all(format!("{line}\n").as_bytes());
        let _ = lock.flush();
    }

    fn household(&mut self, assignment_id: &str, doc: &VisitDoc) -> Result<(), String> {
        let view = self.runtime.dispatch(UiEvent::OpenAssignment {
            assignment_id: assignment_id.into(),
        });
        let Screen::Visit(visit) = view.screen else {
            return Err(format!("{assignment_id} did not open"));
        };
        let visit_id: uuid::Uuid = visit.visit_id.parse().map_err(|e| format!("{e}"))?;
        let outcome = doc
            .answers
            .get("visit_outcome")
            .cloned()
            .unwrap_or(Value::Null);
        self.answer(visit_id, "visit_outcome", &outcome)?;
        for (key, value) in &doc.answers {
            if key != "members" && key != "visit_outcome" {
                self.answer(visit_id, key, value)?;
            }
        }
        let members = doc
            .answers
            .get("members")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let have = self
            .runtime
            .inspect_store(|s| s.answer(visit_id, "members"))
            .map_err(|e| e.to_string())?;
        let mut count = match have {
            Some(AnswerRow::Members(n)) => n as usize,
            _ => 0,
        };
        for (i, member) in members.iter().enumerate() {
            while count <= i {
                self.runtime.dispatch(UiEvent::AddMember {
                    repeat_path: "members".into(),
                });
                self.print(visit_id, "members")?;
                count += 1;
            }
            for (key, value) in member.as_object().into_iter().flatten() {
                self.answer(visit_id, &format!("members[{i}].{key}"), value)?;
            }
        }
        for (path, note) in &doc.warning_notes {
            self.runtime.dispatch(UiEvent::SetNote {
                path: path.clone(),
                note: note.clone(),
            });
        }
        // Tells the test a finalise is starting, so some kills aim at it.
        self.line(&format!("P {visit_id}"));
        let view = self.runtime.dispatch(UiEvent::Finalise);
        let state = self
            .runtime
            .inspect_store(|s| s.visit_summary(visit_id))
            .map_err(|e| e.to_string())?
            .state;
        if state.in_outbox() {
            self.line(&format!("F {visit_id}"));
            Ok(())
        } else {
            Err(format!("{visit_id} not finalised: {:?}", view.notice))
        }
    }

    /// Answers one path the way a person on the phone would, then prints what the store holds.
    fn answer(&mut self, visit_id: uuid::Uuid, path: &str, value: &Value) -> Result<(), String> {
        let field = path.rsplit('.').next().unwrap_or(path);
        let kind = self.kinds.get(field).copied().unwrap_or(FieldType::Text);
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Array(codes) => codes
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        match kind {
            FieldType::Calculate | FieldType::Note | FieldType::Repeat => return Ok(()),
            FieldType::Geopoint => {
                self.runtime
                    .dispatch(UiEvent::CaptureLocation { path: path.into() });
                let id = self
                    .phone
                    .locations
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                let fix = LocationOutput::Fix {
                    lat: value["lat"].as_f64().unwrap_or(-3.8),
                    lon: value["lon"].as_f64().unwrap_or(102.26),
                    accuracy_m: value["accuracy_m"].as_f64().unwrap_or(5.0),
                };
                if let Some(id) = id {
                    self.runtime
                        .resolve_location(id, fix)
                        .map_err(|e| e.to_string())?;
                }
            }
            FieldType::Photo => {
                let file = self.photos.join(format!(
                    "{visit_id}-{}.jpg",
                    path.replace(['[', ']', '.'], "_")
                ));
                std::fs::write(&file, format!("{visit_id} {path}")).map_err(|e| e.to_string())?;
                self.runtime
                    .dispatch(UiEvent::TakePhoto { path: path.into() });
                let id = self
                    .phone
                    .photos
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                if let Some(id) = id {
                    let taken = PhotoResult::Taken {
                        file: file.display().to_string(),
                    };
                    self.runtime
                        .resolve_photo(id, taken)
                        .map_err(|e| e.to_string())?;
                }
            }
            FieldType::Region => {
                self.runtime.dispatch(UiEvent::ChooseRegion {
                    path: path.into(),
                    code: text,
                });
            }
            _ => {
                self.runtime.dispatch(UiEvent::Answer {
                    path: path.into(),
                    text,
                });
            }
        }
        self.print(visit_id, path)
    }

    fn print(&mut self, visit_id: uuid::Uuid, path: &str) -> Result<(), String> {
        let row = self
            .runtime
            .inspect_store(|s| s.answer(visit_id, path))
            .map_err(|e| e.to_string())?;
        let shown = match row {
            Some(AnswerRow::Value(value)) => value.to_string(),
            Some(AnswerRow::Members(n)) => format!("#{n}"),
            None => "-".to_string(),
        };
        self.line(&format!("A {visit_id} {path} {shown}"));
        Ok(())
    }
}
