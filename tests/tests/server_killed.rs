//! The server is killed with SIGKILL while phones are uploading batches (mid-ingest), then restarted on the same
//! data directory (the phones keep their address: the proxy points at the new process). After recovery: zero
//! lost and zero duplicated visits, every outbox empty.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::synth::Outcome;
use tepat_e2e::field::{Field, check_exactly_once};
use tepat_e2e::proxy::Link;

const KILLS: usize = 8;

#[test]
fn a_server_killed_during_ingest_and_restarted_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 23).unwrap();
    field
        .add_enumerators(&["Fitri", "Hendra", "Lestari"], 16, &[])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(99);
    let mut entered = BTreeMap::new();
    let per_round = 2;
    // A slow link (one-way latency, a bandwidth cap), so a request and its answer take long enough to be cut.
    field.proxy.set_link(Link {
        latency: Duration::from_millis(150),
        bytes_per_second: Some(16_000),
    });
    // Kills that broke at least one sync in flight.
    let mut hit = 0;

    for round in 0..KILLS {
        // Each phone has a couple of new visits to upload.
        for e in 0..field.enumerators.len() {
            for i in 0..per_round {
                let assignment = field.enumerators[e].assignments[round * per_round + i].clone();
                let doc = field.visit_for(&assignment, Outcome::Found).unwrap();
                let frozen = field.enumerators[e]
                    .phone
                    .enter(&assignment.assignment_id, &doc)
                    .unwrap();
                entered.insert(frozen.visit_id, frozen);
            }
        }
        // All phones sync at once; the server dies at a random moment of it: once the first request bytes are
        // on the wire (so the kill lands in the sync however fast or loaded the machine is), after a random
        // delay that falls from before the request reaches the server (150 ms later) to about when its answer
        // is back (a round trip is ~300 ms on this link).
        let delay = Duration::from_millis(rng.random_range(0..300));
        let sent_before = field.proxy.stats().bytes_up;
        let (enumerators, server, proxy) = (&field.enumerators, &mut field.server, &field.proxy);
        let failed = std::thread::scope(|s| {
            let syncs: Vec<_> = enumerators
                .iter()
                .map(|e| s.spawn(|| e.phone.sync()))
                .collect();
            let waiting_since = Instant::now();
            while proxy.stats().bytes_up == sent_before
                && waiting_since.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(delay);
            server.kill();
            syncs
                .into_iter()
                .map(|t| t.join().map(|v| v.last_error.is_some()).unwrap_or(true))
                .filter(|failed| *failed)
                .count()
        });
        hit += usize::from(failed > 0);
        field.restart_server().unwrap();
    }

    println!("{hit} of {KILLS} kills broke a sync in flight");
    assert!(
        hit * 2 >= KILLS,
        "only {hit} of {KILLS} kills landed during a sync"
    );

    // Recovery, on a good link.
    field.proxy.set_link(Link::default());
    for e in &field.enumerators {
        e.phone.sync_until_clean(5).unwrap();
        assert_eq!(e.phone.outbox().unwrap(), 0);
    }
    let pulled = field.supervisor.pull_all().unwrap();
    check_exactly_once(&pulled, &entered).unwrap();
}
