//! CSV exports for supervisors, keyed by NIK, No. KK and region codes (with names): one row per household
//! (visit) and, in long format, one row per member of each repeat group. The latest revision of each visit in
//! the supervisor's regions, only its relevant answers (hidden fields are not exported) and the calculated
//! values (ages, the head's age, ...) beside them.
//!
//! What is exported of a visit is computed once, at ingest, with its findings (column `exported`), so an export
//! only reads and writes. Visits stored before that column existed are filled by [`backfill`] when the server
//! starts; until then the export computes them itself.
//!
//! Rows are written as they are read from one database snapshot into any `io::Write` (the API streams them in
//! chunks), so memory stays flat however many visits there are.

use std::collections::HashMap;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::db::sql::{Transaction, params};
use serde_json::Value;
use tepat_form::{CompiledForm, FieldType};
use tepat_protocol::{Answers, VisitDoc};

use crate::db::{Db, DbError};
use crate::forms::{self, FormCache};
use crate::regions::{self, scope_sql};

/// Which export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Households,
    Members,
    /// One row per finding of each visit, with the enumerator's note beside the warning it answers.
    Findings,
}

/// The columns of the findings export (the codebook labels them).
pub const FINDING_COLUMNS: [&str; 12] = [
    "visit_id",
    "revision",
    "status",
    "user_id",
    "visit_date",
    "path",
    "field",
    "rule",
    "level",
    "message_id",
    "message_en",
    "note",
];

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("writing the export: {0}")]
    Write(#[from] csv::Error),
}

impl From<crate::db::sql::Error> for ExportError {
    fn from(e: crate::db::sql::Error) -> Self {
        ExportError::Db(e.into())
    }
}

/// The columns of one export of one form: fixed key columns, then the fields of every published version (the
/// newest version's order first, fields only older versions had after).
#[derive(Debug, Clone)]
pub struct Plan {
    pub form_id: String,
    forms: HashMap<u32, CompiledForm>,
    household_fields: Vec<String>,
    member_fields: Vec<String>,
    /// Per version, the top-level NIK fields and No. KK fields in form order: a visit's key is the first one
    /// it answered (relevant only), so a split-off family is keyed by its new KK and any other by its KK.
    nik_fields: HashMap<u32, Vec<String>>,
    kk_fields: HashMap<u32, Vec<String>>,
    repeats: HashMap<u32, Vec<String>>,
    /// Photo fields of any version (top level and inside repeats): their cells show the photo's hash and where the
    /// server stores it, not the file name on the phone.
    photo_fields: std::collections::HashSet<String>,
    /// Fields some version prefills from the assignment (top level and inside repeats): each is followed by its
    /// [`prefill_column`], saying whether the answer is the register's confirmed, changed, or typed.
    prefill_fields: std::collections::HashSet<String>,
}

/// The column beside a prefilled field that says what became of its prefilled answer (`PrefillCell`).
pub fn prefill_column(field: &str) -> String {
    format!("{field}{PREFILL_SUFFIX}")
}

/// Field ids are `[a-z][a-z0-9_]*`; the form loader refuses one ending in this suffix, so no field's column
/// can be taken for another field's prefill column.
pub const PREFILL_SUFFIX: &str = tepat_form::PREFILL_REVIEW_SUFFIX;

/// What a prefill column holds for one answer: the visit's own review of a prefilled answer, or whether an
/// answer nothing prefilled was typed. A field the visit neither prefilled nor answered has an empty cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillCell {
    /// Prefilled from the register and confirmed as it stands ("confirmed unchanged").
    Confirmed,
    /// Prefilled, and the answer now differs from the register (corrected, cleared, or hidden since).
    Changed,
    /// Prefilled and kept, but never confirmed.
    Unconfirmed,
    /// Not prefilled (a new member, an empty register value): the enumerator typed the answer.
    Typed,
}

impl PrefillCell {
    pub const ALL: [PrefillCell; 4] = [
        PrefillCell::Confirmed,
        PrefillCell::Changed,
        PrefillCell::Unconfirmed,
        PrefillCell::Typed,
    ];

    /// The code in the cell.
    pub fn code(self) -> &'static str {
        match self {
            PrefillCell::Confirmed => "confirmed",
            PrefillCell::Changed => "changed",
            PrefillCell::Unconfirmed => "unconfirmed",
            PrefillCell::Typed => "typed",
        }
    }

    /// The code's label (Bahasa Indonesia, English) for the codebook.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            PrefillCell::Confirmed => (
                "Data DTSEN dikonfirmasi, tidak berubah",
                "DTSEN record confirmed unchanged",
            ),
            PrefillCell::Changed => ("Data DTSEN diubah", "DTSEN record changed"),
            PrefillCell::Unconfirmed => (
                "Data DTSEN, belum dikonfirmasi",
                "DTSEN record, not confirmed",
            ),
            PrefillCell::Typed => ("Diketik (bukan dari DTSEN)", "Typed (not from DTSEN)"),
        }
    }

    fn of(review: Option<&str>, answered: bool) -> Option<PrefillCell> {
        match review {
            Some("confirmed") => Some(PrefillCell::Confirmed),
            Some("changed") => Some(PrefillCell::Changed),
            Some("unconfirmed") => Some(PrefillCell::Unconfirmed),
            // A review the server does not know (a newer phone): not guessed at; the answer still shows.
            Some(_) => None,
            None => answered.then_some(PrefillCell::Typed),
        }
    }
}

/// The codebook rows of the prefill column beside `field` (columns as `console::pages::codebook`): the column,
/// then one row per code.
pub fn prefill_codebook_rows(table: &str, field: &str) -> Vec<Vec<String>> {
    let column = prefill_column(field);
    let mut rows = vec![vec![
        table.to_string(),
        column.clone(),
        "prefill_review".to_string(),
        format!("Data DTSEN {field}: dikonfirmasi, diubah, atau diketik"),
        format!("DTSEN record of {field}: confirmed, changed, or typed"),
        String::new(),
        String::new(),
        String::new(),
    ]];
    for code in PrefillCell::ALL {
        let (id, en) = code.label();
        rows.push(vec![
            table.to_string(),
            column.clone(),
            String::new(),
            String::new(),
            String::new(),
            code.code().to_string(),
            id.to_string(),
            en.to_string(),
        ]);
    }
    rows
}

/// One codebook row (columns as `console::pages::codebook`): a column with its type and labels.
fn codebook_column(table: &str, column: &str, kind: &str, id: &str, en: &str) -> Vec<String> {
    [table, column, kind, id, en, "", "", ""]
        .map(String::from)
        .to_vec()
}

/// One codebook row: a code of a column with its labels.
fn codebook_code(table: &str, column: &str, code: &str, id: &str, en: &str) -> Vec<String> {
    [table, column, "", "", "", code, id, en]
        .map(String::from)
        .to_vec()
}

/// The codes of the `status` column (a visit's review status).
pub fn status_codebook_rows(table: &str) -> Vec<Vec<String>> {
    [
        (
            "submitted",
            "Dikirim, belum diperiksa",
            "Submitted, not reviewed yet",
        ),
        (
            "approved",
            "Disetujui supervisor",
            "Approved by the supervisor",
        ),
        (
            "returned",
            "Dikembalikan untuk diperbaiki",
            "Returned for correction",
        ),
    ]
    .iter()
    .map(|(code, id, en)| codebook_code(table, "status", code, id, en))
    .collect()
}

/// A text of the codebook in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodebookText {
    pub id: String,
    pub en: String,
}

/// One code of a coded column, with its labels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodebookCode {
    pub code: String,
    pub label: CodebookText,
}

/// One column of an export: its table, its type and question label, and for a coded column every code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodebookColumn {
    /// `households`, `members`, `findings` or `both` (the key columns of the households and members files).
    pub table: String,
    pub column: String,
    /// The field's type (`select_one`, `integer`, …), `fixed` for the key and visit columns, `prefill_review`,
    /// `paradata`.
    #[serde(rename = "type")]
    pub kind: String,
    pub label: CodebookText,
    /// Empty for a column without codes.
    pub codes: Vec<CodebookCode>,
}

/// The codebook as JSON (`codebook.json`): the content of the CSV codebook, one entry per column with its codes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Codebook {
    pub form_id: String,
    pub columns: Vec<CodebookColumn>,
}

/// The JSON codebook from the CSV codebook's rows (`console::pages::codebook`: a header row, then rows of table,
/// column, type, label_id, label_en, code, code_label_id, code_label_en). A code row goes to its column's entry,
/// which a column row before it opened (or, should none have, one opened with an empty type and label).
pub fn codebook_json(form_id: &str, rows: &[Vec<String>]) -> Codebook {
    let mut columns: Vec<CodebookColumn> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
    let body = match rows.first() {
        Some(first) if first.first().map(String::as_str) == Some("table") => &rows[1..],
        _ => rows,
    };
    for row in body {
        let key = (cell(row, 0), cell(row, 1));
        let at = *index.entry(key.clone()).or_insert_with(|| {
            columns.push(CodebookColumn {
                table: key.0.clone(),
                column: key.1.clone(),
                kind: String::new(),
                label: CodebookText {
                    id: String::new(),
                    en: String::new(),
                },
                codes: Vec::new(),
            });
            columns.len() - 1
        });
        let Some(entry) = columns.get_mut(at) else {
            continue;
        };
        let code = cell(row, 5);
        if code.is_empty() {
            if entry.kind.is_empty() {
                entry.kind = cell(row, 2);
            }
            if entry.label.id.is_empty() && entry.label.en.is_empty() {
                entry.label = CodebookText {
                    id: cell(row, 3),
                    en: cell(row, 4),
                };
            }
        } else {
            entry.codes.push(CodebookCode {
                code,
                label: CodebookText {
                    id: cell(row, 6),
                    en: cell(row, 7),
                },
            });
        }
    }
    Codebook {
        form_id: form_id.to_string(),
        columns,
    }
}

/// Rules the form engine and the server raise by themselves (no constraint of the form names them).
const BUILT_IN_RULES: &[(&str, &str, &str)] = &[
    ("required", "Wajib diisi", "Required"),
    (
        "type",
        "Jawaban tidak sesuai jenisnya",
        "Answer of the wrong kind",
    ),
    (
        "constraint",
        "Syarat tanpa nama aturan",
        "A condition without a rule name",
    ),
    (
        "choice_filter",
        "Pilihan tidak tersedia untuk jawaban lain",
        "Choice not offered given other answers",
    ),
    ("max_length", "Teks terlalu panjang", "Text too long"),
    ("min_count", "Anggota terlalu sedikit", "Too few members"),
    ("max_count", "Anggota terlalu banyak", "Too many members"),
    ("nik_format", "NIK bukan 16 angka", "NIK is not 16 digits"),
    (
        "nik_date",
        "Tanggal lahir dalam NIK tidak ada",
        "The birth date in the NIK does not exist",
    ),
    (
        "nik_serial",
        "Nomor urut NIK 0000",
        "NIK serial number 0000",
    ),
    (
        "nik_prefix",
        "Kode wilayah NIK tidak dikenal",
        "Unknown region prefix of the NIK",
    ),
    (
        "kk_format",
        "No. KK bukan 16 angka",
        "No. KK is not 16 digits",
    ),
    (
        "kk_prefix",
        "Kode wilayah No. KK tidak dikenal",
        "Unknown region prefix of the No. KK",
    ),
    (
        "region",
        "Kode wilayah tidak dikenal",
        "Unknown region code",
    ),
    (
        "region_within",
        "Wilayah di luar wilayah tugas",
        "Region outside the assigned area",
    ),
    (
        "geopoint_outside_indonesia",
        "Titik GPS di luar Indonesia",
        "GPS point outside Indonesia",
    ),
    (
        "unknown_field",
        "Jawaban untuk pertanyaan yang tidak ada",
        "Answer to a question the form lacks",
    ),
    (
        "visit_date_implausible",
        "Tanggal kunjungan tidak masuk akal",
        "Implausible visit date",
    ),
];

/// The codebook rows of the findings export: its columns, the two levels, and every rule a finding can name
/// (the built-in ones, then each rule of the form's constraints and missing answers, labelled with its message).
pub fn findings_codebook_rows(forms: &[tepat_form::Form]) -> Vec<Vec<String>> {
    const T: &str = "findings";
    let labels: [(&str, &str, &str); 12] = [
        ("visit_id", "ID kunjungan (UUID)", "Visit id (UUID)"),
        ("revision", "Revisi", "Revision"),
        ("status", "Status periksa", "Review status"),
        ("user_id", "ID pencacah", "Enumerator id"),
        (
            "visit_date",
            "Tanggal kunjungan (jam HP)",
            "Visit date (phone clock)",
        ),
        (
            "path",
            "Letak temuan (mis. members[2].nik; anggota mulai 0)",
            "Where (e.g. members[2].nik; members from 0)",
        ),
        ("field", "ID pertanyaan", "Question id"),
        ("rule", "Aturan", "Rule"),
        ("level", "Tingkat", "Level"),
        (
            "message_id",
            "Pesan (Bahasa Indonesia)",
            "Message (Bahasa Indonesia)",
        ),
        ("message_en", "Pesan (Inggris)", "Message (English)"),
        (
            "note",
            "Catatan pencacah untuk peringatan ini",
            "The enumerator's note answering this warning",
        ),
    ];
    let mut rows = Vec::new();
    for (column, id, en) in labels {
        rows.push(codebook_column(T, column, "fixed", id, en));
        match column {
            "status" => rows.extend(status_codebook_rows(T)),
            "level" => {
                rows.push(codebook_code(
                    T,
                    "level",
                    "error",
                    "Kesalahan (menghalangi finalisasi)",
                    "Error (blocks finalising)",
                ));
                rows.push(codebook_code(
                    T,
                    "level",
                    "warning",
                    "Peringatan (perlu catatan)",
                    "Warning (needs a note)",
                ));
            }
            "rule" => {
                let mut seen: Vec<String> = Vec::new();
                for (code, id, en) in BUILT_IN_RULES {
                    seen.push(code.to_string());
                    rows.push(codebook_code(T, "rule", code, id, en));
                }
                for form in forms.iter().rev() {
                    // Every field, repeats themselves included (roster rules are their constraints).
                    let fields = form
                        .sections
                        .iter()
                        .flat_map(|s| s.fields.iter())
                        .flat_map(|f| std::iter::once(f).chain(f.fields.iter()));
                    for field in fields {
                        let missing = field
                            .missing
                            .as_ref()
                            .and_then(|m| m.rule.clone().map(|r| (r, m.message.clone())));
                        let constraints = field
                            .constraints
                            .iter()
                            .filter_map(|c| c.rule.clone().map(|r| (r, Some(c.message.clone()))));
                        for (rule, message) in missing.into_iter().chain(constraints) {
                            if seen.contains(&rule) {
                                continue;
                            }
                            let (id, en) = message
                                .map(|m| {
                                    (
                                        format!("{}: {}", field.label.id, m.id),
                                        format!("{}: {}", field.label.en, m.en),
                                    )
                                })
                                .unwrap_or_else(|| {
                                    (field.label.id.clone(), field.label.en.clone())
                                });
                            rows.push(codebook_code(T, "rule", &rule, &id, &en));
                            seen.push(rule);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    rows
}

/// The prefill review of a visit (answer path → review code), as stored beside it.
type Review = HashMap<String, String>;

fn prefill_cell(review: &Review, path: &str, value: Option<&Value>) -> String {
    let answered = value.is_some_and(|v| !v.is_null());
    PrefillCell::of(review.get(path).map(String::as_str), answered)
        .map(|c| c.code().to_string())
        .unwrap_or_default()
}

/// Key columns of both exports.
const KEY_COLUMNS: [&str; 10] = [
    "nik",
    "kk",
    "province_code",
    "province_name",
    "regency_code",
    "regency_name",
    "district_code",
    "district_name",
    "village_code",
    "village_name",
];

const VISIT_COLUMNS: [&str; 11] = [
    "visit_id",
    "revision",
    "status",
    "form_version",
    "assignment_id",
    "user_id",
    "visit_date",
    "received_at",
    "error_count",
    "warning_count",
    // The kinds of signals of fabrication the visit holds (`crate::signals`), space-separated codes.
    "signals",
];

fn push_unique(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_string());
    }
}

/// The export plan of a form, or `None` when no version of it is published.
pub fn plan(
    tx: &Transaction<'_>,
    cache: &FormCache,
    form_id: &str,
) -> Result<Option<Plan>, DbError> {
    let versions = forms::versions(tx, form_id)?;
    if versions.is_empty() {
        return Ok(None);
    }
    let mut plan = Plan {
        form_id: form_id.to_string(),
        forms: HashMap::new(),
        household_fields: Vec::new(),
        member_fields: Vec::new(),
        nik_fields: HashMap::new(),
        kk_fields: HashMap::new(),
        repeats: HashMap::new(),
        photo_fields: std::collections::HashSet::new(),
        prefill_fields: std::collections::HashSet::new(),
    };
    for form in versions.iter().rev() {
        for field in forms::top_level_fields(form) {
            push_unique(&mut plan.household_fields, &field.id);
        }
        for repeat in forms::repeats(form) {
            for child in repeat.fields.iter().filter(|f| forms::holds_answer(f.kind)) {
                push_unique(&mut plan.member_fields, &child.id);
            }
        }
        let top = forms::top_level_fields(form);
        let children = forms::repeats(form).flat_map(|r| r.fields.iter());
        for field in top.chain(children) {
            if field.kind == FieldType::Photo {
                plan.photo_fields.insert(field.id.clone());
            }
            if field.prefill.is_some() {
                plan.prefill_fields.insert(field.id.clone());
            }
        }
        let of_type = |kind| forms::of_type(form, kind).map(str::to_string).collect();
        plan.nik_fields
            .insert(form.version, of_type(FieldType::Nik));
        plan.kk_fields.insert(form.version, of_type(FieldType::Kk));
        plan.repeats.insert(
            form.version,
            forms::repeats(form).map(|r| r.id.clone()).collect(),
        );
        if let Some(compiled) = cache.get(tx, form_id, form.version)? {
            plan.forms.insert(form.version, compiled);
        }
    }
    Ok(Some(plan))
}

/// The paradata columns at the end of each households row (`paradata.rs`), with their codebook labels.
pub const PARADATA_COLUMNS: [(&str, &str, &str); 7] = [
    (
        "paradata_duration_s",
        "Lama pengisian dalam detik (jam HP, dari jejak audit)",
        "Duration in seconds (phone clock, from the audit trail)",
    ),
    (
        "paradata_section_s",
        "Detik per bagian formulir (bagian=detik;…)",
        "Seconds per form section (section=seconds;…)",
    ),
    (
        "paradata_answers_changed",
        "Jawaban yang diubah setelah diisi",
        "Answers changed after first entry",
    ),
    (
        "paradata_prefill_confirmed_unchanged",
        "Data registrasi yang dikonfirmasi tanpa perubahan",
        "Registered answers confirmed without change",
    ),
    (
        "paradata_gps_start",
        "GPS pertama dalam jejak (lintang,bujur)",
        "First GPS fix in the trail (lat,lon)",
    ),
    (
        "paradata_gps_final",
        "GPS terakhir sebelum selesai (lintang,bujur)",
        "Last GPS fix before finalising (lat,lon)",
    ),
    (
        "trail_check",
        "Pemeriksaan jejak audit: ok, atau aturan temuan (trail_missing, trail_edited, trail_gap, …)",
        "Audit trail check: ok, or the finding rules (trail_missing, trail_edited, trail_gap, …)",
    ),
];

/// The codebook rows of [`PARADATA_COLUMNS`] (households table).
pub fn paradata_codebook_rows() -> Vec<Vec<String>> {
    PARADATA_COLUMNS
        .iter()
        .map(|(column, id, en)| {
            vec![
                "households".into(),
                column.to_string(),
                "paradata".into(),
                id.to_string(),
                en.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect()
}

/// The paradata cells of a households row, from the stored paradata and trail problems (JSON; `None` for a visit
/// stored before trails existed, which gets empty cells).
fn paradata_cells(
    plan: &Plan,
    form_version: u32,
    paradata: Option<&str>,
    trail_problems: Option<&str>,
    visit_id: &str,
) -> Result<Vec<String>, DbError> {
    let paradata: Option<crate::paradata::Paradata> = paradata
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: paradata: {e}")))?;
    let problems: Option<Vec<crate::trail::TrailProblem>> = trail_problems
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: trail problems: {e}")))?;
    let mut cells = match &paradata {
        Some(p) => vec![
            p.duration_s.map(|s| s.to_string()).unwrap_or_default(),
            p.section_cell(plan.forms.get(&form_version).map(|f| f.form())),
            p.answers_changed.to_string(),
            p.prefill_confirmed_unchanged.to_string(),
            crate::paradata::fix_cell(p.gps_start.as_ref()),
            crate::paradata::fix_cell(p.gps_final.as_ref()),
        ],
        None => vec![String::new(); PARADATA_COLUMNS.len() - 1],
    };
    cells.push(match problems {
        None => String::new(),
        Some(list) if list.is_empty() => "ok".into(),
        Some(list) => list.iter().map(|p| p.rule()).collect::<Vec<_>>().join(" "),
    });
    Ok(cells)
}

/// The header row of an export.
pub fn header(plan: &Plan, table: Table) -> Vec<String> {
    let mut out: Vec<String> = VISIT_COLUMNS
        .iter()
        .take(2)
        .map(|c| c.to_string())
        .collect();
    match table {
        Table::Households => {
            out.extend(VISIT_COLUMNS.iter().skip(2).map(|c| c.to_string()));
            out.extend(KEY_COLUMNS.iter().map(|c| c.to_string()));
            out.extend(plan.field_columns(&plan.household_fields));
            out.extend(PARADATA_COLUMNS.iter().map(|(c, _, _)| c.to_string()));
        }
        Table::Members => {
            out.extend(KEY_COLUMNS.iter().map(|c| c.to_string()));
            out.push("group".to_string());
            out.push("member_no".to_string());
            out.extend(plan.field_columns(&plan.member_fields));
        }
        Table::Findings => {
            out = FINDING_COLUMNS.iter().map(|c| c.to_string()).collect();
        }
    }
    out
}

impl Plan {
    /// The columns of these fields: each field, and after a prefilled one its prefill column.
    fn field_columns(&self, fields: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(fields.len());
        for field in fields {
            out.push(field.clone());
            if self.prefill_fields.contains(field) {
                out.push(prefill_column(field));
            }
        }
        out
    }
}

/// Writes the export (header and rows) of the visits in `supervisor_id`'s regions. Returns the rows written.
pub fn write(
    tx: &Transaction<'_>,
    plan: &Plan,
    table: Table,
    supervisor_id: &str,
    out: impl Write,
) -> Result<u64, ExportError> {
    if table == Table::Findings {
        return write_findings(tx, plan, supervisor_id, out);
    }
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(header(plan, table))?;
    // The document is read only for a visit whose export was never computed (see `backfill`).
    let sql = format!(
        "SELECT v.visit_id, v.revision, v.status, v.form_version, v.assignment_id, v.user_id, v.visit_date,
             v.received_at, v.error_count, v.warning_count, v.region_code, v.exported,
             CASE WHEN v.exported IS NULL THEN v.doc END, v.prefill_review, v.paradata, v.trail_problems,
             (SELECT string_agg(s.kind, ' ') FROM visit_signals s
              WHERE s.visit_id = v.visit_id AND s.revision = v.revision)
         FROM visits v
         WHERE v.form_id = ?1 AND v.is_latest = 1 AND {} ORDER BY v.seq",
        scope_sql("v.region_code", "?2")
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query(params![plan.form_id, supervisor_id])?;
    let mut written = 0u64;
    let mut record: Vec<String> = Vec::new();
    while let Some(row) = rows.next()? {
        let visit_id: String = row.get(0)?;
        let revision: u32 = row.get(1)?;
        let form_version: u32 = row.get(3)?;
        let region_code: String = row.get(10)?;
        let answers = match row.get::<_, Option<String>>(11)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                DbError::Corrupt(format!("visit {visit_id}: exported answers: {e}"))
            })?,
            None => {
                let doc: String = row.get(12)?;
                let doc: VisitDoc = serde_json::from_str(&doc)
                    .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: {e}")))?;
                exported(plan.forms.get(&form_version), &doc)
            }
        };
        let review: Review = match row.get::<_, Option<String>>(13)? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: prefill review: {e}")))?,
            None => Review::new(),
        };
        let keys = key_cells(plan, form_version, &answers, &region_code);
        match table {
            Table::Households => {
                record.clear();
                for i in 0..10 {
                    record.push(sql_cell(row.get_value(i)?));
                }
                record.push(signals_cell(row.get::<_, Option<String>>(16)?.as_deref()));
                record.extend(keys);
                for field in &plan.household_fields {
                    let value = answers.get(field);
                    record.push(answer_cell(tx, plan, field, value)?);
                    if plan.prefill_fields.contains(field) {
                        record.push(prefill_cell(&review, field, value));
                    }
                }
                let paradata: Option<String> = row.get(14)?;
                let problems: Option<String> = row.get(15)?;
                record.extend(paradata_cells(
                    plan,
                    form_version,
                    paradata.as_deref(),
                    problems.as_deref(),
                    &visit_id,
                )?);
                csv.write_record(&record)?;
                written += 1;
            }
            Table::Members => {
                for group in plan.repeats.get(&form_version).into_iter().flatten() {
                    let Some(Value::Array(members)) = answers.get(group) else {
                        continue;
                    };
                    for (index, member) in members.iter().enumerate() {
                        record.clear();
                        record.push(visit_id.clone());
                        record.push(revision.to_string());
                        record.extend(keys.iter().cloned());
                        record.push(group.clone());
                        record.push((index + 1).to_string());
                        let member = member.as_object();
                        for field in &plan.member_fields {
                            let value = member.and_then(|m| m.get(field));
                            record.push(answer_cell(tx, plan, field, value)?);
                            if plan.prefill_fields.contains(field) {
                                let path = format!("{group}[{index}].{field}");
                                record.push(prefill_cell(&review, &path, value));
                            }
                        }
                        csv.write_record(&record)?;
                        written += 1;
                    }
                }
            }
            Table::Findings => {}
        }
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(written)
}

/// The findings export: one row per finding of the latest revision of each visit in the supervisor's regions,
/// as the server found them at ingest, and beside a warning the note the enumerator wrote to answer it (notes
/// are kept by the finding's path). Text cells are defused as in the other exports.
fn write_findings(
    tx: &Transaction<'_>,
    plan: &Plan,
    supervisor_id: &str,
    out: impl Write,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(FINDING_COLUMNS)?;
    let sql = format!(
        "SELECT v.visit_id, v.revision, v.status, v.user_id, v.visit_date, v.findings,
             {}
         FROM visits v
         WHERE v.form_id = ?1 AND v.is_latest = 1 AND {} ORDER BY v.seq",
        tx.dialect().json_member("v.doc", "warning_notes"),
        scope_sql("v.region_code", "?2")
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query(params![plan.form_id, supervisor_id])?;
    let mut written = 0u64;
    while let Some(row) = rows.next()? {
        let visit_id: String = row.get(0)?;
        let findings: Vec<tepat_form::Finding> = serde_json::from_str(&row.get::<_, String>(5)?)
            .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: findings: {e}")))?;
        let notes: HashMap<String, String> = match row.get::<_, Option<String>>(6)? {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: warning notes: {e}")))?,
            None => HashMap::new(),
        };
        let text = |s: &str| cell(Some(&Value::String(s.to_string())));
        for finding in &findings {
            let note = match finding.level {
                tepat_form::Level::Warning => notes.get(&finding.path).map(|n| text(n)),
                tepat_form::Level::Error => None,
            };
            let level = match finding.level {
                tepat_form::Level::Warning => "warning",
                tepat_form::Level::Error => "error",
            };
            csv.write_record([
                visit_id.clone(),
                sql_cell(row.get_value(1)?),
                sql_cell(row.get_value(2)?),
                sql_cell(row.get_value(3)?),
                sql_cell(row.get_value(4)?),
                text(&finding.path),
                text(&finding.field),
                text(&finding.rule),
                level.to_string(),
                text(&finding.message.id),
                text(&finding.message.en),
                note.unwrap_or_default(),
            ])?;
            written += 1;
        }
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(written)
}

/// The signals cell: each kind once, in code order (a kind relating two visits is stored once per other visit).
fn signals_cell(kinds: Option<&str>) -> String {
    let mut kinds: Vec<&str> = kinds.unwrap_or_default().split_whitespace().collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.join(" ")
}

/// One answer's cell; a photo shows `{"sha256": …, "server_path": …}`: its hash and its file under the server's
/// data directory (`media/ab/cd/<sha256>.jpg`), or `null` while it has not arrived.
fn answer_cell(
    tx: &Transaction<'_>,
    plan: &Plan,
    field: &str,
    value: Option<&Value>,
) -> Result<String, ExportError> {
    let photo_hash = value
        .filter(|_| plan.photo_fields.contains(field))
        .and_then(|v| v.get("sha256"))
        .and_then(Value::as_str)
        .filter(|sha| crate::media::is_sha256(sha));
    let Some(sha256) = photo_hash else {
        return Ok(cell(value));
    };
    let server_path =
        crate::media::is_stored(tx, sha256)?.then(|| crate::media::Media::relative_path(sha256));
    Ok(serde_json::json!({"sha256": sha256, "server_path": server_path}).to_string())
}

/// A stored column as a cell (visit columns are text and integers; an assignment may be NULL).
fn sql_cell(value: crate::db::sql::Value) -> String {
    use crate::db::sql::Value;
    match value {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t,
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
    }
}

/// What is exported of a visit: its relevant answers and calculated values. Should the engine fail on a stored
/// visit, nothing of its answers is exported rather than possibly hidden ones (the key columns still are).
pub fn exported(form: Option<&CompiledForm>, doc: &VisitDoc) -> Answers {
    let Some(form) = form else {
        return Answers::new();
    };
    catch_unwind(AssertUnwindSafe(|| {
        form.evaluate(&doc.answers, doc.visit_date).exported
    }))
    .unwrap_or_else(|_| {
        tracing::error!(visit_id = %doc.visit_id, "form engine panicked computing what to export");
        Answers::new()
    })
}

/// Visits filled per write transaction by [`backfill`], so the writer is never held for long.
const BACKFILL_CHUNK: usize = 500;

/// Computes what is exported for every visit stored without it (before schema version 3). Returns how many
/// visits were filled. Each chunk is one transaction: stopping half-way leaves the rest for the next start.
pub fn backfill(db: &Db, cache: &FormCache) -> Result<u64, DbError> {
    let mut filled = 0u64;
    loop {
        let done =
            db.write(|tx| -> Result<usize, DbError> {
                let pending: Vec<(String, u32, String)> = tx
                .prepare(
                    "SELECT visit_id, revision, doc FROM visits WHERE exported IS NULL LIMIT ?1",
                )?
                .query_map([BACKFILL_CHUNK as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
                for (visit_id, revision, doc) in &pending {
                    let doc: VisitDoc = serde_json::from_str(doc)
                        .map_err(|e| DbError::Corrupt(format!("visit {visit_id}: {e}")))?;
                    let form = cache.get(tx, &doc.form_id, doc.form_version)?;
                    let answers = exported(form.as_ref(), &doc);
                    let json = serde_json::to_string(&answers)
                        .map_err(|e| DbError::Corrupt(e.to_string()))?;
                    tx.execute(
                        "UPDATE visits SET exported = ?1 WHERE visit_id = ?2 AND revision = ?3",
                        params![json, visit_id, revision],
                    )?;
                }
                Ok(pending.len())
            })?;
        filled += done as u64;
        if done < BACKFILL_CHUNK {
            break;
        }
    }
    if filled > 0 {
        tracing::info!(
            visits = filled,
            "export answers computed for visits stored before schema version 3"
        );
    }
    Ok(filled)
}

fn key_cells(plan: &Plan, form_version: u32, answers: &Answers, region_code: &str) -> Vec<String> {
    let first_answered = |fields: Option<&Vec<String>>| {
        fields
            .into_iter()
            .flatten()
            .map(|f| cell(answers.get(f)))
            .find(|c| !c.is_empty())
            .unwrap_or_default()
    };
    let mut out = vec![
        first_answered(plan.nik_fields.get(&form_version)),
        first_answered(plan.kk_fields.get(&form_version)),
    ];
    for (code, name) in regions::levels(region_code) {
        out.push(code);
        out.push(name.to_string());
    }
    out
}

/// One answer as a CSV cell: text as is, numbers as written, a list of codes space-separated (as XLSForm),
/// anything structured (GPS, photo) as compact JSON. Text a spreadsheet would run as a formula is defused
/// ([`defuse_formula`]); a list is defused as the one cell it becomes.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => defuse_formula(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(items)) if items.iter().all(|v| !v.is_array() && !v.is_object()) => {
            let joined = items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => cell(Some(other)),
                })
                .collect::<Vec<_>>()
                .join(" ");
            defuse_formula(&joined)
        }
        Some(other) => other.to_string(),
    }
}

/// Spreadsheet programs run a cell starting with `=`, `+`, `-` or `@` as a formula (and one starting with a tab
/// or a carriage return once the invisible character is dropped): such a cell gets a leading apostrophe, which
/// makes it text. Only a cell that is wholly a number (`-5`, `-3.5`) may keep a leading `-`: `-1+1` or
/// `-2+3+cmd|' /C calc'!A0` start with a digit after the `-` and are still formulas.
fn defuse_formula(text: &str) -> String {
    let risky = match text.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => !is_plain_number(text),
        _ => false,
    };
    if risky {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// `-`? digits, then optionally `.` and digits: a number as written in an answer, nothing else.
fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_json_codebook_holds_each_column_once_with_its_codes() {
        let row = |cells: [&str; 8]| cells.map(String::from).to_vec();
        let rows = vec![
            row([
                "table",
                "column",
                "type",
                "label_id",
                "label_en",
                "code",
                "code_label_id",
                "code_label_en",
            ]),
            row([
                "households",
                "sex",
                "select_one",
                "Jenis kelamin",
                "Sex",
                "",
                "",
                "",
            ]),
            row(["households", "sex", "", "", "", "1", "Laki-laki", "Male"]),
            row(["households", "sex", "", "", "", "2", "Perempuan", "Female"]),
            row(["members", "age", "integer", "Umur", "Age", "", "", ""]),
            // A code before any column row opens the column; a later column row labels it.
            row([
                "households",
                "signals",
                "",
                "",
                "",
                "gps_cluster",
                "Titik GPS",
                "GPS points",
            ]),
            row([
                "households",
                "signals",
                "fixed",
                "Sinyal",
                "Signals",
                "",
                "",
                "",
            ]),
        ];
        let book = codebook_json("f", &rows);
        assert_eq!(book.form_id, "f");
        let summary: Vec<(&str, &str, &str, &str, usize)> = book
            .columns
            .iter()
            .map(|c| {
                (
                    c.table.as_str(),
                    c.column.as_str(),
                    c.kind.as_str(),
                    c.label.en.as_str(),
                    c.codes.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("households", "sex", "select_one", "Sex", 2),
                ("members", "age", "integer", "Age", 0),
                ("households", "signals", "fixed", "Signals", 1),
            ]
        );
        assert_eq!(book.columns[0].codes[1].code, "2");
        assert_eq!(book.columns[0].codes[1].label.id, "Perempuan");
        let json = serde_json::to_value(&book).unwrap_or_default();
        assert_eq!(json["columns"][0]["type"], "select_one");
        assert_eq!(json["columns"][0]["codes"][0]["label"]["en"], "Male");
    }

    #[test]
    fn cells_flatten_answers() {
        assert_eq!(cell(None), "");
        assert_eq!(cell(Some(&json!("Siti"))), "Siti");
        assert_eq!(cell(Some(&json!(12))), "12");
        assert_eq!(cell(Some(&json!(-1.5))), "-1.5");
        assert_eq!(cell(Some(&json!(["1", "3"]))), "1 3");
        assert_eq!(
            cell(Some(&json!({"lat": -3.8, "lon": 102.3}))),
            r#"{"lat":-3.8,"lon":102.3}"#
        );
    }

    #[test]
    fn formulas_are_defused_but_negative_numbers_kept() {
        assert_eq!(
            cell(Some(&json!("=HYPERLINK(\"x\")"))),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(cell(Some(&json!("@SUM(A1)"))), "'@SUM(A1)");
        assert_eq!(cell(Some(&json!("-5"))), "-5");
        assert_eq!(cell(Some(&json!("-cmd"))), "'-cmd");
    }

    /// Texts a spreadsheet runs as formulas, each with the cell it must become.
    const INJECTIONS: [(&str, &str); 9] = [
        ("-1+1", "'-1+1"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        (
            "-1+HYPERLINK(\"http://x\",\"y\")",
            "'-1+HYPERLINK(\"http://x\",\"y\")",
        ),
        ("-3.5.1", "'-3.5.1"),
        ("-", "'-"),
        ("@SUM(1)", "'@SUM(1)"),
        ("+1", "'+1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
    ];

    #[test]
    fn only_a_whole_number_may_start_with_a_minus_in_free_text() {
        for (text, defused) in INJECTIONS {
            assert_eq!(cell(Some(&json!(text))), defused, "{text:?}");
        }
        for number in ["-5", "-3.5", "-0", "12", "3.25"] {
            assert_eq!(cell(Some(&json!(number))), number);
        }
    }

    #[test]
    fn select_multiple_cells_are_defused_as_a_whole() {
        for (text, defused) in INJECTIONS {
            assert_eq!(
                cell(Some(&json!([text, "2"]))),
                format!("{defused} 2"),
                "{text:?}"
            );
        }
        // A list that starts with a negative number is not one number as a cell.
        assert_eq!(cell(Some(&json!(["-5", "=1"]))), "'-5 =1");
        assert_eq!(cell(Some(&json!([-5]))), "-5");
        assert_eq!(cell(Some(&json!(["1", "3"]))), "1 3");
    }

    #[test]
    fn key_columns_are_defused() {
        let plan = Plan {
            form_id: "f".into(),
            forms: HashMap::new(),
            household_fields: Vec::new(),
            member_fields: Vec::new(),
            nik_fields: HashMap::from([(1, vec!["nik".to_string()])]),
            kk_fields: HashMap::from([(1, vec!["kk".to_string()])]),
            repeats: HashMap::new(),
            photo_fields: Default::default(),
            prefill_fields: Default::default(),
        };
        for (text, defused) in INJECTIONS {
            let answers = json!({"nik": text, "kk": text});
            let answers = answers.as_object().unwrap();
            let keys = key_cells(&plan, 1, answers, "17.71.01.1001");
            assert_eq!(
                keys[..2],
                [defused.to_string(), defused.to_string()],
                "{text:?}"
            );
        }
        let answers = json!({"nik": "-5", "kk": "-3.5"});
        let keys = key_cells(&plan, 1, answers.as_object().unwrap(), "17.71");
        assert_eq!(keys[..2], ["-5".to_string(), "-3.5".to_string()]);
    }
}
