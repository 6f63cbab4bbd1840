//! A property test of ingest against a model: any sequence of batches (new visits, re-sends, changed content,
//! skipped or premature revisions, returns by a supervisor, whole batches re-sent) leaves exactly the visits,
//! conflicts and receipts the rules say.

use std::collections::BTreeMap;

use chrono::Utc;
use proptest::prelude::*;
use serde_json::json;
use tepat_protocol::{Receipt, ReceiptStatus, RejectCode, Role, VisitDoc};
use uuid::Uuid;

use super::*;
use crate::auth::Caller;
use crate::forms::FormCache;
use crate::testkit::{Kit, visit};

#[derive(Debug, Clone)]
enum Op {
    /// Send visit `visit` (0..3) at `revision` with content `variant`.
    Send {
        visit: usize,
        revision: u32,
        variant: u8,
    },
    /// The supervisor returns the latest revision of a visit, if it waits for review.
    Return { visit: usize },
    /// Re-send an earlier batch (by index modulo the batches sent so far).
    Resend { batch: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 1..4u32, 0..2u8).prop_map(|(visit, revision, variant)| Op::Send { visit, revision, variant }),
        2 => (0..3usize).prop_map(|visit| Op::Return { visit }),
        1 => (0..20usize).prop_map(|batch| Op::Resend { batch }),
    ]
}

fn doc(ids: &[Uuid], visit_index: usize, revision: u32, variant: u8) -> VisitDoc {
    let mut v = visit(Some("A-1"));
    v.visit_id = ids[visit_index];
    v.revision = revision;
    v.answers
        .insert("rooms".into(), json!(1 + u32::from(variant)));
    v
}

/// What the rules say, kept by hand.
#[derive(Default)]
struct Model {
    /// visit → revisions in order: (revision, variant, returned)
    visits: BTreeMap<usize, Vec<(u32, u8, bool)>>,
    conflicts: std::collections::BTreeSet<(usize, u32, u8)>,
}

impl Model {
    fn send(
        &mut self,
        visit: usize,
        revision: u32,
        variant: u8,
    ) -> (ReceiptStatus, Option<RejectCode>) {
        let revisions = self.visits.entry(visit).or_default();
        if let Some(&(_, stored, _)) = revisions.iter().find(|(r, _, _)| *r == revision) {
            if stored == variant {
                return (ReceiptStatus::Duplicate, None);
            }
            self.conflicts.insert((visit, revision, variant));
            return (ReceiptStatus::Rejected, Some(RejectCode::Conflict));
        }
        let accepted = match revisions.last() {
            None => revision == 1,
            Some(&(latest, _, returned)) => revision == latest + 1 && returned,
        };
        if accepted {
            revisions.push((revision, variant, false));
            (ReceiptStatus::Accepted, None)
        } else {
            (ReceiptStatus::Rejected, Some(RejectCode::BadRevision))
        }
    }

    fn return_latest(&mut self, visit: usize) -> bool {
        match self.visits.get_mut(&visit).and_then(|r| r.last_mut()) {
            Some(latest) if !latest.2 => {
                latest.2 = true;
                true
            }
            _ => false,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn ingest_follows_the_rules(batches in prop::collection::vec(prop::collection::vec(op(), 1..5), 1..10)) {
        let kit = Kit::world();
        let forms = FormCache::default();
        let caller = Caller {
            device_id: "dev-test".into(),
            user_id: "enum1".into(),
            name: "Enum".into(),
            role: Role::Enumerator,
            regions: vec!["17.71.01".into()],
        };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let mut model = Model::default();
        let mut sent: Vec<(Uuid, Vec<VisitDoc>, Vec<Receipt>)> = Vec::new();
        for batch in batches {
            let mut docs = Vec::new();
            let mut expected = Vec::new();
            for op in &batch {
                match *op {
                    Op::Send { visit, revision, variant } => {
                        docs.push(doc(&ids, visit, revision, variant));
                        expected.push(model.send(visit, revision, variant));
                    }
                    Op::Return { visit } => {
                        // Returns happen between batches: apply them before this batch's visits are sent.
                        if docs.is_empty() && model.return_latest(visit) {
                            kit.db().write(|tx| tx.execute(
                                "UPDATE visits SET status = 'returned' WHERE visit_id = ?1 AND is_latest = 1",
                                [ids[visit].to_string()],
                            )).unwrap();
                        }
                    }
                    Op::Resend { batch } if !sent.is_empty() => {
                        let (batch_id, docs, receipts) = &sent[batch % sent.len()];
                        let prepared = kit.db().read(|tx| prepare(tx, &forms, docs.clone())).unwrap();
                        let again = kit.db().write(|tx| apply_batch(tx, &caller, *batch_id, &prepared, Utc::now(), &Default::default())).unwrap();
                        prop_assert_eq!(&again, receipts);
                    }
                    Op::Resend { .. } => {}
                }
            }
            if docs.is_empty() {
                continue;
            }
            let batch_id = Uuid::now_v7();
            let prepared = kit.db().read(|tx| prepare(tx, &forms, docs.clone())).unwrap();
            let receipts = kit.db().write(|tx| apply_batch(tx, &caller, batch_id, &prepared, Utc::now(), &Default::default())).unwrap();
            let got: Vec<_> = receipts.iter().map(|r| (r.status, r.reject_code)).collect();
            prop_assert_eq!(got, expected);
            sent.push((batch_id, docs, receipts));
        }
        // The store holds exactly the model's revisions, one latest per visit, and its conflicts.
        let stored: Vec<(String, u32, i64, bool)> = kit.db().read(|tx| {
            let mut stmt = tx.prepare("SELECT visit_id, revision, doc, is_latest FROM visits ORDER BY visit_id, revision")?;
            let rows = stmt.query_map([], |r| {
                let doc: serde_json::Value = serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default();
                let rooms = doc["answers"]["rooms"].as_i64().unwrap_or(-1);
                Ok((r.get(0)?, r.get(1)?, rooms, r.get(3)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        }).unwrap();
        let mut wanted = Vec::new();
        for (visit, revisions) in &model.visits {
            for (i, (revision, variant, _)) in revisions.iter().enumerate() {
                wanted.push((ids[*visit].to_string(), *revision, 1 + i64::from(*variant), i + 1 == revisions.len()));
            }
        }
        wanted.sort();
        prop_assert_eq!(stored, wanted);
        let conflicts: i64 = kit.db().read(|tx| tx.query_row("SELECT count(*) FROM conflicts", [], |r| r.get(0))).unwrap();
        prop_assert_eq!(conflicts as usize, model.conflicts.len());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Holes closed: scope of new cases, others' visit ids, implausible dates.

fn caller_of(user_id: &str, role: Role, regions: &[&str]) -> Caller {
    Caller {
        device_id: format!("dev-{user_id}"),
        user_id: user_id.into(),
        name: user_id.into(),
        role,
        regions: regions.iter().map(|r| r.to_string()).collect(),
    }
}

fn send_at(kit: &Kit, caller: &Caller, docs: Vec<VisitDoc>, now: DateTime<Utc>) -> Vec<Receipt> {
    let forms = FormCache::default();
    let prepared = kit.db().read(|tx| prepare(tx, &forms, docs)).unwrap();
    kit.db()
        .write(|tx| {
            apply_batch(
                tx,
                caller,
                Uuid::now_v7(),
                &prepared,
                now,
                &Default::default(),
            )
        })
        .unwrap()
}

fn send(kit: &Kit, caller: &Caller, docs: Vec<VisitDoc>) -> Vec<Receipt> {
    send_at(kit, caller, docs, Utc::now())
}

fn count(kit: &Kit, table: &str) -> i64 {
    kit.db()
        .read(|tx| tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)))
        .unwrap()
}

fn verdict(receipt: &Receipt) -> (ReceiptStatus, Option<RejectCode>) {
    (receipt.status, receipt.reject_code)
}

#[test]
fn an_assessor_cannot_file_a_new_case_outside_their_regions() {
    let kit = Kit::world();
    let tksk = caller_of("tksk", Role::Assessor, &["17.71"]);
    let mut jakarta = visit(None);
    jakarta
        .answers
        .insert("region".into(), json!("31.71.01.1001"));
    let receipts = send(&kit, &tksk, vec![jakarta]);
    assert_eq!(
        verdict(&receipts[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );
    let reason = receipts[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("31.71.01.1001") && reason.contains("outside your regions"),
        "{reason}"
    );
    assert_eq!(count(&kit, "visits"), 0, "nothing stored");
    assert_eq!(count(&kit, "conflicts"), 0);

    // Inside their regions (another district of Kota Bengkulu) a new case is filed under its own region.
    let mut bengkulu = visit(None);
    bengkulu
        .answers
        .insert("region".into(), json!("17.71.02.1001"));
    let receipts = send(&kit, &tksk, vec![bengkulu]);
    assert_eq!(verdict(&receipts[0]), (ReceiptStatus::Accepted, None));
    let region: String = kit
        .db()
        .read(|tx| tx.query_row("SELECT region_code FROM visits", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(region, "17.71.02.1001");
}

#[test]
fn the_form_says_which_roles_may_file_a_visit_without_an_assignment() {
    let kit = Kit::world();
    // The test form says nothing: assessors only, as before the key existed.
    let pkh = caller_of("enum1", Role::Enumerator, &["17.71.01"]);
    let receipts = send(&kit, &pkh, vec![visit(None)]);
    assert_eq!(
        verdict(&receipts[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );
    let reason = receipts[0].reason.as_deref().unwrap_or_default();
    assert_eq!(
        reason,
        "a visit without an assignment: form \"hh_check\" may be started without one only by: assessor (your \
         role: enumerator)"
    );
    assert_eq!(count(&kit, "visits"), 0, "nothing stored");
    // A form that lets pendamping PKH start it (as the 6T monitoring does) takes their visit.
    let open = crate::testkit::TEST_FORM.replacen(
        r#""id": "hh_check","#,
        r#""id": "hh_open", "start_without_assignment": ["enumerator", "assessor"],"#,
        1,
    );
    kit.publish(&open);
    let mut monitoring = visit(None);
    monitoring.form_id = "hh_open".into();
    let receipts = send(&kit, &pkh, vec![monitoring]);
    assert_eq!(verdict(&receipts[0]), (ReceiptStatus::Accepted, None));
    // A form filled only for an assignment takes nobody's visit without one, an assessor's neither.
    let assigned_only = crate::testkit::TEST_FORM.replacen(
        r#""id": "hh_check","#,
        r#""id": "hh_closed", "start_without_assignment": [],"#,
        1,
    );
    kit.publish(&assigned_only);
    let tksk = caller_of("tksk", Role::Assessor, &["17.71"]);
    let mut case = visit(None);
    case.form_id = "hh_closed".into();
    let receipts = send(&kit, &tksk, vec![case]);
    assert_eq!(
        verdict(&receipts[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );
    let reason = receipts[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("\"hh_closed\"") && reason.contains("filled only for an assignment"),
        "{reason}"
    );
    assert_eq!(count(&kit, "visits"), 1);
}

#[test]
fn another_users_visit_id_is_refused_as_an_unknown_assignment_and_nothing_is_kept() {
    let kit = Kit::world();
    let enum1 = caller_of("enum1", Role::Enumerator, &["17.71.01"]);
    let enum2 = caller_of("enum2", Role::Enumerator, &["17.71.02"]);
    let tksk = caller_of("tksk", Role::Assessor, &["17.71"]);
    let theirs = visit(Some("A-1"));
    assert_eq!(
        verdict(&send(&kit, &enum1, vec![theirs.clone()])[0]),
        (ReceiptStatus::Accepted, None)
    );
    let seq_before: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row("SELECT value FROM counters WHERE name = 'pull'", [], |r| {
                r.get(0)
            })
        })
        .unwrap();

    // What an assignment that is not theirs gets: the refusal to match.
    let mut unknown = visit(Some("A-1"));
    unknown.visit_id = Uuid::now_v7();
    let unknown_assignment = send(&kit, &enum2, vec![unknown]).remove(0);
    assert_eq!(
        verdict(&unknown_assignment),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );

    // An exact copy of enum1's visit: not `duplicate` (which would say the id exists).
    let copy = send(&kit, &enum2, vec![theirs.clone()]).remove(0);
    assert_eq!(
        (copy.status, copy.reject_code, copy.reason.as_deref()),
        (
            unknown_assignment.status,
            unknown_assignment.reject_code,
            unknown_assignment.reason.as_deref()
        )
    );

    // Invented content under the same id and revision, by an enumerator and by an assessor (new-case rights):
    // refused alike, and no conflict copy is kept for enum1's supervisor.
    let mut invented = theirs.clone();
    invented.answers.insert("rooms".into(), json!(9));
    let invented_receipt = send(&kit, &enum2, vec![invented.clone()]).remove(0);
    assert_eq!(
        (
            invented_receipt.status,
            invented_receipt.reject_code,
            invented_receipt.reason.as_deref()
        ),
        (
            unknown_assignment.status,
            unknown_assignment.reject_code,
            unknown_assignment.reason.as_deref()
        )
    );
    let mut as_new_case = invented.clone();
    as_new_case.assignment_id = None;
    assert_eq!(
        verdict(&send(&kit, &tksk, vec![as_new_case])[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );
    // A later revision of their visit: the same refusal, not `bad_revision`.
    let mut next = invented;
    next.revision = 2;
    assert_eq!(
        verdict(&send(&kit, &enum2, vec![next])[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::NotAssigned))
    );

    assert_eq!(count(&kit, "visits"), 1);
    assert_eq!(count(&kit, "conflicts"), 0, "no conflict copy");
    let seq_after: i64 = kit
        .db()
        .read(|tx| {
            tx.query_row("SELECT value FROM counters WHERE name = 'pull'", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(
        seq_after, seq_before,
        "nothing new for any supervisor's pull"
    );

    // The owner's own copy is still a duplicate, and the owner's changed copy still a kept conflict.
    assert_eq!(
        verdict(&send(&kit, &enum1, vec![theirs.clone()])[0]),
        (ReceiptStatus::Duplicate, None)
    );
    let mut changed = theirs;
    changed.answers.insert("rooms".into(), json!(4));
    assert_eq!(
        verdict(&send(&kit, &enum1, vec![changed])[0]),
        (ReceiptStatus::Rejected, Some(RejectCode::Conflict))
    );
    assert_eq!(count(&kit, "conflicts"), 1);
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn stored_date_rows(kit: &Kit) -> Vec<(String, String, u32, bool)> {
    kit.db()
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT visit_date, progress_date, error_count, findings LIKE '%visit_date_implausible%'
                 FROM visits ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

#[test]
fn implausible_visit_dates_are_kept_flagged_and_counted_on_the_day_received() {
    let kit = Kit::world();
    let tksk = caller_of("tksk", Role::Assessor, &["17.71"]);
    // The test form is published on 2026-01-01; the server receives everything on 2026-11-21.
    let received = at("2026-11-21T03:00:00Z");
    let dated = |date: &str| {
        let mut v = visit(None);
        v.visit_date = date.parse().unwrap();
        v
    };
    let docs = vec![
        dated("2026-11-20"),   // plausible
        dated("2025-12-31"),   // the tolerated day before publication
        dated("2026-11-23"),   // two days after the server's clock
        dated("2025-12-30"),   // before publication
        dated("2026-11-24"),   // three days ahead
        dated("0000-01-01"),   // a reset clock
        dated("+10000-01-01"), // nobody's clock
    ];
    let receipts = send_at(&kit, &tksk, docs, received);
    assert!(
        receipts.iter().all(|r| r.status == ReceiptStatus::Accepted),
        "{receipts:?}"
    );
    let base_errors = receipts[0].error_count;
    let flagged: Vec<bool> = receipts
        .iter()
        .map(|r| r.error_count == base_errors + 1)
        .collect();
    assert_eq!(flagged, [false, false, false, true, true, true, true]);
    let rows = stored_date_rows(&kit);
    let expected = [
        ("2026-11-20", "2026-11-20", false),
        ("2025-12-31", "2025-12-31", false),
        ("2026-11-23", "2026-11-23", false),
        ("2025-12-30", "2026-11-21", true),
        ("2026-11-24", "2026-11-21", true),
        ("0000-01-01", "2026-11-21", true),
        ("+10000-01-01", "2026-11-21", true),
    ];
    for (
        (visit_date, progress_date, errors, has_finding),
        (want_visit, want_progress, want_flag),
    ) in rows.iter().zip(expected)
    {
        assert_eq!(
            (visit_date.as_str(), progress_date.as_str(), *has_finding),
            (want_visit, want_progress, want_flag),
            "the device's date is stored as sent; progress counts the plausible day"
        );
        assert_eq!(*errors, base_errors + u32::from(want_flag));
    }
    // Progress shows no day the phones' clocks invented.
    let progress = kit
        .db()
        .read(|tx| crate::progress::progress(tx, "sup"))
        .unwrap();
    let days: Vec<String> = progress
        .enumerator_days
        .iter()
        .map(|d| d.date.to_string())
        .collect();
    assert_eq!(
        days,
        ["2025-12-31", "2026-11-20", "2026-11-21", "2026-11-23"]
    );
    let on_received_day = progress
        .enumerator_days
        .iter()
        .find(|d| d.date.to_string() == "2026-11-21")
        .map(|d| d.visits);
    assert_eq!(on_received_day, Some(4));
}
