//! The phone's process is killed (SIGKILL) at random moments of a sync over a slow link, then reopened: the
//! batch whose answer never came is sent again with the same id, and in the end nothing is lost, nothing is
//! duplicated, the outbox is empty and the phone's database is intact.
//!
//! Every counted kill is shown to have landed mid-sync: the lines the phone process left behind end with the one
//! it prints on entering a sync (not the one it prints when the sync returns), and the proxy delivered bytes of
//! that process's connections to the server after that line was read, so the sync's request was on its way or
//! answered and the phone had not finished with it. A kill that missed is not counted and another is tried, a
//! bounded number of times.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::{Field, check_exactly_once};
use tepat_e2e::proxy::{Link, Proxy};
use tepat_synth::Outcome;

/// Kills that must land mid-sync.
const KILLS: usize = 16;
/// Attempts at most (each enters two more households first): the test fails if fewer than `KILLS` land.
const ATTEMPTS: usize = 2 * KILLS;

/// Bytes the proxy delivered to the server on connections numbered `first` or later (one phone process's own).
fn delivered(proxy: &Proxy, first: u64) -> u64 {
    proxy
        .connections_from(first)
        .iter()
        .map(|(_, c)| c.to_server)
        .sum()
}

#[test]
fn a_phone_killed_mid_sync_and_reopened_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Plain HTTP on purpose: the deployment behind a TLS-terminating proxy (nginx), where the server's own hop is
    // plain. Every other end-to-end test runs over HTTPS.
    let mut field = Field::start_plain_http(dir.path(), 31).unwrap();
    field
        .add_enumerators(&["Wahyu"], 2 * ATTEMPTS, &[])
        .unwrap();
    // The phone leaves this process: from now on it is opened afresh each time, as after a kill, and must
    // always find an intact database.
    let detached = field.detach_phone(0).unwrap();
    let (phone_dir, url, clock) = (detached.dir.clone(), detached.url.clone(), detached.clock);
    let reopen = || detached.reopen().unwrap();
    let assignments = detached.assignments.clone();
    // A slow link, so that a sync lasts long enough to be killed in.
    field.proxy.set_link(Link {
        latency: Duration::from_millis(150),
        bytes_per_second: Some(8_000),
    });

    let mut rng = StdRng::seed_from_u64(4242);
    let mut entered = BTreeMap::new();
    let mut landed = 0;
    let mut attempts = 0;
    for pair in assignments.chunks(2) {
        if landed == KILLS {
            break;
        }
        attempts += 1;
        // The person finishes two more households.
        {
            let phone = reopen();
            for assignment in pair {
                let doc = field.visit_for(assignment, Outcome::Found).unwrap();
                let frozen = phone.enter(&assignment.assignment_id, &doc).unwrap();
                entered.insert(frozen.visit_id, frozen);
            }
        }
        // The sync runs in the phone's own process, which dies at a random moment of it: once its first bytes
        // reached the server, after a random delay that falls anywhere from there to after the server's answer.
        let first = field.proxy.stats().connections;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-phone"))
            .arg(&phone_dir)
            .arg(&url)
            .arg(clock.to_rfc3339())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Each line the child prints, with the bytes its connections had delivered when the line was read (never
        // more than when it was printed: the count only grows).
        let stdout = child.stdout.take().unwrap();
        let proxy = &field.proxy;
        let (status, lines, at_kill) = std::thread::scope(|s| {
            let reader = s.spawn(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .map(|line| (line, delivered(proxy, first)))
                    .collect::<Vec<_>>()
            });
            let waiting_since = Instant::now();
            while delivered(proxy, first) == 0
                && child.try_wait().unwrap().is_none()
                && waiting_since.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(0..1000)));
            let at_kill = delivered(proxy, first);
            let _ = child.kill();
            let status = child.wait().unwrap();
            (status, reader.join().unwrap(), at_kill)
        });
        // Landed: killed (not exited), inside a sync (its last line is the one printed on entering it), after
        // bytes of that sync reached the server (delivered after that line was read).
        let inside = match lines.last() {
            Some((line, then)) if line.starts_with("BEGIN ") => at_kill > *then,
            _ => false,
        };
        if status.signal() == Some(9) && inside {
            landed += 1;
        }
    }
    println!("{landed} of {attempts} phone processes killed mid-sync");
    assert_eq!(
        landed, KILLS,
        "only {landed} of {attempts} kills landed mid-sync"
    );

    // Reopened for good, on a normal link.
    field.proxy.set_link(Link::default());
    let phone = reopen();
    phone.sync_until_clean(5).unwrap();
    assert_eq!(phone.outbox().unwrap(), 0);
    check_exactly_once(&field.supervisor.pull_all().unwrap(), &entered).unwrap();
}
