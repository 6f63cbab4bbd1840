//! Figure 8: a 2G field day's photos while the link drops — ours (tus by SHA-256: after a drop the phone asks the
//! server how much it holds and sends only the rest) against ODK Collect's way (each submission's XML and
//! attachments in one multipart POST, re-sent whole after a failed POST), the same photos over the same link
//! (`Link::edge()`: 30 kB/s, 300 ms) with the same drops, in the same run; and the phone-side preparation of a
//! camera-size (12 MP) JPEG.
//!
//! The drops: one list of byte counts, drawn once; the k-th connection either side opens is cut after the k-th
//! count of bytes up (the proxy's plan), so both meet the link breaking after the same amounts of traffic.
//! Collect's side talks to a small OpenRosa sink in this process (a `HEAD` answered `204`, a whole POST answered
//! `201`, anything cut short dropped), behind its own proxy with the same link and plan.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::Field;
use tepat_e2e::photo_day::{self, DROP_AFTER, SLOTS};
use tepat_e2e::proxy::{Cut, Link, Proxy, ProxyStats};
use tepat_photo::PhotoSettings;

use crate::household;
use crate::openrosa;
use crate::stats::Samples;

/// Drops planned (more than either side meets).
const PLANNED_DROPS: usize = 1_000;
/// Upload passes (ours) or attempts per submission (Collect's) before the figure counts as failed.
const MAX_TRIES: usize = 500;
/// Camera photos prepared for the timing (after one warm-up), and their size: 12 MP.
const PREPARE_RUNS: usize = 5;
const CAMERA_12MP: (u32, u32) = (4000, 3000);

/// One side's transfer of the day's photos.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side {
    pub up: u64,
    pub down: u64,
    pub connections: u64,
    pub drops: u64,
    pub seconds: f64,
    /// Upload passes (ours) or submission tries, `HEAD` + POST (Collect's).
    pub tries: usize,
}

impl Side {
    fn between(before: &ProxyStats, after: &ProxyStats, started: Instant, tries: usize) -> Side {
        Side {
            up: after.bytes_up - before.bytes_up,
            down: after.bytes_down - before.bytes_down,
            connections: after.connections - before.connections,
            drops: after.cuts - before.cuts,
            seconds: started.elapsed().as_secs_f64(),
            tries,
        }
    }

    pub fn total(&self) -> u64 {
        self.up + self.down
    }
}

/// Preparing a camera-size photo on the phone (`tepat_photo::prepare`).
pub struct Prepare {
    pub times: Samples,
    pub camera: (u32, u32),
    pub camera_bytes: Vec<u64>,
    pub prepared_bytes: Vec<u64>,
    pub prepared_size: (u32, u32),
    pub qualities: Vec<u8>,
}

pub struct PhotoFigure {
    pub visits: usize,
    pub photos: usize,
    pub photo_bytes: u64,
    /// The day's camera photos (3 MP) and what they became.
    pub day_camera: (u32, u32),
    pub day_camera_bytes: u64,
    /// Bytes of Collect's submissions (XML and photos, multipart, headers).
    pub odk_submission_bytes: u64,
    pub ours: Side,
    pub odk: Side,
    pub prepare: Prepare,
}

pub fn run(work: &Path, seed: u64) -> Result<PhotoFigure, String> {
    let prepare = prepare_12mp(seed)?;
    let e = |e: tepat_e2e::Error| e.to_string();
    // Plain HTTP on both sides: the figure compares what each protocol sends, not TLS.
    let mut field = Field::start_plain_http(&work.join("photos"), seed).map_err(e)?;
    let entered = photo_day::enter_day(&mut field, "Dewi Lestari").map_err(e)?;
    field.proxy.set_offline(false).map_err(e)?;
    field.proxy.set_link(Link::edge());
    let phone = &field.enumerators[entered.e].phone;
    // The answers first (not counted), so only photos wait.
    phone.sync_until_clean(3).map_err(e)?;
    let waiting = phone.waiting_photos().map_err(e)?;
    let photo_bytes = waiting
        .iter()
        .map(|(_, file)| std::fs::metadata(file).map(|m| m.len()))
        .sum::<Result<u64, _>>()
        .map_err(|e| e.to_string())?;
    let expected = entered.visits.len() * SLOTS.len();
    if waiting.len() != expected {
        return Err(format!(
            "{} photos wait, {expected} expected",
            waiting.len()
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let drops: Vec<u64> = (0..PLANNED_DROPS)
        .map(|_| rng.random_range(DROP_AFTER))
        .collect();

    // Ours: upload passes until nothing waits (a pass ends at a drop; the next resumes at the server's offset).
    field
        .proxy
        .plan_cuts(drops.iter().map(|d| Some(Cut::Up(*d))));
    let before = field.proxy.stats();
    let started = Instant::now();
    let mut passes = 0;
    while !phone.waiting_photos().map_err(e)?.is_empty() {
        if passes == MAX_TRIES {
            return Err(format!("photos still waiting after {MAX_TRIES} passes"));
        }
        passes += 1;
        phone.upload_photos();
    }
    let ours = Side::between(&before, &field.proxy.stats(), started, passes);
    field.proxy.clear_plan();
    field.proxy.set_link(Link::default());
    let held = photo_day::check_server(&field, &entered.user_id, &waiting).map_err(e)?;
    if held.byte_identical != expected || held.stored_rows != expected || held.open_uploads != 0 {
        return Err(format!("our photos did not all arrive once: {held:?}"));
    }

    // Collect's way: the same visits, each with its two photos, to the OpenRosa sink over the same link and drops.
    let form = household::dtsen()?;
    let sink = Sink::start().map_err(|e| format!("OpenRosa sink: {e}"))?;
    let proxy = Proxy::start(sink.addr).map_err(e)?;
    proxy.set_link(Link::edge());
    let host = proxy.addr().to_string();
    let mut submissions = Vec::new();
    let mut stamp = 1_763_885_702_123u64;
    for doc in &entered.visits {
        let mut attachments = Vec::new();
        for slot in SLOTS {
            let file = doc.answers[slot]["file"]
                .as_str()
                .ok_or_else(|| format!("visit {} has no {slot} file", doc.visit_id))?;
            let jpeg = std::fs::read(PathBuf::from(file)).map_err(|e| format!("{file}: {e}"))?;
            // Collect names a photo after the millisecond it was taken.
            attachments.push((format!("{stamp}.jpg"), jpeg));
            stamp += 41_337;
        }
        submissions.push(openrosa::post_with_attachments(
            &host,
            &form,
            doc,
            &attachments,
        ));
    }
    let odk_submission_bytes = submissions.iter().map(|s| s.len() as u64).sum();
    proxy.plan_cuts(drops.iter().map(|d| Some(Cut::Up(*d))));
    let before = proxy.stats();
    let started = Instant::now();
    let (head, _) = openrosa::head_exchange(&host);
    let mut client = Collect::new(proxy.addr());
    let mut posts = 0;
    for submission in &submissions {
        let mut tries = 0;
        loop {
            if tries == MAX_TRIES {
                return Err(format!("a submission still failed after {MAX_TRIES} tries"));
            }
            tries += 1;
            posts += 1;
            if client.submit(&head, submission).is_ok() {
                break;
            }
        }
    }
    let odk = Side::between(&before, &proxy.stats(), started, posts);
    proxy.clear_plan();
    let stored = sink.stored();
    for submission in &submissions {
        let body = body_of(submission);
        let copies = stored.get(&tepat_photo::sha256_hex(body)).copied();
        if copies != Some(1) {
            return Err(format!(
                "a submission was stored {copies:?} times by the OpenRosa sink"
            ));
        }
    }

    Ok(PhotoFigure {
        visits: entered.visits.len(),
        photos: waiting.len(),
        photo_bytes,
        day_camera: photo_day::CAMERA,
        day_camera_bytes: entered.camera_bytes,
        odk_submission_bytes,
        ours,
        odk,
        prepare,
    })
}

/// `tepat_photo::prepare` on 12 MP camera JPEGs (synthetic house photos, quality 92, EXIF; every other one with
/// orientation 6, so the turn is included), one warm-up then [`PREPARE_RUNS`] timed.
fn prepare_12mp(seed: u64) -> Result<Prepare, String> {
    let settings = PhotoSettings::default();
    let mut prepare = Prepare {
        times: Samples::default(),
        camera: CAMERA_12MP,
        camera_bytes: Vec::new(),
        prepared_bytes: Vec::new(),
        prepared_size: (0, 0),
        qualities: Vec::new(),
    };
    let mut times = Vec::new();
    for i in 0..=PREPARE_RUNS {
        let orientation = if i % 2 == 0 { 1 } else { 6 };
        let camera = tepat_photo::synthetic::camera_photo(
            CAMERA_12MP.0,
            CAMERA_12MP.1,
            orientation,
            seed + i as u64,
        );
        let started = Instant::now();
        let prepared =
            tepat_photo::prepare(&camera, &settings).map_err(|e| format!("prepare: {e}"))?;
        let took = started.elapsed();
        if i == 0 {
            continue;
        }
        times.push(took);
        prepare.camera_bytes.push(camera.len() as u64);
        prepare.prepared_bytes.push(prepared.jpeg.len() as u64);
        prepare.prepared_size = (prepared.width, prepared.height);
        prepare.qualities.push(prepared.quality);
    }
    prepare.times = Samples::new(times);
    Ok(prepare)
}

/// The request's body (after the blank line ending its head).
fn body_of(request: &[u8]) -> &[u8] {
    request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |end| &request[end + 4..])
}

/// ODK Collect's side of the link: one kept-alive connection, a `HEAD` then the whole POST per submission; any
/// failure closes the connection and the submission is tried again from its first byte.
struct Collect {
    to: SocketAddr,
    connection: Option<BufReader<TcpStream>>,
}

impl Collect {
    fn new(to: SocketAddr) -> Collect {
        Collect {
            to,
            connection: None,
        }
    }

    fn submit(&mut self, head: &[u8], post: &[u8]) -> std::io::Result<()> {
        let result = self.exchange(head).and_then(|_| self.exchange(post));
        match result {
            Ok(201) => Ok(()),
            Ok(status) => {
                self.connection = None;
                Err(std::io::Error::other(format!("answered {status}")))
            }
            Err(e) => {
                self.connection = None;
                Err(e)
            }
        }
    }

    /// Sends one request and reads its answer; the status.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        if self.connection.is_none() {
            let stream = TcpStream::connect(self.to)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            stream.set_write_timeout(Some(Duration::from_secs(60)))?;
            self.connection = Some(BufReader::new(stream));
        }
        let Some(reader) = self.connection.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        reader.get_mut().write_all(request)?;
        reader.get_mut().flush()?;
        let (status, length) = read_head(reader)?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// Reads an HTTP message head: the status code (responses) or 0 (requests), and `Content-Length`.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<(u16, usize)> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = first
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            return Ok((status, length));
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value
                .trim()
                .parse()
                .map_err(|_| std::io::Error::other("bad Content-Length"))?;
        }
    }
}

/// An OpenRosa server that only stores: `HEAD` → `204`, a POST whose whole body arrived → `201` (counted by the
/// body's SHA-256); a request cut short stores nothing.
struct Sink {
    addr: SocketAddr,
    stored: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl Sink {
    fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stored = Arc::new(Mutex::new(BTreeMap::new()));
        let shared = stored.clone();
        // The listener lives as long as the bench process (the figure runs once).
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let stored = shared.clone();
                std::thread::spawn(move || serve(stream, &stored));
            }
        });
        Ok(Sink { addr, stored })
    }

    fn stored(&self) -> BTreeMap<String, u32> {
        self.stored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn serve(stream: TcpStream, stored: &Mutex<BTreeMap<String, u32>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let answer_post = openrosa::post_answer();
    let (_, answer_head) = openrosa::head_exchange("");
    loop {
        let mut first = String::new();
        match reader.read_line(&mut first) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let is_head = first.starts_with("HEAD ");
        // The rest of the head (its first line is already read).
        let mut length = 0;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(usize::MAX);
            }
        }
        // Central's own limit (`X-OpenRosa-Accept-Content-Length`); a longer request is not read.
        if length > 100 * 1024 * 1024 {
            return;
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = if is_head {
            &answer_head
        } else {
            *stored
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(tepat_photo::sha256_hex(&body))
                .or_default() += 1;
            &answer_post
        };
        if writer.write_all(answer).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &[u8]) -> Vec<u8> {
        let mut request = format!(
            "POST /submission HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        request
    }

    #[test]
    fn the_sink_stores_a_whole_post_once_and_a_cut_one_never() {
        let sink = Sink::start().unwrap();
        let (head, _) = openrosa::head_exchange("x");
        let whole = post(&[5; 50_000]);
        let mut collect = Collect::new(sink.addr);
        collect.submit(&head, &whole).unwrap();
        // A request cut short: half its body, then the connection closes.
        let cut = post(&[6; 50_000]);
        let mut stream = TcpStream::connect(sink.addr).unwrap();
        stream.write_all(&cut[..cut.len() / 2]).unwrap();
        drop(stream);
        // The same connection goes on for the next submission.
        let second = post(&[7; 10]);
        collect.submit(&head, &second).unwrap();
        let stored = sink.stored();
        assert_eq!(stored.len(), 2, "{stored:?}");
        assert_eq!(
            stored.get(&tepat_photo::sha256_hex(body_of(&whole))),
            Some(&1)
        );
        assert_eq!(
            stored.get(&tepat_photo::sha256_hex(body_of(&second))),
            Some(&1)
        );
        assert_eq!(stored.get(&tepat_photo::sha256_hex(body_of(&cut))), None);
    }
}
