//! Finalising: blocked by errors, warnings need notes, the frozen document, revisits, editing again.

use serde_json::json;

use super::*;
use tepat_store::VisitState;

#[test]
fn errors_block_finalising_and_are_listed_with_where_they_are() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.choose("visit_outcome", "1");
    h.send(UiEvent::Finalise);
    assert!(
        h.notice()
            .starts_with("Belum dapat diselesaikan: Masih ada"),
        "{}",
        h.notice()
    );
    let screen = h.finalise_screen();
    assert!(!screen.can_finalise);
    assert!(screen.blocked_reason.unwrap().contains("kesalahan"));
    let photo = screen
        .errors
        .iter()
        .find(|e| e.path == "photo_front")
        .expect("photo required");
    assert_eq!(photo.field, "Foto depan");
    assert_eq!(photo.section, 2);
    assert!(screen.errors.iter().any(|e| e.path == "members"));
    assert!(h.store.outbox().unwrap().is_empty());
    assert_eq!(
        h.store
            .visit_summary(h.model.visit.as_ref().unwrap().summary.visit_id)
            .unwrap()
            .state,
        VisitState::Draft
    );
}

#[test]
fn warnings_need_a_short_note_then_the_visit_is_frozen_into_the_outbox() {
    let mut h = Harness::enumerator();
    h.complete_found_visit();
    // The KK says 2 members (prefill), the roster has 1: a warning.
    h.answer("kk_members", "2");
    h.send(UiEvent::Finalise);
    assert!(
        h.notice().contains("1 peringatan perlu catatan singkat"),
        "{}",
        h.notice()
    );
    let screen = h.finalise_screen();
    assert!(screen.errors.is_empty(), "{:?}", screen.errors);
    assert_eq!(screen.warnings.len(), 1);
    assert_eq!(screen.warnings[0].path, "members");
    h.send(UiEvent::SetNote {
        path: "members".into(),
        note: "ok".into(),
    });
    assert_eq!(h.notice(), "Catatan terlalu pendek (minimal 3 huruf)");
    h.send(UiEvent::SetNote {
        path: "members".into(),
        note: " Anak kedua merantau ke Jakarta ".into(),
    });
    assert_eq!(
        h.finalise_screen().warnings[0].note.as_deref(),
        Some("Anak kedua merantau ke Jakarta")
    );
    assert!(h.finalise_screen().can_finalise);
    let visit_id = h.model.visit.as_ref().unwrap().summary.visit_id;
    h.send(UiEvent::Finalise);
    assert_eq!(
        h.notice(),
        "Kunjungan selesai dan tersimpan di kotak keluar; akan dikirim saat sinkronisasi."
    );
    let today = h.today();
    assert_eq!(today.counts.done_today, 1);
    assert_eq!(today.counts.in_outbox, 1);
    assert_eq!(today.progress_text, "1 dari 12 kunjungan selesai hari ini");
    let item = today
        .items
        .iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(
        (item.status, item.status_text.as_str()),
        (ItemStatus::InOutbox, "Menunggu dikirim")
    );
    assert_eq!(h.view().sync.outbox, 1);
    let doc = h.store.outbox_doc(visit_id, 1).unwrap();
    assert_eq!(
        doc.warning_notes.get("members").map(String::as_str),
        Some("Anak kedua merantau ke Jakarta")
    );
    assert_eq!(doc.answers.get("visit_outcome"), Some(&json!("1")));
    assert_eq!(doc.visit_date, start_time().date_naive());
    assert_eq!(doc.assignment_id.as_deref(), Some("A-1"));
    let summary = h.store.visit_summary(visit_id).unwrap();
    assert_eq!(
        (summary.state, summary.outcome.as_deref(), summary.revisit),
        (VisitState::Final, Some("1"), false)
    );
}

#[test]
fn a_finalised_visit_is_read_only_and_can_be_edited_again_until_sent() {
    let mut h = Harness::enumerator();
    h.complete_found_visit();
    h.answer("kk_members", "1");
    h.send(UiEvent::Finalise);
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let visit = h.visit();
    assert!(visit.read_only);
    assert!(visit.can_edit_again);
    assert_eq!(visit.state_text, "Final, menunggu dikirim");
    assert!(visit.fields.iter().all(|f| f.read_only));
    h.choose("visit_outcome", "0");
    assert_eq!(
        h.notice(),
        "Kunjungan ini sudah final dan tidak dapat diubah."
    );
    h.send(UiEvent::EditAgain);
    let visit = h.visit();
    assert!(!visit.read_only);
    assert_eq!(visit.state_text, "Draf");
    assert!(h.store.outbox().unwrap().is_empty());
    h.choose("visit_outcome", "1");
    h.send(UiEvent::Finalise);
    assert_eq!(h.store.outbox().unwrap().len(), 1);
}

#[test]
fn hidden_answers_are_not_sent() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.choose("visit_outcome", "1");
    h.go_to("Identitas");
    h.answer("floor_area", "30");
    h.go_to("Status kunjungan");
    // Not found after all: the identity answers stay on the phone but are not part of the visit sent.
    h.choose("visit_outcome", "0");
    h.answer("reason", "Rumah kosong, tetangga tidak kenal");
    assert!(h.stored_answers().contains_key("floor_area"));
    h.send(UiEvent::Finalise);
    let entry = h.store.outbox().unwrap().remove(0);
    let doc = h.store.outbox_doc(entry.visit_id, 1).unwrap();
    assert_eq!(doc.answers.get("floor_area"), None);
    assert_eq!(doc.answers.get("head_name"), None);
    assert_eq!(
        doc.answers.get("reason"),
        Some(&json!("Rumah kosong, tetangga tidak kenal"))
    );
}

#[test]
fn not_found_ends_the_visit_early_and_asks_for_a_revisit() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-2".into(),
    });
    h.choose("visit_outcome", "0");
    h.send(UiEvent::NextSection);
    // The outcome section is the only one: next is the review.
    assert!(matches!(h.view().screen, Screen::Finalise(_)));
    assert!(!h.finalise_screen().can_finalise);
    h.send(UiEvent::PreviousSection);
    h.answer("reason", "Pindah tanpa alamat");
    h.send(UiEvent::Finalise);
    let today = h.today();
    assert_eq!(today.counts.revisits, 1);
    assert_eq!(today.counts.done_today, 1);
    let item = today
        .items
        .iter()
        .find(|i| i.assignment_id == "A-2")
        .unwrap();
    assert_eq!(
        (item.status, item.action_text.as_str()),
        (ItemStatus::Revisit, "Kunjungi lagi")
    );
    let first = item.visit_id.clone().unwrap();
    // Visiting again starts a new visit for the same assignment.
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-2".into(),
    });
    let second = h.visit().visit_id;
    assert_ne!(second, first);
    assert_eq!(h.visit().revision, 1);
    h.send(UiEvent::CloseVisit);
    assert_eq!(h.today().counts.revisits, 0);
    assert_eq!(h.today().counts.drafts, 1);
}

#[test]
fn a_warning_note_is_kept_only_while_there_is_a_warning() {
    let mut h = Harness::enumerator();
    h.complete_found_visit();
    h.answer("kk_members", "2");
    h.send(UiEvent::SetNote {
        path: "members".into(),
        note: "Satu anggota merantau".into(),
    });
    assert_eq!(
        h.field("members").note.as_deref(),
        Some("Satu anggota merantau")
    );
    // The warning goes away: the note is not sent.
    h.answer("kk_members", "1");
    h.send(UiEvent::Finalise);
    let entry = h.store.outbox().unwrap().remove(0);
    assert!(
        h.store
            .outbox_doc(entry.visit_id, 1)
            .unwrap()
            .warning_notes
            .is_empty()
    );
    // Removing a note: an empty note.
    let mut h = Harness::enumerator();
    h.complete_found_visit();
    h.answer("kk_members", "2");
    h.send(UiEvent::SetNote {
        path: "members".into(),
        note: "Satu anggota merantau".into(),
    });
    h.send(UiEvent::SetNote {
        path: "members".into(),
        note: "  ".into(),
    });
    assert_eq!(h.field("members").note, None);
}

#[test]
fn the_revisit_list_follows_the_answer_not_the_code() {
    let revisits_after = |outcome: &str, planned: Option<&str>| {
        let mut h = Harness::enumerator();
        h.send(UiEvent::OpenAssignment {
            assignment_id: "A-2".into(),
        });
        h.choose("visit_outcome", outcome);
        h.answer("reason", "Keluarga menolak, minta datang hari Minggu");
        if let Some(code) = planned {
            h.choose("revisit_planned", code);
        }
        h.send(UiEvent::Finalise);
        assert!(
            matches!(h.view().screen, Screen::Today(_)),
            "{}",
            h.notice()
        );
        h.today().counts.revisits
    };
    // Not found, "no revisit needed": leaves the list; unanswered, the outcome's own default holds.
    assert_eq!(revisits_after("0", Some("2")), 0);
    assert_eq!(revisits_after("0", Some("1")), 1);
    assert_eq!(revisits_after("0", None), 1);
    // Refused, "yes, come on Sunday": stays on it.
    assert_eq!(revisits_after("6", Some("1")), 1);
    assert_eq!(revisits_after("6", Some("2")), 0);
    // Not reachable by the end of fieldwork is not asked; its code decides.
    assert_eq!(revisits_after("5", None), 1);
}
