//! Limits a form declares (`max_length` of a text field, `max_count` of a repeat), checked after a batch is
//! parsed and before any visit is evaluated: the server-wide caps were already enforced while parsing
//! (`tepat_protocol::bounds`), these are the form's own, usually lower, numbers.

use crate::db::sql::Transaction;
use serde_json::Value;
use tepat_form::{Field, FieldType, Form};
use tepat_protocol::bounds::{Refusal, RefusalKind};
use tepat_protocol::{Answers, VisitDoc};

use crate::db::DbError;
use crate::forms::FormCache;

/// The first answer of the batch beyond its form's declared limits: its path (`visits[0].answers.members`) and
/// the refusal. Visits of unknown forms are left to ingest (`unknown_form`).
pub fn check_declared(
    tx: &Transaction<'_>,
    forms: &FormCache,
    visits: &[VisitDoc],
) -> Result<Option<(String, Refusal)>, DbError> {
    for (i, doc) in visits.iter().enumerate() {
        let Some(form) = forms.get(tx, &doc.form_id, doc.form_version)? else {
            continue;
        };
        if let Some((at, refusal)) = declared_problem(form.form(), &doc.answers) {
            return Ok(Some((format!("visits[{i}].answers.{at}"), refusal)));
        }
    }
    Ok(None)
}

/// The first answer beyond the form's `max_length` / `max_count`, with its path inside the answers.
pub fn declared_problem(form: &Form, answers: &Answers) -> Option<(String, Refusal)> {
    for field in form.sections.iter().flat_map(|s| &s.fields) {
        let Some(answer) = answers.get(&field.id) else {
            continue;
        };
        if let Some(refusal) = field_problem(field, answer) {
            return Some((field.id.clone(), refusal));
        }
        let (FieldType::Repeat, Value::Array(members)) = (field.kind, answer) else {
            continue;
        };
        for (i, member) in members.iter().enumerate() {
            let Value::Object(member) = member else {
                continue;
            };
            for child in &field.fields {
                if let Some(refusal) = member.get(&child.id).and_then(|a| field_problem(child, a)) {
                    return Some((format!("{}[{i}].{}", field.id, child.id), refusal));
                }
            }
        }
    }
    None
}

fn field_problem(field: &Field, answer: &Value) -> Option<Refusal> {
    match (field.kind, answer) {
        (FieldType::Text, Value::String(text)) => {
            let max = field.max_length? as usize;
            let count = text.chars().count();
            (count > max).then(|| Refusal {
                kind: RefusalKind::TextTooLong,
                limit: Some(max as u64),
                detail: format!(
                    "{count} characters; the form allows at most {max} (max_length of `{}`)",
                    field.id
                ),
            })
        }
        (FieldType::Repeat, Value::Array(members)) => {
            let max = field.max_count? as usize;
            (members.len() > max).then(|| Refusal {
                kind: RefusalKind::ListTooLong,
                limit: Some(max as u64),
                detail: format!(
                    "{} members; the form allows at most {max} (max_count of `{}`)",
                    members.len(),
                    field.id
                ),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> Form {
        let json = json!({
            "id": "f", "version": 1, "title": {"id": "F", "en": "F"},
            "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
                {"id": "note_text", "type": "text", "label": {"id": "C", "en": "C"}, "max_length": 5},
                {"id": "free", "type": "text", "label": {"id": "B", "en": "B"}},
                {"id": "members", "type": "repeat", "label": {"id": "A", "en": "M"}, "max_count": 2, "fields": [
                    {"id": "name", "type": "text", "label": {"id": "N", "en": "N"}, "max_length": 3}
                ]}
            ]}]
        });
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn answers(v: Value) -> Answers {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn answers_within_the_declared_limits_pass() {
        let ok = answers(json!({"note_text": "abcde", "free": "x".repeat(500),
            "members": [{"name": "Ani"}, {"name": "Bu"}]}));
        assert_eq!(declared_problem(&form(), &ok), None);
    }

    #[test]
    fn a_text_past_max_length_is_named_with_the_limit() {
        let (path, refusal) = declared_problem(&form(), &answers(json!({"note_text": "abcdef"})))
            .unwrap_or_else(|| panic!("not refused"));
        assert_eq!(
            (path.as_str(), refusal.kind, refusal.limit),
            ("note_text", RefusalKind::TextTooLong, Some(5))
        );
        // Characters, not bytes.
        assert_eq!(
            declared_problem(&form(), &answers(json!({"note_text": "ééééé"}))),
            None
        );
    }

    #[test]
    fn a_member_text_past_max_length_is_named_by_member() {
        let found = declared_problem(
            &form(),
            &answers(json!({"members": [{"name": "Ani"}, {"name": "Budi"}]})),
        );
        let (path, refusal) = found.unwrap_or_else(|| panic!("not refused"));
        assert_eq!((path.as_str(), refusal.limit), ("members[1].name", Some(3)));
    }

    #[test]
    fn a_repeat_past_max_count_is_refused() {
        let found = declared_problem(&form(), &answers(json!({"members": [{}, {}, {}]})));
        let (path, refusal) = found.unwrap_or_else(|| panic!("not refused"));
        assert_eq!(
            (path.as_str(), refusal.kind, refusal.limit),
            ("members", RefusalKind::ListTooLong, Some(2))
        );
    }
}
