//! A simulated phone: the real `shared` runtime (App, device store in a directory, HTTP transport), driven the
//! way a person drives the screens: open an assignment, answer field by field, take the GPS fix and photos the
//! shell is asked for, finalise, sync.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use shared::app::{ItemStatus, LocationOutput, Screen, SyncView, UiEvent, ViewModel};
use shared::form::{Field, FieldType, Form};
use shared::protocol::VisitDoc;
use shared::runtime::{
    Clock, HttpConfig, HttpTransport, Parts, PhotoResult, Runtime, ShellEffects, WireStats,
};
use shared::store::{Durability, VisitState};
use uuid::Uuid;

use crate::Error;

/// The shell's side: GPS and camera requests wait here until the driver answers them.
#[derive(Default)]
struct Shell {
    locations: Mutex<VecDeque<u64>>,
    photos: Mutex<VecDeque<u64>>,
}

impl ShellEffects for Shell {
    fn request_location(&self, request_id: u64, _path: String) {
        lock(&self.locations).push_back(request_id);
    }
    fn request_photo(&self, request_id: u64, _path: String) {
        lock(&self.photos).push_back(request_id);
    }
    fn view_changed(&self, _view: ViewModel) {}
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One phone with its own database.
pub struct Phone {
    runtime: Runtime,
    shell: Arc<Shell>,
    transport: Arc<HttpTransport>,
    dir: PathBuf,
}

impl Phone {
    /// Opens (or reopens) the phone whose files live in `dir`, talking to `server_url`.
    pub fn open(dir: &Path, server_url: &str, clock: Arc<dyn Clock>) -> Result<Phone, Error> {
        std::fs::create_dir_all(dir.join("photos"))?;
        let mut config = HttpConfig::new(server_url);
        // A cut connection fails at once; a stalled one should not hold a test for minutes.
        config.request_timeout = std::time::Duration::from_secs(60);
        let transport =
            Arc::new(HttpTransport::new(&config).map_err(|e| Error::Setup(e.to_string()))?);
        let shell = Arc::new(Shell::default());
        let parts = Parts {
            transport: transport.clone(),
            clock,
            shell: shell.clone(),
            durability: Durability::Balanced,
        };
        let runtime = Runtime::open(&dir.join("device.db"), parts)
            .map_err(|e| Error::Phone(e.to_string()))?;
        Ok(Phone {
            runtime,
            shell,
            transport,
            dir: dir.to_path_buf(),
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Bytes and round trips this phone's transport saw.
    pub fn wire(&self) -> WireStats {
        self.transport.stats()
    }

    /// Enrols with an admin's code; the server's forms and assignments arrive with the first sync.
    pub fn enrol(&self, code: &str, device_name: &str) -> Result<(), Error> {
        self.runtime
            .enrol(code, device_name)
            .map(drop)
            .map_err(|e| Error::Phone(e.to_string()))
    }

    /// The person taps "Sync": one sync (all its rounds) to the end; the sync status after it.
    pub fn sync(&self) -> SyncView {
        self.runtime.dispatch(UiEvent::SyncNow);
        self.runtime.wait_idle();
        self.runtime.view().sync
    }

    /// Syncs until the outbox is empty and a sync went through, at most `attempts` times; the attempts used.
    pub fn sync_until_clean(&self, attempts: u32) -> Result<u32, Error> {
        for attempt in 1..=attempts {
            let view = self.sync();
            if view.outbox == 0 && view.last_error.is_none() {
                return Ok(attempt);
            }
        }
        Err(Error::Phone(format!(
            "outbox still holds {} visit(s) after {attempts} syncs: {:?}",
            self.runtime.view().sync.outbox,
            self.runtime.view().sync.last_error
        )))
    }

    /// Visits waiting for a receipt.
    pub fn outbox(&self) -> Result<usize, Error> {
        self.runtime
            .inspect_store(|s| s.outbox())
            .map(|o| o.len())
            .map_err(|e| Error::Phone(e.to_string()))
    }

    /// Assignment ids on today's list, in the list's order.
    pub fn assignment_ids(&self) -> Result<Vec<String>, Error> {
        match self.runtime.dispatch(UiEvent::ShowToday).screen {
            Screen::Today(today) => Ok(today.items.into_iter().map(|i| i.assignment_id).collect()),
            other => Err(Error::Phone(format!("not on today's list: {other:?}"))),
        }
    }

    /// The status of an assignment on today's list.
    pub fn status(&self, assignment_id: &str) -> Result<Option<ItemStatus>, Error> {
        match self.runtime.dispatch(UiEvent::ShowToday).screen {
            Screen::Today(today) => Ok(today
                .items
                .iter()
                .find(|i| i.assignment_id == assignment_id)
                .map(|i| i.status)),
            other => Err(Error::Phone(format!("not on today's list: {other:?}"))),
        }
    }

    /// Visits the household of `assignment_id` and enters `doc`'s answers and notes through the screens, then
    /// finalises. Returns the document the phone froze in its outbox (what goes to the server).
    pub fn enter(&self, assignment_id: &str, doc: &VisitDoc) -> Result<VisitDoc, Error> {
        self.runtime.dispatch(UiEvent::ShowToday);
        let view = self.runtime.dispatch(UiEvent::OpenAssignment {
            assignment_id: assignment_id.to_string(),
        });
        let visit_id = open_visit_id(&view)?;
        let kinds = self.kinds(&doc.form_id, doc.form_version)?;
        // The outcome first: its answer decides which sections follow.
        let outcome_key = ["visit_outcome", "outcome"]
            .into_iter()
            .find(|k| doc.answers.contains_key(*k));
        if let Some(key) = outcome_key
            && let Some(value) = doc.answers.get(key)
        {
            self.answer(&kinds, visit_id, key, value)?;
        }
        for (key, value) in &doc.answers {
            if Some(key.as_str()) == outcome_key {
                continue;
            }
            match value {
                Value::Array(members) if kinds.get(key) == Some(&FieldType::Repeat) => {
                    for (i, member) in members.iter().enumerate() {
                        self.ensure_members(visit_id, key, i + 1)?;
                        for (field, value) in member.as_object().into_iter().flatten() {
                            self.answer(&kinds, visit_id, &format!("{key}[{i}].{field}"), value)?;
                        }
                    }
                }
                _ => self.answer(&kinds, visit_id, key, value)?,
            }
        }
        for (path, note) in &doc.warning_notes {
            self.runtime.dispatch(UiEvent::SetNote {
                path: path.clone(),
                note: note.clone(),
            });
        }
        self.finalise(visit_id)
    }

    /// Opens a visit the supervisor returned (it becomes the next revision's draft), changes the answer at
    /// `path` to `text`, explains any new warning and finalises again. Returns the new revision's document.
    pub fn correct(&self, assignment_id: &str, path: &str, text: &str) -> Result<VisitDoc, Error> {
        self.runtime.dispatch(UiEvent::ShowToday);
        let view = self.runtime.dispatch(UiEvent::OpenAssignment {
            assignment_id: assignment_id.to_string(),
        });
        let visit_id = open_visit_id(&view)?;
        self.runtime.dispatch(UiEvent::Answer {
            path: path.to_string(),
            text: text.to_string(),
        });
        self.finalise(visit_id)
    }

    /// The comment the supervisor sent with a returned visit, as the visit screen shows it.
    pub fn supervisor_comment(&self, visit_id: Uuid) -> Result<Option<String>, Error> {
        self.runtime
            .inspect_store(|s| s.visit_summary(visit_id))
            .map(|v| v.supervisor_comment)
            .map_err(|e| Error::Phone(e.to_string()))
    }

    pub fn visit_state(&self, visit_id: Uuid) -> Result<(u32, VisitState), Error> {
        self.runtime
            .inspect_store(|s| s.visit_summary(visit_id))
            .map(|v| (v.revision, v.state))
            .map_err(|e| Error::Phone(e.to_string()))
    }

    fn finalise(&self, visit_id: Uuid) -> Result<VisitDoc, Error> {
        let view = self.runtime.dispatch(UiEvent::Finalise);
        let summary = self
            .runtime
            .inspect_store(|s| s.visit_summary(visit_id))
            .map_err(|e| Error::Phone(e.to_string()))?;
        if !summary.state.in_outbox() {
            let blocking = match &view.screen {
                Screen::Finalise(f) => format!("{f:?}"),
                _ => String::new(),
            };
            return Err(Error::Phone(format!(
                "visit {visit_id} was not finalised: {:?} {blocking}",
                view.notice
            )));
        }
        self.runtime.dispatch(UiEvent::ShowToday);
        self.runtime
            .inspect_store(|s| s.outbox_doc(visit_id, summary.revision))
            .map_err(|e| Error::Phone(e.to_string()))
    }

    fn kinds(&self, form_id: &str, version: u32) -> Result<BTreeMap<String, FieldType>, Error> {
        let form: Form = self
            .runtime
            .inspect_store(|s| s.form(form_id, version))
            .map_err(|e| Error::Phone(e.to_string()))?;
        fn walk(fields: &[Field], out: &mut BTreeMap<String, FieldType>) {
            for f in fields {
                out.insert(f.id.clone(), f.kind);
                walk(&f.fields, out);
            }
        }
        let mut out = BTreeMap::new();
        for section in &form.sections {
            walk(&section.fields, &mut out);
        }
        Ok(out)
    }

    /// Adds roster members until there are `count`.
    fn ensure_members(&self, visit_id: Uuid, repeat: &str, count: usize) -> Result<(), Error> {
        loop {
            let have = self
                .runtime
                .inspect_store(|s| s.answer(visit_id, repeat))
                .map_err(|e| Error::Phone(e.to_string()))?;
            let have = match have {
                Some(shared::store::AnswerRow::Members(n)) => n as usize,
                _ => 0,
            };
            if have >= count {
                return Ok(());
            }
            self.runtime.dispatch(UiEvent::AddMember {
                repeat_path: repeat.to_string(),
            });
            let after = self
                .runtime
                .inspect_store(|s| s.answer(visit_id, repeat))
                .map_err(|e| Error::Phone(e.to_string()))?;
            if !matches!(after, Some(shared::store::AnswerRow::Members(n)) if n as usize > have) {
                return Err(Error::Phone(format!(
                    "{repeat}: cannot add member {}",
                    have + 1
                )));
            }
        }
    }

    /// Answers one field the way a person would: typed text, a choice, a region pick, a GPS fix, a photo.
    fn answer(
        &self,
        kinds: &BTreeMap<String, FieldType>,
        visit_id: Uuid,
        path: &str,
        value: &Value,
    ) -> Result<(), Error> {
        let field = path.rsplit('.').next().unwrap_or(path);
        let kind = kinds.get(field).copied().unwrap_or(FieldType::Text);
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
            FieldType::Calculate | FieldType::Note | FieldType::Repeat => {}
            FieldType::Geopoint => {
                self.runtime.dispatch(UiEvent::CaptureLocation {
                    path: path.to_string(),
                });
                let fix = LocationOutput::Fix {
                    lat: value["lat"].as_f64().unwrap_or(-3.8),
                    lon: value["lon"].as_f64().unwrap_or(102.26),
                    accuracy_m: value["accuracy_m"].as_f64().unwrap_or(5.0),
                };
                if let Some(id) = lock(&self.shell.locations).pop_front() {
                    self.runtime
                        .resolve_location(id, fix)
                        .map_err(|e| Error::Phone(e.to_string()))?;
                }
            }
            FieldType::Photo => {
                let file = self.dir.join("photos").join(format!(
                    "{visit_id}-{}.jpg",
                    path.replace(['[', ']', '.'], "_")
                ));
                std::fs::write(&file, format!("photo {visit_id} {path}"))?;
                self.runtime.dispatch(UiEvent::TakePhoto {
                    path: path.to_string(),
                });
                if let Some(id) = lock(&self.shell.photos).pop_front() {
                    let taken = PhotoResult::Taken {
                        file: file.display().to_string(),
                    };
                    self.runtime
                        .resolve_photo(id, taken)
                        .map_err(|e| Error::Phone(e.to_string()))?;
                }
            }
            FieldType::Region => {
                self.runtime.dispatch(UiEvent::ChooseRegion {
                    path: path.to_string(),
                    code: text,
                });
            }
            _ => {
                self.runtime.dispatch(UiEvent::Answer {
                    path: path.to_string(),
                    text,
                });
            }
        }
        Ok(())
    }
}

fn open_visit_id(view: &ViewModel) -> Result<Uuid, Error> {
    match &view.screen {
        Screen::Visit(visit) => visit
            .visit_id
            .parse()
            .map_err(|e| Error::Phone(format!("visit id {:?}: {e}", visit.visit_id))),
        other => Err(Error::Phone(format!(
            "no visit opened ({:?}): {other:?}",
            view.notice
        ))),
    }
}
