//! A phone in its own process, for the test that kills the phone mid-sync: opens the phone whose files are in
//! DIR (enrolled before), syncs until its outbox is empty, then prints `CLEAN`. Around each sync it prints
//! `BEGIN n` before calling it and `SYNC n ...` once it returned, so a test that kills this process can tell
//! from the lines left behind whether the kill fell inside a sync.
//!
//! With `photos` after the clock it sends the photo outbox instead (camera on, uploads on), pass after pass until
//! nothing waits: `BEGIN n` before each pass, `PASS n stored=… waiting=… interrupted=…` after, then `CLEAN`.
//!
//! Usage: `tepat-phone DIR SERVER_URL CLOCK_RFC3339 [photos]`

use std::process::ExitCode;
use std::sync::Arc;

use chrono::DateTime;
use tepat_e2e::phone::Phone;
use tepat_runtime::FixedClock;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(url), Some(Ok(clock))) = (
        args.get(1),
        args.get(2),
        args.get(3).map(|c| DateTime::parse_from_rfc3339(c)),
    ) else {
        eprintln!("usage: tepat-phone DIR SERVER_URL CLOCK_RFC3339 [photos]");
        return ExitCode::from(2);
    };
    let phone = match Phone::open(
        std::path::Path::new(dir),
        url,
        Arc::new(FixedClock::new(clock)),
    ) {
        Ok(phone) => phone,
        Err(e) => {
            eprintln!("tepat-phone: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.get(4).map(String::as_str) == Some("photos") {
        return send_photos(&phone);
    }
    for attempt in 1..=50 {
        println!("BEGIN {attempt}");
        let view = phone.sync();
        println!(
            "SYNC {attempt} outbox={} error={:?}",
            view.outbox, view.last_error
        );
        if view.outbox == 0 && view.last_error.is_none() {
            println!("CLEAN");
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::FAILURE
}

fn send_photos(phone: &Phone) -> ExitCode {
    let (width, height) = tepat_e2e::photos::CAMERA;
    phone.use_camera(width, height, true);
    for pass in 1..=200 {
        println!("BEGIN {pass}");
        let report = phone.upload_photos();
        println!(
            "PASS {pass} stored={} waiting={} interrupted={}",
            report.stored, report.waiting.photos, report.interrupted
        );
        if report.waiting.photos == 0 && !report.interrupted {
            println!("CLEAN");
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::FAILURE
}
