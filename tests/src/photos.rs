//! Photos in the end-to-end tests: a day of found visits with the camera on (camera-size JPEGs, EXIF and all,
//! made ready to send by the real runtime), and the check that every photo reached the server byte for byte,
//! exactly once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::field::Field;

/// Camera photos of this size (3 MP; a 12 MP photo prepares to the same 1600 px but takes longer to make here).
pub const CAMERA: (u32, u32) = (2000, 1500);

/// Enumerator `e` enters `visits` found households with the camera on, and syncs the text (uploads held back,
/// so the faults below fall on photos). The photos waiting: `(sha256, prepared file)`.
pub fn photo_day(field: &mut Field, e: usize, visits: usize) -> Vec<(String, PathBuf)> {
    field.enumerators[e]
        .phone
        .use_camera(CAMERA.0, CAMERA.1, false);
    for i in 0..visits {
        field.enter_found(e, i).unwrap();
    }
    field.enumerators[e].phone.sync_until_clean(3).unwrap();
    let waiting = field.enumerators[e].phone.waiting_photos().unwrap();
    assert!(
        waiting.len() >= visits,
        "{} photos for {visits} visits",
        waiting.len()
    );
    waiting
}

pub fn photo_bytes(photos: &[(String, PathBuf)]) -> u64 {
    photos
        .iter()
        .map(|(_, file)| std::fs::metadata(file).unwrap().len())
        .sum()
}

/// Every photo is on the server byte for byte, once: its file under `media/` is the phone's, the supervisor
/// reads the same bytes, the server holds one row per photo and no upload left open, and no phone waits.
pub fn check_photos_arrived(field: &Field, photos: &[(String, PathBuf)]) {
    let data = field.dir.join("server");
    let distinct: BTreeSet<&String> = photos.iter().map(|(sha, _)| sha).collect();
    for (sha, file) in photos {
        let phone = std::fs::read(file).unwrap();
        let stored = data.join(format!("media/{}/{}/{sha}.jpg", &sha[..2], &sha[2..4]));
        assert_eq!(
            std::fs::read(&stored).unwrap(),
            phone,
            "photo {sha} differs on the server"
        );
        let read = field.supervisor.photo(sha).unwrap();
        assert_eq!(
            read.as_deref(),
            Some(phone.as_slice()),
            "the supervisor reads photo {sha} differently"
        );
    }
    let db = rusqlite::Connection::open_with_flags(
        data.join("tepat.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (media, open): (i64, i64) = db
        .query_row(
            "SELECT (SELECT count(*) FROM media), (SELECT count(*) FROM media_uploads)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        media as usize,
        distinct.len(),
        "one stored photo per photo taken"
    );
    assert_eq!(open, 0, "no upload left open");
    let partial = data.join("media/partial");
    let left = std::fs::read_dir(&partial).map_or(0, |d| d.count());
    assert_eq!(left, 0, "no upload file left in {}", partial.display());
    for e in &field.enumerators {
        assert!(
            e.phone.waiting_photos().unwrap().is_empty(),
            "{} still waits",
            e.user_id
        );
    }
}
