//! Opening a visit: from an assignment, a stored visit or a new case; the form loaded, the assignment's
//! registered record prefilled, reopening a finalised visit that has not left the phone.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate};
use crux_core::{Command, render::render};
use serde_json::Value;
use uuid::Uuid;

use crate::effects::{StoreOperation, StoreOutput, StoreReply};
use crate::engine::Session;
use crate::event::{Event, UiEvent};
use crate::form_meta::FormMeta;
use crate::text::say;
use crate::view_model::NoticeLevel;
use crate::{Cmd, Model, Showing, at_now, failed, notice, reload_today};
use tepat_form::FieldType;
use tepat_form::paths::flatten;
use tepat_protocol::{Answers, Assignment};
use tepat_records::{FormInfo, NewVisit, VisitState, VisitSummary};

use super::OpenVisit;

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

/// Whether the phone's user may start `form` without an assignment: the form says which field roles may
/// (`start_without_assignment`: assessors by default; the 6T monitoring also pendamping PKH). A phone nobody
/// enrolled yet (training) may start any form.
pub(crate) fn may_start_without_assignment(model: &Model, form: &FormInfo) -> bool {
    model.identity.as_ref().is_none_or(|identity| {
        identity
            .role
            .field_role()
            .is_some_and(|role| form.start_without_assignment.contains(&role))
    })
}

pub fn start_new_case(model: &mut Model, form_id: &str) -> Cmd {
    let lang = model.lang;
    // `forms()` lists the newest version of each form first: its roles are the ones that count.
    let newest = model.forms.iter().find(|f| f.form_id == form_id);
    if let Some(form) = newest
        && !may_start_without_assignment(model, form)
    {
        let role = model
            .identity
            .as_ref()
            .map(|i| crate::text::role(lang, i.role))
            .unwrap_or_default();
        let who: Vec<String> = form
            .start_without_assignment
            .iter()
            .map(|r| crate::text::field_role(lang, *r))
            .collect();
        let text = if who.is_empty() {
            say(
                lang,
                &format!(
                    "{}: formulir ini hanya diisi dengan penugasan, tidak dapat dimulai sebagai kasus baru.",
                    form.title.get(lang)
                ),
                &format!(
                    "{}: this form is filled only for an assignment; it cannot be started as a new case.",
                    form.title.get(lang)
                ),
            )
        } else {
            say(
                lang,
                &format!(
                    "{}: kasus baru tanpa penugasan hanya dapat dimulai oleh {}; Anda masuk sebagai {role}.",
                    form.title.get(lang),
                    who.join(" / ")
                ),
                &format!(
                    "{}: only {} may start a new case without an assignment; you are signed in as {role}.",
                    form.title.get(lang),
                    who.join(" / ")
                ),
            )
        };
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
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
    let area = crate::case::new_case_prefill(model, form_id, version);
    crate::case::start_case(meta, area)
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
        let now = ctx.request_from_shell(crate::TimeOperation).await;
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
