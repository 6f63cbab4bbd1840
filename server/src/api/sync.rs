//! `POST /api/v1/sync`: visits up (one receipt each), changes since the device's cursor down.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use tepat_protocol::{PROTOCOL_VERSION, Role, SyncRequest, SyncResponse};

use super::extract::{JsonBody, accepts_gzip, limit_failure, require_role};
use super::{AppState, Failure, blocking, json_response};
use crate::auth::Caller;
use crate::changes;
use crate::ingest::{self, BatchError};

pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SyncRequest>,
) -> Result<Response, Failure> {
    require_role(&caller, &[Role::Enumerator, Role::Assessor], "sync")?;
    if req.protocol != PROTOCOL_VERSION {
        return Err(Failure::bad_request(
            "unsupported_protocol",
            format!(
                "protocol: this server speaks protocol {PROTOCOL_VERSION}, not {}",
                req.protocol
            ),
        ));
    }
    if req.device_id != caller.device_id {
        return Err(Failure::forbidden(format!(
            "device_id: {:?} is not the device this token was issued to",
            req.device_id
        )));
    }
    // The batch size and every server-wide limit on a visit's content were checked while the body was parsed.
    let limits = state.limits().clone();
    let gzip = accepts_gzip(&headers);
    blocking(&state, move |app| {
        let now = Utc::now();
        let visit_count = req.visits.len();
        let prepared = app.db.read(|tx| {
            let latest = changes::latest_seq(tx)?;
            if req.cursor > latest {
                return Err(Failure::conflict(
                    "cursor_ahead",
                    format!("cursor: {} is ahead of this server's changes ({latest}); sync again from cursor 0", req.cursor),
                ));
            }
            if let Some((path, refusal)) = ingest::limits::check_declared(tx, &app.forms, &req.visits)? {
                return Err(limit_failure(&path, &refusal));
            }
            let trails = ingest::pair_trails(&req.visits, req.trails)
                .map_err(|message| Failure::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_trail", message))?;
            Ok(ingest::prepare_with_trails(tx, &app.forms, req.visits, trails)?)
        })?;
        if let Some((i, p)) = prepared.iter().enumerate().find(|(_, p)| p.finding_count() > limits.max_findings_per_visit) {
            return Err(too_many_findings(i, p.finding_count(), limits.max_findings_per_visit));
        }
        let receipts = app.db.write(|tx| match ingest::apply_batch(tx, &caller, req.batch_id, &prepared, now, &limits.signals) {
            Ok(receipts) => Ok(receipts),
            Err(e @ BatchError::OtherDevice(_)) => Err(Failure::conflict("batch_conflict", format!("batch_id: {e}"))),
            Err(e @ BatchError::Mismatch(_)) => Err(Failure::conflict("batch_mismatch", format!("batch_id: {e}"))),
            Err(BatchError::Db(e)) => Err(e.into()),
        })?;
        let page = app.db.read(|tx| Ok::<_, Failure>(changes::page(tx, &caller.user_id, req.cursor, limits.default_page_size, limits.max_page_bytes)?))?;
        tracing::info!(
            device_id = %caller.device_id,
            batch_id = %req.batch_id,
            visits = visit_count,
            next_cursor = page.next_cursor,
            "sync"
        );
        json_response(
            &SyncResponse {
                protocol: PROTOCOL_VERSION,
                receipts,
                changes: page.changes,
                next_cursor: page.next_cursor,
                more: page.more,
                server_time: now,
            },
            gzip,
        )
    })
    .await
}

/// A visit whose re-validation found more than the server stores for one visit: refused before anything is
/// written (a phone's form engine shows the same findings and would not finalise it).
fn too_many_findings(index: usize, count: usize, max: usize) -> Failure {
    let mut failure = Failure::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_findings",
        format!("visits[{index}]: {count} findings; the server stores at most {max} for one visit"),
    );
    failure.body.limit = Some(max as u64);
    failure
}
