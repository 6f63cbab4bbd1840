//! Photos through the fault-injecting proxy: the real runtime on each phone (camera JPEGs made ready to send,
//! the photo outbox, resumable uploads by SHA-256) and the real server binary.
//!
//! - 200+ cuts at random byte offsets during uploads: every photo arrives byte-identical, exactly once;
//! - a cut about every 100 KB: the bytes the link carried up stay ≤ 1.15 × the photos' bytes;
//! - the server SIGKILLed while it receives a photo, and restarted: the same;
//! - a byte flipped on the way (plain HTTP: over TLS the record check would catch it first): the server refuses
//!   the photo by its hash, the phone sends it again, and the stored photo is the phone's.
//!
//! The phone killed mid-upload is `phone_killed_photos.rs` (it needs the phone in its own process); the
//! helpers both use are `tepat_e2e::photos`.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::Field;
use tepat_e2e::photos::{CAMERA, check_photos_arrived, photo_bytes, photo_day};
use tepat_e2e::proxy::{Cut, Link};

/// Upload passes until nothing waits, every connection the phone opens cut at `cut()` bytes up (a pass ends at
/// its first cut; planning a cut for each connection, not only a pass's first, keeps a connection the client
/// opens on its own from taking the cut and leaving the upload uncut); the passes made.
fn upload_with_cuts(
    field: &Field,
    e: usize,
    mut cut: impl FnMut() -> u64,
    max_passes: usize,
) -> usize {
    let phone = &field.enumerators[e].phone;
    for pass in 1..=max_passes {
        if phone.waiting_photos().unwrap().is_empty() {
            field.proxy.clear_plan();
            return pass - 1;
        }
        field.proxy.clear_plan();
        field
            .proxy
            .plan_cuts(std::iter::repeat_with(|| Some(Cut::Up(cut()))).take(8));
        phone.upload_photos();
    }
    panic!("photos still waiting after {max_passes} passes");
}

#[test]
fn two_hundred_cuts_at_random_offsets_lose_and_duplicate_no_photo() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 31).unwrap();
    field.add_enumerators(&["Dewi", "Rudi"], 12, &[]).unwrap();
    let mut photos = photo_day(&mut field, 0, 12);
    photos.extend(photo_day(&mut field, 1, 12));
    let total = photo_bytes(&photos);
    // Offsets uniform in 1..=2m, m = the photos' bytes / 300: about 300 cuts land on the uploads.
    let max = (2 * total / 300).max(2);
    let mut rng = StdRng::seed_from_u64(2026);
    let before = field.proxy.stats();
    for e in 0..2 {
        upload_with_cuts(&field, e, || rng.random_range(1..=max), 2_000);
    }
    let cuts = field.proxy.stats().cuts_up - before.cuts_up;
    eprintln!(
        "{} photos, {total} bytes, {cuts} cuts up (offsets 1..={max})",
        photos.len()
    );
    assert!(cuts >= 200, "only {cuts} cuts landed");
    check_photos_arrived(&field, &photos);
}

#[test]
fn with_a_cut_about_every_100_kb_the_link_carries_at_most_115_percent_of_the_photos() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 37).unwrap();
    field.add_enumerators(&["Wati"], 12, &[]).unwrap();
    let photos = photo_day(&mut field, 0, 12);
    let total = photo_bytes(&photos);
    let mut rng = StdRng::seed_from_u64(100);
    let before = field.proxy.stats();
    let passes = upload_with_cuts(&field, 0, || rng.random_range(50_000..=150_000), 500);
    let after = field.proxy.stats();
    let up = after.bytes_up - before.bytes_up;
    let ratio = up as f64 / total as f64;
    eprintln!(
        "{} photos, {total} bytes; {up} bytes up over {} connections, {} cuts, {passes} passes: {ratio:.3}×",
        photos.len(),
        after.connections - before.connections,
        after.cuts_up - before.cuts_up
    );
    assert!(
        after.cuts_up - before.cuts_up >= total / 150_000,
        "too few cuts to mean anything"
    );
    assert!(ratio <= 1.15, "{ratio:.3}× the photo bytes went up");
    check_photos_arrived(&field, &photos);
}

/// Kills that must land while the server receives a photo.
const KILLS: usize = 5;

#[test]
fn a_server_killed_while_receiving_a_photo_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 41).unwrap();
    field.add_enumerators(&["Yanti"], 8, &[]).unwrap();
    let photos = photo_day(&mut field, 0, 8);
    // Slow enough that a photo takes a second or two to arrive.
    field.proxy.set_link(Link {
        latency: Duration::from_millis(50),
        bytes_per_second: Some(150_000),
    });
    let mut rng = StdRng::seed_from_u64(7);
    let mut landed = 0;
    for _round in 0..4 * KILLS {
        if landed == KILLS {
            break;
        }
        let runtime = field.enumerators[0].phone.runtime().clone();
        // Kept-alive connections closed (no cut planned), so the pass opens its own and `first` sees it.
        field.proxy.plan_cuts([None]);
        let first = field.proxy.stats().connections;
        // A kill lands while the server holds this many body bytes of a PATCH it has not answered.
        let threshold = rng.random_range(5_000..60_000);
        let pass = std::thread::spawn(move || runtime.upload_photos());
        let since = Instant::now();
        let mut hit = false;
        while !pass.is_finished() && since.elapsed() < Duration::from_secs(60) {
            let receiving = field
                .proxy
                .connections_from(first)
                .into_iter()
                .any(|(_, c)| c.unanswered >= threshold && !c.server_closed);
            if receiving {
                field.server.kill();
                hit = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let report = pass.join().unwrap();
        if hit {
            landed += 1;
            assert!(report.interrupted, "a pass cut by the kill says so");
            field.restart_server().unwrap();
        }
    }
    assert_eq!(landed, KILLS, "kills that landed mid-upload");
    field.proxy.set_link(Link::default());
    for _ in 0..5 {
        if field.enumerators[0]
            .phone
            .waiting_photos()
            .unwrap()
            .is_empty()
        {
            break;
        }
        field.enumerators[0].phone.upload_photos();
    }
    check_photos_arrived(&field, &photos);
}

#[test]
fn a_photo_damaged_on_the_way_is_refused_and_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start_plain_http(dir.path(), 43).unwrap();
    field.add_enumerators(&["Agus"], 1, &[]).unwrap();
    let photos = photo_day(&mut field, 0, 1);
    let before = field.proxy.stats();
    // The first connection carries the creation (~300 bytes each way), then the PATCH: byte 5,000 is inside the
    // photo.
    field.proxy.plan_cuts([Some(Cut::FlipUp(5_000))]);
    let report = field.enumerators[0].phone.upload_photos();
    assert_eq!(field.proxy.stats().flips - before.flips, 1);
    assert!(!report.interrupted, "{report:?}");
    assert_eq!(report.stored as usize, photos.len());
    let log = std::fs::read_to_string(field.dir.join("server/server.log")).unwrap();
    assert!(
        log.contains("hash_mismatch") || log.contains("photo upload refused"),
        "the server refused the damaged photo"
    );
    check_photos_arrived(&field, &photos);
}

/// The supervisor's progress counts the photos as they arrive.
#[test]
fn progress_shows_photos_arriving() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 47).unwrap();
    field.add_enumerators(&["Sari"], 2, &[]).unwrap();
    let photos = photo_day(&mut field, 0, 2);
    let before = field.supervisor.photo_progress().unwrap();
    assert_eq!(before["by_enumerator"][0]["photos_arrived"], 0);
    assert_eq!(before["by_enumerator"][0]["photos"], photos.len());
    let status = field.enumerators[0].phone.sync();
    assert_eq!(
        status.photos_waiting as usize,
        photos.len(),
        "uploads were held back"
    );
    let text = status.photos_text.clone().unwrap();
    assert!(
        text.contains("foto") && text.contains("KB belum terkirim"),
        "{text}"
    );
    field.enumerators[0]
        .phone
        .use_camera(CAMERA.0, CAMERA.1, true);
    let status = field.enumerators[0].phone.sync();
    assert_eq!(status.photos_waiting, 0, "{status:?}");
    assert!(status.photos_text.is_none());
    let after = field.supervisor.photo_progress().unwrap();
    assert_eq!(after["by_enumerator"][0]["photos_arrived"], photos.len());
    assert_eq!(after["by_enumerator"][0]["visits_complete"], 2);
    check_photos_arrived(&field, &photos);
}
