//! `tepat-server serve`: binds, prints the address, serves plain HTTP or HTTPS until SIGTERM/SIGINT, then lets
//! in-flight requests (and the batches they are writing) finish before exiting.
//!
//! The accept loop is the server's own (not `axum::serve`) so that every connection is bounded: how many are held
//! at once (under the process's file limit), how long each may take to send its request head, to be answered and
//! to stay idle, and whether it speaks TLS ([`tls`]). [`conn`] drives one connection.

mod conn;
pub mod tls;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use crate::api::{self, AppState};
use crate::config::{ConnectionLimits, Limits};
use crate::db::{Db, DbError, Location};
pub use conn::Peer;
pub use tls::{TlsError, TlsFiles};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// How `serve_with` listens: connection bounds and, for HTTPS, the certificate files.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub connections: ConnectionLimits,
    pub tls: Option<TlsFiles>,
    /// File descriptors the request handlers may hold at once beyond connections (SQLite connections: the
    /// database, its WAL and its shared-memory file for each), kept out of the connection budget.
    pub handler_files: usize,
}

impl ServeOptions {
    /// Options for a server whose handlers use at most `limits.max_concurrent_requests` blocking threads.
    pub fn new(connections: ConnectionLimits, tls: Option<TlsFiles>, limits: &Limits) -> Self {
        ServeOptions {
            connections,
            tls,
            handler_files: handler_files(limits),
        }
    }
}

/// SQLite files: two per connection (database, WAL) for the writer, the pooled readers and one reader per
/// blocking thread, and the shared-memory file.
fn handler_files(limits: &Limits) -> usize {
    2 * (limits.max_concurrent_requests + 10) + 1
}

/// Descriptors kept free besides connections and handlers: stdio, the listener, the certificate files being
/// reloaded, the runtime's own (signal pipe, epoll) and slack.
const RESERVED_FILES: usize = 64;

/// Connections held at once when neither `--max-connections` nor a low file limit says less.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Opens the database and binds; returns the listener and the router, so tests can serve on port 0.
pub async fn bind(
    listen: &str,
    data: &Path,
    database: Option<&str>,
    limits: Limits,
) -> Result<(tokio::net::TcpListener, axum::Router), ServeError> {
    let state = {
        let data = data.to_path_buf();
        let location = match database {
            Some(url) => Location::Postgres(url.to_string()),
            None => Location::Sqlite(data.clone()),
        };
        tokio::task::spawn_blocking(move || {
            let db = match &location {
                Location::Sqlite(dir) => Db::open(dir)?,
                // One connection per request slot (each holds at most one), and the start-up work's.
                Location::Postgres(url) => {
                    Db::connect_with_pool(url, limits.max_concurrent_requests + 1)?
                }
            };
            tracing::info!(database = %db.describe(), "database open");
            let state = AppState::new(db, &data, limits);
            // Visits stored by an older version get what the export needs before the first export.
            let app = state.app();
            crate::export::backfill(&app.db, &app.forms)?;
            // And their signals of fabrication, before the first pull.
            let signalled = crate::signals::store::backfill(&app.db, &app.forms, &app.limits.signals)?;
            if signalled > 0 {
                tracing::info!(visits = signalled, "signals computed for visits stored before them");
            }
            // Uploads that expired while the server was down, and files a crash left without their upload.
            if let Err(e) = crate::media::sweep_at_start(&app.media, &app.db, chrono::Utc::now()) {
                tracing::warn!(error = %e, "sweeping expired photo uploads failed; retried at the next upload");
            }
            Ok::<_, DbError>(state)
        })
        .await
        .map_err(|e| ServeError::Io(std::io::Error::other(e)))??
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: listen.to_string(),
            source,
        })?;
    Ok((listener, api::router(state)))
}

/// Serves plain HTTP with the default connection bounds until `shutdown` completes, then drains in-flight
/// requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let options = ServeOptions::new(ConnectionLimits::default(), None, &Limits::default());
    serve_with(listener, router, options, shutdown).await
}

/// Serves until `shutdown` completes, then drains in-flight requests: HTTPS when `options.tls` names a
/// certificate and key (a bad one is refused here, before the address is printed), plain HTTP otherwise.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tls = match &options.tls {
        Some(files) => Some(Arc::new(tls::Tls::load(files.clone())?)),
        None => None,
    };
    // SIGHUP reloads the certificate; without TLS it is only logged (its default action would end the server).
    let hangup = tls::hangup();
    let addr: SocketAddr = listener.local_addr()?;
    let max_connections = connection_budget(&options);
    let scheme = if tls.is_some() { "https" } else { "http" };
    // The first line on stdout, for scripts and tests started with `--listen 127.0.0.1:0`.
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
    let limits = &options.connections;
    tracing::info!(
        %addr,
        scheme,
        max_connections,
        header_timeout_secs = limits.header_timeout.as_secs_f64(),
        request_timeout_secs = limits.request_timeout.as_secs_f64(),
        idle_timeout_secs = limits.idle_timeout.as_secs_f64(),
        "listening"
    );

    // Connection tasks hold a receiver: `true` asks them to finish; the sender learns when the last one ended.
    let (close_tx, close_rx) = watch::channel(false);
    match &tls {
        Some(tls) => drop(tokio::spawn(tls.clone().watch(hangup, close_rx.clone()))),
        None => drop(tokio::spawn(ignore_hangup(hangup, close_rx.clone()))),
    }
    let registry = Arc::new(conn::Registry::default());
    let listening = Arc::new(conn::Listener {
        router,
        tls: tls.as_ref().map(|t| t.acceptor()),
        limits: options.connections.clone(),
        registry: registry.clone(),
    });
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut at_limit = false;
    tokio::pin!(shutdown);
    loop {
        // A connection is accepted only with a free slot; beyond the limit the kernel's backlog holds new ones.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let evicted = registry.evict_longest_waiting();
                if !at_limit {
                    tracing::warn!(
                        max_connections,
                        "connection limit reached: the connections waiting longest for a request are closed to \
                         make room; with every connection busy, new ones wait in the backlog"
                    );
                    at_limit = true;
                }
                tracing::debug!(evicted, "at the connection limit");
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        if at_limit && slots.available_permits() > max_connections / 10 {
            at_limit = false;
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait for connections to close instead of spinning.
                tracing::error!(error = %e, "accept failed; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(conn::serve_connection(
            stream,
            peer,
            listening.clone(),
            close_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = close_tx.send(true);
    drop(close_rx);
    // Waits for every connection task: in-flight requests finish, idle connections close at once.
    close_tx.closed().await;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// Logs SIGHUP when there is no certificate to reload.
async fn ignore_hangup(hangup: Option<tls::Hangup>, mut close: watch::Receiver<bool>) {
    let Some(mut hangup) = hangup else { return };
    loop {
        tokio::select! {
            _ = close.changed() => return,
            _ = hangup.recv() => tracing::info!("SIGHUP: nothing to reload (plain HTTP, no certificate)"),
        }
    }
}

/// Errors of one half-opened connection (the peer gave up): the listener itself is fine.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// How many connections may be held: the configured or default number, never more than the file limit leaves
/// after handlers and reserved descriptors (so `accept` never fails for want of a descriptor and SQLite can
/// always open its files). Raises the soft file limit to the hard one first.
fn connection_budget(options: &ServeOptions) -> usize {
    let files = raise_file_limit();
    let ceiling = files.map(|files| {
        usize::try_from(files)
            .unwrap_or(usize::MAX)
            .saturating_sub(RESERVED_FILES + options.handler_files)
            .max(1)
    });
    let wanted = options
        .connections
        .max_connections
        .unwrap_or(DEFAULT_MAX_CONNECTIONS);
    match ceiling {
        Some(ceiling) if ceiling < wanted => {
            tracing::warn!(
                wanted,
                allowed = ceiling,
                file_limit = files,
                "the file limit allows fewer connections than wanted; raise it (ulimit -n, LimitNOFILE=)"
            );
            ceiling
        }
        _ => wanted,
    }
}

/// Raises the soft limit on open files to the hard limit; returns the limit now in force (`None`: unlimited or
/// unknown).
#[cfg(unix)]
fn raise_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::info!(from = ?limit.current, to = ?limit.maximum, "raised the open-file limit");
                return limit.maximum;
            }
            Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
        }
    }
    limit.current
}

#[cfg(not(unix))]
fn raise_file_limit() -> Option<u64> {
    None
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
