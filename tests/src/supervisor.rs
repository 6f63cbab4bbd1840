//! The supervisor's side over HTTP: enrol a supervisor device, pull every visit, review, progress, CSV exports.

use std::path::Path;

use reqwest::blocking::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tepat_protocol::{
    Decision, EnrolRequest, EnrolResponse, ProgressResponse, PullResponse, ReviewRequest,
    ServerVisit,
};
use uuid::Uuid;

use crate::Error;

/// A supervisor's enrolled device.
pub struct Supervisor {
    client: Client,
    base_url: String,
    token: String,
}

impl Supervisor {
    /// Enrols a device for the supervisor whose one-time `code` an admin issued; over HTTPS trusting only
    /// `ca_pem` when given (else the phone's bundled roots: the same TLS set-up as the phone).
    pub fn enrol(base_url: &str, code: &str, ca_pem: Option<&str>) -> Result<Supervisor, Error> {
        let tls = tepat_runtime::tls_config(ca_pem).map_err(|e| Error::Setup(e.to_string()))?;
        let client = Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(http)?;
        let mut supervisor = Supervisor {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            token: String::new(),
        };
        let enrolled: EnrolResponse = supervisor.post(
            "/api/v1/enrol",
            &EnrolRequest {
                code: code.to_string(),
                device_name: "supervisor laptop".into(),
            },
        )?;
        supervisor.token = enrolled.token;
        Ok(supervisor)
    }

    /// Every visit row in the supervisor's regions, following `since` page by page. A visit that changed
    /// (reviewed) comes again with a higher sequence number; the result keeps the latest row of each
    /// `(visit id, revision)`, ordered by sequence.
    pub fn pull_all(&self) -> Result<Vec<ServerVisit>, Error> {
        let mut since = 0;
        let mut latest: std::collections::BTreeMap<(Uuid, u32), ServerVisit> = Default::default();
        loop {
            let page: PullResponse = self.get(&format!(
                "/api/v1/supervisor/visits?since={since}&limit=500"
            ))?;
            for visit in page.visits {
                latest.insert((visit.visit.visit_id, visit.visit.revision), visit);
            }
            if !page.more || page.next_since == since {
                break;
            }
            since = page.next_since;
        }
        let mut visits: Vec<ServerVisit> = latest.into_values().collect();
        visits.sort_by_key(|v| v.seq);
        Ok(visits)
    }

    pub fn review(
        &self,
        visit_id: Uuid,
        revision: u32,
        decision: Decision,
        comment: &str,
    ) -> Result<ServerVisit, Error> {
        self.post(
            "/api/v1/supervisor/review",
            &ReviewRequest {
                visit_id,
                revision,
                decision,
                comment: comment.to_string(),
            },
        )
    }

    pub fn progress(&self) -> Result<ProgressResponse, Error> {
        self.get("/api/v1/supervisor/progress")
    }

    /// A photo by its SHA-256 (`GET /api/v1/media/{sha256}`): its bytes, or `None` when the server answers 404
    /// (not arrived, or not in the supervisor's regions).
    pub fn photo(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        let response = self
            .client
            .get(format!("{}/api/v1/media/{sha256}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .map_err(http)?;
        let status = response.status();
        let bytes = response.bytes().map_err(http)?;
        match status.as_u16() {
            200 => Ok(Some(bytes.to_vec())),
            404 => Ok(None),
            _ => Err(Error::Http(format!(
                "photo {sha256}: {status} {}",
                String::from_utf8_lossy(&bytes)
            ))),
        }
    }

    /// The progress answer's `photos` part (photo completeness per enumerator and village) as JSON.
    pub fn photo_progress(&self) -> Result<serde_json::Value, Error> {
        let progress: serde_json::Value = self.get("/api/v1/supervisor/progress")?;
        Ok(progress["photos"].clone())
    }

    /// Downloads an export (`households` or `members`) of a form into `file`; its size in bytes.
    pub fn export(&self, table: &str, form_id: &str, file: &Path) -> Result<u64, Error> {
        let url = format!(
            "{}/api/v1/supervisor/export/{table}.csv?form_id={form_id}",
            self.base_url
        );
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .map_err(http)?;
        let status = response.status();
        let bytes = response.bytes().map_err(http)?;
        if !status.is_success() {
            return Err(Error::Http(format!(
                "export {table}: {status} {}",
                String::from_utf8_lossy(&bytes)
            )));
        }
        std::fs::write(file, &bytes)?;
        Ok(bytes.len() as u64)
    }

    fn get<A: DeserializeOwned>(&self, path: &str) -> Result<A, Error> {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .map_err(http)?;
        decode(path, response)
    }

    fn post<Q: Serialize, A: DeserializeOwned>(&self, path: &str, body: &Q) -> Result<A, Error> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Http(e.to_string()))?;
        let mut request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        decode(path, request.send().map_err(http)?)
    }
}

fn decode<A: DeserializeOwned>(
    path: &str,
    response: reqwest::blocking::Response,
) -> Result<A, Error> {
    let status = response.status();
    let bytes = response.bytes().map_err(http)?;
    if !status.is_success() {
        return Err(Error::Http(format!(
            "{path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Http(format!("{path}: {e}")))
}

fn http(e: reqwest::Error) -> Error {
    Error::Http(e.to_string())
}
