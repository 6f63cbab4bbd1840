//! The server's explicit limits: every one of them, when exceeded, is a 413 naming the limit.

use std::time::Duration;

/// Limits applied to requests. The defaults suit 2G/3G phones sending bounded batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a request body as sent (gzipped or not).
    pub max_body_bytes: usize,
    /// Bytes of a request body after gzip decompression (a gzip bomb stops here).
    pub max_decompressed_bytes: usize,
    /// Visits in one sync batch.
    pub max_visits_per_batch: usize,
    /// Items in one page: changes per sync response, visits per supervisor pull.
    pub max_page_size: usize,
    /// Page size when the client asks for none.
    pub default_page_size: usize,
    // Bounds of the server's own work (issue 10): what pages, requests and blocking work may cost.
    /// Bytes of stored visits (or changes) in one page: a page stops before exceeding it (always holding at least
    /// one item) and says `more`.
    pub max_page_bytes: usize,
    /// Requests served at once (an export counts until its last byte is sent); blocking work (SQLite,
    /// validation) runs on at most this many threads.
    pub max_concurrent_requests: usize,
    /// How long a request waits for a free slot before it is refused with 503 and `Retry-After`.
    pub queue_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_decompressed_bytes: 16 * 1024 * 1024,
            max_visits_per_batch: 200,
            max_page_size: 1000,
            default_page_size: 200,
            max_page_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 64,
            queue_wait: Duration::from_secs(2),
        }
    }
}

/// The listener's bounds (`tepat-server serve` flags): how long a connection may take over each step, and how
/// many connections are held at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accepting a connection (TLS handshake included) to a complete request head.
    pub header_timeout: Duration,
    /// From a complete request head to the response's head: reading the body and the handler's work.
    pub request_timeout: Duration,
    /// A kept-alive connection waiting for its next request, or a response the client stopped reading.
    pub idle_timeout: Duration,
    /// Connections held at once; `None` derives it from the process's file limit (see `serve`).
    pub max_connections: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
        }
    }
}

/// Visits per enumerator per day that the supervisor's progress view measures against.
pub const DAILY_TARGET: u32 = 12;
