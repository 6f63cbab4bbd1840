//! Signals of fabrication through the real router: raised at sync, shown on both visits of a pair (also on the one
//! that arrived first, which comes back in the pull), counted in progress, listed in the export; and not raised
//! by visits that give no cause.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tepat_protocol::{ReceiptStatus, Role, VisitDoc};

use crate::config::{Limits, SignalThresholds};
use crate::testkit::{Device, Kit, NIK, VILLAGE_A, VILLAGE_B, visit};

const SIGNAL_FORM: &str = r#"{
  "id": "sig_check",
  "version": 1,
  "title": {"id": "Cek tanda", "en": "Signal check"},
  "outcome": "outcome",
  "choices": {
    "outcome": [
      {"value": "1", "label": {"id": "Ditemukan", "en": "Found"}},
      {"value": "0", "label": {"id": "Tidak ditemukan", "en": "Not found"}}
    ]
  },
  "sections": [
    {
      "id": "visit",
      "title": {"id": "Kunjungan", "en": "Visit"},
      "fields": [
        {"id": "outcome", "type": "select_one", "choices": "outcome", "label": {"id": "Hasil", "en": "Outcome"}},
        {"id": "gps", "type": "geopoint", "label": {"id": "GPS", "en": "GPS"}},
        {"id": "photo_front", "type": "photo", "label": {"id": "Foto depan", "en": "Front photo"}},
        {"id": "members", "type": "repeat", "label": {"id": "Anggota", "en": "Members"},
         "fields": [
           {"id": "member_name", "type": "text", "label": {"id": "Nama", "en": "Name"}},
           {"id": "member_nik", "type": "nik", "label": {"id": "NIK", "en": "NIK"}}
         ]}
      ]
    }
  ]
}"#;

/// A second valid NIK (district 17.71.01, born 1985-03-04, woman: day + 40).
const NIK_2: &str = "1771014403850002";
const NIK_3: &str = "1771014403850003";
/// A photo hash (the photo need not arrive for `same_photo`).
const PHOTO: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER_PHOTO: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

/// A point in Kota Bengkulu, and metres north of it in degrees of latitude.
const HOME: (f64, f64) = (-3.8, 102.26);
fn north(m: f64) -> f64 {
    HOME.0 + m / 111_195.0
}

struct World {
    kit: Kit,
    enum1: Device,
    enum2: Device,
    enum3: Device,
    sup: Device,
}

async fn world(signals: SignalThresholds) -> World {
    let kit = Kit::with_limits(Limits {
        signals,
        ..Limits::default()
    });
    kit.user("sup", Role::Supervisor, &["17.71"]);
    kit.user("enum1", Role::Enumerator, &["17.71.01"]);
    kit.user("enum2", Role::Enumerator, &["17.71.02"]);
    kit.user("enum3", Role::Enumerator, &["17.71.01"]);
    kit.publish(SIGNAL_FORM);
    let mut csv = String::from("assignment_id,user_id,form_id,form_version,region_code,label\n");
    for i in 1..=8 {
        csv.push_str(&format!("S1-{i},enum1,sig_check,1,{VILLAGE_A},Rumah {i}\n"));
        csv.push_str(&format!("S2-{i},enum2,sig_check,1,{VILLAGE_B},Rumah {i}\n"));
        csv.push_str(&format!("S3-{i},enum3,sig_check,1,{VILLAGE_A},Rumah {i}\n"));
    }
    kit.assign(&csv);
    World {
        enum1: kit.enrol("enum1").await,
        enum2: kit.enrol("enum2").await,
        enum3: kit.enrol("enum3").await,
        sup: kit.enrol("sup").await,
        kit,
    }
}

/// A found visit on 2026-11-20 from `start` to `end` (UTC; Bengkulu is WIB, UTC+7), at `lat`.
fn sig_visit(assignment: &str, lat: f64, start: &str, end: &str, answers: Value) -> VisitDoc {
    let mut doc = visit(Some(assignment));
    doc.form_id = "sig_check".into();
    let mut all = json!({"outcome": "1", "gps": {"lat": lat, "lon": HOME.1, "accuracy_m": 4.0}});
    if let (Some(all), Some(more)) = (all.as_object_mut(), answers.as_object()) {
        all.extend(more.clone());
    }
    doc.answers = all.as_object().cloned().unwrap_or_default();
    doc.device_times.started_at = format!("2026-11-20T{start}:00Z").parse().unwrap();
    doc.device_times.finalised_at = Some(format!("2026-11-20T{end}:00Z").parse().unwrap());
    doc
}

fn roster(niks: &[&str]) -> Value {
    Value::Array(
        niks.iter()
            .enumerate()
            .map(|(i, nik)| json!({"member_name": format!("Anggota {i}"), "member_nik": nik}))
            .collect(),
    )
}

async fn submit(w: &World, device: &Device, doc: VisitDoc) -> String {
    let id = doc.visit_id.to_string();
    let response = w.kit.sync(device, 0, vec![doc]).await;
    assert_eq!(
        response.receipts[0].status,
        ReceiptStatus::Accepted,
        "{:?}",
        response.receipts
    );
    id
}

/// The supervisor pull after `since`: the visits and `next_since`.
async fn pull(w: &World, since: u64) -> (Vec<Value>, u64) {
    let reply = w
        .kit
        .get(
            &format!("/api/v1/supervisor/visits?since={since}"),
            Some(&w.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let page: Value = reply.json();
    (
        page["visits"].as_array().cloned().unwrap_or_default(),
        page["next_since"].as_u64().unwrap(),
    )
}

/// A visit's signals in a page as (kind, other visit), sorted.
fn signals_of(visits: &[Value], visit_id: &str) -> Vec<(String, String)> {
    let visit = visits
        .iter()
        .find(|v| v["visit"]["visit_id"] == visit_id)
        .unwrap_or_else(|| panic!("{visit_id} is not in the page"));
    let mut out: Vec<(String, String)> = visit["signals"]
        .as_array()
        .expect("every pulled visit has its signals")
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["other_visit_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn reason_en<'a>(visits: &'a [Value], visit_id: &str, kind: &str) -> &'a str {
    visits
        .iter()
        .find(|v| v["visit"]["visit_id"] == visit_id)
        .and_then(|v| v["signals"].as_array())
        .and_then(|s| s.iter().find(|s| s["kind"] == kind))
        .and_then(|s| s["reason"]["en"].as_str())
        .unwrap_or_else(|| panic!("{visit_id} has no {kind}"))
}

#[tokio::test]
async fn a_pair_of_households_sharing_a_spot_nik_photo_and_roster_shows_it_on_both_also_the_earlier_one()
 {
    let w = world(SignalThresholds::default()).await;
    let members = roster(&[NIK, NIK_2]);
    let first = sig_visit(
        "S1-1",
        north(0.0),
        "02:00",
        "02:45",
        json!({"photo_front": {"file": "a.jpg", "sha256": PHOTO}, "members": members}),
    );
    let a = submit(&w, &w.enum1, first).await;
    let (page, since) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &a),
        vec![],
        "alone, nothing relates it to another visit"
    );

    // Another enumerator's household, 2 m away, with the same photo and the same roster.
    let second = sig_visit(
        "S2-1",
        north(2.0),
        "03:00",
        "03:50",
        json!({"photo_front": {"file": "b.jpg", "sha256": PHOTO}, "members": members}),
    );
    let b = submit(&w, &w.enum2, second).await;
    let (page, since) = {
        let (page, next) = pull(&w, since).await;
        (page, next)
    };
    let expected = |other: &str| {
        [
            "gps_near_other",
            "identical_roster",
            "same_photo",
            "shared_nik",
        ]
        .map(|k| (k.to_string(), other.to_string()))
        .to_vec()
    };
    assert_eq!(signals_of(&page, &b), expected(&a));
    // The earlier visit changed: it is pulled again, with the same signals naming the later one.
    assert_eq!(signals_of(&page, &a), expected(&b));
    assert!(reason_en(&page, &a, "shared_nik").contains(NIK), "{page:?}");
    assert!(reason_en(&page, &a, "shared_nik").contains("another enumerator"));
    let reason_id = page
        .iter()
        .find(|v| v["visit"]["visit_id"] == a)
        .and_then(|v| v["signals"][0]["reason"]["id"].as_str())
        .unwrap();
    assert!(!reason_id.is_empty());

    // A third household far away (and 15 min after the first visit ended, 1 km off: a walking pace), with its own
    // photo and people: no signal on it, and the first two are not touched (not pulled again).
    let third = sig_visit(
        "S1-2",
        north(1_000.0),
        "03:00",
        "03:40",
        json!({"photo_front": {"file": "c.jpg", "sha256": OTHER_PHOTO}, "members": roster(&[NIK_3])}),
    );
    let c = submit(&w, &w.enum1, third).await;
    let (page, _) = pull(&w, since).await;
    assert_eq!(page.len(), 1, "{page:?}");
    assert_eq!(signals_of(&page, &c), vec![]);

    // Progress counts them per enumerator; the export lists each visit's kinds.
    let reply = w
        .kit
        .get("/api/v1/supervisor/progress", Some(&w.sup.token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let progress: Value = reply.json();
    let by_enumerator = progress["signals"]["by_enumerator"].as_array().unwrap();
    assert_eq!(by_enumerator.len(), 2, "{progress}");
    for row in by_enumerator {
        assert_eq!(row["visits_with_signals"], 1, "{row}");
        assert_eq!(row["by_kind"]["shared_nik"], 1, "{row}");
    }
    let reply = w
        .kit
        .get(
            "/api/v1/supervisor/export/households.csv?form_id=sig_check",
            Some(&w.sup.token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut csv = csv::Reader::from_reader(reply.body.as_ref());
    let header = csv.headers().unwrap().clone();
    let column = header
        .iter()
        .position(|h| h == "signals")
        .expect("a signals column");
    let id_column = header.iter().position(|h| h == "visit_id").unwrap();
    let cells: Vec<(String, String)> = csv
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[id_column].to_string(), r[column].to_string())
        })
        .collect();
    for (visit_id, cell) in cells {
        let expected = if visit_id == c {
            ""
        } else {
            "gps_near_other identical_roster same_photo shared_nik"
        };
        assert_eq!(cell, expected, "{visit_id}");
    }
}

#[tokio::test]
async fn a_correction_that_removes_the_shared_nik_clears_it_from_both_visits() {
    let w = world(SignalThresholds::default()).await;
    let a = submit(
        &w,
        &w.enum1,
        sig_visit(
            "S1-1",
            north(0.0),
            "02:00",
            "02:45",
            json!({"members": roster(&[NIK])}),
        ),
    )
    .await;
    let b_doc = sig_visit(
        "S2-1",
        north(500.0),
        "02:00",
        "02:45",
        json!({"members": roster(&[NIK, NIK_2])}),
    );
    let b = submit(&w, &w.enum2, b_doc.clone()).await;
    let (page, since) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &a),
        vec![("shared_nik".into(), b.clone())]
    );

    // The supervisor returns b; its correction drops the shared NIK.
    let review =
        json!({"visit_id": b, "revision": 1, "decision": "return", "comment": "NIK salah"});
    let reply = w
        .kit
        .post("/api/v1/supervisor/review", Some(&w.sup.token), &review)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let mut fixed = b_doc;
    fixed.revision = 2;
    fixed.answers.insert("members".into(), roster(&[NIK_2]));
    submit(&w, &w.enum2, fixed).await;
    let (page, _) = pull(&w, since).await;
    assert_eq!(
        signals_of(&page, &a),
        vec![],
        "the earlier visit comes back without it"
    );
    let latest_b: Vec<Value> = page
        .iter()
        .filter(|v| v["visit"]["revision"] == 2)
        .cloned()
        .collect();
    assert_eq!(signals_of(&latest_b, &b), vec![]);
}

#[tokio::test]
async fn a_quick_found_visit_at_night_is_flagged_and_a_daytime_visit_of_proper_length_is_not() {
    let w = world(SignalThresholds::default()).await;
    // 15:00–15:06 UTC is 22:00–22:06 WIB; 6 minutes for 2 members (10 + 3 × 2 = 16 expected).
    let night = submit(
        &w,
        &w.enum1,
        sig_visit(
            "S1-1",
            north(0.0),
            "15:00",
            "15:06",
            json!({"members": roster(&[NIK, NIK_2])}),
        ),
    )
    .await;
    let day = submit(
        &w,
        &w.enum1,
        sig_visit(
            "S1-2",
            north(300.0),
            "02:00",
            "02:30",
            json!({"members": roster(&[NIK_3])}),
        ),
    )
    .await;
    let (page, _) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &night),
        vec![
            ("fast_found".into(), String::new()),
            ("odd_hour".into(), String::new())
        ]
    );
    assert!(reason_en(&page, &night, "odd_hour").contains("22:00 WIB"));
    assert!(reason_en(&page, &night, "fast_found").contains("6 min for 2 members"));
    assert_eq!(signals_of(&page, &day), vec![]);
}

#[tokio::test]
async fn consecutive_visits_too_far_apart_for_their_times_are_flagged_on_both() {
    let w = world(SignalThresholds::default()).await;
    let a = submit(
        &w,
        &w.enum1,
        sig_visit("S1-1", north(0.0), "02:00", "02:30", json!({})),
    )
    .await;
    // 40 km north, 10 minutes later: 240 km/h.
    let b = submit(
        &w,
        &w.enum1,
        sig_visit("S1-2", north(40_000.0), "02:40", "03:20", json!({})),
    )
    .await;
    // 41 km north an hour after that: 1 km/h, plausible.
    let c = submit(
        &w,
        &w.enum1,
        sig_visit("S1-3", north(41_000.0), "04:20", "05:00", json!({})),
    )
    .await;
    let (page, _) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &a),
        vec![("impossible_speed".into(), b.clone())]
    );
    assert_eq!(
        signals_of(&page, &b),
        vec![("impossible_speed".into(), a.clone())]
    );
    assert_eq!(signals_of(&page, &c), vec![]);
}

#[tokio::test]
async fn a_day_of_visits_from_one_spot_is_flagged_and_a_day_walking_the_village_is_not() {
    let w = world(SignalThresholds::default()).await;
    let mut spot = Vec::new();
    for i in 0..4 {
        // 10 m apart (more than `near_metres`), all within 15 m of their centre.
        let start = format!("0{}:00", 2 + i);
        let end = format!("0{}:40", 2 + i);
        let doc = sig_visit(
            &format!("S1-{}", i + 1),
            north(f64::from(i) * 10.0),
            &start,
            &end,
            json!({}),
        );
        spot.push(submit(&w, &w.enum1, doc).await);
    }
    let mut walked = Vec::new();
    for i in 0..4 {
        let start = format!("0{}:00", 2 + i);
        let end = format!("0{}:40", 2 + i);
        let doc = sig_visit(
            &format!("S3-{}", i + 1),
            north(5_000.0 + f64::from(i) * 200.0),
            &start,
            &end,
            json!({}),
        );
        walked.push(submit(&w, &w.enum3, doc).await);
    }
    let (page, _) = pull(&w, 0).await;
    for id in &spot {
        assert_eq!(
            signals_of(&page, id),
            vec![("same_spot_day".into(), String::new())]
        );
    }
    assert!(reason_en(&page, &spot[0], "same_spot_day").contains("All 4"));
    for id in &walked {
        assert_eq!(signals_of(&page, id), vec![]);
    }
}

#[tokio::test]
async fn many_not_found_against_the_rest_of_the_village_is_flagged_with_configured_thresholds() {
    let thresholds = SignalThresholds {
        not_found_min_visits: 3,
        not_found_min_village_visits: 3,
        ..SignalThresholds::default()
    };
    let w = world(thresholds).await;
    let mut not_found = Vec::new();
    for i in 1..=3 {
        let mut doc = sig_visit(
            &format!("S1-{i}"),
            north(f64::from(i) * 100.0),
            &format!("0{i}:00"),
            &format!("0{i}:20"),
            json!({}),
        );
        doc.answers.insert("outcome".into(), json!("0"));
        not_found.push(submit(&w, &w.enum1, doc).await);
    }
    // Before the rest of the village has visits, there is nothing to compare with.
    let (page, since) = pull(&w, 0).await;
    assert_eq!(signals_of(&page, &not_found[0]), vec![]);
    let mut found = Vec::new();
    for i in 1..=3 {
        let doc = sig_visit(
            &format!("S3-{i}"),
            north(f64::from(i) * 100.0 + 3_000.0),
            &format!("0{i}:00"),
            &format!("0{i}:40"),
            json!({}),
        );
        found.push(submit(&w, &w.enum3, doc).await);
    }
    let (page, _) = pull(&w, since).await;
    for id in &not_found {
        assert_eq!(
            signals_of(&page, id),
            vec![("not_found_rate".into(), String::new())]
        );
    }
    assert!(reason_en(&page, &not_found[0], "not_found_rate").starts_with("100%"));
    for id in &found {
        assert_eq!(signals_of(&page, id), vec![]);
    }
    // The village's counts, kept as the visits arrived, are the counts of the stored facts.
    let counts = |sql: &str| -> Vec<(String, String, i64, i64)> {
        w.kit
            .db()
            .read(|tx| {
                let mut stmt = tx.prepare(sql)?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
    };
    let kept = counts(
        "SELECT region_code, user_id, visits, not_found FROM signal_village_counts WHERE visits > 0 ORDER BY 1, 2",
    );
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(
        kept,
        counts(
            "SELECT region_code, user_id, count(*), sum(CASE WHEN outcome_class = 'not_found' THEN 1 ELSE 0 END) FROM signal_facts
             GROUP BY 1, 2 ORDER BY 1, 2"
        )
    );
}

#[tokio::test]
async fn visits_stored_before_the_signals_get_them_when_the_server_starts() {
    let w = world(SignalThresholds::default()).await;
    let a = submit(
        &w,
        &w.enum1,
        sig_visit(
            "S1-1",
            north(0.0),
            "02:00",
            "02:45",
            json!({"members": roster(&[NIK])}),
        ),
    )
    .await;
    let b = submit(
        &w,
        &w.enum2,
        sig_visit(
            "S2-1",
            north(900.0),
            "02:00",
            "02:45",
            json!({"members": roster(&[NIK])}),
        ),
    )
    .await;
    // As a database from before the signals: no facts, no signals.
    w.kit
        .db()
        .write(|tx| {
            tx.execute_batch(
                "DELETE FROM visit_signals; DELETE FROM signal_facts; DELETE FROM signal_niks;
                 DELETE FROM signal_village_flags; DELETE FROM signal_village_counts;",
            )
        })
        .unwrap();
    let (page, _) = pull(&w, 0).await;
    assert_eq!(signals_of(&page, &a), vec![]);

    let app = w.kit.state.app();
    let computed =
        crate::signals::store::backfill(&app.db, &app.forms, &SignalThresholds::default()).unwrap();
    assert_eq!(computed, 2);
    let (page, _) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &a),
        vec![("shared_nik".into(), b.clone())]
    );
    assert_eq!(
        signals_of(&page, &b),
        vec![("shared_nik".into(), a.clone())]
    );
    // Once done, a start finds nothing left to compute.
    assert_eq!(
        crate::signals::store::backfill(&app.db, &app.forms, &SignalThresholds::default()).unwrap(),
        0
    );
}

#[tokio::test]
async fn a_crowded_gps_cell_cannot_hide_a_near_fix_from_the_bounded_lookup() {
    // Each lookup reads at most one related visit: only fixes near enough may take that place.
    let w = world(SignalThresholds {
        max_related: 1,
        ..SignalThresholds::default()
    })
    .await;
    let far = submit(
        &w,
        &w.enum1,
        sig_visit("S1-1", north(0.0), "02:00", "02:30", json!({})),
    )
    .await;
    let near = submit(
        &w,
        &w.enum1,
        sig_visit("S1-2", north(40.0), "02:40", "03:10", json!({})),
    )
    .await;
    let next_door = submit(
        &w,
        &w.enum1,
        sig_visit("S1-3", north(42.0), "03:20", "03:50", json!({})),
    )
    .await;
    let (page, _) = pull(&w, 0).await;
    assert_eq!(
        signals_of(&page, &next_door),
        vec![("gps_near_other".into(), near.clone())]
    );
    assert_eq!(
        signals_of(&page, &near),
        vec![("gps_near_other".into(), next_door.clone())]
    );
    assert_eq!(signals_of(&page, &far), vec![]);
}
