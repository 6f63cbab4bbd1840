//! Progress, exports (CSV, codebook, XLSX) and conflicts: each over the supervisor's regions, through the same
//! functions the API answers with.

use std::collections::BTreeMap;

use crate::db::sql::{Transaction, params};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use tepat_form::{Field, FieldType, Form};
use tepat_protocol::{ProgressResponse, Role, VisitDoc};

use super::i18n::Tr;
use super::visit::display;
use super::{Chrome, ConsoleError, Posted, Staff, csrf_form, html, see_other, work};
use crate::api::AppState;
use crate::db::{self, DbError};
use crate::export::{self, Table};
use crate::forms::{self, FormCache};
use crate::regions::{self, scope_sql};

// ------------------------------------------------------------------------------------------------ progress

/// A village's row.
#[derive(Debug, Clone)]
pub struct VillageRow {
    pub name: String,
    pub code: String,
    pub assigned: u32,
    pub visited: u32,
    /// Visited and not sent back: waiting or approved.
    pub final_count: u32,
    pub approved: u32,
    pub returned: u32,
}

/// A visit to make again (DTSEN outcome 0 "not found" or 5 "not reachable").
#[derive(Debug, Clone)]
pub struct RevisitRow {
    pub visit_id: String,
    pub label: String,
    pub enumerator: String,
    pub village: String,
    pub outcome: String,
    pub visit_date: String,
}

/// Shares of the latest visits, in percent.
#[derive(Debug, Clone, Default)]
pub struct Completeness {
    pub visits: u64,
    pub without_errors: String,
    pub with_gps: String,
    pub with_photo: String,
}

/// Outcome codes that mean the household must be visited again (DOMAIN: revisit list, codes 0 and 5).
pub const REVISIT_OUTCOMES: [&str; 2] = ["0", "5"];
const MAX_REVISITS: i64 = 500;

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "—".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn completeness(tx: &Transaction<'_>, supervisor_id: &str) -> Result<Completeness, DbError> {
    let sql = format!(
        "SELECT count(*), coalesce(sum(CASE WHEN error_count = 0 THEN 1 ELSE 0 END), 0), coalesce(sum(has_gps), 0),
                coalesce(sum(has_photo), 0)
         FROM visits v WHERE v.is_latest = 1 AND {}",
        scope_sql("v.region_code", "?1")
    );
    let (n, clean, gps, photo): (i64, i64, i64, i64) =
        tx.query_row(&sql, [supervisor_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    Ok(Completeness {
        visits: n.max(0) as u64,
        without_errors: percent(clean, n),
        with_gps: percent(gps, n),
        with_photo: percent(photo, n),
    })
}

fn revisits(tx: &Transaction<'_>, supervisor_id: &str) -> Result<Vec<RevisitRow>, DbError> {
    let sql = format!(
        "SELECT v.visit_id, coalesce(a.label, ''), u.name, v.region_code, v.outcome, v.visit_date
         FROM visits v JOIN users u ON u.user_id = v.user_id
              LEFT JOIN assignments a ON a.assignment_id = v.assignment_id
         WHERE v.is_latest = 1 AND v.outcome IN (?2, ?3) AND {}
         ORDER BY v.region_code, v.visit_date LIMIT ?4",
        scope_sql("v.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            supervisor_id,
            REVISIT_OUTCOMES[0],
            REVISIT_OUTCOMES[1],
            MAX_REVISITS
        ],
        |r| {
            let code: String = r.get(3)?;
            Ok(RevisitRow {
                visit_id: r.get(0)?,
                label: r.get(1)?,
                enumerator: r.get(2)?,
                village: format!("{} {code}", regions::name(&code)),
                outcome: r.get(4)?,
                visit_date: r.get(5)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressTemplate {
    t: Tr,
    chrome: Chrome,
    progress: ProgressResponse,
    villages: Vec<VillageRow>,
    revisits: Vec<RevisitRow>,
    completeness: Completeness,
    signals: crate::signals::store::SignalProgress,
}

impl ProgressTemplate {
    fn outcomes(&self, by_outcome: &BTreeMap<String, u32>) -> String {
        by_outcome
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Signal counts by kind, with the kinds' names in the page's language.
    fn signal_kinds(&self, by_kind: &BTreeMap<String, u32>) -> String {
        by_kind
            .iter()
            .map(|(code, n)| {
                let name = crate::signals::Kind::parse(code).map_or(code.as_str(), |k| {
                    let (id, en) = k.label();
                    if self.t.code() == "en" { en } else { id }
                });
                format!("{name}: {n}")
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `GET /progress`: the API's progress ([`crate::progress::progress`]), completeness rates and the revisit list.
pub async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let user_id = staff.user_id().to_string();
    let t = staff.t;
    let chrome = staff.chrome("progress", &uri);
    work(&state, move |app| {
        let (progress, revisits, completeness, signals) = app.db.read(|tx| {
            Ok::<_, DbError>((
                crate::progress::progress(tx, &user_id)?,
                revisits(tx, &user_id)?,
                completeness(tx, &user_id)?,
                crate::signals::store::progress(tx, &user_id)?,
            ))
        })?;
        let villages = progress
            .villages
            .iter()
            .map(|v| VillageRow {
                name: v.name.clone(),
                code: v.region_code.clone(),
                assigned: v.assigned,
                visited: v.visited,
                final_count: v.visited.saturating_sub(v.returned),
                approved: v.approved,
                returned: v.returned,
            })
            .collect();
        Ok(html(
            ProgressTemplate {
                t,
                chrome,
                progress,
                villages,
                revisits,
                completeness,
                signals,
            }
            .render(),
        ))
    })
    .await
}

// ------------------------------------------------------------------------------------------------- exports

#[derive(Debug, Clone)]
pub struct FormChoice {
    pub form_id: String,
    pub title: String,
}

fn published_forms(tx: &Transaction<'_>, t: Tr) -> Result<Vec<FormChoice>, DbError> {
    let ids: Vec<String> = tx
        .prepare_cached("SELECT DISTINCT form_id FROM forms ORDER BY form_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for form_id in ids {
        let versions = forms::versions(tx, &form_id)?;
        let title = versions
            .last()
            .map_or_else(String::new, |f| t.text(&f.title).to_string());
        out.push(FormChoice { form_id, title });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsTemplate {
    t: Tr,
    chrome: Chrome,
    forms: Vec<FormChoice>,
}

/// `GET /exports`.
pub async fn exports(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let t = staff.t;
    let chrome = staff.chrome("exports", &uri);
    work(&state, move |app| {
        let forms = app.db.read(|tx| published_forms(tx, t))?;
        Ok(html(ExportsTemplate { t, chrome, forms }.render()))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    form_id: String,
}

/// Labels of the key and visit columns of both exports.
const FIXED_COLUMNS: &[(&str, &str, &str)] = &[
    ("visit_id", "ID kunjungan (UUID)", "Visit id (UUID)"),
    ("revision", "Revisi", "Revision"),
    (
        "status",
        "Status periksa (submitted, approved, returned)",
        "Review status (submitted, approved, returned)",
    ),
    ("form_version", "Versi formulir", "Form version"),
    ("assignment_id", "ID penugasan", "Assignment id"),
    ("user_id", "ID pencacah", "Enumerator id"),
    (
        "visit_date",
        "Tanggal kunjungan (jam HP)",
        "Visit date (phone clock)",
    ),
    (
        "received_at",
        "Diterima server (UTC)",
        "Received by the server (UTC)",
    ),
    ("error_count", "Jumlah kesalahan", "Errors"),
    ("warning_count", "Jumlah peringatan", "Warnings"),
    (
        "signals",
        "Tanda pemalsuan (kode, dipisah spasi)",
        "Signals of fabrication (codes, space-separated)",
    ),
    (
        "nik",
        "NIK (isian NIK pertama yang dijawab)",
        "NIK (first NIK field answered)",
    ),
    (
        "kk",
        "No. KK (isian KK pertama yang dijawab)",
        "Family card number (first KK field answered)",
    ),
    (
        "province_code",
        "Kode provinsi (Kemendagri)",
        "Province code (Kemendagri)",
    ),
    ("province_name", "Nama provinsi", "Province name"),
    ("regency_code", "Kode kabupaten/kota", "Regency code"),
    ("regency_name", "Nama kabupaten/kota", "Regency name"),
    ("district_code", "Kode kecamatan", "District code"),
    ("district_name", "Nama kecamatan", "District name"),
    ("village_code", "Kode desa/kelurahan", "Village code"),
    ("village_name", "Nama desa/kelurahan", "Village name"),
    (
        "group",
        "Kelompok ulangan (roster)",
        "Repeat group (roster)",
    ),
    (
        "member_no",
        "Nomor urut anggota (mulai 1)",
        "Member number (from 1)",
    ),
];

fn type_name(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text => "text",
        FieldType::Integer => "integer",
        FieldType::Decimal => "decimal",
        FieldType::Date => "date",
        FieldType::SelectOne => "select_one",
        FieldType::SelectMultiple => "select_multiple",
        FieldType::Geopoint => "geopoint",
        FieldType::Photo => "photo",
        FieldType::Nik => "nik",
        FieldType::Kk => "kk",
        FieldType::Region => "region",
        FieldType::Note => "note",
        FieldType::Calculate => "calculate",
        FieldType::Repeat => "repeat",
    }
}

/// The codebook of a form's exports: one row per column (households, members, findings), then one per code of a
/// coded column (choices, review status, repeat groups, finding levels and rules).
/// Columns: table, column, type, label_id, label_en, code, code_label_id, code_label_en.
pub fn codebook(tx: &Transaction<'_>, form_id: &str) -> Result<Option<Vec<Vec<String>>>, DbError> {
    let versions = forms::versions(tx, form_id)?;
    if versions.is_empty() {
        return Ok(None);
    }
    let mut rows = vec![
        [
            "table",
            "column",
            "type",
            "label_id",
            "label_en",
            "code",
            "code_label_id",
            "code_label_en",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (column, id, en) in FIXED_COLUMNS {
        let table = match *column {
            "group" | "member_no" => "members",
            "visit_id" | "revision" => "both",
            c if c.ends_with("_code") || c.ends_with("_name") || c == "nik" || c == "kk" => "both",
            _ => "households",
        };
        rows.push(vec![
            table.into(),
            column.to_string(),
            "fixed".into(),
            id.to_string(),
            en.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        match *column {
            "status" => rows.extend(export::status_codebook_rows(table)),
            // The codes of `group`: the repeats of every version, with their labels.
            "group" => {
                let mut seen = Vec::new();
                for repeat in versions.iter().rev().flat_map(forms::repeats) {
                    if !seen.contains(&repeat.id) {
                        seen.push(repeat.id.clone());
                        rows.push(vec![
                            table.into(),
                            column.to_string(),
                            String::new(),
                            String::new(),
                            String::new(),
                            repeat.id.clone(),
                            repeat.label.id.clone(),
                            repeat.label.en.clone(),
                        ]);
                    }
                }
            }
            _ => {}
        }
    }
    // Every code of the signals column, with its label.
    for kind in crate::signals::Kind::ALL {
        let (id, en) = kind.label();
        rows.push(vec![
            "households".into(),
            "signals".into(),
            String::new(),
            String::new(),
            String::new(),
            kind.as_str().into(),
            id.into(),
            en.into(),
        ]);
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut push_field = |rows: &mut Vec<Vec<String>>, form: &Form, field: &Field, table: &str| {
        let key = (table.to_string(), field.id.clone());
        if seen.contains(&key) {
            return;
        }
        seen.push(key);
        rows.push(vec![
            table.into(),
            field.id.clone(),
            type_name(field.kind).into(),
            field.label.id.clone(),
            field.label.en.clone(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        let choices = field.choices.as_ref().and_then(|l| form.choices.get(l));
        for choice in choices.into_iter().flatten() {
            rows.push(vec![
                table.into(),
                field.id.clone(),
                String::new(),
                String::new(),
                String::new(),
                choice.value.clone(),
                choice.label.id.clone(),
                choice.label.en.clone(),
            ]);
        }
        if field.prefill.is_some() {
            rows.extend(crate::export::prefill_codebook_rows(table, &field.id));
        }
    };
    for form in versions.iter().rev() {
        for field in forms::top_level_fields(form) {
            push_field(&mut rows, form, field, "households");
        }
        for repeat in forms::repeats(form) {
            for child in repeat.fields.iter().filter(|f| forms::holds_answer(f.kind)) {
                push_field(&mut rows, form, child, "members");
            }
        }
    }
    rows.extend(crate::export::paradata_codebook_rows());
    rows.extend(export::findings_codebook_rows(&versions));
    Ok(Some(rows))
}

fn csv_bytes(rows: &[Vec<String>]) -> Result<Vec<u8>, ConsoleError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(|e| {
            tracing::error!(error = %e, "codebook");
            ConsoleError::Internal
        })?;
    }
    writer.into_inner().map_err(|_| ConsoleError::Internal)
}

/// Most rows of one XLSX sheet (the format's own limit is 1,048,576).
pub const MAX_XLSX_ROWS: usize = 1_000_000;

/// The XLSX workbook of a form: households, members, findings and the codebook, one sheet each, from the same CSV
/// export.
pub fn xlsx(
    tx: &Transaction<'_>,
    cache: &FormCache,
    form_id: &str,
    supervisor_id: &str,
) -> Result<Option<Vec<u8>>, ConsoleError> {
    let Some(plan) = export::plan(tx, cache, form_id)? else {
        return Ok(None);
    };
    let Some(book) = codebook(tx, form_id)? else {
        return Ok(None);
    };
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let fail = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "xlsx");
        ConsoleError::Internal
    };
    for (name, table) in [
        ("households", Table::Households),
        ("members", Table::Members),
        ("findings", Table::Findings),
    ] {
        let mut csv_out = Vec::new();
        export::write(tx, &plan, table, supervisor_id, &mut csv_out).map_err(|e| {
            tracing::error!(error = %e, "xlsx export");
            ConsoleError::Internal
        })?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(name).map_err(fail)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&csv_out[..]);
        for (r, record) in reader.records().enumerate() {
            if r >= MAX_XLSX_ROWS {
                return Err(ConsoleError::BadRequest(format!(
                    "more than {MAX_XLSX_ROWS} rows: download the CSV instead"
                )));
            }
            let record = record.map_err(|_| ConsoleError::Internal)?;
            for (c, value) in record.iter().enumerate() {
                // Cells are written as text: codes such as "01" and 16-digit NIKs keep every digit.
                sheet
                    .write_string(r as u32, c as u16, value)
                    .map_err(fail)?;
            }
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("codebook").map_err(fail)?;
    for (r, row) in book.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet
                .write_string(r as u32, c as u16, value)
                .map_err(fail)?;
        }
    }
    workbook.save_to_buffer().map(Some).map_err(fail)
}

fn attachment(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let file: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /exports/{households.csv|members.csv|findings.csv|codebook.csv|workbook.xlsx}?form_id=`.
pub async fn export_file(
    State(state): State<AppState>,
    staff: Staff,
    Path(file): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let form_id = query.form_id;
    let user_id = staff.user_id().to_string();
    match file.as_str() {
        "households.csv" | "members.csv" | "findings.csv" => {
            let table = match file.as_str() {
                "households.csv" => Table::Households,
                "members.csv" => Table::Members,
                _ => Table::Findings,
            };
            Ok(
                crate::api::supervisor::export(state, staff.caller(), form_id, table)
                    .await
                    .into_response(),
            )
        }
        "codebook.csv" => {
            let name = format!("{form_id}_codebook.csv");
            work(&state, move |app| {
                let rows = app
                    .db
                    .read(|tx| codebook(tx, &form_id))?
                    .ok_or(ConsoleError::NotFound)?;
                Ok(attachment(
                    csv_bytes(&rows)?,
                    "text/csv; charset=utf-8",
                    &name,
                ))
            })
            .await
        }
        "workbook.xlsx" => {
            let name = format!("{form_id}.xlsx");
            work(&state, move |app| {
                let bytes = app
                    .db
                    .read(|tx| xlsx(tx, &app.forms, &form_id, &user_id))?
                    .ok_or(ConsoleError::NotFound)?;
                Ok(attachment(
                    bytes,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    &name,
                ))
            })
            .await
        }
        _ => Err(ConsoleError::NotFound),
    }
}

// ----------------------------------------------------------------------------------------------- conflicts

/// One line of the side-by-side comparison.
#[derive(Debug, Clone)]
pub struct CompareLine {
    pub path: String,
    pub stored: String,
    pub other: String,
    pub differs: bool,
}

#[derive(Debug, Clone)]
pub struct ConflictView {
    pub id: i64,
    pub visit_id: String,
    pub revision: u32,
    pub enumerator: String,
    pub stored_received: String,
    pub other_received: String,
    pub other_device: String,
    pub lines: Vec<CompareLine>,
}

fn flat(form: Option<&Form>, doc: &VisitDoc, t: Tr) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let show = |v: &Value, field: Option<&Field>| match form {
        Some(f) => display(f, field, v, t),
        None => v.to_string(),
    };
    let top = |id: &str| {
        form.and_then(|f| {
            f.sections
                .iter()
                .flat_map(|s| s.fields.iter())
                .find(|x| x.id == id)
        })
    };
    for (key, value) in &doc.answers {
        match value {
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                let repeat = top(key);
                for (i, item) in items.iter().enumerate() {
                    for (child, v) in item.as_object().into_iter().flatten() {
                        let field = repeat.and_then(|r| r.fields.iter().find(|f| &f.id == child));
                        out.insert(format!("{key}[{i}].{child}"), show(v, field));
                    }
                }
            }
            _ => {
                out.insert(key.clone(), show(value, top(key)));
            }
        }
    }
    out.insert("visit_date".into(), doc.visit_date.to_string());
    for (path, note) in &doc.warning_notes {
        out.insert(format!("note:{path}"), note.clone());
    }
    out
}

fn conflicts_of(
    tx: &Transaction<'_>,
    cache: &FormCache,
    supervisor_id: &str,
    t: Tr,
) -> Result<Vec<ConflictView>, DbError> {
    let sql = format!(
        "SELECT c.id, c.visit_id, c.revision, c.doc, c.device_id, c.received_at, v.doc, v.received_at, u.name
         FROM conflicts c JOIN visits v ON v.visit_id = c.visit_id AND v.revision = c.revision
              JOIN users u ON u.user_id = v.user_id
         WHERE {} ORDER BY c.seq LIMIT 100",
        scope_sql("c.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map([supervisor_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, visit_id, revision, other, device, other_received, stored, stored_received, name) =
            row?;
        let parse = |s: &str| -> Result<VisitDoc, DbError> {
            serde_json::from_str(s).map_err(|e| DbError::Corrupt(format!("conflict {id}: {e}")))
        };
        let (other, stored) = (parse(&other)?, parse(&stored)?);
        let compiled = cache.get(tx, &stored.form_id, stored.form_version)?;
        let form = compiled.as_ref().map(|c| c.form());
        let (a, b) = (flat(form, &stored, t), flat(form, &other, t));
        let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
        paths.sort();
        paths.dedup();
        let lines = paths
            .into_iter()
            .map(|p| {
                let stored = a.get(p).cloned().unwrap_or_else(|| "—".into());
                let other = b.get(p).cloned().unwrap_or_else(|| "—".into());
                CompareLine {
                    differs: stored != other,
                    path: p.clone(),
                    stored,
                    other,
                }
            })
            .collect();
        out.push(ConflictView {
            id,
            visit_id,
            revision,
            enumerator: name,
            stored_received: stored_received.chars().take(16).collect(),
            other_received: other_received.chars().take(16).collect(),
            other_device: device,
            lines,
        });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "conflicts.html")]
struct ConflictsTemplate {
    t: Tr,
    chrome: Chrome,
    conflicts: Vec<ConflictView>,
    done: bool,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /conflicts`: every conflicting copy in the supervisor's regions beside the stored revision.
pub async fn conflicts(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
    Query(query): Query<DoneQuery>,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Supervisor)?;
    let user_id = staff.user_id().to_string();
    let t = staff.t;
    let chrome = staff.chrome("conflicts", &uri);
    work(&state, move |app| {
        let conflicts = app
            .db
            .read(|tx| conflicts_of(tx, &app.forms, &user_id, t))?;
        Ok(html(
            ConflictsTemplate {
                t,
                chrome,
                conflicts,
                done: query.done.is_some(),
            }
            .render(),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct KeepForm {
    #[serde(default)]
    csrf: String,
    /// `stored` or `other`.
    keep: String,
}
csrf_form!(KeepForm);

/// `POST /conflicts/{id}/keep`: the supervisor keeps one copy. Keeping the stored revision discards the
/// conflicting copy; keeping the conflicting copy (while the stored revision still waits for review) puts its
/// content in the stored revision's place, re-validated by the same rules as any visit. The copy not kept is moved
/// to `conflicts_resolved`, so nothing stored is lost.
pub async fn keep_conflict(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted<KeepForm>,
) -> Result<Response, ConsoleError> {
    posted.staff.require(Role::Supervisor)?;
    let keep_other = match posted.form.keep.as_str() {
        "stored" => false,
        "other" => true,
        other => {
            return Err(ConsoleError::BadRequest(format!(
                "keep: {other:?} is neither stored nor other"
            )));
        }
    };
    let user_id = posted.staff.user_id().to_string();
    work(&state, move |app| {
        app.db.write(|tx| {
            let sql = format!(
                "SELECT c.visit_id, c.revision, c.doc, v.doc, v.status FROM conflicts c
                 JOIN visits v ON v.visit_id = c.visit_id AND v.revision = c.revision
                 WHERE c.id = ?1 AND {}",
                scope_sql("c.region_code", "?2")
            );
            let row: Option<(String, u32, String, String, String)> =
                crate::db::sql::OptionalExtension::optional(tx.query_row(
                    &sql,
                    params![id, user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                ))?;
            let Some((visit_id, revision, other_doc, stored_doc, status)) = row else {
                return Err(ConsoleError::NotFound);
            };
            let now = Utc::now();
            let discarded = if keep_other {
                if status != "submitted" {
                    return Err(ConsoleError::BadRequest(format!(
                        "revision {revision} was already {status}: its content can no longer be replaced"
                    )));
                }
                let doc: VisitDoc = serde_json::from_str(&other_doc)
                    .map_err(|e| DbError::Corrupt(format!("conflict {id}: {e}")))?;
                if !crate::ingest::replace_content(tx, &app.forms, doc, now, &app.limits.signals)? {
                    return Err(ConsoleError::BadRequest(
                        "the conflicting copy does not pass the form's checks; keep the stored one".into(),
                    ));
                }
                stored_doc
            } else {
                other_doc
            };
            tx.execute(
                "INSERT INTO conflicts_resolved (visit_id, revision, kept, discarded_doc, resolved_by, resolved_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    visit_id,
                    revision,
                    if keep_other { "conflicting" } else { "stored" },
                    discarded,
                    user_id,
                    db::timestamp(now)
                ],
            )?;
            tx.execute("DELETE FROM conflicts WHERE id = ?1", [id])?;
            Ok(())
        })
    })
    .await?;
    tracing::info!(conflict = id, keep_other, "conflict resolved (console)");
    Ok(see_other("/conflicts?done=1"))
}
