//! Registered families through the whole system: assignments imported with their members (households CSV +
//! members CSV, `schemas/assignments.md`) reach the phone, each visit opens with the roster prefilled, the family is
//! entered through the real core as found, and the visit the supervisor pulls is the registered record plus the
//! day's answers: every registered member once (none added twice), with the registered values unchanged, marked
//! `registered`, the outcome, a GPS fix and the photos; and the phone's prefill review travels with it.

use std::collections::BTreeMap;

use serde_json::json;
use tepat_e2e::field::{Field, differences};
use tepat_form::FieldType;
use tepat_protocol::{PrefillReview, ReviewStatus, VisitDoc};
use tepat_synth::Outcome;

const HOUSEHOLDS: usize = 4;

fn kinds() -> BTreeMap<String, FieldType> {
    let form =
        tepat_form::load(include_str!("../../schemas/forms/dtsen_groundcheck.json")).unwrap();
    fn walk(fields: &[tepat_form::Field], out: &mut BTreeMap<String, FieldType>) {
        for f in fields {
            out.insert(f.id.clone(), f.kind);
            walk(&f.fields, out);
        }
    }
    let mut out = BTreeMap::new();
    for s in &form.form().sections {
        walk(&s.fields, &mut out);
    }
    out
}

#[test]
fn a_registered_family_entered_on_the_phone_arrives_as_its_record_plus_the_day_s_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 12).unwrap();
    field.registered_families = true;
    field
        .add_enumerators(&["Siti Rahma"], HOUSEHOLDS, &[])
        .unwrap();
    let assignments = field.enumerators[0].assignments.clone();
    for a in &assignments {
        assert!(
            !a.prefill_repeats["members"].is_empty(),
            "{} carries its members",
            a.assignment_id
        );
    }

    let mut typed: BTreeMap<uuid::Uuid, VisitDoc> = BTreeMap::new();
    let mut entered = BTreeMap::new();
    let mut assignment_of = BTreeMap::new();
    for assignment in &assignments {
        let doc = field.visit_for(assignment, Outcome::Found).unwrap();
        let frozen = field.enumerators[0]
            .phone
            .enter(&assignment.assignment_id, &doc)
            .unwrap();
        assignment_of.insert(frozen.visit_id, assignment.clone());
        typed.insert(frozen.visit_id, doc);
        entered.insert(frozen.visit_id, frozen);
    }
    field.enumerators[0].phone.sync_until_clean(3).unwrap();

    let pulled = field.supervisor.pull_all().unwrap();
    assert_eq!(pulled.len(), HOUSEHOLDS);
    let kinds = kinds();
    let is_photo = |k: &str| kinds.get(k) == Some(&FieldType::Photo);
    for visit in &pulled {
        let stored = &visit.visit;
        assert_eq!(visit.status, ReviewStatus::Submitted);
        let diff = differences(&entered[&stored.visit_id], stored);
        assert!(diff.is_empty(), "{}: {diff:#?}", stored.visit_id);
        let assignment = &assignment_of[&stored.visit_id];
        let registered = &assignment.prefill_repeats["members"];

        // The registered members, once each, in the register's order, with the register's values.
        let members = stored.answers["members"].as_array().unwrap();
        let generated = typed[&stored.visit_id].answers["members"]
            .as_array()
            .unwrap();
        assert_eq!(members.len(), generated.len(), "no member added twice");
        for (i, record) in registered.iter().enumerate() {
            let member = &members[i];
            assert_eq!(member["registered"], json!("1"), "member {i}");
            let present = matches!(member["member_status"].as_str(), Some("1"));
            for (key, value) in record {
                let shown_for_everyone = matches!(key.as_str(), "member_name" | "member_nik");
                if present || shown_for_everyone {
                    assert_eq!(member[key], json!(value), "member {i}.{key}");
                }
            }
        }
        // Members beyond the register are the new ones, not marked registered.
        for member in &members[registered.len()..] {
            assert_eq!(member.get("registered"), None);
            assert_eq!(member["member_status"], json!("5"));
        }

        // Everything else is what the enumerator gave: the same answers, nothing more, nothing less.
        let mut want = typed[&stored.visit_id].answers.clone();
        let mut have = stored.answers.clone();
        for answers in [&mut want, &mut have] {
            answers.retain(|k, _| !is_photo(k));
        }
        assert_eq!(want, have, "{}", stored.visit_id);
        assert_eq!(stored.answers["visit_outcome"], json!("1"));
        assert!(stored.answers["gps"]["lat"].is_f64());
        assert!(
            stored.answers["photo_front"]["sha256"]
                .as_str()
                .is_some_and(|s| s.len() == 64),
            "the photo of the house"
        );

        // The prefill review: every registered value of a present member came back as it was, and the
        // enumerator confirmed it (page by page, as the typist does), so the supervisor sees it checked.
        for (i, record) in registered.iter().enumerate() {
            if members[i]["member_status"] != json!("1") {
                continue;
            }
            for key in record.keys() {
                let path = format!("members[{i}].{key}");
                let review = stored.prefill_review.get(&path);
                assert_eq!(review, Some(&PrefillReview::Confirmed), "{path}");
            }
        }
        // Nothing prefilled was left unchecked: every registered answer is either confirmed or changed.
        let unchecked: Vec<&String> = stored
            .prefill_review
            .iter()
            .filter(|(_, review)| **review == PrefillReview::Unconfirmed)
            .map(|(path, _)| path)
            .collect();
        assert!(unchecked.is_empty(), "left unconfirmed: {unchecked:?}");
    }
}
