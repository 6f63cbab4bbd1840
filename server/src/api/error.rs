//! Every error answer is JSON: `ApiError { error, message, limit? }` with a stable code and a message naming the
//! problem. Internal details go to the log, not to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tepat_protocol::ApiError;

use crate::db::DbError;

/// An error answer: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub body: ApiError,
}

impl Failure {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Failure {
            status,
            body: ApiError {
                error: error.to_string(),
                message: message.into(),
                limit: None,
            },
        }
    }

    pub fn bad_request(error: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, message)
    }

    pub fn unauthorized(error: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(error: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error, message)
    }

    pub fn conflict(error: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error, message)
    }

    /// 413 with the limit that was exceeded.
    pub fn too_large(error: &str, message: impl Into<String>, limit: u64) -> Self {
        let mut f = Self::new(StatusCode::PAYLOAD_TOO_LARGE, error, message);
        f.body.limit = Some(limit);
        f
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; the request was not applied",
        )
    }

    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is busy; retry shortly (nothing was applied)",
        )
    }
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        if e.is_busy() {
            tracing::warn!(error = %e, "database busy");
            return Failure::busy();
        }
        tracing::error!(error = %e, "database error");
        // Tests have no log subscriber: the cause of a 500 shows in the failing test's output.
        #[cfg(test)]
        eprintln!("database error: {e}");
        Failure::internal()
    }
}

impl From<crate::db::sql::Error> for Failure {
    fn from(e: crate::db::sql::Error) -> Self {
        DbError::from(e).into()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body)
            .unwrap_or_else(|_| b"{\"error\":\"internal\",\"message\":\"\"}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}
