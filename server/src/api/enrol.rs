//! `POST /api/v1/enrol`: a one-time code becomes a device token.

use axum::extract::State;
use chrono::Utc;
use tepat_protocol::{EnrolRequest, EnrolResponse};

use super::extract::JsonBody;
use super::{AppState, Failure, blocking};
use crate::auth::{self, EnrolError};
use crate::names;

/// Longest device name.
pub const MAX_DEVICE_NAME_CHARS: usize = 100;

pub async fn enrol(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<EnrolRequest>,
) -> Result<axum::Json<EnrolResponse>, Failure> {
    let device_name = names::clean_name("device_name", &req.device_name, MAX_DEVICE_NAME_CHARS)
        .map_err(|e| Failure::bad_request("invalid_field", e.to_string()))?;
    let code = auth::normalise_code(&req.code);
    if code.is_empty()
        || code.chars().count() > 64
        || !code.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(Failure::bad_request(
            "invalid_field",
            "code: an enrolment code is letters and digits, e.g. ABCD-EFGH-JKLM",
        ));
    }
    let now = Utc::now();
    let enrolled = blocking(&state, move |app| {
        app.db
            .write(|tx| match auth::enrol(tx, &code, &device_name, now) {
                Ok(enrolled) => Ok(enrolled),
                Err(EnrolError::UnknownCode) => Err(Failure::unauthorized(
                    "unknown_code",
                    EnrolError::UnknownCode.to_string(),
                )),
                Err(EnrolError::CodeUsed) => Err(Failure::conflict(
                    "code_used",
                    EnrolError::CodeUsed.to_string(),
                )),
                Err(e @ EnrolError::CodeExpired(_)) => Err(Failure::new(
                    axum::http::StatusCode::GONE,
                    "code_expired",
                    e.to_string(),
                )),
                Err(EnrolError::Db(e)) => Err(e.into()),
            })
    })
    .await?;
    tracing::info!(device_id = %enrolled.device_id, user_id = %enrolled.user.user_id, "device enrolled");
    Ok(axum::Json(EnrolResponse {
        device_id: enrolled.device_id,
        token: enrolled.token,
        user: enrolled.user,
        server_time: now,
    }))
}
