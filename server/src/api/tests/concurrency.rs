//! 20 devices send 50 batches each over a real loopback listener (real HTTP/1.1), every batch re-sent once (as
//! after a dropped answer), each batch also carrying a visit of the batch before (already stored): the server
//! ends up with exactly the expected visits, revisions and receipts.

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tepat_protocol::{EnrolResponse, PullResponse, ReceiptStatus, Role, SyncResponse, VisitDoc};
use tokio::net::TcpStream;

use crate::admin;
use crate::config::Limits;
use crate::serve;
use crate::testkit::{Device, Kit, TEST_FORM, visit};

const DEVICES: usize = 20;
const BATCHES: usize = 50;
const NEW_PER_BATCH: usize = 2;

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    sender
}

async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Bytes) {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

async fn enrol(addr: SocketAddr, code: String) -> Device {
    let mut sender = connect(addr).await;
    let body = json!({"code": code, "device_name": "load test"})
        .to_string()
        .into_bytes();
    let (status, body) = call(&mut sender, "POST", "/api/v1/enrol", None, Some(body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let enrolled: EnrolResponse = serde_json::from_slice(&body).unwrap();
    Device {
        device_id: enrolled.device_id,
        token: enrolled.token,
    }
}

/// One device's whole day: 50 batches, each sent twice; returns every visit it made.
async fn run_device(addr: SocketAddr, device: Device, assignment: Option<String>) -> Vec<VisitDoc> {
    let mut sender = connect(addr).await;
    let mut made: Vec<VisitDoc> = Vec::new();
    let mut cursor = 0;
    for batch in 0..BATCHES {
        let fresh: Vec<VisitDoc> = (0..NEW_PER_BATCH)
            .map(|_| visit(assignment.as_deref()))
            .collect();
        let mut visits = fresh.clone();
        // A visit of the previous batch again: the phone did not get that answer in time.
        if let Some(previous) = made.last() {
            visits.push(previous.clone());
        }
        let request = Kit::sync_request(&device, cursor, visits);
        let body = serde_json::to_vec(&request).unwrap();
        let (status, first) = call(
            &mut sender,
            "POST",
            "/api/v1/sync",
            Some(&device.token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&first));
        let (status, second) = call(
            &mut sender,
            "POST",
            "/api/v1/sync",
            Some(&device.token),
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&second));
        let first: SyncResponse = serde_json::from_slice(&first).unwrap();
        let second: SyncResponse = serde_json::from_slice(&second).unwrap();
        assert_eq!(
            first.receipts, second.receipts,
            "a re-sent batch gets the same receipts"
        );
        let statuses: Vec<_> = first.receipts.iter().map(|r| r.status).collect();
        let mut expected = vec![ReceiptStatus::Accepted; NEW_PER_BATCH];
        if batch > 0 {
            expected.push(ReceiptStatus::Duplicate);
        }
        assert_eq!(
            statuses, expected,
            "batch {batch} of {}: {:?}",
            device.device_id, first.receipts
        );
        cursor = first.next_cursor;
        made.extend(fresh);
    }
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_devices_fifty_batches_each_resent_once() {
    let dir = tempfile::tempdir().unwrap();
    let (listener, router) = serve::bind("127.0.0.1:0", dir.path(), None, Limits::default())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(listener, router, async {
        let _ = stopped.await;
    }));

    // Set up users with the admin commands on the same data directory, as an admin would while serving.
    let db = crate::db::Db::open(dir.path()).unwrap();
    admin::create_user(
        &db,
        "sup",
        "Supervisor",
        Role::Supervisor,
        &["17.71".into()],
    )
    .unwrap();
    let form = dir.path().join("form.json");
    std::fs::write(&form, TEST_FORM).unwrap();
    admin::publish_form(&db, &form).unwrap();
    let mut csv = String::from("assignment_id,user_id,form_id,form_version,region_code,label\n");
    let mut users = Vec::new();
    for i in 0..DEVICES {
        // Half enumerators (with an assignment), half assessors (new cases).
        let (role, assignment) = if i % 2 == 0 {
            (Role::Enumerator, Some(format!("L-{i}")))
        } else {
            (Role::Assessor, None)
        };
        let user = format!("user{i}");
        admin::create_user(&db, &user, &format!("User {i}"), role, &["17.71.01".into()]).unwrap();
        if let Some(a) = &assignment {
            csv.push_str(&format!("{a},{user},hh_check,1,17.71.01.1001,House {i}\n"));
        }
        users.push((user, assignment));
    }
    let csv_path = dir.path().join("assignments.csv");
    std::fs::write(&csv_path, csv).unwrap();
    admin::import_assignments(&db, &csv_path, None).unwrap();

    let mut tasks = Vec::new();
    for (user, assignment) in users {
        let code = admin::enrol_code(&db, &user, 1).unwrap();
        tasks.push(tokio::spawn(async move {
            let device = enrol(addr, code).await;
            let visits = run_device(addr, device.clone(), assignment).await;
            (device, visits)
        }));
    }
    let mut expected = Vec::new();
    for task in tasks {
        let (device, visits) = task.await.unwrap();
        expected.extend(visits.into_iter().map(|v| {
            (
                v.visit_id.to_string(),
                device.device_id.clone(),
                v.content_hash(),
            )
        }));
    }
    expected.sort();

    // Exactly the expected visits, each once, revision 1, from the device that made it, with its content.
    let mut stored: Vec<(String, String, String)> = db
        .read(|tx| {
            let mut stmt =
                tx.prepare("SELECT visit_id, device_id, content_hash, revision FROM visits")?;
            let rows = stmt.query_map([], |r| {
                assert_eq!(r.get::<_, u32>(3)?, 1);
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    stored.sort();
    assert_eq!(stored.len(), DEVICES * BATCHES * NEW_PER_BATCH);
    assert_eq!(stored, expected);
    let (batches, conflicts): (i64, i64) = db
        .read(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM conflicts)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!(batches as usize, DEVICES * BATCHES);
    assert_eq!(conflicts, 0);

    // The supervisor pulls every one of them exactly once, in pages.
    let code = admin::enrol_code(&db, "sup", 1).unwrap();
    let supervisor = enrol(addr, code).await;
    let mut sender = connect(addr).await;
    let mut since = 0;
    let mut pulled = Vec::new();
    loop {
        let uri = format!("/api/v1/supervisor/visits?since={since}&limit=500");
        let (status, body) = call(&mut sender, "GET", &uri, Some(&supervisor.token), None).await;
        assert_eq!(status, 200);
        let page: PullResponse = serde_json::from_slice(&body).unwrap();
        pulled.extend(page.visits.iter().map(|v| v.visit.visit_id.to_string()));
        since = page.next_since;
        if !page.more {
            break;
        }
    }
    // Not de-duplicated: a visit pulled twice (or one missing) makes the lists differ.
    pulled.sort();
    let expected_ids: Vec<String> = expected.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(pulled.len(), DEVICES * BATCHES * NEW_PER_BATCH);
    assert_eq!(
        pulled, expected_ids,
        "each stored visit pulled exactly once"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
