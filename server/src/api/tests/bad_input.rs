use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use tepat_protocol::{PullResponse, ReceiptStatus, SyncResponse};
use tower::ServiceExt;

use crate::config::Limits;
use crate::testkit::{Kit, visit};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_both_ways() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let request = Kit::sync_request(&device, 0, vec![visit(Some("A-1"))]);
    let body = gzip(serde_json::to_vec(&request).unwrap().as_slice());
    let reply = kit
        .post_raw(
            "/api/v1/sync",
            Some(&device.token),
            body,
            &[("content-encoding", "gzip"), ("accept-encoding", "gzip")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply.was_gzipped,
        "the answer is gzipped when the client accepts it"
    );
    let response: SyncResponse = reply.json();
    assert_eq!(response.receipts[0].status, ReceiptStatus::Accepted);

    // Without Accept-Encoding the answer is plain.
    let reply = kit
        .sync_raw(&device, &Kit::sync_request(&device, 0, vec![]))
        .await;
    assert!(!reply.was_gzipped);
}

#[tokio::test]
async fn gzip_bombs_and_broken_gzip_are_refused() {
    let kit = Kit::with_limits(Limits {
        max_decompressed_bytes: 100_000,
        ..Limits::default()
    });
    kit.user("enum1", tepat_protocol::Role::Enumerator, &["17.71"]);
    let device = kit.enrol("enum1").await;
    let mut bomb_json = br#"{"protocol":1,"device_id":""#.to_vec();
    bomb_json.extend(std::iter::repeat_n(b'a', 10_000_000));
    let bomb = gzip(&bomb_json);
    assert!(bomb.len() < 50_000);
    let error = kit
        .post_raw(
            "/api/v1/sync",
            Some(&device.token),
            bomb,
            &[("content-encoding", "gzip")],
        )
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "decompressed_too_large");
    assert_eq!(error.limit, Some(100_000));

    kit.post_raw(
        "/api/v1/sync",
        Some(&device.token),
        b"\x1f\x8b\x08garbage".to_vec(),
        &[("content-encoding", "gzip")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "bad_gzip");
    kit.post_raw(
        "/api/v1/sync",
        Some(&device.token),
        b"{}".to_vec(),
        &[("content-encoding", "br")],
    )
    .await
    .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding");
}

#[tokio::test]
async fn malformed_bodies_get_clear_json_errors() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let token = Some(device.token.as_str());
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"{\"protocol\": 1,".to_vec(), "bad_json", "line 1"),
        (b"".to_vec(), "bad_json", "EOF"),
        (b"[1,2]".to_vec(), "invalid_body", "JSON object"),
        (br#"["x","d","0190a0a0-0000-7000-8000-000000000000",0,[]]"#.to_vec(), "invalid_body", "JSON object"),
        (br#"{"protocol":"one","device_id":"d","batch_id":"0190a0a0-0000-7000-8000-000000000000","cursor":0,"visits":[]}"#.to_vec(), "invalid_field", "protocol:"),
        (br#"{"protocol":1,"device_id":"d","batch_id":"not-a-uuid","cursor":0,"visits":[]}"#.to_vec(), "invalid_field", "batch_id:"),
        (br#"{"protocol":1,"device_id":"d","batch_id":"0190a0a0-0000-7000-8000-000000000000","cursor":-1,"visits":[]}"#.to_vec(), "invalid_field", "cursor:"),
        (br#"{"protocol":1,"device_id":"d","batch_id":"0190a0a0-0000-7000-8000-000000000000","cursor":0}"#.to_vec(), "invalid_body", "missing field `visits`"),
        (br#"{"protocol":1,"device_id":"d","batch_id":"0190a0a0-0000-7000-8000-000000000000","cursor":0,"visits":[],"vists":[]}"#.to_vec(), "unknown_field", "vists"),
    ];
    for (body, code, mention) in cases {
        let reply = kit.post_raw("/api/v1/sync", token, body.clone(), &[]).await;
        let error = reply.assert_error(StatusCode::BAD_REQUEST, code);
        assert!(
            error.message.contains(mention),
            "{}: {error:?}",
            String::from_utf8_lossy(&body)
        );
    }
    // A wrong type deep inside a visit is named by its path.
    let mut value = serde_json::to_value(Kit::sync_request(
        &device,
        0,
        vec![visit(Some("A-1")), visit(Some("A-2"))],
    ))
    .unwrap();
    value["visits"][1]["revision"] = json!("2");
    let error = kit
        .post("/api/v1/sync", token, &value)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    assert!(
        error.message.starts_with("visits[1].revision:"),
        "{error:?}"
    );
    value["visits"][1]["revision"] = json!(1);
    value["visits"][0]["device_times"]["clock"] = json!(1);
    let error = kit
        .post("/api/v1/sync", token, &value)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unknown_field");
    assert_eq!(error.message, "visits[0].device_times.clock: unknown field");

    let reply = kit
        .request(
            Request::post("/api/v1/enrol")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("code=x"))
                .unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn odd_text_in_answers_is_stored_and_returned_verbatim_but_hidden_characters_are_refused() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let supervisor = kit.enrol("sup").await;
    let mut v = visit(Some("A-1"));
    // Direction marks and control characters are refused at ingest (below); everything else is kept as sent.
    let name = "Robert'); DROP TABLE visits;-- 👪 Nguye\u{0302}n \"x\" %_\nbaris dua";
    let mut hidden = v.clone();
    hidden
        .answers
        .insert("head_name".into(), json!("Siti \u{202E}\u{0}"));
    let error = kit
        .sync_raw(&device, &Kit::sync_request(&device, 0, vec![hidden]))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text");
    assert!(
        error.message.starts_with("visits[0].answers.head_name:"),
        "{error:?}"
    );
    v.answers.insert("head_name".into(), json!(name));
    let response = kit.sync(&device, 0, vec![v.clone()]).await;
    assert_ne!(response.receipts[0].status, ReceiptStatus::Duplicate);
    let pulled: PullResponse = kit
        .get("/api/v1/supervisor/visits", Some(&supervisor.token))
        .await
        .json();
    let stored = pulled
        .visits
        .iter()
        .find(|s| s.visit.visit_id == v.visit_id);
    if response.receipts[0].status == ReceiptStatus::Accepted {
        assert_eq!(stored.unwrap().visit.answers["head_name"], json!(name));
    }
    let tables: i64 = kit
        .db()
        .read(|tx| {
            let catalogue = match tx.dialect() {
                crate::db::sql::Dialect::Sqlite => {
                    "SELECT count(*) FROM sqlite_master WHERE name = 'visits'"
                }
                crate::db::sql::Dialect::Postgres => {
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'visits'"
                }
            };
            tx.query_row(catalogue, [], |r| r.get(0))
        })
        .unwrap();
    assert_eq!(tables, 1);
}

#[tokio::test]
async fn a_batch_that_fails_midway_writes_nothing() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let first = visit(Some("A-1"));
    let second = visit(Some("A-2"));
    // Fault injection: the database refuses the second visit's insert (as a full disk would).
    let poison = second.visit_id.to_string();
    kit.db()
        .write(|tx| {
            tx.execute_batch(&match tx.dialect() {
                crate::db::sql::Dialect::Sqlite => format!(
                    "CREATE TRIGGER poison BEFORE INSERT ON visits WHEN NEW.visit_id = '{poison}'
                     BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
                ),
                crate::db::sql::Dialect::Postgres => format!(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                         IF NEW.visit_id = '{poison}' THEN RAISE EXCEPTION 'injected failure'; END IF;
                         RETURN NEW;
                     END $$;
                     CREATE TRIGGER poison BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION poison();"
                ),
            })
        })
        .unwrap();
    let request = Kit::sync_request(&device, 0, vec![first.clone(), second]);
    let response = crate::api::router(kit.state.clone())
        .oneshot(
            Request::post("/api/v1/sync")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {}", device.token))
                .body(Body::from(serde_json::to_vec(&request).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let error: tepat_protocol::ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.error, "internal");
    let (visits, batches): (i64, i64) = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM batches)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!(
        (visits, batches),
        (0, 0),
        "nothing of the failed batch is stored"
    );

    // Once the fault is gone, the same batch goes through whole.
    kit.db()
        .write(|tx| {
            tx.execute_batch(match tx.dialect() {
                crate::db::sql::Dialect::Sqlite => "DROP TRIGGER poison",
                crate::db::sql::Dialect::Postgres => {
                    "DROP TRIGGER poison ON visits; DROP FUNCTION poison()"
                }
            })
        })
        .unwrap();
    let response: SyncResponse = kit.sync_raw(&device, &request).await.json();
    assert!(
        response
            .receipts
            .iter()
            .all(|r| r.status == ReceiptStatus::Accepted),
        "{:?}",
        response.receipts
    );
}

#[tokio::test]
async fn query_parameters_are_checked() {
    let kit = Kit::world();
    let supervisor = kit.enrol("sup").await;
    let token = Some(supervisor.token.as_str());
    let error = kit
        .get("/api/v1/supervisor/visits?since=abc", token)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    assert!(error.message.contains("since"), "{error:?}");
    kit.get("/api/v1/supervisor/visits?limit=0", token)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    let max = kit.state.limits().max_page_size as u64;
    let error = kit
        .get(
            &format!("/api/v1/supervisor/visits?limit={}", max + 1),
            token,
        )
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "page_too_large");
    assert_eq!(error.limit, Some(max));
    let error = kit
        .get("/api/v1/supervisor/export/households.csv", token)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "bad_query");
    assert!(error.message.contains("form_id"), "{error:?}");
    kit.get(
        "/api/v1/supervisor/export/households.csv?form_id=nope",
        token,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "unknown_form");
}
