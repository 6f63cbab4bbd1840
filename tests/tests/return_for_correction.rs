//! Review round trip: the supervisor returns a visit with a comment, the phone gets it back (with the comment),
//! the enumerator corrects it as revision 2 and sends it; the supervisor sees revision 2 while revision 1 stays
//! in the history, and approves. Also: a withdrawn assignment with a draft keeps the draft and says so.

use tepat_app::{ItemStatus, UiEvent};
use tepat_e2e::field::{Field, differences};
use tepat_protocol::{Decision, ReviewStatus};
use tepat_store::VisitState;
use tepat_synth::Outcome;

#[test]
fn a_returned_visit_comes_back_as_revision_two_and_revision_one_stays_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 47).unwrap();
    field.add_enumerators(&["Sri Wahyuni"], 3, &[]).unwrap();
    let assignments = field.enumerators[0].assignments.clone();
    let mut first = None;
    for a in &assignments {
        let doc = field.visit_for(a, Outcome::Found).unwrap();
        let frozen = field.enumerators[0]
            .phone
            .enter(&a.assignment_id, &doc)
            .unwrap();
        first.get_or_insert(frozen);
    }
    let rev1 = first.unwrap();
    let phone = &field.enumerators[0].phone;
    phone.sync_until_clean(3).unwrap();

    let comment = "Alamat kurang lengkap: tambahkan nomor rumah";
    let returned = field
        .supervisor
        .review(rev1.visit_id, 1, Decision::Return, comment)
        .unwrap();
    assert_eq!(returned.status, ReviewStatus::Returned);

    // Back on the phone, with the supervisor's words.
    phone.sync_until_clean(3).unwrap();
    let assignment_id = rev1.assignment_id.clone().unwrap();
    assert_eq!(
        phone.status(&assignment_id).unwrap(),
        Some(ItemStatus::Returned)
    );
    assert_eq!(
        phone.visit_state(rev1.visit_id).unwrap(),
        (1, VisitState::Returned)
    );
    assert_eq!(
        phone.supervisor_comment(rev1.visit_id).unwrap().as_deref(),
        Some(comment)
    );

    let old_address = rev1.answers["street_address"].as_str().unwrap().to_string();
    let new_address = format!("{old_address} No. 12A");
    let rev2 = phone
        .correct(&assignment_id, "street_address", &new_address)
        .unwrap();
    assert_eq!(rev2.revision, 2);
    assert_eq!(rev2.visit_id, rev1.visit_id);
    assert_eq!(rev2.answers["street_address"], new_address.as_str());
    phone.sync_until_clean(3).unwrap();

    let pulled = field.supervisor.pull_all().unwrap();
    let history: Vec<_> = pulled
        .iter()
        .filter(|v| v.visit.visit_id == rev1.visit_id)
        .collect();
    assert_eq!(history.len(), 2, "both revisions are kept");
    let old = history.iter().find(|v| v.visit.revision == 1).unwrap();
    let new = history.iter().find(|v| v.visit.revision == 2).unwrap();
    assert_eq!(old.status, ReviewStatus::Returned);
    assert_eq!(old.review_comment.as_deref(), Some(comment));
    assert!(
        differences(&rev1, &old.visit).is_empty(),
        "revision 1 is unchanged in the history"
    );
    assert_eq!(new.status, ReviewStatus::Submitted);
    assert!(differences(&rev2, &new.visit).is_empty());
    assert_eq!(pulled.len(), 4, "3 visits, one of them twice");

    field
        .supervisor
        .review(rev1.visit_id, 2, Decision::Approve, "")
        .unwrap();
    phone.sync_until_clean(3).unwrap();
    assert_eq!(
        phone.visit_state(rev1.visit_id).unwrap(),
        (2, VisitState::Approved)
    );
}

#[test]
fn a_withdrawn_assignment_keeps_its_draft_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 53).unwrap();
    field.add_enumerators(&["Ahmad"], 2, &[]).unwrap();
    let assignment = field.enumerators[0].assignments[0].clone();
    let phone = &field.enumerators[0].phone;
    let runtime = phone.runtime();
    runtime.dispatch(UiEvent::ShowToday);
    runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: assignment.assignment_id.clone(),
    });
    runtime.dispatch(UiEvent::Choose {
        path: "visit_outcome".into(),
        code: "1".into(),
    });
    runtime.dispatch(UiEvent::Answer {
        path: "informant".into(),
        text: "Ibu Rina".into(),
    });
    runtime.dispatch(UiEvent::ShowToday);
    assert_eq!(
        phone.status(&assignment.assignment_id).unwrap(),
        Some(ItemStatus::Draft)
    );

    field
        .admin
        .withdraw_assignment(&assignment.assignment_id)
        .unwrap();
    runtime.dispatch(UiEvent::SyncNow);
    runtime.wait_idle();
    let notice = runtime.view().notice.map(|n| n.text).unwrap_or_default();
    assert!(notice.contains("1 tugas ditarik"), "{notice}");
    assert!(
        notice.contains("1 draf dari tugas yang ditarik tetap disimpan"),
        "{notice}"
    );
    assert_eq!(
        phone.status(&assignment.assignment_id).unwrap(),
        Some(ItemStatus::Draft)
    );
    let view = runtime.dispatch(UiEvent::OpenAssignment {
        assignment_id: assignment.assignment_id.clone(),
    });
    let tepat_app::Screen::Visit(visit) = view.screen else {
        panic!("{:?}", view.notice)
    };
    assert!(
        visit
            .banner
            .unwrap_or_default()
            .contains("Draf tetap disimpan")
    );
    let visit_id = visit.visit_id.parse().unwrap();
    let informant = runtime
        .inspect_store(|s| s.answer(visit_id, "informant"))
        .unwrap();
    assert_eq!(
        informant,
        Some(tepat_store::AnswerRow::Value("Ibu Rina".into()))
    );
}
