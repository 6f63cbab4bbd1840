//! Today's list and its counts.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::params;

use super::visits::{VISIT_COLUMNS, read_visit};
use super::{
    ASSIGNMENT_COLUMNS, Store, StoreError, Today, TodayCounts, TodayItem, VisitSummary,
    read_assignment,
};

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
                    None => {
                        let current = !matches!(
                            visit.state,
                            super::VisitState::Accepted | super::VisitState::Approved
                        ) || visit.finalised_date == Some(date);
                        if current {
                            cases.push(visit);
                        }
                    }
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
        // Visits for assignments this device no longer has (e.g. returned after a reinstall) are still shown.
        cases.extend(latest.into_values().map(|(visit, _)| visit));
        cases.sort_by_key(|visit| std::cmp::Reverse(visit.started_seq));
        Ok(Today {
            items,
            cases,
            counts,
        })
    }
}
