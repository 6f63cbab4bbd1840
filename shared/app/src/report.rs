//! Reports (the Satgas Tanggap Cepat quick report) and the asesmen that follows one: a report is a case without an
//! assignment; from a finalised report whose answer to [`REPORT_ASESMEN_FIELD`] is a choice with `attrs.opens`
//! (the form to open, `ppks_asesmen`), the assessor starts that form's visit of the same person, opened with the
//! report's data. The mapping is the opened form's own: each of its fields whose `prefill` key names a field of
//! the report (by the report field's id, or by the report field's own `prefill` key) takes that field's answer,
//! typed by the form engine as assignment prefill is; the field whose key is [`REPORT_LINK_FIELD`] takes the
//! report's visit id.

use std::collections::BTreeMap;

use crux_core::{Command, render::render};
use serde_json::Value;
use uuid::Uuid;

use super::case::{as_prefill_text, new_case_prefill, start_case_from};
use super::effects::{StoreOperation, StoreOutput, StoreReply};
use super::event::{Event, UiEvent};
use super::form_meta::FormMeta;
use super::text::say;
use super::view_model::NoticeLevel;
use super::visit::{load_form, prefill};
use super::{Cmd, Model, notice};
use tepat_form::FieldType;
use tepat_protocol::{Answers, Assignment};
use tepat_records::{
    REPORT_ASESMEN_FIELD, REPORT_LINK_FIELD, REPORT_URGENCY_FIELD, Today, VisitState, VisitSummary,
};

/// What the case list says of a report: its urgency, whether it asks for an asesmen, whether one was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// The urgency's label, short (`Darurat` of `Darurat — ditangani hari ini`), or its code while the report's
    /// form is not read yet.
    pub urgency: Option<String>,
    /// The form the report asks an asesmen in (`attrs.opens` of the answered choice), if any.
    pub opens: Option<String>,
    /// An asesmen was started from it (a visit names it in [`REPORT_LINK_FIELD`]).
    pub assessed: bool,
}

/// The report line of a listed case visit, or `None` when the visit is no report.
pub fn report_line(model: &Model, today: &Today, visit: &VisitSummary) -> Option<ReportLine> {
    let details = today.case_details.get(&visit.visit_id)?;
    let needed = details.get(REPORT_ASESMEN_FIELD)?;
    let meta = model
        .metas
        .get(&(visit.form_id.clone(), visit.form_version));
    let urgency = details.get(REPORT_URGENCY_FIELD).map(|code| {
        meta.and_then(|m| choice_attr_label(m, REPORT_URGENCY_FIELD, code, model.lang))
            .unwrap_or_else(|| code.clone())
    });
    let opens = meta.and_then(|m| opened_form(m, needed));
    Some(ReportLine {
        urgency,
        opens,
        assessed: today.reports_assessed.contains_key(&visit.visit_id),
    })
}

/// The short label of the choice `code` of the top-level field `field_id` (the part before ` — `).
fn choice_attr_label(
    meta: &FormMeta,
    field_id: &str,
    code: &str,
    lang: tepat_form::Lang,
) -> Option<String> {
    let form = meta.compiled.form();
    let field = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.id == field_id)?;
    let choice = form
        .choices
        .get(field.choices.as_deref()?)?
        .iter()
        .find(|c| c.value == code)?;
    let label = choice.label.get(lang);
    Some(
        label
            .split(" — ")
            .next()
            .unwrap_or(label)
            .trim()
            .to_string(),
    )
}

/// The form the report's answer `code` to [`REPORT_ASESMEN_FIELD`] opens (its choice's `attrs.opens`).
fn opened_form(meta: &FormMeta, code: &str) -> Option<String> {
    let form = meta.compiled.form();
    let field = form
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.id == REPORT_ASESMEN_FIELD && f.kind == FieldType::SelectOne)?;
    form.choices
        .get(field.choices.as_deref()?)?
        .iter()
        .find(|c| c.value == code)?
        .attrs
        .get("opens")
        .filter(|id| !id.is_empty())
        .cloned()
}

/// The forms of listed reports that are not read yet (their urgency labels and `opens` need them).
pub fn forms_to_read(model: &Model) -> Vec<(String, u32)> {
    let Some(today) = &model.today else {
        return Vec::new();
    };
    let mut keys: Vec<(String, u32)> = today
        .cases
        .iter()
        .filter(|v| today.case_details.contains_key(&v.visit_id))
        .map(|v| (v.form_id.clone(), v.form_version))
        .filter(|key| !model.metas.contains_key(key))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Reads each form of [`forms_to_read`] for the list; the list is drawn again once each is in.
pub fn read_list_forms(model: &Model) -> Cmd {
    let loads: Vec<Cmd> = forms_to_read(model)
        .into_iter()
        .map(|key| {
            let op = StoreOperation::LoadForm {
                form_id: key.0.clone(),
                version: key.1,
            };
            Command::request_from_shell(op)
                .then_send(move |result| Event::ListFormLoaded { key, result })
        })
        .collect();
    Command::all(loads)
}

/// A form read for the list: kept (compiled) and the list drawn again; a form that cannot be read leaves the list
/// as it is (the visit's own opening says why).
pub fn list_form_loaded(model: &mut Model, key: (String, u32), result: StoreOutput) -> Cmd {
    if let Ok(StoreReply::Form(form)) = result
        && let Ok(compiled) = tepat_form::compile(*form)
    {
        model.metas.insert(key, FormMeta::new(compiled));
    }
    render()
}

/// The report's answers as prefill entries: each top-level answer under its field's id and, when the field has
/// one, under its `prefill` key (a report's `region` is the asesmen's `region_code`); a GPS point as
/// `lat lon accuracy`, as typed.
pub fn report_record(report: &FormMeta, answers: &Answers) -> BTreeMap<String, String> {
    let mut record = BTreeMap::new();
    for field in report
        .compiled
        .form()
        .sections
        .iter()
        .flat_map(|s| &s.fields)
    {
        let Some(value) = answers.get(&field.id) else {
            continue;
        };
        let text = match (field.kind, value) {
            (FieldType::Geopoint, Value::Object(point)) => {
                let number = |k: &str| point.get(k).and_then(Value::as_f64);
                match (number("lat"), number("lon"), number("accuracy_m")) {
                    (Some(lat), Some(lon), Some(acc)) => Some(format!("{lat} {lon} {acc}")),
                    (Some(lat), Some(lon), None) => Some(format!("{lat} {lon}")),
                    _ => None,
                }
            }
            (FieldType::Repeat | FieldType::Photo | FieldType::Note, _) => None,
            _ => as_prefill_text(value),
        };
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        if let Some(key) = &field.prefill {
            record.insert(key.clone(), text.clone());
        }
        record.insert(field.id.clone(), text);
    }
    record
}

/// The answers the asesmen (form `meta`) opened from the report `report_id` starts with: the assessor's area, the
/// report's answers where the asesmen's fields prefill from them, and the report's id.
pub fn asesmen_answers(
    model_area: &Assignment,
    meta: &FormMeta,
    report: &FormMeta,
    report_id: Uuid,
    report_answers: &Answers,
    visit_date: chrono::NaiveDate,
) -> Answers {
    let mut values = report_record(report, report_answers);
    // The assessor's own area, where the region choice starts (as for any new case).
    values.extend(model_area.prefill.clone());
    values.insert(REPORT_LINK_FIELD.to_string(), report_id.to_string());
    let form = meta.compiled.form();
    let from = Assignment {
        assignment_id: String::new(),
        form_id: form.id.clone(),
        form_version: form.version,
        region_code: String::new(),
        label: String::new(),
        prefill: values,
        prefill_repeats: BTreeMap::new(),
    };
    prefill(meta, &from, visit_date)
}

/// `UiEvent::StartAsesmenFromReport`: the asesmen of the person a listed, finalised report is about.
pub fn start_asesmen_from_report(model: &mut Model, visit_id: &str) -> Cmd {
    let lang = model.lang;
    let again = Event::Ui(UiEvent::StartAsesmenFromReport {
        visit_id: visit_id.to_string(),
    });
    let found = Uuid::parse_str(visit_id.trim()).ok().and_then(|id| {
        let today = model.today.as_ref()?;
        let visit = today.cases.iter().find(|v| v.visit_id == id)?.clone();
        let needed = today
            .case_details
            .get(&id)
            .and_then(|d| d.get(REPORT_ASESMEN_FIELD))
            .cloned();
        let name = today.case_names.get(&id).cloned();
        let started = today.reports_assessed.contains_key(&id);
        Some((visit, needed, name, started))
    });
    let Some((report, needed, name, started)) = found else {
        let text = say(
            lang,
            "Laporan tidak ada di daftar",
            "Report not in the list",
        );
        notice(model, NoticeLevel::Warning, format!("{text}: {visit_id}"));
        return render();
    };
    let Some(needed) = needed else {
        let text = say(
            lang,
            "Kasus ini bukan laporan: asesmen dimulai sebagai kasus baru.",
            "This case is not a report: an asesmen starts as a new case.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    };
    if !report.state.is_finalised() || report.state == VisitState::Returned {
        let text = say(
            lang,
            "Laporan ini belum final: selesaikan dan finalkan dulu.",
            "This report is not final yet: finish and finalise it first.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    if started {
        let text = say(
            lang,
            "Asesmen dari laporan ini sudah dimulai; lanjutkan dari daftar kasus.",
            "An asesmen was already started from this report; continue it from the case list.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    let report_key = (report.form_id.clone(), report.form_version);
    let Some(report_meta) = model.metas.get(&report_key).cloned() else {
        return load_form(report_key, again);
    };
    let Some(target) = opened_form(&report_meta, &needed) else {
        let text = say(
            lang,
            "Laporan ini menyatakan tidak perlu asesmen.",
            "This report says no asesmen is needed.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    };
    // `forms()` lists the newest version of each form first.
    let Some(version) = model
        .forms
        .iter()
        .find(|f| f.form_id == target)
        .map(|f| f.version)
    else {
        let text = say(lang, "Formulir belum terpasang", "Form not installed");
        notice(model, NoticeLevel::Warning, format!("{text}: {target}"));
        return render();
    };
    let key = (target.clone(), version);
    let Some(meta) = model.metas.get(&key).cloned() else {
        return load_form(key, again);
    };
    let area = new_case_prefill(model, &target, version);
    let report_id = report.visit_id;
    start_case_from(report_id, meta, name, move |meta, record, visit_date| {
        asesmen_answers(
            &area,
            meta,
            &report_meta,
            report_id,
            &record.answers,
            visit_date,
        )
    })
}
