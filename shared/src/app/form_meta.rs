//! What the App needs to know about a compiled form, worked out once per form version.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::form::{CompiledForm, Field, FieldType};
use crate::store::{parse_path, repeat_ids};

/// Field ids the App reads as "the visit outcome" (the first question of a ground check).
const OUTCOME_FIELDS: [&str; 2] = ["visit_outcome", "outcome"];

/// Outcome codes that ask for another visit when the form says nothing itself: G26 R16 `0` not found and
/// `5` not reachable (DOMAIN.md §1a). A choice attribute `revisit` (`true`/`1`/`yes`) overrides.
const REVISIT_CODES: [&str; 2] = ["0", "5"];

/// A compiled form with its lookup tables; cheap to clone.
#[derive(Debug, Clone)]
pub struct FormMeta {
    pub compiled: CompiledForm,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    repeats: HashSet<String>,
    fields: HashMap<String, FieldEntry>,
    outcome_field: Option<String>,
}

/// Where a field is.
#[derive(Debug, Clone)]
pub struct FieldEntry {
    pub field: Field,
    pub section: usize,
    /// The repeat it belongs to, if any.
    pub parent: Option<String>,
}

impl FormMeta {
    pub fn new(compiled: CompiledForm) -> FormMeta {
        let form = compiled.form();
        let mut fields = HashMap::new();
        fn walk(
            fields: &[Field],
            section: usize,
            parent: Option<&str>,
            out: &mut HashMap<String, FieldEntry>,
        ) {
            for field in fields {
                out.insert(
                    field.id.clone(),
                    FieldEntry {
                        field: field.clone(),
                        section,
                        parent: parent.map(str::to_string),
                    },
                );
                walk(&field.fields, section, Some(&field.id), out);
            }
        }
        for (index, section) in form.sections.iter().enumerate() {
            walk(&section.fields, index, None, &mut fields);
        }
        let outcome_field = OUTCOME_FIELDS
            .iter()
            .find(|id| {
                fields
                    .get(**id)
                    .is_some_and(|e| e.parent.is_none() && e.field.kind == FieldType::SelectOne)
            })
            .map(|id| id.to_string());
        let inner = Inner {
            repeats: repeat_ids(form),
            fields,
            outcome_field,
        };
        FormMeta {
            compiled,
            inner: Arc::new(inner),
        }
    }

    pub fn repeats(&self) -> &HashSet<String> {
        &self.inner.repeats
    }

    pub fn entry(&self, field_id: &str) -> Option<&FieldEntry> {
        self.inner.fields.get(field_id)
    }

    /// The field an answer path names (`members[2].nik` → `nik`).
    pub fn field_at(&self, path: &str) -> Option<&FieldEntry> {
        let segments = parse_path(path)?;
        self.entry(segments.last()?.field)
    }

    /// The section a path's answer is in.
    pub fn section_of(&self, path: &str) -> Option<usize> {
        let segments = parse_path(path)?;
        self.entry(segments.first()?.field).map(|e| e.section)
    }

    pub fn outcome_field(&self) -> Option<&str> {
        self.inner.outcome_field.as_deref()
    }

    /// Whether this outcome code asks for another visit.
    pub fn is_revisit(&self, code: &str) -> bool {
        let choice = self
            .outcome_field()
            .and_then(|id| self.entry(id))
            .and_then(|e| e.field.choices.as_ref())
            .and_then(|list| self.compiled.form().choices.get(list))
            .and_then(|list| list.iter().find(|c| c.value == code));
        match choice.and_then(|c| c.attrs.get("revisit")) {
            Some(flag) => matches!(flag.as_str(), "true" | "1" | "yes"),
            None => REVISIT_CODES.contains(&code),
        }
    }
}
