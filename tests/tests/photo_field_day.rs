//! The 2G field day with photos that `make demo` shows (`tepat_e2e::photo_day`, issue 13): 12 found households
//! with two photos each, answers first, then the photos over the demo's 2G link (30 kB/s, 300 ms) dropping about
//! every 400 kB. Every photo arrives byte-identical, exactly once, and the supervisor's progress counts them all.

use tepat_e2e::field::Field;
use tepat_e2e::photo_day::{self, SLOTS, VISITS};

#[test]
fn a_2g_day_of_12_visits_with_two_photos_each_reaches_the_supervisor_whole_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 2026).unwrap();
    let day = photo_day::run(&mut field, "Dewi Lestari", 13, &mut |line| {
        eprintln!("{line}")
    })
    .unwrap();
    eprintln!("{day:?}");
    let photos = VISITS * SLOTS.len();
    assert_eq!(day.taken, photos, "photos the camera wrote");
    assert_eq!(
        day.photos, photos,
        "distinct photos waiting after the answers went"
    );
    // The answers went before any photo: the status named them all as waiting.
    let status = day.status_text.clone().unwrap_or_default();
    assert!(
        status.starts_with(&format!("{photos} foto")) && status.contains("belum terkirim"),
        "{status}"
    );
    assert!(day.text.bytes_up < day.photo_bytes / 10, "{:?}", day.text);
    // The link dropped during the uploads (about every 400 kB).
    assert!(
        day.upload.drops >= day.photo_bytes / 600_000,
        "only {} drops for {} bytes",
        day.upload.drops,
        day.photo_bytes
    );
    assert_eq!(
        day.held.byte_identical, photos,
        "photos byte-identical on disk and for the supervisor"
    );
    assert_eq!(day.held.stored_rows, photos, "one media row per photo");
    assert_eq!(day.held.stored_files, photos, "one stored file per photo");
    assert_eq!(
        (day.held.open_uploads, day.held.partial_files),
        (0, 0),
        "no upload left open"
    );
    assert_eq!(
        day.held.supervisor,
        photo_day::SupervisorCount {
            visits_with_photos: VISITS as u64,
            visits_complete: VISITS as u64,
            photos: photos as u64,
            photos_arrived: photos as u64,
        }
    );
    assert!(day.all_arrived_once());
}
