//! Photos: uploaded resumably by their SHA-256 (tus 1.0 core protocol, `api/media.rs`), verified, and stored
//! content-addressed in the data directory.
//!
//! Layout, under the data directory:
//! - `media/ab/cd/abcd….jpg` — a stored photo, named by the SHA-256 of its bytes, sharded by the hash's first
//!   two bytes (so no directory holds more than a few hundred files at millions of photos). Stored once however
//!   many users upload it; never changed or deleted by the server.
//! - `media/partial/<upload id>.part` — an upload in progress: the bytes received so far, appended as they
//!   arrive, so a cut loses only the bytes in flight. Its length *is* the upload's offset. Expires after
//!   [`Limits::upload_expiry`] without new bytes; swept on every upload's creation and at start.
//!
//! The database holds who uploaded what (`media_owners`), which uploads are open (`media_uploads`), and which
//! photos each revision of each visit references (`visit_photos`, filled at ingest from the visit's answers):
//! - an enumerator or assessor uploads only a photo one of their own visits references, and reads only photos
//!   they uploaded. A photo stored already from someone else is still uploaded in full by a new owner (who
//!   thereby shows they hold it) and then deduplicated: the hash alone grants nothing;
//! - a supervisor reads a photo that some revision of a visit in their regions references.
//!
//! A photo is accepted only when its bytes hash to the name it was uploaded under and they are a JPEG
//! ([`jpeg::check`]); then it is renamed into place (durable: file and directory synced) before the database
//! records it, so a photo the server confirmed is on disk.

pub mod jpeg;
pub mod progress;
pub mod thumb;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::db::sql::{OptionalExtension, Transaction, params};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tepat_protocol::{Answers, hex};
use tokio::sync::watch;

use crate::config::Limits;
use crate::db::{self, Db, DbError};
use crate::regions::scope_sql;

/// The media directory inside the data directory.
pub const MEDIA_DIR: &str = "media";
/// Uploads in progress, inside the media directory.
const PARTIAL_DIR: &str = "partial";

/// True for a SHA-256 as photos are named: 64 lower-case hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::db::sql::Error> for MediaError {
    fn from(e: crate::db::sql::Error) -> Self {
        MediaError::Db(e.into())
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> MediaError + 'a {
    move |source| MediaError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where photos live on disk, and the uploads in progress in this process.
#[derive(Debug)]
pub struct Media {
    /// The data directory.
    data_dir: PathBuf,
    /// One entry per upload being written to, so a newer PATCH takes over from an older one still running.
    slots: Mutex<HashMap<i64, Arc<UploadSlot>>>,
}

/// An upload being written to. `generation` moves on each PATCH; an older PATCH sees the change (also while it
/// waits for bytes) and stops. `file` is held around each append, so the newer one reads a settled length.
#[derive(Debug)]
pub struct UploadSlot {
    generation: watch::Sender<u64>,
    file: Mutex<()>,
}

/// A PATCH's claim on its upload, taken by [`Media::claim`]; a clone is the same claim (for a blocking thread).
#[derive(Debug, Clone)]
pub struct Claim {
    pub upload_id: i64,
    slot: Arc<UploadSlot>,
    mine: u64,
    /// Resolves when a newer PATCH takes the upload over.
    pub superseded: watch::Receiver<u64>,
}

impl Media {
    pub fn new(data_dir: &Path) -> Self {
        Media {
            data_dir: data_dir.to_path_buf(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// A stored photo's path relative to the data directory, as exports show it: `media/ab/cd/<sha256>.jpg`.
    pub fn relative_path(sha256: &str) -> String {
        let (a, b) = (
            &sha256[..2.min(sha256.len())],
            sha256.get(2..4).unwrap_or(""),
        );
        format!("{MEDIA_DIR}/{a}/{b}/{sha256}.jpg")
    }

    /// A stored photo's file.
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.data_dir.join(Self::relative_path(sha256))
    }

    /// An upload's bytes so far.
    pub fn partial_path(&self, upload_id: i64) -> PathBuf {
        self.data_dir
            .join(MEDIA_DIR)
            .join(PARTIAL_DIR)
            .join(format!("{upload_id}.part"))
    }

    /// Takes an upload over for one PATCH: any older PATCH on it stops before its next append.
    pub fn claim(&self, upload_id: i64) -> Claim {
        let slot = lock(&self.slots)
            .entry(upload_id)
            .or_insert_with(|| {
                Arc::new(UploadSlot {
                    generation: watch::Sender::new(0),
                    file: Mutex::new(()),
                })
            })
            .clone();
        let mut mine = 0;
        slot.generation.send_modify(|g| {
            *g += 1;
            mine = *g;
        });
        let mut superseded = slot.generation.subscribe();
        superseded.mark_unchanged();
        Claim {
            upload_id,
            slot,
            mine,
            superseded,
        }
    }

    /// Ends a PATCH's claim; slots no PATCH holds any more go (also those of PATCHes dropped on a timeout).
    pub fn release(&self, claim: Claim) {
        drop(claim);
        lock(&self.slots).retain(|_, slot| Arc::strong_count(slot) > 1);
    }

    /// The current length of an upload's bytes, read while no append runs (0 when nothing arrived yet).
    pub fn settled_offset(&self, claim: &Claim) -> Result<u64, MediaError> {
        let _file = lock(&claim.slot.file);
        self.partial_len(claim.upload_id)
    }

    fn partial_len(&self, upload_id: i64) -> Result<u64, MediaError> {
        let path = self.partial_path(upload_id);
        match std::fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io("reading the upload", &path)(e)),
        }
    }

    /// Appends `bytes` at `offset` of a claimed upload. `Ok(false)`: a newer PATCH took the upload over, or the
    /// upload's length is no longer `offset` (nothing was written).
    pub fn append(&self, claim: &Claim, offset: u64, bytes: &[u8]) -> Result<bool, MediaError> {
        let _file = lock(&claim.slot.file);
        if *claim.slot.generation.borrow() != claim.mine {
            return Ok(false);
        }
        let path = self.partial_path(claim.upload_id);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("creating the upload directory", dir))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("opening the upload", &path))?;
        let len = file
            .metadata()
            .map_err(io("reading the upload", &path))?
            .len();
        if len != offset {
            return Ok(false);
        }
        file.write_all(bytes)
            .map_err(io("writing the upload", &path))?;
        Ok(true)
    }

    /// Makes an upload's bytes so far durable (the answer to a PATCH promises them).
    pub fn sync_partial(&self, upload_id: i64) -> Result<(), MediaError> {
        let path = self.partial_path(upload_id);
        match std::fs::File::open(&path) {
            Ok(f) => f.sync_data().map_err(io("syncing the upload", &path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("syncing the upload", &path)(e)),
        }
    }

    fn remove_partial(&self, upload_id: i64) {
        let path = self.partial_path(upload_id);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "an upload's file could not be removed");
        }
    }
}

/// A count or size read back from SQLite (stored from a `u64`, never negative).
fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An upload open in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub upload_id: i64,
    pub length: u64,
    pub expires_at: DateTime<Utc>,
}

/// What a user's upload of a photo stands at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The user has uploaded it whole; it is stored (`length` bytes).
    Stored { length: u64 },
    /// Open: `offset` bytes of `upload.length` received.
    Partial { upload: Upload, offset: u64 },
    /// Nothing open (never created, finished as someone else's, or expired).
    Missing,
}

/// Where a user's upload of `sha256` stands. An expired upload is removed here and reads as missing.
pub fn state(
    media: &Media,
    db: &Db,
    user_id: &str,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<State, MediaError> {
    let (owned, upload) = db.read(|tx| -> Result<_, MediaError> {
        let owned: Option<u64> = tx
            .query_row(
                "SELECT m.bytes FROM media_owners o JOIN media m ON m.sha256 = o.sha256
                 WHERE o.sha256 = ?1 AND o.user_id = ?2",
                params![sha256, user_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(non_negative);
        Ok((owned, open_upload(tx, user_id, sha256)?))
    })?;
    if let Some(length) = owned {
        return Ok(State::Stored { length });
    }
    let Some(upload) = upload else {
        return Ok(State::Missing);
    };
    if upload.expires_at <= now {
        remove_upload(media, db, upload.upload_id)?;
        return Ok(State::Missing);
    }
    let offset = media.partial_len(upload.upload_id)?;
    Ok(State::Partial { upload, offset })
}

fn open_upload(
    tx: &Transaction<'_>,
    user_id: &str,
    sha256: &str,
) -> Result<Option<Upload>, MediaError> {
    let row: Option<(i64, i64, String)> = tx
        .query_row(
            "SELECT upload_id, length, expires_at FROM media_uploads WHERE user_id = ?1 AND sha256 = ?2",
            params![user_id, sha256],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(upload_id, length, expires_at)| {
        Ok(Upload {
            upload_id,
            length: non_negative(length),
            expires_at: db::parse_timestamp(&expires_at)?,
        })
    })
    .transpose()
}

/// Removes an upload and its bytes (a body that is not a JPEG from its first bytes on).
pub fn abandon(media: &Media, db: &Db, upload_id: i64) -> Result<(), MediaError> {
    remove_upload(media, db, upload_id)
}

fn remove_upload(media: &Media, db: &Db, upload_id: i64) -> Result<(), MediaError> {
    db.write(|tx| {
        tx.execute(
            "DELETE FROM media_uploads WHERE upload_id = ?1",
            [upload_id],
        )
    })?;
    media.remove_partial(upload_id);
    Ok(())
}

/// Why an upload cannot be created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CreateError {
    #[error(
        "photo {0} is not in any of your visits on this server: sync the visit first, then upload its photos"
    )]
    NotReferenced(String),
    #[error("Upload-Length: {length} bytes is above the largest photo taken ({limit} bytes)")]
    TooLarge { length: u64, limit: u64 },
    #[error("Upload-Length: a photo has at least one byte")]
    Empty,
    #[error(
        "Upload-Length: this photo's upload was created with {existing} bytes, not {length}; a photo's length \
         cannot change (its hash names its bytes)"
    )]
    LengthMismatch { existing: u64, length: u64 },
    #[error("you have {open} uploads open, the most allowed ({limit}); finish them first")]
    TooManyUploads { open: u64, limit: u64 },
}

/// Opens (or finds) the caller's upload of `sha256` with `length` bytes.
pub fn create(
    media: &Media,
    db: &Db,
    limits: &Limits,
    user_id: &str,
    sha256: &str,
    length: u64,
    now: DateTime<Utc>,
) -> Result<Result<State, CreateError>, MediaError> {
    if length == 0 {
        return Ok(Err(CreateError::Empty));
    }
    if length > limits.max_media_bytes {
        return Ok(Err(CreateError::TooLarge {
            length,
            limit: limits.max_media_bytes,
        }));
    }
    sweep_expired(media, db, now, 64)?;
    match state(media, db, user_id, sha256, now)? {
        State::Stored { length } => return Ok(Ok(State::Stored { length })),
        State::Partial { upload, offset } => {
            if upload.length != length {
                return Ok(Err(CreateError::LengthMismatch {
                    existing: upload.length,
                    length,
                }));
            }
            return Ok(Ok(State::Partial { upload, offset }));
        }
        State::Missing => {}
    }
    let expires_at = now + limits.upload_expiry;
    let created = db.write(|tx| -> Result<Result<Upload, CreateError>, MediaError> {
        let referenced: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM visit_photos p JOIN visits v
                 ON v.visit_id = p.visit_id AND v.revision = p.revision
             WHERE p.sha256 = ?1 AND v.user_id = ?2)",
            params![sha256, user_id],
            |r| r.get(0),
        )?;
        if !referenced {
            return Ok(Err(CreateError::NotReferenced(sha256.to_string())));
        }
        let open = non_negative(tx.query_row(
            "SELECT count(*) FROM media_uploads WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )?);
        if open >= limits.max_open_uploads_per_user {
            return Ok(Err(CreateError::TooManyUploads {
                open,
                limit: limits.max_open_uploads_per_user,
            }));
        }
        // A concurrent creation of the same upload (a retry racing its first try) finds the row already there.
        tx.execute(
            "INSERT INTO media_uploads (sha256, user_id, length, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, sha256) DO NOTHING",
            params![
                sha256,
                user_id,
                length as i64,
                db::timestamp(now),
                db::timestamp(expires_at)
            ],
        )?;
        match open_upload(tx, user_id, sha256)? {
            Some(upload) => Ok(Ok(upload)),
            None => {
                Err(DbError::Corrupt(format!("upload of {sha256} vanished while created")).into())
            }
        }
    })?;
    Ok(created.map(|upload| {
        // A leftover file under a reused id (never expected: ids only grow) must not count as received.
        let offset = media.partial_len(upload.upload_id).unwrap_or(0);
        State::Partial { upload, offset }
    }))
}

/// Moves an open upload's expiry on: it expires `upload_expiry` after its last bytes arrived.
pub fn touch(
    db: &Db,
    limits: &Limits,
    upload_id: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, MediaError> {
    let expires_at = now + limits.upload_expiry;
    db.write(|tx| {
        tx.execute(
            "UPDATE media_uploads SET expires_at = ?2 WHERE upload_id = ?1",
            params![upload_id, db::timestamp(expires_at)],
        )
    })?;
    Ok(expires_at)
}

/// Why a whole upload was not accepted. The upload is removed: the photo must be sent again from byte 0.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error(
        "the {length} bytes received hash to {actual}, not {expected}: the photo was damaged on the way; send it \
         again from the start"
    )]
    HashMismatch {
        expected: String,
        actual: String,
        length: u64,
    },
    #[error("the upload is not a JPEG photo: {0}")]
    NotJpeg(jpeg::JpegProblem),
}

/// Accepts a whole upload: checks the bytes hash to `sha256` and are a JPEG, moves them into place (or drops them
/// when the same photo is stored already), records the caller as an owner and closes the upload. Runs on a
/// blocking thread. Its EXIF capture time is recorded for the signals of fabrication (`crate::signals`).
pub fn finish(
    media: &Media,
    db: &Db,
    uploader: &crate::auth::Caller,
    sha256: &str,
    upload: &Upload,
    now: DateTime<Utc>,
    thresholds: &crate::config::SignalThresholds,
) -> Result<Result<(), Refused>, MediaError> {
    let partial = media.partial_path(upload.upload_id);
    let mut bytes = Vec::with_capacity(usize::try_from(upload.length).unwrap_or(0));
    std::fs::File::open(&partial)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io("reading the upload", &partial))?;
    let actual = hex(&Sha256::digest(&bytes));
    let refusal = if actual != sha256 {
        Some(Refused::HashMismatch {
            expected: sha256.to_string(),
            actual,
            length: bytes.len() as u64,
        })
    } else {
        jpeg::check(&bytes).err().map(Refused::NotJpeg)
    };
    if let Some(refused) = refusal {
        remove_upload(media, db, upload.upload_id)?;
        return Ok(Err(refused));
    }
    store_blob(media, sha256, &partial)?;
    db.write(|tx| -> Result<(), MediaError> {
        tx.execute(
            "INSERT INTO media (sha256, bytes, stored_at) VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING",
            params![sha256, bytes.len() as i64, db::timestamp(now)],
        )?;
        // The photo's EXIF capture time, for "photo taken outside the visit" on the visits that reference it.
        crate::signals::store::on_photo_stored(tx, sha256, crate::signals::exif::captured(&bytes), thresholds)?;
        tx.execute(
            "INSERT INTO media_owners (sha256, user_id, device_id, uploaded_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256, user_id) DO NOTHING",
            params![sha256, uploader.user_id, uploader.device_id, db::timestamp(now)],
        )?;
        tx.execute(
            "DELETE FROM media_uploads WHERE upload_id = ?1",
            [upload.upload_id],
        )?;
        Ok(())
    })?;
    Ok(Ok(()))
}

/// Puts verified bytes at the photo's content address: synced, renamed into place, directory synced. When the
/// photo is there already (another owner's upload), the upload's copy is dropped.
fn store_blob(media: &Media, sha256: &str, partial: &Path) -> Result<(), MediaError> {
    let target = media.blob_path(sha256);
    if target.exists() {
        std::fs::remove_file(partial).map_err(io("removing the upload", partial))?;
        return Ok(());
    }
    let dir = target.parent().unwrap_or(&media.data_dir);
    std::fs::create_dir_all(dir).map_err(io("creating the media directory", dir))?;
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing the upload", partial))?;
    std::fs::rename(partial, &target).map_err(io("storing the photo", &target))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing the media directory", dir))?;
    Ok(())
}

/// Removes uploads that expired before `now` (at most `max` of them: creation calls this, so its cost is
/// bounded) and their files. Returns how many were removed.
pub fn sweep_expired(
    media: &Media,
    db: &Db,
    now: DateTime<Utc>,
    max: usize,
) -> Result<usize, MediaError> {
    let expired: Vec<i64> = db.write(|tx| -> Result<Vec<i64>, crate::db::sql::Error> {
        let ids: Vec<i64> = tx
            .prepare_cached(
                "SELECT upload_id FROM media_uploads WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
            )?
            .query_map(params![db::timestamp(now), max as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            tx.execute("DELETE FROM media_uploads WHERE upload_id = ?1", [id])?;
        }
        Ok(ids)
    })?;
    for id in &expired {
        media.remove_partial(*id);
    }
    if !expired.is_empty() {
        tracing::info!(uploads = expired.len(), "expired uploads removed");
    }
    Ok(expired.len())
}

/// At start: removes every expired upload, and upload files without an open upload (left by a crash between
/// closing an upload and removing its file).
pub fn sweep_at_start(media: &Media, db: &Db, now: DateTime<Utc>) -> Result<(), MediaError> {
    while sweep_expired(media, db, now, 1000)? == 1000 {}
    let dir = media.data_dir.join(MEDIA_DIR).join(PARTIAL_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let open: std::collections::HashSet<i64> = db.read(|tx| {
        tx.prepare("SELECT upload_id FROM media_uploads")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, crate::db::sql::Error>>()
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_suffix(".part"))
            .and_then(|n| n.parse::<i64>().ok());
        if id.is_some_and(|id| !open.contains(&id)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Who may read a stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Stored, and the caller may read it.
    Granted { length: u64 },
    /// A visit the supervisor may see references it, but it has not arrived yet.
    NotArrived,
    /// Unknown, or not the caller's to read (the same answer, so hashes cannot be probed).
    Denied,
}

/// Whether `user_id` may read `sha256`: their own upload (enumerators, assessors), or a photo of a visit in their
/// regions (supervisors).
pub fn access(
    tx: &Transaction<'_>,
    user_id: &str,
    supervisor: bool,
    sha256: &str,
) -> Result<Access, DbError> {
    let stored: Option<u64> = tx
        .query_row("SELECT bytes FROM media WHERE sha256 = ?1", [sha256], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(non_negative);
    if !supervisor {
        let owner: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM media_owners WHERE sha256 = ?1 AND user_id = ?2)",
            params![sha256, user_id],
            |r| r.get(0),
        )?;
        return Ok(match stored {
            Some(length) if owner => Access::Granted { length },
            _ => Access::Denied,
        });
    }
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM visit_photos p JOIN visits v
             ON v.visit_id = p.visit_id AND v.revision = p.revision
         WHERE p.sha256 = ?1 AND {})",
        scope_sql("v.region_code", "?2")
    );
    let visible: bool = tx.query_row(&sql, params![sha256, user_id], |r| r.get(0))?;
    Ok(match (visible, stored) {
        (true, Some(length)) => Access::Granted { length },
        (true, None) => Access::NotArrived,
        (false, _) => Access::Denied,
    })
}

/// The photos a visit's answers reference: `(path, sha256)`, e.g. `("photo_front", "9f86…")` or
/// `("members[2].photo", …)`. A photo answer is an object `{file, sha256}` (the form engine checks the type).
pub fn photos_in(answers: &Answers) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in answers {
        collect_photos(key, value, &mut out);
    }
    out
}

fn collect_photos(path: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(sha)), Some(Value::String(_))) =
                (map.get("sha256"), map.get("file"))
            {
                if is_sha256(sha) {
                    out.push((path.to_string(), sha.clone()));
                }
                return;
            }
            for (key, child) in map {
                collect_photos(&format!("{path}.{key}"), child, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_photos(&format!("{path}[{i}]"), item, out);
            }
        }
        _ => {}
    }
}

/// Records the photos of one stored revision of a visit (ingest calls this for every revision it stores).
pub fn link_visit(
    tx: &Transaction<'_>,
    visit_id: &str,
    revision: u32,
    answers: &Answers,
) -> Result<(), crate::db::sql::Error> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO visit_photos (visit_id, revision, path, sha256) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (visit_id, revision, path) DO NOTHING",
    )?;
    for (path, sha256) in photos_in(answers) {
        insert.execute(params![visit_id, revision, path, sha256])?;
    }
    Ok(())
}

/// Whether a photo is stored (exports show its server path only then).
pub fn is_stored(tx: &Transaction<'_>, sha256: &str) -> Result<bool, crate::db::sql::Error> {
    tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = ?1)")?
        .query_row([sha256], |r| r.get(0))
}

/// Reads a stored photo whole (photos are capped at `max_media_bytes`).
pub fn read(media: &Media, sha256: &str) -> Result<Vec<u8>, MediaError> {
    let path = media.blob_path(sha256);
    std::fs::read(&path).map_err(io("reading the photo", &path))
}

#[cfg(test)]
mod tests;
