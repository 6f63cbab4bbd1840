use axum::http::StatusCode;
use serde_json::json;
use tepat_protocol::{ReceiptStatus, RejectCode, SyncResponse};

use crate::admin;
use crate::config::Limits;
use crate::testkit::{Kit, visit};

fn count(kit: &Kit, sql: &str) -> i64 {
    kit.db()
        .read(|tx| tx.query_row(sql, [], |r| r.get(0)))
        .unwrap()
}

#[tokio::test]
async fn first_sync_brings_forms_and_only_the_users_own_assignments() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let response = kit.sync(&device, 0, vec![]).await;
    assert!(response.receipts.is_empty());
    let mut ids: Vec<_> = response
        .changes
        .assignments
        .iter()
        .map(|a| a.assignment_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["A-1", "A-2"]);
    let a1 = response
        .changes
        .assignments
        .iter()
        .find(|a| a.assignment_id == "A-1")
        .unwrap();
    assert_eq!(
        a1.prefill.get("head_name").map(String::as_str),
        Some("Budi")
    );
    assert_eq!(response.changes.forms.len(), 1);
    assert_eq!(response.changes.forms[0].id, "hh_check");
    assert!(!response.more);

    // Nothing new: the same cursor comes back and no changes.
    let again = kit.sync(&device, response.next_cursor, vec![]).await;
    assert!(again.changes.is_empty());
    assert_eq!(again.next_cursor, response.next_cursor);

    // A withdrawal reaches the device; other users' changes do not.
    admin::withdraw_assignment(kit.db(), "A-2").unwrap();
    admin::withdraw_assignment(kit.db(), "B-1").unwrap();
    let later = kit.sync(&device, response.next_cursor, vec![]).await;
    assert_eq!(later.changes.withdrawn, vec!["A-2".to_string()]);
    assert!(later.changes.assignments.is_empty());
}

#[tokio::test]
async fn changes_are_paged() {
    let kit = Kit::with_limits(Limits {
        default_page_size: 2,
        ..Limits::default()
    });
    kit.user("enum1", tepat_protocol::Role::Enumerator, &["17.71"]);
    kit.publish(crate::testkit::TEST_FORM);
    let rows: String = (1..=5)
        .map(|i| format!("P-{i},enum1,hh_check,1,17.71.01.1001,House {i}\n"))
        .collect();
    kit.assign(&format!(
        "assignment_id,user_id,form_id,form_version,region_code,label\n{rows}"
    ));
    let device = kit.enrol("enum1").await;
    let mut cursor = 0;
    let mut seen = Vec::new();
    let mut forms = 0;
    for _ in 0..10 {
        let page = kit.sync(&device, cursor, vec![]).await;
        assert!(page.changes.assignments.len() + page.changes.forms.len() <= 2);
        seen.extend(
            page.changes
                .assignments
                .iter()
                .map(|a| a.assignment_id.clone()),
        );
        forms += page.changes.forms.len();
        cursor = page.next_cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, ["P-1", "P-2", "P-3", "P-4", "P-5"]);
    assert_eq!(forms, 1);
}

#[tokio::test]
async fn visits_are_accepted_once_then_duplicate_and_conflicting_copies_are_kept() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let v = visit(Some("A-1"));
    let first = kit.sync(&device, 0, vec![v.clone()]).await;
    assert_eq!(first.receipts.len(), 1);
    assert_eq!(
        first.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        first.receipts[0]
    );
    assert_eq!(first.receipts[0].error_count, 0);

    // Same content, new batch (e.g. the answer was lost): duplicate, a success; device times do not count.
    let mut resent = v.clone();
    resent.device_times.device_seq = 99;
    let second = kit.sync(&device, 0, vec![resent]).await;
    assert_eq!(second.receipts[0].status, ReceiptStatus::Duplicate);

    // Different content under the same (id, revision): rejected as conflict, kept aside.
    let mut changed = v.clone();
    changed.answers.insert("rooms".into(), json!(4));
    let third = kit.sync(&device, 0, vec![changed.clone()]).await;
    assert_eq!(third.receipts[0].status, ReceiptStatus::Rejected);
    assert_eq!(third.receipts[0].reject_code, Some(RejectCode::Conflict));
    assert!(
        third.receipts[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("different content")
    );
    // Sent again, the same conflicting copy is not stored twice.
    kit.sync(&device, 0, vec![changed]).await;
    assert_eq!(count(&kit, "SELECT count(*) FROM visits"), 1);
    assert_eq!(count(&kit, "SELECT count(*) FROM conflicts"), 1);
}

#[tokio::test]
async fn a_resent_batch_gets_the_same_receipts() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let request = Kit::sync_request(&device, 0, vec![visit(Some("A-1")), visit(Some("nope"))]);
    let first: SyncResponse = kit.sync_raw(&device, &request).await.json();
    let second: SyncResponse = kit.sync_raw(&device, &request).await.json();
    assert_eq!(first.receipts, second.receipts);
    assert_eq!(first.receipts[0].status, ReceiptStatus::Accepted);
    assert_eq!(first.receipts[1].reject_code, Some(RejectCode::NotAssigned));
    assert_eq!(count(&kit, "SELECT count(*) FROM visits"), 1);

    // The same batch id with other visits is a client bug.
    let mut other = request.clone();
    other.visits.pop();
    kit.sync_raw(&device, &other)
        .await
        .assert_error(StatusCode::CONFLICT, "batch_mismatch");
    // And a batch id of another device is refused.
    let other_device = kit.enrol("enum1").await;
    let mut stolen = request.clone();
    stolen.device_id = other_device.device_id.clone();
    kit.sync_raw(&other_device, &stolen)
        .await
        .assert_error(StatusCode::CONFLICT, "batch_conflict");
}

#[tokio::test]
async fn one_bad_visit_never_sinks_the_others() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let good = visit(Some("A-1"));
    let mut unknown_form = visit(Some("A-2"));
    unknown_form.form_version = 7;
    let mut bad_revision = visit(Some("A-2"));
    bad_revision.revision = 2;
    let mut zero_revision = visit(Some("A-2"));
    zero_revision.revision = 0;
    let others_assignment = visit(Some("B-1"));
    let no_assignment = visit(None);
    let mut wrong_form = visit(Some("A-2"));
    wrong_form.form_id = "other".into();
    let with_errors = {
        let mut v = visit(Some("A-2"));
        v.answers.insert("rooms".into(), json!(500));
        v
    };
    let response = kit
        .sync(
            &device,
            0,
            vec![
                good,
                unknown_form,
                bad_revision,
                zero_revision,
                others_assignment,
                no_assignment,
                wrong_form,
                with_errors,
            ],
        )
        .await;
    let codes: Vec<_> = response
        .receipts
        .iter()
        .map(|r| (r.status, r.reject_code))
        .collect();
    assert_eq!(
        codes,
        [
            (ReceiptStatus::Accepted, None),
            (ReceiptStatus::Rejected, Some(RejectCode::UnknownForm)),
            (ReceiptStatus::Rejected, Some(RejectCode::BadRevision)),
            (ReceiptStatus::Rejected, Some(RejectCode::Invalid)),
            (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned)),
            (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned)),
            (ReceiptStatus::Rejected, Some(RejectCode::UnknownForm)),
            (ReceiptStatus::Accepted, None),
        ],
        "{:#?}",
        response.receipts
    );
    for r in response
        .receipts
        .iter()
        .filter(|r| r.status == ReceiptStatus::Rejected)
    {
        assert!(!r.reason.as_deref().unwrap_or_default().is_empty());
    }
    // The visit with an out-of-range answer is kept and flagged with its findings.
    let flagged = &response.receipts[7];
    assert!(flagged.error_count >= 1, "{flagged:?}");
    let findings: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT findings FROM visits WHERE visit_id = ?1",
                [flagged.visit_id.to_string()],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert!(findings.contains("rooms_range"), "{findings}");
    assert_eq!(count(&kit, "SELECT count(*) FROM visits"), 2);
}

#[tokio::test]
async fn assessors_may_start_new_cases_but_enumerators_may_not() {
    let kit = Kit::world();
    let assessor = kit.enrol("tksk").await;
    let mut case = visit(None);
    case.answers.insert("region".into(), json!("17.71.02.1001"));
    let response = kit.sync(&assessor, 0, vec![case]).await;
    assert_eq!(
        response.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        response.receipts[0]
    );
    let region: String = kit
        .db()
        .read(|tx| tx.query_row("SELECT region_code FROM visits", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(
        region, "17.71.02.1001",
        "a new case is placed by its own region answer"
    );
}

#[tokio::test]
async fn a_visit_for_an_assignment_withdrawn_after_the_work_is_still_taken() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    admin::withdraw_assignment(kit.db(), "A-1").unwrap();
    let response = kit.sync(&device, 0, vec![visit(Some("A-1"))]).await;
    assert_eq!(response.receipts[0].status, ReceiptStatus::Accepted);
}

#[tokio::test]
async fn request_level_problems_are_named() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut request = Kit::sync_request(&device, 0, vec![]);
    request.protocol = 2;
    kit.sync_raw(&device, &request)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_protocol");

    let other = kit.enrol("enum1").await;
    let request = Kit::sync_request(&other, 0, vec![]);
    let error = kit
        .sync_raw(&device, &request)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(error.message.starts_with("device_id:"));

    let request = Kit::sync_request(&device, 1_000_000, vec![visit(Some("A-1"))]);
    kit.sync_raw(&device, &request)
        .await
        .assert_error(StatusCode::CONFLICT, "cursor_ahead");
    assert_eq!(
        count(&kit, "SELECT count(*) FROM visits"),
        0,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn limits_answer_413_with_the_limit() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let max = kit.state.limits().max_visits_per_batch;
    let visits = (0..=max).map(|_| visit(Some("A-1"))).collect();
    let error = kit
        .sync_raw(&device, &Kit::sync_request(&device, 0, visits))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_many_visits");
    assert_eq!(error.limit, Some(max as u64));

    let small = Kit::with_limits(Limits {
        max_body_bytes: 2_000,
        ..Limits::default()
    });
    small.user("enum1", tepat_protocol::Role::Enumerator, &["17.71"]);
    let device = small.enrol("enum1").await;
    let visits = (0..5).map(|_| visit(None)).collect();
    let error = small
        .sync_raw(&device, &Kit::sync_request(&device, 0, visits))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    assert_eq!(error.limit, Some(2_000));
}

#[tokio::test]
async fn a_visit_with_more_findings_than_the_cap_is_refused_and_nothing_stored() {
    let kit = Kit::with_limits(Limits {
        max_findings_per_visit: 2,
        ..Limits::default()
    });
    kit.user("tksk", tepat_protocol::Role::Assessor, &["17.71"]);
    kit.publish(crate::testkit::TEST_FORM);
    let device = kit.enrol("tksk").await;
    let mut v = visit(None);
    // Three answers that fit no field: three `unknown_field` findings.
    for key in ["colour", "shoe_size", "pet"] {
        v.answers.insert(key.into(), serde_json::json!("x"));
    }
    let error = kit
        .sync_raw(&device, &Kit::sync_request(&device, 0, vec![v]))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "too_many_findings");
    assert_eq!(error.limit, Some(2));
    assert!(error.message.starts_with("visits[0]:"), "{error:?}");
    assert_eq!(count(&kit, "SELECT count(*) FROM visits"), 0);
    assert_eq!(count(&kit, "SELECT count(*) FROM batches"), 0);
}
