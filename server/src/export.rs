//! CSV exports for supervisors, keyed by NIK, No. KK and region codes (with names): one row per household
//! (visit) and, in long format, one row per member of each repeat group. The latest revision of each visit in
//! the supervisor's regions, only its relevant answers (hidden fields are not exported).
//!
//! Rows are written as they are read from one database snapshot into any `io::Write` (the API streams them in
//! chunks), so memory stays flat however many visits there are.

use std::collections::HashMap;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rusqlite::{Transaction, params};
use serde_json::Value;
use shared::form::{CompiledForm, FieldType};
use shared::protocol::{Answers, VisitDoc};

use crate::db::DbError;
use crate::forms::{self, FormCache};
use crate::regions::{self, scope_sql};

/// Which export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Households,
    Members,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("writing the export: {0}")]
    Write(#[from] csv::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
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
    nik_field: HashMap<u32, Option<String>>,
    kk_field: HashMap<u32, Option<String>>,
    repeats: HashMap<u32, Vec<String>>,
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

const VISIT_COLUMNS: [&str; 10] = [
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
        nik_field: HashMap::new(),
        kk_field: HashMap::new(),
        repeats: HashMap::new(),
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
        plan.nik_field.insert(
            form.version,
            forms::first_of_type(form, FieldType::Nik).map(str::to_string),
        );
        plan.kk_field.insert(
            form.version,
            forms::first_of_type(form, FieldType::Kk).map(str::to_string),
        );
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
            out.extend(plan.household_fields.iter().cloned());
        }
        Table::Members => {
            out.extend(KEY_COLUMNS.iter().map(|c| c.to_string()));
            out.push("group".to_string());
            out.push("member_no".to_string());
            out.extend(plan.member_fields.iter().cloned());
        }
    }
    out
}

/// Writes the export (header and rows) of the visits in `supervisor_id`'s regions. Returns the rows written.
pub fn write(
    tx: &Transaction<'_>,
    plan: &Plan,
    table: Table,
    supervisor_id: &str,
    out: impl Write,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(header(plan, table))?;
    let sql = format!(
        "SELECT doc, status, user_id, region_code, received_at, error_count, warning_count FROM visits v
         WHERE v.form_id = ?1 AND v.is_latest = 1 AND {} ORDER BY v.seq",
        scope_sql("v.region_code", "?2")
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query(params![plan.form_id, supervisor_id])?;
    let mut written = 0u64;
    while let Some(row) = rows.next()? {
        let doc: String = row.get(0)?;
        let doc: VisitDoc =
            serde_json::from_str(&doc).map_err(|e| DbError::Corrupt(format!("visit: {e}")))?;
        let meta = RowMeta {
            status: row.get(1)?,
            user_id: row.get(2)?,
            region_code: row.get(3)?,
            received_at: row.get(4)?,
            error_count: row.get(5)?,
            warning_count: row.get(6)?,
        };
        let answers = relevant(plan.forms.get(&doc.form_version), &doc);
        let keys = key_cells(plan, &doc, &answers, &meta.region_code);
        match table {
            Table::Households => {
                let mut record = vec![
                    doc.visit_id.to_string(),
                    doc.revision.to_string(),
                    meta.status,
                    doc.form_version.to_string(),
                    doc.assignment_id.clone().unwrap_or_default(),
                    meta.user_id,
                    doc.visit_date.to_string(),
                    meta.received_at,
                    meta.error_count.to_string(),
                    meta.warning_count.to_string(),
                ];
                record.extend(keys);
                record.extend(plan.household_fields.iter().map(|f| cell(answers.get(f))));
                csv.write_record(&record)?;
                written += 1;
            }
            Table::Members => {
                for group in plan.repeats.get(&doc.form_version).into_iter().flatten() {
                    let Some(Value::Array(members)) = answers.get(group) else {
                        continue;
                    };
                    for (index, member) in members.iter().enumerate() {
                        let mut record = vec![doc.visit_id.to_string(), doc.revision.to_string()];
                        record.extend(keys.iter().cloned());
                        record.push(group.clone());
                        record.push((index + 1).to_string());
                        let member = member.as_object();
                        record.extend(
                            plan.member_fields
                                .iter()
                                .map(|f| cell(member.and_then(|m| m.get(f)))),
                        );
                        csv.write_record(&record)?;
                        written += 1;
                    }
                }
            }
        }
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(written)
}

struct RowMeta {
    status: String,
    user_id: String,
    region_code: String,
    received_at: String,
    error_count: u32,
    warning_count: u32,
}

/// The answers to export: only relevant ones. Should the engine fail on a stored visit, nothing of its answers
/// is exported rather than possibly hidden ones (the key columns still are).
fn relevant(form: Option<&CompiledForm>, doc: &VisitDoc) -> Answers {
    let Some(form) = form else {
        return Answers::new();
    };
    catch_unwind(AssertUnwindSafe(|| form.relevant_answers(&doc.answers, doc.visit_date))).unwrap_or_else(|_| {
        tracing::error!(visit_id = %doc.visit_id, "form engine panicked computing relevant answers for export");
        Answers::new()
    })
}

fn key_cells(plan: &Plan, doc: &VisitDoc, answers: &Answers, region_code: &str) -> Vec<String> {
    let answer = |field: Option<&Option<String>>| {
        field
            .and_then(|f| f.as_deref())
            .map(|f| cell(answers.get(f)))
            .unwrap_or_default()
    };
    let mut out = vec![
        answer(plan.nik_field.get(&doc.form_version)),
        answer(plan.kk_field.get(&doc.form_version)),
    ];
    for (code, name) in regions::levels(region_code) {
        out.push(code);
        out.push(name.to_string());
    }
    out
}

/// One answer as a CSV cell: text as is, numbers as written, a list of codes space-separated (as XLSForm),
/// anything structured (GPS, photo) as compact JSON.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => defuse_formula(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(items)) if items.iter().all(|v| !v.is_array() && !v.is_object()) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

/// Spreadsheet programs run a cell starting with `=`, `+`, `-` or `@` as a formula: typed text such as
/// `=HYPERLINK(...)` gets a leading apostrophe. Negative numbers stay as they are.
fn defuse_formula(text: &str) -> String {
    let risky = match text.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => !text.chars().nth(1).is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    if risky {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
