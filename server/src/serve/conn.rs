//! One connection: optional TLS handshake, HTTP/1.1 through hyper, and a watchdog that closes it when it
//! overstays a step:
//! - opening (TCP accepted, TLS handshake, request head): `header_timeout` from the accept;
//! - handling (body read and handler work): `request_timeout`, then a JSON 408 answers instead;
//! - sending the response: `idle_timeout` without the client taking any of it;
//! - idle between kept-alive requests: `idle_timeout`.
//!
//! At the connection limit, the connection waiting longest for a request is closed to make room ([`Registry`]).
//!
//! hyper's own header timeout is not used: it runs from the start of every read, so it would also cut idle
//! kept-alive connections after the (short) header timeout.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::Failure;
use crate::config::ConnectionLimits;

/// Largest request head (request line and headers); a larger one is answered 431.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header fields in a request head.
const MAX_HEADERS: usize = 64;
/// hyper's read and write buffer per connection: bounds what a client that stops reading costs beyond the
/// response's own chunks.
const MAX_BUF_BYTES: usize = 64 * 1024;

/// The first byte of a TLS record carrying a handshake (a ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// What every connection of one listener shares.
pub(super) struct Listener {
    pub router: Router,
    pub tls: Option<TlsAcceptor>,
    pub limits: ConnectionLimits,
    pub registry: Arc<Registry>,
}

/// Serves one accepted connection until it ends, overstays a step, or the server shuts down.
pub(super) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: Arc<Listener>,
    mut close: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let registered = listener.registry.register();
    let (router, limits) = (listener.router.clone(), &listener.limits);
    let activity = registered.activity.clone();
    let Some(acceptor) = &listener.tls else {
        let io = ReadableErrors::new(stream, activity.clone());
        drive(
            TokioIo::new(io),
            Peer {
                addr: peer,
                tls: false,
            },
            router,
            limits,
            activity,
            close,
        )
        .await;
        return;
    };
    let handshake = async {
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(1) if first[0] == TLS_HANDSHAKE => {}
            Ok(1) => return Err(Some(stream)),
            _ => return Err(None),
        }
        acceptor.accept(stream).await.map_err(|e| {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        })
    };
    let tls_stream = tokio::select! {
        result = handshake => match result {
            Ok(tls_stream) => tls_stream,
            Err(Some(plain)) => return refuse_plain_http(plain, peer).await,
            Err(None) => return,
        },
        reason = activity.expired(limits) => {
            tracing::debug!(%peer, reason, "connection closed");
            return;
        }
        _ = close.changed() => return,
    };
    let io = ReadableErrors::new(tls_stream, activity.clone());
    drive(
        TokioIo::new(io),
        Peer {
            addr: peer,
            tls: true,
        },
        router,
        limits,
        activity,
        close,
    )
    .await;
}

/// Plain HTTP sent to the HTTPS port: a readable answer (400, JSON) instead of a failed handshake.
async fn refuse_plain_http(mut stream: TcpStream, peer: SocketAddr) {
    tracing::debug!(%peer, "plain HTTP on the HTTPS port");
    let body = serde_json::json!({
        "error": "https_required",
        "message": "server ini hanya melayani HTTPS; gunakan https:// / this server speaks HTTPS only: use https://",
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Closing with the request unread would reset the connection, and the client could lose the answer:
        // read what it sent (a little) until it closes too.
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), answer).await;
}

/// Where a request came from, put in its extensions: the web console slows failed logins per address and marks
/// its cookies `Secure` over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The connection speaks TLS (this server terminates it).
    pub tls: bool,
}

/// HTTP/1.1 over `io` until the connection ends.
async fn drive<I>(
    io: TokioIo<I>,
    connection_peer: Peer,
    router: Router,
    limits: &ConnectionLimits,
    activity: Arc<Activity>,
    mut close: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = connection_peer.addr;
    let service = ConnService {
        peer: connection_peer,
        router,
        activity: activity.clone(),
        request_timeout: limits.request_timeout,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_BUF_BYTES);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            reason = activity.expired(limits) => {
                tracing::debug!(%peer, reason, "connection closed");
                return;
            }
            _ = close.changed(), if !closing => {
                // Finishes the request in flight (if any), then closes.
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Where a connection is, and since when (for a response being sent: since the client last took some of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Opening,
    Handling,
    Sending,
    Idle,
}

#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<(Phase, Instant)>,
    /// Told to close by [`Registry::evict_longest_waiting`].
    evicted: Notify,
    /// Wakes the watchdog when the phase changes, since the new deadline may be nearer (10 s to send a request
    /// head, then 2 s of idling).
    phase_changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            state: Mutex::new((Phase::Opening, Instant::now())),
            evicted: Notify::new(),
            phase_changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (Phase, Instant)> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Since when the connection has been waiting for a request (no head yet, or idle between requests).
    fn waiting_since(&self) -> Option<Instant> {
        let (phase, since) = *self.lock();
        matches!(phase, Phase::Opening | Phase::Idle).then_some(since)
    }

    fn enter(&self, phase: Phase) {
        *self.lock() = (phase, Instant::now());
        self.phase_changed.notify_one();
    }

    /// The response made progress: its stall clock starts again.
    fn progressed(&self) {
        let mut state = self.lock();
        if state.0 == Phase::Sending {
            state.1 = Instant::now();
        }
    }

    /// The response is complete (or dropped): the connection waits for its next request.
    fn response_done(&self) {
        let mut state = self.lock();
        if state.0 == Phase::Sending {
            *state = (Phase::Idle, Instant::now());
            self.phase_changed.notify_one();
        }
    }

    fn deadline(&self, limits: &ConnectionLimits) -> (Instant, &'static str) {
        let (phase, since) = *self.lock();
        match phase {
            Phase::Opening => (
                since + limits.header_timeout,
                "no complete request head within the header timeout",
            ),
            // The handler's own timeout answers first; this only catches a response that never comes.
            Phase::Handling => (
                since + limits.request_timeout + limits.idle_timeout,
                "no response within the request timeout",
            ),
            Phase::Sending => (
                since + limits.idle_timeout,
                "the client stopped reading the response",
            ),
            Phase::Idle => (
                since + limits.idle_timeout,
                "idle longer than the idle timeout",
            ),
        }
    }

    /// Completes (with the reason) once the connection has overstayed its current step, or is evicted.
    async fn expired(&self, limits: &ConnectionLimits) -> &'static str {
        tokio::select! {
            reason = self.overstayed(limits) => reason,
            () = self.evicted.notified() => "closed to make room: the connection limit was reached",
        }
    }

    async fn overstayed(&self, limits: &ConnectionLimits) -> &'static str {
        loop {
            let (deadline, _) = self.deadline(limits);
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.phase_changed.notified() => continue,
            }
            let (deadline, reason) = self.deadline(limits);
            if deadline <= Instant::now() {
                return reason;
            }
        }
    }
}

/// The connections being served, so that at the connection limit the one waiting longest for a request can make
/// room for a new one: a flood of silent connections then displaces itself, not phones and `/healthz`.
#[derive(Debug, Default)]
pub(super) struct Registry {
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(self: &Arc<Self>) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        self.lock().insert(id, activity.clone());
        Registered {
            registry: self.clone(),
            id,
            activity,
        }
    }

    /// Tells the connection that has waited longest for a request (none being served) to close; false when every
    /// connection is busy with a request.
    pub(super) fn evict_longest_waiting(&self) -> bool {
        let connections = self.lock();
        let oldest = connections
            .values()
            .filter_map(|a| a.waiting_since().map(|since| (since, a)))
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((_, activity)) => {
                activity.evicted.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A connection's entry in the [`Registry`], removed when the connection ends.
struct Registered {
    registry: Arc<Registry>,
    id: u64,
    activity: Arc<Activity>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

/// The router behind one connection: marks the request's steps and bounds the time to its response.
#[derive(Clone)]
struct ConnService {
    peer: Peer,
    router: Router,
    activity: Arc<Activity>,
    request_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        self.activity.enter(Phase::Handling);
        request.extensions_mut().insert(self.peer);
        let router = self.router.clone();
        let activity = self.activity.clone();
        let timeout = self.request_timeout;
        Box::pin(async move {
            let response = match tokio::time::timeout(timeout, router.oneshot(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => {
                    tracing::warn!(timeout_secs = timeout.as_secs_f64(), "request timed out");
                    request_timeout(timeout)
                }
            };
            activity.enter(Phase::Sending);
            Ok(response.map(|body| TrackedBody {
                body,
                activity,
                done: false,
            }))
        })
    }
}

/// 408 with a JSON body: the body was not received, or the work not finished, in time.
fn request_timeout(timeout: Duration) -> Response<Body> {
    let secs = timeout.as_secs();
    let mut response = Failure::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "permintaan tidak selesai dalam {secs} detik; kirim ulang / the request did not finish within {secs} s; \
             send it again (a sync batch sent again is answered from its stored receipts)"
        ),
    )
    .into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// A response body that tells the watchdog when the client takes part of it and when it is complete.
struct TrackedBody {
    body: Body,
    activity: Arc<Activity>,
    done: bool,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => self.activity.progressed(),
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                self.done = true;
                self.activity.response_done();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if !self.done {
            self.activity.response_done();
        }
    }
}

/// hyper answers a request head it cannot parse by itself, with an empty body (400 for malformed request lines
/// and header bytes or conflicting `Content-Length`s, 431 for a head over [`MAX_HEADER_BYTES`] or
/// [`MAX_HEADERS`], 414 for a URI too long) and no way to set one. Such an answer is the only response written
/// while the connection waits for a request, so it is recognised here and replaced, byte for byte, with the same
/// status and a JSON error like every other; the connection then closes as hyper intends.
struct ReadableErrors<I> {
    io: I,
    activity: Arc<Activity>,
    /// The replacement being written, and how much of it is out.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<I> ReadableErrors<I> {
    fn new(io: I, activity: Arc<Activity>) -> Self {
        ReadableErrors {
            io,
            activity,
            replacement: None,
        }
    }
}

/// hyper's own error answer (`HTTP/1.1 4xx …\r\ncontent-length: 0\r\n…\r\n\r\n`) as the JSON answer to send.
fn readable_error(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    if head.len() > 512
        || !text.ends_with("\r\n\r\n")
        || !text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let status: u16 = text.strip_prefix("HTTP/1.1 4")?.get(..2)?.parse().ok()?;
    let (status, error, message, limit) = match 400 + status {
        400 => (
            "400 Bad Request",
            "bad_request",
            "kepala permintaan tidak dapat dibaca / the request head cannot be read: a malformed request line, \
             a header name or value with forbidden bytes, or conflicting Content-Length headers",
            None,
        ),
        414 => (
            "414 URI Too Long",
            "uri_too_long",
            "alamat permintaan terlalu panjang / the request URI is too long",
            None,
        ),
        431 => (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "kepala permintaan terlalu besar / the request head is too large (more bytes or header fields than \
             allowed)",
            Some(MAX_HEADER_BYTES as u64),
        ),
        _ => return None,
    };
    let mut body = serde_json::json!({"error": error, "message": message});
    if let Some(limit) = limit {
        body["limit"] = limit.into();
    }
    let body = body.to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<I: AsyncWrite + Unpin> ReadableErrors<I> {
    /// Recognises hyper's error answer in what it is about to write.
    fn intercept(&mut self, first: &[u8]) {
        if self.replacement.is_none()
            && first.starts_with(b"HTTP/1.1 4")
            && self.activity.waiting_since().is_some()
            && let Some(answer) = readable_error(first)
        {
            self.replacement = Some((answer, 0));
        }
    }

    /// Writes out the replacement; Ready(Ok(true)) once it is all out, Ready(Ok(false)) with none.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<bool>> {
        let Some((bytes, written)) = self.replacement.as_mut() else {
            return Poll::Ready(Ok(false));
        };
        while *written < bytes.len() {
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(true))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for ReadableErrors<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for ReadableErrors<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.intercept(buf);
        match self.poll_replacement(cx) {
            // hyper's own bytes are dropped: the replacement stands for them.
            Poll::Ready(Ok(true)) => Poll::Ready(Ok(buf.len())),
            Poll::Ready(Ok(false)) => Pin::new(&mut self.io).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            self.intercept(first);
        }
        match self.poll_replacement(cx) {
            Poll::Ready(Ok(true)) => Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum())),
            Poll::Ready(Ok(false)) => Pin::new(&mut self.io).poll_write_vectored(cx, bufs),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.poll_replacement(cx) {
            Poll::Ready(Ok(_)) => Pin::new(&mut self.io).poll_flush(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.poll_replacement(cx) {
            Poll::Ready(Ok(_)) => Pin::new(&mut self.io).poll_shutdown(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}
