//! Moving around an open visit: sections, member pages, confirming a page of prefilled answers in one
//! action, the review before finalising.

use crux_core::render::render;

use crate::effects::{StoreOperation, StoreOutput};
use crate::event::Event;
use crate::text::say;
use crate::view_model::{NoticeLevel, PrefillMark};
use crate::{Cmd, Model, Showing, at_now, failed, notice};
use tepat_form::FieldType;

use super::OpenVisit;

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

pub(super) fn no_visit(model: &mut Model) -> Cmd {
    let text = say(
        model.lang,
        "Tidak ada kunjungan yang terbuka",
        "No visit is open",
    );
    notice(model, NoticeLevel::Warning, text);
    render()
}
