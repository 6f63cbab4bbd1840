//! Photos on the phone: made ready to send when taken (`tepat-photo`: orientation applied, long edge capped,
//! metadata dropped, ~300 KB), and uploaded after the text — when a sync has gone through and no round is left,
//! the same background thread sends the photo outbox (`store::photo_outbox`) resumably by SHA-256.
//!
//! Off until the shell turns it on with [`Runtime::set_photos`] (Android's `FieldCore` and `tepat-field` should;
//! training without a server and the older tests keep the camera's file as it is).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use chrono::{Duration, Utc};
use tepat_photo::PhotoSettings;
use tepat_photo::upload::Known;

use super::transport::PhotoUploadError;
use super::{Inner, Runtime};
use tepat_store::PhotosWaiting;

/// How the runtime handles photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Where prepared photos are kept (the app's private storage), named `<sha256>.jpg`.
    pub dir: PathBuf,
    /// How the camera's file is prepared; `None` keeps it as it is (hashed, not changed).
    pub prepare: Option<PhotoSettings>,
    /// Upload the photo outbox after each sync that went through.
    pub upload: bool,
    /// Days a photo's file is kept after the server confirmed it (then removed; the row stays).
    pub keep_days: u32,
}

impl PhotoOptions {
    /// Prepared with the default settings (1600 px, ≤ 300 KB), uploaded, kept 7 days after confirmation.
    pub fn new(dir: PathBuf) -> PhotoOptions {
        PhotoOptions {
            dir,
            prepare: Some(PhotoSettings::default()),
            upload: true,
            keep_days: 7,
        }
    }
}

/// What one pass over the photo outbox did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhotoUploadReport {
    /// Photos the server confirmed whole in this pass.
    pub stored: u32,
    /// Photos that need a person (file gone or changed, refused by the server); kept in the outbox.
    pub failed: u32,
    /// The link broke (or the transport has no server): the rest waits for the next pass.
    pub interrupted: bool,
    /// What still waits.
    pub waiting: PhotosWaiting,
}

impl Runtime {
    /// Turns photo preparation and uploads on (or changes them).
    pub fn set_photos(&self, options: PhotoOptions) {
        *self
            .inner
            .photo_options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(options);
    }

    /// Sends the photo outbox now (the runtime does this itself after a sync when uploads are on). Blocks for
    /// the whole pass; one pass at a time (a second caller gets an empty report).
    pub fn upload_photos(&self) -> PhotoUploadReport {
        self.inner.upload_photos()
    }

    /// Photos waiting and their bytes not yet on the server.
    pub fn photos_waiting(&self) -> Result<PhotosWaiting, tepat_store::StoreError> {
        self.inner.lock().store.photos_waiting()
    }
}

impl Inner {
    pub(super) fn photo_options(&self) -> Option<PhotoOptions> {
        self.photo_options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(super) fn upload_photos(&self) -> PhotoUploadReport {
        let mut report = PhotoUploadReport::default();
        if self.uploading.swap(true, Ordering::SeqCst) {
            return report;
        }
        let result = self.upload_pass(&mut report);
        self.uploading.store(false, Ordering::SeqCst);
        if result.is_err() {
            report.interrupted = true;
        }
        let mut state = self.lock();
        report.waiting = state.store.photos_waiting().unwrap_or_default();
        if let Some(options) = self.photo_options() {
            let keep = Duration::days(i64::from(options.keep_days));
            let _ = state.store.remove_sent_photo_files(Utc::now(), keep);
        }
        report
    }

    fn upload_pass(&self, report: &mut PhotoUploadReport) -> Result<(), PhotoUploadError> {
        let waiting = self
            .lock()
            .store
            .waiting_photos()
            .map_err(|e| PhotoUploadError::Local(e.to_string()))?;
        for photo in waiting {
            let bytes = match std::fs::read(&photo.file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let reason = format!("file {}: {e}", photo.file);
                    let _ = self.lock().store.photo_failed(&photo.sha256, &reason);
                    report.failed += 1;
                    continue;
                }
            };
            if tepat_photo::sha256_hex(&bytes) != photo.sha256 {
                let reason = format!("file {} changed since the photo was taken", photo.file);
                let _ = self.lock().store.photo_failed(&photo.sha256, &reason);
                report.failed += 1;
                continue;
            }
            let known = if photo.created {
                Known::Created {
                    offset: photo.offset,
                }
            } else {
                Known::New
            };
            let mut save = |offset: u64| {
                // Saved before the next request goes out, so a kill right after keeps it.
                let _ = self.lock().store.save_photo_offset(&photo.sha256, offset);
            };
            match self
                .transport
                .upload_photo(&photo.sha256, &bytes, known, &mut save)
            {
                Ok(()) => {
                    let _ = self.lock().store.photo_sent(&photo.sha256, Utc::now());
                    report.stored += 1;
                }
                Err(PhotoUploadError::Refused(reason)) => {
                    let _ = self.lock().store.photo_failed(&photo.sha256, &reason);
                    report.failed += 1;
                }
                Err(stop) => return Err(stop),
            }
        }
        Ok(())
    }
}
