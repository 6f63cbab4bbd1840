//! `tepat-server serve`: binds, prints the address, serves until SIGTERM/SIGINT, then lets in-flight requests
//! (and the batches they are writing) finish before exiting.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use crate::api::{self, AppState};
use crate::config::Limits;
use crate::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the database and binds; returns the listener and the router, so tests can serve on port 0.
pub async fn bind(
    listen: &str,
    data: &Path,
    limits: Limits,
) -> Result<(tokio::net::TcpListener, axum::Router), ServeError> {
    let state = {
        let data = data.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let state = AppState::new(Db::open(&data)?, limits);
            // Visits stored by an older version get what the export needs before the first export.
            let app = state.app();
            crate::export::backfill(&app.db, &app.forms)?;
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

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr: SocketAddr = listener.local_addr()?;
    // The first line on stdout, for scripts and tests started with `--listen 127.0.0.1:0`.
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
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
