//! What the App needs to know about a compiled form, worked out once per form version.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tepat_form::paths::{parse_path, repeat_ids};
use tepat_form::{CompiledForm, Field};

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
        // The form declares it (`Form::outcome_field`, which the server reads too).
        let outcome_field = form.outcome_field().map(|f| f.id.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(json: &str) -> FormMeta {
        FormMeta::new(tepat_form::load(json).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn the_phone_reads_the_outcome_the_form_declares() {
        // Neither conventionally named nor the first select_one: only the declaration finds it.
        let json = r#"{"id": "f", "version": 1, "title": {"id": "F", "en": "F"}, "outcome": "result",
          "choices": {"codes": [{"value": "0", "label": {"id": "Nol", "en": "Zero"}}]},
          "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
            {"id": "kind", "type": "select_one", "choices": "codes", "label": {"id": "x", "en": "x"}},
            {"id": "result", "type": "select_one", "choices": "codes", "label": {"id": "x", "en": "x"}}]}]}"#;
        let declared = meta(json);
        assert_eq!(declared.outcome_field(), Some("result"));
        assert!(declared.is_revisit("0"));
        assert_eq!(
            meta(&json.replace(r#""outcome": "result","#, "")).outcome_field(),
            None
        );
    }

    #[test]
    fn the_real_forms_give_the_phone_their_declared_outcome() {
        let dtsen = meta(include_str!(
            "../../../schemas/forms/dtsen_groundcheck.json"
        ));
        assert_eq!(dtsen.outcome_field(), Some("visit_outcome"));
        let ppks = meta(include_str!("../../../schemas/forms/ppks_asesmen.json"));
        assert_eq!(ppks.outcome_field(), None);
    }
}
