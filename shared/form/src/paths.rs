//! Answers as rows: one row per answered path (`outcome`, `members[2].nik`) plus one row per repeat giving its
//! member count, so that answering is a single-row upsert and a visit's answers rebuild exactly.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::{Answers, Field, FieldType, Form};

/// Rows that do not make an answer tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A path that is not `field`, `repeat[i].field`, ...
    #[error("bad answer path {0:?}")]
    BadPath(String),
    /// A value stored where a repeat's members are (or the other way round), naming the path.
    #[error("{0}: a repeat and an answer at the same path")]
    RepeatAndAnswer(String),
}

/// What one row holds.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerRow {
    /// An answer (any JSON the field type allows).
    Value(Value),
    /// The number of members of the repeat at this path (members may have no answers yet).
    Members(u32),
}

/// One step of a path: a field id, with a member index when it names a repeat's member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub field: &'a str,
    pub index: Option<usize>,
}

/// Splits `members[2].nik` into `[members[2], nik]`; `None` when malformed.
pub fn parse_path(path: &str) -> Option<Vec<Segment<'_>>> {
    path.split('.').map(parse_segment).collect()
}

fn parse_segment(segment: &str) -> Option<Segment<'_>> {
    let (field, index) = match segment.find('[') {
        None => (segment, None),
        Some(open) => {
            let rest = segment.get(open + 1..)?.strip_suffix(']')?;
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (segment.get(..open)?, Some(rest.parse().ok()?))
        }
    };
    let valid = !field.is_empty()
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(Segment { field, index })
}

/// The rows for a whole answer tree. `repeats` holds the field ids of repeat fields (ids are unique in a form):
/// their values are arrays of member objects, everything else is a leaf.
pub fn flatten(answers: &Answers, repeats: &HashSet<String>) -> BTreeMap<String, AnswerRow> {
    let mut rows = BTreeMap::new();
    flatten_into(answers, "", repeats, &mut rows);
    rows
}

fn flatten_into(
    object: &Answers,
    prefix: &str,
    repeats: &HashSet<String>,
    rows: &mut BTreeMap<String, AnswerRow>,
) {
    for (key, value) in object {
        let path = format!("{prefix}{key}");
        match value {
            Value::Array(members)
                if repeats.contains(key) && members.iter().all(Value::is_object) =>
            {
                rows.insert(
                    path.clone(),
                    AnswerRow::Members(u32::try_from(members.len()).unwrap_or(u32::MAX)),
                );
                for (index, member) in members.iter().enumerate() {
                    if let Value::Object(member) = member {
                        flatten_into(member, &format!("{path}[{index}]."), repeats, rows);
                    }
                }
            }
            Value::Null => {}
            other => {
                rows.insert(path, AnswerRow::Value(other.clone()));
            }
        }
    }
}

/// Rebuilds the answer tree from rows (any order). A member index beyond the stored count still gets its
/// member (the data says it exists), so nothing stored is ever dropped.
pub fn unflatten<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a AnswerRow)>,
) -> Result<Answers, PathError> {
    let mut answers = Answers::new();
    let mut values = Vec::new();
    for (path, row) in rows {
        match row {
            AnswerRow::Members(count) => {
                let slot = slot(&mut answers, path)?;
                let members = ensure_array(slot, path)?;
                let count = *count as usize;
                if members.len() < count {
                    members.resize_with(count, || Value::Object(Answers::new()));
                }
            }
            AnswerRow::Value(value) => values.push((path, value)),
        }
    }
    for (path, value) in values {
        *slot(&mut answers, path)? = value.clone();
    }
    Ok(answers)
}

/// The place in the tree a path names, creating members and objects on the way.
fn slot<'t>(answers: &'t mut Answers, path: &str) -> Result<&'t mut Value, PathError> {
    let bad = || PathError::BadPath(path.to_string());
    let segments = parse_path(path).ok_or_else(bad)?;
    let (last, parents) = segments.split_last().ok_or_else(bad)?;
    let mut object = answers;
    for segment in parents {
        let index = segment.index.ok_or_else(bad)?;
        let entry = object
            .entry(segment.field.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        let members = ensure_array(entry, path)?;
        if members.len() <= index {
            members.resize_with(index + 1, || Value::Object(Answers::new()));
        }
        object = match members.get_mut(index) {
            Some(Value::Object(member)) => member,
            _ => return Err(bad()),
        };
    }
    if last.index.is_some() {
        return Err(bad());
    }
    Ok(object.entry(last.field.to_string()).or_insert(Value::Null))
}

fn ensure_array<'v>(value: &'v mut Value, path: &str) -> Result<&'v mut Vec<Value>, PathError> {
    if value.is_null() {
        *value = Value::Array(Vec::new());
    }
    match value {
        Value::Array(members) => Ok(members),
        _ => Err(PathError::RepeatAndAnswer(path.to_string())),
    }
}

/// The field ids of a form's repeat fields (how answers become rows).
pub fn repeat_ids(form: &Form) -> std::collections::HashSet<String> {
    fn walk(fields: &[Field], out: &mut std::collections::HashSet<String>) {
        for field in fields {
            if field.kind == FieldType::Repeat {
                out.insert(field.id.clone());
            }
            walk(&field.fields, out);
        }
    }
    let mut out = std::collections::HashSet::new();
    for section in &form.sections {
        walk(&section.fields, &mut out);
    }
    out
}

/// The row changes that turn `before` into `after`: `None` deletes the row.
pub fn diff(
    before: &BTreeMap<String, AnswerRow>,
    after: &BTreeMap<String, AnswerRow>,
) -> Vec<(String, Option<AnswerRow>)> {
    let mut changes = Vec::new();
    for (path, row) in after {
        if before.get(path) != Some(row) {
            changes.push((path.clone(), Some(row.clone())));
        }
    }
    for path in before.keys() {
        if !after.contains_key(path) {
            changes.push((path.clone(), None));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn repeats() -> HashSet<String> {
        ["members".to_string(), "actions".to_string()]
            .into_iter()
            .collect()
    }

    fn answers(value: Value) -> Answers {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn round_trip(a: &Answers) -> Answers {
        let rows = flatten(a, &repeats());
        unflatten(rows.iter().map(|(p, r)| (p.as_str(), r))).unwrap()
    }

    #[test]
    fn paths_parse_and_reject_nonsense() {
        assert_eq!(
            parse_path("members[2].nik"),
            Some(vec![
                Segment {
                    field: "members",
                    index: Some(2)
                },
                Segment {
                    field: "nik",
                    index: None
                }
            ])
        );
        for bad in ["", "a..b", "a[", "a[]", "a[x]", "a[1]b", ".a", "a b", "[1]"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn repeats_keep_empty_members_and_objects_stay_leaves() {
        let a = answers(json!({
            "outcome": "1",
            "gps": {"lat": -3.8, "lon": 102.26, "accuracy_m": 8.0},
            "assets": ["1", "3"],
            "members": [{"name": "Siti", "nik": "1771014506900001"}, {}, {"name": "Budi"}],
            "actions": []
        }));
        let rows = flatten(&a, &repeats());
        assert_eq!(rows.get("members"), Some(&AnswerRow::Members(3)));
        assert_eq!(rows.get("actions"), Some(&AnswerRow::Members(0)));
        assert_eq!(
            rows.get("members[2].name"),
            Some(&AnswerRow::Value(json!("Budi")))
        );
        assert!(matches!(
            rows.get("gps"),
            Some(AnswerRow::Value(Value::Object(_)))
        ));
        assert_eq!(round_trip(&a), a);
    }

    #[test]
    fn removing_a_member_shifts_the_rows_after_it() {
        let before = answers(json!({"members": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}));
        let after = answers(json!({"members": [{"name": "A"}, {"name": "C"}]}));
        let changes = diff(&flatten(&before, &repeats()), &flatten(&after, &repeats()));
        assert_eq!(
            changes,
            vec![
                ("members".to_string(), Some(AnswerRow::Members(2))),
                (
                    "members[1].name".to_string(),
                    Some(AnswerRow::Value(json!("C")))
                ),
                ("members[2].name".to_string(), None),
            ]
        );
    }

    #[test]
    fn a_value_where_a_repeat_is_stored_is_reported_not_lost() {
        let rows = [
            ("members".to_string(), AnswerRow::Value(json!("x"))),
            ("members[0].a".to_string(), AnswerRow::Value(json!(1))),
        ];
        let result = unflatten(rows.iter().map(|(p, r)| (p.as_str(), r)));
        assert!(
            matches!(
                result,
                Err(PathError::RepeatAndAnswer(_)) | Err(PathError::BadPath(_))
            ),
            "{result:?}"
        );
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-z ]{0,8}".prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            prop::collection::vec("[0-9]", 0..3).prop_map(|v| json!(v)),
            (any::<i16>(), any::<i16>()).prop_map(|(a, b)| json!({"lat": a, "lon": b})),
        ]
    }

    fn member() -> impl Strategy<Value = Value> {
        prop::collection::btree_map("[a-d]", leaf(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #[test]
        fn flatten_then_unflatten_is_identity(
            top in prop::collection::btree_map("[e-h]", leaf(), 0..5),
            members in prop::collection::vec(member(), 0..5),
        ) {
            let mut a: Answers = top.into_iter().collect();
            a.insert("members".into(), Value::Array(members));
            prop_assert_eq!(round_trip(&a), a);
        }

        #[test]
        fn diff_applied_to_before_gives_after(
            x in prop::collection::vec(member(), 0..5),
            y in prop::collection::vec(member(), 0..5),
        ) {
            let mut before = Answers::new();
            before.insert("members".into(), Value::Array(x));
            let mut after = Answers::new();
            after.insert("members".into(), Value::Array(y));
            let mut rows = flatten(&before, &repeats());
            for (path, row) in diff(&rows.clone(), &flatten(&after, &repeats())) {
                match row {
                    Some(row) => { rows.insert(path, row); }
                    None => { rows.remove(&path); }
                }
            }
            prop_assert_eq!(unflatten(rows.iter().map(|(p, r)| (p.as_str(), r))).unwrap(), after);
        }
    }
}
