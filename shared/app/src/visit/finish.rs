//! Notes on warnings, why a visit cannot be finalised yet, finalising, and taking a finalised visit back.

use std::collections::BTreeMap;

use crux_core::render::render;

use crate::effects::{StoreOperation, StoreOutput, StoreReply};
use crate::engine::Session;
use crate::event::{Event, UiEvent};
use crate::text::say;
use crate::view_model::NoticeLevel;
use crate::{Cmd, Model, Showing, at_now, failed, notice, reload_today};
use tepat_form::{Lang, Level};
use tepat_records::{Finalise, VisitState};

use super::navigate::no_visit;
use super::open::load_visit;
use super::{MIN_NOTE_CHARS, OpenVisit, REVISIT_PLANNED};

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
