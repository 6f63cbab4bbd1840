//! A simulated phone: the real `shared` runtime (App, device store in a directory, HTTP transport), driven the
//! way a person drives the screens: open an assignment, answer field by field, take the GPS fix and photos the
//! shell is asked for, finalise, sync.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tepat_app::{ItemStatus, Screen, SyncView, UiEvent};
use tepat_protocol::VisitDoc;
use tepat_runtime::script::{ScriptedShell, Typist};
use tepat_runtime::{
    Clock, HttpConfig, HttpTransport, Parts, PhotoOptions, PhotoUploadReport, Runtime, WireStats,
};
use tepat_store::{DatabaseKey, Durability, VisitState};
use uuid::Uuid;

use crate::Error;

/// One phone with its own database.
pub struct Phone {
    runtime: Runtime,
    shell: Arc<ScriptedShell>,
    transport: Arc<HttpTransport>,
    photos: PathBuf,
    /// Photos are camera JPEGs of this size (made ready to send and uploaded), else placeholder text files.
    camera: std::sync::Mutex<Option<(u32, u32)>>,
}

impl Phone {
    /// Opens (or reopens) the phone whose files live in `dir`, talking to `server_url` (plain HTTP, or HTTPS
    /// with a public certificate: the bundled roots).
    pub fn open(dir: &Path, server_url: &str, clock: Arc<dyn Clock>) -> Result<Phone, Error> {
        Phone::open_pinned(dir, server_url, None, clock)
    }

    /// The same, trusting only the CA `ca_pem` (the run's throw-away CA), as a district office's phones do.
    ///
    /// The database is encrypted as on a phone, with a random key kept in `dir/device.key` (where a phone keeps
    /// it wrapped by its Keystore), so a phone reopened from the same directory opens it again.
    pub fn open_pinned(
        dir: &Path,
        server_url: &str,
        ca_pem: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Phone, Error> {
        std::fs::create_dir_all(dir)?;
        let key = device_key(&dir.join("device.key"))?;
        Phone::open_with_key(dir, server_url, ca_pem, Some(&key), clock)
    }

    /// The phone with its database encrypted with `key`, or unencrypted with `None` (the benchmark's comparison).
    pub fn open_with_key(
        dir: &Path,
        server_url: &str,
        ca_pem: Option<&str>,
        key: Option<&DatabaseKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Phone, Error> {
        let photos = dir.join("photos");
        std::fs::create_dir_all(&photos)?;
        let mut config = HttpConfig::new(server_url);
        config.ca_pem = ca_pem.map(str::to_string);
        // A cut connection fails at once; a stalled one should not hold a test for minutes.
        config.request_timeout = std::time::Duration::from_secs(60);
        let transport =
            Arc::new(HttpTransport::new(&config).map_err(|e| Error::Setup(e.to_string()))?);
        let shell = Arc::new(ScriptedShell::default());
        let parts = Parts {
            transport: transport.clone(),
            clock,
            shell: shell.clone(),
            durability: Durability::Balanced,
        };
        let db = dir.join("device.db");
        let runtime = match key {
            Some(key) => Runtime::open_encrypted(&db, key, parts),
            None => Runtime::open(&db, parts),
        }
        .map_err(phone_error)?;
        Ok(Phone {
            runtime,
            shell,
            transport,
            photos,
            camera: std::sync::Mutex::new(None),
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
            .map_err(phone_error)
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
            .map_err(phone_error)
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
        let typist = self.typist();
        let visit_id = typist.open(assignment_id).map_err(phone_error)?;
        typist
            .type_in(visit_id, doc, |_| Ok(()))
            .map_err(phone_error)?;
        self.finalise(visit_id)
    }

    /// Starts a visit without an assignment with `start` (`StartNewCase`, or `StartAsesmenFromReport` for the
    /// asesmen of a report), enters `doc`'s answers and notes through the screens (a prefilled answer that already
    /// holds the value is kept and confirmed, as a person does) and finalises. The document frozen in the outbox.
    pub fn start_and_enter(&self, start: UiEvent, doc: &VisitDoc) -> Result<VisitDoc, Error> {
        self.runtime.dispatch(UiEvent::ShowToday);
        let view = self.runtime.dispatch(start.clone());
        let Screen::Visit(visit) = &view.screen else {
            return Err(Error::Phone(format!(
                "{start:?} opened no visit: {:?}",
                view.notice
            )));
        };
        let visit_id: Uuid = visit.visit_id.parse().map_err(phone_error)?;
        self.typist()
            .type_in(visit_id, doc, |_| Ok(()))
            .map_err(phone_error)?;
        self.finalise(visit_id)
    }

    /// Opens a visit the supervisor returned (it becomes the next revision's draft), changes the answer at
    /// `path` to `text`, explains any new warning and finalises again. Returns the new revision's document.
    pub fn correct(&self, assignment_id: &str, path: &str, text: &str) -> Result<VisitDoc, Error> {
        let visit_id = self.typist().open(assignment_id).map_err(phone_error)?;
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
            .map_err(phone_error)
    }

    /// Opens the visit of `assignment_id` (a returned visit becomes the next revision's draft) and looks for the
    /// field at `path` through the visit screens, as a person would: section by section, into the roster's member
    /// for a member's field (`members[1].nik`). The supervisor's comment that field shows; `None` when the field
    /// shows none, an error when no screen shows the field.
    pub fn comment_at_field(
        &self,
        assignment_id: &str,
        path: &str,
    ) -> Result<Option<String>, Error> {
        self.typist().open(assignment_id).map_err(phone_error)?;
        let member = path.split_once('[').and_then(|(repeat, rest)| {
            let index = rest.split_once(']')?.0.parse::<u32>().ok()?;
            Some((repeat.to_string(), index))
        });
        let visit_view = |view: tepat_app::ViewModel| match view.screen {
            Screen::Visit(visit) => Ok(visit),
            other => Err(Error::Phone(format!("not on a visit: {other:?}"))),
        };
        let sections = visit_view(self.runtime.view())?.sections;
        for tab in sections {
            let mut visit = visit_view(
                self.runtime
                    .dispatch(UiEvent::GoToSection { index: tab.index }),
            )?;
            if let Some((repeat, index)) = &member
                && visit.fields.iter().any(|f| &f.path == repeat)
            {
                visit = visit_view(self.runtime.dispatch(UiEvent::OpenMember {
                    repeat_path: repeat.clone(),
                    index: *index,
                }))?;
            }
            if let Some(field) = visit.fields.iter().find(|f| f.path == path) {
                return Ok(field.supervisor_comment.clone());
            }
        }
        Err(Error::Phone(format!("no screen shows the field {path}")))
    }

    pub fn visit_state(&self, visit_id: Uuid) -> Result<(u32, VisitState), Error> {
        self.runtime
            .inspect_store(|s| s.visit_summary(visit_id))
            .map(|v| (v.revision, v.state))
            .map_err(phone_error)
    }

    fn typist(&self) -> Typist<'_> {
        let typist = Typist::new(&self.runtime, &self.shell, &self.photos);
        match *self
            .camera
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some((width, height)) => typist.with_camera(width, height),
            None => typist,
        }
    }

    /// From now on photos are camera JPEGs of `width`×`height` (EXIF and all), made ready to send when taken
    /// (`tepat-photo`, into `prepared/`), and uploaded after each sync when `upload`.
    pub fn use_camera(&self, width: u32, height: u32, upload: bool) {
        *self
            .camera
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((width, height));
        let mut options = PhotoOptions::new(self.photos.join("prepared"));
        options.upload = upload;
        self.runtime.set_photos(options);
    }

    /// One pass over the photo outbox now.
    pub fn upload_photos(&self) -> PhotoUploadReport {
        self.runtime.upload_photos()
    }

    /// Photos waiting for the server's confirmation: `(sha256, prepared file)`.
    pub fn waiting_photos(&self) -> Result<Vec<(String, PathBuf)>, Error> {
        self.runtime
            .inspect_store(|s| s.waiting_photos())
            .map(|list| {
                list.into_iter()
                    .map(|p| (p.sha256, PathBuf::from(p.file)))
                    .collect()
            })
            .map_err(phone_error)
    }

    /// Finalises the open visit; the document frozen in the outbox.
    fn finalise(&self, visit_id: Uuid) -> Result<VisitDoc, Error> {
        let revision = self.typist().finalise(visit_id).map_err(phone_error)?;
        self.runtime.dispatch(UiEvent::ShowToday);
        self.runtime
            .inspect_store(|s| s.outbox_doc(visit_id, revision))
            .map_err(phone_error)
    }
}

fn phone_error(e: impl std::fmt::Display) -> Error {
    Error::Phone(e.to_string())
}

/// The phone's database key from `file`, made (random) on first use.
fn device_key(file: &Path) -> Result<DatabaseKey, Error> {
    if !file.exists() {
        let bytes: [u8; DatabaseKey::LEN] = rand::random();
        std::fs::write(file, bytes)?;
    }
    let bytes = std::fs::read(file)?;
    DatabaseKey::from_slice(&bytes).map_err(|e| Error::Setup(format!("{}: {e}", file.display())))
}
