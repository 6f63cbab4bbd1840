//! Test support: a server with a temporary data directory, the real router called in-process, a small inline
//! form, and helpers to enrol devices and sync. Every response is checked against `schemas/openapi.yaml`.

use std::io::Read;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, NaiveDate};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tempfile::TempDir;
use tepat_protocol::{
    ApiError, DeviceTimes, EnrolResponse, PROTOCOL_VERSION, Role, SyncRequest, SyncResponse,
    VisitDoc,
};
use tower::ServiceExt;
use uuid::Uuid;

use crate::admin;
use crate::api::openapi::openapi;
use crate::api::{AppState, router};
use crate::config::Limits;
use crate::db::Db;

/// A small household form: outcome first, region, identity, an age with a constraint, a field shown only when
/// the family was not found, and a member roster.
pub const TEST_FORM: &str = r#"{
  "id": "hh_check",
  "version": 1,
  "title": {"id": "Cek rumah tangga", "en": "Household check"},
  "choices": {
    "outcome": [
      {"value": "1", "label": {"id": "Ditemukan", "en": "Found"}},
      {"value": "0", "label": {"id": "Tidak ditemukan", "en": "Not found"}}
    ],
    "sex": [
      {"value": "1", "label": {"id": "Laki-laki", "en": "Male"}},
      {"value": "2", "label": {"id": "Perempuan", "en": "Female"}}
    ]
  },
  "sections": [
    {
      "id": "visit",
      "title": {"id": "Kunjungan", "en": "Visit"},
      "fields": [
        {"id": "outcome", "type": "select_one", "choices": "outcome", "required": true,
         "label": {"id": "Hasil kunjungan", "en": "Visit outcome"}},
        {"id": "why_not_found", "type": "text", "relevant": "${outcome} = '0'",
         "label": {"id": "Alasan", "en": "Reason"}},
        {"id": "region", "type": "region", "label": {"id": "Wilayah", "en": "Region"}},
        {"id": "head_name", "type": "text", "prefill": "head_name",
         "label": {"id": "Nama kepala keluarga", "en": "Head of family"}},
        {"id": "head_nik", "type": "nik", "prefill": "head_nik", "label": {"id": "NIK kepala", "en": "Head's NIK"}},
        {"id": "kk", "type": "kk", "prefill": "kk", "label": {"id": "No. KK", "en": "Family card number"}},
        {"id": "rooms", "type": "integer",
         "label": {"id": "Jumlah kamar", "en": "Rooms"},
         "constraints": [{"expr": ". >= 1 and . <= 50", "rule": "rooms_range",
           "message": {"id": "Jumlah kamar 1 sampai 50", "en": "Rooms must be 1 to 50"}}]},
        {"id": "members", "type": "repeat", "prefill": "members",
         "label": {"id": "Anggota", "en": "Members"},
         "fields": [
           {"id": "member_name", "type": "text", "prefill": "member_name", "label": {"id": "Nama", "en": "Name"}},
           {"id": "member_sex", "type": "select_one", "choices": "sex", "prefill": "sex",
            "label": {"id": "Jenis kelamin", "en": "Sex"}}
         ]}
      ]
    }
  ]
}"#;

pub const FORM_ID: &str = "hh_check";

/// When [`Kit::publish`] publishes: well before the visits' date ([`visit`]: 2026-11-20).
pub const PUBLISHED_AT: &str = "2026-01-01T00:00:00Z";

pub fn published_at() -> DateTime<chrono::Utc> {
    DateTime::parse_from_rfc3339(PUBLISHED_AT)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// Village codes used by the tests (in Kota Bengkulu, 17.71).
pub const VILLAGE_A: &str = "17.71.01.1001";
pub const VILLAGE_B: &str = "17.71.02.1001";

/// A well-formed NIK (district 17.71.01, born 1980-05-12, man) and No. KK.
pub const NIK: &str = "1771011205800001";
pub const KK: &str = "1771012001150003";

pub struct Kit {
    pub dir: TempDir,
    pub state: AppState,
    router: Router,
    /// The test's PostgreSQL database when the tests run there (`crate::db::testdb`); dropped after `state`.
    postgres: Option<crate::db::testdb::TestDatabase>,
}

/// An enrolled device.
#[derive(Debug, Clone)]
pub struct Device {
    pub device_id: String,
    pub token: String,
}

/// A response, read whole (gunzipped if it came gzipped).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub was_gzipped: bool,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn error(&self) -> ApiError {
        self.json()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status and the error code.
    pub fn assert_error(&self, status: StatusCode, code: &str) -> ApiError {
        assert_eq!(self.status, status, "{}", self.text());
        let error = self.error();
        assert_eq!(error.error, code, "{error:?}");
        assert!(!error.message.is_empty());
        error
    }
}

impl Kit {
    pub fn new() -> Kit {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let (db, postgres) = crate::db::testdb::open(dir.path());
        let state = AppState::new(db, dir.path(), limits);
        let router = router(state.clone());
        Kit {
            dir,
            state,
            router,
            postgres,
        }
    }

    /// The standard world: two supervisors (Kota Bengkulu, Bengkulu Selatan), two enumerators, one assessor,
    /// the test form, and assignments A-1, A-2 (enum1, village A) and B-1 (enum2, village B).
    pub fn world() -> Kit {
        let kit = Kit::new();
        kit.user("sup", Role::Supervisor, &["17.71"]);
        kit.user("sup_other", Role::Supervisor, &["17.01"]);
        kit.user("enum1", Role::Enumerator, &["17.71.01"]);
        kit.user("enum2", Role::Enumerator, &["17.71.02"]);
        kit.user("tksk", Role::Assessor, &["17.71"]);
        kit.publish(TEST_FORM);
        kit.assign(&format!(
            "assignment_id,user_id,form_id,form_version,region_code,label,head_name,head_nik\n\
             A-1,enum1,hh_check,1,{VILLAGE_A},Budi RT 01,Budi,{NIK}\n\
             A-2,enum1,hh_check,1,{VILLAGE_A},Siti RT 02,Siti,\n\
             B-1,enum2,hh_check,1,{VILLAGE_B},Agus RT 03,Agus,\n"
        ));
        kit
    }

    /// The PostgreSQL database's URL when the tests run there (what `serve --database` would be given).
    pub fn database_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|db| db.url.as_str())
    }

    pub fn db(&self) -> &Db {
        &self.state.app().db
    }

    pub fn user(&self, id: &str, role: Role, regions: &[&str]) {
        let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
        admin::create_user(self.db(), id, &format!("User {id}"), role, &regions).unwrap();
    }

    /// Publishes a form as of [`PUBLISHED_AT`], before the test visits' dates (a visit dated before its form was
    /// published is flagged: `ingest::dates`).
    pub fn publish(&self, json: &str) {
        self.db()
            .write(|tx| crate::forms::publish(tx, json, published_at()))
            .unwrap();
    }

    pub fn assign(&self, csv: &str) {
        let path = self.dir.path().join("assignments.csv");
        std::fs::write(&path, csv).unwrap();
        admin::import_assignments(self.db(), &path, None).unwrap();
    }

    /// `POST /api/v1/enrol` with a code and device name.
    pub async fn enrol_raw(&self, code: &str, device_name: &str) -> Reply {
        self.post(
            "/api/v1/enrol",
            None,
            &json!({"code": code, "device_name": device_name}),
        )
        .await
    }

    /// Enrols a device for a user through the API.
    pub async fn enrol(&self, user_id: &str) -> Device {
        let code = admin::enrol_code(self.db(), user_id, 1).unwrap();
        let reply = self.enrol_raw(&code, "Test phone").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let enrolled: EnrolResponse = reply.json();
        Device {
            device_id: enrolled.device_id,
            token: enrolled.token,
        }
    }

    /// Sends a request to the real router and checks the response against the OpenAPI document.
    pub async fn request(&self, request: Request<Body>) -> Reply {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let was_gzipped = headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v == "gzip");
        let body = if was_gzipped {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
            Bytes::from(out)
        } else {
            raw
        };
        let documented = openapi().operations().iter().any(|(_, p)| *p == path);
        if documented && status != StatusCode::METHOD_NOT_ALLOWED {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if let Err(e) =
                openapi().check_response(&method, &path, status.as_u16(), content_type, &body)
            {
                panic!(
                    "response does not match schemas/openapi.yaml: {e}\nbody: {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        Reply {
            status,
            headers,
            body,
            was_gzipped,
        }
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Reply {
        let mut builder = Request::builder().method(Method::GET).uri(uri);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.request(builder.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: &Value) -> Reply {
        self.post_raw(uri, token, body.to_string().into_bytes(), &[])
            .await
    }

    pub async fn post_raw(
        &self,
        uri: &str,
        token: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.request(builder.body(Body::from(body)).unwrap()).await
    }

    /// A sync request for a device.
    pub fn sync_request(device: &Device, cursor: u64, visits: Vec<VisitDoc>) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device.device_id.clone(),
            batch_id: Uuid::now_v7(),
            cursor,
            visits,
            trails: Vec::new(),
        }
    }

    pub async fn sync_raw(&self, device: &Device, request: &SyncRequest) -> Reply {
        self.post(
            "/api/v1/sync",
            Some(&device.token),
            &serde_json::to_value(request).unwrap(),
        )
        .await
    }

    /// Syncs and expects success.
    pub async fn sync(&self, device: &Device, cursor: u64, visits: Vec<VisitDoc>) -> SyncResponse {
        let reply = self
            .sync_raw(device, &Self::sync_request(device, cursor, visits))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()
    }
}

/// Answers from a JSON object literal.
pub fn answers(value: Value) -> tepat_protocol::Answers {
    value.as_object().cloned().unwrap_or_default()
}

/// A complete, valid visit of the test form (revision 1).
pub fn visit(assignment: Option<&str>) -> VisitDoc {
    let answers = json!({
        "outcome": "1",
        "head_name": "Budi",
        "head_nik": NIK,
        "kk": KK,
        "rooms": 3,
        "members": [
            {"member_name": "Budi", "member_sex": "1"},
            {"member_name": "Ani", "member_sex": "2"}
        ]
    });
    VisitDoc {
        visit_id: Uuid::now_v7(),
        revision: 1,
        form_id: FORM_ID.to_string(),
        form_version: 1,
        assignment_id: assignment.map(str::to_string),
        visit_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        answers: answers.as_object().cloned().unwrap(),
        warning_notes: Default::default(),
        prefill_review: Default::default(),
        device_times: DeviceTimes {
            started_at: DateTime::UNIX_EPOCH,
            finalised_at: None,
            device_seq: 1,
        },
    }
}
