//! Figure 7: the web console's review queue page (`GET /queue`: count of the matching visits, 50 rows, filter
//! lists, rendered HTML) with 100,000 visits in the database, against the same query over the API: the first
//! page of the supervisor pull (`GET /api/v1/supervisor/visits?limit=50`, JSON), both from the running release
//! server over loopback HTTP, timed at the client from request to last byte (so an upper bound of the time at
//! the server).

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header;
use tepat_e2e::field::{Field, SUPERVISOR};
use tepat_protocol::EnrolRequest;
use tepat_runtime::{HttpConfig, HttpTransport, Transport};

use crate::stats::Samples;

pub struct Queue {
    pub visits: u64,
    pub page: Samples,
    pub filtered: Samples,
    pub api: Samples,
    pub page_bytes: u64,
    pub api_bytes: u64,
    pub count_shown: String,
}

const RUNS: usize = 30;
const PASSWORD: &str = "bench-konsol-2026";

fn cookie_of(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Logs the supervisor in through the login form; the session cookie (`name=value`).
fn login(client: &Client, base: &str) -> Result<String, String> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .map_err(|e| e.to_string())?;
    let login_cookie = cookie_of(&page, "tepat_login").ok_or("no login cookie")?;
    let token = login_cookie
        .split_once('=')
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let body = format!("csrf={token}&user={SUPERVISOR}&password={PASSWORD}&next=%2Fqueue");
    let response = client
        .post(format!("{base}/login"))
        .header(header::COOKIE, login_cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .map_err(|e| e.to_string())?;
    if response.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(format!("login: {}", response.status()));
    }
    cookie_of(&response, "tepat_session").ok_or_else(|| "no session cookie".into())
}

pub fn run(field: &Field, visits: u64) -> Result<Queue, String> {
    field
        .admin
        .set_password(SUPERVISOR, PASSWORD)
        .map_err(|e| e.to_string())?;
    let base = field.server.url();
    // reqwest is built without a crypto provider: the phone's own TLS set-up (plain HTTP here all the same).
    let tls = tepat_runtime::tls_config(None).map_err(|e| e.to_string())?;
    let client = Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let session = login(&client, &base)?;
    let transport =
        HttpTransport::new(&HttpConfig::new(base.clone())).map_err(|e| e.to_string())?;
    let enrolled = transport
        .enrol(&EnrolRequest {
            code: field
                .admin
                .enrol_code(SUPERVISOR)
                .map_err(|e| e.to_string())?,
            device_name: "bench console".into(),
        })
        .map_err(|e| format!("enrol the supervisor: {}", e.detail))?;
    let mut failure: Option<String> = None;
    let mut last_bytes = 0u64;
    let mut get = |url: String, auth: (&str, String)| -> u64 {
        let response = client.get(&url).header(auth.0, auth.1).send();
        match response.and_then(|r| {
            let status = r.status();
            r.bytes().map(|b| (status, b))
        }) {
            Ok((status, body)) if status.is_success() => body.len() as u64,
            Ok((status, _)) => {
                failure.get_or_insert(format!("{url}: {status}"));
                0
            }
            Err(e) => {
                failure.get_or_insert(format!("{url}: {e}"));
                0
            }
        }
    };
    let page = Samples::measure(3, RUNS, |_| {
        last_bytes = get(
            format!("{base}/queue"),
            (header::COOKIE.as_str(), session.clone()),
        );
    });
    let page_bytes = last_bytes;
    let filtered = Samples::measure(3, RUNS, |_| {
        get(
            format!("{base}/queue?status=all&enumerator=pkh01&errors=1"),
            (header::COOKIE.as_str(), session.clone()),
        );
    });
    let api = Samples::measure(3, RUNS, |_| {
        last_bytes = get(
            format!("{base}/api/v1/supervisor/visits?since=0&limit=50"),
            (
                header::AUTHORIZATION.as_str(),
                format!("Bearer {}", enrolled.token),
            ),
        );
    });
    let api_bytes = last_bytes;
    if let Some(e) = failure {
        return Err(e);
    }
    // What the page says it counted (the figure is only meaningful with the whole database in the count).
    let html = client
        .get(format!("{base}/queue?status=all"))
        .header(header::COOKIE, session)
        .send()
        .and_then(|r| r.text())
        .map_err(|e| e.to_string())?;
    let count_shown = html
        .split("id=\"queue-count\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("?")
        .to_string();
    Ok(Queue {
        visits,
        page,
        filtered,
        api,
        page_bytes,
        api_bytes,
        count_shown,
    })
}
