//! Builds the [`ViewModel`] from the model: only what the current screen shows, in the user's language.

use std::collections::HashMap;

use serde_json::Value;

use super::form_meta::FormMeta;
use super::text::{self, say};
use super::view_model::*;
use super::visit::{OpenVisit, Waiting, blocked_reason};
use super::{DAILY_TARGET, Model, Showing, TransportErrorKind};
use tepat_form::paths::parse_path;
use tepat_form::{Field, FieldType, Finding, Lang, Level, RegionLevel, Requirement, region};
use tepat_records::{TodayItem, VisitState, VisitSummary};

pub fn view(model: &Model) -> ViewModel {
    let lang = model.lang;
    let today = || match &model.today {
        Some(_) => Screen::Today(today_view(model)),
        None => Screen::Loading,
    };
    let screen = match (model.showing, &model.visit) {
        (Showing::Loading, _) => Screen::Loading,
        (Showing::Today, _) | (_, None) => today(),
        (Showing::Visit, Some(visit)) => Screen::Visit(visit_view(visit, lang)),
        (Showing::Finalise, Some(visit)) => Screen::Finalise(finalise_view(visit, lang)),
    };
    let user = model
        .identity
        .as_ref()
        .map(|i| format!("{} · {}", i.name, text::role(lang, i.role)));
    ViewModel {
        lang,
        screen,
        user,
        sync: sync_view(model),
        notice: model.notice.clone(),
    }
}

fn sync_view(model: &Model) -> SyncView {
    let lang = model.lang;
    let status = &model.sync;
    let offset = model.now.map(|n| *n.offset());
    let last_success = status.last_success_at.map(|t| text::moment(t, offset));
    let last_error =
        status
            .last_error_code
            .as_deref()
            .map(|code| match TransportErrorKind::from_code(code) {
                Some(kind) => text::transport_error(lang, kind),
                None => status
                    .last_error
                    .clone()
                    .unwrap_or_else(|| code.to_string()),
            });
    let enrolled = model.identity.is_some();
    let summary = if model.syncing {
        say(lang, "Sedang sinkronisasi…", "Syncing…")
    } else if !enrolled {
        say(
            lang,
            "Belum terdaftar: data disimpan di ponsel",
            "Not enrolled: data is kept on the phone",
        )
    } else {
        let waiting = if status.outbox == 0 {
            say(lang, "Semua kunjungan terkirim", "All visits sent")
        } else {
            say(
                lang,
                &format!("{} kunjungan menunggu dikirim", status.outbox),
                &format!("{} visit(s) waiting to be sent", status.outbox),
            )
        };
        match (&last_success, &last_error) {
            (_, Some(_)) => format!(
                "{waiting} · {}",
                say(lang, "sinkronisasi terakhir gagal", "last sync failed")
            ),
            (Some(at), None) => format!("{waiting} · {} {at}", say(lang, "terakhir", "last")),
            (None, None) => format!(
                "{waiting} · {}",
                say(lang, "belum pernah sinkronisasi", "never synced")
            ),
        }
    };
    let photos_text = (status.photos_waiting > 0).then(|| {
        // Kilobytes of 1000 bytes, rounded up: "0 KB" never shows while a byte still waits.
        let kb = status.photo_bytes_waiting.div_ceil(1000);
        say(
            lang,
            &format!("{} foto, {kb} KB belum terkirim", status.photos_waiting),
            &format!("{} photo(s), {kb} KB not sent yet", status.photos_waiting),
        )
    });
    let summary = match &photos_text {
        Some(photos) if !model.syncing && enrolled => format!("{summary} · {photos}"),
        _ => summary,
    };
    SyncView {
        photos_waiting: status.photos_waiting,
        photo_bytes_waiting: status.photo_bytes_waiting,
        photos_text,
        outbox: status.outbox,
        held: status.held,
        syncing: model.syncing,
        can_sync: enrolled && !model.syncing,
        last_success,
        last_error,
        summary,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Today

fn item_status(latest: Option<&VisitSummary>) -> ItemStatus {
    let Some(visit) = latest else {
        return ItemStatus::NotStarted;
    };
    match visit.state {
        VisitState::Draft if visit.revision > 1 => ItemStatus::Correcting,
        VisitState::Draft => ItemStatus::Draft,
        VisitState::Returned => ItemStatus::Returned,
        _ if visit.revisit => ItemStatus::Revisit,
        VisitState::Final if visit.reject_reason.is_some() => ItemStatus::Refused,
        VisitState::Final | VisitState::Sent => ItemStatus::InOutbox,
        VisitState::Accepted => ItemStatus::Accepted,
        VisitState::Approved => ItemStatus::Approved,
    }
}

fn status_words(lang: Lang, status: ItemStatus, latest: Option<&VisitSummary>) -> (String, String) {
    let revision = latest.map(|v| v.revision).unwrap_or(1);
    let (status_text, action) = match status {
        ItemStatus::NotStarted => (
            say(lang, "Belum dikunjungi", "Not visited"),
            say(lang, "Mulai", "Start"),
        ),
        ItemStatus::Draft => (
            say(lang, "Draf", "Draft"),
            say(lang, "Lanjutkan", "Continue"),
        ),
        ItemStatus::Correcting => (
            say(
                lang,
                &format!("Sedang diperbaiki (revisi {revision})"),
                &format!("Being corrected (revision {revision})"),
            ),
            say(lang, "Lanjutkan", "Continue"),
        ),
        ItemStatus::Returned => (
            say(
                lang,
                "Dikembalikan untuk diperbaiki",
                "Returned for correction",
            ),
            say(lang, "Perbaiki", "Correct"),
        ),
        ItemStatus::Revisit => (
            say(lang, "Perlu kunjungan ulang", "Needs another visit"),
            say(lang, "Kunjungi lagi", "Visit again"),
        ),
        ItemStatus::Refused => {
            let reason = latest
                .and_then(|v| v.reject_reason.as_deref())
                .map(|r| text::reject_reason(lang, r))
                .unwrap_or_default();
            (
                format!(
                    "{}: {reason}",
                    say(lang, "Ditolak server", "Refused by the server")
                ),
                say(lang, "Lihat", "View"),
            )
        }
        ItemStatus::InOutbox => (
            say(lang, "Menunggu dikirim", "Waiting to be sent"),
            say(lang, "Lihat", "View"),
        ),
        ItemStatus::Accepted => (say(lang, "Terkirim", "Sent"), say(lang, "Lihat", "View")),
        ItemStatus::Approved => (
            say(lang, "Disetujui", "Approved"),
            say(lang, "Lihat", "View"),
        ),
    };
    (status_text, action)
}

/// Order on the list: what needs the enumerator first.
fn status_rank(status: ItemStatus) -> u8 {
    match status {
        ItemStatus::Returned | ItemStatus::Correcting => 0,
        ItemStatus::Draft => 1,
        ItemStatus::NotStarted => 2,
        ItemStatus::Revisit => 3,
        ItemStatus::Refused => 4,
        ItemStatus::InOutbox => 5,
        ItemStatus::Accepted => 6,
        ItemStatus::Approved => 7,
    }
}

/// `Padang Harapan, Gading Cempaka` for a village code (the code itself when unknown).
pub fn region_place(code: &str) -> String {
    let lineage = region::regions().lineage(code);
    let names: Vec<&str> = lineage.iter().rev().take(2).map(|r| r.name).collect();
    if names.is_empty() {
        code.to_string()
    } else {
        names.join(", ")
    }
}

fn item_view(lang: Lang, item: &TodayItem) -> TodayItemView {
    let latest = item.latest.as_ref();
    let status = item_status(latest);
    let (status_text, action_text) = status_words(lang, status, latest);
    let a = &item.assignment.assignment;
    TodayItemView {
        assignment_id: a.assignment_id.clone(),
        label: a.label.clone(),
        region: region_place(&a.region_code),
        status,
        status_text,
        action_text,
        visit_id: latest.map(|v| v.visit_id.to_string()),
        supervisor_comment: latest.and_then(|v| v.supervisor_comment.clone()),
        withdrawn_text: item.assignment.withdrawn.then(|| {
            say(
                lang,
                "Tugas ditarik server; draf tetap disimpan",
                "Assignment withdrawn by the server; the draft is kept",
            )
        }),
        nik: registered(a, "head_nik"),
        address: registered(a, "address"),
        rt: registered(a, "rt"),
        rw: registered(a, "rw"),
        dusun: registered(a, "dusun"),
    }
}

/// A value of the assignment's registered record, unless it is blank.
fn registered(assignment: &tepat_protocol::Assignment, key: &str) -> Option<String> {
    assignment
        .prefill
        .get(key)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

fn form_title(model: &Model, form_id: &str, version: u32) -> String {
    model
        .forms
        .iter()
        .find(|f| f.form_id == form_id && f.version == version)
        .map(|f| f.title.get(model.lang).to_string())
        .unwrap_or_else(|| format!("{form_id} v{version}"))
}

fn today_view(model: &Model) -> TodayView {
    let lang = model.lang;
    let empty = tepat_records::Today::default();
    let today = model.today.as_ref().unwrap_or(&empty);
    let mut items: Vec<TodayItemView> = today.items.iter().map(|i| item_view(lang, i)).collect();
    items.sort_by_key(|i| status_rank(i.status));
    let cases = today
        .cases
        .iter()
        .map(|v| {
            let status = item_status(Some(v));
            let (status_text, action) = status_words(lang, status, Some(v));
            let report = crate::report::report_line(model, today, v);
            let is_final = v.state.is_finalised() && v.state != VisitState::Returned;
            // A report is not followed up: the asesmen it asks for follows it.
            let can_follow_up = is_final && report.is_none();
            let can_start_asesmen = is_final
                && report
                    .as_ref()
                    .is_some_and(|r| r.opens.is_some() && !r.assessed);
            let action_text = if can_start_asesmen {
                say(lang, "Mulai asesmen", "Start the asesmen")
            } else if can_follow_up {
                say(lang, "Kunjungan lanjutan", "Follow-up visit")
            } else {
                action
            };
            let form_title = form_title(model, &v.form_id, v.form_version);
            let name = today.case_names.get(&v.visit_id).cloned();
            let title = match &report {
                Some(r) => {
                    let name =
                        name.unwrap_or_else(|| say(lang, "nama tidak diketahui", "name not known"));
                    match &r.urgency {
                        Some(urgency) => format!(
                            "{form_title}: {name}, {} {}",
                            say(lang, "urgensi", "urgency"),
                            urgency.to_lowercase()
                        ),
                        None => format!("{form_title}: {name}"),
                    }
                }
                None => name.unwrap_or_else(|| say(lang, "Kasus baru", "New case")),
            };
            let asesmen_text = report.as_ref().map(|r| match (&r.opens, r.assessed) {
                (_, true) => say(lang, "Asesmen sudah dimulai", "Asesmen started"),
                (Some(_), false) => say(
                    lang,
                    "Perlu asesmen, belum dimulai",
                    "Asesmen needed, not started",
                ),
                (None, false) => say(lang, "Tidak perlu asesmen", "No asesmen needed"),
            });
            CaseView {
                visit_id: v.visit_id.to_string(),
                title,
                date: text::date(v.visit_date),
                form_title,
                status,
                status_text,
                action_text,
                can_follow_up,
                supervisor_comment: v.supervisor_comment.clone(),
                asesmen_text,
                can_start_asesmen,
            }
        })
        .collect();
    // Only the forms this user's role may start without an assignment (each form says which roles may), each
    // by its newest version (listed first).
    let mut case_forms: Vec<FormChoiceView> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for form in &model.forms {
        if seen.contains(&form.form_id.as_str()) {
            continue;
        }
        seen.push(&form.form_id);
        if crate::visit::may_start_without_assignment(model, form) {
            case_forms.push(FormChoiceView {
                form_id: form.form_id.clone(),
                version: form.version,
                title: form.title.get(lang).to_string(),
            });
        }
    }
    let c = today.counts;
    // The target belongs to the role: pendamping PKH aim for 12 visits a day, a TKSK's asesmen has none. A phone
    // nobody enrolled yet (training) shows the enumerator's.
    let target = model
        .identity
        .as_ref()
        .map_or(Some(DAILY_TARGET), |i| i.role.daily_target());
    let counts = TodayCountsView {
        done_today: c.done_today,
        target,
        drafts: c.drafts,
        in_outbox: c.in_outbox,
        returned: c.returned,
        revisits: c.revisits,
    };
    let progress_text = match target {
        Some(target) => say(
            lang,
            &format!("{} dari {target} kunjungan selesai hari ini", c.done_today),
            &format!("{} of {target} visits done today", c.done_today),
        ),
        None => say(
            lang,
            &format!("{} kunjungan selesai hari ini", c.done_today),
            &format!("{} visit(s) done today", c.done_today),
        ),
    };
    let date = model
        .now
        .map(|n| text::day(lang, n.date_naive()))
        .unwrap_or_default();
    TodayView {
        date,
        counts,
        progress_text,
        items,
        cases,
        case_forms,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Visit

/// The household (assignment label); for a case, the client's name as answered so far, else `Kasus baru`.
fn visit_title(visit: &OpenVisit, lang: Lang) -> String {
    if let Some(label) = &visit.label
        && visit.summary.assignment_id.is_some()
    {
        return label.clone();
    }
    visit
        .session
        .value(tepat_records::CASE_NAME_FIELD)
        .and_then(|v| v.as_str().map(|name| name.trim().to_string()))
        .filter(|name| !name.is_empty())
        .or_else(|| visit.label.clone())
        .unwrap_or_else(|| say(lang, "Kasus baru", "New case"))
}

fn state_text(lang: Lang, summary: &VisitSummary) -> String {
    match summary.state {
        VisitState::Draft if summary.revision > 1 => say(
            lang,
            &format!("Draf revisi {}", summary.revision),
            &format!("Draft, revision {}", summary.revision),
        ),
        VisitState::Draft => say(lang, "Draf", "Draft"),
        VisitState::Final => say(lang, "Final, menunggu dikirim", "Final, waiting to be sent"),
        VisitState::Sent => say(
            lang,
            "Dikirim, menunggu tanda terima",
            "Sent, waiting for a receipt",
        ),
        VisitState::Accepted => say(lang, "Diterima server", "Received by the server"),
        VisitState::Approved => say(lang, "Disetujui supervisor", "Approved by the supervisor"),
        VisitState::Returned => say(
            lang,
            "Dikembalikan untuk diperbaiki",
            "Returned for correction",
        ),
    }
}

/// Findings grouped by path, plus counts per section and per member prefix.
struct FindingIndex {
    by_path: HashMap<String, Vec<Finding>>,
    all: Vec<Finding>,
}

impl FindingIndex {
    /// The findings the visit's pages show: those about what was answered (a wrong answer, a roster rule once
    /// there are members); what is still missing shows once the enumerator has looked at the review, not for
    /// every untouched question the moment the family is found.
    fn new(visit: &OpenVisit) -> FindingIndex {
        let all: Vec<Finding> = visit
            .session
            .findings()
            .into_iter()
            .filter(|f| visit.reviewed || was_answered(visit, &f.path))
            .collect();
        let mut by_path: HashMap<String, Vec<Finding>> = HashMap::new();
        for finding in &all {
            by_path
                .entry(finding.path.clone())
                .or_default()
                .push(finding.clone());
        }
        FindingIndex { by_path, all }
    }

    fn count(&self, level: Level, keep: impl Fn(&Finding) -> bool) -> u32 {
        self.all
            .iter()
            .filter(|f| f.level == level && keep(f))
            .count() as u32
    }
}

fn visit_view(visit: &OpenVisit, lang: Lang) -> VisitView {
    let form = visit.meta.compiled.form();
    let findings = FindingIndex::new(visit);
    let visible = visit.visible_sections();
    // The current section may have become hidden by an answer: show the next one that applies.
    let position = visible
        .iter()
        .position(|s| *s >= visit.section)
        .unwrap_or(visible.len().saturating_sub(1));
    let section_index = visible.get(position).copied().unwrap_or(visit.section);
    let sections = visible
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let section = form.sections.get(*s)?;
            let in_section = |f: &Finding| visit.meta.section_of(&f.path) == Some(*s);
            Some(SectionTab {
                index: i as u32,
                title: section.title.get(lang).to_string(),
                current: *s == section_index,
                errors: findings.count(Level::Error, in_section),
                warnings: findings.count(Level::Warning, in_section),
            })
        })
        .collect();
    let section_title = form
        .sections
        .get(section_index)
        .map(|s| s.title.get(lang).to_string())
        .unwrap_or_default();
    let prefix = visit.page_prefix();
    let (page_fields, member) = match visit.members.last() {
        Some((repeat, index)) => {
            let entry = visit.meta.field_at(repeat);
            let fields: &[Field] = entry.map(|e| e.field.fields.as_slice()).unwrap_or_default();
            let label = entry
                .map(|e| e.field.label.get(lang).to_string())
                .unwrap_or_default();
            let count = visit.member_count(repeat);
            let title = format!(
                "{label} {} {} {count}{}",
                index + 1,
                say(lang, "dari", "of"),
                member_name(visit, repeat, *index)
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            );
            (
                fields,
                Some(MemberPage {
                    repeat_path: repeat.clone(),
                    index: *index as u32,
                    title,
                }),
            )
        }
        None => (
            form.sections
                .get(section_index)
                .map(|s| s.fields.as_slice())
                .unwrap_or_default(),
            None,
        ),
    };
    // A calculated value (an age, a count) is the form's own working, never a question: not shown.
    let fields = page_fields
        .iter()
        .filter(|field| field.kind != FieldType::Calculate)
        .filter_map(|field| {
            let path = format!("{prefix}{}", field.id);
            visit
                .session
                .is_relevant(&path)
                .then(|| field_view(visit, field, path, &findings, lang))
        })
        .collect();
    let banner = if visit.withdrawn {
        Some(say(
            lang,
            "Tugas ini sudah ditarik server. Draf tetap disimpan; tanyakan supervisor sebelum melanjutkan.",
            "This assignment was withdrawn by the server. The draft is kept; ask your supervisor before going on.",
        ))
    } else {
        visit.summary.reject_reason.as_ref().map(|r| {
            format!(
                "{}: {}",
                say(lang, "Ditolak server", "Refused by the server"),
                text::reject_reason(lang, r)
            )
        })
    };
    let waiting_for = visit.waiting.as_ref().map(|w| match w {
        Waiting::Location(_) => say(lang, "Menunggu lokasi GPS…", "Waiting for a GPS fix…"),
        Waiting::Photo(_) => say(lang, "Menunggu foto…", "Waiting for the photo…"),
    });
    VisitView {
        visit_id: visit.summary.visit_id.to_string(),
        form_title: form.title.get(lang).to_string(),
        title: visit_title(visit, lang),
        revision: visit.summary.revision,
        state_text: state_text(lang, &visit.summary),
        read_only: !visit.editable(),
        can_edit_again: visit.summary.state == VisitState::Final,
        supervisor_comment: visit.summary.supervisor_comment.clone(),
        supervisor_field: pinned_field_words(visit, lang),
        banner,
        sections,
        section: position as u32,
        section_title,
        member,
        fields,
        can_previous: position > 0 || !visit.members.is_empty(),
        can_next: position + 1 < visible.len(),
        errors: findings.count(Level::Error, |_| true),
        warnings: findings.count(Level::Warning, |_| true),
        waiting_for,
    }
}

/// The first text answer of a member (its name, in practice).
fn member_name(visit: &OpenVisit, repeat: &str, index: usize) -> Option<String> {
    let entry = visit.meta.field_at(repeat)?;
    entry
        .field
        .fields
        .iter()
        .filter(|f| f.kind == FieldType::Text)
        .find_map(|f| {
            let value = visit
                .session
                .value(&format!("{repeat}[{index}].{}", f.id))?;
            value
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        })
}

fn field_view(
    visit: &OpenVisit,
    field: &Field,
    path: String,
    findings: &FindingIndex,
    lang: Lang,
) -> FieldView {
    let value = visit.session.value(&path).filter(|v| !v.is_null());
    let own: Vec<FindingView> = findings
        .by_path
        .get(&path)
        .map(|list| {
            list.iter()
                .map(|f| FindingView {
                    path: f.path.clone(),
                    level: f.level,
                    rule: f.rule.clone(),
                    text: without_label(f.message.get(lang), field.label.get(lang)),
                })
                .collect()
        })
        .unwrap_or_default();
    let choices = match field.kind {
        FieldType::SelectOne | FieldType::SelectMultiple => visit
            .session
            .choices(&path)
            .into_iter()
            .map(|c| ChoiceView {
                selected: is_selected(value.as_ref(), &c.value),
                label: c.label.get(lang).to_string(),
                code: c.value,
            })
            .collect(),
        _ => Vec::new(),
    };
    let region = if field.kind == FieldType::Region {
        region_levels(visit, field, &path, value.as_ref(), lang)
    } else {
        Vec::new()
    };
    let members = if field.kind == FieldType::Repeat {
        (0..visit.member_count(&path))
            .map(|i| {
                let prefix = format!("{path}[{i}].");
                let inside = |f: &Finding| f.path.starts_with(&prefix);
                let name = member_name(visit, &path, i);
                MemberSummary {
                    index: i as u32,
                    title: match name {
                        Some(name) => format!("{}. {name}", i + 1),
                        None => format!(
                            "{}. {}",
                            i + 1,
                            say(lang, "(belum ada nama)", "(no name yet)")
                        ),
                    },
                    errors: findings.count(Level::Error, inside),
                    warnings: findings.count(Level::Warning, inside),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let required = match &field.required {
        Requirement::Always(required) => *required,
        Requirement::When(_) => own.iter().any(|f| f.rule == "required"),
    };
    let display = value
        .as_ref()
        .and_then(|v| display(field.kind, v, &choices, members.len(), lang));
    let editable = visit.editable()
        && !field.read_only
        && !matches!(field.kind, FieldType::Note | FieldType::Calculate);
    let can_add_member = editable
        && field.kind == FieldType::Repeat
        && field
            .max_count
            .is_none_or(|max| (members.len() as u32) < max);
    FieldView {
        field_id: field.id.clone(),
        kind: field.kind,
        label: field.label.get(lang).to_string(),
        hint: field.hint.as_ref().map(|h| h.get(lang).to_string()),
        required,
        read_only: !editable,
        display,
        answer: answer_view(field.kind, value.as_ref()),
        choices,
        region,
        can_add_member,
        members,
        findings: own,
        input_error: visit.input_errors.get(&path).cloned(),
        note: visit.notes.get(&path).cloned(),
        prefill: visit.prefill_mark(&path),
        supervisor_comment: pinned_comment(visit, &path),
        keyboard: keyboard(field),
        path,
    }
}

/// A finding as shown under its own field: the engine writes "Label: problem" (for lists that name the field),
/// but under the label the problem alone reads right.
fn without_label(message: &str, label: &str) -> String {
    message
        .strip_prefix(label)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}

/// The supervisor's comment when the return was pinned to exactly this answer path.
fn pinned_comment(visit: &OpenVisit, path: &str) -> Option<String> {
    let summary = &visit.summary;
    summary
        .supervisor_comment
        .clone()
        .filter(|_| summary.supervisor_field.as_deref() == Some(path))
}

/// Where a return's comment is pinned, in words: the field's label, and the member for a roster's field
/// (`members[1].nik` → `NIK · anggota 2`). The path itself when the form has no such field.
fn pinned_field_words(visit: &OpenVisit, lang: Lang) -> Option<String> {
    visit.summary.supervisor_comment.as_ref()?;
    let path = visit.summary.supervisor_field.as_deref()?;
    let Some(entry) = visit.meta.field_at(path) else {
        return Some(path.to_string());
    };
    let label = entry.field.label.get(lang).to_string();
    // The member's number: the index in the path's last bracket (`members[1].nik` → 2).
    let member = path
        .rsplit_once(']')
        .and_then(|(head, _)| head.rsplit_once('['))
        .and_then(|(_, index)| index.parse::<usize>().ok());
    Some(match member {
        Some(index) => format!("{label} · {} {}", say(lang, "anggota", "member"), index + 1),
        None => label,
    })
}

/// The keyboard a field's answer is typed on (see [`Keyboard`]).
pub(crate) fn keyboard(field: &Field) -> Keyboard {
    match field.kind {
        FieldType::Nik | FieldType::Kk => Keyboard::Digits,
        FieldType::Integer => Keyboard::Integer,
        FieldType::Decimal => Keyboard::Decimal,
        FieldType::Date => Keyboard::Date,
        FieldType::Text => {
            let patterns: Vec<&str> = field
                .constraints
                .iter()
                .filter_map(|c| format_pattern(&c.expr))
                .collect();
            if !patterns.is_empty() && patterns.iter().all(|p| pattern_is_digits(p, false)) {
                Keyboard::Digits
            } else if !patterns.is_empty() && patterns.iter().all(|p| pattern_is_digits(p, true)) {
                Keyboard::Phone
            } else if field.max_length.is_some_and(|max| max > LONG_TEXT) {
                Keyboard::LongText
            } else {
                Keyboard::Text
            }
        }
        _ => Keyboard::None,
    }
}

/// The pattern of a format rule written `regex(., '<pattern>')` (the whole rule, nothing else).
fn format_pattern(expr: &str) -> Option<&str> {
    expr.trim()
        .strip_prefix("regex(., '")?
        .strip_suffix("')")
        .filter(|p| !p.contains('\''))
}

/// Whether a format pattern matches only digits (with `plus`: digits and a `+`, as a phone number is written):
/// what is left after removing anchors, groups, alternation, digit classes and counts is digits.
fn pattern_is_digits(pattern: &str, plus: bool) -> bool {
    let mut rest = pattern.to_owned();
    for digits in ["[0-9]", "[1-9]", "\\d"] {
        rest = rest.replace(digits, "");
    }
    if plus {
        rest = rest.replace("[+]", "").replace("\\+", "");
    }
    let mut counts = false;
    rest.chars().all(|c| {
        match c {
            '{' => counts = true,
            '}' => counts = false,
            _ => {}
        }
        // A bare `+` is a count ("one or more"); a literal one was `[+]` or `\\+`.
        counts || c.is_ascii_digit() || "^$()|?*+{},".contains(c)
    })
}

/// Whether `path` holds an answer: a roster counts once it has a member.
fn was_answered(visit: &OpenVisit, path: &str) -> bool {
    if visit
        .meta
        .field_at(path)
        .is_some_and(|e| e.field.kind == FieldType::Repeat)
    {
        return visit.member_count(path) > 0;
    }
    is_answered(visit.session.value(path).as_ref())
}

fn is_answered(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

fn is_selected(value: Option<&Value>, code: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == code,
        Some(Value::Array(codes)) => codes.iter().any(|c| c.as_str() == Some(code)),
        _ => false,
    }
}

fn answer_view(kind: FieldType, value: Option<&Value>) -> AnswerView {
    let Some(value) = value else {
        return AnswerView::Empty;
    };
    let other = || AnswerView::Other {
        json: value.to_string(),
    };
    match (kind, value) {
        (FieldType::Repeat, Value::Array(members)) => AnswerView::Members {
            count: members.len() as u32,
        },
        (FieldType::SelectOne, Value::String(code)) => AnswerView::Choice { code: code.clone() },
        (FieldType::SelectMultiple, Value::Array(codes)) => AnswerView::Choices {
            codes: codes
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
        },
        (FieldType::Date, Value::String(date)) => AnswerView::Date {
            value: date.clone(),
        },
        (FieldType::Region, Value::String(code)) => AnswerView::Region { code: code.clone() },
        (FieldType::Geopoint, Value::Object(point)) => {
            match (
                point.get("lat").and_then(Value::as_f64),
                point.get("lon").and_then(Value::as_f64),
            ) {
                (Some(lat), Some(lon)) => AnswerView::Location {
                    lat,
                    lon,
                    accuracy_m: point
                        .get("accuracy_m")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0),
                },
                _ => other(),
            }
        }
        (FieldType::Photo, Value::Object(photo)) => {
            match (
                photo.get("file").and_then(Value::as_str),
                photo.get("sha256").and_then(Value::as_str),
            ) {
                (Some(file), Some(sha256)) => AnswerView::Photo {
                    file: file.to_string(),
                    sha256: sha256.to_string(),
                },
                _ => other(),
            }
        }
        (_, Value::Number(n)) => n
            .as_f64()
            .map(|value| AnswerView::Number { value })
            .unwrap_or_else(other),
        (_, Value::String(text)) => AnswerView::Text {
            value: text.clone(),
        },
        (_, Value::Bool(b)) => AnswerView::Text {
            value: b.to_string(),
        },
        _ => other(),
    }
}

/// An answer as a person reads it.
fn display(
    kind: FieldType,
    value: &Value,
    choices: &[ChoiceView],
    members: usize,
    lang: Lang,
) -> Option<String> {
    let label = |code: &str| {
        choices
            .iter()
            .find(|c| c.code == code)
            .map(|c| format!("{} ({code})", c.label))
            .unwrap_or_else(|| code.to_string())
    };
    Some(match (kind, value) {
        (FieldType::Repeat, _) => say(
            lang,
            &format!("{members} anggota"),
            &format!("{members} member(s)"),
        ),
        (FieldType::SelectOne, Value::String(code)) => label(code),
        (FieldType::SelectMultiple, Value::Array(codes)) => codes
            .iter()
            .filter_map(Value::as_str)
            .map(label)
            .collect::<Vec<_>>()
            .join(", "),
        (FieldType::Date, Value::String(date)) => date
            .parse()
            .map(text::date)
            .unwrap_or_else(|_: chrono::ParseError| date.clone()),
        (FieldType::Region, Value::String(code)) => {
            let names: Vec<&str> = region::regions()
                .lineage(code)
                .iter()
                .map(|r| r.name)
                .collect();
            if names.is_empty() {
                code.clone()
            } else {
                format!("{} ({code})", names.join(" › "))
            }
        }
        (FieldType::Geopoint, Value::Object(point)) => {
            let lat = point.get("lat").and_then(Value::as_f64)?;
            let lon = point.get("lon").and_then(Value::as_f64)?;
            let accuracy = point
                .get("accuracy_m")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            format!("{lat:.5}, {lon:.5} (±{accuracy:.0} m)")
        }
        (FieldType::Photo, Value::Object(photo)) => {
            let file = photo.get("file").and_then(Value::as_str)?;
            let sha = photo
                .get("sha256")
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!("{file} (sha256 {}…)", sha.get(..12).unwrap_or(sha))
        }
        (_, Value::String(text)) => text.clone(),
        (_, Value::Number(n)) => {
            let shown = n
                .as_f64()
                .map(tepat_form::value::format_num)
                .unwrap_or_else(|| n.to_string());
            // As Indonesians write a decimal (`0,25` gram), which the input reads back the same.
            match lang {
                Lang::Id => shown.replace('.', ","),
                Lang::En => shown,
            }
        }
        (_, Value::Bool(b)) => b.to_string(),
        (_, other) => other.to_string(),
    })
}

/// The region cascade: one entry per level from the top the field allows down to its own level.
fn region_levels(
    visit: &OpenVisit,
    field: &Field,
    path: &str,
    value: Option<&Value>,
    lang: Lang,
) -> Vec<RegionLevelView> {
    let target = field.region_level.unwrap_or(RegionLevel::Village);
    let chosen = value
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| visit.region_picks.get(path).cloned());
    let top = visit.session.region_choices(path, None);
    let Some(start) = top
        .first()
        .and_then(|(code, _)| region::level_of_code(code))
    else {
        return Vec::new();
    };
    let lineage: Vec<String> = chosen
        .as_deref()
        .map(|c| {
            region::regions()
                .lineage(c)
                .iter()
                .map(|r| r.code.to_string())
                .collect()
        })
        .unwrap_or_default();
    let at_level = |level: RegionLevel| {
        lineage
            .iter()
            .find(|c| region::level_of_code(c) == Some(level))
            .cloned()
    };
    let mut levels = Vec::new();
    let mut parent: Option<String> = None;
    for level in [
        RegionLevel::Province,
        RegionLevel::Regency,
        RegionLevel::District,
        RegionLevel::Village,
    ] {
        if level < start || level > target {
            continue;
        }
        let options = if level == start {
            top.clone()
        } else {
            match &parent {
                Some(parent) => visit.session.region_choices(path, Some(parent)),
                None => Vec::new(),
            }
        };
        // A level with a single possible region (above the field's `region_within`) is chosen already.
        let selected = at_level(level).or_else(|| match options.as_slice() {
            [(only, _)] if level < target => Some(only.clone()),
            _ => None,
        });
        let choice = |(code, name): (String, String)| ChoiceView {
            selected: Some(&code) == selected.as_ref(),
            label: name,
            code,
        };
        let selected_view = selected.as_ref().map(|code| ChoiceView {
            code: code.clone(),
            label: region::regions().name(code).unwrap_or(code).to_string(),
            selected: true,
        });
        levels.push(RegionLevelView {
            level: text::region_level(lang, level),
            selected: selected_view,
            choices: options.into_iter().map(choice).collect(),
        });
        parent = selected;
    }
    levels
}

// ---------------------------------------------------------------------------------------------------------------
// Finalise

fn finding_item(
    visit: &OpenVisit,
    meta: &FormMeta,
    finding: &Finding,
    lang: Lang,
    visible: &[usize],
) -> FindingItem {
    let mut label_parts = Vec::new();
    if let Some(segments) = parse_path(&finding.path) {
        for segment in &segments {
            let label = meta
                .entry(segment.field)
                .map(|e| e.field.label.get(lang).to_string());
            let label = label.unwrap_or_else(|| segment.field.to_string());
            match segment.index {
                Some(i) => label_parts.push(format!("{label} {}", i + 1)),
                None => label_parts.push(label),
            }
        }
    }
    let section = meta
        .section_of(&finding.path)
        .and_then(|s| visible.iter().position(|v| *v == s))
        .unwrap_or(0);
    FindingItem {
        path: finding.path.clone(),
        section: section as u32,
        field: label_parts.join(" · "),
        text: finding.message.get(lang).to_string(),
        note: visit.notes.get(&finding.path).cloned(),
    }
}

fn finalise_view(visit: &OpenVisit, lang: Lang) -> FinaliseView {
    let findings = visit.session.findings();
    let visible = visit.visible_sections();
    let items = |level: Level| -> Vec<FindingItem> {
        findings
            .iter()
            .filter(|f| f.level == level)
            .map(|f| finding_item(visit, &visit.meta, f, lang, &visible))
            .collect()
    };
    let blocked_reason = blocked_reason(visit, lang);
    FinaliseView {
        visit_id: visit.summary.visit_id.to_string(),
        title: visit_title(visit, lang),
        errors: items(Level::Error),
        warnings: items(Level::Warning),
        can_finalise: blocked_reason.is_none(),
        blocked_reason,
    }
}
