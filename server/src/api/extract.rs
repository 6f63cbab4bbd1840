//! Request extractors that answer every problem with a JSON [`Failure`] (axum's own rejections are plain text):
//! the bearer token ([`Caller`]), JSON bodies (gzip, size limits, types and unknown fields named by path) and
//! query strings.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use flate2::read::GzDecoder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::protocol::Role;

use super::error::Failure;
use super::{AppState, blocking};
use crate::auth::{self, AuthError, Caller};

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        blocking(state, move |app| {
            app.db.read(|tx| match auth::authenticate(tx, &token) {
                Ok(caller) => Ok(caller),
                Err(AuthError::UnknownToken) => Err(Failure::unauthorized(
                    "unknown_token",
                    "the bearer token is not known to this server",
                )),
                Err(AuthError::Revoked) => Err(Failure::unauthorized(
                    "revoked_token",
                    "this device was revoked; enrol it again with a new code",
                )),
                Err(AuthError::Db(e)) => Err(e.into()),
            })
        })
        .await
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<String, Failure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Failure::unauthorized(
            "missing_token",
            "the Authorization: Bearer <device token> header is missing",
        ));
    };
    let value = value.to_str().map_err(|_| {
        Failure::unauthorized("bad_token", "the Authorization header is not readable text")
    })?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Failure::unauthorized(
                "bad_token",
                "the Authorization header must be `Bearer <device token>`",
            )
        })?;
    if token.len() > 256 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Failure::unauthorized(
            "bad_token",
            "the bearer token is malformed",
        ));
    }
    Ok(token.to_string())
}

/// Refuses callers whose role may not use an endpoint.
pub fn require_role(caller: &Caller, allowed: &[Role], what: &str) -> Result<(), Failure> {
    if allowed.contains(&caller.role) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|r| auth::role_name(*r)).collect();
    Err(Failure::forbidden(format!(
        "{what} is for {} devices; this device's user is a {}",
        names.join(" or "),
        auth::role_name(caller.role)
    )))
}

/// A JSON request body, checked for size, encoding, syntax, types and unknown fields.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> FromRequest<AppState> for JsonBody<T>
where
    T: DeserializeOwned + Serialize + Send + 'static,
{
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limits = state.limits().clone();
        let headers = req.headers().clone();
        if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
            let essence = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            if !essence.eq_ignore_ascii_case("application/json") {
                return Err(Failure::new(
                    axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("Content-Type must be application/json, not {essence:?}"),
                ));
            }
        }
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
            return Err(body_too_large(limits.max_body_bytes));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limits.max_body_bytes)
            .await
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    body_too_large(limits.max_body_bytes)
                } else {
                    Failure::bad_request(
                        "bad_body",
                        format!("the request body could not be read: {e}"),
                    )
                }
            })?;
        let gzipped = content_encoding_is_gzip(&headers)?;
        blocking(state, move |_| {
            let raw = if gzipped {
                gunzip(&bytes, limits.max_decompressed_bytes)?
            } else {
                bytes
            };
            parse_json(&raw).map(JsonBody)
        })
        .await
    }
}

fn body_too_large(limit: usize) -> Failure {
    Failure::too_large(
        "body_too_large",
        format!("the request body is larger than the limit of {limit} bytes"),
        limit as u64,
    )
}

fn content_encoding_is_gzip(headers: &HeaderMap) -> Result<bool, Failure> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        other => Err(Failure::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported; send gzip or nothing"),
        )),
    }
}

/// Decompresses at most `limit` bytes: a gzip bomb is stopped at the limit, not after filling memory.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Bytes, Failure> {
    let mut out = Vec::new();
    let mut decoder = GzDecoder::new(bytes).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        Failure::bad_request("bad_gzip", format!("the gzip request body is corrupt: {e}"))
    })?;
    if out.len() > limit {
        return Err(Failure::too_large(
            "decompressed_too_large",
            format!("the request body decompresses to more than the limit of {limit} bytes"),
            limit as u64,
        ));
    }
    Ok(Bytes::from(out))
}

/// Parses JSON into `T`, naming the path of a wrong type and of any field `T` does not have.
pub fn parse_json<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, Failure> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Failure::bad_request("bad_json", format!("the body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(Failure::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    let parsed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Failure::bad_request("invalid_body", format!("{inner}"))
        } else {
            Failure::bad_request("invalid_field", format!("{path}: {inner}"))
        }
    })?;
    let round_trip = serde_json::to_value(&parsed).map_err(|_| Failure::internal())?;
    if let Some((at, problem)) = shape_problem(&value, &round_trip) {
        let path = path_text(&at);
        return Err(match (path.is_empty(), problem) {
            (true, _) => Failure::bad_request("invalid_body", "the body must be a JSON object"),
            (false, Shape::Unknown) => {
                Failure::bad_request("unknown_field", format!("{path}: unknown field"))
            }
            (false, Shape::NotObject) => {
                Failure::bad_request("invalid_field", format!("{path}: expected an object"))
            }
        });
    }
    Ok(parsed)
}

/// What [`shape_problem`] found.
enum Shape {
    /// A key `T` does not have.
    Unknown,
    /// Something other than an object where `T` has a struct (serde would take an array in field order).
    NotObject,
}

/// One step of a path into a body.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The first key present in `input` but not in `known` (what `T` serialises back), or a non-object where `T`
/// has an object, with its path (innermost step first). The path is only built once a problem is found: bodies
/// are walked key by key on every sync.
fn shape_problem<'a>(input: &'a Value, known: &Value) -> Option<(Vec<Step<'a>>, Shape)> {
    match (input, known) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(key, value)| {
            let (mut at, shape) = match b.get(key) {
                None => (Vec::new(), Shape::Unknown),
                Some(known) => shape_problem(value, known)?,
            };
            at.push(Step::Key(key));
            Some((at, shape))
        }),
        (_, Value::Object(_)) => Some((Vec::new(), Shape::NotObject)),
        (Value::Array(a), Value::Array(b)) => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| {
                let (mut at, shape) = shape_problem(x, y)?;
                at.push(Step::Index(i));
                Some((at, shape))
            })
        }
        _ => None,
    }
}

/// `visits[0].answers.x` from steps innermost first.
fn path_text(at: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in at.iter().rev() {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A query string parsed into `T`, with a JSON error naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| Failure::bad_request("bad_query", e.body_text()))
    }
}

/// Whether the client accepts a gzip answer (`Accept-Encoding: gzip`, not with `q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.replace(' ', "").starts_with("q=0")
                    && !p.contains(|c: char| ('1'..='9').contains(&c))
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use shared::protocol::ReviewRequest;
    use std::io::Write;

    #[test]
    fn unknown_fields_are_named_by_path() {
        let body = br#"{"visit_id":"00000000-0000-0000-0000-000000000000","revision":1,"decision":"approve","extra":1}"#;
        let err = parse_json::<ReviewRequest>(body).unwrap_err();
        assert_eq!(err.body.error, "unknown_field");
        assert_eq!(err.body.message, "extra: unknown field");
    }

    #[test]
    fn wrong_types_are_named_by_path() {
        let body = br#"{"visit_id":"00000000-0000-0000-0000-000000000000","revision":"one","decision":"approve"}"#;
        let err = parse_json::<ReviewRequest>(body).unwrap_err();
        assert_eq!(err.body.error, "invalid_field");
        assert!(
            err.body.message.starts_with("revision: invalid type"),
            "{}",
            err.body.message
        );
    }

    #[test]
    fn syntax_errors_give_the_position() {
        let err = parse_json::<ReviewRequest>(b"{\"visit_id\": ").unwrap_err();
        assert_eq!(err.body.error, "bad_json");
        assert!(err.body.message.contains("line 1"), "{}", err.body.message);
    }

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&vec![b' '; 1_000_000]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 10_000);
        let err = gunzip(&bomb, 100_000).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(err.body.limit, Some(100_000));
        assert_eq!(gunzip(&bomb, 1_000_000).unwrap().len(), 1_000_000);
        assert_eq!(gunzip(b"not gzip", 100).unwrap_err().body.error, "bad_gzip");
    }

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepts_gzip(&h)
        };
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn bearer_tokens_are_checked() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
            bearer_token(&h).map_err(|f| f.body.error)
        };
        assert_eq!(with("Bearer tpt_abc"), Ok("tpt_abc".to_string()));
        assert_eq!(with("Basic abc"), Err("bad_token".to_string()));
        assert_eq!(with("Bearer "), Err("bad_token".to_string()));
        assert_eq!(
            bearer_token(&HeaderMap::new()).unwrap_err().body.error,
            "missing_token"
        );
    }
}
