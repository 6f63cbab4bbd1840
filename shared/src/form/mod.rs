//! The form engine: form definitions, XLSForm-style expressions, validation and identity checks.
//!
//! Pure (no I/O), so the phone and the server validate a visit with exactly the same logic.

mod model;

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
