//! Photo uploads by the tus 1.0 core protocol (with its `creation` and `expiration` extensions), keyed by the
//! photo's SHA-256, and photo downloads:
//! - `OPTIONS /api/v1/uploads`: what the server speaks (`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`);
//! - `POST /api/v1/uploads` (`Upload-Length`, `Upload-Metadata: sha256 <base64 of the hex>`): opens the caller's
//!   upload of that photo, or finds the one open, and answers `201` with `Location: /api/v1/uploads/<sha256>` and
//!   the bytes received so far (`Upload-Offset`; the length when the caller already uploaded it whole);
//! - `HEAD /api/v1/uploads/{sha256}`: `Upload-Offset` and `Upload-Length` of the caller's upload;
//! - `PATCH /api/v1/uploads/{sha256}` (`Upload-Offset`, `Content-Type: application/offset+octet-stream`): appends
//!   the body at the offset. Bytes are kept as they arrive, so a cut loses only those in flight. When the last
//!   byte arrives the photo is checked (SHA-256, JPEG) and stored before the `204`: an `Upload-Offset` equal to
//!   the length is the server's confirmation that the whole photo is stored under its hash;
//! - `GET /api/v1/media/{sha256}`: the photo (`image/jpeg`), for its uploader or a supervisor of a region where a
//!   visit references it.
//!
//! Every request but `OPTIONS` carries `Tus-Resumable: 1.0.0` (else 412). Errors are JSON like every other.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use tepat_protocol::Role;

use super::extract::require_role;
use super::{AppState, Failure, blocking};
use crate::auth::Caller;
use crate::media::{self, Access, CreateError, Refused, State as UploadState, Upload};

pub const TUS_VERSION: &str = "1.0.0";
const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

const UPLOADERS: &[Role] = &[Role::Enumerator, Role::Assessor];

/// `OPTIONS /api/v1/uploads`: tus discovery (no token needed: it tells nothing about anyone).
pub async fn options(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    headers.insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
    headers.insert(
        TUS_EXTENSION,
        HeaderValue::from_static("creation,expiration"),
    );
    headers.insert(
        TUS_MAX_SIZE,
        HeaderValue::from(state.limits().max_media_bytes),
    );
    response
}

/// `POST /api/v1/uploads`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    require_tus(&headers)?;
    require_role(&caller, UPLOADERS, "uploading photos")?;
    let length = number_header(&headers, &UPLOAD_LENGTH)?.ok_or_else(|| {
        Failure::bad_request(
            "missing_header",
            "Upload-Length: the header is missing (the photo's size in bytes)",
        )
    })?;
    let sha256 = metadata_sha256(&headers)?;
    let limits = state.limits().clone();
    blocking(&state, move |app| {
        let now = Utc::now();
        let created = media::create(
            &app.media,
            &app.db,
            &limits,
            &caller.user_id,
            &sha256,
            length,
            now,
        )
        .map_err(media_failure)?;
        let upload_state = match created {
            Ok(s) => s,
            Err(e @ CreateError::NotReferenced(_)) => {
                return Err(Failure::forbidden(e.to_string()));
            }
            Err(e @ CreateError::TooLarge { limit, .. }) => {
                return Err(Failure::too_large("media_too_large", e.to_string(), limit));
            }
            Err(e @ CreateError::Empty) => {
                return Err(Failure::bad_request("invalid_header", e.to_string()));
            }
            Err(e @ CreateError::LengthMismatch { .. }) => {
                return Err(Failure::conflict("length_mismatch", e.to_string()));
            }
            Err(e @ CreateError::TooManyUploads { limit, .. }) => {
                return Err(Failure::too_large("too_many_uploads", e.to_string(), limit));
            }
        };
        let upload_state = settle(app, &caller, &sha256, upload_state, now)?;
        let (offset, length, expires) = describe(&upload_state);
        tracing::info!(user_id = %caller.user_id, %sha256, offset, length, "photo upload opened");
        let mut response = StatusCode::CREATED.into_response();
        let h = response.headers_mut();
        upload_headers(h, offset, length, expires);
        h.insert(
            header::LOCATION,
            HeaderValue::try_from(format!("/api/v1/uploads/{sha256}"))
                .map_err(|_| Failure::internal())?,
        );
        Ok(response)
    })
    .await
}

/// `HEAD /api/v1/uploads/{sha256}`.
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    require_tus(&headers)?;
    require_role(&caller, UPLOADERS, "uploading photos")?;
    let sha256 = path_sha256(path)?;
    blocking(&state, move |app| {
        let now = Utc::now();
        let found = media::state(&app.media, &app.db, &caller.user_id, &sha256, now)
            .map_err(media_failure)?;
        if found == UploadState::Missing {
            return Err(no_upload(&sha256));
        }
        let found = settle(app, &caller, &sha256, found, now)?;
        let (offset, length, expires) = describe(&found);
        let mut response = StatusCode::OK.into_response();
        upload_headers(response.headers_mut(), offset, length, expires);
        Ok(response)
    })
    .await
}

/// `PATCH /api/v1/uploads/{sha256}`.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    require_tus(&headers)?;
    require_role(&caller, UPLOADERS, "uploading photos")?;
    let sha256 = path_sha256(path)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // tus's own type; the generic one is taken as the same, for plain HTTP clients and test tools.
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(OFFSET_CONTENT_TYPE)
        && !essence.eq_ignore_ascii_case("application/octet-stream")
    {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type must be {OFFSET_CONTENT_TYPE}, not {content_type:?}"),
        ));
    }
    let offset = number_header(&headers, &UPLOAD_OFFSET)?.ok_or_else(|| {
        Failure::bad_request(
            "missing_header",
            "Upload-Offset: the header is missing (where these bytes begin)",
        )
    })?;
    let declared = number_header(&headers, &header::CONTENT_LENGTH)?;

    let looked_up = {
        let (caller, sha256) = (caller.clone(), sha256.clone());
        blocking(&state, move |app| {
            let now = Utc::now();
            let found = media::state(&app.media, &app.db, &caller.user_id, &sha256, now)
                .map_err(media_failure)?;
            settle(app, &caller, &sha256, found, now)
        })
        .await?
    };
    let upload = match looked_up {
        UploadState::Missing => return Err(no_upload(&sha256)),
        UploadState::Stored { length } => {
            // Stored whole already: an empty PATCH at its end (a retry of the last one) is answered as done.
            if offset == length && declared.unwrap_or(0) == 0 {
                let mut response = StatusCode::NO_CONTENT.into_response();
                upload_headers(response.headers_mut(), length, length, None);
                return Ok(response);
            }
            return Err(offset_mismatch(offset, length));
        }
        UploadState::Partial {
            offset: current, ..
        } if current != offset => {
            return Err(offset_mismatch(offset, current));
        }
        UploadState::Partial { upload, .. } => upload,
    };
    let remaining = upload.length - offset;
    if let Some(n) = declared.filter(|n| *n > remaining) {
        return Err(beyond_length(n, remaining, upload.length));
    }

    let app_media = &state.app().media;
    let mut claim = app_media.claim(upload.upload_id);
    let outcome = receive(&state, &mut claim, &upload, offset, body).await;
    let received = blocking(&state, {
        let upload_id = upload.upload_id;
        move |app| {
            app.media.sync_partial(upload_id).map_err(media_failure)?;
            Ok(())
        }
    })
    .await;
    app_media.release(claim);
    received?;
    let written = outcome?;

    let upload_id = upload.upload_id;
    let limits = state.limits().clone();
    blocking(&state, move |app| {
        let now = Utc::now();
        if written > 0 {
            media::touch(&app.db, &limits, upload_id, now).map_err(media_failure)?;
        }
        let found = media::state(&app.media, &app.db, &caller.user_id, &sha256, now)
            .map_err(media_failure)?;
        let found = settle(app, &caller, &sha256, found, now)?;
        let (offset, length, expires) = describe(&found);
        let mut response = StatusCode::NO_CONTENT.into_response();
        upload_headers(response.headers_mut(), offset, length, expires);
        Ok(response)
    })
    .await
}

/// Reads the body and appends it as it arrives. Returns the bytes written; a cut body ends the request after
/// what arrived was written (its answer cannot be delivered anyway).
async fn receive(
    state: &AppState,
    claim: &mut media::Claim,
    upload: &Upload,
    start: u64,
    mut body: Body,
) -> Result<u64, Failure> {
    let mut at = start;
    let mut first = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = claim.superseded.changed() => {
                return Err(Failure::conflict(
                    "upload_superseded",
                    "a newer PATCH of this upload took over; ask HEAD for the offset",
                ));
            }
        };
        let data = match frame {
            None => break,
            Some(Err(e)) => {
                tracing::info!(upload_id = claim.upload_id, received = at - start, error = %e, "photo upload cut; the bytes received are kept");
                return Err(Failure::bad_request(
                    "body_cut",
                    format!("the body stopped after {} bytes; they are kept", at - start),
                ));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        let room = upload.length - at;
        if data.len() as u64 > room {
            // Keep what fits (it may be the end of the photo), refuse the rest.
            write(state, claim, at, data.slice(..room as usize)).await?;
            return Err(beyond_length(
                at - start + data.len() as u64,
                upload.length - start,
                upload.length,
            ));
        }
        if at == 0 && first.len() < 3 {
            first.extend_from_slice(&data[..data.len().min(3 - first.len())]);
            if first.len() == 3 && first != [0xFF, 0xD8, 0xFF] {
                let upload_id = upload.upload_id;
                blocking(state, move |app| {
                    media::abandon(&app.media, &app.db, upload_id).map_err(media_failure)
                })
                .await?;
                return Err(Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_jpeg",
                    "the upload is not a JPEG photo: it does not start with the JPEG start-of-image marker",
                ));
            }
        }
        let len = data.len() as u64;
        write(state, claim, at, data).await?;
        at += len;
    }
    Ok(at - start)
}

async fn write(
    state: &AppState,
    claim: &media::Claim,
    at: u64,
    data: axum::body::Bytes,
) -> Result<(), Failure> {
    if data.is_empty() {
        return Ok(());
    }
    let token = claim.clone();
    let written = blocking(state, move |app| {
        app.media.append(&token, at, &data).map_err(media_failure)
    })
    .await?;
    if !written {
        return Err(Failure::conflict(
            "upload_superseded",
            "a newer PATCH of this upload took over; ask HEAD for the offset",
        ));
    }
    Ok(())
}

/// `GET /api/v1/media/{sha256}`.
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Failure> {
    require_role(
        &caller,
        &[Role::Enumerator, Role::Assessor, Role::Supervisor],
        "reading photos",
    )?;
    let sha256 = path_sha256(path)?;
    blocking(&state, move |app| {
        let supervisor = caller.role == Role::Supervisor;
        let access = app
            .db
            .read(|tx| media::access(tx, &caller.user_id, supervisor, &sha256))?;
        match access {
            Access::Denied => Err(Failure::not_found(
                "not_found",
                format!("no photo {sha256} that you may read"),
            )),
            Access::NotArrived => Err(Failure::not_found(
                "not_arrived",
                format!("photo {sha256} is in a visit but has not been uploaded yet"),
            )),
            Access::Granted { .. } => {
                let bytes = media::read(&app.media, &sha256).map_err(media_failure)?;
                let mut response = Response::new(Body::from(bytes));
                let h = response.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, max-age=31536000, immutable"),
                );
                h.insert(
                    header::ETAG,
                    HeaderValue::try_from(format!("\"{sha256}\""))
                        .map_err(|_| Failure::internal())?,
                );
                Ok(response)
            }
        }
    })
    .await
}

/// Finishes an upload whose bytes are all there (the PATCH that brought the last byte, or one cut, or a server
/// killed, just before finishing): verified and stored, or refused and removed.
fn settle(
    app: &super::App,
    caller: &Caller,
    sha256: &str,
    found: UploadState,
    now: DateTime<Utc>,
) -> Result<UploadState, Failure> {
    let UploadState::Partial { upload, offset } = &found else {
        return Ok(found);
    };
    if *offset < upload.length {
        return Ok(found);
    }
    let finished = media::finish(
        &app.media,
        &app.db,
        caller,
        sha256,
        upload,
        now,
        &app.limits.signals,
    )
    .map_err(media_failure)?;
    match finished {
        Ok(()) => {
            tracing::info!(user_id = %caller.user_id, %sha256, bytes = upload.length, "photo stored");
            Ok(UploadState::Stored {
                length: upload.length,
            })
        }
        Err(refused) => {
            tracing::warn!(user_id = %caller.user_id, %sha256, reason = %refused, "photo upload refused");
            let code = match refused {
                Refused::HashMismatch { .. } => "hash_mismatch",
                Refused::NotJpeg(_) => "not_jpeg",
            };
            Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                refused.to_string(),
            ))
        }
    }
}

/// `(offset, length, expiry)` of an upload state (no expiry once stored).
fn describe(found: &UploadState) -> (u64, u64, Option<DateTime<Utc>>) {
    match found {
        UploadState::Stored { length } => (*length, *length, None),
        UploadState::Partial { upload, offset } => {
            (*offset, upload.length, Some(upload.expires_at))
        }
        UploadState::Missing => (0, 0, None),
    }
}

fn upload_headers(h: &mut HeaderMap, offset: u64, length: u64, expires: Option<DateTime<Utc>>) {
    h.insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    h.insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    h.insert(UPLOAD_LENGTH, HeaderValue::from(length));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(expires) = expires
        && let Ok(value) =
            HeaderValue::try_from(expires.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        h.insert(UPLOAD_EXPIRES, value);
    }
}

fn require_tus(headers: &HeaderMap) -> Result<(), Failure> {
    let version = headers.get(&TUS_RESUMABLE).and_then(|v| v.to_str().ok());
    if version == Some(TUS_VERSION) {
        return Ok(());
    }
    Err(Failure::new(
        StatusCode::PRECONDITION_FAILED,
        "tus_version",
        format!(
            "Tus-Resumable: this server speaks tus {TUS_VERSION}; the request said {}",
            version.map_or("nothing".to_string(), |v| format!("{v:?}"))
        ),
    ))
}

/// A non-negative decimal header (`Upload-Length`, `Upload-Offset`, `Content-Length`).
fn number_header(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, Failure> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::bad_request(
            "invalid_header",
            format!("{name}: must be a whole number of bytes, not {text:?}"),
        ));
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        Failure::bad_request("invalid_header", format!("{name}: {text:?} is too large"))
    })
}

/// The photo's hash from `Upload-Metadata: sha256 <base64>` (tus metadata: comma-separated `key base64value`).
fn metadata_sha256(headers: &HeaderMap) -> Result<String, Failure> {
    let missing = || {
        Failure::bad_request(
            "missing_header",
            "Upload-Metadata: must carry `sha256 <base64 of the photo's SHA-256 in hex>`",
        )
    };
    let text = headers
        .get(&UPLOAD_METADATA)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    if text.len() > 1024 {
        return Err(Failure::bad_request(
            "invalid_header",
            "Upload-Metadata: longer than 1024 bytes",
        ));
    }
    let encoded = text
        .split(',')
        .filter_map(|pair| {
            let mut parts = pair.trim().splitn(2, ' ');
            (parts.next() == Some("sha256")).then(|| parts.next().unwrap_or("").trim())
        })
        .next()
        .ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| media::is_sha256(s))
        .ok_or_else(|| {
            Failure::bad_request(
                "invalid_header",
                "Upload-Metadata: sha256 must be the base64 of 64 lower-case hex digits",
            )
        })?;
    Ok(decoded)
}

fn path_sha256(path: Result<Path<String>, PathRejection>) -> Result<String, Failure> {
    match path {
        Ok(Path(sha256)) if media::is_sha256(&sha256) => Ok(sha256),
        _ => Err(Failure::bad_request(
            "invalid_sha256",
            "the path must end with the photo's SHA-256: 64 lower-case hex digits",
        )),
    }
}

fn no_upload(sha256: &str) -> Failure {
    Failure::not_found(
        "no_upload",
        format!(
            "no open upload of photo {sha256}: create it with POST /api/v1/uploads (it may have expired)"
        ),
    )
}

fn offset_mismatch(sent: u64, current: u64) -> Failure {
    let mut failure = Failure::conflict(
        "offset_mismatch",
        format!(
            "Upload-Offset: {sent}, but the server holds {current} bytes of this photo; send from {current}"
        ),
    );
    failure.body.limit = Some(current);
    failure
}

fn beyond_length(sent: u64, remaining: u64, length: u64) -> Failure {
    Failure::too_large(
        "beyond_upload_length",
        format!("the body has {sent} bytes, but only {remaining} of the photo's {length} remain"),
        remaining,
    )
}

fn media_failure(e: media::MediaError) -> Failure {
    match e {
        media::MediaError::Db(e) => e.into(),
        other => {
            tracing::error!(error = %other, "photo storage failed");
            Failure::internal()
        }
    }
}
