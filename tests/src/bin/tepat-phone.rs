//! A phone in its own process, for the test that kills the phone mid-sync: opens the phone whose files are in
//! DIR (enrolled before), syncs until its outbox is empty, then prints `CLEAN`. Around each sync it prints
//! `BEGIN n` before calling it and `SYNC n ...` once it returned, so a test that kills this process can tell
//! from the lines left behind whether the kill fell inside a sync.
//!
//! Usage: `tepat-phone DIR SERVER_URL CLOCK_RFC3339`

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
        eprintln!("usage: tepat-phone DIR SERVER_URL CLOCK_RFC3339");
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
