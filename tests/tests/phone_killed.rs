//! The phone's process is killed (SIGKILL) at random moments of a sync over a slow link, then reopened: the
//! batch whose answer never came is sent again with the same id, and in the end nothing is lost, nothing is
//! duplicated, the outbox is empty and the phone's database is intact.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::runtime::FixedClock;
use shared::synth::Outcome;
use tepat_e2e::field::{Field, check_exactly_once, morning};
use tepat_e2e::phone::Phone;
use tepat_e2e::proxy::Link;

const KILLS: usize = 16;

#[test]
fn a_phone_killed_mid_sync_and_reopened_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Plain HTTP on purpose: the deployment behind a TLS-terminating proxy (nginx), where the server's own hop is
    // plain. Every other end-to-end test runs over HTTPS.
    let mut field = Field::start_plain_http(dir.path(), 31).unwrap();
    field.add_enumerators(&["Wahyu"], 2 * KILLS, &[]).unwrap();
    // The phone leaves this process: from now on it is opened afresh each time, as after a kill.
    let enumerator = field.enumerators.remove(0);
    let (phone_dir, assignments) = (enumerator.dir.clone(), enumerator.assignments.clone());
    drop(enumerator);
    let clock = morning(field.generator.visit_date()).unwrap();
    let url = field.proxy.url();
    // Reopening must always find an intact database, whenever the last process died.
    let reopen = || {
        let phone = Phone::open(&phone_dir, &url, Arc::new(FixedClock::new(clock))).unwrap();
        assert_eq!(
            phone
                .runtime()
                .inspect_store(|s| s.integrity_check())
                .unwrap(),
            "ok"
        );
        phone
    };
    // A slow link, so that kills land inside syncs.
    field.proxy.set_link(Link {
        latency: Duration::from_millis(150),
        bytes_per_second: Some(8_000),
    });

    let mut rng = StdRng::seed_from_u64(4242);
    let mut entered = BTreeMap::new();
    let mut killed = 0;
    for pair in assignments.chunks(2) {
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
        // are on the wire (so the kill lands in the sync, however fast the machine), after a random delay that
        // falls anywhere from the request's first bytes to after the server's answer.
        let sent_before = field.proxy.stats().bytes_up;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tepat-phone"))
            .arg(&phone_dir)
            .arg(&url)
            .arg(clock.to_rfc3339())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let waiting_since = Instant::now();
        while field.proxy.stats().bytes_up == sent_before
            && child.try_wait().unwrap().is_none()
            && waiting_since.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1200)));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    println!("{killed} of {KILLS} phone processes killed mid-sync");
    assert!(
        killed * 2 >= KILLS,
        "only {killed} kills landed during a sync"
    );

    // Reopened for good, on a normal link.
    field.proxy.set_link(Link::default());
    let phone = reopen();
    phone.sync_until_clean(5).unwrap();
    assert_eq!(phone.outbox().unwrap(), 0);
    check_exactly_once(&field.supervisor.pull_all().unwrap(), &entered).unwrap();
}
