//! Trails through the real sync API: verified, kept, findings for what does not hold; the ledger and
//! `admin verify` against rows changed behind the server's back.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use tepat_protocol::trail::{
    ENCODING_VERSION, EventFields, Monotonic, TrailEvent, VisitTrail, ZERO_HASH, event_hash,
};
use tepat_protocol::{Decision, ReceiptStatus, ReviewRequest, VisitDoc};

use super::*;
use crate::testkit::{Device, Kit, visit};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

/// A phone's chain: the next position and the hash of the last event; with `boot`, every event carries a
/// monotonic reading of that boot that moves with the seconds after t0, and from `shift.0` seconds on the wall clock
/// is off by `shift.1` (set by hand).
struct Phone {
    seq: u64,
    last_hash: String,
    boot: Option<String>,
    shift: (i64, Duration),
}

impl Phone {
    fn new() -> Phone {
        Phone {
            seq: 0,
            last_hash: ZERO_HASH.into(),
            boot: None,
            shift: (i64::MAX, Duration::zero()),
        }
    }

    /// Appends an event of `visit` (or of the device, `None`) `secs` after t0.
    fn event(
        &mut self,
        visit: Option<&VisitDoc>,
        secs: i64,
        kind: &str,
        path: Option<&str>,
        new: Option<String>,
    ) -> TrailEvent {
        self.seq += 1;
        let mut at = t0() + Duration::seconds(secs);
        if secs >= self.shift.0 {
            at += self.shift.1;
        }
        let mono = self.boot.as_ref().map(|boot| Monotonic {
            boot: boot.clone(),
            ms: 5_000_000 + secs as u64 * 1000,
        });
        let fields = EventFields {
            seq: self.seq,
            device_seq: self.seq + 100,
            at,
            mono: mono.as_ref(),
            actor: "enum1",
            visit_id: visit.map(|v| v.visit_id),
            revision: visit.map(|v| v.revision),
            kind,
            path,
            old: None,
            new: new.as_deref(),
        };
        let hash = event_hash(&fields, &self.last_hash);
        let event = TrailEvent {
            seq: self.seq,
            device_seq: self.seq + 100,
            at,
            mono,
            actor: "enum1".into(),
            revision: visit.map(|v| v.revision),
            kind: kind.into(),
            path: path.map(Into::into),
            old: None,
            new,
            prev_hash: Some(self.last_hash.clone()),
            hash: Some(hash.clone()),
        };
        self.last_hash = hash;
        event
    }

    /// The whole trail of `doc`: started, one answer per top-level answer, finalised.
    fn visit(&mut self, doc: &VisitDoc) -> VisitTrail {
        let mut events = vec![self.event(Some(doc), 0, "visit_started", None, None)];
        for (i, (path, value)) in doc.answers.iter().enumerate() {
            events.push(self.event(
                Some(doc),
                10 * (i as i64 + 1),
                "answer_set",
                Some(path),
                Some(value.to_string()),
            ));
        }
        events.push(self.event(Some(doc), 600, "finalised", None, None));
        VisitTrail {
            visit_id: doc.visit_id,
            revision: doc.revision,
            encoding: ENCODING_VERSION,
            events,
            missing: vec![],
            edited: vec![],
        }
    }
}

/// A trail as the phone sends it: `prev_hash` only on each run's first event, `hash` only on its last (the events
/// keep whatever the test changed in them).
fn as_sent(mut trail: VisitTrail) -> VisitTrail {
    let shape: Vec<(bool, bool)> = (0..trail.events.len())
        .map(|i| {
            (
                tepat_protocol::trail::starts_run(&trail.events, i),
                tepat_protocol::trail::ends_run(&trail.events, i),
            )
        })
        .collect();
    for (event, (first, last)) in trail.events.iter_mut().zip(shape) {
        if !first {
            event.prev_hash = None;
        }
        if !last {
            event.hash = None;
        }
    }
    trail
}

/// Sends `visits` with `trails` shaped as the phone sends them.
async fn send(
    kit: &Kit,
    device: &Device,
    visits: Vec<VisitDoc>,
    trails: Vec<VisitTrail>,
) -> crate::testkit::Reply {
    let mut request = Kit::sync_request(device, 0, visits);
    request.trails = trails.into_iter().map(as_sent).collect();
    kit.sync_raw(device, &request).await
}

/// The trail rules of a stored visit's findings.
fn trail_rules(kit: &Kit, doc: &VisitDoc) -> Vec<String> {
    let findings: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT findings FROM visits WHERE visit_id = ?1 AND revision = ?2",
                crate::db::sql::params![doc.visit_id.to_string(), doc.revision],
                |r| r.get(0),
            )
        })
        .unwrap();
    let findings: Vec<tepat_form::Finding> = serde_json::from_str(&findings).unwrap();
    findings
        .into_iter()
        .filter(|f| f.path == TRAIL_PATH)
        .map(|f| f.rule)
        .collect()
}

/// The Indonesian messages of a stored visit's trail findings.
fn trail_messages(kit: &Kit, doc: &VisitDoc) -> Vec<String> {
    let findings: String = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT findings FROM visits WHERE visit_id = ?1 AND revision = ?2",
                crate::db::sql::params![doc.visit_id.to_string(), doc.revision],
                |r| r.get(0),
            )
        })
        .unwrap();
    let findings: Vec<tepat_form::Finding> = serde_json::from_str(&findings).unwrap();
    findings
        .into_iter()
        .filter(|f| f.path == TRAIL_PATH)
        .map(|f| f.message.id)
        .collect()
}

fn accepted(reply: &crate::testkit::Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let response: tepat_protocol::SyncResponse = reply.json();
    assert!(
        response
            .receipts
            .iter()
            .all(|r| r.status == ReceiptStatus::Accepted),
        "{response:?}"
    );
}

#[tokio::test]
async fn an_intact_trail_verifies_is_kept_and_gives_paradata() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    phone.event(None, 0, "assignment_added", Some("A-1"), None);
    let doc = visit(Some("A-1"));
    let trail = as_sent(phone.visit(&doc));
    // As the phone sends it: one run, so one prev_hash and one hash.
    assert_eq!(
        trail
            .events
            .iter()
            .filter(|e| e.prev_hash.is_some())
            .count(),
        1
    );
    assert_eq!(trail.events.iter().filter(|e| e.hash.is_some()).count(), 1);
    accepted(&send(&kit, &device, vec![doc.clone()], vec![trail.clone()]).await);
    assert_eq!(trail_rules(&kit, &doc), Vec::<String>::new());
    let (kept, paradata): (i64, String) = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM trail_events), paradata FROM visits",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!(kept as usize, trail.events.len());
    let paradata: crate::paradata::Paradata = serde_json::from_str(&paradata).unwrap();
    assert_eq!(paradata.duration_s, Some(600));
    assert_eq!(paradata.events as usize, trail.events.len());
    // The server keeps every event's hash, recomputed: the phone's hashes.
    let full = phone_hashes(&doc);
    let stored: Vec<String> = kit
        .db()
        .read(|tx| {
            let mut stmt =
                tx.prepare("SELECT hash FROM trail_events WHERE seq > 1 ORDER BY seq")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<Vec<String>, _>>()
        })
        .unwrap();
    assert_eq!(stored, full);
    assert!(crate::verify::verify(kit.db()).unwrap().is_clean());
}

/// The hashes a phone whose chain begins with one assignment event stores for `doc`'s trail.
fn phone_hashes(doc: &VisitDoc) -> Vec<String> {
    let mut phone = Phone::new();
    phone.event(None, 0, "assignment_added", Some("A-1"), None);
    phone
        .visit(doc)
        .events
        .into_iter()
        .filter_map(|e| e.hash)
        .collect()
}

#[tokio::test]
async fn a_trail_with_a_hash_on_every_event_the_shape_before_runs_is_refused() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let doc = visit(Some("A-1"));
    let mut request = Kit::sync_request(&device, 0, vec![doc.clone()]);
    request.trails = vec![Phone::new().visit(&doc)];
    let reply = kit.sync_raw(&device, &request).await;
    let error = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_trail");
    assert!(error.message.contains("inside a run"), "{}", error.message);
}

#[tokio::test]
async fn a_visit_without_a_trail_is_kept_with_the_finding_no_trail() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let doc = visit(Some("A-1"));
    accepted(&send(&kit, &device, vec![doc.clone()], vec![]).await);
    assert_eq!(trail_rules(&kit, &doc), ["trail_missing"]);
}

#[tokio::test]
async fn an_edited_event_a_gap_and_a_reordering_are_findings_of_the_visit() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();

    let edited = visit(Some("A-1"));
    let mut trail = phone.visit(&edited);
    trail.events[2].new = Some("\"9\"".into());
    // The phone's own check names the edited position.
    trail.edited = vec![trail.events[2].seq];
    let (first, last) = (
        trail.events[0].seq,
        trail.events[trail.events.len() - 1].seq,
    );
    accepted(&send(&kit, &device, vec![edited.clone()], vec![trail]).await);
    assert_eq!(trail_rules(&kit, &edited), ["trail_edited"]);
    let message = trail_messages(&kit, &edited).join(" ");
    assert!(
        message.contains(&format!("{first}–{last}"))
            && message.contains("HP menandai peristiwa 3."),
        "{message}"
    );
    // The whole run is flagged (which of its stored hashes is right is unknown), so verify does not report it.
    let flagged: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM trail_events WHERE flagged <> 0",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(flagged as u64, last - first + 1);
    assert!(crate::verify::verify(kit.db()).unwrap().is_clean());

    let gap = visit(Some("A-2"));
    let mut trail = phone.visit(&gap);
    trail.events.remove(3);
    trail.missing = vec![trail.events[2].seq + 1];
    accepted(&send(&kit, &device, vec![gap.clone()], vec![trail]).await);
    assert_eq!(trail_rules(&kit, &gap), ["trail_gap"]);

    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let reordered = visit(Some("A-1"));
    let mut trail = Phone::new().visit(&reordered);
    trail.events.swap(1, 2);
    accepted(&send(&kit, &device, vec![reordered.clone()], vec![trail]).await);
    let rules = trail_rules(&kit, &reordered);
    assert!(rules.contains(&"trail_reordered".to_string()), "{rules:?}");
}

#[tokio::test]
async fn a_clock_set_back_mid_visit_is_a_finding_and_a_steady_one_is_not() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    phone.boot = Some("boot-1".into());
    let steady = visit(Some("A-1"));
    let trail = phone.visit(&steady);
    assert!(trail.events.iter().all(|e| e.mono.is_some()));
    accepted(&send(&kit, &device, vec![steady.clone()], vec![trail]).await);
    assert_eq!(trail_rules(&kit, &steady), Vec::<String>::new());
    // Just before finalising, the clock is set back a day (the visit then looks finished yesterday).
    phone.shift = (600, Duration::days(-1));
    let moved = visit(Some("A-2"));
    let trail = phone.visit(&moved);
    let (last_answer, finalised) = (
        trail.events[trail.events.len() - 2].seq,
        trail.events[trail.events.len() - 1].seq,
    );
    accepted(&send(&kit, &device, vec![moved.clone()], vec![trail]).await);
    assert_eq!(trail_rules(&kit, &moved), ["trail_clock_changed"]);
    let message = trail_messages(&kit, &moved).join(" ");
    assert!(
        message.contains(&format!(
            "Jam HP diubah di antara peristiwa {last_answer} dan {finalised}: jam bergeser −23 jam"
        )) && message.contains("padahal waktu yang berlalu +9 menit"),
        "{message}"
    );
    // The readings are kept with the events, and verify recomputes the hashes that cover them.
    let readings: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row(
                "SELECT count(*) FROM trail_events WHERE boot = 'boot-1' AND mono >= 5000000",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert!(readings > 4, "{readings}");
    assert!(crate::verify::verify(kit.db()).unwrap().is_clean());
}

fn reading(boot: &str, ms: u64) -> Option<Monotonic> {
    Some(Monotonic {
        boot: boot.into(),
        ms,
    })
}

#[test]
fn the_clock_check_compares_readings_of_one_boot_within_the_tolerance() {
    let mut phone = Phone::new();
    phone.boot = Some("boot-1".into());
    let doc = visit(Some("A-1"));
    let honest = phone.visit(&doc).events;
    assert!(clock_problems(&honest).is_empty());
    let mut events = honest.clone();
    let n = events.len();
    // The wall clock 119 s ahead of the monotonic one at the last event: within the tolerance; 121 s: not.
    events[n - 1].at += Duration::seconds(119);
    assert!(clock_problems(&events).is_empty());
    events[n - 1].at += Duration::seconds(2);
    let problems = clock_problems(&events);
    assert!(
        matches!(
            problems.as_slice(),
            [TrailProblem::ClockChanged { wall_ms, mono_ms, .. }] if wall_ms - mono_ms == 121_000
        ),
        "{problems:?}"
    );
    // The phone restarted (another boot) and its clock was set meanwhile: nothing to compare across boots.
    events[n - 1].mono = reading("boot-2", 1_000);
    assert!(clock_problems(&events).is_empty());
    // An event without a reading between two of one boot: they still compare.
    let mut events = honest;
    events[n - 2].mono = None;
    events[n - 1].at -= Duration::hours(3);
    assert_eq!(clock_problems(&events).len(), 1);
    // The monotonic clock going back within one boot (never on a phone) shows too.
    events[n - 1].at += Duration::hours(3);
    events[n - 1].mono = reading("boot-1", 1_000);
    assert_eq!(clock_problems(&events).len(), 1);
}

#[tokio::test]
async fn links_to_events_held_from_other_visits_are_checked_both_ways() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    let first = visit(Some("A-1"));
    let first_trail = phone.visit(&first);
    // After the first visit was sent, its last event was rewritten on the phone (another hash): the second
    // visit's first event links to the rewritten one.
    phone.last_hash = "e".repeat(64);
    let second = visit(Some("A-2"));
    let second_trail = phone.visit(&second);
    accepted(&send(&kit, &device, vec![first.clone()], vec![first_trail]).await);
    accepted(
        &send(
            &kit,
            &device,
            vec![second.clone()],
            vec![second_trail.clone()],
        )
        .await,
    );
    assert_eq!(trail_rules(&kit, &first), Vec::<String>::new());
    assert_eq!(trail_rules(&kit, &second), ["trail_broken_link"]);

    // The other direction: the later visit arrives first, then the earlier one, whose last event the later
    // one does not link to.
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    let early = visit(Some("A-1"));
    let early_trail = phone.visit(&early);
    phone.last_hash = "e".repeat(64);
    let late = visit(Some("A-2"));
    let late_trail = phone.visit(&late);
    accepted(&send(&kit, &device, vec![late.clone()], vec![late_trail]).await);
    accepted(&send(&kit, &device, vec![early.clone()], vec![early_trail]).await);
    assert_eq!(trail_rules(&kit, &early), ["trail_broken_link"]);

    // A position the server holds, sent again with another event: rewritten.
    let again = VisitDoc {
        revision: 1,
        ..visit(Some("A-2"))
    };
    let mut phone = Phone::new();
    let rewritten = phone.visit(&again);
    accepted(&send(&kit, &device, vec![again.clone()], vec![rewritten]).await);
    // Named once, at the first position that differs (the later ones differ through their recomputed links).
    let rules = trail_rules(&kit, &again);
    assert_eq!(
        rules.iter().filter(|r| *r == "trail_rewritten").count(),
        1,
        "{rules:?}"
    );
}

#[tokio::test]
async fn a_trail_for_a_visit_not_in_the_batch_is_refused_naming_it() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let doc = visit(Some("A-1"));
    let other = visit(Some("A-2"));
    let trail = Phone::new().visit(&other);
    let reply = send(&kit, &device, vec![doc], vec![trail]).await;
    let error = reply.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_trail");
    assert!(error.message.contains("trails[0]"), "{}", error.message);
}

#[tokio::test]
async fn verify_names_a_changed_visit_a_changed_decision_and_a_deleted_ledger_row() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    let doc = visit(Some("A-1"));
    let trail = phone.visit(&doc);
    accepted(&send(&kit, &device, vec![doc.clone()], vec![trail]).await);
    let sup = kit.enrol("sup").await;
    let review = ReviewRequest {
        visit_id: doc.visit_id,
        revision: 1,
        decision: Decision::Approve,
        comment: "baik".into(),
        field: None,
    };
    let reply = kit
        .post(
            "/api/v1/supervisor/review",
            Some(&sup.token),
            &serde_json::to_value(&review).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let clean = crate::verify::verify(kit.db()).unwrap();
    assert!(clean.is_clean(), "{clean}");

    // What someone with the database's password could do, on either store.
    let id = doc.visit_id.to_string();
    let enrolled_row: i64 = kit
        .db()
        .write(|tx| {
            let (set_rooms, drop_guard) = match tx.dialect() {
                crate::db::sql::Dialect::Sqlite => (
                    "UPDATE visits SET doc = json_set(doc, '$.answers.rooms', 9) WHERE visit_id = ?1",
                    "DROP TRIGGER ledger_no_delete",
                ),
                crate::db::sql::Dialect::Postgres => (
                    "UPDATE visits SET doc = jsonb_set(doc::jsonb, '{answers,rooms}', '9')::text
                     WHERE visit_id = ?1",
                    "DROP TRIGGER ledger_no_delete ON ledger",
                ),
            };
            tx.execute(set_rooms, [&id])?;
            tx.execute(
                "UPDATE reviews SET decision = 'returned' WHERE visit_id = ?1",
                [&id],
            )?;
            let enrolled_row: i64 = tx.query_row(
                "SELECT id FROM ledger WHERE kind = 'device_enrolled' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            tx.execute_batch(drop_guard)?;
            tx.execute("DELETE FROM ledger WHERE id = ?1", [enrolled_row])?;
            tx.execute("UPDATE trail_events SET new = '\"7\"' WHERE seq = 3", [])?;
            Ok::<_, crate::db::sql::Error>(enrolled_row)
        })
        .unwrap();

    let report = crate::verify::verify(kit.db()).unwrap();
    let text = report.to_string();
    let place = |needle: &str| {
        report
            .mismatches
            .iter()
            .any(|m| m.place.contains(needle) || m.what.contains(needle))
    };
    // The changed document, against the ledger and against its content hash.
    assert!(place(&format!("visit {id} revision 1")), "{text}");
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.what.starts_with("document sha256")),
        "{text}"
    );
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.what.starts_with("content_hash")),
        "{text}"
    );
    // The changed decision, against the ledger's record of it and against the visit's status.
    let decision = report
        .mismatches
        .iter()
        .find(|m| m.what.starts_with("decision"))
        .unwrap();
    assert_eq!(
        (decision.expected.as_str(), decision.found.as_str()),
        ("\"approved\"", "\"returned\"")
    );
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.what.starts_with("status")),
        "{text}"
    );
    // The deleted ledger row: the row after it names it.
    let after = format!("ledger row {}", enrolled_row + 1);
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.place.starts_with(&after) && m.what == "row id"),
        "{text}"
    );
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.place.starts_with(&after) && m.what.starts_with("prev_hash")),
        "{text}"
    );
    // The edited trail event.
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.place.contains("position 3")),
        "{text}"
    );
    assert!(!report.is_clean());
}

#[test]
fn the_migration_records_what_was_stored_before_the_ledger_and_it_verifies() {
    use crate::db::{DB_FILE, Db, migrate_to};
    // The schema version just before the ledger's migration (the ninth step; later steps come after it).
    const BEFORE_LEDGER: u32 = 8;
    let dir = tempfile::tempdir().unwrap();
    let doc = visit(Some("A-1"));
    {
        let mut conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        migrate_to(&mut conn, BEFORE_LEDGER).unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        conn.execute(
            "INSERT INTO users (user_id, name, role, created_at) VALUES ('enum1', 'E', 'enumerator', 'x')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO visits (visit_id, revision, content_hash, doc, user_id, device_id, batch_id, form_id,
                 form_version, assignment_id, region_code, visit_date, received_at, findings, error_count,
                 warning_count, status, seq, is_latest)
             VALUES (?1, 1, ?2, ?3, 'enum1', 'd', 'b', 'hh_check', 1, 'A-1', '17.71.01.1001', '2026-11-20',
                 '2026-11-20T00:00:00.000000Z', '[]', 0, 0, 'approved', 1, 1)",
            rusqlite::params![doc.visit_id.to_string(), doc.content_hash(), json],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO reviews (visit_id, revision, decision, comment, reviewer, reviewer_device, at)
             VALUES (?1, 1, 'approved', '', 'sup', 'dev', '2026-11-21T00:00:00.000000Z')",
            [doc.visit_id.to_string()],
        )
        .unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    let kinds: Vec<String> = db
        .read(|tx| {
            let mut stmt = tx.prepare("SELECT kind FROM ledger ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<Vec<String>, _>>()
        })
        .unwrap();
    assert_eq!(kinds, ["visit_stored", "review"]);
    let report = crate::verify::verify(&db).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        (report.visits, report.reviews, report.ledger_rows),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn the_console_and_the_export_show_paradata_and_the_trail_check() {
    let kit = Kit::world();
    let device = kit.enrol("enum1").await;
    let mut phone = Phone::new();
    let doc = visit(Some("A-1"));
    let trail = phone.visit(&doc);
    let bare = visit(Some("A-2"));
    accepted(&send(&kit, &device, vec![doc.clone(), bare.clone()], vec![trail]).await);

    let session = crate::console::tests::login(&kit, "sup").await;
    let page =
        crate::console::tests::get(&kit, &format!("/visits/{}", doc.visit_id), Some(&session))
            .await;
    let html = page.text();
    assert!(html.contains("Paradata (dari jejak audit)"), "{html}");
    assert!(html.contains("Lama pengisian</th><td>10 min 0 s"), "{html}");
    let page =
        crate::console::tests::get(&kit, &format!("/visits/{}", bare.visit_id), Some(&session))
            .await;
    let html = page.text();
    assert!(
        html.contains("Tidak ada jejak audit untuk revisi ini."),
        "{html}"
    );
    assert!(
        html.contains("Kunjungan dikirim tanpa jejak audit"),
        "{html}"
    );

    let sup = kit.enrol("sup").await;
    let csv = kit
        .get(
            "/api/v1/supervisor/export/households.csv?form_id=hh_check",
            Some(&sup.token),
        )
        .await
        .text();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(str::to_string).collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}: {header:?}"))
    };
    let (duration, check) = (column("paradata_duration_s"), column("trail_check"));
    let cells: Vec<(String, String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[duration].to_string(),
                r[check].to_string(),
            )
        })
        .collect();
    assert!(
        cells.contains(&(doc.visit_id.to_string(), "600".into(), "ok".into())),
        "{cells:?}"
    );
    assert!(
        cells.contains(&(
            bare.visit_id.to_string(),
            String::new(),
            "trail_missing".into()
        )),
        "{cells:?}"
    );
}
