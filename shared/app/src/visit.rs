//! The open visit: starting and reopening, answering, rosters, sections, GPS and photos, notes, finalising.
//!
//! Every change to the answers goes through the form session first (so findings and relevance are live), then
//! to the store as the row changes it made; only the store's `Ok` makes it the saved state, and a failed save
//! puts the session back to what is stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate};
use crux_core::{Command, render::render};
use serde_json::{Value, json};
use uuid::Uuid;

use super::effects::{
    CameraOperation, CameraOutput, LocationOperation, LocationOutput, StoreOperation, StoreOutput,
    StoreReply,
};
use super::engine::Session;
use super::event::{Event, UiEvent};
use super::form_meta::FormMeta;
use super::text::say;
use super::view_model::{InputError, NoticeLevel, PrefillMark};
use super::{Cmd, Model, Showing, at_now, failed, notice, reload_today};
use tepat_form::paths::{AnswerRow, diff, flatten, unflatten};
use tepat_form::{FieldType, Lang, Level, RegionLevel, region};
use tepat_protocol::{Answers, Assignment, PrefillReview, Role};
use tepat_records::{Finalise, NewVisit, VisitState, VisitSummary};

/// The question whose answer (`1` yes, `2` no) decides whether a visit that may need a revisit stays on the list.
pub const REVISIT_PLANNED: &str = "revisit_planned";

/// The shortest note that explains a warning.
pub const MIN_NOTE_CHARS: usize = 3;

/// What the phone is doing for the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    Location(String),
    Photo(String),
}

/// A visit on screen.
pub struct OpenVisit {
    pub summary: VisitSummary,
    pub meta: FormMeta,
    pub session: Session,
    /// The answer rows as the store has them.
    pub saved: BTreeMap<String, AnswerRow>,
    /// Rows of saves not yet confirmed, by token.
    pending: BTreeMap<u64, BTreeMap<String, AnswerRow>>,
    pub notes: BTreeMap<String, String>,
    /// The assignment's label (the household), `None` for a new case.
    pub label: Option<String>,
    pub withdrawn: bool,
    /// Index into the form's sections.
    pub section: usize,
    /// The member pages open, outermost first: `(repeat path, index)`.
    pub members: Vec<(String, usize)>,
    /// Region cascade picks above the field's level (not answers yet).
    pub region_picks: HashMap<String, String>,
    pub input_errors: HashMap<String, InputError>,
    pub waiting: Option<Waiting>,
    /// What the assignment prefilled at the start, by answer path (the registered record).
    pub prefilled: BTreeMap<String, Value>,
    /// Prefilled paths the enumerator confirmed as they stand.
    pub confirmed: BTreeSet<String>,
    /// The enumerator has looked at the review: from then on the pages show what is missing too.
    pub reviewed: bool,
}

impl OpenVisit {
    pub fn editable(&self) -> bool {
        self.summary.state == VisitState::Draft
    }

    /// Sections that apply now: those with at least one relevant field.
    pub fn visible_sections(&self) -> Vec<usize> {
        let form = self.meta.compiled.form();
        form.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.fields.iter().any(|f| self.session.is_relevant(&f.id)))
            .map(|(i, _)| i)
            .collect()
    }

    /// The path prefix of the page (`members[2].` on a member page).
    pub fn page_prefix(&self) -> String {
        match self.members.last() {
            Some((repeat, index)) => format!("{repeat}[{index}]."),
            None => String::new(),
        }
    }

    /// How many members the repeat at `path` has.
    /// How the prefilled answer at `path` stands now (`None`: nothing was prefilled there).
    pub fn prefill_mark(&self, path: &str) -> Option<PrefillMark> {
        let registered = self.prefilled.get(path)?;
        let now = self.session.value(path).filter(|v| !v.is_null());
        Some(if now.as_ref() != Some(registered) {
            PrefillMark::Changed
        } else if self.confirmed.contains(path) {
            PrefillMark::Confirmed
        } else {
            PrefillMark::Prefilled
        })
    }

    /// What became of every prefilled answer, for the finalised visit: an answer hidden since (a member who
    /// moved away) or different from the register is changed.
    pub fn prefill_review(&self, relevant: &Answers) -> BTreeMap<String, PrefillReview> {
        let now = flatten(relevant, self.meta.repeats());
        self.prefilled
            .iter()
            .map(|(path, registered)| {
                let same = matches!(now.get(path), Some(AnswerRow::Value(v)) if v == registered);
                let review = if !same {
                    PrefillReview::Changed
                } else if self.confirmed.contains(path) {
                    PrefillReview::Confirmed
                } else {
                    PrefillReview::Unconfirmed
                };
                (path.clone(), review)
            })
            .collect()
    }

    pub fn member_count(&self, path: &str) -> usize {
        match self.session.value(path) {
            Some(Value::Array(members)) => members.len(),
            _ => 0,
        }
    }

    fn rebuild_session(&mut self) {
        if let Ok(answers) = unflatten(self.saved.iter().map(|(p, r)| (p.as_str(), r)))
            && let Ok(session) = self.meta.compiled.session(answers, self.summary.visit_date)
        {
            self.session = Session::new(session);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Opening

pub fn open_assignment(model: &mut Model, assignment_id: &str) -> Cmd {
    let Some(today) = &model.today else {
        return reload_today();
    };
    let Some(item) = today
        .items
        .iter()
        .find(|i| i.assignment.assignment.assignment_id == assignment_id)
        .cloned()
    else {
        let text = say(model.lang, "Tugas tidak ditemukan", "Assignment not found");
        notice(
            model,
            NoticeLevel::Warning,
            format!("{text}: {assignment_id}"),
        );
        return render();
    };
    let label = Some(item.assignment.assignment.label.clone());
    let again = Event::Ui(UiEvent::OpenAssignment {
        assignment_id: assignment_id.to_string(),
    });
    match &item.latest {
        Some(visit) if visit.state == VisitState::Draft => load_visit(model, visit, label, again),
        Some(visit) if visit.state == VisitState::Returned => reopen(model, visit, label, again),
        Some(visit) if !visit.revisit => load_visit(model, visit, label, again),
        _ if item.assignment.withdrawn => {
            let text = say(
                model.lang,
                "Tugas ini sudah ditarik oleh server; kunjungan baru tidak dapat dimulai.",
                "This assignment was withdrawn by the server; no new visit can be started.",
            );
            notice(model, NoticeLevel::Warning, text);
            render()
        }
        _ => {
            let assignment = item.assignment.assignment.clone();
            let key = (assignment.form_id.clone(), assignment.form_version);
            let Some(meta) = model.metas.get(&key).cloned() else {
                return load_form(key, again);
            };
            start(meta, Some(assignment), label)
        }
    }
}

pub fn open_visit(model: &mut Model, visit_id: &str) -> Cmd {
    let lang = model.lang;
    let Ok(id) = Uuid::parse_str(visit_id.trim()) else {
        let text = say(lang, "Nomor kunjungan tidak dikenal", "Unknown visit id");
        notice(model, NoticeLevel::Warning, format!("{text}: {visit_id}"));
        return render();
    };
    let found = model.today.as_ref().and_then(|today| {
        today
            .items
            .iter()
            .filter_map(|i| {
                i.latest
                    .as_ref()
                    .map(|v| (v, Some(i.assignment.assignment.label.clone())))
            })
            .chain(today.cases.iter().map(|v| (v, None)))
            .find(|(v, _)| v.visit_id == id)
            .map(|(v, label)| (v.clone(), label))
    });
    let Some((visit, label)) = found else {
        let text = say(
            lang,
            "Kunjungan tidak ada di daftar",
            "Visit not in the list",
        );
        notice(model, NoticeLevel::Warning, format!("{text}: {visit_id}"));
        return render();
    };
    let again = Event::Ui(UiEvent::OpenVisit {
        visit_id: visit_id.to_string(),
    });
    if visit.state == VisitState::Returned {
        reopen(model, &visit, label, again)
    } else {
        load_visit(model, &visit, label, again)
    }
}

pub fn start_new_case(model: &mut Model, form_id: &str) -> Cmd {
    let lang = model.lang;
    if model
        .identity
        .as_ref()
        .is_some_and(|i| i.role == Role::Enumerator)
    {
        let text = say(
            lang,
            "Kasus baru tanpa penugasan hanya untuk asesor (TKSK).",
            "New cases without an assignment are for assessors (TKSK) only.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    // `forms()` lists the newest version of each form first.
    let Some(version) = model
        .forms
        .iter()
        .find(|f| f.form_id == form_id)
        .map(|f| f.version)
    else {
        let text = say(lang, "Formulir belum terpasang", "Form not installed");
        notice(model, NoticeLevel::Warning, format!("{text}: {form_id}"));
        return render();
    };
    let key = (form_id.to_string(), version);
    let Some(meta) = model.metas.get(&key).cloned() else {
        return load_form(
            key,
            Event::Ui(UiEvent::StartNewCase {
                form_id: form_id.to_string(),
            }),
        );
    };
    // The assessor's own area (from enrolment) is where the case's region choice starts.
    let area = super::case::new_case_prefill(model, form_id, version);
    super::case::start_case(meta, area)
}

/// Loads and compiles a form version, then handles `then` again.
pub(crate) fn load_form(key: (String, u32), then: Event) -> Cmd {
    let op = StoreOperation::LoadForm {
        form_id: key.0.clone(),
        version: key.1,
    };
    Command::request_from_shell(op).then_send(move |result| Event::FormLoaded {
        key,
        result,
        then: Box::new(then),
    })
}

pub fn load_visit(
    model: &mut Model,
    visit: &VisitSummary,
    label: Option<String>,
    again: Event,
) -> Cmd {
    let key = (visit.form_id.clone(), visit.form_version);
    if !model.metas.contains_key(&key) {
        return load_form(key, again);
    }
    let visit_id = visit.visit_id;
    Command::new(move |ctx| async move {
        let now = ctx.request_from_shell(super::TimeOperation).await;
        let result = ctx
            .request_from_shell(StoreOperation::LoadVisit { visit_id })
            .await;
        ctx.send_event(Event::VisitOpened { now, result, label });
    })
}

fn reopen(model: &mut Model, visit: &VisitSummary, label: Option<String>, again: Event) -> Cmd {
    let key = (visit.form_id.clone(), visit.form_version);
    if !model.metas.contains_key(&key) {
        return load_form(key, again);
    }
    let (visit_id, revision) = (visit.visit_id, visit.revision);
    at_now(
        move |at| StoreOperation::ReopenReturned {
            visit_id,
            revision,
            at,
        },
        move |now, result| Event::VisitOpened { now, result, label },
    )
}

/// Starts a visit with the assignment's prefill.
fn start(meta: FormMeta, assignment: Option<Assignment>, label: Option<String>) -> Cmd {
    at_now(
        move |at| {
            let visit_date = at.date_naive();
            let answers = assignment
                .as_ref()
                .map(|a| prefill(&meta, a, visit_date))
                .unwrap_or_default();
            let form = meta.compiled.form();
            let visit = NewVisit {
                form_id: form.id.clone(),
                form_version: form.version,
                assignment_id: assignment.map(|a| a.assignment_id),
                visit_date,
                answers,
            };
            StoreOperation::StartVisit {
                visit,
                repeats: meta.repeats().clone(),
                at,
            }
        },
        move |now, result| Event::VisitOpened { now, result, label },
    )
}

/// Answers for fields with a `prefill` key the assignment has, typed by the form engine: top-level fields from
/// `prefill`, a repeat with a `prefill` key from the registered records of that name (one member each, the
/// member's fields by their own keys). A value the field cannot take is left for the enumerator to enter.
pub(crate) fn prefill(meta: &FormMeta, assignment: &Assignment, visit_date: NaiveDate) -> Answers {
    let mut answers = Answers::new();
    let Ok(mut session) = meta.compiled.session(Answers::new(), visit_date) else {
        return answers;
    };
    for section in &meta.compiled.form().sections {
        for field in &section.fields {
            if field.kind == FieldType::Repeat {
                let Some(records) = field
                    .prefill
                    .as_ref()
                    .and_then(|key| assignment.prefill_repeats.get(key))
                else {
                    continue;
                };
                let max = field.max_count.map_or(usize::MAX, |m| m as usize);
                let mut members = Vec::new();
                for record in records.iter().take(max) {
                    // Parsing a member's value needs a member to exist at that index.
                    let index = match session.add_member(&field.id) {
                        Ok(index) => index,
                        Err(_) => break,
                    };
                    let mut member = serde_json::Map::new();
                    for child in &field.fields {
                        let Some(text) = child.prefill.as_ref().and_then(|key| record.get(key))
                        else {
                            continue;
                        };
                        let path = format!("{}[{index}].{}", field.id, child.id);
                        if let Ok(value) = session.parse_input(&path, text) {
                            member.insert(child.id.clone(), value);
                        }
                    }
                    members.push(Value::Object(member));
                }
                if !members.is_empty() {
                    answers.insert(field.id.clone(), Value::Array(members));
                }
                continue;
            }
            let Some(text) = field
                .prefill
                .as_ref()
                .and_then(|key| assignment.prefill.get(key))
            else {
                continue;
            };
            if let Ok(value) = session.parse_input(&field.id, text) {
                answers.insert(field.id.clone(), value);
            }
        }
    }
    answers
}

pub fn opened(
    model: &mut Model,
    now: DateTime<FixedOffset>,
    result: StoreOutput,
    label: Option<String>,
) -> Cmd {
    model.now = Some(now);
    let record = match result {
        Ok(StoreReply::Visit(record)) => record,
        other => return failed(model, other),
    };
    let key = (record.summary.form_id.clone(), record.summary.form_version);
    let Some(meta) = model.metas.get(&key).cloned() else {
        return load_form(
            key,
            Event::VisitOpened {
                now,
                result: Ok(StoreReply::Visit(record)),
                label,
            },
        );
    };
    let session = match meta
        .compiled
        .session(record.answers.clone(), record.summary.visit_date)
    {
        Ok(session) => Session::new(session),
        Err(error) => {
            let text = say(
                model.lang,
                "Jawaban tersimpan tidak dapat dibaca",
                "The saved answers cannot be read",
            );
            notice(
                model,
                NoticeLevel::Error,
                format!("{text}: {}", error.message.get(model.lang)),
            );
            return render();
        }
    };
    let withdrawn = record.summary.assignment_id.as_ref().is_some_and(|id| {
        model.today.as_ref().is_some_and(|t| {
            t.items
                .iter()
                .any(|i| i.assignment.withdrawn && &i.assignment.assignment.assignment_id == id)
        })
    });
    let saved = flatten(&record.answers, meta.repeats());
    let first = meta
        .compiled
        .form()
        .sections
        .iter()
        .position(|s| s.fields.iter().any(|f| session.is_relevant(&f.id)));
    model.visit = Some(OpenVisit {
        summary: record.summary,
        session,
        saved,
        pending: BTreeMap::new(),
        notes: record.notes,
        label,
        withdrawn,
        section: first.unwrap_or(0),
        members: Vec::new(),
        region_picks: HashMap::new(),
        input_errors: HashMap::new(),
        waiting: None,
        prefilled: record.prefilled,
        confirmed: record.confirmed,
        reviewed: false,
        meta,
    });
    model.showing = Showing::Visit;
    render()
}

// ---------------------------------------------------------------------------------------------------------------
// Moving around

pub fn go_to_section(model: &mut Model, index: u32) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return no_visit(model);
    };
    let visible = visit.visible_sections();
    match visible.get(index as usize) {
        Some(section) => {
            visit.section = *section;
            visit.members.clear();
            visit.input_errors.clear();
            model.showing = Showing::Visit;
        }
        None => notice(
            model,
            NoticeLevel::Warning,
            say(lang, "Bagian itu tidak ada", "No such section"),
        ),
    }
    render()
}

/// Moves `step` sections on (±1) among the visible ones; past the last is the finalise review.
pub fn next_section(model: &mut Model, step: i32) -> Cmd {
    let Some(visit) = model.visit.as_mut() else {
        return no_visit(model);
    };
    if model.showing == Showing::Finalise {
        model.showing = Showing::Visit;
        if step < 0 {
            return render();
        }
    }
    let visible = visit.visible_sections();
    let position = visible
        .iter()
        .position(|s| *s >= visit.section)
        .unwrap_or(visible.len());
    // A section that became hidden counts as the one after it.
    let here_visible = visible.get(position) == Some(&visit.section);
    let target = match (step >= 0, here_visible) {
        (true, true) => position + 1,
        (true, false) => position,
        (false, _) => position.saturating_sub(1),
    };
    visit.members.clear();
    // What could not be taken on the page left behind is not kept on show.
    visit.input_errors.clear();
    match visible.get(target) {
        Some(section) => {
            visit.section = *section;
            render()
        }
        None if step >= 0 => review(model),
        None => render(),
    }
}

pub fn open_member(model: &mut Model, repeat_path: String, index: u32) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return no_visit(model);
    };
    let is_repeat = visit
        .meta
        .field_at(&repeat_path)
        .is_some_and(|e| e.field.kind == FieldType::Repeat);
    if !is_repeat || (index as usize) >= visit.member_count(&repeat_path) {
        let text = say(lang, "Anggota itu tidak ada", "No such member");
        notice(
            model,
            NoticeLevel::Warning,
            format!("{text}: {repeat_path} #{}", index + 1),
        );
        return render();
    }
    if visit.members.is_empty()
        && let Some(section) = visit.meta.section_of(&repeat_path)
    {
        visit.section = section;
    }
    visit.members.push((repeat_path, index as usize));
    render()
}

/// Confirms, in one action, the prefilled answers of the page on show (a section, or one member) that still hold
/// the registered value, then moves on: from a member back to the roster, from a section to the next.
pub fn confirm_page(model: &mut Model) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_ref() else {
        return no_visit(model);
    };
    if !visit.editable() {
        let text = say(
            lang,
            "Kunjungan ini tidak dapat diubah",
            "This visit cannot be changed",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    let prefix = visit.page_prefix();
    let form = visit.meta.compiled.form();
    let fields: Vec<&tepat_form::Field> = match visit.members.last() {
        Some((repeat, _)) => visit
            .meta
            .field_at(repeat)
            .map(|e| e.field.fields.iter().collect())
            .unwrap_or_default(),
        None => form
            .sections
            .get(visit.section)
            .map(|s| s.fields.iter().collect())
            .unwrap_or_default(),
    };
    let paths: Vec<String> = fields
        .iter()
        .map(|f| format!("{prefix}{}", f.id))
        .filter(|p| {
            visit.session.is_relevant(p) && visit.prefill_mark(p) == Some(PrefillMark::Prefilled)
        })
        .collect();
    let (visit_id, revision) = (visit.summary.visit_id, visit.summary.revision);
    if paths.is_empty() {
        return moved_on(model);
    }
    at_now(
        move |at| StoreOperation::ConfirmPrefilled {
            visit_id,
            revision,
            paths,
            at,
        },
        |_, result| Event::PrefillConfirmed { result },
    )
}

pub fn prefill_confirmed(model: &mut Model, result: StoreOutput) -> Cmd {
    if let Err(error) = result {
        return failed(model, Err(error));
    }
    // What the store now holds as confirmed: the page's prefilled answers that still hold (nothing else can have
    // changed them in between: every event runs in turn).
    if let Some(visit) = model.visit.as_mut() {
        let prefix = visit.page_prefix();
        let candidates: Vec<String> = visit
            .prefilled
            .keys()
            .filter(|p| p.starts_with(&prefix) && !p[prefix.len()..].contains('['))
            .cloned()
            .collect();
        for path in candidates {
            if visit.session.is_relevant(&path)
                && visit.prefill_mark(&path) == Some(PrefillMark::Prefilled)
                && on_page(visit, &path)
            {
                visit.confirmed.insert(path);
            }
        }
    }
    moved_on(model)
}

/// Whether `path` is a field of the page on show.
fn on_page(visit: &OpenVisit, path: &str) -> bool {
    match visit.members.last() {
        Some(_) => path.starts_with(&visit.page_prefix()),
        None => visit
            .meta
            .compiled
            .form()
            .sections
            .get(visit.section)
            .is_some_and(|s| s.fields.iter().any(|f| f.id == path)),
    }
}

/// After confirming a page: back from a member to the roster, or on to the next section.
fn moved_on(model: &mut Model) -> Cmd {
    let on_member = model.visit.as_ref().is_some_and(|v| !v.members.is_empty());
    if on_member {
        close_member(model)
    } else {
        next_section(model, 1)
    }
}

pub fn close_member(model: &mut Model) -> Cmd {
    if let Some(visit) = model.visit.as_mut() {
        visit.members.pop();
    }
    render()
}

pub fn review(model: &mut Model) -> Cmd {
    let Some(visit) = model.visit.as_mut() else {
        return no_visit(model);
    };
    visit.reviewed = true;
    model.showing = Showing::Finalise;
    render()
}

fn no_visit(model: &mut Model) -> Cmd {
    let text = say(
        model.lang,
        "Tidak ada kunjungan yang terbuka",
        "No visit is open",
    );
    notice(model, NoticeLevel::Warning, text);
    render()
}

// ---------------------------------------------------------------------------------------------------------------
// Answering

/// Checks that a draft is open and `path` names a field a person answers; says why not otherwise.
fn check_answerable(model: &mut Model, path: &str, kinds: &[FieldType]) -> bool {
    let lang = model.lang;
    let problem = match &model.visit {
        None => Some(say(
            lang,
            "Tidak ada kunjungan yang terbuka",
            "No visit is open",
        )),
        Some(visit) if !visit.editable() => Some(say(
            lang,
            "Kunjungan ini sudah final dan tidak dapat diubah.",
            "This visit is final and cannot be changed.",
        )),
        Some(visit) => match visit.meta.field_at(path) {
            None => Some(format!(
                "{}: {path}",
                say(lang, "Pertanyaan tidak dikenal", "Unknown question")
            )),
            Some(entry)
                if entry.field.read_only
                    || matches!(entry.field.kind, FieldType::Note | FieldType::Calculate) =>
            {
                Some(format!(
                    "{}: {}",
                    say(lang, "Tidak dapat diisi", "Cannot be answered"),
                    entry.field.label.get(lang)
                ))
            }
            Some(entry) if !kinds.is_empty() && !kinds.contains(&entry.field.kind) => {
                Some(format!(
                    "{}: {}",
                    say(lang, "Jenis jawaban tidak cocok", "Wrong kind of answer"),
                    entry.field.label.get(lang)
                ))
            }
            Some(_) => None,
        },
    };
    match problem {
        Some(text) => {
            notice(model, NoticeLevel::Warning, text);
            false
        }
        None => true,
    }
}

fn input_error(model: &mut Model, path: &str, typed: &str, message: String) -> Cmd {
    if let Some(visit) = model.visit.as_mut() {
        visit.input_errors.insert(
            path.to_string(),
            InputError {
                typed: typed.to_string(),
                message,
            },
        );
    }
    render()
}

/// Sets an answer through the session and saves what changed.
fn set_value(model: &mut Model, path: &str, typed: &str, value: Value) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    match visit.session.set(path, value) {
        Ok(()) => {
            visit.input_errors.remove(path);
            save(model)
        }
        Err(error) => input_error(model, path, typed, error.message.get(lang).to_string()),
    }
}

pub fn answer(model: &mut Model, path: &str, text: &str) -> Cmd {
    if !check_answerable(model, path, &[]) {
        return render();
    }
    let text = text.trim();
    if text.is_empty() {
        return clear(model, path);
    }
    let Some(visit) = model.visit.as_ref() else {
        return render();
    };
    if visit
        .meta
        .field_at(path)
        .is_some_and(|e| e.field.kind == FieldType::Repeat)
    {
        let message = say(
            model.lang,
            "Tambah anggota dengan tombol Tambah",
            "Add members with the Add button",
        );
        return input_error(model, path, text, message);
    }
    match visit.session.parse_input(path, text) {
        Ok(value) => set_value(model, path, text, value),
        Err(error) => {
            let message = error.message.get(model.lang).to_string();
            input_error(model, path, text, message)
        }
    }
}

pub fn choose(model: &mut Model, path: &str, code: &str) -> Cmd {
    if !check_answerable(
        model,
        path,
        &[FieldType::SelectOne, FieldType::SelectMultiple],
    ) {
        return render();
    }
    let lang = model.lang;
    let Some(visit) = model.visit.as_ref() else {
        return render();
    };
    let choices = visit.session.choices(path);
    let code = code.trim();
    if !choices.iter().any(|c| c.value == code) {
        let available: Vec<&str> = choices.iter().map(|c| c.value.as_str()).collect();
        let message = format!(
            "{} {code:?}; {}: {}",
            say(lang, "Pilihan tidak tersedia", "No such choice"),
            say(lang, "pilih salah satu", "choose one of"),
            available.join(", ")
        );
        return input_error(model, path, code, message);
    }
    let multiple = visit
        .meta
        .field_at(path)
        .is_some_and(|e| e.field.kind == FieldType::SelectMultiple);
    if !multiple {
        return set_value(model, path, code, json!(code));
    }
    // select_multiple: toggle, keeping the list's order.
    let mut selected: Vec<String> = match visit.session.value(path) {
        Some(Value::Array(codes)) => codes
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(at) = selected.iter().position(|c| c == code) {
        selected.remove(at);
    } else {
        selected.push(code.to_string());
    }
    if selected.is_empty() {
        return clear(model, path);
    }
    let ordered: Vec<&str> = choices
        .iter()
        .map(|c| c.value.as_str())
        .filter(|c| selected.iter().any(|s| s == c))
        .collect();
    set_value(model, path, code, json!(ordered))
}

pub fn choose_region(model: &mut Model, path: &str, code: &str) -> Cmd {
    if !check_answerable(model, path, &[FieldType::Region]) {
        return render();
    }
    let lang = model.lang;
    let code = code.trim();
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    let target = visit
        .meta
        .field_at(path)
        .and_then(|e| e.field.region_level)
        .unwrap_or(RegionLevel::Village);
    let Some(level) = region::level_of_code(code).filter(|_| region::regions().contains(code))
    else {
        let message = format!(
            "{} {code:?}",
            say(lang, "Kode wilayah tidak dikenal:", "Unknown region code:")
        );
        return input_error(model, path, code, message);
    };
    let allowed = visit
        .session
        .region_choices(path, region::parent_code(code));
    if !allowed.iter().any(|(c, _)| c == code) || level > target {
        let message = format!(
            "{} {code:?}",
            say(
                lang,
                "Wilayah tidak dapat dipilih di sini:",
                "Region not allowed here:"
            )
        );
        return input_error(model, path, code, message);
    }
    visit.input_errors.remove(path);
    if level == target {
        visit.region_picks.remove(path);
        return set_value(model, path, code, json!(code));
    }
    visit
        .region_picks
        .insert(path.to_string(), code.to_string());
    let answered = visit
        .session
        .value(path)
        .and_then(|v| v.as_str().map(str::to_string));
    match answered {
        // Changing a level above the answer starts the levels below again.
        Some(current) if !region::is_within(&current, code) => {
            if visit.session.clear(path).is_ok() {
                return save(model);
            }
            render()
        }
        _ => render(),
    }
}

pub fn clear(model: &mut Model, path: &str) -> Cmd {
    if !check_answerable(model, path, &[]) {
        return render();
    }
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    visit.input_errors.remove(path);
    visit.region_picks.remove(path);
    match visit.session.clear(path) {
        Ok(()) => save(model),
        Err(error) => input_error(model, path, "", error.message.get(lang).to_string()),
    }
}

pub fn add_member(model: &mut Model, repeat_path: &str) -> Cmd {
    if !check_answerable(model, repeat_path, &[FieldType::Repeat]) {
        return render();
    }
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    match visit.session.add_member(repeat_path) {
        Ok(index) => {
            // The member's page opens where its roster is.
            if visit.members.is_empty()
                && let Some(section) = visit.meta.section_of(repeat_path)
            {
                visit.section = section;
            }
            visit.members.push((repeat_path.to_string(), index));
            save(model)
        }
        Err(error) => input_error(model, repeat_path, "", error.message.get(lang).to_string()),
    }
}

pub fn remove_member(model: &mut Model, repeat_path: &str, index: u32) -> Cmd {
    if !check_answerable(model, repeat_path, &[FieldType::Repeat]) {
        return render();
    }
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    let index = index as usize;
    match visit.session.remove_member(repeat_path, index) {
        Ok(()) => {
            // Pages of this member close; pages of later members move down one.
            if let Some(at) = visit
                .members
                .iter()
                .position(|(r, i)| r == repeat_path && *i == index)
            {
                visit.members.truncate(at);
            }
            for (repeat, i) in visit.members.iter_mut() {
                if repeat == repeat_path && *i > index {
                    *i -= 1;
                }
            }
            let prefix = format!("{repeat_path}[");
            visit.input_errors.retain(|p, _| !p.starts_with(&prefix));
            save(model)
        }
        Err(error) => input_error(model, repeat_path, "", error.message.get(lang).to_string()),
    }
}

/// Saves the rows the session's answers changed since the last save (one transaction).
fn save(model: &mut Model) -> Cmd {
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    let rows = visit
        .session
        .with_answers(|answers| flatten(answers, visit.meta.repeats()));
    let base = visit
        .pending
        .last_key_value()
        .map(|(_, rows)| rows)
        .unwrap_or(&visit.saved);
    let changes = diff(base, &rows);
    if changes.is_empty() {
        return render();
    }
    model.save_token += 1;
    let token = model.save_token;
    visit.pending.insert(token, rows);
    let (visit_id, revision) = (visit.summary.visit_id, visit.summary.revision);
    at_now(
        move |at| StoreOperation::SaveAnswers {
            visit_id,
            revision,
            changes,
            at,
        },
        move |_, result| Event::AnswersSaved { token, result },
    )
}

pub fn answers_saved(model: &mut Model, token: u64, result: StoreOutput) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_mut() else {
        return render();
    };
    let Some(rows) = visit.pending.remove(&token) else {
        return render();
    };
    match result {
        Ok(_) => {
            visit.saved = rows;
            visit.pending.retain(|t, _| *t > token);
            render()
        }
        Err(error) => {
            visit.pending.clear();
            visit.rebuild_session();
            let text = super::text::store_error(lang, &error);
            notice(model, NoticeLevel::Error, text);
            render()
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// GPS and photos (the phone)

/// Asks the phone for the answer at `path` (GPS, camera), showing that the visit waits for it.
fn ask_phone(
    model: &mut Model,
    path: &str,
    kind: FieldType,
    waiting: Waiting,
    request: Cmd,
) -> Cmd {
    if !check_answerable(model, path, &[kind]) {
        return render();
    }
    if let Some(visit) = model.visit.as_mut() {
        visit.waiting = Some(waiting);
    }
    Command::all([render(), request])
}

/// The phone answered: the visit no longer waits for it.
fn answered(model: &mut Model, waiting: &Waiting) {
    if let Some(visit) = model.visit.as_mut()
        && visit.waiting.as_ref() == Some(waiting)
    {
        visit.waiting = None;
    }
}

pub fn capture_location(model: &mut Model, path: String) -> Cmd {
    let waiting = Waiting::Location(path.clone());
    let request =
        Command::request_from_shell(LocationOperation { path: path.clone() }).then_send({
            let path = path.clone();
            move |output| Event::LocationReceived { path, output }
        });
    ask_phone(model, &path, FieldType::Geopoint, waiting, request)
}

pub fn location_received(model: &mut Model, path: String, output: LocationOutput) -> Cmd {
    let lang = model.lang;
    answered(model, &Waiting::Location(path.clone()));
    match output {
        LocationOutput::Fix {
            lat,
            lon,
            accuracy_m,
        } => {
            if !check_answerable(model, &path, &[FieldType::Geopoint]) {
                return render();
            }
            let typed = format!("{lat}, {lon} ±{accuracy_m} m");
            set_value(
                model,
                &path,
                &typed,
                json!({"lat": lat, "lon": lon, "accuracy_m": accuracy_m}),
            )
        }
        LocationOutput::Unavailable { reason } => {
            let text = say(
                lang,
                "Lokasi GPS tidak didapat. Coba di tempat terbuka, atau ketik koordinat",
                "No GPS fix. Try in the open, or type the coordinates",
            );
            notice(model, NoticeLevel::Warning, format!("{text} ({reason})"));
            render()
        }
    }
}

pub fn take_photo(model: &mut Model, path: String) -> Cmd {
    let waiting = Waiting::Photo(path.clone());
    let request = Command::request_from_shell(CameraOperation { path: path.clone() }).then_send({
        let path = path.clone();
        move |output| Event::PhotoReceived { path, output }
    });
    ask_phone(model, &path, FieldType::Photo, waiting, request)
}

pub fn photo_received(model: &mut Model, path: String, output: CameraOutput) -> Cmd {
    let lang = model.lang;
    answered(model, &Waiting::Photo(path.clone()));
    match output {
        CameraOutput::Photo { file, sha256 } => {
            if !check_answerable(model, &path, &[FieldType::Photo]) {
                return render();
            }
            set_value(model, &path, &file, json!({"file": file, "sha256": sha256}))
        }
        CameraOutput::Cancelled => render(),
        CameraOutput::Failed { reason } => {
            let text = say(
                lang,
                "Foto tidak dapat diambil",
                "The photo could not be taken",
            );
            notice(model, NoticeLevel::Warning, format!("{text}: {reason}"));
            render()
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Notes and finalising

/// Paths with warnings now.
fn warning_paths(session: &Session) -> Vec<String> {
    let mut paths: Vec<String> = session
        .findings()
        .into_iter()
        .filter(|f| f.level == Level::Warning)
        .map(|f| f.path)
        .collect();
    paths.dedup();
    paths
}

pub fn set_note(model: &mut Model, path: String, note: &str) -> Cmd {
    let lang = model.lang;
    let problem = match &model.visit {
        None => Some(say(
            lang,
            "Tidak ada kunjungan yang terbuka",
            "No visit is open",
        )),
        Some(visit) if !visit.editable() => Some(say(
            lang,
            "Kunjungan ini sudah final dan tidak dapat diubah.",
            "This visit is final and cannot be changed.",
        )),
        Some(visit)
            if !note.trim().is_empty() && !warning_paths(&visit.session).contains(&path) =>
        {
            Some(format!(
                "{}: {path}",
                say(
                    lang,
                    "Tidak ada peringatan di sini",
                    "There is no warning here"
                )
            ))
        }
        Some(_) if (1..MIN_NOTE_CHARS).contains(&note.trim().chars().count()) => Some(say(
            lang,
            &format!("Catatan terlalu pendek (minimal {MIN_NOTE_CHARS} huruf)"),
            &format!("The note is too short (at least {MIN_NOTE_CHARS} characters)"),
        )),
        Some(_) => None,
    };
    if let Some(text) = problem {
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    let Some(visit) = model.visit.as_ref() else {
        return render();
    };
    let note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
    let (visit_id, revision) = (visit.summary.visit_id, visit.summary.revision);
    let stored = note.clone();
    let key = path.clone();
    at_now(
        move |at| StoreOperation::SetNote {
            visit_id,
            revision,
            path: key,
            note: stored,
            at,
        },
        move |_, result| Event::NoteSaved { path, note, result },
    )
}

pub fn note_saved(
    model: &mut Model,
    path: String,
    note: Option<String>,
    result: StoreOutput,
) -> Cmd {
    if let Err(error) = result {
        return failed(model, Err(error));
    }
    if let Some(visit) = model.visit.as_mut() {
        match note {
            Some(note) => visit.notes.insert(path, note),
            None => visit.notes.remove(&path),
        };
    }
    render()
}

/// Why the open visit cannot be finalised yet, in words; `None` when it can.
pub fn blocked_reason(visit: &OpenVisit, lang: Lang) -> Option<String> {
    if !visit.editable() {
        return Some(say(
            lang,
            "Kunjungan ini sudah final.",
            "This visit is already final.",
        ));
    }
    let findings = visit.session.findings();
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        return Some(say(
            lang,
            &format!("Masih ada {errors} galat yang harus diperbaiki."),
            &format!("{errors} error(s) must be fixed first."),
        ));
    }
    let unexplained = warning_paths(&visit.session)
        .iter()
        .filter(|p| {
            visit
                .notes
                .get(*p)
                .is_none_or(|n| n.trim().chars().count() < MIN_NOTE_CHARS)
        })
        .count();
    if unexplained > 0 {
        return Some(say(
            lang,
            &format!("{unexplained} peringatan perlu catatan singkat."),
            &format!("{unexplained} warning(s) need a short note."),
        ));
    }
    None
}

pub fn finalise(model: &mut Model) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_ref() else {
        return no_visit(model);
    };
    if let Some(reason) = blocked_reason(visit, lang) {
        let text = say(lang, "Belum dapat diselesaikan", "Cannot finalise yet");
        if let Some(visit) = model.visit.as_mut() {
            visit.reviewed = true;
        }
        model.showing = Showing::Finalise;
        notice(model, NoticeLevel::Warning, format!("{text}: {reason}"));
        return render();
    }
    let answers = visit.session.with_answers(|a| {
        visit
            .meta
            .compiled
            .relevant_answers(a, visit.summary.visit_date)
    });
    let warnings = warning_paths(&visit.session);
    let notes: BTreeMap<String, String> = visit
        .notes
        .iter()
        .filter(|(p, _)| warnings.contains(p))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    let outcome = visit
        .meta
        .outcome_field()
        .and_then(|id| visit.session.value(id))
        .and_then(|v| v.as_str().map(str::to_string));
    // The revisit list follows the answers: an outcome that may ask for a revisit does so unless the enumerator
    // answered "no revisit needed" (`revisit_planned`, where the form asks it); "yes, come on Sunday" keeps it.
    let planned = visit
        .session
        .is_relevant(REVISIT_PLANNED)
        .then(|| visit.session.value(REVISIT_PLANNED))
        .flatten()
        .and_then(|v| v.as_str().map(|code| code == "1"));
    let revisit = outcome
        .as_deref()
        .is_some_and(|code| visit.meta.is_revisit(code))
        && planned != Some(false);
    let prefill_review = visit.prefill_review(&answers);
    let (visit_id, revision) = (visit.summary.visit_id, visit.summary.revision);
    at_now(
        move |at| {
            let finalise = Finalise {
                visit_id,
                revision,
                answers,
                notes,
                local_date: at.date_naive(),
                outcome,
                revisit,
                prefill_review,
            };
            StoreOperation::Finalise {
                finalise: Box::new(finalise),
                at,
            }
        },
        |_, result| Event::Finalised { result },
    )
}

pub fn finalised(model: &mut Model, result: StoreOutput) -> Cmd {
    match result {
        Ok(StoreReply::Finalised(_)) => {
            model.visit = None;
            model.showing = Showing::Today;
            let text = say(
                model.lang,
                "Kunjungan selesai dan tersimpan di kotak keluar; akan dikirim saat sinkronisasi.",
                "Visit finalised and kept in the outbox; it will be sent at the next sync.",
            );
            notice(model, NoticeLevel::Success, text);
            reload_today()
        }
        other => failed(model, other),
    }
}

pub fn edit_again(model: &mut Model) -> Cmd {
    let lang = model.lang;
    let Some(visit) = model.visit.as_ref() else {
        return no_visit(model);
    };
    if visit.summary.state != VisitState::Final {
        let text = say(
            lang,
            "Hanya kunjungan final yang belum dikirim yang dapat diubah lagi.",
            "Only a final visit that was not sent yet can be edited again.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    let (visit_id, revision) = (visit.summary.visit_id, visit.summary.revision);
    at_now(
        move |at| StoreOperation::Unfinalise {
            visit_id,
            revision,
            at,
        },
        |_, result| Event::Unfinalised { result },
    )
}

pub fn unfinalised(model: &mut Model, result: StoreOutput) -> Cmd {
    if let Err(error) = result {
        return failed(model, Err(error));
    }
    let Some(visit) = model.visit.as_ref() else {
        return reload_today();
    };
    let (summary, label) = (visit.summary.clone(), visit.label.clone());
    let again = Event::Ui(UiEvent::ShowToday);
    load_visit(model, &summary, label, again)
}
