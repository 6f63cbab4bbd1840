//! The server's explicit limits: every one of them, when exceeded, is a 413 naming the limit.

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_decompressed_bytes: 16 * 1024 * 1024,
            max_visits_per_batch: 200,
            max_page_size: 1000,
            default_page_size: 200,
        }
    }
}

/// Visits per enumerator per day that the supervisor's progress view measures against.
pub const DAILY_TARGET: u32 = 12;
