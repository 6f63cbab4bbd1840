//! The HTTP API (documented in `schemas/openapi.yaml`). The router is built from [`ROUTES`] alone, so the route
//! table that tests compare with the document is the one that serves.

mod enrol;
pub mod error;
pub mod extract;
pub mod media;
#[cfg(test)]
pub(crate) mod openapi;
pub(crate) mod supervisor;
mod sync;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::{Deserialize, Serialize};
use tepat_protocol::UserInfo;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Caller;
use crate::config::Limits;
use crate::db::Db;
use crate::forms::FormCache;
pub use error::Failure;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub db: Db,
    /// Photos on disk and the uploads being written (`crate::media`).
    pub media: crate::media::Media,
    pub forms: FormCache,
    pub limits: Limits,
    /// Requests being served (`limits.max_concurrent_requests`), see [`limit_concurrency`].
    requests: Arc<Semaphore>,
    /// Threads doing blocking work (as many), see [`blocking`].
    blocking: Arc<Semaphore>,
}

/// Cheap to clone: one `App` behind an `Arc`.
#[derive(Debug, Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    /// `data_dir` holds what is not in the database (photos, `media::Media`): on PostgreSQL, a directory every
    /// server of the database shares.
    pub fn new(db: Db, data_dir: &std::path::Path, limits: Limits) -> Self {
        let slots = limits.max_concurrent_requests.max(1);
        AppState(Arc::new(App {
            media: crate::media::Media::new(data_dir),
            db,
            forms: FormCache::default(),
            limits,
            requests: Arc::new(Semaphore::new(slots)),
            blocking: Arc::new(Semaphore::new(slots)),
        }))
    }

    pub fn app(&self) -> &App {
        &self.0
    }

    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }
}

/// Runs blocking work (SQLite, validation, compression) off the async executor, on at most
/// `max_concurrent_requests` threads at once: the work keeps its slot even when its request is abandoned (timed
/// out, client gone), so abandoned work cannot pile up threads.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&App) -> Result<T, Failure> + Send + 'static,
{
    let slot = blocking_slot(state).await?;
    let app = state.0.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        f(&app)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Failure::internal()
    })?
}

/// A slot for blocking work that runs beyond one `blocking` call (an export's writer): hold it while working.
pub(crate) async fn blocking_slot(state: &AppState) -> Result<OwnedSemaphorePermit, Failure> {
    state.0.blocking.clone().acquire_owned().await.map_err(|_| {
        tracing::error!("the blocking-work semaphore was closed");
        Failure::internal()
    })
}

/// Every route the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    Enrol,
    Me,
    Sync,
    SupervisorVisits,
    SupervisorReview,
    SupervisorProgress,
    ExportHouseholds,
    ExportMembers,
    ExportFindings,
    ExportCodebook,
    UploadOptions,
    UploadCreate,
    UploadHead,
    UploadPatch,
    Media,
    ExportCodebookJson,
    DistributionPoints,
    ExportDistributionPoints,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub id: RouteId,
    pub method: Method,
    pub path: &'static str,
}

const fn route(id: RouteId, method: Method, path: &'static str) -> Route {
    Route { id, method, path }
}

pub const ROUTES: [Route; 19] = [
    route(RouteId::Health, Method::GET, "/healthz"),
    route(RouteId::Enrol, Method::POST, "/api/v1/enrol"),
    route(RouteId::Me, Method::GET, "/api/v1/me"),
    route(RouteId::Sync, Method::POST, "/api/v1/sync"),
    route(
        RouteId::SupervisorVisits,
        Method::GET,
        "/api/v1/supervisor/visits",
    ),
    route(
        RouteId::SupervisorReview,
        Method::POST,
        "/api/v1/supervisor/review",
    ),
    route(
        RouteId::SupervisorProgress,
        Method::GET,
        "/api/v1/supervisor/progress",
    ),
    route(
        RouteId::ExportHouseholds,
        Method::GET,
        "/api/v1/supervisor/export/households.csv",
    ),
    route(
        RouteId::ExportMembers,
        Method::GET,
        "/api/v1/supervisor/export/members.csv",
    ),
    route(
        RouteId::ExportFindings,
        Method::GET,
        "/api/v1/supervisor/export/findings.csv",
    ),
    route(
        RouteId::ExportCodebook,
        Method::GET,
        "/api/v1/supervisor/export/codebook.csv",
    ),
    route(RouteId::UploadOptions, Method::OPTIONS, "/api/v1/uploads"),
    route(RouteId::UploadCreate, Method::POST, "/api/v1/uploads"),
    route(
        RouteId::UploadHead,
        Method::HEAD,
        "/api/v1/uploads/{sha256}",
    ),
    route(
        RouteId::UploadPatch,
        Method::PATCH,
        "/api/v1/uploads/{sha256}",
    ),
    route(RouteId::Media, Method::GET, "/api/v1/media/{sha256}"),
    route(
        RouteId::ExportCodebookJson,
        Method::GET,
        "/api/v1/supervisor/export/codebook.json",
    ),
    route(
        RouteId::DistributionPoints,
        Method::GET,
        "/api/v1/supervisor/progress/distribution-points",
    ),
    route(
        RouteId::ExportDistributionPoints,
        Method::GET,
        "/api/v1/supervisor/export/distribution-points.csv",
    ),
];

/// The handler of a route, answering the route's method only (others get 405).
fn handler(route: &Route) -> MethodRouter<AppState> {
    // Only standard methods are in the table, and every one of them has a filter.
    let method = MethodFilter::try_from(route.method.clone()).unwrap_or(MethodFilter::GET);
    match route.id {
        RouteId::Health => on(method, health),
        RouteId::Enrol => on(method, enrol::enrol),
        RouteId::Me => on(method, me),
        RouteId::Sync => on(method, sync::sync),
        RouteId::SupervisorVisits => on(method, supervisor::visits),
        RouteId::SupervisorReview => on(method, supervisor::review),
        RouteId::SupervisorProgress => on(method, supervisor::progress),
        RouteId::ExportHouseholds => on(method, supervisor::export_households),
        RouteId::ExportMembers => on(method, supervisor::export_members),
        RouteId::ExportFindings => on(method, supervisor::export_findings),
        RouteId::ExportCodebook => on(method, supervisor::export_codebook),
        RouteId::UploadOptions => on(method, media::options),
        RouteId::UploadCreate => on(method, media::create),
        RouteId::UploadHead => on(method, media::head),
        RouteId::UploadPatch => on(method, media::patch),
        RouteId::Media => on(method, media::download),
        RouteId::ExportCodebookJson => on(method, supervisor::export_codebook_json),
        RouteId::DistributionPoints => on(method, supervisor::distribution_points),
        RouteId::ExportDistributionPoints => on(method, supervisor::export_distribution_points),
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for r in &ROUTES {
        router = router.route(r.path, handler(r));
    }
    router
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit_concurrency,
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// At most `max_concurrent_requests` requests are served at once; one more waits up to `queue_wait` for a slot,
/// then is refused with 503, `Retry-After` and a JSON error. A response body that streams (an export) keeps
/// its slot until it is finished or dropped.
async fn limit_concurrency(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let slots = state.0.requests.clone();
    let slot = match slots.clone().try_acquire_owned() {
        Ok(slot) => slot,
        Err(_) => {
            let wait = state.limits().queue_wait;
            match tokio::time::timeout(wait, slots.acquire_owned()).await {
                Ok(Ok(slot)) => slot,
                _ => {
                    tracing::warn!(
                        max_concurrent_requests = state.limits().max_concurrent_requests,
                        "request refused: every slot busy"
                    );
                    return Failure::busy().into_response();
                }
            }
        }
    };
    next.run(request)
        .await
        .map(|body| Body::new(SlotBody { body, _slot: slot }))
}

/// A response body holding its request's slot.
struct SlotBody {
    body: Body,
    _slot: OwnedSemaphorePermit,
}

impl hyper::body::Body for SlotBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        hyper::body::Body::poll_frame(Pin::new(&mut self.body), cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Failure {
    Failure::not_found("no_route", format!("no route {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// One log line per request: method, path, status, duration (never bodies or tokens).
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::error!(%method, %path, status, micros, "request");
    } else {
        tracing::info!(%method, %path, status, micros, "request");
    }
    response
}

/// `GET /healthz`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub schema_version: u32,
    pub protocol: u32,
}

async fn health(State(state): State<AppState>) -> Result<axum::Json<Health>, Failure> {
    let schema_version = blocking(&state, |app| Ok(app.db.schema_version()?)).await?;
    Ok(axum::Json(Health {
        status: "ok".into(),
        schema_version,
        protocol: tepat_protocol::PROTOCOL_VERSION,
    }))
}

/// `GET /api/v1/me`: which device and user a token stands for.
#[derive(Debug, Serialize, Deserialize)]
pub struct Me {
    pub device_id: String,
    pub user: UserInfo,
}

async fn me(caller: Caller) -> axum::Json<Me> {
    axum::Json(Me {
        device_id: caller.device_id.clone(),
        user: caller.user_info(),
    })
}

/// A JSON answer, gzipped when the client accepts it and it is worth it. Runs inside `blocking`.
pub fn json_response<T: Serialize>(value: &T, gzip: bool) -> Result<Response, Failure> {
    let json = serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "serialising a response");
        Failure::internal()
    })?;
    let mut headers = vec![(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    headers.push((header::VARY, HeaderValue::from_static("accept-encoding")));
    let compressed = if gzip && json.len() > 512 {
        gzip_bytes(&json)
    } else {
        None
    };
    let body = match compressed {
        Some(gz) => {
            headers.push((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
            gz
        }
        None => json,
    };
    let mut response = Response::new(Body::from(body));
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    Ok(response.into_response())
}

/// Gzip of `data` (fast level: phones on 2G gain far more from any compression than from the best).
fn gzip_bytes(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests;
