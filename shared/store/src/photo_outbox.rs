//! The photo outbox: photos of visits the server has taken, waiting to be uploaded (after the text: a visit's
//! photos are queued when its receipt arrives, so the server knows the visit that references them).
//!
//! A row keeps the photo's file, its size, how much of it the server has confirmed (`offset`, saved at every
//! answer, so it survives the app being killed) and whether the upload was created. The row stays after the
//! server confirms the whole photo (`sent_at`), so a photo queued again (a corrected revision keeping it) is not
//! sent twice; the file itself is removed `keep_days` after (see [`Store::remove_sent_photo_files`]).

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Transaction, params};

use super::{Store, StoreError, parse_time, time_text};

/// The schema step that adds the photo outbox.
pub(super) const PHOTO_OUTBOX: &str = r#"
CREATE TABLE photo_outbox (
    sha256     TEXT PRIMARY KEY,
    file       TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    offset     INTEGER NOT NULL DEFAULT 0,   -- bytes the server confirmed holding, at its last answer
    created    INTEGER NOT NULL DEFAULT 0,   -- the upload exists on the server
    queued_at  TEXT NOT NULL,
    sent_at    TEXT,                         -- the server confirmed the whole photo by its hash
    failed     TEXT,                         -- the last refusal that needs a person (file gone, refused)
    file_removed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX photo_outbox_waiting ON photo_outbox (queued_at) WHERE sent_at IS NULL;
"#;

/// A photo waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingPhoto {
    pub sha256: String,
    pub file: String,
    pub bytes: u64,
    pub offset: u64,
    pub created: bool,
}

/// What waits, for the sync status ("3 foto, 820 KB belum terkirim").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhotosWaiting {
    pub photos: u32,
    /// Bytes the server does not hold yet.
    pub bytes: u64,
}

/// Queues the photos of `visit_id` (in the caller's transaction, when its receipt is applied).
pub(super) fn queue_visit_photos(
    tx: &Transaction<'_>,
    visit_id: &str,
    at: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let photos: Vec<(String, String)> = tx
        .prepare_cached("SELECT sha256, file FROM photos WHERE visit_id = ?1")?
        .query_map([visit_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut queued = 0;
    for (sha256, file) in photos {
        // A file that is gone is queued all the same (with 0 bytes) and reported when its upload is tried.
        let bytes = std::fs::metadata(Path::new(&file)).map_or(0, |m| m.len());
        queued += tx.execute(
            "INSERT INTO photo_outbox (sha256, file, bytes, queued_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO NOTHING",
            params![sha256, file, bytes as i64, time_text(at)],
        )? as u32;
    }
    Ok(queued)
}

impl Store {
    /// Photos waiting for upload, oldest first (failed ones last).
    pub fn waiting_photos(&self) -> Result<Vec<WaitingPhoto>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, file, bytes, offset, created FROM photo_outbox WHERE sent_at IS NULL
             ORDER BY failed IS NOT NULL, queued_at, sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(WaitingPhoto {
                sha256: r.get(0)?,
                file: r.get(1)?,
                bytes: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                offset: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                created: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many photos wait and how many of their bytes the server does not hold.
    pub fn photos_waiting(&self) -> Result<PhotosWaiting, StoreError> {
        let (photos, bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(max(bytes - offset, 0)), 0) FROM photo_outbox WHERE sent_at IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(PhotosWaiting {
            photos: u32::try_from(photos).unwrap_or(u32::MAX),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }

    /// The server stated it holds `offset` bytes of the photo (the upload exists).
    pub fn save_photo_offset(&mut self, sha256: &str, offset: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE photo_outbox SET offset = ?2, created = 1, failed = NULL WHERE sha256 = ?1",
            params![sha256, offset as i64],
        )?;
        Ok(())
    }

    /// The server confirmed the whole photo by its hash: it leaves the outbox (its file stays `keep_days`).
    pub fn photo_sent(&mut self, sha256: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.strict(|s| {
            s.conn.execute(
                "UPDATE photo_outbox SET sent_at = ?2, offset = bytes, failed = NULL WHERE sha256 = ?1",
                params![sha256, time_text(at)],
            )?;
            Ok(())
        })
    }

    /// An upload that cannot go on without a person (the file is gone or was changed, the server refused it):
    /// it stays in the outbox, tried last, with the reason.
    pub fn photo_failed(&mut self, sha256: &str, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE photo_outbox SET failed = ?2 WHERE sha256 = ?1",
            params![sha256, reason],
        )?;
        Ok(())
    }

    /// Removes the files of photos the server confirmed more than `keep` ago. A photo also answered in a visit
    /// still being edited (a draft) or about to be (returned by the supervisor) keeps its file: the enumerator
    /// sees it again when correcting. Returns the files removed.
    pub fn remove_sent_photo_files(
        &mut self,
        now: DateTime<Utc>,
        keep: Duration,
    ) -> Result<u32, StoreError> {
        let due: Vec<(String, String, String)> = self
            .conn
            .prepare(
                "SELECT o.sha256, o.file, o.sent_at FROM photo_outbox o
                 WHERE o.sent_at IS NOT NULL AND o.file_removed = 0
                   AND NOT EXISTS (SELECT 1 FROM photos p JOIN visits v ON v.visit_id = p.visit_id
                                   WHERE p.sha256 = o.sha256 AND v.state IN ('draft', 'returned'))",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut removed = 0;
        for (sha256, file, sent_at) in due {
            if now - parse_time(&sent_at)? < keep {
                continue;
            }
            match std::fs::remove_file(&file) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => continue,
            }
            self.conn.execute(
                "UPDATE photo_outbox SET file_removed = 1 WHERE sha256 = ?1",
                [sha256],
            )?;
        }
        Ok(removed)
    }
}
