//! Phone clocks off by ±1 day (and one that jumps back a day mid-round, as when the network corrects it) do
//! not reorder or lose anything: every visit arrives once, each phone's visits keep the order they were
//! finalised in (the device's own sequence), and their dates are the ones the phones believed.

use std::collections::BTreeMap;

use chrono::Duration;
use tepat_e2e::field::{Field, differences};
use tepat_protocol::ServerVisit;

#[test]
fn clocks_a_day_off_neither_reorder_nor_lose_visits() {
    let dir = tempfile::tempdir().unwrap();
    let mut field = Field::start(dir.path(), 61).unwrap();
    let skews = [Duration::days(-1), Duration::days(1), Duration::zero()];
    field
        .add_enumerators(&["Yanti", "Dedi", "Rosmala"], 6, &skews)
        .unwrap();

    let mut entered: BTreeMap<String, Vec<tepat_protocol::VisitDoc>> = BTreeMap::new();
    for round in 0..6 {
        for e in 0..3 {
            if e == 2 && round == 3 {
                // Phone 3's clock is corrected backwards by a day mid-round.
                field.enumerators[e].clock.advance(Duration::days(-1));
            }
            let frozen = field.enter_found(e, round).unwrap();
            entered
                .entry(field.enumerators[e].user_id.clone())
                .or_default()
                .push(frozen);
            field.enumerators[e].clock.advance(Duration::minutes(35));
        }
        if round % 2 == 1 {
            for e in &field.enumerators {
                e.phone.sync_until_clean(3).unwrap();
            }
        }
    }

    let pulled = field.supervisor.pull_all().unwrap();
    assert_eq!(pulled.len(), 18);
    let mut by_user: BTreeMap<&str, Vec<&ServerVisit>> = BTreeMap::new();
    for v in &pulled {
        by_user.entry(v.user_id.as_str()).or_default().push(v);
    }
    let base = field.generator.visit_date();
    for (user, docs) in &entered {
        let mut got = by_user.remove(user.as_str()).unwrap_or_default();
        // The server's order (arrival) and the device's order agree with the order of entry.
        assert!(got.windows(2).all(|w| w[0].seq < w[1].seq));
        let arrival: Vec<_> = got.iter().map(|v| v.visit.visit_id).collect();
        got.sort_by_key(|v| v.visit.device_times.device_seq);
        let by_device_seq: Vec<_> = got.iter().map(|v| v.visit.visit_id).collect();
        let typed: Vec<_> = docs.iter().map(|d| d.visit_id).collect();
        assert_eq!(arrival, typed, "{user}: arrival order");
        assert_eq!(by_device_seq, typed, "{user}: device order");
        for (doc, server) in docs.iter().zip(&got) {
            assert!(differences(doc, &server.visit).is_empty());
        }
        // The dates are what each phone believed.
        let dates: Vec<_> = docs
            .iter()
            .map(|d| (d.visit_date - base).num_days())
            .collect();
        match user.as_str() {
            "pkh01" => assert!(dates.iter().all(|d| *d == -1), "{dates:?}"),
            "pkh02" => assert!(dates.iter().all(|d| *d == 1), "{dates:?}"),
            _ => assert_eq!(dates, vec![0, 0, 0, -1, -1, -1]),
        }
    }
}
