//! Photo uploads through the real router: the tus exchange, cuts, damage, limits, who may read what, revisions,
//! exports and progress.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tepat_protocol::{ReceiptStatus, VisitDoc, hex};

use crate::config::Limits;
use crate::testkit::{Device, Kit, Reply, VILLAGE_A, VILLAGE_B, visit};

const PHOTO_FORM: &str = r#"{
  "id": "photo_check",
  "version": 1,
  "title": {"id": "Cek foto", "en": "Photo check"},
  "choices": {},
  "sections": [
    {
      "id": "photos",
      "title": {"id": "Foto", "en": "Photos"},
      "fields": [
        {"id": "photo_front", "type": "photo", "label": {"id": "Foto depan", "en": "Front photo"}},
        {"id": "photo_living", "type": "photo", "label": {"id": "Foto ruang tamu", "en": "Living room"}},
        {"id": "members", "type": "repeat", "label": {"id": "Anggota", "en": "Members"},
         "fields": [
           {"id": "member_photo", "type": "photo", "label": {"id": "Foto", "en": "Photo"}}
         ]}
      ]
    }
  ]
}"#;

/// A whole JPEG by its structure (start, frame header, scan, end) with `size` bytes in all; the scan data never
/// holds 0xFF. `seed` makes photos differ.
fn jpeg(size: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x04, 0xB0, 0x06, 0x40, 0x01, 0x01, 0x11, 0x00,
    ]);
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    let mut x = u32::from(seed) + 1;
    while out.len() < size.saturating_sub(2) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        out.push(((x >> 16) % 250) as u8);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

struct World {
    kit: Kit,
    enum1: Device,
    enum2: Device,
    sup: Device,
    sup_other: Device,
}

async fn world(limits: Limits) -> World {
    let kit = Kit::with_limits(limits);
    kit.user("sup", tepat_protocol::Role::Supervisor, &["17.71"]);
    kit.user("sup_other", tepat_protocol::Role::Supervisor, &["17.01"]);
    kit.user("enum1", tepat_protocol::Role::Enumerator, &["17.71.01"]);
    kit.user("enum2", tepat_protocol::Role::Enumerator, &["17.71.02"]);
    kit.publish(PHOTO_FORM);
    kit.assign(&format!(
        "assignment_id,user_id,form_id,form_version,region_code,label\n\
         P-1,enum1,photo_check,1,{VILLAGE_A},Budi\n\
         P-2,enum2,photo_check,1,{VILLAGE_B},Agus\n"
    ));
    World {
        enum1: kit.enrol("enum1").await,
        enum2: kit.enrol("enum2").await,
        sup: kit.enrol("sup").await,
        sup_other: kit.enrol("sup_other").await,
        kit,
    }
}

fn photo_visit(assignment: &str, answers: Value) -> VisitDoc {
    let mut doc = visit(Some(assignment));
    doc.form_id = "photo_check".into();
    doc.answers = answers.as_object().cloned().unwrap_or_default();
    doc
}

fn photo(sha256: &str) -> Value {
    json!({"file": "IMG_0001.jpg", "sha256": sha256})
}

/// Syncs a visit of `assignment` whose front photo is `sha256`: what lets its device upload that photo.
async fn submit_front_photo(w: &World, device: &Device, assignment: &str, sha256: &str) {
    submit(
        w,
        device,
        photo_visit(assignment, json!({"photo_front": photo(sha256)})),
    )
    .await;
}

/// `GET /api/v1/media/{sha256}` as `device`.
async fn media(w: &World, device: &Device, sha256: &str) -> Reply {
    w.kit
        .get(&format!("/api/v1/media/{sha256}"), Some(&device.token))
        .await
}

async fn submit(w: &World, device: &Device, doc: VisitDoc) {
    let response = w.kit.sync(device, 0, vec![doc]).await;
    assert_eq!(
        response.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        response.receipts
    );
}

fn metadata(sha256: &str) -> String {
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(sha256)
    )
}

async fn create(w: &World, device: &Device, sha256: &str, length: usize) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {}", device.token))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("upload-metadata", metadata(sha256))
        .body(Body::empty())
        .unwrap();
    w.kit.request(request).await
}

async fn head(w: &World, device: &Device, sha256: &str) -> Reply {
    let request = Request::builder()
        .method(Method::HEAD)
        .uri(format!("/api/v1/uploads/{sha256}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", device.token))
        .header("tus-resumable", "1.0.0")
        .body(Body::empty())
        .unwrap();
    w.kit.request(request).await
}

async fn patch_body(w: &World, device: &Device, sha256: &str, offset: u64, body: Body) -> Reply {
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/uploads/{sha256}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", device.token))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", offset.to_string())
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(body)
        .unwrap();
    w.kit.request(request).await
}

async fn patch(w: &World, device: &Device, sha256: &str, offset: u64, bytes: &[u8]) -> Reply {
    patch_body(w, device, sha256, offset, Body::from(bytes.to_vec())).await
}

fn offset_of(reply: &Reply) -> u64 {
    reply
        .headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Upload-Offset: {} {:?}", reply.status, reply.headers))
}

/// A body that delivers `bytes` and then breaks, as a connection cut mid-upload does.
struct CutBody {
    bytes: Option<Bytes>,
}

impl hyper::body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match self.bytes.take() {
            Some(bytes) => Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes)))),
            None => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection cut",
            )))),
        }
    }
}

#[tokio::test]
async fn a_photo_is_uploaded_in_parts_verified_and_stored_by_its_hash() {
    let w = world(Limits::default()).await;
    let bytes = jpeg(50_000, 1);
    let sha256 = sha(&bytes);
    submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;

    let created = create(&w, &w.enum1, &sha256, bytes.len()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(offset_of(&created), 0);
    assert_eq!(
        created.headers.get(header::LOCATION).unwrap(),
        &format!("/api/v1/uploads/{sha256}")
    );
    assert!(created.headers.contains_key("upload-expires"));

    let first = patch(&w, &w.enum1, &sha256, 0, &bytes[..20_000]).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text());
    assert_eq!(offset_of(&first), 20_000);
    assert_eq!(offset_of(&head(&w, &w.enum1, &sha256).await), 20_000);
    // Sending from the wrong place is refused and says where the server stands.
    let wrong = patch(&w, &w.enum1, &sha256, 0, &bytes[..100]).await;
    assert_eq!(
        wrong
            .assert_error(StatusCode::CONFLICT, "offset_mismatch")
            .limit,
        Some(20_000)
    );

    let rest = patch(&w, &w.enum1, &sha256, 20_000, &bytes[20_000..]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT, "{}", rest.text());
    assert_eq!(offset_of(&rest), bytes.len() as u64);
    let stored = w.kit.dir.path().join(format!(
        "media/{}/{}/{sha256}.jpg",
        &sha256[..2],
        &sha256[2..4]
    ));
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);
    assert_eq!(
        std::fs::read_dir(w.kit.dir.path().join("media/partial"))
            .unwrap()
            .count(),
        0,
        "no upload file left"
    );
    // Done: HEAD and a new creation both say so; an empty PATCH at the end is answered as done.
    assert_eq!(
        offset_of(&head(&w, &w.enum1, &sha256).await),
        bytes.len() as u64
    );
    assert_eq!(
        offset_of(&create(&w, &w.enum1, &sha256, bytes.len()).await),
        bytes.len() as u64
    );
    let again = patch(&w, &w.enum1, &sha256, bytes.len() as u64, &[]).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);

    let got = media(&w, &w.enum1, &sha256).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers.get(header::CONTENT_TYPE).unwrap(), "image/jpeg");
    assert_eq!(got.body.as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn a_cut_body_keeps_the_bytes_that_arrived() {
    let w = world(Limits::default()).await;
    let bytes = jpeg(30_000, 2);
    let sha256 = sha(&bytes);
    submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;
    create(&w, &w.enum1, &sha256, bytes.len()).await;
    let cut = CutBody {
        bytes: Some(Bytes::copy_from_slice(&bytes[..12_345])),
    };
    let reply = patch_body(&w, &w.enum1, &sha256, 0, Body::new(cut)).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "body_cut");
    assert_eq!(offset_of(&head(&w, &w.enum1, &sha256).await), 12_345);
    let rest = patch(&w, &w.enum1, &sha256, 12_345, &bytes[12_345..]).await;
    assert_eq!(offset_of(&rest), bytes.len() as u64);
    let got = media(&w, &w.enum1, &sha256).await;
    assert_eq!(got.body.as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn a_damaged_photo_is_refused_removed_and_taken_when_sent_again() {
    let w = world(Limits::default()).await;
    let bytes = jpeg(20_000, 3);
    let sha256 = sha(&bytes);
    submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;
    create(&w, &w.enum1, &sha256, bytes.len()).await;
    let mut damaged = bytes.clone();
    damaged[9_000] ^= 0x01;
    let reply = patch(&w, &w.enum1, &sha256, 0, &damaged).await;
    let error = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch");
    assert!(error.message.contains(&sha256), "{}", error.message);
    assert_eq!(
        head(&w, &w.enum1, &sha256).await.status,
        StatusCode::NOT_FOUND
    );
    let missing = media(&w, &w.enum1, &sha256).await;
    missing.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(
        !w.kit
            .dir
            .path()
            .join(crate::media::Media::relative_path(&sha256))
            .exists()
    );

    assert_eq!(
        offset_of(&create(&w, &w.enum1, &sha256, bytes.len()).await),
        0
    );
    let ok = patch(&w, &w.enum1, &sha256, 0, &bytes).await;
    assert_eq!(offset_of(&ok), bytes.len() as u64);
}

#[tokio::test]
async fn what_is_not_a_jpeg_is_refused_by_its_first_bytes_and_by_its_whole() {
    let w = world(Limits::default()).await;
    let gif = b"GIF89a and more bytes".to_vec();
    let cut_jpeg = jpeg(5_000, 4)[..4_000].to_vec();
    for bytes in [gif, cut_jpeg] {
        let sha256 = sha(&bytes);
        submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;
        create(&w, &w.enum1, &sha256, bytes.len()).await;
        let reply = patch(&w, &w.enum1, &sha256, 0, &bytes).await;
        reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "not_jpeg");
        assert_eq!(
            head(&w, &w.enum1, &sha256).await.status,
            StatusCode::NOT_FOUND
        );
        // A returned visit may come next; each test visit needs a fresh assignment use, so resubmit is not needed.
        let _ = w
            .kit
            .db()
            .write(|tx| tx.execute("DELETE FROM visits", []))
            .unwrap();
    }
}

#[tokio::test]
async fn limits_are_answered_with_413_naming_them() {
    let limits = Limits {
        max_media_bytes: 10_000,
        max_open_uploads_per_user: 1,
        ..Limits::default()
    };
    let w = world(limits).await;
    let big = jpeg(10_001, 5);
    let a = jpeg(5_000, 6);
    let b = jpeg(5_000, 7);
    submit(
        &w,
        &w.enum1,
        photo_visit(
            "P-1",
            json!({"photo_front": photo(&sha(&big)), "photo_living": photo(&sha(&a)),
                   "members": [{"member_photo": photo(&sha(&b))}]}),
        ),
    )
    .await;
    let reply = create(&w, &w.enum1, &sha(&big), big.len()).await;
    assert_eq!(
        reply
            .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "media_too_large")
            .limit,
        Some(10_000)
    );
    assert_eq!(
        create(&w, &w.enum1, &sha(&a), a.len()).await.status,
        StatusCode::CREATED
    );
    let reply = create(&w, &w.enum1, &sha(&b), b.len()).await;
    assert_eq!(
        reply
            .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "too_many_uploads")
            .limit,
        Some(1)
    );
    // More bytes than the photo has left.
    let mut longer = a.clone();
    longer.extend_from_slice(b"extra");
    let reply = patch(&w, &w.enum1, &sha(&a), 0, &longer).await;
    assert_eq!(
        reply
            .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "beyond_upload_length")
            .limit,
        Some(5_000)
    );
    // A length that changes for the same photo.
    let reply = create(&w, &w.enum1, &sha(&a), 4_000).await;
    reply.assert_error(StatusCode::CONFLICT, "length_mismatch");
}

#[tokio::test]
async fn the_protocol_is_checked_before_anything_else() {
    let w = world(Limits::default()).await;
    let options = w
        .kit
        .request(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/v1/uploads")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers.get("tus-version").unwrap(), "1.0.0");
    assert_eq!(
        options.headers.get("tus-extension").unwrap(),
        "creation,expiration"
    );
    assert_eq!(options.headers.get("tus-max-size").unwrap(), "4194304");

    let sha256 = sha(&jpeg(1000, 8));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.enum1.token))
        .header("upload-length", "1000")
        .header("upload-metadata", metadata(&sha256))
        .body(Body::empty())
        .unwrap();
    w.kit
        .request(request)
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "tus_version");
    // A photo no visit of the caller references, and a supervisor, may not upload.
    create(&w, &w.enum1, &sha256, 1000)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    create(&w, &w.sup, &sha256, 1000)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let bad = w
        .kit
        .get("/api/v1/media/not-a-hash", Some(&w.enum1.token))
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "invalid_sha256");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.enum1.token))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "-5")
        .header("upload-metadata", metadata(&sha256))
        .body(Body::empty())
        .unwrap();
    w.kit
        .request(request)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_header");
    let reply = patch_body(&w, &w.enum1, &sha256, 0, Body::from("x")).await;
    reply.assert_error(StatusCode::NOT_FOUND, "no_upload");
}

#[tokio::test]
async fn an_upload_without_new_bytes_expires() {
    let limits = Limits {
        upload_expiry: chrono::TimeDelta::zero(),
        ..Limits::default()
    };
    let w = world(limits).await;
    let bytes = jpeg(3_000, 9);
    let sha256 = sha(&bytes);
    submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;
    assert_eq!(
        create(&w, &w.enum1, &sha256, bytes.len()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        head(&w, &w.enum1, &sha256).await.status,
        StatusCode::NOT_FOUND
    );
    let open: i64 = w
        .kit
        .db()
        .read(|tx| tx.query_row("SELECT count(*) FROM media_uploads", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(open, 0);
}

#[tokio::test]
async fn who_may_read_a_photo() {
    let w = world(Limits::default()).await;
    let bytes = jpeg(8_000, 10);
    let sha256 = sha(&bytes);
    submit_front_photo(&w, &w.enum1, "P-1", &sha256).await;
    let url = format!("/api/v1/media/{sha256}");
    // Referenced, not yet here: the supervisor of the region hears so; others hear nothing.
    w.kit
        .get(&url, Some(&w.sup.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_arrived");
    w.kit
        .get(&url, Some(&w.sup_other.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    create(&w, &w.enum1, &sha256, bytes.len()).await;
    patch(&w, &w.enum1, &sha256, 0, &bytes).await;
    assert_eq!(
        w.kit.get(&url, Some(&w.sup.token)).await.body.as_ref(),
        bytes.as_slice()
    );
    assert_eq!(
        w.kit.get(&url, Some(&w.enum1.token)).await.status,
        StatusCode::OK
    );
    w.kit
        .get(&url, Some(&w.sup_other.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    w.kit
        .get(&url, Some(&w.enum2.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // Knowing the hash is not enough for another enumerator: referencing it in their own visit, they must still
    // send the bytes (then the photo is stored once, with two owners).
    submit_front_photo(&w, &w.enum2, "P-2", &sha256).await;
    assert_eq!(
        offset_of(&create(&w, &w.enum2, &sha256, bytes.len()).await),
        0
    );
    w.kit
        .get(&url, Some(&w.enum2.token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        offset_of(&patch(&w, &w.enum2, &sha256, 0, &bytes).await),
        bytes.len() as u64
    );
    assert_eq!(
        w.kit.get(&url, Some(&w.enum2.token)).await.status,
        StatusCode::OK
    );
    let (media, owners): (i64, i64) = w
        .kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM media), (SELECT count(*) FROM media_owners)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!((media, owners), (1, 2));
}

#[tokio::test]
async fn every_revision_keeps_its_photos_and_progress_and_exports_show_them() {
    let w = world(Limits::default()).await;
    let first = jpeg(4_000, 11);
    let retaken = jpeg(4_000, 12);
    let member = jpeg(4_000, 13);
    let doc = photo_visit(
        "P-1",
        json!({"photo_front": photo(&sha(&first)), "members": [{"member_photo": photo(&sha(&member))}]}),
    );
    submit(&w, &w.enum1, doc.clone()).await;
    let progress = w
        .kit
        .get("/api/v1/supervisor/progress", Some(&w.sup.token))
        .await;
    let photos: Value = progress.json::<Value>()["photos"].clone();
    assert_eq!(
        photos["by_enumerator"][0],
        json!({"user_id": "enum1", "name": "User enum1", "visits_with_photos": 1, "visits_complete": 0,
               "photos": 2, "photos_arrived": 0})
    );
    for bytes in [&first, &member] {
        create(&w, &w.enum1, &sha(bytes), bytes.len()).await;
        patch(&w, &w.enum1, &sha(bytes), 0, bytes).await;
    }
    let progress = w
        .kit
        .get("/api/v1/supervisor/progress", Some(&w.sup.token))
        .await;
    let photos: Value = progress.json::<Value>()["photos"].clone();
    assert_eq!(photos["by_village"][0]["region_code"], VILLAGE_A);
    assert_eq!(photos["by_village"][0]["visits_complete"], 1);
    assert_eq!(photos["by_village"][0]["photos_arrived"], 2);

    // Returned and corrected with the front photo retaken: both revisions keep their photos.
    let reply = w
        .kit
        .post(
            "/api/v1/supervisor/review",
            Some(&w.sup.token),
            &json!({"visit_id": doc.visit_id, "revision": 1, "decision": "return", "comment": "Foto buram"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let mut second = doc.clone();
    second.revision = 2;
    second
        .answers
        .insert("photo_front".into(), photo(&sha(&retaken)));
    submit(&w, &w.enum1, second).await;
    let linked: Vec<(u32, String, String)> = w
        .kit
        .db()
        .read(|tx| {
            tx.prepare("SELECT revision, path, sha256 FROM visit_photos ORDER BY revision, path")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()
        })
        .unwrap();
    assert_eq!(
        linked,
        vec![
            (1, "members[0].member_photo".to_string(), sha(&member)),
            (1, "photo_front".to_string(), sha(&first)),
            (2, "members[0].member_photo".to_string(), sha(&member)),
            (2, "photo_front".to_string(), sha(&retaken)),
        ]
    );
    // The first revision's photo stays readable for the supervisor.
    let old = w
        .kit
        .get(
            &format!("/api/v1/media/{}", sha(&first)),
            Some(&w.sup.token),
        )
        .await;
    assert_eq!(old.status, StatusCode::OK);
    // The latest revision now waits for its retaken photo.
    let progress = w
        .kit
        .get("/api/v1/supervisor/progress", Some(&w.sup.token))
        .await;
    let photos: Value = progress.json::<Value>()["photos"].clone();
    assert_eq!(photos["by_enumerator"][0]["visits_complete"], 0);
    assert_eq!(photos["by_enumerator"][0]["photos_arrived"], 1);

    // The export shows each photo's hash and server path (null until it arrives).
    let csv = w
        .kit
        .get(
            "/api/v1/supervisor/export/households.csv?form_id=photo_check",
            Some(&w.sup.token),
        )
        .await
        .text();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let front: Value = serde_json::from_str(&row[column("photo_front")]).unwrap();
    assert_eq!(front, json!({"sha256": sha(&retaken), "server_path": null}));
    let members = w
        .kit
        .get(
            "/api/v1/supervisor/export/members.csv?form_id=photo_check",
            Some(&w.sup.token),
        )
        .await
        .text();
    let mut reader = csv::Reader::from_reader(members.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let at = headers.iter().position(|h| h == "member_photo").unwrap();
    let cell: Value = serde_json::from_str(&row[at]).unwrap();
    let path = crate::media::Media::relative_path(&sha(&member));
    assert_eq!(cell, json!({"sha256": sha(&member), "server_path": path}));
    assert!(w.kit.dir.path().join(&path).is_file());
}

#[test]
fn photos_are_found_anywhere_in_the_answers() {
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let answers = json!({
        "photo_front": {"file": "f.jpg", "sha256": a},
        "gps": {"lat": 1.0, "lon": 2.0, "accuracy_m": 5.0},
        "members": [{"name": "x"}, {"member_photo": {"file": "m.jpg", "sha256": b}}],
        "not_a_photo": {"file": "f.jpg", "sha256": "short"}
    });
    let found = crate::media::photos_in(answers.as_object().unwrap());
    assert_eq!(
        found,
        vec![
            ("members[1].member_photo".to_string(), b),
            ("photo_front".to_string(), a),
        ]
    );
}

#[test]
fn stored_photos_are_sharded_by_their_hash() {
    let sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    assert_eq!(
        crate::media::Media::relative_path(sha256),
        format!("media/9f/86/{sha256}.jpg")
    );
    assert!(crate::media::is_sha256(sha256));
    assert!(!crate::media::is_sha256(&sha256.to_uppercase()));
    assert!(!crate::media::is_sha256(&sha256[1..]));
}

/// A photo a decoder can open (the structural [`jpeg`] above has no real image data).
fn real_jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&picture)
        .unwrap();
    out
}

#[tokio::test]
async fn the_console_shows_arrived_photos_as_previews_to_the_visits_supervisor_only() {
    use crate::console::tests::{get, login};
    let w = world(Limits::default()).await;
    let bytes = real_jpeg(1200, 900);
    let arrived = sha(&bytes);
    let missing = sha(b"still on the phone");
    let doc = photo_visit(
        "P-1",
        json!({"photo_front": photo(&arrived), "members": [{"member_photo": photo(&missing)}]}),
    );
    let visit_id = doc.visit_id;
    submit(&w, &w.enum1, doc).await;
    create(&w, &w.enum1, &arrived, bytes.len()).await;
    let stored = patch(&w, &w.enum1, &arrived, 0, &bytes).await;
    assert_eq!(offset_of(&stored), bytes.len() as u64);

    let session = login(&w.kit, "sup").await;
    let page = get(&w.kit, &format!("/visits/{visit_id}"), Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let preview_url = format!("/visits/{visit_id}/photos/{arrived}/preview");
    assert!(
        html.contains(&format!("<img src=\"{preview_url}\"")),
        "{html}"
    );
    assert!(html.contains("belum tiba"), "the photo not arrived is said");
    assert!(
        html.contains("Anggota 1 · Foto"),
        "a member's photo is named by its member"
    );
    assert!(
        !html.contains(&format!("photos/{missing}")),
        "no link to a photo not arrived"
    );

    let preview = get(&w.kit, &preview_url, Some(&session)).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(preview.headers[header::CONTENT_TYPE], "image/jpeg");
    let shown = image::load_from_memory(&preview.body).unwrap();
    assert_eq!((shown.width(), shown.height()), (320, 240));
    let full = get(
        &w.kit,
        &format!("/visits/{visit_id}/photos/{arrived}"),
        Some(&session),
    )
    .await;
    assert_eq!(full.body.as_ref(), bytes.as_slice());
    for uri in [
        format!("/visits/{visit_id}/photos/{missing}"),
        format!("/visits/{visit_id}/photos/{missing}/preview"),
        format!("/visits/{}/photos/{arrived}", uuid::Uuid::now_v7()),
        format!("/visits/{visit_id}/photos/not-a-hash"),
    ] {
        let reply = get(&w.kit, &uri, Some(&session)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
    }

    // Another region's supervisor: the same 404 as for no photo at all; no session: to the login page.
    let other = login(&w.kit, "sup_other").await;
    assert_eq!(
        get(&w.kit, &preview_url, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&w.kit, &preview_url, None).await.status,
        StatusCode::SEE_OTHER
    );
}

/// The supervisor pull's visits (JSON), all of them.
async fn pulled(w: &World) -> Vec<Value> {
    let reply = w
        .kit
        .get("/api/v1/supervisor/visits?since=0", Some(&w.sup.token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json::<Value>()["visits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_photo_taken_a_day_before_its_visit_is_flagged_when_it_arrives_and_one_taken_during_it_is_not()
 {
    let w = world(Limits::default()).await;
    // Both visits ran 09:00–09:45 WIB on 2026-11-20; the EXIF clocks are the phones' local time.
    let day_before =
        crate::signals::exif::with_capture_time(&jpeg(20_000, 7), "2026:11:19 09:10:00");
    let during = crate::signals::exif::with_capture_time(&jpeg(20_000, 8), "2026:11:20 09:20:00");
    let mut ids = Vec::new();
    for (assignment, device, bytes) in [("P-1", &w.enum1, &day_before), ("P-2", &w.enum2, &during)]
    {
        let mut doc = photo_visit(assignment, json!({"photo_front": photo(&sha(bytes))}));
        doc.device_times.started_at = "2026-11-20T02:00:00Z".parse().unwrap();
        doc.device_times.finalised_at = Some("2026-11-20T02:45:00Z".parse().unwrap());
        ids.push(doc.visit_id.to_string());
        submit(&w, device, doc).await;
    }
    let kinds = |visits: &[Value], id: &str| -> Vec<String> {
        let visit = visits
            .iter()
            .find(|v| v["visit"]["visit_id"] == id)
            .unwrap();
        visit["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let before = pulled(&w).await;
    assert!(
        kinds(&before, &ids[0]).is_empty(),
        "the photo has not arrived yet"
    );

    for (device, bytes) in [(&w.enum1, &day_before), (&w.enum2, &during)] {
        let sha256 = sha(bytes);
        assert_eq!(
            create(&w, device, &sha256, bytes.len()).await.status,
            StatusCode::CREATED
        );
        let done = patch(&w, device, &sha256, 0, bytes).await;
        assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text());
    }
    let after = pulled(&w).await;
    assert_eq!(
        kinds(&after, &ids[0]),
        vec!["photo_outside_visit".to_string()]
    );
    let visit = after
        .iter()
        .find(|v| v["visit"]["visit_id"] == ids[0])
        .unwrap();
    let reason = visit["signals"][0]["reason"]["en"].as_str().unwrap();
    assert!(reason.contains("2026-11-19 09:10 WIB"), "{reason}");
    assert!(kinds(&after, &ids[1]).is_empty());
    // The flagged visit moved to the end of the pull when its photo arrived.
    let last = after.last().unwrap();
    assert_eq!(last["visit"]["visit_id"], ids[0].as_str());
}
