//! A filled visit (e.g. one from [`tepat_synth`]) entered through the screens the way a person would: the
//! outcome first (its answer decides which sections follow), the household's answers field by field, each
//! roster member added and answered, a note for each warning, then finalise.
//!
//! [`steps`] is that plan in the screens' terms; [`Typist`] carries it out on a [`Runtime`] (typed text, choices,
//! region picks, and the GPS fix and photo answered through the shell callbacks of a [`ScriptedShell`]). The
//! crash-safety child, the end-to-end phone and the terminal shell's test (which types the plan as commands) all
//! enter visits this one way.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use uuid::Uuid;

use super::{PhotoResult, Runtime, RuntimeError, ShellEffects};
use tepat_app::{LocationOutput, Screen, UiEvent, ViewModel};
use tepat_form::{Field, FieldType, Form};
use tepat_protocol::VisitDoc;
use tepat_store::{AnswerRow, StoreError};

/// The answer entered before all others: it decides which sections follow.
pub const OUTCOME: &str = "visit_outcome";

/// Where a GPS fix stands when the visit holds none (central Bengkulu, 5 m).
const DEFAULT_FIX: (f64, f64, f64) = (-3.8, 102.26, 5.0);

/// One thing a person does on the visit's screens.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'a> {
    /// Answer the field at `path` with `value` (never a calculation, a note or a roster: those are not typed).
    Answer {
        path: String,
        kind: FieldType,
        value: &'a Value,
    },
    /// Tap "Add" on the roster at `repeat` until it holds `count` members; the new member's page opens.
    AddMember { repeat: &'a str, count: usize },
    /// Back from the member just answered to the roster.
    CloseMember,
    /// The note explaining the warnings at `path`.
    Note { path: &'a str, note: &'a str },
}

/// The steps that enter `doc`'s answers and notes, in a person's order: the outcome, the other answers, then
/// each roster member, then the notes. `kinds` are the form's field kinds by id ([`field_kinds`]).
pub fn steps<'a>(doc: &'a VisitDoc, kinds: &BTreeMap<String, FieldType>) -> Vec<Step<'a>> {
    let kind_of = |id: &str| kinds.get(id).copied().unwrap_or(FieldType::Text);
    let answer = |path: String, kind: FieldType, value: &'a Value| {
        let typed = !matches!(
            kind,
            FieldType::Calculate | FieldType::Note | FieldType::Repeat
        );
        typed.then_some(Step::Answer { path, kind, value })
    };
    let mut steps = Vec::new();
    if let Some(value) = doc.answers.get(OUTCOME) {
        steps.extend(answer(OUTCOME.to_string(), kind_of(OUTCOME), value));
    }
    let mut rosters = Vec::new();
    for (key, value) in &doc.answers {
        match value {
            _ if key == OUTCOME => {}
            Value::Array(members) if kind_of(key) == FieldType::Repeat => {
                rosters.push((key.as_str(), members));
            }
            _ => steps.extend(answer(key.clone(), kind_of(key), value)),
        }
    }
    for (repeat, members) in rosters {
        for (i, member) in members.iter().enumerate() {
            steps.push(Step::AddMember {
                repeat,
                count: i + 1,
            });
            for (field, value) in member.as_object().into_iter().flatten() {
                steps.extend(answer(
                    format!("{repeat}[{i}].{field}"),
                    kind_of(field),
                    value,
                ));
            }
            steps.push(Step::CloseMember);
        }
    }
    for (path, note) in &doc.warning_notes {
        steps.push(Step::Note { path, note });
    }
    steps
}

/// Every field of `form` (roster fields included) by id, with its kind.
pub fn field_kinds(form: &Form) -> BTreeMap<String, FieldType> {
    fn walk(fields: &[Field], out: &mut BTreeMap<String, FieldType>) {
        for field in fields {
            out.insert(field.id.clone(), field.kind);
            walk(&field.fields, out);
        }
    }
    let mut out = BTreeMap::new();
    for section in &form.sections {
        walk(&section.fields, &mut out);
    }
    out
}

/// What a person types for a stored value: text as it is, choice codes separated by spaces, numbers as JSON.
pub fn typed_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(codes) => codes
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// Why a visit could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("assignment {assignment_id}: no visit opened: {detail}")]
    NotOpened {
        assignment_id: String,
        detail: String,
    },
    #[error("visit id {0:?} is not a UUID")]
    VisitId(String),
    #[error("{repeat}: cannot add member {number}")]
    MemberNotAdded { repeat: String, number: usize },
    #[error("visit {visit_id} was not finalised: {detail}")]
    NotFinalised { visit_id: Uuid, detail: String },
    #[error("photo file {}: {source}", path.display())]
    Photo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// A shell whose GPS and camera requests wait until the one driving the runtime answers them.
#[derive(Debug, Default)]
pub struct ScriptedShell {
    locations: Mutex<VecDeque<u64>>,
    photos: Mutex<VecDeque<u64>>,
}

impl ScriptedShell {
    /// The oldest GPS request not answered yet.
    pub fn next_location(&self) -> Option<u64> {
        lock(&self.locations).pop_front()
    }

    /// The oldest camera request not answered yet.
    pub fn next_photo(&self) -> Option<u64> {
        lock(&self.photos).pop_front()
    }
}

impl ShellEffects for ScriptedShell {
    fn request_location(&self, request_id: u64, _path: String) {
        lock(&self.locations).push_back(request_id);
    }
    fn request_photo(&self, request_id: u64, _path: String) {
        lock(&self.photos).push_back(request_id);
    }
    fn view_changed(&self, _view: ViewModel) {}
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Enters visits on a runtime whose shell is `shell`, the way a person would.
pub struct Typist<'a> {
    runtime: &'a Runtime,
    shell: &'a ScriptedShell,
    photos: &'a Path,
    /// Photos as a camera writes them (a JPEG of this size with EXIF), or a short placeholder text when `None`.
    camera: Option<(u32, u32)>,
}

impl<'a> Typist<'a> {
    /// Photos "taken" are camera JPEGs of `width`×`height` (a house front, different for each visit and field;
    /// `tepat_photo::synthetic`), for runtimes that prepare and upload photos.
    pub fn with_camera(mut self, width: u32, height: u32) -> Self {
        self.camera = Some((width, height));
        self
    }

    /// Photos "taken" are written into `photos` (an existing directory) before the camera answers with them.
    pub fn new(runtime: &'a Runtime, shell: &'a ScriptedShell, photos: &'a Path) -> Self {
        Typist {
            runtime,
            shell,
            photos,
            camera: None,
        }
    }

    /// Opens the household of `assignment_id` from today's list (a new visit, or the draft or returned one
    /// waiting); the visit's id.
    pub fn open(&self, assignment_id: &str) -> Result<Uuid, ScriptError> {
        self.runtime.dispatch(UiEvent::ShowToday);
        let view = self.runtime.dispatch(UiEvent::OpenAssignment {
            assignment_id: assignment_id.to_string(),
        });
        match &view.screen {
            Screen::Visit(visit) => visit
                .visit_id
                .parse()
                .map_err(|_| ScriptError::VisitId(visit.visit_id.clone())),
            other => Err(ScriptError::NotOpened {
                assignment_id: assignment_id.to_string(),
                detail: format!("{:?} {other:?}", view.notice),
            }),
        }
    }

    /// Enters `doc`'s answers and notes into the open visit `visit_id` ([`steps`]). `stored` hears each path
    /// once what was typed for it has been dispatched (the roster's path after each member added).
    pub fn type_in(
        &self,
        visit_id: Uuid,
        doc: &VisitDoc,
        mut stored: impl FnMut(&str) -> Result<(), ScriptError>,
    ) -> Result<(), ScriptError> {
        let form = self
            .runtime
            .inspect_store(|s| s.form(&doc.form_id, doc.form_version))?;
        let kinds = field_kinds(&form);
        for step in steps(doc, &kinds) {
            match step {
                Step::Answer { path, kind, value } => {
                    // A prefilled answer that already holds the value is left as it stands: a person does not
                    // retype what the register got right, they confirm its page (below).
                    if !self.holds(visit_id, &path, value)? {
                        self.answer(visit_id, &path, kind, value)?;
                    }
                    stored(&path)?;
                }
                Step::AddMember { repeat, count } => {
                    let mut members = self.members(visit_id, repeat)?;
                    while members < count {
                        members = self.add_member(visit_id, repeat, members)?;
                        stored(repeat)?;
                    }
                }
                // Answers go by path, so the roster's page may stay open under the next member.
                Step::CloseMember => {}
                Step::Note { path, note } => {
                    self.runtime.dispatch(UiEvent::SetNote {
                        path: path.to_string(),
                        note: note.to_string(),
                    });
                }
            }
        }
        self.confirm_pages(visit_id, doc, &kinds)
    }

    /// Whether the answer stored at `path` is `value` already (a prefilled one, or one typed before a restart).
    fn holds(&self, visit_id: Uuid, path: &str, value: &Value) -> Result<bool, ScriptError> {
        let row = self.runtime.inspect_store(|s| s.answer(visit_id, path))?;
        Ok(matches!(row, Some(AnswerRow::Value(stored)) if &stored == value))
    }

    /// Confirms, page by page, the prefilled answers that still hold the registered value, as a person does once
    /// they have checked them: each section that applies, then each member of each roster (`sesuai` on
    /// every page). A visit that nothing was prefilled into has nothing to confirm.
    fn confirm_pages(
        &self,
        visit_id: Uuid,
        doc: &VisitDoc,
        kinds: &BTreeMap<String, FieldType>,
    ) -> Result<(), ScriptError> {
        if self
            .runtime
            .inspect_store(|s| s.visit(visit_id))?
            .prefilled
            .is_empty()
        {
            return Ok(());
        }
        let Screen::Visit(visit) = self.runtime.view().screen else {
            return Ok(());
        };
        for tab in &visit.sections {
            self.runtime
                .dispatch(UiEvent::GoToSection { index: tab.index });
            self.runtime.dispatch(UiEvent::ConfirmPage);
        }
        for (repeat, members) in &doc.answers {
            if kinds.get(repeat) != Some(&FieldType::Repeat) {
                continue;
            }
            for index in 0..members.as_array().map_or(0, Vec::len) {
                self.runtime.dispatch(UiEvent::OpenMember {
                    repeat_path: repeat.clone(),
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                });
                self.runtime.dispatch(UiEvent::ConfirmPage);
            }
        }
        Ok(())
    }

    /// Taps "Finalise" on the open visit; the revision now in the outbox, or what blocked it.
    pub fn finalise(&self, visit_id: Uuid) -> Result<u32, ScriptError> {
        let view = self.runtime.dispatch(UiEvent::Finalise);
        let summary = self.runtime.inspect_store(|s| s.visit_summary(visit_id))?;
        if summary.state.in_outbox() {
            return Ok(summary.revision);
        }
        let blocking = match &view.screen {
            Screen::Finalise(f) => format!("{f:?}"),
            _ => String::new(),
        };
        Err(ScriptError::NotFinalised {
            visit_id,
            detail: format!("{:?} {blocking}", view.notice),
        })
    }

    fn members(&self, visit_id: Uuid, repeat: &str) -> Result<usize, ScriptError> {
        let row = self.runtime.inspect_store(|s| s.answer(visit_id, repeat))?;
        Ok(match row {
            Some(AnswerRow::Members(n)) => n as usize,
            _ => 0,
        })
    }

    /// Taps "Add" on a roster holding `before` members; how many it holds now.
    fn add_member(
        &self,
        visit_id: Uuid,
        repeat: &str,
        before: usize,
    ) -> Result<usize, ScriptError> {
        self.runtime.dispatch(UiEvent::AddMember {
            repeat_path: repeat.to_string(),
        });
        let now = self.members(visit_id, repeat)?;
        if now > before {
            Ok(now)
        } else {
            Err(ScriptError::MemberNotAdded {
                repeat: repeat.to_string(),
                number: before + 1,
            })
        }
    }

    /// One field: typed text, a choice code, a region pick, a GPS fix or a photo.
    fn answer(
        &self,
        visit_id: Uuid,
        path: &str,
        kind: FieldType,
        value: &Value,
    ) -> Result<(), ScriptError> {
        let path = path.to_string();
        match kind {
            FieldType::Geopoint => {
                self.runtime.dispatch(UiEvent::CaptureLocation { path });
                let (lat, lon, accuracy_m) = DEFAULT_FIX;
                let fix = LocationOutput::Fix {
                    lat: value["lat"].as_f64().unwrap_or(lat),
                    lon: value["lon"].as_f64().unwrap_or(lon),
                    accuracy_m: value["accuracy_m"].as_f64().unwrap_or(accuracy_m),
                };
                if let Some(id) = self.shell.next_location() {
                    self.runtime.resolve_location(id, fix)?;
                }
            }
            FieldType::Photo => {
                let file = self.photos.join(format!(
                    "{visit_id}-{}.jpg",
                    path.replace(['[', ']', '.'], "_")
                ));
                let bytes = match self.camera {
                    Some((width, height)) => {
                        let seed = format!("{visit_id} {path}")
                            .bytes()
                            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                            });
                        tepat_photo::synthetic::camera_photo(width, height, 1, seed)
                    }
                    None => format!("photo {visit_id} {path}").into_bytes(),
                };
                std::fs::write(&file, bytes).map_err(|source| ScriptError::Photo {
                    path: file.clone(),
                    source,
                })?;
                self.runtime.dispatch(UiEvent::TakePhoto { path });
                if let Some(id) = self.shell.next_photo() {
                    let taken = PhotoResult::Taken {
                        file: file.display().to_string(),
                    };
                    self.runtime.resolve_photo(id, taken)?;
                }
            }
            FieldType::Region => {
                self.runtime.dispatch(UiEvent::ChooseRegion {
                    path,
                    code: typed_text(value),
                });
            }
            _ => {
                self.runtime.dispatch(UiEvent::Answer {
                    path,
                    text: typed_text(value),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use tepat_synth::{Generator, Outcome};

    fn dtsen_kinds() -> BTreeMap<String, FieldType> {
        let json = include_str!("../../../schemas/forms/dtsen_groundcheck.json");
        field_kinds(&serde_json::from_str(json).unwrap())
    }

    fn found_household() -> VisitDoc {
        let mut generator = Generator::new(3);
        let assignment = generator.assignments("17.71", 1).unwrap().remove(0);
        generator.visit_for(&assignment, Outcome::Found).unwrap()
    }

    #[test]
    fn the_outcome_comes_first_then_the_household_then_each_member_then_the_notes() {
        let mut doc = found_household();
        doc.warning_notes
            .insert("members".into(), "Anak sulung sudah pindah".into());
        let kinds = dtsen_kinds();
        let steps = steps(&doc, &kinds);
        let members = doc.answers["members"].as_array().unwrap();
        assert!(!members.is_empty());

        assert!(matches!(&steps[0], Step::Answer { path, .. } if path == OUTCOME));
        let first_add = steps
            .iter()
            .position(|s| matches!(s, Step::AddMember { .. }))
            .unwrap();
        for step in &steps[1..first_add] {
            let Step::Answer { path, kind, .. } = step else {
                panic!("{step:?} before the roster");
            };
            assert!(!path.contains('[') && path != OUTCOME, "{path}");
            assert!(!matches!(kind, FieldType::Calculate | FieldType::Repeat));
        }
        let adds: Vec<usize> = steps
            .iter()
            .filter_map(|s| match s {
                Step::AddMember { repeat, count } if *repeat == "members" => Some(*count),
                _ => None,
            })
            .collect();
        assert_eq!(adds, (1..=members.len()).collect::<Vec<_>>());
        let closes = steps.iter().filter(|s| **s == Step::CloseMember).count();
        assert_eq!(closes, members.len());
        assert_eq!(
            steps.last(),
            Some(&Step::Note {
                path: "members",
                note: "Anak sulung sudah pindah"
            })
        );
        // Every member field is answered on its member's page, by its path in the roster.
        let second = steps
            .iter()
            .skip_while(|s| {
                **s != Step::AddMember {
                    repeat: "members",
                    count: 2,
                }
            })
            .nth(1);
        if members.len() > 1 {
            assert!(
                matches!(second, Some(Step::Answer { path, .. }) if path.starts_with("members[1].")),
                "{second:?}"
            );
        }
    }

    #[test]
    fn calculations_notes_and_unknown_fields_are_not_typed_as_such() {
        let kinds: BTreeMap<String, FieldType> = [
            ("sum".to_string(), FieldType::Calculate),
            ("hint".to_string(), FieldType::Note),
            ("village".to_string(), FieldType::Region),
        ]
        .into_iter()
        .collect();
        let mut doc = found_household();
        doc.answers = [
            ("sum".to_string(), json!(4)),
            ("hint".to_string(), json!("x")),
            ("village".to_string(), json!("17.71.01.1001")),
            ("unknown".to_string(), json!("y")),
        ]
        .into_iter()
        .collect();
        doc.warning_notes.clear();
        let paths: Vec<(String, FieldType)> = steps(&doc, &kinds)
            .into_iter()
            .map(|s| match s {
                Step::Answer { path, kind, .. } => (path, kind),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            paths,
            [
                ("unknown".to_string(), FieldType::Text),
                ("village".to_string(), FieldType::Region)
            ]
        );
    }

    #[test]
    fn values_are_typed_as_a_person_would() {
        assert_eq!(typed_text(&json!("Jl. Mawar 3")), "Jl. Mawar 3");
        assert_eq!(typed_text(&json!(["1", "4"])), "1 4");
        assert_eq!(typed_text(&json!(7)), "7");
        assert_eq!(typed_text(&json!(2.5)), "2.5");
        assert_eq!(typed_text(&json!(true)), "true");
    }
}
