use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use tepat_protocol::{
    Answers, ApprovedVisit, Assignment, Changes, Receipt, ReceiptStatus, RejectCode, ReturnedVisit,
    Role, SyncResponse,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0)
        .single()
        .unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

const FORM: &str = r#"{
  "id": "mini", "version": 1, "title": {"id": "Mini", "en": "Mini"},
  "choices": {"outcome": [{"value": "1", "label": {"id": "Ditemukan", "en": "Found"}},
                          {"value": "0", "label": {"id": "Tidak ditemukan", "en": "Not found"}}]},
  "sections": [{"id": "s1", "title": {"id": "Satu", "en": "One"}, "fields": [
    {"id": "outcome", "type": "select_one", "choices": "outcome", "label": {"id": "Hasil", "en": "Outcome"}},
    {"id": "head_name", "type": "text", "prefill": "head_name", "label": {"id": "Nama", "en": "Name"}},
    {"id": "members", "type": "repeat", "label": {"id": "Anggota", "en": "Members"}, "fields": [
      {"id": "name", "type": "text", "label": {"id": "Nama", "en": "Name"}},
      {"id": "photo", "type": "photo", "label": {"id": "Foto", "en": "Photo"}}
    ]}
  ]}]
}"#;

fn form() -> Form {
    serde_json::from_str(FORM).unwrap()
}

fn repeats() -> HashSet<String> {
    repeat_ids(&form())
}

fn identity() -> Identity {
    Identity {
        device_id: "D-1".into(),
        user_id: "U-7".into(),
        name: "Rina".into(),
        role: Role::Enumerator,
        regions: vec!["17.71".into()],
    }
}

fn assignment(id: &str) -> Assignment {
    Assignment {
        assignment_id: id.into(),
        form_id: "mini".into(),
        form_version: 1,
        region_code: "17.71.01.1001".into(),
        label: format!("Keluarga {id}"),
        prefill: [("head_name".to_string(), "Siti Aminah".to_string())]
            .into_iter()
            .collect(),
        prefill_repeats: Default::default(),
    }
}

fn store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    store.set_identity(&identity(), t0()).unwrap();
    store.install_form(&form(), t0()).unwrap();
    store
        .import_assignments(&[assignment("A-1"), assignment("A-2")], t0())
        .unwrap();
    store
}

fn start(store: &mut Store, assignment_id: &str) -> VisitRecord {
    let mut answers = Answers::new();
    answers.insert("head_name".into(), json!("Siti Aminah"));
    let new = NewVisit {
        form_id: "mini".into(),
        form_version: 1,
        assignment_id: Some(assignment_id.into()),
        visit_date: day(),
        answers,
    };
    store.start_visit(&new, &repeats(), t0()).unwrap()
}

fn set(store: &mut Store, visit: &VisitSummary, path: &str, value: Value) {
    store
        .save_answers(
            visit.visit_id,
            visit.revision,
            &[(path.to_string(), Some(AnswerRow::Value(value)))],
            t0(),
        )
        .unwrap();
}

fn finalise(store: &mut Store, visit: &VisitSummary) -> tepat_protocol::VisitDoc {
    let record = store.visit(visit.visit_id).unwrap();
    let f = Finalise {
        visit_id: visit.visit_id,
        revision: visit.revision,
        answers: record.answers,
        notes: record.notes,
        local_date: day(),
        outcome: Some("1".into()),
        revisit: false,
        prefill_review: Default::default(),
    };
    store.finalise(&f, t0() + Duration::minutes(20)).unwrap()
}

fn respond(
    request: &tepat_protocol::SyncRequest,
    status: ReceiptStatus,
    changes: Changes,
) -> SyncResponse {
    SyncResponse {
        protocol: request.protocol,
        receipts: request
            .visits
            .iter()
            .map(|v| Receipt {
                visit_id: v.visit_id,
                revision: v.revision,
                status,
                reject_code: (status == ReceiptStatus::Rejected).then_some(RejectCode::UnknownForm),
                reason: (status == ReceiptStatus::Rejected)
                    .then(|| "form not published".to_string()),
                error_count: 0,
            })
            .collect(),
        changes,
        next_cursor: request.cursor + 5,
        more: false,
        server_time: t0(),
    }
}

/// One sync round in which the server accepts what was sent and returns `returned` to the enumerator.
fn sync_returning(store: &mut Store, returned: ReturnedVisit) -> SyncApplied {
    let request = store.prepare_sync(10, t0()).unwrap();
    let changes = Changes {
        returned: vec![returned],
        ..Changes::default()
    };
    store
        .apply_sync(
            &request,
            &respond(&request, ReceiptStatus::Accepted, changes),
            t0(),
        )
        .unwrap()
}

#[test]
fn a_fresh_database_opens_with_defaults() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.settings().unwrap(), Settings::default());
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert_eq!(store.today(day()).unwrap(), Today::default());
    assert_eq!(store.sync_status().unwrap(), SyncStatus::default());
}

#[test]
fn settings_persist_across_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tepat.db");
    {
        let mut store = Store::open(&path, Durability::Full).unwrap();
        store.set_language(Lang::En).unwrap();
        store.set_identity(&identity(), t0()).unwrap();
    }
    let store = Store::open(&path, Durability::Balanced).unwrap();
    assert_eq!(
        store.settings().unwrap(),
        Settings {
            lang: Lang::En,
            identity: Some(identity())
        }
    );
}

#[test]
fn form_versions_are_immutable() {
    let mut store = store();
    assert_eq!(
        store.install_form(&form(), t0()).unwrap(),
        FormInstall::AlreadyInstalled
    );
    let mut changed = form();
    changed.title = tepat_form::Text::new("Lain", "Other");
    assert_eq!(
        store.install_form(&changed, t0()),
        Err(StoreError::FormVersionConflict {
            form_id: "mini".into(),
            version: 1
        })
    );
    changed.version = 2;
    assert_eq!(
        store.install_form(&changed, t0()).unwrap(),
        FormInstall::Installed
    );
    let versions: Vec<u32> = store.forms().unwrap().iter().map(|f| f.version).collect();
    assert_eq!(versions, vec![2, 1]);
    assert_eq!(store.form("mini", 1).unwrap(), form());
    assert!(matches!(
        store.form("mini", 9),
        Err(StoreError::FormNotInstalled { .. })
    ));
}

#[test]
fn assignments_import_idempotently_and_come_back_after_withdrawal() {
    let mut store = store();
    let again = store
        .import_assignments(&[assignment("A-1"), assignment("A-3")], t0())
        .unwrap();
    assert_eq!(
        again,
        ImportSummary {
            added: 1,
            updated: 0,
            unchanged: 1
        }
    );
    let mut relabelled = assignment("A-1");
    relabelled.label = "Keluarga baru".into();
    assert_eq!(
        store
            .import_assignments(&[relabelled], t0())
            .unwrap()
            .updated,
        1
    );
    assert_eq!(
        store.assignment("A-1").unwrap().assignment.label,
        "Keluarga baru"
    );
    assert!(matches!(
        store.assignment("nope"),
        Err(StoreError::AssignmentNotFound(_))
    ));
}

#[test]
fn a_visit_starts_with_its_prefill_and_every_answer_is_saved_and_audited() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    assert_eq!(visit.state, VisitState::Draft);
    assert_eq!(visit.revision, 1);
    assert_eq!(visit.visit_id.get_version_num(), 7);
    set(&mut store, &visit, "outcome", json!("1"));
    set(&mut store, &visit, "outcome", json!("0"));
    let record = store.visit(visit.visit_id).unwrap();
    assert_eq!(
        Value::Object(record.answers),
        json!({"outcome": "0", "head_name": "Siti Aminah"})
    );
    let trail: Vec<(String, Option<String>, Option<String>)> = store
        .audit_of(visit.visit_id)
        .unwrap()
        .into_iter()
        .filter(|e| e.path.as_deref() == Some("outcome"))
        .map(|e| (e.kind, e.old, e.new))
        .collect();
    assert_eq!(
        trail,
        vec![
            ("answer_set".into(), None, Some("\"1\"".into())),
            (
                "answer_set".into(),
                Some("\"1\"".into()),
                Some("\"0\"".into())
            )
        ]
    );
    let events = store.audit_of(visit.visit_id).unwrap();
    assert!(events.iter().all(|e| e.actor == "U-7"));
    assert!(events.windows(2).all(|w| w[0].device_seq < w[1].device_seq));
}

#[test]
fn a_visit_needs_an_installed_form_and_a_known_assignment() {
    let mut store = store();
    let mut new = NewVisit {
        form_id: "mini".into(),
        form_version: 1,
        assignment_id: Some("ghost".into()),
        visit_date: day(),
        answers: Answers::new(),
    };
    assert!(matches!(
        store.start_visit(&new, &repeats(), t0()),
        Err(StoreError::AssignmentNotFound(_))
    ));
    new.assignment_id = None;
    new.form_version = 3;
    assert!(matches!(
        store.start_visit(&new, &repeats(), t0()),
        Err(StoreError::FormNotInstalled { .. })
    ));
    assert_eq!(store.today(day()).unwrap().counts.drafts, 0);
}

#[test]
fn members_round_trip_through_rows_and_photos_are_referenced() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    let photo = json!({"file": "IMG_1.jpg", "sha256": "ab".repeat(32)});
    let before = flatten(&store.visit(visit.visit_id).unwrap().answers, &repeats());
    let mut answers = store.visit(visit.visit_id).unwrap().answers;
    answers.insert(
        "members".into(),
        json!([{"name": "Siti"}, {}, {"name": "Budi", "photo": photo}]),
    );
    let changes = diff(&before, &flatten(&answers, &repeats()));
    store
        .save_answers(visit.visit_id, 1, &changes, t0())
        .unwrap();
    assert_eq!(store.visit(visit.visit_id).unwrap().answers, answers);
    let photos: i64 = store
        .conn
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(photos, 1);

    // Removing the first member shifts the others; the photo reference moves with its member.
    let before = flatten(&answers, &repeats());
    answers.insert(
        "members".into(),
        json!([{}, {"name": "Budi", "photo": photo}]),
    );
    store
        .save_answers(
            visit.visit_id,
            1,
            &diff(&before, &flatten(&answers, &repeats())),
            t0(),
        )
        .unwrap();
    assert_eq!(store.visit(visit.visit_id).unwrap().answers, answers);
    let path: String = store
        .conn
        .query_row("SELECT path FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(path, "members[1].photo");
}

#[test]
fn a_bad_path_writes_nothing() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    let changes = vec![
        ("outcome".to_string(), Some(AnswerRow::Value(json!("1")))),
        (
            "members[x].name".to_string(),
            Some(AnswerRow::Value(json!("A"))),
        ),
    ];
    assert_eq!(
        store.save_answers(visit.visit_id, 1, &changes, t0()),
        Err(StoreError::BadPath("members[x].name".into()))
    );
    assert!(
        !store
            .visit(visit.visit_id)
            .unwrap()
            .answers
            .contains_key("outcome")
    );
}

#[test]
fn finalising_writes_state_and_outbox_together_and_freezes_the_visit() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    set(&mut store, &visit, "outcome", json!("1"));
    store
        .set_warning_note(
            visit.visit_id,
            1,
            "head_name",
            Some("Nama di KK berbeda"),
            t0(),
        )
        .unwrap();
    let doc = finalise(&mut store, &visit);
    assert_eq!(
        doc.warning_notes.get("head_name").map(String::as_str),
        Some("Nama di KK berbeda")
    );
    assert_eq!(
        doc.device_times.finalised_at,
        Some(t0() + Duration::minutes(20))
    );
    assert!(doc.device_times.device_seq > visit.started_seq);
    let summary = store.visit_summary(visit.visit_id).unwrap();
    assert_eq!(summary.state, VisitState::Final);
    assert_eq!(summary.finalised_date, Some(day()));
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].content_hash, doc.content_hash());
    assert_eq!(store.outbox_doc(visit.visit_id, 1).unwrap(), doc);

    // Frozen: no answers, notes or second finalise.
    let frozen = store.save_answers(visit.visit_id, 1, &[("outcome".into(), None)], t0());
    assert!(
        matches!(
            frozen,
            Err(StoreError::WrongState {
                state: VisitState::Final,
                ..
            })
        ),
        "{frozen:?}"
    );
    assert!(
        store
            .set_warning_note(visit.visit_id, 1, "x", Some("y"), t0())
            .is_err()
    );
    let f = Finalise {
        visit_id: visit.visit_id,
        revision: 1,
        answers: Answers::new(),
        notes: BTreeMap::new(),
        local_date: day(),
        outcome: None,
        revisit: false,
        prefill_review: Default::default(),
    };
    assert!(store.finalise(&f, t0()).is_err());
    assert_eq!(store.outbox().unwrap().len(), 1);

    let counts = store.today(day()).unwrap().counts;
    assert_eq!(
        counts,
        TodayCounts {
            done_today: 1,
            drafts: 0,
            in_outbox: 1,
            returned: 0,
            revisits: 0
        }
    );
}

#[test]
fn a_final_visit_never_uploaded_can_be_edited_again() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    finalise(&mut store, &visit);
    store.unfinalise(visit.visit_id, 1, t0()).unwrap();
    assert_eq!(
        store.visit_summary(visit.visit_id).unwrap().state,
        VisitState::Draft
    );
    assert!(store.outbox().unwrap().is_empty());
    finalise(&mut store, &visit);
    store.prepare_sync(10, t0()).unwrap();
    assert!(matches!(
        store.unfinalise(visit.visit_id, 1, t0()),
        Err(StoreError::WrongState { .. })
    ));
}

#[test]
fn audit_events_cannot_be_changed_or_deleted() {
    let store = store();
    let update = store.conn.execute("UPDATE audit SET actor = 'mallory'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = store.conn.execute("DELETE FROM audit", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn syncing_needs_enrolment() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.prepare_sync(10, t0()), Err(StoreError::NotEnrolled));
}

#[test]
fn receipts_take_visits_out_of_the_outbox_and_nothing_else_does() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    let b = start(&mut store, "A-2").summary;
    finalise(&mut store, &a);
    finalise(&mut store, &b);
    let request = store.prepare_sync(1, t0()).unwrap();
    assert_eq!(request.visits.len(), 1);
    assert_eq!(request.device_id, "D-1");
    assert_eq!(
        store.visit_summary(a.visit_id).unwrap().state,
        VisitState::Sent
    );

    // The answer never came: the same batch goes again, same id, same visits.
    store
        .record_sync_failure("timeout", "connection reset mid-way", false, t0())
        .unwrap();
    let again = store.prepare_sync(10, t0()).unwrap();
    assert_eq!(again.batch_id, request.batch_id);
    assert_eq!(again.visits, request.visits);
    let status = store.sync_status().unwrap();
    assert_eq!(
        (status.outbox, status.last_error_code.as_deref()),
        (2, Some("timeout"))
    );

    let applied = store
        .apply_sync(
            &again,
            &respond(&again, ReceiptStatus::Accepted, Changes::default()),
            t0(),
        )
        .unwrap();
    assert_eq!(applied.accepted, 1);
    assert_eq!(
        store.visit_summary(a.visit_id).unwrap().state,
        VisitState::Accepted
    );
    let status = store.sync_status().unwrap();
    assert_eq!(
        (status.outbox, status.cursor, status.last_error_code),
        (1, 5, None)
    );
    assert_eq!(status.last_success_at, Some(t0()));

    // The next batch is new and holds the other visit; a duplicate receipt is a success too.
    let next = store.prepare_sync(10, t0()).unwrap();
    assert_ne!(next.batch_id, request.batch_id);
    assert_eq!(next.cursor, 5);
    assert_eq!(
        next.visits.iter().map(|v| v.visit_id).collect::<Vec<_>>(),
        vec![b.visit_id]
    );
    store
        .apply_sync(
            &next,
            &respond(&next, ReceiptStatus::Duplicate, Changes::default()),
            t0(),
        )
        .unwrap();
    assert!(store.outbox().unwrap().is_empty());

    // An empty request still pulls changes.
    let pull = store.prepare_sync(10, t0()).unwrap();
    assert!(pull.visits.is_empty());
}

#[test]
fn a_rejected_visit_stays_in_the_outbox_held_with_its_reason() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    finalise(&mut store, &a);
    let request = store.prepare_sync(10, t0()).unwrap();
    let applied = store
        .apply_sync(
            &request,
            &respond(&request, ReceiptStatus::Rejected, Changes::default()),
            t0(),
        )
        .unwrap();
    assert_eq!(applied.rejected, 1);
    let summary = store.visit_summary(a.visit_id).unwrap();
    assert_eq!(summary.state, VisitState::Final);
    assert_eq!(
        summary.reject_reason.as_deref(),
        Some("unknown_form: form not published")
    );
    assert_eq!(store.sync_status().unwrap().held, 1);
    assert!(store.prepare_sync(10, t0()).unwrap().visits.is_empty());
}

#[test]
fn a_receipt_for_a_visit_not_sent_changes_nothing() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    finalise(&mut store, &a);
    let request = store.prepare_sync(10, t0()).unwrap();
    let mut response = respond(&request, ReceiptStatus::Accepted, Changes::default());
    response.receipts[0].revision = 2;
    let applied = store.apply_sync(&request, &response, t0()).unwrap();
    assert_eq!(applied.problems.len(), 1);
    assert_eq!(store.outbox().unwrap().len(), 1);
}

#[test]
fn a_return_pinned_to_a_field_keeps_the_field_through_reopening_until_approval() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    set(&mut store, &a, "outcome", json!("1"));
    let doc = finalise(&mut store, &a);
    sync_returning(
        &mut store,
        ReturnedVisit {
            visit: doc,
            comment: "Hasil kunjungan salah".into(),
            reviewer: "korkab".into(),
            returned_at: t0() + Duration::hours(3),
            field: Some("outcome".into()),
        },
    );
    let summary = store.visit_summary(a.visit_id).unwrap();
    assert_eq!(
        (summary.state, summary.supervisor_field.as_deref()),
        (VisitState::Returned, Some("outcome"))
    );
    let reopened = store
        .reopen_returned(a.visit_id, 1, t0() + Duration::hours(4))
        .unwrap();
    assert_eq!(
        reopened.summary.supervisor_field.as_deref(),
        Some("outcome")
    );

    finalise(&mut store, &reopened.summary);
    let request = store.prepare_sync(10, t0()).unwrap();
    let changes = Changes {
        approved: vec![ApprovedVisit {
            visit_id: a.visit_id,
            revision: 2,
        }],
        ..Changes::default()
    };
    store
        .apply_sync(
            &request,
            &respond(&request, ReceiptStatus::Accepted, changes),
            t0(),
        )
        .unwrap();
    let approved = store.visit_summary(a.visit_id).unwrap();
    assert_eq!(
        (approved.state, approved.supervisor_field),
        (VisitState::Approved, None)
    );
}

#[test]
fn returned_visits_reopen_as_the_next_revision_and_approvals_land() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    set(&mut store, &a, "outcome", json!("1"));
    let doc = finalise(&mut store, &a);
    let request = store.prepare_sync(10, t0()).unwrap();
    store
        .apply_sync(
            &request,
            &respond(&request, ReceiptStatus::Accepted, Changes::default()),
            t0(),
        )
        .unwrap();

    let applied = sync_returning(
        &mut store,
        ReturnedVisit {
            visit: doc.clone(),
            comment: "Foto rumah buram".into(),
            reviewer: "korkab".into(),
            returned_at: t0() + Duration::hours(3),
            field: None,
        },
    );
    assert_eq!(applied.returned, 1);
    let summary = store.visit_summary(a.visit_id).unwrap();
    assert_eq!(
        (summary.state, summary.supervisor_comment.as_deref()),
        (VisitState::Returned, Some("Foto rumah buram"))
    );
    assert_eq!(store.today(day()).unwrap().counts.returned, 1);

    let reopened = store
        .reopen_returned(a.visit_id, 1, t0() + Duration::hours(4))
        .unwrap();
    assert_eq!(
        (reopened.summary.revision, reopened.summary.state),
        (2, VisitState::Draft)
    );
    assert_eq!(
        reopened.summary.supervisor_comment.as_deref(),
        Some("Foto rumah buram")
    );
    assert_eq!(reopened.answers.get("outcome"), Some(&json!("1")));
    assert_eq!(store.today(day()).unwrap().counts.returned, 1);
    assert!(matches!(
        store.save_answers(a.visit_id, 1, &[], t0()),
        Err(StoreError::StaleRevision { .. })
    ));

    let doc2 = finalise(&mut store, &reopened.summary);
    assert_eq!(doc2.revision, 2);
    let request = store.prepare_sync(10, t0()).unwrap();
    let changes = Changes {
        approved: vec![ApprovedVisit {
            visit_id: a.visit_id,
            revision: 2,
        }],
        ..Changes::default()
    };
    let applied = store
        .apply_sync(
            &request,
            &respond(&request, ReceiptStatus::Accepted, changes),
            t0(),
        )
        .unwrap();
    assert_eq!(applied.approved, 1);
    assert_eq!(
        store.visit_summary(a.visit_id).unwrap().state,
        VisitState::Approved
    );
    let kinds: Vec<String> = store
        .audit_of(a.visit_id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in [
        "visit_started",
        "finalised",
        "sent",
        "receipt_accepted",
        "returned",
        "reopened",
        "approved",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
}

#[test]
fn a_returned_visit_this_device_never_had_is_taken_from_the_document() {
    let mut source = store();
    let a = start(&mut source, "A-1").summary;
    set(&mut source, &a, "members", json!(null));
    let mut answers = source.visit(a.visit_id).unwrap().answers;
    answers.insert(
        "members".into(),
        json!([{"name": "Siti", "photo": {"file": "f.jpg", "sha256": "cd".repeat(32)}}]),
    );
    let doc = tepat_protocol::VisitDoc {
        answers: answers.clone(),
        ..finalise(&mut source, &a)
    };

    let mut store = store();
    sync_returning(
        &mut store,
        ReturnedVisit {
            visit: doc,
            comment: "NIK salah".into(),
            reviewer: "korkab".into(),
            returned_at: t0(),
            field: None,
        },
    );
    let record = store.visit(a.visit_id).unwrap();
    assert_eq!(record.summary.state, VisitState::Returned);
    assert_eq!(record.answers, answers);
    let photos: i64 = store
        .conn
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(photos, 1);
    let today = store.today(day()).unwrap();
    assert_eq!(
        today.items[0].latest.as_ref().map(|v| v.visit_id),
        Some(a.visit_id)
    );
}

#[test]
fn withdrawn_assignments_keep_their_drafts_and_say_so() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    let pull = store.prepare_sync(10, t0()).unwrap();
    let changes = Changes {
        withdrawn: vec!["A-1".into(), "A-2".into()],
        assignments: vec![assignment("A-9")],
        ..Changes::default()
    };
    let applied = store
        .apply_sync(
            &pull,
            &respond(&pull, ReceiptStatus::Accepted, changes),
            t0(),
        )
        .unwrap();
    assert_eq!(
        (
            applied.assignments_withdrawn,
            applied.withdrawn_with_draft,
            applied.assignments_added
        ),
        (2, 1, 1)
    );
    let today = store.today(day()).unwrap();
    let listed: Vec<(&str, bool)> = today
        .items
        .iter()
        .map(|i| {
            (
                i.assignment.assignment.assignment_id.as_str(),
                i.assignment.withdrawn,
            )
        })
        .collect();
    assert_eq!(listed, vec![("A-1", true), ("A-9", false)]);
    assert_eq!(
        store.visit_summary(a.visit_id).unwrap().state,
        VisitState::Draft
    );
}

fn start_case(store: &mut Store, answers: Answers) -> VisitRecord {
    let new = NewVisit {
        form_id: "mini".into(),
        form_version: 1,
        assignment_id: None,
        visit_date: day(),
        answers,
    };
    store.start_visit(&new, &repeats(), t0()).unwrap()
}

#[test]
fn each_case_is_listed_once_by_its_latest_visit_with_the_client_s_name_whatever_its_age() {
    let mut store = store();
    let mut answers = Answers::new();
    answers.insert(CASE_NAME_FIELD.into(), json!("Siti Aminah"));
    let first = start_case(&mut store, answers.clone()).summary;
    finalise(&mut store, &first);
    let unnamed = start_case(&mut store, Answers::new()).summary;
    // The follow-up names the case's first visit; the name was corrected on it.
    answers.insert(CASE_NAME_FIELD.into(), json!("Siti Aminah Lubis"));
    answers.insert(CASE_ID_FIELD.into(), json!(first.visit_id.to_string()));
    let follow_up = start_case(&mut store, answers.clone()).summary;
    // A case finalised long ago (a month on) is still listed: it may be followed up any time.
    let later = day() + Duration::days(30);
    let today = store.today(later).unwrap();
    let listed: Vec<Uuid> = today.cases.iter().map(|v| v.visit_id).collect();
    assert_eq!(
        listed,
        [follow_up.visit_id, unnamed.visit_id],
        "newest first"
    );
    assert_eq!(
        today.case_names,
        BTreeMap::from([(follow_up.visit_id, "Siti Aminah Lubis".to_string())])
    );
    // A second follow-up of the same case replaces the first on the list.
    let again = start_case(&mut store, answers).summary;
    let listed: Vec<Uuid> = store
        .today(later)
        .unwrap()
        .cases
        .iter()
        .map(|v| v.visit_id)
        .collect();
    assert_eq!(listed, [again.visit_id, unnamed.visit_id]);
}

#[test]
fn today_counts_drafts_outbox_and_revisits() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    let record = store.visit(a.visit_id).unwrap();
    let f = Finalise {
        visit_id: a.visit_id,
        revision: 1,
        answers: record.answers,
        notes: BTreeMap::new(),
        local_date: day(),
        outcome: Some("0".into()),
        revisit: true,
        prefill_review: Default::default(),
    };
    store.finalise(&f, t0()).unwrap();
    start(&mut store, "A-2");
    let case = NewVisit {
        form_id: "mini".into(),
        form_version: 1,
        assignment_id: None,
        visit_date: day(),
        answers: Answers::new(),
    };
    store.start_visit(&case, &repeats(), t0()).unwrap();
    let today = store.today(day()).unwrap();
    assert_eq!(
        today.counts,
        TodayCounts {
            done_today: 1,
            drafts: 2,
            in_outbox: 1,
            returned: 0,
            revisits: 1
        }
    );
    assert_eq!(today.cases.len(), 1);
    assert_eq!(today.items.len(), 2);
    // Tomorrow nothing is done yet.
    assert_eq!(
        store
            .today(day().succ_opt().unwrap())
            .unwrap()
            .counts
            .done_today,
        0
    );
}

#[test]
fn a_version_1_database_upgrades_with_its_data_and_photo_references() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO settings (key, value) VALUES ('lang', 'en');
             INSERT INTO forms (form_id, version, definition, installed_at) VALUES ('mini', 1, '{}', 'x');
             INSERT INTO visits (visit_id, form_id, form_version, revision, state, visit_date, started_at, started_seq)
                 VALUES ('0190a0a0-0000-7000-8000-000000000001', 'mini', 1, 1, 'draft', '2026-11-20',
                         '2026-11-20T01:00:00.000000Z', 1);
             INSERT INTO answers (visit_id, path, kind, value) VALUES
                 ('0190a0a0-0000-7000-8000-000000000001', 'members', 1, '1'),
                 ('0190a0a0-0000-7000-8000-000000000001', 'members[0].photo', 0,
                  '{{\"file\":\"a.jpg\",\"sha256\":\"{}\"}}'),
                 ('0190a0a0-0000-7000-8000-000000000001', 'outcome', 0, '\"1\"');",
            FORM.replace('\'', "''"),
            "ef".repeat(32)
        ))
        .unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
    }
    let store = Store::open(&path, Durability::Full).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    assert_eq!(store.settings().unwrap().lang, Lang::En);
    let id = uuid::Uuid::parse_str("0190a0a0-0000-7000-8000-000000000001").unwrap();
    let record = store.visit(id).unwrap();
    assert_eq!(record.answers.get("outcome"), Some(&json!("1")));
    let photo: (String, String) = store
        .conn
        .query_row("SELECT path, file FROM photos", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(photo, ("members[0].photo".to_string(), "a.jpg".to_string()));
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn batches_are_bounded_by_bytes_and_a_large_visit_still_goes_alone() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    let b = start(&mut store, "A-2").summary;
    let doc_a = finalise(&mut store, &a);
    let doc_b = finalise(&mut store, &b);
    let size = |d: &tepat_protocol::VisitDoc| serde_json::to_string(d).unwrap().len();
    // Room for the first document only: one batch each.
    let first = store
        .prepare_batch(10, size(&doc_a) + size(&doc_b) - 1, t0())
        .unwrap();
    assert_eq!(first.visits.len(), 1);
    let applied = store
        .apply_sync(
            &first,
            &respond(&first, ReceiptStatus::Accepted, Changes::default()),
            t0(),
        )
        .unwrap();
    assert_eq!(applied.accepted, 1);
    // A limit below one document still sends that document.
    let second = store.prepare_batch(10, 1, t0()).unwrap();
    assert_eq!(second.visits.len(), 1);
    assert_ne!(second.visits[0].visit_id, first.visits[0].visit_id);
    let both = [first.visits[0].visit_id, second.visits[0].visit_id];
    assert!(both.contains(&doc_a.visit_id) && both.contains(&doc_b.visit_id));
}

#[test]
fn an_attempt_that_sent_nothing_is_taken_back_unless_an_earlier_one_may_have_delivered() {
    let mut store = store();
    let a = start(&mut store, "A-1").summary;
    let b = start(&mut store, "A-2").summary;
    finalise(&mut store, &a);
    let first = store.prepare_sync(10, t0()).unwrap();
    // The link dropped mid-way: `a` may be on the server.
    store
        .record_sync_failure("timeout", "connection reset", false, t0())
        .unwrap();
    finalise(&mut store, &b);
    let second = store.prepare_sync(10, t0()).unwrap();
    assert_eq!(
        second.batch_id, first.batch_id,
        "the unanswered batch again"
    );
    assert_eq!(second.visits.len(), 1);
    let third = {
        // No signal: nothing of the retry left the phone.
        store
            .record_sync_failure("offline", "network is unreachable", true, t0())
            .unwrap();
        store.prepare_sync(10, t0()).unwrap()
    };
    assert_eq!(third.batch_id, first.batch_id);
    // `a` had an attempt that may have arrived: still sent, and it cannot be edited again.
    let state = |store: &Store, v: &VisitSummary| store.visit_summary(v.visit_id).unwrap().state;
    assert_eq!(state(&store, &a), VisitState::Sent);
    store
        .record_sync_failure("offline", "network is unreachable", true, t0())
        .unwrap();
    assert_eq!(state(&store, &a), VisitState::Sent);
    assert!(matches!(
        store.unfinalise(a.visit_id, a.revision, t0()),
        Err(StoreError::WrongState { .. })
    ));
    // A visit whose only attempt sent nothing: taken back to final, and it can be reopened.
    let mut store2 = self::store();
    let c = start(&mut store2, "A-1").summary;
    finalise(&mut store2, &c);
    store2.prepare_sync(10, t0()).unwrap();
    assert_eq!(state(&store2, &c), VisitState::Sent);
    store2
        .record_sync_failure("offline", "network is unreachable", true, t0())
        .unwrap();
    assert_eq!(state(&store2, &c), VisitState::Final);
    assert_eq!(store2.outbox().unwrap()[0].attempts, 0);
    let status = store2.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("offline"));
    store2.unfinalise(c.visit_id, c.revision, t0()).unwrap();
    assert_eq!(state(&store2, &c), VisitState::Draft);
    assert!(store2.outbox().unwrap().is_empty());
}

// ---- The photo outbox: queued by hash when the text is accepted, resumable, removed after `keep_days`. ----

/// A store on a file (for reopening) set up like [`store`].
fn store_at(path: &std::path::Path) -> Store {
    let mut store = Store::open(path, Durability::Balanced).unwrap();
    store.set_identity(&identity(), t0()).unwrap();
    store.install_form(&form(), t0()).unwrap();
    store
        .import_assignments(&[assignment("A-1"), assignment("A-2")], t0())
        .unwrap();
    store
}

/// A photo file of `size` bytes in `dir`, with a made-up hash (the store keeps the hash it is given; the
/// runtime checks the file against it before sending).
fn photo_file(dir: &std::path::Path, name: &str, size: usize, hash_byte: &str) -> (String, String) {
    let file = dir.join(name);
    std::fs::write(&file, vec![0xA5; size]).unwrap();
    (file.to_string_lossy().into_owned(), hash_byte.repeat(32))
}

/// Starts a visit on `assignment_id` with one member per photo and finalises it.
fn final_visit_with_photos(
    store: &mut Store,
    assignment_id: &str,
    photos: &[(String, String)],
) -> (VisitSummary, tepat_protocol::VisitDoc) {
    let visit = start(store, assignment_id).summary;
    let mut answers = store.visit(visit.visit_id).unwrap().answers;
    let before = flatten(&answers, &repeats());
    let members: Vec<Value> = photos
        .iter()
        .map(|(file, sha256)| json!({"name": "Siti", "photo": {"file": file, "sha256": sha256}}))
        .collect();
    answers.insert("members".into(), Value::Array(members));
    store
        .save_answers(
            visit.visit_id,
            visit.revision,
            &diff(&before, &flatten(&answers, &repeats())),
            t0(),
        )
        .unwrap();
    let doc = finalise(store, &visit);
    (visit, doc)
}

/// One sync round the server answers with `status` for every visit sent.
fn sync_once(store: &mut Store, status: ReceiptStatus, at: DateTime<Utc>) -> usize {
    let request = store.prepare_sync(10, at).unwrap();
    store
        .apply_sync(&request, &respond(&request, status, Changes::default()), at)
        .unwrap();
    request.visits.len()
}

fn outbox_rows(store: &Store) -> i64 {
    store
        .conn
        .query_row("SELECT count(*) FROM photo_outbox", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn photos_are_queued_only_when_their_visit_is_accepted_and_text_goes_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1200, "a1");
    let room = photo_file(dir.path(), "room.jpg", 800, "b2");
    let refused = photo_file(dir.path(), "refused.jpg", 500, "c9");
    // Rejected text queues nothing (the visit is held on the phone, its photo with it).
    final_visit_with_photos(&mut store, "A-2", &[refused]);
    assert_eq!(sync_once(&mut store, ReceiptStatus::Rejected, t0()), 1);
    assert_eq!(outbox_rows(&store), 0);

    final_visit_with_photos(&mut store, "A-1", &[front.clone(), room.clone()]);
    // Final, in the text outbox: nothing to upload yet (the server does not know the visit).
    assert_eq!(store.waiting_photos().unwrap(), vec![]);
    assert_eq!(store.photos_waiting().unwrap(), PhotosWaiting::default());

    assert_eq!(sync_once(&mut store, ReceiptStatus::Accepted, t0()), 1);
    let waiting = store.waiting_photos().unwrap();
    let mut expected = vec![
        WaitingPhoto {
            sha256: front.1.clone(),
            file: front.0.clone(),
            bytes: 1200,
            offset: 0,
            created: false,
        },
        WaitingPhoto {
            sha256: room.1.clone(),
            file: room.0.clone(),
            bytes: 800,
            offset: 0,
            created: false,
        },
    ];
    expected.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    assert_eq!(waiting, expected);
    assert_eq!(
        store.photos_waiting().unwrap(),
        PhotosWaiting {
            photos: 2,
            bytes: 2000
        }
    );
}

#[test]
fn the_same_photo_is_queued_once_however_many_visits_and_answers_reference_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "c3");
    let copy = (dir.path().join("copy.jpg"), front.1.clone());
    std::fs::copy(&front.0, &copy.0).unwrap();
    let copy = (copy.0.to_string_lossy().into_owned(), copy.1);
    // Twice in one visit (two answers), and again in a second visit under another file name.
    final_visit_with_photos(&mut store, "A-1", &[front.clone(), front.clone()]);
    final_visit_with_photos(&mut store, "A-2", &[copy]);
    assert_eq!(sync_once(&mut store, ReceiptStatus::Accepted, t0()), 2);
    assert_eq!(outbox_rows(&store), 1);
    assert_eq!(
        store.photos_waiting().unwrap(),
        PhotosWaiting {
            photos: 1,
            bytes: 1000
        }
    );

    // A duplicate receipt (the answer to a retried batch) queues nothing more.
    let (visit, _) = final_visit_with_photos(&mut store, "A-1", std::slice::from_ref(&front));
    assert_eq!(sync_once(&mut store, ReceiptStatus::Duplicate, t0()), 1);
    assert_eq!(
        store.visit_summary(visit.visit_id).unwrap().state,
        VisitState::Accepted
    );
    assert_eq!(outbox_rows(&store), 1);
}

#[test]
fn the_upload_offset_is_saved_and_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tepat.db");
    let front = photo_file(dir.path(), "front.jpg", 300_000, "d4");
    let room = photo_file(dir.path(), "room.jpg", 200_000, "e5");
    {
        let mut store = store_at(&db);
        final_visit_with_photos(&mut store, "A-1", &[front.clone(), room.clone()]);
        sync_once(&mut store, ReceiptStatus::Accepted, t0());
        // The upload was created (offset 0), then the server confirmed 123 456 bytes before a cut.
        store.save_photo_offset(&front.1, 0).unwrap();
        store.save_photo_offset(&front.1, 123_456).unwrap();
        // Dropped without closing anything more: what a killed app leaves behind.
    }
    let store = Store::open(&db, Durability::Balanced).unwrap();
    let waiting = store.waiting_photos().unwrap();
    let front_row = waiting.iter().find(|p| p.sha256 == front.1).unwrap();
    assert_eq!(
        (front_row.offset, front_row.created, front_row.bytes),
        (123_456, true, 300_000)
    );
    let room_row = waiting.iter().find(|p| p.sha256 == room.1).unwrap();
    assert_eq!((room_row.offset, room_row.created), (0, false));
    assert_eq!(
        store.photos_waiting().unwrap(),
        PhotosWaiting {
            photos: 2,
            bytes: 300_000 - 123_456 + 200_000
        }
    );
}

#[test]
fn an_offset_beyond_the_file_never_counts_negative_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 500, "f6");
    final_visit_with_photos(&mut store, "A-1", std::slice::from_ref(&front));
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    store.save_photo_offset(&front.1, 9_999).unwrap();
    assert_eq!(
        store.photos_waiting().unwrap(),
        PhotosWaiting {
            photos: 1,
            bytes: 0
        }
    );
}

#[test]
fn a_sent_photo_leaves_the_outbox_and_is_never_queued_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "a7");
    let room = photo_file(dir.path(), "room.jpg", 400, "b8");
    let (visit, doc) = final_visit_with_photos(&mut store, "A-1", &[front.clone(), room.clone()]);
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    store.save_photo_offset(&front.1, 600).unwrap();
    store.photo_sent(&front.1, t0()).unwrap();
    let waiting: Vec<String> = store
        .waiting_photos()
        .unwrap()
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(waiting, vec![room.1.clone()]);
    assert_eq!(
        store.photos_waiting().unwrap(),
        PhotosWaiting {
            photos: 1,
            bytes: 400
        }
    );

    // The supervisor returns the visit; its correction keeps both photos and is accepted: the front photo is
    // not sent a second time, the room photo still waits once.
    sync_returning(
        &mut store,
        ReturnedVisit {
            visit: doc,
            comment: "Foto ruang tamu buram".into(),
            reviewer: "korkab".into(),
            returned_at: t0(),
            field: None,
        },
    );
    let reopened = store.reopen_returned(visit.visit_id, 1, t0()).unwrap();
    finalise(&mut store, &reopened.summary);
    assert_eq!(sync_once(&mut store, ReceiptStatus::Accepted, t0()), 1);
    assert_eq!(store.visit_summary(visit.visit_id).unwrap().revision, 2);
    assert_eq!(outbox_rows(&store), 2);
    let waiting: Vec<String> = store
        .waiting_photos()
        .unwrap()
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(waiting, vec![room.1.clone()]);
}

#[test]
fn a_failed_photo_stays_waiting_tried_last_and_comes_back_when_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "0a");
    let room = photo_file(dir.path(), "room.jpg", 400, "fb");
    final_visit_with_photos(&mut store, "A-1", &[front.clone(), room.clone()]);
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    let order = |store: &Store| -> Vec<String> {
        store
            .waiting_photos()
            .unwrap()
            .into_iter()
            .map(|p| p.sha256)
            .collect()
    };
    assert_eq!(order(&store), vec![front.1.clone(), room.1.clone()]);

    store
        .photo_failed(&front.1, "file front.jpg: not found")
        .unwrap();
    assert_eq!(order(&store), vec![room.1.clone(), front.1.clone()]);
    let reason: Option<String> = store
        .conn
        .query_row(
            "SELECT failed FROM photo_outbox WHERE sha256 = ?1",
            [&front.1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reason.as_deref(), Some("file front.jpg: not found"));
    // Still waiting: it counts in the sync status until a person deals with it or it goes through.
    assert_eq!(store.photos_waiting().unwrap().photos, 2);

    // The server answered for it again (an upload went on): no longer failed, back in its place.
    store.save_photo_offset(&front.1, 10).unwrap();
    assert_eq!(order(&store), vec![front.1.clone(), room.1.clone()]);
    store.photo_failed(&room.1, "refused").unwrap();
    store.photo_sent(&room.1, t0()).unwrap();
    let failed: Option<String> = store
        .conn
        .query_row(
            "SELECT failed FROM photo_outbox WHERE sha256 = ?1",
            [&room.1],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, None);
    assert_eq!(order(&store), vec![front.1.clone()]);
}

#[test]
fn a_photo_whose_file_is_gone_is_queued_with_no_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "1c");
    final_visit_with_photos(&mut store, "A-1", std::slice::from_ref(&front));
    std::fs::remove_file(&front.0).unwrap();
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    let waiting = store.waiting_photos().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].bytes, waiting[0].file.as_str()),
        (0, front.0.as_str())
    );
}

#[test]
fn sent_photo_files_are_removed_only_after_keep_days() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "2d");
    let room = photo_file(dir.path(), "room.jpg", 400, "3e");
    final_visit_with_photos(&mut store, "A-1", &[front.clone(), room.clone()]);
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    store.photo_sent(&front.1, t0()).unwrap();
    let keep = Duration::days(7);

    // Six days later: kept (and the unsent room photo is never touched).
    assert_eq!(
        store
            .remove_sent_photo_files(t0() + Duration::days(6), keep)
            .unwrap(),
        0
    );
    assert!(std::path::Path::new(&front.0).exists());
    // Eight days later: the sent file goes, the unsent one stays; the row stays so it is never queued again.
    assert_eq!(
        store
            .remove_sent_photo_files(t0() + Duration::days(8), keep)
            .unwrap(),
        1
    );
    assert!(!std::path::Path::new(&front.0).exists());
    assert!(std::path::Path::new(&room.0).exists());
    assert_eq!(outbox_rows(&store), 2);
    let removed: bool = store
        .conn
        .query_row(
            "SELECT file_removed FROM photo_outbox WHERE sha256 = ?1",
            [&front.1],
            |r| r.get(0),
        )
        .unwrap();
    assert!(removed);
    // Once removed, never counted again.
    assert_eq!(
        store
            .remove_sent_photo_files(t0() + Duration::days(30), keep)
            .unwrap(),
        0
    );
    // Zero days: removed as soon as the server confirmed it.
    store.photo_sent(&room.1, t0()).unwrap();
    assert_eq!(
        store
            .remove_sent_photo_files(t0(), Duration::zero())
            .unwrap(),
        1
    );
    assert!(!std::path::Path::new(&room.0).exists());
}

#[test]
fn a_sent_photo_still_in_a_visit_being_corrected_keeps_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store();
    let front = photo_file(dir.path(), "front.jpg", 1000, "4f");
    let (visit, doc) = final_visit_with_photos(&mut store, "A-1", std::slice::from_ref(&front));
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    store.photo_sent(&front.1, t0()).unwrap();
    let later = t0() + Duration::days(30);
    let keep = Duration::days(7);

    // Returned by the supervisor: the enumerator will open it again and must still see the photo.
    sync_returning(
        &mut store,
        ReturnedVisit {
            visit: doc,
            comment: "NIK salah".into(),
            reviewer: "korkab".into(),
            returned_at: t0(),
            field: None,
        },
    );
    assert_eq!(
        store.visit_summary(visit.visit_id).unwrap().state,
        VisitState::Returned
    );
    assert_eq!(store.remove_sent_photo_files(later, keep).unwrap(), 0);
    assert!(std::path::Path::new(&front.0).exists());

    // Reopened as a draft: still kept.
    let reopened = store.reopen_returned(visit.visit_id, 1, t0()).unwrap();
    assert_eq!(store.remove_sent_photo_files(later, keep).unwrap(), 0);
    assert!(std::path::Path::new(&front.0).exists());

    // Corrected and accepted again: now it goes.
    finalise(&mut store, &reopened.summary);
    sync_once(&mut store, ReceiptStatus::Accepted, t0());
    assert_eq!(store.remove_sent_photo_files(later, keep).unwrap(), 1);
    assert!(!std::path::Path::new(&front.0).exists());
}

// ---------------------------------------------------------------------------------------------------------------
// The audit trail as a hash chain (schema 6)

/// A visit started, answered, finalised and put in a batch: its trail as the batch carries it.
fn visit_in_a_batch(store: &mut Store) -> (VisitSummary, tepat_protocol::SyncRequest) {
    let visit = start(store, "A-1").summary;
    set(store, &visit, "outcome", json!("1"));
    set(store, &visit, "head_name", json!("Siti Aminah binti Ali"));
    finalise(store, &visit);
    let request = store
        .prepare_sync(10, t0() + Duration::minutes(30))
        .unwrap();
    (visit, request)
}

/// Lifts the triggers that keep the audit append-only, as someone with the database file could.
fn tamper(store: &Store, sql: &str) {
    store
        .conn
        .execute_batch(&format!(
            "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; {sql}"
        ))
        .unwrap();
}

#[test]
fn every_audit_event_is_chained_to_the_one_before_it() {
    let mut store = store();
    visit_in_a_batch(&mut store);
    assert_eq!(store.check_chain().unwrap(), vec![]);
    let rows: Vec<(i64, String, String)> = store
        .conn
        .prepare("SELECT seq, prev_hash, hash FROM audit ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(rows.len() > 8);
    assert_eq!(rows[0].1, tepat_protocol::trail::ZERO_HASH);
    for (i, pair) in rows.windows(2).enumerate() {
        assert_eq!(
            pair[1].0,
            pair[0].0 + 1,
            "positions run without gaps at {i}"
        );
        assert_eq!(
            pair[1].1, pair[0].2,
            "row {} links to row {}",
            pair[1].0, pair[0].0
        );
    }
}

#[test]
fn the_trail_travels_with_its_visit_and_names_each_predecessor_once() {
    let mut store = store();
    let (visit, request) = visit_in_a_batch(&mut store);
    assert_eq!(request.trails.len(), 1);
    let trail = &request.trails[0];
    assert_eq!((trail.visit_id, trail.revision), (visit.visit_id, 1));
    let kinds: Vec<&str> = trail.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "visit_started",
            "answer_set",
            "answer_set",
            "answer_set",
            "finalised",
            "sent"
        ]
    );
    // One run: only the first event (whose predecessor, an assignment event, is not in the trail) says its
    // predecessor, only the last carries a hash.
    assert!(trail.events[0].prev_hash.is_some());
    assert!(trail.events[1..].iter().all(|e| e.prev_hash.is_none()));
    let last = trail.events.len() - 1;
    assert!(trail.events[..last].iter().all(|e| e.hash.is_none()));
    assert!(trail.missing.is_empty() && trail.edited.is_empty());
    assert_eq!(tepat_protocol::trail::shape_problem(trail), None);
    // The hashes recompute from the events and the first predecessor's hash to the one sent last, and each is the
    // hash stored on the phone.
    let stored: std::collections::HashMap<u64, String> = store
        .conn
        .prepare("SELECT seq, hash FROM audit")
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut before = trail.events[0].prev_hash.clone().unwrap();
    for event in &trail.events {
        let hash = tepat_protocol::trail::event_hash(&event.fields(visit.visit_id), &before);
        assert_eq!(Some(&hash), stored.get(&event.seq), "event {}", event.seq);
        before = hash;
    }
    assert_eq!(trail.events[last].hash.as_ref(), Some(&before));
    // A re-sent batch carries the trail again (with what happened since).
    let again = store
        .prepare_sync(10, t0() + Duration::minutes(31))
        .unwrap();
    assert_eq!(again.batch_id, request.batch_id);
    assert_eq!(again.trails[0].events, trail.events);
}

#[test]
fn an_audit_row_edited_behind_the_app_is_found_by_its_hash() {
    let mut store = store();
    let (visit, _) = visit_in_a_batch(&mut store);
    let seq: i64 = store
        .conn
        .query_row(
            "SELECT seq FROM audit WHERE kind = 'answer_set' AND path = 'outcome'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    tamper(
        &store,
        &format!("UPDATE audit SET new = '\"0\"' WHERE seq = {seq}"),
    );
    let problems = store.check_chain().unwrap();
    assert!(
        matches!(problems.as_slice(), [ChainProblem::Edited { seq: s, .. }] if *s == seq as u64),
        "{problems:?}"
    );
    // The trail still carries the stored hash, so the server finds the same.
    let trail = store
        .visit_trail(
            visit.visit_id,
            1,
            &tepat_protocol::bounds::BodyLimits::default(),
        )
        .unwrap();
    let event = trail.events.iter().find(|e| e.seq == seq as u64).unwrap();
    assert_eq!(event.new.as_deref(), Some("\"0\""));
    // The phone names the edited position, and the hash sent at the run's end is the one stored (the server's
    // recomputation from the edited content cannot reach it).
    assert_eq!(trail.edited, vec![seq as u64]);
    let last = trail.events.last().unwrap();
    let stored: String = store
        .conn
        .query_row(
            "SELECT hash FROM audit WHERE seq = ?1",
            [last.seq as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(last.hash.as_ref(), Some(&stored));
}

#[test]
fn a_deleted_audit_row_is_a_missing_position_in_the_trail() {
    let mut store = store();
    let (visit, _) = visit_in_a_batch(&mut store);
    let seq: i64 = store
        .conn
        .query_row(
            "SELECT seq FROM audit WHERE kind = 'answer_set' AND path = 'outcome'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    tamper(&store, &format!("DELETE FROM audit WHERE seq = {seq}"));
    let problems = store.check_chain().unwrap();
    assert_eq!(problems[0], ChainProblem::Missing { seq: seq as u64 });
    assert!(matches!(problems[1], ChainProblem::BrokenLink { seq: s, .. } if s == seq as u64 + 1));
    let trail = store
        .visit_trail(
            visit.visit_id,
            1,
            &tepat_protocol::bounds::BodyLimits::default(),
        )
        .unwrap();
    assert_eq!(trail.missing, vec![seq as u64]);
    // The event after the hole names its real predecessor's hash, which no event in the trail has.
    let after = trail
        .events
        .iter()
        .find(|e| e.seq == seq as u64 + 1)
        .unwrap();
    assert!(after.prev_hash.is_some());
    // The hole splits the run: the event before it ends one and carries its hash.
    let before = trail
        .events
        .iter()
        .find(|e| e.seq == seq as u64 - 1)
        .unwrap();
    assert!(before.hash.is_some());
    assert_eq!(tepat_protocol::trail::shape_problem(&trail), None);
}

#[test]
fn an_event_past_the_bounds_is_left_out_of_the_trail_and_the_newest_are_kept() {
    let mut store = store();
    let visit = start(&mut store, "A-1").summary;
    for i in 0..6 {
        set(&mut store, &visit, "outcome", json!(i.to_string()));
    }
    let limits = tepat_protocol::bounds::BodyLimits {
        max_trail_events: 4,
        max_trail_value_chars: 20,
        ..Default::default()
    };
    set(&mut store, &visit, "head_name", json!("x".repeat(30)));
    let trail = store.visit_trail(visit.visit_id, 1, &limits).unwrap();
    // The newest four rows, the long answer among them left out.
    assert_eq!(trail.events.len(), 3);
    assert!(
        trail
            .events
            .iter()
            .all(|e| e.path.as_deref() == Some("outcome"))
    );
    assert!(
        trail
            .events
            .iter()
            .all(|e| tepat_protocol::bounds::check_trail_event(e, &limits).is_ok())
    );
}

#[test]
fn events_carry_the_monotonic_reading_noted_with_their_time_and_their_hash_covers_it() {
    let mut store = store();
    let reading = tepat_protocol::trail::Monotonic {
        boot: "boot-1".into(),
        ms: 90_000,
    };
    store.note_clock(t0(), Some(&reading)).unwrap();
    let visit = start(&mut store, "A-1").summary;
    set(&mut store, &visit, "outcome", json!("1"));
    // Finalised at another time than the one noted: no reading rather than one of another moment.
    finalise(&mut store, &visit);
    let trail = store
        .visit_trail(
            visit.visit_id,
            1,
            &tepat_protocol::bounds::BodyLimits::default(),
        )
        .unwrap();
    let (last, before) = trail.events.split_last().unwrap();
    assert_eq!(last.kind, "finalised");
    assert_eq!(last.mono, None);
    assert!(before.len() >= 3);
    assert!(before.iter().all(|e| e.mono.as_ref() == Some(&reading)));
    assert_eq!(store.check_chain().unwrap(), vec![]);
    // No reading noted: none kept.
    store.note_clock(t0(), None).unwrap();
    let other = start(&mut store, "A-2").summary;
    let trail = store
        .visit_trail(
            other.visit_id,
            1,
            &tepat_protocol::bounds::BodyLimits::default(),
        )
        .unwrap();
    assert!(trail.events.iter().all(|e| e.mono.is_none()));
    // The hash covers the reading: another time since boot in the row is an edited event.
    tamper(
        &store,
        &format!(
            "UPDATE audit SET mono = mono + 1 WHERE visit_id = '{}' AND kind = 'visit_started'",
            visit.visit_id
        ),
    );
    let problems = store.check_chain().unwrap();
    assert!(
        matches!(problems.as_slice(), [ChainProblem::Edited { .. }]),
        "{problems:?}"
    );
}

#[test]
fn a_version_5_database_has_its_audit_chained_once_by_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO audit (at, device_seq, actor, visit_id, revision, kind, path, old, new) VALUES
                 ('2026-11-20T01:00:00.000000Z', 1, 'U-7', NULL, NULL, 'identity_set', NULL, NULL, '{}'),
                 ('2026-11-20T01:01:00.000000Z', 2, 'U-7', '0190a0a0-0000-7000-8000-000000000001', 1,
                  'answer_set', 'outcome', NULL, '\"1\"');
             UPDATE device_clock SET seq = 2;",
        )
        .unwrap();
    }
    let mut store = Store::open(&path, Durability::Full).unwrap();
    assert_eq!(store.schema_version().unwrap(), CURRENT_VERSION);
    assert_eq!(store.check_chain().unwrap(), vec![]);
    // Still append-only after the upgrade, and new events continue the same chain.
    let update = store.conn.execute("UPDATE audit SET actor = 'mallory'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    store.set_language(Lang::Id).unwrap();
    store.set_identity(&identity(), t0()).unwrap();
    assert_eq!(store.check_chain().unwrap(), vec![]);
    let positions: i64 = store
        .conn
        .query_row("SELECT max(seq) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(positions, 3);
}
