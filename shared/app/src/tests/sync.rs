//! Sync as the App drives it: receipts, failures in words, returned visits, withdrawn assignments.

use chrono::Utc;

use super::*;
use tepat_protocol::{
    ApprovedVisit, Changes, PROTOCOL_VERSION, Receipt, ReceiptStatus, RejectCode, ReturnedVisit,
    SyncRequest, SyncResponse,
};
use tepat_store::VisitState;

fn answer_for(request: &SyncRequest, status: ReceiptStatus, changes: Changes) -> SyncOutput {
    Ok(SyncResponse {
        protocol: PROTOCOL_VERSION,
        receipts: request
            .visits
            .iter()
            .map(|v| Receipt {
                visit_id: v.visit_id,
                revision: v.revision,
                status,
                reject_code: (status == ReceiptStatus::Rejected).then_some(RejectCode::NotAssigned),
                reason: (status == ReceiptStatus::Rejected)
                    .then(|| "assignment belongs to another user".into()),
                error_count: 0,
            })
            .collect(),
        changes,
        next_cursor: request.cursor + 1,
        more: false,
        server_time: Utc::now(),
    })
}

fn finalised_visit() -> Harness {
    let mut h = Harness::enumerator();
    h.complete_found_visit();
    h.answer("kk_members", "1");
    h.send(UiEvent::Finalise);
    h
}

#[test]
fn a_sync_sends_the_outbox_and_applies_the_receipts() {
    let mut h = finalised_visit();
    let view = h.send(UiEvent::SyncNow);
    assert!(view.sync.syncing);
    assert_eq!(view.sync.summary, "Sedang sinkronisasi…");
    assert!(!view.sync.can_sync);
    // A second request while syncing does nothing.
    h.send(UiEvent::SyncNow);
    assert_eq!(h.syncs.len(), 1);
    let request = h.sync_request().clone();
    assert_eq!(request.visits.len(), 1);
    assert_eq!(request.device_id, "D-1");
    h.resolve_sync(answer_for(
        &request,
        ReceiptStatus::Accepted,
        Changes::default(),
    ));
    let view = h.view();
    assert!(!view.sync.syncing);
    assert_eq!(view.sync.outbox, 0);
    assert_eq!(
        view.notice.unwrap().text,
        "Sinkronisasi berhasil: 1 kunjungan terkirim"
    );
    assert!(
        view.sync
            .summary
            .starts_with("Semua kunjungan terkirim · terakhir 23-11-2026"),
        "{}",
        view.sync.summary
    );
    let item = h
        .today()
        .items
        .into_iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(
        (item.status, item.status_text.as_str()),
        (ItemStatus::Accepted, "Terkirim")
    );
}

#[test]
fn a_failed_sync_is_explained_and_loses_nothing() {
    let mut h = finalised_visit();
    h.send(UiEvent::SyncNow);
    h.resolve_sync(Err(TransportError {
        kind: TransportErrorKind::Offline,
        detail: "dns".into(),
        server_code: None,
    }));
    let view = h.view();
    assert_eq!(
        view.notice.unwrap().text,
        text::transport_error(Lang::Id, TransportErrorKind::Offline)
    );
    assert_eq!(view.sync.outbox, 1);
    assert_eq!(
        view.sync.last_error.as_deref(),
        Some(text::transport_error(Lang::Id, TransportErrorKind::Offline).as_str())
    );
    assert!(
        view.sync.summary.ends_with("sinkronisasi terakhir gagal"),
        "{}",
        view.sync.summary
    );
    assert_eq!(
        h.store.sync_status().unwrap().last_error_code.as_deref(),
        Some("offline")
    );
    // The retry carries the same batch.
    let first = h.store_ops.iter().rev().find_map(|op| match op {
        StoreOperation::PrepareSync { .. } => Some(()),
        _ => None,
    });
    assert!(first.is_some());
    h.send(UiEvent::SyncNow);
    let retry = h.sync_request().clone();
    h.resolve_sync(Err(TransportError {
        kind: TransportErrorKind::Server,
        detail: "502".into(),
        server_code: None,
    }));
    h.send(UiEvent::SyncNow);
    assert_eq!(h.sync_request().batch_id, retry.batch_id);
    let english = h.send(UiEvent::SetLanguage { lang: Lang::En });
    assert_eq!(
        english.sync.last_error.as_deref(),
        Some("The server has a problem. Your data is safe on the phone; try again later.")
    );
}

#[test]
fn sync_needs_enrolment_and_coming_online_starts_it_when_there_is_work() {
    let mut h = Harness::empty();
    h.send(UiEvent::SyncNow);
    assert!(h.notice().starts_with("Perangkat belum terdaftar"));
    assert!(h.syncs.is_empty());
    let mut h = Harness::enumerator();
    h.send(UiEvent::Connectivity { online: true });
    assert!(h.syncs.is_empty(), "nothing to send");
    let mut h = finalised_visit();
    h.send(UiEvent::Connectivity { online: false });
    assert!(h.syncs.is_empty());
    h.send(UiEvent::Connectivity { online: true });
    assert_eq!(h.syncs.len(), 1);
}

#[test]
fn a_refused_visit_stays_on_the_phone_with_the_reason() {
    let mut h = finalised_visit();
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    h.resolve_sync(answer_for(
        &request,
        ReceiptStatus::Rejected,
        Changes::default(),
    ));
    assert!(h.notice().contains("1 ditolak server"), "{}", h.notice());
    let item = h
        .today()
        .items
        .into_iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(item.status, ItemStatus::Refused);
    // The person reads the reason in words, not the server's code.
    assert!(
        item.status_text.contains("bukan tugas Anda"),
        "{}",
        item.status_text
    );
    assert_eq!(h.view().sync.held, 1);
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert!(
        h.visit()
            .banner
            .unwrap()
            .starts_with("Ditolak server: Menurut server, rumah tangga ini bukan tugas Anda")
    );
}

#[test]
fn a_returned_visit_shows_the_comment_and_reopens_as_the_next_revision() {
    let mut h = finalised_visit();
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    h.resolve_sync(answer_for(
        &request,
        ReceiptStatus::Accepted,
        Changes::default(),
    ));
    let returned = ReturnedVisit {
        visit: request.visits[0].clone(),
        comment: "Foto rumah kurang jelas".into(),
        reviewer: "korkab".into(),
        returned_at: Utc::now(),
        field: None,
    };
    h.send(UiEvent::SyncNow);
    let pull = h.sync_request().clone();
    assert!(pull.visits.is_empty());
    h.resolve_sync(answer_for(
        &pull,
        ReceiptStatus::Accepted,
        Changes {
            returned: vec![returned],
            ..Changes::default()
        },
    ));
    assert_eq!(
        h.notice(),
        "Sinkronisasi berhasil: 1 dikembalikan untuk diperbaiki"
    );
    let today = h.today();
    assert_eq!(today.counts.returned, 1);
    let item = today
        .items
        .iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(
        (item.status, item.action_text.as_str()),
        (ItemStatus::Returned, "Perbaiki")
    );
    assert_eq!(
        item.supervisor_comment.as_deref(),
        Some("Foto rumah kurang jelas")
    );
    assert_eq!(
        today.items[0].assignment_id, "A-1",
        "returned visits come first"
    );
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let visit = h.visit();
    assert_eq!(visit.revision, 2);
    assert!(!visit.read_only);
    assert_eq!(
        visit.supervisor_comment.as_deref(),
        Some("Foto rumah kurang jelas")
    );
    assert_eq!(visit.state_text, "Draf revisi 2");
    h.send(UiEvent::TakePhoto {
        path: "photo_front".into(),
    });
    h.resolve_photo(CameraOutput::Photo {
        file: "front2.jpg".into(),
        sha256: "cd".repeat(32),
    });
    h.send(UiEvent::Finalise);
    assert_eq!(
        h.today()
            .items
            .iter()
            .find(|i| i.assignment_id == "A-1")
            .unwrap()
            .status,
        ItemStatus::InOutbox
    );
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    assert_eq!(
        (request.visits[0].revision, request.visits[0].visit_id),
        (2, returned_id(&h))
    );
    let approve = Changes {
        approved: vec![ApprovedVisit {
            visit_id: request.visits[0].visit_id,
            revision: 2,
        }],
        ..Changes::default()
    };
    h.resolve_sync(answer_for(&request, ReceiptStatus::Accepted, approve));
    let item = h
        .today()
        .items
        .into_iter()
        .find(|i| i.assignment_id == "A-1")
        .unwrap();
    assert_eq!(item.status, ItemStatus::Approved);
}

#[test]
fn a_comment_pinned_to_a_members_field_is_shown_at_that_field_only() {
    let mut h = finalised_visit();
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    let comment = "Nama anggota tidak sesuai KK";
    let returned = ReturnedVisit {
        visit: request.visits[0].clone(),
        comment: comment.into(),
        reviewer: "korkab".into(),
        returned_at: Utc::now(),
        field: Some("members[0].member_name".into()),
    };
    h.resolve_sync(answer_for(
        &request,
        ReceiptStatus::Accepted,
        Changes {
            returned: vec![returned],
            ..Changes::default()
        },
    ));
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let visit = h.visit();
    assert_eq!(visit.supervisor_comment.as_deref(), Some(comment));
    assert_eq!(visit.supervisor_field.as_deref(), Some("Nama · anggota 1"));
    assert!(
        visit.fields.iter().all(|f| f.supervisor_comment.is_none()),
        "the first section holds no pinned field"
    );
    h.go_to("Anggota keluarga");
    assert_eq!(h.field("members").supervisor_comment, None);
    h.send(UiEvent::OpenMember {
        repeat_path: "members".into(),
        index: 0,
    });
    assert_eq!(
        h.field("members[0].member_name")
            .supervisor_comment
            .as_deref(),
        Some(comment)
    );
    assert_eq!(h.field("members[0].sex").supervisor_comment, None);

    h.send(UiEvent::SetLanguage { lang: Lang::En });
    assert_eq!(
        h.visit().supervisor_field.as_deref(),
        Some("Name · member 1")
    );
}

fn returned_id(h: &Harness) -> uuid::Uuid {
    h.store.today(start_time().date_naive()).unwrap().items[0]
        .latest
        .as_ref()
        .unwrap()
        .visit_id
}

#[test]
fn new_and_withdrawn_assignments_arrive_and_a_withdrawn_draft_is_kept_and_flagged() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.choose("visit_outcome", "1");
    h.send(UiEvent::CloseVisit);
    h.send(UiEvent::SyncNow);
    let pull = h.sync_request().clone();
    let changes = Changes {
        assignments: vec![assignment("A-9", "Wati")],
        withdrawn: vec!["A-1".into(), "A-2".into()],
        ..Changes::default()
    };
    h.resolve_sync(answer_for(&pull, ReceiptStatus::Accepted, changes));
    assert_eq!(
        h.notice(),
        "Sinkronisasi berhasil: 1 tugas baru; 2 tugas ditarik; 1 draf dari tugas yang ditarik tetap disimpan"
    );
    let today = h.today();
    let ids: Vec<&str> = today
        .items
        .iter()
        .map(|i| i.assignment_id.as_str())
        .collect();
    assert_eq!(ids, vec!["A-1", "A-9"]);
    assert_eq!(
        today.items[0].withdrawn_text.as_deref(),
        Some("Tugas ditarik server; draf tetap disimpan")
    );
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert!(
        h.visit()
            .banner
            .unwrap()
            .starts_with("Tugas ini sudah ditarik server")
    );
    let visit_id = h.visit().visit_id.parse().unwrap();
    assert_eq!(
        h.store.visit_summary(visit_id).unwrap().state,
        VisitState::Draft
    );
}

#[test]
fn more_changes_mean_another_round_at_once() {
    let mut h = Harness::enumerator();
    h.send(UiEvent::SyncNow);
    let first = h.sync_request().clone();
    let mut answer = answer_for(
        &first,
        ReceiptStatus::Accepted,
        Changes {
            assignments: vec![assignment("A-5", "Eko")],
            ..Changes::default()
        },
    )
    .unwrap();
    answer.more = true;
    h.resolve_sync(Ok(answer));
    assert_eq!(h.syncs.len(), 1, "a second round");
    assert_eq!(h.sync_request().cursor, first.cursor + 1);
    let second = h.sync_request().clone();
    h.resolve_sync(answer_for(
        &second,
        ReceiptStatus::Accepted,
        Changes::default(),
    ));
    assert!(!h.view().sync.syncing);
    assert_eq!(h.today().items.len(), 3);
}

#[test]
fn a_finalised_visit_on_screen_shows_what_the_sync_did_to_it() {
    let mut h = finalised_visit();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    assert_eq!(h.visit().state_text, "Final, menunggu dikirim");
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    h.resolve_sync(answer_for(
        &request,
        ReceiptStatus::Accepted,
        Changes::default(),
    ));
    assert_eq!(h.visit().state_text, "Diterima server");
    assert_eq!(h.notice(), "Sinkronisasi berhasil: 1 kunjungan terkirim");
}

#[test]
fn a_sync_the_phone_could_not_run_is_shown_in_the_sync_status_and_ends_syncing() {
    let mut h = finalised_visit();
    h.send(UiEvent::SyncNow);
    assert!(h.view().sync.syncing);
    h.update(Event::SyncCouldNotRun {
        error: TransportError {
            kind: TransportErrorKind::PhoneError,
            detail: "the sync thread could not start: out of memory".into(),
            server_code: None,
        },
    });
    let view = h.view();
    assert!(!view.sync.syncing);
    assert_eq!(view.sync.outbox, 1);
    assert_eq!(
        view.sync.last_error.as_deref(),
        Some(text::transport_error(Lang::Id, TransportErrorKind::PhoneError).as_str())
    );
    assert_eq!(
        h.store.sync_status().unwrap().last_error_code.as_deref(),
        Some("phone_error")
    );
}

#[test]
fn an_output_the_runtime_could_not_hand_over_is_said_not_dropped() {
    let mut h = Harness::enumerator();
    h.update(Event::RuntimeFailed {
        detail: "store: request already resolved".into(),
    });
    let notice = h.view().notice.unwrap();
    assert_eq!(notice.level, NoticeLevel::Error);
    assert!(
        notice.text.ends_with("(store: request already resolved)"),
        "{}",
        notice.text
    );
}

fn no_signal() -> SyncOutput {
    Err(TransportError {
        kind: TransportErrorKind::Offline,
        detail: "connect: network is unreachable".into(),
        server_code: None,
    })
}

fn item_status(h: &Harness, assignment_id: &str) -> String {
    h.today()
        .items
        .into_iter()
        .find(|i| i.assignment_id == assignment_id)
        .map(|i| i.status_text)
        .unwrap_or_default()
}

#[test]
fn after_a_sync_without_signal_the_visit_waits_to_be_sent_and_can_be_reopened() {
    let mut h = finalised_visit();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.send(UiEvent::SyncNow);
    h.resolve_sync(no_signal());
    // The header and the list say the same: nothing left the phone.
    let visit = h.visit();
    assert_eq!(visit.state_text, "Final, menunggu dikirim");
    assert!(visit.can_edit_again);
    h.send(UiEvent::CloseVisit);
    assert_eq!(item_status(&h, "A-1"), "Menunggu dikirim");
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    let outbox = h.store.outbox().unwrap();
    assert_eq!(outbox[0].attempts, 0, "the attempt is taken back");
    assert_eq!(
        h.store.visit_summary(outbox[0].visit_id).unwrap().state,
        VisitState::Final
    );
    // Reopened, it is a draft again and out of the outbox.
    h.send(UiEvent::EditAgain);
    let visit = h.visit();
    assert!(!visit.read_only);
    assert_eq!(visit.state_text, "Draf");
    assert!(h.store.outbox().unwrap().is_empty());
    // Finalised again, it goes with the next sync.
    h.send(UiEvent::Finalise);
    h.send(UiEvent::SyncNow);
    assert_eq!(h.sync_request().visits.len(), 1);
}

#[test]
fn a_visit_an_earlier_attempt_may_have_delivered_stays_sent_and_closed() {
    let mut h = finalised_visit();
    h.send(UiEvent::OpenAssignment {
        assignment_id: "A-1".into(),
    });
    h.send(UiEvent::SyncNow);
    let first = h.sync_request().clone();
    // The link dropped mid-way: the server may hold the visit.
    h.resolve_sync(Err(TransportError {
        kind: TransportErrorKind::Timeout,
        detail: "connection reset".into(),
        server_code: None,
    }));
    assert_eq!(h.visit().state_text, "Dikirim, menunggu tanda terima");
    assert!(!h.visit().can_edit_again);
    // Then no signal at all: still sent, since the first attempt may have arrived.
    h.send(UiEvent::SyncNow);
    assert_eq!(h.sync_request().batch_id, first.batch_id);
    h.resolve_sync(no_signal());
    assert_eq!(h.visit().state_text, "Dikirim, menunggu tanda terima");
    assert!(!h.visit().can_edit_again);
    h.send(UiEvent::EditAgain);
    assert!(h.visit().read_only);
    assert_eq!(h.store.outbox().unwrap().len(), 1);
    // The retry after that carries the same batch, and its receipt closes it.
    h.send(UiEvent::SyncNow);
    let retry = h.sync_request().clone();
    assert_eq!(retry.batch_id, first.batch_id);
    h.resolve_sync(answer_for(
        &retry,
        ReceiptStatus::Accepted,
        Changes::default(),
    ));
    assert_eq!(h.visit().state_text, "Diterima server");
}

#[test]
fn forms_a_sync_installs_can_start_new_cases_at_once() {
    // An assessor's phone with only the test form; the server sends the Satgas report form.
    let mut h = Harness::with(Role::Assessor);
    let before: Vec<String> = h
        .today()
        .case_forms
        .into_iter()
        .map(|f| f.form_id)
        .collect();
    assert!(
        !before.contains(&"satgas_laporan".to_string()),
        "{before:?}"
    );
    h.send(UiEvent::SyncNow);
    let request = h.sync_request().clone();
    let form: tepat_form::Form = serde_json::from_str(include_str!(
        "../../../../schemas/forms/satgas_laporan.json"
    ))
    .unwrap();
    let changes = Changes {
        forms: vec![form],
        ..Changes::default()
    };
    h.resolve_sync(answer_for(&request, ReceiptStatus::Accepted, changes));
    let after: Vec<String> = h
        .today()
        .case_forms
        .into_iter()
        .map(|f| f.form_id)
        .collect();
    assert!(after.contains(&"satgas_laporan".to_string()), "{after:?}");
    h.send(UiEvent::StartNewCase {
        form_id: "satgas_laporan".into(),
    });
    assert_eq!(h.visit().form_title, "Laporan Satgas Tanggap Cepat");
}
