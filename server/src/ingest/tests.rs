//! A property test of ingest against a model: any sequence of batches (new visits, re-sends, changed content,
//! skipped or premature revisions, returns by a supervisor, whole batches re-sent) leaves exactly the visits,
//! conflicts and receipts the rules say.

use std::collections::BTreeMap;

use chrono::Utc;
use proptest::prelude::*;
use serde_json::json;
use shared::protocol::{Receipt, ReceiptStatus, RejectCode, Role, VisitDoc};
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
                        let again = kit.db().write(|tx| apply_batch(tx, &caller, *batch_id, &prepared, Utc::now())).unwrap();
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
            let receipts = kit.db().write(|tx| apply_batch(tx, &caller, batch_id, &prepared, Utc::now())).unwrap();
            let got: Vec<_> = receipts.iter().map(|r| (r.status, r.reject_code)).collect();
            prop_assert_eq!(got, expected);
            sent.push((batch_id, docs, receipts));
        }
        // The store holds exactly the model's revisions, one latest per visit, and its conflicts.
        let stored: Vec<(String, u32, i64, bool)> = kit.db().read(|tx| {
            let mut stmt = tx.prepare("SELECT visit_id, revision, json_extract(doc, '$.answers.rooms'), is_latest FROM visits ORDER BY visit_id, revision")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
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
