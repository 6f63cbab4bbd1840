//! The supervisor's progress view, over the latest revision of each visit in their regions: visits per
//! enumerator per day (by the device's visit date) against the daily target with the outcome mix, and per
//! village the assignments, visits, approvals and returns.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{Transaction, params};
use shared::protocol::{EnumeratorDay, ProgressResponse, VillageProgress};

use crate::config::DAILY_TARGET;
use crate::db::DbError;
use crate::regions::{self, scope_sql};

/// The outcome key for visits whose form has no outcome answer.
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
        "SELECT v.user_id, u.name, v.visit_date, coalesce(v.outcome, ''), count(*)
         FROM visits v JOIN users u ON u.user_id = v.user_id
         WHERE v.is_latest = 1 AND {}
         GROUP BY v.user_id, v.visit_date, v.outcome
         ORDER BY v.user_id, v.visit_date",
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
        ))
    })?;
    let mut days: Vec<EnumeratorDay> = Vec::new();
    for row in rows {
        let (user_id, name, date, outcome, count) = row?;
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .map_err(|e| DbError::Corrupt(format!("visit date: {e}")))?;
        let outcome = if outcome.is_empty() {
            NO_OUTCOME.to_string()
        } else {
            outcome
        };
        match days.last_mut() {
            Some(day) if day.user_id == user_id && day.date == date => {
                day.visits += count;
                *day.by_outcome.entry(outcome).or_default() += count;
            }
            _ => days.push(EnumeratorDay {
                user_id,
                name,
                date,
                visits: count,
                target: DAILY_TARGET,
                by_outcome: BTreeMap::from([(outcome, count)]),
            }),
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
             SELECT v.region_code, 0, 1, v.status = 'approved', v.status = 'returned'
             FROM visits v WHERE v.is_latest = 1 AND {})
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
