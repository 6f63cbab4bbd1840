//! Answering: typed text, choices, regions, clearing, adding and removing members; each change goes through
//! the form session, then to the store as the rows it changed.

use crux_core::render::render;
use serde_json::{Value, json};

use crate::effects::{StoreOperation, StoreOutput};
use crate::event::Event;
use crate::text::say;
use crate::view_model::{InputError, NoticeLevel};
use crate::{Cmd, Model, at_now, notice};
use tepat_form::paths::{diff, flatten};
use tepat_form::{FieldType, RegionLevel, region};

/// Checks that a draft is open and `path` names a field a person answers; says why not otherwise.
pub(super) fn check_answerable(model: &mut Model, path: &str, kinds: &[FieldType]) -> bool {
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
pub(super) fn set_value(model: &mut Model, path: &str, typed: &str, value: Value) -> Cmd {
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
            let text = crate::text::store_error(lang, &error);
            notice(model, NoticeLevel::Error, text);
            render()
        }
    }
}
