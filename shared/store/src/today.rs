//! Today's list and its counts.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rusqlite::params;
use uuid::Uuid;

use tepat_records::{
    CASE_ID_FIELD, CASE_NAME_FIELD, REPORT_ASESMEN_FIELD, REPORT_LINK_FIELD, REPORT_URGENCY_FIELD,
};

use super::visits::{VISIT_COLUMNS, read_visit};
use super::{
    ASSIGNMENT_COLUMNS, Store, StoreError, Today, TodayCounts, TodayItem, VisitSummary,
    read_assignment,
};

/// What the case list reads of the visits without an assignment.
#[derive(Default)]
struct CaseAnswers {
    /// The client's name, by visit id.
    names: HashMap<Uuid, String>,
    /// The case a follow-up names, by visit id.
    case_ids: HashMap<Uuid, String>,
    /// A report's urgency and whether it asks for an asesmen (codes by field id), by visit id.
    details: HashMap<Uuid, BTreeMap<String, String>>,
    /// The report each asesmen names (`laporan_id`) → the first such asesmen.
    assessed: BTreeMap<Uuid, Uuid>,
}

impl Store {
    /// Every assignment with its latest visit, new cases that still matter today, and the counts, for the local
    /// date `date`. Withdrawn assignments are listed only while they have a draft (which is kept).
    pub fn today(&self, date: NaiveDate) -> Result<Today, StoreError> {
        let mut latest: HashMap<String, (VisitSummary, u32)> = HashMap::new();
        let mut cases = Vec::new();
        let mut counts = TodayCounts::default();
        let day = date.to_string();
        {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT {VISIT_COLUMNS} FROM visits ORDER BY started_seq"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let visit = read_visit(row)??;
                if visit.state == super::VisitState::Draft {
                    counts.drafts += 1;
                }
                if visit.state == super::VisitState::Returned
                    || (visit.state == super::VisitState::Draft && visit.revision > 1)
                {
                    counts.returned += 1;
                }
                if visit.state.is_finalised()
                    && visit.finalised_date.map(|d| d.to_string()) == Some(day.clone())
                {
                    counts.done_today += 1;
                }
                match visit.assignment_id.clone() {
                    Some(assignment_id) => {
                        let entry = latest
                            .entry(assignment_id)
                            .or_insert_with(|| (visit.clone(), 0));
                        entry.0 = visit;
                        entry.1 += 1;
                    }
                    None => cases.push(visit),
                }
            }
        }
        counts.in_outbox = self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        let mut items = Vec::new();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments ORDER BY received_seq"
        ))?;
        let mut rows = stmt.query(params![])?;
        while let Some(row) = rows.next()? {
            let assignment = read_assignment(row)??;
            let (latest, visit_count) = match latest.remove(&assignment.assignment.assignment_id) {
                Some((visit, count)) => (Some(visit), count),
                None => (None, 0),
            };
            let has_draft = latest
                .as_ref()
                .is_some_and(|v| v.state == super::VisitState::Draft);
            if assignment.withdrawn && !has_draft {
                continue;
            }
            if latest.as_ref().is_some_and(|v| {
                v.revisit && v.state.is_finalised() && v.state != super::VisitState::Returned
            }) {
                counts.revisits += 1;
            }
            items.push(TodayItem {
                assignment,
                latest,
                visit_count,
            });
        }
        let CaseAnswers {
            names,
            case_ids,
            mut details,
            assessed,
        } = self.case_answers()?;
        // One line per case: its latest visit (visits arrive in `started_seq` order, so the last one wins).
        let mut by_case: HashMap<String, VisitSummary> = HashMap::new();
        for visit in cases {
            let key = case_ids
                .get(&visit.visit_id)
                .cloned()
                .unwrap_or_else(|| visit.visit_id.to_string());
            by_case.insert(key, visit);
        }
        let mut cases: Vec<VisitSummary> = by_case.into_values().collect();
        // Visits for assignments this device no longer has (e.g. returned after a reinstall) are still shown.
        cases.extend(latest.into_values().map(|(visit, _)| visit));
        cases.sort_by_key(|visit| std::cmp::Reverse(visit.started_seq));
        let case_names = cases
            .iter()
            .filter_map(|v| Some((v.visit_id, names.get(&v.visit_id)?.clone())))
            .collect();
        let case_details = cases
            .iter()
            .filter_map(|v| Some((v.visit_id, details.remove(&v.visit_id)?)))
            .collect();
        Ok(Today {
            items,
            cases,
            case_names,
            counts,
            case_details,
            reports_assessed: assessed,
        })
    }

    /// The client's name ([`CASE_NAME_FIELD`]), the case linked to ([`CASE_ID_FIELD`]), a report's urgency and
    /// asesmen answers ([`REPORT_URGENCY_FIELD`], [`REPORT_ASESMEN_FIELD`]) and the report an asesmen follows
    /// ([`REPORT_LINK_FIELD`]) of every visit without an assignment that has them.
    fn case_answers(&self) -> Result<CaseAnswers, StoreError> {
        let mut out = CaseAnswers::default();
        let mut stmt = self.conn.prepare(
            "SELECT a.visit_id, a.path, a.value FROM answers a JOIN visits v ON v.visit_id = a.visit_id \
             WHERE v.assignment_id IS NULL AND a.kind = 0 AND a.path IN (?1, ?2, ?3, ?4, ?5) \
             ORDER BY v.started_seq",
        )?;
        let mut rows = stmt.query(params![
            CASE_NAME_FIELD,
            CASE_ID_FIELD,
            REPORT_LINK_FIELD,
            REPORT_URGENCY_FIELD,
            REPORT_ASESMEN_FIELD
        ])?;
        while let Some(row) = rows.next()? {
            let (visit_id, path, value): (String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let Ok(visit_id) = Uuid::parse_str(&visit_id) else {
                continue;
            };
            // Answers are stored as JSON; these two are strings.
            let Ok(serde_json::Value::String(text)) = serde_json::from_str(&value) else {
                continue;
            };
            let text = text.trim().to_string();
            if text.is_empty() {
                continue;
            }
            match path.as_str() {
                CASE_NAME_FIELD => {
                    out.names.insert(visit_id, text);
                }
                CASE_ID_FIELD => {
                    out.case_ids.insert(visit_id, text);
                }
                REPORT_LINK_FIELD => {
                    if let Ok(report) = Uuid::parse_str(&text) {
                        out.assessed.entry(report).or_insert(visit_id);
                    }
                }
                other => {
                    let field = other.to_string();
                    out.details.entry(visit_id).or_default().insert(field, text);
                }
            }
        }
        Ok(out)
    }
}
