//! New cases without an assignment (assessors): where a new case's region choice starts, and the follow-up visit of
//! a case, which opens with the case's referrals so that only their status is changed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use crux_core::{Command, render::render};
use serde_json::Value;
use uuid::Uuid;

use super::effects::{StoreOperation, StoreReply};
use super::event::{Event, UiEvent};
use super::form_meta::FormMeta;
use super::text::say;
use super::view_model::NoticeLevel;
use super::visit::{load_form, prefill};
use super::{Cmd, Model, at_now, notice};
use tepat_form::{FieldType, region};
use tepat_protocol::{Answers, Assignment};
use tepat_records::{CASE_ID_FIELD, NewVisit, VisitRecord, VisitState, VisitSummary};

/// The prefill key of the field holding the assessor's area (`work_area`), which a new case's region field is
/// restricted to (`region_within`).
pub const WORK_AREA_PREFILL: &str = "work_area";

/// The deepest region every one of `regions` lies in (`17.71` for `17.71.01` and `17.71.02`); `None` when there
/// is none (no regions, or regions in two provinces).
pub fn common_area(regions: &[String]) -> Option<String> {
    let first = regions.first()?;
    let lineage = region::regions().lineage(first);
    lineage
        .iter()
        .rev()
        .map(|r| r.code.to_string())
        .find(|code| regions.iter().all(|r| region::is_within(r, code)))
}

/// What a new case starts with: the assessor's area (from enrolment) as the work area, so the region choice
/// starts there instead of at the 38 provinces.
pub fn new_case_prefill(model: &Model, form_id: &str, version: u32) -> Assignment {
    let mut prefill = BTreeMap::new();
    let area = model
        .identity
        .as_ref()
        .and_then(|i| common_area(&i.regions));
    if let Some(area) = area {
        prefill.insert(WORK_AREA_PREFILL.to_string(), area);
    }
    Assignment {
        assignment_id: String::new(),
        form_id: form_id.to_string(),
        form_version: version,
        region_code: String::new(),
        label: String::new(),
        prefill,
        prefill_repeats: BTreeMap::new(),
    }
}

/// Starts a new case (no assignment) with the answers `prefill_from` gives (see [`new_case_prefill`]).
pub fn start_case(meta: FormMeta, prefill_from: Assignment) -> Cmd {
    at_now(
        move |at| {
            let visit_date = at.date_naive();
            let answers = prefill(&meta, &prefill_from, visit_date);
            let form = meta.compiled.form();
            let visit = NewVisit {
                form_id: form.id.clone(),
                form_version: form.version,
                assignment_id: None,
                visit_date,
                answers,
            };
            StoreOperation::StartVisit {
                visit,
                repeats: meta.repeats().clone(),
                at,
            }
        },
        move |now, result| Event::VisitOpened {
            now,
            result,
            label: None,
        },
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Follow-up visits of a case (assessors)

/// Starts the follow-up visit of the case whose latest visit is `visit_id` (finalised): the newest version of its
/// form, `case_source` set to the follow-up code (the choice with `attrs.follow_up`), `case_id` to the case's
/// first visit, the earlier visit's answers copied (not its photos or GPS: this visit's own evidence), and every
/// referral carried into the repeat that prefills from it, so only each status is changed.
pub fn follow_up_case(model: &mut Model, visit_id: &str) -> Cmd {
    let lang = model.lang;
    let case = Uuid::parse_str(visit_id.trim()).ok().and_then(|id| {
        let today = model.today.as_ref()?;
        let visit = today.cases.iter().find(|v| v.visit_id == id)?.clone();
        let name = today.case_names.get(&id).cloned();
        Some((visit, name))
    });
    let Some((case, name)) = case else {
        let text = say(lang, "Kasus tidak ada di daftar", "Case not in the list");
        notice(model, NoticeLevel::Warning, format!("{text}: {visit_id}"));
        return render();
    };
    if !case.state.is_finalised() || case.state == VisitState::Returned {
        let text = say(
            lang,
            "Kunjungan kasus ini belum final: lanjutkan atau perbaiki dulu.",
            "This case's visit is not final yet: continue or correct it first.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    let Some(version) = model
        .forms
        .iter()
        .find(|f| f.form_id == case.form_id)
        .map(|f| f.version)
    else {
        let text = say(lang, "Formulir belum terpasang", "Form not installed");
        notice(
            model,
            NoticeLevel::Warning,
            format!("{text}: {}", case.form_id),
        );
        return render();
    };
    let key = (case.form_id.clone(), version);
    let Some(meta) = model.metas.get(&key).cloned() else {
        return load_form(
            key,
            Event::Ui(UiEvent::FollowUpCase {
                visit_id: visit_id.to_string(),
            }),
        );
    };
    if follow_up_code(&meta).is_none() || case_id_field(&meta).is_none() {
        let text = say(
            lang,
            "Formulir ini tidak mempunyai kunjungan lanjutan.",
            "This form has no follow-up visits.",
        );
        notice(model, NoticeLevel::Warning, text);
        return render();
    }
    start_case_from(case.visit_id, meta, name, |meta, record, visit_date| {
        follow_up_answers(meta, &record.summary, &record.answers, visit_date)
    })
}

/// Starts a new case (no assignment) of `meta`'s form from an earlier visit of this phone: loads the earlier
/// visit, then starts the new one with the answers `answers` draws from it; a failed load is reported as the new
/// visit failing to open. The follow-up visit of a case and the asesmen opened from a Satgas report both start so.
pub(crate) fn start_case_from(
    earlier_id: Uuid,
    meta: FormMeta,
    label: Option<String>,
    answers: impl FnOnce(&FormMeta, &VisitRecord, NaiveDate) -> Answers + Send + 'static,
) -> Cmd {
    Command::new(move |ctx| async move {
        let now = ctx.request_from_shell(super::TimeOperation).await;
        let earlier = ctx
            .request_from_shell(StoreOperation::LoadVisit {
                visit_id: earlier_id,
            })
            .await;
        let record = match earlier {
            Ok(StoreReply::Visit(record)) => record,
            other => {
                ctx.send_event(Event::VisitOpened {
                    now,
                    result: other,
                    label,
                });
                return;
            }
        };
        let visit_date = now.date_naive();
        let form = meta.compiled.form();
        let visit = NewVisit {
            form_id: form.id.clone(),
            form_version: form.version,
            assignment_id: None,
            visit_date,
            answers: answers(&meta, &record, visit_date),
        };
        let result = ctx
            .request_from_shell(StoreOperation::StartVisit {
                visit,
                repeats: meta.repeats().clone(),
                at: now,
            })
            .await;
        ctx.send_event(Event::VisitOpened { now, result, label });
    })
}

/// The top-level select_one and code that mark a visit as a follow-up (`case_source` = `6` in the PPKS form).
fn follow_up_code(meta: &FormMeta) -> Option<(String, String)> {
    let form = meta.compiled.form();
    form.sections
        .iter()
        .flat_map(|s| &s.fields)
        .filter(|f| f.kind == FieldType::SelectOne)
        .find_map(|f| {
            let list = form.choices.get(f.choices.as_deref()?)?;
            let choice = list
                .iter()
                .find(|c| c.attrs.get("follow_up").is_some_and(|v| v == "true"))?;
            Some((f.id.clone(), choice.value.clone()))
        })
}

/// The top-level field the phone fills with the case's id ([`CASE_ID_FIELD`] as its prefill key).
fn case_id_field(meta: &FormMeta) -> Option<String> {
    meta.compiled
        .form()
        .sections
        .iter()
        .flat_map(|s| &s.fields)
        .find(|f| f.prefill.as_deref() == Some(CASE_ID_FIELD))
        .map(|f| f.id.clone())
}

/// An answer as the text a prefill record holds (codes, dates, text; several codes separated by spaces).
pub(crate) fn as_prefill_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// `${name}` references of an expression.
fn references(expr: &str) -> Vec<&str> {
    expr.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// The answers a follow-up of the case starts with (see [`follow_up_case`]).
fn follow_up_answers(
    meta: &FormMeta,
    earlier: &VisitSummary,
    earlier_answers: &Answers,
    visit_date: NaiveDate,
) -> Answers {
    let form = meta.compiled.form();
    let top: Vec<&tepat_form::Field> = form.sections.iter().flat_map(|s| &s.fields).collect();
    let is_repeat = |id: &str| {
        top.iter()
            .any(|f| f.id == id && f.kind == FieldType::Repeat)
    };
    // A carried repeat prefills from another repeat of the form (its prefill key is that repeat's id).
    let carried: Vec<(&tepat_form::Field, &str)> = top
        .iter()
        .filter(|f| f.kind == FieldType::Repeat)
        .filter_map(|f| {
            let source = f.prefill.as_deref().filter(|key| is_repeat(key))?;
            Some((*f, source))
        })
        .collect();
    let mut skip: BTreeSet<String> = BTreeSet::new();
    let mut records: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for (field, source) in &carried {
        skip.insert(field.id.clone());
        skip.insert(source.to_string());
        let source_field = top.iter().find(|f| f.id == *source);
        // The question that opens the source repeat is asked again at this visit.
        if let Some(relevant) = source_field.and_then(|f| f.relevant.as_deref()) {
            skip.extend(references(relevant).into_iter().map(str::to_string));
        }
        let members = |id: &str| -> Vec<serde_json::Map<String, Value>> {
            earlier_answers
                .get(id)
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(|m| m.as_object().cloned()).collect())
                .unwrap_or_default()
        };
        let mut list = Vec::new();
        // Members carried to the earlier visit: each child's value under its prefill key, an editable child's
        // (the status now) over a read-only one's (the status before).
        for member in members(&field.id) {
            let mut record = BTreeMap::new();
            for read_only in [true, false] {
                for child in field.fields.iter().filter(|c| c.read_only == read_only) {
                    let (Some(key), Some(text)) = (
                        child.prefill.as_ref(),
                        member.get(&child.id).and_then(as_prefill_text),
                    ) else {
                        continue;
                    };
                    record.insert(key.clone(), text);
                }
            }
            list.push(record);
        }
        // Members made at the earlier visit: each child's value under its own id.
        for member in members(source) {
            let record: BTreeMap<String, String> = member
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), as_prefill_text(v)?)))
                .collect();
            list.push(record);
        }
        if !list.is_empty() {
            records.insert(field.prefill.clone().unwrap_or_default(), list);
        }
    }
    let mut answers = Answers::new();
    for field in &top {
        let evidence = matches!(
            field.kind,
            FieldType::Photo | FieldType::Geopoint | FieldType::Note | FieldType::Calculate
        );
        if evidence || skip.contains(&field.id) {
            continue;
        }
        if let Some(value) = earlier_answers.get(&field.id) {
            answers.insert(field.id.clone(), value.clone());
        }
    }
    let case_id = earlier_answers
        .get(CASE_ID_FIELD)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map_or_else(|| earlier.visit_id.to_string(), str::to_string);
    let mut values = BTreeMap::new();
    values.insert(CASE_ID_FIELD.to_string(), case_id);
    let assignment = Assignment {
        assignment_id: String::new(),
        form_id: form.id.clone(),
        form_version: form.version,
        region_code: String::new(),
        label: String::new(),
        prefill: values,
        prefill_repeats: records,
    };
    // The carried repeats and the case id go through the form's own prefill (typed by the form engine).
    for (id, value) in prefill(meta, &assignment, visit_date) {
        answers.insert(id, value);
    }
    if let Some((field, code)) = follow_up_code(meta) {
        answers.insert(field, Value::String(code));
    }
    answers
}
