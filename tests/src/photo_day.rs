//! A 2G field day with photos (issue 13), shared by `make demo` (which prints it) and
//! `tests/photo_field_day.rs` (which asserts it): one enumerator's 12 found households, each with the front of the
//! house and the living room photographed (camera JPEGs, made ready to send on the phone when taken), entered
//! with no signal; then, on the demo's 2G link (30 kB/s, 300 ms), the answers sync first and the photos follow,
//! uploaded resumably by SHA-256 while the link drops about every 400 kB; then the server's side: the supervisor's
//! photo count from the progress API, every photo byte-identical on disk and through `GET /api/v1/media/{sha256}`,
//! each stored exactly once, no upload left open.
//!
//! Unlike the test helpers of [`crate::photos`] (which assert), everything here returns what it found, so the
//! demo can print it and fail with a message rather than a panic.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Error;
use crate::field::Field;
use crate::proxy::{Cut, Link, ProxyStats};

/// Households visited, all found.
pub const VISITS: usize = 12;
/// The photos each visit takes: the front of the house and the living room (the form's optional bathroom and
/// family-card photos are left out, so the day is exactly two photos a visit).
pub const SLOTS: [&str; 2] = ["photo_front", "photo_living"];
/// The camera's photos, as in the photo tests: 3 MP JPEGs at quality 92 with EXIF (a 12 MP photo prepares to the
/// same 1600 px, only slower to make here; the benchmark measures that one).
pub use crate::photos::CAMERA;
/// Each upload pass's connection drops after this many bytes up (drawn per pass): a drop about every 400 kB.
pub const DROP_AFTER: RangeInclusive<u64> = 250_000..=550_000;
/// Upload passes allowed before the day counts as failed (about 12 are needed).
const MAX_PASSES: usize = 60;

/// Bytes and time on the link for one part of the day.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Transfer {
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub connections: u64,
    pub drops: u64,
    pub seconds: f64,
}

impl Transfer {
    fn between(before: &ProxyStats, after: &ProxyStats, started: Instant) -> Transfer {
        Transfer {
            bytes_up: after.bytes_up - before.bytes_up,
            bytes_down: after.bytes_down - before.bytes_down,
            connections: after.connections - before.connections,
            drops: after.cuts - before.cuts,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// The enumerator's line of the supervisor's photo progress (`GET /api/v1/supervisor/progress`, `photos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SupervisorCount {
    pub visits_with_photos: u64,
    pub visits_complete: u64,
    pub photos: u64,
    pub photos_arrived: u64,
}

/// What the day did and what the server holds after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhotoDay {
    pub user_id: String,
    pub visits: usize,
    /// Photos taken (files the camera wrote) and their bytes.
    pub taken: usize,
    pub camera_bytes: u64,
    /// Photos waiting after the answers went (distinct by SHA-256) and their prepared bytes.
    pub photos: usize,
    pub photo_bytes: u64,
    /// The phone's sync status after the answers went ("24 foto, … KB belum terkirim").
    pub status_text: Option<String>,
    pub text: Transfer,
    pub upload: Transfer,
    pub passes: usize,
    /// What the server holds of them, checked after the last pass.
    pub held: Held,
}

impl PhotoDay {
    /// Every photo arrived byte-identical, exactly once, and the supervisor counts all of them.
    pub fn all_arrived_once(&self) -> bool {
        self.photos == self.visits * SLOTS.len()
            && self.held.byte_identical == self.photos
            && self.held.stored_rows == self.photos
            && self.held.stored_files == self.photos
            && self.held.open_uploads == 0
            && self.held.partial_files == 0
            && self.held.supervisor.photos_arrived == self.photos as u64
            && self.held.supervisor.photos == self.photos as u64
            && self.held.supervisor.visits_complete == self.visits as u64
    }
}

/// A day entered with no signal: the enumerator, the visits the phone froze, and the photos the camera took.
pub struct Entered {
    /// Index into `field.enumerators`.
    pub e: usize,
    pub user_id: String,
    pub visits: Vec<tepat_protocol::VisitDoc>,
    pub taken: usize,
    pub camera_bytes: u64,
    /// Bytes of the photos made ready to send.
    pub prepared_bytes: u64,
    pub seconds: f64,
}

/// Adds the enumerator `name` and enters the day with no signal: [`VISITS`] households found, each with the
/// [`SLOTS`] photographed by a [`CAMERA`]-size camera and made ready to send when taken. The link is left offline.
pub fn enter_day(field: &mut Field, name: &str) -> Result<Entered, Error> {
    field.add_enumerators(&[name], VISITS, &[])?;
    let e = field.enumerators.len() - 1;
    let user_id = field.enumerators[e].user_id.clone();
    let camera_dir = field.enumerators[e].dir.join("photos");
    field.enumerators[e]
        .phone
        .use_camera(CAMERA.0, CAMERA.1, false);
    field.proxy.set_offline(true)?;
    let started = Instant::now();
    let assignments = field.enumerators[e].assignments.clone();
    let mut visits = Vec::new();
    for assignment in &assignments {
        let mut doc = field.visit_for(assignment, tepat_synth::Outcome::Found)?;
        doc.answers
            .retain(|key, _| !key.starts_with("photo_") || SLOTS.contains(&key.as_str()));
        for slot in SLOTS {
            if !doc.answers.contains_key(slot) {
                return Err(Error::Setup(format!(
                    "the generated visit of {} has no {slot}",
                    assignment.assignment_id
                )));
            }
        }
        visits.push(
            field.enumerators[e]
                .phone
                .enter(&assignment.assignment_id, &doc)?,
        );
    }
    let (taken, camera_bytes) = jpegs_in(&camera_dir)?;
    let (_, prepared_bytes) = jpegs_in(&camera_dir.join("prepared"))?;
    Ok(Entered {
        e,
        user_id,
        visits,
        taken,
        camera_bytes,
        prepared_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Adds the enumerator `name`, runs the day (see the module) and checks the server. `say` hears each step and
/// each photo as it arrives, for the demo to print. The link is left as it was found (no cuts planned, full
/// speed, online).
pub fn run(
    field: &mut Field,
    name: &str,
    seed: u64,
    say: &mut dyn FnMut(String),
) -> Result<PhotoDay, Error> {
    let entered = enter_day(field, name)?;
    let e = entered.e;
    let user_id = entered.user_id.clone();
    let mut day = PhotoDay {
        user_id: user_id.clone(),
        visits: VISITS,
        taken: entered.taken,
        camera_bytes: entered.camera_bytes,
        ..PhotoDay::default()
    };
    let prepared_bytes = entered.prepared_bytes;
    say(format!(
        "{name} ({user_id}): {VISITS} households found, {} photos taken (front and living room; camera {}×{} \
         JPEGs, {:.1} MB), made ready to send on the phone: {:.1} MB ({:.0} kB a photo) — {:.0} s",
        day.taken,
        CAMERA.0,
        CAMERA.1,
        mb(day.camera_bytes),
        mb(prepared_bytes),
        prepared_bytes as f64 / 1000.0 / day.taken.max(1) as f64,
        entered.seconds
    ));

    // Back in signal on the 2G link: the answers first, in one sync.
    field.proxy.set_offline(false)?;
    field.proxy.set_link(Link::edge());
    let phone = &field.enumerators[e].phone;
    let before = field.proxy.stats();
    let started = Instant::now();
    let attempts = phone.sync_until_clean(5)?;
    day.text = Transfer::between(&before, &field.proxy.stats(), started);
    day.status_text = phone.runtime().view().sync.photos_text;
    let waiting = phone.waiting_photos()?;
    let distinct: BTreeSet<&String> = waiting.iter().map(|(sha, _)| sha).collect();
    day.photos = distinct.len();
    day.photo_bytes = waiting
        .iter()
        .map(|(_, file)| std::fs::metadata(file).map(|m| m.len()))
        .sum::<Result<u64, _>>()?;
    say(format!(
        "answers first: {VISITS} visits synced in {attempts} sync(s), {:.1} kB up, {:.1} s; the phone says \"{}\"",
        day.text.bytes_up as f64 / 1000.0,
        day.text.seconds,
        day.status_text.as_deref().unwrap_or("nothing waits")
    ));

    // Then the photos, resumably by SHA-256, while the link drops.
    let mut rng = StdRng::seed_from_u64(seed);
    let before = field.proxy.stats();
    let started = Instant::now();
    let total = day.photos;
    let mut shown_arrived = 0;
    let mut shown_drops = 0;
    for _ in 0..MAX_PASSES {
        if phone
            .runtime()
            .photos_waiting()
            .map_err(phone_error)?
            .photos
            == 0
        {
            break;
        }
        day.passes += 1;
        field
            .proxy
            .plan_cuts([Some(Cut::Up(rng.random_range(DROP_AFTER)))]);
        let runtime = phone.runtime().clone();
        let pass = std::thread::spawn(move || runtime.upload_photos());
        loop {
            let finished = pass.is_finished();
            let now = field.proxy.stats();
            let waiting = phone.runtime().photos_waiting().map_err(phone_error)?;
            let arrived = total.saturating_sub(waiting.photos as usize);
            let drops = now.cuts - before.cuts;
            let clock = started.elapsed().as_secs_f64();
            let up = (now.bytes_up - before.bytes_up) as f64 / 1000.0;
            if drops > shown_drops {
                shown_drops = drops;
                say(format!(
                    "[{clock:5.1} s] the link dropped ({up:.0} kB up so far): the phone asks the server how much \
                     of the photo it holds and sends only the rest"
                ));
            }
            if arrived > shown_arrived {
                shown_arrived = arrived;
                say(format!(
                    "[{clock:5.1} s] {arrived:>2}/{total} photos confirmed by the server by their SHA-256 \
                     ({up:.0} kB up)"
                ));
            }
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        pass.join()
            .map_err(|_| Error::Phone("the upload pass panicked".into()))?;
    }
    // A planned drop the last pass did not use must not fall on the supervisor's requests.
    field.proxy.clear_plan();
    day.upload = Transfer::between(&before, &field.proxy.stats(), started);
    field.proxy.set_link(Link::default());
    if phone
        .runtime()
        .photos_waiting()
        .map_err(phone_error)?
        .photos
        > 0
    {
        return Err(Error::Phone(format!(
            "photos still waiting after {MAX_PASSES} upload passes"
        )));
    }

    // The server's side.
    day.held = check_server(field, &user_id, &waiting)?;
    Ok(day)
}

/// What the server holds of an enumerator's photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held {
    pub supervisor: SupervisorCount,
    /// Photos whose stored file and whose download by the supervisor are both the phone's bytes.
    pub byte_identical: usize,
    /// Rows in the server's `media` table for these photos, files under `media/` for them, the enumerator's
    /// uploads still open, files left in `media/partial/`.
    pub stored_rows: usize,
    pub stored_files: usize,
    pub open_uploads: usize,
    pub partial_files: usize,
}

/// Checks the server against the phone's photos `(sha256, prepared file)` of `user_id`: the supervisor's progress
/// line, the stored files and downloads, the media rows, open uploads and partial files.
pub fn check_server(
    field: &Field,
    user_id: &str,
    photos: &[(String, PathBuf)],
) -> Result<Held, Error> {
    let mut held = Held::default();
    let progress = field.supervisor.photo_progress()?;
    let line = progress["by_enumerator"]
        .as_array()
        .and_then(|list| list.iter().find(|p| p["user_id"] == user_id))
        .ok_or_else(|| Error::Http(format!("no photo progress for {user_id}: {progress}")))?;
    let count = |key: &str| line[key].as_u64().unwrap_or(0);
    held.supervisor = SupervisorCount {
        visits_with_photos: count("visits_with_photos"),
        visits_complete: count("visits_complete"),
        photos: count("photos"),
        photos_arrived: count("photos_arrived"),
    };
    let data = field.dir.join("server");
    let distinct: BTreeSet<&String> = photos.iter().map(|(sha, _)| sha).collect();
    for (sha, file) in photos {
        let on_phone = std::fs::read(file)?;
        let on_disk = match (sha.get(..2), sha.get(2..4)) {
            (Some(a), Some(b)) => std::fs::read(data.join(format!("media/{a}/{b}/{sha}.jpg"))).ok(),
            _ => None,
        };
        if on_disk.is_some() {
            held.stored_files += 1;
        }
        let read = field.supervisor.photo(sha)?;
        if on_disk.as_deref() == Some(on_phone.as_slice()) && read.as_deref() == Some(&on_phone) {
            held.byte_identical += 1;
        }
    }
    let db = rusqlite::Connection::open_with_flags(
        data.join("tepat.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .map_err(db_error)?;
    for sha in &distinct {
        let rows: i64 = db
            .query_row("SELECT count(*) FROM media WHERE sha256 = ?1", [sha], |r| {
                r.get(0)
            })
            .map_err(db_error)?;
        held.stored_rows += rows as usize;
    }
    let open: i64 = db
        .query_row(
            "SELECT count(*) FROM media_uploads WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .map_err(db_error)?;
    held.open_uploads = open as usize;
    held.partial_files = std::fs::read_dir(data.join("media/partial")).map_or(0, |d| d.count());
    Ok(held)
}

/// JPEG files directly in `dir` and their bytes.
fn jpegs_in(dir: &Path) -> Result<(usize, u64), Error> {
    let mut count = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.extension().is_some_and(|x| x == "jpg") && path.is_file() {
            count += 1;
            bytes += std::fs::metadata(&path)?.len();
        }
    }
    Ok((count, bytes))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn phone_error(e: impl std::fmt::Display) -> Error {
    Error::Phone(e.to_string())
}

fn db_error(e: rusqlite::Error) -> Error {
    Error::Setup(format!("the server's database: {e}"))
}
