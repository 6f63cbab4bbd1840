//! The server is killed with SIGKILL while phones are uploading batches, at a moment when it holds a whole sync
//! request it has not begun to answer (mid-ingest), then restarted on the same data directory (the phones keep
//! their address: the proxy points at the new process). Every counted kill is shown to have landed so: the proxy
//! saw the server holding the request just before the kill and saw it send nothing more on that connection
//! before it died. A kill that missed (the answers had already begun) is not counted and the round is retried,
//! a bounded number of times. After recovery: zero lost and zero duplicated visits, every outbox empty.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::{Field, check_exactly_once};
use tepat_e2e::proxy::Link;

/// Kills that must land mid-ingest.
const KILLS: usize = 8;
/// Rounds at most (each round is one kill, landed or not): the test fails if fewer than `KILLS` land.
const ROUNDS: usize = 4 * KILLS;
/// A sync request is ~420 bytes without visits (headers and a gzipped body), more with one; anything shorter on a
/// connection (a TLS `Finished`, say) is not a request.
const MIN_REQUEST: u64 = 400;

#[test]
fn a_server_killed_during_ingest_and_restarted_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 23).unwrap();
    // One new household per phone and round, so every round's syncs carry visits to ingest.
    field
        .add_enumerators(&["Fitri", "Hendra", "Lestari"], ROUNDS, &[])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(99);
    let mut entered = BTreeMap::new();
    // A slow link (one-way latency, a bandwidth cap), as in the field: requests arrive over ~0.2 s.
    field.proxy.set_link(Link {
        latency: Duration::from_millis(150),
        bytes_per_second: Some(16_000),
    });
    let mut landed = 0;
    let mut rounds = 0;

    while landed < KILLS && rounds < ROUNDS {
        // Each phone has a new visit to upload.
        for e in 0..field.enumerators.len() {
            let frozen = field.enter_found(e, rounds).unwrap();
            entered.insert(frozen.visit_id, frozen);
        }
        rounds += 1;
        // All phones sync at once. As soon as the proxy sees the server holding a whole request, after a random
        // 0–15 ms (so the kill falls anywhere in the handler: reading, checking, writing, committing), the
        // server is killed.
        let delay = Duration::from_micros(rng.random_range(0..15_000));
        let first = field.proxy.stats().connections;
        let (enumerators, server, proxy) = (&field.enumerators, &mut field.server, &field.proxy);
        let hit = std::thread::scope(|s| {
            let syncs: Vec<_> = enumerators
                .iter()
                .map(|e| s.spawn(|| e.phone.sync()))
                .collect();
            let waiting_since = Instant::now();
            let mut held = Vec::new();
            while held.is_empty()
                && !syncs.iter().all(|t| t.is_finished())
                && waiting_since.elapsed() < Duration::from_secs(30)
            {
                held = proxy
                    .held_by_server(MIN_REQUEST)
                    .into_iter()
                    .filter(|(id, _)| *id >= first)
                    .collect();
                std::thread::sleep(Duration::from_micros(500));
            }
            std::thread::sleep(delay);
            // The moment of the kill: what the server holds now, unanswered.
            let held: Vec<_> = proxy
                .held_by_server(MIN_REQUEST)
                .into_iter()
                .filter(|(id, _)| *id >= first)
                .collect();
            server.kill();
            // It landed if on one of them the server never sent a byte before it died.
            let hit = held.iter().any(|(id, at_kill)| {
                proxy
                    .wait_server_closed(*id, Duration::from_secs(5))
                    .is_some_and(|ended| ended.from_server == at_kill.from_server)
            });
            let failed = syncs
                .into_iter()
                .map(|t| t.join().map(|v| v.last_error.is_some()).unwrap_or(true))
                .filter(|failed| *failed)
                .count();
            assert!(
                !hit || failed > 0,
                "the server died holding a request, yet every sync succeeded"
            );
            hit
        });
        landed += usize::from(hit);
        field.restart_server().unwrap();
    }

    println!("{landed} kills landed mid-ingest in {rounds} rounds");
    assert_eq!(
        landed, KILLS,
        "only {landed} of {rounds} kills landed while the server held a request"
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
