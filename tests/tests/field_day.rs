//! Field day: 5 enumerators × 12 households entered offline through the real core, then one sync each →
//! the supervisor's pull has exactly the 60 visits, equal field by field to what the phones froze, and every
//! answer typed is in them.

use std::collections::BTreeMap;

use serde_json::Value;
use tepat_e2e::field::{Field, differences};
use tepat_form::FieldType;
use tepat_protocol::ReviewStatus;
use tepat_synth::Outcome;

#[test]
fn sixty_visits_entered_offline_reach_the_supervisor_exactly_once_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 5).unwrap();
    field
        .add_enumerators(
            &[
                "Siti Rahma",
                "Bambang",
                "Yuliana",
                "Rudi Hartono",
                "Nur Aini",
            ],
            12,
            &[],
        )
        .unwrap();
    field.proxy.set_offline(true).unwrap();

    let mut entered = BTreeMap::new();
    let mut typed = BTreeMap::new();
    for e in 0..field.enumerators.len() {
        let assignments = field.enumerators[e].assignments.clone();
        for (i, assignment) in assignments.iter().enumerate() {
            let outcome = match i {
                3 => Outcome::NotFound,
                7 => Outcome::Moved,
                _ => Outcome::Found,
            };
            let doc = field.visit_for(assignment, outcome).unwrap();
            let phone = &field.enumerators[e].phone;
            let frozen = phone.enter(&assignment.assignment_id, &doc).unwrap();
            typed.insert(frozen.visit_id, doc);
            entered.insert(frozen.visit_id, frozen);
        }
        // No signal: a sync attempt fails and keeps everything.
        let view = field.enumerators[e].phone.sync();
        assert_eq!(view.outbox, 12);
        assert!(view.last_error.is_some());
    }
    assert_eq!(entered.len(), 60);

    field.proxy.set_offline(false).unwrap();
    for e in &field.enumerators {
        e.phone.sync_until_clean(3).unwrap();
        assert_eq!(e.phone.outbox().unwrap(), 0);
    }

    let pulled = field.supervisor.pull_all().unwrap();
    assert_eq!(pulled.len(), 60, "exactly 60 visits, no more, no fewer");
    for visit in &pulled {
        assert_eq!(visit.status, ReviewStatus::Submitted);
        let phone_doc = &entered[&visit.visit.visit_id];
        let diff = differences(phone_doc, &visit.visit);
        assert!(diff.is_empty(), "visit {}: {diff:#?}", visit.visit.visit_id);
        let user = &visit.user_id;
        assert!(field.enumerators.iter().any(|e| {
            &e.user_id == user
                && e.assignments
                    .iter()
                    .any(|a| Some(&a.assignment_id) == visit.visit.assignment_id.as_ref())
        }));
    }

    // What was typed is what arrived (photos carry the phone's own file reference; calculations are the
    // engine's).
    let form =
        tepat_form::load(include_str!("../../schemas/forms/dtsen_groundcheck.json")).unwrap();
    let mut kinds = BTreeMap::new();
    fn walk(fields: &[tepat_form::Field], out: &mut BTreeMap<String, FieldType>) {
        for f in fields {
            out.insert(f.id.clone(), f.kind);
            walk(&f.fields, out);
        }
    }
    for s in &form.form().sections {
        walk(&s.fields, &mut kinds);
    }
    let mut compared = 0;
    for visit in &pulled {
        let doc = &typed[&visit.visit.visit_id];
        for (key, value) in &doc.answers {
            let skip = |k: &str| {
                matches!(
                    kinds.get(k),
                    Some(FieldType::Photo | FieldType::Calculate | FieldType::Note)
                )
            };
            if skip(key) {
                continue;
            }
            let got = visit.visit.answers.get(key).unwrap_or(&Value::Null);
            match (value, got) {
                (Value::Array(want), Value::Array(have))
                    if kinds.get(key) == Some(&FieldType::Repeat) =>
                {
                    assert_eq!(want.len(), have.len(), "{key}");
                    for (w, h) in want.iter().zip(have) {
                        for (k, v) in w.as_object().into_iter().flatten() {
                            if !skip(k) {
                                assert_eq!(
                                    Some(v),
                                    h.get(k),
                                    "{}: {key}.{k}",
                                    visit.visit.visit_id
                                );
                                compared += 1;
                            }
                        }
                    }
                }
                _ => {
                    assert_eq!(value, got, "{}: {key}", visit.visit.visit_id);
                    compared += 1;
                }
            }
        }
        assert_eq!(doc.warning_notes, visit.visit.warning_notes);
    }
    assert!(compared > 60 * 10, "{compared} answers compared");
}
