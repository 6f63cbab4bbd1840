//! Request extractors that answer every problem with a JSON [`Failure`] (axum's own rejections are plain text):
//! the bearer token ([`Caller`]), JSON bodies (gzip, size and structural limits, types and unknown fields named by
//! path) and query strings.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use flate2::read::GzDecoder;
use serde::de::DeserializeOwned;
use tepat_protocol::bounds::{self, BodyLimits, Object, Refusal, RefusalKind};
use tepat_protocol::{EnrolRequest, ReviewRequest, Role, SyncRequest};

use super::error::Failure;
use super::{AppState, blocking};
use crate::auth::{self, AuthError, Caller};
use crate::config::Limits;

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

/// A request body type, with the byte limits it is read under (as sent, and after gzip decompression).
pub trait RequestBody: DeserializeOwned + Send + 'static {
    /// `(bytes as sent, bytes after decompression)`; by default the server's general body limits.
    fn byte_limits(limits: &Limits) -> (usize, usize) {
        (limits.max_body_bytes, limits.max_decompressed_bytes)
    }
}

impl RequestBody for SyncRequest {}

impl RequestBody for ReviewRequest {}

/// Enrolment needs no token: a stranger's body is refused past a few KB, also once unpacked.
impl RequestBody for EnrolRequest {
    fn byte_limits(limits: &Limits) -> (usize, usize) {
        (
            limits.max_enrol_body_bytes,
            limits.max_enrol_decompressed_bytes,
        )
    }
}

/// A JSON request body, checked for size, encoding, syntax, types, unknown fields and structural limits.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: RequestBody> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (max_body, max_decompressed) = T::byte_limits(state.limits());
        let body_limits = state.limits().body();
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
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(body_too_large(max_body));
        }
        let gzipped = content_encoding_is_gzip(&headers)?;
        let bytes = axum::body::to_bytes(req.into_body(), max_body)
            .await
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    body_too_large(max_body)
                } else {
                    Failure::bad_request(
                        "bad_body",
                        format!("the request body could not be read: {e}"),
                    )
                }
            })?;
        blocking(state, move |_| {
            let raw = if gzipped {
                gunzip(&bytes, max_decompressed)?
            } else {
                bytes
            };
            parse_json(&raw, body_limits).map(JsonBody)
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
    // Room for a typical ratio up front (sync bodies unpack ~5-10x), never more than the limit allows.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(8).min(limit + 1));
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

/// Parses a JSON body straight from its bytes into `T`: no intermediate `serde_json::Value` of the body.
///
/// - Structural limits ([`BodyLimits`]: visits, answers, text length, list size, depth, notes) are checked by
///   the wire types' own deserializers while they read ([`bounds`]), so a 200,000-member roster stops at the
///   101st member. A broken limit is a 413 (visits per batch) or 422 naming the path and the limit.
/// - Unknown keys are found with `serde_ignored` (which sees every key serde skips) rather than
///   `deny_unknown_fields` on the shared types: the phone parses the same types from server responses and
///   must stay forward-compatible with fields a newer server adds. The first one is refused by its path.
/// - Every struct must be a JSON object ([`bounds::Object`]); serde would also take an array of its fields.
/// - Wrong types and missing fields are named by path (`visits[1].revision: invalid type ...`), through
///   `serde_path_to_error`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], limits: BodyLimits) -> Result<T, Failure> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(Failure::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    let mut unknown: Option<String> = None;
    let (parsed, refusal) = bounds::parse_within(limits, || {
        let mut json = serde_json::Deserializer::from_slice(bytes);
        let mut note_unknown = |path: serde_ignored::Path<'_>| {
            if unknown.is_none() {
                unknown = Some(ignored_path(&path));
            }
        };
        let parsed = serde_path_to_error::deserialize::<_, Object<T>>(
            serde_ignored::Deserializer::new(&mut json, &mut note_unknown),
        )
        .map_err(BodyError::Path)?;
        json.end().map_err(BodyError::Trailing)?;
        Ok(parsed.0)
    });
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return Err(body_failure(error, refusal)),
    };
    if let Some(path) = unknown {
        return Err(Failure::bad_request(
            "unknown_field",
            format!("{path}: unknown field"),
        ));
    }
    Ok(parsed)
}

/// Why a body did not parse.
enum BodyError {
    Path(serde_path_to_error::Error<serde_json::Error>),
    Trailing(serde_json::Error),
}

fn body_failure(error: BodyError, refusal: Option<Refusal>) -> Failure {
    let (path, inner) = match error {
        BodyError::Path(e) => (e.path().to_string(), e.into_inner()),
        BodyError::Trailing(e) => (".".to_string(), e),
    };
    if let Some(refusal) = refusal {
        return limit_failure(&path, &refusal);
    }
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            Failure::bad_request("bad_json", format!("the body is not valid JSON: {inner}"))
        }
        _ if path == "." => Failure::bad_request("invalid_body", format!("{inner}")),
        _ => Failure::bad_request("invalid_field", format!("{path}: {inner}")),
    }
}

/// A structural limit broken at `path`: 413 for the batch size (the phone splits the batch), 422 for the
/// content of a visit (nothing the phone can resend as is).
pub fn limit_failure(path: &str, refusal: &Refusal) -> Failure {
    let status = match refusal.kind {
        RefusalKind::TooManyVisits => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut failure = Failure::new(
        status,
        refusal.kind.code(),
        format!("{path}: {}", refusal.detail),
    );
    failure.body.limit = refusal.limit;
    failure
}

/// `visits[0].device_times.clock` from a `serde_ignored` path.
fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let head = ignored_path(parent);
            if head.is_empty() {
                key.clone()
            } else {
                format!("{head}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
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
    use std::io::Write;
    use tepat_protocol::ReviewRequest;

    #[test]
    fn unknown_fields_are_named_by_path() {
        let body = br#"{"visit_id":"00000000-0000-0000-0000-000000000000","revision":1,"decision":"approve","extra":1}"#;
        let err = parse_json::<ReviewRequest>(body, BodyLimits::default()).unwrap_err();
        assert_eq!(err.body.error, "unknown_field");
        assert_eq!(err.body.message, "extra: unknown field");
    }

    #[test]
    fn wrong_types_are_named_by_path() {
        let body = br#"{"visit_id":"00000000-0000-0000-0000-000000000000","revision":"one","decision":"approve"}"#;
        let err = parse_json::<ReviewRequest>(body, BodyLimits::default()).unwrap_err();
        assert_eq!(err.body.error, "invalid_field");
        assert!(
            err.body.message.starts_with("revision: invalid type"),
            "{}",
            err.body.message
        );
    }

    #[test]
    fn unknown_fields_deep_inside_are_named_by_path() {
        let body = br#"{"protocol":1,"device_id":"d","batch_id":"00000000-0000-0000-0000-000000000000","cursor":0,
            "visits":[{"visit_id":"00000000-0000-0000-0000-000000000000","revision":1,"form_id":"f","form_version":1,
            "visit_date":"2026-11-20","answers":{"x":1},"device_times":{"started_at":"2026-11-20T08:00:00Z",
            "device_seq":1,"clock":2}}]}"#;
        let err = parse_json::<SyncRequest>(body, BodyLimits::default()).unwrap_err();
        assert_eq!(err.body.error, "unknown_field");
        assert_eq!(
            err.body.message,
            "visits[0].device_times.clock: unknown field"
        );
    }

    #[test]
    fn a_struct_sent_as_an_array_is_refused() {
        let err =
            parse_json::<EnrolRequest>(br#"["ABCD", "phone"]"#, BodyLimits::default()).unwrap_err();
        assert_eq!(err.body.error, "invalid_body");
        let body = br#"{"protocol":1,"device_id":"d","batch_id":"00000000-0000-0000-0000-000000000000","cursor":0,
            "visits":[["00000000-0000-0000-0000-000000000000",1]]}"#;
        let err = parse_json::<SyncRequest>(body, BodyLimits::default()).unwrap_err();
        assert_eq!(err.body.error, "invalid_field");
        assert!(
            err.body.message.starts_with("visits[0]:"),
            "{}",
            err.body.message
        );
    }

    fn sync_with_answers(answers: &str) -> Vec<u8> {
        format!(
            r#"{{"protocol":1,"device_id":"d","batch_id":"00000000-0000-0000-0000-000000000000","cursor":0,
            "visits":[{{"visit_id":"00000000-0000-0000-0000-000000000000","revision":1,"form_id":"f",
            "form_version":1,"visit_date":"2026-11-20","answers":{answers},
            "device_times":{{"started_at":"2026-11-20T08:00:00Z","device_seq":1}}}}]}}"#
        )
        .into_bytes()
    }

    #[test]
    fn limits_broken_while_parsing_answer_422_with_path_and_limit() {
        let limits = BodyLimits {
            max_text_chars: 5,
            max_list_items: 2,
            max_answers: 4,
            max_depth: 2,
            ..BodyLimits::default()
        };
        let cases = [
            (
                r#"{"name":"abcdef"}"#,
                "text_too_long",
                "visits[0].answers.name:",
                Some(5),
            ),
            (
                r#"{"m":[{},{},{}]}"#,
                "list_too_long",
                "visits[0].answers.m:",
                Some(2),
            ),
            (
                r#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#,
                "too_many_answers",
                "visits[0].answers:",
                Some(4),
            ),
            (
                r#"{"m":[{"g":{"x":1}}]}"#,
                "too_deep",
                "visits[0].answers.m[0].g:",
                Some(2),
            ),
            (
                r#"{"name":"a\u202eb"}"#,
                "invalid_text",
                "visits[0].answers.name:",
                None,
            ),
        ];
        for (answers, code, path, limit) in cases {
            let err = parse_json::<SyncRequest>(&sync_with_answers(answers), limits).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY, "{answers}");
            assert_eq!(err.body.error, code, "{answers}");
            assert!(
                err.body.message.starts_with(path),
                "{answers}: {}",
                err.body.message
            );
            assert_eq!(err.body.limit, limit, "{answers}");
        }
        assert!(
            parse_json::<SyncRequest>(&sync_with_answers(r#"{"name":"abcde"}"#), limits).is_ok()
        );
    }

    #[test]
    fn too_many_visits_is_a_413() {
        let limits = BodyLimits {
            max_visits: 0,
            ..BodyLimits::default()
        };
        let err = parse_json::<SyncRequest>(&sync_with_answers("{}"), limits).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            (err.body.error.as_str(), err.body.limit),
            ("too_many_visits", Some(0))
        );
    }

    #[test]
    fn enrolment_reads_its_own_small_byte_limits() {
        let limits = Limits::default();
        assert_eq!(EnrolRequest::byte_limits(&limits), (4096, 4096));
        assert_eq!(
            SyncRequest::byte_limits(&limits),
            (limits.max_body_bytes, limits.max_decompressed_bytes)
        );
    }

    #[test]
    fn syntax_errors_give_the_position() {
        let err =
            parse_json::<ReviewRequest>(b"{\"visit_id\": ", BodyLimits::default()).unwrap_err();
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
