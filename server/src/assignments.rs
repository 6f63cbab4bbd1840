//! Assignments: the import (format in `schemas/assignments.md`: a households CSV with an optional members CSV,
//! or JSON lines with one household and its members per line) and withdrawal.
//!
//! An import is all or nothing: every row is checked, every problem is reported with its line and column, and
//! nothing is imported from a file with any error. Every key must be one the assignment's form prefills, and
//! every value must fit the field that reads it. Rows already imported with the same content are skipped, so
//! importing the same file twice is harmless.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use tepat_protocol::bounds::BodyLimits;
use tepat_protocol::{Assignment, Role};

use crate::auth;
use crate::changes;
use crate::db::{self, DbError};
use crate::forms;
use crate::names;
use crate::regions;

mod jsonl;
pub mod prefill;

use prefill::{FormKeys, RepeatKeys};

/// Columns every households file has, in any order; every other column is a prefill key of the form.
pub const REQUIRED_COLUMNS: [&str; 6] = [
    "assignment_id",
    "user_id",
    "form_id",
    "form_version",
    "region_code",
    "label",
];

/// The column of a members file that names the member's household.
pub const MEMBER_KEY_COLUMN: &str = "assignment_id";

/// Longest label and prefill value.
const MAX_LABEL_CHARS: usize = 200;
const MAX_PREFILL_CHARS: usize = 500;

/// Which file of an import a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Part {
    /// The households file (CSV or JSON lines).
    #[default]
    Households,
    /// The members file (CSV, long format).
    Members,
}

/// One problem in an import file. `line` is the 1-based line of the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub part: Part,
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.part == Part::Members {
            write!(f, "members file, ")?;
        }
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

impl From<crate::db::sql::Error> for ImportError {
    fn from(e: crate::db::sql::Error) -> Self {
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
    /// The prefill keys of the assignment's form (None when the form is not published: already an error).
    keys: Option<Arc<FormKeys>>,
}

/// Problems found so far, with a key-per-form memory so that a column no field prefills is named once, not on
/// every row.
#[derive(Default)]
struct Problems {
    errors: Vec<RowError>,
    unknown_reported: HashSet<(Part, String, String, u32)>,
}

impl Problems {
    fn push(&mut self, part: Part, line: u64, column: Option<&str>, message: String) {
        self.errors.push(RowError {
            part,
            line,
            column: column.map(str::to_string),
            message,
        });
    }

    /// A key no field of the form prefills: reported once per file, key and form version.
    fn unknown_key(&mut self, part: Part, line: u64, column: &str, keys: &FormKeys, known: &str) {
        let memo = (
            part,
            unknown_memo_key(column),
            keys.form_id.clone(),
            keys.version,
        );
        if self.unknown_reported.insert(memo) {
            self.push(
                part,
                line,
                Some(column),
                format!(
                    "no field of form {} version {} prefills this key; the keys it prefills are: {known}",
                    keys.form_id, keys.version
                ),
            );
        }
    }
}

/// `prefill_repeats.members[3].x` and `prefill_repeats.members[4].x` are the same unknown key.
fn unknown_memo_key(column: &str) -> String {
    match (column.find('['), column.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}[]{}", &column[..open], &column[close + 1..])
        }
        _ => column.to_string(),
    }
}

/// Published forms' prefill keys by (id, version), read once per import.
#[derive(Default)]
struct Forms {
    keys: HashMap<(String, u32), Option<Arc<FormKeys>>>,
}

impl Forms {
    fn get(
        &mut self,
        tx: &Transaction<'_>,
        form_id: &str,
        version: u32,
    ) -> Result<Option<Arc<FormKeys>>, DbError> {
        let key = (form_id.to_string(), version);
        if let Some(found) = self.keys.get(&key) {
            return Ok(found.clone());
        }
        let found = match forms::load_form(tx, form_id, version)? {
            None => None,
            Some(form) => {
                let compiled = tepat_form::compile(form).map_err(|e| {
                    DbError::Corrupt(format!(
                        "published form {form_id} v{version} no longer loads: {e}"
                    ))
                })?;
                Some(Arc::new(FormKeys::of(&compiled)))
            }
        };
        self.keys.insert(key, found.clone());
        Ok(found)
    }
}

/// Looks users up once per import.
#[derive(Default)]
struct Users {
    known: HashMap<String, Option<(Role, Vec<String>)>>,
}

/// Imports a households CSV (no members file) in the caller's transaction.
pub fn import_csv(
    tx: &Transaction<'_>,
    input: impl Read,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    import_csv_with_members(tx, input, None::<&[u8]>, now)
}

/// Imports a households CSV and, if given, a members CSV (long format: one row per member, keyed by
/// `assignment_id`) in the caller's transaction. All or nothing.
pub fn import_csv_with_members(
    tx: &Transaction<'_>,
    households: impl Read,
    members: Option<impl Read>,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let mut problems = Problems::default();
    let mut forms = Forms::default();
    let mut rows = parse_households_csv(tx, households, &mut forms, &mut problems)?;
    if let Some(members) = members {
        read_members_csv(members, &mut rows, &mut problems);
    }
    finish(tx, rows, problems, now)
}

/// Imports JSON lines, one household (with its members) per line, in the caller's transaction. All or nothing.
pub fn import_jsonl(
    tx: &Transaction<'_>,
    input: impl Read,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let mut problems = Problems::default();
    let mut forms = Forms::default();
    let rows = jsonl::parse(tx, input, &mut forms, &mut problems)?;
    finish(tx, rows, problems, now)
}

/// Checks the rows against what is stored, then stores them, or nothing if anything is wrong.
fn finish(
    tx: &Transaction<'_>,
    mut rows: Vec<Row>,
    mut problems: Problems,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    if rows.is_empty() && problems.errors.is_empty() {
        problems.push(
            Part::Households,
            2,
            None,
            "the file has a header but no assignment rows".into(),
        );
    }
    for row in &mut rows {
        mark_registered(row);
    }
    let mut report = ImportReport::default();
    let mut to_add = Vec::new();
    for row in rows {
        match existing(tx, &row.assignment.assignment_id)? {
            None => to_add.push(row),
            Some(stored) if stored.withdrawn => problems.push(
                Part::Households,
                row.line,
                Some("assignment_id"),
                format!(
                    "{:?} was withdrawn; import the household again under a new id",
                    row.assignment.assignment_id
                ),
            ),
            Some(stored) if stored.user_id == row.user_id && stored.assignment == row.assignment => {
                report.unchanged += 1
            }
            Some(_) => problems.push(
                Part::Households,
                row.line,
                Some("assignment_id"),
                format!(
                    "duplicate id: {:?} was imported before with different content; withdraw it and use a new id",
                    row.assignment.assignment_id
                ),
            ),
        }
    }
    let mut errors = problems.errors;
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.part == Part::Members, e.line));
        return Err(ImportError::Rows(errors));
    }
    let mut added = Vec::with_capacity(to_add.len());
    for row in to_add {
        let a = &row.assignment;
        let prefill =
            serde_json::to_string(&a.prefill).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let repeats = serde_json::to_string(&a.prefill_repeats)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO assignments (assignment_id, user_id, form_id, form_version, region_code, label, prefill,
                 prefill_repeats, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![a.assignment_id, row.user_id, a.form_id, a.form_version, a.region_code, a.label, prefill,
                repeats, db::timestamp(now)],
        )?;
        changes::record_assignment(tx, &row.user_id, a, now)?;
        added.push(a.assignment_id.clone());
        report.added += 1;
    }
    let detail = serde_json::json!({"added": added, "unchanged": report.unchanged});
    crate::ledger::append(
        tx,
        now,
        "admin",
        "assignments_imported",
        "assignments",
        &detail,
    )?;
    Ok(report)
}

/// Every member an import carries is on the register: where the roster has a field for it, it says so.
fn mark_registered(row: &mut Row) {
    let Some(keys) = &row.keys else { return };
    for (repeat_key, members) in &mut row.assignment.prefill_repeats {
        if keys
            .repeat(repeat_key)
            .is_some_and(RepeatKeys::marks_registered)
        {
            for member in members {
                member
                    .entry(prefill::REGISTERED_KEY.to_string())
                    .or_insert_with(|| "1".to_string());
            }
        }
    }
}

struct Stored {
    user_id: String,
    assignment: Assignment,
    withdrawn: bool,
}

fn existing(tx: &Transaction<'_>, id: &str) -> Result<Option<Stored>, DbError> {
    type StoredRow = (
        String,
        String,
        u32,
        String,
        String,
        String,
        String,
        Option<String>,
    );
    let row: Option<StoredRow> = tx
        .query_row(
            "SELECT user_id, form_id, form_version, region_code, label, prefill, prefill_repeats, withdrawn_at
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
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some((user_id, form_id, form_version, region_code, label, prefill, repeats, withdrawn_at)) =
        row
    else {
        return Ok(None);
    };
    let prefill = serde_json::from_str(&prefill)
        .map_err(|e| DbError::Corrupt(format!("prefill of {id}: {e}")))?;
    let prefill_repeats = serde_json::from_str(&repeats)
        .map_err(|e| DbError::Corrupt(format!("prefill_repeats of {id}: {e}")))?;
    Ok(Some(Stored {
        user_id,
        assignment: Assignment {
            assignment_id: id.to_string(),
            form_id,
            form_version,
            region_code,
            label,
            prefill,
            prefill_repeats,
        },
        withdrawn: withdrawn_at.is_some(),
    }))
}

fn csv_reader(input: impl Read) -> csv::Reader<impl Read> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(CrlfAsLf {
            inner: std::io::BufReader::new(input),
            pending_cr: false,
        })
}

/// `inner` with each CRLF read as LF. The csv crate counts a CRLF-ended record's line one too low
/// (BurntSushi/rust-csv#395), and files from spreadsheets and browsers' text boxes end lines with CRLF: the
/// problems must name the lines the operator sees, whatever wrote the file. A lone CR is kept.
struct CrlfAsLf<R> {
    inner: std::io::BufReader<R>,
    /// A CR was read and the byte after it is not known yet.
    pending_cr: bool,
}

impl<R: Read> Read for CrlfAsLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let mut n = 0;
        while let Some(slot) = buf.get_mut(n) {
            let next = self.inner.fill_buf()?.first().copied();
            if std::mem::take(&mut self.pending_cr) && next != Some(b'\n') {
                *slot = b'\r';
                n += 1;
                continue;
            }
            let Some(byte) = next else { break };
            self.inner.consume(1);
            if byte == b'\r' {
                self.pending_cr = true;
            } else {
                *slot = byte;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The header of a CSV file, trimmed, or the problem with it.
fn csv_header(
    reader: &mut csv::Reader<impl Read>,
    part: Part,
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(e) => {
            problems.push(part, 1, None, format!("unreadable header: {e}"));
            return None;
        }
    };
    if header.iter().all(|h| h.is_empty()) {
        problems.push(
            part,
            1,
            None,
            "the file is empty; a header row is required".into(),
        );
        return None;
    }
    Some(header)
}

fn parse_households_csv(
    tx: &Transaction<'_>,
    input: impl Read,
    forms: &mut Forms,
    problems: &mut Problems,
) -> Result<Vec<Row>, DbError> {
    let mut reader = csv_reader(input);
    let Some(header) = csv_header(&mut reader, Part::Households, problems) else {
        return Ok(Vec::new());
    };
    let before = problems.errors.len();
    check_header(&header, &REQUIRED_COLUMNS, Part::Households, problems);
    if problems.errors.len() > before {
        return Ok(Vec::new());
    }
    let mut users = Users::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(Part::Households, line, None, csv_problem(&e));
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
        let prefill: Vec<(String, &str)> = cells
            .iter()
            .filter(|(c, _)| !REQUIRED_COLUMNS.contains(c))
            .map(|(c, v)| (c.to_string(), *v))
            .collect();
        let fixed = Fixed {
            assignment_id: cells.get("assignment_id").copied().unwrap_or_default(),
            user_id: cells.get("user_id").copied().unwrap_or_default(),
            form_id: cells.get("form_id").copied().unwrap_or_default(),
            form_version: cells.get("form_version").copied().unwrap_or_default(),
            region_code: cells.get("region_code").copied().unwrap_or_default(),
            label: cells.get("label").copied().unwrap_or_default(),
        };
        if let Some(row) = check_row(tx, line, &fixed, &prefill, &mut users, forms, problems)? {
            keep_unique(row, line, &mut seen, &mut rows, problems);
        }
    }
    Ok(rows)
}

/// Keeps `row` (read on `line`) unless its assignment id was already read: then the problem names both lines.
/// Shared by the CSV and JSON-lines readers.
fn keep_unique(
    row: Row,
    line: u64,
    seen: &mut HashMap<String, u64>,
    rows: &mut Vec<Row>,
    problems: &mut Problems,
) {
    if let Some(first) = seen.insert(row.assignment.assignment_id.clone(), line) {
        problems.push(
            Part::Households,
            line,
            Some("assignment_id"),
            format!(
                "duplicate id: {:?} is also on line {first}",
                row.assignment.assignment_id
            ),
        );
        return;
    }
    rows.push(row);
}

/// Reads the members file into the households' rosters. A member row names its household by `assignment_id`;
/// every other column is a prefill key of a roster field of that household's form.
fn read_members_csv(input: impl Read, rows: &mut [Row], problems: &mut Problems) {
    let mut reader = csv_reader(input);
    let Some(header) = csv_header(&mut reader, Part::Members, problems) else {
        return;
    };
    let before = problems.errors.len();
    check_header(&header, &[MEMBER_KEY_COLUMN], Part::Members, problems);
    if problems.errors.len() > before {
        return;
    }
    let by_id: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.assignment.assignment_id.clone(), i))
        .collect();
    // The first line each household's members start on, for the roster-size message.
    let mut first_line: HashMap<usize, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(Part::Members, line, None, csv_problem(&e));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let cells: Vec<(&str, &str)> = header
            .iter()
            .map(String::as_str)
            .zip(record.iter().map(str::trim))
            .collect();
        let id = cells
            .iter()
            .find(|(c, _)| *c == MEMBER_KEY_COLUMN)
            .map_or("", |(_, v)| *v);
        let Some(&index) = by_id.get(id) else {
            problems.push(
                Part::Members,
                line,
                Some(MEMBER_KEY_COLUMN),
                format!(
                    "no household {id:?} in the households file (or it has a problem of its own)"
                ),
            );
            continue;
        };
        let row = &mut rows[index];
        let Some(keys) = row.keys.clone() else {
            continue;
        };
        let repeat = match keys.only_repeat() {
            Ok(r) => r,
            Err(message) => {
                problems.push(Part::Members, line, Some(MEMBER_KEY_COLUMN), message);
                continue;
            }
        };
        let values = cells
            .iter()
            .filter(|(c, _)| *c != MEMBER_KEY_COLUMN)
            .map(|(c, v)| (c.to_string(), c.to_string(), *v));
        if let Some(member) = check_member(values, &keys, repeat, Part::Members, line, problems) {
            first_line.entry(index).or_insert(line);
            let members = row
                .assignment
                .prefill_repeats
                .entry(repeat.key.clone())
                .or_default();
            members.push(member);
            let max = repeat
                .max_count
                .map_or(BodyLimits::default().max_list_items, |m| m as usize);
            if members.len() == max + 1 {
                problems.push(
                    Part::Members,
                    line,
                    Some(MEMBER_KEY_COLUMN),
                    format!(
                        "household {id:?} has more than {max} members (the most its form's roster takes); \
                         its members start on line {}",
                        first_line.get(&index).copied().unwrap_or(line)
                    ),
                );
            }
        }
    }
}

/// One member's values, checked: `(column for messages, prefill key, value)`. Empty values are left out.
fn check_member<'a>(
    values: impl Iterator<Item = (String, String, &'a str)>,
    keys: &FormKeys,
    repeat: &RepeatKeys,
    part: Part,
    line: u64,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let before = problems.errors.len();
    let mut member = BTreeMap::new();
    for (column, key, value) in values {
        if !repeat.knows(&key) {
            problems.unknown_key(part, line, &column, keys, &repeat.known());
            continue;
        }
        if value.is_empty() {
            continue;
        }
        match names::clean_name(&column, value, MAX_PREFILL_CHARS) {
            Err(e) => problems.push(part, line, Some(&column), e.message),
            Ok(value) => {
                if let Some(problem) = keys.member_value_problem(repeat, &key, &value) {
                    problems.push(part, line, Some(&column), problem);
                }
                member.insert(key, value);
            }
        }
    }
    (problems.errors.len() == before).then_some(member)
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

fn check_header(header: &[String], required: &[&str], part: Part, problems: &mut Problems) {
    for required in required {
        if !header.iter().any(|h| h == required) {
            problems.push(part, 1, Some(required), "required column is missing".into());
        }
    }
    let mut seen = Vec::new();
    for name in header {
        if seen.contains(&name) {
            problems.push(part, 1, Some(name), "column appears twice".into());
        }
        seen.push(name);
        if !is_key(name) {
            problems.push(
                part,
                1,
                Some(name),
                "column names are lower-case letters, digits and '_' (prefill keys of the form)"
                    .into(),
            );
        }
    }
}

fn is_key(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The columns every household has, as text from either format.
struct Fixed<'a> {
    assignment_id: &'a str,
    user_id: &'a str,
    form_id: &'a str,
    form_version: &'a str,
    region_code: &'a str,
    label: &'a str,
}

/// Checks one household: the fixed columns, then each prefill value `(column, value)` against the form's keys.
fn check_row(
    tx: &Transaction<'_>,
    line: u64,
    fixed: &Fixed<'_>,
    prefill_cells: &[(String, &str)],
    users: &mut Users,
    forms: &mut Forms,
    problems: &mut Problems,
) -> Result<Option<Row>, DbError> {
    let before = problems.errors.len();
    let fail = |problems: &mut Problems, column: &str, message: String| {
        problems.push(Part::Households, line, Some(column), message);
    };

    let assignment_id = fixed.assignment_id;
    if let Err(e) = names::check_id("assignment_id", assignment_id) {
        fail(problems, "assignment_id", e.message);
    }
    let user_id = fixed.user_id;
    if !users.known.contains_key(user_id) {
        let found = auth::load_user(tx, user_id)?.map(|u| (u.role, u.regions));
        users.known.insert(user_id.to_string(), found);
    }
    let user = users.known.get(user_id).cloned().flatten();
    match &user {
        None => fail(problems, "user_id", format!("unknown user {user_id:?}")),
        Some((role, _)) if !matches!(role, Role::Enumerator | Role::Assessor) => fail(
            problems,
            "user_id",
            format!(
                "{user_id:?} is a {}; only enumerators and assessors get assignments",
                auth::role_name(*role)
            ),
        ),
        Some(_) => {}
    }
    let form_id = fixed.form_id;
    let form_version = match fixed.form_version.parse::<u32>() {
        Ok(v) => Some(v),
        Err(_) => {
            fail(
                problems,
                "form_version",
                format!("{:?} is not a whole number", fixed.form_version),
            );
            None
        }
    };
    let mut keys = None;
    if let Some(version) = form_version {
        keys = forms.get(tx, form_id, version)?;
        if keys.is_none() {
            fail(
                problems,
                "form_id",
                format!("unknown form: {form_id:?} version {version} is not published"),
            );
        }
    }
    let region_code = fixed.region_code;
    match regions::check_village_code(region_code) {
        Err(message) => fail(
            problems,
            "region_code",
            format!("bad region code: {message}"),
        ),
        Ok(()) => {
            if let Some((_, scopes)) = &user
                && !regions::in_scope(region_code, scopes)
            {
                fail(
                    problems,
                    "region_code",
                    format!(
                        "{region_code} is outside the regions of {user_id:?} ({})",
                        scopes.join(", ")
                    ),
                );
            }
        }
    }
    let label = match names::clean_name("label", fixed.label, MAX_LABEL_CHARS) {
        Ok(label) => label,
        Err(e) => {
            fail(problems, "label", e.message);
            String::new()
        }
    };
    let mut prefill = BTreeMap::new();
    for (column, value) in prefill_cells {
        let key = column.rsplit('.').next().unwrap_or(column);
        if let Some(keys) = &keys
            && !keys.knows(key)
        {
            problems.unknown_key(Part::Households, line, column, keys, &keys.known());
            continue;
        }
        if value.is_empty() {
            continue;
        }
        match names::clean_name(column, value, MAX_PREFILL_CHARS) {
            Err(e) => fail(problems, column, e.message),
            Ok(value) => {
                if let Some(problem) = keys
                    .as_ref()
                    .and_then(|k| k.household_value_problem(key, &value))
                {
                    fail(problems, column, problem);
                }
                prefill.insert(key.to_string(), value);
            }
        }
    }
    // The village the household is assigned in is the one the form's region question starts from.
    if keys.as_ref().is_some_and(|k| k.prefills_region_code()) {
        prefill
            .entry(prefill::REGION_CODE_KEY.to_string())
            .or_insert_with(|| region_code.to_string());
    }
    if problems.errors.len() > before {
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
            prefill_repeats: BTreeMap::new(),
        },
        keys,
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error("no assignment {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::sql::Error> for WithdrawError {
    fn from(e: crate::db::sql::Error) -> Self {
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
    let detail = serde_json::json!({"user_id": user_id});
    crate::ledger::append(
        tx,
        now,
        "admin",
        "assignment_withdrawn",
        &format!("assignment:{assignment_id}"),
        &detail,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests;
