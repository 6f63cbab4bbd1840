//! The form engine: form definitions, XLSForm-style expressions, validation and identity checks.
//!
//! Pure (no I/O), so the phone and the server validate a visit with exactly the same logic.
//!
//! - [`load`] / [`compile`] check a form and report *every* problem with its JSON path (`sections[2].fields[5]
//!   .constraints[0].expr`) and the field id: JSON shape, ids, choice lists, expressions (syntax with the column,
//!   unknown fields and functions, arity, types), cycles among calculations and relevance.
//! - [`CompiledForm::validate`] gives the findings of a visit's answers; [`CompiledForm::session`] keeps them up
//!   to date while the visit is filled, re-evaluating only what depends on each answer (same code, same result).
//! - [`region`]: the embedded Kemendagri region list; [`identity`]: NIK and No. KK.
//!
//! # Expressions (XLSForm style)
//! `${field}`, `.` (a constraint's own value), numbers, `'text'` / `"text"`, `+ - * div / mod`, `= != < <= > >=`,
//! `and`, `or`, unary `-`, parentheses, and the functions `if`, `not`, `selected`, `count-selected`, `count`,
//! `sum`, `min`, `max`, `today`, `age`, `string-length`, `regex` (literal pattern), `coalesce`, `int`, `round`,
//! `concat`, `date`, `true`, `false`, `nik-birth-date`, `nik-sex` (`'1'` male, `'2'` female). In a
//! `choice_filter` a bare name is an attribute of the candidate choice (`value` is its code).
//!
//! - Inside a repeat, `${x}` is the same member's `x`; a member field may read top-level fields.
//! - `count`, `sum`, `min`, `max` with one argument aggregate over the members of the repeat whose fields the
//!   argument reads (from anywhere, also inside that repeat): `count(${members})` is the member count,
//!   `count(${relationship} = '1')` the members for which the condition holds, `count(${nik})` those answered,
//!   `sum(${income})`, `max(${age})`. Outside an aggregate, a repeat's fields can only be read from inside it.
//! - An empty operand makes arithmetic empty and comparisons false, except `x = ''` / `x != ''` (answered?).
//!   Non-relevant fields read as empty. `today()` is the visit date; `age(d)` whole years at the visit date;
//!   date − date is days, date ± n is a date.
//! - Constraints run when the field is relevant and answered (on a repeat: always when relevant, with `.` the
//!   member count); only `true` passes. A select's code must be in its list and pass its `choice_filter`.
//!
//! Built-in checks (no expression needed): answer shape per type (rule `type`), `required`, `min_count` /
//! `max_count`, NIK (`nik_format`, `nik_date`, `nik_serial` errors; `nik_prefix` warning), No. KK (`kk_format`;
//! `kk_prefix` warning), region codes (`region`, `region_within`), a GPS fix outside Indonesia
//! (`geopoint_outside_indonesia`, warning), answers that fit no field (`unknown_field`). When a built-in check
//! finds an error, the field's constraints are not run (they would only repeat it).
//!
//! Crate `tepat-form`: depends on no other Tepat crate and does no I/O (serde, chrono, regex, flate2 for the embedded region list).

mod compile;
pub mod expr;
pub mod identity;
mod model;
pub mod paths;
pub mod region;
mod session;
mod shape;
pub mod text_rules;
mod validate;
pub mod value;

pub use session::{Changed, FormSession};
pub use value::Value;

/// The export follows each prefilled field `f` with a column `f__prefill` (what became of the prefilled answer);
/// no field id may end in it.
pub const PREFILL_REVIEW_SUFFIX: &str = "__prefill";

pub use model::*;

use serde::{Deserialize, Serialize};

/// One problem found in a visit's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where: the field id, inside a repeat with the member index (0-based), e.g. `members[2].nik`.
    pub path: String,
    /// The field's id (without repeat index).
    pub field: String,
    /// Which rule: `required`, `type`, a constraint's `rule` name, or a built-in check such as `nik_birth_date`.
    pub rule: String,
    pub level: Level,
    pub message: Text,
}

// ---------------------------------------------------------------------------------------------------------------
// The engine's public contract. Bodies are being written (form-engine work in progress); signatures are what the
// server, the App and the generator code against.

use std::sync::Arc;

use chrono::NaiveDate;

/// A visit's answers: field id → JSON value; a repeat is an array of objects (one per member).
/// The value format per field type is documented in `schemas/visit.schema.json`.
pub type Answers = serde_json::Map<String, serde_json::Value>;

/// Every problem found while loading a form, each with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in form: {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct LoadErrors(pub Vec<LoadError>);

/// One load-time problem: `path` points into the form JSON, e.g. `sections[2].fields[5].constraints[0].expr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    pub path: String,
    pub message: String,
}

/// An answer that cannot be taken (unknown field, wrong type, bad member index); nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {}", .message.en)]
pub struct AnswerError {
    pub path: String,
    pub message: Text,
}

/// A form that passed every load-time check, with its expressions parsed and its dependency graph built.
/// Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct CompiledForm {
    inner: Arc<compile::Compiled>,
}

/// Parses and checks a form; reports every problem, not only the first.
pub fn load(json: &str) -> Result<CompiledForm, LoadErrors> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        LoadErrors(vec![LoadError {
            path: format!("line {} column {}", e.line(), e.column()),
            message: format!("not valid JSON: {e}"),
        }])
    })?;
    match serde_json::from_value::<Form>(value.clone()) {
        Ok(form) => compile(form),
        Err(first) => {
            // serde stops at the first problem: look at every section and field to report them all.
            let mut problems = shape::problems(&value);
            if problems.is_empty() {
                let at = serde_json::from_str::<Form>(json)
                    .err()
                    .map(|e| format!(" (line {} column {})", e.line(), e.column()));
                problems.push(LoadError {
                    path: String::new(),
                    message: format!("{first}{}", at.unwrap_or_default()),
                });
            }
            Err(LoadErrors(problems))
        }
    }
}

/// One full evaluation of a visit's answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// As [`CompiledForm::validate`] gives them.
    pub findings: Vec<Finding>,
    /// The relevant answers with the relevant calculated values beside them (inside member objects for
    /// members): what an export shows of the visit.
    pub exported: Answers,
}

/// Checks an already-parsed form.
pub fn compile(form: Form) -> Result<CompiledForm, LoadErrors> {
    Ok(CompiledForm {
        inner: Arc::new(compile::compile(form)?),
    })
}

impl CompiledForm {
    pub fn form(&self) -> &Form {
        &self.inner.form
    }

    /// Every finding for these answers (relevance applied: hidden fields are not validated).
    pub fn validate(&self, answers: &Answers, visit_date: NaiveDate) -> Vec<Finding> {
        session::State::new(self, answers.clone(), visit_date).findings()
    }

    /// The answers without those of hidden (non-relevant) fields: what is exported.
    pub fn relevant_answers(&self, answers: &Answers, visit_date: NaiveDate) -> Answers {
        session::State::new(self, answers.clone(), visit_date).relevant_answers()
    }

    /// The values of the relevant calculate fields (e.g. ages), shaped like answers: exported beside
    /// [`CompiledForm::relevant_answers`], which holds only what was answered.
    pub fn calculated(&self, answers: &Answers, visit_date: NaiveDate) -> Answers {
        session::State::new(self, answers.clone(), visit_date).calculated()
    }

    /// Findings and exported answers from one evaluation of the form (what the server keeps of a visit).
    pub fn evaluate(&self, answers: &Answers, visit_date: NaiveDate) -> Evaluation {
        let state = session::State::new(self, answers.clone(), visit_date);
        Evaluation {
            findings: state.findings(),
            exported: state.exported(),
        }
    }

    /// A live evaluation state for one visit, for the App. Fails only when a repeat's answer is not a list of
    /// member objects (such answers can still be validated: they give `type` findings).
    pub fn session(
        &self,
        answers: Answers,
        visit_date: NaiveDate,
    ) -> Result<FormSession, AnswerError> {
        FormSession::new(self, answers, visit_date)
    }
}

#[cfg(test)]
mod tests;
