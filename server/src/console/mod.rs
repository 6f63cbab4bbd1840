//! The web console that `tepat-server serve` serves at `/`: supervisors review, return and approve visits,
//! watch progress, resolve conflicts and export; the admin manages users, devices, enrolment codes, assignments
//! and forms.
//!
//! Pages are rendered on the server from templates compiled into the binary (askama, HTML auto-escaped), with
//! one small CSS file and one small script, both embedded: nothing is loaded from another host, and the
//! Content-Security-Policy says so. People log in with a password ([`session`]); every form carries the
//! session's CSRF token; every query is scoped by the same SQL as the API's ([`crate::regions::scope_sql`],
//! [`crate::pull`], [`crate::progress`], [`crate::export`], [`crate::review`]).

pub mod admin_pages;
pub mod i18n;
pub mod pages;
pub mod queue;
pub mod session;
pub mod visit;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tepat_protocol::Role;

use crate::api::{App, AppState, blocking};
use crate::db::DbError;
use crate::serve::Peer;
use i18n::{Tr, parse_lang};
use session::{Found, Login, Session};

pub const SESSION_COOKIE: &str = "tepat_session";
pub const LANG_COOKIE: &str = "tepat_lang";
/// The login form's own CSRF token (double-submitted: cookie and field), before there is a session.
pub const LOGIN_COOKIE: &str = "tepat_login";

/// Password checks running at once (each holds argon2id's 19 MiB).
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Largest form a console page posts (an assignment CSV or a form's JSON pasted or read from a file).
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// No script or style from anywhere but this server, no inline script, no framing, forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// The console's routes, merged into the API's router (`api::router`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(set_lang))
        .route("/console.css", get(css))
        .route("/console.js", get(js))
        .route("/queue", get(queue::page))
        .route("/visits/{visit_id}", get(visit::page))
        .route("/visits/{visit_id}/review", post(visit::review))
        .route("/visits/{visit_id}/photos/{sha256}", get(visit::photo))
        .route(
            "/visits/{visit_id}/photos/{sha256}/preview",
            get(visit::photo_preview),
        )
        .route("/conflicts", get(pages::conflicts))
        .route("/conflicts/{id}/keep", post(pages::keep_conflict))
        .route("/progress", get(pages::progress))
        .route("/exports", get(pages::exports))
        .route("/exports/{file}", get(pages::export_file))
        .route("/admin", get(admin_pages::page))
        .route("/admin/users", post(admin_pages::create_user))
        .route("/admin/password", post(admin_pages::set_password))
        .route("/admin/codes", post(admin_pages::enrol_code))
        .route(
            "/admin/devices/{device_id}/revoke",
            post(admin_pages::revoke),
        )
        .route("/admin/assignments", post(admin_pages::import))
        .route("/admin/forms", post(admin_pages::publish))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(security_headers))
}

/// Every console answer: the CSP and its companions; pages are not cached (they hold personal data).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What goes wrong on a console page; shown as a page in both languages.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("not found")]
    NotFound,
    #[error("not for this role")]
    Forbidden,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal,
}

impl From<DbError> for ConsoleError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "console");
        ConsoleError::Internal
    }
}

impl From<crate::db::sql::Error> for ConsoleError {
    fn from(e: crate::db::sql::Error) -> Self {
        ConsoleError::from(DbError::from(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    id: &'a str,
    en: &'a str,
    detail: &'a str,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let id = Tr::new(tepat_form::Lang::Id);
        let en = Tr::new(tepat_form::Lang::En);
        let (status, key) = match &self {
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "error.not_found"),
            ConsoleError::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "error.csrf"),
            ConsoleError::BadRequest(_) => (StatusCode::BAD_REQUEST, "error.title"),
            ConsoleError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
        };
        let detail = match &self {
            ConsoleError::BadRequest(m) => m.as_str(),
            _ => "",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            id: id.get(key),
            en: en.get(key),
            detail,
        };
        (status, html(page.render())).into_response()
    }
}

/// A rendered template as an HTML response.
pub fn html(rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a console page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Runs database work off the executor (on the API's bounded blocking threads).
pub async fn work<T, F>(state: &AppState, f: F) -> Result<T, ConsoleError>
where
    T: Send + 'static,
    F: FnOnce(&App) -> Result<T, ConsoleError> + Send + 'static,
{
    blocking(state, move |app| Ok(f(app)))
        .await
        .map_err(|_| ConsoleError::Internal)?
}

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over TLS: this server terminates it, or a proxy says so.
fn is_tls(parts_headers: &HeaderMap, peer: Option<&Peer>) -> bool {
    peer.is_some_and(|p| p.tls)
        || parts_headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A cookie for this console: HttpOnly, SameSite=Strict, Secure over TLS.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<i64>, tls: bool) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if tls {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The address failed logins are counted against: the peer, or the client a proxy on this host names (the last
/// `X-Forwarded-For` entry, which the proxy itself wrote).
fn client_address(headers: &HeaderMap, peer: Option<&Peer>) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if peer.addr.ip().is_loopback()
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
    {
        let forwarded = forwarded.trim();
        if !forwarded.is_empty() && forwarded.len() <= 64 {
            return forwarded.to_string();
        }
    }
    peer.addr.ip().to_string()
}

/// A local path to go back to after logging in or switching language; anything else is the home page.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 2000
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A logged-in supervisor or admin, with the page's language.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: Session,
    pub t: Tr,
    pub tls: bool,
}

impl Staff {
    pub fn user_id(&self) -> &str {
        &self.session.user.user_id
    }

    pub fn require(&self, role: Role) -> Result<(), ConsoleError> {
        if self.session.user.role == role {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    /// The API's caller for this person: reviews made here are recorded as from device `console`.
    pub fn caller(&self) -> crate::auth::Caller {
        let user = &self.session.user;
        crate::auth::Caller {
            device_id: "console".into(),
            user_id: user.user_id.clone(),
            name: user.name.clone(),
            role: user.role,
            regions: user.regions.clone(),
        }
    }

    /// The page frame: header, navigation, language switch.
    pub fn chrome(&self, nav: &'static str, here: &Uri) -> Chrome {
        Chrome {
            user_name: self.session.user.name.clone(),
            is_supervisor: self.session.user.role == Role::Supervisor,
            is_admin: self.session.user.role == Role::Admin,
            csrf: self.session.csrf.clone(),
            nav,
            here: here
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        }
    }
}

/// What every page's frame shows.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub user_name: String,
    pub is_supervisor: bool,
    pub is_admin: bool,
    pub csrf: String,
    pub nav: &'static str,
    pub here: String,
}

fn lang_of(headers: &HeaderMap) -> Tr {
    Tr::new(parse_lang(cookie(headers, LANG_COOKIE)))
}

fn to_login(uri: &Uri, clear: bool, tls: bool) -> Response {
    let next = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!("/login?next={}", percent_encode(next));
    let mut response = Redirect::to(&target).into_response();
    if clear {
        let gone = set_cookie(SESSION_COOKIE, "", "/", Some(0), tls);
        if let Ok(value) = HeaderValue::from_str(&gone) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

/// Percent-encodes everything but unreserved characters (for a query value).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let tls = is_tls(&parts.headers, parts.extensions.get::<Peer>());
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(to_login(&parts.uri, false, tls));
        };
        if token.len() != 64 {
            return Err(to_login(&parts.uri, true, tls));
        }
        let now = Utc::now();
        let found = work(state, move |app| {
            let found = app.db.read(|tx| session::find(tx, &token, now))?;
            if let Found::Stale(s) = &found {
                app.db.write(|tx| session::touch(tx, &s.token_hash, now))?;
            }
            Ok(found)
        })
        .await
        .map_err(IntoResponse::into_response)?;
        match found {
            Found::Live(session) | Found::Stale(session) => Ok(Staff {
                session,
                t: lang_of(&parts.headers),
                tls,
            }),
            Found::None => Err(to_login(&parts.uri, true, tls)),
        }
    }
}

/// Every console form has its session's CSRF token in the field `csrf`.
pub trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// A posted console form from a logged-in person, its CSRF token checked (and, when the browser names one, its
/// `Origin` checked against `Host`).
pub struct Posted<T> {
    pub staff: Staff,
    pub form: T,
    pub uri: Uri,
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    !host.is_empty() && origin_host == host
}

impl<T> FromRequest<AppState> for Posted<T>
where
    T: DeserializeOwned + CsrfForm + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers) {
            return Err(ConsoleError::Csrf.into_response());
        }
        let uri = parts.uri.clone();
        let request = Request::from_parts(parts, body);
        let axum::Form(form) = axum::Form::<T>::from_request(request, state)
            .await
            .map_err(|e| ConsoleError::BadRequest(e.body_text()).into_response())?;
        if !session::same_secret(form.csrf(), &staff.session.csrf) {
            tracing::warn!(user = %staff.user_id(), "console form refused: CSRF token");
            return Err(ConsoleError::Csrf.into_response());
        }
        Ok(Posted { staff, form, uri })
    }
}

/// Implements [`CsrfForm`] for form structs with a `csrf: String` field.
macro_rules! csrf_form {
    ($($ty:ty),* $(,)?) => {
        $(impl $crate::console::CsrfForm for $ty {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}
pub(crate) use csrf_form;

/// A redirect after a successful POST (so reloading does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

async fn home(staff: Result<Staff, Response>) -> Response {
    match staff {
        Ok(staff) if staff.session.user.role == Role::Admin => see_other("/admin"),
        Ok(_) => see_other("/queue"),
        Err(login) => login,
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    to: Option<String>,
    back: Option<String>,
}

/// `GET /lang?to=en&back=/queue`: remembers the language (a year) and goes back.
async fn set_lang(headers: HeaderMap, request: Request) -> Response {
    let tls = is_tls(&headers, request.extensions().get::<Peer>());
    let Query(query) = match Query::<LangQuery>::try_from_uri(request.uri()) {
        Ok(q) => q,
        Err(_) => return ConsoleError::BadRequest("to=id|en".into()).into_response(),
    };
    let lang = if query.to.as_deref() == Some("en") {
        "en"
    } else {
        "id"
    };
    let mut response = see_other(&local_path(query.back.as_deref()));
    let cookie = set_cookie(LANG_COOKIE, lang, "/", Some(365 * 24 * 3600), tls);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: Tr,
    csrf: &'a str,
    next: &'a str,
    user: &'a str,
    problem: Option<&'a str>,
    wait: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_response(
    page: &LoginPage<'_>,
    status: StatusCode,
    csrf_cookie: Option<String>,
) -> Response {
    let mut response = (status, html(page.render())).into_response();
    if let Some(cookie) = csrf_cookie
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn login_page(headers: HeaderMap, request: Request) -> Response {
    let tls = is_tls(&headers, request.extensions().get::<Peer>());
    let next = Query::<NextQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|q| q.0.next);
    let next = local_path(next.as_deref());
    let token = session::new_secret();
    let page = LoginPage {
        t: lang_of(&headers),
        csrf: &token,
        next: &next,
        user: "",
        problem: None,
        wait: None,
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, "/login", None, tls);
    login_response(&page, StatusCode::OK, Some(cookie))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    user: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_submit(State(state): State<AppState>, request: Request) -> Response {
    let peer = request.extensions().get::<Peer>().copied();
    let headers = request.headers().clone();
    let t = lang_of(&headers);
    let tls = is_tls(&headers, peer.as_ref());
    if !same_origin(&headers) {
        return ConsoleError::Csrf.into_response();
    }
    let form = match axum::Form::<LoginForm>::from_request(request, &state).await {
        Ok(axum::Form(form)) => form,
        Err(e) => return ConsoleError::BadRequest(e.body_text()).into_response(),
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same_secret(expected, &form.csrf) {
        return ConsoleError::Csrf.into_response();
    }
    let next = local_path(Some(&form.next));
    let user_id: String = form.user.trim().chars().take(100).collect();
    let address = client_address(&headers, peer.as_ref());
    let outcome = {
        let user_id = user_id.clone();
        let password = form.password;
        // argon2id takes 19 MiB a check: a few at once, whatever the number of requests.
        let _slot = PASSWORD_CHECKS.acquire().await.ok();
        work(&state, move |app| {
            Ok(session::login(
                &app.db,
                &user_id,
                &password,
                &address,
                Utc::now(),
            )?)
        })
        .await
    };
    let page = |problem: Option<&'static str>, wait: Option<i64>| LoginPage {
        t,
        csrf: &form.csrf,
        next: &next,
        user: &user_id,
        problem: problem.map(|k| t.get(k)),
        wait,
    };
    match outcome {
        Ok(Login::Ok { token, user_id }) => {
            tracing::info!(user = %user_id, "console login");
            let mut response = see_other(&next);
            let cookie = set_cookie(SESSION_COOKIE, &token, "/", None, tls);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            let spent = set_cookie(LOGIN_COOKIE, "", "/login", Some(0), tls);
            if let Ok(value) = HeaderValue::from_str(&spent) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Login::Failed) => {
            tracing::warn!(user = %user_id, "console login failed");
            login_response(
                &page(Some("login.failed"), None),
                StatusCode::UNAUTHORIZED,
                None,
            )
        }
        Ok(Login::NoConsole) => login_response(
            &page(Some("login.no_console"), None),
            StatusCode::FORBIDDEN,
            None,
        ),
        Ok(Login::Wait(secs)) => {
            tracing::warn!(user = %user_id, secs, "console login slowed");
            let mut response = login_response(
                &page(Some("login.slow"), Some(secs)),
                StatusCode::TOO_MANY_REQUESTS,
                None,
            );
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}
csrf_form!(LogoutForm);

async fn logout(State(state): State<AppState>, posted: Posted<LogoutForm>) -> Response {
    let hash = posted.staff.session.token_hash.clone();
    let tls = posted.staff.tls;
    if let Err(e) = work(&state, move |app| {
        Ok(app.db.write(|tx| session::end(tx, &hash))?)
    })
    .await
    {
        return e.into_response();
    }
    tracing::info!(user = %posted.staff.user_id(), "console logout");
    let mut response = see_other("/login");
    let gone = set_cookie(SESSION_COOKIE, "", "/", Some(0), tls);
    if let Ok(value) = HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
pub(crate) mod tests;
