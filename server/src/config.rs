//! The server's explicit limits: every one of them, when exceeded, is a 413 or 422 naming the limit.

use tepat_protocol::bounds::BodyLimits;

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
    // --- Request bodies: checked while a body is parsed, before any work is spent on it (issue 10).
    /// Bytes of an enrolment body as sent: enrolment needs no token, so it only takes small bodies.
    pub max_enrol_body_bytes: usize,
    /// Bytes of an enrolment body after gzip decompression.
    pub max_enrol_decompressed_bytes: usize,
    /// Values in one visit's answers (keys of the answers and of each member, list items).
    pub max_answers_per_visit: usize,
    /// Characters of one text answer or note (a form's `max_length` may be lower).
    pub max_text_chars: usize,
    /// Items of one list in the answers: repeat members, `select_multiple` codes (a form's `max_count` may be
    /// lower).
    pub max_list_items: usize,
    /// Lists/objects nested inside one answer.
    pub max_answer_depth: usize,
    /// Warning notes of one visit.
    pub max_notes_per_visit: usize,
    /// Characters of a key in the answers or the notes.
    pub max_key_chars: usize,
    /// Findings the server's re-validation may store for one visit.
    pub max_findings_per_visit: usize,
    // --- Photos (issue 13, `media`).
    /// Bytes of one photo (`Upload-Length`); phones send ≤ 300 KB at 1600 px.
    pub max_media_bytes: u64,
    /// An upload without new bytes for this long expires; its bytes are removed.
    pub upload_expiry: chrono::TimeDelta,
    /// Uploads one user may hold open at once.
    pub max_open_uploads_per_user: u64,
}

impl Limits {
    /// The limits a request body is parsed under.
    pub fn body(&self) -> BodyLimits {
        BodyLimits {
            max_visits: self.max_visits_per_batch,
            max_answers: self.max_answers_per_visit,
            max_text_chars: self.max_text_chars,
            max_list_items: self.max_list_items,
            max_depth: self.max_answer_depth,
            max_notes: self.max_notes_per_visit,
            max_key_chars: self.max_key_chars,
            // Trail bounds (events per visit, value length) are the protocol's defaults.
            ..BodyLimits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let body = BodyLimits::default();
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_decompressed_bytes: 16 * 1024 * 1024,
            max_visits_per_batch: 200,
            max_page_size: 1000,
            default_page_size: 200,
            max_page_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 64,
            queue_wait: Duration::from_secs(2),
            max_enrol_body_bytes: 4 * 1024,
            max_enrol_decompressed_bytes: 4 * 1024,
            max_answers_per_visit: body.max_answers,
            max_text_chars: body.max_text_chars,
            max_list_items: body.max_list_items,
            max_answer_depth: body.max_depth,
            max_notes_per_visit: body.max_notes,
            max_key_chars: body.max_key_chars,
            max_findings_per_visit: 2_000,
            max_media_bytes: 4 * 1024 * 1024,
            upload_expiry: chrono::TimeDelta::hours(72),
            max_open_uploads_per_user: 200,
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

/// Visits per enumerator per day that the supervisor's progress view measures against (the phone's target too).
pub use tepat_protocol::DAILY_TARGET;
