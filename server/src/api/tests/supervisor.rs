use axum::http::StatusCode;
use serde_json::json;
use tepat_protocol::{
    ProgressResponse, PullResponse, ReceiptStatus, RejectCode, ReviewStatus, ServerVisit,
};

use crate::testkit::{Device, KK, Kit, NIK, VILLAGE_A, VILLAGE_B, answers, visit};

/// The world with one accepted visit per enumerator: enum1 on A-1, enum2 on B-1.
async fn with_visits(kit: &Kit) -> (Device, Device, Device) {
    let enum1 = kit.enrol("enum1").await;
    let enum2 = kit.enrol("enum2").await;
    let sup = kit.enrol("sup").await;
    for (device, assignment) in [(&enum1, "A-1"), (&enum2, "B-1")] {
        let response = kit.sync(device, 0, vec![visit(Some(assignment))]).await;
        assert_eq!(
            response.receipts[0].status,
            ReceiptStatus::Accepted,
            "{:?}",
            response.receipts[0]
        );
    }
    (enum1, enum2, sup)
}

async fn pull(kit: &Kit, device: &Device, since: u64, limit: u64) -> PullResponse {
    let reply = kit
        .get(
            &format!("/api/v1/supervisor/visits?since={since}&limit={limit}"),
            Some(&device.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn supervisors_pull_only_their_regions_in_pages() {
    let kit = Kit::world();
    let (enum1, _, sup) = with_visits(&kit).await;
    let everything = pull(&kit, &sup, 0, 100).await;
    assert_eq!(everything.visits.len(), 2);
    assert!(!everything.more);
    let first = pull(&kit, &sup, 0, 1).await;
    assert_eq!(first.visits.len(), 1);
    assert!(first.more);
    let second = pull(&kit, &sup, first.next_since, 1).await;
    assert_eq!(second.visits.len(), 1);
    assert!(second.visits[0].seq > first.visits[0].seq);
    let after = pull(&kit, &sup, second.next_since, 1).await;
    assert!(after.visits.is_empty() && !after.more);
    assert_eq!(after.next_since, second.next_since);

    let visit = &first.visits[0];
    assert_eq!(visit.status, ReviewStatus::Submitted);
    assert_eq!(visit.region_code.as_deref(), Some(VILLAGE_A));
    assert_eq!(visit.user_id, "enum1");
    assert_eq!(visit.device_id, enum1.device_id);

    // A supervisor of another regency sees none of them.
    let other = kit.enrol("sup_other").await;
    assert!(pull(&kit, &other, 0, 100).await.visits.is_empty());
    // A supervisor of one district sees only that district.
    kit.user(
        "sup_district",
        tepat_protocol::Role::Supervisor,
        &["17.71.02"],
    );
    let district = kit.enrol("sup_district").await;
    let seen = pull(&kit, &district, 0, 100).await;
    assert_eq!(seen.visits.len(), 1);
    assert_eq!(seen.visits[0].region_code.as_deref(), Some(VILLAGE_B));
}

#[tokio::test]
async fn conflicts_show_in_the_pull() {
    let kit = Kit::world();
    let enum1 = kit.enrol("enum1").await;
    let sup = kit.enrol("sup").await;
    let v = visit(Some("A-1"));
    kit.sync(&enum1, 0, vec![v.clone()]).await;
    let mut other = v.clone();
    other.answers.insert("rooms".into(), json!(9));
    kit.sync(&enum1, 0, vec![other]).await;
    let pulled = pull(&kit, &sup, 0, 100).await;
    let statuses: Vec<_> = pulled.visits.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [ReviewStatus::Submitted, ReviewStatus::Conflict]);
    assert_eq!(pulled.visits[1].visit.answers["rooms"], json!(9));
}

async fn review(kit: &Kit, sup: &Device, body: serde_json::Value) -> crate::testkit::Reply {
    kit.post("/api/v1/supervisor/review", Some(&sup.token), &body)
        .await
}

#[tokio::test]
async fn approve_and_return_reach_the_device() {
    let kit = Kit::world();
    let (enum1, enum2, sup) = with_visits(&kit).await;
    let pulled = pull(&kit, &sup, 0, 100).await;
    let of = |user: &str| {
        pulled
            .visits
            .iter()
            .find(|v| v.user_id == user)
            .unwrap()
            .visit
            .clone()
    };
    let (v1, v2) = (of("enum1"), of("enum2"));
    let cursor1 = kit.sync(&enum1, 0, vec![]).await.next_cursor;
    let cursor2 = kit.sync(&enum2, 0, vec![]).await.next_cursor;

    // Returning needs a comment.
    let reply = review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 1, "decision": "return", "comment": "  "}),
    )
    .await;
    let error = reply.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    assert!(error.message.starts_with("comment:"), "{error:?}");

    let reply = review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 1, "decision": "return", "comment": "Foto rumah kurang jelas"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let returned: ServerVisit = reply.json();
    assert_eq!(returned.status, ReviewStatus::Returned);
    assert_eq!(
        returned.review_comment.as_deref(),
        Some("Foto rumah kurang jelas")
    );

    let reply = review(
        &kit,
        &sup,
        json!({"visit_id": v2.visit_id, "revision": 1, "decision": "approve"}),
    )
    .await;
    assert_eq!(reply.json::<ServerVisit>().status, ReviewStatus::Approved);

    // A decision is final for that revision.
    review(
        &kit,
        &sup,
        json!({"visit_id": v2.visit_id, "revision": 1, "decision": "return", "comment": "x"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "already_reviewed");

    // The devices learn it on their next sync, and only their own.
    let down1 = kit.sync(&enum1, cursor1, vec![]).await;
    assert_eq!(down1.changes.returned.len(), 1);
    assert_eq!(
        down1.changes.returned[0].visit, v1,
        "the returned revision comes with its content"
    );
    assert_eq!(down1.changes.returned[0].comment, "Foto rumah kurang jelas");
    assert!(down1.changes.approved.is_empty());
    let down2 = kit.sync(&enum2, cursor2, vec![]).await;
    assert_eq!(down2.changes.approved.len(), 1);
    assert_eq!(down2.changes.approved[0].visit_id, v2.visit_id);
    assert!(down2.changes.returned.is_empty());

    // The correction is revision 2; revision 3 or a second revision 2 of the approved visit are refused.
    let mut corrected = v1.clone();
    corrected.revision = 2;
    corrected.answers.insert("rooms".into(), json!(4));
    let mut skipped = v1.clone();
    skipped.revision = 3;
    let mut after_approval = v2.clone();
    after_approval.revision = 2;
    let response = kit
        .sync(&enum1, down1.next_cursor, vec![corrected.clone(), skipped])
        .await;
    assert_eq!(
        response.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        response.receipts[0]
    );
    assert_eq!(
        response.receipts[1].reject_code,
        Some(RejectCode::BadRevision)
    );
    let response = kit
        .sync(&enum2, down2.next_cursor, vec![after_approval])
        .await;
    assert_eq!(
        response.receipts[0].reject_code,
        Some(RejectCode::BadRevision)
    );

    // Once corrected, the old return is history: a device syncing from 0 is not asked to correct it again.
    let fresh = kit.sync(&enum1, 0, vec![]).await;
    assert!(fresh.changes.returned.is_empty());

    // The old revision can no longer be reviewed; the new one can.
    review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 1, "decision": "approve"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_latest");
    let reply = review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 2, "decision": "approve"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    // The pull shows the reviewed visits again with new sequence numbers.
    let later = pull(&kit, &sup, pulled.next_since, 100).await;
    assert!(
        later
            .visits
            .iter()
            .any(|v| v.visit.visit_id == v2.visit_id && v.status == ReviewStatus::Approved)
    );
    assert!(
        later
            .visits
            .iter()
            .any(|v| v.visit.revision == 2 && v.status == ReviewStatus::Approved)
    );
}

#[tokio::test]
async fn an_older_revision_cannot_be_reviewed_and_others_regions_are_invisible() {
    let kit = Kit::world();
    let (enum1, _, sup) = with_visits(&kit).await;
    let pulled = pull(&kit, &sup, 0, 100).await;
    let v1 = pulled
        .visits
        .iter()
        .find(|v| v.user_id == "enum1")
        .unwrap()
        .visit
        .clone();
    review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 1, "decision": "return", "comment": "Ulangi"}),
    )
    .await;
    let mut corrected = v1.clone();
    corrected.revision = 2;
    kit.sync(&enum1, 0, vec![corrected]).await;
    review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 1, "decision": "approve"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "not_latest");

    let other = kit.enrol("sup_other").await;
    review(
        &kit,
        &other,
        json!({"visit_id": v1.visit_id, "revision": 2, "decision": "approve"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    review(
        &kit,
        &sup,
        json!({"visit_id": uuid::Uuid::now_v7(), "revision": 1, "decision": "approve"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let error = review(
        &kit,
        &sup,
        json!({"visit_id": v1.visit_id, "revision": 2, "decision": "maybe"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    assert!(error.message.starts_with("decision:"), "{error:?}");
}

#[tokio::test]
async fn progress_counts_per_enumerator_day_and_per_village() {
    let kit = Kit::world();
    let (enum1, _, sup) = with_visits(&kit).await;
    let mut not_found = visit(Some("A-2"));
    not_found.answers = answers(json!({"outcome": "0", "why_not_found": "pindah"}));
    kit.sync(&enum1, 0, vec![not_found]).await;
    let reply = kit
        .get("/api/v1/supervisor/progress", Some(&sup.token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let progress: ProgressResponse = reply.json();
    assert_eq!(progress.daily_target, 12);
    let day = progress
        .enumerator_days
        .iter()
        .find(|d| d.user_id == "enum1")
        .unwrap();
    assert_eq!(day.visits, 2);
    assert_eq!(day.target, Some(12), "a pendamping PKH aims for 12 a day");
    assert_eq!(day.by_outcome.get("1"), Some(&1));
    assert_eq!(day.by_outcome.get("0"), Some(&1));
    let village_a = progress
        .villages
        .iter()
        .find(|v| v.region_code == VILLAGE_A)
        .unwrap();
    assert_eq!(
        (
            village_a.assigned,
            village_a.visited,
            village_a.approved,
            village_a.returned
        ),
        (2, 2, 0, 0)
    );
    assert_eq!(village_a.name, "Pagar Dewa");
    let village_b = progress
        .villages
        .iter()
        .find(|v| v.region_code == VILLAGE_B)
        .unwrap();
    assert_eq!((village_b.assigned, village_b.visited), (1, 1));

    let other = kit.enrol("sup_other").await;
    let theirs: ProgressResponse = kit
        .get("/api/v1/supervisor/progress", Some(&other.token))
        .await
        .json();
    assert!(theirs.enumerator_days.is_empty() && theirs.villages.is_empty());
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn exports_are_keyed_by_nik_kk_and_region_with_relevant_answers_only() {
    let kit = Kit::world();
    let (enum1, _, sup) = with_visits(&kit).await;
    let mut not_found = visit(Some("A-2"));
    not_found.answers = answers(json!({"outcome": "1", "why_not_found": "hidden when found"}));
    kit.sync(&enum1, 0, vec![not_found]).await;

    let reply = kit
        .get(
            "/api/v1/supervisor/export/households.csv?form_id=hh_check",
            Some(&sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows = csv_rows(&reply.text());
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(rows.len(), 4, "header and three households");
    let budi = rows
        .iter()
        .find(|r| r[col("assignment_id")] == "A-1")
        .unwrap();
    assert_eq!(budi[col("nik")], NIK);
    assert_eq!(budi[col("kk")], KK);
    assert_eq!(budi[col("province_code")], "17");
    assert_eq!(budi[col("province_name")], "Bengkulu");
    assert_eq!(budi[col("regency_code")], "17.71");
    assert_eq!(budi[col("district_code")], "17.71.01");
    assert_eq!(budi[col("village_code")], VILLAGE_A);
    assert_eq!(budi[col("village_name")], "Pagar Dewa");
    assert_eq!(budi[col("rooms")], "3");
    let hidden = rows
        .iter()
        .find(|r| r[col("assignment_id")] == "A-2")
        .unwrap();
    assert_eq!(
        hidden[col("why_not_found")],
        "",
        "a hidden field's answer is not exported"
    );

    let reply = kit
        .get(
            "/api/v1/supervisor/export/members.csv?form_id=hh_check",
            Some(&sup.token),
        )
        .await;
    let rows = csv_rows(&reply.text());
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        rows.len(),
        5,
        "header and two members in each of two households"
    );
    let ani = rows
        .iter()
        .find(|r| r[col("member_name")] == "Ani")
        .unwrap();
    assert_eq!(ani[col("member_no")], "2");
    assert_eq!(ani[col("group")], "members");
    assert_eq!(ani[col("member_sex")], "2");
    assert!(!ani[col("nik")].is_empty());

    let other = kit.enrol("sup_other").await;
    let theirs = kit
        .get(
            "/api/v1/supervisor/export/households.csv?form_id=hh_check",
            Some(&other.token),
        )
        .await;
    assert_eq!(
        csv_rows(&theirs.text()).len(),
        1,
        "only the header outside the supervisor's regions"
    );
}

#[tokio::test]
async fn the_export_streams_a_hundred_thousand_visits_in_bounded_chunks() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const VISITS: usize = 100_000;
    let kit = Kit::world();
    let enum1 = kit.enrol("enum1").await;
    let sup = kit.enrol("sup").await;
    kit.sync(&enum1, 0, vec![visit(Some("A-1"))]).await;
    // Copy the stored visit 100,000 times under new ids (ingest is tested elsewhere; this is about the export).
    kit.db()
        .write(|tx| {
            let doc: String = tx.query_row("SELECT doc FROM visits", [], |r| r.get(0))?;
            let template: tepat_protocol::VisitDoc = serde_json::from_str(&doc).unwrap();
            let mut insert = tx.prepare(
                "INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                     form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                     warning_count, status, seq, outcome, is_latest, exported)
                 SELECT ?1, 1, content_hash, ?2, user_id, device_id, batch_id, form_id, form_version, assignment_id,
                     region_code, visit_date, received_at, findings, 0, 0, 'submitted', ?3, outcome, 1, exported
                 FROM visits LIMIT 1",
            )?;
            for i in 1..VISITS {
                let mut copy = template.clone();
                copy.visit_id = uuid::Uuid::now_v7();
                insert.execute(crate::db::sql::params![
                    copy.visit_id.to_string(),
                    serde_json::to_string(&copy).unwrap(),
                    1_000_000 + i as i64
                ])?;
            }
            Ok::<_, crate::db::sql::Error>(())
        })
        .unwrap();
    let response = crate::api::router(kit.state.clone())
        .oneshot(
            axum::http::Request::get("/api/v1/supervisor/export/households.csv?form_id=hh_check")
                .header("authorization", format!("Bearer {}", sup.token))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let (mut frames, mut bytes, mut lines, mut largest) = (0usize, 0usize, 0usize, 0usize);
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        frames += 1;
        bytes += data.len();
        largest = largest.max(data.len());
        lines += data.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(lines, VISITS + 1, "a header and one line per visit");
    assert!(
        largest <= 2 * 64 * 1024,
        "chunks stay bounded: largest {largest}"
    );
    assert!(
        frames > 100,
        "{frames} frames for {bytes} bytes: streamed in chunks, not built whole"
    );
}
