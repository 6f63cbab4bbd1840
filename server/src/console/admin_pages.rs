//! The admin's page: users and their regions (and console passwords), enrolment codes as text and QR code, devices
//! with revoke, assignment import with every row's problem, and form publishing with every problem the form
//! engine finds. Each action is the `tepat-server admin` command of the same name ([`crate::admin`]).

use crate::db::sql::Transaction;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use tepat_protocol::Role;

use super::i18n::Tr;
use super::{Chrome, ConsoleError, Posted, csrf_form, html, see_other, work};
use crate::admin::{self, AdminError};
use crate::api::{App, AppState};
use crate::assignments::{self, ImportError};
use crate::auth;
use crate::db::DbError;
use crate::forms::{self, PublishError, Published};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub user_id: String,
    pub name: String,
    pub role: String,
    pub regions: String,
    pub devices: u32,
    pub has_password: bool,
}

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub device_id: String,
    pub user_id: String,
    pub name: String,
    pub enrolled_at: String,
    pub last_seen_at: String,
    pub revoked: bool,
}

/// What the last action did, shown above the lists.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// A table key of a success message.
    pub done: Option<&'static str>,
    pub detail: String,
    /// Problems, one a line (rows of an import, problems of a form, a refused field).
    pub problems: Vec<String>,
    /// An enrolment code just made: the code, its QR code (SVG) and expiry.
    pub code: Option<(String, String, String)>,
}

fn users(tx: &Transaction<'_>) -> Result<Vec<UserRow>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT u.user_id, u.name, u.role,
                coalesce((SELECT string_agg(region_code, ' ') FROM user_regions r WHERE r.user_id = u.user_id), ''),
                (SELECT count(*) FROM devices d WHERE d.user_id = u.user_id AND d.revoked_at IS NULL),
                u.password_hash IS NOT NULL
         FROM users u ORDER BY u.role, u.user_id LIMIT 2000",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(UserRow {
            user_id: r.get(0)?,
            name: r.get(1)?,
            role: r.get(2)?,
            regions: r.get(3)?,
            devices: r.get(4)?,
            has_password: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn devices(tx: &Transaction<'_>) -> Result<Vec<DeviceRow>, DbError> {
    let mut stmt = tx.prepare_cached(
        "SELECT device_id, user_id, name, enrolled_at, coalesce(last_seen_at, ''), revoked_at IS NOT NULL
         FROM devices ORDER BY revoked_at IS NOT NULL, user_id, enrolled_at LIMIT 2000",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceRow {
            device_id: r.get(0)?,
            user_id: r.get(1)?,
            name: r.get(2)?,
            enrolled_at: r.get::<_, String>(3)?.chars().take(16).collect(),
            last_seen_at: r.get::<_, String>(4)?.chars().take(16).collect(),
            revoked: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminTemplate {
    t: Tr,
    chrome: Chrome,
    users: Vec<UserRow>,
    devices: Vec<DeviceRow>,
    outcome: Outcome,
}

fn render(
    app: &App,
    t: Tr,
    chrome: Chrome,
    outcome: Outcome,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let (users, devices) = app
        .db
        .read(|tx| Ok::<_, DbError>((users(tx)?, devices(tx)?)))?;
    Ok((
        status,
        html(
            AdminTemplate {
                t,
                chrome,
                users,
                devices,
                outcome,
            }
            .render(),
        ),
    )
        .into_response())
}

/// `GET /admin`.
pub async fn page(
    State(state): State<AppState>,
    staff: super::Staff,
    uri: Uri,
) -> Result<Response, ConsoleError> {
    staff.require(Role::Admin)?;
    let t = staff.t;
    let chrome = staff.chrome("admin", &uri);
    work(&state, move |app| {
        render(app, t, chrome, Outcome::default(), StatusCode::OK)
    })
    .await
}

/// Runs an admin action and renders the page with its outcome (problems: 422).
async fn act<F>(
    state: &AppState,
    posted_staff: super::Staff,
    f: F,
) -> Result<Response, ConsoleError>
where
    F: FnOnce(&App, Tr) -> Result<Outcome, ConsoleError> + Send + 'static,
{
    posted_staff.require(Role::Admin)?;
    let t = posted_staff.t;
    let chrome = posted_staff.chrome("admin", &Uri::from_static("/admin"));
    work(state, move |app| {
        let outcome = f(app, t)?;
        let status = if outcome.problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        render(app, t, chrome, outcome, status)
    })
    .await
}

fn problem(text: impl Into<String>) -> Outcome {
    Outcome {
        problems: vec![text.into()],
        ..Outcome::default()
    }
}

fn admin_outcome(
    result: Result<String, AdminError>,
    done: &'static str,
) -> Result<Outcome, ConsoleError> {
    match result {
        Ok(detail) => Ok(Outcome {
            done: Some(done),
            detail,
            ..Outcome::default()
        }),
        Err(AdminError::Db(e)) => Err(e.into()),
        Err(e) => Ok(problem(e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    id: String,
    name: String,
    role: String,
    #[serde(default)]
    regions: String,
}
csrf_form!(UserForm);

/// `POST /admin/users`: `tepat-server admin create-user`.
pub async fn create_user(
    State(state): State<AppState>,
    posted: Posted<UserForm>,
) -> Result<Response, ConsoleError> {
    let form = posted.form;
    act(&state, posted.staff, move |app, _| {
        let Some(role) = auth::parse_role(&form.role) else {
            return Ok(problem(format!("role: {:?} is not a role", form.role)));
        };
        let regions: Vec<String> = form
            .regions
            .split_whitespace()
            .map(str::to_string)
            .collect();
        admin_outcome(
            admin::create_user(&app.db, form.id.trim(), &form.name, role, &regions),
            "admin.users.created",
        )
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    user: String,
    password: String,
}
csrf_form!(PasswordForm);

/// `POST /admin/password`: `tepat-server admin set-password`.
pub async fn set_password(
    State(state): State<AppState>,
    posted: Posted<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let form = posted.form;
    act(&state, posted.staff, move |app, _| {
        admin_outcome(
            admin::set_password(&app.db, form.user.trim(), &form.password),
            "admin.password.set",
        )
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    user: String,
}
csrf_form!(CodeForm);

/// The QR code of an enrolment code as an SVG image (black modules, no style attributes: the CSP allows it).
pub fn qr_svg(text: &str) -> Result<String, ConsoleError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "qr code");
        ConsoleError::Internal
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build())
}

/// `POST /admin/codes`: `tepat-server admin enrol-code`, shown as text and as a QR code.
pub async fn enrol_code(
    State(state): State<AppState>,
    posted: Posted<CodeForm>,
) -> Result<Response, ConsoleError> {
    let user = posted.form.user.trim().to_string();
    act(&state, posted.staff, move |app, _| match admin::enrol_code(
        &app.db,
        &user,
        admin::DEFAULT_CODE_TTL_HOURS,
    ) {
        Ok(code) => {
            let expires = Utc::now() + Duration::hours(i64::from(admin::DEFAULT_CODE_TTL_HOURS));
            Ok(Outcome {
                done: Some("admin.code.title"),
                detail: user,
                code: Some((
                    code.clone(),
                    qr_svg(&code)?,
                    expires.format("%Y-%m-%d %H:%M UTC").to_string(),
                )),
                ..Outcome::default()
            })
        }
        Err(AdminError::Db(e)) => Err(e.into()),
        Err(e) => Ok(problem(e.to_string())),
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}
csrf_form!(CsrfOnly);

/// `POST /admin/devices/{device_id}/revoke`: `tepat-server admin revoke-device`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    posted: Posted<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    posted.staff.require(Role::Admin)?;
    let result = work(&state, move |app| {
        match admin::revoke_device(&app.db, &device_id) {
            Ok(_) => Ok(()),
            Err(AdminError::Db(e)) => Err(e.into()),
            Err(_) => Err(ConsoleError::NotFound),
        }
    })
    .await;
    result.map(|()| see_other("/admin#devices"))
}

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    csv: String,
}
csrf_form!(ImportForm);

/// `POST /admin/assignments`: the CSV (uploaded or pasted), all or nothing, every problem by line and column.
pub async fn import(
    State(state): State<AppState>,
    posted: Posted<ImportForm>,
) -> Result<Response, ConsoleError> {
    // Browsers send a textarea's line breaks as CRLF: the CSV reader numbers them as the operator sees them.
    let csv = posted.form.csv;
    act(&state, posted.staff, move |app, _| {
        let result = app
            .db
            .write(|tx| assignments::import_csv(tx, csv.as_bytes(), Utc::now()));
        match result {
            Ok(report) => Ok(Outcome {
                done: Some("admin.assign.done"),
                detail: format!("+{} / ={}", report.added, report.unchanged),
                ..Outcome::default()
            }),
            Err(ImportError::Rows(rows)) => Ok(Outcome {
                problems: rows.iter().map(ToString::to_string).collect(),
                ..Outcome::default()
            }),
            Err(ImportError::Db(e)) => Err(e.into()),
        }
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    json: String,
}
csrf_form!(PublishForm);

/// `POST /admin/forms`: publishes a form version after the form engine's check, showing every problem it finds.
pub async fn publish(
    State(state): State<AppState>,
    posted: Posted<PublishForm>,
) -> Result<Response, ConsoleError> {
    let json = posted.form.json;
    act(&state, posted.staff, move |app, _| {
        match app.db.write(|tx| forms::publish(tx, &json, Utc::now())) {
            Ok(Published::New { form_id, version }) => Ok(Outcome {
                done: Some("admin.form.done"),
                detail: format!("{form_id} v{version}"),
                ..Outcome::default()
            }),
            Ok(Published::Unchanged { form_id, version }) => Ok(Outcome {
                done: Some("admin.form.unchanged"),
                detail: format!("{form_id} v{version}"),
                ..Outcome::default()
            }),
            Err(PublishError::Load(errors)) => Ok(Outcome {
                problems: errors.0.iter().map(ToString::to_string).collect(),
                ..Outcome::default()
            }),
            Err(PublishError::Db(e)) => Err(e.into()),
            Err(e) => Ok(problem(e.to_string())),
        }
    })
    .await
}
