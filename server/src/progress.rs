//! The supervisor's progress view, over the latest revision of each visit in their regions: visits per
//! enumerator per day per form against the daily target of the user's role (`Role::daily_target`: 12 for a
//! pendamping PKH, none for a TKSK assessor), with the outcome mix of the form's own outcome field, and per village
//! the assignments, visits, approvals and returns.
//!
//! The day is the visit's `progress_date`: the device's visit date, or the day the server received the visit
//! when that date is implausible (see `ingest::dates`), so a wrong clock never invents a day.

use std::collections::{BTreeMap, HashMap};

use crate::db::sql::{Transaction, params};
use chrono::NaiveDate;
use tepat_protocol::{EnumeratorDay, ProgressResponse, VillageProgress};

use crate::auth::parse_role;
use crate::config::DAILY_TARGET;
use crate::db::DbError;
use crate::forms;
use crate::regions::{self, scope_sql};

/// The outcome key for visits that left their form's outcome field unanswered.
pub const NO_OUTCOME: &str = "unknown";

pub fn progress(tx: &Transaction<'_>, supervisor_id: &str) -> Result<ProgressResponse, DbError> {
    Ok(ProgressResponse {
        daily_target: DAILY_TARGET,
        enumerator_days: enumerator_days(tx, supervisor_id)?,
        villages: villages(tx, supervisor_id)?,
    })
}

fn enumerator_days(
    tx: &Transaction<'_>,
    supervisor_id: &str,
) -> Result<Vec<EnumeratorDay>, DbError> {
    let sql = format!(
        "SELECT v.user_id, u.name, coalesce(v.progress_date, v.visit_date), v.form_id, v.form_version, coalesce(v.outcome, ''), count(*), u.role
         FROM visits v JOIN users u ON u.user_id = v.user_id
         WHERE v.is_latest = 1 AND {}
         GROUP BY v.user_id, u.name, u.role, 3, v.form_id, v.form_version, v.outcome
         ORDER BY v.user_id, 3, v.form_id",
        scope_sql("v.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![supervisor_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, u32>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    // Whether each form version declares an outcome (a handful of versions, each read once per call).
    let mut has_outcome: HashMap<(String, u32), bool> = HashMap::new();
    let mut days: Vec<EnumeratorDay> = Vec::new();
    for row in rows {
        let (user_id, name, date, form_id, version, outcome, count, role) = row?;
        // The target is the role's: a TKSK's asesmen has none (a case takes what it takes).
        let role = parse_role(&role)
            .ok_or_else(|| DbError::Corrupt(format!("user {user_id} has role {role:?}")))?;
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .map_err(|e| DbError::Corrupt(format!("progress date {date:?}: {e}")))?;
        let key = (form_id, version);
        let counts_outcome = match has_outcome.get(&key) {
            Some(known) => *known,
            None => {
                let declared = forms::load_form(tx, &key.0, key.1)?
                    .is_some_and(|form| form.outcome_field().is_some());
                has_outcome.insert(key.clone(), declared);
                declared
            }
        };
        let (form_id, _) = key;
        let outcome = if outcome.is_empty() {
            NO_OUTCOME.to_string()
        } else {
            outcome
        };
        let same_day = days
            .last()
            .is_some_and(|d| d.user_id == user_id && d.date == date && d.form_id == form_id);
        if !same_day {
            days.push(EnumeratorDay {
                user_id,
                name,
                date,
                form_id,
                visits: 0,
                target: role.daily_target(),
                by_outcome: BTreeMap::new(),
            });
        }
        if let Some(day) = days.last_mut() {
            day.visits += count;
            if counts_outcome {
                *day.by_outcome.entry(outcome).or_default() += count;
            }
        }
    }
    Ok(days)
}

fn villages(tx: &Transaction<'_>, supervisor_id: &str) -> Result<Vec<VillageProgress>, DbError> {
    let sql = format!(
        "SELECT region_code, sum(assigned), sum(visited), sum(approved), sum(returned) FROM (
             SELECT a.region_code, 1 AS assigned, 0 AS visited, 0 AS approved, 0 AS returned
             FROM assignments a WHERE a.withdrawn_at IS NULL AND {}
             UNION ALL
             SELECT v.region_code, 0, 1, CASE WHEN v.status = 'approved' THEN 1 ELSE 0 END,
                 CASE WHEN v.status = 'returned' THEN 1 ELSE 0 END
             FROM visits v WHERE v.is_latest = 1 AND {}) AS counted
         GROUP BY region_code ORDER BY region_code",
        scope_sql("a.region_code", "?1"),
        scope_sql("v.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![supervisor_id], |r| {
        Ok(VillageProgress {
            name: String::new(),
            region_code: r.get(0)?,
            assigned: r.get(1)?,
            visited: r.get(2)?,
            approved: r.get(3)?,
            returned: r.get(4)?,
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let mut village = row?;
        village.name = regions::name(&village.region_code).to_string();
        out.push(village);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use tepat_protocol::{ReceiptStatus, Role, VisitDoc};
    use uuid::Uuid;

    use super::*;
    use crate::auth::Caller;
    use crate::forms::FormCache;
    use crate::ingest;
    use crate::testkit::{Kit, visit};

    /// A PPKS-like form: its first top-level `select_one` is how the case came in, not an outcome.
    const CASE_FORM: &str = r#"{
      "id": "case_form", "version": 1, "title": {"id": "Kasus", "en": "Case"},
      "choices": {"source": [{"value": "3", "label": {"id": "Laporan", "en": "Report"}}]},
      "sections": [{"id": "case", "title": {"id": "Kasus", "en": "Case"}, "fields": [
        {"id": "case_source", "type": "select_one", "choices": "source", "label": {"id": "Sumber", "en": "Source"}},
        {"id": "region", "type": "region", "label": {"id": "Wilayah", "en": "Region"}}
      ]}]
    }"#;

    /// A form that declares its outcome, which is neither first nor conventionally named.
    const DECLARED_FORM: &str = r#"{
      "id": "declared_form", "version": 1, "title": {"id": "Kunjungan", "en": "Visit"},
      "outcome": "result",
      "choices": {"kind": [{"value": "9", "label": {"id": "Rumah", "en": "House"}}],
                  "result": [{"value": "2", "label": {"id": "Pindah", "en": "Moved"}}]},
      "sections": [{"id": "visit", "title": {"id": "Kunjungan", "en": "Visit"}, "fields": [
        {"id": "kind", "type": "select_one", "choices": "kind", "label": {"id": "Jenis", "en": "Kind"}},
        {"id": "result", "type": "select_one", "choices": "result", "label": {"id": "Hasil", "en": "Result"}}
      ]}]
    }"#;

    /// A progress row as (form, visits, outcome counts).
    type FormDay<'a> = (&'a str, u32, Vec<(&'a str, u32)>);

    fn on_form(form_id: &str, answers: serde_json::Value) -> VisitDoc {
        let mut v = visit(None);
        v.form_id = form_id.to_string();
        v.answers = answers.as_object().cloned().unwrap_or_default();
        v
    }

    #[test]
    fn each_form_counts_its_own_outcome_field_apart() {
        let kit = Kit::world();
        kit.publish(CASE_FORM);
        kit.publish(DECLARED_FORM);
        let tksk = Caller {
            device_id: "dev-tksk".into(),
            user_id: "tksk".into(),
            name: "TKSK".into(),
            role: Role::Assessor,
            regions: vec!["17.71".into()],
        };
        let docs = vec![
            visit(None), // hh_check without the key: its `outcome` field, "1"
            on_form("case_form", json!({"case_source": "3"})),
            on_form("case_form", json!({"case_source": "3"})),
            on_form("declared_form", json!({"kind": "9", "result": "2"})),
            on_form("declared_form", json!({"kind": "9"})),
        ];
        let forms = FormCache::default();
        let prepared = kit
            .db()
            .read(|tx| ingest::prepare(tx, &forms, docs))
            .unwrap();
        let receipts = kit
            .db()
            .write(|tx| {
                ingest::apply_batch(
                    tx,
                    &tksk,
                    Uuid::now_v7(),
                    &prepared,
                    Utc::now(),
                    &Default::default(),
                )
            })
            .unwrap();
        assert!(
            receipts.iter().all(|r| r.status == ReceiptStatus::Accepted),
            "{receipts:?}"
        );
        let progress = kit.db().read(|tx| progress(tx, "sup")).unwrap();
        let rows: Vec<FormDay<'_>> = progress
            .enumerator_days
            .iter()
            .map(|d| {
                (
                    d.form_id.as_str(),
                    d.visits,
                    d.by_outcome.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("case_form", 2, vec![]),
                ("declared_form", 2, vec![("2", 1), (NO_OUTCOME, 1)]),
                ("hh_check", 1, vec![("1", 1)]),
            ]
        );
        // The visits are a TKSK's (assessor): no daily target, where a pendamping PKH's day has 12.
        assert!(
            progress.enumerator_days.iter().all(|d| d.target.is_none()),
            "{:?}",
            progress.enumerator_days
        );
        assert_eq!(progress.daily_target, 12);
    }
}
