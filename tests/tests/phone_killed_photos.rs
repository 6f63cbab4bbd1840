//! The phone's process is SIGKILLed while it uploads a photo over a slow link, then reopened: the photo outbox and
//! each photo's upload survive, the rest of a half-sent photo is sent (not the whole photo again), and in the end
//! every photo is on the server byte for byte, exactly once, and the phone's database is intact.
//!
//! Every counted kill is shown to have landed mid-upload: the lines the phone process left behind end with the
//! one it prints on entering an upload pass, and just before the kill one of its connections had delivered at
//! least 10 KB of a request the server had not answered, with at least 20 KB of the smallest photo still to go —
//! on a 100 KB/s link that is ≥ 200 ms of body left, while the kill follows within a millisecond. Creation and
//! offset requests are a few hundred bytes, so only a photo's PATCH can be that request. A kill that missed is not
//! counted and another is tried, a bounded number of times.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::Field;
use tepat_e2e::photos::{check_photos_arrived, photo_day};
use tepat_e2e::proxy::{Link, Proxy};

/// Kills that must land mid-upload.
const KILLS: usize = 6;
/// Phone processes started at most: the test fails if fewer than `KILLS` kills land.
const ATTEMPTS: usize = 4 * KILLS;
/// A request at least this far delivered and not answered is a photo's body on its way.
const MID_BODY: u64 = 10_000;
/// Bytes of the smallest photo that must still be on their way when the kill is sent.
const STILL_TO_GO: u64 = 20_000;

/// A connection of this process carries a photo's body now, with at least `STILL_TO_GO` bytes of it to come.
fn mid_body(proxy: &Proxy, first: u64, smallest_photo: u64) -> bool {
    proxy.connections_from(first).iter().any(|(_, c)| {
        !c.server_closed && c.unanswered >= MID_BODY && c.unanswered + STILL_TO_GO <= smallest_photo
    })
}

#[test]
fn a_phone_killed_mid_upload_and_reopened_loses_and_duplicates_no_photo() {
    let dir = tempfile::tempdir().unwrap();
    // Plain HTTP, as in phone_killed.rs: the phone process opens the phone without the run's CA.
    let mut field = Field::start_plain_http(dir.path(), 53).unwrap();
    field.add_enumerators(&["Yudi"], 6, &[]).unwrap();
    let photos = photo_day(&mut field, 0, 6);
    let smallest = photos
        .iter()
        .map(|(_, file)| std::fs::metadata(file).unwrap().len())
        .min()
        .unwrap();
    assert!(
        smallest > MID_BODY + STILL_TO_GO,
        "photos of {smallest} bytes are too small for this test"
    );
    // The phone leaves this process: from now on it is opened afresh each time, as after a kill, and must
    // always find an intact database.
    let detached = field.detach_phone(0).unwrap();
    let (phone_dir, url, clock) = (detached.dir.clone(), detached.url.clone(), detached.clock);
    let reopen = || detached.reopen().unwrap();
    field.proxy.set_link(Link {
        latency: Duration::from_millis(50),
        bytes_per_second: Some(100_000),
    });

    let mut rng = StdRng::seed_from_u64(5353);
    let (mut landed, mut attempts) = (0, 0);
    let mut waiting_after_kills = Vec::new();
    while landed < KILLS && attempts < ATTEMPTS {
        attempts += 1;
        let first = field.proxy.stats().connections;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-phone"))
            .arg(&phone_dir)
            .arg(&url)
            .arg(clock.to_rfc3339())
            .arg("photos")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let proxy = &field.proxy;
        let (status, lines, was_mid_body) = std::thread::scope(|s| {
            let reader = s.spawn(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            });
            // From the first byte of a photo's body, a random moment of its upload.
            let since = Instant::now();
            while !mid_body(proxy, first, smallest)
                && child.try_wait().unwrap().is_none()
                && since.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            let until = Instant::now() + Duration::from_millis(rng.random_range(0..1500));
            let mut was_mid_body = mid_body(proxy, first, smallest);
            while Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
                was_mid_body = mid_body(proxy, first, smallest);
            }
            let _ = child.kill();
            let status = child.wait().unwrap();
            (status, reader.join().unwrap(), was_mid_body)
        });
        let inside = lines.last().is_some_and(|line| line.starts_with("BEGIN "));
        if status.signal() == Some(9) && inside && was_mid_body {
            landed += 1;
            waiting_after_kills.push(reopen().waiting_photos().unwrap().len());
        }
        if lines.iter().any(|line| line == "CLEAN") {
            break;
        }
    }
    println!(
        "{landed} of {attempts} phone processes killed mid-upload; photos waiting after each: {waiting_after_kills:?}"
    );
    assert_eq!(
        landed, KILLS,
        "only {landed} of {attempts} kills landed mid-upload"
    );
    assert!(
        waiting_after_kills.iter().all(|&n| n > 0),
        "a photo cut by a kill still waits"
    );
    let before = field.proxy.stats().bytes_up;

    // Reopened for good, on a normal link: the rest goes.
    field.proxy.set_link(Link::default());
    let phone = reopen();
    for _ in 0..5 {
        if phone.waiting_photos().unwrap().is_empty() {
            break;
        }
        phone.upload_photos();
    }
    assert!(
        phone.waiting_photos().unwrap().is_empty(),
        "photos still wait"
    );
    let total: u64 = photos
        .iter()
        .map(|(_, file)| std::fs::metadata(file).unwrap().len())
        .sum();
    let up = field.proxy.stats().bytes_up;
    println!(
        "{} photos, {total} bytes; {up} bytes up in all, {} after the kills",
        photos.len(),
        up - before
    );
    // Six kills, each in the middle of a ~180 KB photo: sent whole again, they would add ~30 %.
    assert!(
        up as f64 <= 1.15 * total as f64,
        "{up} bytes up for {total} bytes of photos: half-sent photos were sent again from the start"
    );
    check_photos_arrived(&field, &photos);
}
