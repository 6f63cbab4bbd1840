//! XLSForm ⇄ Tepat form JSON: what `tepat-form import` and `tepat-form export` run.
//!
//! Form authors in this field write XLSForm in a spreadsheet (ODK, Kobo, SurveyCTO and CommCare read it). This
//! crate reads an XLSForm workbook (`survey`, `choices` and `settings` sheets) into a [`tepat_form::Form`] and
//! writes a form back as an XLSForm workbook, with what only Tepat has (finding levels and rule names, several
//! constraints on one question, `max_length`, prefill keys, NIK / No. KK / region types, …) in extra `tepat:`
//! columns, so that export → import gives the same form (shared/xlsform/README.md lists every column).
//!
//! - [`import`]: bytes of an `.xlsx` → a form that passed the form engine's own load-time checks, or every
//!   problem, each with its sheet, row and column. Nothing is dropped silently: a construct Tepat cannot carry
//!   (an `appearance`, a `default`, a `time` question, a third language, …) is a problem, not a loss.
//! - [`export`]: a form → the bytes of an `.xlsx`.
//! - [`Limits`]: a workbook is bounded before work is spent on it: file size, unzipped size (zip bombs), sheet
//!   rows, columns and cells, text length and group nesting.
//!
//! Crate `tepat-xlsform`: depends on `tepat-form` (and calamine, zip, rust_xlsxwriter); used by `tepat-tools`
//! only, never linked into the phone library (`tepat-ffi`) or the server.

mod columns;
mod expr;
mod read;
mod survey;
mod write;

use std::fmt;

pub use read::Limits;

/// Where something is in the workbook: a sheet, and where known a row (1-based, as a spreadsheet shows it) and
/// a column (its header and letter).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub sheet: String,
    pub row: Option<u32>,
    /// The column's header and letter, e.g. `relevant (F)`.
    pub column: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.sheet)?;
        if let Some(row) = self.row {
            write!(f, " row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        Ok(())
    }
}

/// One problem (or, among [`Imported::warnings`], one remark) with its place in the workbook.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Why an XLSForm was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not a workbook calamine and zip can read.
    #[error("not a readable .xlsx workbook: {0}")]
    Unreadable(String),
    /// The workbook is past one of the [`Limits`]; nothing more was read.
    #[error("the workbook is too large: {what} is more than {limit}")]
    TooLarge { what: String, limit: u64 },
    /// The workbook was read, and these constructs cannot be carried into a Tepat form, or the form made of it
    /// does not pass the form engine's load-time checks (each placed at the cell it comes from).
    #[error("{} problem(s) in the XLSForm: {}", .0.len(), .0.iter().map(Problem::to_string).collect::<Vec<_>>().join("; "))]
    Problems(Vec<Problem>),
}

/// Why a form cannot be written as an XLSForm.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Something in the form has no cell to go to so that it comes back the same (named with its JSON path).
    #[error("{path}: {message}")]
    Unrepresentable { path: String, message: String },
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// A form read from an XLSForm.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Passed [`tepat_form::compile`]: the form engine's load-time checks.
    pub form: tepat_form::Form,
    /// What the import filled in (a missing English label taken from the Indonesian one, a default constraint
    /// message, version 1 when the settings give none, …): nothing is lost, but the author may want to write it.
    pub warnings: Vec<Problem>,
}

/// Reads an XLSForm workbook into a Tepat form. `fallback_id` is the form id when the settings sheet gives none
/// (the file's name, as ODK does).
pub fn import(bytes: &[u8], fallback_id: &str, limits: &Limits) -> Result<Imported, ImportError> {
    let book = read::workbook(bytes, limits)?;
    survey::build(&book, fallback_id, limits)
}

/// Writes a form as an XLSForm workbook (`survey`, `choices`, `settings`), returning the `.xlsx` bytes.
pub fn export(form: &tepat_form::Form) -> Result<Vec<u8>, ExportError> {
    write::workbook(form)
}
