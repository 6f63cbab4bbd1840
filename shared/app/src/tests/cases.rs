//! Assessors' cases: no visit target, the region choice in the assessor's area, the client's name on the list,
//! and the follow-up visit that carries the case's referrals.

use serde_json::{Value, json};

use super::*;
use tepat_records::{Finalise, NewVisit, VisitState};
use tepat_synth::Generator;

const PPKS: &str = include_str!("../../../../schemas/forms/ppks_asesmen.json");

fn assessor(regions: &[&str]) -> Harness {
    let mut h = Harness::empty();
    h.send(UiEvent::InstallForm {
        json: PPKS.to_string(),
    });
    let mut who = identity(Role::Assessor);
    who.regions = regions.iter().map(|r| r.to_string()).collect();
    h.send(UiEvent::UseIdentity { identity: who });
    h.send(UiEvent::DismissNotice);
    h
}

#[test]
fn an_assessor_sees_no_visit_target_and_an_enumerator_sees_twelve() {
    let h = assessor(&["17.71"]);
    let today = h.today();
    assert_eq!(today.counts.target, None);
    assert_eq!(today.progress_text, "0 kunjungan selesai hari ini");
    let h = Harness::enumerator();
    let today = h.today();
    assert_eq!(today.counts.target, Some(12));
    assert_eq!(today.progress_text, "0 dari 12 kunjungan selesai hari ini");
}

/// Starts a PPKS case and shows its identity page.
fn new_case(h: &mut Harness) {
    h.send(UiEvent::StartNewCase {
        form_id: "ppks_asesmen".into(),
    });
    h.go_to("Identitas klien");
}

#[test]
fn a_new_case_starts_the_region_choice_in_the_assessor_s_area() {
    let mut h = assessor(&["17.71"]);
    new_case(&mut h);
    assert_eq!(
        h.field("work_area").answer,
        AnswerView::Text {
            value: "17.71".into()
        }
    );
    // Province and city are the area's own, chosen already; the first choice to make is among its districts.
    let levels = h.field("region").region;
    let chosen: Vec<String> = levels
        .iter()
        .filter_map(|l| l.selected.as_ref().map(|c| c.label.clone()))
        .collect();
    assert_eq!(chosen, ["Bengkulu", "Kota Bengkulu"]);
    let open = levels.iter().find(|l| l.selected.is_none()).unwrap();
    assert!(
        open.choices.iter().all(|c| c.code.starts_with("17.71.")),
        "{:?}",
        open.choices
    );
    assert!(open.choices.iter().any(|c| c.label == "Gading Cempaka"));
    // Two districts of one city: the city.
    let mut h = assessor(&["17.71.01", "17.71.02"]);
    new_case(&mut h);
    assert_eq!(
        h.field("work_area").answer,
        AnswerView::Text {
            value: "17.71".into()
        }
    );
    // Areas in two provinces have nothing in common: the provinces are offered.
    let mut h = assessor(&["17.71", "31.71"]);
    new_case(&mut h);
    assert_eq!(h.field("work_area").answer, AnswerView::Empty);
    let first = &h.field("region").region[0];
    assert_eq!((first.choices.len(), first.selected.is_none()), (38, true));
}

#[test]
fn the_case_list_names_the_client() {
    let mut h = assessor(&["17.71"]);
    new_case(&mut h);
    h.send(UiEvent::CloseVisit);
    let case = &h.today().cases[0];
    assert_eq!(case.title, "Kasus baru", "no name yet");
    assert_eq!(case.date, "23-11-2026");
    h.send(UiEvent::OpenVisit {
        visit_id: case.visit_id.clone(),
    });
    h.go_to("Identitas klien");
    h.answer("full_name", "Siti Aminah");
    assert_eq!(h.visit().title, "Siti Aminah");
    h.send(UiEvent::CloseVisit);
    let cases = h.today().cases;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].title, "Siti Aminah");
    assert!(!cases[0].title.contains("Kasus"), "{}", cases[0].title);
    assert!(!cases[0].can_follow_up, "a draft is continued");
    assert_eq!(cases[0].action_text, "Lanjutkan");
}

/// Puts a finalised asesmen with `answers` in the phone's store, as if typed and finalised there.
fn finalised_case(h: &mut Harness, answers: tepat_protocol::Answers) -> String {
    let date = h.now.date_naive();
    let repeats = ["referral_followups", "referrals", "actions"]
        .into_iter()
        .map(String::from)
        .collect();
    let record = h
        .store
        .start_visit(
            &NewVisit {
                form_id: "ppks_asesmen".into(),
                form_version: tepat_synth::PPKS_FORM.1,
                assignment_id: None,
                visit_date: date,
                answers: answers.clone(),
            },
            &repeats,
            chrono::Utc::now(),
        )
        .unwrap();
    h.store
        .finalise(
            &Finalise {
                visit_id: record.summary.visit_id,
                revision: 1,
                answers,
                notes: Default::default(),
                local_date: date,
                outcome: None,
                revisit: false,
                prefill_review: Default::default(),
            },
            chrono::Utc::now(),
        )
        .unwrap();
    h.send(UiEvent::ShowToday);
    record.summary.visit_id.to_string()
}

#[test]
fn a_follow_up_opens_with_the_case_s_referrals_and_only_their_status_changes() {
    let mut h = assessor(&["17.71"]);
    let mut g = Generator::new(7).with_visit_date(h.now.date_naive());
    let mut answers = g.clean_ppks().answers;
    let on = h.now.date_naive().to_string();
    answers.insert(
        "referrals".into(),
        json!([
            {"referral_to": "4", "referral_agency": "Disdukcapil", "referral_service": "adminduk",
             "referral_date": on, "referral_status": "1"},
            {"referral_to": "5", "referral_service": "pbi", "referral_date": on, "referral_status": "2"},
        ]),
    );
    let name = answers["full_name"].as_str().unwrap().to_string();
    let first = finalised_case(&mut h, answers.clone());
    let cases = h.today().cases;
    assert_eq!(cases.len(), 1);
    assert_eq!(
        (cases[0].title.as_str(), cases[0].can_follow_up),
        (name.as_str(), true)
    );
    assert_eq!(cases[0].action_text, "Kunjungan lanjutan");

    h.send(UiEvent::FollowUpCase {
        visit_id: first.clone(),
    });
    let visit = h.visit();
    assert_ne!(visit.visit_id, first, "a new visit");
    assert_eq!(visit.title, name);
    let stored = h.stored_answers();
    assert_eq!(stored["case_source"], json!("6"));
    assert_eq!(stored["case_id"], json!(first));
    assert_eq!(stored["full_name"], answers["full_name"]);
    for gone in ["referrals", "referral_needed", "gps", "photo_client"] {
        assert!(!stored.contains_key(gone), "{gone} is this visit's own");
    }
    let carried = stored["referral_followups"].as_array().unwrap().clone();
    let rows: Vec<(Value, Value, Value, Value)> = carried
        .iter()
        .map(|m| {
            (
                m["prev_referral_to"].clone(),
                m["prev_referral_service"].clone(),
                m["prev_referral_status"].clone(),
                m["referral_update"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (json!("4"), json!("adminduk"), json!("1"), json!("1")),
            (json!("5"), json!("pbi"), json!("2"), json!("2")),
        ]
    );
    assert_eq!(carried[0]["prev_referral_agency"], json!("Disdukcapil"));
    // Only the status: the destination is read-only, the status takes a step on, never back.
    h.answer("referral_followups[0].prev_referral_to", "9");
    assert!(
        h.notice().starts_with("Tidak dapat diisi"),
        "{}",
        h.notice()
    );
    h.choose("referral_followups[0].referral_update", "3");
    h.choose("referral_followups[1].referral_update", "1");
    let rules: Vec<String> = h
        .store
        .visit(h.visit().visit_id.parse().unwrap())
        .map(|r| r.answers)
        .map(|a| {
            tepat_form::load(PPKS)
                .unwrap()
                .validate(&a, h.now.date_naive())
                .into_iter()
                .map(|f| format!("{} {}", f.rule, f.path))
                .collect()
        })
        .unwrap();
    assert!(
        rules.contains(&"referral_status_order referral_followups[1].referral_update".to_string()),
        "{rules:?}"
    );
    h.choose("referral_followups[1].referral_update", "3");
    h.send(UiEvent::CloseVisit);
    // The case is listed once, by its follow-up (a draft: continued, not followed up again).
    let cases = h.today().cases;
    assert_eq!(cases.len(), 1);
    assert_ne!(cases[0].visit_id, first);
    h.send(UiEvent::FollowUpCase {
        visit_id: cases[0].visit_id.clone(),
    });
    assert!(h.notice().contains("belum final"), "{}", h.notice());

    // A follow-up of the follow-up names the same case and carries the statuses as updated.
    let mut later = h
        .store
        .visit(cases[0].visit_id.parse().unwrap())
        .unwrap()
        .answers;
    later.insert("referral_needed".into(), json!("2"));
    let second = finalised_case(&mut h, later);
    h.send(UiEvent::FollowUpCase { visit_id: second });
    let stored = h.stored_answers();
    assert_eq!(stored["case_id"], json!(first));
    let statuses: Vec<(Value, Value)> = stored["referral_followups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["prev_referral_status"].clone(),
                m["referral_update"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [(json!("3"), json!("3")), (json!("3"), json!("3"))]
    );
    assert_eq!(
        h.store.visit(first.parse().unwrap()).unwrap().summary.state,
        VisitState::Final
    );
}
