//! Network faults: well over 200 syncs whose connection is cut at a random byte offset, on the way up (the
//! request breaks) or on the way down (the server stored the batch but the answer breaks); the proxy counts
//! the cuts it actually made in each direction, and at least 100 of each must have happened. After the link
//! recovers: zero lost and zero duplicated visits, and every phone's outbox is empty.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tepat_e2e::field::{Field, check_exactly_once};
use tepat_e2e::proxy::Cut;

/// Cuts that must actually have happened in each direction (a planned offset past the end of a connection never
/// cuts), as the proxy counted them.
const CUTS_EACH_WAY: u64 = 100;

#[test]
fn syncs_cut_at_random_byte_offsets_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 11).unwrap();
    field
        .add_enumerators(&["Dewi", "Agus", "Maria"], 16, &[])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(0x5eed_cafe);

    let mut entered = BTreeMap::new();
    let mut next = vec![0usize; field.enumerators.len()];
    let mut syncs = 0u32;
    let mut cut_up = 0u64;
    let mut cut_down = 0u64;
    let before = field.proxy.stats();
    let made = |field: &Field| {
        let now = field.proxy.stats();
        (
            now.cuts_up - before.cuts_up,
            now.cuts_down - before.cuts_down,
        )
    };
    while made(&field).0 < CUTS_EACH_WAY
        || made(&field).1 < CUTS_EACH_WAY
        || next
            .iter()
            .zip(&field.enumerators)
            .any(|(n, e)| *n < e.assignments.len())
    {
        for (e, next) in next.iter_mut().enumerate() {
            // Now and then another household is finished between syncs.
            if *next < field.enumerators[e].assignments.len() && rng.random_bool(0.3) {
                let frozen = field.enter_found(e, *next).unwrap();
                entered.insert(frozen.visit_id, frozen);
                *next += 1;
            }
            // Most syncs are cut: requests are a few kB (headers + gzipped visits), answers a few hundred bytes.
            let cut = if rng.random_bool(0.85) {
                if rng.random_bool(0.5) {
                    cut_up += 1;
                    // A request without visits is ~420 bytes; one with visits 1-3 kB: offsets past the end never cut.
                    let end = if rng.random_bool(0.5) { 450 } else { 2500 };
                    Some(Cut::Up(rng.random_range(0..end)))
                } else {
                    cut_down += 1;
                    Some(Cut::Down(rng.random_range(0..330)))
                }
            } else {
                None
            };
            field.proxy.clear_plan();
            field.proxy.plan_cuts([cut]);
            field.enumerators[e].phone.sync();
            syncs += 1;
        }
        assert!(
            syncs < 3000,
            "the cuts never reached {CUTS_EACH_WAY} each way: {:?}",
            made(&field)
        );
    }
    let (up, down) = made(&field);
    let stats = field.proxy.stats();
    println!(
        "{syncs} syncs; cut {up} on the way up ({cut_up} planned), {down} on the way down ({cut_down} planned); \
         {} connections",
        stats.connections
    );
    assert!(up >= CUTS_EACH_WAY, "{up} requests cut");
    assert!(down >= CUTS_EACH_WAY, "{down} answers cut");
    assert_eq!(up + down, stats.cuts - before.cuts);

    // The link recovers.
    field.proxy.clear_plan();
    for e in &field.enumerators {
        e.phone.sync_until_clean(5).unwrap();
        assert_eq!(e.phone.outbox().unwrap(), 0, "{}'s outbox", e.user_id);
    }

    let pulled = field.supervisor.pull_all().unwrap();
    check_exactly_once(&pulled, &entered).unwrap();
}
