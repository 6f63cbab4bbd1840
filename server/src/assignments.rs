//! Assignments: the CSV import (format in `schemas/assignments.md`) and withdrawal.
//!
//! An import is all or nothing: every row is checked, every problem is reported with its line and column, and
//! nothing is imported from a file with any error. Rows already imported with the same content are skipped, so
//! importing the same file twice is harmless.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use tepat_form::identity;
use tepat_protocol::{Assignment, Role};

use crate::auth;
use crate::changes;
use crate::db::{self, DbError};
use crate::forms;
use crate::names;
use crate::regions;

/// Columns every file has, in any order; every other column is a prefill value.
pub const REQUIRED_COLUMNS: [&str; 6] = [
    "assignment_id",
    "user_id",
    "form_id",
    "form_version",
    "region_code",
    "label",
];

/// Longest label and prefill value.
const MAX_LABEL_CHARS: usize = 200;
const MAX_PREFILL_CHARS: usize = 500;

/// One problem in an import file. `line` is the 1-based line of the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s); nothing was imported:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Db(e.into())
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub added: usize,
    /// Rows identical to an assignment already imported.
    pub unchanged: usize,
}

struct Row {
    line: u64,
    user_id: String,
    assignment: Assignment,
}

/// Imports an assignment CSV in the caller's transaction.
pub fn import_csv(
    tx: &Transaction<'_>,
    input: impl Read,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let mut errors = Vec::new();
    let rows = parse(tx, input, &mut errors)?;
    let mut report = ImportReport::default();
    let mut to_add = Vec::new();
    for row in rows {
        match existing(tx, &row.assignment.assignment_id)? {
            None => to_add.push(row),
            Some(stored) if stored.withdrawn => errors.push(RowError {
                line: row.line,
                column: Some("assignment_id".into()),
                message: format!(
                    "{:?} was withdrawn; import the household again under a new id",
                    row.assignment.assignment_id
                ),
            }),
            Some(stored) if stored.user_id == row.user_id && stored.assignment == row.assignment => {
                report.unchanged += 1
            }
            Some(_) => errors.push(RowError {
                line: row.line,
                column: Some("assignment_id".into()),
                message: format!(
                    "duplicate id: {:?} was imported before with different content; withdraw it and use a new id",
                    row.assignment.assignment_id
                ),
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Rows(errors));
    }
    for row in to_add {
        let a = &row.assignment;
        let prefill =
            serde_json::to_string(&a.prefill).map_err(|e| DbError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO assignments (assignment_id, user_id, form_id, form_version, region_code, label, prefill,
                 imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![a.assignment_id, row.user_id, a.form_id, a.form_version, a.region_code, a.label, prefill, db::timestamp(now)],
        )?;
        changes::record_assignment(tx, &row.user_id, a, now)?;
        report.added += 1;
    }
    Ok(report)
}

struct Stored {
    user_id: String,
    assignment: Assignment,
    withdrawn: bool,
}

fn existing(tx: &Transaction<'_>, id: &str) -> Result<Option<Stored>, DbError> {
    type StoredRow = (String, String, u32, String, String, String, Option<String>);
    let row: Option<StoredRow> = tx
        .query_row(
            "SELECT user_id, form_id, form_version, region_code, label, prefill, withdrawn_at
             FROM assignments WHERE assignment_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((user_id, form_id, form_version, region_code, label, prefill, withdrawn_at)) = row
    else {
        return Ok(None);
    };
    let prefill = serde_json::from_str(&prefill)
        .map_err(|e| DbError::Corrupt(format!("prefill of {id}: {e}")))?;
    Ok(Some(Stored {
        user_id,
        assignment: Assignment {
            assignment_id: id.to_string(),
            form_id,
            form_version,
            region_code,
            label,
            prefill,
        },
        withdrawn: withdrawn_at.is_some(),
    }))
}

fn parse(
    tx: &Transaction<'_>,
    input: impl Read,
    errors: &mut Vec<RowError>,
) -> Result<Vec<Row>, DbError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(e) => {
            errors.push(RowError {
                line: 1,
                column: None,
                message: format!("unreadable header: {e}"),
            });
            return Ok(Vec::new());
        }
    };
    if header.iter().all(|h| h.is_empty()) {
        errors.push(RowError {
            line: 1,
            column: None,
            message: "the file is empty; a header row is required".into(),
        });
        return Ok(Vec::new());
    }
    check_header(&header, errors);
    if !errors.is_empty() {
        return Ok(Vec::new());
    }
    let mut users: HashMap<String, Option<(Role, Vec<String>)>> = HashMap::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    column: None,
                    message: csv_problem(&e),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let cells: BTreeMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(record.iter().map(str::trim))
            .collect();
        if let Some(row) = check_row(tx, line, &cells, &mut users, errors)? {
            if let Some(first) = seen.insert(row.assignment.assignment_id.clone(), line) {
                errors.push(RowError {
                    line,
                    column: Some("assignment_id".into()),
                    message: format!(
                        "duplicate id: {:?} is also on line {first}",
                        row.assignment.assignment_id
                    ),
                });
                continue;
            }
            rows.push(row);
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError {
            line: 2,
            column: None,
            message: "the file has a header but no assignment rows".into(),
        });
    }
    Ok(rows)
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} columns; the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 (save the file as CSV UTF-8)".into(),
        _ => e.to_string(),
    }
}

fn check_header(header: &[String], errors: &mut Vec<RowError>) {
    for required in REQUIRED_COLUMNS {
        if !header.iter().any(|h| h == required) {
            errors.push(RowError {
                line: 1,
                column: Some(required.into()),
                message: "required column is missing".into(),
            });
        }
    }
    let mut seen = Vec::new();
    for name in header {
        if seen.contains(&name) {
            errors.push(RowError {
                line: 1,
                column: Some(name.clone()),
                message: "column appears twice".into(),
            });
        }
        seen.push(name);
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            errors.push(RowError {
                line: 1,
                column: Some(name.clone()),
                message:
                    "column names are lower-case letters, digits and '_' (prefill keys of the form)"
                        .into(),
            });
        }
    }
}

fn check_row(
    tx: &Transaction<'_>,
    line: u64,
    cells: &BTreeMap<&str, &str>,
    users: &mut HashMap<String, Option<(Role, Vec<String>)>>,
    errors: &mut Vec<RowError>,
) -> Result<Option<Row>, DbError> {
    let before = errors.len();
    let get = |column: &str| cells.get(column).copied().unwrap_or_default();
    let mut fail = |column: &str, message: String| {
        errors.push(RowError {
            line,
            column: Some(column.to_string()),
            message,
        });
    };

    let assignment_id = get("assignment_id");
    if let Err(e) = names::check_id("assignment_id", assignment_id) {
        fail("assignment_id", e.message);
    }
    let user_id = get("user_id");
    if !users.contains_key(user_id) {
        let found = auth::load_user(tx, user_id)?.map(|u| (u.role, u.regions));
        users.insert(user_id.to_string(), found);
    }
    let user = users.get(user_id).cloned().flatten();
    match &user {
        None => fail("user_id", format!("unknown user {user_id:?}")),
        Some((role, _)) if !matches!(role, Role::Enumerator | Role::Assessor) => fail(
            "user_id",
            format!(
                "{user_id:?} is a {}; only enumerators and assessors get assignments",
                auth::role_name(*role)
            ),
        ),
        Some(_) => {}
    }
    let form_id = get("form_id");
    let form_version = match get("form_version").parse::<u32>() {
        Ok(v) => Some(v),
        Err(_) => {
            fail(
                "form_version",
                format!("{:?} is not a whole number", get("form_version")),
            );
            None
        }
    };
    if let Some(version) = form_version
        && !forms::is_published(tx, form_id, version)?
    {
        fail(
            "form_id",
            format!("unknown form: {form_id:?} version {version} is not published"),
        );
    }
    let region_code = get("region_code");
    match regions::check_village_code(region_code) {
        Err(message) => fail("region_code", format!("bad region code: {message}")),
        Ok(()) => {
            if let Some((_, scopes)) = &user
                && !regions::in_scope(region_code, scopes)
            {
                fail(
                    "region_code",
                    format!(
                        "{region_code} is outside the regions of {user_id:?} ({})",
                        scopes.join(", ")
                    ),
                );
            }
        }
    }
    let label = match names::clean_name("label", get("label"), MAX_LABEL_CHARS) {
        Ok(label) => label,
        Err(e) => {
            fail("label", e.message);
            String::new()
        }
    };
    let mut prefill = BTreeMap::new();
    for (&column, &value) in cells.iter().filter(|(c, _)| !REQUIRED_COLUMNS.contains(c)) {
        if value.is_empty() {
            continue;
        }
        match names::clean_name(column, value, MAX_PREFILL_CHARS) {
            Err(e) => fail(column, e.message),
            Ok(value) => {
                if let Some(problem) = identity_problem(column, &value) {
                    fail(column, problem);
                }
                prefill.insert(column.to_string(), value);
            }
        }
    }
    if errors.len() > before {
        return Ok(None);
    }
    Ok(Some(Row {
        line,
        user_id: user_id.to_string(),
        assignment: Assignment {
            assignment_id: assignment_id.to_string(),
            form_id: form_id.to_string(),
            form_version: form_version.unwrap_or_default(),
            region_code: region_code.to_string(),
            label,
            prefill,
        },
    }))
}

/// A prefilled NIK or No. KK (columns named `nik`, `kk`, or ending `_nik`, `_kk`) must be well-formed: an error
/// here would otherwise reach every phone as a wrong prefill. An unknown region prefix is fine (NIKs keep the
/// code of first registration).
fn identity_problem(column: &str, value: &str) -> Option<String> {
    let problems = if column == "nik" || column.ends_with("_nik") {
        identity::check_nik(value).err()
    } else if column == "kk" || column.ends_with("_kk") || column == "no_kk" {
        identity::check_kk(value).err()
    } else {
        None
    }?;
    let kind = if column.contains("nik") {
        "NIK"
    } else {
        "No. KK"
    };
    Some(format!(
        "bad {kind} format: {}",
        problems
            .iter()
            .map(|p| p.message.en.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error("no assignment {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for WithdrawError {
    fn from(e: rusqlite::Error) -> Self {
        WithdrawError::Db(e.into())
    }
}

/// Withdraws an assignment; its user's devices are told on their next sync. Withdrawing twice changes nothing
/// (returns false).
pub fn withdraw(
    tx: &Transaction<'_>,
    assignment_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, WithdrawError> {
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT user_id, withdrawn_at FROM assignments WHERE assignment_id = ?1",
            [assignment_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((user_id, withdrawn_at)) = row else {
        return Err(WithdrawError::Unknown(assignment_id.to_string()));
    };
    if withdrawn_at.is_some() {
        return Ok(false);
    }
    tx.execute(
        "UPDATE assignments SET withdrawn_at = ?1 WHERE assignment_id = ?2",
        params![db::timestamp(now), assignment_id],
    )?;
    changes::record_withdrawn(tx, &user_id, assignment_id, now)?;
    Ok(true)
}

#[cfg(test)]
mod tests;
