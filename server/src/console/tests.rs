//! The console through the real router: login, sessions, CSRF, scoping, escaping, review with a pinned field.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use tepat_protocol::{ReceiptStatus, Role};

use super::{CSP, LOGIN_COOKIE, SESSION_COOKIE, percent_encode};
use crate::testkit::{Kit, Reply, visit};

const PASSWORD: &str = "sandi-korkab-17";

fn set_cookie_value(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default()[name.len() + 1..].to_string())
}

pub(crate) async fn get(kit: &Kit, uri: &str, session: Option<&str>) -> Reply {
    let mut request = Request::builder().method(Method::GET).uri(uri);
    if let Some(session) = session {
        request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={session}"));
    }
    kit.request(request.body(Body::empty()).unwrap()).await
}

async fn post(kit: &Kit, uri: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    kit.request(
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// The page's CSRF token (the first hidden `csrf` field).
fn csrf_of(reply: &Reply) -> String {
    let text = reply.text();
    let at = text.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    text[at..at + 64].to_string()
}

async fn attempt(kit: &Kit, user: &str, password: &str) -> Reply {
    let page = get(kit, "/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = set_cookie_value(&page, LOGIN_COOKIE).expect("login cookie");
    post(
        kit,
        "/login",
        &format!("{LOGIN_COOKIE}={token}"),
        &[
            ("csrf", &token),
            ("user", user),
            ("password", password),
            ("next", "/queue"),
        ],
    )
    .await
}

/// Logs in and returns the session cookie's value.
pub(crate) async fn login(kit: &Kit, user: &str) -> String {
    crate::admin::set_password(kit.db(), user, PASSWORD).unwrap();
    let reply = attempt(kit, user, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    set_cookie_value(&reply, SESSION_COOKIE).expect("session cookie")
}

async fn with_visit(kit: &Kit, answers: serde_json::Value) -> String {
    let device = kit.enrol("enum1").await;
    let mut doc = visit(Some("A-1"));
    for (k, v) in answers.as_object().unwrap() {
        doc.answers.insert(k.clone(), v.clone());
    }
    let id = doc.visit_id.to_string();
    let response = kit.sync(&device, 0, vec![doc]).await;
    assert_eq!(
        response.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        response.receipts
    );
    id
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_and_pages_carry_the_csp() {
    let kit = Kit::world();
    crate::admin::set_password(kit.db(), "sup", PASSWORD).unwrap();
    let reply = attempt(&kit, "sup", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/queue");
    let cookie = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(SESSION_COOKIE))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // No TLS in this test: no Secure flag (a browser would drop the cookie over plain HTTP).
    assert!(!cookie.contains("Secure"), "{cookie}");
    let session = set_cookie_value(&reply, SESSION_COOKIE).unwrap();
    let queue = get(&kit, "/queue", Some(&session)).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text());
    assert_eq!(queue.headers[header::CONTENT_SECURITY_POLICY], CSP);
    assert_eq!(queue.headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(queue.text().contains("Antrean periksa"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_refusal() {
    let kit = Kit::world();
    crate::admin::set_password(kit.db(), "sup", PASSWORD).unwrap();
    let wrong = attempt(&kit, "sup", "sandi-yang-salah").await;
    let unknown = attempt(&kit, "nobody", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("Nama pengguna atau kata sandi salah"));
    assert!(set_cookie_value(&wrong, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn the_sixth_failed_login_of_an_account_must_wait() {
    let kit = Kit::world();
    crate::admin::set_password(kit.db(), "sup", PASSWORD).unwrap();
    for _ in 0..5 {
        assert_eq!(
            attempt(&kit, "sup", "sandi-yang-salah").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let slowed = attempt(&kit, "sup", PASSWORD).await;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(slowed.headers.contains_key(header::RETRY_AFTER));
    assert!(set_cookie_value(&slowed, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_login_without_its_csrf_cookie_is_refused() {
    let kit = Kit::world();
    crate::admin::set_password(kit.db(), "sup", PASSWORD).unwrap();
    let reply = post(
        &kit,
        "/login",
        "",
        &[
            ("csrf", &"a".repeat(64)),
            ("user", "sup"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(set_cookie_value(&reply, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn pages_without_a_session_go_to_the_login_page() {
    let kit = Kit::world();
    let reply = get(&kit, "/queue?status=all", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.headers[header::LOCATION],
        "/login?next=/queue%3Fstatus%3Dall"
    );
}

#[tokio::test]
async fn a_form_posted_without_the_csrf_token_is_refused_and_changes_nothing() {
    let kit = Kit::world();
    let visit_id = with_visit(&kit, json!({})).await;
    let session = login(&kit, "sup").await;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let uri = format!("/visits/{visit_id}/review");
    for csrf in [None, Some("0".repeat(64))] {
        let mut form = vec![("revision", "1"), ("decision", "approve")];
        if let Some(csrf) = &csrf {
            form.push(("csrf", csrf));
        }
        let reply = post(&kit, &uri, &cookie, &form).await;
        assert!(
            reply.status == StatusCode::FORBIDDEN,
            "{} {}",
            reply.status,
            reply.text()
        );
    }
    let status: String = kit
        .db()
        .read(|tx| tx.query_row("SELECT status FROM visits", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(status, "submitted");
}

#[tokio::test]
async fn a_session_cookie_is_refused_after_logout() {
    let kit = Kit::world();
    let session = login(&kit, "sup").await;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let page = get(&kit, "/queue", Some(&session)).await;
    let csrf = csrf_of(&page);
    let out = post(&kit, "/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let again = get(&kit, "/queue", Some(&session)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        again.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn a_supervisor_of_another_region_gets_404_for_a_visit_url_and_cannot_review_it() {
    let kit = Kit::world();
    let visit_id = with_visit(&kit, json!({})).await;
    let own = login(&kit, "sup").await;
    assert_eq!(
        get(&kit, &format!("/visits/{visit_id}"), Some(&own))
            .await
            .status,
        StatusCode::OK
    );
    let other = login(&kit, "sup_other").await;
    let page = get(&kit, &format!("/visits/{visit_id}"), Some(&other)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let queue = get(&kit, "/queue?status=all", Some(&other)).await;
    assert!(!queue.text().contains(&visit_id));
    let csrf = csrf_of(&queue);
    let reply = post(
        &kit,
        &format!("/visits/{visit_id}/review"),
        &format!("{SESSION_COOKIE}={other}"),
        &[("csrf", &csrf), ("revision", "1"), ("decision", "approve")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn supervisor_pages_refuse_an_admin_and_admin_pages_refuse_a_supervisor() {
    let kit = Kit::world();
    kit.user("root", Role::Admin, &[]);
    let admin = login(&kit, "root").await;
    let sup = login(&kit, "sup").await;
    assert_eq!(
        get(&kit, "/queue", Some(&admin)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&kit, "/admin", Some(&sup)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&kit, "/admin", Some(&admin)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn script_and_onerror_answers_render_as_text() {
    let kit = Kit::world();
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let visit_id = with_visit(&kit, json!({"head_name": payload})).await;
    let session = login(&kit, "sup").await;
    let page = get(&kit, &format!("/visits/{visit_id}"), Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(!text.contains("<script>alert"), "raw script in the page");
    assert!(!text.contains("<img src=x"), "raw img in the page");
    assert!(
        text.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || text.contains("&lt;script&gt;"),
        "{text}"
    );
}

#[tokio::test]
async fn a_return_pinned_to_a_field_reaches_the_phone_in_the_change_feed() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let doc = visit(Some("A-1"));
    let visit_id = doc.visit_id;
    kit.sync(&device, 0, vec![doc]).await;
    let session = login(&kit, "sup").await;
    let page = get(&kit, &format!("/visits/{visit_id}"), Some(&session)).await;
    assert!(
        page.text().contains("value=\"members[1].member_name\""),
        "pins offer roster fields"
    );
    let csrf = csrf_of(&page);
    let cookie = format!("{SESSION_COOKIE}={session}");
    let uri = format!("/visits/{visit_id}/review");
    // A field the form does not have is refused.
    let bad = post(
        &kit,
        &uri,
        &cookie,
        &[
            ("csrf", &csrf),
            ("revision", "1"),
            ("decision", "return"),
            ("comment", "Periksa"),
            ("field", "nope"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let done = post(
        &kit,
        &uri,
        &cookie,
        &[
            ("csrf", &csrf),
            ("revision", "1"),
            ("decision", "return"),
            ("comment", "Jumlah kamar tidak masuk akal"),
            ("field", "rooms"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let response = kit.sync(&device, 0, vec![]).await;
    let returned = &response.changes.returned;
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].field.as_deref(), Some("rooms"));
    assert_eq!(returned[0].comment, "Jumlah kamar tidak masuk akal");
    let history = get(&kit, &format!("/visits/{visit_id}"), Some(&session)).await;
    assert!(
        history.text().contains("<code>rooms</code>"),
        "the pinned field shows in the history"
    );
}

#[tokio::test]
async fn the_queue_filters_and_counts() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut bad = visit(Some("A-1"));
    bad.answers.insert("rooms".into(), json!(99));
    let good = visit(Some("A-2"));
    kit.sync(&device, 0, vec![bad, good]).await;
    let session = login(&kit, "sup").await;
    let count = |reply: &Reply| {
        let text = reply.text();
        let at = text.find("id=\"queue-count\">").unwrap() + 17;
        text[at..].split('<').next().unwrap().to_string()
    };
    assert_eq!(count(&get(&kit, "/queue", Some(&session)).await), "2");
    assert_eq!(
        count(&get(&kit, "/queue?errors=1", Some(&session)).await),
        "1"
    );
    assert_eq!(
        count(&get(&kit, "/queue?village=17.71.02.1001", Some(&session)).await),
        "0"
    );
    assert_eq!(
        count(&get(&kit, "/queue?enumerator=enum1&outcome=1", Some(&session)).await),
        "2"
    );
    assert_eq!(
        count(&get(&kit, "/queue?from=2026-11-21", Some(&session)).await),
        "0"
    );
    assert_eq!(
        get(&kit, "/queue?from=kemarin", Some(&session))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_admin_imports_assignments_with_each_row_problem_shown_and_makes_a_code_with_a_qr() {
    let kit = Kit::world();
    kit.user("root", Role::Admin, &[]);
    let session = login(&kit, "root").await;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let page = get(&kit, "/admin", Some(&session)).await;
    let csrf = csrf_of(&page);
    // Line breaks as a browser posts a textarea's: CRLF.
    let csv = "assignment_id,user_id,form_id,form_version,region_code,label\r\n\
               C-1,enum1,hh_check,1,17.71.01.1001,Baru\r\n\
               C-2,enum1,hh_check,1,17.71.01.9999,Salah\r\n";
    let reply = post(
        &kit,
        "/admin/assignments",
        &cookie,
        &[("csrf", &csrf), ("csv", csv)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.text().contains("line 3, column region_code"),
        "{}",
        reply.text()
    );
    let imported: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM assignments WHERE assignment_id LIKE 'C-%'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(imported, 0, "all or nothing");

    let reply = post(
        &kit,
        "/admin/codes",
        &cookie,
        &[("csrf", &csrf), ("user", "enum2")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text();
    let at = text.find("id=\"enrol-code\">").unwrap() + 16;
    let code: String = text[at..at + 14].to_string();
    assert!(text.contains("<svg"), "QR code");
    // The code enrols a phone.
    let enrolled = kit.enrol_raw(&code, "HP baru").await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.text());
}

#[tokio::test]
async fn a_publish_with_problems_shows_the_engine_s_problems() {
    let kit = Kit::world();
    kit.user("root", Role::Admin, &[]);
    let session = login(&kit, "root").await;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let csrf = csrf_of(&get(&kit, "/admin", Some(&session)).await);
    let broken = r#"{"id": "x", "version": 1, "title": {"id": "X", "en": "X"}, "choices": {},
      "sections": [{"id": "s", "title": {"id": "S", "en": "S"}, "fields": [
        {"id": "a", "type": "integer", "label": {"id": "A", "en": "A"}, "relevant": "${nope} = 1"}]}]}"#;
    let reply = post(
        &kit,
        "/admin/forms",
        &cookie,
        &[("csrf", &csrf), ("json", broken)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text().contains("nope"), "{}", reply.text());
}

#[tokio::test]
async fn exports_serve_csv_codebook_and_xlsx_of_the_supervisor_s_regions() {
    let kit = Kit::world();
    with_visit(&kit, json!({})).await;
    let session = login(&kit, "sup").await;
    let csv = get(
        &kit,
        "/exports/households.csv?form_id=hh_check",
        Some(&session),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.text().lines().count(), 2);
    let book = get(
        &kit,
        "/exports/codebook.csv?form_id=hh_check",
        Some(&session),
    )
    .await;
    assert!(
        book.text()
            .contains("households,outcome,,,,1,Ditemukan,Found"),
        "{}",
        book.text()
    );
    let xlsx = get(
        &kit,
        "/exports/workbook.xlsx?form_id=hh_check",
        Some(&session),
    )
    .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"), "a zip container");
    let other = login(&kit, "sup_other").await;
    let theirs = get(
        &kit,
        "/exports/households.csv?form_id=hh_check",
        Some(&other),
    )
    .await;
    assert_eq!(theirs.text().lines().count(), 1, "only the header");
}

#[tokio::test]
async fn the_progress_and_conflicts_pages_answer() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let doc = visit(Some("A-1"));
    kit.sync(&device, 0, vec![doc.clone()]).await;
    let mut changed = doc.clone();
    changed.answers.insert("rooms".into(), json!(4));
    let response = kit.sync(&device, 0, vec![changed]).await;
    assert_eq!(response.receipts[0].status, ReceiptStatus::Rejected);
    let session = login(&kit, "sup").await;
    assert_eq!(
        get(&kit, "/progress", Some(&session)).await.status,
        StatusCode::OK
    );
    let page = get(&kit, "/conflicts", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("class=\"differs\""));
    // Keep the conflicting copy: the stored revision now holds rooms = 4, the other copy is kept aside.
    let csrf = csrf_of(&page);
    let id: i64 = kit
        .db()
        .read(|tx| tx.query_row("SELECT id FROM conflicts", [], |r| r.get(0)))
        .unwrap();
    let reply = post(
        &kit,
        &format!("/conflicts/{id}/keep"),
        &format!("{SESSION_COOKIE}={session}"),
        &[("csrf", &csrf), ("keep", "other")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let (doc, aside): (String, i64) = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT doc, (SELECT count(*) FROM conflicts_resolved) FROM visits",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let rooms = doc["answers"]["rooms"].as_i64().unwrap();
    assert_eq!((rooms, aside), (4, 1));
}

#[tokio::test]
async fn signals_show_in_the_queue_the_visit_page_and_progress() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    // 15:00–15:05 UTC is 22:00–22:05 WIB, and 5 minutes for a family of 2 found (16 expected).
    let mut night = visit(Some("A-1"));
    night.device_times.started_at = "2026-11-20T15:00:00Z".parse().unwrap();
    night.device_times.finalised_at = Some("2026-11-20T15:05:00Z".parse().unwrap());
    let mut day = visit(Some("A-2"));
    day.device_times.started_at = "2026-11-20T02:00:00Z".parse().unwrap();
    day.device_times.finalised_at = Some("2026-11-20T02:40:00Z".parse().unwrap());
    let night_id = night.visit_id.to_string();
    let day_id = day.visit_id.to_string();
    kit.sync(&device, 0, vec![night, day]).await;
    let session = login(&kit, "sup").await;

    let queue = get(&kit, "/queue?signals=1", Some(&session)).await;
    assert_eq!(queue.status, StatusCode::OK);
    let text = queue.text();
    assert!(text.contains("id=\"queue-count\">1<"), "{text}");
    assert!(text.contains(&night_id) || text.contains("Budi RT 01"));
    assert!(text.contains("Ditemukan, selesai terlalu cepat; Jam kunjungan tidak wajar"));
    assert!(
        !text.contains("Siti RT 02"),
        "the daytime visit has no signal"
    );

    let page = get(&kit, &format!("/visits/{night_id}"), Some(&session)).await;
    let text = page.text();
    assert!(text.contains("Kunjungan pada pukul 22:00 WIB"), "{text}");
    assert!(text.contains("selesai dalam 5 menit untuk 2 anggota"));
    let page = get(&kit, &format!("/visits/{day_id}"), Some(&session)).await;
    let text = page.text();
    let signals = &text[text.find("id=\"signals\"").unwrap()..];
    assert!(signals[..signals.find("</section>").unwrap()].contains("Tidak ada"));

    let progress = get(&kit, "/progress", Some(&session)).await;
    let text = progress.text();
    let table = &text[text
        .find("<table id=\"signals\">")
        .expect("the signals table")..];
    assert!(table.contains("enum1"));
    assert!(table.contains("Jam kunjungan tidak wajar: 1"));
}

#[tokio::test]
async fn keeping_a_conflicting_copy_recomputes_the_visit_s_signals_from_the_content_kept() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    // Found in 5 minutes for a family of 2: fast. The conflicting copy says "not found", which may be quick.
    let mut doc = visit(Some("A-1"));
    doc.device_times.started_at = "2026-11-20T02:00:00Z".parse().unwrap();
    doc.device_times.finalised_at = Some("2026-11-20T02:05:00Z".parse().unwrap());
    kit.sync(&device, 0, vec![doc.clone()]).await;
    let mut other = doc.clone();
    other.answers.insert("outcome".into(), json!("0"));
    other
        .answers
        .insert("why_not_found".into(), json!("Pindah"));
    let response = kit.sync(&device, 0, vec![other]).await;
    assert_eq!(response.receipts[0].status, ReceiptStatus::Rejected);
    let kinds = |kit: &Kit| -> Vec<String> {
        kit.db()
            .read(|tx| {
                let mut stmt = tx.prepare("SELECT kind FROM visit_signals ORDER BY kind")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect::<Result<Vec<String>, _>>()
            })
            .unwrap()
    };
    assert_eq!(kinds(&kit), vec!["fast_found".to_string()]);

    let session = login(&kit, "sup").await;
    let page = get(&kit, "/conflicts", Some(&session)).await;
    let csrf = csrf_of(&page);
    let id: i64 = kit
        .db()
        .read(|tx| tx.query_row("SELECT id FROM conflicts", [], |r| r.get(0)))
        .unwrap();
    let reply = post(
        &kit,
        &format!("/conflicts/{id}/keep"),
        &format!("{SESSION_COOKIE}={session}"),
        &[("csrf", &csrf), ("keep", "other")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(kinds(&kit), Vec::<String>::new());
}
