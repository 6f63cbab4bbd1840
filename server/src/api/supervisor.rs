//! Supervisor endpoints: pull, review, progress, CSV exports and their codebook. Every query is scoped to the supervisor's regions.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tepat_protocol::{ReviewRequest, Role, ServerVisit};
use tokio::sync::mpsc;

use super::extract::{ApiQuery, JsonBody, accepts_gzip, require_role};
use super::{AppState, Failure, blocking, json_response};
use crate::auth::Caller;
use crate::export::{self, Table};
use crate::review::{self as review_mod, ReviewError};
use crate::{progress as progress_mod, pull};

const SUPERVISOR: &[Role] = &[Role::Supervisor];

/// A page's `limit`: the server's default when none is asked, refused at 0 or above the maximum page size.
fn page_limit(asked: Option<u64>, limits: &crate::config::Limits) -> Result<u64, Failure> {
    let limit = asked.unwrap_or(limits.default_page_size as u64);
    if limit == 0 {
        return Err(Failure::bad_request(
            "bad_query",
            "limit: must be at least 1",
        ));
    }
    if limit > limits.max_page_size as u64 {
        return Err(Failure::too_large(
            "page_too_large",
            format!(
                "limit: {limit} is above the maximum page size of {}",
                limits.max_page_size
            ),
            limits.max_page_size as u64,
        ));
    }
    Ok(limit)
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    since: Option<u64>,
    limit: Option<u64>,
}

pub async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "the supervisor pull")?;
    let limits = state.limits().clone();
    let limit = page_limit(query.limit, &limits)?;
    let since = query.since.unwrap_or(0);
    let gzip = accepts_gzip(&headers);
    blocking(&state, move |app| {
        let page = app.db.read(|tx| {
            let page = pull::page(
                tx,
                &caller.user_id,
                since,
                limit as usize,
                limits.max_page_bytes,
            )?;
            Ok::<_, Failure>(pull::with_signals(tx, page)?)
        })?;
        json_response(&page, gzip)
    })
    .await
}

pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ReviewRequest>,
) -> Result<axum::Json<ServerVisit>, Failure> {
    require_role(&caller, SUPERVISOR, "review")?;
    let visit = blocking(&state, move |app| {
        app.db.write(
            |tx| match review_mod::review(tx, &caller, &req, Utc::now()) {
                Ok(visit) => Ok(visit),
                Err(
                    e @ (ReviewError::BadComment(_)
                    | ReviewError::CommentRequired
                    | ReviewError::BadField(_)),
                ) => Err(Failure::bad_request("invalid_field", e.to_string())),
                Err(e @ ReviewError::NotFound(..)) => {
                    Err(Failure::not_found("not_found", e.to_string()))
                }
                Err(e @ ReviewError::NotLatest { .. }) => {
                    Err(Failure::conflict("not_latest", e.to_string()))
                }
                Err(e @ ReviewError::AlreadyDecided(_)) => {
                    Err(Failure::conflict("already_reviewed", e.to_string()))
                }
                Err(ReviewError::Db(e)) => Err(e.into()),
            },
        )
    })
    .await?;
    tracing::info!(visit_id = %visit.visit.visit_id, revision = visit.visit.revision, status = ?visit.status, "review");
    Ok(axum::Json(visit))
}

pub async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "progress")?;
    let gzip = accepts_gzip(&headers);
    blocking(&state, move |app| {
        let progress = app.db.read(|tx| {
            Ok::<_, Failure>(ProgressWithPhotos {
                progress: progress_mod::progress(tx, &caller.user_id)?,
                photos: crate::media::progress::photo_progress(tx, &caller.user_id)?,
                signals: crate::signals::store::progress(tx, &caller.user_id)?,
            })
        })?;
        json_response(&progress, gzip)
    })
    .await
}

/// The progress answer: the protocol's `ProgressResponse` and, beside it, photo completeness (`crate::media`)
/// and the signals of fabrication per enumerator (`crate::signals`).
#[derive(Debug, serde::Serialize)]
struct ProgressWithPhotos {
    #[serde(flatten)]
    progress: tepat_protocol::ProgressResponse,
    photos: crate::media::progress::PhotoProgress,
    signals: crate::signals::store::SignalProgress,
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    form_id: String,
}

pub async fn export_households(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Failure> {
    export(state, caller, query.form_id, Table::Households).await
}

pub async fn export_members(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Failure> {
    export(state, caller, query.form_id, Table::Members).await
}

pub async fn export_findings(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Failure> {
    export(state, caller, query.form_id, Table::Findings).await
}

/// The codebook of a form's exports (households, members, findings): each column's label in Bahasa Indonesia
/// and English and its type, then every code of a coded column with its labels (`console::pages::codebook`,
/// the same file the web console serves).
pub async fn export_codebook(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "export")?;
    let form_id = query.form_id;
    blocking(&state, move |app| {
        let rows = app
            .db
            .read(|tx| Ok::<_, Failure>(crate::console::pages::codebook(tx, &form_id)?))?;
        let Some(rows) = rows else {
            return Err(Failure::not_found(
                "unknown_form",
                format!("form_id: no version of {form_id:?} is published"),
            ));
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in &rows {
            writer.write_record(row).map_err(|e| {
                tracing::error!(error = %e, "codebook");
                Failure::internal()
            })?;
        }
        let body = writer.into_inner().map_err(|_| Failure::internal())?;
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        let disposition = format!(
            "attachment; filename=\"{}_codebook.csv\"",
            form_id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
        );
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        Ok(response)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct PointsQuery {
    offset: Option<u64>,
    limit: Option<u64>,
}

/// The 6T monitoring per distribution point (`crate::monitoring`): each point's KPM interviewed and how many met
/// each of the six criteria, over the supervisor's regions, `limit` points (at most the page size) from `offset`.
pub async fn distribution_points(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PointsQuery>,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "progress")?;
    let limits = state.limits().clone();
    let limit = page_limit(query.limit, &limits)?;
    let offset = usize::try_from(query.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let gzip = accepts_gzip(&headers);
    blocking(&state, move |app| {
        let page = app.db.read(|tx| {
            Ok::<_, Failure>(crate::monitoring::distribution_points(
                tx,
                &app.forms,
                &caller.user_id,
                offset,
                limit as usize,
            )?)
        })?;
        json_response(&page, gzip)
    })
    .await
}

/// The 6T monitoring as CSV, one row per KPM interviewed with its distribution point's columns on the row and its
/// six results (`crate::monitoring::write_kpm_csv`).
pub async fn export_distribution_points(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "export")?;
    blocking(&state, move |app| {
        let body = app.db.read(|tx| {
            let mut body = Vec::new();
            crate::monitoring::write_kpm_csv(tx, &app.forms, &caller.user_id, &mut body).map_err(
                |e| {
                    tracing::error!(error = %e, "distribution points export");
                    Failure::internal()
                },
            )?;
            Ok::<_, Failure>(body)
        })?;
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"monitoring_6t_kpm.csv\""),
        );
        Ok(response)
    })
    .await
}

/// The codebook as JSON: the content of `codebook.csv`, one entry per column (table, column, type, labels in
/// Bahasa Indonesia and English) with every code of a coded column and its labels (`export::Codebook`).
pub async fn export_codebook_json(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "export")?;
    let gzip = accepts_gzip(&headers);
    let form_id = query.form_id;
    blocking(&state, move |app| {
        let rows = app
            .db
            .read(|tx| Ok::<_, Failure>(crate::console::pages::codebook(tx, &form_id)?))?;
        let Some(rows) = rows else {
            return Err(Failure::not_found(
                "unknown_form",
                format!("form_id: no version of {form_id:?} is published"),
            ));
        };
        json_response(&export::codebook_json(&form_id, &rows), gzip)
    })
    .await
}

/// Bytes buffered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight: the writer waits for a slow client instead of filling memory.
const CHUNKS_IN_FLIGHT: usize = 4;
/// SQLite page cache of an export's reader (`PRAGMA cache_size`; negative: KiB).
const EXPORT_CACHE_SIZE: i64 = -256;

/// A streamed CSV export of `caller`'s regions (also what the web console's export links serve).
pub(crate) async fn export(
    state: AppState,
    caller: Caller,
    form_id: String,
    table: Table,
) -> Result<Response, Failure> {
    require_role(&caller, SUPERVISOR, "export")?;
    let plan = {
        let form_id = form_id.clone();
        blocking(&state, move |app| {
            app.db
                .read(|tx| Ok::<_, Failure>(export::plan(tx, &app.forms, &form_id)?))
        })
        .await?
    };
    let Some(plan) = plan else {
        return Err(Failure::not_found(
            "unknown_form",
            format!("form_id: no version of {form_id:?} is published"),
        ));
    };
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let app = state.clone();
    let slot = super::blocking_slot(&state).await?;
    // The export runs on its own blocking thread and feeds the response as it goes.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut sink = ChunkSink {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
        };
        let result = app.app().db.read(|tx| {
            // A sequential scan gains nothing from SQLite's page cache (2 MiB per connection by default), and a
            // reader held by a stalled client keeps it: exports read through a small one.
            // (PostgreSQL's shared buffers are the server's, not the connection's: nothing to do there.)
            let cache: Option<i64> = match tx.as_sqlite() {
                Some(conn) => {
                    let cache = conn
                        .pragma_query_value(None, "cache_size", |r| r.get(0))
                        .map_err(crate::db::sql::Error::from)?;
                    conn.pragma_update(None, "cache_size", EXPORT_CACHE_SIZE)
                        .map_err(crate::db::sql::Error::from)?;
                    Some(cache)
                }
                None => None,
            };
            let written = export::write(tx, &plan, table, &caller.user_id, &mut sink)
                .map_err(|e| ExportFailure(e.to_string()));
            if let (Some(conn), Some(cache)) = (tx.as_sqlite(), cache) {
                conn.pragma_update(None, "cache_size", cache)
                    .map_err(crate::db::sql::Error::from)?;
            }
            written
        });
        match result.and_then(|rows| {
            sink.finish()
                .map(|_| rows)
                .map_err(|e| ExportFailure(e.to_string()))
        }) {
            Ok(rows) => tracing::info!(rows, form = %plan.form_id, ?table, "export"),
            Err(ExportFailure(e)) => {
                tracing::warn!(error = %e, "export stopped");
                let _ = sink.sender.blocking_send(Err(io::Error::other(e)));
            }
        }
    });
    let file = match table {
        Table::Households => "households",
        Table::Members => "members",
        Table::Findings => "findings",
    };
    let mut response = Response::new(Body::from_stream(ChunkStream(receiver)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"{}_{file}.csv\"",
        form_id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug)]
struct ExportFailure(String);

impl From<crate::db::sql::Error> for ExportFailure {
    fn from(e: crate::db::sql::Error) -> Self {
        ExportFailure(e.to_string())
    }
}

impl From<crate::db::DbError> for ExportFailure {
    fn from(e: crate::db::DbError) -> Self {
        ExportFailure(e.to_string())
    }
}

type Chunk = Result<Bytes, io::Error>;

/// Buffers CSV output and hands it to the response in chunks; fails when the client has gone away.
struct ChunkSink {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
}

impl ChunkSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct ChunkStream(mpsc::Receiver<Chunk>);

impl futures_core::Stream for ChunkStream {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.0.poll_recv(cx)
    }
}
