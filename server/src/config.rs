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
    // --- Signals of fabrication (issue 16, `signals`).
    /// Thresholds of the signals computed at ingest (`--signal-thresholds FILE`).
    pub signals: SignalThresholds,
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
            signals: SignalThresholds::default(),
        }
    }
}

/// Thresholds of the signals of fabrication (`crate::signals`), computed at ingest. Whole numbers only, so the
/// configuration compares exactly. Read from a JSON file (`serve --signal-thresholds FILE`) whose keys are these
/// fields; a key left out keeps its default, an unknown key is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalThresholds {
    /// Codes of the form's outcome field that mean the family was found (DTSEN: `1`).
    pub found_outcomes: Vec<String>,
    /// Codes that mean the family was not found (DTSEN: `0`).
    pub not_found_outcomes: Vec<String>,
    /// A found visit must last at least this many minutes (started → finalised on the phone's clock) ...
    pub found_min_minutes: u32,
    /// ... plus this many per member of the roster.
    pub found_min_minutes_per_member: u32,
    /// GPS fixes of two different households at most this far apart (metres, at most 100).
    pub near_metres: u32,
    /// An enumerator's visits of one day all within this distance of their centre (metres) ...
    pub same_spot_metres: u32,
    /// ... when the day has at least this many visits with a GPS fix.
    pub same_spot_min_visits: u32,
    /// Consecutive visits of one enumerator faster than this (km/h, on the distance less both fixes' accuracy) ...
    pub max_speed_kmh: u32,
    /// ... and at least this far apart (metres), so that GPS noise between neighbours never counts.
    pub speed_min_metres: u32,
    /// A photo taken (EXIF `DateTimeOriginal`) more than this many minutes before the visit started or after it
    /// was finalised.
    pub photo_margin_minutes: u32,
    /// Two households with identical rosters of at least this many members.
    pub identical_roster_min_members: u32,
    /// Local hours (WIB/WITA/WIT by province) when visits are plausible: from `day_starts_hour` ...
    pub day_starts_hour: u32,
    /// ... to `day_ends_hour` (a visit started before the one or finalised at or after the other is flagged).
    pub day_ends_hour: u32,
    /// An enumerator's "not found" share in a village is compared once they have this many visits there ...
    pub not_found_min_visits: u32,
    /// ... and the rest of the village has this many ...
    pub not_found_min_village_visits: u32,
    /// ... and flagged when it exceeds the rest of the village's share by this many percentage points.
    pub not_found_excess_points: u32,
    /// Most related visits one lookup reads (same GPS cell, NIK, photo, roster; the visits of one enumerator's
    /// day): keeps ingest bounded however crowded an index entry becomes.
    pub max_related: u32,
}

impl Default for SignalThresholds {
    fn default() -> Self {
        Self {
            found_outcomes: vec!["1".into()],
            not_found_outcomes: vec!["0".into()],
            found_min_minutes: 10,
            found_min_minutes_per_member: 3,
            near_metres: 5,
            same_spot_metres: 30,
            same_spot_min_visits: 4,
            max_speed_kmh: 80,
            speed_min_metres: 1_000,
            photo_margin_minutes: 30,
            identical_roster_min_members: 2,
            day_starts_hour: 6,
            day_ends_hour: 21,
            not_found_min_visits: 10,
            not_found_min_village_visits: 10,
            not_found_excess_points: 25,
            max_related: 200,
        }
    }
}

/// A thresholds file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdsError {
    #[error("cannot read the signal thresholds {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("signal thresholds {path}: {source}")]
    Parse {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("signal thresholds: {0}")]
    Invalid(String),
}

impl SignalThresholds {
    /// Reads a thresholds file (JSON; keys left out keep their defaults) and checks it.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ThresholdsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ThresholdsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let thresholds: SignalThresholds =
            serde_json::from_str(&text).map_err(|source| ThresholdsError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        thresholds.check()?;
        Ok(thresholds)
    }

    /// The bounds the signals rely on: a GPS cell is searched with its eight neighbours, so "near" cannot reach
    /// beyond one cell (about 110 m); hours are hours of a day.
    pub fn check(&self) -> Result<(), ThresholdsError> {
        let bad = |m: String| Err(ThresholdsError::Invalid(m));
        if self.near_metres > 100 {
            return bad(format!("near_metres: {} is above 100", self.near_metres));
        }
        if self.day_starts_hour > self.day_ends_hour || self.day_ends_hour > 24 {
            return bad(format!(
                "day_starts_hour {} and day_ends_hour {}: a day runs from one hour to a later one, at most 24",
                self.day_starts_hour, self.day_ends_hour
            ));
        }
        if self.not_found_excess_points > 100 {
            return bad("not_found_excess_points: at most 100 percentage points".into());
        }
        if self.max_related == 0 || self.max_related > 10_000 {
            return bad(format!(
                "max_related: {} is not within 1..=10000",
                self.max_related
            ));
        }
        if self.max_speed_kmh == 0 {
            return bad("max_speed_kmh: must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thresholds_file_replaces_the_keys_it_names_and_refuses_what_it_cannot_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signals.json");
        std::fs::write(&path, r#"{"near_metres": 8, "found_outcomes": ["1", "2"]}"#).unwrap();
        let read = SignalThresholds::from_file(&path).unwrap();
        assert_eq!(read.near_metres, 8);
        assert_eq!(read.found_outcomes, vec!["1".to_string(), "2".to_string()]);
        assert_eq!(
            read.max_speed_kmh,
            SignalThresholds::default().max_speed_kmh
        );

        for (text, names) in [
            (r#"{"near_metre": 8}"#, "near_metre"),
            (r#"{"near_metres": 500}"#, "near_metres"),
            (
                r#"{"day_starts_hour": 22, "day_ends_hour": 6}"#,
                "day_starts_hour",
            ),
            (r#"{"max_related": 0}"#, "max_related"),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = SignalThresholds::from_file(&path).unwrap_err().to_string();
            assert!(error.contains(names), "{text}: {error}");
        }
        let missing = SignalThresholds::from_file(&dir.path().join("none.json")).unwrap_err();
        assert!(matches!(missing, ThresholdsError::Read { .. }));
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
